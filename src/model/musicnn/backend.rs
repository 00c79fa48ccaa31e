//! musicnn's back end: max and mean over time of every channel, then a 200-unit dense layer
//! (the "penultimate" embedding) and the tag logits (`musicnn/models.py::backend`).
//!
//! ```text
//! pooled      = flatten(concat([max_t F, mean_t F], last axis))   (B, 2C): c₀max, c₀mean, c₁max, …
//! penultimate = BN(ReLU(BN(pooled) · W₁ + b₁))                     (B, 200)
//! logits      = penultimate · W₂ + b₂                              (B, tags)
//! ```
//!
//! TF concatenates the two pooled `(B, C, 1)` maps on their last axis and flattens, so the
//! dense layer's input interleaves max and mean per channel; dropout is off at inference.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::batch_norm::BatchNorm;
use crate::error::Result;

/// Pooling and the two dense layers.
#[derive(Debug, Clone)]
pub struct Backend {
    pool_bn: BatchNorm,
    /// `(2C, units)`
    dense: (Tensor, Tensor),
    dense_bn: BatchNorm,
    /// `(units, tags)`
    logits: (Tensor, Tensor),
}

impl Backend {
    /// Reads `pool_bn.*`, `dense.{kernel,bias}`, `dense_bn.*`, `logits.{kernel,bias}` under `vb`.
    pub fn new(
        channels: usize,
        units: usize,
        tags: usize,
        eps: f64,
        vb: VarBuilder,
    ) -> Result<Self> {
        let pooled = 2 * channels;
        Ok(Self {
            pool_bn: BatchNorm::new(pooled, eps, vb.pp("pool_bn"))?,
            dense: (
                vb.get((pooled, units), "dense.kernel")?,
                vb.get(units, "dense.bias")?,
            ),
            dense_bn: BatchNorm::new(units, eps, vb.pp("dense_bn"))?,
            logits: (
                vb.get((units, tags), "logits.kernel")?,
                vb.get(tags, "logits.bias")?,
            ),
        })
    }

    /// `features (B, C, T)` → `(penultimate (B, units), logits (B, tags))`.
    pub fn forward(&self, features: &Tensor) -> Result<(Tensor, Tensor)> {
        let max = features.max(2)?;
        let mean = features.mean(2)?;
        let pooled = Tensor::stack(&[max, mean], 2)?.flatten_from(1)?;
        let x = self.pool_bn.forward(&pooled)?;
        let hidden = x
            .matmul(&self.dense.0)?
            .broadcast_add(&self.dense.1)?
            .relu()?;
        let penultimate = self.dense_bn.forward(&hidden)?;
        let logits = penultimate
            .matmul(&self.logits.0)?
            .broadcast_add(&self.logits.1)?;
        Ok((penultimate, logits))
    }
}
