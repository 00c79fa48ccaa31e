//! The input of the musicnn tagger: musicnn's own log-mel front end, cut into 3 s patches.
//!
//! musicnn (Pons & Serra 2019, `musicnn/extractor.py::batch_data`) computes, on 16 kHz mono PCM:
//!
//! ```text
//! S      = librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256, n_mels=96)
//!          (centred frames, zero padding, periodic Hann, |X|², Slaney mel with Slaney norm,
//!           0–8000 Hz) — as float32, frame-major
//! input  = log10(10000 · float16(S) + 1)
//! patch  = 187 consecutive frames (3 s: ⌊(48000 − 256) / 256⌋ + 1), non-overlapping,
//!          from frame 0; the frames after the last whole patch are dropped
//! ```
//!
//! The network was trained on that input, so we reproduce it exactly, including its one odd
//! step: musicnn stores the spectrogram as float16 (`astype(np.float16)`, round to nearest
//! even) before the logarithm. The rest is float32: under numpy 1.x's value-based casting
//! (musicnn's era) the Python int 10000 is a uint16 scalar, and float16 × uint16 promotes to
//! float32, so `10000·h + 1` and the log are float32 — no float16 overflow. (Checked by
//! `tests/reference/gen_musicnn.py`; under numpy ≥ 2 the same code would stay in float16.)
//! A mel power above the largest float16 (65504) would become `inf` in musicnn; we saturate it
//! at 65504 instead so the network never sees a non-finite input.

use half::f16;

use super::frames::{Stft, StftConfig};
use super::mel::{MelConfig, MelFilterBank};
use super::FrameMatrix;
use crate::error::{Error, Result};

/// Sample rate musicnn expects, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT size of musicnn's mel spectrogram.
pub const N_FFT: usize = 512;
/// Hop between frames, in samples (16 ms).
pub const HOP: usize = 256;
/// Mel bands.
pub const N_MELS: usize = 96;
/// Frames per patch: 3 s (`librosa.time_to_frames(3, sr, n_fft, hop) + 1`).
pub const PATCH_FRAMES: usize = 187;
/// Samples a patch spans: the audio needed for [`PATCH_FRAMES`] frames starting at frame 0.
pub const PATCH_SAMPLES: usize = PATCH_FRAMES * HOP;

/// The 50 Last.fm tags of `MSD_musicnn`, in the order of its outputs (`musicnn/configuration.py`
/// `MSD_LABELS`; the weight file's `tags` metadata must say the same).
pub const MSD_TAGS: [&str; 50] = [
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
];

/// Size of musicnn's embedding (its penultimate layer).
pub const EMBEDDING_DIM: usize = 200;

/// Names of the musicnn values of a descriptor: `tag.<name>` for the 50 probabilities, then
/// `musicnn_embedding_<i>` for the embedding (means over the span's patches).
pub fn descriptor_names() -> Vec<String> {
    MSD_TAGS
        .iter()
        .map(|t| format!("tag.{t}"))
        .chain((0..EMBEDDING_DIM).map(|i| format!("musicnn_embedding_{i}")))
        .collect()
}

/// musicnn's mel spectrogram: power, not yet quantised or logged.
#[derive(Debug)]
pub struct MelSpectrogram {
    stft: Stft,
    bank: MelFilterBank,
}

impl MelSpectrogram {
    /// Plans the STFT and builds the 96-band Slaney bank for 16 kHz.
    pub fn new() -> Result<Self> {
        let stft = Stft::new(StftConfig {
            sample_rate: SAMPLE_RATE,
            n_fft: N_FFT,
            hop_length: HOP,
        })?;
        let bank = MelFilterBank::new(
            &MelConfig {
                n_mels: N_MELS,
                fmin: 0.0,
                fmax: None,
            },
            SAMPLE_RATE,
            N_FFT,
        )?;
        Ok(Self { stft, bank })
    }

    /// Mel power of frames `first .. first + n` of `pcm` (16 kHz), `n × 96`, frame-major.
    ///
    /// Frame `t` is centred on sample `t · 256` of the whole signal, so a patch computed alone
    /// equals the same rows of the whole spectrogram.
    pub fn power(&mut self, pcm: &[f32], first: usize, n: usize) -> FrameMatrix {
        let mut out = FrameMatrix::zeros(n, N_MELS);
        let mut power = vec![0.0f32; N_FFT / 2 + 1];
        for (i, row) in out.data.chunks_exact_mut(N_MELS).enumerate() {
            self.stft.power_frame(pcm, first + i, &mut power);
            self.bank.apply(&power, row);
        }
        out
    }

    /// The network's input for frames `first .. first + n`: [`log_input`] of [`Self::power`].
    pub fn log_input(&mut self, pcm: &[f32], first: usize, n: usize) -> FrameMatrix {
        let mut m = self.power(pcm, first, n);
        m.data.iter_mut().for_each(|v| *v = log_input(*v));
        m
    }
}

/// `log10(10000 · float16(s) + 1)`: `s` rounded to the nearest float16 (saturating at
/// 65504), the rest in f32, as musicnn computes it (see the module docs).
pub fn log_input(s: f32) -> f32 {
    let h = f16::from_f32(s.min(f16::MAX.to_f32())).to_f32();
    (10000.0 * h + 1.0).log10()
}

/// Number of whole 3 s patches in `n_samples` of 16 kHz PCM (musicnn drops the remainder).
///
/// The signal has `1 + ⌊n / 256⌋` centred frames; patch `p` is frames `187p .. 187(p+1)`.
pub fn patch_count(n_samples: usize) -> usize {
    (1 + n_samples / HOP) / PATCH_FRAMES
}

/// Checks that a signal can be tagged: finite and long enough for one patch.
pub fn check_signal(pcm: &[f32]) -> Result<()> {
    if patch_count(pcm.len()) == 0 {
        return Err(Error::invalid(
            "audio for the musicnn tagger",
            format!(
                "at least {} samples at 16 kHz (3 s)",
                (PATCH_FRAMES - 1) * HOP
            ),
            format!("{} samples", pcm.len()),
        ));
    }
    if let Some(i) = pcm.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "audio for the musicnn tagger",
            "finite samples",
            format!("{} at sample {i}", pcm[i]),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_geometry_matches_musicnn() {
        // librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1 = 187.
        assert_eq!(
            (3 * SAMPLE_RATE as usize - N_FFT / 2) / HOP + 1,
            PATCH_FRAMES
        );
        // 96000 samples → 376 frames → 2 patches (the 2 leftover frames are dropped).
        assert_eq!(patch_count(96_000), 2);
        assert_eq!(patch_count((PATCH_FRAMES - 1) * HOP), 1);
        assert_eq!(patch_count((PATCH_FRAMES - 1) * HOP - 1), 0);
        assert!(check_signal(&vec![0.0; 1000]).is_err());
        let mut nan = vec![0.0; 48_000];
        nan[7] = f32::NAN;
        assert!(check_signal(&nan)
            .unwrap_err()
            .to_string()
            .contains("sample 7"));
    }

    #[test]
    fn log_input_rounds_the_power_to_float16_only() {
        // Silence: log10(1) = 0.
        assert_eq!(log_input(0.0), 0.0);
        assert_eq!(log_input(1.0), 10001f32.log10());
        // 0.1 is not a float16: it becomes 0.0999755859375 (nearest half) before the scaling.
        assert_eq!(log_input(0.1), (10000.0 * 0.099_975_586_f32 + 1.0).log10());
        assert_ne!(log_input(0.1), 1001f32.log10());
        // Above the largest half the power saturates instead of becoming inf.
        assert_eq!(log_input(1e6), (10000.0 * 65504f32 + 1.0).log10());
        assert!(log_input(f32::MAX).is_finite());
    }
}
