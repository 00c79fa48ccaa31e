//! Batch normalisation at inference, as `tf.compat.v1.layers.batch_normalization` applies it
//! with `training=False`:
//!
//! ```text
//! y = γ · (x − μ) / √(σ² + ε) + β  =  x · scale + shift
//! scale = γ / √(σ² + ε),  shift = β − μ · scale
//! ```
//!
//! with the moving mean μ and variance σ² of training and TF's default ε = 0.001. The two
//! constants are folded once at load time.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use crate::error::Result;

/// Inference-time batch norm over `channels` features.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    /// `(channels,)`
    scale: Tensor,
    /// `(channels,)`
    shift: Tensor,
}

impl BatchNorm {
    /// Reads `gamma`, `beta`, `moving_mean`, `moving_variance` (each `(channels,)`) under `vb`.
    pub fn new(channels: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let gamma = vb.get(channels, "gamma")?;
        let beta = vb.get(channels, "beta")?;
        let mean = vb.get(channels, "moving_mean")?;
        let var = vb.get(channels, "moving_variance")?;
        let scale = (gamma / (var + eps)?.sqrt()?)?;
        let shift = (beta - (mean * &scale)?)?;
        Ok(Self { scale, shift })
    }

    /// Normalises `x` along dimension 1 (the channel axis): `(B, channels, …)` → same shape.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut shape = vec![1; x.rank()];
        shape[1] = self.scale.dim(0)?;
        let y = x
            .broadcast_mul(&self.scale.reshape(shape.as_slice())?)?
            .broadcast_add(&self.shift.reshape(shape.as_slice())?)?;
        Ok(y)
    }
}
