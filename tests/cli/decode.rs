//! Native decoding against the samples librosa (libsndfile) decoded from the same files.
#![cfg(feature = "native")]

use crate::common;

use ainrec::audio::decode::decode_file;
use std::path::PathBuf;

#[test]
fn vorbis_decodes_to_the_same_samples_as_libsndfile() {
    // Offsets of the committed 65536-sample excerpts (tests/fixtures/pcm/README.md).
    for (key, offset) in [
        ("brahms", 472_672usize),
        ("trumpet", 26_032),
        ("vibeace", 644_816),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/clips")
            .join(format!("{key}.ogg"));
        let audio = decode_file(&path).unwrap();
        assert_eq!(audio.source_rate, 22050);
        assert_eq!(audio.source_channels, 1);
        let want = common::pcm(key);
        let got = &audio.samples[offset..offset + want.len()];
        let err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-4, "{key}: max sample difference {err}");
    }
}

#[test]
fn the_wav_fixture_round_trips_exactly() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wav/vibeace_22050_mono.wav");
    let audio = decode_file(&path).unwrap();
    assert_eq!(audio.samples.len(), 220_500);
    // 16-bit PCM → f32 is x / 32768 on both sides: exact.
    assert!(audio.samples.iter().all(|s| (s * 32768.0).fract() == 0.0));
}
