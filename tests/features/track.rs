//! The track descriptor end to end: parity with the librosa/Essentia references through
//! the descriptor path, degenerate input (empty, shorter than a frame, silence, NaN/Inf,
//! DC, clipping) and the MFCC gain property. Runs natively and in Chromium.

use crate::common;

use crate::common::{frames, pcm, reference, MUSIC};
use ainrec::features::scattering::ScatteringConfig;
use ainrec::features::track::{analyze, descriptor_names, FeatureSet, Span, TrackConfig};
use proptest::prelude::*;

fn config(features: &str) -> TrackConfig {
    TrackConfig {
        features: FeatureSet::parse(features).unwrap(),
        span: Span::Whole,
        ..TrackConfig::default()
    }
}

fn mean_std(rows: &[Vec<f64>], c: usize) -> (f64, f64) {
    let n = rows.len() as f64;
    let m = rows.iter().map(|r| r[c]).sum::<f64>() / n;
    let v = rows.iter().map(|r| (r[c] - m).powi(2)).sum::<f64>() / n;
    (m, v.sqrt())
}

fn value(cfg: &TrackConfig, d: &[f32], name: &str) -> f64 {
    let names = descriptor_names(cfg);
    let i = names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no descriptor value {name}"));
    f64::from(d[i])
}

/// The descriptor's MFCC and HPCP statistics equal the statistics of the reference frames
/// (librosa MFCC, Essentia HPCP) on every music clip.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn descriptor_statistics_match_the_references() {
    let cfg = config("mfcc,hfc,hpcp");
    for &key in MUSIC {
        let out = analyze(&pcm(key), &cfg).unwrap();
        let r = reference(key);
        for (part, field) in [("mfcc", "mfcc"), ("mfcc_delta", "mfcc_delta")] {
            let rows = frames(&r, field);
            let scale = rows
                .iter()
                .flatten()
                .fold(0f64, |m, v| m.max(v.abs()))
                .max(1e-9);
            for c in 0..20 {
                let (m, s) = mean_std(&rows, c);
                let ours_m = value(&cfg, &out.descriptor, &format!("{part}_mean_{c}"));
                let ours_s = value(&cfg, &out.descriptor, &format!("{part}_std_{c}"));
                assert!((ours_m - m).abs() <= 1e-3 * scale, "{key} {part} mean {c}");
                assert!((ours_s - s).abs() <= 1e-3 * scale, "{key} {part} std {c}");
            }
        }
        let hpcp = frames(&r, "hpcp");
        for (c, pc) in ainrec::features::hpcp::PITCH_CLASSES.iter().enumerate() {
            let (m, _) = mean_std(&hpcp, c);
            let ours = value(&cfg, &out.descriptor, &format!("hpcp_mean_{pc}"));
            assert!(
                (ours - m).abs() <= 0.02,
                "{key} hpcp mean {pc}: {ours} vs {m}"
            );
        }
        let hfc: Vec<f64> = frames(&r, "hfc").iter().map(|v| v[0].ln_1p()).collect();
        let (m, _) = mean_std(&hfc.iter().map(|v| vec![*v]).collect::<Vec<_>>(), 0);
        let ours = value(&cfg, &out.descriptor, "hfc_log_mean");
        assert!(
            (ours - m).abs() <= 1e-3 * m.abs(),
            "{key} hfc: {ours} vs {m}"
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn empty_input_is_a_clear_error() {
    let e = analyze(&[], &TrackConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no samples"), "{e}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn shorter_than_one_frame() {
    // Without scattering: finite values from the one or two zero-padded frames.
    let cfg = config("mfcc,hfc,hpcp");
    for n in [1usize, 100, 2047] {
        let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let out = analyze(&x, &cfg).unwrap();
        assert_eq!(out.n_frames, 1 + n / 512);
        assert!(out.descriptor.iter().all(|v| v.is_finite()), "n = {n}");
    }
    // With scattering: the error names the shortest analysable length.
    let e = analyze(&[0.1; 1000], &config("all"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("too short") && e.contains("1024 samples"), "{e}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn silence_dc_and_clipping_give_finite_descriptors() {
    let cfg = config("all");
    let n = 22050 * 2;
    let silence = vec![0.0f32; n];
    let dc = vec![0.5f32; n];
    // A full-scale tone driven 4× into hard clipping (a square-ish wave).
    let clipped: Vec<f32> = (0..n)
        .map(|i| {
            (4.0 * (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 22050.0).sin()).clamp(-1.0, 1.0)
        })
        .collect();
    for (name, x) in [("silence", &silence), ("dc", &dc), ("clipped", &clipped)] {
        let out = analyze(x, &cfg).unwrap();
        assert!(
            out.descriptor.iter().all(|v| v.is_finite()),
            "{name}: non-finite descriptor"
        );
    }
    let s = analyze(&silence, &cfg).unwrap();
    // Silence: no pitch, no high-frequency content, and no variation in anything.
    assert_eq!(value(&cfg, &s.descriptor, "hfc_log_mean"), 0.0);
    assert_eq!(value(&cfg, &s.descriptor, "hpcp_mean_A"), 0.0);
    assert_eq!(value(&cfg, &s.descriptor, "mfcc_std_0"), 0.0);
    // Clipping a 220 Hz tone makes odd harmonics: more HFC than the clean tone, still A.
    let c = analyze(&clipped, &cfg).unwrap();
    let tone: Vec<f32> = (0..n)
        .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 22050.0).sin())
        .collect();
    let t = analyze(&tone, &cfg).unwrap();
    assert!(
        value(&cfg, &c.descriptor, "hfc_log_mean") > value(&cfg, &t.descriptor, "hfc_log_mean")
    );
    assert_eq!(value(&cfg, &c.descriptor, "hpcp_mean_A"), 1.0);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn nan_and_inf_are_rejected_with_the_position() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut x = pcm("vibeace");
        x[40_000] = bad;
        let e = analyze(&x, &config("mfcc")).unwrap_err().to_string();
        assert!(e.contains("40000"), "{e}");
        let e = analyze(&x, &config("scattering")).unwrap_err().to_string();
        assert!(e.contains("40000"), "{e}");
    }
}

/// A gain change moves only MFCC c0 (by √128 · 20·log10 g under the ortho DCT), on a
/// signal loud enough that no mel band sits at the `amin` floor.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gain_moves_only_mfcc_c0() {
    let cfg = TrackConfig {
        keep_frames: true,
        ..config("mfcc")
    };
    let x = pcm("brahms");
    let base = analyze(&x, &cfg).unwrap().frames.unwrap().mfcc.unwrap();
    common::check_property(8, -12.0f32..12.0, |gain_db| {
        let g = 10f32.powf(gain_db / 20.0);
        let y: Vec<f32> = x.iter().map(|v| v * g).collect();
        let m = analyze(&y, &cfg).unwrap().frames.unwrap().mfcc.unwrap();
        let shift = 128f32.sqrt() * gain_db;
        for (a, b) in base.rows().zip(m.rows()) {
            prop_assert!((b[0] - a[0] - shift).abs() < 0.05 * shift.abs().max(1.0));
            for c in 1..20 {
                prop_assert!((b[c] - a[c]).abs() < 0.02, "c{c}: {} vs {}", a[c], b[c]);
            }
        }
        Ok(())
    });
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn scattering_descriptor_is_the_log1p_statistics_of_the_transform() {
    let cfg = TrackConfig {
        scattering: ScatteringConfig::new(8, (8, 1)),
        ..config("scattering")
    };
    let x = pcm("trumpet");
    let out = analyze(&x, &cfg).unwrap();
    let mut s =
        ainrec::features::scattering::Scattering1D::<f32>::new(cfg.scattering, x.len()).unwrap();
    let whole = s.transform(&x).unwrap();
    assert_eq!(out.n_scattering_frames, whole.n_time);
    let n = whole.n_coeffs;
    for c in [0, 1, n / 2, n - 1] {
        let row: Vec<f64> = whole.row(c).iter().map(|v| f64::from(*v).ln_1p()).collect();
        let m = row.iter().sum::<f64>() / row.len() as f64;
        assert!(
            (f64::from(out.descriptor[c]) - m).abs() <= 1e-5 * m.abs().max(1e-6),
            "coefficient {c}: {} vs {m}",
            out.descriptor[c]
        );
    }
}
