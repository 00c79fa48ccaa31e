//! MFCC, Δ and ΔΔ parity with librosa 0.11 on the committed clips and synthetic signals
//! (references made by `tests/reference/gen_features.py`). Runs natively and in Chromium.

use crate::common::{frames, pcm, reference, SIGNALS};
use ainrec::features::mfcc::{delta, mfcc, MfccConfig};
use ainrec::features::FrameMatrix;

/// Max |ours − ref| on each frame must stay within `tol × max|ref|` of that frame.
fn assert_per_frame(ours: &FrameMatrix, reference: &[Vec<f64>], tol: f64, what: &str) {
    assert_eq!(ours.n_frames, reference.len(), "{what}: frame count");
    for (t, (row, r)) in ours.rows().zip(reference).enumerate() {
        let scale = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = row
            .iter()
            .zip(r)
            .fold(0.0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
        assert!(
            err <= tol * scale,
            "{what}: frame {t}: max error {err} > {tol} × {scale}"
        );
    }
}

/// Max |ours − ref| over the whole signal within `tol × max|ref| + floor` (used for Δ,
/// which is zero on flat spans where a per-frame bound would demand bit equality).
///
/// `floor` is the rounding noise of the f32 MFCC that Δ filters: a few ulps of the
/// largest coefficient (on silence c0 = −1131, whose ulp is 1.2e-4, while librosa's f64 Δ
/// is 1e-13), so we pass 1e-5 × max|MFCC|.
fn assert_global(ours: &FrameMatrix, reference: &[Vec<f64>], tol: f64, floor: f64, what: &str) {
    assert_eq!(ours.n_frames, reference.len(), "{what}: frame count");
    let scale = reference
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let err = ours
        .rows()
        .zip(reference)
        .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (*x as f64 - y).abs()))
        .fold(0.0f64, f64::max);
    assert!(
        err <= tol * scale + floor,
        "{what}: max error {err} > {tol} × {scale} + {floor}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn mfcc_matches_librosa_on_every_frame() {
    let cfg = MfccConfig::default();
    for key in SIGNALS {
        let r = reference(key);
        let ours = mfcc(&pcm(key), &cfg).unwrap();
        assert_eq!(ours.n_coeffs, 20);
        assert_per_frame(&ours, &frames(&r, "mfcc"), 1e-3, &format!("{key} mfcc"));
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn deltas_match_librosa() {
    let cfg = MfccConfig::default();
    for key in SIGNALS {
        let r = reference(key);
        let m = mfcc(&pcm(key), &cfg).unwrap();
        let d1 = delta(&m, 9, 1).unwrap();
        let d2 = delta(&m, 9, 2).unwrap();
        let floor = 1e-5 * m.data.iter().fold(0.0f64, |a, v| a.max(v.abs() as f64));
        assert_global(
            &d1,
            &frames(&r, "mfcc_delta"),
            1e-3,
            floor,
            &format!("{key} delta"),
        );
        assert_global(
            &d2,
            &frames(&r, "mfcc_delta2"),
            1e-3,
            floor,
            &format!("{key} delta2"),
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn stft_magnitude_matches_numpy() {
    use ainrec::features::frames::{Stft, StftConfig};
    let mut stft = Stft::new(StftConfig::default()).unwrap();
    for key in SIGNALS {
        let r = reference(key);
        let want: Vec<f64> = frames(&r, "stft_mag_frame10")
            .into_iter()
            .flatten()
            .collect();
        let x = pcm(key);
        let got: Vec<f32> = stft
            .frame_spectrum(&x, 10)
            .iter()
            .map(|c| c.norm())
            .collect();
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - w).abs() <= 1e-4 * scale.max(1e-9),
                "{key} bin {k}: {g} vs {w}"
            );
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn nan_and_inf_are_rejected_with_the_position() {
    let mut x = pcm("tone440");
    x[1234] = f32::NAN;
    let e = mfcc(&x, &MfccConfig::default()).unwrap_err().to_string();
    assert!(e.contains("sample 1234"), "{e}");
    x[1234] = f32::INFINITY;
    assert!(mfcc(&x, &MfccConfig::default()).is_err());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn degenerate_lengths_give_finite_frames() {
    let cfg = MfccConfig::default();
    for n in [0usize, 1, 100, 2047, 2048, 2205] {
        let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.01).sin() * 0.3).collect();
        let m = mfcc(&x, &cfg).unwrap();
        assert_eq!(m.n_frames, 1 + n / 512);
        assert!(m.data.iter().all(|v| v.is_finite()), "n = {n}");
    }
}
