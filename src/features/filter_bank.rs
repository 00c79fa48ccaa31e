//! Morlet filter banks with the conventions of Kymatio's `Scattering1D` (v0.3.0).
//!
//! Everything here is a re-implementation in Rust of the formulas in Kymatio 0.3.0,
//! `kymatio/scattering1d/filter_bank.py`, `kymatio/scattering1d/utils.py` and
//! `kymatio/scattering1d/frontend/base_frontend.py` (BSD-3-Clause,
//! <https://github.com/kymatio/kymatio/tree/0.3.0>). The function names mirror theirs so
//! that a reader can put the two side by side; the arithmetic is done in `f64` in the
//! same order so that the filter parameters (`xi`, `sigma`, `j`) agree to the last bit
//! and the Fourier values to rounding.
//!
//! Conventions (all Kymatio's):
//! * frequencies are in cycles per sample, `0 ≤ ξ ≤ 0.5` (multiply by the sample rate for
//!   Hz); a filter of length `N` is sampled at `np.fft.fftfreq(N)` (bin `k` ↔ `k / N`,
//!   upper half negative);
//! * a Morlet filter is a Gabor filter minus a scaled Gaussian (the "corrective low-pass")
//!   so that its value at frequency 0 is exactly 0, periodised over `2P − 1` periods, and
//!   normalised to unit L1 norm *in time*;
//! * a filter at "level" `k` is the level-0 filter periodised over `2^k` periods (length
//!   `N / 2^k`): it is what multiplies the spectrum of a signal subsampled by `2^k`.
//!
//! Filters are stored sparsely ([`SparseSpectrum`]): the Gaussians decay so fast that most
//! bins are below `1e-10 ×` the peak, and a dense bank for a 30 s clip (54 first-order
//! filters of 2^20 bins) would need ~0.5 GB, which the browser cannot afford.

use std::f64::consts::PI;

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::error::{Error, Result};

/// Kymatio's `sigma0`: the low-pass filter at scale `T` has frequential width `sigma0 / T`.
pub const SIGMA0: f64 = 0.1;
/// Kymatio's `alpha`: aliasing tolerance in [`get_max_dyadic_subsampling`].
pub const ALPHA: f64 = 5.0;
/// Kymatio's `eps` in `adaptive_choice_P`.
const P_EPS: f64 = 1e-7;
/// Fourier values below this fraction of a filter's peak are not stored (see module docs).
/// A dropped bin changes an output by at most `1e-10` of its scale, far below the `1e-3`
/// parity tolerance and below `f32` resolution.
pub const SPARSE_REL_THRESHOLD: f64 = 1e-10;

/// Kymatio's `r_psi = sqrt(0.5)`: adjacent wavelets intersect at `r_psi` of their peak.
pub fn r_psi() -> f64 {
    0.5f64.sqrt()
}

/// Centre frequency, bandwidth and maximal subsampling of one band-pass filter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FilterParams {
    /// Centre frequency ξ in cycles per sample (0 for the low-pass filter).
    pub xi: f64,
    /// Frequential width σ (standard deviation of the Gaussian) in cycles per sample.
    pub sigma: f64,
    /// Largest `j` such that the filter output may be subsampled by `2^j` without aliasing
    /// (for the low-pass filter: `floor(log2 T)`).
    pub j: u32,
}

/// `ceil(log2(x))` for `x ≥ 1`, in integers (Kymatio uses floats; equal for all `x < 2^52`).
pub fn ceil_log2(x: usize) -> u32 {
    debug_assert!(x >= 1);
    usize::BITS - (x - 1).leading_zeros()
}

/// Kymatio `adaptive_choice_P`: number of periods `P` such that the Gaussian of width
/// `sigma` is below `eps` at the edges of `[1 − P, P)`.
pub fn adaptive_choice_p(sigma: f64) -> usize {
    let val = (-2.0 * (sigma * sigma) * P_EPS.ln()).sqrt();
    (val + 1.0).ceil() as usize
}

/// Kymatio `compute_sigma_psi`: bandwidth of the Morlet at `xi` in a family with `q`
/// wavelets per octave, adjacent filters meeting at `r` of their peak.
pub fn compute_sigma_psi(xi: f64, q: u32, r: f64) -> f64 {
    let factor = 1.0 / 2f64.powf(1.0 / q as f64);
    let term1 = (1.0 - factor) / (1.0 + factor);
    let term2 = 1.0 / (2.0 * (1.0 / r).ln()).sqrt();
    xi * term1 * term2
}

/// Kymatio `get_max_dyadic_subsampling`: largest `j` with `xi + alpha·sigma < 2^-(j+1)`.
pub fn get_max_dyadic_subsampling(xi: f64, sigma: f64, alpha: f64) -> u32 {
    let upper_bound = (xi + alpha * sigma).min(0.5);
    let j = (-upper_bound.log2()).floor() - 1.0;
    // upper_bound ≤ 0.5 so -log2 ≥ 1 and j ≥ 0.
    j.max(0.0) as u32
}

/// Kymatio `compute_xi_max`: centre frequency of the highest wavelet.
pub fn compute_xi_max(q: u32) -> f64 {
    (1.0 / (1.0 + 2f64.powf(3.0 / q as f64))).max(0.35)
}

/// Kymatio `compute_params_filterbank`: the wavelets of one order, highest frequency
/// first. A geometric (constant-Q) progression of `xi` from [`compute_xi_max`] down to the
/// elbow where `sigma` would fall below `sigma_min`, then `q − 1` filters of width
/// `sigma_min` spaced linearly towards 0.
pub fn compute_params_filterbank(sigma_min: f64, q: u32, alpha: f64, r: f64) -> Vec<FilterParams> {
    let xi_max = compute_xi_max(q);
    let sigma_max = compute_sigma_psi(xi_max, q, r);
    let step = 2f64.powf(1.0 / q as f64);
    let mut xis = Vec::new();
    let mut sigmas = Vec::new();
    // Kymatio: with no constant-Q filter the linear part starts from sigma_max.
    let elbow_xi = if sigma_max <= sigma_min {
        sigma_max
    } else {
        let (mut x, mut s) = (xi_max, sigma_max);
        xis.push(x);
        sigmas.push(s);
        while s > sigma_min * step {
            (x, s) = (x / step, s / step);
            xis.push(x);
            sigmas.push(s);
        }
        x
    };
    for k in 1..q {
        xis.push(elbow_xi - k as f64 / q as f64 * elbow_xi);
        sigmas.push(sigma_min);
    }
    xis.iter()
        .zip(&sigmas)
        .map(|(&xi, &sigma)| FilterParams {
            xi,
            sigma,
            j: get_max_dyadic_subsampling(xi, sigma, alpha),
        })
        .collect()
}

/// Kymatio `periodize_filter_fourier`: `v[k] = mean_i h[i·N + k]` over `nperiods` periods.
/// Shape: `h` has `N · nperiods` values, the result `N`.
pub fn periodize(h: &[f64], nperiods: usize) -> Vec<f64> {
    let n = h.len() / nperiods;
    let mut v = vec![0.0; n];
    for period in h.chunks_exact(n) {
        for (a, b) in v.iter_mut().zip(period) {
            *a += b;
        }
    }
    let inv = 1.0 / nperiods as f64;
    v.iter_mut().for_each(|a| *a *= inv);
    v
}

/// Sum over the periods `m ∈ [1 − P, P)` of `exp(−(m + k/N − xi)² / (2σ²))`, for every bin
/// `k ∈ [0, N)`, divided by `2P − 1` (i.e. Kymatio's Gaussian sampled on `[1 − P, P)` and
/// then periodised with a mean). Terms with an exponent below [`EXP_CUTOFF`] are skipped:
/// they are below `1e-26` of the peak, so skipping them changes no value by more than
/// that, and it saves most of the work for narrow filters.
fn periodized_gaussian(n: usize, p: usize, xi: f64, sigma: f64) -> Vec<f64> {
    let two_s2 = 2.0 * (sigma * sigma);
    let reach = (-EXP_CUTOFF * two_s2).sqrt(); // |f − xi| beyond this is skipped
    let nf = n as f64;
    let mut out = vec![0.0; n];
    let p = p as i64;
    for m in (1 - p)..p {
        // bins k with |m + k/N − xi| < reach
        let lo = ((xi - reach - m as f64) * nf).floor().max(0.0);
        let hi = ((xi + reach - m as f64) * nf).ceil().min(nf - 1.0);
        if hi < lo {
            continue;
        }
        let (lo, hi) = (lo as usize, hi as usize);
        for (k, o) in (lo..=hi).zip(&mut out[lo..=hi]) {
            // same value as numpy's `arange((1-P)N, PN) / N` at this position
            let f = (m * n as i64 + k as i64) as f64 / nf;
            let d = f - xi;
            let e = -(d * d) / two_s2;
            if e > EXP_CUTOFF {
                *o += e.exp();
            }
        }
    }
    let inv = 1.0 / (2 * p - 1) as f64;
    out.iter_mut().for_each(|a| *a *= inv);
    out
}

/// Exponents below this are treated as `exp(..) = 0` when building filters (`e^-60 ≈ 9e-27`).
const EXP_CUTOFF: f64 = -60.0;

/// Kymatio `morlet_1d` (`xi = Some(..)`) and `gauss_1d` (`xi = None`): the filter's Fourier
/// transform on `fftfreq(n)`, real-valued, normalised to unit L1 norm in time.
///
/// Shape: `n` values, bin `k` ↔ frequency `k/n` (wrapped to negative above `n/2`).
pub fn morlet_1d(n: usize, xi: Option<f64>, sigma: f64, planner: &mut FftPlanner<f64>) -> Vec<f64> {
    let p = adaptive_choice_p(sigma).min(5);
    // Kymatio uses `fftfreq` instead of `[1-P, P)` when P == 1; P ≥ 2 always holds here since
    // `val > 0`, so the general branch is the only one.
    let mut filter = match xi {
        Some(xi) if xi != 0.0 => {
            let mut gabor = periodized_gaussian(n, p, xi, sigma);
            // kappa = gabor[0] / low_pass[0]; when the Gabor is (numerically) zero at DC, so
            // is the correction, and the low-pass need not be evaluated at all.
            if gabor[0] != 0.0 {
                let low_pass = periodized_gaussian(n, p, 0.0, sigma);
                let kappa = gabor[0] / low_pass[0];
                gabor
                    .iter_mut()
                    .zip(&low_pass)
                    .for_each(|(g, l)| *g -= kappa * l);
            }
            gabor
        }
        _ => periodized_gaussian(n, p, 0.0, sigma),
    };
    let l1 = time_l1_norm(&filter, sigma, planner);
    filter.iter_mut().for_each(|v| *v /= l1);
    filter
}

/// `Σ_t |ifft(h)[t]|` for a filter of frequential width `sigma` centred at `t = 0` in time.
///
/// Kymatio computes this with an inverse FFT of the full length `n`. The filter is
/// concentrated within a few `1 / (2πσ)` samples of `t = 0`, so we take every `D`-th bin
/// (time-aliasing with period `n / D`), keeping `n / D ≥ 64` time standard deviations: the
/// aliased tails are below `1e-40` of the peak, and the sum is that of the full FFT to
/// rounding, at a fraction of the cost (a 16384-point FFT instead of 2^20 for J = 8).
fn time_l1_norm(h: &[f64], sigma: f64, planner: &mut FftPlanner<f64>) -> f64 {
    let n = h.len();
    let needed = (64.0 * time_std(sigma)).ceil().max(64.0) as usize;
    let mut d = 1;
    while n % (2 * d) == 0 && n / (2 * d) >= needed {
        d *= 2;
    }
    let dec: Vec<f64> = h.iter().step_by(d).copied().collect();
    // ifft_{n/d}(h[::d])[t] = Σ_m ifft_n(h)[t + m·n/d] (Poisson summation; both with the
    // 1/length normalisation), so the sums of magnitudes agree.
    ifft_abs(&dec, planner).iter().sum::<f64>()
}

/// Kymatio `gauss_1d`: the low-pass filter of width `sigma`, see [`morlet_1d`].
pub fn gauss_1d(n: usize, sigma: f64, planner: &mut FftPlanner<f64>) -> Vec<f64> {
    morlet_1d(n, None, sigma, planner)
}

/// `|ifft(h)|` of a real spectrum (scipy's normalisation: `1/n`). Shape: `n` → `n`.
fn ifft_abs(h: &[f64], planner: &mut FftPlanner<f64>) -> Vec<f64> {
    let n = h.len();
    let mut buf: Vec<Complex<f64>> = h.iter().map(|&v| Complex::new(v, 0.0)).collect();
    planner.plan_fft_inverse(n).process(&mut buf);
    let inv = 1.0 / n as f64;
    // sqrt(re² + im²) rather than `hypot` (much faster; no overflow at these magnitudes).
    buf.iter()
        .map(|c| (c.re * c.re + c.im * c.im).sqrt() * inv)
        .collect()
}

/// Kymatio `compute_temporal_support` for one filter given in Fourier (`criterion_amplitude`
/// `= 1e-3` there): the smallest half-support `N` such that the L1 mass of the time-domain
/// filter beyond `N` (on the causal half) is at most `criterion`. Falls back to half the
/// length when no such `N` exists, as Kymatio does (it warns; we cannot, so callers that
/// care compare the result with `len / 2`).
pub fn compute_temporal_support(
    h_f: &[f64],
    criterion: f64,
    planner: &mut FftPlanner<f64>,
) -> usize {
    let h = ifft_abs(h_f, planner);
    let half = h.len() / 2;
    // residual[i] = Σ_{m ≥ i, m < half} |h[m]|, decreasing in i: find the first i below.
    let mut residual = vec![0.0; half];
    let mut acc = 0.0;
    for i in (0..half).rev() {
        acc += h[i];
        residual[i] = acc;
    }
    match residual.iter().position(|&r| r <= criterion) {
        Some(i) => i + 1,
        None => half,
    }
}

/// Kymatio's padding rule (`ScatteringBase1D.build` + `compute_padding`): the padded length
/// `2^J_pad` and the reflect-padding on each side for an input of `n_input` samples whose
/// low-pass filter has temporal support `phi_support` (from [`compute_temporal_support`] of
/// `gauss_1d(n_input, SIGMA0 / T)`).
///
/// Returns `(n_padded, pad_left, pad_right)` with `pad_left + n_input + pad_right = n_padded`
/// and both pads `< n_input` (so one reflection suffices).
pub fn compute_padding(n_input: usize, phi_support: usize) -> Result<(usize, usize, usize)> {
    if n_input < 2 {
        return Err(Error::Audio(format!(
            "need at least 2 samples for scattering, got {n_input}"
        )));
    }
    let min_to_pad = 3 * phi_support;
    // Kymatio caps the padding so that neither side exceeds n_input − 1.
    let j_max_support = (3 * n_input - 2).ilog2();
    let j_pad = ceil_log2(n_input + 2 * min_to_pad).min(j_max_support);
    let n_padded = 1usize << j_pad;
    let to_add = n_padded - n_input;
    let pad_left = to_add / 2;
    let pad_right = to_add - pad_left;
    if pad_left.max(pad_right) >= n_input {
        return Err(Error::invalid(
            "padding",
            format!("< {n_input} samples"),
            pad_left.max(pad_right),
        ));
    }
    Ok((n_padded, pad_left, pad_right))
}

/// Kymatio `compute_border_indices`: where the unpadded signal `[i0, i1)` lies after
/// subsampling by `2^k`, for `k = 0..=max_k` (iterated ceiling halving, i.e. `⌈i / 2^k⌉`).
/// Shape: two vectors of `max_k + 1` indices.
pub fn compute_border_indices(max_k: u32, i0: usize, i1: usize) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![i0];
    let mut end = vec![i1];
    for k in 1..=max_k as usize {
        start.push(start[k - 1].div_ceil(2));
        end.push(end[k - 1].div_ceil(2));
    }
    (start, end)
}

/// A real Fourier-domain filter of length `len` stored as one circular run of bins:
/// bin `(start + i) mod len` holds `values[i]`, all other bins are zero.
///
/// `len` is a power of two in every bank built here.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseSpectrum {
    /// Length of the dense filter (number of frequency bins).
    pub len: usize,
    /// First stored bin.
    pub start: usize,
    /// Stored values, `values.len() ≤ len`.
    pub values: Vec<f64>,
}

impl SparseSpectrum {
    /// Keeps the smallest circular run of bins that contains every bin whose magnitude
    /// exceeds `rel_threshold × max|h|`. Shape: `h` is the dense filter (`len` bins).
    pub fn from_dense(h: &[f64], rel_threshold: f64) -> Self {
        let len = h.len();
        let peak = h.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let thr = peak * rel_threshold;
        let keep: Vec<bool> = h.iter().map(|v| v.abs() > thr).collect();
        if !keep.iter().any(|&k| k) {
            return Self {
                len,
                start: 0,
                values: Vec::new(),
            };
        }
        // The complement of the longest circular run of dropped bins. A run may wrap around
        // the end, so the trailing run is joined to the leading one.
        let lead = keep.iter().position(|&k| k).unwrap_or(len);
        let (mut best_len, mut best_start) = (0usize, 0usize);
        let mut run_start = None;
        for (i, &k) in keep.iter().enumerate().skip(lead) {
            match (k, run_start) {
                (false, None) => run_start = Some(i),
                (true, Some(s)) => {
                    if i - s > best_len {
                        (best_len, best_start) = (i - s, s);
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
        // the run that reaches the end continues with the `lead` dropped bins at the start
        let tail_start = run_start.unwrap_or(len);
        if len - tail_start + lead > best_len {
            (best_len, best_start) = (len - tail_start + lead, tail_start % len);
        }
        let start = (best_start + best_len) % len;
        let count = len - best_len;
        let values = (0..count).map(|i| h[(start + i) % len]).collect();
        Self { len, start, values }
    }

    /// The dense filter (`len` bins). Used by tests and for inspection.
    pub fn to_dense(&self) -> Vec<f64> {
        let mut h = vec![0.0; self.len];
        for (i, v) in self.values.iter().enumerate() {
            h[(self.start + i) % self.len] = *v;
        }
        h
    }
}

/// One band-pass (or the low-pass) filter: its parameters and its Fourier values at the
/// subsampling levels the transform needs (`levels[k]` has `n_padded / 2^k` bins).
#[derive(Debug, Clone)]
pub struct Filter {
    /// ξ, σ and maximal subsampling `j`.
    pub params: FilterParams,
    /// Fourier values at levels `0..levels.len()`.
    pub levels: Vec<SparseSpectrum>,
}

/// The three families of Kymatio's `scattering_filter_factory` for one `(J, Q, T, N)`:
/// low-pass `phi`, first-order `psi1` and second-order `psi2` wavelets, highest frequency
/// first, in the Fourier domain at every subsampling level the transform uses.
#[derive(Debug, Clone)]
pub struct FilterBank {
    /// Length of the (padded) signal the filters apply to; a power of two.
    pub n_padded: usize,
    /// Maximal log-scale `J` of the wavelets.
    pub j: u32,
    /// Wavelets per octave at orders 1 and 2.
    pub q: (u32, u32),
    /// Averaging scale `T` in samples.
    pub t: usize,
    /// `floor(log2 T)`: the final subsampling is `2^log2_t`.
    pub log2_t: u32,
    /// Low-pass filter, `params.xi = 0`, `params.sigma = SIGMA0 / T`, `params.j = log2_t`.
    pub phi: Filter,
    /// First-order wavelets (level 0 only).
    pub psi1: Vec<Filter>,
    /// Second-order wavelets at levels `0..=max(j1 : j1 < j2)`.
    pub psi2: Vec<Filter>,
}

impl FilterBank {
    /// Kymatio `scattering_filter_factory(N, J, Q, T)` with its defaults
    /// (`r_psi = sqrt(0.5)`, `sigma0 = 0.1`, `alpha = 5`, `max_subsampling = None`).
    ///
    /// Cost: one `f64` FFT of length `n_padded` per filter (for the L1 normalisation);
    /// build once per `(J, Q, T, n_padded)` and reuse.
    pub fn new(n_padded: usize, j: u32, q: (u32, u32), t: usize) -> Result<Self> {
        if !n_padded.is_power_of_two() {
            return Err(Error::invalid(
                "filter bank length",
                "a power of two",
                n_padded,
            ));
        }
        if q.0 < 1 || q.1 < 1 {
            return Err(Error::invalid("Q", "Q1 ≥ 1 and Q2 ≥ 1", format!("{q:?}")));
        }
        if t < 1 {
            return Err(Error::invalid("T", "T ≥ 1", t));
        }
        let log2_t = t.ilog2();
        let sigma_min = SIGMA0 / 2f64.powi(j as i32);
        let p1 = compute_params_filterbank(sigma_min, q.0, ALPHA, r_psi());
        let p2 = compute_params_filterbank(sigma_min, q.1, ALPHA, r_psi());
        let mut planner = FftPlanner::new();

        let max_j1 = p1.iter().map(|p| p.j).max().unwrap_or(0);
        let max_j2 = p2.iter().map(|p| p.j).max().unwrap_or(0);
        let sparse = |h: &[f64]| SparseSpectrum::from_dense(h, SPARSE_REL_THRESHOLD);

        let psi2 = p2
            .iter()
            .map(|p| {
                // Levels needed: every subsampling k1 = j1 of an order-1 path that feeds it.
                let max_sub = p1
                    .iter()
                    .filter(|p1| p.j > p1.j)
                    .map(|p1| p1.j)
                    .max()
                    .unwrap_or(0);
                let base = morlet_1d(n_padded, Some(p.xi), p.sigma, &mut planner);
                let mut levels = vec![sparse(&base)];
                for level in 1..=max_sub {
                    levels.push(sparse(&periodize(&base, 1 << level)));
                }
                Filter { params: *p, levels }
            })
            .collect();
        let psi1 = p1
            .iter()
            .map(|p| Filter {
                params: *p,
                levels: vec![sparse(&morlet_1d(
                    n_padded,
                    Some(p.xi),
                    p.sigma,
                    &mut planner,
                ))],
            })
            .collect();
        let sigma_low = SIGMA0 / t as f64;
        let max_sub_phi = max_j1.max(max_j2).min(log2_t);
        let base = gauss_1d(n_padded, sigma_low, &mut planner);
        let mut levels = vec![sparse(&base)];
        for level in 1..=max_sub_phi {
            levels.push(sparse(&periodize(&base, 1 << level)));
        }
        let phi = Filter {
            params: FilterParams {
                xi: 0.0,
                sigma: sigma_low,
                j: log2_t,
            },
            levels,
        };
        Ok(Self {
            n_padded,
            j,
            q,
            t,
            log2_t,
            phi,
            psi1,
            psi2,
        })
    }
}

/// Time-domain standard deviation (samples) of a Gaussian of frequential width `sigma`:
/// `1 / (2π σ)`. Used to size buffers before the exact support is measured.
pub fn time_std(sigma: f64) -> f64 {
    1.0 / (2.0 * PI * sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_log2_matches_definition() {
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(3), 2);
        assert_eq!(ceil_log2(1024), 10);
        assert_eq!(ceil_log2(1025), 11);
    }

    #[test]
    fn kymatio_filter_counts_for_q8() {
        // Kymatio 0.3.0: J=8, Q=(8,1) has 54 first-order and 9 second-order wavelets.
        let sigma_min = SIGMA0 / 256.0;
        assert_eq!(
            compute_params_filterbank(sigma_min, 8, ALPHA, r_psi()).len(),
            54
        );
        assert_eq!(
            compute_params_filterbank(sigma_min, 1, ALPHA, r_psi()).len(),
            9
        );
    }

    #[test]
    fn morlet_has_zero_mean_and_unit_l1() {
        let mut planner = FftPlanner::new();
        let h = morlet_1d(4096, Some(0.1), 0.01, &mut planner);
        assert!(h[0].abs() < 1e-12);
        let l1: f64 = ifft_abs(&h, &mut planner).iter().sum();
        assert!((l1 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn decimated_l1_norm_equals_full_fft() {
        let mut planner = FftPlanner::new();
        let n = 1 << 16;
        for (xi, sigma) in [
            (0.35, 0.198),
            (0.435, 0.032),
            (0.01, 0.1 / 256.0),
            (0.0, 0.1 / 256.0),
            (0.002, 0.1 / 64.0),
        ] {
            let p = adaptive_choice_p(sigma).min(5);
            let h = periodized_gaussian(n, p, xi, sigma);
            let full: f64 = ifft_abs(&h, &mut planner).iter().sum();
            let fast = time_l1_norm(&h, sigma, &mut planner);
            assert!(
                ((full - fast) / full).abs() < 1e-12,
                "xi {xi} sigma {sigma}: {full} vs {fast}"
            );
        }
    }

    #[test]
    fn sparse_roundtrip_keeps_the_significant_bins() {
        let mut planner = FftPlanner::new();
        let h = gauss_1d(8192, 0.1 / 64.0, &mut planner);
        let s = SparseSpectrum::from_dense(&h, SPARSE_REL_THRESHOLD);
        assert!(
            s.values.len() < 8192 / 4,
            "low-pass should be narrow: {}",
            s.values.len()
        );
        let d = s.to_dense();
        let peak = h.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in h.iter().zip(&d) {
            assert!((a - b).abs() <= peak * SPARSE_REL_THRESHOLD);
        }
    }
}
