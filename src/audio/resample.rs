//! Sample-rate conversion with rubato's FFT resampler (native only).
//!
//! The browser resamples inside Web Audio; natively we use `rubato::FftFixedIn`, a
//! band-limited synchronous resampler. Its latency (`output_delay`) is removed so the
//! output lines up with the input, and the length is `round(n · to / from)`.

use rubato::{FftFixedIn, Resampler};

use crate::error::{Error, Result};

/// Resamples a mono signal from `from` Hz to `to` Hz.
pub fn resample_mono(mono: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    if from == 0 || to == 0 {
        return Err(Error::invalid(
            "sample rate",
            "> 0 Hz",
            format!("{from} → {to}"),
        ));
    }
    if from == to || mono.is_empty() {
        return Ok(mono.to_vec());
    }
    let expected = ((mono.len() as u64 * to as u64 + from as u64 / 2) / from as u64) as usize;
    let map = |e: &dyn std::fmt::Display| {
        Error::Audio(format!("resampling {from} → {to} Hz failed: {e}"))
    };
    let mut r =
        FftFixedIn::<f32>::new(from as usize, to as usize, 1024, 2, 1).map_err(|e| map(&e))?;
    let delay = r.output_delay();
    let mut out: Vec<f32> = Vec::with_capacity(expected + delay + 4096);
    let mut buf = r.output_buffer_allocate(true);
    let mut pos = 0;
    while pos + r.input_frames_next() <= mono.len() {
        let n = r.input_frames_next();
        let (_, written) = r
            .process_into_buffer(&[&mono[pos..pos + n]], &mut buf, None)
            .map_err(|e| map(&e))?;
        out.extend_from_slice(&buf[0][..written]);
        pos += n;
    }
    if pos < mono.len() {
        let (_, written) = r
            .process_partial_into_buffer(Some(&[&mono[pos..]]), &mut buf, None)
            .map_err(|e| map(&e))?;
        out.extend_from_slice(&buf[0][..written]);
    }
    // Flush the resampler's latency with silence until the whole signal is out.
    while out.len() < expected + delay {
        let (_, written) = r
            .process_partial_into_buffer(None::<&[&[f32]]>, &mut buf, None)
            .map_err(|e| map(&e))?;
        if written == 0 {
            break;
        }
        out.extend_from_slice(&buf[0][..written]);
    }
    out.drain(..delay.min(out.len()));
    out.truncate(expected);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
