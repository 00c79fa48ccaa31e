//! Property tests for HFC and HPCP: pure tones land on their pitch class, silence gives
//! zeros (not NaN), and a gain change leaves unit-max HPCP alone while scaling HFC by its
//! square. proptest runs without failure persistence so the same file runs under wasm.
use crate::common;

use ainrec::features::hpcp::{HpcpExtractor, PITCH_CLASSES};
use ainrec::features::spectral::hfc_masri;
use proptest::prelude::*;
use realfft::RealFftPlanner;

const SR: f32 = 22_050.0;
const N_FFT: usize = 2048;
const N_BINS: usize = N_FFT / 2 + 1;

const CASES: u32 = 256;

/// Magnitude spectrum of one periodic-Hann-windowed frame of `amp · sin(2π f n / sr + φ)`,
/// computed in f64 and rounded to f32.
///
/// f64 on purpose: this is the spectrum of a *pure* tone, whose Hann side lobes decay
/// monotonically (no peaks) down to ~1e-9 of the tone at the far end. An f32 signal or FFT
/// adds a round-off floor near 1e-7 that is full of tiny peaks, and with
/// `maxPeaks 100, orderBy frequency` a tone above ~3 kHz can then fall behind the 100 lowest
/// round-off peaks and be ignored (Essentia does the same on the same spectrum).
fn tone_spectrum(freq: f64, amp: f64, phase: f64) -> Vec<f32> {
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
    let mut x: Vec<f64> = (0..N_FFT)
        .map(|n| {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos();
            let s = (2.0 * std::f64::consts::PI * freq * n as f64 / f64::from(SR) + phase).sin();
            w * amp * s
        })
        .collect();
    let mut spec = fft.make_output_vec();
    fft.process(&mut x, &mut spec).unwrap();
    spec.iter().map(|c| c.norm() as f32).collect()
}

/// A sine between 60 and 4000 Hz peaks at its own pitch class (bin 0 = A): that class
/// holds the maximum, 1.
///
/// "Holds the maximum" rather than "is the only argmax" because of Essentia's band
/// preset: a pure tone leaves the other band (below/above 500 Hz) with nothing but tiny
/// side-lobe ripple and round-off peaks (≲1e-8 of the tone), which unit-max normalisation
/// blows up to 1 in some pitch class before the bands are summed. The tone's class then
/// gets 1 + (that band there) ≥ 1 and that band's top class 1 + (≈1e-16, lost in f32) = 1:
/// a tie is possible and the first index wins, exactly as in Essentia. Real audio has
/// content in both bands (see the parity test's music clips).
///
/// The tone is kept within ±0.3 semitone of an equal-tempered pitch: with Essentia's
/// 1-semitone squared-cosine window a tone exactly between two semitones contributes
/// cos²(π/2) = 0 to both, so no pitch class is "its own" there. ±0.3 semitone also stays
/// clear of the frequency bias of parabolic interpolation on linear Hann magnitudes, which
/// is largest in semitones at the lowest frequencies.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn pure_tone_peaks_at_its_pitch_class() {
    // 440·2^(-35/12) ≈ 58 Hz … 440·2^(39/12) ≈ 4186 Hz
    let strategy = (
        -35i32..=39,
        -0.3f64..0.3,
        1e-3f64..1.0,
        0.0f64..std::f64::consts::TAU,
    );
    common::check_property(CASES, strategy, |(semitone, detune, amp, phase)| {
        let freq = 440.0 * 2f64.powf((f64::from(semitone) + detune) / 12.0);
        prop_assume!((60.0..=4000.0).contains(&freq));
        let mag = tone_spectrum(freq, amp, phase);
        let mut x = HpcpExtractor::with_design_defaults(SR, N_BINS).unwrap();
        let mut out = [0.0f32; 12];
        x.compute(&mag, &mut out).unwrap();
        let expected = semitone.rem_euclid(12) as usize;
        prop_assert_eq!(
            out[expected],
            1.0,
            "{} Hz should peak at {} but HPCP is {:?}",
            freq,
            PITCH_CLASSES[expected],
            out
        );
        prop_assert!(out.iter().all(|&v| v <= 1.0));
        Ok(())
    });
}

/// Silence (and spectra too quiet to have peaks) gives zeros, never NaN.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn silence_gives_zeros() {
    common::check_property(CASES, 2usize..4097, |n_bins| {
        let mut x = HpcpExtractor::with_design_defaults(SR, n_bins).unwrap();
        let zeros = vec![0.0f32; n_bins];
        let mut out = [f32::NAN; 12];
        x.compute(&zeros, &mut out).unwrap();
        prop_assert_eq!(out, [0.0f32; 12]);
        prop_assert_eq!(hfc_masri(&zeros, SR), 0.0);
        Ok(())
    });
}

/// A gain `g` on the spectrum leaves unit-max HPCP unchanged and multiplies HFC by `g²`.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gain_invariance() {
    let strategy = (
        proptest::collection::vec(0.0f32..1.0, N_BINS),
        -10.0f32..10.0,
    );
    common::check_property(CASES, strategy, |(mag, log2_gain)| {
        let g = log2_gain.exp2();
        let scaled: Vec<f32> = mag.iter().map(|&m| m * g).collect();
        let mut x = HpcpExtractor::with_design_defaults(SR, N_BINS).unwrap();
        let (mut a, mut b) = ([0.0f32; 12], [0.0f32; 12]);
        x.compute(&mag, &mut a).unwrap();
        x.compute(&scaled, &mut b).unwrap();
        for (u, v) in a.iter().zip(&b) {
            // A gain that is not a power of two rounds every magnitude, which moves the
            // interpolated peaks by ~1e-7 relative; values in [0, 1] move by about as much.
            prop_assert!((u - v).abs() <= 1e-4, "{:?} vs {:?}", a, b);
        }
        let (h, hs) = (
            f64::from(hfc_masri(&mag, SR)),
            f64::from(hfc_masri(&scaled, SR)),
        );
        let want = h * f64::from(g) * f64::from(g);
        prop_assert!((hs - want).abs() <= 1e-5 * want, "HFC {} vs {} × g²", hs, h);
        Ok(())
    });
}
