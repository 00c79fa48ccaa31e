//! `ainrec train-browser`: builds `models/browser.safetensors` — the audio song encoder trained
//! contrastively on every track of the CC audio corpus, and the AINRNN residual initialised so
//! the untrained ranking is the eq. 4 prior (see [`crate::model::browser`]).

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};

use crate::audio_proxy::{select_columns, FEATURE_SETS};
use crate::error::{Error, Result};
use crate::eval_run::{corpus_excerpt_descriptors, CHECKPOINT_DIR, DEFAULT_OUT_DIR};
use crate::features::track::{descriptor_names, TrackConfig};
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
    /// Where the excerpt descriptors are cached (shared with `ainrec eval --audio-proxy`).
    pub cache_dir: PathBuf,
    /// The command line, recorded in the file.
    pub command: String,
}

impl Default for BrowserTrainOptions {
    fn default() -> Self {
        BrowserTrainOptions {
            data_dir: PathBuf::from("../shared/data"),
            out: PathBuf::from("models/browser.safetensors"),
            feature_set: "all".into(),
            excerpts: 8,
            excerpt_s: 10.0,
            encoder: ContrastiveConfig::default(),
            cache_dir: PathBuf::from(DEFAULT_OUT_DIR).join(CHECKPOINT_DIR),
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
    let tmp = opts.out.with_extension("partial");
    std::fs::write(&tmp, &bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &opts.out).map_err(|e| Error::io(&opts.out, e))?;
    progress(&format!(
        "wrote {} ({:.1} kB) in {:.1} s",
        opts.out.display(),
        bytes.len() as f64 / 1e3,
        started.elapsed().as_secs_f64()
    ));
    Ok(info)
}

/// The browser model's section of `models/MODEL_CARD.md`, from the file's own record and the
/// audio-proxy numbers of `results.json`.
pub fn browser_card_section(
    model: &BrowserModel,
    bytes: usize,
    results: Option<&crate::eval_run::Summary>,
) -> String {
    let info = model.info();
    let get = |k: &str| info.get(k).cloned().unwrap_or(Value::Null);
    let cfg = model.config();
    let mut md = String::from("# Model card — `models/browser.safetensors` (the page's model)\n\n");
    md.push_str(&format!(
        "- What: the audio song encoder (`{}` descriptor set: {} of the page's {} descriptor \
         values, standardised → [first {} principal axes, MLP {} → {}] as one unit vector) in front of AINRNN (5 dense-connected IndRNN layers \
         of {}, eq. 4 target attention, portrait). Score = exp(log_scale) · prior + AINRNN \
         residual; the residual's head starts at zero, so before fine-tuning the ranking is the \
         eq. 4 prior: play-count-weighted cosine similarity to the history (likes +{}, skips \
         −{}·ln(1 + skips)).\n\
         - Made by: `{}` in {:.0} s; {:.1} kB.\n\
         - Trained on: {}. Contrastive loss (InfoNCE) {:.3} over the first 10 steps → {:.3} \
         over the last 10.\n\
         - **Not** trained on: {}.\n\
         - Standardisation: over the visitor's library itself once it has {} songs or more \
         (as audio-kNN does), otherwise the statistics stored from training.\n\
         - Descriptors must come from extractor `{}` (the page's `analysisKey`).\n\
         - Licences: {}.\n",
        cfg.feature_set,
        cfg.columns.len(),
        cfg.descriptor_names.len(),
        cfg.pca_dim,
        cfg.encoder.hidden_dim,
        cfg.encoder.output_dim,
        cfg.ainrnn.hidden_dim,
        cfg.prior.like_bonus,
        cfg.prior.skip_penalty,
        get("command").as_str().unwrap_or("?"),
        get("seconds_training").as_f64().unwrap_or(f64::NAN),
        bytes as f64 / 1e3,
        get("trained_on").as_str().unwrap_or("?"),
        get("encoder_loss_first10").as_f64().unwrap_or(f64::NAN),
        get("encoder_loss_last10").as_f64().unwrap_or(f64::NAN),
        get("not_trained_on").as_str().unwrap_or("?"),
        cfg.library_min_rows,
        cfg.analysis_key,
        get("licences").as_str().unwrap_or("?"),
    ));
    if let Some(s) = results {
        if let Some(m) = s.audio_proxy.get(&cfg.feature_set) {
            let v = |k: &str| {
                m.get(k)
                    .map_or("–".into(), |v| format!("{:.4} ± {:.4}", v.mean, v.std))
            };
            md.push_str(&format!(
                "- Audio proxy (`docs/RESULTS.md`, encoders cross-fitted over tracks): same-track \
                 MRR {} with this encoder vs {} for audio-kNN on the raw descriptors; \
                 same-collection P@5 {} vs {}.\n",
                v("encoder.same_track_mrr"),
                v("knn.same_track_mrr"),
                v("encoder.same_collection_precision@5"),
                v("knn.same_collection_precision@5"),
            ));
        }
    }
    md.push('\n');
    md
}
