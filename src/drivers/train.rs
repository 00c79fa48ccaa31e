//! Native driver behind `ainrec train`: fits a neural model on every shipped hetrec user that
//! passes the evaluation's filter and writes the model file (`models/hetrec.safetensors`).
//!
//! What is measured on the way, on the tenth of users held out for early stopping (they steer
//! the epoch choice, so their numbers are a sanity check, not a test result — the test results
//! are `ainrec eval`'s): full-ranking P@10, and for two-stage ranking the share of the exact
//! top 10 that stage 1 retrieves among its best K (stage-1 recall), for several K.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};

use crate::data::hetrec::Hetrec;
use crate::data::splits::{filter_users, split_user, user_mask, SplitConfig};
use crate::error::{Error, Result};
use crate::eval::neural::NeuralTrainer;
use crate::eval::FitContext;
use crate::model::fit::NeuralKind;
use crate::ranking::{top_k, Recommender, UserInput};

/// Options of `ainrec train`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// hetrec2011-lastfm-2k directory.
    pub data_dir: PathBuf,
    /// Where the model file goes.
    pub out: PathBuf,
    /// The variant (`ainrnn`, `indrnn`, `lstm`).
    pub model: String,
    /// JSON fields over the default configuration.
    pub neural_config: Option<Value>,
    /// Seed of initial weights, examples and the early-stopping users.
    pub seed: u64,
    /// The command line, stored in the file.
    pub command: String,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            data_dir: crate::data::locate::DataRoot::resolve(None).hetrec_dir(),
            out: PathBuf::from("models/hetrec.safetensors"),
            model: "ainrnn".into(),
            neural_config: None,
            seed: 2022,
            command: "ainrec train".into(),
        }
    }
}

/// Stage-1 cut-offs whose recall is reported.
pub const STAGE1_K: [usize; 3] = [100, 500, 1000];

/// Trains, measures and writes the model file (atomically: a failed run leaves an existing file
/// untouched). Returns the `info` object stored in the file.
pub fn run_train(opts: &TrainOptions, progress: &mut dyn FnMut(&str)) -> Result<Value> {
    let kind = NeuralKind::from_name(&opts.model)
        .filter(|k| *k != NeuralKind::AinrnnShuffled)
        .ok_or_else(|| Error::invalid("model", "ainrnn, indrnn or lstm", &opts.model))?;
    let started = Instant::now();
    let h = Hetrec::load(&opts.data_dir)?;
    let d = &h.dataset;
    let split = SplitConfig::default();
    let users = filter_users(d, split.min_items);
    let content = h.tag_profiles(&user_mask(d.users.len(), &users))?;
    progress(&format!(
        "loaded {}: {} users kept (>= {} artists), {} artists",
        opts.data_dir.display(),
        users.len(),
        split.min_items,
        d.catalog.len()
    ));
    let mut trainer = match &opts.neural_config {
        Some(over) => NeuralTrainer::with_overrides(kind, over)?,
        None => NeuralTrainer::new(kind),
    };
    trainer.verbose = true;
    let config = trainer.config().clone();
    let ctx = FitContext {
        dataset: d,
        train_users: &users,
        content: Some(&content),
        seed: opts.seed,
    };
    let fit_started = Instant::now();
    let fitted = trainer.fit_config(&ctx, &config)?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    let rec = fitted.recommender()?;

    // Sanity numbers on the early-stopping users.
    let (mut p10, mut stage1) = (0f64, vec![0f64; STAGE1_K.len()]);
    let mut n = 0usize;
    let mut seconds_full = 0f64;
    for &u in &fitted.stop_users {
        let (input, targets) = split_user(&d.users[u], split.seed, split.target_fraction)?;
        let input = UserInput::from_listens(&input);
        let t0 = Instant::now();
        let scores = rec.score(&input)?;
        seconds_full += t0.elapsed().as_secs_f64();
        let exact: Vec<usize> = top_k(&scores, &input.item_indices(), 10)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        p10 += exact
            .iter()
            .filter(|i| targets.iter().any(|t| t.item == **i))
            .count() as f64
            / 10.0;
        let pooled = rec.pooled_scores(&input)?;
        for (j, &k) in STAGE1_K.iter().enumerate() {
            let cands = top_k(&pooled, &input.item_indices(), k);
            let found = exact
                .iter()
                .filter(|i| cands.iter().any(|(c, _)| c == *i))
                .count();
            stage1[j] += found as f64 / exact.len().max(1) as f64;
        }
        n += 1;
    }
    let n = n.max(1) as f64;
    let epochs = &fitted.epochs;
    let info = json!({
        "model": kind.name(),
        "data": opts.data_dir.display().to_string(),
        "users": users.len(),
        "early_stopping_users": fitted.stop_users.len(),
        "min_items": split.min_items,
        "items": d.catalog.len(),
        "config": config,
        "seed": opts.seed,
        "epochs": epochs,
        "best_epoch": fitted.best_epoch,
        "seconds_training": fit_seconds,
        "seconds_per_epoch": fit_seconds / epochs.len().max(1) as f64,
        "early_stopping_users_precision@10": p10 / n,
        "stage1_recall_of_top10": STAGE1_K.iter().zip(&stage1)
            .map(|(k, r)| (k.to_string(), json!(r / n))).collect::<serde_json::Map<_, _>>(),
        "seconds_per_full_ranking": seconds_full / n,
        "command": opts.command,
        "licence": "derived from hetrec2011-lastfm-2k (Last.fm data): non-commercial use only",
    });
    let bytes = fitted.save(&d.catalog, &info)?;
    crate::drivers::write_atomic(&opts.out, &bytes)?;
    progress(&format!(
        "wrote {} ({:.1} MB) in {:.0} s; early-stopping users: P@10 {:.4}, stage-1 recall of the top 10 at K = {:?}: {:?}",
        opts.out.display(),
        bytes.len() as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        p10 / n,
        STAGE1_K,
        stage1.iter().map(|r| (r / n * 1000.0).round() / 1000.0).collect::<Vec<_>>()
    ));
    Ok(info)
}
