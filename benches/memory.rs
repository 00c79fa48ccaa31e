//! Native peak memory of a 2-hour analysis, for `make bench` (docs/BENCHMARKS.md).
//!
//! Builds a 2-hour 22050 Hz mono signal in memory by looping the 30 s clip that
//! `benches/features.rs` wrote (`target/bench/clip30.f32`), reads the process's resident
//! set (`VmRSS`, `VmHWM` from `/proc/self/status`) with the PCM in place, then runs
//! `features::track::analyze` with every feature (default J=10, Q=8), span whole, no frame
//! output, and reads the high-water mark again. Writes `target/bench/memory_native.json`.
//!
//! `AINREC_BENCH_LONG_S` changes the length (seconds, default 7200).

use std::path::PathBuf;
use std::time::Instant;

use ainrec::features::track::{analyze, Span, TrackConfig};

fn status_kib(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let dir = std::env::var_os("AINREC_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench"));
    let bytes = std::fs::read(dir.join("clip30.f32"))
        .expect("target/bench/clip30.f32 (run `cargo bench --bench features` first)");
    let clip: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let seconds: usize = std::env::var("AINREC_BENCH_LONG_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7200);
    let n = seconds * 22_050;
    let before_pcm_kib = status_kib("VmRSS:");
    let mut x = Vec::with_capacity(n);
    while x.len() < n {
        let take = (n - x.len()).min(clip.len());
        x.extend_from_slice(&clip[..take]);
    }
    drop(bytes);
    let with_pcm_kib = status_kib("VmRSS:");
    let cfg = TrackConfig {
        span: Span::Whole,
        keep_frames: false,
        ..TrackConfig::default()
    };
    let t0 = Instant::now();
    let out = analyze(&x, &cfg).expect("analyze the 2-hour signal");
    let secs = t0.elapsed().as_secs_f64();
    let peak_kib = status_kib("VmHWM:");
    let pcm_bytes = (x.len() * 4) as u64;
    let result = serde_json::json!({
        "signal_seconds": seconds,
        "n_samples": n,
        "pcm_bytes": pcm_bytes,
        "rss_before_pcm_bytes": before_pcm_kib * 1024,
        "rss_with_pcm_bytes": with_pcm_kib * 1024,
        "peak_rss_bytes": peak_kib * 1024,
        "peak_beyond_rss_with_pcm_bytes": (peak_kib.saturating_sub(with_pcm_kib)) * 1024,
        "analysis_seconds": secs,
        "n_frames": out.n_frames,
        "n_scattering_frames": out.n_scattering_frames,
        "descriptor_len": out.descriptor.len(),
        "features": cfg.features.to_list(),
        "scattering_j": cfg.scattering.j,
        "scattering_q": cfg.scattering.q.0,
    });
    std::fs::create_dir_all(&dir).expect("create the bench output folder");
    std::fs::write(
        dir.join("memory_native.json"),
        serde_json::to_string_pretty(&result).expect("json"),
    )
    .expect("write memory_native.json");
    println!("{}", serde_json::to_string_pretty(&result).expect("json"));
}
