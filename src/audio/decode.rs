//! Decoding audio files to mono PCM at the analysis rate (native only, symphonia).
//!
//! Supported: WAV/PCM, MP3, Ogg Vorbis, FLAC, AAC in MP4/M4A. Opus has no symphonia
//! decoder: such files get an explicit message (the web page decodes Opus through the
//! browser). Packets that fail to decode are skipped, as players do; a file from which
//! no audio at all can be decoded is an error.
//!
//! Resources are bounded by [`DecodeLimits`] (file size, duration; source sample rates outside
//! [`MIN_SOURCE_RATE`]..=[`MAX_SOURCE_RATE`] are refused), each with a message naming the file,
//! the limit and how to raise it. Each packet is mixed down and resampled as it arrives, so
//! memory is the mono 22050 Hz output (4 bytes × 22050 a second, ~635 MB for 2 hours) plus
//! one packet — never the file's interleaved samples at its own rate.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{resample::MonoResampler, ANALYSIS_RATE};
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

/// Lowest source sample rate accepted, in Hz.
pub const MIN_SOURCE_RATE: u32 = 1_000;
/// Highest source sample rate accepted, in Hz (4 × 192 kHz).
pub const MAX_SOURCE_RATE: u32 = 768_000;

/// What one file may cost. The CLI sets them from `--max-file-mb` and `--max-duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeLimits {
    /// Largest file accepted, in bytes (default [`DecodeLimits::DEFAULT_MAX_FILE_BYTES`]).
    pub max_file_bytes: u64,
    /// Longest audio accepted, in seconds (default [`DecodeLimits::DEFAULT_MAX_DURATION_S`]):
    /// checked against the length the container states before decoding, and against the
    /// decoded length while decoding (a container may not state it, or lie).
    pub max_duration_s: f64,
}

impl DecodeLimits {
    /// 4 GiB: a 2-hour 96 kHz stereo 24-bit WAV (~4.1 GB) is just over it.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 << 30;
    /// 4 hours: the decoded mono 22050 Hz signal is then at most ~1.27 GB.
    pub const DEFAULT_MAX_DURATION_S: f64 = 4.0 * 3600.0;
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
            max_duration_s: Self::DEFAULT_MAX_DURATION_S,
        }
    }
}

/// Decodes `path`, mixes it to mono and resamples it to [`ANALYSIS_RATE`], with the default
/// [`DecodeLimits`].
pub fn decode_file(path: &Path) -> Result<DecodedAudio> {
    decode_file_with_limits(path, &DecodeLimits::default())
}

/// [`decode_file`] with explicit limits.
pub fn decode_file_with_limits(path: &Path, limits: &DecodeLimits) -> Result<DecodedAudio> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::Decode {
            file: name,
            reason: "it is a folder, not an audio file".into(),
        });
    }
    check_size(meta.len(), limits, &name)?;
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    decode_stream(Box::new(file), &hint, &name, limits)
}

/// Decodes an in-memory file (used by tests and by the fuzz target), default limits.
pub fn decode_bytes(bytes: Vec<u8>, extension: Option<&str>, name: &str) -> Result<DecodedAudio> {
    decode_bytes_with_limits(bytes, extension, name, &DecodeLimits::default())
}

/// [`decode_bytes`] with explicit limits.
pub fn decode_bytes_with_limits(
    bytes: Vec<u8>,
    extension: Option<&str>,
    name: &str,
    limits: &DecodeLimits,
) -> Result<DecodedAudio> {
    check_size(bytes.len() as u64, limits, name)?;
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    decode_stream(Box::new(std::io::Cursor::new(bytes)), &hint, name, limits)
}

fn check_size(len: u64, limits: &DecodeLimits, name: &str) -> Result<()> {
    if len == 0 {
        return Err(Error::Decode {
            file: name.into(),
            reason: "the file is empty (0 bytes)".into(),
        });
    }
    if len > limits.max_file_bytes {
        return Err(Error::Decode {
            file: name.into(),
            reason: format!(
                "the file is {:.1} MB, over the limit of {:.1} MB (ainrec features \
                 --max-file-mb raises it)",
                len as f64 / 1e6,
                limits.max_file_bytes as f64 / 1e6
            ),
        });
    }
    Ok(())
}

fn too_long(seconds: f64, limits: &DecodeLimits, stated: bool) -> String {
    format!(
        "the audio {} {seconds:.1} s, over the limit of {:.1} s (ainrec features --max-duration \
         raises it)",
        if stated {
            "is stated to last"
        } else {
            "lasts more than"
        },
        limits.max_duration_s
    )
}

/// Fewest bytes a second of real audio takes in any container read here (4 kbit/s, below
/// the lowest MP3 and Vorbis rates).
const MIN_BYTES_PER_SECOND: f64 = 500.0;

/// Whether a stated duration may be trusted to refuse a file before decoding it. A WAV
/// written to a pipe states the largest length its header can hold, and a FLAC's STREAMINFO
/// may overstate it ("48695.8 s" for a file of a few seconds): when the file is too small to
/// hold that much audio the statement is ignored, and the decoded length, which is checked
/// against the limit anyway, governs.
fn stated_length_is_plausible(seconds: f64, byte_len: Option<u64>) -> bool {
    byte_len.is_none_or(|len| len as f64 >= seconds * MIN_BYTES_PER_SECOND)
}

/// Reads up to `head.len()` bytes from the start of the stream (fewer for a short file).
fn read_head(mss: &mut MediaSourceStream, head: &mut [u8]) -> usize {
    use symphonia::core::io::ReadBytes;
    let mut got = 0;
    while got < head.len() {
        match mss.read_buf(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

/// The container a file's first bytes claim (its magic number), if any.
fn claimed_container(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"fLaC") {
        Some("FLAC")
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        Some("WAV")
    } else if head.starts_with(b"OggS") {
        Some("Ogg")
    } else if head.get(4..8) == Some(b"ftyp") {
        Some("MP4/M4A")
    } else if head.starts_with(b"ID3") {
        Some("MP3 (ID3-tagged)")
    } else {
        None
    }
}

fn check_rate(rate: u32) -> std::result::Result<(), String> {
    if (MIN_SOURCE_RATE..=MAX_SOURCE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(format!(
            "its sample rate of {rate} Hz is outside {MIN_SOURCE_RATE}..={MAX_SOURCE_RATE} Hz"
        ))
    }
}

fn decode_stream(
    source: Box<dyn symphonia::core::io::MediaSource>,
    hint: &Hint,
    name: &str,
    limits: &DecodeLimits,
) -> Result<DecodedAudio> {
    let fail = |reason: String| Error::Decode {
        file: name.to_string(),
        reason,
    };
    let byte_len = source.byte_len();
    let mut mss = MediaSourceStream::new(source, Default::default());
    // The first bytes say which container the file claims to be, so that a damaged FLAC
    // header reads as that and not as "not a recognised container: end of stream".
    let mut head = [0u8; 12];
    let got = read_head(&mut mss, &mut head);
    symphonia::core::io::SeekBuffered::seek_buffered(&mut mss, 0);
    let claimed = claimed_container(&head[..got]);
    let probed = symphonia::default::get_probe()
        .format(
            hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| {
            fail(match claimed {
                Some(kind) => format!("a {kind} file whose header is damaged: {e}"),
                None => format!(
                    "not a recognised audio container (expected WAV, MP3, Ogg, FLAC or MP4/M4A): {e}"
                ),
            })
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

    let mut channels = track.codec_params.channels.map(|c| c.count()).unwrap_or(0);
    let mut rate = track.codec_params.sample_rate.unwrap_or(0);
    if rate != 0 {
        check_rate(rate).map_err(fail)?;
        if let Some(frames) = track.codec_params.n_frames {
            let seconds = frames as f64 / f64::from(rate);
            if seconds > limits.max_duration_s && stated_length_is_plausible(seconds, byte_len) {
                return Err(fail(too_long(seconds, limits, true)));
            }
        }
    }
    let mut skipped = 0usize;
    let mut last_error = None;
    let mut buf: Option<SampleBuffer<f32>> = None;
    let mut mono: Vec<f32> = Vec::new();
    let mut resampler: Option<MonoResampler> = None;
    let mut frames_done: u64 = 0;
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
                if decoded.frames() == 0 {
                    continue;
                }
                if channels == 0 {
                    channels = spec.channels.count();
                }
                if rate == 0 {
                    rate = spec.rate;
                    check_rate(rate).map_err(fail)?;
                }
                if spec.channels.count() != channels || spec.rate != rate {
                    return Err(fail(format!(
                        "the stream changes format midway ({channels} ch at {rate} Hz, then {} ch at {} Hz)",
                        spec.channels.count(),
                        spec.rate
                    )));
                }
                if channels == 0 {
                    return Err(fail("the stream has no channels".into()));
                }
                let needed = decoded.capacity() as u64;
                let b = match &mut buf {
                    Some(b) if b.capacity() as u64 >= needed => b,
                    _ => buf.insert(SampleBuffer::<f32>::new(needed, spec)),
                };
                b.copy_interleaved_ref(decoded);
                mono.clear();
                // As `audio::mix_to_mono`: the channel average.
                let scale = 1.0 / channels as f32;
                mono.extend(
                    b.samples()
                        .chunks_exact(channels)
                        .map(|f| f.iter().sum::<f32>() * scale),
                );
                // Checked before the resampler sees them: rubato panics on ±3e38.
                if let Some(i) = mono.iter().position(|s| !super::sample_in_range(*s)) {
                    let at = (frames_done + i as u64) as f64 / f64::from(rate);
                    return Err(fail(if mono[i].is_finite() {
                        format!(
                            "the file holds a sample of {:e} at {at:.3} s, beyond the \
                             supported magnitude {} (audio is nominally in [-1, 1])",
                            mono[i],
                            super::MAX_SAMPLE_MAGNITUDE
                        )
                    } else {
                        format!(
                            "the file holds a non-finite sample ({}) at {at:.3} s",
                            mono[i]
                        )
                    }));
                }
                frames_done += mono.len() as u64;
                if frames_done as f64 > limits.max_duration_s * f64::from(rate) {
                    return Err(fail(too_long(limits.max_duration_s, limits, false)));
                }
                let r = match &mut resampler {
                    Some(r) => r,
                    None => resampler.insert(
                        MonoResampler::new(rate, ANALYSIS_RATE).map_err(|e| fail(e.to_string()))?,
                    ),
                };
                r.push(&mono).map_err(|e| fail(e.to_string()))?;
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
    let resampler = match resampler {
        Some(r) if frames_done > 0 => r,
        _ => {
            let why = last_error.unwrap_or_else(|| "no audio frames".into());
            return Err(fail(format!("no audio could be decoded ({why})")));
        }
    };
    let samples = resampler.finish().map_err(|e| fail(e.to_string()))?;
    super::check_finite(&samples).map_err(|e| fail(e.to_string()))?;
    Ok(DecodedAudio {
        samples,
        sample_rate: ANALYSIS_RATE,
        source_rate: rate,
        source_channels: channels,
        skipped_packets: skipped,
    })
}
