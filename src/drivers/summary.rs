//! `results.json`, the one record of an evaluation: its type, and the writer that keeps it and
//! `RESULTS.md` in step. `ainrec eval` writes the listening-data sections; `ainrec audio-proxy`
//! merges its own section into the same file, keeping the rest.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::drivers::report::results_markdown;
use crate::drivers::write_atomic;
use crate::error::{Error, Result};
use crate::eval::cold_start::ColdStartConfig;
use crate::metrics::MeanStd;

/// Size of the data set and of what the filter kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataStats {
    /// Users in the data.
    pub users: usize,
    /// Users kept by the filter.
    pub users_kept: usize,
    /// Catalog items (artists).
    pub items: usize,
    /// User–item pairs of all users.
    pub interactions: usize,
    /// Share of kept users' pairs that carry a date.
    pub dated_fraction: f64,
}

/// The metrics whose per-fold values `results.json` keeps (`per_fold`), for paired comparisons.
pub const PAIRED_METRICS: [&str; 3] = ["precision@10", "ndcg@10", "hit@10"];

/// The `settings` object of `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Data directory as given.
    pub data: String,
    /// Data statistics.
    pub dataset: DataStats,
    /// Minimum distinct items per user (the threshold), with the paper's for reference.
    pub min_items: usize,
    /// The paper's threshold on Taste Profile.
    pub paper_min_tracks: usize,
    /// Number of folds.
    pub folds: usize,
    /// Folds actually evaluated when a run stopped early (`--max-folds`); absent = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds_evaluated: Option<usize>,
    /// Seed of folds and input/target splits.
    pub split_seed: u64,
    /// Share of an evaluated user's items held out as targets.
    pub target_fraction: f64,
    /// Negatives per target in `sampled100`.
    pub negatives: usize,
    /// Seed of the sampled negatives.
    pub negative_seed: u64,
    /// Tuning metric, budget and validation rule.
    pub tuning: Value,
    /// Grid of each model.
    pub grids: BTreeMap<String, Vec<Value>>,
    /// Configuration chosen on each fold, per model.
    pub chosen: BTreeMap<String, Vec<Value>>,
    /// Wall-clock seconds per model summed over folds (tune + refit + evaluate), for this
    /// machine; folds restored from checkpoints count with their original times.
    pub wall_seconds: BTreeMap<String, f64>,
    /// The command that made the run.
    pub command: String,
}

/// `results.json`: `results[protocol][model][metric] = {mean, std}` plus the later sections and
/// the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `results[protocol][model][metric]`.
    pub results: BTreeMap<String, BTreeMap<String, BTreeMap<String, MeanStd>>>,
    /// `audio_proxy[feature_set][metric]`, filled by `ainrec audio-proxy`
    /// ([`crate::drivers::audio_proxy::run_audio_proxy`]); kept when the listening-data evaluation is re-run.
    pub audio_proxy: BTreeMap<String, BTreeMap<String, MeanStd>>,
    /// How the audio proxy numbers were made (corpus, excerpts, descriptor, command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_proxy_settings: Option<Value>,
    /// `seconds_per_epoch[model]`, filled by the neural models (empty here).
    pub seconds_per_epoch: BTreeMap<String, f64>,
    /// `per_fold[protocol][model][metric]`: the value on each fold, in fold order, for the
    /// metrics of [`PAIRED_METRICS`] — what a paired comparison of two models needs. Absent in
    /// files written before it was kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_fold: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<f64>>>>,
    /// The cold-start protocol (`ainrec eval --cold-start`), on the same folds and splits;
    /// kept when the other protocols are re-run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStartSection>,
    /// How the numbers were made.
    pub settings: Settings,
}

/// The cold-start section of `results.json` ([`crate::eval::cold_start`]): the same folds,
/// input/target splits and tuning rule as the other protocols, its own models and grids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStartSection {
    /// How the withheld artists were drawn.
    pub config: ColdStartConfig,
    /// `results[model][metric]`: mean ± sd over folds; `users` (evaluated test users) and
    /// `withheld` (candidate artists) are counts per fold.
    pub results: BTreeMap<String, BTreeMap<String, MeanStd>>,
    /// `per_fold[model][metric]`: [`PAIRED_METRICS`], `users` and `withheld`, fold by fold.
    pub per_fold: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
    /// Grid of each model.
    pub grids: BTreeMap<String, Vec<Value>>,
    /// Configuration chosen on each fold, per model.
    pub chosen: BTreeMap<String, Vec<Value>>,
    /// Wall-clock seconds per model summed over folds.
    pub wall_seconds: BTreeMap<String, f64>,
    /// The command(s) that made the section, joined by ` ; `.
    pub command: String,
}

/// Adds the entries of `from` whose model is not in `run_now` (the models a run just
/// evaluated): how a run keeps the rows of earlier runs' other models.
pub fn others<V>(into: &mut BTreeMap<String, V>, from: BTreeMap<String, V>, run_now: &[String]) {
    into.extend(from.into_iter().filter(|(m, _)| !run_now.contains(m)));
}

/// Writes `<dir>/results.json` and `<dir>/RESULTS.md` and reports it.
pub fn write_summary(
    dir: &Path,
    summary: &Summary,
    what: &str,
    started: Instant,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let json_path = dir.join("results.json");
    write_atomic(&json_path, serde_json::to_string_pretty(summary)? + "\n")?;
    let md_path = dir.join("RESULTS.md");
    write_atomic(&md_path, results_markdown(summary))?;
    progress(&format!(
        "{what}wrote {} and {} ({:.1} s in total)",
        json_path.display(),
        md_path.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Reads a `results.json`.
pub fn read_summary(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Parse {
        file: path.display().to_string(),
        reason: format!("not a results.json: {e}"),
    })
}
