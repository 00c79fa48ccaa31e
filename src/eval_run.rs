//! Native drivers behind `ainrec eval` and `ainrec recommend` (no CLI types here; the binary maps
//! its flags onto [`EvalOptions`] and [`RecommendOptions`]).
//!
//! `eval`: for each fold, each model is tuned on the validation fold, refitted on train ∪
//! validation and evaluated on the test fold under both protocols; each finished fold × model is
//! checkpointed to `<out>/.eval-checkpoints/fold-NN.json`, so an interrupted run resumes where it
//! stopped (a checkpoint made with other settings, data or grid is recomputed, not reused). At the
//! end `<out>/results.json` and `<out>/RESULTS.md` are written.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::baselines::{baseline_trainer, count_choices, default_config, BASELINES};
use crate::data::hetrec::{Hetrec, CREDIT};
use crate::data::history::read_history;
use crate::data::splits::{
    assign_folds, filter_users, make_folds, user_mask, Fold, SplitConfig, PAPER_MIN_TRACKS,
};
use crate::data::ContentMatrix;
use crate::error::{Error, Result};
use crate::eval::{
    aggregate, run_fold, FitContext, FoldProtocol, FoldResult, MeanStd, Trainer, DEFAULT_NEGATIVES,
    DEFAULT_NEGATIVE_SEED, MAX_K, METRICS, PROTOCOLS, TUNING_BUDGET, TUNING_METRIC,
};
use crate::model::fit::{NeuralKind, NeuralTrainer};
use crate::recommend::{recommend, UserInput};

/// Where the shipped hetrec data lives, relative to the working directory (the repo root).
pub const DEFAULT_DATA_DIR: &str = "../shared/data/hetrec2011-lastfm-2k";
/// Default output directory for `results.json` and `RESULTS.md`.
pub const DEFAULT_OUT_DIR: &str = "docs";
/// Checkpoint sub-directory of the output directory (keep it out of version control).
pub const CHECKPOINT_DIR: &str = ".eval-checkpoints";

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
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            out_dir: PathBuf::from(DEFAULT_OUT_DIR),
            models: BASELINES.iter().map(|s| s.to_string()).collect(),
            split: SplitConfig::default(),
            negatives: DEFAULT_NEGATIVES,
            negative_seed: DEFAULT_NEGATIVE_SEED,
            command: "ainrec eval --models popularity,item_knn,content_knn --folds 10".into(),
            max_folds: None,
            only_folds: None,
            neural_config: None,
        }
    }
}

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
    /// `audio_proxy[feature_set][metric]`, filled by `ainrec eval --audio-proxy`
    /// ([`run_audio_proxy`]); kept when the listening-data evaluation is re-run.
    pub audio_proxy: BTreeMap<String, BTreeMap<String, MeanStd>>,
    /// How the audio proxy numbers were made (corpus, excerpts, descriptor, command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_proxy_settings: Option<Value>,
    /// `seconds_per_epoch[model]`, filled by the neural models (empty here).
    pub seconds_per_epoch: BTreeMap<String, f64>,
    /// How the numbers were made.
    pub settings: Settings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointEntry {
    grid: Vec<Value>,
    seconds: f64,
    /// Mean seconds per training epoch (neural models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seconds_per_epoch: Option<f64>,
    result: FoldResult,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FoldCheckpoint {
    fingerprint: Value,
    fold: usize,
    models: BTreeMap<String, CheckpointEntry>,
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// The trainer for a model name: a baseline or a neural model ([`NeuralKind`]).
pub fn resolve_trainer(name: &str) -> Result<Box<dyn Trainer>> {
    if let Some(t) = baseline_trainer(name) {
        return Ok(t);
    }
    if let Some(kind) = NeuralKind::from_name(name) {
        let mut t = NeuralTrainer::new(kind);
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

fn load_hetrec(dir: &Path) -> Result<Hetrec> {
    Hetrec::load(dir)
}

/// Runs the cross-validated evaluation and writes `results.json` and `RESULTS.md`.
/// `progress` receives one line per step (fold × model, resumes, files written).
pub fn run_eval(opts: &EvalOptions, progress: &mut dyn FnMut(&str)) -> Result<Summary> {
    if opts.models.is_empty() {
        return Err(Error::invalid("models", "at least one model name", "none"));
    }
    let trainers: Vec<Box<dyn Trainer>> = opts
        .models
        .iter()
        .map(|m| match (&opts.neural_config, NeuralKind::from_name(m)) {
            (Some(over), Some(kind)) => {
                let mut t = NeuralTrainer::with_overrides(kind, over)?;
                t.verbose = true;
                Ok(Box::new(t) as Box<dyn Trainer>)
            }
            _ => resolve_trainer(m),
        })
        .collect::<Result<_>>()?;
    let started = Instant::now();
    let h = load_hetrec(&opts.data_dir)?;
    let d = &h.dataset;
    let kept = filter_users(d, opts.split.min_items);
    let folds = make_folds(&assign_folds(d, &kept, opts.split.folds, opts.split.seed)?);
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
    let stats = DataStats {
        users: d.users.len(),
        users_kept: kept.len(),
        items: d.catalog.len(),
        interactions: d.n_interactions(),
        dated_fraction: dated as f64 / kept_pairs.max(1) as f64,
    };
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

    let fingerprint = json!({
        "split": opts.split, "negatives": opts.negatives, "negative_seed": opts.negative_seed,
        "users": stats.users, "items": stats.items, "interactions": stats.interactions,
        "tag_assignments": h.assignments.len(),
    });
    let ckpt_dir = opts.out_dir.join(CHECKPOINT_DIR);
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

    let mut per_model: BTreeMap<String, Vec<(FoldResult, f64)>> = BTreeMap::new();
    let mut epoch_times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let n_run = opts.max_folds.unwrap_or(folds.len()).clamp(1, folds.len());
    let selected: Vec<&Fold> = match &opts.only_folds {
        None => folds[..n_run].iter().collect(),
        Some(_) if opts.max_folds.is_some() => {
            return Err(Error::invalid(
                "only_folds",
                "either a fold list or a maximum number of folds",
                "both",
            ))
        }
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
            .collect::<Result<_>>()?,
    };
    for fold in selected {
        let path = ckpt_dir.join(format!("fold-{:02}.json", fold.index));
        let mut ckpt = FoldCheckpoint {
            fingerprint: fingerprint.clone(),
            fold: fold.index,
            models: BTreeMap::new(),
        };
        if let Ok(text) = std::fs::read_to_string(&path) {
            match serde_json::from_str::<FoldCheckpoint>(&text) {
                Ok(c) if c.fingerprint == fingerprint && c.fold == fold.index => ckpt = c,
                _ => progress(&format!(
                    "{}: made with other settings or unreadable; recomputing",
                    path.display()
                )),
            }
        }
        let mut protocol: Option<FoldProtocol> = None;
        for t in &trainers {
            let name = t.name().to_owned();
            let grid = t.grid();
            if let Some(e) = ckpt.models.get(&name).filter(|e| e.grid == grid) {
                progress(&format!(
                    "fold {}/{} {name}: resumed from checkpoint",
                    fold.index + 1,
                    folds.len()
                ));
                if let Some(spe) = e.seconds_per_epoch {
                    epoch_times.entry(name.clone()).or_default().push(spe);
                }
                per_model
                    .entry(name)
                    .or_default()
                    .push((e.result.clone(), e.seconds));
                continue;
            }
            if protocol.is_none() {
                protocol = Some(FoldProtocol::build(
                    d,
                    &fold.test,
                    &opts.split,
                    opts.negatives,
                    opts.negative_seed,
                )?);
            }
            let test = protocol
                .as_ref()
                .ok_or_else(|| Error::Model("fold protocol missing".into()))?;
            let t0 = Instant::now();
            let result = run_fold(t.as_ref(), d, fold, &opts.split, test, &content_for)?;
            let seconds = t0.elapsed().as_secs_f64();
            progress(&format!(
                "fold {}/{} {name}: chose {} ; full P@10 {:.4} HR@10 {:.4} ; sampled100 HR@10 {:.4} ({seconds:.1} s)",
                fold.index + 1,
                folds.len(),
                result.chosen,
                result.metrics["full"]["precision@10"],
                result.metrics["full"]["hit@10"],
                result.metrics["sampled100"]["hit@10"],
            ));
            let seconds_per_epoch = t.seconds_per_epoch();
            if let Some(spe) = seconds_per_epoch {
                epoch_times.entry(name.clone()).or_default().push(spe);
            }
            ckpt.models.insert(
                name.clone(),
                CheckpointEntry {
                    grid,
                    seconds,
                    seconds_per_epoch,
                    result: result.clone(),
                },
            );
            write_atomic(&path, &serde_json::to_string(&ckpt)?)?;
            per_model.entry(name).or_default().push((result, seconds));
        }
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
    let mut results: BTreeMap<String, BTreeMap<String, BTreeMap<String, MeanStd>>> =
        BTreeMap::new();
    let (mut grids, mut chosen, mut wall) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for t in &trainers {
        let name = t.name().to_owned();
        let runs = per_model.get(&name).map(Vec::as_slice).unwrap_or_default();
        for protocol in PROTOCOLS {
            let tables: Vec<_> = runs
                .iter()
                .filter_map(|(r, _)| r.metrics.get(protocol).cloned())
                .collect();
            results
                .entry(protocol.to_owned())
                .or_default()
                .insert(name.clone(), aggregate(&tables));
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
        folds_evaluated: (n_run < folds.len()).then_some(n_run),
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
    // The audio proxy section comes from another command: keep it.
    let previous = read_summary(&opts.out_dir.join("results.json")).ok();
    let (audio_proxy, audio_proxy_settings) = previous
        .map(|p| (p.audio_proxy, p.audio_proxy_settings))
        .unwrap_or_default();
    let summary = Summary {
        results,
        audio_proxy,
        audio_proxy_settings,
        seconds_per_epoch: epoch_times
            .iter()
            .map(|(m, v)| (m.clone(), v.iter().sum::<f64>() / v.len().max(1) as f64))
            .collect(),
        settings,
    };

    if opts.only_folds.is_none() {
        write_summary(&opts.out_dir, &summary, "", started, progress)?;
    }
    Ok(summary)
}

/// Writes `<dir>/results.json` and `<dir>/RESULTS.md` and reports it.
fn write_summary(
    dir: &Path,
    summary: &Summary,
    what: &str,
    started: Instant,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let json_path = dir.join("results.json");
    write_atomic(&json_path, &(serde_json::to_string_pretty(summary)? + "\n"))?;
    let md_path = dir.join("RESULTS.md");
    write_atomic(&md_path, &results_markdown(summary))?;
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

/// Options of `ainrec eval --audio-proxy`.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioProxyOptions {
    /// The shared data folder holding `audio/catalog.csv` and `librosa/`.
    pub data_dir: PathBuf,
    /// Where `results.json` / `RESULTS.md` are (and the descriptor cache goes).
    pub out_dir: PathBuf,
    /// Excerpts per track asked as queries (and ranked as candidates).
    pub excerpts: usize,
    /// Excerpts per track the encoders are trained on (of the training folds' tracks only).
    pub train_excerpts: usize,
    /// Longest excerpt in seconds (shorter tracks get `duration / excerpts`).
    pub excerpt_s: f64,
    /// Folds over tracks for the encoders: each fold's tracks are queried under an encoder
    /// trained on the other folds' tracks (0 = raw-descriptor kNN only).
    pub folds: usize,
    /// Contrastive training of each fold's encoder.
    pub encoder: crate::model::contrastive::ContrastiveConfig,
    /// The descriptor's configuration (span is ignored: each excerpt is analysed whole).
    pub track: crate::features::track::TrackConfig,
    /// The command line, quoted in `RESULTS.md`.
    pub command: String,
}

impl Default for AudioProxyOptions {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("../shared/data"),
            out_dir: PathBuf::from(DEFAULT_OUT_DIR),
            excerpts: 3,
            train_excerpts: 8,
            excerpt_s: 10.0,
            folds: 5,
            encoder: crate::model::contrastive::ContrastiveConfig::default(),
            track: crate::features::track::TrackConfig::default(),
            command: "ainrec eval --audio-proxy".into(),
        }
    }
}

/// Disjoint excerpts of a track of `n` samples: `count` of `len` samples centred at
/// `(2i + 1) / (2 · count)` of the track, `len = min(max_len, n / count)`.
pub fn excerpt_ranges(n: usize, count: usize, max_len: usize) -> Vec<std::ops::Range<usize>> {
    let count = count.max(1);
    let len = max_len.min(n / count);
    (0..count)
        .map(|i| {
            let centre = n * (2 * i + 1) / (2 * count);
            let start = centre.saturating_sub(len / 2).min(n - len);
            start..start + len
        })
        .collect()
}

/// Descriptors of excerpts of every track of the CC audio corpus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExcerptDescriptors {
    /// The cache key: extractor configuration, excerpts per track, excerpt length.
    pub key: String,
    /// Descriptor value names.
    pub names: Vec<String>,
    /// `(track id, excerpt index, descriptor)`.
    pub rows: Vec<(String, usize, Vec<f32>)>,
}

/// Descriptors of `count` disjoint excerpts (at most `excerpt_s` seconds) of every track in
/// `tracks`, analysed whole with `track_cfg`, cached as JSON in `cache_dir` under the
/// extractor's cache key (so a changed extractor recomputes them).
pub fn corpus_excerpt_descriptors(
    data_dir: &Path,
    tracks: &[crate::data::audio_corpus::AudioTrack],
    track_cfg: &crate::features::track::TrackConfig,
    count: usize,
    excerpt_s: f64,
    cache_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<ExcerptDescriptors> {
    use crate::features::track::{analyze, descriptor_names, Span};
    let cfg = crate::features::track::TrackConfig {
        span: Span::Whole,
        ..*track_cfg
    };
    let key = format!("{}-x{count}-{excerpt_s}s", cfg.cache_key());
    std::fs::create_dir_all(cache_dir).map_err(|e| Error::io(cache_dir, e))?;
    let cache_path = cache_dir.join(format!("audio_proxy-{key}.json"));
    let cached: Option<ExcerptDescriptors> = std::fs::read_to_string(&cache_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .filter(|c: &ExcerptDescriptors| c.key == key);
    if let Some(c) = cached {
        progress(&format!("descriptors from {}", cache_path.display()));
        return Ok(c);
    }
    let mut rows = Vec::new();
    for (i, t) in tracks.iter().enumerate() {
        progress(&format!(
            "[{}/{}] {} ({count} excerpts)",
            i + 1,
            tracks.len(),
            t.path
        ));
        let audio = crate::audio::decode::decode_file(&data_dir.join(&t.path))?;
        let max_len = (excerpt_s * f64::from(audio.sample_rate)) as usize;
        for (e, r) in excerpt_ranges(audio.samples.len(), count, max_len)
            .into_iter()
            .enumerate()
        {
            let out = analyze(&audio.samples[r], &cfg)
                .map_err(|err| Error::Audio(format!("{}: {err}", t.path)))?;
            rows.push((t.id.clone(), e, out.descriptor));
        }
    }
    let c = ExcerptDescriptors {
        key,
        names: descriptor_names(&cfg),
        rows,
    };
    write_atomic(&cache_path, &serde_json::to_string(&c)?)?;
    Ok(c)
}

impl ExcerptDescriptors {
    /// The track index (in `tracks`) of every row.
    pub fn track_indices(
        &self,
        tracks: &[crate::data::audio_corpus::AudioTrack],
    ) -> Result<Vec<usize>> {
        let index: HashMap<&str, usize> = tracks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect();
        self.rows
            .iter()
            .map(|(id, _, _)| {
                index.get(id.as_str()).copied().ok_or_else(|| Error::Parse {
                    file: format!("audio proxy descriptors {}", self.key),
                    reason: format!("unknown track {id}"),
                })
            })
            .collect()
    }
}

/// The tracks of fold `f` of `folds`: tracks are dealt to folds in a seeded random order
/// within each collection, so every collection is spread over the folds.
pub fn track_folds(collection: &[String], folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..collection.len()).collect();
    let mut rng = crate::data::rng::Rng::new(seed);
    rng.shuffle(&mut order);
    order.sort_by(|&a, &b| collection[a].cmp(&collection[b]));
    let mut fold = vec![0; collection.len()];
    for (k, &t) in order.iter().enumerate() {
        fold[t] = k % folds.max(1);
    }
    fold
}

/// Runs the audio proxy protocol ([`crate::audio_proxy`]) on the CC audio corpus for each
/// feature set — raw-descriptor kNN and, with `folds > 0`, contrastively trained encoders
/// cross-fitted over tracks — and merges `audio_proxy` into `<out>/results.json` and
/// `RESULTS.md`. Descriptors are cached in `<out>/.eval-checkpoints/`.
pub fn run_audio_proxy(
    opts: &AudioProxyOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BTreeMap<String, BTreeMap<String, MeanStd>>> {
    use crate::audio_proxy::{
        chance, evaluate, evaluate_folds, select_columns, standardize, FEATURE_SETS,
    };

    let started = Instant::now();
    let json_path = opts.out_dir.join("results.json");
    let mut summary = read_summary(&json_path).map_err(|e| {
        Error::invalid(
            "results to merge into",
            "a results.json from `ainrec eval` (run it first)",
            e.to_string(),
        )
    })?;
    let tracks = crate::data::audio_corpus::load(&opts.data_dir)?;
    let cache_dir = opts.out_dir.join(CHECKPOINT_DIR);
    let queries = corpus_excerpt_descriptors(
        &opts.data_dir,
        &tracks,
        &opts.track,
        opts.excerpts,
        opts.excerpt_s,
        &cache_dir,
        progress,
    )?;
    let track_of = queries.track_indices(&tracks)?;
    let collection: Vec<String> = tracks.iter().map(|t| t.collection.clone()).collect();
    let descriptors: Vec<Vec<f32>> = queries.rows.iter().map(|r| r.2.clone()).collect();
    let training = if opts.folds > 0 {
        let t = corpus_excerpt_descriptors(
            &opts.data_dir,
            &tracks,
            &opts.track,
            opts.train_excerpts,
            opts.excerpt_s,
            &cache_dir,
            progress,
        )?;
        let of = t.track_indices(&tracks)?;
        Some((t, of))
    } else {
        None
    };
    let fold_of = track_folds(&collection, opts.folds, opts.encoder.seed);
    let device = candle_core::Device::Cpu;
    let mut out = BTreeMap::new();
    let mut encoder_seconds = BTreeMap::new();
    for (set, prefixes) in FEATURE_SETS {
        let cols = select_columns(&queries.names, prefixes);
        if cols.is_empty() {
            continue;
        }
        let mut m: BTreeMap<String, MeanStd> = BTreeMap::new();
        let z = standardize(&descriptors, &cols);
        for (k, v) in evaluate(&z, &track_of, &collection) {
            m.insert(format!("knn.{k}"), v);
        }
        if let Some((train, train_track)) = &training {
            let t0 = Instant::now();
            let pick = |r: &[f32]| cols.iter().map(|&c| r[c]).collect::<Vec<f32>>();
            let all_rows: Vec<Vec<f32>> = descriptors.iter().map(|r| pick(r)).collect();
            let all = candle_core::Tensor::from_vec(
                all_rows.concat(),
                (all_rows.len(), cols.len()),
                &device,
            )?;
            let mut folds = Vec::new();
            for f in 0..opts.folds {
                progress(&format!("{set}: encoder of fold {}/{}", f + 1, opts.folds));
                let (mut rows, mut labels) = (Vec::new(), Vec::new());
                for (r, &t) in train.rows.iter().zip(train_track) {
                    if fold_of[t] != f {
                        rows.push(pick(&r.2));
                        labels.push(t);
                    }
                }
                let enc = crate::model::contrastive::train(
                    &rows,
                    &labels,
                    &opts.encoder,
                    &device,
                    &mut |_, _| {},
                )?;
                let vectors: Vec<Vec<f32>> = enc.embed(&all)?.to_vec2()?;
                let asked: Vec<usize> = (0..descriptors.len())
                    .filter(|&q| fold_of[track_of[q]] == f)
                    .collect();
                folds.push((vectors, asked));
            }
            for (k, v) in evaluate_folds(&folds, &track_of, &collection) {
                m.insert(format!("encoder.{k}"), v);
            }
            encoder_seconds.insert(set.to_string(), t0.elapsed().as_secs_f64());
        }
        m.insert(
            "dimensions".into(),
            MeanStd {
                mean: cols.len() as f64,
                std: 0.0,
            },
        );
        out.insert(set.to_string(), m);
    }
    out.insert(
        "chance".into(),
        chance(&track_of, &collection)
            .into_iter()
            .map(|(k, v)| (format!("knn.{k}"), v))
            .collect(),
    );
    let mut classes: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &tracks {
        *classes.entry(t.collection.as_str()).or_default() += 1;
    }
    summary.audio_proxy = out.clone();
    summary.audio_proxy_settings = Some(json!({
        "corpus": format!("{} tracks: {}/audio/catalog.csv + {} librosa music clips", tracks.len(), opts.data_dir.display(), crate::data::audio_corpus::LIBROSA_MUSIC.len()),
        "collections": classes,
        "excerpts_per_track": opts.excerpts,
        "train_excerpts_per_track": opts.train_excerpts,
        "excerpt_max_s": opts.excerpt_s,
        "folds": opts.folds,
        "encoder": opts.encoder,
        "encoder_seconds": encoder_seconds,
        "descriptor": queries.key,
        "similarity": "cosine of z-scored descriptor values (z over all excerpts)",
        "averaging": "per query, then mean over each collection's queries, then mean ± std over collections",
        "command": opts.command,
    }));
    write_summary(&opts.out_dir, &summary, "audio proxy: ", started, progress)?;
    Ok(out)
}

fn audio_proxy_markdown(s: &Summary) -> String {
    let mut md = String::from("## Audio proxy (CC audio corpus, no listeners)\n\n");
    if let Some(st) = &s.audio_proxy_settings {
        md.push_str(&format!(
            "Made by `{}`. {}; {} disjoint excerpts per track (at most {} s each), each a query \
             against all other excerpts. Metrics are averaged {}. `chance` is the exact \
             expectation under a random ranking. Collections (tracks): {}.\n\n\
             - **audio-kNN**: {} — no training.\n\
             - **encoder**: the song encoder of the browser model (MLP → {}-d unit vectors), \
             trained contrastively (InfoNCE, τ = {}) on {} excerpts per track of the *other* \
             folds' tracks ({} folds over tracks, dealt within each collection), so no query's \
             track was seen in training; candidates are all excerpts. Seconds per feature set \
             (all folds): {}.\n\n",
            st["command"].as_str().unwrap_or(""),
            st["corpus"].as_str().unwrap_or(""),
            st["excerpts_per_track"],
            st["excerpt_max_s"],
            st["averaging"].as_str().unwrap_or(""),
            st["collections"],
            st["similarity"].as_str().unwrap_or(""),
            st["encoder"]["output_dim"],
            st["encoder"]["temperature"],
            st["train_excerpts_per_track"],
            st["folds"],
            st["encoder_seconds"],
        ));
    }
    md.push_str(
        "| feature set | method | dims | same track hit@1 | same track MRR | same collection P@5 |\n",
    );
    md.push_str("|---|---|---:|---|---|---|\n");
    for (set, m) in &s.audio_proxy {
        for (method, label) in [("knn", "audio-kNN"), ("encoder", "encoder")] {
            let get = |k: &str| m.get(&format!("{method}.{k}"));
            if get("same_track_mrr").is_none() {
                continue;
            }
            let label = if set == "chance" { "random" } else { label };
            md.push_str(&format!(
                "| {set} | {label} | {} | {} | {} | {} |\n",
                m.get("dimensions")
                    .map_or("–".into(), |d| format!("{}", d.mean)),
                cell(get("same_track_hit@1")),
                cell(get("same_track_mrr")),
                cell(get("same_collection_precision@5")),
            ));
        }
    }
    for line in audio_proxy_findings(s) {
        md.push_str(&format!("\n- {line}"));
    }
    md.push_str(
        "\n\nSmall corpus (60 tracks, 9 collections): read the ± over collections before the \
         means.\n\n",
    );
    md
}

/// One sentence per task and method comparing scattering with MFCC (also quoted by the README).
pub fn audio_proxy_findings(s: &Summary) -> Vec<String> {
    let get = |set: &str, metric: &str| {
        s.audio_proxy
            .get(set)
            .and_then(|m| m.get(metric))
            .map(|v| v.mean)
    };
    let mut out = Vec::new();
    for (method, label) in [("encoder", "trained encoders"), ("knn", "audio-kNN")] {
        for (metric, task) in [
            (
                "same_track_mrr",
                "finding another excerpt of the same track (MRR)",
            ),
            (
                "same_collection_precision@5",
                "finding tracks of the same collection (P@5)",
            ),
        ] {
            let key = format!("{method}.{metric}");
            if let (Some(sc), Some(mf)) = (get("scattering", &key), get("mfcc", &key)) {
                let verdict = if sc > mf { "beats" } else { "does not beat" };
                out.push(format!(
                    "With {label}, scattering {verdict} MFCC at {task}: {sc:.4} vs {mf:.4} \
                     ({:+.1} %).",
                    100.0 * (sc - mf) / mf
                ));
            }
        }
    }
    out
}

fn cell(m: Option<&MeanStd>) -> String {
    m.map(|m| format!("{:.4} ± {:.4}", m.mean, m.std))
        .unwrap_or_else(|| "–".into())
}

/// Renders `RESULTS.md` from a summary: both protocols at k = 1, 5, 10, 20, the protocol and
/// tuning description, the command and the data credit.
pub fn results_markdown(s: &Summary) -> String {
    let st = &s.settings;
    let mut md = String::new();
    md.push_str("# Results\n\n");
    md.push_str(&format!(
        "Made by `{}` — do not edit by hand; rerun the command (it resumes from \
         `{CHECKPOINT_DIR}/`). Numbers are mean ± sample standard deviation over {} folds.\n\n",
        st.command, st.folds
    ));
    if let Some(n) = st.folds_evaluated {
        md.push_str(&format!(
            "**Partial run: only the first {n} of the {} folds were evaluated** (`--max-folds {n}`), \
             for every model in the tables, so the models are compared on the same users; the ± are \
             over those {n} folds.\n\n",
            st.folds
        ));
    }
    md.push_str("## Data and split\n\n");
    md.push_str(&format!(
        "- hetrec2011-lastfm-2k (`{}`): {} users, {} artists, {} user–artist pairs with play counts. \
         **Items are artists, not tracks, and there is no audio**: content-kNN uses artists' tag \
         profiles, which stand in for audio features on this data set.\n",
        st.data, st.dataset.users, st.dataset.items, st.dataset.interactions
    ));
    md.push_str(&format!(
        "- User filter: at least **{}** distinct artists ({} users kept). The paper kept Taste \
         Profile users with ≥ {} songs (about twice that data's mean); hetrec lists only each user's \
         top 50 artists, so the same intent here is a full list.\n",
        st.min_items, st.dataset.users_kept, st.paper_min_tracks
    ));
    md.push_str(&format!(
        "- {}-fold cross-validation by user (seed {}). In each test user a seeded random {:.0} % of \
         the artists are targets, the rest is the input. Tag profiles are built from training \
         users' tags only. {:.1} % of kept pairs carry a date (from the user's tagging), so time \
         order is partial.\n\n",
        st.folds,
        st.split_seed,
        st.target_fraction * 100.0,
        st.dataset.dated_fraction * 100.0
    ));
    md.push_str("## Protocols\n\n");
    md.push_str(
        "- **full** (headline): every test user's list ranks the whole catalog minus the user's \
         input artists.\n",
    );
    md.push_str(&format!(
        "- **sampled100**: each target is ranked against {} negatives drawn from outside the \
         user's whole history (seed {}), the same negatives for every model. Shown because papers \
         often report it; its numbers are far higher and not comparable with full ranking.\n",
        st.negatives, st.negative_seed
    ));
    md.push_str(
        "- Metrics: precision@k = hits/k; recall@k = hits/|targets|; accuracy@k = the paper's \
         eq. 5, Σ hits / Σ |targets| over all users of a fold (micro); NDCG@k with binary \
         relevance in the standard form (rel / log2(rank + 1), normalised by the ideal list); \
         HR@k = share of users (sampled: of targets) with a hit in the top k.\n\n",
    );
    let models: Vec<&String> = s
        .results
        .values()
        .flat_map(|m| m.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for protocol in PROTOCOLS {
        let title = if protocol == "full" {
            "Full ranking (headline)"
        } else {
            "Sampled: 1 target vs 100 negatives"
        };
        md.push_str(&format!("## {title} — `{protocol}`\n\n"));
        md.push_str("| model | k | precision | recall | accuracy (eq. 5) | NDCG | HR |\n");
        md.push_str("|---|---:|---|---|---|---|---|\n");
        for m in &models {
            let Some(table) = s.results.get(protocol).and_then(|p| p.get(*m)) else {
                continue;
            };
            for k in [1, 5, 10, 20].into_iter().filter(|k| *k <= MAX_K) {
                let row: Vec<String> = METRICS
                    .iter()
                    .map(|x| cell(table.get(&format!("{x}@{k}"))))
                    .collect();
                md.push_str(&format!("| {m} | {k} | {} |\n", row.join(" | ")));
            }
        }
        md.push('\n');
    }
    if !s.audio_proxy.is_empty() {
        md.push_str(&audio_proxy_markdown(s));
    }
    md.push_str("## Tuning\n\n");
    md.push_str(&format!(
        "Every model is tuned the same way: on each fold, the configurations below (at most {}) are \
         fitted on the training folds except the validation fold (fold f + 1), scored by {} on the \
         validation users (full protocol), and the best is refitted on training + validation. \
         Item-kNN and content-kNN rank items without neighbour evidence after all others, by \
         training popularity. The neural models (a fit costs minutes on this CPU) have a grid of \
         one configuration, so they are not tuned on the validation fold: each fit early-stops on \
         a seeded tenth of its training users (by default their NDCG@10 under full ranking — the \
         tuning metric — else the sampled-softmax loss; patience in the grid) and is refitted per \
         fold on training + validation. That gives them less tuning than the \
         baselines, not more.\n\n",
        st.tuning["budget"], TUNING_METRIC
    ));
    for (m, grid) in &st.grids {
        let g: Vec<String> = grid.iter().map(Value::to_string).collect();
        md.push_str(&format!(
            "- **{m}** grid ({}): {}\n",
            grid.len(),
            g.join(", ")
        ));
        if let Some(ch) = st.chosen.get(m) {
            let c: Vec<String> = count_choices(ch)
                .into_iter()
                .map(|(v, n)| format!("{v} × {n}"))
                .collect();
            md.push_str(&format!("  - chosen per fold: {}\n", c.join("; ")));
        }
    }
    md.push_str("\n## Time\n\n");
    let folds_run = st.folds_evaluated.unwrap_or(st.folds);
    for (m, secs) in &st.wall_seconds {
        let epoch = s
            .seconds_per_epoch
            .get(m)
            .map(|e| format!("; {e:.1} s per training epoch"))
            .unwrap_or_default();
        md.push_str(&format!(
            "- {m}: {secs:.1} s over {folds_run} folds (tune + refit + evaluate){epoch}\n"
        ));
    }
    md.push_str(&format!("\n## Credit\n\n{CREDIT}\n"));
    md
}

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
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
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
    let h = load_hetrec(&opts.data_dir)?;
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
        let md = std::fs::read_to_string(out.join("RESULTS.md")).unwrap();
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
            15,
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

        // Changing a setting invalidates the checkpoints.
        let mut other = opts.clone();
        other.negative_seed += 1;
        other.models = vec!["popularity".into()];
        let mut log3 = Vec::new();
        run_eval(&other, &mut |m| log3.push(m.to_owned())).unwrap();
        assert!(log3.iter().all(|l| !l.contains("resumed")));
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
        assert_eq!(log.iter().filter(|l| l.contains("resumed")).count(), 15);
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
    fn excerpts_are_disjoint_and_centred() {
        let r = excerpt_ranges(300, 3, 50);
        assert_eq!(r, vec![25..75, 125..175, 225..275]);
        // A short track: thirds, still disjoint.
        let r = excerpt_ranges(90, 3, 50);
        assert_eq!(r, vec![0..30, 30..60, 60..90]);
        for w in excerpt_ranges(1001, 3, 400).windows(2) {
            assert!(w[0].end <= w[1].start);
        }
    }

    #[test]
    fn audio_proxy_needs_a_results_file_and_keeps_the_rest() {
        let out = temp_dir("audio-proxy-missing");
        let e = run_audio_proxy(
            &AudioProxyOptions {
                out_dir: out.clone(),
                ..AudioProxyOptions::default()
            },
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("ainrec eval"), "{e}");
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

    /// Runs against the shipped data when present (a quick load check, not the full evaluation).
    #[test]
    fn shipped_hetrec_loads_when_present() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(DEFAULT_DATA_DIR.trim_start_matches("../"));
        if !dir.is_dir() {
            println!("skipped: {} not present", dir.display());
            return;
        }
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
