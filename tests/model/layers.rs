//! The AINRNN layers (src/model/): reference values of the IndRNN recurrence from numpy
//! (`tests/reference/gen_indrnn.py`), masks, gradients through a deep, long stack, dense wiring,
//! the portrait, determinism and save → load. Runs natively and in Chromium (the reference is
//! compiled in with `include_str!`, models are saved to bytes, never to files).

use ainrec::data::history::{AgeBand, Portrait};
use ainrec::model::ainrnn::{Ainrnn, Batch, CellKind, Config, Connections, Output, Readout};
use ainrec::model::indrnn::{self, IndRnn};
use ainrec::model::portrait::{self, PortraitBatch};
use ainrec::model::{left_padded_mask, right_padded_mask, seeded_var_builder, trainable_vars};
use ainrec::util::rng::Rng;
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde_json::Value;
use std::collections::HashMap;

const REFERENCE: &str = include_str!("../reference/model/indrnn.json");

fn dev() -> Device {
    Device::Cpu
}

// ------------------------------------------------------------------ JSON → tensors

fn flat(v: &Value, out: &mut Vec<f32>, dims: &mut Vec<usize>, depth: usize) {
    match v {
        Value::Array(items) => {
            if dims.len() == depth {
                dims.push(items.len());
            }
            for item in items {
                flat(item, out, dims, depth + 1);
            }
        }
        Value::Number(n) => out.push(n.as_f64().expect("number") as f32),
        other => panic!("unexpected JSON value {other}"),
    }
}

fn tensor(v: &Value) -> Tensor {
    let (mut data, mut dims) = (Vec::new(), Vec::new());
    flat(v, &mut data, &mut dims, 0);
    Tensor::from_vec(data, dims, &dev()).unwrap()
}

fn case(name: &str) -> Value {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in the reference"))
        .clone()
}

/// Max |ours − ref| ≤ 1e-5 · (1 + max|ref|): f32 against numpy's float64.
fn assert_matches(ours: &Tensor, reference: &Tensor, what: &str) {
    assert_eq!(ours.dims(), reference.dims(), "{what}: shape");
    let a = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = reference.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        err <= 1e-5 * (1.0 + scale),
        "{what}: max error {err} (scale {scale})"
    );
}

// ------------------------------------------------------------------ models and batches

fn small_config(cell: CellKind, attention: bool, connections: Connections) -> Config {
    Config {
        item_dim: 8,
        hidden_dim: 12,
        n_layers: 5,
        cell,
        attention,
        connections,
        dropout: 0.5,
        max_len: 200,
        att_dim: 6,
        portrait: portrait::Config {
            dim: 4,
            genres: vec!["rock".into(), "jazz".into(), "pop".into()],
        },
        layer_norm: false,
        readout: Readout::Top,
    }
}

fn build(cfg: Config, seed: u64) -> (VarMap, Ainrnn) {
    let vm = VarMap::new();
    let model = Ainrnn::new(cfg, seeded_var_builder(&vm, seed, &dev())).unwrap();
    (vm, model)
}

fn uniform(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| lo + (hi - lo) * rng.next_f64() as f32)
        .collect();
    Tensor::from_vec(v, shape, &dev()).unwrap()
}

/// Test inputs for `b` users of `t` real steps each and `c` candidates per user.
struct Inputs {
    history: Tensor,
    plays: Tensor,
    mask: Tensor,
    portrait: PortraitBatch,
    candidates: Tensor,
}

impl Inputs {
    fn new(cfg: &Config, b: usize, t: usize, c: usize, seed: u64) -> Self {
        let d = cfg.item_dim;
        let plays: Vec<f32> = {
            let mut rng = Rng::new(seed + 1);
            (0..b * t).map(|_| 1.0 + rng.below(50) as f32).collect()
        };
        let portraits: Vec<Portrait> = (0..b)
            .map(|i| Portrait {
                age_band: Some(AgeBand::ALL[i % 7].0),
                language: Some(["en", "fr", "de"][i % 3].into()),
                genres: vec![cfg.portrait.genres[i % cfg.portrait.genres.len()].clone()],
            })
            .collect();
        Inputs {
            history: uniform(&[b, t, d], -1.0, 1.0, seed),
            plays: Tensor::from_vec(plays, (b, t), &dev()).unwrap(),
            mask: Tensor::ones((b, t), DType::F32, &dev()).unwrap(),
            portrait: portrait_batch(cfg, &portraits),
            candidates: uniform(&[b, c, d], -1.0, 1.0, seed + 2),
        }
    }

    fn batch(&self) -> Batch<'_> {
        Batch {
            history: &self.history,
            plays: &self.plays,
            mask: &self.mask,
            portrait: &self.portrait,
            candidates: &self.candidates,
        }
    }
}

fn portrait_batch(cfg: &Config, portraits: &[Portrait]) -> PortraitBatch {
    let refs: Vec<Option<&Portrait>> = portraits.iter().map(Some).collect();
    PortraitBatch::new(&refs, &cfg.portrait, &dev()).unwrap().0
}

fn scores(out: &Output) -> Vec<Vec<f32>> {
    out.scores.to_vec2::<f32>().unwrap()
}

// ------------------------------------------------------------------ tests

/// One IndRNN layer against the numpy recurrence: a full row, a left-padded row and a row with
/// a gap and right padding (garbage in the padding), and 60 steps with u near 2^(1/T).
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn indrnn_matches_numpy_reference() {
    for name in ["single", "long"] {
        let c = case(name);
        let p = &c["layers"][0];
        let w = tensor(&p["weight_ih"]);
        let (hidden, input_dim) = w.dims2().unwrap();
        let vars = HashMap::from([
            ("weight_ih".to_owned(), w),
            ("weight_hh".to_owned(), tensor(&p["weight_hh"])),
            ("bias".to_owned(), tensor(&p["bias"])),
        ]);
        let cfg = indrnn::Config {
            input_dim,
            hidden_dim: hidden,
            max_len: c["max_len"].as_u64().unwrap() as usize,
            long_memory: false,
        };
        let layer = IndRnn::new(cfg, VarBuilder::from_tensors(vars, DType::F32, &dev())).unwrap();
        let out = layer
            .forward(&tensor(&c["x"]), &tensor(&c["mask"]))
            .unwrap();
        assert_matches(&out, &tensor(&c["expected"][0]), name);
    }
}

/// The dense AINRNN stack (3 layers, layer l fed [x, h_1 … h_{l−1}] with x = [embedding,
/// ln(1 + plays)]) against numpy, layer by layer.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn dense_stack_matches_numpy_reference() {
    let c = case("dense_stack");
    let mut cfg = small_config(CellKind::IndRnn, true, Connections::Dense);
    cfg.item_dim = c["item_dim"].as_u64().unwrap() as usize;
    cfg.hidden_dim = c["hidden"].as_u64().unwrap() as usize;
    cfg.n_layers = c["layers"].as_array().unwrap().len();
    cfg.max_len = c["max_len"].as_u64().unwrap() as usize;
    let (mut vm, model) = build(cfg, 1);
    for (l, p) in c["layers"].as_array().unwrap().iter().enumerate() {
        for name in ["weight_ih", "weight_hh", "bias"] {
            vm.set_one(format!("layer{l}.{name}"), tensor(&p[name]))
                .unwrap();
        }
    }
    let trace = model
        .run_stack(
            &tensor(&c["x"]),
            &tensor(&c["plays"]),
            &tensor(&c["mask"]),
            None,
            &mut |_, t| Ok(t),
        )
        .unwrap();
    for (l, expected) in c["expected"].as_array().unwrap().iter().enumerate() {
        assert_matches(&trace.outputs[l], &tensor(expected), &format!("layer {l}"));
    }
}

/// 5 layers × 200 steps, dropout on: the loss's gradient reaches every trainable variable,
/// finite, and the bottom layer's input weights get a non-zero gradient (it does not vanish).
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gradients_stay_finite_through_5_layers_and_200_steps() {
    for cell in [CellKind::IndRnn, CellKind::Lstm] {
        let cfg = small_config(cell, true, Connections::Dense);
        let (vm, model) = build(cfg.clone(), 3);
        let inputs = Inputs::new(&cfg, 2, 200, 4, 10);
        let out = model
            .forward(&inputs.batch(), Some(&mut Rng::new(5)))
            .unwrap();
        // Softmax cross-entropy with candidate 0 as the positive, as in training.
        let loss =
            candle_nn::loss::cross_entropy(&out.scores, &Tensor::new(&[0u32, 0], &dev()).unwrap())
                .unwrap();
        assert!(loss.to_scalar::<f32>().unwrap().is_finite());
        let grads = loss.backward().unwrap();
        let named = ainrec::model::named_vars(&vm);
        assert_eq!(trainable_vars(&vm).len(), named.len(), "no buffers here");
        for (name, var) in &named {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{cell:?}: no gradient for {name}"));
            let g = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(
                g.iter().all(|v| v.is_finite()),
                "{cell:?}: non-finite gradient in {name}"
            );
            if name == "layer0.weight_ih" {
                let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
                assert!(
                    norm > 1e-8,
                    "{cell:?}: gradient vanished at layer 0 ({norm})"
                );
            }
        }
    }
}

/// Padding anywhere (left, right, filled with garbage) changes no score and gets no attention.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn padded_steps_change_nothing_in_the_model() {
    for (cell, attention) in [
        (CellKind::IndRnn, true),
        (CellKind::IndRnn, false),
        (CellKind::Lstm, true),
    ] {
        let cfg = small_config(cell, attention, Connections::Dense);
        let (_, model) = build(cfg.clone(), 4);
        let base = Inputs::new(&cfg, 2, 6, 5, 20);
        let alone = model.forward(&base.batch(), None).unwrap();
        let garbage = uniform(&[2, 3, cfg.item_dim], 50.0, 60.0, 99);
        let junk_plays = Tensor::full(-3.0f32, (2, 3), &dev()).unwrap();
        for left in [true, false] {
            let (history, plays, mask) = if left {
                (
                    Tensor::cat(&[&garbage, &base.history], 1).unwrap(),
                    Tensor::cat(&[&junk_plays, &base.plays], 1).unwrap(),
                    left_padded_mask(&[6, 6], 9, &dev()).unwrap(),
                )
            } else {
                (
                    Tensor::cat(&[&base.history, &garbage], 1).unwrap(),
                    Tensor::cat(&[&base.plays, &junk_plays], 1).unwrap(),
                    right_padded_mask(&[6, 6], 9, &dev()).unwrap(),
                )
            };
            let batch = Batch {
                history: &history,
                plays: &plays,
                mask: &mask,
                ..base.batch()
            };
            let padded = model.forward(&batch, None).unwrap();
            for (a, b) in scores(&padded)
                .iter()
                .flatten()
                .zip(scores(&alone).iter().flatten())
            {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{cell:?} attention={attention} left={left}: {a} vs {b}"
                );
            }
            if let (Some(wp), Some(wa)) = (&padded.attention, &alone.attention) {
                let real = if left { 3..9 } else { 0..6 };
                let wp = wp.narrow(2, real.start, 6).unwrap();
                assert_matches(&wp, wa, "attention over the real steps");
                let total: f32 = padded
                    .attention
                    .as_ref()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar()
                    .unwrap();
                assert!((total - 2.0 * 5.0).abs() < 1e-4, "padding took weight");
            }
        }
    }
}

/// The model's attention weights: (B, C, T), sum to 1 over each user's real steps, 0 on padding.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn model_attention_weights_sum_to_one() {
    let cfg = small_config(CellKind::IndRnn, true, Connections::Dense);
    let (_, model) = build(cfg.clone(), 6);
    let mut inputs = Inputs::new(&cfg, 3, 7, 4, 30);
    inputs.mask = left_padded_mask(&[7, 3, 1], 7, &dev()).unwrap();
    let out = model.forward(&inputs.batch(), None).unwrap();
    let w = out
        .attention
        .expect("attention is on")
        .to_vec3::<f32>()
        .unwrap();
    assert_eq!((w.len(), w[0].len(), w[0][0].len()), (3, 4, 7));
    let mask = inputs.mask.to_vec2::<f32>().unwrap();
    for (b, rows) in w.iter().enumerate() {
        for row in rows {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            for (wt, m) in row.iter().zip(&mask[b]) {
                assert!(*wt >= 0.0 && (*m == 1.0 || *wt == 0.0));
            }
        }
    }
    let off = small_config(CellKind::IndRnn, false, Connections::Dense);
    let (_, plain) = build(off, 6);
    assert!(plain
        .forward(&inputs.batch(), None)
        .unwrap()
        .attention
        .is_none());
}

/// Dense wiring: the last layer's input holds x and every lower layer's output. Adding 1 to
/// layer l's output shows up, unchanged, in exactly layer l's columns of the last layer's input,
/// and changes the scores. Residual and plain stacks are wired as documented.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn dense_connections_feed_every_lower_layer() {
    let cfg = small_config(CellKind::IndRnn, true, Connections::Dense);
    let (_, model) = build(cfg.clone(), 7);
    let inputs = Inputs::new(&cfg, 2, 5, 3, 40);
    let (x_dim, h) = (cfg.item_dim + 1, cfg.hidden_dim);
    let last = cfg.n_layers - 1;
    let run = |perturb: Option<usize>| {
        let mut tap = |l: usize, t: Tensor| -> ainrec::Result<Tensor> {
            Ok(if Some(l) == perturb {
                t.affine(1.0, 1.0)?
            } else {
                t
            })
        };
        let trace = model
            .run_stack(&inputs.history, &inputs.plays, &inputs.mask, None, &mut tap)
            .unwrap();
        let out = model
            .forward_tapped(&inputs.batch(), None, &mut tap)
            .unwrap();
        (trace, scores(&out))
    };
    let (base, base_scores) = run(None);
    assert_eq!(base.inputs[last].dim(2).unwrap(), x_dim + last * h);
    for l in 0..last {
        let (pert, pert_scores) = run(Some(l));
        let diff = (&pert.inputs[last] - &base.inputs[last]).unwrap();
        for j in 0..last {
            let cols = diff.narrow(2, x_dim + j * h, h).unwrap();
            let v = cols.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            if j == l {
                assert!(
                    v.iter().all(|d| (d - 1.0).abs() < 1e-5),
                    "layer {l}'s output does not reach the last layer directly"
                );
            } else if j < l {
                assert!(v.iter().all(|d| *d == 0.0), "layer {j} below {l} changed");
            }
        }
        let x_cols = diff.narrow(2, 0, x_dim).unwrap().abs().unwrap();
        assert_eq!(x_cols.sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
        assert_ne!(
            pert_scores, base_scores,
            "perturbing layer {l} left the scores unchanged"
        );
    }
    for (connections, dim) in [(Connections::Residual, h), (Connections::None, h)] {
        let cfg = small_config(CellKind::IndRnn, true, connections);
        let (_, m) = build(cfg, 7);
        let t = m
            .run_stack(
                &inputs.history,
                &inputs.plays,
                &inputs.mask,
                None,
                &mut |_, t| Ok(t),
            )
            .unwrap();
        assert_eq!(t.inputs[last].dim(2).unwrap(), dim);
        if connections == Connections::Residual {
            let sum = t
                .outputs
                .iter()
                .skip(1)
                .fold(t.outputs[0].clone(), |a, o| (a + o).unwrap());
            assert_matches(&t.states, &sum, "residual states = sum of layer outputs");
        }
    }
}

/// Each portrait field on its own changes the scores; an absent portrait equals an all-unknown
/// one; a genre outside the vocabulary is reported.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn portrait_fields_change_the_scores() {
    let cfg = small_config(CellKind::IndRnn, true, Connections::Dense);
    let (_, model) = build(cfg.clone(), 8);
    let inputs = Inputs::new(&cfg, 1, 5, 6, 50);
    let score_with = |p: Portrait| {
        let pb = portrait_batch(&cfg, &[p]);
        let batch = Batch {
            portrait: &pb,
            ..inputs.batch()
        };
        scores(&model.forward(&batch, None).unwrap())
    };
    let base = Portrait {
        age_band: Some(AgeBand::From18To24),
        language: Some("en".into()),
        genres: vec!["rock".into()],
    };
    let s0 = score_with(base.clone());
    let changes = [
        Portrait {
            age_band: Some(AgeBand::Over55),
            ..base.clone()
        },
        Portrait {
            language: Some("ja".into()),
            ..base.clone()
        },
        Portrait {
            genres: vec!["jazz".into()],
            ..base.clone()
        },
    ];
    for p in changes {
        assert_ne!(
            score_with(p.clone()),
            s0,
            "changing the portrait to {p:?} did nothing"
        );
    }
    let unknown = Portrait {
        age_band: Some(AgeBand::Unknown),
        language: Some("unknown".into()),
        genres: vec![],
    };
    let none = PortraitBatch::new(&[None], &cfg.portrait, &dev())
        .unwrap()
        .0;
    let s_none = scores(
        &model
            .forward(
                &Batch {
                    portrait: &none,
                    ..inputs.batch()
                },
                None,
            )
            .unwrap(),
    );
    assert_eq!(score_with(unknown), s_none);
    let odd = Portrait {
        genres: vec!["polka".into()],
        ..base
    };
    let (_, unknown) = PortraitBatch::new(&[Some(&odd)], &cfg.portrait, &dev()).unwrap();
    assert_eq!(unknown, vec![vec!["polka".to_owned()]]);
}

/// The same seed builds the same weights and, with the same dropout generator, the same
/// training-mode scores; another seed differs; inference ignores dropout.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn determinism_with_a_seed() {
    let cfg = small_config(CellKind::IndRnn, true, Connections::Dense);
    let inputs = Inputs::new(&cfg, 2, 8, 4, 60);
    let (_, a) = build(cfg.clone(), 42);
    let (_, b) = build(cfg.clone(), 42);
    let (_, c) = build(cfg.clone(), 43);
    let infer = |m: &Ainrnn| scores(&m.forward(&inputs.batch(), None).unwrap());
    let train = |m: &Ainrnn, seed| {
        scores(
            &m.forward(&inputs.batch(), Some(&mut Rng::new(seed)))
                .unwrap(),
        )
    };
    assert_eq!(infer(&a), infer(&b));
    assert_eq!(infer(&a), infer(&a), "inference is repeatable");
    assert_ne!(infer(&a), infer(&c));
    assert_eq!(train(&a, 1), train(&b, 1));
    assert_ne!(
        train(&a, 1),
        train(&a, 2),
        "dropout masks follow the generator"
    );
    assert_ne!(train(&a, 1), infer(&a), "dropout is on in training only");
}

/// Save to safetensors bytes → load → bit-identical scores and attention, for every variant;
/// loaded variables are trainable; a wrong format version or a missing variable is refused.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn save_load_gives_identical_scores() {
    for (cell, attention, connections) in [
        (CellKind::IndRnn, true, Connections::Dense),
        (CellKind::IndRnn, false, Connections::Residual),
        (CellKind::Lstm, true, Connections::None),
    ] {
        let cfg = small_config(cell, attention, connections);
        let (vm, model) = build(cfg.clone(), 9);
        let inputs = Inputs::new(&cfg, 2, 6, 5, 70);
        let before = model.forward(&inputs.batch(), None).unwrap();
        let bytes = model.to_bytes(&vm).unwrap();
        let (loaded, vm2) = Ainrnn::from_bytes(&bytes, "", &dev()).unwrap();
        assert_eq!(
            loaded.config(),
            &cfg,
            "the config (genre vocabulary included) travels along"
        );
        let after = loaded.forward(&inputs.batch(), None).unwrap();
        assert_eq!(
            scores(&after),
            scores(&before),
            "{cell:?} {attention} {connections:?}"
        );
        match (&before.attention, &after.attention) {
            (Some(a), Some(b)) => {
                assert_eq!(a.to_vec3::<f32>().unwrap(), b.to_vec3::<f32>().unwrap())
            }
            (None, None) => {}
            _ => panic!("attention presence changed"),
        }
        assert_eq!(trainable_vars(&vm2).len(), trainable_vars(&vm).len());
        assert!(trainable_vars(&vm2)
            .iter()
            .all(|v| v.as_tensor().is_variable()));
    }
    let cfg = small_config(CellKind::IndRnn, true, Connections::Dense);
    let (vm, model) = build(cfg, 9);
    let mut meta = model.metadata().unwrap();
    meta.insert(ainrec::model::ainrnn::META_VERSION.into(), "99".into());
    let bad = ainrec::model::to_safetensors(&vm, meta).unwrap();
    let err = Ainrnn::from_bytes(&bad, "", &dev())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("format version 99"), "{err}");
    vm.data().lock().unwrap().remove("head.weight");
    let partial = model.to_bytes(&vm).unwrap();
    let err = Ainrnn::from_bytes(&partial, "", &dev())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("head.weight"), "{err}");
    assert!(Ainrnn::from_bytes(b"not a model", "", &dev()).is_err());
}

/// The recurrent bound follows Li et al.: 2^(1/T), and clipping after an update restores it.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn recurrent_weights_stay_within_the_bound_in_the_stack() {
    let cfg = small_config(CellKind::IndRnn, true, Connections::Dense);
    let (vm, model) = build(cfg.clone(), 10);
    let bound = indrnn::recurrent_bound(cfg.max_len) as f32;
    assert!((bound - 2f32.powf(1.0 / 200.0)).abs() < 1e-7);
    for l in 0..cfg.n_layers {
        let name = format!("layer{l}.weight_hh");
        let var = vm.data().lock().unwrap()[&name].clone();
        let u = var.as_tensor().to_vec1::<f32>().unwrap();
        let lo = if l + 1 == cfg.n_layers {
            1.0 / bound
        } else {
            0.0
        };
        assert!(u.iter().all(|u| (lo..=bound).contains(u)), "{name}: {u:?}");
        var.set(&var.as_tensor().affine(10.0, -3.0).unwrap())
            .unwrap();
    }
    model.clip_recurrent().unwrap();
    for l in 0..cfg.n_layers {
        let u = vm.data().lock().unwrap()[&format!("layer{l}.weight_hh")]
            .as_tensor()
            .to_vec1::<f32>()
            .unwrap();
        assert!(u.iter().all(|u| u.abs() <= bound));
        assert!(u.iter().any(|u| u.abs() == bound), "something was clipped");
    }
}

/// The full-softmax scorer ([`Ainrnn::score_shared`]) gives the scores of the per-candidate
/// path ([`Ainrnn::forward`]) for a catalog shared by every user — with attention (both
/// readouts, padded rows, a user with no real step) and without (the last state).
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn shared_catalog_scores_match_the_per_candidate_path() {
    for (attention, readout, cell) in [
        (true, Readout::Top, CellKind::IndRnn),
        (true, Readout::All, CellKind::IndRnn),
        (false, Readout::All, CellKind::IndRnn),
        (false, Readout::Top, CellKind::Lstm),
    ] {
        let mut cfg = small_config(cell, attention, Connections::Dense);
        cfg.readout = readout;
        cfg.layer_norm = true;
        let (_, model) = build(cfg.clone(), 8);
        let mut inputs = Inputs::new(&cfg, 3, 6, 1, 40);
        inputs.mask = left_padded_mask(&[6, 2, 0], 6, &dev()).unwrap();
        let catalog = uniform(&[11, cfg.item_dim], -1.0, 1.0, 41);
        inputs.candidates = catalog.clone();
        let per_candidate = scores(&model.forward(&inputs.batch(), None).unwrap());
        let shared = model
            .score_shared(&inputs.batch(), &catalog, None)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!((shared.len(), shared[0].len()), (3, 11));
        // Blocks of 4 candidates (the last one short) give the same scores.
        let blocked = model
            .score_shared_in_blocks(&inputs.batch(), &catalog, None, 4)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (x, y) in blocked.iter().flatten().zip(shared.iter().flatten()) {
            assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{x} vs {y}");
        }
        for (a, b) in per_candidate.iter().flatten().zip(shared.iter().flatten()) {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                "attention {attention}, {readout:?}, {cell:?}: {a} vs {b}"
            );
        }
    }
}
