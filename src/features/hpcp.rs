//! Harmonic pitch class profile (HPCP), Essentia's `HPCP` algorithm fed by its
//! `SpectralPeaks`.
//!
//! A reimplementation, from Essentia's documentation and source
//! (`src/algorithms/spectral/hpcp.cpp`, Essentia 2.1, MTG, AGPL-3.0,
//! <https://essentia.upf.edu>), of E. Gómez's HPCP ("Tonal description of polyphonic audio
//! for music content processing", INFORMS J. on Computing 18(3), 2006) with Fujishima's
//! pitch class profile as the `weightType = none` case. No Essentia code is included; its
//! numeric behaviour is matched so that our values agree with Essentia's (cosine ≥ 0.99 per
//! frame, same argmax, on the reference signals in `tests/`).
//!
//! # Output order
//! Bin 0 is the pitch class of `reference_frequency` (A for 440 Hz); bins then rise in steps
//! of `12 / size` semitones. For `size = 12` the order is
//! `A, A#, B, C, C#, D, D#, E, F, F#, G, G#` ([`PITCH_CLASSES`]), as in Essentia's
//! documentation ("notes from A to G#").
//!
//! # How a peak contributes (Essentia's behaviour)
//! A peak at `f` Hz with linear magnitude `m` lies at `p = size · log2(f / f_ref)` HPCP bins
//! from the reference. With `weightType = squaredCosine` it adds
//! `cos²(π · d / windowSize) · m²` to every bin `b` (wrapped modulo `size`) with
//! `⌈p − r·w/2⌉ ≤ b ≤ ⌊p + r·w/2⌋`, where `d = |p − b| / r` is the distance in semitones,
//! `r = size / 12` bins per semitone and `w = windowSize` semitones. Magnitudes enter
//! *squared* (energy), and with `harmonics > 0` each peak also counts, with weight
//! `(1 / max(1, octaves/2))²`, toward the fundamentals it could be a harmonic of. With
//! `bandPreset`, peaks below `bandSplitFrequency` and the rest are accumulated into two
//! profiles, each normalised to unit max, then summed and normalised again. Only peaks with
//! `minFrequency ≤ f ≤ maxFrequency` count. If nothing counts, the output is all zeros (the
//! normalisations leave a zero vector alone), never NaN.
//!
//! # Why one file (about 640 lines of code; the rest, over 800 in all, is its tests)
//! One algorithm, Essentia's `HPCP` with the peak picking that feeds it ([`HpcpExtractor`]):
//! the rounding helpers (`essentia_log2`, `ceil_i64`, …) exist to match Essentia's numbers and
//! are used nowhere else, and the tests against Essentia's values belong beside them.

use serde::{Deserialize, Serialize};

use super::spectral::SpectralPeaks;
use crate::error::{Error, Result};

/// Pitch class names of the 12 HPCP bins for `reference_frequency = 440` Hz, in output order
/// (bin 0 = A). For another reference frequency bin 0 is that frequency's pitch class.
pub const PITCH_CLASSES: [&str; 12] = [
    "A", "A#", "B", "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#",
];

/// Essentia's tolerance (in semitones) for merging harmonics that fall on the same pitch
/// class when building the harmonic contribution table.
const HARMONIC_PRECISION: f64 = 0.00001;

/// Largest `size` whose band-preset scratch profile lives on the stack (40 bins per
/// semitone); larger profiles allocate one buffer per call.
const STACK_BINS: usize = 480;

/// How a peak's energy is spread over neighbouring HPCP bins (Essentia `weightType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HpcpWeightType {
    /// All energy to the nearest bin (Fujishima's PCP).
    None,
    /// `cos(π d / windowSize)` within the window.
    Cosine,
    /// `cos²(π d / windowSize)` within the window (Essentia's default, ours).
    SquaredCosine,
}

/// Normalisation of the output vector (Essentia `normalized`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HpcpNormalization {
    /// Raw accumulated energies.
    None,
    /// Divide by the sum (left alone if the sum is 0).
    UnitSum,
    /// Divide by the maximum (left alone if it is 0); Essentia's default, ours.
    UnitMax,
}

/// Every parameter of Essentia's `HPCP`, named as in Essentia (snake case in Rust; serialised
/// with serde the names are exactly Essentia's: `referenceFrequency`, `bandPreset`, …).
///
/// [`Default`] is the configuration in `DESIGN.md` §3, which equals Essentia's defaults except
/// the sample rate: `size 12, referenceFrequency 440, harmonics 0, bandPreset true,
/// bandSplitFrequency 500, minFrequency 40, maxFrequency 5000, weightType squaredCosine,
/// windowSize 1, nonLinear false, maxShifted false, normalized unitMax, sampleRate 22050`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpcpConfig {
    /// Number of output bins; a positive multiple of 12 (12 = one bin per semitone).
    pub size: usize,
    /// Frequency in Hz of bin 0's centre (440 Hz = A).
    pub reference_frequency: f32,
    /// Number of harmonics above the fundamental a peak also votes for (0 = fundamental only).
    pub harmonics: usize,
    /// Whether low and high bands are normalised separately before being summed.
    pub band_preset: bool,
    /// Boundary between the low and high band in Hz (used only with `band_preset`).
    pub band_split_frequency: f32,
    /// Lowest peak frequency in Hz that contributes.
    pub min_frequency: f32,
    /// Highest peak frequency in Hz that contributes.
    pub max_frequency: f32,
    /// Spreading of a peak over bins.
    pub weight_type: HpcpWeightType,
    /// Apply Essentia's non-linear post-processing (`sin²`, then shrink values below 0.6);
    /// requires [`HpcpNormalization::UnitMax`].
    pub non_linear: bool,
    /// Width of the weighting window in semitones, in (0, 12] and at least one bin.
    pub window_size: f32,
    /// Sample rate of the analysed signal in Hz. Essentia accepts it but HPCP itself does not
    /// use it (peaks arrive in Hz); kept so every configuration states its rate.
    pub sample_rate: f32,
    /// Rotate the output so that its maximum is at index 0.
    pub max_shifted: bool,
    /// Output normalisation.
    pub normalized: HpcpNormalization,
}

impl Default for HpcpConfig {
    fn default() -> Self {
        Self {
            size: 12,
            reference_frequency: 440.0,
            harmonics: 0,
            band_preset: true,
            band_split_frequency: 500.0,
            min_frequency: 40.0,
            max_frequency: 5000.0,
            weight_type: HpcpWeightType::SquaredCosine,
            non_linear: false,
            window_size: 1.0,
            sample_rate: 22_050.0,
            max_shifted: false,
            normalized: HpcpNormalization::UnitMax,
        }
    }
}

impl HpcpConfig {
    /// Names of the output bins in order: the [`PITCH_CLASSES`] for `size = 12` and reference
    /// 440 Hz; with `k = size / 12 > 1` bins per semitone, the sub-bins of a pitch class are
    /// named `"A"`, `"A+1/3"`, `"A+2/3"`, … (fractions of a semitone above it). For another
    /// reference frequency the names are relative to the reference's pitch class taken as A.
    pub fn output_names(&self) -> Vec<String> {
        let k = (self.size / 12).max(1);
        (0..self.size)
            .map(|b| {
                let name = PITCH_CLASSES[(b / k) % 12];
                match b % k {
                    0 => name.to_string(),
                    r => format!("{name}+{r}/{k}"),
                }
            })
            .collect()
    }
}

/// One entry of the harmonic contribution table: a peak also votes for the fundamental
/// `semitone` semitones below it (modulo the octave), with this weight.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HarmonicPeak {
    /// `2^(−semitone / 12)`: the factor from the peak's frequency to the fundamental's.
    freq_factor: f64,
    /// Harmonic strength; the peak's energy is multiplied by its square.
    strength: f32,
}

/// A configured HPCP computer. Build once with [`Hpcp::new`], then call
/// [`compute`](Hpcp::compute) per frame; it allocates nothing (for any `size` up to 480).
#[derive(Debug, Clone)]
pub struct Hpcp {
    cfg: HpcpConfig,
    harmonic_peaks: Vec<HarmonicPeak>,
    /// Bins per semitone, `size / 12` (an integer, as in Essentia).
    resolution: f32,
}

impl Hpcp {
    /// Validates `cfg` with Essentia's rules and precomputes the harmonic table.
    ///
    /// Errors: `size` not a positive multiple of 12; `window_size` outside (0, 12] or
    /// narrower than one bin (`window_size · size / 12 < 1`); non-positive or non-finite
    /// frequencies or sample rate; `max_frequency − min_frequency < 200` Hz; with
    /// `band_preset`, either band narrower than 200 Hz; `non_linear` without unit-max
    /// normalisation.
    pub fn new(cfg: HpcpConfig) -> Result<Self> {
        if cfg.size == 0 || cfg.size % 12 != 0 {
            return Err(Error::invalid(
                "HpcpConfig.size",
                "a positive multiple of 12",
                cfg.size,
            ));
        }
        if !(cfg.window_size > 0.0 && cfg.window_size <= 12.0) {
            return Err(Error::invalid(
                "HpcpConfig.window_size",
                "a width in semitones in (0, 12]",
                cfg.window_size,
            ));
        }
        if cfg.window_size * ((cfg.size / 12) as f32) < 1.0 {
            return Err(Error::invalid(
                "HpcpConfig.window_size",
                format!(
                    "at least one HPCP bin ({} semitones)",
                    12.0 / cfg.size as f32
                ),
                cfg.window_size,
            ));
        }
        for (what, v) in [
            ("HpcpConfig.reference_frequency", cfg.reference_frequency),
            ("HpcpConfig.min_frequency", cfg.min_frequency),
            ("HpcpConfig.max_frequency", cfg.max_frequency),
            ("HpcpConfig.band_split_frequency", cfg.band_split_frequency),
            ("HpcpConfig.sample_rate", cfg.sample_rate),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(what, "a positive finite value in Hz", v));
            }
        }
        if cfg.max_frequency - cfg.min_frequency < 200.0 {
            return Err(Error::invalid(
                "HpcpConfig.max_frequency",
                format!(
                    "at least 200 Hz above min_frequency ({} Hz)",
                    cfg.min_frequency
                ),
                cfg.max_frequency,
            ));
        }
        if cfg.band_preset {
            if cfg.band_split_frequency - cfg.min_frequency < 200.0 {
                return Err(Error::invalid(
                    "HpcpConfig.band_split_frequency",
                    format!(
                        "at least 200 Hz above min_frequency ({} Hz) with band_preset",
                        cfg.min_frequency
                    ),
                    cfg.band_split_frequency,
                ));
            }
            if cfg.max_frequency - cfg.band_split_frequency < 200.0 {
                return Err(Error::invalid(
                    "HpcpConfig.band_split_frequency",
                    format!(
                        "at least 200 Hz below max_frequency ({} Hz) with band_preset",
                        cfg.max_frequency
                    ),
                    cfg.band_split_frequency,
                ));
            }
        }
        if cfg.non_linear && cfg.normalized != HpcpNormalization::UnitMax {
            return Err(Error::invalid(
                "HpcpConfig.non_linear",
                "false unless normalized is unitMax",
                "true",
            ));
        }
        let harmonic_peaks = harmonic_table(cfg.harmonics);
        let resolution = (cfg.size / 12) as f32;
        Ok(Self {
            cfg,
            harmonic_peaks,
            resolution,
        })
    }

    /// The configuration this computer was built with.
    pub fn config(&self) -> &HpcpConfig {
        &self.cfg
    }

    /// Number of output values (`size`).
    pub fn size(&self) -> usize {
        self.cfg.size
    }

    /// Computes the HPCP of one frame's spectral peaks.
    ///
    /// * `freqs`: peak frequencies in Hz (any order; typically from [`SpectralPeaks`]).
    /// * `mags`: the peaks' linear magnitudes, same length as `freqs`.
    /// * `out`: receives `size` values in the order described in the module docs
    ///   (bin 0 = pitch class of `reference_frequency`); with unit-max normalisation they lie
    ///   in [0, 1].
    ///
    /// No peak in range (silence, empty input) gives all zeros. Does not allocate unless
    /// `band_preset` is on and `size` exceeds 480 (40 bins per semitone).
    ///
    /// # Panics
    /// If `freqs.len() != mags.len()` or `out.len() != size` (programming errors; Essentia
    /// throws for the first).
    pub fn compute(&self, freqs: &[f32], mags: &[f32], out: &mut [f32]) {
        assert_eq!(
            freqs.len(),
            mags.len(),
            "HPCP: peak frequencies and magnitudes differ in length"
        );
        assert_eq!(
            out.len(),
            self.cfg.size,
            "HPCP: output length must equal size"
        );
        let cfg = &self.cfg;
        out.fill(0.0);

        if cfg.band_preset {
            // Essentia keeps a low-band and a high-band profile, normalises each and sums
            // them. The low band lives on the stack (no allocation); only sizes beyond
            // `STACK_BINS` (more than 40 bins per semitone) fall back to the heap.
            if cfg.size <= STACK_BINS {
                let mut buf = [0.0f32; STACK_BINS];
                self.band_preset(freqs, mags, &mut buf[..cfg.size], out);
            } else {
                let mut lo = vec![0.0f32; cfg.size];
                self.band_preset(freqs, mags, &mut lo, out);
            }
        } else {
            self.accumulate(freqs, mags, out, |_| true);
        }

        match cfg.normalized {
            HpcpNormalization::UnitMax => normalize_max(out),
            HpcpNormalization::UnitSum => normalize_sum(out),
            HpcpNormalization::None => {}
        }

        if cfg.non_linear {
            // Essentia's "Jordi" post-processing: sin² boost, then values below 0.6 are pushed
            // further down by (h/0.6)².
            for h in out.iter_mut() {
                // The sine in f64 stored as f32, then the shrink factor in f64, as Essentia.
                let s = (f64::from(*h) * std::f64::consts::PI * 0.5).sin() as f32;
                let v = s * s;
                *h = if v < 0.6 {
                    let v64 = f64::from(v);
                    (v64 * (v64 / 0.6 * v64 / 0.6)) as f32
                } else {
                    v
                };
            }
        }

        if cfg.max_shifted {
            let idx = argmax(out);
            out.rotate_left(idx);
        }
    }

    /// Essentia's band preset: `out = norm(LO) + norm(HI)` where LO holds the peaks below
    /// `band_split_frequency` and HI the rest, `norm` being the configured normalisation
    /// (none for `None`). `lo` is zeroed scratch of length `size`. Computed exactly as Essentia
    /// does (normalise, then add) so that ties between the bands' maxima stay exact ties.
    fn band_preset(&self, freqs: &[f32], mags: &[f32], lo: &mut [f32], out: &mut [f32]) {
        let split = self.cfg.band_split_frequency;
        self.accumulate(freqs, mags, lo, |f| f < split);
        self.accumulate(freqs, mags, out, |f| f >= split);
        match self.cfg.normalized {
            HpcpNormalization::UnitMax => {
                normalize_max(lo);
                normalize_max(out);
            }
            HpcpNormalization::UnitSum => {
                // Essentia warns that this combination is untested; we follow it anyway.
                normalize_sum(lo);
                normalize_sum(out);
            }
            HpcpNormalization::None => {}
        }
        for (o, &l) in out.iter_mut().zip(lo.iter()) {
            // Essentia adds LO + HI; f32 addition is commutative, so the order is moot.
            *o += l;
        }
    }

    /// Adds the contributions of the peaks with `in_band(freq)` to `out`.
    fn accumulate(
        &self,
        freqs: &[f32],
        mags: &[f32],
        out: &mut [f32],
        in_band: impl Fn(f32) -> bool,
    ) {
        self.for_each_contribution(freqs, mags, in_band, |bin, v| out[bin] += v);
    }

    /// Calls `add(bin, value)` for every (peak, harmonic, bin) contribution of the peaks
    /// inside `[min_frequency, max_frequency]` that satisfy `in_band`.
    #[inline]
    fn for_each_contribution(
        &self,
        freqs: &[f32],
        mags: &[f32],
        in_band: impl Fn(f32) -> bool,
        mut add: impl FnMut(usize, f32),
    ) {
        let cfg = &self.cfg;
        let size = cfg.size as i64;
        let size_f = cfg.size as f32;
        let half_window_bins = f64::from(self.resolution) * f64::from(cfg.window_size) / 2.0;
        for (&freq, &mag) in freqs.iter().zip(mags) {
            // Essentia's range test is inclusive at both ends; NaN fails it and is skipped.
            if !(freq >= cfg.min_frequency && freq <= cfg.max_frequency && in_band(freq)) {
                continue;
            }
            let energy = mag * mag;
            for hp in &self.harmonic_peaks {
                // As Essentia: the product in f64, stored as f32.
                let f = (f64::from(freq) * hp.freq_factor) as f32;
                if cfg.weight_type == HpcpWeightType::None {
                    if f <= 0.0 {
                        continue;
                    }
                    // Nearest bin; `round` is half away from zero, like C's.
                    let b = (size_f * essentia_log2(f / cfg.reference_frequency)).round() as i64;
                    // Same operation order as Essentia: ((m·m)·h)·h.
                    add(
                        b.rem_euclid(size) as usize,
                        energy * hp.strength * hp.strength,
                    );
                    continue;
                }
                // Position in HPCP bins relative to the reference (may be negative).
                let p = essentia_log2(f / cfg.reference_frequency) * size_f;
                // Window bounds in f64, as Essentia computes them.
                let left = ceil_i64(f64::from(p) - half_window_bins);
                let right = floor_i64(f64::from(p) + half_window_bins);
                for b in left..=right {
                    let d = (p - b as f32).abs() / self.resolution / cfg.window_size;
                    // In f64 as Essentia does: at the window's edge cos(π/2) is +6e-17 in f64
                    // but −4e-8 in f32, and a negative weight changes unit-sum normalisation.
                    let c = (std::f64::consts::PI * f64::from(d)).cos() as f32;
                    let w = if cfg.weight_type == HpcpWeightType::SquaredCosine {
                        c * c
                    } else {
                        c
                    };
                    // Same operation order as Essentia: ((w·m²)·h)·h.
                    add(
                        b.rem_euclid(size) as usize,
                        w * energy * hp.strength * hp.strength,
                    );
                }
            }
        }
    }
}

/// Essentia's harmonic contribution table: harmonic `h = 1 …= harmonics + 1` sits
/// `12 log2 h` semitones above the fundamental and has strength `1 / max(1, log2(h) / 2)`;
/// harmonics landing on the same pitch class (within [`HARMONIC_PRECISION`]) add their
/// strengths. For `harmonics = 0` the table is the fundamental alone with strength 1.
fn harmonic_table(harmonics: usize) -> Vec<HarmonicPeak> {
    // Essentia keeps semitone and strength as f32 (`Real`) and does the arithmetic in f64;
    // we mirror that so the harmonics' frequencies round the same way.
    let precision = f64::from(HARMONIC_PRECISION as f32);
    let mut table: Vec<(f32, f32)> = Vec::with_capacity(harmonics + 1);
    for i in 0..=harmonics {
        let mut semitone = (12.0 * ((i + 1) as f64).log2()) as f32;
        let octweight = (f64::from(semitone) / 12.0 * 0.5).max(1.0) as f32;
        while f64::from(semitone) >= 12.0 - precision {
            semitone = (f64::from(semitone) - 12.0) as f32;
        }
        let s = f64::from(semitone);
        let strength = 1.0 / f64::from(octweight);
        match table
            .iter_mut()
            .find(|(t, _)| f64::from(*t) > s - precision && f64::from(*t) < s + precision)
        {
            Some(entry) => entry.1 = (f64::from(entry.1) + strength) as f32,
            None => table.push((semitone, strength as f32)),
        }
    }
    table
        .into_iter()
        .map(|(semitone, strength)| HarmonicPeak {
            freq_factor: 2f64.powf(-f64::from(semitone) / 12.0),
            strength,
        })
        .collect()
}

/// Essentia's own `log2` (a template in `essentiamath.h`, which HPCP's unqualified calls
/// resolve to): `log(x) / ln 2` evaluated in f64 and stored as f32. It can differ from a
/// correctly rounded `log2f` by an ulp, which decides the nearest bin for peaks exactly
/// between two bins with `weightType = none`.
#[inline]
fn essentia_log2(x: f32) -> f32 {
    (f64::from(x.ln()) / std::f64::consts::LN_2) as f32
}

/// `⌈x⌉` for the small finite values of HPCP bin positions, without a libm call (x86-64's
/// baseline has no rounding instruction, so `f64::ceil` is a function call there).
#[inline]
fn ceil_i64(x: f64) -> i64 {
    let t = x as i64; // truncates toward zero
    if (t as f64) < x {
        t + 1
    } else {
        t
    }
}

/// `⌊x⌋`, see [`ceil_i64`].
#[inline]
fn floor_i64(x: f64) -> i64 {
    let t = x as i64;
    if (t as f64) > x {
        t - 1
    } else {
        t
    }
}

/// Largest value of a profile (−∞ for an empty slice, which `size ≥ 12` rules out).
fn max_of(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// Index of the first maximum, as `std::max_element` gives it.
fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Divides by the maximum unless it is 0 (Essentia's `normalize`): a silent profile stays 0.
/// A non-finite maximum (only from non-finite peak magnitudes) is left alone too.
fn normalize_max(v: &mut [f32]) {
    let m = max_of(v);
    if m != 0.0 && m.is_finite() {
        v.iter_mut().for_each(|x| *x /= m);
    }
}

/// Divides by the sum unless it is 0 or some value is negative (Essentia's `normalizeSum`).
fn normalize_sum(v: &mut [f32]) {
    if v.iter().any(|&x| x < 0.0) {
        return;
    }
    let s: f32 = v.iter().sum();
    if s != 0.0 {
        v.iter_mut().for_each(|x| *x /= s);
    }
}

/// Spectral peaks → HPCP for one magnitude spectrum frame at a time, with every buffer owned
/// and sized at construction so that [`compute`](HpcpExtractor::compute) never allocates.
#[derive(Debug, Clone)]
pub struct HpcpExtractor {
    peaks: SpectralPeaks,
    hpcp: Hpcp,
    n_bins: usize,
    freqs: Vec<f32>,
    mags: Vec<f32>,
}

impl HpcpExtractor {
    /// Builds the pipeline for spectra of `n_bins = n_fft / 2 + 1` bins.
    ///
    /// Errors if `peaks` or `hpcp` is invalid, if their sample rates differ (the peaks'
    /// frequencies would be on the wrong scale), or if `n_bins < 2`.
    pub fn new(peaks: SpectralPeaks, hpcp: HpcpConfig, n_bins: usize) -> Result<Self> {
        peaks.validate()?;
        if peaks.sample_rate != hpcp.sample_rate {
            return Err(Error::invalid(
                "HpcpConfig.sample_rate",
                format!("the peak picker's sample rate ({} Hz)", peaks.sample_rate),
                hpcp.sample_rate,
            ));
        }
        if n_bins < 2 {
            return Err(Error::invalid(
                "HpcpExtractor n_bins",
                "at least 2 spectrum bins (n_fft / 2 + 1)",
                n_bins,
            ));
        }
        let hpcp = Hpcp::new(hpcp)?;
        let cap = peaks.capacity_for(n_bins);
        Ok(Self {
            peaks,
            hpcp,
            n_bins,
            freqs: Vec::with_capacity(cap),
            mags: Vec::with_capacity(cap),
        })
    }

    /// The `DESIGN.md` §3 pipeline at `sample_rate` Hz for spectra of `n_bins` bins:
    /// `SpectralPeaks { maxPeaks 100, magnitudeThreshold 0, orderBy frequency, minFrequency 40,
    /// maxFrequency 5000 }` → [`HpcpConfig::default`] (with that sample rate).
    pub fn with_design_defaults(sample_rate: f32, n_bins: usize) -> Result<Self> {
        Self::new(
            SpectralPeaks {
                sample_rate,
                ..SpectralPeaks::default()
            },
            HpcpConfig {
                sample_rate,
                ..HpcpConfig::default()
            },
            n_bins,
        )
    }

    /// Number of output values per frame (the HPCP `size`).
    pub fn size(&self) -> usize {
        self.hpcp.size()
    }

    /// The peak picker's parameters.
    pub fn peaks(&self) -> &SpectralPeaks {
        &self.peaks
    }

    /// Maps one linear magnitude spectrum (`n_bins` values, bin `k` at
    /// `k · (sample_rate / 2) / (n_bins − 1)` Hz) to `size` HPCP values in `out`
    /// (bin 0 = pitch class of the reference frequency, A for 440 Hz).
    ///
    /// Errors if `mag.len() != n_bins` or `out.len() != size`.
    pub fn compute(&mut self, mag: &[f32], out: &mut [f32]) -> Result<()> {
        if mag.len() != self.n_bins {
            return Err(Error::invalid(
                "HPCP spectrum length",
                format!("{} bins", self.n_bins),
                mag.len(),
            ));
        }
        if out.len() != self.hpcp.size() {
            return Err(Error::invalid(
                "HPCP output length",
                self.hpcp.size(),
                out.len(),
            ));
        }
        self.peaks.compute(mag, &mut self.freqs, &mut self.mags);
        self.hpcp.compute(&self.freqs, &self.mags, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpcp(freqs: &[f32], mags: &[f32]) -> Vec<f32> {
        let h = Hpcp::new(HpcpConfig::default()).unwrap();
        let mut out = vec![0.0; 12];
        h.compute(freqs, mags, &mut out);
        out
    }

    /// Values printed by Essentia 2.1-beta6-dev (PyPI) with the DESIGN configuration.
    #[test]
    fn matches_essentia_on_single_peaks() {
        let mut a = [0.0; 12];
        a[0] = 1.0;
        assert_eq!(hpcp(&[440.0], &[1.0]), a);
        assert_eq!(hpcp(&[450.0], &[1.0]), a);
        assert_eq!(hpcp(&[], &[]), [0.0; 12]);
        // C (261.63 Hz, low band) and F (700 Hz, high band): each band is normalised on its
        // own, so both reach 1 although the magnitudes differ.
        let mut b = [0.0; 12];
        b[3] = 1.0;
        b[8] = 1.0;
        assert_eq!(hpcp(&[261.63, 700.0], &[1.0, 0.5]), b);
    }

    #[test]
    fn integer_rounding_helpers() {
        for x in [-2.5, -2.0, -0.5, -0.0, 0.0, 0.3, 1.0, 1.7, 13.5] {
            assert_eq!(ceil_i64(x), x.ceil() as i64, "{x}");
            assert_eq!(floor_i64(x), x.floor() as i64, "{x}");
        }
    }

    /// Non-default configurations against values printed by Essentia 2.1-beta6-dev (PyPI):
    /// harmonics, cosine weighting with wide and narrow windows, unit-sum band preset,
    /// max-shift. The second case has peaks right at the window's edge, where the cosine
    /// weight must be +6e-17 (f64) rather than −4e-8 (f32) for unit-sum to normalise.
    #[test]
    fn matches_essentia_on_other_configurations() {
        let base = HpcpConfig {
            size: 24,
            band_split_frequency: 800.0,
            min_frequency: 100.0,
            weight_type: HpcpWeightType::Cosine,
            normalized: HpcpNormalization::UnitSum,
            ..HpcpConfig::default()
        };
        let check = |cfg: HpcpConfig, f: &[f32], m: &[f32], want: &[f32]| {
            let mut out = vec![0.0; cfg.size];
            Hpcp::new(cfg).unwrap().compute(f, m, &mut out);
            for (o, w) in out.iter().zip(want) {
                assert!((o - w).abs() <= 1e-6, "{out:?}\n{want:?}");
            }
        };
        check(
            HpcpConfig {
                harmonics: 8,
                window_size: 2.0,
                max_shifted: true,
                ..base.clone()
            },
            &[285.304_7, 631.304_9, 4066.8416],
            &[0.644_371, 0.442_893_3, 0.710_455_5],
            &[
                0.157_099_55,
                0.110_629_04,
                0.000_617_427_3,
                0.074_132_74,
                0.106_912_9,
                0.077_064_93,
                0.020_877_844,
                0.045_014_23,
                0.048_347_86,
                0.047_653_5,
                0.037_231_416,
                0.025_433_35,
                0.002_508_508_5,
                0.018_534_476,
                0.023_703_2,
                0.020_642_573,
                0.012_739_752,
                0.017_439_23,
                0.012_198_459,
                0.010_297_68,
                0.009_902_373,
                0.007_644_735,
                0.001_830_801_6,
                0.111_543_275,
            ],
        );
        check(
            HpcpConfig {
                harmonics: 3,
                window_size: 0.5,
                max_frequency: 3000.0,
                ..base
            },
            &[
                1975.5332,
                842.690_86,
                397.697_14,
                854.948_1,
                1_919.293_6,
                2_959.955_3,
                4_008.536,
                95.209_02,
                118.236_07,
                354.307_86,
                2_561.949_7,
                3_838.587_2,
                806.963_56,
            ],
            &[
                0.883_381_96,
                0.555_804_6,
                0.843_433,
                0.652_526_7,
                0.284_520_27,
                0.012_782_602,
                0.725_070_24,
                0.594_481_05,
                0.129_767_08,
                0.915_501,
                0.828_223_3,
                0.819_517_1,
                0.955_829_1,
            ],
            &[
                0.0,
                0.0,
                0.267_529_5,
                0.012_611_737,
                0.121_578_16,
                0.0,
                0.227_034_55,
                0.015_695_747,
                0.000_655_226_3,
                0.007_315_058,
                0.0,
                0.0,
                0.005_373_491_4,
                0.108_257_67,
                0.013_406_583,
                0.0,
                1.2e-15,
                1.2e-15,
                2.545_581_3e-5,
                0.0,
                0.0,
                0.142_396_55,
                2.883_850_3e-7,
                0.078_119_99,
            ],
        );
    }

    #[test]
    fn names_start_at_a() {
        assert_eq!(HpcpConfig::default().output_names()[0], "A");
        assert_eq!(HpcpConfig::default().output_names()[3], "C");
        let c36 = HpcpConfig {
            size: 36,
            ..HpcpConfig::default()
        };
        assert_eq!(&c36.output_names()[..4], ["A", "A+1/3", "A+2/3", "A#"]);
    }

    #[test]
    fn harmonic_table_merges_octaves() {
        // h = 1, 2, 4 share pitch class 0; h = 3 is a fifth (7.02 semitones) higher.
        let t = harmonic_table(3);
        assert_eq!(t.len(), 2);
        // The fifth's fundamental is the peak's frequency × 2^(−(12 log2 3 − 12)/12) = × 2/3.
        assert!((t[1].freq_factor - 2.0 / 3.0).abs() < 1e-6);
        // Strengths: 1 + 1 + 1 (log2(4)/2 = 1) for the octaves, 1 for the fifth.
        assert_eq!((t[0].strength, t[1].strength), (3.0, 1.0));
    }

    #[test]
    fn rejects_essentia_invalid_configs() {
        let d = HpcpConfig::default();
        for bad in [
            HpcpConfig {
                size: 13,
                ..d.clone()
            },
            HpcpConfig {
                size: 0,
                ..d.clone()
            },
            HpcpConfig {
                window_size: 0.5,
                ..d.clone()
            },
            HpcpConfig {
                band_split_frequency: 100.0,
                ..d.clone()
            },
            HpcpConfig {
                max_frequency: 600.0,
                ..d.clone()
            },
            HpcpConfig {
                non_linear: true,
                normalized: HpcpNormalization::UnitSum,
                ..d.clone()
            },
        ] {
            assert!(Hpcp::new(bad).is_err());
        }
        assert!(Hpcp::new(d).is_ok());
    }

    #[test]
    fn max_shifted_rotates() {
        let h = Hpcp::new(HpcpConfig {
            max_shifted: true,
            ..HpcpConfig::default()
        })
        .unwrap();
        let mut out = [0.0; 12];
        h.compute(&[261.63], &[1.0], &mut out);
        assert_eq!(out[0], 1.0);
    }

    #[test]
    fn extractor_checks_lengths() {
        let mut x = HpcpExtractor::with_design_defaults(22050.0, 1025).unwrap();
        let mut out = [0.0; 12];
        assert!(x.compute(&[0.0; 10], &mut out).is_err());
        assert!(x.compute(&[0.0; 1025], &mut out[..11]).is_err());
        x.compute(&[0.0; 1025], &mut out).unwrap();
        assert_eq!(out, [0.0; 12]);
    }
}
