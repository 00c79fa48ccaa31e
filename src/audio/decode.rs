//! Decoding audio files to mono PCM at the analysis rate (native only, symphonia).
//!
//! Supported: WAV/PCM, MP3, Ogg Vorbis, FLAC, AAC in MP4/M4A. Opus has no symphonia
//! decoder: such files get an explicit message (the web page decodes Opus through the
//! browser). Packets that fail to decode are skipped, as players do; a file from which
//! no audio at all can be decoded is an error.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{mix_to_mono, resample::resample_mono, ANALYSIS_RATE};
use crate::error::{Error, Result};

/// A decoded file: mono PCM at [`ANALYSIS_RATE`] plus what the file said about itself.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    /// Mono samples at [`ANALYSIS_RATE`], nominally in [-1, 1].
    pub samples: Vec<f32>,
    /// Sample rate of `samples` (always [`ANALYSIS_RATE`]).
    pub sample_rate: u32,
    /// The file's own sample rate in Hz.
    pub source_rate: u32,
    /// The file's channel count.
    pub source_channels: usize,
    /// Packets that failed to decode and were skipped.
    pub skipped_packets: usize,
}

impl DecodedAudio {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// Decodes `path`, mixes it to mono and resamples it to [`ANALYSIS_RATE`].
pub fn decode_file(path: &Path) -> Result<DecodedAudio> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(Error::Decode {
            file: name,
            reason: "the file is empty (0 bytes)".into(),
        });
    }
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    decode_stream(Box::new(file), &hint, &name)
}

/// Decodes an in-memory file (used by tests and by the fuzz target).
pub fn decode_bytes(bytes: Vec<u8>, extension: Option<&str>, name: &str) -> Result<DecodedAudio> {
    if bytes.is_empty() {
        return Err(Error::Decode {
            file: name.into(),
            reason: "the file is empty (0 bytes)".into(),
        });
    }
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    decode_stream(Box::new(std::io::Cursor::new(bytes)), &hint, name)
}

fn decode_stream(
    source: Box<dyn symphonia::core::io::MediaSource>,
    hint: &Hint,
    name: &str,
) -> Result<DecodedAudio> {
    let fail = |reason: String| Error::Decode {
        file: name.to_string(),
        reason,
    };
    let mss = MediaSourceStream::new(source, Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| {
            fail(format!(
                "not a recognised audio container (expected WAV, MP3, Ogg, FLAC or MP4/M4A): {e}"
            ))
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| fail("the container holds no audio track".into()))?;
    if track.codec_params.codec == CODEC_TYPE_OPUS {
        return Err(Error::Unsupported {
            file: name.to_string(),
            reason: "Opus audio has no decoder in symphonia; convert it to Ogg Vorbis, FLAC or \
                     MP3, or drop it on the web page (the browser decodes Opus)"
                .into(),
        });
    }
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| fail(format!("no decoder for this codec: {e}")))?;

    let mut interleaved: Vec<f32> = Vec::new();
    let mut channels = track.codec_params.channels.map(|c| c.count()).unwrap_or(0);
    let mut rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut skipped = 0usize;
    let mut last_error = None;
    let mut buf: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                last_error = Some(e.to_string());
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                if channels == 0 {
                    channels = spec.channels.count();
                }
                if rate == 0 {
                    rate = spec.rate;
                }
                if spec.channels.count() != channels || spec.rate != rate {
                    return Err(fail(format!(
                        "the stream changes format midway ({channels} ch at {rate} Hz, then {} ch at {} Hz)",
                        spec.channels.count(),
                        spec.rate
                    )));
                }
                let needed = decoded.capacity() as u64;
                let b = match &mut buf {
                    Some(b) if b.capacity() as u64 >= needed => b,
                    _ => buf.insert(SampleBuffer::<f32>::new(needed, spec)),
                };
                b.copy_interleaved_ref(decoded);
                interleaved.extend_from_slice(b.samples());
            }
            Err(SymError::DecodeError(e)) => {
                skipped += 1;
                last_error = Some(e.to_string());
            }
            Err(SymError::IoError(_)) => break,
            Err(e) => {
                last_error = Some(e.to_string());
                break;
            }
        }
    }
    if interleaved.is_empty() || channels == 0 || rate == 0 {
        let why = last_error.unwrap_or_else(|| "no audio frames".into());
        return Err(fail(format!("no audio could be decoded ({why})")));
    }
    let mono = mix_to_mono(&interleaved, channels)?;
    drop(interleaved);
    let samples = resample_mono(&mono, rate, ANALYSIS_RATE)?;
    super::check_finite(&samples).map_err(|e| fail(e.to_string()))?;
    Ok(DecodedAudio {
        samples,
        sample_rate: ANALYSIS_RATE,
        source_rate: rate,
        source_channels: channels,
        skipped_packets: skipped,
    })
}
