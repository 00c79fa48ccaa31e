//! The browser model: the audio song encoder (trained contrastively on the CC audio corpus,
//! [`crate::model::contrastive`]) in front of an AINRNN whose ranking, before any fine-tuning,
//! *is* the eq. 4 prior — play-count-weighted audio similarity to the history — and which
//! fine-tuning on the visitor's own history moves from there.
//!
//! ```text
//! e_c           = unit(g(descriptor_c))                      song embedding (frozen encoder)
//! w_i           = ln(1 + plays_i) + like_bonus·liked_i − skip_penalty·ln(1 + skips_i)
//! prior(c)      = Σ_i w_i ⟨e_c, e_i⟩ / Σ_i |w_i|             (eq. 4 with Similarity = cosine)
//! score(c)      = exp(log_scale) · prior(c) + AINRNN(history, c)
//! ```
//!
//! The AINRNN residual's output head starts at exactly zero, so the untrained ranking equals the
//! prior (exp(log_scale) > 0 only scales it), and every fine-tuning step moves the residual from
//! there (the head's gradient is non-zero from the first step, and through it the rest of the
//! network learns). Its target attention starts as "sounds like": the query and key projections
//! read the song embeddings (`W_q = a·I`, `W_k = [I 0 …]`), so before fine-tuning the attention
//! weights shown as "because you played …" are a softmax of cosine similarity (temperature
//! [`ATTENTION_TEMPERATURE`]) plus the learnable play-count bias.
//!
//! Why a prior at all: no real data joins listeners to audio (`shared/data/README.md`), so
//! nothing can train the network "on users" before a visitor arrives; the prior is the honest
//! thing to start from, and fine-tuning on the visitor's history is where the network earns its
//! place — measured by the before/after check on their last plays, and rolled back when worse.
//!
//! Ranking is two-stage: stage 1 scores every candidate by a dot product with one user vector
//! (the prior's `Σ w_i e_i / Σ|w_i|` plus the residual's pooled user vector), stage 2 rescores the
//! best [`RankOptions::retrieve`] with full attention. Before fine-tuning stage 1 is exact.
//!
//! The parts: [`prior`] (the eq. 4 weights and user vector), this file (the model: encoder,
//! residual, two-stage ranking, its file), [`finetune`] (learning from a visitor's history) and
//! [`session`] (what the page's worker holds).

mod finetune;
mod prior;
mod session;

pub use finetune::{FineTuneConfig, FineTuneOutcome, FineTuner, StepReport};
pub use prior::{prior_user, prior_weights, PriorConfig, Step};
pub use session::Session;

use std::collections::{HashMap, HashSet};

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::ainrnn::{self, Ainrnn, Batch};
use crate::model::contrastive::{audio_embedding, AXES};
use crate::model::portrait::{self, PortraitBatch};
use crate::model::song_encoder::{self, SongEncoder};
use crate::model::{
    from_safetensors, named_vars, safetensors_metadata, seeded_var_builder, to_safetensors,
};
use crate::ranking::diversity::diversify;

/// Version of the browser model file layout.
pub const BROWSER_FORMAT_VERSION: u32 = 1;
/// Metadata key of [`BROWSER_FORMAT_VERSION`].
pub const META_FORMAT: &str = "ainrec.browser.format_version";
/// Metadata key of the [`BrowserConfig`] JSON.
pub const META_CONFIG: &str = "ainrec.browser.config";
/// Metadata key of the free-form JSON describing how the file was made.
pub const META_INFO: &str = "ainrec.browser.info";
/// Temperature of the initial "sounds like" attention.
pub const ATTENTION_TEMPERATURE: f64 = 0.1;
const LOG_SCALE: &str = "prior.log_scale";
/// Initial prior scale: exp(ln 10) = 10, so prior differences of 0.1 are one logit apart.
const INITIAL_LOG_SCALE: f64 = std::f64::consts::LN_10;

/// Everything needed to rebuild a browser model from its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserConfig {
    /// The audio encoder's MLP (its `input_dim` is `columns.len()`).
    pub encoder: song_encoder::Config,
    /// Principal axes beside the MLP's output (the embedding has `pca_dim + output_dim` values;
    /// see [`crate::model::contrastive`]).
    pub pca_dim: usize,
    /// The feature set the encoder reads (`mfcc`, `scattering`, `hfc_hpcp`, `all`).
    pub feature_set: String,
    /// Names of the full descriptor the page computes, in order.
    pub descriptor_names: Vec<String>,
    /// The descriptor columns the encoder reads.
    pub columns: Vec<usize>,
    /// The extractor's cache key the descriptors must come from (`analysisKey` in the page).
    pub analysis_key: String,
    /// The AINRNN residual.
    pub ainrnn: ainrnn::Config,
    /// The prior's event weights.
    pub prior: PriorConfig,
    /// Libraries of at least this many songs are standardised over themselves
    /// ([`BrowserModel::embed_library`]); smaller ones use the encoder's stored statistics.
    #[serde(default = "default_library_min_rows")]
    pub library_min_rows: usize,
}

/// [`BrowserConfig::library_min_rows`]: below 10 songs a library's own spread says little.
pub fn default_library_min_rows() -> usize {
    10
}

/// One recommended song.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    /// Row in the embedding table.
    pub item: usize,
    /// The model's score (higher first).
    pub score: f32,
    /// The prior's part of it, `prior(c)` (before scaling).
    pub prior: f32,
    /// Attention weights over the history steps used (the last `max_len`), oldest first; they
    /// sum to 1.
    pub attention: Vec<f32>,
    /// 0-based position in the model's order before the diversity re-rank (equal to the shown
    /// position when nothing moved; the page says "moved up to vary artists" otherwise).
    pub model_rank: usize,
}

/// What [`BrowserModel::score`] returns, one entry per candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// `exp(log_scale) · prior + residual`.
    pub scores: Vec<f32>,
    /// The eq. 4 prior.
    pub prior: Vec<f32>,
    /// Attention weights over the history steps used (empty for an empty history).
    pub attention: Vec<Vec<f32>>,
}

/// Options of [`BrowserModel::rank`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RankOptions {
    /// How many to return.
    pub k: usize,
    /// Candidates rescored with full attention after stage 1.
    pub retrieve: usize,
    /// At most this many songs by one artist in a row ([`crate::ranking::diversity`]); 0: no
    /// limit. The re-rank draws from the model's best [`DIVERSITY_POOL`]` · k`.
    pub diversity: usize,
}

/// With a diversity limit, the re-rank chooses from the model's best `DIVERSITY_POOL · k` songs
/// (the page's rule since it had one: ask for 30, show 10).
pub const DIVERSITY_POOL: usize = 3;

impl Default for RankOptions {
    fn default() -> Self {
        RankOptions {
            k: 10,
            retrieve: 200,
            diversity: 0,
        }
    }
}

/// The browser model (see the module docs).
pub struct BrowserModel {
    varmap: VarMap,
    encoder: SongEncoder,
    axes: Option<Tensor>,
    net: Ainrnn,
    log_scale: Tensor,
    cfg: BrowserConfig,
    info: Value,
    device: Device,
}

impl BrowserModel {
    /// A new model around a trained audio encoder (`encoder_vars`: its `song.*` variables, from
    /// [`crate::model::contrastive::AudioEncoder::varmap`]). The residual is initialised as the
    /// module docs say, from `seed`.
    pub fn new(cfg: BrowserConfig, encoder_vars: &VarMap, seed: u64, info: Value) -> Result<Self> {
        validate(&cfg)?;
        let varmap = VarMap::new();
        let vb = seeded_var_builder(&varmap, seed, &Device::Cpu);
        let model = BrowserModel::assemble(varmap, vb, cfg, info)?;
        let source: HashMap<String, Var> = named_vars(encoder_vars).into_iter().collect();
        for (name, var) in named_vars(&model.varmap) {
            if name.starts_with("song.") {
                let src = source.get(&name).ok_or_else(|| {
                    Error::Model(format!("the audio encoder has no variable {name}"))
                })?;
                var.set(src.as_tensor())?;
            }
        }
        model.init_residual()?;
        Ok(model)
    }

    /// Builds (seeded builder) or loads (strict builder) every part under `vb`.
    fn assemble(
        varmap: VarMap,
        vb: candle_nn::VarBuilder<'static>,
        cfg: BrowserConfig,
        info: Value,
    ) -> Result<Self> {
        let encoder = SongEncoder::new(cfg.encoder, vb.pp("song"))?;
        let axes = axes_var(&cfg, &vb)?;
        let net = Ainrnn::new(cfg.ainrnn.clone(), vb.pp("ainrnn"))?;
        let log_scale =
            vb.get_with_hints(1, LOG_SCALE, candle_nn::Init::Const(INITIAL_LOG_SCALE))?;
        Ok(BrowserModel {
            varmap,
            encoder,
            axes,
            net,
            log_scale,
            cfg,
            info,
            device: Device::Cpu,
        })
    }

    /// Head = 0 (so the residual scores 0), attention = cosine similarity of the song embeddings.
    fn init_residual(&self) -> Result<()> {
        let c = &self.cfg.ainrnn;
        let (d, a, s) = (c.item_dim, c.att_dim, c.state_dim());
        let gain = (a as f64).sqrt() / ATTENTION_TEMPERATURE;
        let mut q = vec![0f32; a * d];
        let mut k = vec![0f32; a * s];
        for i in 0..a.min(d) {
            q[i * d + i] = gain as f32;
            k[i * s + i] = 1.0;
        }
        let vars: HashMap<String, Var> = named_vars(&self.varmap).into_iter().collect();
        let set = |name: &str, t: Tensor| -> Result<()> {
            vars.get(name)
                .ok_or_else(|| Error::Model(format!("browser model has no variable {name}")))?
                .set(&t)?;
            Ok(())
        };
        let dev = &self.device;
        set(
            "ainrnn.attention.query.weight",
            Tensor::from_vec(q, (a, d), dev)?,
        )?;
        set(
            "ainrnn.attention.key.weight",
            Tensor::from_vec(k, (a, s), dev)?,
        )?;
        let head = vars
            .get("ainrnn.head.weight")
            .ok_or_else(|| Error::Model("browser model has no head".into()))?;
        set("ainrnn.head.weight", head.as_tensor().zeros_like()?)?;
        set(
            "ainrnn.head.bias",
            Tensor::zeros(d, candle_core::DType::F32, dev)?,
        )?;
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &BrowserConfig {
        &self.cfg
    }

    /// How the file was made (and fine-tuned).
    pub fn info(&self) -> &Value {
        &self.info
    }

    /// Unit-length song embeddings `(n, item_dim)` of full descriptors (each of
    /// `descriptor_names.len()` values; the encoder reads its columns). A row that is not finite
    /// or of the wrong length is an error naming the row.
    pub fn embed(&self, descriptors: &[Vec<f32>]) -> Result<Tensor> {
        self.check_rows(descriptors)?;
        let flat: Vec<f32> = descriptors
            .iter()
            .flat_map(|r| self.cfg.columns.iter().map(|&c| r[c]))
            .collect();
        let n = descriptors.len();
        if n == 0 {
            return Ok(Tensor::zeros(
                (0, self.cfg.ainrnn.item_dim),
                candle_core::DType::F32,
                &self.device,
            )?);
        }
        let x = Tensor::from_vec(flat, (n, self.cfg.columns.len()), &self.device)?;
        // In blocks, so the hidden layer never holds a whole large library at once.
        let mut parts = Vec::new();
        for start in (0..n).step_by(4096) {
            let len = 4096.min(n - start);
            parts.push(audio_embedding(
                &self.encoder,
                self.axes.as_ref(),
                &x.narrow(0, start, len)?,
            )?);
        }
        let table = Tensor::cat(&parts, 0)?;
        // Finite inputs can still overflow through extreme (finite) weights: a NaN embedding
        // would rank everything with NaN, so it is an error naming the row.
        let finite = table.abs()?.sum_keepdim(1)?.squeeze(1)?.to_vec1::<f32>()?;
        if let Some(i) = finite.iter().position(|v| !v.is_finite()) {
            return Err(Error::Model(format!(
                "descriptor {i} gives a non-finite song embedding with this model (its weights \
                 overflow); the model file is unusable"
            )));
        }
        Ok(table)
    }

    /// Each row has the descriptor's length and only finite values; the error names the row.
    fn check_rows(&self, descriptors: &[Vec<f32>]) -> Result<()> {
        let want = self.cfg.descriptor_names.len();
        for (i, r) in descriptors.iter().enumerate() {
            if r.len() != want {
                return Err(Error::invalid(
                    format!("descriptor {i}"),
                    format!("{want} values ({})", self.cfg.analysis_key),
                    r.len(),
                ));
            }
            if r.iter().any(|v| !v.is_finite()) {
                return Err(Error::invalid(
                    format!("descriptor {i}"),
                    "finite values",
                    "NaN or infinity",
                ));
            }
        }
        Ok(())
    }

    /// [`BrowserModel::embed`] of a visitor's whole library, standardised over the library
    /// itself rather than over the encoder's training excerpts, once it has at least
    /// [`BrowserConfig::library_min_rows`] songs. Why: "sounds alike" means alike *relative to
    /// the collection at hand* — the audio-kNN baseline z-scores over the library for the same
    /// reason — and a visitor's collection has its own loudness, timbre and tuning spread.
    /// Measured on the scripted histories of `tests/model/browser.rs` (60-song demo library):
    /// prior MRR 0.234 with the stored statistics, 0.341 with the library's; pooling the two
    /// (the stored ones counted as 5 or 20 rows) gave 0.310 and 0.267.
    ///
    /// Each encoder column is mapped to `μ_stored + σ_stored · (x − μ_library) / σ_library`, so
    /// the encoder, which standardises with its stored statistics, sees z-scores over the
    /// library (a constant column maps to `μ_stored`, z = 0). Every embedding depends on the
    /// whole library, so the page re-embeds it when the library changes.
    pub fn embed_library(&self, descriptors: &[Vec<f32>]) -> Result<Tensor> {
        self.check_rows(descriptors)?;
        if descriptors.len() < self.cfg.library_min_rows.max(2) {
            return self.embed(descriptors);
        }
        let (stored_mean, stored_std) = self.encoder.stats()?;
        let library = crate::util::stats::column_stats(descriptors, &self.cfg.columns);
        let mut rows = descriptors.to_vec();
        for (j, (&c, &(mean, std))) in self.cfg.columns.iter().zip(&library).enumerate() {
            let scale = if std > 1e-12 {
                f64::from(stored_std[j]) / std
            } else {
                0.0
            };
            for r in rows.iter_mut() {
                r[c] = (f64::from(stored_mean[j]) + scale * (f64::from(r[c]) - mean)) as f32;
            }
        }
        self.embed(&rows)
    }

    /// The eq. 4 prior of every row of `table (N, d)` for `history`: `(N,)`.
    pub fn prior_scores(&self, table: &Tensor, history: &[Step]) -> Result<Vec<f32>> {
        let u = prior_user(table, history, &self.cfg.prior)?;
        Ok(table.matmul(&u.unsqueeze(1)?)?.squeeze(1)?.to_vec1()?)
    }

    fn scale(&self) -> Result<f32> {
        Ok(self.log_scale.exp()?.to_vec1::<f32>()?[0])
    }

    /// The last `max_len` steps as network inputs `(1, T, d)`, `(1, T)`, `(1, T)`.
    fn prepare(&self, table: &Tensor, history: &[Step]) -> Result<(Tensor, Tensor, Tensor)> {
        let recent = &history[history.len().saturating_sub(self.cfg.ainrnn.max_len)..];
        let t = recent.len();
        let idx: Vec<u32> = recent.iter().map(|s| s.item as u32).collect();
        let h = table
            .index_select(&Tensor::from_vec(idx, t, &self.device)?, 0)?
            .unsqueeze(0)?;
        let plays: Vec<f32> = recent.iter().map(|s| s.plays.max(0.0)).collect();
        Ok((
            h,
            Tensor::from_vec(plays, (1, t), &self.device)?,
            Tensor::ones((1, t), candle_core::DType::F32, &self.device)?,
        ))
    }

    /// Whether ranking and fine-tuning read the visitor's portrait (age band, language,
    /// genres). They do not: every forward pass gets an empty portrait (`empty_portrait`), as no
    /// data the model is trained on joins portraits to listening. The page marks the portrait
    /// fields as unused when this is false.
    pub fn uses_portrait(&self) -> bool {
        false
    }

    fn empty_portrait(&self, n: usize) -> Result<PortraitBatch> {
        let none: Vec<Option<&crate::data::history::Portrait>> = vec![None; n];
        Ok(PortraitBatch::new(&none, &self.cfg.ainrnn.portrait, &self.device)?.0)
    }

    /// Full scores (prior + residual), priors and attention weights `(C, T)` of `candidates`
    /// (rows of `table`) for `history`.
    pub fn score(&self, table: &Tensor, history: &[Step], candidates: &[usize]) -> Result<Scored> {
        check_rows(
            table,
            history
                .iter()
                .map(|s| s.item)
                .chain(candidates.iter().copied()),
        )?;
        if history.is_empty() || candidates.is_empty() {
            return Ok(Scored {
                scores: vec![0.0; candidates.len()],
                prior: vec![0.0; candidates.len()],
                attention: vec![],
            });
        }
        let idx: Vec<u32> = candidates.iter().map(|&i| i as u32).collect();
        let cands =
            table.index_select(&Tensor::from_vec(idx, candidates.len(), &self.device)?, 0)?;
        let prior: Vec<f32> = cands
            .matmul(&prior_user(table, history, &self.cfg.prior)?.unsqueeze(1)?)?
            .squeeze(1)?
            .to_vec1()?;
        let (h, plays, mask) = self.prepare(table, history)?;
        let portrait = self.empty_portrait(1)?;
        let out = self.net.forward(
            &Batch {
                history: &h,
                plays: &plays,
                mask: &mask,
                portrait: &portrait,
                candidates: &cands,
            },
            None,
        )?;
        let residual: Vec<f32> = out.scores.squeeze(0)?.to_vec1()?;
        let attention: Vec<Vec<f32>> = match out.attention {
            Some(a) => a.squeeze(0)?.to_vec2()?,
            None => vec![],
        };
        let s = self.scale()?;
        let scores = prior
            .iter()
            .zip(&residual)
            .map(|(p, r)| s * p + r)
            .collect();
        Ok(Scored {
            scores,
            prior,
            attention,
        })
    }

    /// Stage-1 scores of every row of `table`: a dot product with the prior's user vector
    /// (scaled) plus the residual's pooled user vector. Equal to the full scores before
    /// fine-tuning.
    pub fn stage1_scores(&self, table: &Tensor, history: &[Step]) -> Result<Vec<f32>> {
        let n = table.dim(0)?;
        if history.is_empty() {
            return Ok(vec![0.0; n]);
        }
        check_rows(table, history.iter().map(|s| s.item))?;
        let u =
            prior_user(table, history, &self.cfg.prior)?.affine(f64::from(self.scale()?), 0.0)?;
        let (h, plays, mask) = self.prepare(table, history)?;
        let pooled = self
            .net
            .pooled_user(&h, &plays, &mask, &self.empty_portrait(1)?)?
            .squeeze(0)?
            .affine(1.0 / (self.cfg.ainrnn.item_dim as f64).sqrt(), 0.0)?;
        let user = (u + pooled)?;
        Ok(table.matmul(&user.unsqueeze(1)?)?.squeeze(1)?.to_vec1()?)
    }

    /// The `opts.k` best rows of `table` for `history`, never one in `exclude` or in the
    /// history, each with its score, prior and attention weights (two-stage, see module docs).
    pub fn rank(
        &self,
        table: &Tensor,
        history: &[Step],
        exclude: &HashSet<usize>,
        opts: &RankOptions,
        artists: &[String],
    ) -> Result<Vec<Ranked>> {
        let stage1 = self.stage1_scores(table, history)?;
        let heard: HashSet<usize> = history.iter().map(|s| s.item).collect();
        let mut order: Vec<usize> = (0..stage1.len())
            .filter(|i| !heard.contains(i) && !exclude.contains(i))
            .collect();
        order.sort_by(|&a, &b| stage1[b].total_cmp(&stage1[a]).then(a.cmp(&b)));
        let shown = if opts.diversity > 0 {
            opts.k.saturating_mul(DIVERSITY_POOL)
        } else {
            opts.k
        };
        order.truncate(opts.retrieve.max(shown));
        if history.is_empty() {
            order.truncate(opts.k);
            return Ok(order
                .into_iter()
                .enumerate()
                .map(|(r, item)| Ranked {
                    item,
                    score: 0.0,
                    prior: 0.0,
                    attention: vec![],
                    model_rank: r,
                })
                .collect());
        }
        let Scored {
            scores,
            prior,
            attention,
        } = self.score(table, history, &order)?;
        let mut ranked: Vec<Ranked> = order
            .iter()
            .enumerate()
            .map(|(j, &item)| Ranked {
                item,
                score: scores[j],
                prior: prior[j],
                attention: attention.get(j).cloned().unwrap_or_default(),
                model_rank: 0,
            })
            .collect();
        if let Some(r) = ranked
            .iter()
            .find(|r| !r.score.is_finite() || !r.prior.is_finite())
        {
            return Err(Error::Model(format!(
                "the model gives item {} a non-finite score ({}); its weights are unusable",
                r.item, r.score
            )));
        }
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        ranked.truncate(shown);
        for (r, x) in ranked.iter_mut().enumerate() {
            x.model_rank = r;
        }
        if opts.diversity == 0 {
            return Ok(ranked);
        }
        let pairs: Vec<(usize, f32)> = ranked.iter().map(|r| (r.item, r.score)).collect();
        let artist = |item: usize| artists.get(item).map(String::as_str);
        Ok(diversify(&pairs, artist, opts.diversity, opts.k)
            .into_iter()
            .map(|d| ranked[d.model_rank].clone())
            .collect())
    }

    /// The weights as safetensors bytes with the configuration and `info` in the metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut meta = HashMap::new();
        meta.insert(META_FORMAT.into(), BROWSER_FORMAT_VERSION.to_string());
        meta.insert(META_CONFIG.into(), serde_json::to_string(&self.cfg)?);
        meta.insert(META_INFO.into(), serde_json::to_string(&self.info)?);
        to_safetensors(&self.varmap, meta)
    }

    /// True when `bytes` are a safetensors file that says it is a browser model (of any format
    /// version: [`BrowserModel::from_bytes`] then names a version mismatch). Callers that take
    /// both kinds of model file choose the reader with it.
    pub fn is_browser_model(bytes: &[u8]) -> bool {
        safetensors_metadata(bytes).is_ok_and(|m| m.contains_key(META_FORMAT))
    }

    /// Reads a browser model file. Anything missing, mis-shaped, of another version or not
    /// finite is an error naming what is wrong; nothing is half-loaded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let meta = safetensors_metadata(bytes)?;
        let version = meta.get(META_FORMAT).map(String::as_str).unwrap_or("none");
        if version != BROWSER_FORMAT_VERSION.to_string() {
            return Err(Error::Model(format!(
                "not a browser model of this build: format version {version}, this build reads \
                 version {BROWSER_FORMAT_VERSION}"
            )));
        }
        let cfg: BrowserConfig = serde_json::from_str(
            meta.get(META_CONFIG)
                .ok_or_else(|| Error::Model(format!("browser model has no {META_CONFIG}")))?,
        )
        .map_err(|e| Error::Model(format!("browser model configuration is unreadable: {e}")))?;
        validate(&cfg)?;
        let info: Value = meta
            .get(META_INFO)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null);
        let (varmap, vb) = from_safetensors(bytes, &Device::Cpu)?;
        let expected = named_vars(&varmap).len();
        let model = BrowserModel::assemble(varmap, vb, cfg, info)?;
        // Every stored tensor must be one the model reads: a file with extra tensors is not
        // the model its configuration describes.
        let used = trainable_names(&model.varmap).len() + buffer_count(&model.varmap);
        if used != expected {
            return Err(Error::Model(format!(
                "browser model file has {expected} tensors, the model reads {used}"
            )));
        }
        Ok(model)
    }

    /// Loads the weights of `bytes` (a file of the same configuration) into this model in
    /// place; on any error nothing changes.
    pub fn restore(&self, bytes: &[u8]) -> Result<()> {
        let other = BrowserModel::from_bytes(bytes)?;
        if other.cfg != self.cfg {
            return Err(Error::Model(
                "these weights belong to a browser model of another configuration".into(),
            ));
        }
        let src: HashMap<String, Var> = named_vars(&other.varmap).into_iter().collect();
        let mine = named_vars(&self.varmap);
        if mine
            .iter()
            .any(|(n, v)| src.get(n).is_none_or(|s| s.shape() != v.shape()))
        {
            return Err(Error::Model(
                "weights do not match the model's variables".into(),
            ));
        }
        for (name, var) in mine {
            var.set(src[&name].as_tensor())?;
        }
        Ok(())
    }
}

fn axes_var(cfg: &BrowserConfig, vb: &candle_nn::VarBuilder) -> Result<Option<Tensor>> {
    if cfg.pca_dim == 0 {
        return Ok(None);
    }
    Ok(Some(vb.pp("song").get_with_hints(
        (cfg.pca_dim, cfg.encoder.input_dim),
        AXES,
        candle_nn::Init::Const(0.0),
    )?))
}

fn trainable_names(varmap: &VarMap) -> Vec<String> {
    named_vars(varmap)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("ainrnn.") || n == LOG_SCALE || n.starts_with("song."))
        .filter(|n| !n.contains(crate::model::BUFFER_MARK))
        .collect()
}

fn buffer_count(varmap: &VarMap) -> usize {
    named_vars(varmap)
        .iter()
        .filter(|(n, _)| n.contains(crate::model::BUFFER_MARK))
        .count()
}

fn check_rows(table: &Tensor, rows: impl Iterator<Item = usize>) -> Result<()> {
    let n = table.dim(0)?;
    for r in rows {
        if r >= n {
            return Err(Error::invalid(
                "song index",
                format!("< {n} (songs known)"),
                r,
            ));
        }
    }
    Ok(())
}

fn validate(cfg: &BrowserConfig) -> Result<()> {
    let bad = |what: &str, expected: String, found: String| {
        Err(Error::invalid(
            format!("browser model {what}"),
            expected,
            found,
        ))
    };
    if cfg.columns.len() != cfg.encoder.input_dim {
        return bad(
            "columns",
            format!("{} (the encoder's input)", cfg.encoder.input_dim),
            cfg.columns.len().to_string(),
        );
    }
    if let Some(c) = cfg
        .columns
        .iter()
        .find(|&&c| c >= cfg.descriptor_names.len())
    {
        return bad(
            "column",
            format!("< {}", cfg.descriptor_names.len()),
            c.to_string(),
        );
    }
    if cfg.encoder.output_dim + cfg.pca_dim != cfg.ainrnn.item_dim || cfg.encoder.n_ids != 0 {
        return bad(
            "encoder",
            format!(
                "output + principal axes = {}, no id embeddings",
                cfg.ainrnn.item_dim
            ),
            format!("{:?}", cfg.encoder),
        );
    }
    if !cfg.ainrnn.attention || cfg.ainrnn.readout != ainrnn::Readout::All {
        return bad(
            "network",
            "attention on, readout all".into(),
            format!("{:?}", cfg.ainrnn),
        );
    }
    Ok(())
}

/// The residual network of the shipped browser model: the paper's architecture (5 dense IndRNN
/// layers, target attention, portrait), narrower so that fine-tuning fits in seconds in a tab.
pub fn default_network(item_dim: usize) -> ainrnn::Config {
    ainrnn::Config {
        item_dim,
        hidden_dim: 32,
        n_layers: 5,
        cell: ainrnn::CellKind::IndRnn,
        attention: true,
        connections: ainrnn::Connections::Dense,
        dropout: 0.1,
        max_len: 50,
        att_dim: item_dim,
        portrait: portrait::Config {
            dim: 4,
            genres: vec![],
        },
        layer_norm: true,
        readout: ainrnn::Readout::All,
    }
}
