//! The JavaScript boundary: the only module with `#[wasm_bindgen]`.
//!
//! Thin on purpose: it converts JS values, calls the pure Rust core and turns every
//! error into a JS `Error` carrying the message. No panic is meant to cross this
//! boundary; the panic hook installed at start-up reports any that does to the console.

use wasm_bindgen::prelude::*;

use crate::features::mfcc::{mfcc as compute_mfcc, MfccConfig};

fn js_err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Installs the panic hook (runs once when the module is instantiated).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The crate version and extractor version, e.g. `"0.1.0+fx1"`.
#[wasm_bindgen]
pub fn version() -> String {
    format!(
        "{}+fx{}",
        env!("CARGO_PKG_VERSION"),
        crate::EXTRACTOR_VERSION
    )
}

/// MFCC of mono PCM at `sample_rate` Hz with librosa's defaults.
///
/// Returns `{ sampleRate, hopLength, nFrames, nMfcc, data }` where `data` is a
/// `Float32Array` of `nFrames × nMfcc` values, frame after frame.
#[wasm_bindgen]
pub fn mfcc(pcm: &[f32], sample_rate: u32) -> Result<JsValue, JsError> {
    let mut cfg = MfccConfig::default();
    cfg.stft.sample_rate = sample_rate;
    let m = compute_mfcc(pcm, &cfg).map_err(js_err)?;
    let out = js_sys::Object::new();
    let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
    set("sampleRate", sample_rate.into()).map_err(|_| JsError::new("cannot build result"))?;
    set("hopLength", (cfg.stft.hop_length as u32).into())
        .map_err(|_| JsError::new("cannot build result"))?;
    set("nFrames", (m.n_frames as u32).into()).map_err(|_| JsError::new("cannot build result"))?;
    set("nMfcc", (m.n_coeffs as u32).into()).map_err(|_| JsError::new("cannot build result"))?;
    set("data", js_sys::Float32Array::from(m.data.as_slice()).into())
        .map_err(|_| JsError::new("cannot build result"))?;
    Ok(out.into())
}
