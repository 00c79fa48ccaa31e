//! Fixtures shared by the integration tests. Everything is embedded with
//! `include_bytes!`/`include_str!` so the same tests run natively and as wasm in Chromium
//! (where there is no file system).
#![allow(dead_code)]

/// Signals with committed PCM (`tests/fixtures/pcm/<key>.f32`) and librosa/Essentia
/// references (`tests/reference/features/<key>.json`).
pub const SIGNALS: &[&str] = &[
    "brahms",
    "fishin",
    "nutcracker",
    "vibeace",
    "trumpet",
    "tone440",
    "chord_cmaj",
    "chirp",
    "noise",
    "impulses",
    "silence",
];

/// The five CC music clips.
pub const MUSIC: &[&str] = &["brahms", "fishin", "nutcracker", "vibeace", "trumpet"];

macro_rules! fixture_table {
    ($dir:literal, $ext:literal, $mac:ident) => {
        |key: &str| -> &'static [u8] {
            match key {
                "brahms" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "brahms", $ext)),
                "fishin" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "fishin", $ext)),
                "nutcracker" => $mac!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    $dir,
                    "nutcracker",
                    $ext
                )),
                "vibeace" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "vibeace", $ext)),
                "trumpet" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "trumpet", $ext)),
                "tone440" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "tone440", $ext)),
                "chord_cmaj" => $mac!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    $dir,
                    "chord_cmaj",
                    $ext
                )),
                "chirp" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "chirp", $ext)),
                "noise" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "noise", $ext)),
                "impulses" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "impulses", $ext)),
                "silence" => $mac!(concat!(env!("CARGO_MANIFEST_DIR"), $dir, "silence", $ext)),
                other => panic!("no fixture {other}"),
            }
        }
    };
}

/// Raw PCM of a signal: 65536 little-endian f32 samples at 22050 Hz.
pub fn pcm(key: &str) -> Vec<f32> {
    let bytes = (fixture_table!("/tests/fixtures/pcm/", ".f32", include_bytes))(key);
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The reference JSON of a signal.
pub fn reference(key: &str) -> serde_json::Value {
    let bytes = (fixture_table!("/tests/reference/features/", ".json", include_bytes))(key);
    serde_json::from_slice(bytes).expect("reference JSON parses")
}

/// A `frames × coeffs` array from the reference JSON.
pub fn frames(v: &serde_json::Value, key: &str) -> Vec<Vec<f64>> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("reference has no {key}"))
        .iter()
        .map(|row| match row {
            serde_json::Value::Array(r) => r.iter().map(|x| x.as_f64().unwrap()).collect(),
            x => vec![x.as_f64().unwrap()],
        })
        .collect()
}

/// Runs a property test with `cases` seeded cases, natively and in the browser alike
/// (proptest's `proptest!` macro emits `#[test]`, which wasm-bindgen-test does not run).
/// No failure persistence: there is no file system in the browser, and the fixed seed
/// makes every run check the same cases.
pub fn check_property<S: proptest::strategy::Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), proptest::test_runner::TestCaseError>,
) {
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x00a1_4ec0),
        ..Config::default()
    };
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{e}");
    }
}
