//! Replays the fuzz corpora that are committed — the seeds (`fuzz/seeds/<target>/`) and every
//! crash reproducer (`tests/fixtures/fuzz-regressions/<target>/`) — through the very checks
//! the fuzz targets run (`fuzz/checks.rs`), so `make test` catches a regression without
//! nightly or cargo-fuzz.
#![cfg(feature = "native")]

use std::path::PathBuf;

use crate::checks;

fn replay(target: &str, check: fn(&[u8])) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("fuzz/seeds").join(target),
        root.join("tests/fixtures/fuzz-regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.into_iter().filter(|p| p.is_file()) {
            let bytes = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| check(&bytes));
            assert!(r.is_ok(), "{target}: {} fails its check", f.display());
            n += 1;
        }
    }
    assert!(n > 0, "{target}: no seed or reproducer found");
}

#[test]
fn decode_corpus() {
    replay("decode", checks::decode);
}

#[test]
fn model_file_corpus() {
    replay("model_file", checks::model_file);
}

#[test]
fn history_corpus() {
    replay("history", checks::history);
}

#[test]
fn analyzer_options_corpus() {
    replay("analyzer_options", checks::analyzer_options);
}

#[test]
fn http_head_corpus() {
    replay("http_head", checks::http_head);
}

#[test]
fn browser_model_corpus() {
    replay("browser_model", checks::browser_model);
}

/// The shipped model is the fuzzer's main seed (too large to commit twice): it must pass the
/// check, and so must a copy cut short or carrying a NaN weight (each rejected with a reason).
#[test]
fn browser_model_shipped_and_damaged() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read(root.join("models/browser.safetensors")).unwrap();
    checks::browser_model(&shipped);
    ainrec::model::browser::BrowserModel::from_bytes(&shipped).expect("the shipped model loads");
    for cut in [0, 7, 8, 100, shipped.len() / 2, shipped.len() - 1] {
        checks::browser_model(&shipped[..cut]);
        assert!(ainrec::model::browser::BrowserModel::from_bytes(&shipped[..cut]).is_err());
    }
    // The last 4 bytes are the last f32 of the last tensor: make it NaN.
    let mut nan = shipped.clone();
    let n = nan.len();
    nan[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    checks::browser_model(&nan);
    let Err(e) = ainrec::model::browser::BrowserModel::from_bytes(&nan) else {
        panic!("a NaN weight is refused");
    };
    let e = e.to_string();
    assert!(e.contains("non-finite"), "{e}");
}

/// The first crash of the `browser_model` fuzz target (`crash-b7067933…`, 600 s run of
/// 2026-11-26): the shipped model with three bytes changed (two swapped bytes make one
/// `song.hidden.weight` −1.25e38). Loading it is fine — every weight is finite — but a large
/// descriptor overflowed through it and `embed` returned NaN embeddings (so NaN scores). The
/// file is rebuilt here from the shipped model rather than committed (1.7 MB).
#[test]
fn browser_model_crash_b7067933_overflowing_weight() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut bytes = std::fs::read(root.join("models/browser.safetensors")).unwrap();
    // Offsets into the tensor data (after the 8-byte length and the JSON header), so that a
    // change of the metadata alone does not move them.
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let data = 8 + header;
    for (at, from, to) in [(1057598, 49, 48), (1566526, 254, 188), (1566527, 188, 254)] {
        assert_eq!(
            bytes[data + at],
            from,
            "the shipped model's weights changed: update this reproducer"
        );
        bytes[data + at] = to;
    }
    let r = std::panic::catch_unwind(|| checks::browser_model(&bytes));
    assert!(r.is_ok(), "the reproducer fails its check again");
    // What the page sees now: the model loads, and embedding a large descriptor is an error
    // that says why, not NaN.
    let model = ainrec::model::browser::BrowserModel::from_bytes(&bytes).unwrap();
    let n = model.config().descriptor_names.len();
    let big: Vec<f32> = (0..n)
        .map(|i| if i % 2 == 0 { 1e4 } else { -1e4 })
        .collect();
    let e = model
        .embed(&[vec![0.0; n], big])
        .expect_err("an error")
        .to_string();
    assert!(
        e.contains("descriptor 1") && e.contains("non-finite"),
        "{e}"
    );
}
