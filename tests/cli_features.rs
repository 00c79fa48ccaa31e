//! The native CLI on real files of every supported format, plus bad ones.
#![cfg(feature = "native")]

use std::path::PathBuf;
use std::process::Command;

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

#[test]
fn a_batch_reports_bad_files_and_keeps_the_good_ones() {
    let out_dir = std::env::temp_dir().join(format!("ainrec-cli-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("out.json");
    let files = [
        "formats/a.mp3",
        "formats/b.ogg",
        "formats/c.flac",
        "formats/d.wav",
        "formats/e.m4a",
        "formats/broken.mp3",
        "formats/f.opus",
        "formats/empty.wav",
        "formats/notaudio.mp3",
    ];
    let status = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .arg("features")
        .args(files.iter().map(|f| fixture(f)))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(1),
        "a failed file makes the exit code 1"
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("broken.mp3"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let tracks = v["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 5, "{v}");
    for t in tracks {
        let d = t["duration_s"].as_f64().unwrap();
        // 1.0 s excerpts; AAC carries its encoder delay and padding (up to ~2 frames of 1024).
        assert!((0.99..1.1).contains(&d), "{}: {d} s", t["file"]);
        assert_eq!(t["sample_rate"], 22050);
        assert_eq!(t["mfcc_mean"].as_array().unwrap().len(), 20);
    }
    let wav = tracks
        .iter()
        .find(|t| t["file"].as_str().unwrap().ends_with("d.wav"))
        .unwrap();
    assert_eq!(wav["source_sample_rate"], 44100);
    assert_eq!(wav["source_channels"], 2);
    let failed = v["failed"].as_array().unwrap();
    let reason = |name: &str| -> String {
        failed
            .iter()
            .find(|f| f["file"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not reported: {v}"))["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("broken.mp3").contains("cannot decode"));
    assert!(reason("f.opus").contains("Opus"));
    assert!(reason("empty.wav").contains("empty"));
    assert!(reason("notaudio.mp3").contains("cannot decode"));
}

#[test]
fn frames_output_has_the_documented_keys() {
    let out = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "--frames"])
        .arg(fixture("wav/vibeace_22050_mono.wav"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sample_rate"], 22050);
    assert_eq!(v["hop_length"], 512);
    let mfcc = v["mfcc"].as_array().unwrap();
    assert_eq!(mfcc.len(), 1 + 220_500 / 512);
    assert!(mfcc.iter().all(|f| f.as_array().unwrap().len() == 20));
    assert_eq!(v["mfcc_delta"].as_array().unwrap().len(), mfcc.len());
    assert_eq!(v["mfcc_delta2"].as_array().unwrap().len(), mfcc.len());
}

#[test]
fn folders_are_searched_for_audio() {
    let out = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .arg("features")
        .arg(fixture("clips"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tracks"].as_array().unwrap().len(), 5);
}
