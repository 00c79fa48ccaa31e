//! 1-D wavelet scattering (orders 0, 1 and 2) with Kymatio `Scattering1D` parity.
//!
//! A re-implementation in Rust of Kymatio 0.3.0's `scattering1d` (BSD-3-Clause,
//! `kymatio/scattering1d/core/scattering1d.py`, with the padding and unpadding of
//! `kymatio/scattering1d/frontend/base_frontend.py` and `utils.py`), averaged at scale `T`
//! with `oversampling = 0`:
//!
//! ```text
//! S0[t]       = (x ⋆ φ_T)[2^L t]
//! S1[n1, t]   = (|x ⋆ ψ1_n1| ⋆ φ_T)[2^L t]
//! S2[n1,n2,t] = (||x ⋆ ψ1_n1| ⋆ ψ2_n2| ⋆ φ_T)[2^L t]     for every pair with j2 > j1
//! ```
//!
//! with `L = floor(log2 T)`. Like Kymatio, the signal is reflect-padded to a power of two,
//! every convolution is a product in the Fourier domain (circular on the padded length),
//! `|x ⋆ ψ1|` is computed subsampled by `2^k1`, `k1 = min(j1, L)`, and `|U1 ⋆ ψ2|` by a
//! further `2^k2`, `k2 = max(min(j2, L) − k1, 0)`; subsampling by `2^k` is a periodisation
//! (fold) of the spectrum followed by a shorter inverse FFT, which gives exactly the samples
//! at multiples of `2^k`. Where a signal is real (the input, the moduli) a real FFT is used.
//!
//! Output layout (shape `n_coeffs × n_time`, row-major): row 0 is order 0, then the
//! first-order paths in filter order (highest frequency first), then the second-order paths
//! in `(n1, n2)` lexicographic order — Kymatio's order, see [`coeff_meta`].
//!
//! Long signals: [`BlockScattering`] computes the same coefficients block by block with
//! memory independent of the signal length.
//!
//! # Why one file (about 1,070 lines of code, the rest its tests)
//! It is one algorithm — Kymatio's `scattering1d` — and its parts share private state that
//! must not drift apart: the filter bank's sparse spectra ([`Sparse`]), the per-order
//! subsampling plan ([`Stage`]), the padded FFT engine and the block driver all index the
//! same `(j, k)` layout and padding rule. Splitting them would turn those private invariants
//! into a public API between files; the parity tests against Kymatio cover the file as a whole.

use std::ops::Range;
use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::num_traits::Float;
use rustfft::{Fft, FftNum, FftPlanner};

use super::filter_bank::{
    compute_border_indices, compute_padding, compute_params_filterbank, compute_temporal_support,
    gauss_1d, r_psi, time_std, FilterBank, FilterParams, SparseSpectrum, ALPHA, SIGMA0,
};
use crate::error::{Error, Result};

mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// Precision of the second-order stage: `f32` (default) or `f64`. Orders 0 and 1 always
/// compute in `f64`, because their `f32` rounding noise would swamp the small second-order
/// coefficients of stationary sounds (see `Engine`'s notes). Input and output are `f32`
/// either way.
pub trait Real: FftNum + Float + private::Sealed {}
impl Real for f32 {}
impl Real for f64 {}

fn real<F: Real>(v: f64) -> F {
    F::from_f64(v).expect("f64 converts to every Real")
}

/// Parameters of a scattering transform, named as in Kymatio's `Scattering1D(J, shape, Q, T)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScatteringConfig {
    /// Maximal log-scale `J` of the wavelets: the widest wavelet has frequential width
    /// `0.1 / 2^J` cycles/sample.
    pub j: u32,
    /// Wavelets per octave `(Q1, Q2)` at orders 1 and 2. Kymatio's `Q = 8` means `(8, 1)`.
    pub q: (u32, u32),
    /// Averaging scale `T` in samples (Kymatio's default `2^J`); the output hop is
    /// `2^floor(log2 T)` samples.
    pub t: usize,
    /// Highest order computed, 1 or 2.
    pub max_order: u8,
}

impl ScatteringConfig {
    /// `J`, `(Q1, Q2)`, with Kymatio's defaults `T = 2^J` and `max_order = 2`.
    pub fn new(j: u32, q: (u32, u32)) -> Self {
        Self {
            j,
            q,
            t: 1usize << j.min(usize::BITS - 1),
            max_order: 2,
        }
    }

    /// Checks the ranges: `1 ≤ J ≤ 24`, `1 ≤ Q ≤ 64`, `1 ≤ T ≤ 2^24`, `max_order ∈ {1, 2}`.
    pub fn validate(&self) -> Result<()> {
        if !(1..=24).contains(&self.j) {
            return Err(Error::invalid("scattering J", "1 ≤ J ≤ 24", self.j));
        }
        if !(1..=64).contains(&self.q.0) || !(1..=64).contains(&self.q.1) {
            return Err(Error::invalid(
                "scattering Q",
                "1 ≤ Q1, Q2 ≤ 64",
                format!("{:?}", self.q),
            ));
        }
        if !(1..=1usize << 24).contains(&self.t) {
            return Err(Error::invalid(
                "scattering T",
                "1 ≤ T ≤ 2^24 samples",
                self.t,
            ));
        }
        if !(1..=2).contains(&self.max_order) {
            return Err(Error::invalid(
                "scattering max_order",
                "1 or 2",
                self.max_order,
            ));
        }
        Ok(())
    }

    /// `floor(log2 T)`: the output hop is `2^log2_t` samples.
    pub fn log2_t(&self) -> u32 {
        self.t.ilog2()
    }

    /// Output hop in samples, `2^floor(log2 T)`.
    pub fn hop(&self) -> usize {
        1 << self.log2_t()
    }

    /// First- and second-order wavelet parameters (Kymatio `compute_params_filterbank`).
    pub fn filter_params(&self) -> (Vec<FilterParams>, Vec<FilterParams>) {
        let sigma_min = SIGMA0 / 2f64.powi(self.j as i32);
        (
            compute_params_filterbank(sigma_min, self.q.0, ALPHA, r_psi()),
            compute_params_filterbank(sigma_min, self.q.1, ALPHA, r_psi()),
        )
    }
}

/// What one output row (coefficient) is. Fields of orders the row does not have are `None`
/// (Kymatio pads them with NaN).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoeffMeta {
    /// Scattering order, 0, 1 or 2.
    pub order: u8,
    /// Index of the first-order wavelet (Kymatio `n[0]`).
    pub n1: Option<usize>,
    /// Index of the second-order wavelet (Kymatio `n[1]`).
    pub n2: Option<usize>,
    /// Maximal subsampling of the first-order wavelet (Kymatio `j[0]`).
    pub j1: Option<u32>,
    /// Maximal subsampling of the second-order wavelet (Kymatio `j[1]`).
    pub j2: Option<u32>,
    /// Centre frequency of the first-order wavelet, cycles/sample.
    pub xi1: Option<f64>,
    /// Centre frequency of the second-order wavelet, cycles/sample.
    pub xi2: Option<f64>,
    /// Bandwidth σ of the first-order wavelet, cycles/sample.
    pub sigma1: Option<f64>,
    /// Bandwidth σ of the second-order wavelet, cycles/sample.
    pub sigma2: Option<f64>,
    /// `xi1` in Hz at the given sample rate (the acoustic frequency band).
    pub freq1_hz: Option<f64>,
    /// `xi2` in Hz at the given sample rate (the modulation frequency).
    pub freq2_hz: Option<f64>,
}

/// Names every output row of a transform with `cfg`, in output order (Kymatio
/// `compute_meta_scattering`); frequencies in Hz use `sample_rate`. Needs no filter bank.
pub fn coeff_meta(cfg: &ScatteringConfig, sample_rate: f64) -> Vec<CoeffMeta> {
    let (p1, p2) = cfg.filter_params();
    let none = CoeffMeta {
        order: 0,
        n1: None,
        n2: None,
        j1: None,
        j2: None,
        xi1: None,
        xi2: None,
        sigma1: None,
        sigma2: None,
        freq1_hz: None,
        freq2_hz: None,
    };
    let mut meta = vec![none];
    let mut second = Vec::new();
    for (n1, a) in p1.iter().enumerate() {
        let first = CoeffMeta {
            order: 1,
            n1: Some(n1),
            j1: Some(a.j),
            xi1: Some(a.xi),
            sigma1: Some(a.sigma),
            freq1_hz: Some(a.xi * sample_rate),
            ..none
        };
        meta.push(first);
        if cfg.max_order < 2 {
            continue;
        }
        for (n2, b) in p2.iter().enumerate().filter(|(_, b)| b.j > a.j) {
            second.push(CoeffMeta {
                order: 2,
                n2: Some(n2),
                j2: Some(b.j),
                xi2: Some(b.xi),
                sigma2: Some(b.sigma),
                freq2_hz: Some(b.xi * sample_rate),
                ..first
            });
        }
    }
    meta.extend(second);
    meta
}

/// Scattering coefficients of one signal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScatteringOutput {
    /// Number of rows (coefficients), `1 + n_order1 + n_order2`.
    pub n_coeffs: usize,
    /// Number of columns (time frames).
    pub n_time: usize,
    /// Rows per order: `[1, n_order1, n_order2]` (`n_order2 = 0` when `max_order = 1`).
    pub order_sizes: [usize; 3],
    /// Samples between frames, `2^floor(log2 T)`.
    pub hop: usize,
    /// Frame `i` is centred on input sample `first_sample + i · hop` (Kymatio's grid: it
    /// depends on the padding and so on the input length).
    pub first_sample: usize,
    /// Coefficients, row-major `n_coeffs × n_time`, not log-compressed.
    pub data: Vec<f32>,
}

impl ScatteringOutput {
    /// Row `c` (`n_time` values).
    pub fn row(&self, c: usize) -> &[f32] {
        &self.data[c * self.n_time..(c + 1) * self.n_time]
    }

    /// The rows of order `order` (0, 1 or 2).
    pub fn order_rows(&self, order: usize) -> Range<usize> {
        let start: usize = self.order_sizes[..order].iter().sum();
        start..start + self.order_sizes[order]
    }
}

/// Rejects empty input and NaN/Inf samples, naming the first bad sample.
pub fn check_samples(x: &[f32]) -> Result<()> {
    if x.is_empty() {
        return Err(Error::Audio(
            "scattering needs at least one sample, got an empty signal".into(),
        ));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::Audio(format!(
            "sample {i} is {} (expected a finite value)",
            x[i]
        )));
    }
    Ok(())
}

/// A real filter at one resolution, stored as one circular run of bins in `F`.
#[derive(Debug, Clone)]
struct Sparse<F> {
    len: usize,
    start: usize,
    values: Vec<F>,
}

impl<F: Real> Sparse<F> {
    fn new(s: &SparseSpectrum) -> Self {
        Self {
            len: s.len,
            start: s.start,
            values: s.values.iter().map(|&v| real(v)).collect(),
        }
    }
}

/// `out[i mod M] += X[i] · h[i]` over the stored bins of `h`, where `X` (length `n`) is the
/// Hermitian spectrum of a real signal given by its first `n/2 + 1` bins `x_half`, and `M =
/// out.len()` divides `n`. This is Kymatio's `cdgmm` followed by `subsample_fourier`
/// (without its `1/(n/M)` mean, folded into the caller's scale).
fn mul_fold<F: Real>(x_half: &[Complex<F>], n: usize, h: &Sparse<F>, out: &mut [Complex<F>]) {
    debug_assert_eq!(h.len, n);
    debug_assert_eq!(x_half.len(), n / 2 + 1);
    let half = n / 2;
    let mask = out.len() - 1;
    let nmask = n - 1;
    // Split the circular run into contiguous pieces so the inner loops have no modulo.
    let mut i = 0;
    let count = h.values.len();
    while i < count {
        let idx = (h.start + i) & nmask;
        // contiguous in the filter up to the end of the array or the end of the run
        let run = (count - i).min(n - idx);
        if idx <= half {
            let m = run.min(half + 1 - idx);
            for (k, &v) in h.values[i..i + m].iter().enumerate() {
                let b = idx + k;
                out[b & mask] = out[b & mask] + x_half[b] * v;
            }
            i += m;
        } else {
            for (k, &v) in h.values[i..i + run].iter().enumerate() {
                let b = idx + k;
                out[b & mask] = out[b & mask] + x_half[n - b].conj() * v;
            }
            i += run;
        }
    }
}

/// FFT plans, filters at every level and scratch buffers of one precision `T`.
struct Stage<T: Real> {
    /// `r2c[k]`: real forward FFT of length `n >> k` (planned only for the levels used).
    r2c: Vec<Option<Arc<dyn RealToComplex<T>>>>,
    /// `cinv[k]`: complex inverse FFT of length `n >> k` (planned only for the levels used).
    cinv: Vec<Option<Arc<dyn Fft<T>>>>,
    /// Real inverse FFT of length `n >> log2_t` (the output resolution).
    c2r: Arc<dyn ComplexToReal<T>>,
    /// φ_T at every level.
    phi: Vec<Sparse<T>>,
    /// Band-pass output before the modulus (complex, up to `n` values).
    uc: Vec<Complex<T>>,
    /// Its modulus (up to `n` values).
    um: Vec<T>,
    /// Folded low-pass spectrum at the output resolution, its Hermitian half, the output.
    fold: Vec<Complex<T>>,
    half: Vec<Complex<T>>,
    sout: Vec<T>,
    scratch: Vec<Complex<T>>,
}

impl<T: Real> Stage<T> {
    /// Plans the FFTs of the `levels` used (`n >> k` for `k` in `levels`) on a signal of
    /// length `n` whose largest band-pass output has `max_len` samples.
    fn new(bank: &FilterBank, levels: &[usize], max_len: usize) -> Self {
        let (n, l) = (bank.n_padded, bank.log2_t as usize);
        let mut rp = RealFftPlanner::<T>::new();
        let mut cp = FftPlanner::<T>::new();
        let mut r2c = vec![None; l + 1];
        let mut cinv = vec![None; l + 1];
        for &k in levels {
            r2c[k] = Some(rp.plan_fft_forward(n >> k));
            cinv[k] = Some(cp.plan_fft_inverse(n >> k));
        }
        let c2r = rp.plan_fft_inverse(n >> l);
        let scratch_len = r2c
            .iter()
            .flatten()
            .map(|p| p.get_scratch_len())
            .chain(cinv.iter().flatten().map(|p| p.get_inplace_scratch_len()))
            .chain([c2r.get_scratch_len()])
            .max()
            .unwrap_or(0);
        let zero = Complex::new(T::zero(), T::zero());
        let m_out = n >> l;
        Self {
            r2c,
            cinv,
            c2r,
            phi: bank.phi.levels.iter().map(Sparse::new).collect(),
            uc: vec![zero; max_len],
            um: vec![T::zero(); max_len],
            fold: vec![zero; m_out],
            half: vec![zero; m_out / 2 + 1],
            sout: vec![T::zero(); m_out],
            scratch: vec![zero; scratch_len],
        }
    }

    /// `um[..m] = |ifft_m(fold_m(X · h))| / n`, `m = n_padded >> level`: the band-pass output
    /// of a real signal of length `n` (spectrum `x_half`, `n/2 + 1` bins) subsampled by
    /// `n / m` (Kymatio `cdgmm`, `subsample_fourier`, `ifft`, `modulus`); then its real FFT
    /// into `spectrum` (`m/2 + 1` bins).
    fn band_modulus(
        &mut self,
        x_half: &[Complex<T>],
        n: usize,
        h: &Sparse<T>,
        level: usize,
        spectrum: &mut [Complex<T>],
    ) {
        let ifft = self.cinv[level].as_ref().expect("level planned");
        let m = ifft.len();
        let work = &mut self.uc[..m];
        work.fill(Complex::new(T::zero(), T::zero()));
        mul_fold(x_half, n, h, work);
        ifft.process_with_scratch(work, &mut self.scratch[..ifft.get_inplace_scratch_len()]);
        let inv = T::one() / real::<T>(n as f64);
        for (o, c) in self.um[..m].iter_mut().zip(work.iter()) {
            // sqrt(re² + im²) rather than `hypot`: several times faster, and audio-scale
            // values cannot overflow.
            *o = (c.re * c.re + c.im * c.im).sqrt() * inv;
        }
        let r2c = self.r2c[level].as_ref().expect("level planned");
        r2c.process_with_scratch(&mut self.um[..m], spectrum, &mut self.scratch)
            .expect("buffer sizes are planned");
    }

    /// The final low-pass step `Re ifft(fold(X · φ)) / n` at the output resolution for the
    /// spectrum `x_half` (`n/2 + 1` bins of a real signal of length `n` at level `level`);
    /// writes `frames` of the result to `out[at..]`.
    fn low_pass(
        &mut self,
        x_half: &[Complex<T>],
        n: usize,
        level: usize,
        frames: &Range<usize>,
        out: &mut [f32],
        at: usize,
    ) {
        let m = self.fold.len();
        self.fold.fill(Complex::new(T::zero(), T::zero()));
        mul_fold(x_half, n, &self.phi[level], &mut self.fold);
        // Kymatio takes the real part of a complex ifft; that equals the inverse real FFT of
        // the Hermitian part of the folded spectrum (φ is only symmetric up to rounding).
        let halve = real::<T>(0.5);
        for (k, hk) in self.half.iter_mut().enumerate() {
            *hk = (self.fold[k] + self.fold[(m - k) & (m - 1)].conj()) * halve;
        }
        self.half[0].im = T::zero();
        if m % 2 == 0 {
            let last = self.half.len() - 1;
            self.half[last].im = T::zero();
        }
        self.c2r
            .process_with_scratch(&mut self.half, &mut self.sout, &mut self.scratch)
            .expect("buffer sizes are planned");
        let inv = T::one() / real::<T>(n as f64);
        for (d, s) in out[at..at + frames.len()]
            .iter_mut()
            .zip(&self.sout[frames.clone()])
        {
            *d = (*s * inv).to_f32().unwrap_or(f32::NAN);
        }
    }
}

/// The transform for one padded (or windowed) length: computes every frame at the final
/// resolution. Shared by [`Scattering1D`] and [`BlockScattering`].
///
/// Precision: orders 0 and 1 always run in `f64`; `F` is the precision of order 2. The
/// second order measures the fluctuations of `U1 = |x ⋆ ψ1|`, which for stationary sounds
/// are tiny next to `U1` itself; the rounding noise of `f32` FFTs in the first-order stage
/// (≈ 1e-7 of `‖U1‖`, spread over all frequencies) then dominates them. Measured on the
/// reference chirp (J = 6): order-2 relative L2 error 3.8e-3 with `f32` throughout, 4.3e-7
/// with the first order in `f64` (worst over the 11 reference signals and both configs,
/// see `tests/features/scattering.rs`). The second-order stage only sees `U1 ⋆ ψ2`, whose
/// own scale sets its rounding, so `f32` there is harmless, and the whole transform is
/// 1.3–1.8× faster than in `f64` throughout (measured, 30 s at J = 8, `examples/split.rs`).
struct Engine<F: Real> {
    n: usize,
    log2_t: u32,
    max_order: u8,
    psi1: Vec<(FilterParams, Sparse<f64>)>,
    psi2: Vec<(FilterParams, Vec<Sparse<F>>)>,
    /// Output row of the first second-order path of each `n1`.
    row2: Vec<usize>,
    n_coeffs: usize,
    order_sizes: [usize; 3],
    first: Stage<f64>,
    second: Stage<F>,
    x_hat: Vec<Complex<f64>>,
    u1_hat: Vec<Complex<f64>>,
    u1_hat_f: Vec<Complex<F>>,
    u2_hat: Vec<Complex<F>>,
}

impl<F: Real> Engine<F> {
    fn new(bank: &FilterBank, max_order: u8) -> Self {
        let n = bank.n_padded;
        let l = bank.log2_t;
        let psi1: Vec<_> = bank
            .psi1
            .iter()
            .map(|f| (f.params, Sparse::<f64>::new(&f.levels[0])))
            .collect();
        let psi2: Vec<_> = bank
            .psi2
            .iter()
            .map(|f| (f.params, f.levels.iter().map(Sparse::<F>::new).collect()))
            .collect();
        let mut row2 = Vec::with_capacity(psi1.len());
        let mut next = 1 + psi1.len();
        // Levels: the input at 0, U1 at k1 = min(j1, L), U2 at k1 + k2 = max(min(j2, L), k1).
        let mut levels1 = vec![0usize];
        let mut levels2 = Vec::new();
        for (a, _) in &psi1 {
            row2.push(next);
            let k1 = a.j.min(l) as usize;
            levels1.push(k1);
            if max_order >= 2 {
                for (b, _) in psi2.iter().filter(|(b, _)| b.j > a.j) {
                    next += 1;
                    levels2.push((b.j.min(l) as usize).max(k1));
                }
            }
        }
        levels1.sort_unstable();
        levels1.dedup();
        levels2.sort_unstable();
        levels2.dedup();
        let order_sizes = [1, psi1.len(), next - 1 - psi1.len()];
        let max2 = levels2.first().map_or(1, |&k| n >> k);
        let zero64 = Complex::new(0.0, 0.0);
        let zero = Complex::new(F::zero(), F::zero());
        Self {
            n,
            log2_t: l,
            max_order,
            psi1,
            psi2,
            row2,
            n_coeffs: next,
            order_sizes,
            first: Stage::new(bank, &levels1, n),
            second: Stage::new(bank, &levels2, max2),
            x_hat: vec![zero64; n / 2 + 1],
            u1_hat: vec![zero64; n / 2 + 1],
            u1_hat_f: vec![zero; n / 2 + 1],
            u2_hat: vec![zero; max2 / 2 + 1],
        }
    }

    /// Runs the transform on `signal` (length `n`, overwritten) and writes frames `frames`
    /// (indices at the output resolution `n >> log2_t`) into `out`, row-major with row
    /// stride `stride`, starting at column `col`.
    fn run(
        &mut self,
        signal: &mut [f64],
        frames: Range<usize>,
        out: &mut [f32],
        stride: usize,
        col: usize,
    ) {
        let (n, l) = (self.n, self.log2_t);
        debug_assert_eq!(signal.len(), n);
        let Self {
            psi1,
            psi2,
            row2,
            first,
            second,
            x_hat,
            u1_hat,
            u1_hat_f,
            u2_hat,
            max_order,
            ..
        } = self;
        let r2c = first.r2c[0].as_ref().expect("level 0 planned");
        r2c.process_with_scratch(signal, x_hat, &mut first.scratch)
            .expect("buffer sizes are planned");
        first.low_pass(x_hat, n, 0, &frames, out, col);

        for (n1, (p1, h1)) in psi1.iter().enumerate() {
            let k1 = p1.j.min(l) as usize;
            let m1 = n >> k1;
            let u1 = &mut u1_hat[..m1 / 2 + 1];
            // U1 = |x ⋆ ψ1| subsampled by 2^k1, and its spectrum
            first.band_modulus(x_hat, n, h1, k1, u1);
            first.low_pass(u1, m1, k1, &frames, out, (1 + n1) * stride + col);
            if *max_order < 2 {
                continue;
            }
            let u1f = &mut u1_hat_f[..m1 / 2 + 1];
            for (d, s) in u1f.iter_mut().zip(u1.iter()) {
                *d = Complex::new(real(s.re), real(s.im));
            }
            for (row, (p2, h2)) in (row2[n1]..).zip(psi2.iter().filter(|(p2, _)| p2.j > p1.j)) {
                // U2 = |U1 ⋆ ψ2| subsampled by a further 2^k2 (ψ2 at level k1)
                let k2 = (p2.j.min(l) as usize).saturating_sub(k1);
                let m2 = m1 >> k2;
                let u2 = &mut u2_hat[..m2 / 2 + 1];
                second.band_modulus(u1f, m1, &h2[k1], k1 + k2, u2);
                second.low_pass(u2, m2, k1 + k2, &frames, out, row * stride + col);
            }
        }
    }
}

/// Scattering of signals of one fixed length, on Kymatio's frame grid for that length.
/// Filters and FFT plans are built once in [`Scattering1D::new`] and reused by every
/// [`Scattering1D::transform`].
///
/// [`Scattering1D::new`] picks the computation from Kymatio's padded length `n_padded`
/// (the next power of two above `n_samples + 6 · support(φ_T)`):
/// * `n_padded ≤` [`DEFAULT_BLOCK_LEN`]: one pass over the padded signal, exactly as
///   Kymatio does it (filters sampled at `n_padded`);
/// * longer: [`BlockScattering`] windows of [`DEFAULT_BLOCK_LEN`] samples. The frames are the
///   same (measured in `f64`: per-order relative L2 difference ≤ 3.4e-9 from the one-pass
///   result on 30 s, ends included; the `blockwise_equals_whole` test bounds it at 1e-5),
///   the FFTs stay cache-sized (30 s at J = 8: 0.24–0.34 s instead of 0.63–0.79 s one-pass
///   on this machine) and memory does not grow with the length.
///
/// [`Scattering1D::new_whole`] forces the one-pass computation (memory ≈ 70 bytes per
/// padded sample plus a sparse bank built at `n_padded`; 2^20 for 30 s at J = 8).
///
/// To analyse many signals of different lengths, keep one [`BlockScattering`]: its filters
/// do not depend on the length, while each `Scattering1D` is planned for one length.
pub struct Scattering1D<F: Real = f32> {
    cfg: ScatteringConfig,
    n_samples: usize,
    n_padded: usize,
    pad_left: usize,
    mode: Mode<F>,
}

enum Mode<F: Real> {
    Whole {
        frames: Range<usize>,
        padded: Vec<f64>,
        engine: Engine<F>,
    },
    Blocks {
        blocks: BlockScattering<F>,
        plan: BlockPlan,
    },
}

impl<F: Real> Scattering1D<F> {
    /// Plans a transform for signals of exactly `n_samples` samples (see the type's docs for
    /// how the computation is chosen).
    ///
    /// Errors when `cfg` is out of range or `n_samples < T` (the averaging window must fit).
    pub fn new(cfg: ScatteringConfig, n_samples: usize) -> Result<Self> {
        Self::build(cfg, n_samples, false)
    }

    /// Like [`Scattering1D::new`] but always one pass over the whole padded signal, as
    /// Kymatio computes it. Memory and filter-building time grow with `n_samples`.
    pub fn new_whole(cfg: ScatteringConfig, n_samples: usize) -> Result<Self> {
        Self::build(cfg, n_samples, true)
    }

    fn build(cfg: ScatteringConfig, n_samples: usize, force_whole: bool) -> Result<Self> {
        check_length(&cfg, n_samples)?;
        let support = kymatio_phi_support(&cfg, n_samples, None);
        let (n_padded, pad_left, _) = compute_padding(n_samples, support)?;
        let mode = if force_whole || n_padded <= DEFAULT_BLOCK_LEN {
            let log2_t = cfg.log2_t();
            let (start, end) =
                compute_border_indices(log2_t.max(cfg.j), pad_left, pad_left + n_samples);
            let frames = start[log2_t as usize]..end[log2_t as usize];
            let bank = FilterBank::new(n_padded, cfg.j, cfg.q, cfg.t)?;
            Mode::Whole {
                frames,
                padded: vec![0.0; n_padded],
                engine: Engine::new(&bank, cfg.max_order),
            }
        } else {
            let blocks = BlockScattering::new(cfg, None)?;
            let plan = blocks.plan(n_samples)?;
            debug_assert_eq!((plan.n_padded, plan.pad_left), (n_padded, pad_left));
            Mode::Blocks { blocks, plan }
        };
        Ok(Self {
            cfg,
            n_samples,
            n_padded,
            pad_left,
            mode,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ScatteringConfig {
        &self.cfg
    }

    /// Input length this transform was planned for.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Kymatio's padded length `2^J_pad` (`len(phi_f['levels'][0])`).
    pub fn n_padded(&self) -> usize {
        self.n_padded
    }

    /// Kymatio's reflect-padding on the left (`pad_left`).
    pub fn pad_left(&self) -> usize {
        self.pad_left
    }

    /// Whether the transform runs block-wise (see the type's docs).
    pub fn is_blockwise(&self) -> bool {
        matches!(self.mode, Mode::Blocks { .. })
    }

    /// Output rows, `1 + n_order1 + n_order2`.
    pub fn n_coeffs(&self) -> usize {
        match &self.mode {
            Mode::Whole { engine, .. } => engine.n_coeffs,
            Mode::Blocks { blocks, .. } => blocks.n_coeffs(),
        }
    }

    /// Output frames.
    pub fn n_time(&self) -> usize {
        match &self.mode {
            Mode::Whole { frames, .. } => frames.len(),
            Mode::Blocks { plan, .. } => plan.n_time,
        }
    }

    /// Names every output row; frequencies in Hz at `sample_rate`.
    pub fn meta(&self, sample_rate: f64) -> Vec<CoeffMeta> {
        coeff_meta(&self.cfg, sample_rate)
    }

    /// Scattering coefficients of `x` (`n_samples` values), shape `n_coeffs × n_time`.
    ///
    /// Errors on empty input, a length other than `n_samples`, and NaN/Inf samples.
    pub fn transform(&mut self, x: &[f32]) -> Result<ScatteringOutput> {
        check_samples(x)?;
        if x.len() != self.n_samples {
            return Err(Error::invalid(
                "scattering input length",
                self.n_samples,
                x.len(),
            ));
        }
        let (n, pl, hop) = (self.n_samples, self.pad_left, self.cfg.hop());
        match &mut self.mode {
            Mode::Whole {
                frames,
                padded,
                engine,
            } => {
                // numpy.pad(mode="reflect"): mirror without repeating the edge sample.
                for (p, v) in padded.iter_mut().enumerate() {
                    *v = x[reflect_index(p, pl, n)] as f64;
                }
                let n_time = frames.len();
                let mut data = vec![0f32; engine.n_coeffs * n_time];
                engine.run(padded, frames.clone(), &mut data, n_time, 0);
                Ok(ScatteringOutput {
                    n_coeffs: engine.n_coeffs,
                    n_time,
                    order_sizes: engine.order_sizes,
                    hop,
                    first_sample: frames.start * hop - pl,
                    data,
                })
            }
            Mode::Blocks { blocks, plan } => blocks.transform_planned(x, plan),
        }
    }
}

/// Kymatio's requirement (for an explicit `T`) that the averaging window fits the input.
fn check_length(cfg: &ScatteringConfig, n_samples: usize) -> Result<()> {
    cfg.validate()?;
    if n_samples < cfg.t || n_samples < 2 {
        return Err(Error::invalid(
            "scattering input length",
            format!("at least T = {} samples (and 2)", cfg.t),
            n_samples,
        ));
    }
    Ok(())
}

/// Kymatio's `compute_temporal_support(gauss_1d(n_samples, sigma0 / T))` (criterion 1e-3),
/// which sets the padding. For inputs much longer than φ_T (more than 64 of its time
/// standard deviations) the number does not depend on the length, so it is measured on a
/// filter of that length instead of an FFT of the whole input; `cached` passes a value
/// measured that way before.
fn kymatio_phi_support(cfg: &ScatteringConfig, n_samples: usize, cached: Option<usize>) -> usize {
    let sigma = SIGMA0 / cfg.t as f64;
    let long = ((64.0 * time_std(sigma)).ceil() as usize)
        .next_power_of_two()
        .max(1 << 16);
    if n_samples > long {
        if let Some(s) = cached {
            return s;
        }
    }
    let len = n_samples.min(long);
    let mut planner = FftPlanner::new();
    let phi = gauss_1d(len, sigma, &mut planner);
    compute_temporal_support(&phi, 1e-3, &mut planner)
}

/// Input index of padded position `p` under numpy's `reflect` padding by `pad_left` (valid
/// for `p < pad_left + 2n − 1`, which the padding rule guarantees).
fn reflect_index(p: usize, pad_left: usize, n: usize) -> usize {
    if p < pad_left {
        pad_left - p
    } else if p - pad_left < n {
        p - pad_left
    } else {
        2 * (n - 1) - (p - pad_left)
    }
}

/// Frames and blocks of one signal in [`BlockScattering`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPlan {
    /// Input length.
    pub n_samples: usize,
    /// Output frames (same as the whole-signal transform of this length).
    pub n_time: usize,
    /// Frame `i` is centred on sample `first_sample + i · hop`.
    pub first_sample: usize,
    /// Number of blocks; block `b` yields frames `b · frames_per_block ..`.
    pub n_blocks: usize,
    /// Frames produced by each full block.
    pub frames_per_block: usize,
    /// Kymatio's padded length for the whole signal (virtual: never allocated).
    pub n_padded: usize,
    /// Kymatio's left padding for the whole signal.
    pub pad_left: usize,
    /// Padded-domain frame index of output frame 0.
    frame0: usize,
    /// Window length of the [`BlockScattering`] that made the plan (checked on use).
    block_len: usize,
}

/// One block's output: frames `frame_start .. frame_start + n_frames` of the whole output.
#[derive(Debug, Clone, Copy)]
pub struct ScatteringChunk<'a> {
    /// First output frame of this chunk.
    pub frame_start: usize,
    /// Frames in this chunk.
    pub n_frames: usize,
    /// Row-major `n_coeffs × n_frames`.
    pub data: &'a [f32],
}

/// Block-wise scattering for long signals: the same frames as [`Scattering1D`] on the whole
/// signal, computed from overlapping windows of fixed length, so that memory (filters,
/// plans, buffers) does not depend on the signal length. One instance serves signals of
/// any length (≥ `T`). Measured for a 2-hour 22050 Hz signal at J = 8, frames streamed with
/// [`BlockScattering::process_block`]: 15 MiB beyond the PCM natively, 62 s native and
/// 124 s in Chromium (`tests/features/scattering_scale.rs`).
///
/// The whole signal is conceptually padded as Kymatio would pad it (reflection to
/// `2^J_pad`, then periodic). Each block runs the transform on a window of `block_len`
/// samples of that virtual signal, aligned to the output grid, and keeps the centre
/// `block_len − 2·context` samples, where `context` covers the combined support of
/// `ψ1`, `ψ2` and `φ_T`; the circular wrap-around of each window then only touches the
/// discarded margins.
pub struct BlockScattering<F: Real = f32> {
    cfg: ScatteringConfig,
    block_len: usize,
    context: usize,
    /// Support of φ_T for long inputs (see `kymatio_phi_support`), measured once.
    phi_support: usize,
    window: Vec<f64>,
    chunk: Vec<f32>,
    engine: Engine<F>,
}

/// Default block length in samples (about 3 s at 22050 Hz). Measured for J = 8 on 30 s:
/// 2^15 to 2^16 are fastest (cache-sized FFTs), 2^17 is 8 % and 2^18 17 % slower.
pub const DEFAULT_BLOCK_LEN: usize = 1 << 16;

impl<F: Real> BlockScattering<F> {
    /// Plans block processing. `block_len` (a power of two) defaults to the larger of
    /// [`DEFAULT_BLOCK_LEN`] and `4 · context`; it is rejected if smaller than `4 · context`.
    pub fn new(cfg: ScatteringConfig, block_len: Option<usize>) -> Result<Self> {
        cfg.validate()?;
        let hop = cfg.hop();
        let context = block_context(&cfg);
        let min_len = (4 * context).next_power_of_two().max(2 * hop);
        let block_len = match block_len {
            None => DEFAULT_BLOCK_LEN.max(min_len),
            Some(b) if b.is_power_of_two() && b >= min_len => b,
            Some(b) => {
                return Err(Error::invalid(
                    "scattering block length",
                    format!("a power of two ≥ {min_len} (4 × context of {context} samples)"),
                    b,
                ))
            }
        };
        let phi_support = kymatio_phi_support(&cfg, usize::MAX, None);
        let bank = FilterBank::new(block_len, cfg.j, cfg.q, cfg.t)?;
        let engine = Engine::new(&bank, cfg.max_order);
        Ok(Self {
            cfg,
            block_len,
            context,
            phi_support,
            window: vec![0.0; block_len],
            chunk: Vec::new(),
            engine,
        })
    }

    /// Samples per window.
    pub fn block_len(&self) -> usize {
        self.block_len
    }

    /// Samples discarded on each side of a window (a multiple of the hop).
    pub fn context(&self) -> usize {
        self.context
    }

    /// Output rows.
    pub fn n_coeffs(&self) -> usize {
        self.engine.n_coeffs
    }

    /// Rows per order, `[1, n_order1, n_order2]`.
    pub fn order_sizes(&self) -> [usize; 3] {
        self.engine.order_sizes
    }

    /// Names every output row; frequencies in Hz at `sample_rate`.
    pub fn meta(&self, sample_rate: f64) -> Vec<CoeffMeta> {
        coeff_meta(&self.cfg, sample_rate)
    }

    /// Frames and blocks for a signal of `n_samples` samples (Kymatio's frame grid for that
    /// length). Errors when `n_samples < T`.
    pub fn plan(&self, n_samples: usize) -> Result<BlockPlan> {
        let cfg = &self.cfg;
        check_length(cfg, n_samples)?;
        let support = kymatio_phi_support(cfg, n_samples, Some(self.phi_support));
        let (n_padded, pad_left, _) = compute_padding(n_samples, support)?;
        let l = cfg.log2_t();
        let (start, end) = compute_border_indices(l.max(cfg.j), pad_left, pad_left + n_samples);
        let (frame0, frame1) = (start[l as usize], end[l as usize]);
        let n_time = frame1 - frame0;
        let frames_per_block = (self.block_len - 2 * self.context) >> l;
        Ok(BlockPlan {
            n_samples,
            n_time,
            first_sample: frame0 * cfg.hop() - pad_left,
            n_blocks: n_time.div_ceil(frames_per_block),
            frames_per_block,
            n_padded,
            pad_left,
            frame0,
            block_len: self.block_len,
        })
    }

    /// Computes block `b` of `plan` for the signal `x` (`plan.n_samples` values). Only the
    /// samples within the block's window are read (and checked for NaN/Inf).
    pub fn process_block(
        &mut self,
        x: &[f32],
        plan: &BlockPlan,
        b: usize,
    ) -> Result<ScatteringChunk<'_>> {
        if x.len() != plan.n_samples {
            return Err(Error::invalid(
                "scattering input length (from the plan)",
                plan.n_samples,
                x.len(),
            ));
        }
        if plan.block_len != self.block_len {
            return Err(Error::invalid(
                "scattering block plan",
                format!("a plan for blocks of {} samples", self.block_len),
                format!("one for {}", plan.block_len),
            ));
        }
        if b >= plan.n_blocks {
            return Err(Error::invalid(
                "scattering block index",
                format!("< {}", plan.n_blocks),
                b,
            ));
        }
        let l = self.cfg.log2_t();
        let frame_start = b * plan.frames_per_block;
        let n_frames = plan.frames_per_block.min(plan.n_time - frame_start);
        // Window start in the virtual padded signal (may be negative: it wraps, as Kymatio's
        // circular convolution does).
        let w0 = (((plan.frame0 + frame_start) << l) as i64) - self.context as i64;
        let (n, np, pl) = (
            plan.n_samples as i64,
            plan.n_padded as i64,
            plan.pad_left as i64,
        );
        for (i, v) in self.window.iter_mut().enumerate() {
            let q = (w0 + i as i64).rem_euclid(np);
            let s = if q < pl {
                pl - q
            } else if q - pl < n {
                q - pl
            } else {
                2 * (n - 1) - (q - pl)
            } as usize;
            let sample = x[s];
            if !sample.is_finite() {
                return Err(Error::Audio(format!(
                    "sample {s} is {sample} (expected a finite value)"
                )));
            }
            *v = sample as f64;
        }
        let n_coeffs = self.engine.n_coeffs;
        self.chunk.resize(n_coeffs * n_frames, 0.0);
        let first = self.context >> l;
        self.engine.run(
            &mut self.window,
            first..first + n_frames,
            &mut self.chunk,
            n_frames,
            0,
        );
        Ok(ScatteringChunk {
            frame_start,
            n_frames,
            data: &self.chunk,
        })
    }

    /// All frames of `x`, block by block (shape `n_coeffs × n_time`, the only allocation
    /// that grows with the signal).
    pub fn transform(&mut self, x: &[f32]) -> Result<ScatteringOutput> {
        check_samples(x)?;
        let plan = self.plan(x.len())?;
        self.transform_planned(x, &plan)
    }

    /// [`BlockScattering::transform`] for input already checked by [`check_samples`].
    fn transform_planned(&mut self, x: &[f32], plan: &BlockPlan) -> Result<ScatteringOutput> {
        let n_coeffs = self.engine.n_coeffs;
        let mut data = vec![0f32; n_coeffs * plan.n_time];
        for b in 0..plan.n_blocks {
            let chunk = self.process_block(x, plan, b)?;
            for c in 0..n_coeffs {
                let src = &chunk.data[c * chunk.n_frames..(c + 1) * chunk.n_frames];
                data[c * plan.n_time + chunk.frame_start..][..chunk.n_frames].copy_from_slice(src);
            }
        }
        Ok(ScatteringOutput {
            n_coeffs,
            n_time: plan.n_time,
            order_sizes: self.engine.order_sizes,
            hop: self.cfg.hop(),
            first_sample: plan.first_sample,
            data,
        })
    }
}

/// Samples of context each block needs on each side: the sum of the temporal supports
/// (L1 tail ≤ 1e-4, Kymatio's criterion tightened tenfold) of the widest first-order
/// wavelet, the widest second-order wavelet and φ_T, i.e. how far the cascade
/// `ψ1 → |·| → ψ2 → |·| → φ_T` reaches, rounded up to a multiple of the hop.
pub fn block_context(cfg: &ScatteringConfig) -> usize {
    let (p1, p2) = cfg.filter_params();
    let narrowest = |p: &[FilterParams]| p.iter().map(|f| f.sigma).fold(f64::INFINITY, f64::min);
    let sigma_phi = SIGMA0 / cfg.t as f64;
    let mut sigmas = vec![sigma_phi, narrowest(&p1)];
    if cfg.max_order >= 2 {
        sigmas.push(narrowest(&p2));
    }
    // Measure each support on a length well beyond it (Gaussian std = 1 / (2π σ)).
    let mut planner = FftPlanner::new();
    let total: usize = sigmas
        .iter()
        .filter(|s| s.is_finite())
        .map(|&s| {
            let len = ((32.0 * time_std(s)).ceil() as usize)
                .next_power_of_two()
                .max(256);
            let h = gauss_1d(len, s, &mut planner);
            compute_temporal_support(&h, 1e-4, &mut planner)
        })
        .sum();
    total.next_multiple_of(cfg.hop())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_counts_match_kymatio() {
        // Kymatio 0.3.0 output_size(detail=True): J=6,Q=8 → [1, 38, 87]; J=8,Q=8 → [1, 54, 179].
        for (j, sizes) in [(6, [1, 38, 87]), (8, [1, 54, 179])] {
            let m = coeff_meta(&ScatteringConfig::new(j, (8, 1)), 22050.0);
            let count = |o| m.iter().filter(|c| c.order == o).count();
            assert_eq!([count(0), count(1), count(2)], sizes);
        }
    }

    #[test]
    fn kymatio_padding_for_16384() {
        // Kymatio 0.3.0, J=8, N=16384: 2^15 padded, pad 8192 each side, frames 32..96.
        let s = Scattering1D::<f32>::new(ScatteringConfig::new(8, (8, 1)), 16384).unwrap();
        assert_eq!((s.n_padded(), s.pad_left(), s.n_time()), (32768, 8192, 64));
    }

    #[test]
    fn reflect_matches_numpy() {
        // np.pad([0,1,2,3], 2, mode="reflect") == [2,1,0,1,2,3,2,1]
        let got: Vec<usize> = (0..8).map(|p| reflect_index(p, 2, 4)).collect();
        assert_eq!(got, vec![2, 1, 0, 1, 2, 3, 2, 1]);
    }
}
