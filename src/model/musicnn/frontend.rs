//! musicnn's musically motivated front end (Pons et al. 2017): vertical "timbral" filters that
//! span several mel bands over 7 frames, and horizontal "temporal" filters that span one band
//! over 32–128 frames, each followed by ReLU, batch norm and a max over the whole mel axis, so
//! each filter gives one value per frame.
//!
//! Padding as in `musicnn/models.py`: the timbral convolutions see the patch padded with 3
//! zero frames on each side and slide without padding (`valid`), so the frame count stays; the
//! temporal ones use TF's `same` padding, which for an even kernel length `k` puts `(k − 1) / 2`
//! zeros before and `k / 2` after.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::batch_norm::BatchNorm;
use crate::error::Result;

/// One front-end filter family: `filters` kernels of `frames × bands`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Output channels (204 timbral, 51 temporal in `MSD_musicnn`).
    pub filters: usize,
    /// Kernel length along time, in frames.
    pub frames: usize,
    /// Kernel height along the mel axis, in bands (1 for temporal filters).
    pub bands: usize,
    /// Zero frames before and after the patch.
    pub pad: (usize, usize),
}

impl Config {
    /// A timbral block: 7 frames × `bands` bands, 3 + 3 frames of padding.
    pub fn timbral(filters: usize, bands: usize) -> Self {
        Self {
            filters,
            frames: 7,
            bands,
            pad: (3, 3),
        }
    }

    /// A temporal block: `frames` × 1, TF `same` padding.
    pub fn temporal(filters: usize, frames: usize) -> Self {
        Self {
            filters,
            frames,
            bands: 1,
            pad: ((frames - 1) / 2, frames / 2),
        }
    }
}

/// Convolution → ReLU → batch norm → max over bands.
#[derive(Debug, Clone)]
pub struct FrontendBlock {
    /// `(filters, 1, frames, bands)`
    kernel: Tensor,
    /// `(1, filters, 1, 1)`
    bias: Tensor,
    bn: BatchNorm,
    cfg: Config,
}

impl FrontendBlock {
    /// Reads `conv.kernel (frames, bands, 1, filters)` (TF's layout), `conv.bias (filters,)`
    /// and the batch norm `bn.*` under `vb`.
    pub fn new(cfg: Config, eps: f64, vb: VarBuilder) -> Result<Self> {
        let kernel = vb
            .get((cfg.frames, cfg.bands, 1, cfg.filters), "conv.kernel")?
            .permute((3, 2, 0, 1))?
            .contiguous()?;
        let bias = vb
            .get(cfg.filters, "conv.bias")?
            .reshape((1, cfg.filters, 1, 1))?;
        let bn = BatchNorm::new(cfg.filters, eps, vb.pp("bn"))?;
        Ok(Self {
            kernel,
            bias,
            bn,
            cfg,
        })
    }

    /// `x (B, 1, T, mels)` → `(B, filters, T)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (before, after) = self.cfg.pad;
        let padded = x.pad_with_zeros(2, before, after)?;
        let y = padded
            .conv2d(&self.kernel, 0, 1, 1, 1)?
            .broadcast_add(&self.bias)?
            .relu()?;
        Ok(self.bn.forward(&y)?.max(3)?)
    }
}
