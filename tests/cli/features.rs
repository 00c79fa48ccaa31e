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
        let d = t["descriptor"].as_array().unwrap();
        assert_eq!(d.len(), v["descriptor_names"].as_array().unwrap().len());
        assert!(d.iter().all(|x| x.as_f64().unwrap().is_finite()));
    }
    assert_eq!(v["descriptor_names"][0], "mfcc_mean_0");
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

fn run_ok(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rows(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn frames_output_has_the_documented_keys() {
    let wav = fixture("wav/vibeace_22050_mono.wav");
    let v = run_ok(&["features", "--frames", wav.to_str().unwrap()]);
    assert_eq!(v["sample_rate"], 22050);
    assert_eq!(v["hop_length"], 512);
    let n = 1 + 220_500 / 512;
    let mfcc = v["mfcc"].as_array().unwrap();
    assert_eq!(mfcc.len(), n);
    assert!(mfcc.iter().all(|f| f.as_array().unwrap().len() == 20));
    assert_eq!(v["mfcc_delta"].as_array().unwrap().len(), n);
    assert_eq!(v["mfcc_delta2"].as_array().unwrap().len(), n);
    assert_eq!(v["hfc"].as_array().unwrap().len(), n);
    let hpcp = rows(&v["hpcp"]);
    assert_eq!(hpcp.len(), n);
    // unitMax normalisation: every non-silent frame peaks at exactly 1.
    assert!(hpcp
        .iter()
        .all(|f| f.len() == 12 && f.iter().all(|x| (0.0..=1.0).contains(x))));
    assert_eq!(v["scattering_hop"], 1024);
    let meta = v["scattering_meta"].as_array().unwrap();
    let sc = rows(&v["scattering"]);
    assert!(!sc.is_empty() && sc.iter().all(|f| f.len() == meta.len()));
    // Frames are 1024 samples apart over the 10 s file.
    assert!(
        (210..=220).contains(&sc.len()),
        "{} scattering frames",
        sc.len()
    );
    assert_eq!(v["span_s"], 10.0);
}

/// The check people will make: `ainrec features --frames clip.wav` against
/// `librosa.feature.mfcc(y=y, sr=22050)` on the same WAV (tests/reference/gen_cli_wav.py).
#[test]
fn frames_mfcc_matches_librosa_on_the_same_wav() {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("../reference/features/wav_vibeace_mfcc.json")).unwrap();
    let theirs = rows(&reference["mfcc"]);
    let wav = fixture("wav/vibeace_22050_mono.wav");
    let v = run_ok(&[
        "features",
        "--frames",
        "--features",
        "mfcc",
        wav.to_str().unwrap(),
    ]);
    let ours = rows(&v["mfcc"]);
    assert_eq!(ours.len(), theirs.len());
    for (t, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let peak = b.iter().fold(0f64, |m, x| m.max(x.abs()));
        let err = a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            err <= 1e-3 * peak,
            "frame {t}: max abs error {err} > 1e-3 × {peak}"
        );
    }
}

#[test]
fn feature_selection_span_and_csv() {
    let wav = fixture("wav/vibeace_22050_mono.wav");
    let w = wav.to_str().unwrap();
    let v = run_ok(&["features", "--features", "mfcc,hpcp", "--span", "4", w]);
    let names = v["descriptor_names"].as_array().unwrap();
    assert_eq!(names.len(), 120 + 24);
    assert_eq!(v["descriptor"].as_array().unwrap().len(), names.len());
    assert_eq!(v["features"], "mfcc,hpcp");
    assert_eq!(v["span_s"], 4.0);
    assert_eq!(v["span_start_s"], 3.0, "the middle 4 s of 10 s");

    let out = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "--csv", "--features", "hfc"])
        .arg(fixture("clips"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,hfc_log_mean,hfc_log_std");
    assert_eq!(lines.len(), 6, "header + 5 clips");
    assert!(lines[1..].iter().all(|l| l.split(',').count() == 3));

    let bad = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "--features", "mfcc,chroma", w])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("chroma"));
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

/// `ainrec features --features musicnn` on a 16 kHz and a 22.05 kHz WAV of the same 6 s of
/// "Let's Go Fishin'": 50 named tag probabilities + the 200-d embedding, per patch with
/// `--frames`, and both files' tags within 0.02 of the original musicnn's on that PCM
/// (`tests/reference/musicnn/fishin.json`; the CLI decodes at 22.05 kHz and resamples to 16 kHz).
#[test]
fn musicnn_tags_16k_and_22k_wavs_like_the_original() {
    let pcm: Vec<f32> = std::fs::read(fixture("pcm16k/fishin.f32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let reference: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/musicnn/fishin.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let ref_rows = rows(&reference["taggram"]);
    let ref_mean: Vec<f64> = (0..50)
        .map(|t| ref_rows.iter().map(|r| r[t]).sum::<f64>() / ref_rows.len() as f64)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let write = |rate: u32, samples: &[f32]| {
        let path = dir.path().join(format!("fishin_{rate}.wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        samples.iter().for_each(|s| w.write_sample(*s).unwrap());
        w.finalize().unwrap();
        path
    };
    let at_16k = write(16_000, &pcm);
    let at_22k = write(
        22_050,
        &ainrec::audio::resample::resample_mono(&pcm, 16_000, 22_050).unwrap(),
    );
    for wav in [at_16k, at_22k] {
        let v = run_ok(&[
            "features",
            "--features",
            "musicnn",
            "--frames",
            wav.to_str().unwrap(),
        ]);
        let names: Vec<&str> = v["descriptor_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 250);
        assert_eq!(names[5], "tag.female vocalists");
        assert_eq!(names[50], "musicnn_embedding_0");
        let d: Vec<f64> = v["descriptor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (t, (ours, theirs)) in d[..50].iter().zip(&ref_mean).enumerate() {
            assert!(
                (ours - theirs).abs() <= 0.02,
                "{}: {} {ours} vs musicnn {theirs}",
                wav.display(),
                names[t]
            );
        }
        let patches = &v["musicnn_patches"];
        assert_eq!(rows(&patches["tags"]).len(), 2, "6 s = two 3 s patches");
        assert_eq!(rows(&patches["embedding"])[0].len(), 200);
        assert_eq!(patches["tag_names"][9], "jazz");
    }
}
