//! Hostile and corrupt input to the native CLI, the model files and the server, and the replay
//! of the committed fuzz corpora: one native test crate (`required-features = ["native"]`).

#[path = "../../fuzz/checks.rs"]
mod checks;

mod fuzz_replay;
mod inputs;
mod model_files;
mod server;
