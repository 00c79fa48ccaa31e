//! Native feature benchmarks for `make bench` (docs/BENCHMARKS.md).
//!
//! All on one real 30 s, 22050 Hz mono excerpt: the middle 30 s of
//! `tests/fixtures/clips/fishin.ogg` (already 22050 Hz mono, so no resampling), decoded with
//! `ainrec::audio::decode::decode_file`. Before measuring, the exact samples are written to
//! `target/bench/clip30.f32` (little-endian f32) so that the Python peers (`bench/peers.py`)
//! and the browser page (`bench/web/`) time the very same input.
//!
//! Benchmarks (group `features`):
//! - `mfcc`: `features::mfcc::mfcc` with librosa's defaults (20 coefficients, 128 mel bands).
//! - `mfcc_hfc_hpcp`: `features::track::analyze` with features `mfcc,hfc,hpcp`, span whole.
//! - `full_j8`: `analyze` with all four features, span whole, scattering J=8, Q=8.
//! - `full_j10`: `analyze` with `TrackConfig::default()` (all four features, J=10, Q=8, the
//!   30 s middle excerpt, which for this clip is all of it).
//! - `scattering_j8`, `scattering_j10`: `Scattering1D::transform` alone (Q = (8, 1)), planned
//!   (filter bank built) outside the timed region, as the Kymatio peer is.
//!
//! Environment: `AINREC_BENCH_CLIP` picks another clip, `AINREC_BENCH_OUT` another output folder.

use std::path::PathBuf;
use std::time::Duration;

use ainrec::audio::decode::decode_file;
use ainrec::features::mfcc::{mfcc, MfccConfig};
use ainrec::features::scattering::{Scattering1D, ScatteringConfig};
use ainrec::features::track::{analyze, FeatureSet, Span, TrackConfig};
use criterion::{black_box, Criterion};

const SR: usize = 22_050;
const SECONDS: usize = 30;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    std::env::var_os("AINREC_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/bench"))
}

/// The middle 30 s of the clip, written to `<out>/clip30.f32` for the peers.
fn clip30() -> Vec<f32> {
    let path = std::env::var_os("AINREC_BENCH_CLIP")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tests/fixtures/clips/fishin.ogg"));
    let audio = decode_file(&path).expect("decode the benchmark clip");
    let n = SR * SECONDS;
    assert!(
        audio.samples.len() >= n,
        "{} is shorter than {SECONDS} s",
        path.display()
    );
    let start = (audio.samples.len() - n) / 2;
    let x = audio.samples[start..start + n].to_vec();
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("create the bench output folder");
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("clip30.f32"), bytes).expect("write clip30.f32");
    let meta = serde_json::json!({
        "source": path.strip_prefix(repo()).unwrap_or(&path).display().to_string(),
        "decoder": "ainrec::audio::decode::decode_file (symphonia)",
        "source_samples": audio.samples.len(),
        "start_sample": start,
        "n_samples": n,
        "sample_rate": SR,
    });
    std::fs::write(
        dir.join("clip30.json"),
        serde_json::to_string_pretty(&meta).expect("json"),
    )
    .expect("write clip30.json");
    x
}

fn track_cfg(features: &str, j: u32) -> TrackConfig {
    TrackConfig {
        features: FeatureSet::parse(features).expect("feature list"),
        span: Span::Whole,
        scattering: ScatteringConfig::new(j, (8, 1)),
        ..TrackConfig::default()
    }
}

fn main() {
    let x = clip30();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut g = c.benchmark_group("features");

    let mfcc_cfg = MfccConfig::default();
    g.bench_function("mfcc", |b| {
        b.iter(|| mfcc(black_box(&x), &mfcc_cfg).expect("mfcc"))
    });

    let cfg = track_cfg("mfcc,hfc,hpcp", 10);
    g.bench_function("mfcc_hfc_hpcp", |b| {
        b.iter(|| analyze(black_box(&x), &cfg).expect("analyze"))
    });

    let cfg = track_cfg("all", 8);
    g.bench_function("full_j8", |b| {
        b.iter(|| analyze(black_box(&x), &cfg).expect("analyze"))
    });

    // The full default descriptor exactly as the CLI and the page compute it
    // (`TrackConfig::default()`: all four features, J=10, Q=8, the 30 s middle excerpt —
    // for this 30 s clip, all of it).
    let cfg = TrackConfig::default();
    g.bench_function("full_j10", |b| {
        b.iter(|| analyze(black_box(&x), &cfg).expect("analyze"))
    });

    for j in [8u32, 10] {
        let mut s = Scattering1D::<f32>::new(ScatteringConfig::new(j, (8, 1)), x.len())
            .expect("plan scattering");
        g.bench_function(format!("scattering_j{j}"), |b| {
            b.iter(|| s.transform(black_box(&x)).expect("scattering"))
        });
    }

    g.finish();
    c.final_summary();
}
