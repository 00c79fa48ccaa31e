//! `ainrec audio-proxy`: the audio proxy protocol ([`crate::eval::audio_proxy`]) on the CC audio
//! corpus for each descriptor set, raw-descriptor kNN and cross-fitted contrastive encoders,
//! merged into `results.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;

use crate::data::locate::DataRoot;
use crate::drivers::descriptor_cache::corpus_excerpt_descriptors;
use crate::drivers::descriptor_cache::default_cache_dir;
use crate::drivers::summary::{read_summary, write_summary};
use crate::drivers::DEFAULT_OUT_DIR;
use crate::error::{Error, Result};
use crate::metrics::MeanStd;

/// Options of `ainrec audio-proxy`.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioProxyOptions {
    /// The shared data folder holding `audio/catalog.csv` and `librosa/`.
    pub data_dir: PathBuf,
    /// Where `results.json` / `RESULTS.md` are.
    pub out_dir: PathBuf,
    /// Where the excerpt descriptors are cached (shared with `ainrec train-browser`).
    pub cache_dir: PathBuf,
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
            data_dir: DataRoot::resolve(None).path,
            cache_dir: default_cache_dir(),
            out_dir: PathBuf::from(DEFAULT_OUT_DIR),
            excerpts: 3,
            train_excerpts: 8,
            excerpt_s: 10.0,
            folds: 5,
            encoder: crate::model::contrastive::ContrastiveConfig::default(),
            track: crate::features::track::TrackConfig::default(),
            command: "ainrec audio-proxy".into(),
        }
    }
}

/// The tracks of fold `f` of `folds`: tracks are dealt to folds in a seeded random order
/// within each collection, so every collection is spread over the folds.
pub fn track_folds(collection: &[String], folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..collection.len()).collect();
    let mut rng = crate::util::rng::Rng::new(seed);
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
    use crate::eval::audio_proxy::{chance, evaluate, evaluate_folds};
    use crate::features::{select_columns, FEATURE_SETS};
    use crate::util::stats::standardize;

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
    let cache_dir = opts.cache_dir.as_path();
    let queries = corpus_excerpt_descriptors(
        &opts.data_dir,
        &tracks,
        &opts.track,
        opts.excerpts,
        opts.excerpt_s,
        cache_dir,
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
            cache_dir,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ainrec-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
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
}
