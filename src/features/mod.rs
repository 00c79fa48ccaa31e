//! Audio features: pure DSP on PCM in memory, no I/O.
//!
//! - [`frames`]: librosa-compatible STFT (centred, zero-padded, periodic Hann).
//! - [`mel`]: Slaney mel filter bank and `power_to_db`.
//! - [`mfcc`]: MFCC (DCT-II ortho) with Δ and ΔΔ.
//! - [`musicnn_input`]: the musicnn tagger's 16 kHz log-mel input (float16-quantised as musicnn
//!   does) in 3 s patches.
//! - [`spectral`]: HFC (Essentia "Masri") and spectral peaks (Essentia `SpectralPeaks`).
//! - [`hpcp`]: harmonic pitch-class profile (Essentia `HPCP`).
//! - [`scattering`] (+ [`filter_bank`]): 1-D wavelet scattering, orders 1–2, with Kymatio
//!   `Scattering1D` conventions; block-wise for bounded memory on long signals.
//! - [`track`]: all of them over a span of a track, in small steps, summarised into one
//!   descriptor with named values.

pub mod filter_bank;
pub mod frames;
pub mod hpcp;
pub mod mel;
pub mod mfcc;
pub mod musicnn_input;
pub mod scattering;
pub mod spectral;
pub mod track;

/// Frame-level values: `n_frames × n_coeffs`, row-major (one row per frame).
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMatrix {
    /// Number of frames (rows).
    pub n_frames: usize,
    /// Values per frame (columns).
    pub n_coeffs: usize,
    /// `n_frames · n_coeffs` values, frame after frame.
    pub data: Vec<f32>,
}

impl FrameMatrix {
    /// A matrix of zeros.
    pub fn zeros(n_frames: usize, n_coeffs: usize) -> Self {
        Self {
            n_frames,
            n_coeffs,
            data: vec![0.0; n_frames * n_coeffs],
        }
    }

    /// Frame `t` as a slice of `n_coeffs` values.
    pub fn row(&self, t: usize) -> &[f32] {
        &self.data[t * self.n_coeffs..(t + 1) * self.n_coeffs]
    }

    /// Iterates over frames.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.n_coeffs.max(1))
    }

    /// Per-coefficient mean and (population) standard deviation over frames.
    pub fn mean_std(&self) -> (Vec<f32>, Vec<f32>) {
        let c = self.n_coeffs;
        let n = self.n_frames.max(1) as f64;
        let mut mean = vec![0.0f64; c];
        for row in self.rows() {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; c];
        for row in self.rows() {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (*v as f64 - m).powi(2);
            }
        }
        (
            mean.iter().map(|m| *m as f32).collect(),
            var.iter().map(|s| (s / n).sqrt() as f32).collect(),
        )
    }
}

impl serde::Serialize for FrameMatrix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.n_frames))?;
        for row in self.rows().take(self.n_frames) {
            seq.serialize_element(row)?;
        }
        seq.end()
    }
}

/// The descriptor sets the audio proxy compares and the browser model may read, each a list of
/// descriptor-name prefixes.
pub const FEATURE_SETS: [(&str, &[&str]); 4] = [
    ("mfcc", &["mfcc_"]),
    ("scattering", &["scat"]),
    ("hfc_hpcp", &["hfc_", "hpcp_"]),
    ("all", &[""]),
];

/// The descriptor columns whose names start with one of `prefixes`.
pub fn select_columns(names: &[String], prefixes: &[&str]) -> Vec<usize> {
    names
        .iter()
        .enumerate()
        .filter(|(_, n)| prefixes.iter().any(|p| n.starts_with(p)))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod set_tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn columns_are_selected_by_prefix() {
        let names: Vec<String> = ["mfcc_mean_0", "scat0_mean", "hfc_log_mean", "hpcp_mean_A"]
            .map(String::from)
            .into();
        assert_eq!(select_columns(&names, &["mfcc_"]), vec![0]);
        assert_eq!(select_columns(&names, &["hfc_", "hpcp_"]), vec![2, 3]);
        assert_eq!(select_columns(&names, &[""]).len(), 4);
    }
}
