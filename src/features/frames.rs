//! Short-time Fourier transform with librosa's conventions.
//!
//! librosa ≥ 0.10 (`librosa.stft(y, n_fft, hop_length, window="hann", center=True,
//! pad_mode="constant")`) centres frame `t` on sample `t · hop`, pads the signal with
//! `n_fft / 2` zeros on both sides, and windows with a *periodic* Hann window
//! (`scipy.signal.get_window("hann", n_fft, fftbins=True)`). A signal of `n` samples
//! therefore has `1 + ⌊n / hop⌋` frames. We follow that exactly so that anyone can check
//! our features against librosa on the same samples.
//!
//! The FFT is planned once per [`Stft`] (realfft on top of rustfft) and every buffer is
//! reused, so analysing a frame allocates nothing. No spectrogram is ever materialised:
//! callers receive one frame's spectrum at a time and keep only what they derive from it.
//!
//! Units and normalisation: the forward transform is unnormalised (`X_k = Σ x_n w_n
//! e^{-2πikn/N}`), like numpy's and librosa's; bin `k` is at `k · sr / n_fft` Hz.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

use crate::error::{Error, Result};

/// Frame layout shared by every frame-level feature.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StftConfig {
    /// Sample rate of the input in Hz (22050 by default).
    pub sample_rate: u32,
    /// FFT size and window length in samples (2048 by default).
    pub n_fft: usize,
    /// Hop between frame centres in samples (512 by default).
    pub hop_length: usize,
}

impl Default for StftConfig {
    fn default() -> Self {
        Self {
            sample_rate: 22_050,
            n_fft: 2048,
            hop_length: 512,
        }
    }
}

impl StftConfig {
    /// Checks that the sizes make sense.
    pub fn validate(&self) -> Result<()> {
        if self.n_fft < 16 || self.n_fft % 2 != 0 {
            return Err(Error::invalid("n_fft", "an even number ≥ 16", self.n_fft));
        }
        if self.hop_length == 0 || self.hop_length > self.n_fft {
            return Err(Error::invalid(
                "hop_length",
                format!("1..={}", self.n_fft),
                self.hop_length,
            ));
        }
        if self.sample_rate == 0 {
            return Err(Error::invalid("sample_rate", "> 0 Hz", self.sample_rate));
        }
        Ok(())
    }

    /// Number of frequency bins of one frame: `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of centred frames for a signal of `n_samples`: `1 + ⌊n / hop⌋` (librosa).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + n_samples / self.hop_length
    }

    /// Centre frequency of bin `k` in Hz.
    pub fn bin_frequency(&self, k: usize) -> f64 {
        k as f64 * self.sample_rate as f64 / self.n_fft as f64
    }
}

/// Periodic Hann window of length `n` (`0.5 − 0.5 cos(2πi/n)`), as scipy's `fftbins=True`.
pub fn hann_periodic(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// A planned STFT: one real FFT plan plus reusable buffers.
pub struct Stft {
    cfg: StftConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    frame: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft").field("cfg", &self.cfg).finish()
    }
}

impl Stft {
    /// Plans the FFT for `cfg.n_fft` and allocates the buffers once.
    pub fn new(cfg: StftConfig) -> Result<Self> {
        cfg.validate()?;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(cfg.n_fft);
        let spectrum = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        Ok(Self {
            cfg,
            window: hann_periodic(cfg.n_fft),
            frame: vec![0.0; cfg.n_fft],
            spectrum,
            scratch,
            fft,
        })
    }

    /// The configuration this STFT was planned for.
    pub fn config(&self) -> &StftConfig {
        &self.cfg
    }

    /// Computes the complex spectrum of frame `t` of `signal` (`n_fft / 2 + 1` bins).
    ///
    /// Frame `t` covers samples `t·hop − n_fft/2 .. t·hop + n_fft/2`; samples outside
    /// the signal are zeros (librosa's `pad_mode="constant"`).
    pub fn frame_spectrum(&mut self, signal: &[f32], t: usize) -> &[Complex32] {
        let half = self.cfg.n_fft / 2;
        let start = (t * self.cfg.hop_length) as isize - half as isize;
        for (i, (out, w)) in self.frame.iter_mut().zip(&self.window).enumerate() {
            let idx = start + i as isize;
            *out = if idx >= 0 && (idx as usize) < signal.len() {
                signal[idx as usize] * w
            } else {
                0.0
            };
        }
        // Lengths are fixed by the plan, so this cannot fail.
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .expect("buffer sizes match the FFT plan");
        &self.spectrum
    }

    /// Writes the power spectrum `|X_k|²` of frame `t` into `out` (`n_fft / 2 + 1` values).
    pub fn power_frame(&mut self, signal: &[f32], t: usize, out: &mut [f32]) {
        let spec = self.frame_spectrum(signal, t);
        for (o, c) in out.iter_mut().zip(spec) {
            *o = c.norm_sqr();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_matches_librosa() {
        let cfg = StftConfig::default();
        assert_eq!(cfg.n_frames(0), 1);
        assert_eq!(cfg.n_frames(511), 1);
        assert_eq!(cfg.n_frames(512), 2);
        assert_eq!(cfg.n_frames(65536), 129);
    }

    #[test]
    fn periodic_hann_is_periodic() {
        let w = hann_periodic(8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-7);
        assert!((w[1] - w[7]).abs() < 1e-7);
    }

    #[test]
    fn sine_peaks_in_its_bin() {
        let cfg = StftConfig::default();
        let mut stft = Stft::new(cfg).unwrap();
        // Exactly on bin 100: 100 · 22050 / 2048 Hz.
        let f = cfg.bin_frequency(100);
        let x: Vec<f32> = (0..8192)
            .map(|n| {
                (2.0 * std::f64::consts::PI * f * n as f64 / cfg.sample_rate as f64).sin() as f32
            })
            .collect();
        let mut p = vec![0.0; cfg.n_bins()];
        stft.power_frame(&x, 8, &mut p);
        let argmax = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(argmax, 100);
        // Periodic Hann has a coherent gain of n/2: |X| = A · n/4 for a sine of amplitude A.
        let expected = (2048.0f32 / 4.0).powi(2);
        assert!((p[100] - expected).abs() / expected < 1e-3, "{}", p[100]);
    }

    #[test]
    fn rejects_bad_sizes() {
        let bad = StftConfig {
            hop_length: 0,
            ..StftConfig::default()
        };
        assert!(Stft::new(bad).is_err());
    }
}
