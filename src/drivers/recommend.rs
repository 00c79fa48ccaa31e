//! `ainrec recommend`: a history file → recommendations, from a hetrec model file or a baseline
//! fitted on every hetrec user that passes the filter; or a page export → the page's ranking of
//! the visitor's library, from the browser model (`models/browser.safetensors`), the same code
//! as the page's worker ([`Session`]), diversity rule included.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::data::hetrec::Hetrec;
use crate::data::history::read_history;
use crate::data::locate::DataRoot;
use crate::data::page_export::read_page_export;
use crate::data::splits::{filter_users, user_mask, SplitConfig};
use crate::error::{Error, Result};
use crate::eval::baselines::{baseline_trainer, default_config, BASELINES};
use crate::eval::FitContext;
use crate::model::browser::{BrowserModel, RankOptions, Session, Step};
use crate::ranking::UserInput;
use crate::recommend::{recommend, Attention, RecommendOutput, Recommendation};

/// Options of `ainrec recommend`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendOptions {
    /// hetrec2011-lastfm-2k directory.
    pub data_dir: PathBuf,
    /// The history file.
    pub history: PathBuf,
    /// A baseline name (`popularity`, `item_knn`, `content_knn`, `ease`, `ials`).
    pub model: String,
    /// Number of recommendations.
    pub k: usize,
    /// At most this many in a row by one artist (0: no limit). The browser model applies it to
    /// the library's artist tags; a hetrec item *is* an artist, so there it never reorders.
    pub diversity: usize,
    /// User filter applied to the shipped data before fitting.
    pub min_items: usize,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        RecommendOptions {
            data_dir: DataRoot::resolve(None).hetrec_dir(),
            history: PathBuf::from("history.json"),
            model: "item_knn".into(),
            k: RankOptions::default().k,
            diversity: RankOptions::default().diversity,
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
    let as_file = Path::new(&opts.model);
    let is_file = opts.model.ends_with(".safetensors") || as_file.is_file();
    let bytes = if is_file {
        Some(std::fs::read(as_file).map_err(|e| Error::io(as_file, e))?)
    } else {
        None
    };
    if let Some(bytes) = bytes
        .as_deref()
        .filter(|b| BrowserModel::is_browser_model(b))
    {
        let out = recommend_library(bytes, as_file, opts)?;
        return Ok(serde_json::to_string_pretty(&out)? + "\n");
    }
    let history = read_history(&opts.history)?;
    if let Some(bytes) = bytes {
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

/// The browser model's ranking of the library in a page export, as the page made it: the rows
/// are the export's tracks (one per recording, with a descriptor of the model's length), the
/// history its items on those rows, the weights its fine-tuned ones when they fit the model.
fn recommend_library(
    bytes: &[u8],
    model_path: &Path,
    opts: &RecommendOptions,
) -> Result<RecommendOutput> {
    let export = read_page_export(&opts.history)?;
    let mut session = Session::new(bytes).map_err(|e| Error::model_file(model_path, e))?;
    let cfg = session.model().config();
    let key = cfg.analysis_key.clone();
    let len = cfg.descriptor_names.len();
    if export.analysis_key.as_deref() != Some(key.as_str()) {
        return Err(Error::invalid(
            "export analysis key",
            format!("the model's ({key}): re-analyse in the page or use the model it was made for"),
            export.analysis_key.as_deref().unwrap_or("none"),
        ));
    }
    let mut notes = Vec::new();
    if let Some(w) = &export.weights {
        // As the page: weights that do not fit leave the shipped ones in place, said in words.
        if let Err(e) = session.load_weights(w) {
            notes.push(format!(
                "the export's fine-tuned weights were not used ({e}); the shipped weights were"
            ));
        }
    }
    let rows = export.rows(len);
    let flat: Vec<f32> = rows
        .iter()
        .flat_map(|r| r.descriptor.iter().copied())
        .collect();
    let artists: Vec<String> = rows.iter().map(|r| r.artist.clone()).collect();
    session.set_library(&flat, &artists)?;
    let index: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut steps = Vec::new();
    let mut step_ids = Vec::new();
    let mut unknown_ids = Vec::new();
    for it in &export.history.items {
        match index.get(it.id.as_str()) {
            Some(&item) => {
                steps.push(Step {
                    item,
                    plays: it.plays.unwrap_or(0) as f32,
                    liked: it.model_liked(),
                    skips: it.model_skips() as f32,
                });
                step_ids.push(it.id.as_str());
            }
            None => unknown_ids.push(it.id.clone()),
        }
    }
    if steps.is_empty() {
        return Err(Error::invalid(
            "history",
            "at least one item that is a track of the export's library",
            format!("{} items, none of them one", export.history.items.len()),
        ));
    }
    let rank = RankOptions {
        k: opts.k,
        diversity: opts.diversity,
        ..RankOptions::default()
    };
    let ranked = session.recommend(&steps, &HashSet::new(), &rank)?;
    let recommendations = ranked
        .into_iter()
        .map(|r| {
            // The attention covers the last attention.len() steps, oldest first.
            let first = step_ids.len() - r.attention.len();
            let mut attention: Vec<Attention> = r
                .attention
                .iter()
                .zip(&step_ids[first..])
                .map(|(&weight, id)| Attention {
                    id: (*id).to_owned(),
                    weight,
                })
                .collect();
            attention.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.id.cmp(&b.id)));
            Recommendation {
                id: rows[r.item].id.clone(),
                name: rows[r.item].title.clone(),
                score: r.score,
                attention,
                model_rank: (opts.diversity > 0).then_some(r.model_rank),
            }
        })
        .collect();
    Ok(RecommendOutput {
        recommendations,
        unknown_ids,
        notes,
    })
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
                diversity: 0,
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
