//! MFCC with Δ and ΔΔ, matching `librosa.feature.mfcc` and `librosa.feature.delta`.
//!
//! Pipeline per frame: power spectrum (see [`super::frames`]) → 128 Slaney mel bands →
//! (over the whole analysed span) `power_to_db(ref=1, amin=1e-10, top_db=80)` →
//! DCT-II with orthonormal scaling → the first 20 coefficients.
//!
//! Memory: only the mel frames are kept (`frames × n_mels` floats), never the spectrogram.
//! `top_db` needs the maximum over the whole span before any frame can be finished, which
//! is why the mel frames are buffered rather than turned into MFCC on the fly.

use super::frames::{Stft, StftConfig};
use super::mel::{power_to_db_in_place, MelConfig, MelFilterBank};
use super::FrameMatrix;
use crate::error::{Error, Result};

/// MFCC parameters; `Default` is librosa's `feature.mfcc` default at 22050 Hz.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MfccConfig {
    /// Frame layout.
    pub stft: StftConfig,
    /// Mel filter bank.
    pub mel: MelConfig,
    /// Number of cepstral coefficients kept (20).
    pub n_mfcc: usize,
    /// Floor of the power before the log (1e-10).
    pub amin: f32,
    /// Dynamic range kept below the span's maximum, in dB (80); `None` keeps everything.
    pub top_db: Option<f32>,
    /// Savitzky–Golay window of Δ and ΔΔ in frames (9, odd).
    pub delta_width: usize,
}

impl Default for MfccConfig {
    fn default() -> Self {
        Self {
            stft: StftConfig::default(),
            mel: MelConfig::default(),
            n_mfcc: 20,
            amin: 1e-10,
            top_db: Some(80.0),
            delta_width: 9,
        }
    }
}

/// Orthonormal DCT-II basis rows `0..n_out` for inputs of length `n` (scipy `norm="ortho"`).
pub fn dct2_ortho_matrix(n_out: usize, n: usize) -> Vec<f32> {
    let mut m = Vec::with_capacity(n_out * n);
    for k in 0..n_out {
        let scale = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for i in 0..n {
            let arg = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64;
            m.push((scale * arg.cos()) as f32);
        }
    }
    m
}

/// Accumulates mel frames from power spectra and turns them into MFCC at the end.
///
/// Use [`MfccAccumulator::push_power`] for each frame (so the power spectrum can be
/// shared with other features) and [`MfccAccumulator::finish`] once the span is done.
#[derive(Debug, Clone)]
pub struct MfccAccumulator {
    cfg: MfccConfig,
    bank: MelFilterBank,
    dct: Vec<f32>,
    mel_frames: Vec<f32>,
}

impl MfccAccumulator {
    /// Builds the filter bank and DCT basis once.
    pub fn new(cfg: MfccConfig) -> Result<Self> {
        cfg.stft.validate()?;
        if cfg.n_mfcc == 0 || cfg.n_mfcc > cfg.mel.n_mels {
            return Err(Error::invalid(
                "n_mfcc",
                format!("1..={}", cfg.mel.n_mels),
                cfg.n_mfcc,
            ));
        }
        if cfg.delta_width < 3 || cfg.delta_width % 2 == 0 {
            return Err(Error::invalid(
                "delta_width",
                "an odd number ≥ 3",
                cfg.delta_width,
            ));
        }
        let bank = MelFilterBank::new(&cfg.mel, cfg.stft.sample_rate, cfg.stft.n_fft)?;
        Ok(Self {
            dct: dct2_ortho_matrix(cfg.n_mfcc, cfg.mel.n_mels),
            bank,
            cfg,
            mel_frames: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MfccConfig {
        &self.cfg
    }

    /// Reserves room for `n` frames (avoids regrowth when the count is known).
    pub fn reserve(&mut self, n_frames: usize) {
        self.mel_frames.reserve(n_frames * self.bank.n_mels());
    }

    /// Adds one power-spectrum frame (`n_fft / 2 + 1` values).
    pub fn push_power(&mut self, power: &[f32]) {
        let n_mels = self.bank.n_mels();
        let start = self.mel_frames.len();
        self.mel_frames.resize(start + n_mels, 0.0);
        self.bank.apply(power, &mut self.mel_frames[start..]);
    }

    /// Number of frames pushed so far.
    pub fn n_frames(&self) -> usize {
        self.mel_frames.len() / self.bank.n_mels()
    }

    /// Converts the buffered mel frames to MFCC (`frames × n_mfcc`) and clears the buffer.
    pub fn finish(&mut self) -> FrameMatrix {
        let n_mels = self.bank.n_mels();
        let n_mfcc = self.cfg.n_mfcc;
        power_to_db_in_place(&mut self.mel_frames, self.cfg.amin, self.cfg.top_db);
        let n_frames = self.n_frames();
        let mut out = FrameMatrix::zeros(n_frames, n_mfcc);
        for (mel, row) in self
            .mel_frames
            .chunks_exact(n_mels)
            .zip(out.data.chunks_exact_mut(n_mfcc))
        {
            for (o, basis) in row.iter_mut().zip(self.dct.chunks_exact(n_mels)) {
                *o = basis.iter().zip(mel).map(|(b, m)| b * m).sum();
            }
        }
        self.mel_frames.clear();
        out
    }
}

/// MFCC of a whole signal (`frames × n_mfcc`), as `librosa.feature.mfcc` returns it transposed.
pub fn mfcc(signal: &[f32], cfg: &MfccConfig) -> Result<FrameMatrix> {
    crate::audio::check_finite(signal)?;
    let mut stft = Stft::new(cfg.stft)?;
    let mut acc = MfccAccumulator::new(*cfg)?;
    let n_frames = cfg.stft.n_frames(signal.len());
    acc.reserve(n_frames);
    let mut power = vec![0.0; cfg.stft.n_bins()];
    for t in 0..n_frames {
        stft.power_frame(signal, t, &mut power);
        acc.push_power(&power);
    }
    let out = acc.finish();
    // Finite input can still overflow the f32 power spectrum (|x| ≳ 1e19): say so rather
    // than hand back NaN.
    if let Some(i) = out.data.iter().position(|v| !v.is_finite()) {
        let peak = signal.iter().fold(0f32, |m, x| m.max(x.abs()));
        return Err(Error::Audio(format!(
            "MFCC {} of frame {} is {} (expected finite): the signal peaks at |x| = {peak:e}, \
             PCM is expected in [-1, 1]",
            i % out.n_coeffs.max(1),
            i / out.n_coeffs.max(1),
            out.data[i]
        )));
    }
    Ok(out)
}

/// Savitzky–Golay derivative along time, as `librosa.feature.delta(data, width, order,
/// mode="interp")` (scipy `savgol_filter` with `polyorder = deriv = order`).
///
/// Inside, each frame gets the least-squares polynomial's derivative over the centred
/// window; within `width / 2` frames of either end, scipy's `interp` mode fits one
/// polynomial to the first (last) `width` frames and differentiates it — for
/// `polyorder == deriv` that derivative is constant, so the edge frames repeat the
/// value of the first (last) full window.
///
/// librosa refuses inputs shorter than `width`; we shrink the window to the largest odd
/// length that fits (and return zeros below 3 frames, where no slope exists), so that a
/// 0.1 s clip still gets features.
pub fn delta(data: &FrameMatrix, width: usize, order: usize) -> Result<FrameMatrix> {
    if !(order == 1 || order == 2) {
        return Err(Error::invalid("delta order", "1 or 2", order));
    }
    let n = data.n_frames;
    let mut out = FrameMatrix::zeros(n, data.n_coeffs);
    let mut w = width.min(if n % 2 == 1 { n } else { n.saturating_sub(1) });
    if order == 2 && w < 3 {
        w = 0;
    }
    if w < 3 {
        return Ok(out);
    }
    let half = (w / 2) as isize;
    // Least-squares derivative weights over offsets -half..=half.
    let weights: Vec<f32> = match order {
        1 => {
            let denom: f64 = (-half..=half).map(|k| (k * k) as f64).sum();
            (-half..=half).map(|k| (k as f64 / denom) as f32).collect()
        }
        _ => {
            let ks: Vec<f64> = (-half..=half).map(|k| (k * k) as f64).collect();
            let mean = ks.iter().sum::<f64>() / ks.len() as f64;
            let denom: f64 = ks.iter().map(|v| (v - mean).powi(2)).sum();
            ks.iter()
                .map(|v| (2.0 * (v - mean) / denom) as f32)
                .collect()
        }
    };
    let c = data.n_coeffs;
    let h = half as usize;
    for t in 0..n {
        // Edge frames take the value of the nearest full window (see above).
        let centre = t.clamp(h, n - 1 - h);
        for j in 0..c {
            let mut acc = 0.0f32;
            for (i, wt) in weights.iter().enumerate() {
                acc += wt * data.data[(centre + i - h) * c + j];
            }
            out.data[t * c + j] = acc;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_basis_is_orthonormal() {
        let n = 16;
        let m = dct2_ortho_matrix(n, n);
        for a in 0..n {
            for b in 0..n {
                let dot: f32 = (0..n).map(|i| m[a * n + i] * m[b * n + i]).sum();
                let expect = if a == b { 1.0 } else { 0.0 };
                assert!((dot - expect).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn delta_of_a_ramp_is_its_slope_everywhere() {
        let n = 20;
        let mut m = FrameMatrix::zeros(n, 2);
        for t in 0..n {
            m.data[t * 2] = 3.0 * t as f32;
            m.data[t * 2 + 1] = (t * t) as f32;
        }
        let d1 = delta(&m, 9, 1).unwrap();
        let d2 = delta(&m, 9, 2).unwrap();
        for t in 0..n {
            assert!((d1.data[t * 2] - 3.0).abs() < 1e-4);
            assert!((d2.data[t * 2 + 1] - 2.0).abs() < 1e-3);
        }
    }

    #[test]
    fn delta_handles_short_inputs() {
        for n in 0..9 {
            let m = FrameMatrix::zeros(n, 3);
            let d = delta(&m, 9, 2).unwrap();
            assert_eq!(d.n_frames, n);
        }
    }
}
