//! Scale measurements for wavelet scattering, ignored by default (they take minutes):
//!
//! ```sh
//! cargo test --profile testing --test features scattering_scale -- --ignored --nocapture
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --target wasm32-unknown-unknown \
//!     --test features scattering_scale -- --include-ignored
//! ```
//!
//! `time_30s_j8` times J = 8, Q = 8 on 30 s at 22050 Hz; `memory_2h_streamed` streams a
//! 2-hour signal block by block into per-coefficient sums and reports the peak memory
//! (native: VmHWM; wasm: the linear memory size, which never shrinks).

use ainrec::features::scattering::{BlockScattering, ScatteringConfig};

#[cfg(target_arch = "wasm32")]
macro_rules! report {
    ($($t:tt)*) => { wasm_bindgen_test::console_log!($($t)*) };
}
#[cfg(not(target_arch = "wasm32"))]
macro_rules! report {
    ($($t:tt)*) => { println!($($t)*) };
}

/// Milliseconds from an arbitrary origin.
fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static T0: OnceLock<std::time::Instant> = OnceLock::new();
        T0.get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}

/// Peak memory of the process (native, Linux) or the wasm linear memory, in MiB.
fn peak_mib() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) as f64 * 65536.0 / 1048576.0
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
                line.split_whitespace().nth(1)?.parse::<f64>().ok()
            })
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }
}

/// Deterministic signal: an AM tone plus LCG noise.
fn signal(n: usize) -> Vec<f32> {
    let mut s = 1u64;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let t = i as f32 / 22050.0;
            let am = 1.0 + 0.5 * (std::f32::consts::TAU * 0.7 * t).sin();
            let tone = (std::f32::consts::TAU * 440.0 * t).sin();
            0.3 * am * tone + 0.02 * ((s >> 40) as f32 / 16_777_216.0 - 0.5)
        })
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[ignore = "timing; run with --ignored"]
fn time_30s_j8() {
    let x = signal(661_500);
    let t0 = now_ms();
    let mut b = BlockScattering::<f32>::new(ScatteringConfig::new(8, (8, 1)), None).unwrap();
    let build = now_ms() - t0;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = now_ms();
        let out = b.transform(&x).unwrap();
        best = best.min(now_ms() - t);
        assert_eq!((out.n_coeffs, out.n_time), (234, 2583));
    }
    report!("scattering J=8 Q=8, 30 s: build {build:.0} ms, transform best of 3 {best:.0} ms");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[ignore = "2-hour signal; run with --ignored"]
fn memory_2h_streamed() {
    let n = 2 * 3600 * 22050;
    let base = peak_mib();
    let x = signal(n);
    let with_pcm = peak_mib();
    let t0 = now_ms();
    let mut b = BlockScattering::<f32>::new(ScatteringConfig::new(8, (8, 1)), None).unwrap();
    let plan = b.plan(n).unwrap();
    let mut sums = vec![0f64; b.n_coeffs()];
    for k in 0..plan.n_blocks {
        let chunk = b.process_block(&x, &plan, k).unwrap();
        for (sum, row) in sums.iter_mut().zip(chunk.data.chunks_exact(chunk.n_frames)) {
            *sum += row.iter().map(|v| *v as f64).sum::<f64>();
        }
    }
    let secs = (now_ms() - t0) / 1e3;
    let peak = peak_mib();
    assert!(sums.iter().all(|s| s.is_finite()));
    report!(
        "2 h at 22050 Hz, J=8 Q=8 streamed in {} blocks: {secs:.1} s; peak {peak:.1} MiB = \
         baseline {base:.1} + PCM {:.1} + scattering {:.1} MiB",
        plan.n_blocks,
        with_pcm - base,
        peak - with_pcm
    );
}
