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
//! 3. `model` — AINRNN in candle (to come).
//! 4. `recommend` — ranking and explanations (to come).
//!
//! Beside the pipeline: [`error`] (one error type), `wasm` (the only file that knows
//! about JavaScript) and, natively, [`serve`] (the static server for the page).

pub mod audio;
pub mod error;
pub mod features;
#[cfg(feature = "native")]
pub mod serve;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

/// Version of the feature extractor; part of every cache key, bumped when outputs change.
pub const EXTRACTOR_VERSION: u32 = 1;
