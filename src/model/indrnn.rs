//! The IndRNN layer (Li, Li, Cook, Zhu & Gao 2018): every hidden unit has one recurrent weight
//! of its own,
//!
//! ```text
//! h_t = ReLU(W x_t + u ⊙ h_{t−1} + b)
//! ```
//!
//! so units do not talk to each other inside the layer (stacking layers mixes them), and the
//! gradient through time of unit n is a product of `u_n` and ReLU gates. Keeping
//! `|u_n| ≤ γ^{1/T}` bounds that product by γ over `T` steps, which is how IndRNN trains deep
//! stacks over long sequences without exploding gradients. Following the authors' reference
//! code, γ = 2 ([`recurrent_bound`]): `u` starts uniform in `[0, 2^{1/T}]` (the last layer of a
//! stack in `[2^{−1/T}, 2^{1/T}]`, so its units keep long memory from the start), `b` starts at 0,
//! and after every optimiser step [`IndRnn::clip_recurrent`] puts `u` back into
//! `[−2^{1/T}, 2^{1/T}]`.
//!
//! Padding: a `(batch, time)` mask marks real steps with 1 and padding with 0. At a padded step
//! the state is carried over unchanged and the output is 0. Hence left padding (real steps
//! last) gives exactly the outputs of the unpadded sequence at the real steps, and right padding
//! (real steps first) leaves the final state equal to the state after the last real step.

use candle_core::{IndexOp, Module, Tensor, Var};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::check_dims;

/// The bound `γ^{1/T}` with γ = 2 on `|u|` for sequences of at most `max_len` steps: over `T`
/// steps a unit's memory (and its gradient) can grow at most 2×.
pub fn recurrent_bound(max_len: usize) -> f64 {
    2f64.powf(1.0 / max_len.max(1) as f64)
}

/// Configuration of one IndRNN layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Input features per step.
    pub input_dim: usize,
    /// Hidden units (= output features per step).
    pub hidden_dim: usize,
    /// Longest sequence the layer is trained on; sets the bound on `|u|`.
    pub max_len: usize,
    /// Initialise `u` in `[2^{−1/T}, 2^{1/T}]` instead of `[0, 2^{1/T}]` (the reference code does
    /// this for the last layer of a stack).
    pub long_memory: bool,
}

/// One IndRNN layer, batch-first.
#[derive(Debug, Clone)]
pub struct IndRnn {
    /// Input weights `(hidden, input)`.
    weight: Tensor,
    /// Recurrent weights `(hidden,)`.
    recurrent: Tensor,
    /// Bias `(hidden,)`.
    bias: Tensor,
    cfg: Config,
}

impl IndRnn {
    /// Creates (or loads) the layer's variables `weight_ih (hidden, input)`, `weight_hh (hidden,)`
    /// and `bias (hidden,)` under `vb`.
    pub fn new(cfg: Config, vb: VarBuilder) -> Result<Self> {
        if cfg.input_dim == 0 || cfg.hidden_dim == 0 || cfg.max_len == 0 {
            return Err(Error::invalid(
                "IndRNN config",
                "input_dim, hidden_dim and max_len > 0",
                format!("{cfg:?}"),
            ));
        }
        let bound = recurrent_bound(cfg.max_len);
        let lo = if cfg.long_memory { 1.0 / bound } else { 0.0 };
        let weight = vb.get_with_hints(
            (cfg.hidden_dim, cfg.input_dim),
            "weight_ih",
            candle_nn::init::DEFAULT_KAIMING_UNIFORM,
        )?;
        let recurrent =
            vb.get_with_hints(cfg.hidden_dim, "weight_hh", Init::Uniform { lo, up: bound })?;
        let bias = vb.get_with_hints(cfg.hidden_dim, "bias", Init::Const(0.0))?;
        Ok(IndRnn {
            weight,
            recurrent,
            bias,
            cfg,
        })
    }

    /// The layer's configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The recurrent weights `u`, `(hidden,)`.
    pub fn recurrent(&self) -> &Tensor {
        &self.recurrent
    }

    /// Runs the layer over a batch.
    ///
    /// - `x`: `(batch, time, input_dim)`
    /// - `mask`: `(batch, time)`, 1 for real steps and 0 for padding (see the module docs)
    ///
    /// Returns the outputs `(batch, time, hidden_dim)` (0 at padded steps).
    ///
    /// `W x_t + b` is computed for all steps as one matrix product; only the element-wise part
    /// of the recurrence runs step by step.
    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (batch, time, _) = x.dims3().map_err(|_| {
            Error::invalid(
                "IndRNN input shape",
                "(batch, time, features)",
                format!("{:?}", x.dims()),
            )
        })?;
        check_dims(x, "IndRNN input", &[None, None, Some(self.cfg.input_dim)])?;
        check_dims(mask, "IndRNN mask", &[Some(batch), Some(time)])?;
        let hidden = self.cfg.hidden_dim;
        if time == 0 {
            return Ok(Tensor::zeros((batch, 0, hidden), x.dtype(), x.device())?);
        }
        // (B·T, in) × (in, H) + b → (B, T, H), once for every step.
        let wx = x
            .reshape((batch * time, self.cfg.input_dim))?
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?
            .reshape((batch, time, hidden))?;
        let u = self.recurrent.unsqueeze(0)?;
        let mut h = Tensor::zeros((batch, hidden), x.dtype(), x.device())?;
        let mut outputs = Vec::with_capacity(time);
        for t in 0..time {
            let m = mask.i((.., t..t + 1))?; // (B, 1)
            let new = (wx.i((.., t, ..))? + u.broadcast_mul(&h)?)?.relu()?;
            // Padded rows keep h; real rows take the new state. m is exactly 0 or 1, so this
            // blend is a selection (and so is its gradient).
            let out = new.broadcast_mul(&m)?;
            h = (&out + h.broadcast_mul(&m.affine(-1.0, 1.0)?)?)?;
            outputs.push(out);
        }
        Ok(Tensor::stack(&outputs, 1)?)
    }

    /// Puts `u` back into `[−2^{1/T}, 2^{1/T}]`; call after every optimiser step. A no-op for a
    /// layer whose weights are not trainable variables (a loaded, frozen model).
    pub fn clip_recurrent(&self) -> Result<()> {
        if !self.recurrent.is_variable() {
            return Ok(());
        }
        let bound = recurrent_bound(self.cfg.max_len);
        let clipped = self.recurrent.clamp(-bound, bound)?;
        // `Var::from_tensor` of a variable shares its storage, so `set` updates this layer.
        Var::from_tensor(&self.recurrent)?.set(&clipped)?;
        Ok(())
    }
}

/// Without a mask every step is real.
impl Module for IndRnn {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let mask = Tensor::ones((b, t), x.dtype(), x.device())?;
        IndRnn::forward(self, x, &mask).map_err(|e| match e {
            Error::Tensor(e) => e,
            other => candle_core::Error::Msg(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{left_padded_mask, right_padded_mask, seeded_var_builder};
    use candle_core::Device;
    use candle_nn::VarMap;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn layer(input_dim: usize, hidden_dim: usize, max_len: usize, seed: u64) -> (VarMap, IndRnn) {
        let vm = VarMap::new();
        let vb = seeded_var_builder(&vm, seed, &Device::Cpu);
        let cfg = Config {
            input_dim,
            hidden_dim,
            max_len,
            long_memory: false,
        };
        (vm, IndRnn::new(cfg, vb).unwrap())
    }

    fn input(b: usize, t: usize, d: usize, seed: u64) -> Tensor {
        let mut rng = crate::util::rng::Rng::new(seed);
        let v: Vec<f32> = (0..b * t * d)
            .map(|_| rng.next_f64() as f32 - 0.5)
            .collect();
        Tensor::from_vec(v, (b, t, d), &Device::Cpu).unwrap()
    }

    #[test]
    fn shapes_and_init_bounds() {
        let (_, l) = layer(3, 8, 100, 1);
        let y = Module::forward(&l, &input(2, 5, 3, 2)).unwrap();
        assert_eq!(y.dims(), &[2, 5, 8]);
        let u = l.recurrent().to_vec1::<f32>().unwrap();
        let bound = recurrent_bound(100) as f32;
        assert!(u.iter().all(|&u| (0.0..=bound).contains(&u)), "{u:?}");
        let vm = VarMap::new();
        let cfg = Config {
            input_dim: 3,
            hidden_dim: 64,
            max_len: 100,
            long_memory: true,
        };
        let last = IndRnn::new(cfg, seeded_var_builder(&vm, 1, &Device::Cpu)).unwrap();
        let u = last.recurrent().to_vec1::<f32>().unwrap();
        assert!(
            u.iter().all(|&u| (1.0 / bound..=bound).contains(&u)),
            "{u:?}"
        );
        let bad = l.forward(
            &input(2, 5, 4, 2),
            &Tensor::ones((2, 5), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(bad.unwrap_err().to_string().contains("IndRNN input shape"));
    }

    #[test]
    fn clip_recurrent_enforces_the_bound() {
        let (vm, l) = layer(2, 4, 10, 3);
        let var = vm.data().lock().unwrap()["weight_hh"].clone();
        var.set(&Tensor::new(&[5.0f32, -5.0, 0.5, -0.5], &Device::Cpu).unwrap())
            .unwrap();
        l.clip_recurrent().unwrap();
        let b = recurrent_bound(10) as f32;
        assert_eq!(
            l.recurrent().to_vec1::<f32>().unwrap(),
            vec![b, -b, 0.5, -0.5]
        );
    }

    /// Equal up to float rounding (the batched `W x` may sum in another order for another `T`).
    fn assert_close(a: &[Vec<f32>], b: &[Vec<f32>]) {
        assert_eq!(a.len(), b.len());
        for (ra, rb) in a.iter().zip(b) {
            for (x, y) in ra.iter().zip(rb) {
                assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{ra:?} vs {rb:?}");
            }
        }
    }

    /// Left padding: outputs at real steps equal those of the unpadded sequence, padded outputs
    /// are 0. Right padding: the same at the real steps, 0 after them.
    #[test]
    fn padded_steps_change_nothing() {
        let dev = Device::Cpu;
        let (_, l) = layer(3, 6, 50, 4);
        let real = input(1, 4, 3, 5);
        let alone = Module::forward(&l, &real)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap()[0]
            .clone();
        let pad = Tensor::full(7.0f32, (1, 3, 3), &dev).unwrap(); // garbage in the padding
        let left = Tensor::cat(&[&pad, &real], 1).unwrap();
        let right = Tensor::cat(&[&real, &pad], 1).unwrap();
        let lm = left_padded_mask(&[4], 7, &dev).unwrap();
        let rm = right_padded_mask(&[4], 7, &dev).unwrap();
        let yl = l.forward(&left, &lm).unwrap().to_vec3::<f32>().unwrap()[0].clone();
        let yr = l.forward(&right, &rm).unwrap().to_vec3::<f32>().unwrap()[0].clone();
        assert_close(&yl[3..], &alone);
        assert_close(&yr[..4], &alone);
        for row in yl[..3].iter().chain(&yr[4..]) {
            assert!(row.iter().all(|v| *v == 0.0), "padded output {row:?}");
        }
        // A padded step in the middle carries the state: the step after it sees h from before.
        let gap = Tensor::cat(
            &[
                &real.narrow(1, 0, 2).unwrap(),
                &pad.narrow(1, 0, 1).unwrap(),
                &real.narrow(1, 2, 2).unwrap(),
            ],
            1,
        )
        .unwrap();
        let gm = Tensor::new(&[[1f32, 1., 0., 1., 1.]], &dev).unwrap();
        let yg = l.forward(&gap, &gm).unwrap().to_vec3::<f32>().unwrap()[0].clone();
        assert_close(&yg[..2], &alone[..2]);
        assert_close(&yg[3..], &alone[2..]);
    }
}
