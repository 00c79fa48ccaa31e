//! Target attention (He 2022, eq. 4) with a play-count bias:
//!
//! ```text
//! Attention(target, source) = Σ_i Similarity(target, key_i) · value_i
//! score_i  = ⟨W_q target, W_k key_i⟩ / √d_att  +  β · ln(1 + plays_i)
//! weight_i = softmax over the user's real (unmasked) history steps of score_i
//! ```
//!
//! The target is the candidate song, the keys and values are the history states. The paper
//! reads "the number of users listening to songs as the user's preference": the play-count term
//! makes an often-played history item weigh more for every candidate. β is learnable but kept
//! positive (β = softplus(β_raw), starting at 1), so more plays never *lower* an item's weight —
//! the one property of the paper's design we guarantee rather than hope training finds.
//! The similarity is a scaled dot product of learnt projections (the paper leaves it open).

use candle_core::{Module, Tensor, D};
use candle_nn::{Init, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::check_dims;

/// Configuration of the target attention.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Features of a target (candidate) vector.
    pub query_dim: usize,
    /// Features of a key (history state).
    pub key_dim: usize,
    /// Dimension of the space the similarity is computed in.
    pub att_dim: usize,
}

/// Eq. 4 target attention.
#[derive(Debug, Clone)]
pub struct TargetAttention {
    query: Linear,
    key: Linear,
    beta_raw: Tensor,
    cfg: Config,
}

/// The history side of [`TargetAttention::attend_shared`] ([`TargetAttention::prepare_shared`]).
#[derive(Debug, Clone)]
pub struct SharedKeys {
    /// `(B·T, att_dim)`: the keys through `W_k`.
    keys: Tensor,
    /// `(B, T, 1)`: β ln(1 + plays) on real steps, −1e30 on padding.
    step_bias: Tensor,
    /// `(B, 1)`: 1 for a user with a real step, else 0.
    any: Tensor,
    b: usize,
    t: usize,
}

/// `ln(e − 1)`: softplus of it is 1, the starting weight of the play-count term.
const SOFTPLUS_INV_ONE: f64 = 0.541_324_854_612_918_1;

impl TargetAttention {
    /// Creates (or loads) `query.weight (att, query_dim)`, `key.weight (att, key_dim)` and
    /// `beta_raw (1,)` under `vb`.
    pub fn new(cfg: Config, vb: VarBuilder) -> Result<Self> {
        let query = candle_nn::linear_no_bias(cfg.query_dim, cfg.att_dim, vb.pp("query"))?;
        let key = candle_nn::linear_no_bias(cfg.key_dim, cfg.att_dim, vb.pp("key"))?;
        let beta_raw = vb.get_with_hints(1, "beta_raw", Init::Const(SOFTPLUS_INV_ONE))?;
        Ok(TargetAttention {
            query,
            key,
            beta_raw,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The current play-count weight β = softplus(β_raw) > 0.
    pub fn beta(&self) -> Result<f32> {
        Ok(softplus(&self.beta_raw)?.to_vec1::<f32>()?[0])
    }

    /// Attends from every target over the history.
    ///
    /// - `targets`: `(batch, n_candidates, query_dim)`
    /// - `keys`: `(batch, time, key_dim)`; `values`: `(batch, time, value_dim)`
    /// - `plays`: `(batch, time)` play counts (≥ 0; padding may hold anything)
    /// - `mask`: `(batch, time)`, 1 for real steps, 0 for padding
    ///
    /// Returns the attended values `(batch, n_candidates, value_dim)` and the weights
    /// `(batch, n_candidates, time)`, which sum to 1 over the real steps and are 0 on padding
    /// (a user with no real step gets all-zero weights and a zero vector).
    pub fn forward(
        &self,
        targets: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        plays: &Tensor,
        mask: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let (b, t) = mask.dims2()?;
        check_dims(
            targets,
            "attention targets",
            &[Some(b), None, Some(self.cfg.query_dim)],
        )?;
        check_dims(
            keys,
            "attention keys",
            &[Some(b), Some(t), Some(self.cfg.key_dim)],
        )?;
        check_dims(values, "attention values", &[Some(b), Some(t), None])?;
        check_dims(plays, "play counts", &[Some(b), Some(t)])?;
        let q = self.query.forward(targets)?; // (B, C, A)
        let k = self.key.forward(keys)?; // (B, T, A)
        let sim = q.matmul(&k.transpose(1, 2)?.contiguous()?)?; // (B, C, T)
        let weights = self.weights_from_similarity(&sim, plays, mask)?;
        let attended = weights.matmul(values)?;
        Ok((attended, weights))
    }

    /// What [`TargetAttention::attend_shared`] needs from the history, computed once per batch
    /// however many blocks of candidates are then attended from: the projected keys, the
    /// play-count term with the padding shift, and which users have a real step.
    ///
    /// - `keys`: `(batch, time, key_dim)`; `plays`, `mask`: `(batch, time)` as in
    ///   [`TargetAttention::forward`].
    pub fn prepare_shared(
        &self,
        keys: &Tensor,
        plays: &Tensor,
        mask: &Tensor,
    ) -> Result<SharedKeys> {
        let (b, t) = mask.dims2()?;
        check_dims(
            keys,
            "attention keys",
            &[Some(b), Some(t), Some(self.cfg.key_dim)],
        )?;
        check_dims(plays, "play counts", &[Some(b), Some(t)])?;
        let keys = self.key.forward(keys)?.reshape((b * t, self.cfg.att_dim))?; // (B·T, A)
                                                                                // The play-count term and the padding (−1e30) as one (B, T, 1) shift.
        let step_bias = (self.play_bias(plays, mask)? + mask.affine(1e30, -1e30)?)?.unsqueeze(2)?;
        Ok(SharedKeys {
            keys,
            step_bias,
            any: mask.max_keepdim(1)?,
            b,
            t,
        })
    }

    /// Σ_t weight_bct · values_btc for candidates shared by every user of the batch,
    /// `targets (n_candidates, query_dim)`, with one value per (user, step, candidate)
    /// `values (batch, time, n_candidates)` → `(batch, n_candidates)`: what full-softmax
    /// training needs for the whole catalog, where the value of step t for candidate c is
    /// ⟨projected state t, c⟩. The weights are [`TargetAttention::forward`]'s for the same
    /// targets repeated per user, but never materialised in that layout: everything stays
    /// `(batch, time, n_candidates)` (no transposed copies), the query projection runs once,
    /// and the softmax is folded into the sum as Σ_t e_t v_t / Σ_t e_t — about half the passes
    /// over the largest tensors of a training step. A user without real steps gets 0.
    pub fn attend_shared(
        &self,
        history: &SharedKeys,
        targets: &Tensor,
        values: &Tensor,
    ) -> Result<Tensor> {
        let (b, t) = (history.b, history.t);
        check_dims(
            targets,
            "attention targets",
            &[None, Some(self.cfg.query_dim)],
        )?;
        let c = targets.dim(0)?;
        check_dims(values, "attention values", &[Some(b), Some(t), Some(c)])?;
        // The 1/√d_att scale on the (C, A) queries rather than on the (B, T, C) similarities.
        let q = self
            .query
            .forward(targets)?
            .affine(1.0 / (self.cfg.att_dim as f64).sqrt(), 0.0)?; // (C, A)
        let s = history
            .keys
            .matmul(&q.t()?)?
            .reshape((b, t, c))?
            .broadcast_add(&history.step_bias)?; // (B, T, C)
        let max = s.max_keepdim(1)?.detach(); // (B, 1, C)
        let e = s.broadcast_sub(&max)?.exp()?;
        let num = (&e * values)?.sum(1)?; // (B, C)
        let den = e.sum(1)?.maximum(1e-30)?;
        // A row of padding only has max −1e30 and e = 1 everywhere: zero it.
        Ok((num / den)?.broadcast_mul(&history.any)?)
    }

    /// β · ln(1 + plays) per step `(B, T)`, 0 on padding.
    fn play_bias(&self, plays: &Tensor, mask: &Tensor) -> Result<Tensor> {
        // Padding may hold any count; zero it before the log so it cannot produce NaN there.
        let log_plays = (plays.relu()? * mask)?.affine(1.0, 1.0)?.log()?; // (B, T)
        Ok(log_plays.broadcast_mul(&softplus(&self.beta_raw)?)?)
    }

    /// Eq. 4's weights from the raw similarities `⟨W_q target, W_k key⟩` `(B, C, T)`: scaled by
    /// 1/√d_att, plus the play-count term, softmax over the real steps.
    fn weights_from_similarity(
        &self,
        sim: &Tensor,
        plays: &Tensor,
        mask: &Tensor,
    ) -> Result<Tensor> {
        let sim = sim.affine(1.0 / (self.cfg.att_dim as f64).sqrt(), 0.0)?;
        let bias = self.play_bias(plays, mask)?.unsqueeze(1)?;
        masked_softmax(&sim.broadcast_add(&bias)?, mask)
    }
}

fn softplus(x: &Tensor) -> candle_core::Result<Tensor> {
    x.exp()?.affine(1.0, 1.0)?.log()
}

/// Softmax of `scores (batch, n, time)` over `time`, restricted to the steps where
/// `mask (batch, time)` is 1. Rows without any real step get all-zero weights instead of NaN.
pub fn masked_softmax(scores: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.unsqueeze(1)?; // (B, 1, T)
                                // Padded scores → −1e30 (finite, so 0 · it stays 0), so they cannot be the row maximum.
    let filler = m.affine(1e30, -1e30)?;
    let s = (scores.broadcast_mul(&m)?.broadcast_add(&filler))?;
    // Softmax is shift-invariant: the maximum only guards exp() and needs no gradient.
    let max = s.max_keepdim(D::Minus1)?.detach();
    let e = s.broadcast_sub(&max)?.exp()?.broadcast_mul(&m)?;
    let sum = e.sum_keepdim(D::Minus1)?.maximum(1e-30)?;
    Ok(e.broadcast_div(&sum)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::seeded_var_builder;
    use candle_core::Device;
    use candle_nn::VarMap;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn rand(shape: (usize, usize, usize), seed: u64) -> Tensor {
        let mut rng = crate::util::rng::Rng::new(seed);
        let n = shape.0 * shape.1 * shape.2;
        let v: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32 * 2.0 - 1.0).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn attention() -> TargetAttention {
        let vm = VarMap::new();
        let cfg = Config {
            query_dim: 4,
            key_dim: 6,
            att_dim: 8,
        };
        TargetAttention::new(cfg, seeded_var_builder(&vm, 11, &Device::Cpu)).unwrap()
    }

    #[test]
    fn weights_sum_to_one_over_real_steps() {
        let dev = Device::Cpu;
        let att = attention();
        let targets = rand((3, 5, 4), 1);
        let keys = rand((3, 7, 6), 2);
        let values = rand((3, 7, 2), 3);
        let plays = Tensor::new(&[[1f32, 3., 9., 0., 2., 50., 1.]; 3], &dev).unwrap();
        let mask = Tensor::new(
            &[
                [1f32, 1., 1., 1., 1., 1., 1.],
                [0., 0., 0., 1., 1., 1., 1.],
                [0., 0., 0., 0., 0., 0., 0.],
            ],
            &dev,
        )
        .unwrap();
        // Padding holds garbage (huge and negative counts): it must not leak in.
        let plays = (plays.broadcast_mul(&mask).unwrap()
            + mask.affine(-1e6, 1e6).unwrap().affine(-1.0, 0.0).unwrap())
        .unwrap();
        let (out, w) = att
            .forward(&targets, &keys, &values, &plays, &mask)
            .unwrap();
        assert_eq!(out.dims(), &[3, 5, 2]);
        assert_eq!(w.dims(), &[3, 5, 7]);
        let w = w.to_vec3::<f32>().unwrap();
        let m = mask.to_vec2::<f32>().unwrap();
        for (b, rows) in w.iter().enumerate() {
            for row in rows {
                let sum: f32 = row.iter().sum();
                let expected = if b == 2 { 0.0 } else { 1.0 };
                assert!((sum - expected).abs() < 1e-5, "user {b}: sum {sum}");
                for (wt, mt) in row.iter().zip(&m[b]) {
                    assert!(wt.is_finite() && *wt >= 0.0);
                    if *mt == 0.0 {
                        assert_eq!(*wt, 0.0, "padded step got weight");
                    }
                }
            }
        }
        let out = out.to_vec3::<f32>().unwrap();
        assert!(out[2].iter().flatten().all(|v| *v == 0.0));
    }

    /// With identical keys, weights follow play counts strictly; with β = 1 at initialisation the
    /// ratio of two weights is exactly (1 + p_i) / (1 + p_j).
    #[test]
    fn weights_grow_with_play_count() {
        let dev = Device::Cpu;
        let att = attention();
        assert!((att.beta().unwrap() - 1.0).abs() < 1e-6);
        let targets = rand((1, 3, 4), 5);
        let one_key = rand((1, 1, 6), 6);
        let keys = one_key.repeat((1, 5, 1)).unwrap();
        let values = rand((1, 5, 3), 7);
        let counts = [0f32, 1., 4., 10., 100.];
        let plays = Tensor::new(&[counts], &dev).unwrap();
        let mask = Tensor::ones((1, 5), candle_core::DType::F32, &dev).unwrap();
        let (_, w) = att
            .forward(&targets, &keys, &values, &plays, &mask)
            .unwrap();
        for row in &w.to_vec3::<f32>().unwrap()[0] {
            for i in 1..5 {
                assert!(
                    row[i] > row[i - 1],
                    "weights {row:?} do not grow with plays"
                );
                let ratio = row[i] / row[0];
                assert!(
                    (ratio - (1.0 + counts[i])).abs() < 1e-3 * (1.0 + counts[i]),
                    "{row:?}"
                );
            }
        }
    }

    /// Σ_t w_t v_t over shared targets equals the per-user path's weights applied to the same
    /// per-candidate values, padding and an empty history included.
    #[test]
    fn shared_targets_attend_like_repeated_targets() {
        let dev = Device::Cpu;
        let att = attention();
        let shared = rand((1, 5, 4), 12).squeeze(0).unwrap(); // (C, q)
        let keys = rand((3, 7, 6), 13);
        let plays = Tensor::new(&[[1f32, 3., 9., 0., 2., 50., 1.]; 3], &dev).unwrap();
        let mask = Tensor::new(
            &[
                [1f32, 1., 1., 1., 1., 1., 1.],
                [0., 0., 1., 1., 1., 1., 1.],
                [0., 0., 0., 0., 0., 0., 0.],
            ],
            &dev,
        )
        .unwrap();
        let repeated = shared.unsqueeze(0).unwrap().repeat((3, 1, 1)).unwrap();
        let values = rand((3, 7, 5), 14); // (B, T, C)
        let (_, w) = att
            .forward(&repeated, &keys, &values, &plays, &mask)
            .unwrap(); // (B, C, T)
        let expected = (w * values.transpose(1, 2).unwrap())
            .unwrap()
            .sum(2)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let history = att.prepare_shared(&keys, &plays, &mask).unwrap();
        let got = att
            .attend_shared(&history, &shared, &values)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (e, g) in expected.iter().flatten().zip(got.iter().flatten()) {
            assert!((e - g).abs() < 1e-5, "{expected:?} vs {got:?}");
        }
        assert!(got[2].iter().all(|v| *v == 0.0));
    }

    #[test]
    fn masked_softmax_matches_plain_softmax_without_padding() {
        let s = rand((2, 3, 4), 9);
        let ones = Tensor::ones((2, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let a = masked_softmax(&s, &ones)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let b = candle_nn::ops::softmax_last_dim(&s)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6);
        }
    }
}
