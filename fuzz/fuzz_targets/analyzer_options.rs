//! Fuzz target `analyzer_options`: see `checks::analyzer_options` (fuzz/checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::analyzer_options(data));
