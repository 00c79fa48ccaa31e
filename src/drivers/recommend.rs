//! `ainrec recommend`: a history file → recommendations, from a model file or a baseline fitted
//! on every hetrec user that passes the filter.

use std::path::{Path, PathBuf};

use crate::data::hetrec::Hetrec;
use crate::data::history::read_history;
use crate::data::locate::DataRoot;
use crate::data::splits::{filter_users, user_mask, SplitConfig};
use crate::error::{Error, Result};
use crate::eval::baselines::{baseline_trainer, default_config, BASELINES};
use crate::eval::FitContext;
use crate::ranking::UserInput;
use crate::recommend::recommend;

/// Options of `ainrec recommend`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendOptions {
    /// hetrec2011-lastfm-2k directory.
    pub data_dir: PathBuf,
    /// The history file.
    pub history: PathBuf,
    /// A baseline name (`popularity`, `item_knn`, `content_knn`).
    pub model: String,
    /// Number of recommendations.
    pub k: usize,
    /// User filter applied to the shipped data before fitting.
    pub min_items: usize,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        RecommendOptions {
            data_dir: DataRoot::resolve(None).hetrec_dir(),
            history: PathBuf::from("history.json"),
            model: "item_knn".into(),
            k: 10,
            min_items: SplitConfig::default().min_items,
        }
    }
}

/// Fits the named baseline on all shipped users that pass the filter and returns the
/// recommendations for the history file as pretty JSON (see [`crate::recommend::RecommendOutput`]).
/// The history is read first, so a malformed file fails fast with the field named.
pub fn run_recommend(opts: &RecommendOptions) -> Result<String> {
    if opts.k == 0 {
        return Err(Error::invalid("k", "at least 1", 0));
    }
    let history = read_history(&opts.history)?;
    let as_file = Path::new(&opts.model);
    if opts.model.ends_with(".safetensors") || as_file.is_file() {
        let bytes = std::fs::read(as_file).map_err(|e| Error::io(as_file, e))?;
        let loaded =
            crate::model::model_file::load(&bytes).map_err(|e| Error::model_file(as_file, e))?;
        let catalog = &loaded.catalog.catalog;
        let (input, unknown) = UserInput::from_history(&history, catalog);
        let mut out = recommend(&loaded.recommender, catalog, &input, opts.k)?;
        out.unknown_ids = unknown;
        return Ok(serde_json::to_string_pretty(&out)? + "\n");
    }
    let trainer = baseline_trainer(&opts.model).ok_or_else(|| {
        Error::invalid(
            "model",
            format!(
                "a model file (.safetensors) or one of {}",
                BASELINES.join(", ")
            ),
            &opts.model,
        )
    })?;
    let config = default_config(&opts.model)
        .ok_or_else(|| Error::Model(format!("no default for {}", opts.model)))?;
    let h = Hetrec::load(&opts.data_dir)?;
    let d = &h.dataset;
    let users = filter_users(d, opts.min_items);
    let content = h.tag_profiles(&user_mask(d.users.len(), &users))?;
    let ctx = FitContext {
        dataset: d,
        train_users: &users,
        content: Some(&content),
        seed: 0,
    };
    let model = trainer.fit(&ctx, &config)?;
    let (input, unknown) = UserInput::from_history(&history, &d.catalog);
    let mut out = recommend(model.as_ref(), &d.catalog, &input, opts.k)?;
    out.unknown_ids = unknown;
    Ok(serde_json::to_string_pretty(&out)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn mini_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hetrec-mini")
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ainrec-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn recommend_excludes_history_and_reports_bad_fields() {
        let out = temp_dir("rec");
        let hist = out.join("h.json");
        std::fs::write(&hist, r#"{"version": 1, "items": [{"id": "51", "plays": 100}, {"id": "52"}, {"id": "999999"}]}"#)
            .unwrap();
        for model in BASELINES {
            let opts = RecommendOptions {
                data_dir: mini_dir(),
                history: hist.clone(),
                model: model.into(),
                k: 10,
                min_items: 40,
            };
            let text = run_recommend(&opts).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            let recs = v["recommendations"].as_array().unwrap();
            assert_eq!(recs.len(), 10, "{model}");
            assert!(
                recs.iter().all(|r| r["id"] != "51" && r["id"] != "52"),
                "{model}: history leaked"
            );
            assert!(recs
                .iter()
                .all(|r| r["attention"].as_array().unwrap().is_empty()));
            assert_eq!(v["unknown_ids"], json!(["999999"]));
        }
        std::fs::write(&hist, r#"{"items": [{"id": "51", "plays": "many"}]}"#).unwrap();
        let opts = RecommendOptions {
            data_dir: mini_dir(),
            history: hist.clone(),
            min_items: 40,
            ..Default::default()
        };
        let e = run_recommend(&opts).unwrap_err().to_string();
        assert!(e.contains("items[0].plays") && e.contains("h.json"), "{e}");
        let e = run_recommend(&RecommendOptions {
            history: out.join("absent.json"),
            ..opts.clone()
        })
        .unwrap_err();
        assert!(e.to_string().contains("absent.json"));
        std::fs::write(&hist, r#"{"items": []}"#).unwrap();
        let e = run_recommend(&RecommendOptions {
            model: "models/ainrnn.safetensors".into(),
            ..opts.clone()
        })
        .unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("models/ainrnn.safetensors") && e.contains("No such file"),
            "{e}"
        );
        let bad = out.join("bad.safetensors");
        std::fs::write(&bad, b"not a model").unwrap();
        let e = run_recommend(&RecommendOptions {
            model: bad.display().to_string(),
            ..opts.clone()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("bad.safetensors"), "{e}");
        let _ = std::fs::remove_dir_all(&out);
    }
}
