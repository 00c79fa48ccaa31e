//! Feature extraction against its references (librosa, Kymatio, Essentia) and its properties:
//! one test crate, so the suite links once (natively and as wasm in Chromium).

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "../common/mod.rs"]
mod common;

mod essentia_parity;
mod hpcp_no_alloc;
mod hpcp_props;
mod mfcc;
mod scattering;
mod scattering_scale;
mod track;
