//! `ainrec recommend` with the browser model on a page export: the page's ranking of the
//! visitor's library, diversity rule included, from the command line.
#![cfg(feature = "native")]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A page export whose library is the demo catalog (55 CC tracks, 39 by Kevin MacLeod) and
/// whose history played three of them and liked a fourth.
fn demo_export() -> Value {
    let cat: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("models/demo/catalog.json")).unwrap())
            .unwrap();
    let tracks: Vec<Value> = cat["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": format!("t{i}"), "title": t["title"], "artist": t["artist"],
                   "descriptor": t["descriptor"], "source": "demo"})
        })
        .collect();
    json!({
        "version": 1, "format": "ainrec-export", "export_version": 1,
        "analysis_key": cat["analysis_key"],
        "items": [{"id": "t0", "plays": 3}, {"id": "t5", "plays": 1}, {"id": "t9", "plays": 2},
                  {"id": "t20", "liked": true}, {"id": "gone", "plays": 1}],
        "tracks": tracks, "weights": null
    })
}

fn run(export: &Value, tag: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let dir = std::env::temp_dir().join(format!("ainrec-cli-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("export-{tag}.json"));
    std::fs::write(&file, export.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["recommend", "--model"])
        .arg(repo("models/browser.safetensors"))
        .arg("--history")
        .arg(&file)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_browser_model_ranks_an_exported_library_with_the_diversity_rule() {
    let export = demo_export();
    let artist_of = |id: &str| {
        let i: usize = id[1..].parse().unwrap();
        export["tracks"][i]["artist"]
            .as_str()
            .unwrap()
            .to_lowercase()
    };
    let (code, plain, err) = run(&export, "k30", &["-k", "30"]);
    assert_eq!(code, Some(0), "{err}");
    let order = ids(&plain);
    assert_eq!(order.len(), 30);
    assert!(order
        .iter()
        .all(|id| !["t0", "t5", "t9", "t20"].contains(&id.as_str())));
    assert_eq!(plain["unknown_ids"], json!(["gone"]));
    let scores: Vec<f64> = plain["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(plain["recommendations"][0].get("model_rank").is_none());

    // The rule, written out independently: walk the model's best 30, take the first that does
    // not make a run longer than `n` by one artist (the best one when none is left).
    for n in [1usize, 2] {
        let mut pool = order.clone();
        let mut want: Vec<String> = Vec::new();
        while want.len() < 10 {
            let pick = pool
                .iter()
                .position(|id| {
                    want.len() < n
                        || !want[want.len() - n..]
                            .iter()
                            .all(|o| artist_of(o) == artist_of(id))
                })
                .unwrap_or(0);
            want.push(pool.remove(pick));
        }
        let (code, v, err) = run(&export, &format!("d{n}"), &["--diversity", &n.to_string()]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(ids(&v), want, "diversity {n}");
        for r in v["recommendations"].as_array().unwrap() {
            let rank = r["model_rank"].as_u64().unwrap() as usize;
            assert_eq!(order[rank], r["id"].as_str().unwrap(), "model_rank of {r}");
        }
    }
    // Kevin MacLeod holds most of the catalog, so the rule has work to do: the limit of 1
    // changes the model's top 10.
    let (_, one, _) = run(&export, "d1b", &["--diversity", "1"]);
    assert_ne!(ids(&one), order[..10], "the rule moved nothing");
}

#[test]
fn a_plain_history_or_another_analysis_is_refused_with_the_reason() {
    let mut export = demo_export();
    let plain = json!({"version": 1, "items": export["items"].clone()});
    let (code, _, err) = run(&plain, "plain", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a page export"), "{err}");
    export["analysis_key"] = json!("mfcc-only");
    let (code, _, err) = run(&export, "key", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("analysis key") && err.contains("mfcc-only"),
        "{err}"
    );
    let mut none = demo_export();
    none["items"] = json!([{"id": "gone", "plays": 1}]);
    let (code, _, err) = run(&none, "none", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("history"), "{err}");
}
