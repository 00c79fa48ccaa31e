//! AINRNN (He 2022) in candle: the model layers, each a candle-nn-style module built from a
//! [`VarBuilder`] and a small `Config`.
//!
//! The pipeline, data flowing one way (shapes batch-first: `B` users, `T` history steps,
//! `C` candidate songs):
//!
//! 1. [`song_encoder`] — an item's content features `(…, d_in)` → standardised → MLP →
//!    embedding `(…, d)` (d = 128). History items and candidates go through the same encoder,
//!    so a song nobody has played yet can still be ranked.
//! 2. [`indrnn`] (or the [`lstm`] baseline) — the history `(B, T, d + 1)` (embedding plus
//!    log play count) through 5 stacked recurrent layers, wired in [`ainrnn`] with dense
//!    connections (every layer sees the input and every lower layer's output).
//! 3. [`attention`] — eq. 4 target attention: each candidate attends over the history states,
//!    with a learnable play-count bias; the weights are returned for explanations.
//! 4. [`portrait`] — age band, language and genres as embeddings, joined to the attended vector.
//! 5. [`ainrnn`] — the whole network: `(history, plays, mask, portrait, candidates)` →
//!    scores `(B, C)` and attention weights `(B, C, T)`.
//! 6. [`train`] — Adam (lr 5e-4), positives against sampled negatives through the same target
//!    attention, early stopping on a validation set, seeded, checkpoints as safetensors bytes.
//!
//! This module also holds what every layer shares: seeded, platform-independent weight
//! initialisation ([`seeded_var_builder`]), safetensors *bytes* in and out ([`to_safetensors`],
//! [`from_safetensors`]; never file paths, so the browser can save and load models), the list
//! of trainable variables ([`trainable_vars`]) and candle-error mapping.

pub mod ainrnn;
pub mod attention;
pub mod batch;
pub mod browser;
pub mod contrastive;
pub mod fit;
pub mod indrnn;
pub mod lstm;
pub mod model_file;
pub mod musicnn;
pub mod portrait;
pub mod recommender;
pub mod song_encoder;
pub mod train;

use std::collections::HashMap;

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NonLinearity, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};

use crate::error::{Error, Result};
use crate::util::rng::{derive_seed, hash_str, Rng};

/// Marker in variable names of non-trainable buffers (standardisation statistics): they are
/// saved and loaded with the weights but the optimiser must not move them.
pub const BUFFER_MARK: &str = "buffer_";

/// Which variables an optimiser should update: every variable of `varmap` except buffers
/// (names containing [`BUFFER_MARK`]), sorted by name so the optimiser's state is laid out the
/// same way on every run (a `HashMap`'s order is not).
pub fn trainable_vars(varmap: &VarMap) -> Vec<Var> {
    named_vars(varmap)
        .into_iter()
        .filter(|(name, _)| !name.contains(BUFFER_MARK))
        .map(|(_, v)| v)
        .collect()
}

/// Every variable of `varmap` with its name, sorted by name.
pub fn named_vars(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    let mut vars: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// A [`VarBuilder`] that creates the variables of `varmap` from `seed` alone.
///
/// Why not candle's own initialisation: it draws from a process-wide generator that cannot be
/// seeded on the CPU device, so two runs (or native and wasm) would start from different weights.
/// Here each variable gets its own SplitMix64 stream derived from `(seed, name)`, so its values do
/// not depend on the order in which layers are built either. The [`Init`] hints of the layers are
/// honoured (constant, uniform, normal, Kaiming with candle's fan and gain rules).
pub fn seeded_var_builder(varmap: &VarMap, seed: u64, device: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(
        Box::new(SeededVarMap {
            varmap: varmap.clone(),
            seed,
        }),
        DType::F32,
        device.clone(),
    )
}

struct SeededVarMap {
    varmap: VarMap,
    seed: u64,
}

impl SimpleBackend for SeededVarMap {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut data = self.varmap.data().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(var) = data.get(name) {
            if var.shape() != &s {
                candle_core::bail!("shape mismatch on {name}: {s:?} <> {:?}", var.shape())
            }
            return Ok(var.as_tensor().clone());
        }
        let mut rng = Rng::new(derive_seed(self.seed, &[hash_str(name)]));
        let values = sample_init(h, &s, &mut rng);
        let t = Tensor::from_vec(values, s, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_owned(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("variable {name} must be created with a shape and an initialisation")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        let data = self.varmap.data().lock().unwrap_or_else(|p| p.into_inner());
        data.contains_key(name)
    }
}

/// Draws `shape.elem_count()` values for `init` (the same distributions as candle's
/// `Init::var`, from our generator).
fn sample_init(init: Init, shape: &Shape, rng: &mut Rng) -> Vec<f32> {
    let n = shape.elem_count();
    let uniform = |rng: &mut Rng, lo: f64, up: f64| (lo + (up - lo) * rng.next_f64()) as f32;
    let normal = |rng: &mut Rng, mean: f64, std: f64| {
        // Box–Muller; 1 − u keeps the logarithm finite.
        let u1 = 1.0 - rng.next_f64();
        let u2 = rng.next_f64();
        (mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    };
    match init {
        Init::Const(c) => vec![c as f32; n],
        Init::Uniform { lo, up } => (0..n).map(|_| uniform(rng, lo, up)).collect(),
        Init::Randn { mean, stdev } => (0..n).map(|_| normal(rng, mean, stdev)).collect(),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let std = kaiming_std(fan, non_linearity, shape);
            match dist {
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    (0..n).map(|_| uniform(rng, -bound, bound)).collect()
                }
                NormalOrUniform::Normal => (0..n).map(|_| normal(rng, 0.0, std)).collect(),
            }
        }
    }
}

fn kaiming_std(fan: FanInOut, non_linearity: NonLinearity, shape: &Shape) -> f64 {
    non_linearity.gain() / (fan.for_shape(shape).max(1) as f64).sqrt()
}

/// Serialises every variable of `varmap` (buffers included) and `metadata` to safetensors bytes.
/// Bytes, not a path: the browser stores models in IndexedDB / downloads, not files.
pub fn to_safetensors(varmap: &VarMap, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let tensors: Vec<(String, Tensor)> = named_vars(varmap)
        .into_iter()
        .map(|(name, var)| (name, var.as_tensor().clone()))
        .collect();
    safetensors::serialize(tensors, Some(metadata))
        .map_err(|e| Error::Model(format!("cannot serialise the weights: {e}")))
}

/// The metadata stored in safetensors `bytes` (empty when there is none).
pub fn safetensors_metadata(bytes: &[u8]) -> Result<HashMap<String, String>> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::Model(format!("not a safetensors file: {e}")))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Loads safetensors `bytes` into a fresh [`VarMap`] of trainable variables (so a loaded model
/// can be fine-tuned, as the browser does) and returns it with a [`VarBuilder`] over it.
pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<(VarMap, VarBuilder<'static>)> {
    let tensors = candle_core::safetensors::load_buffer(bytes, device)
        .map_err(|e| Error::Model(format!("cannot read the weights: {e}")))?;
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
        for (name, t) in tensors {
            // Model files hold F32 only (what `to_safetensors` writes): another dtype means a
            // foreign or damaged file, not something to convert silently.
            if t.dtype() != DType::F32 {
                return Err(Error::Model(format!(
                    "tensor {name} is {:?}; model files store F32",
                    t.dtype()
                )));
            }
            // NaN/Inf weights would rank every item with NaN scores: refuse them here.
            let flat = t.flatten_all()?.to_vec1::<f32>()?;
            if let Some(bad) = flat.iter().find(|x| !x.is_finite()) {
                return Err(Error::Model(format!(
                    "tensor {name} holds a non-finite value ({bad}); expected finite weights"
                )));
            }
            data.insert(name, Var::from_tensor(&t)?);
        }
    }
    // Loading goes through the same backend as creation: a layer asking for a variable the file
    // does not have would then be silently initialised, so use a strict builder instead.
    let vb = VarBuilder::from_backend(
        Box::new(StrictVarMap(varmap.clone())),
        DType::F32,
        device.clone(),
    );
    Ok((varmap, vb))
}

/// A [`VarMap`] backend that fails on missing variables instead of creating them.
struct StrictVarMap(VarMap);

impl SimpleBackend for StrictVarMap {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: Init,
        _: DType,
        _: &Device,
    ) -> candle_core::Result<Tensor> {
        let data = self.0.data().lock().unwrap_or_else(|p| p.into_inner());
        match data.get(name) {
            None => candle_core::bail!("the model file has no variable {name}"),
            Some(v) if v.shape() != &s => {
                candle_core::bail!(
                    "variable {name} has shape {:?} in the model file, expected {s:?}",
                    v.shape()
                )
            }
            Some(v) => Ok(v.as_tensor().clone()),
        }
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        let data = self.0.data().lock().unwrap_or_else(|p| p.into_inner());
        match data.get(name) {
            None => candle_core::bail!("the model file has no variable {name}"),
            Some(v) => Ok(v.as_tensor().clone()),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        let data = self.0.data().lock().unwrap_or_else(|p| p.into_inner());
        data.contains_key(name)
    }
}

/// Checks that `t` has `dims`, where `None` accepts any size, naming `what` in the error.
pub(crate) fn check_dims(t: &Tensor, what: &str, dims: &[Option<usize>]) -> Result<()> {
    let found = t.dims();
    let ok = found.len() == dims.len()
        && found
            .iter()
            .zip(dims)
            .all(|(f, d)| d.is_none_or(|d| d == *f));
    if ok {
        Ok(())
    } else {
        let expected = dims
            .iter()
            .map(|d| d.map_or_else(|| "_".to_owned(), |d| d.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        Err(Error::invalid(
            format!("{what} shape"),
            format!("({expected})"),
            format!("{found:?}"),
        ))
    }
}

/// A `(batch, time)` mask of ones from per-row lengths, right-padded (real steps first).
pub fn right_padded_mask(lengths: &[usize], time: usize, device: &Device) -> Result<Tensor> {
    let mut m = vec![0f32; lengths.len() * time];
    for (b, &len) in lengths.iter().enumerate() {
        for v in &mut m[b * time..b * time + len.min(time)] {
            *v = 1.0;
        }
    }
    Ok(Tensor::from_vec(m, (lengths.len(), time), device)?)
}

/// A `(batch, time)` mask of ones from per-row lengths, left-padded (real steps last).
pub fn left_padded_mask(lengths: &[usize], time: usize, device: &Device) -> Result<Tensor> {
    let mut m = vec![0f32; lengths.len() * time];
    for (b, &len) in lengths.iter().enumerate() {
        for v in &mut m[b * time + time - len.min(time)..(b + 1) * time] {
            *v = 1.0;
        }
    }
    Ok(Tensor::from_vec(m, (lengths.len(), time), device)?)
}

/// Seeded "dropout over time" (as in the IndRNN reference code): one keep/drop decision per
/// `(batch, feature)`, shared by every time step so a dropped unit stays dropped for the whole
/// sequence, scaled by `1 / (1 − p)` so the expectation is unchanged. Returns a mask of shape
/// `(batch, 1, features)` to multiply `(batch, time, features)` activations with.
pub fn dropout_mask(
    batch: usize,
    features: usize,
    p: f32,
    rng: &mut Rng,
    device: &Device,
) -> Result<Tensor> {
    if !(0.0..1.0).contains(&p) {
        return Err(Error::invalid("dropout probability", "in [0, 1)", p));
    }
    let keep = 1.0 / (1.0 - p);
    let m: Vec<f32> = (0..batch * features)
        .map(|_| {
            if rng.next_f64() < f64::from(p) {
                0.0
            } else {
                keep
            }
        })
        .collect();
    Ok(Tensor::from_vec(m, (batch, 1, features), device)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn seeded_init_depends_on_seed_and_name_only() {
        let dev = Device::Cpu;
        let a = VarMap::new();
        let b = VarMap::new();
        let vb_a = seeded_var_builder(&a, 7, &dev);
        let vb_b = seeded_var_builder(&b, 7, &dev);
        // Built in opposite orders: values must still agree name by name.
        let a1 = vb_a.get_with_hints((4, 3), "x", candle_nn::init::DEFAULT_KAIMING_UNIFORM);
        let a2 = vb_a.get_with_hints(
            5,
            "y",
            Init::Randn {
                mean: 0.,
                stdev: 1.,
            },
        );
        let b2 = vb_b.get_with_hints(
            5,
            "y",
            Init::Randn {
                mean: 0.,
                stdev: 1.,
            },
        );
        let b1 = vb_b.get_with_hints((4, 3), "x", candle_nn::init::DEFAULT_KAIMING_UNIFORM);
        let v = |t: candle_core::Result<Tensor>| t.unwrap().flatten_all().unwrap().to_vec1::<f32>();
        let (a1, a2, b1, b2) = (
            v(a1).unwrap(),
            v(a2).unwrap(),
            v(b1).unwrap(),
            v(b2).unwrap(),
        );
        assert_eq!(a1, b1);
        assert_eq!(a2, b2);
        let bound = 3f32.sqrt() * 2f32.sqrt() / 3f32.sqrt();
        assert!(
            a1.iter().all(|x| x.abs() <= bound),
            "Kaiming bound {bound}: {a1:?}"
        );
        let c = VarMap::new();
        let c1 = seeded_var_builder(&c, 8, &dev).get_with_hints(
            (4, 3),
            "x",
            candle_nn::init::DEFAULT_KAIMING_UNIFORM,
        );
        assert_ne!(v(c1).unwrap(), a1, "another seed gives other weights");
    }

    #[test]
    fn masks_and_dropout() {
        let dev = Device::Cpu;
        let r = right_padded_mask(&[2, 0, 5], 3, &dev)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(
            r,
            vec![vec![1., 1., 0.], vec![0., 0., 0.], vec![1., 1., 1.]]
        );
        let l = left_padded_mask(&[2, 1], 3, &dev)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(l, vec![vec![0., 1., 1.], vec![0., 0., 1.]]);
        let m = dropout_mask(8, 100, 0.5, &mut Rng::new(1), &dev).unwrap();
        assert_eq!(m.dims(), &[8, 1, 100]);
        let v = m.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let dropped = v.iter().filter(|x| **x == 0.0).count();
        assert!(
            (300..500).contains(&dropped),
            "about half dropped: {dropped}"
        );
        assert!(v.iter().all(|x| *x == 0.0 || *x == 2.0));
        assert!(dropout_mask(1, 1, 1.0, &mut Rng::new(1), &dev).is_err());
    }
}
