//! The native CLI's `features` and `recommend` commands and the file decoder on committed
//! fixtures: one native test crate (`required-features = ["native"]`).

#[path = "../common/mod.rs"]
mod common;

mod decode;
mod features;
mod recommend;
