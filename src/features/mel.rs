//! Slaney mel filter bank and `power_to_db`, as librosa computes them.
//!
//! `librosa.filters.mel(sr, n_fft, n_mels=128, fmin=0, fmax=sr/2, htk=False,
//! norm="slaney")`: triangular filters whose corners are equally spaced on the Slaney
//! mel scale (linear below 1 kHz, logarithmic above), each scaled by
//! `2 / (f_{i+2} − f_i)` so that every filter has unit area. The weights are computed in
//! f64 and stored as f32, as librosa stores them.

use crate::error::{Error, Result};

/// Mel filter-bank parameters (librosa defaults).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MelConfig {
    /// Number of mel bands (128).
    pub n_mels: usize,
    /// Lowest filter corner in Hz (0).
    pub fmin: f64,
    /// Highest filter corner in Hz; `None` means `sample_rate / 2`.
    pub fmax: Option<f64>,
}

impl Default for MelConfig {
    fn default() -> Self {
        Self {
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
        }
    }
}

/// Slaney scale: Hz per mel in the linear part (3 mels per 200 Hz).
const F_SP: f64 = 200.0 / 3.0;
/// Slaney scale: where the logarithmic part starts, in Hz (and in mels).
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

/// Slaney scale: mels per natural-log step above 1 kHz (`ln(6.4) / 27`).
fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Slaney's mel scale: linear (3 bands per 200 Hz) below 1 kHz, log above.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// A mel filter bank stored sparsely: each band keeps only its non-zero bin range.
#[derive(Debug, Clone)]
pub struct MelFilterBank {
    n_bins: usize,
    /// For band `m`: first non-zero bin and its weights.
    bands: Vec<(usize, Vec<f32>)>,
}

impl MelFilterBank {
    /// Builds the Slaney-normalised bank for an `n_fft`-point spectrum at `sample_rate`.
    pub fn new(cfg: &MelConfig, sample_rate: u32, n_fft: usize) -> Result<Self> {
        let nyquist = sample_rate as f64 / 2.0;
        let fmax = cfg.fmax.unwrap_or(nyquist);
        if cfg.n_mels == 0 {
            return Err(Error::invalid("n_mels", "≥ 1", 0));
        }
        if !(cfg.fmin >= 0.0 && cfg.fmin < fmax && fmax <= nyquist) {
            return Err(Error::invalid(
                "mel frequency range",
                format!("0 ≤ fmin < fmax ≤ {nyquist} Hz"),
                format!("fmin {} Hz, fmax {fmax} Hz", cfg.fmin),
            ));
        }
        let n_bins = n_fft / 2 + 1;
        let fft_freqs: Vec<f64> = (0..n_bins)
            .map(|k| k as f64 * nyquist / (n_bins - 1) as f64)
            .collect();
        let (lo, hi) = (hz_to_mel(cfg.fmin), hz_to_mel(fmax));
        let n_pts = cfg.n_mels + 2;
        let mel_f: Vec<f64> = (0..n_pts)
            .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_pts - 1) as f64))
            .collect();
        let bands = (0..cfg.n_mels)
            .map(|m| {
                let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
                let enorm = 2.0 / (f2 - f0);
                let weights: Vec<f32> = fft_freqs
                    .iter()
                    .map(|&f| {
                        let lower = (f - f0) / (f1 - f0);
                        let upper = (f2 - f) / (f2 - f1);
                        (lower.min(upper).max(0.0) * enorm) as f32
                    })
                    .collect();
                let first = weights.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = weights
                    .iter()
                    .rposition(|&w| w > 0.0)
                    .map_or(first, |l| l + 1);
                (first, weights[first..last].to_vec())
            })
            .collect();
        Ok(Self { n_bins, bands })
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.bands.len()
    }

    /// Number of spectrum bins the bank expects.
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Applies the bank to one power spectrum frame (`n_bins` values) → `n_mels` values.
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        debug_assert_eq!(power.len(), self.n_bins);
        for (o, (first, w)) in out.iter_mut().zip(&self.bands) {
            *o = w.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
        }
    }

    /// Dense weights of band `m` over all bins (for tests and inspection).
    pub fn dense_band(&self, m: usize) -> Vec<f32> {
        let mut v = vec![0.0; self.n_bins];
        let (first, w) = &self.bands[m];
        v[*first..*first + w.len()].copy_from_slice(w);
        v
    }
}

/// `librosa.power_to_db(S, ref=1.0, amin, top_db)` applied in place over a whole span.
///
/// `10·log10(max(amin, S))`, then, if `top_db` is set, floored at `max − top_db` where
/// the max is taken over *every* value of the span (that is why MFCC depends on the
/// analysed span as a whole, as in librosa).
pub fn power_to_db_in_place(values: &mut [f32], amin: f32, top_db: Option<f32>) {
    let mut max = f32::NEG_INFINITY;
    for v in values.iter_mut() {
        *v = 10.0 * v.max(amin).log10();
        max = max.max(*v);
    }
    if let Some(top) = top_db {
        let floor = max - top;
        for v in values.iter_mut() {
            *v = v.max(floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn slaney_bands_have_unit_area_in_hz() {
        // Slaney normalisation makes each triangle's area (in Hz) equal to 1 on a
        // fine grid; at n_fft 2048 the low bands are under-sampled, so check the upper ones.
        let bank = MelFilterBank::new(&MelConfig::default(), 22050, 2048).unwrap();
        let df = 22050.0 / 2048.0;
        for m in [60, 100, 127] {
            let area: f32 = bank.dense_band(m).iter().sum::<f32>() * df;
            assert!((area - 1.0).abs() < 0.02, "band {m}: area {area}");
        }
    }

    #[test]
    fn top_db_floors_relative_to_max() {
        let mut v = vec![1.0, 1e-12, 1e-3];
        power_to_db_in_place(&mut v, 1e-10, Some(80.0));
        assert_eq!(v, vec![0.0, -80.0, -30.0]);
    }
}
