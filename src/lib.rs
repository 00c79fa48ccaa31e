//! # ainrec — a music recommender that runs in the browser
//!
//! ainrec implements AINRNN (He 2022: stacked IndRNN + attention over the listening
//! history + a user portrait) in Rust, for a web page (as WebAssembly) and a native CLI.
//!
//! The pipeline, one module per step, data flowing one way:
//!
//! 1. [`audio`] — PCM in memory: validation, mono mix-down; natively also decoding
//!    (symphonia) and resampling (rubato) to 22050 Hz.
//! 2. [`features`] — pure DSP: librosa-compatible STFT → mel → MFCC (+Δ, ΔΔ).
//! 3. [`model`] — AINRNN in candle: dense-connected IndRNN stack, eq. 4 attention, portrait.
//! 4. [`recommend`] — the `Recommender` trait every model implements, top-k without
//!    history items, the JSON answer.
//!
//! Beside the pipeline: [`data`] (listening data loaders and splits), [`eval`] (metrics
//! and protocols), [`baselines`] (popularity, item-kNN, content-kNN) and, natively,
//! `eval_run` (the drivers of `ainrec eval` / `ainrec recommend`).
//!
//! Also: [`error`] (one error type), `wasm` (the only file that knows about JavaScript)
//! and, natively, `serve` (the static server for the page).

pub mod audio;
pub mod audio_proxy;
pub mod baselines;
#[cfg(feature = "native")]
pub mod browser_run;
pub mod data;
pub mod error;
pub mod eval;
#[cfg(feature = "native")]
pub mod eval_run;
pub mod features;
pub mod model;
pub mod recommend;
#[cfg(feature = "native")]
pub mod serve;
#[cfg(feature = "native")]
pub mod train_run;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

// The shared unit tests also run in a real browser (`make test-wasm`).
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Version of the feature extractor; part of every cache key, bumped when outputs change.
pub const EXTRACTOR_VERSION: u32 = 1;
