//! Wavelet scattering parity with Kymatio 0.3.0 `Scattering1D` on the committed fixtures
//! (references made by `tests/reference/gen_features.py`, see `tests/reference/README.md`),
//! plus properties and degenerate input. Runs natively and in Chromium: every file is
//! embedded with `include_bytes!`.

use crate::common;

use crate::common::{pcm, SIGNALS};
use ainrec::features::filter_bank::FilterBank;
use ainrec::features::scattering::{
    coeff_meta, BlockScattering, Scattering1D, ScatteringConfig, ScatteringOutput,
};
use ainrec::Error;
use serde_json::Value;

/// The references use the first 16384 samples of each PCM fixture.
const N_REF: usize = 16384;
/// DESIGN §3: relative L2 error per order, before log1p.
const TOL: f64 = 1e-3;

macro_rules! scattering_file {
    ($key:expr, $suffix:literal) => {
        match $key {
            "brahms" => scattering_file!(@ "brahms", $suffix),
            "fishin" => scattering_file!(@ "fishin", $suffix),
            "nutcracker" => scattering_file!(@ "nutcracker", $suffix),
            "vibeace" => scattering_file!(@ "vibeace", $suffix),
            "trumpet" => scattering_file!(@ "trumpet", $suffix),
            "tone440" => scattering_file!(@ "tone440", $suffix),
            "chord_cmaj" => scattering_file!(@ "chord_cmaj", $suffix),
            "chirp" => scattering_file!(@ "chirp", $suffix),
            "noise" => scattering_file!(@ "noise", $suffix),
            "impulses" => scattering_file!(@ "impulses", $suffix),
            "silence" => scattering_file!(@ "silence", $suffix),
            other => panic!("no scattering reference for {other}"),
        }
    };
    (@ $name:literal, $suffix:literal) => {
        &include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/features/scattering/",
            $name,
            $suffix
        ))[..]
    };
}

/// Kymatio's coefficients (`n_coeffs × n_time`, row-major) and their JSON sidecar.
fn kymatio(key: &str, j: u32) -> (Vec<f32>, Value) {
    let (raw, json): (&[u8], &[u8]) = match j {
        6 => (
            scattering_file!(key, "_J6_Q8.f32"),
            scattering_file!(key, "_J6_Q8.json"),
        ),
        8 => (
            scattering_file!(key, "_J8_Q8.f32"),
            scattering_file!(key, "_J8_Q8.json"),
        ),
        _ => panic!("no reference for J={j}"),
    };
    let data = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (data, serde_json::from_slice(json).expect("sidecar parses"))
}

fn filters_json() -> Value {
    serde_json::from_slice(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/features/scattering/filters_J8_Q8_N16384.json"
    )))
    .expect("filter JSON parses")
}

/// Kymatio's `Scattering1D(J, shape, Q=8)` is `Q = (8, 1)`.
fn config(j: u32) -> ScatteringConfig {
    ScatteringConfig::new(j, (8, 1))
}

fn input(key: &str) -> Vec<f32> {
    pcm(key)[..N_REF].to_vec()
}

/// `(‖ours − ref‖₂, ‖ref‖₂)` over the rows of one order.
fn order_error(ours: &ScatteringOutput, reference: &[f32], order: usize) -> (f64, f64) {
    let rows = ours.order_rows(order);
    let span = rows.start * ours.n_time..rows.end * ours.n_time;
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (a, b) in ours.data[span.clone()].iter().zip(&reference[span]) {
        num += (*a as f64 - *b as f64).powi(2);
        den += (*b as f64).powi(2);
    }
    (num.sqrt(), den.sqrt())
}

/// Asserts the per-order relative L2 error; returns the three errors. An all-zero
/// reference order (silence) requires all-zero output.
fn assert_parity(ours: &ScatteringOutput, reference: &[f32], what: &str) -> [f64; 3] {
    assert_eq!(ours.data.len(), reference.len(), "{what}: size");
    assert!(
        ours.data.iter().all(|v| v.is_finite()),
        "{what}: non-finite"
    );
    let mut errs = [0.0; 3];
    for (order, e) in errs.iter_mut().enumerate() {
        let (num, den) = order_error(ours, reference, order);
        *e = if den == 0.0 { num } else { num / den };
        assert!(
            *e <= TOL,
            "{what}: order {order} relative L2 error {e:.3e} > {TOL}"
        );
    }
    errs
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn matches_kymatio_per_order() {
    for j in [6, 8] {
        // One transform (filters + plans) per configuration, reused for every signal.
        let mut whole = Scattering1D::<f32>::new(config(j), N_REF).unwrap();
        let mut whole64 = Scattering1D::<f64>::new(config(j), N_REF).unwrap();
        let mut blocks = BlockScattering::<f32>::new(config(j), None).unwrap();
        assert!(
            !whole.is_blockwise(),
            "16384 samples pad to 32768: one pass"
        );
        let mut worst = [[0.0f64; 3]; 3];
        for key in SIGNALS {
            let (reference, sidecar) = kymatio(key, j);
            let shape: Vec<usize> = serde_json::from_value(sidecar["shape"].clone()).unwrap();
            let x = input(key);
            for (k, (name, out)) in [
                ("f32", whole.transform(&x).unwrap()),
                ("f64", whole64.transform(&x).unwrap()),
                ("f32 blocks", blocks.transform(&x).unwrap()),
            ]
            .into_iter()
            .enumerate()
            {
                assert_eq!(vec![out.n_coeffs, out.n_time], shape, "{key} J={j} {name}");
                let per: Vec<usize> =
                    serde_json::from_value(sidecar["n_coeffs_per_order"].clone()).unwrap();
                assert_eq!(out.order_sizes.to_vec(), per);
                let e = assert_parity(&out, &reference, &format!("{key} J={j} {name}"));
                for o in 0..3 {
                    worst[k][o] = worst[k][o].max(e[o]);
                }
                if k == 0 {
                    println!(
                        "{key:>10} J={j}: rel L2 order0 {:.2e} order1 {:.2e} order2 {:.2e}",
                        e[0], e[1], e[2]
                    );
                }
            }
        }
        for (name, w) in ["f32", "f64", "f32 blocks"].iter().zip(worst) {
            println!(
                "worst J={j} {name}: order0 {:.2e} order1 {:.2e} order2 {:.2e}",
                w[0], w[1], w[2]
            );
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn meta_and_padding_match_kymatio() {
    for j in [6, 8] {
        let (_, sidecar) = kymatio("brahms", j);
        let meta = &sidecar["meta"];
        let ours = coeff_meta(&config(j), 22050.0);
        let orders = meta["order"].as_array().unwrap();
        assert_eq!(ours.len(), orders.len(), "J={j}: number of coefficients");
        let close = |a: f64, b: &Value| (a - b.as_f64().unwrap()).abs() <= 1e-15 * a.abs();
        for (i, m) in ours.iter().enumerate() {
            assert_eq!(m.order as u64, orders[i].as_u64().unwrap(), "row {i}");
            let (jj, n) = (&meta["j"][i], &meta["n"][i]);
            let (xi, sigma) = (&meta["xi"][i], &meta["sigma"][i]);
            let first = [m.j1.map(f64::from), m.n1.map(|v| v as f64), m.xi1, m.sigma1];
            let second = [m.j2.map(f64::from), m.n2.map(|v| v as f64), m.xi2, m.sigma2];
            for (slot, ours) in [first, second].iter().enumerate() {
                for (field, v) in [jj, n, xi, sigma].iter().enumerate() {
                    match (ours[field], &v[slot]) {
                        (None, Value::Null) => {}
                        (Some(a), b) if close(a, b) => {}
                        (a, b) => {
                            panic!("J={j} row {i} field {field}[{slot}]: ours {a:?}, kymatio {b}")
                        }
                    }
                }
            }
            if let (Some(xi1), Some(f1)) = (m.xi1, m.freq1_hz) {
                assert!((f1 - xi1 * 22050.0).abs() < 1e-9);
            }
        }
        let cfg = &sidecar["config"];
        let s = Scattering1D::<f32>::new(config(j), N_REF).unwrap();
        assert_eq!(s.n_padded() as u64, cfg["N_padded"].as_u64().unwrap());
        assert_eq!(s.pad_left() as u64, cfg["pad_left"].as_u64().unwrap());
        let out = s.n_time();
        let log2_t = cfg["log2_T"].as_u64().unwrap().to_string();
        let frames =
            cfg["ind_end"][&log2_t].as_u64().unwrap() - cfg["ind_start"][&log2_t].as_u64().unwrap();
        assert_eq!(out as u64, frames);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn filter_bank_matches_kymatio() {
    let f = filters_json();
    let n_padded = f["config"]["N_padded"].as_u64().unwrap() as usize;
    let bank = FilterBank::new(n_padded, 8, (8, 1), 256).unwrap();
    let check = |ours: &[ainrec::features::filter_bank::Filter], theirs: &Value, what: &str| {
        let theirs = theirs.as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{what}: count");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            let (xi, sigma) = (b["xi"].as_f64().unwrap(), b["sigma"].as_f64().unwrap());
            assert!((a.params.xi - xi).abs() <= 1e-15 * xi, "{what} {i}: xi");
            assert!(
                (a.params.sigma - sigma).abs() <= 1e-15 * sigma,
                "{what} {i}: sigma"
            );
            assert_eq!(a.params.j as u64, b["j"].as_u64().unwrap(), "{what} {i}: j");
            assert_eq!(
                a.levels.len() as u64,
                b["n_levels"].as_u64().unwrap(),
                "{what} {i}: levels"
            );
        }
    };
    check(&bank.psi1, &f["psi1"], "psi1");
    check(&bank.psi2, &f["psi2"], "psi2");
    assert_eq!(bank.phi.params.sigma, f["phi"]["sigma"].as_f64().unwrap());
    assert_eq!(bank.phi.params.j as u64, f["phi"]["j"].as_u64().unwrap());
    assert_eq!(
        bank.phi.levels.len() as u64,
        f["phi"]["n_levels"].as_u64().unwrap()
    );
    // Fourier values (stored as float32 by the generator).
    for (name, ours) in [
        ("psi1_0_level0_f32", bank.psi1[0].levels[0].to_dense()),
        ("psi2_0_level0_f32", bank.psi2[0].levels[0].to_dense()),
        ("phi_level0_f32", bank.phi.levels[0].to_dense()),
    ] {
        let theirs: Vec<f64> = serde_json::from_value(f[name].clone()).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}: length");
        let peak = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = ours
            .iter()
            .zip(&theirs)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err <= 1e-7 * peak,
            "{name}: max error {err:.3e} (peak {peak})"
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn silence_gives_finite_zeros() {
    let x = vec![0.0f32; 50_000];
    let whole = Scattering1D::<f32>::new(config(6), x.len())
        .unwrap()
        .transform(&x)
        .unwrap();
    let blocks = BlockScattering::<f32>::new(config(6), Some(1 << 14))
        .unwrap()
        .transform(&x)
        .unwrap();
    for out in [whole, blocks] {
        assert!(out.n_time > 0);
        assert!(out.data.iter().all(|v| v.is_finite() && *v == 0.0));
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn dc_offset_moves_only_order_0() {
    // ψ̂(0) = 0 for every wavelet (Kymatio's corrective term), so a constant offset changes
    // only the low-pass output S0.
    let x = input("brahms");
    let shifted: Vec<f32> = x.iter().map(|v| v + 0.25).collect();
    let mut s = Scattering1D::<f32>::new(config(8), N_REF).unwrap();
    let a = s.transform(&x).unwrap();
    let b = s.transform(&shifted).unwrap();
    let (num0, den0) = order_error(&b, &a.data, 0);
    assert!(num0 / den0 > 0.1, "order 0 should see the offset");
    for order in [1, 2] {
        let (num, den) = order_error(&b, &a.data, order);
        assert!(num / den < 1e-4, "order {order}: {:.3e}", num / den);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bad_input_is_a_clear_error() {
    let mut s = Scattering1D::<f32>::new(config(6), 4096).unwrap();
    let mut x = vec![0.1f32; 4096];
    x[100] = f32::NAN;
    let err = s.transform(&x).unwrap_err();
    assert!(matches!(err, Error::Audio(_)), "{err}");
    assert!(err.to_string().contains("sample 100"), "{err}");
    x[100] = f32::INFINITY;
    assert!(matches!(s.transform(&x), Err(Error::Audio(_))));
    assert!(matches!(s.transform(&[]), Err(Error::Audio(_))));
    assert!(matches!(
        s.transform(&[0.0; 4000]),
        Err(Error::Invalid { .. })
    ));
    // Shorter than the averaging scale T = 2^J.
    assert!(matches!(
        Scattering1D::<f32>::new(config(13), 4096),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        Scattering1D::<f32>::new(config(6), 0),
        Err(Error::Invalid { .. })
    ));
    let mut bad = config(6);
    bad.q = (0, 1);
    assert!(matches!(
        Scattering1D::<f32>::new(bad, 4096),
        Err(Error::Invalid { .. })
    ));
    bad = config(6);
    bad.max_order = 3;
    assert!(matches!(
        BlockScattering::<f32>::new(bad, None),
        Err(Error::Invalid { .. })
    ));
    // Blocks check the samples they read.
    let mut b = BlockScattering::<f32>::new(config(6), Some(1 << 14)).unwrap();
    x[100] = f32::NAN;
    assert!(matches!(b.transform(&x), Err(Error::Audio(_))));
    let plan = b.plan(x.len()).unwrap();
    assert!(matches!(
        b.process_block(&x, &plan, 0),
        Err(Error::Audio(_))
    ));
    assert!(matches!(
        b.process_block(&x, &plan, plan.n_blocks),
        Err(Error::Invalid { .. })
    ));
    assert!(
        BlockScattering::<f32>::new(config(6), Some(1000)).is_err(),
        "not a power of two"
    );
}

/// Deterministic test signal: chirp with a gated envelope plus LCG noise.
fn test_signal(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f32 / 22050.0;
            let gate = if (i / 5000) % 3 == 0 { 1.0 } else { 0.1 };
            let phase = 2.0 * std::f32::consts::PI * (220.0 * t + 300.0 * t * t);
            gate * 0.4 * phase.sin() + 0.05 * noise
        })
        .collect()
}

/// Per-order relative L2 difference between two outputs of the same shape.
fn rel_diff(a: &ScatteringOutput, b: &ScatteringOutput) -> [f64; 3] {
    assert_eq!((a.n_coeffs, a.n_time), (b.n_coeffs, b.n_time));
    let mut out = [0.0; 3];
    for (o, e) in out.iter_mut().enumerate() {
        let (num, den) = order_error(a, &b.data, o);
        *e = num / den;
    }
    out
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn blockwise_equals_whole() {
    let n = 150_000; // pads to 2^18; blocks of 2^15 → 5 to 6 blocks
    let x = test_signal(n, 7);
    for j in [6, 8] {
        let whole = Scattering1D::<f32>::new_whole(config(j), n)
            .unwrap()
            .transform(&x)
            .unwrap();
        let mut blocks = BlockScattering::<f32>::new(config(j), Some(1 << 15)).unwrap();
        let plan = blocks.plan(n).unwrap();
        assert!(plan.n_blocks >= 4, "J={j}: {} blocks", plan.n_blocks);
        let out = blocks.transform(&x).unwrap();
        assert_eq!(
            (out.n_time, out.first_sample),
            (whole.n_time, whole.first_sample)
        );
        // Whole signal, ends included (both pad the same virtual signal).
        let e = rel_diff(&out, &whole);
        assert!(e.iter().all(|&e| e < 1e-5), "J={j}: {e:?}");
        // Away from the ends, frame by frame.
        let scale = whole.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let m = out.n_time / 8;
        for c in 0..out.n_coeffs {
            for t in m..out.n_time - m {
                let (a, b) = (out.row(c)[t], whole.row(c)[t]);
                assert!(
                    (a - b).abs() <= 1e-5 * scale,
                    "J={j} coeff {c} frame {t}: {a} vs {b}"
                );
            }
        }
        // Streaming the blocks one by one gives the same frames.
        let mut frames = 0;
        for b in 0..plan.n_blocks {
            let chunk = blocks.process_block(&x, &plan, b).unwrap();
            assert_eq!(chunk.frame_start, frames);
            for c in 0..out.n_coeffs {
                let got = &chunk.data[c * chunk.n_frames..(c + 1) * chunk.n_frames];
                assert_eq!(got, &out.row(c)[frames..frames + chunk.n_frames]);
            }
            frames += chunk.n_frames;
        }
        assert_eq!(frames, out.n_time);
        // `Scattering1D::new` goes block-wise at this length.
        let mut auto = Scattering1D::<f32>::new(config(j), n).unwrap();
        assert!(auto.is_blockwise());
        let e = rel_diff(&auto.transform(&x).unwrap(), &whole);
        assert!(e.iter().all(|&e| e < 1e-5), "J={j} auto: {e:?}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn order1_energy_is_stable_under_small_shifts() {
    use proptest::prelude::*;

    // J = 6: T = 64 samples; shifts of up to 4 samples are ≤ T/16.
    let n = 8192;
    // The runner takes an `Fn`; the transform keeps scratch buffers, hence the RefCell.
    let s = std::cell::RefCell::new(Scattering1D::<f32>::new(config(6), n).unwrap());
    let strategy = (any::<u64>(), 1usize..=4, 50.0f32..4000.0, 0.5f32..20.0);
    common::check_property(24, strategy, |(seed, shift, freq, am)| {
        // an AM tone plus noise, long enough to cut two shifted windows from it
        let base = test_signal(n + shift, seed);
        let x: Vec<f32> = base
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let t = i as f32 / 22050.0;
                let env = 1.0 + 0.5 * (2.0 * std::f32::consts::PI * am * t).sin();
                v + 0.3 * env * (2.0 * std::f32::consts::PI * freq * t).sin()
            })
            .collect();
        let a = s.borrow_mut().transform(&x[..n]).unwrap();
        let b = s.borrow_mut().transform(&x[shift..]).unwrap();
        let energy = |o: &ScatteringOutput| -> f64 {
            o.order_rows(1)
                .flat_map(|c| o.row(c).iter().map(|v| (*v as f64).powi(2)))
                .sum()
        };
        let (ea, eb) = (energy(&a), energy(&b));
        let rel = (ea - eb).abs() / ea;
        prop_assert!(
            rel < 0.02,
            "shift {shift}: order-1 energy {ea} vs {eb} ({rel:.3e})"
        );
        Ok(())
    });
}
