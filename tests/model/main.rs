//! The network's layers, the hetrec recommender and its training, the browser model and the
//! wasm API: one test crate, so the suite links once (natively and as wasm in Chromium).

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "../common/mod.rs"]
mod common;
#[path = "../hetrec_mini/mod.rs"]
mod hetrec_mini;

mod browser;
mod layers;
mod musicnn;
mod recommender;
mod train;
mod wasm_api;
