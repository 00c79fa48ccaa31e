//! `ainrec eval`: each model is tuned on the validation fold, refitted on train ∪ validation and
//! evaluated on the test fold under both protocols ([`crate::eval`]), fold by fold; each finished
//! fold × model is checkpointed ([`crate::drivers::checkpoint`]), so an interrupted run resumes
//! where it stopped. At the end `<out>/results.json` and `<out>/RESULTS.md` are written
//! ([`crate::drivers::summary`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::data::hetrec::Hetrec;
use crate::data::locate::DataRoot;
use crate::data::splits::{
    assign_folds, filter_users, make_folds, user_mask, Fold, SplitConfig, PAPER_MIN_TRACKS,
};
use crate::data::{ContentMatrix, Dataset};
use crate::drivers::checkpoint::{CheckpointEntry, FoldCheckpoint, Loaded, CHECKPOINT_DIR};
use crate::drivers::cold_start::{add_cold_start, same_split};
use crate::drivers::summary::{
    others, read_summary, write_summary, DataStats, Settings, Summary, PAIRED_METRICS,
};
use crate::drivers::DEFAULT_OUT_DIR;
use crate::error::{Error, Result};
use crate::eval::baselines::{baseline_trainer, BASELINES};
#[cfg(test)]
use crate::eval::cold_start::COLD_START_MODELS;
use crate::eval::cold_start::{
    eligible_items, run_cold_fold, ColdFold, ColdStartConfig, COLD_START,
};
use crate::eval::neural::NeuralTrainer;
use crate::eval::{
    run_fold, ContentFor, FoldProtocol, FoldResult, Restricted, Trainer, Trial, Tuning,
    DEFAULT_NEGATIVES, DEFAULT_NEGATIVE_SEED, PROTOCOLS, TUNING_BUDGET,
};
use crate::features::musicnn_input::MSD_TAGS;
use crate::metrics::{aggregate, MeanStd, TUNING_METRIC};
#[cfg(test)]
use crate::metrics::{MAX_K, METRICS};
use crate::model::fit::NeuralKind;

/// Options of `ainrec eval`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// hetrec2011-lastfm-2k directory.
    pub data_dir: PathBuf,
    /// Where `results.json`, `RESULTS.md` and the checkpoints go.
    pub out_dir: PathBuf,
    /// Model names, evaluated in this order.
    pub models: Vec<String>,
    /// User filter, folds, split seed, target fraction.
    pub split: SplitConfig,
    /// Negatives per target in the sampled protocol.
    pub negatives: usize,
    /// Seed for sampled negatives.
    pub negative_seed: u64,
    /// The command line that produced the run, quoted in `RESULTS.md`.
    pub command: String,
    /// Replaces the neural models' configuration (JSON fields merged over the defaults of
    /// [`crate::model::fit::NeuralConfig`]); for experiments, recorded in the grid.
    pub neural_config: Option<Value>,
    /// Run only the first this many folds (the rest are neither computed nor reported; results
    /// say how many folds they average).
    pub max_folds: Option<usize>,
    /// Compute only these folds (0-based) and leave their checkpoints, writing no results: to
    /// spread one run over several processes or machines sharing `out_dir`. A later run without
    /// it resumes every fold from the checkpoints and writes the results.
    pub only_folds: Option<Vec<usize>>,
    /// Run the cold-start protocol ([`crate::eval::cold_start`]) instead of `full` and
    /// `sampled100`; its results go into the `cold_start` section of an existing
    /// `results.json` of the same folds.
    pub cold_start: Option<ColdStartConfig>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            data_dir: DataRoot::resolve(None).hetrec_dir(),
            out_dir: PathBuf::from(DEFAULT_OUT_DIR),
            models: BASELINES.iter().map(|s| s.to_string()).collect(),
            split: SplitConfig::default(),
            negatives: DEFAULT_NEGATIVES,
            negative_seed: DEFAULT_NEGATIVE_SEED,
            command: "ainrec eval --models popularity,item_knn,content_knn --folds 10".into(),
            max_folds: None,
            only_folds: None,
            neural_config: None,
            cold_start: None,
        }
    }
}

/// The trainer for a model name: a baseline or a neural model ([`NeuralKind`]).
pub fn resolve_trainer(name: &str) -> Result<Box<dyn Trainer>> {
    if let Some(t) = baseline_trainer(name) {
        return Ok(t);
    }
    if let Some(kind) = NeuralKind::from_name(name) {
        let mut t = NeuralTrainer::tuned(kind);
        t.verbose = true;
        return Ok(Box::new(t));
    }
    let known: Vec<&str> = BASELINES
        .iter()
        .copied()
        .chain(NeuralKind::ALL.iter().map(|(_, n)| *n))
        .collect();
    Err(Error::invalid(
        "model",
        format!("one of {}", known.join(", ")),
        name,
    ))
}

/// The trainers of `opts.models`, with `opts.neural_config` over the neural models' defaults.
fn trainers(opts: &EvalOptions) -> Result<Vec<Box<dyn Trainer>>> {
    if opts.models.is_empty() {
        return Err(Error::invalid("models", "at least one model name", "none"));
    }
    opts.models
        .iter()
        .map(|m| match (&opts.neural_config, NeuralKind::from_name(m)) {
            (Some(over), Some(kind)) => {
                let mut t = NeuralTrainer::with_overrides(kind, over)?;
                t.verbose = true;
                Ok(Box::new(t) as Box<dyn Trainer>)
            }
            _ => resolve_trainer(m),
        })
        .collect()
}

/// The size of the data and of what the user filter kept.
fn data_stats(d: &Dataset, kept: &[usize]) -> DataStats {
    let dated: usize = kept
        .iter()
        .map(|&u| {
            d.users[u]
                .listens
                .iter()
                .filter(|l| l.time.is_some())
                .count()
        })
        .sum();
    let kept_pairs: usize = kept.iter().map(|&u| d.users[u].listens.len()).sum();
    DataStats {
        users: d.users.len(),
        users_kept: kept.len(),
        items: d.catalog.len(),
        interactions: d.n_interactions(),
        dated_fraction: dated as f64 / kept_pairs.max(1) as f64,
    }
}

/// The folds this run computes: the first `max_folds`, or exactly `only_folds`.
fn select_folds<'f>(opts: &EvalOptions, folds: &'f [Fold]) -> Result<Vec<&'f Fold>> {
    let n_run = opts.max_folds.unwrap_or(folds.len()).clamp(1, folds.len());
    match &opts.only_folds {
        None => Ok(folds[..n_run].iter().collect()),
        Some(_) if opts.max_folds.is_some() => Err(Error::invalid(
            "only_folds",
            "either a fold list or a maximum number of folds",
            "both",
        )),
        Some(list) => list
            .iter()
            .map(|&f| {
                folds.get(f).ok_or_else(|| {
                    Error::invalid(
                        "only_folds",
                        format!("fold numbers from 1 to {}", folds.len()),
                        f + 1,
                    )
                })
            })
            .collect(),
    }
}

/// Per model: each fold's result and seconds; and each fold's mean seconds per epoch.
#[derive(Default)]
struct Runs {
    per_model: BTreeMap<String, Vec<(FoldResult, f64)>>,
    epoch_times: BTreeMap<String, Vec<f64>>,
}

impl Runs {
    fn add(&mut self, name: &str, result: FoldResult, seconds: f64, per_epoch: Option<f64>) {
        if let Some(spe) = per_epoch {
            self.epoch_times.entry(name.into()).or_default().push(spe);
        }
        self.per_model
            .entry(name.into())
            .or_default()
            .push((result, seconds));
    }
}

/// Everything a fold needs that does not change between folds.
struct FoldRunner<'a> {
    opts: &'a EvalOptions,
    data: &'a Dataset,
    n_folds: usize,
    fingerprint: Value,
    ckpt_dir: PathBuf,
    content_for: &'a ContentFor<'a>,
}

impl FoldRunner<'_> {
    /// Every model on `fold`: resumed from the fold's checkpoint where it matches, else tuned,
    /// refitted and evaluated, then checkpointed.
    fn run(
        &self,
        fold: &Fold,
        trainers: &[Box<dyn Trainer>],
        runs: &mut Runs,
        progress: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let path = FoldCheckpoint::path(&self.ckpt_dir, fold.index);
        let mut ckpt = match FoldCheckpoint::load(&path, &self.fingerprint, fold.index)? {
            Loaded::Resume(c) => c,
            Loaded::Fresh(c, why) => {
                if let Some(why) = why {
                    progress(&why);
                }
                c
            }
        };
        let (n, of) = (fold.index + 1, self.n_folds);
        let mut state: Option<FoldState> = None;
        for t in trainers {
            let name = t.name().to_owned();
            // A follower fits the configuration its leader chose on this fold.
            let follower;
            let t: &dyn Trainer = match t.follows() {
                None => t.as_ref(),
                Some(leader) => {
                    let leader_grid = resolve_trainer(leader)?.grid();
                    let chosen = ckpt.entry(leader, &leader_grid).ok_or_else(|| {
                        Error::invalid(
                            format!("{name} on fold {}", fold.index + 1),
                            format!("{leader}'s choice on that fold (run --models {leader} first; {name} fits what it chose)"),
                            format!("no {leader} result over its current grid"),
                        )
                    })?;
                    follower = Restricted {
                        inner: t.as_ref(),
                        grid: vec![chosen.result.chosen.clone()],
                    };
                    &follower
                }
            };
            let grid = t.grid();
            if let Some(e) = ckpt.entry(&name, &grid) {
                progress(&format!("fold {n}/{of} {name}: resumed from checkpoint"));
                runs.add(&name, e.result.clone(), e.seconds, e.seconds_per_epoch);
                continue;
            }
            if state.is_none() {
                state = Some(self.fold_state(fold)?);
            }
            let state = state
                .as_ref()
                .ok_or_else(|| Error::Model("fold protocol missing".into()))?;
            // Trials an interrupted run finished are taken from the checkpoint; each new one
            // is written as it ends.
            let done = ckpt.finished_trials(&name, &grid);
            if !done.is_empty() {
                progress(&format!(
                    "fold {n}/{of} {name}: {} of {} tuning trials resumed from checkpoint",
                    done.len(),
                    grid.len()
                ));
            }
            let t0 = Instant::now();
            let mut last = t0;
            let mut save_error: Option<Error> = None;
            let mut on_trial = |k: usize, of_k: usize, trial: &Trial| {
                progress(&format!(
                    "fold {n}/{of} {name}: tuning {k}/{of_k} {} → {TUNING_METRIC} {:.4} ({:.1} s)",
                    trial.config,
                    trial.score,
                    last.elapsed().as_secs_f64()
                ));
                last = Instant::now();
                if save_error.is_none() {
                    save_error = ckpt.save_trial(&path, &name, &grid, trial).err();
                }
            };
            let result = match state {
                FoldState::Standard(test) => run_fold(
                    t,
                    self.data,
                    fold,
                    &self.opts.split,
                    test,
                    self.content_for,
                    Tuning {
                        done: &done,
                        on_trial: &mut on_trial,
                    },
                )?,
                FoldState::Cold(cold) => run_cold_fold(
                    t,
                    fold,
                    cold,
                    &self.opts.split,
                    self.content_for,
                    Tuning {
                        done: &done,
                        on_trial: &mut on_trial,
                    },
                )?,
            };
            if let Some(e) = save_error {
                return Err(e);
            }
            let seconds = t0.elapsed().as_secs_f64();
            progress(&format!(
                "fold {n}/{of} {name}: chose {} ; {} ({seconds:.1} s)",
                result.chosen,
                headline(&result),
            ));
            let seconds_per_epoch = t.seconds_per_epoch();
            let entry = CheckpointEntry {
                grid,
                seconds,
                seconds_per_epoch,
                result: result.clone(),
            };
            ckpt.save(&path, &name, entry)?;
            runs.add(&name, result, seconds, seconds_per_epoch);
        }
        Ok(())
    }

    /// What every model of `fold` is evaluated on: the test users with their sampled
    /// negatives, or the cold-start fold (withheld artists among those carrying an MSD tag in
    /// the training and validation users' tag profiles).
    fn fold_state(&self, fold: &Fold) -> Result<FoldState> {
        let split = &self.opts.split;
        match &self.opts.cold_start {
            None => Ok(FoldState::Standard(FoldProtocol::build(
                self.data,
                &fold.test,
                split,
                self.opts.negatives,
                self.opts.negative_seed,
            )?)),
            Some(cfg) => {
                let content =
                    (self.content_for)(&fold.train_and_validation())?.ok_or_else(|| {
                        Error::invalid("cold-start protocol", "artist tag profiles", "none")
                    })?;
                let eligible = eligible_items(&content, &MSD_TAGS);
                Ok(FoldState::Cold(ColdFold::build(
                    self.data, fold, split, &eligible, cfg,
                )?))
            }
        }
    }
}

/// The per-fold protocol state shared by every model of a fold.
enum FoldState {
    Standard(FoldProtocol),
    Cold(ColdFold),
}

/// The one-line test figures of a fold result.
fn headline(r: &FoldResult) -> String {
    let m = |p: &str, k: &str| {
        r.metrics
            .get(p)
            .and_then(|t| t.get(k))
            .copied()
            .unwrap_or(f64::NAN)
    };
    if r.metrics.contains_key(COLD_START) {
        format!(
            "cold_start P@10 {:.4} HR@10 {:.4} over {} users, {} withheld artists",
            m(COLD_START, "precision@10"),
            m(COLD_START, "hit@10"),
            m(COLD_START, "users"),
            m(COLD_START, "withheld")
        )
    } else {
        format!(
            "full P@10 {:.4} HR@10 {:.4} ; sampled100 HR@10 {:.4}",
            m("full", "precision@10"),
            m("full", "hit@10"),
            m("sampled100", "hit@10")
        )
    }
}

/// Runs the cross-validated evaluation and writes `results.json` and `RESULTS.md`.
/// `progress` receives one line per step (fold × model, resumes, files written).
pub fn run_eval(opts: &EvalOptions, progress: &mut dyn FnMut(&str)) -> Result<Summary> {
    let trainers = trainers(opts)?;
    let started = Instant::now();
    let h = Hetrec::load(&opts.data_dir)?;
    let d = &h.dataset;
    let kept = filter_users(d, opts.split.min_items);
    let folds = make_folds(&assign_folds(d, &kept, opts.split.folds, opts.split.seed)?);
    let stats = data_stats(d, &kept);
    progress(&format!(
        "loaded {}: {} users ({} kept with >= {} items), {} items, {} interactions in {:.1} s",
        opts.data_dir.display(),
        stats.users,
        stats.users_kept,
        opts.split.min_items,
        stats.items,
        stats.interactions,
        started.elapsed().as_secs_f64()
    ));
    // The cold-start protocol keeps its checkpoints apart: its model names (content_knn) are
    // also the other protocols', with other results.
    let ckpt_dir = match opts.cold_start {
        None => opts.out_dir.join(CHECKPOINT_DIR),
        Some(_) => opts.out_dir.join(CHECKPOINT_DIR).join(COLD_START),
    };
    std::fs::create_dir_all(&ckpt_dir).map_err(|e| Error::io(&ckpt_dir, e))?;

    // Tag profiles of a training set, built once and shared by every model of the fold (the
    // cache holds the two training sets of the current fold).
    let cache: RefCell<Vec<(Vec<usize>, Arc<ContentMatrix>)>> = RefCell::new(Vec::new());
    let content_for = |users: &[usize]| -> Result<Option<Arc<ContentMatrix>>> {
        if let Some((_, c)) = cache.borrow().iter().find(|(u, _)| u.as_slice() == users) {
            return Ok(Some(c.clone()));
        }
        let c = Arc::new(h.tag_profiles(&user_mask(d.users.len(), users))?);
        let mut cache = cache.borrow_mut();
        if cache.len() >= 2 {
            cache.remove(0);
        }
        cache.push((users.to_vec(), c.clone()));
        Ok(Some(c))
    };
    let runner = FoldRunner {
        opts,
        data: d,
        n_folds: folds.len(),
        fingerprint: {
            let mut f = json!({
                "split": opts.split, "negatives": opts.negatives, "negative_seed": opts.negative_seed,
                "users": stats.users, "items": stats.items, "interactions": stats.interactions,
                "tag_assignments": h.assignments.len(),
            });
            if let Some(cfg) = &opts.cold_start {
                f[COLD_START] = json!(cfg);
            }
            f
        },
        ckpt_dir: ckpt_dir.clone(),
        content_for: &content_for,
    };
    let mut runs = Runs::default();
    let selected = select_folds(opts, &folds)?;
    let n_run = selected.len();
    for fold in selected {
        runner.run(fold, &trainers, &mut runs, progress)?;
    }
    if let Some(list) = &opts.only_folds {
        let names: Vec<String> = list.iter().map(|f| (f + 1).to_string()).collect();
        progress(&format!(
            "folds {} checkpointed in {}; no results written (run again without --only-folds to \
             resume every fold and write them)",
            names.join(","),
            ckpt_dir.display()
        ));
    }
    let mut summary = summarise(opts, &trainers, &runs, stats, n_run, folds.len());
    if let Some(cfg) = &opts.cold_start {
        summary = add_cold_start(&opts.out_dir.join("results.json"), summary, *cfg)?;
    }
    if opts.only_folds.is_none() {
        write_summary(&opts.out_dir, &summary, "", started, progress)?;
    }
    Ok(summary)
}

/// Mean ± std over folds per protocol and model, with the settings that made them; the audio
/// proxy section of an existing `results.json` (another command's) is kept.
fn summarise(
    opts: &EvalOptions,
    trainers: &[Box<dyn Trainer>],
    runs: &Runs,
    stats: DataStats,
    n_run: usize,
    n_folds: usize,
) -> Summary {
    let mut results: BTreeMap<String, BTreeMap<String, BTreeMap<String, MeanStd>>> =
        BTreeMap::new();
    let (mut grids, mut chosen, mut wall) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut per_fold: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<f64>>>> =
        BTreeMap::new();
    for t in trainers {
        let name = t.name().to_owned();
        let runs = runs
            .per_model
            .get(&name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let protocols: &[&str] = match opts.cold_start {
            None => &PROTOCOLS,
            Some(_) => &[COLD_START],
        };
        for &protocol in protocols {
            let tables: Vec<_> = runs
                .iter()
                .filter_map(|(r, _)| r.metrics.get(protocol).cloned())
                .collect();
            results
                .entry(protocol.to_owned())
                .or_default()
                .insert(name.clone(), aggregate(&tables));
            let counts: &[&str] = match opts.cold_start {
                None => &[],
                Some(_) => &["users", "withheld"],
            };
            let folds: BTreeMap<String, Vec<f64>> = PAIRED_METRICS
                .iter()
                .chain(counts)
                .map(|m| {
                    let v = tables
                        .iter()
                        .map(|t| t.get(*m).copied().unwrap_or(f64::NAN));
                    (m.to_string(), v.collect())
                })
                .collect();
            per_fold
                .entry(protocol.to_owned())
                .or_default()
                .insert(name.clone(), folds);
        }
        grids.insert(name.clone(), t.grid());
        chosen.insert(
            name.clone(),
            runs.iter().map(|(r, _)| r.chosen.clone()).collect(),
        );
        wall.insert(name, runs.iter().map(|(_, s)| s).sum::<f64>());
    }
    let settings = Settings {
        data: opts.data_dir.display().to_string(),
        dataset: stats,
        min_items: opts.split.min_items,
        paper_min_tracks: PAPER_MIN_TRACKS,
        folds: opts.split.folds,
        folds_evaluated: (n_run < n_folds).then_some(n_run),
        split_seed: opts.split.seed,
        target_fraction: opts.split.target_fraction,
        negatives: opts.negatives,
        negative_seed: opts.negative_seed,
        tuning: json!({
            "metric": TUNING_METRIC, "protocol": "full", "budget": TUNING_BUDGET,
            "validation": "fold (f + 1) mod folds; fit on the remaining folds, refit the best on train + validation",
        }),
        grids,
        chosen,
        wall_seconds: wall,
        command: opts.command.clone(),
    };
    let mut summary = Summary {
        results,
        audio_proxy: BTreeMap::new(),
        audio_proxy_settings: None,
        seconds_per_epoch: runs
            .epoch_times
            .iter()
            .map(|(m, v)| (m.clone(), v.iter().sum::<f64>() / v.len().max(1) as f64))
            .collect(),
        per_fold,
        cold_start: None,
        settings,
    };
    // A cold-start run's summary is folded into the existing file by its caller instead.
    if opts.cold_start.is_some() {
        return summary;
    }
    if let Ok(mut previous) = read_summary(&opts.out_dir.join("results.json")) {
        summary.audio_proxy = std::mem::take(&mut previous.audio_proxy);
        summary.audio_proxy_settings = previous.audio_proxy_settings.take();
        if same_split(&summary.settings, &previous.settings) {
            summary.cold_start = previous.cold_start.take();
        }
        keep_other_models(&mut summary, previous);
    }
    summary
}

/// Keeps the rows of models this run did not evaluate from the `previous` results.json, when
/// both runs are complete and used the same protocol (data, threshold, folds, seeds, targets,
/// negatives, tuning): their numbers are then comparable fold for fold, and adding a baseline
/// does not mean re-training every neural model. Anything else, and the old rows are dropped.
/// The command line of each contributing run is kept in `settings.command`, joined by ` ; `.
fn keep_other_models(summary: &mut Summary, previous: Summary) {
    let Summary {
        results,
        per_fold,
        seconds_per_epoch,
        settings: before,
        ..
    } = previous;
    let now = &summary.settings;
    let same_protocol = now.dataset == before.dataset
        && now.min_items == before.min_items
        && now.folds == before.folds
        && now.folds_evaluated.is_none()
        && before.folds_evaluated.is_none()
        && now.split_seed == before.split_seed
        && now.target_fraction == before.target_fraction
        && now.negatives == before.negatives
        && now.negative_seed == before.negative_seed
        && now.tuning == before.tuning;
    if !same_protocol {
        return;
    }
    let run_now: Vec<String> = now.grids.keys().cloned().collect();
    for (protocol, models) in results {
        others(
            summary.results.entry(protocol).or_default(),
            models,
            &run_now,
        );
    }
    for (protocol, models) in per_fold {
        others(
            summary.per_fold.entry(protocol).or_default(),
            models,
            &run_now,
        );
    }
    others(&mut summary.seconds_per_epoch, seconds_per_epoch, &run_now);
    let s = &mut summary.settings;
    others(&mut s.grids, before.grids, &run_now);
    others(&mut s.chosen, before.chosen, &run_now);
    others(&mut s.wall_seconds, before.wall_seconds, &run_now);
    if !before.command.split(" ; ").any(|c| c == s.command) {
        s.command = format!("{} ; {}", before.command, s.command);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn mini_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hetrec-mini")
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ainrec-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn mini_opts(out: &Path) -> EvalOptions {
        EvalOptions {
            data_dir: mini_dir(),
            out_dir: out.to_owned(),
            split: SplitConfig {
                min_items: 40,
                folds: 5,
                seed: 1,
                target_fraction: 0.2,
            },
            negatives: 20,
            command: "test".into(),
            ..EvalOptions::default()
        }
    }

    #[test]
    fn eval_on_the_mini_fixture_writes_results_and_resumes() {
        let out = temp_dir("eval");
        let opts = mini_opts(&out);
        let mut log = Vec::new();
        let s = run_eval(&opts, &mut |m| log.push(m.to_owned())).unwrap();
        assert_eq!(s.settings.dataset.users_kept, 11);
        for p in PROTOCOLS {
            for m in BASELINES {
                let t = &s.results[p][m];
                assert_eq!(t.len(), METRICS.len() * MAX_K, "{p} {m}");
                assert!(t.values().all(|v| v.mean.is_finite() && v.std >= 0.0));
            }
        }
        assert_eq!(s.settings.chosen["item_knn"].len(), 5);
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap())
                .unwrap();
        assert!(json["results"]["full"]["item_knn"]["precision@10"]["mean"].is_number());
        assert!(json["audio_proxy"].as_object().unwrap().is_empty());
        assert!(json["seconds_per_epoch"].as_object().unwrap().is_empty());
        // Per-fold values of every model, for the paired comparison in RESULTS.md.
        assert_eq!(s.per_fold["full"]["ease"]["precision@10"].len(), 5);
        assert_eq!(
            s.per_fold["sampled100"]["item_knn"]["hit@10"].len(),
            5,
            "{:?}",
            s.per_fold
        );
        let md = std::fs::read_to_string(out.join("RESULTS.md")).unwrap();
        assert!(
            md.contains("## Paired comparison") && md.contains(" / 5 |"),
            "{md}"
        );
        assert!(
            md.contains("| item_knn | 10 |")
                && md.contains("non-commercial")
                && md.contains("sampled100")
        );

        // A second run restores every fold × model from the checkpoints and gives the same numbers.
        let mut log2 = Vec::new();
        let s2 = run_eval(&opts, &mut |m| log2.push(m.to_owned())).unwrap();
        assert_eq!(
            log2.iter().filter(|l| l.contains("resumed")).count(),
            opts.split.folds * BASELINES.len(),
            "{log2:?}"
        );
        // Equal up to the last bits lost in the JSON round trip of the checkpoints.
        for (p, models) in &s.results {
            for (m, table) in models {
                for (k, v) in table {
                    let w = s2.results[p][m][k];
                    assert!(
                        (v.mean - w.mean).abs() < 1e-12 && (v.std - w.std).abs() < 1e-12,
                        "{p} {m} {k}"
                    );
                }
            }
        }

        // A run of one more model with the same protocol keeps the others' rows (and the first
        // command); a run with another protocol replaces them.
        let on_disk = read_summary(&out.join("results.json")).unwrap();
        let mut one = opts.clone();
        one.models = vec!["popularity".into()];
        one.command = "second".into();
        let merged = run_eval(&one, &mut |_| {}).unwrap();
        for p in PROTOCOLS {
            assert_eq!(merged.results[p].len(), BASELINES.len(), "{p}");
            assert_eq!(
                merged.results[p]["item_knn"],
                on_disk.results[p]["item_knn"]
            );
        }
        assert_eq!(
            merged.settings.chosen["ials"],
            on_disk.settings.chosen["ials"]
        );
        assert_eq!(merged.settings.command, "test ; second");

        // Changing a setting invalidates the checkpoints.
        let mut other = opts.clone();
        other.negative_seed += 1;
        other.models = vec!["popularity".into()];
        let mut log3 = Vec::new();
        run_eval(&other, &mut |m| log3.push(m.to_owned())).unwrap();
        assert!(log3.iter().all(|l| !l.contains("resumed")));
        let replaced = read_summary(&out.join("results.json")).unwrap();
        assert_eq!(
            replaced.results["full"].len(),
            1,
            "another protocol drops the old rows"
        );
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn folds_split_over_processes_resume_into_the_same_results() {
        let direct = temp_dir("eval-direct");
        let s = run_eval(&mini_opts(&direct), &mut |_| {}).unwrap();
        let shared = temp_dir("eval-shared");
        let mut part = mini_opts(&shared);
        for list in [vec![0, 2, 4], vec![1, 3]] {
            part.only_folds = Some(list);
            let mut log = Vec::new();
            run_eval(&part, &mut |m| log.push(m.to_owned())).unwrap();
            assert!(
                log.last().unwrap().contains("no results written"),
                "{log:?}"
            );
        }
        assert!(!shared.join("results.json").exists());
        part.only_folds = None;
        let mut log = Vec::new();
        let s2 = run_eval(&part, &mut |m| log.push(m.to_owned())).unwrap();
        assert_eq!(
            log.iter().filter(|l| l.contains("resumed")).count(),
            part.split.folds * BASELINES.len()
        );
        assert_eq!(s.settings.chosen, s2.settings.chosen);
        for (p, models) in &s.results {
            for (m, table) in models {
                for (k, v) in table {
                    assert!(
                        (v.mean - s2.results[p][m][k].mean).abs() < 1e-12,
                        "{p} {m} {k}"
                    );
                }
            }
        }
        // A fold out of range, or a fold list with a fold count, is refused by name.
        part.only_folds = Some(vec![5]);
        let e = run_eval(&part, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("1 to 5") && e.contains('6'), "{e}");
        part.only_folds = Some(vec![0]);
        part.max_folds = Some(1);
        assert!(run_eval(&part, &mut |_| {}).is_err());
        let _ = std::fs::remove_dir_all(&direct);
        let _ = std::fs::remove_dir_all(&shared);
    }

    #[test]
    fn cold_start_adds_its_section_and_the_other_protocols_keep_it() {
        let out = temp_dir("cold");
        let mut opts = mini_opts(&out);
        opts.models = vec!["popularity".into()];
        let cold = |opts: &EvalOptions| EvalOptions {
            models: COLD_START_MODELS.iter().map(|m| m.to_string()).collect(),
            // The 12-user fixture needs a large share withheld for every fold to have users
            // with a withheld target.
            cold_start: Some(ColdStartConfig {
                fraction: 0.9,
                seed: 3,
            }),
            ..opts.clone()
        };
        // Without a results.json of the same folds there is nothing to add to.
        let e = run_eval(&cold(&opts), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("ainrec eval"), "{e}");
        run_eval(&opts, &mut |_| {}).unwrap();
        let s = run_eval(&cold(&opts), &mut |_| {}).unwrap();
        let c = s.cold_start.as_ref().unwrap();
        for m in COLD_START_MODELS {
            assert_eq!(c.per_fold[m]["ndcg@10"].len(), 5, "{m}");
            assert!(c.per_fold[m]["users"].iter().all(|&u| u >= 1.0), "{m}");
            assert!(c.results[m]["ndcg@10"].mean.is_finite());
        }
        // Every model ranks the same candidates for the same users.
        let users = &c.per_fold["random"]["users"];
        assert!(COLD_START_MODELS
            .iter()
            .all(|m| &c.per_fold[*m]["users"] == users));
        assert!(
            s.results["full"].contains_key("popularity"),
            "other sections kept"
        );
        // The cold-start checkpoints are apart and resume.
        let mut log = Vec::new();
        run_eval(&cold(&opts), &mut |m| log.push(m.to_owned())).unwrap();
        assert_eq!(log.iter().filter(|l| l.contains("resumed")).count(), 5 * 4);
        // Re-running another protocol keeps the section; RESULTS.md shows it.
        opts.models = vec!["item_knn".into()];
        let again = run_eval(&opts, &mut |_| {}).unwrap();
        // (JSON round trips of f64 may move the last bit, so values compare within 1e-12.)
        let kept = again.cold_start.as_ref().unwrap();
        assert_eq!((&kept.grids, &kept.chosen), (&c.grids, &c.chosen));
        for (m, table) in &c.results {
            for (k, v) in table {
                assert!((v.mean - kept.results[m][k].mean).abs() < 1e-12, "{m} {k}");
            }
        }
        let md = std::fs::read_to_string(out.join("RESULTS.md")).unwrap();
        assert!(md.contains("## Cold start") && md.contains("content_knn_msd50"));
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn an_interrupted_tuning_resumes_at_its_next_trial() {
        let out = temp_dir("partial");
        let mut opts = mini_opts(&out);
        opts.models = vec!["item_knn".into()];
        opts.only_folds = Some(vec![0]);
        run_eval(&opts, &mut |_| {}).unwrap();
        // Turn fold 1's finished item-kNN into a tuning stopped after three trials, the first
        // with a score no real trial reaches: if it is reused rather than refitted, it wins.
        let path = FoldCheckpoint::path(&out.join(CHECKPOINT_DIR), 0);
        let mut ckpt: FoldCheckpoint =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let entry = ckpt.models.remove("item_knn").unwrap();
        let mut trials = entry.result.trials[..3].to_vec();
        trials[0].score = 9.0;
        let grid = entry.grid.clone();
        for t in &trials {
            ckpt.save_trial(&path, "item_knn", &grid, t).unwrap();
        }
        let mut log = Vec::new();
        run_eval(&opts, &mut |m| log.push(m.to_owned())).unwrap();
        let resumed = format!("3 of {} tuning trials resumed", grid.len());
        assert!(log.iter().any(|l| l.contains(&resumed)), "{log:?}");
        let tuned = log
            .iter()
            .filter(|l| l.contains("item_knn: tuning"))
            .count();
        assert_eq!(
            tuned,
            grid.len() - 3,
            "only the remaining trials are fitted"
        );
        let ckpt: FoldCheckpoint =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let r = &ckpt.models["item_knn"].result;
        assert_eq!(r.chosen, grid[0]);
        assert_eq!(r.trials[0].score, 9.0);
        assert!(ckpt.partial.is_empty());
        let _ = std::fs::remove_dir_all(&out);
    }

    /// The order-shuffled control fits, on each fold, the configuration AINRNN chose there —
    /// and says so when AINRNN has not run on the fold.
    #[test]
    fn the_shuffled_control_fits_ainrnns_choice_on_each_fold() {
        let out = temp_dir("follow");
        let mut opts = mini_opts(&out);
        opts.only_folds = Some(vec![0]);
        opts.models = vec!["ainrnn_shuffled".into()];
        let e = run_eval(&opts, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("--models ainrnn first"), "{e}");
        // Stand in AINRNN's fold-1 entry (its tuning costs minutes): a finished item-kNN result
        // relabelled, choosing a one-epoch variant of one of AINRNN's grid entries.
        opts.models = vec!["item_knn".into()];
        run_eval(&opts, &mut |_| {}).unwrap();
        let path = FoldCheckpoint::path(&out.join(CHECKPOINT_DIR), 0);
        let mut ckpt: FoldCheckpoint =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut entry = ckpt.models["item_knn"].clone();
        entry.grid = resolve_trainer("ainrnn").unwrap().grid();
        let mut choice = entry.grid[4].clone();
        choice["max_epochs"] = Value::from(1);
        entry.result.chosen = choice.clone();
        ckpt.save(&path, "ainrnn", entry).unwrap();
        opts.models = vec!["ainrnn_shuffled".into()];
        let mut log = Vec::new();
        run_eval(&opts, &mut |m| log.push(m.to_owned())).unwrap();
        let ckpt: FoldCheckpoint =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let shuffled = &ckpt.models["ainrnn_shuffled"];
        assert_eq!(shuffled.grid, vec![choice.clone()]);
        assert_eq!(shuffled.result.chosen, choice);
        assert!(
            shuffled.result.trials.is_empty(),
            "nothing to tune: {log:?}"
        );
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn missing_data_dir_and_unknown_model_are_clear_errors() {
        let out = temp_dir("missing");
        let mut opts = mini_opts(&out);
        opts.data_dir = out.join("nope");
        let e = run_eval(&opts, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("not found"), "{e}");
        opts.models = vec!["lstn".into()];
        let e = run_eval(&opts, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("lstn") && e.contains("ainrnn"), "{e}");
        let _ = std::fs::remove_dir_all(&out);
    }

    /// Runs against the real data when it is there (`AINREC_DATA` or `./data`; a quick load
    /// check, not the full evaluation). Without it the test says so by name and passes.
    #[test]
    fn shipped_hetrec_loads_when_present() {
        let root = DataRoot::resolve(None);
        let root = if root.source == crate::data::locate::Source::Default {
            DataRoot::resolve(Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data")))
        } else {
            root
        };
        let dir = match root.hetrec() {
            Ok(dir) => dir,
            Err(e) => {
                eprintln!("skipped shipped_hetrec_loads_when_present: {e}");
                return;
            }
        };
        let h = Hetrec::load(&dir).unwrap();
        assert_eq!(h.dataset.users.len(), 1703);
        assert_eq!(h.dataset.n_interactions(), 83_567);
        assert_eq!(
            filter_users(&h.dataset, SplitConfig::default().min_items).len(),
            1647
        );
        assert!(h.tag_names.iter().any(|t| t == "tropicália"));
    }
}
