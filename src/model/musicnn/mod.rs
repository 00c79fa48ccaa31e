//! The musicnn audio tagger (Pons & Serra, ISMIR-LBD 2019) with its `MSD_musicnn` weights:
//! a convolutional network trained on the Million Song Dataset's audio with its 50 most
//! frequent Last.fm tags. It turns 3 s of 16 kHz audio into 50 tag probabilities and a 200-d
//! embedding (the "penultimate" layer).
//!
//! The network, as `musicnn/models.py::build_musicnn` defines it (shapes batch-first, `T` = 187
//! frames per patch, 96 mel bands):
//!
//! 1. input batch norm (one scalar scale and shift) on the log-mel patch `(B, 1, T, 96)`;
//! 2. [`frontend`]: timbral filters 7 × 38 and 7 × 67 bands (204 each) and temporal filters
//!    128, 64, 32 frames × 1 band (51 each), each max-pooled over bands → `(B, 561, T)`;
//! 3. [`midend`]: three 7-frame convolutions to 64 channels, residual, densely concatenated
//!    with the front end → `(B, 753, T)`;
//! 4. [`backend`]: max and mean over time → BN → dense 200 (ReLU, BN) = the embedding → dense
//!    50 → sigmoid = the tag probabilities.
//!
//! The input comes from [`crate::features::musicnn_input`]. Weights: `models/musicnn_msd.
//! safetensors` (f16 storage, widened to f32 on load; the checkpoint's f32 values are in
//! `tests/reference/musicnn/` for the parity tests), converted from the TF1 checkpoint in the
//! `musicnn` 0.1.0 package (ISC licence, `models/musicnn_msd.LICENSE`) by
//! `tests/reference/gen_musicnn.py`, which also writes the reference outputs the tests compare
//! with.

pub mod backend;
pub mod batch_norm;
pub mod frontend;
pub mod midend;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::error::{Error, Result};
use crate::features::musicnn_input::{self, MelSpectrogram, MSD_TAGS, N_MELS, PATCH_FRAMES};
use crate::features::FrameMatrix;

use self::backend::Backend;
use self::batch_norm::BatchNorm;
use self::frontend::FrontendBlock;
use self::midend::Midend;

/// Sizes of a musicnn network (`MSD_musicnn` by default).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Mel bands of the input (96).
    pub n_mels: usize,
    /// Filters of each timbral block (204 = ⌊1.6 · 128⌋).
    pub timbral_filters: usize,
    /// Band heights of the timbral blocks (⌊0.4 · 96⌋ = 38, ⌊0.7 · 96⌋ = 67).
    pub timbral_bands: [usize; 2],
    /// Filters of each temporal block (51 = ⌊1.6 · 32⌋).
    pub temporal_filters: usize,
    /// Frame lengths of the temporal blocks.
    pub temporal_frames: [usize; 3],
    /// Channels of each mid-end layer (64).
    pub midend_filters: usize,
    /// Units of the penultimate dense layer (200).
    pub backend_units: usize,
    /// Tags (50).
    pub n_tags: usize,
    /// Batch-norm ε (TF's default, 0.001).
    pub bn_eps: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            n_mels: N_MELS,
            timbral_filters: 204,
            timbral_bands: [38, 67],
            temporal_filters: 51,
            temporal_frames: [128, 64, 32],
            midend_filters: 64,
            backend_units: 200,
            n_tags: 50,
            bn_eps: 1e-3,
        }
    }
}

impl Config {
    /// Channels the front end gives the mid-end (561).
    pub fn frontend_channels(&self) -> usize {
        2 * self.timbral_filters + 3 * self.temporal_filters
    }

    /// Channels the back end pools (753).
    pub fn backend_channels(&self) -> usize {
        self.frontend_channels() + 3 * self.midend_filters
    }
}

/// What the tagger gives for a batch of patches.
#[derive(Debug, Clone)]
pub struct TagOutput {
    /// Tag probabilities `(B, n_tags)`.
    pub tags: Tensor,
    /// The 200-d embedding `(B, backend_units)`.
    pub penultimate: Tensor,
}

/// Per-patch tags and embeddings of a signal, as plain numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Taggram {
    /// `patches × n_tags` probabilities.
    pub tags: FrameMatrix,
    /// `patches × backend_units` embeddings.
    pub penultimate: FrameMatrix,
}

/// The musicnn network with its weights.
#[derive(Debug, Clone)]
pub struct Musicnn {
    input_bn: BatchNorm,
    timbral: Vec<FrontendBlock>,
    temporal: Vec<FrontendBlock>,
    midend: Midend,
    backend: Backend,
    tag_names: Vec<String>,
    cfg: Config,
}

impl Musicnn {
    /// Builds the network from `vb` (names as `models/musicnn_msd.safetensors` has them).
    pub fn new(cfg: Config, tag_names: Vec<String>, vb: VarBuilder) -> Result<Self> {
        if tag_names.len() != cfg.n_tags || tag_names.iter().zip(MSD_TAGS).any(|(a, b)| a != b) {
            return Err(Error::Model(format!(
                "the musicnn weights name the tags {tag_names:?}; this build expects MSD_musicnn's \
                 {} tags in their order",
                cfg.n_tags
            )));
        }
        let eps = cfg.bn_eps;
        // musicnn's names for its two timbral shapes: 7 frames × 0.4 and × 0.7 of the bands.
        let timbral = cfg
            .timbral_bands
            .iter()
            .zip(["timbral_74", "timbral_77"])
            .map(|(&bands, name)| {
                let block = frontend::Config::timbral(cfg.timbral_filters, bands);
                FrontendBlock::new(block, eps, vb.pp(name))
            })
            .collect::<Result<_>>()?;
        let temporal = cfg
            .temporal_frames
            .iter()
            .map(|&frames| {
                let block = frontend::Config::temporal(cfg.temporal_filters, frames);
                FrontendBlock::new(block, eps, vb.pp(format!("temporal_{frames}")))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            input_bn: BatchNorm::new(1, eps, vb.pp("input_bn"))?,
            timbral,
            temporal,
            midend: Midend::new(cfg.frontend_channels(), cfg.midend_filters, eps, vb.clone())?,
            backend: Backend::new(
                cfg.backend_channels(),
                cfg.backend_units,
                cfg.n_tags,
                eps,
                vb.pp("backend"),
            )?,
            tag_names,
            cfg,
        })
    }

    /// Loads the network from safetensors bytes (f32 or f16 storage; f16 is widened to f32).
    /// The tag names come from the file's `tags` metadata (a JSON list).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| Error::Model(format!("musicnn weights: {e}"));
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(&e))?;
        let tags_json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("tags"))
            .ok_or_else(|| bad(&"no `tags` metadata"))?;
        let tag_names: Vec<String> = serde_json::from_str(tags_json).map_err(|e| bad(&e))?;
        let device = Device::Cpu;
        let mut tensors = HashMap::new();
        for (name, t) in
            candle_core::safetensors::load_buffer(bytes, &device).map_err(|e| bad(&e))?
        {
            let t = match t.dtype() {
                DType::F32 => t,
                DType::F16 => t.to_dtype(DType::F32)?,
                other => {
                    return Err(bad(&format!(
                        "tensor {name} is {other:?}; expected F32 or F16"
                    )))
                }
            };
            let flat = t.flatten_all()?.to_vec1::<f32>()?;
            if flat.iter().any(|v| !v.is_finite()) {
                return Err(bad(&format!("tensor {name} holds a non-finite value")));
            }
            tensors.insert(name, t);
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        Self::new(Config::default(), tag_names, vb)
    }

    /// The tag names, in the order of the probabilities.
    pub fn tag_names(&self) -> &[String] {
        &self.tag_names
    }

    /// The network's sizes.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// `patches (B, T, n_mels)` of log-mel input → tags and embeddings. Any `T ≥ 1` works (the
    /// network pools over time); musicnn was trained on `T = 187`.
    pub fn forward(&self, patches: &Tensor) -> Result<TagOutput> {
        let (_, _, mels) = patches.dims3()?;
        if mels != self.cfg.n_mels {
            return Err(Error::invalid("musicnn input bands", self.cfg.n_mels, mels));
        }
        let x = self.input_bn.forward(&patches.unsqueeze(1)?)?;
        let mut maps = Vec::with_capacity(5);
        for block in self.timbral.iter().chain(&self.temporal) {
            maps.push(block.forward(&x)?);
        }
        let front = Tensor::cat(&maps, 1)?;
        let features = self.midend.forward(&front)?;
        let (penultimate, logits) = self.backend.forward(&features)?;
        Ok(TagOutput {
            tags: candle_nn::ops::sigmoid(&logits)?,
            penultimate,
        })
    }

    /// Tags patches `patches` (indices of non-overlapping 3 s patches from the start) of 16 kHz
    /// `pcm`, `batch` patches per forward pass.
    pub fn tag_patches(&self, pcm: &[f32], patches: &[usize], batch: usize) -> Result<Taggram> {
        musicnn_input::check_signal(pcm)?;
        let available = musicnn_input::patch_count(pcm.len());
        if let Some(&p) = patches.iter().find(|&&p| p >= available) {
            return Err(Error::invalid(
                "musicnn patch",
                format!("< {available} (the signal's whole 3 s patches)"),
                p,
            ));
        }
        let mut mel = MelSpectrogram::new()?;
        let mut tags = FrameMatrix::zeros(0, self.cfg.n_tags);
        let mut penultimate = FrameMatrix::zeros(0, self.cfg.backend_units);
        for chunk in patches.chunks(batch.max(1)) {
            let mut input = Vec::with_capacity(chunk.len() * PATCH_FRAMES * N_MELS);
            for &p in chunk {
                input.extend(mel.log_input(pcm, p * PATCH_FRAMES, PATCH_FRAMES).data);
            }
            let x = Tensor::from_vec(input, (chunk.len(), PATCH_FRAMES, N_MELS), &Device::Cpu)?;
            let out = self.forward(&x)?;
            tags.data.extend(out.tags.flatten_all()?.to_vec1::<f32>()?);
            penultimate
                .data
                .extend(out.penultimate.flatten_all()?.to_vec1::<f32>()?);
            tags.n_frames += chunk.len();
            penultimate.n_frames += chunk.len();
        }
        Ok(Taggram { tags, penultimate })
    }

    /// Every non-overlapping 3 s patch of `pcm` from the start (musicnn's `input_overlap=False`).
    pub fn tag_all(&self, pcm: &[f32]) -> Result<Taggram> {
        musicnn_input::check_signal(pcm)?;
        let all: Vec<usize> = (0..musicnn_input::patch_count(pcm.len())).collect();
        self.tag_patches(pcm, &all, 4)
    }
}

impl Taggram {
    /// An empty taggram for `n_tags` tags and `embedding` values per patch.
    pub fn empty(n_tags: usize, embedding: usize) -> Self {
        Taggram {
            tags: FrameMatrix::zeros(0, n_tags),
            penultimate: FrameMatrix::zeros(0, embedding),
        }
    }

    /// Patches tagged so far.
    pub fn n_patches(&self) -> usize {
        self.tags.n_frames
    }

    /// Appends `later`'s patches (tagged in steps, as the page does) after these.
    pub fn extend(&mut self, later: Taggram) -> Result<()> {
        if later.tags.n_coeffs != self.tags.n_coeffs
            || later.penultimate.n_coeffs != self.penultimate.n_coeffs
        {
            return Err(Error::invalid(
                "taggram to append",
                format!(
                    "{} tags, {} embedding values",
                    self.tags.n_coeffs, self.penultimate.n_coeffs
                ),
                format!(
                    "{} tags, {} embedding values",
                    later.tags.n_coeffs, later.penultimate.n_coeffs
                ),
            ));
        }
        for (m, l) in [
            (&mut self.tags, later.tags),
            (&mut self.penultimate, later.penultimate),
        ] {
            m.data.extend(l.data);
            m.n_frames += l.n_frames;
        }
        Ok(())
    }

    /// Mean over patches of the tags, then of the embedding: the `tag.<name>` and
    /// `musicnn_embedding_<i>` values of a descriptor
    /// ([`crate::features::musicnn_input::descriptor_names`]).
    pub fn descriptor(&self) -> Vec<f32> {
        let (tags, _) = self.tags.mean_std();
        let (emb, _) = self.penultimate.mean_std();
        tags.into_iter().chain(emb).collect()
    }
}
