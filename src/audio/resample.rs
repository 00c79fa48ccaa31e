//! Sample-rate conversion with rubato's FFT resampler (native only).
//!
//! The browser resamples inside Web Audio; natively we use `rubato::FftFixedIn`, a
//! band-limited synchronous resampler. Its latency (`output_delay`) is removed so the
//! output lines up with the input, and the length is `round(n · to / from)`.

use rubato::{FftFixedIn, Resampler};

use crate::error::{Error, Result};

/// Resamples a mono signal from `from` Hz to `to` Hz.
pub fn resample_mono(mono: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    let mut r = MonoResampler::new(from, to)?;
    r.push(mono)?;
    r.finish()
}

/// A streaming [`resample_mono`]: feed the input in pieces of any size with
/// [`push`](Self::push), then [`finish`](Self::finish). The output is the same, sample for
/// sample, as one call on the whole input, but only the output is ever held whole — so a
/// decoder can mix each packet down and resample it at once instead of keeping the file's
/// interleaved samples (a 1-hour 192 kHz 6-channel file is 16 GB of `f32`).
pub struct MonoResampler {
    from: u32,
    to: u32,
    inner: Option<FftFixedIn<f32>>,
    pending: Vec<f32>,
    buf: Vec<Vec<f32>>,
    out: Vec<f32>,
    n_in: u64,
    /// Resampler latency still to drop from the front of the output.
    delay_left: usize,
    delay: usize,
}

impl MonoResampler {
    /// A resampler from `from` Hz to `to` Hz (both > 0).
    pub fn new(from: u32, to: u32) -> Result<Self> {
        if from == 0 || to == 0 {
            return Err(Error::invalid(
                "sample rate",
                "> 0 Hz",
                format!("{from} → {to}"),
            ));
        }
        let (inner, buf, delay) = if from == to {
            (None, Vec::new(), 0)
        } else {
            let r = FftFixedIn::<f32>::new(from as usize, to as usize, 1024, 2, 1)
                .map_err(|e| Self::fail(from, to, &e))?;
            let buf = r.output_buffer_allocate(true);
            let delay = r.output_delay();
            (Some(r), buf, delay)
        };
        Ok(Self {
            from,
            to,
            inner,
            pending: Vec::new(),
            buf,
            out: Vec::new(),
            n_in: 0,
            delay_left: delay,
            delay,
        })
    }

    fn fail(from: u32, to: u32, e: &dyn std::fmt::Display) -> Error {
        Error::Audio(format!("resampling {from} → {to} Hz failed: {e}"))
    }

    fn emit(&mut self, written: usize) {
        let skip = self.delay_left.min(written);
        self.delay_left -= skip;
        self.out.extend_from_slice(&self.buf[0][skip..written]);
    }

    /// Appends input samples, resampling every whole chunk they complete.
    pub fn push(&mut self, x: &[f32]) -> Result<()> {
        self.n_in += x.len() as u64;
        let (from, to) = (self.from, self.to);
        let Some(r) = self.inner.as_mut() else {
            self.out.extend_from_slice(x);
            return Ok(());
        };
        let mut chunk = |r: &mut FftFixedIn<f32>, input: &[f32]| -> Result<()> {
            let (_, written) = r
                .process_into_buffer(&[input], &mut self.buf, None)
                .map_err(|e| Self::fail(from, to, &e))?;
            let skip = self.delay_left.min(written);
            self.delay_left -= skip;
            self.out.extend_from_slice(&self.buf[0][skip..written]);
            Ok(())
        };
        let mut x = x;
        if !self.pending.is_empty() {
            let take = (r.input_frames_next() - self.pending.len()).min(x.len());
            self.pending.extend_from_slice(&x[..take]);
            x = &x[take..];
            if self.pending.len() < r.input_frames_next() {
                return Ok(());
            }
            chunk(r, &self.pending)?;
            self.pending.clear();
        }
        while x.len() >= r.input_frames_next() {
            let n = r.input_frames_next();
            chunk(r, &x[..n])?;
            x = &x[n..];
        }
        self.pending.extend_from_slice(x);
        Ok(())
    }

    /// Resamples what is left and returns the whole output, `round(n · to / from)` samples
    /// for `n` input samples, aligned with the input (the latency is removed).
    pub fn finish(mut self) -> Result<Vec<f32>> {
        let (from, to) = (self.from, self.to);
        let expected =
            ((self.n_in * u64::from(to) + u64::from(from) / 2) / u64::from(from)) as usize;
        let Some(mut r) = self.inner.take() else {
            return Ok(self.out);
        };
        if self.n_in == 0 {
            return Ok(Vec::new());
        }
        if !self.pending.is_empty() {
            let (_, written) = r
                .process_partial_into_buffer(Some(&[&self.pending[..]]), &mut self.buf, None)
                .map_err(|e| Self::fail(from, to, &e))?;
            self.emit(written);
        }
        // Flush the resampler's latency with silence until the whole signal is out. A call
        // may write nothing (e.g. 192 kHz → 22050 Hz takes 1280-sample FFT blocks in
        // 1024-sample chunks), so only several empty calls in a row mean it has run dry.
        let mut empty_calls = 0;
        while self.out.len() + (self.delay - self.delay_left) < expected + self.delay
            && empty_calls < 4
        {
            let (_, written) = r
                .process_partial_into_buffer(None::<&[&[f32]]>, &mut self.buf, None)
                .map_err(|e| Self::fail(from, to, &e))?;
            empty_calls = if written == 0 { empty_calls + 1 } else { 0 };
            self.emit(written);
        }
        self.out.truncate(expected);
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_in_odd_pieces_equals_one_call() {
        let x: Vec<f32> = (0..30_011)
            .map(|n| ((n * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        for (from, to) in [
            (44_100u32, 22_050u32),
            (8_000, 22_050),
            (22_050, 22_050),
            (48_000, 22_050),
        ] {
            let whole = resample_mono(&x, from, to).unwrap();
            let mut r = MonoResampler::new(from, to).unwrap();
            for piece in x.chunks(577) {
                r.push(piece).unwrap();
            }
            assert_eq!(r.finish().unwrap(), whole, "{from} → {to}");
        }
    }

    /// Regression: 192 kHz input lost its last 73 output samples (3 ms) because the flush
    /// stopped at the first call that wrote nothing.
    #[test]
    fn every_rate_gives_the_rounded_length() {
        for from in [
            8_000u32, 11_025, 16_000, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000,
        ] {
            for n in [1usize, 1023, from as usize * 2 + 17] {
                let y = resample_mono(&vec![0.1; n], from, 22_050).unwrap();
                let want = ((n as u64 * 22_050 + u64::from(from) / 2) / u64::from(from)) as usize;
                assert_eq!(y.len(), want, "{from} Hz, {n} samples");
            }
        }
    }

    #[test]
    fn sine_survives_resampling() {
        let (from, to) = (44_100u32, 22_050u32);
        let f = 1000.0;
        let x: Vec<f32> = (0..44_100)
            .map(|n| (2.0 * std::f64::consts::PI * f * n as f64 / from as f64).sin() as f32)
            .collect();
        let y = resample_mono(&x, from, to).unwrap();
        assert_eq!(y.len(), 22_050);
        // Compare with the ideal sine away from the edges: aligned and same amplitude.
        let err = (2000..20_000)
            .map(|n| {
                let ideal = (2.0 * std::f64::consts::PI * f * n as f64 / to as f64).sin() as f32;
                (y[n] - ideal).abs()
            })
            .fold(0.0f32, f32::max);
        assert!(err < 1e-2, "max error {err}");
    }
}
