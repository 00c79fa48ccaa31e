//! musicnn's mid-end: three 1-D convolutions over time (7 frames, all channels at once), the
//! second and third with residual connections, ReLU then batch norm after each. The output is
//! the dense concatenation of the front end and every mid-end layer, so the back end sees
//! low- and high-level features alike (`musicnn/models.py::midend`).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::batch_norm::BatchNorm;
use crate::error::Result;

/// One mid-end convolution: 7 frames × `in_channels` → `filters`, 3 + 3 frames of padding.
#[derive(Debug, Clone)]
pub struct MidendLayer {
    /// `(filters, in_channels, 7)`
    kernel: Tensor,
    /// `(1, filters, 1)`
    bias: Tensor,
    bn: BatchNorm,
}

/// Kernel length along time of every mid-end convolution.
const FRAMES: usize = 7;

impl MidendLayer {
    /// Reads `conv.kernel (7, in_channels, 1, filters)` (TF's layout), `conv.bias` and `bn.*`.
    pub fn new(in_channels: usize, filters: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let kernel = vb
            .get((FRAMES, in_channels, 1, filters), "conv.kernel")?
            .reshape((FRAMES, in_channels, filters))?
            .permute((2, 1, 0))?
            .contiguous()?;
        let bias = vb.get(filters, "conv.bias")?.reshape((1, filters, 1))?;
        let bn = BatchNorm::new(filters, eps, vb.pp("bn"))?;
        Ok(Self { kernel, bias, bn })
    }

    /// `x (B, in_channels, T)` → `(B, filters, T)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let pad = FRAMES / 2;
        let y = x
            .pad_with_zeros(2, pad, pad)?
            .conv1d(&self.kernel, 0, 1, 1, 1)?
            .broadcast_add(&self.bias)?
            .relu()?;
        self.bn.forward(&y)
    }
}

/// The three mid-end layers.
#[derive(Debug, Clone)]
pub struct Midend {
    layers: [MidendLayer; 3],
}

impl Midend {
    /// Layers `midend_1` (`in_channels → filters`), `midend_2` and `midend_3` (`filters →
    /// filters`) under `vb`.
    pub fn new(in_channels: usize, filters: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            layers: [
                MidendLayer::new(in_channels, filters, eps, vb.pp("midend_1"))?,
                MidendLayer::new(filters, filters, eps, vb.pp("midend_2"))?,
                MidendLayer::new(filters, filters, eps, vb.pp("midend_3"))?,
            ],
        })
    }

    /// `front (B, C, T)` → `(B, C + 3·filters, T)`: `[front, l1, l1 + l2, l1 + l2 + l3]` where
    /// `l1 = layer1(front)`, `l2 = layer2(l1)`, `l3 = layer3(l1 + l2)`.
    pub fn forward(&self, front: &Tensor) -> Result<Tensor> {
        let l1 = self.layers[0].forward(front)?;
        let r2 = (self.layers[1].forward(&l1)? + &l1)?;
        let r3 = (self.layers[2].forward(&r2)? + &r2)?;
        Ok(Tensor::cat(&[front, &l1, &r2, &r3], 1)?)
    }
}
