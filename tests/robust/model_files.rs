//! Damaged and foreign state files: the shipped model (`models/hetrec.safetensors`) truncated,
//! with flipped bytes, a mis-shaped tensor, another dtype, NaN weights, another format version
//! or corrupt metadata; and history/import files that are corrupt or belong to something else.
//! Each is rejected with a message that says what is wrong — never a panic, never a
//! half-loaded model — and a model loaded before keeps working after the failed loads.
#![cfg(feature = "native")]

use std::collections::HashMap;

use ainrec::data::history::{parse_history, read_history};
use ainrec::model::model_file::{self, LoadedModel};
use ainrec::ranking::{Recommender, UserInput};
use candle_core::{DType, Device, Tensor};

fn shipped() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hetrec.safetensors");
    std::fs::read(path).expect("models/hetrec.safetensors is committed")
}

/// Rewrites model bytes through the safetensors crate: `edit` may replace any tensor (or drop
/// it by returning `None`), `meta` may change the metadata.
fn rewrite(
    bytes: &[u8],
    mut edit: impl FnMut(&str, Tensor) -> Option<Tensor>,
    meta: impl FnOnce(&mut HashMap<String, String>),
) -> Vec<u8> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap_or_default();
    meta(&mut metadata);
    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).unwrap();
    let mut kept: Vec<(String, Tensor)> = tensors
        .into_iter()
        .filter_map(|(name, t)| edit(&name, t).map(|t| (name, t)))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    safetensors::serialize(kept, Some(metadata)).unwrap()
}

fn load_err(bytes: &[u8]) -> String {
    match model_file::load(bytes) {
        Ok(m) => panic!(
            "a damaged model loaded ({} items) instead of being rejected",
            m.catalog.catalog.len()
        ),
        Err(e) => e.to_string(),
    }
}

fn scores(m: &LoadedModel) -> Vec<f32> {
    let ids: Vec<String> = (0..20)
        .map(|i| m.catalog.catalog.id(i).to_owned())
        .collect();
    let json = serde_json::json!({"items": ids.iter().map(|id| serde_json::json!({"id": id})).collect::<Vec<_>>()});
    let h = parse_history(&json.to_string(), "h.json").unwrap();
    let (input, _) = UserInput::from_history(&h, &m.catalog.catalog);
    m.recommender.score(&input).unwrap()
}

#[test]
fn truncated_and_flipped_model_files_are_rejected_and_the_loaded_model_still_works() {
    let good = shipped();
    let model = model_file::load(&good).unwrap();
    let before = scores(&model);
    assert!(before.iter().all(|s| s.is_finite()));

    for n in [0usize, 1, 7, 8, 9, 64, 4096, good.len() / 2, good.len() - 1] {
        let e = load_err(&good[..n]);
        assert!(e.starts_with("model rejected:"), "[..{n}]: {e}");
        assert!(
            e.contains("not a safetensors file") || e.contains("cannot read the weights"),
            "[..{n}]: {e}"
        );
    }
    // The 8-byte header length: too big, zero, absurd.
    for len in [u64::MAX, 0, good.len() as u64, 1 << 40] {
        let mut b = good.clone();
        b[..8].copy_from_slice(&len.to_le_bytes());
        let e = load_err(&b);
        assert!(
            e.contains("not a safetensors file"),
            "header length {len}: {e}"
        );
    }
    // Flipped bytes in the JSON header: its braces, a dtype, a shape digit, an offset.
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(good[8..8 + header_len].to_vec()).unwrap();
    for needle in [
        "{",
        "\"F32\"",
        "[16510,128]",
        "\"data_offsets\":[",
        "__metadata__",
    ] {
        let at = 8 + header.find(needle).unwrap_or_else(|| panic!("{needle}"));
        let mut b = good.clone();
        b[at] ^= 0x5a;
        let e = load_err(&b);
        assert!(e.starts_with("model rejected:"), "flip at {needle}: {e}");
    }
    // Every flipped header byte is either caught or harmless; none panics (a stride through
    // the header keeps this quick).
    for at in (8..8 + header_len).step_by(997) {
        let mut b = good.clone();
        b[at] ^= 0xff;
        if let Ok(m) = model_file::load(&b) {
            assert!(scores(&m).iter().all(|s| s.is_finite()), "flip at {at}");
        }
    }
    // After all that, the model loaded first scores exactly as before.
    assert_eq!(scores(&model), before);
}

#[test]
fn wrong_shapes_versions_and_metadata_are_rejected_by_name() {
    let good = shipped();

    // One row fewer in a layer's input weights.
    let b = rewrite(
        &good,
        |name, t| {
            Some(if name == "ainrnn.layer2.weight_ih" {
                t.narrow(0, 0, 63).unwrap()
            } else {
                t
            })
        },
        |_| {},
    );
    let e = load_err(&b);
    assert!(
        e.contains("ainrnn.layer2.weight_ih") && e.contains("shape"),
        "{e}"
    );

    // Transposed.
    let b = rewrite(
        &good,
        |name, t| {
            Some(if name == "song.out.weight" {
                t.t().unwrap().contiguous().unwrap()
            } else {
                t
            })
        },
        |_| {},
    );
    let e = load_err(&b);
    assert!(e.contains("song.out.weight") && e.contains("shape"), "{e}");

    // A tensor missing.
    let b = rewrite(
        &good,
        |name, t| (name != "ainrnn.head.bias").then_some(t),
        |_| {},
    );
    let e = load_err(&b);
    assert!(e.contains("ainrnn.head.bias"), "{e}");

    // Another format version, and none.
    let b = rewrite(&good, keep, |m| {
        m.insert("ainrec.model_file.version".into(), "2".into());
    });
    let e = load_err(&b);
    assert!(
        e.contains("model file version 2") && e.contains("reads version 1"),
        "{e}"
    );
    let b = rewrite(&good, keep, |m| {
        m.remove("ainrec.model_file.version");
    });
    assert!(load_err(&b).contains("version none"));

    // Unreadable or inconsistent metadata.
    let b = rewrite(&good, keep, |m| {
        m.insert("ainrec.catalog.ids".into(), "[\"51\", ".into());
    });
    let e = load_err(&b);
    assert!(
        e.contains("ainrec.catalog.ids") && e.contains("unreadable"),
        "{e}"
    );
    let b = rewrite(&good, keep, |m| {
        m.insert("ainrec.catalog.names".into(), "[\"just one\"]".into());
    });
    assert!(load_err(&b).contains("names"));
    let b = rewrite(&good, keep, |m| {
        let cfg = m["ainrec.ainrnn.config"].replace("\"hidden_dim\":64", "\"hidden_dim\":65");
        m.insert("ainrec.ainrnn.config".into(), cfg);
    });
    assert!(load_err(&b).contains("shape"));

    // A corrupt sparse catalog: the row pointers run backwards.
    let b = rewrite(
        &good,
        |name, t| {
            Some(if name == "catalog.buffer_indptr" {
                let mut v = t.to_vec1::<f32>().unwrap();
                v.swap(10, 11);
                v[10] += 5.0;
                Tensor::new(v, &Device::Cpu).unwrap()
            } else {
                t
            })
        },
        |_| {},
    );
    assert!(load_err(&b).contains("corrupt"));

    // Robustness II, case 9: a negative or fractional offset was read as `as usize` (-5 as 0).
    for bad in [-5.0f32, 0.5] {
        let b = rewrite(
            &good,
            |name, t| {
                Some(if name == "catalog.buffer_indptr" {
                    let mut v = t.to_vec1::<f32>().unwrap();
                    v[0] = bad;
                    Tensor::new(v, &Device::Cpu).unwrap()
                } else {
                    t
                })
            },
            |_| {},
        );
        let e = load_err(&b);
        assert!(
            e.contains("corrupt") && e.contains("whole numbers"),
            "{bad}: {e}"
        );
    }

    // ... and a history window of 10^12 steps was accepted.
    let b = rewrite(&good, keep, |m| {
        let cfg = m["ainrec.ainrnn.config"].clone();
        let start = cfg
            .find("\"max_len\":")
            .expect("max_len in the configuration");
        let end = start + cfg[start..].find([',', '}']).unwrap();
        let cfg = format!("{}\"max_len\":1000000000000{}", &cfg[..start], &cfg[end..]);
        m.insert("ainrec.ainrnn.config".into(), cfg);
    });
    let e = load_err(&b);
    assert!(e.contains("max_len") && e.contains("at most 10000"), "{e}");
}

fn keep(_: &str, t: Tensor) -> Option<Tensor> {
    Some(t)
}

/// Weights stored as f64 / f16 / i64 where f32 is expected, and NaN/Inf weights, are rejected
/// by `model::from_safetensors` with the tensor's name (NaN weights would rank with NaN scores).
#[test]
fn other_dtypes_and_non_finite_weights_are_rejected() {
    let good = shipped();
    for dtype in [DType::F64, DType::F16, DType::BF16, DType::I64] {
        let b = rewrite(
            &good,
            |name, t| {
                Some(if name == "ainrnn.head.weight" {
                    t.to_dtype(dtype).unwrap()
                } else {
                    t
                })
            },
            |_| {},
        );
        let e = load_err(&b);
        assert!(
            e.contains("ainrnn.head.weight") && e.contains("F32"),
            "{dtype:?}: {e}"
        );
    }
    for (name, bad) in [
        ("ainrnn.layer0.weight_hh", f32::NAN),
        ("song.ids", f32::INFINITY),
        ("catalog.buffer_value", f32::NAN),
    ] {
        let b = rewrite(
            &good,
            |n, t| {
                Some(if n == name {
                    let shape = t.shape().clone();
                    let mut v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                    v[3] = bad;
                    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
                } else {
                    t
                })
            },
            |_| {},
        );
        let e = load_err(&b);
        assert!(e.contains(name) && e.contains("finite"), "{name}: {e}");
    }
}

#[test]
fn corrupt_and_foreign_history_files_are_rejected_with_the_field() {
    let cases: &[(&str, &str)] = &[
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("\u{feff}{\"items\": []}", "byte-order mark (U+FEFF)"),
        ("[1, 2, 3]", "an object with an `items` array"),
        ("null", "an object with an `items` array"),
        ("\"items\"", "an object with an `items` array"),
        // Somebody else's JSON: a results file, a model configuration, a playlist export.
        (
            r#"{"models": {"popularity": {}}, "folds": 10}"#,
            "`items` is missing",
        ),
        (
            r#"{"item_dim": 128, "hidden_dim": 64}"#,
            "`items` is missing",
        ),
        (
            r#"{"playlists": [{"name": "x", "tracks": []}]}"#,
            "`items` is missing",
        ),
        (
            r#"{"version": 2, "items": []}"#,
            "field `version`: expected 1",
        ),
        (r#"{"version": "1", "items": []}"#, "field `version`"),
        (r#"{"items": {"id": "1"}}"#, "field `items`"),
        (r#"{"items": ["51"]}"#, "field `items[0]`"),
        (
            r#"{"items": [{"id": "1"}, {"name": "no id"}]}"#,
            "`items[1].id` is missing",
        ),
        (r#"{"items": [{"id": ""}]}"#, "items[0].id"),
        (r#"{"items": [{"id": -4}]}"#, "items[0].id"),
        (r#"{"items": [{"id": {"x": 1}}]}"#, "items[0].id"),
        (r#"{"items": [{"id": "1", "plays": -1}]}"#, "items[0].plays"),
        (
            r#"{"items": [{"id": "1", "plays": 1.5}]}"#,
            "items[0].plays",
        ),
        (
            r#"{"items": [{"id": "1", "plays": 1e400}]}"#,
            "not valid JSON",
        ),
        (
            r#"{"items": [{"id": "1", "liked": "yes"}]}"#,
            "items[0].liked",
        ),
        (
            r#"{"items": [{"id": "1", "time": "2024-01-01"}]}"#,
            "items[0].time",
        ),
        (r#"{"items": [], "portrait": []}"#, "field `portrait`"),
        (
            r#"{"items": [], "portrait": {"age_band": "30"}}"#,
            "portrait.age_band",
        ),
        (
            r#"{"items": [], "portrait": {"language": "english"}}"#,
            "portrait.language",
        ),
        (
            r#"{"items": [], "portrait": {"genres": "rock"}}"#,
            "portrait.genres",
        ),
        (r#"{"items": [{"id": NaN}]}"#, "not valid JSON"),
    ];
    for (text, needle) in cases {
        let e = match parse_history(text, "import.json") {
            Ok(h) => panic!("{text:?} parsed as {h:?}"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("import.json"), "{text:?}: {e}");
        assert!(e.contains(needle), "{text:?}: expected {needle:?} in {e}");
    }
    // Nesting 100 000 deep must not overflow the stack: serde_json stops at 128.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = parse_history(&deep, "deep.json").unwrap_err().to_string();
    assert!(e.contains("recursion limit"), "{e}");
    let deep = format!(
        "{{\"items\": [{{\"id\": \"1\", \"x\": {}{}}}]}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    assert!(parse_history(&deep, "deep.json").is_err());
    // A long message is cut, not echoed whole.
    let long = format!(
        "{{\"items\": [{{\"id\": \"1\", \"plays\": \"{}\"}}]}}",
        "x".repeat(100_000)
    );
    let e = parse_history(&long, "long.json").unwrap_err().to_string();
    assert!(e.len() < 300, "{} bytes of error", e.len());
    // Bytes that are not UTF-8, from a file: the path and the reason.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    std::fs::write(&path, b"{\"items\": [{\"id\": \"\xff\xfe\"}]}").unwrap();
    let e = read_history(&path).unwrap_err().to_string();
    assert!(e.contains("history.json") && e.contains("UTF-8"), "{e}");
    // A good file next to them still parses.
    let ok = parse_history(
        r#"{"items": [{"id": 51, "plays": 3}], "extra": true}"#,
        "ok.json",
    )
    .unwrap();
    assert_eq!(ok.items[0].id, "51");
}
