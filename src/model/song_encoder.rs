//! The song encoder g(x): an item's content features → an embedding (d = 128 in AINRNN).
//!
//! Content features (tag profiles on hetrec, audio descriptors in the browser) come on very
//! different scales, so they are standardised first with statistics measured on the training
//! catalog. The statistics are *buffers*: saved and loaded with the weights (a model must
//! standardise a new song exactly as it did in training) but never moved by the optimiser
//! (their names carry [`BUFFER_MARK`]). Then a two-layer MLP, ReLU in between.

use candle_core::{Module, Tensor, Var};
use candle_nn::{Init, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{check_dims, BUFFER_MARK};

/// Standard deviations below this are treated as 1: a constant feature carries no information,
/// and dividing by ~0 would blow up any new song that differs from the constant.
pub const MIN_STD: f32 = 1e-6;

/// Configuration of the song encoder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Content features per song (`d_in`).
    pub input_dim: usize,
    /// Width of the hidden layer.
    pub hidden_dim: usize,
    /// Embedding size `d`.
    pub output_dim: usize,
    /// Size of the per-item id embedding added to the content embedding (0 = none, content
    /// only). With ids, `g(x, i) = MLP(x) + E[i]`: `E` starts at 0, so an item that training
    /// never moved — a new song, a visitor's own file — is scored from its content alone, while
    /// items with listeners also learn what their content does not say (collaborative signal).
    #[serde(default)]
    pub n_ids: usize,
}

/// The song encoder.
#[derive(Debug, Clone)]
pub struct SongEncoder {
    mean: Tensor,
    std: Tensor,
    hidden: Linear,
    out: Linear,
    /// `(n_ids, d)` id embeddings, when `n_ids > 0`.
    ids: Option<Tensor>,
    cfg: Config,
}

impl SongEncoder {
    /// Creates (or loads) `buffer_mean (d_in,)`, `buffer_std (d_in,)`, `hidden` and `out` under
    /// `vb`. New statistics are 0 and 1 (identity) until [`SongEncoder::set_stats`].
    pub fn new(cfg: Config, vb: VarBuilder) -> Result<Self> {
        if cfg.input_dim == 0 || cfg.hidden_dim == 0 || cfg.output_dim == 0 {
            return Err(Error::invalid(
                "song encoder config",
                "all dimensions > 0",
                format!("{cfg:?}"),
            ));
        }
        let mean = vb.get_with_hints(
            cfg.input_dim,
            &format!("{BUFFER_MARK}mean"),
            Init::Const(0.0),
        )?;
        let std = vb.get_with_hints(
            cfg.input_dim,
            &format!("{BUFFER_MARK}std"),
            Init::Const(1.0),
        )?;
        let hidden = candle_nn::linear(cfg.input_dim, cfg.hidden_dim, vb.pp("hidden"))?;
        let out = candle_nn::linear(cfg.hidden_dim, cfg.output_dim, vb.pp("out"))?;
        let ids = if cfg.n_ids > 0 {
            Some(vb.get_with_hints((cfg.n_ids, cfg.output_dim), "ids", Init::Const(0.0))?)
        } else {
            None
        };
        Ok(SongEncoder {
            mean,
            std,
            hidden,
            out,
            ids,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Measures the standardisation statistics on `features (n_songs, d_in)` (population
    /// standard deviation; below [`MIN_STD`] → 1) and stores them in the buffers.
    pub fn fit_stats(&self, features: &Tensor) -> Result<()> {
        check_dims(features, "song features", &[None, Some(self.cfg.input_dim)])?;
        let n = features.dim(0)?;
        if n == 0 {
            return Err(Error::invalid("song features", "at least one song", "none"));
        }
        let mean = features.mean_keepdim(0)?;
        let var = features.broadcast_sub(&mean)?.sqr()?.mean(0)?;
        let std: Vec<f32> = var
            .sqrt()?
            .to_vec1::<f32>()?
            .into_iter()
            .map(|s| {
                if s.is_finite() && s >= MIN_STD {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        self.set_stats(&mean.squeeze(0)?.to_vec1::<f32>()?, &std)
    }

    /// Replaces the standardisation statistics. Only for an encoder whose buffers are variables
    /// (built on a `VarMap`), because the new values must reach every holder of the tensors.
    pub fn set_stats(&self, mean: &[f32], std: &[f32]) -> Result<()> {
        let d = self.cfg.input_dim;
        if mean.len() != d || std.len() != d {
            return Err(Error::invalid(
                "standardisation statistics",
                format!("{d} means and {d} deviations"),
                format!("{} and {}", mean.len(), std.len()),
            ));
        }
        if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::invalid(
                "feature standard deviation",
                "finite and > 0",
                s,
            ));
        }
        if !self.mean.is_variable() || !self.std.is_variable() {
            return Err(Error::Model(
                "the song encoder's statistics are fixed in a model that was not built on a VarMap"
                    .into(),
            ));
        }
        let dev = self.mean.device();
        Var::from_tensor(&self.mean)?.set(&Tensor::from_slice(mean, d, dev)?)?;
        Var::from_tensor(&self.std)?.set(&Tensor::from_slice(std, d, dev)?)?;
        Ok(())
    }

    /// The current statistics `(mean, std)`.
    pub fn stats(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((self.mean.to_vec1()?, self.std.to_vec1()?))
    }

    /// `(…, d_in)` → `(…, d)`: standardise, hidden layer, ReLU, output layer.
    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
        let dims = features.dims();
        if dims.last() != Some(&self.cfg.input_dim) {
            return Err(Error::invalid(
                "song features shape",
                format!("(…, {})", self.cfg.input_dim),
                format!("{dims:?}"),
            ));
        }
        let x = features
            .broadcast_sub(&self.mean)?
            .broadcast_div(&self.std)?;
        let h = self.hidden.forward(&x)?.relu()?;
        Ok(self.out.forward(&h)?)
    }

    /// `features (N, d_in)` of the items `ids (N,)` (u32) → `(N, d)`: [`SongEncoder::forward`]
    /// plus each item's id embedding when the encoder has them (ids must be `< n_ids`).
    pub fn forward_items(&self, features: &Tensor, ids: &Tensor) -> Result<Tensor> {
        let content = self.forward(features)?;
        match &self.ids {
            None => Ok(content),
            Some(table) => {
                check_dims(ids, "item ids", &[Some(content.dim(0)?)])?;
                Ok((content + table.index_select(ids, 0)?)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{seeded_var_builder, trainable_vars};
    use candle_core::Device;
    use candle_nn::VarMap;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn standardises_with_stored_stats() {
        let dev = Device::Cpu;
        let vm = VarMap::new();
        let cfg = Config {
            input_dim: 3,
            hidden_dim: 8,
            output_dim: 5,
            n_ids: 0,
        };
        let enc = SongEncoder::new(cfg, seeded_var_builder(&vm, 1, &dev)).unwrap();
        let feats = Tensor::new(&[[1f32, 10., 7.], [3., 30., 7.], [5., 50., 7.]], &dev).unwrap();
        enc.fit_stats(&feats).unwrap();
        let (mean, std) = enc.stats().unwrap();
        assert_eq!(mean, vec![3.0, 30.0, 7.0]);
        let s = (8f32 / 3.0).sqrt();
        assert!((std[0] - s).abs() < 1e-5 && (std[1] - 10.0 * s).abs() < 1e-4);
        assert_eq!(std[2], 1.0, "a constant feature is not divided by 0");
        // Standardised inputs: the mean row → 0, mean + one deviation → 1 (constant feature → 0).
        let f = |enc: &SongEncoder, row: [f32; 3]| {
            enc.forward(&Tensor::new(&[row], &dev).unwrap())
                .unwrap()
                .to_vec2::<f32>()
                .unwrap()
        };
        let at_mean = f(&enc, [3.0, 30.0, 7.0]);
        let one_sd = f(&enc, [3.0 + std[0], 30.0 + std[1], 7.0]);
        assert_eq!(at_mean[0].len(), 5);
        enc.set_stats(&[0.0; 3], &[1.0; 3]).unwrap();
        let close = |a: &[Vec<f32>], b: &[Vec<f32>]| {
            a[0].iter().zip(&b[0]).all(|(x, y)| (x - y).abs() < 1e-5)
        };
        assert!(close(&at_mean, &f(&enc, [0.0, 0.0, 0.0])));
        assert!(close(&one_sd, &f(&enc, [1.0, 1.0, 0.0])));
        assert!(!close(&one_sd, &at_mean));
        // The buffers are saved but not trained.
        let names: Vec<String> = vm.data().lock().unwrap().keys().cloned().collect();
        assert!(names.iter().any(|n| n.contains("buffer_mean")));
        assert_eq!(trainable_vars(&vm).len(), names.len() - 2);
        assert!(enc
            .forward(&Tensor::zeros((2, 4), candle_core::DType::F32, &dev).unwrap())
            .is_err());
        assert!(enc.set_stats(&[0.0; 3], &[1.0, 0.0, 1.0]).is_err());
    }
}
