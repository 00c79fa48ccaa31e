//! PCM in memory: validation and mono mix-down; on native builds also file decoding
//! (symphonia) and resampling (rubato).
//!
//! The analysis rate is [`ANALYSIS_RATE`] (22050 Hz mono), as librosa's default. The
//! browser reaches the same PCM through a 1-channel `OfflineAudioContext` at 22050 Hz;
//! note that Web Audio's down-mix of more than two channels weights the speakers
//! (centre and surrounds differently from front left/right), whereas the native path
//! averages all channels equally. For mono and stereo files the two agree.

use crate::error::{Error, Result};

#[cfg(feature = "native")]
pub mod decode;
#[cfg(feature = "native")]
pub mod resample;
#[cfg(feature = "tags")]
pub mod tags;

/// Sample rate every feature is computed at, in Hz.
pub const ANALYSIS_RATE: u32 = 22_050;

/// File extensions taken as audio when a folder is searched (the CLI) or files are dropped (the
/// page, through `audioExtensions()` in `src/wasm.rs`), lower case, without the dot. The page
/// decodes with the browser, which may play a few more (`weba`, `mka`) than symphonia decodes
/// natively; such files are tried and reported by name if they fail.
pub const AUDIO_EXTENSIONS: [&str; 13] = [
    "wav", "wave", "mp3", "ogg", "oga", "opus", "flac", "m4a", "mp4", "aac", "webm", "weba", "mka",
];

/// The largest sample magnitude the analysis accepts: 64 (+36 dBFS).
///
/// PCM is nominally in [-1, 1]; a float file may run hot, but far beyond that the f32 power
/// spectra and scattering moduli overflow (a 1e36 sine turned every spectrum into NaN, and
/// ±3e38 made the resampler panic), so such samples are refused by name instead of being
/// analysed into NaN. Features of a sine at this magnitude are finite
/// (`tests/robust/inputs.rs`).
pub const MAX_SAMPLE_MAGNITUDE: f32 = 64.0;

/// Rejects samples that are NaN, infinite or larger in magnitude than
/// [`MAX_SAMPLE_MAGNITUDE`], naming the first offending index.
pub fn check_finite(samples: &[f32]) -> Result<()> {
    check_finite_at(samples, 0, samples.len())
}

/// As [`check_finite`] for `samples` that start at `offset` in a signal of `total` samples
/// (an excerpt), so the error names the position in the whole signal.
pub fn check_finite_at(samples: &[f32], offset: usize, total: usize) -> Result<()> {
    match samples.iter().position(|s| !sample_in_range(*s)) {
        None => Ok(()),
        Some(i) if samples[i].is_finite() => Err(Error::Audio(format!(
            "expected finite samples of magnitude at most {MAX_SAMPLE_MAGNITUDE} (audio is \
             nominally in [-1, 1]), found {:e} at sample {} of {total}",
            samples[i],
            offset + i
        ))),
        Some(i) => Err(Error::Audio(format!(
            "expected finite samples, found {} at sample {} of {total}",
            samples[i],
            offset + i
        ))),
    }
}

/// True for a finite sample no larger in magnitude than [`MAX_SAMPLE_MAGNITUDE`]
/// (false for NaN, since the comparison fails).
pub fn sample_in_range(s: f32) -> bool {
    s.abs() <= MAX_SAMPLE_MAGNITUDE
}

/// Averages interleaved frames of `channels` samples into one mono channel.
pub fn mix_to_mono(interleaved: &[f32], channels: usize) -> Result<Vec<f32>> {
    if channels == 0 {
        return Err(Error::invalid("channel count", "≥ 1", 0));
    }
    if interleaved.len() % channels != 0 {
        return Err(Error::invalid(
            "interleaved sample count",
            format!("a multiple of {channels} channels"),
            interleaved.len(),
        ));
    }
    if channels == 1 {
        return Ok(interleaved.to_vec());
    }
    let scale = 1.0 / channels as f32;
    Ok(interleaved
        .chunks_exact(channels)
        .map(|f| f.iter().sum::<f32>() * scale)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_is_named() {
        let e = check_finite(&[0.0, f32::NAN]).unwrap_err().to_string();
        assert!(e.contains("sample 1"), "{e}");
    }

    #[test]
    fn samples_beyond_the_level_limit_are_named() {
        assert!(check_finite(&[MAX_SAMPLE_MAGNITUDE, -MAX_SAMPLE_MAGNITUDE]).is_ok());
        let e = check_finite_at(&[0.0, 0.5, -1e36], 10, 100)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("at sample 12 of 100") && e.contains("-1e36"),
            "{e}"
        );
        assert!(e.contains("magnitude at most 64"), "{e}");
    }

    #[test]
    fn stereo_mixdown_averages() {
        assert_eq!(
            mix_to_mono(&[1.0, 0.0, 0.5, 0.5], 2).unwrap(),
            vec![0.5, 0.5]
        );
        assert!(mix_to_mono(&[1.0, 0.0, 0.5], 2).is_err());
    }
}
