//! # ainrec — a music recommender that runs in the browser
//!
//! ainrec implements AINRNN (He 2022: stacked IndRNN + attention over the listening
//! history + a user portrait) in Rust, for a web page (as WebAssembly) and a native CLI.
//!
//! The pipeline, one module per step, data flowing one way (a module imports only from the
//! layers above it in this list; `tests/layering.rs` checks it):
//!
//! 0. [`util`] (seeded RNG, mean/std) and [`error`] (one error type) — below everything.
//! 1. [`audio`] — PCM in memory: validation, mono mix-down; natively also decoding
//!    (symphonia) and resampling (rubato) to 22050 Hz.
//! 2. [`features`] — pure DSP: MFCC, scattering, HFC, HPCP and the track descriptor.
//! 3. [`data`] — listening data loaders, histories and splits; [`metrics`] — ranking metrics;
//!    [`ranking`] — the `Recommender` trait every model implements, the top-k rule and the
//!    diversity re-rank.
//! 4. [`model`] — AINRNN in candle: song encoder, dense IndRNN stack, eq. 4 attention, portrait;
//!    the browser model and its fine-tuning.
//! 5. [`recommend`] — the answer (ids, names, scores, attention).
//! 6. [`eval`] — protocols, tuning, the baselines and the neural models' trainer adapter.
//! 7. Natively, `drivers` — one call per CLI subcommand; `serve` — the page's static server.
//!    In wasm, `wasm` — the only file that knows about JavaScript.
//!
//! References such as "DESIGN §3" in comments are to `docs/DESIGN.md`.

pub mod audio;
pub mod data;
#[cfg(feature = "native")]
pub mod drivers;
pub mod error;
pub mod eval;
pub mod features;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod layering;
pub mod metrics;
pub mod model;
pub mod ranking;
pub mod recommend;
#[cfg(feature = "native")]
pub mod serve;
pub mod util;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

// The shared unit tests also run in a real browser (`make test-wasm`).
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Version of the feature extractor; part of every cache key, bumped when outputs change.
pub const EXTRACTOR_VERSION: u32 = 1;
