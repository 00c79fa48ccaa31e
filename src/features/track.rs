//! Frame features → one fixed-length track descriptor with a named layout.
//!
//! A [`TrackAnalysis`] runs the whole feature set over a span of a track (by default the
//! 30 s excerpt from the middle, as MSD previews were; the whole track on request) in
//! small steps, so the browser worker can report progress and honour a cancel between
//! steps. One STFT pass feeds MFCC (power → mel), HFC and HPCP (magnitude); the
//! scattering transform runs block by block ([`BlockScattering`]).
//!
//! Memory beyond the PCM: the mel frames (`frames × 128`) that MFCC needs for its
//! span-wide `top_db`, plus running sums for HFC, HPCP and scattering. Frame-level outputs
//! are kept only on request ([`TrackConfig::keep_frames`]).
//!
//! The descriptor is, per feature, the mean and the (population) standard deviation over
//! frames; [`descriptor_names`] names every value. HFC and scattering are summarised after
//! `log1p` (their raw values span many decades); MFCC and HPCP as they are.
//!
//! # Why one file (about 840 lines of code, the rest its tests)
//! Its one job is the descriptor's layout: which feature sets run ([`FeatureSet`]), over which
//! span ([`Span`]), in which order the values come ([`descriptor_names`]) and the stepped
//! analysis that fills them ([`TrackAnalysis`]). The names, the passes and the summary must
//! agree value for value — a name list in one file and the order it is filled in another is
//! how a descriptor silently shifts by one. The feature algorithms themselves live in their
//! own files (`mfcc.rs`, `hfc.rs`, `hpcp.rs`, `scattering.rs`).

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::frames::Stft;
use super::hpcp::{HpcpExtractor, PITCH_CLASSES};
use super::mfcc::{delta, MfccAccumulator, MfccConfig};
use super::scattering::{BlockPlan, BlockScattering, CoeffMeta, ScatteringConfig};
use super::spectral::hfc_masri;
use super::FrameMatrix;
use crate::audio::ANALYSIS_RATE;
use crate::{Error, Result};

/// Version of the descriptor layout and defaults; part of every cache key.
pub const DESCRIPTOR_VERSION: u32 = 1;

/// Default excerpt length in seconds.
pub const DEFAULT_EXCERPT_S: f32 = 30.0;

/// STFT frames per [`TrackAnalysis::step`] (about 6 s of audio at hop 512): a step takes
/// a few milliseconds natively and stays well under 100 ms in wasm.
pub const STFT_FRAMES_PER_STEP: usize = 256;

/// Which features a descriptor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSet {
    /// MFCC (20) with Δ and ΔΔ.
    pub mfcc: bool,
    /// Wavelet scattering, orders 0–2.
    pub scattering: bool,
    /// High-frequency content (Masri).
    pub hfc: bool,
    /// Harmonic pitch-class profile (12).
    pub hpcp: bool,
    /// The musicnn tagger's 50 Last.fm-tag probabilities and 200-d embedding (mean over the
    /// span's 3 s patches). Computed above this layer (the network is in `model::musicnn`);
    /// here it only names its values. Not part of `all`: the descriptor families above are
    /// what the browser model in use today reads, and musicnn is keyed on its own.
    #[serde(default)]
    pub musicnn: bool,
}

impl FeatureSet {
    /// Every feature.
    pub const ALL: Self = Self {
        mfcc: true,
        scattering: true,
        hfc: true,
        hpcp: true,
        musicnn: false,
    };
    /// No feature (the start of a [`FeatureSet::parse`]).
    pub const NONE: Self = Self {
        mfcc: false,
        scattering: false,
        hfc: false,
        hpcp: false,
        musicnn: false,
    };

    /// Parses a comma-separated list such as `"mfcc,hfc"`; `"all"` means every feature.
    pub fn parse(s: &str) -> Result<Self> {
        let mut set = Self::NONE;
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "all" => set = Self::ALL,
                "mfcc" => set.mfcc = true,
                "scattering" => set.scattering = true,
                "hfc" => set.hfc = true,
                "hpcp" => set.hpcp = true,
                "musicnn" => set.musicnn = true,
                other => {
                    return Err(Error::invalid(
                        "feature name",
                        "mfcc, scattering, hfc, hpcp, musicnn or all",
                        format!("{other:?}"),
                    ))
                }
            }
        }
        if set == Self::NONE {
            return Err(Error::invalid(
                "feature list",
                "at least one of mfcc, scattering, hfc, hpcp, musicnn",
                format!("{s:?}"),
            ));
        }
        Ok(set)
    }

    /// The names of the selected features, comma-separated, in canonical order.
    pub fn to_list(&self) -> String {
        let mut v = Vec::new();
        for (on, name) in [
            (self.mfcc, "mfcc"),
            (self.scattering, "scattering"),
            (self.hfc, "hfc"),
            (self.hpcp, "hpcp"),
            (self.musicnn, "musicnn"),
        ] {
            if on {
                v.push(name);
            }
        }
        v.join(",")
    }

    fn needs_stft(&self) -> bool {
        self.mfcc || self.hfc || self.hpcp
    }
}

/// Which part of a track is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// The `seconds` from the middle of the track (the whole track when it is shorter).
    Excerpt {
        /// Length of the excerpt in seconds.
        seconds: f32,
    },
    /// The whole track.
    Whole,
}

impl Default for Span {
    fn default() -> Self {
        Span::Excerpt {
            seconds: DEFAULT_EXCERPT_S,
        }
    }
}

impl Span {
    /// Parses `"whole"` or a number of seconds (`"30"`).
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("whole") {
            return Ok(Span::Whole);
        }
        match s.trim_end_matches('s').parse::<f32>() {
            Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(Span::Excerpt { seconds }),
            _ => Err(Error::invalid(
                "analysis span",
                "\"whole\" or a positive number of seconds",
                format!("{s:?}"),
            )),
        }
    }

    /// The analysed sample range of a track of `n_samples` at `sample_rate` Hz: the middle
    /// `seconds`, or everything.
    pub fn range(&self, n_samples: usize, sample_rate: u32) -> Range<usize> {
        match *self {
            Span::Whole => 0..n_samples,
            Span::Excerpt { seconds } => {
                let len = (f64::from(seconds) * f64::from(sample_rate)).round() as usize;
                if len >= n_samples {
                    0..n_samples
                } else {
                    let start = (n_samples - len) / 2;
                    start..start + len
                }
            }
        }
    }
}

/// Everything that decides a descriptor. Defaults: DESIGN.md §3.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackConfig {
    /// Features in the descriptor.
    pub features: FeatureSet,
    /// Analysed span.
    pub span: Span,
    /// MFCC (and the shared STFT: n_fft 2048, hop 512, 22050 Hz).
    pub mfcc: MfccConfig,
    /// Scattering parameters; the default is `J = 10` (`T` = 1024 samples ≈ 46 ms at
    /// 22050 Hz, beyond the ~25 ms that MFCC frames resolve, which is the paper's point) with
    /// `Q = (8, 1)`. Measured on a 30 s excerpt (`ainrec features --scattering-j J`, 2 cores):
    /// J = 8 / 10 / 11 / 12 / 13 took 0.39 / 0.45 / 1.0 / 1.9 / 2.9 s beyond MFCC+HFC+HPCP
    /// (0.14 s incl. decoding) with peak memory 27 / 43 / 75 / 138 / 263 MB; J = 13
    /// (T ≈ 371 ms) would make a visitor wait ~6× longer per file for a descriptor of 1434
    /// values instead of 894, so J = 10 is the default and J is a setting.
    pub scattering: ScatteringConfig,
    /// Keep frame-level outputs beside the descriptor.
    pub keep_frames: bool,
}

impl Default for TrackConfig {
    fn default() -> Self {
        Self {
            features: FeatureSet::ALL,
            span: Span::default(),
            mfcc: MfccConfig::default(),
            scattering: ScatteringConfig::new(10, (8, 1)),
            keep_frames: false,
        }
    }
}

impl TrackConfig {
    /// The sample rate every input must have (the STFT's), in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.mfcc.stft.sample_rate
    }

    /// A short key of everything that changes the output, for caches: extractor and
    /// descriptor versions, features, span and the scattering (J, Q).
    pub fn cache_key(&self) -> String {
        let span = match self.span {
            Span::Whole => "whole".to_string(),
            Span::Excerpt { seconds } => format!("{seconds}s"),
        };
        format!(
            "fx{}-d{}-{}-{}-sr{}-J{}Q{}.{}",
            crate::EXTRACTOR_VERSION,
            DESCRIPTOR_VERSION,
            self.features.to_list(),
            span,
            self.sample_rate(),
            self.scattering.j,
            self.scattering.q.0,
            self.scattering.q.1
        )
    }

    /// Checks the configuration (sample rate, scattering J and Q) without a signal, so that a
    /// caller can refuse a bad one before reading any file; [`TrackAnalysis::new`] runs it too.
    pub fn validate(&self) -> Result<()> {
        if self.sample_rate() != ANALYSIS_RATE {
            return Err(Error::invalid(
                "track analysis sample rate",
                format!("{ANALYSIS_RATE} Hz (resample first)"),
                self.sample_rate(),
            ));
        }
        self.scattering.validate()
    }

    /// Shortest analysable span in samples: one scattering averaging window `T` when
    /// scattering is on (Kymatio refuses shorter signals too), else one sample.
    pub fn min_samples(&self) -> usize {
        if self.features.scattering {
            self.scattering.t.max(2)
        } else {
            1
        }
    }
}

/// The options of an analysis as the page passes them (all optional, camelCase):
/// `{ features: "mfcc,scattering,hfc,hpcp", span: 30 | "whole", frames: false,
/// scatteringJ: 10, scatteringQ: 8 }`. The wasm API deserialises JS values into this and the
/// same struct is read from JSON natively (tests, fuzzing), so both paths validate alike.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyzerOptions {
    /// Comma-separated feature names ([`FeatureSet::parse`]).
    pub features: Option<String>,
    /// Seconds from the middle, or `"whole"` / `"30"` ([`Span::parse`]).
    pub span: Option<SpanOption>,
    /// Keep frame-level outputs.
    pub frames: Option<bool>,
    /// Scattering J.
    pub scattering_j: Option<u32>,
    /// Scattering first-order Q.
    pub scattering_q: Option<u32>,
}

/// The `span` option: a number of seconds or a string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SpanOption {
    /// Seconds from the middle.
    Seconds(f32),
    /// `"whole"` or a number of seconds as text.
    Text(String),
}

impl AnalyzerOptions {
    /// The option names, as the page spells them.
    pub const KNOWN: [&'static str; 5] =
        ["features", "span", "frames", "scatteringJ", "scatteringQ"];

    /// Reads options from JSON text (`null` means the defaults); errors name the bad option.
    pub fn from_json(text: &str) -> Result<Self> {
        let o: Option<Self> = serde_json::from_str(text).map_err(|e| {
            Error::invalid(
                "analyzer options",
                format!("a JSON object with the fields {}", Self::KNOWN.join(", ")),
                e,
            )
        })?;
        Ok(o.unwrap_or_default())
    }

    /// The validated configuration these options describe (defaults for what is absent).
    pub fn to_config(&self) -> Result<TrackConfig> {
        let mut cfg = TrackConfig::default();
        if let Some(f) = &self.features {
            cfg.features = FeatureSet::parse(f)?;
        }
        match &self.span {
            None => {}
            Some(SpanOption::Seconds(s)) => cfg.span = Span::parse(&s.to_string())?,
            Some(SpanOption::Text(t)) => cfg.span = Span::parse(t)?,
        }
        cfg.keep_frames = self.frames.unwrap_or(false);
        let j = self.scattering_j.unwrap_or(cfg.scattering.j);
        let q = self.scattering_q.unwrap_or(cfg.scattering.q.0);
        cfg.scattering = ScatteringConfig::new(j, (q, 1));
        cfg.scattering.validate()?;
        Ok(cfg)
    }
}

/// Names every value of the descriptor of `cfg`, in order.
///
/// MFCC: `mfcc_mean_0 … mfcc_mean_19`, `mfcc_std_*`, then `mfcc_delta_mean_*`,
/// `mfcc_delta_std_*`, `mfcc_delta2_mean_*`, `mfcc_delta2_std_*`. Scattering (after log1p):
/// `scat0_mean`, `scat1_<f1>Hz_mean` (first-order band centre), `scat2_<f1>Hz_<f2>Hz_mean`
/// (second-order modulation frequency), then the same with `_std`. HFC (after log1p):
/// `hfc_log_mean`, `hfc_log_std`. HPCP: `hpcp_mean_A … hpcp_mean_G#`, `hpcp_std_*`.
pub fn descriptor_names(cfg: &TrackConfig) -> Vec<String> {
    let mut names = Vec::new();
    if cfg.features.mfcc {
        for part in ["mfcc", "mfcc_delta", "mfcc_delta2"] {
            for stat in ["mean", "std"] {
                for i in 0..cfg.mfcc.n_mfcc {
                    names.push(format!("{part}_{stat}_{i}"));
                }
            }
        }
    }
    if cfg.features.scattering {
        let meta = scattering_meta(cfg);
        for stat in ["mean", "std"] {
            for m in &meta {
                names.push(format!("{}_{stat}", scattering_name(m)));
            }
        }
    }
    if cfg.features.hfc {
        names.push("hfc_log_mean".into());
        names.push("hfc_log_std".into());
    }
    if cfg.features.hpcp {
        for stat in ["mean", "std"] {
            for pc in PITCH_CLASSES {
                names.push(format!("hpcp_{stat}_{pc}"));
            }
        }
    }
    if cfg.features.musicnn {
        names.extend(super::musicnn_input::descriptor_names());
    }
    names
}

/// Meta of every scattering coefficient of `cfg` at the analysis rate.
pub fn scattering_meta(cfg: &TrackConfig) -> Vec<CoeffMeta> {
    super::scattering::coeff_meta(&cfg.scattering, f64::from(cfg.sample_rate()))
}

fn scattering_name(m: &CoeffMeta) -> String {
    match (m.order, m.freq1_hz, m.freq2_hz) {
        (1, Some(f1), _) => format!("scat1_{f1:.1}Hz"),
        (2, Some(f1), Some(f2)) => format!("scat2_{f1:.1}Hz_{f2:.2}Hz"),
        _ => "scat0".to_string(),
    }
}

/// Frame-level outputs of a span (only what the feature set holds).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrackFrames {
    /// MFCC, `frames × 20` (hop = the STFT hop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfcc: Option<FrameMatrix>,
    /// Δ MFCC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfcc_delta: Option<FrameMatrix>,
    /// ΔΔ MFCC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfcc_delta2: Option<FrameMatrix>,
    /// HFC per STFT frame (Hz · magnitude², not log-compressed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hfc: Option<Vec<f32>>,
    /// HPCP, `frames × 12`, unit max per frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hpcp: Option<FrameMatrix>,
    /// Scattering, `scattering frames × coefficients` (not log-compressed), one frame every
    /// `scattering_hop` samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scattering: Option<FrameMatrix>,
}

/// The result of analysing one track.
#[derive(Debug, Clone, Serialize)]
pub struct TrackFeatures {
    /// The descriptor, laid out as [`descriptor_names`] says.
    pub descriptor: Vec<f32>,
    /// First analysed sample of the track.
    pub span_start: usize,
    /// Number of analysed samples.
    pub span_len: usize,
    /// STFT frames in the span.
    pub n_frames: usize,
    /// Scattering frames in the span (0 without scattering).
    pub n_scattering_frames: usize,
    /// Frame-level outputs when asked for.
    pub frames: Option<TrackFrames>,
}

/// Running per-coefficient sums (f64) for means and standard deviations.
#[derive(Debug, Clone)]
struct Moments {
    n: u64,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl Moments {
    fn new(dim: usize) -> Self {
        Self {
            n: 0,
            sum: vec![0.0; dim],
            sum_sq: vec![0.0; dim],
        }
    }

    fn push(&mut self, v: &[f32]) {
        self.n += 1;
        for ((s, q), x) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(v) {
            let x = f64::from(*x);
            *s += x;
            *q += x * x;
        }
    }

    /// Appends the means, then the standard deviations.
    fn write(&self, out: &mut Vec<f32>) {
        let n = self.n.max(1) as f64;
        let means: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        out.extend(means.iter().map(|m| *m as f32));
        out.extend(
            self.sum_sq
                .iter()
                .zip(&means)
                .map(|(q, m)| (q / n - m * m).max(0.0).sqrt() as f32),
        );
    }
}

/// State of the STFT pass (MFCC, HFC, HPCP).
struct SpectralPass {
    stft: Stft,
    mfcc: Option<MfccAccumulator>,
    hpcp: Option<HpcpExtractor>,
    power: Vec<f32>,
    mag: Vec<f32>,
    hpcp_frame: Vec<f32>,
    hfc_moments: Moments,
    hpcp_moments: Moments,
    hfc_frames: Vec<f32>,
    hpcp_frames: Vec<f32>,
    next: usize,
    n_frames: usize,
}

/// State of the scattering pass.
struct ScatteringPass {
    engine: BlockScattering,
    plan: BlockPlan,
    next_block: usize,
    moments: Moments,
    column: Vec<f32>,
    frames: Vec<f32>,
}

/// Progress of a [`TrackAnalysis`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Progress {
    /// Units of work done (STFT frames count 1, a scattering block counts as the STFT
    /// frames it spans, so the fraction tracks time spent).
    pub done: usize,
    /// Units of work in all.
    pub total: usize,
}

impl Progress {
    /// `done / total` in `[0, 1]`.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.done as f64 / self.total as f64
        }
    }

    /// True when every unit is done.
    pub fn finished(&self) -> bool {
        self.done >= self.total
    }
}

/// An analysis in progress over one span: call [`step`](Self::step) until it reports
/// finished (or stop calling it to cancel), then [`finish`](Self::finish).
pub struct TrackAnalysis {
    cfg: TrackConfig,
    n_samples: usize,
    span: Range<usize>,
    span_checked: bool,
    spectral: Option<SpectralPass>,
    scattering: Option<ScatteringPass>,
    block_weight: usize,
}

impl std::fmt::Debug for TrackAnalysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackAnalysis")
            .field("cfg", &self.cfg)
            .field("span", &self.span)
            .finish()
    }
}

impl TrackAnalysis {
    /// Plans the analysis of a track of `n_samples` (at `cfg.sample_rate()` Hz): the span,
    /// the STFT and the scattering blocks. Errors on a bad config or a span shorter than
    /// [`TrackConfig::min_samples`].
    pub fn new(cfg: TrackConfig, n_samples: usize) -> Result<Self> {
        cfg.validate()?;
        if n_samples == 0 {
            return Err(Error::Audio("the track has no samples".into()));
        }
        let span = cfg.span.range(n_samples, cfg.sample_rate());
        let min = cfg.min_samples();
        if span.is_empty() {
            return Err(Error::Audio(format!(
                "the analysed span is empty: {:?} of a {n_samples}-sample track holds no sample",
                cfg.span
            )));
        }
        if span.len() < min {
            return Err(Error::Audio(format!(
                "the track is too short for scattering: {:.3} s ({} samples); it needs at \
                 least {:.3} s (T = {min} samples at {} Hz) — analyse it without scattering",
                span.len() as f64 / f64::from(cfg.sample_rate()),
                span.len(),
                min as f64 / f64::from(cfg.sample_rate()),
                cfg.sample_rate()
            )));
        }
        let spectral = if cfg.features.needs_stft() {
            let stft_cfg = cfg.mfcc.stft;
            let n_bins = stft_cfg.n_bins();
            let n_frames = stft_cfg.n_frames(span.len());
            let mfcc = if cfg.features.mfcc {
                let mut acc = MfccAccumulator::new(cfg.mfcc)?;
                acc.reserve(n_frames);
                Some(acc)
            } else {
                None
            };
            let hpcp = if cfg.features.hpcp {
                Some(HpcpExtractor::with_design_defaults(
                    cfg.sample_rate() as f32,
                    n_bins,
                )?)
            } else {
                None
            };
            let hpcp_size = hpcp.as_ref().map_or(0, HpcpExtractor::size);
            Some(SpectralPass {
                stft: Stft::new(stft_cfg)?,
                mfcc,
                hpcp,
                power: vec![0.0; n_bins],
                mag: vec![0.0; n_bins],
                hpcp_frame: vec![0.0; hpcp_size],
                hfc_moments: Moments::new(1),
                hpcp_moments: Moments::new(hpcp_size),
                hfc_frames: Vec::new(),
                hpcp_frames: Vec::new(),
                next: 0,
                n_frames,
            })
        } else {
            None
        };
        let scattering = if cfg.features.scattering {
            let engine = BlockScattering::new(cfg.scattering, None)?;
            let plan = engine.plan(span.len())?;
            let n = engine.n_coeffs();
            Some(ScatteringPass {
                moments: Moments::new(n),
                column: vec![0.0; n],
                frames: Vec::new(),
                engine,
                plan,
                next_block: 0,
            })
        } else {
            None
        };
        // A scattering block costs roughly as much as the STFT frames it spans.
        let block_weight = scattering.as_ref().map_or(1, |s| {
            (s.plan.frames_per_block * cfg.scattering.hop() / cfg.mfcc.stft.hop_length).max(1)
        });
        Ok(Self {
            cfg,
            n_samples,
            span,
            span_checked: false,
            spectral,
            scattering,
            block_weight,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TrackConfig {
        &self.cfg
    }

    /// The analysed sample range of the track.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// Work done and in all.
    pub fn progress(&self) -> Progress {
        let (mut done, mut total) = (0, 0);
        if let Some(s) = &self.spectral {
            done += s.next;
            total += s.n_frames;
        }
        if let Some(s) = &self.scattering {
            done += s.next_block * self.block_weight;
            total += s.plan.n_blocks * self.block_weight;
        }
        Progress { done, total }
    }

    /// Does one bounded piece of work: up to [`STFT_FRAMES_PER_STEP`] STFT frames, else
    /// one scattering block. `track` is the whole track (the same every call); only the
    /// span is read. Errors on a track of another length or a non-finite sample.
    pub fn step(&mut self, track: &[f32]) -> Result<Progress> {
        let x = self.span_of(track)?;
        self.step_span(x)
    }

    /// As [`step`](Self::step), given only the span's samples (`track[span()]`), so a
    /// caller that holds a long track elsewhere (the browser) copies just the span.
    pub fn step_span(&mut self, x: &[f32]) -> Result<Progress> {
        if x.len() != self.span.len() {
            return Err(Error::invalid(
                "span length (from the plan)",
                self.span.len(),
                x.len(),
            ));
        }
        if !self.span_checked {
            self.check_span(x)?;
        }
        if let Some(s) = self.spectral.as_mut().filter(|s| s.next < s.n_frames) {
            let end = (s.next + STFT_FRAMES_PER_STEP).min(s.n_frames);
            let sr = self.cfg.sample_rate() as f32;
            for t in s.next..end {
                s.stft.power_frame(x, t, &mut s.power);
                if let Some(acc) = &mut s.mfcc {
                    acc.push_power(&s.power);
                }
                if self.cfg.features.hfc || self.cfg.features.hpcp {
                    for (m, p) in s.mag.iter_mut().zip(&s.power) {
                        *m = p.sqrt();
                    }
                }
                if self.cfg.features.hfc {
                    let h = hfc_masri(&s.mag, sr);
                    s.hfc_moments.push(&[h.ln_1p()]);
                    if self.cfg.keep_frames {
                        s.hfc_frames.push(h);
                    }
                }
                if let Some(hpcp) = &mut s.hpcp {
                    hpcp.compute(&s.mag, &mut s.hpcp_frame)?;
                    s.hpcp_moments.push(&s.hpcp_frame);
                    if self.cfg.keep_frames {
                        s.hpcp_frames.extend_from_slice(&s.hpcp_frame);
                    }
                }
            }
            s.next = end;
            return Ok(self.progress());
        }
        if let Some(s) = self
            .scattering
            .as_mut()
            .filter(|s| s.next_block < s.plan.n_blocks)
        {
            let chunk = s.engine.process_block(x, &s.plan, s.next_block)?;
            let n_coeffs = s.column.len();
            for t in 0..chunk.n_frames {
                for (c, v) in s.column.iter_mut().enumerate() {
                    *v = chunk.data[c * chunk.n_frames + t];
                }
                if self.cfg.keep_frames {
                    s.frames.extend_from_slice(&s.column);
                }
                s.column.iter_mut().for_each(|v| *v = v.ln_1p());
                s.moments.push(&s.column);
            }
            debug_assert_eq!(s.column.len(), n_coeffs);
            s.next_block += 1;
        }
        Ok(self.progress())
    }

    /// Checks the span's samples for NaN/Inf once, before any work (NaN would poison the
    /// span-wide mel maximum), naming the position in the whole track. [`step_span`]
    /// calls it on the first step; a caller may call it earlier to fail fast.
    ///
    /// [`step_span`]: Self::step_span
    pub fn check_span(&mut self, x: &[f32]) -> Result<()> {
        crate::audio::check_finite_at(x, self.span.start, self.n_samples)?;
        self.span_checked = true;
        Ok(())
    }

    fn span_of<'a>(&self, track: &'a [f32]) -> Result<&'a [f32]> {
        track.get(self.span.clone()).ok_or_else(|| {
            Error::invalid(
                "track length (from the plan)",
                format!("at least {} samples", self.span.end),
                track.len(),
            )
        })
    }

    /// Builds the descriptor (and frame outputs) once every step is done.
    pub fn finish(mut self) -> Result<TrackFeatures> {
        let p = self.progress();
        if !p.finished() {
            return Err(Error::invalid(
                "track analysis",
                "every step done before finish",
                format!("{} of {} units", p.done, p.total),
            ));
        }
        let keep = self.cfg.keep_frames;
        let mut descriptor = Vec::with_capacity(descriptor_names(&self.cfg).len());
        let mut frames = TrackFrames::default();
        let mut n_frames = 0;
        if let Some(s) = &mut self.spectral {
            n_frames = s.n_frames;
            if let Some(acc) = &mut s.mfcc {
                let width = self.cfg.mfcc.delta_width;
                let m = acc.finish();
                let d1 = delta(&m, width, 1)?;
                let d2 = delta(&m, width, 2)?;
                for part in [&m, &d1, &d2] {
                    let (mean, std) = part.mean_std();
                    descriptor.extend(mean);
                    descriptor.extend(std);
                }
                if keep {
                    frames.mfcc = Some(m);
                    frames.mfcc_delta = Some(d1);
                    frames.mfcc_delta2 = Some(d2);
                }
            }
        }
        let mut n_scattering_frames = 0;
        if let Some(s) = &mut self.scattering {
            n_scattering_frames = s.plan.n_time;
            s.moments.write(&mut descriptor);
            if keep {
                frames.scattering = Some(FrameMatrix {
                    n_frames: s.plan.n_time,
                    n_coeffs: s.column.len(),
                    data: std::mem::take(&mut s.frames),
                });
            }
        }
        if let Some(s) = &mut self.spectral {
            if self.cfg.features.hfc {
                s.hfc_moments.write(&mut descriptor);
                if keep {
                    frames.hfc = Some(std::mem::take(&mut s.hfc_frames));
                }
            }
            if self.cfg.features.hpcp {
                s.hpcp_moments.write(&mut descriptor);
                if keep {
                    let size = s.hpcp_frame.len();
                    frames.hpcp = Some(FrameMatrix {
                        n_frames: s.hpcp_frames.len() / size,
                        n_coeffs: size,
                        data: std::mem::take(&mut s.hpcp_frames),
                    });
                }
            }
        }
        if let Some(i) = descriptor.iter().position(|v| !v.is_finite()) {
            let names = descriptor_names(&self.cfg);
            return Err(Error::Audio(format!(
                "descriptor value {} is {} (expected finite; PCM is expected in [-1, 1])",
                names.get(i).map_or("?", String::as_str),
                descriptor[i]
            )));
        }
        Ok(TrackFeatures {
            descriptor,
            span_start: self.span.start,
            span_len: self.span.len(),
            n_frames,
            n_scattering_frames,
            frames: keep.then_some(frames),
        })
    }

    /// The scattering output hop in samples (0 without scattering).
    pub fn scattering_hop(&self) -> usize {
        if self.cfg.features.scattering {
            self.cfg.scattering.hop()
        } else {
            0
        }
    }
}

/// Analyses a whole track in one call (the CLI; the browser steps instead).
pub fn analyze(track: &[f32], cfg: &TrackConfig) -> Result<TrackFeatures> {
    let mut a = TrackAnalysis::new(*cfg, track.len())?;
    while !a.step(track)?.finished() {}
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tone(n: usize, f: f64) -> Vec<f32> {
        (0..n)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * f * i as f64 / 22050.0).sin()) as f32)
            .collect()
    }

    #[test]
    fn names_match_descriptor_length() {
        let cfg = TrackConfig {
            scattering: ScatteringConfig::new(8, (8, 1)),
            ..TrackConfig::default()
        };
        let x = tone(22050 * 2, 440.0);
        let out = analyze(&x, &cfg).unwrap();
        let names = descriptor_names(&cfg);
        assert_eq!(out.descriptor.len(), names.len());
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "names are unique");
        assert!(out.descriptor.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn excerpt_is_the_middle() {
        let s = Span::Excerpt { seconds: 1.0 };
        assert_eq!(s.range(22050 * 3, 22050), 22050..44100);
        assert_eq!(s.range(100, 22050), 0..100);
        assert_eq!(Span::Whole.range(7, 22050), 0..7);
        assert_eq!(Span::parse("whole").unwrap(), Span::Whole);
        assert_eq!(Span::parse("30").unwrap(), Span::Excerpt { seconds: 30.0 });
        assert!(Span::parse("-1").is_err());
    }

    #[test]
    fn feature_lists_parse() {
        assert_eq!(FeatureSet::parse("all").unwrap(), FeatureSet::ALL);
        let s = FeatureSet::parse("mfcc, hpcp").unwrap();
        assert!(s.mfcc && s.hpcp && !s.hfc && !s.scattering);
        assert_eq!(s.to_list(), "mfcc,hpcp");
        let e = FeatureSet::parse("mfcc,chroma").unwrap_err().to_string();
        assert!(e.contains("chroma"), "{e}");
        assert!(FeatureSet::parse("").is_err());
    }

    #[test]
    fn stepping_equals_one_call_and_progress_rises() {
        let cfg = TrackConfig {
            scattering: ScatteringConfig::new(8, (8, 1)),
            span: Span::Whole,
            keep_frames: true,
            ..TrackConfig::default()
        };
        let x = tone(22050 * 20, 261.63);
        let mut a = TrackAnalysis::new(cfg, x.len()).unwrap();
        let mut last = a.progress();
        assert_eq!(last.done, 0);
        let mut steps = 0;
        while !last.finished() {
            let p = a.step(&x).unwrap();
            assert!(p.done > last.done, "every step makes progress");
            last = p;
            steps += 1;
        }
        assert!(steps > 3, "work is split into several steps ({steps})");
        let stepped = a.finish().unwrap();
        let whole = analyze(&x, &cfg).unwrap();
        assert_eq!(stepped.descriptor, whole.descriptor);
        let f = stepped.frames.unwrap();
        assert_eq!(f.mfcc.unwrap().n_frames, 1 + x.len() / 512);
        assert_eq!(f.hfc.unwrap().len(), 1 + x.len() / 512);
        let hpcp = f.hpcp.unwrap();
        // C (index 3 from A) dominates a 261.63 Hz tone.
        let (mean, _) = hpcp.mean_std();
        let argmax = (0..12)
            .max_by(|&a, &b| mean[a].total_cmp(&mean[b]))
            .unwrap();
        assert_eq!(PITCH_CLASSES[argmax], "C");
        assert_eq!(f.scattering.unwrap().n_frames, stepped.n_scattering_frames);
    }

    #[test]
    fn finish_before_done_is_an_error() {
        let cfg = TrackConfig {
            features: FeatureSet::parse("mfcc").unwrap(),
            span: Span::Whole,
            ..TrackConfig::default()
        };
        let x = tone(22050 * 20, 440.0);
        let mut a = TrackAnalysis::new(cfg, x.len()).unwrap();
        a.step(&x).unwrap();
        assert!(a.finish().is_err());
    }

    #[test]
    fn too_short_for_scattering_says_so() {
        let e = TrackAnalysis::new(TrackConfig::default(), 1000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("too short") && e.contains("0.045 s"), "{e}");
        let mfcc_only = TrackConfig {
            features: FeatureSet::parse("mfcc,hfc,hpcp").unwrap(),
            ..TrackConfig::default()
        };
        let out = analyze(&tone(2205, 440.0), &mfcc_only).unwrap();
        assert!(out.descriptor.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn nan_is_reported_with_its_track_position() {
        let cfg = TrackConfig {
            features: FeatureSet::parse("mfcc,hfc").unwrap(),
            span: Span::Excerpt { seconds: 10.0 },
            ..TrackConfig::default()
        };
        let mut x = tone(22050 * 20, 440.0);
        x[22050 * 12] = f32::NAN;
        let e = analyze(&x, &cfg).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
        // The position is the track's, not the excerpt's, whichever features are on.
        for features in ["mfcc,hfc", "scattering", "hpcp"] {
            let c = TrackConfig {
                features: FeatureSet::parse(features).unwrap(),
                ..cfg
            };
            let e = analyze(&x, &c).unwrap_err().to_string();
            assert!(e.contains("at sample 264600 of 441000"), "{features}: {e}");
        }
        // A NaN outside the excerpt is not read.
        let mut y = tone(22050 * 20, 440.0);
        y[10] = f32::NAN;
        assert!(analyze(&y, &cfg).is_ok());
    }
}
