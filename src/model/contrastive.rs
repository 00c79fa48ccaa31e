//! Contrastive training of the *audio* song encoder: excerpts of one track should land close
//! together, excerpts of different tracks apart.
//!
//! No data joins listeners to audio here, so the only supervision the audio carries is its own
//! identity: two excerpts of one track are "the same song". Each step takes up to
//! [`ContrastiveConfig::batch_tracks`] tracks, two different excerpts of each, embeds both
//! through the [`SongEncoder`] (standardisation measured on the training rows, then the MLP),
//! scales to unit length and minimises the symmetric InfoNCE loss (SimCLR's NT-Xent with one
//! view per side): for excerpt `a_i`, its partner `b_i` must win a softmax over all `b_j` of
//! the batch at temperature τ, and the other way round. Gaussian noise of
//! [`ContrastiveConfig::noise`] standard deviations is added to the standardised inputs, the
//! only augmentation that makes sense on summary descriptors (there is no waveform to crop).
//!
//! Why a second, untrained half: trained on 60 tracks, InfoNCE learns above all to tell those
//! tracks apart — it spreads them evenly over the sphere, and the plain "sounds alike" geometry
//! of the descriptors, which is what a listener's taste follows, gets lost (measured: on the
//! scripted history of `tests/model/browser.rs` the MLP alone ranked the held-out plays at
//! chance level while kNN on standardised descriptors did far better). So the song embedding is
//! `[unit(P z) , unit(MLP(z))] / √2`: `z` the standardised descriptor, `P` its first
//! [`ContrastiveConfig::pca_dim`] principal axes over the training excerpts (a buffer, never
//! trained), the MLP the contrastive part. Its cosine is the mean of the two halves' cosines.
//!
//! Everything random comes from [`Rng`] streams derived from the seed, so native and wasm
//! builds train the same encoder.

use candle_core::{Device, Tensor, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::song_encoder::{self, SongEncoder};
use crate::model::{seeded_var_builder, trainable_vars};
use crate::util::rng::{derive_seed, hash_str, Rng};

/// Hyper-parameters of contrastive training (explicit defaults, chosen on the audio proxy's
/// training folds; see `docs/RESULTS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContrastiveConfig {
    /// Width of the encoder's hidden layer.
    pub hidden_dim: usize,
    /// Embedding size.
    pub output_dim: usize,
    /// Softmax temperature τ of the InfoNCE loss.
    pub temperature: f64,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Optimiser steps.
    pub steps: usize,
    /// Tracks per step (each contributes two excerpts).
    pub batch_tracks: usize,
    /// Standard deviation of the Gaussian noise added to standardised inputs.
    pub noise: f32,
    /// Principal axes of the standardised descriptors kept beside the MLP's output (0 = none).
    #[serde(default)]
    pub pca_dim: usize,
    /// Seed of the initial weights and of every draw.
    pub seed: u64,
}

impl Default for ContrastiveConfig {
    fn default() -> Self {
        ContrastiveConfig {
            hidden_dim: 256,
            output_dim: 64,
            temperature: 0.1,
            lr: 1e-3,
            weight_decay: 1e-2,
            steps: 300,
            batch_tracks: 32,
            noise: 0.3,
            pca_dim: 64,
            seed: 2022,
        }
    }
}

/// A trained audio encoder: its variables (`song.*`, with the standardisation and principal-axis
/// buffers) and the encoder reading them.
pub struct AudioEncoder {
    /// The variables, for saving.
    pub varmap: VarMap,
    /// The encoder.
    pub encoder: SongEncoder,
    /// `(pca_dim, input_dim)` principal axes (rows), when `pca_dim > 0`.
    pub axes: Option<Tensor>,
    /// Mean training loss of each step.
    pub losses: Vec<f32>,
}

impl AudioEncoder {
    /// Unit-length embeddings `(n, pca_dim + output_dim)` of descriptor rows `(n, input_dim)`.
    pub fn embed(&self, rows: &Tensor) -> Result<Tensor> {
        audio_embedding(&self.encoder, self.axes.as_ref(), rows)
    }
}

/// Name (under the encoder's prefix) of the principal-axis buffer.
pub const AXES: &str = "buffer_axes";

/// The song embedding of the module docs: `[unit(P z), unit(MLP(z))] / √2` (just `unit(MLP(z))`
/// without axes), unit length.
pub fn audio_embedding(
    encoder: &SongEncoder,
    axes: Option<&Tensor>,
    rows: &Tensor,
) -> Result<Tensor> {
    let learned = unit_rows(&encoder.forward(rows)?)?;
    let Some(axes) = axes else {
        return Ok(learned);
    };
    let (mean, std) = encoder.stats()?;
    let dev = rows.device();
    let d = mean.len();
    let z = rows
        .broadcast_sub(&Tensor::from_vec(mean, d, dev)?)?
        .broadcast_div(&Tensor::from_vec(std, d, dev)?)?;
    let projected = unit_rows(&z.matmul(&axes.t()?)?)?;
    Ok(Tensor::cat(&[&projected, &learned], 1)?.affine(std::f64::consts::FRAC_1_SQRT_2, 0.0)?)
}

/// The first `k` principal axes `(k, d)` of `rows (n, d)` (already centred or standardised), by
/// orthogonal iteration from a seeded start: deterministic on every platform, and enough for the
/// few hundred rows and < 1000 dimensions of the audio corpus.
pub fn principal_axes(rows: &[Vec<f32>], k: usize, seed: u64) -> Vec<Vec<f32>> {
    let d = rows.first().map_or(0, Vec::len);
    let k = k.min(d);
    let n = rows.len().max(1) as f64;
    // Covariance (d × d) in f64.
    let mut cov = vec![0f64; d * d];
    for r in rows {
        for i in 0..d {
            let ri = f64::from(r[i]);
            if ri == 0.0 {
                continue;
            }
            let row = &mut cov[i * d..(i + 1) * d];
            for (c, &rj) in row.iter_mut().zip(r) {
                *c += ri * f64::from(rj);
            }
        }
    }
    cov.iter_mut().for_each(|c| *c /= n);
    let mut rng = Rng::new(derive_seed(seed, &[hash_str("principal axes")]));
    let mut q: Vec<Vec<f64>> = (0..k)
        .map(|_| {
            gaussian(&mut rng, d, 1.0)
                .into_iter()
                .map(f64::from)
                .collect()
        })
        .collect();
    orthonormalise(&mut q);
    for _ in 0..60 {
        let next: Vec<Vec<f64>> = q
            .iter()
            .map(|v| {
                (0..d)
                    .map(|i| {
                        cov[i * d..(i + 1) * d]
                            .iter()
                            .zip(v)
                            .map(|(a, b)| a * b)
                            .sum()
                    })
                    .collect()
            })
            .collect();
        q = next;
        orthonormalise(&mut q);
    }
    q.into_iter()
        .map(|v| v.into_iter().map(|x| x as f32).collect())
        .collect()
}

/// Modified Gram–Schmidt on the rows of `q`; a row that vanishes stays zero.
fn orthonormalise(q: &mut [Vec<f64>]) {
    for i in 0..q.len() {
        for j in 0..i {
            let dot: f64 = q[i].iter().zip(&q[j]).map(|(a, b)| a * b).sum();
            let (head, tail) = q.split_at_mut(i);
            tail[0]
                .iter_mut()
                .zip(&head[j])
                .for_each(|(a, b)| *a -= dot * b);
        }
        let norm = q[i].iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-12 {
            q[i].iter_mut().for_each(|x| *x /= norm);
        } else {
            q[i].iter_mut().for_each(|x| *x = 0.0);
        }
    }
}

/// Scales every row of `x (n, d)` to unit length (a zero row stays zero).
pub fn unit_rows(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

/// Trains an encoder on descriptor `rows` (one per excerpt) where `track[i]` names the track
/// of row `i`. Only tracks with at least two excerpts give pairs; at least two such tracks are
/// needed. `on_step(step, loss)` is called after every step.
pub fn train(
    rows: &[Vec<f32>],
    track: &[usize],
    cfg: &ContrastiveConfig,
    device: &Device,
    on_step: &mut dyn FnMut(usize, f32),
) -> Result<AudioEncoder> {
    if rows.len() != track.len() {
        return Err(Error::invalid(
            "excerpt labels",
            format!("one per row ({})", rows.len()),
            track.len(),
        ));
    }
    let d = rows.first().map_or(0, Vec::len);
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != d) {
        return Err(Error::invalid(
            format!("descriptor row {i}"),
            format!("{d} values"),
            r.len(),
        ));
    }
    if let Some(v) = rows.iter().flatten().find(|v| !v.is_finite()) {
        return Err(Error::invalid("descriptor value", "finite", v));
    }
    // Rows of each track with two or more excerpts.
    let n_tracks = track.iter().max().map_or(0, |m| m + 1);
    let mut by_track: Vec<Vec<usize>> = vec![Vec::new(); n_tracks];
    for (i, &t) in track.iter().enumerate() {
        by_track[t].push(i);
    }
    let groups: Vec<Vec<usize>> = by_track.into_iter().filter(|g| g.len() >= 2).collect();
    if groups.len() < 2 || d == 0 {
        return Err(Error::invalid(
            "contrastive training data",
            "at least two tracks with two excerpts each",
            format!("{} such tracks, {d} descriptor values", groups.len()),
        ));
    }
    let n = rows.len();
    let all = Tensor::from_vec(rows.concat(), (n, d), device)?;
    let varmap = VarMap::new();
    let vb = seeded_var_builder(&varmap, cfg.seed, device);
    let encoder = SongEncoder::new(
        song_encoder::Config {
            input_dim: d,
            hidden_dim: cfg.hidden_dim,
            output_dim: cfg.output_dim,
            n_ids: 0,
        },
        vb.pp("song"),
    )?;
    encoder.fit_stats(&all)?;
    let (mean, std) = encoder.stats()?;
    let axes = if cfg.pca_dim > 0 {
        let z: Vec<Vec<f32>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&mean)
                    .zip(&std)
                    .map(|((x, m), s)| (x - m) / s)
                    .collect()
            })
            .collect();
        let k = cfg.pca_dim.min(d);
        let axes = principal_axes(&z, k, cfg.seed).concat();
        let var = vb
            .pp("song")
            .get_with_hints((k, d), AXES, candle_nn::Init::Const(0.0))?;
        candle_core::Var::from_tensor(&var)?.set(&Tensor::from_vec(axes, (k, d), device)?)?;
        Some(var)
    } else {
        None
    };
    let std = Tensor::from_vec(std, d, device)?;
    let mut opt = AdamW::new(
        trainable_vars(&varmap),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )?;
    let mut rng = Rng::new(derive_seed(cfg.seed, &[hash_str("contrastive")]));
    let b = cfg.batch_tracks.clamp(2, groups.len());
    let inv_t = 1.0 / cfg.temperature;
    let mut losses = Vec::with_capacity(cfg.steps);
    for step in 0..cfg.steps {
        let picked = rng.sample_indices(groups.len(), b)?;
        let (mut ia, mut ib) = (Vec::with_capacity(b), Vec::with_capacity(b));
        for &g in &picked {
            let pair = rng.sample_indices(groups[g].len(), 2)?;
            ia.push(groups[g][pair[0]] as u32);
            ib.push(groups[g][pair[1]] as u32);
        }
        let view = |idx: Vec<u32>, rng: &mut Rng| -> Result<Tensor> {
            let x = all.index_select(&Tensor::from_vec(idx, b, device)?, 0)?;
            let noise = gaussian(rng, b * d, cfg.noise);
            let noise = Tensor::from_vec(noise, (b, d), device)?.broadcast_mul(&std)?;
            unit_rows(&encoder.forward(&(x + noise)?)?)
        };
        let za = view(ia, &mut rng)?;
        let zb = view(ib, &mut rng)?;
        let logits = za.matmul(&zb.t()?)?.affine(inv_t, 0.0)?; // (b, b)
        let target = Tensor::from_vec((0..b as u32).collect::<Vec<_>>(), b, device)?;
        let loss = ((candle_nn::loss::cross_entropy(&logits, &target)?
            + candle_nn::loss::cross_entropy(&logits.t()?, &target)?)?
            * 0.5)?;
        opt.backward_step(&loss)?;
        let l = loss.to_scalar::<f32>()?;
        if !l.is_finite() {
            return Err(Error::Model(format!(
                "contrastive training diverged at step {}",
                step + 1
            )));
        }
        losses.push(l);
        on_step(step + 1, l);
    }
    Ok(AudioEncoder {
        varmap,
        encoder,
        axes,
        losses,
    })
}

/// `n` draws of N(0, σ²) by Box–Muller from `rng` (platform-independent).
pub fn gaussian(rng: &mut Rng, n: usize, sigma: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
        let u2 = rng.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let a = std::f64::consts::TAU * u2;
        out.push((r * a.cos()) as f32 * sigma);
        out.push((r * a.sin()) as f32 * sigma);
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Four "tracks" whose excerpts share a track-specific direction plus noise in 12
    /// dimensions: training must bring same-track excerpts closer than other tracks'.
    #[test]
    fn training_pulls_excerpts_of_a_track_together() {
        let mut rng = Rng::new(7);
        let centres: Vec<Vec<f32>> = (0..4).map(|_| gaussian(&mut rng, 12, 1.0)).collect();
        let (mut rows, mut track) = (Vec::new(), Vec::new());
        for (t, c) in centres.iter().enumerate() {
            for _ in 0..4 {
                let noise = gaussian(&mut rng, 12, 0.6);
                rows.push(c.iter().zip(&noise).map(|(a, b)| a + b).collect::<Vec<_>>());
                track.push(t);
            }
        }
        let cfg = ContrastiveConfig {
            hidden_dim: 16,
            output_dim: 8,
            pca_dim: 0,
            steps: 60,
            batch_tracks: 4,
            ..Default::default()
        };
        let dev = Device::Cpu;
        let enc = train(&rows, &track, &cfg, &dev, &mut |_, _| {}).unwrap();
        let first: f32 = enc.losses[..5].iter().sum::<f32>() / 5.0;
        let last: f32 = enc.losses[enc.losses.len() - 5..].iter().sum::<f32>() / 5.0;
        assert!(last < first, "loss {first} → {last}");
        let z = enc
            .embed(&Tensor::from_vec(rows.concat(), (16, 12), &dev).unwrap())
            .unwrap();
        let sims: Vec<Vec<f32>> = z.matmul(&z.t().unwrap()).unwrap().to_vec2().unwrap();
        let (mut same, mut other) = ((0f32, 0), (0f32, 0));
        for i in 0..16 {
            for j in 0..16 {
                if i == j {
                    continue;
                }
                let acc = if track[i] == track[j] {
                    &mut same
                } else {
                    &mut other
                };
                acc.0 += sims[i][j];
                acc.1 += 1;
            }
        }
        assert!(same.0 / same.1 as f32 > other.0 / other.1 as f32 + 0.3);
    }

    #[test]
    fn principal_axes_find_the_largest_variance_directions() {
        // Variance 9 along x, 4 along y, 0.01 along z.
        let mut rng = Rng::new(3);
        let rows: Vec<Vec<f32>> = (0..400)
            .map(|_| {
                let g = gaussian(&mut rng, 3, 1.0);
                vec![3.0 * g[0], 2.0 * g[1], 0.1 * g[2]]
            })
            .collect();
        let axes = principal_axes(&rows, 2, 1);
        assert!(axes[0][0].abs() > 0.99, "{:?}", axes[0]);
        assert!(axes[1][1].abs() > 0.99, "{:?}", axes[1]);
        let dot: f32 = axes[0].iter().zip(&axes[1]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-5);
    }

    #[test]
    fn rejects_data_without_pairs() {
        let rows = vec![vec![1f32, 2.0], vec![3.0, 4.0]];
        let err = train(
            &rows,
            &[0, 1],
            &ContrastiveConfig::default(),
            &Device::Cpu,
            &mut |_, _| {},
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("two excerpts"), "{err}");
    }
}
