//! `ainrec features`: a batch of audio files and folders → one features JSON (or CSV rows).
//!
//! Folders are walked once per real path; each file is decoded and analysed on its own, and a
//! file that fails (or panics) is that file's error while the rest of the batch goes on.

use std::path::{Path, PathBuf};

use serde::Serialize;

use std::sync::OnceLock;

use crate::audio::decode::{decode_file_with_limits, DecodeLimits};
use crate::audio::resample::resample_mono;
use crate::error::{Error, Result};
use crate::features::musicnn_input;
use crate::features::scattering::CoeffMeta;
use crate::features::track::{
    analyze, descriptor_names, scattering_meta, TrackConfig, TrackFrames,
};
use crate::features::FrameMatrix;
use crate::model::musicnn::{Musicnn, Taggram};

/// The features JSON of one file (the schema of `ainrec features`; see the README).
#[derive(Debug, Serialize)]
pub struct TrackOutput {
    pub file: String,
    pub duration_s: f64,
    pub sample_rate: u32,
    pub hop_length: usize,
    pub n_fft: usize,
    pub source_sample_rate: u32,
    pub source_channels: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_packets: Option<usize>,
    pub features: String,
    /// First analysed second and length of the span in seconds.
    pub span_start_s: f64,
    pub span_s: f64,
    pub n_frames: usize,
    pub descriptor: Vec<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descriptor_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scattering_hop: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scattering_meta: Option<Vec<CoeffMeta>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub frames: Option<TrackFrames>,
    /// With `--frames` and `musicnn`: the tags and embedding of every 3 s patch of the span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub musicnn_patches: Option<MusicnnPatches>,
}

/// Per-patch musicnn output (`--frames`): every non-overlapping 3 s patch from the start of the
/// span (musicnn's `input_overlap=False`), resampled to 16 kHz.
#[derive(Debug, Serialize)]
pub struct MusicnnPatches {
    /// Seconds between patch starts (187 frames × 256 samples at 16 kHz = 2.992 s).
    pub patch_seconds: f64,
    /// The tag names, in the order of each row of `tags`.
    pub tag_names: Vec<String>,
    /// `patches × 50` probabilities.
    pub tags: FrameMatrix,
    /// `patches × 200` embeddings.
    pub embedding: FrameMatrix,
}

/// The MSD musicnn weights (f16 storage, 1.6 MB), compiled into the binary so that `ainrec
/// features --features musicnn` works from any folder (ISC licence: `models/musicnn_msd.LICENSE`).
pub const MUSICNN_WEIGHTS: &[u8] = include_bytes!("../../models/musicnn_msd.safetensors");

/// The tagger, loaded once per process.
fn musicnn() -> Result<&'static Musicnn> {
    static TAGGER: OnceLock<std::result::Result<Musicnn, String>> = OnceLock::new();
    TAGGER
        .get_or_init(|| Musicnn::from_safetensors(MUSICNN_WEIGHTS).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Model(e.clone()))
}

/// musicnn over `span` (samples at [`crate::audio::ANALYSIS_RATE`]): resampled to 16 kHz,
/// every whole 3 s patch tagged.
fn musicnn_span(span: &[f32]) -> Result<Taggram> {
    let pcm = resample_mono(
        span,
        crate::audio::ANALYSIS_RATE,
        musicnn_input::SAMPLE_RATE,
    )?;
    musicnn()?.tag_all(&pcm)
}

/// A file of the batch that could not be analysed, with why.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub file: String,
    pub error: String,
}

/// Expands folders (recursively, sorted) into the audio files they contain.
///
/// Symlinks are followed, but every folder and file is taken at most once by its real
/// (canonical) path, so a link back up the tree (`a/self -> .`, `a/sub/up -> ..`) is reported
/// as a loop instead of being walked forever. Entries that are not regular files (FIFOs,
/// sockets, devices), which would block or make no sense to decode, are skipped with a note.
/// The notes are printed to stderr; the batch goes on.
pub fn expand_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    use std::collections::HashSet;
    struct Walk {
        seen: HashSet<PathBuf>,
        out: Vec<PathBuf>,
    }
    impl Walk {
        /// True the first time the real path of `p` is met.
        fn first_visit(&mut self, p: &Path) -> bool {
            match std::fs::canonicalize(p) {
                Ok(real) => self.seen.insert(real),
                Err(_) => true,
            }
        }
        fn file(&mut self, p: PathBuf, named: bool) {
            match std::fs::metadata(&p) {
                Ok(m) if !m.is_file() => {
                    eprintln!("note: skipped {}: not a regular file", p.display());
                }
                _ => {
                    if self.first_visit(&p) {
                        self.out.push(p);
                    } else if named {
                        eprintln!("note: skipped {}: already in the batch", p.display());
                    }
                }
            }
        }
        fn dir(&mut self, dir: &Path) {
            if !self.first_visit(dir) {
                eprintln!(
                    "note: skipped {}: a link to a folder already walked (a loop)",
                    dir.display()
                );
                return;
            }
            let Ok(rd) = std::fs::read_dir(dir) else {
                self.out.push(dir.to_path_buf());
                return;
            };
            let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    self.dir(&p);
                } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    crate::audio::AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                }) {
                    self.file(p, false);
                }
            }
        }
    }
    let mut w = Walk {
        seen: HashSet::new(),
        out: Vec::new(),
    };
    for p in inputs {
        if p.is_dir() {
            w.dir(p);
        } else if p.exists() {
            w.file(p.clone(), true);
        } else {
            // Missing: kept, so the decoder names it as a failure of the batch.
            w.out.push(p.clone());
        }
    }
    w.out
}

/// Checks `-o` before any work: it must not name one of the inputs (which it would
/// overwrite with JSON), and its folder must take a new file.
pub fn check_output(out: &Path, files: &[PathBuf]) -> std::result::Result<(), String> {
    if let Ok(real_out) = std::fs::canonicalize(out) {
        if files
            .iter()
            .any(|f| std::fs::canonicalize(f).is_ok_and(|r| r == real_out))
        {
            return Err(format!(
                "-o {} names one of the input files; it would be overwritten",
                out.display()
            ));
        }
    }
    let existed = out.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(out)
        .map_err(|e| format!("cannot write -o {}: {e}", out.display()))?;
    if !existed {
        let _ = std::fs::remove_file(out);
    }
    Ok(())
}

/// Decodes and analyses one file; `one` adds the descriptor names (a single-file run).
pub fn analyse(
    path: &Path,
    cfg: &TrackConfig,
    limits: &DecodeLimits,
    one: bool,
) -> Result<TrackOutput> {
    let audio = decode_file_with_limits(path, limits)?;
    let mut out = analyze(&audio.samples, cfg)?;
    let sr = f64::from(audio.sample_rate);
    let frames = cfg.keep_frames;
    let mut musicnn_patches = None;
    if cfg.features.musicnn {
        let span = &audio.samples[out.span_start..out.span_start + out.span_len];
        let taggram = musicnn_span(span)?;
        out.descriptor.extend(taggram.descriptor());
        musicnn_patches = frames.then(|| MusicnnPatches {
            patch_seconds: musicnn_input::PATCH_SAMPLES as f64
                / f64::from(musicnn_input::SAMPLE_RATE),
            tag_names: musicnn_input::MSD_TAGS
                .iter()
                .map(|t| t.to_string())
                .collect(),
            tags: taggram.tags,
            embedding: taggram.penultimate,
        });
    }
    Ok(TrackOutput {
        file: path.display().to_string(),
        duration_s: audio.duration_s(),
        sample_rate: audio.sample_rate,
        hop_length: cfg.mfcc.stft.hop_length,
        n_fft: cfg.mfcc.stft.n_fft,
        source_sample_rate: audio.source_rate,
        source_channels: audio.source_channels,
        skipped_packets: (audio.skipped_packets > 0).then_some(audio.skipped_packets),
        features: cfg.features.to_list(),
        span_start_s: out.span_start as f64 / sr,
        span_s: out.span_len as f64 / sr,
        n_frames: out.n_frames,
        descriptor: out.descriptor,
        descriptor_names: one.then(|| descriptor_names(cfg)),
        scattering_hop: (frames && cfg.features.scattering).then(|| cfg.scattering.hop()),
        scattering_meta: (frames && cfg.features.scattering).then(|| scattering_meta(cfg)),
        frames: out.frames,
        musicnn_patches,
    })
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// [`analyse`] with a panic caught as that file's error (a bug, or a dependency fed what it
/// cannot take, must not lose the rest of the batch). Errors name the file.
pub fn analyse_in_batch(
    path: &Path,
    cfg: &TrackConfig,
    limits: &DecodeLimits,
    one: bool,
) -> std::result::Result<TrackOutput, Failure> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        analyse(path, cfg, limits, one)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        Err(Error::Audio(format!(
            "internal error while analysing {}: {why}",
            path.display()
        )))
    });
    result.map_err(|e| {
        // Decode and I/O errors already name the file; others get it prefixed.
        let name = path.display().to_string();
        let msg = e.to_string();
        let error = if msg.contains(&name) {
            msg
        } else {
            format!("{name}: {msg}")
        };
        Failure { file: name, error }
    })
}

/// The batch's output text: CSV rows (`file,<descriptor names>`), the single file's JSON object
/// (one input analysed), or `{"features", "cache_key", "descriptor_names", "tracks", "failed"}`.
pub fn render(
    tracks: &[TrackOutput],
    failed: &[Failure],
    n_files: usize,
    cfg: &TrackConfig,
    csv: bool,
) -> Result<String> {
    if csv {
        let mut text = String::from("file");
        for n in descriptor_names(cfg) {
            text.push(',');
            text.push_str(&n);
        }
        text.push('\n');
        for t in tracks {
            text.push_str(&csv_field(&t.file));
            for v in &t.descriptor {
                text.push(',');
                text.push_str(&v.to_string());
            }
            text.push('\n');
        }
        text.pop();
        return Ok(text);
    }
    if n_files == 1 && failed.is_empty() && tracks.len() == 1 {
        return Ok(serde_json::to_string(&tracks[0])?);
    }
    Ok(serde_json::to_string(&serde_json::json!({
        "features": cfg.features.to_list(),
        "cache_key": cfg.cache_key(),
        "descriptor_names": descriptor_names(cfg),
        "tracks": tracks,
        "failed": failed,
    }))?)
}

/// Options of `ainrec features`.
#[derive(Debug, Clone)]
pub struct FeaturesOptions {
    /// Audio files or folders (searched for [`crate::audio::AUDIO_EXTENSIONS`]).
    pub inputs: Vec<PathBuf>,
    /// Where the output goes (`None`: standard output).
    pub output: Option<PathBuf>,
    /// What is computed.
    pub track: TrackConfig,
    /// Size and duration limits of each file.
    pub limits: DecodeLimits,
    /// CSV rows instead of JSON.
    pub csv: bool,
}

/// What a batch reports while it runs (the CLI draws its progress bar from these).
#[derive(Debug)]
pub enum BatchEvent<'a> {
    /// The batch's files are known.
    Started(usize),
    /// A file is being analysed.
    File(&'a Path),
    /// A file failed (the message names it); the batch goes on.
    Failed(&'a str),
    /// Every file was tried.
    Finished,
}

/// How a batch went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    /// Files in the batch.
    pub files: usize,
    /// Files analysed.
    pub analysed: usize,
}

impl BatchSummary {
    /// Files that failed.
    pub fn failed(&self) -> usize {
        self.files - self.analysed
    }
}

/// Runs `ainrec features`: expands the inputs, checks `-o` before any work (an
/// [`Error::Invalid`]: a usage error), analyses every file (a failure is reported through
/// `event` and listed under `"failed"`), and writes the output.
pub fn run_features(
    opts: &FeaturesOptions,
    event: &mut dyn FnMut(BatchEvent<'_>),
) -> Result<BatchSummary> {
    let files = expand_inputs(&opts.inputs);
    if files.is_empty() {
        return Err(Error::invalid(
            "inputs",
            format!(
                "audio files ({})",
                crate::audio::AUDIO_EXTENSIONS.join(", ")
            ),
            "none in the given folders",
        ));
    }
    if let Some(out) = &opts.output {
        check_output(out, &files)
            .map_err(|why| Error::invalid("-o", "a new file or one to replace", why))?;
    }
    event(BatchEvent::Started(files.len()));
    let one = files.len() == 1 && !opts.csv;
    let (mut tracks, mut failed) = (Vec::new(), Vec::new());
    for f in &files {
        event(BatchEvent::File(f));
        match analyse_in_batch(f, &opts.track, &opts.limits, one) {
            Ok(t) => tracks.push(t),
            Err(fail) => {
                event(BatchEvent::Failed(&fail.error));
                failed.push(fail);
            }
        }
    }
    event(BatchEvent::Finished);
    let text = render(&tracks, &failed, files.len(), &opts.track, opts.csv)?;
    match &opts.output {
        Some(p) => std::fs::write(p, text.as_bytes()).map_err(|e| Error::io(p, e))?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.write_all(b"\n"))
                .map_err(|e| Error::io("<stdout>", e))?;
        }
    }
    Ok(BatchSummary {
        files: files.len(),
        analysed: tracks.len(),
    })
}
