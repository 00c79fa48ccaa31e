//! `ainrec train-browser`: builds `models/browser.safetensors` — the audio song encoder trained
//! contrastively on every track of the CC audio corpus, and the AINRNN residual initialised so
//! the untrained ranking is the eq. 4 prior (see [`crate::model::browser`]).

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};

use crate::data::locate::DataRoot;
use crate::drivers::descriptor_cache::{corpus_excerpt_descriptors, default_cache_dir};
use crate::error::{Error, Result};
use crate::features::track::{descriptor_names, TrackConfig};
use crate::features::{select_columns, FEATURE_SETS};
use crate::model::browser::{
    default_library_min_rows, default_network, BrowserConfig, BrowserModel, PriorConfig,
};
use crate::model::contrastive::{self, ContrastiveConfig};

/// Options of `ainrec train-browser`.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserTrainOptions {
    /// The shared data folder (`audio/catalog.csv`, `librosa/`).
    pub data_dir: PathBuf,
    /// The model file to write.
    pub out: PathBuf,
    /// The feature set the encoder reads (one of [`FEATURE_SETS`]).
    pub feature_set: String,
    /// Excerpts per track to train on, and their longest length in seconds.
    pub excerpts: usize,
    /// Longest excerpt (s).
    pub excerpt_s: f64,
    /// Contrastive training.
    pub encoder: ContrastiveConfig,
    /// Where the excerpt descriptors are cached (shared with `ainrec audio-proxy`).
    pub cache_dir: PathBuf,
    /// The command line, recorded in the file.
    pub command: String,
}

impl Default for BrowserTrainOptions {
    fn default() -> Self {
        BrowserTrainOptions {
            data_dir: DataRoot::resolve(None).path,
            out: PathBuf::from("models/browser.safetensors"),
            feature_set: "all".into(),
            excerpts: 8,
            excerpt_s: 10.0,
            encoder: ContrastiveConfig::default(),
            cache_dir: default_cache_dir(),
            command: "ainrec train-browser".into(),
        }
    }
}

/// Trains and writes the browser model; returns its `info`.
pub fn run_train_browser(
    opts: &BrowserTrainOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Value> {
    let started = Instant::now();
    let prefixes = FEATURE_SETS
        .iter()
        .find(|(n, _)| *n == opts.feature_set)
        .map(|(_, p)| *p)
        .ok_or_else(|| {
            Error::invalid(
                "feature set",
                FEATURE_SETS.map(|f| f.0).join(", "),
                &opts.feature_set,
            )
        })?;
    let tracks = crate::data::audio_corpus::load(&opts.data_dir)?;
    // The page analyses a 30 s span with the default extractor: the model must read the same
    // descriptor layout (training excerpts are analysed whole, at most `excerpt_s` long).
    let page = TrackConfig::default();
    let excerpts = corpus_excerpt_descriptors(
        &opts.data_dir,
        &tracks,
        &page,
        opts.excerpts,
        opts.excerpt_s,
        &opts.cache_dir,
        progress,
    )?;
    let names = descriptor_names(&page);
    if excerpts.names != names {
        return Err(Error::Model(
            "the cached excerpt descriptors do not match the page's descriptor layout".into(),
        ));
    }
    let columns = select_columns(&names, prefixes);
    let track_of = excerpts.track_indices(&tracks)?;
    let rows: Vec<Vec<f32>> = excerpts
        .rows
        .iter()
        .map(|r| columns.iter().map(|&c| r.2[c]).collect())
        .collect();
    progress(&format!(
        "training the {} audio encoder on {} excerpts of {} tracks",
        opts.feature_set,
        rows.len(),
        tracks.len()
    ));
    let device = candle_core::Device::Cpu;
    let steps = opts.encoder.steps;
    let enc = contrastive::train(&rows, &track_of, &opts.encoder, &device, &mut |s, l| {
        if s % 50 == 0 || s == steps {
            progress(&format!("step {s}/{steps}: InfoNCE loss {l:.4}"));
        }
    })?;
    let cfg = BrowserConfig {
        encoder: *enc.encoder.config(),
        pca_dim: enc.axes.as_ref().map_or(0, |a| a.dims()[0]),
        feature_set: opts.feature_set.clone(),
        descriptor_names: names,
        columns,
        analysis_key: page.cache_key(),
        ainrnn: default_network(
            opts.encoder.output_dim + enc.axes.as_ref().map_or(0, |a| a.dims()[0]),
        ),
        prior: PriorConfig::default(),
        library_min_rows: default_library_min_rows(),
    };
    let losses = &enc.losses;
    let tail = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    let info = json!({
        "command": opts.command,
        "trained_on": format!(
            "{} excerpts ({} per track, at most {} s) of the {} tracks of the CC audio corpus \
             ({}/audio/catalog.csv + librosa music clips): which excerpts belong to one track",
            rows.len(), opts.excerpts, opts.excerpt_s, tracks.len(), opts.data_dir.display()
        ),
        "not_trained_on": "any listening data: no data here joins listeners to audio. The \
            AINRNN residual is untrained (its head is zero), so the shipped ranking is the eq. 4 \
            prior; the portrait fields are unused",
        "encoder": opts.encoder,
        "feature_set": opts.feature_set,
        "encoder_loss_first10": tail(&losses[..losses.len().min(10)]),
        "encoder_loss_last10": tail(&losses[losses.len().saturating_sub(10)..]),
        "seconds_training": started.elapsed().as_secs_f64(),
        "licences": "the tracks' own (CC BY, CC BY-SA, CC0, public domain; see models/demo/catalog.json and the About panel)",
    });
    let model = BrowserModel::new(cfg, &enc.varmap, opts.encoder.seed, info.clone())?;
    let bytes = model.to_bytes()?;
    // Check the file round-trips before replacing the previous one.
    BrowserModel::from_bytes(&bytes)?;
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::drivers::write_atomic(&opts.out, &bytes)?;
    progress(&format!(
        "wrote {} ({:.1} kB) in {:.1} s",
        opts.out.display(),
        bytes.len() as f64 / 1e3,
        started.elapsed().as_secs_f64()
    ));
    Ok(info)
}
