//! Fuzz target `http_head`: see `checks::http_head` (fuzz/checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::http_head(data));
