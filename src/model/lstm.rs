//! The LSTM baseline layer: candle-nn's LSTM cell run over a batch-first, masked sequence with
//! the same interface and padding rule as [`IndRnn`](crate::model::indrnn::IndRnn), so the
//! AINRNN stack can swap one cell for the other (the paper's IndRNN-vs-LSTM comparison).
//!
//! Padding: at a step whose mask is 0 both the hidden and the cell state are carried over
//! unchanged and the output is 0 (left padding = the unpadded outputs at the real steps; right
//! padding = the final state after the last real step).

use candle_core::{IndexOp, Module, Tensor};
use candle_nn::rnn::{LSTMConfig, LSTMState, LSTM, RNN};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::check_dims;

/// Configuration of one LSTM layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Input features per step.
    pub input_dim: usize,
    /// Hidden units (= output features per step).
    pub hidden_dim: usize,
}

/// One masked LSTM layer, batch-first.
#[derive(Debug, Clone)]
pub struct LstmLayer {
    cell: LSTM,
    cfg: Config,
}

impl LstmLayer {
    /// Creates (or loads) candle's LSTM variables (`weight_ih_l0 (4h, in)`,
    /// `weight_hh_l0 (4h, h)`, `bias_ih_l0`, `bias_hh_l0`, PyTorch's names) under `vb`.
    pub fn new(cfg: Config, vb: VarBuilder) -> Result<Self> {
        if cfg.input_dim == 0 || cfg.hidden_dim == 0 {
            return Err(Error::invalid(
                "LSTM config",
                "input_dim and hidden_dim > 0",
                format!("{cfg:?}"),
            ));
        }
        let cell = candle_nn::lstm(cfg.input_dim, cfg.hidden_dim, LSTMConfig::default(), vb)?;
        Ok(LstmLayer { cell, cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// `x (batch, time, input_dim)`, `mask (batch, time)` → outputs `(batch, time, hidden_dim)`,
    /// 0 at padded steps.
    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (batch, time, _) = x.dims3().map_err(|_| {
            Error::invalid(
                "LSTM input shape",
                "(batch, time, features)",
                format!("{:?}", x.dims()),
            )
        })?;
        check_dims(x, "LSTM input", &[None, None, Some(self.cfg.input_dim)])?;
        check_dims(mask, "LSTM mask", &[Some(batch), Some(time)])?;
        let mut state = self.cell.zero_state(batch)?;
        let mut outputs = Vec::with_capacity(time);
        for t in 0..time {
            let m = mask.i((.., t..t + 1))?; // (B, 1)
            let keep = m.affine(-1.0, 1.0)?;
            let new = self.cell.step(&x.i((.., t, ..))?.contiguous()?, &state)?;
            let out = new.h.broadcast_mul(&m)?;
            let blend = |new: &Tensor, old: &Tensor| -> candle_core::Result<Tensor> {
                new.broadcast_mul(&m)? + old.broadcast_mul(&keep)?
            };
            state = LSTMState::new(blend(&new.h, &state.h)?, blend(&new.c, &state.c)?);
            outputs.push(out);
        }
        if outputs.is_empty() {
            return Ok(Tensor::zeros(
                (batch, 0, self.cfg.hidden_dim),
                x.dtype(),
                x.device(),
            )?);
        }
        Ok(Tensor::stack(&outputs, 1)?)
    }
}

/// Without a mask every step is real.
impl Module for LstmLayer {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let mask = Tensor::ones((b, t), x.dtype(), x.device())?;
        LstmLayer::forward(self, x, &mask).map_err(|e| match e {
            Error::Tensor(e) => e,
            other => candle_core::Error::Msg(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{left_padded_mask, seeded_var_builder};
    use candle_core::Device;
    use candle_nn::VarMap;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn matches_candle_lstm_and_respects_padding() {
        let dev = Device::Cpu;
        let vm = VarMap::new();
        let cfg = Config {
            input_dim: 3,
            hidden_dim: 5,
        };
        let layer = LstmLayer::new(cfg, seeded_var_builder(&vm, 2, &dev)).unwrap();
        let mut rng = crate::util::rng::Rng::new(4);
        let v: Vec<f32> = (0..2 * 4 * 3)
            .map(|_| rng.next_f64() as f32 - 0.5)
            .collect();
        let x = Tensor::from_vec(v, (2, 4, 3), &dev).unwrap();
        // Unmasked: exactly candle's own sequence run.
        let ours = Module::forward(&layer, &x)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap();
        let states = layer.cell.seq(&x).unwrap();
        let theirs = layer
            .cell
            .states_to_tensor(&states)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap();
        assert_eq!(ours, theirs);
        // Left padding with garbage changes nothing at the real steps.
        let pad = Tensor::full(9f32, (2, 2, 3), &dev).unwrap();
        let padded = Tensor::cat(&[&pad, &x], 1).unwrap();
        let mask = left_padded_mask(&[4, 4], 6, &dev).unwrap();
        let y = layer
            .forward(&padded, &mask)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap();
        for b in 0..2 {
            assert!(y[b][..2].iter().flatten().all(|v| *v == 0.0));
            for (a, e) in y[b][2..].iter().flatten().zip(ours[b].iter().flatten()) {
                assert!((a - e).abs() < 1e-6, "{a} vs {e}");
            }
        }
    }
}
