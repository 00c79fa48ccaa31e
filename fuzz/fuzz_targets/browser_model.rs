//! Fuzz target `browser_model`: see `checks::browser_model` (fuzz/checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::browser_model(data));
