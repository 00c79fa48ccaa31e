//! The fitted neural models as recommenders, on the committed 12-user hetrec excerpt
//! (compiled in, so this runs in Chromium too): fitted through the evaluation harness's
//! `Trainer`, they rank without history items, explain with attention weights that sum to 1,
//! survive save → load with identical scores, and a corrupt or foreign model file is rejected.

use ainrec::data::splits::split_user;
use ainrec::eval::neural::NeuralTrainer;
use ainrec::eval::{FitContext, Trainer as _};
use ainrec::model::fit::{content_features, examples, ranking_ndcg, NeuralKind};
use ainrec::model::model_file;
use ainrec::ranking::{top_k, Recommender, UserInput};
use ainrec::recommend::recommend;
use ainrec::util::rng::derive_seed;
use serde_json::json;

use crate::hetrec_mini::mini;

/// A small, fast configuration (the defaults are sized for the full data set).
fn small(kind: NeuralKind) -> NeuralTrainer {
    NeuralTrainer::with_overrides(
        kind,
        &json!({"item_dim": 16, "hidden_dim": 16, "n_layers": 3, "vocab": 32,
                "n_negatives": 20, "batch_size": 4, "max_epochs": 3, "lr": 0.005}),
    )
    .unwrap()
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn content_features_are_unit_rows_over_the_most_used_tags() {
    let h = mini();
    let content = h.tag_profiles(&vec![true; h.dataset.users.len()]).unwrap();
    let (names, rows) = content_features(&content, 8);
    assert_eq!(names.len(), 8);
    assert_eq!(rows.len(), h.dataset.catalog.len());
    for r in &rows {
        let norm: f32 = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(norm == 0.0 || (norm - 1.0).abs() < 1e-5, "row norm {norm}");
    }
    assert!(rows.iter().any(|r| r.iter().any(|x| *x > 0.0)));
    assert!(NeuralTrainer::with_overrides(NeuralKind::Ainrnn, &json!({"hiden_dim": 3})).is_err());
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn fitted_models_rank_explain_and_round_trip() {
    let h = mini();
    let d = &h.dataset;
    let users: Vec<usize> = (0..d.users.len())
        .filter(|&u| d.users[u].listens.len() >= 10)
        .collect();
    let content = h.tag_profiles(&vec![true; d.users.len()]).unwrap();
    let ctx = FitContext {
        dataset: d,
        train_users: &users,
        content: Some(&content),
        seed: 5,
    };
    let (input, _) = split_user(&d.users[users[0]], 1, 0.2).unwrap();
    let input = UserInput::from_listens(&input);
    let history = input.item_indices();

    for (kind, _) in NeuralKind::ALL {
        let trainer = small(kind);
        let fitted = trainer.fit_config(&ctx, trainer.config()).unwrap();
        assert!(!fitted.epochs.is_empty());
        assert!(trainer.seconds_per_epoch().is_some());
        let rec = fitted.recommender().unwrap();
        assert_eq!(rec.n_items(), d.catalog.len());
        let scores = rec.score(&input).unwrap();
        assert!(scores.iter().all(|s| s.is_finite()));
        let out = recommend(&rec, &d.catalog, &input, 10).unwrap();
        assert_eq!(out.recommendations.len(), 10);
        for r in &out.recommendations {
            let i = d.catalog.index_of(&r.id).unwrap();
            assert!(
                !history.contains(&i),
                "{kind:?} recommended history item {i}"
            );
            if matches!(kind, NeuralKind::Ainrnn | NeuralKind::AinrnnShuffled) {
                let sum: f32 = r.attention.iter().map(|a| a.weight).sum();
                assert!((sum - 1.0).abs() < 1e-4, "attention sums to {sum}");
                assert_eq!(r.attention.len(), history.len());
            } else {
                assert!(r.attention.is_empty());
            }
        }
        // Candidate scoring agrees with full scoring.
        let cands = [3usize, 0, 7];
        let sub = rec.score_candidates(&input, &cands).unwrap();
        for (j, &c) in cands.iter().enumerate() {
            assert!((sub[j] - scores[c]).abs() < 1e-5);
        }
        if kind == NeuralKind::AinrnnShuffled {
            continue; // not a shipped variant
        }

        // Save → load → identical scores.
        let bytes = fitted.save(&d.catalog, &json!({"test": true})).unwrap();
        let loaded = model_file::load(&bytes).unwrap();
        assert_eq!(loaded.kind, kind.name());
        assert_eq!(loaded.catalog.catalog.ids(), d.catalog.ids());
        assert_eq!(loaded.recommender.score(&input).unwrap(), scores);

        // Two-stage ranking retrieving the whole catalog equals exact ranking.
        let (best, stage1) = rec.two_stage(&input, d.catalog.len(), 10).unwrap();
        assert!(stage1.iter().all(|i| !history.contains(i)));
        assert_eq!(best, top_k(&scores, &history, 10));

        // A damaged or foreign file is an error, never a half-loaded model.
        let mut broken = bytes.clone();
        broken.truncate(bytes.len() / 2);
        assert!(model_file::load(&broken).is_err());
        assert!(model_file::load(b"not a model").is_err());
        let other = candle_nn::VarMap::new();
        other
            .get(
                3,
                "w",
                candle_nn::Init::Const(1.0),
                candle_core::DType::F32,
                &candle_core::Device::Cpu,
            )
            .unwrap();
        let foreign =
            ainrec::model::to_safetensors(&other, std::collections::HashMap::new()).unwrap();
        let err = model_file::load(&foreign).err().unwrap().to_string();
        assert!(err.contains("version"), "{err}");
    }
}

/// Stopping on the ranking of the held-out training users keeps the epoch that ranked them best,
/// with popularity-weighted negatives: every epoch is scored, the best one's weights are the ones
/// left, and they rank those users exactly as scored.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn stopping_on_ranking_keeps_the_best_ranking_epoch() {
    let h = mini();
    let d = &h.dataset;
    let users: Vec<usize> = (0..d.users.len()).collect();
    let content = h.tag_profiles(&vec![true; d.users.len()]).unwrap();
    let ctx = FitContext {
        dataset: d,
        train_users: &users,
        content: Some(&content),
        seed: 11,
    };
    let trainer = NeuralTrainer::with_overrides(
        NeuralKind::Ainrnn,
        &json!({"item_dim": 16, "hidden_dim": 16, "n_layers": 3, "vocab": 32,
                "n_negatives": 20, "batch_size": 4, "max_epochs": 4, "patience": 4,
                "lr": 0.01, "stop_on": "ndcg", "negative_power": 0.75}),
    )
    .unwrap();
    let fitted = trainer.fit_config(&ctx, trainer.config()).unwrap();
    assert_eq!(fitted.epochs.len(), 4);
    let crit: Vec<f32> = fitted.epochs.iter().map(|e| e.criterion.unwrap()).collect();
    assert!(crit.iter().all(|c| (-1.0..=0.0).contains(c)), "{crit:?}");
    let best = crit.iter().copied().fold(f32::INFINITY, f32::min);
    assert_eq!(crit[fitted.best_epoch - 1], best, "{crit:?}");
    let valid = examples(d, &fitted.stop_users, 1, 0.2, derive_seed(11, &[1]), false).unwrap();
    let ndcg = ranking_ndcg(&fitted.recommender().unwrap(), &valid).unwrap();
    assert!((ndcg + best).abs() < 1e-6, "{ndcg} vs {best}");
    // Both are the defaults and part of the recorded configuration; the older settings (loss,
    // uniform negatives) are left out of it, so grids recorded before them read the same.
    let default = &NeuralTrainer::new(NeuralKind::Ainrnn).grid()[0];
    assert!(default["stop_on"] == "ndcg" && default["negative_power"] == 1.0);
    let old = NeuralTrainer::with_overrides(
        NeuralKind::Ainrnn,
        &json!({"stop_on": "loss", "negative_power": 0.0}),
    )
    .unwrap()
    .grid()[0]
        .clone();
    assert!(old.get("stop_on").is_none() && old.get("negative_power").is_none());
}

/// The shipped model file (`make models`) loads and ranks a real history without returning any
/// of its items, with attention weights over that history.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn shipped_model_recommends_without_history_items() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hetrec.safetensors");
    let bytes = std::fs::read(&path).expect("models/hetrec.safetensors is committed");
    let loaded = model_file::load(&bytes).unwrap();
    let catalog = &loaded.catalog.catalog;
    assert_eq!(catalog.len(), 16510);
    assert_eq!(loaded.kind, "ainrnn");
    // A history of the first 30 artists of the catalog's first user (ids as in artists.dat).
    let ids: Vec<String> = (0..30).map(|i| catalog.id(i).to_owned()).collect();
    let json = serde_json::json!({
        "version": 1,
        "items": ids.iter().map(|id| serde_json::json!({"id": id, "plays": 3})).collect::<Vec<_>>(),
    });
    let history = ainrec::data::history::parse_history(&json.to_string(), "h.json").unwrap();
    let (input, unknown) = UserInput::from_history(&history, catalog);
    assert!(unknown.is_empty());
    let out = recommend(&loaded.recommender, catalog, &input, 10).unwrap();
    assert_eq!(out.recommendations.len(), 10);
    for r in &out.recommendations {
        assert!(!ids.contains(&r.id), "recommended history item {}", r.id);
        let sum: f32 = r.attention.iter().map(|a| a.weight).sum();
        assert!((sum - 1.0).abs() < 1e-4);
    }
    assert!(loaded.info.get("stage1_recall_of_top10").is_some());
}
