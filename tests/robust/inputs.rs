//! The input matrix of issue 8, natively: every kind of file a visitor or a researcher may
//! hand us goes through the real decoder (`decode_file`) and feature path (`analyze`), and a
//! batch of them through the CLI. Each must give finite, plausible features or an error that
//! names the file and the reason — never a panic. Inputs are made at test time in a temporary
//! folder (nothing big is committed); the truncated files are cut from the committed
//! format fixtures.
#![cfg(feature = "native")]

use std::f32::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ainrec::audio::decode::{decode_file, decode_file_with_limits, DecodeLimits, DecodedAudio};
use ainrec::features::hpcp::PITCH_CLASSES;
use ainrec::features::mfcc::{mfcc, MfccConfig};
use ainrec::features::track::{
    analyze, descriptor_names, FeatureSet, Span, TrackAnalysis, TrackConfig, TrackFeatures,
};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

/// Writes a 16-bit PCM WAV whose sample `(frame, channel)` is `f(frame, channel)` in [-1, 1].
fn wav16(
    path: &Path,
    rate: u32,
    channels: u16,
    frames: usize,
    f: impl Fn(usize, u16) -> f32,
) -> PathBuf {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    {
        let mut i16w = w.get_i16_writer((frames * channels as usize) as u32);
        for n in 0..frames {
            for c in 0..channels {
                let x = f(n, c).clamp(-1.0, 1.0);
                i16w.write_sample((x * 32767.0).round() as i16);
            }
        }
        i16w.flush().unwrap();
    }
    w.finalize().unwrap();
    path.to_path_buf()
}

/// Writes a 32-bit float mono WAV of `samples` as they are (NaN and Inf included).
/// One second of a 440 Hz tone at half scale, 16-bit mono at 22.05 kHz: a file that analyses.
fn one_second_tone(path: &Path) -> PathBuf {
    wav16(path, 22_050, 1, 22_050, tone(440.0, 22_050, 0.5))
}

fn wav_f32(path: &Path, rate: u32, samples: &[f32]) -> PathBuf {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    path.to_path_buf()
}

fn tone(f: f32, rate: u32, amp: f32) -> impl Fn(usize, u16) -> f32 {
    move |n, _| amp * (2.0 * PI * f * n as f32 / rate as f32).sin()
}

/// A deterministic white noise in [-1, 1] (xorshift), so failures reproduce.
fn noise(seed: u64) -> impl Fn(usize, u16) -> f32 {
    move |n, c| {
        let mut x = seed ^ ((n as u64) << 8 | u64::from(c)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Decodes and analyses `path` with the default configuration (30 s excerpt, every feature)
/// and checks the descriptor is whole and finite.
fn analyse_ok(path: &Path) -> (DecodedAudio, TrackFeatures) {
    let audio = decode_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(audio.samples.iter().all(|s| s.is_finite()));
    let cfg = TrackConfig::default();
    let out = analyze(&audio.samples, &cfg).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(out.descriptor.len(), descriptor_names(&cfg).len());
    assert!(
        out.descriptor.iter().all(|v| v.is_finite()),
        "{}: non-finite descriptor",
        path.display()
    );
    (audio, out)
}

/// The decode error of `path`, which must name the file and contain `reason`.
fn decode_err(path: &Path, reason: &str) -> String {
    let e = match decode_file(path) {
        Ok(a) => panic!(
            "{} decoded ({} samples) but should fail with {reason:?}",
            path.display(),
            a.samples.len()
        ),
        Err(e) => e.to_string(),
    };
    let name = path.display().to_string();
    assert!(e.contains(&name), "error does not name the file: {e}");
    assert!(e.contains(reason), "expected {reason:?} in: {e}");
    e
}

/// Index of the strongest HPCP pitch class (mean over frames) in a descriptor of `cfg`.
fn hpcp_argmax(cfg: &TrackConfig, d: &[f32]) -> &'static str {
    let names = descriptor_names(cfg);
    let first = names.iter().position(|n| n == "hpcp_mean_A").unwrap();
    let means = &d[first..first + 12];
    let best = (0..12)
        .max_by(|&a, &b| means[a].total_cmp(&means[b]))
        .unwrap();
    PITCH_CLASSES[best]
}

#[test]
fn empty_one_byte_non_audio_and_header_only_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.flac");
    std::fs::write(&empty, b"").unwrap();
    decode_err(&empty, "empty (0 bytes)");

    for ext in ["wav", "mp3", "ogg", "flac", "m4a"] {
        let one = dir.path().join(format!("one.{ext}"));
        std::fs::write(&one, [0x52]).unwrap();
        decode_err(&one, "cannot decode");
    }

    // A renamed PDF and a renamed PNG.
    let pdf = dir.path().join("paper.mp3");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    )
    .unwrap();
    decode_err(&pdf, "not a recognised audio container");
    let png = dir.path().join("cover.wav");
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(4096, 7);
    std::fs::write(&png, bytes).unwrap();
    decode_err(&png, "not a recognised audio container");

    // A WAV with a valid header and no sample at all.
    let header_only = wav16(&dir.path().join("header.wav"), 44100, 2, 0, |_, _| 0.0);
    assert_eq!(std::fs::metadata(&header_only).unwrap().len(), 44);
    decode_err(&header_only, "no audio could be decoded");

    // A folder where a file was expected.
    let folder = dir.path().join("folder.wav");
    std::fs::create_dir(&folder).unwrap();
    decode_err(&folder, "folder");
}

#[test]
fn truncated_files_decode_what_is_there_or_fail_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.mp3", "b.ogg", "c.flac", "d.wav", "e.m4a"] {
        let full = std::fs::read(fixture(&format!("formats/{name}"))).unwrap();
        for keep in [
            1usize,
            10,
            100,
            full.len() / 10,
            full.len() / 2,
            full.len() - 1,
        ] {
            let path = dir.path().join(format!("cut{keep}_{name}"));
            std::fs::write(&path, &full[..keep]).unwrap();
            match decode_file(&path) {
                Ok(audio) => {
                    // What decodes is a prefix of the 1 s excerpt: never longer, always finite.
                    assert!(audio.duration_s() <= 1.1, "{name}[..{keep}]");
                    assert!(audio.samples.iter().all(|s| s.is_finite()));
                    let cfg = TrackConfig::default();
                    match analyze(&audio.samples, &cfg) {
                        Ok(f) => assert!(f.descriptor.iter().all(|v| v.is_finite())),
                        // Less than one scattering window survived.
                        Err(e) => assert!(e.to_string().contains("too short"), "{e}"),
                    }
                }
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains(&path.display().to_string()), "{e}");
                    assert!(e.contains("cannot decode"), "{e}");
                }
            }
        }
        // The uncompressed and lossless formats keep the first half when cut in half.
        if matches!(name, "d.wav" | "c.flac") {
            let path = dir.path().join(format!("cut{}_{name}", full.len() / 2));
            let audio = decode_file(&path).unwrap();
            assert!(
                (0.3..0.6).contains(&audio.duration_s()),
                "{name} cut in half: {} s",
                audio.duration_s()
            );
        }
    }
}

#[test]
fn every_sample_rate_gives_the_same_pitch_and_a_finite_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrackConfig::default();
    for rate in [8_000u32, 22_050, 44_100, 48_000, 96_000, 192_000] {
        let frames = rate as usize * 2;
        let path = wav16(
            &dir.path().join(format!("a440_{rate}.wav")),
            rate,
            1,
            frames,
            tone(440.0, rate, 0.5),
        );
        let (audio, out) = analyse_ok(&path);
        assert_eq!(audio.source_rate, rate);
        assert_eq!(audio.sample_rate, 22_050);
        assert_eq!(audio.samples.len(), 44_100, "{rate} Hz: 2 s at 22050 Hz");
        // The resampled tone keeps its level (RMS of 0.5·sin is 0.354), away from the edges.
        let mid = &audio.samples[4410..39690];
        let rms = (mid.iter().map(|x| x * x).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms - 0.3536).abs() < 0.01, "{rate} Hz: RMS {rms}");
        assert_eq!(hpcp_argmax(&cfg, &out.descriptor), "A", "{rate} Hz");
    }
}

#[test]
fn rates_outside_the_supported_range_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let slow = wav16(&dir.path().join("slow.wav"), 500, 1, 500, |_, _| 0.1);
    decode_err(&slow, "sample rate of 500 Hz");
    let fast = wav16(&dir.path().join("fast.wav"), 4_000_000, 1, 4000, |_, _| 0.1);
    decode_err(&fast, "sample rate of 4000000 Hz");
}

#[test]
fn mono_stereo_and_six_channels_mix_down_by_channel_average() {
    let dir = tempfile::tempdir().unwrap();
    for channels in [1u16, 2, 6] {
        // The tone is in the first channel only: the mix-down holds it at 0.8 / channels.
        let t = tone(440.0, 44_100, 0.8);
        let path = wav16(
            &dir.path().join(format!("ch{channels}.wav")),
            44_100,
            channels,
            44_100,
            move |n, c| if c == 0 { t(n, c) } else { 0.0 },
        );
        let (audio, out) = analyse_ok(&path);
        assert_eq!(audio.source_channels, usize::from(channels));
        let peak = audio.samples[2205..19845]
            .iter()
            .fold(0f32, |m, x| m.max(x.abs()));
        let want = 0.8 / f32::from(channels);
        assert!(
            (peak - want).abs() < 0.02 * want + 1e-3,
            "{channels} ch: peak {peak}, expected {want}"
        );
        assert_eq!(hpcp_argmax(&TrackConfig::default(), &out.descriptor), "A");
    }
}

#[test]
fn silence_noise_dc_clipping_and_a_tenth_of_a_second_give_finite_features() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 44_100;
    type Signal = Box<dyn Fn(usize, u16) -> f32>;
    let cases: Vec<(&str, usize, Signal)> = vec![
        ("silence", rate * 3, Box::new(|_, _| 0.0)),
        ("noise", rate * 3, Box::new(noise(7))),
        ("dc", rate * 3, Box::new(|_, _| 0.5)),
        ("negative_dc", rate * 3, Box::new(|_, _| -1.0)),
        (
            "clipped",
            rate * 3,
            Box::new(|n, c| (8.0 * tone(220.0, 44_100, 1.0)(n, c)).clamp(-1.0, 1.0)),
        ),
        ("tenth", rate / 10, Box::new(tone(440.0, 44_100, 0.5))),
    ];
    let mut descriptors = Vec::new();
    for (name, frames, f) in cases {
        let path = wav16(
            &dir.path().join(format!("{name}.wav")),
            44_100,
            2,
            frames,
            f,
        );
        let (audio, out) = analyse_ok(&path);
        if name == "tenth" {
            assert_eq!(audio.samples.len(), 2205);
            assert_eq!(out.span_len, 2205, "a short file is analysed whole");
        }
        descriptors.push((name, out.descriptor));
    }
    // Not just finite: silence and full-scale noise must be told apart.
    let get = |n: &str| &descriptors.iter().find(|(k, _)| *k == n).unwrap().1;
    let names = descriptor_names(&TrackConfig::default());
    let hfc = names.iter().position(|n| n == "hfc_log_mean").unwrap();
    assert_eq!(get("silence")[hfc], 0.0);
    assert!(get("noise")[hfc] > 5.0, "noise HFC {}", get("noise")[hfc]);
}

#[test]
fn non_finite_samples_in_a_float_wav_are_refused_with_their_time() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bad) in [("nan", f32::NAN), ("inf", f32::INFINITY)] {
        let mut x: Vec<f32> = (0..22_050).map(|n| (n as f32 * 0.05).sin() * 0.3).collect();
        x[11_025] = bad;
        let path = wav_f32(&dir.path().join(format!("{name}.wav")), 22_050, &x);
        let e = decode_err(&path, "non-finite sample");
        assert!(e.contains("0.500 s"), "{e}");
    }
}

#[test]
fn nan_inf_and_overflowing_pcm_given_to_the_feature_api_are_errors_not_nan() {
    // The wasm API's `mfcc` calls `features::mfcc::mfcc`; its `Analyzer` plans a
    // `TrackAnalysis` and calls `check_span` before any step.
    let good: Vec<f32> = (0..22_050).map(|n| (n as f32 * 0.1).sin() * 0.5).collect();
    for (what, bad, pos) in [
        ("NaN", f32::NAN, 100usize),
        ("inf", f32::INFINITY, 5000),
        ("-inf", f32::NEG_INFINITY, 22_049),
    ] {
        let mut x = good.clone();
        x[pos] = bad;
        let e = mfcc(&x, &MfccConfig::default()).unwrap_err().to_string();
        assert!(
            e.contains(what) && e.contains(&format!("at sample {pos}")),
            "{e}"
        );
        let e = analyze(&x, &TrackConfig::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("at sample {pos}")), "{e}");
        let cfg = TrackConfig {
            span: Span::Whole,
            ..TrackConfig::default()
        };
        let mut a = TrackAnalysis::new(cfg, x.len()).unwrap();
        let e = a.check_span(&x).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
    // Finite but far outside [-1, 1]: the f32 power spectrum overflows. An error, not NaN.
    let huge: Vec<f32> = good.iter().map(|x| x * 1e30).collect();
    let e = mfcc(&huge, &MfccConfig::default()).unwrap_err().to_string();
    assert!(
        e.contains("expected finite") && e.contains("[-1, 1]"),
        "{e}"
    );
    let e = analyze(&huge, &TrackConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected finite"), "{e}");
    // An excerpt so short it holds no sample is refused with the reason.
    let cfg = TrackConfig {
        features: FeatureSet::parse("mfcc").unwrap(),
        span: Span::Excerpt { seconds: 1e-9 },
        ..TrackConfig::default()
    };
    let e = analyze(&good, &cfg).unwrap_err().to_string();
    assert!(e.contains("span is empty"), "{e}");
}

/// The 2-hour file: 8 kHz mono 16-bit (≈115 MB), written at test time. With the
/// default limits it decodes (streamed, so memory is the 22050 Hz output, not the file) and
/// the 30 s excerpt from its middle is analysed; a lower duration cap refuses it from the
/// header before decoding, and a lower size cap before reading it.
#[test]
fn a_two_hour_file_is_analysed_or_refused_by_the_caps() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 8_000u32;
    let seconds = 7_200usize;
    // A 1 s tone repeating, with an A (440 Hz) in the middle hour and a C elsewhere.
    let path = wav16(
        &dir.path().join("two_hours.wav"),
        rate,
        1,
        rate as usize * seconds,
        |n, _| {
            let t = n as f32 / rate as f32;
            let f = if (3_000.0..4_200.0).contains(&t) {
                440.0
            } else {
                261.63
            };
            0.4 * (2.0 * PI * f * (n % rate as usize) as f32 / rate as f32).sin()
        },
    );
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(size, 44 + 2 * 8_000 * 7_200);

    let start = Instant::now();
    let short = DecodeLimits {
        max_duration_s: 3_600.0,
        ..DecodeLimits::default()
    };
    let e = decode_file_with_limits(&path, &short)
        .unwrap_err()
        .to_string();
    assert!(e.contains("two_hours.wav") && e.contains("7200.0 s"), "{e}");
    assert!(
        e.contains("3600.0 s") && e.contains("--max-duration"),
        "{e}"
    );
    let small = DecodeLimits {
        max_file_bytes: 100_000_000,
        ..DecodeLimits::default()
    };
    let e = decode_file_with_limits(&path, &small)
        .unwrap_err()
        .to_string();
    assert!(e.contains("115.2 MB") && e.contains("--max-file-mb"), "{e}");
    // Both refusals come from the header or the file size: no decoding happened.
    assert!(start.elapsed().as_secs_f64() < 2.0, "{:?}", start.elapsed());

    let (audio, out) = analyse_ok(&path);
    assert_eq!(audio.samples.len(), 22_050 * seconds);
    assert_eq!(audio.source_rate, rate);
    // The default span: the middle 30 s (3585 s to 3615 s), where the A plays.
    assert_eq!(out.span_start, 22_050 * 3_585);
    assert_eq!(out.span_len, 22_050 * 30);
    assert_eq!(hpcp_argmax(&TrackConfig::default(), &out.descriptor), "A");
}

/// Through the CLI: a folder of good and bad files is analysed as far as it goes, every
/// failure is reported with its file and reason, and the exit code is 1; the caps are flags.
#[test]
fn a_cli_batch_goes_past_every_bad_file_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    wav16(
        &d.join("good_8k.wav"),
        8_000,
        1,
        16_000,
        tone(440.0, 8_000, 0.5),
    );
    wav16(&d.join("good_6ch.wav"), 48_000, 6, 48_000, noise(3));
    wav16(
        &d.join("good_tenth.wav"),
        44_100,
        2,
        4_410,
        tone(440.0, 44_100, 0.5),
    );
    wav16(&d.join("long.wav"), 8_000, 1, 8_000 * 20, |_, _| 0.1);
    std::fs::write(d.join("empty.mp3"), b"").unwrap();
    std::fs::write(d.join("one.ogg"), b"O").unwrap();
    std::fs::write(d.join("paper.flac"), b"%PDF-1.4\n%%EOF\n").unwrap();
    wav16(&d.join("header.wav"), 44_100, 2, 0, |_, _| 0.0);
    // 10 ms: shorter than one scattering window (46 ms) — refused with that reason.
    wav16(&d.join("blip.wav"), 22_050, 1, 220, |_, _| 0.2);
    let full = std::fs::read(fixture("formats/c.flac")).unwrap();
    std::fs::write(d.join("cut.flac"), &full[..200]).unwrap();
    std::fs::write(
        d.join("notes.txt"),
        b"not picked up: not an audio extension",
    )
    .unwrap();

    let out = d.join("out.json");
    let run = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "--max-duration", "10", "-o"])
        .arg(&out)
        .arg(d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let tracks: Vec<&str> = v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["file"].as_str().unwrap())
        .collect();
    assert_eq!(tracks.len(), 3, "{tracks:?}");
    for t in v["tracks"].as_array().unwrap() {
        let d = t["descriptor"].as_array().unwrap();
        assert!(d.iter().all(|x| x.as_f64().is_some_and(f64::is_finite)));
    }
    let failed = v["failed"].as_array().unwrap();
    let reason = |file: &str| -> String {
        let f = failed
            .iter()
            .find(|f| f["file"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} not in failed: {v}"));
        let e = f["error"].as_str().unwrap().to_string();
        assert!(e.contains(file), "the error names the file: {e}");
        assert!(stderr.contains(&e), "and is printed: {e}");
        e
    };
    assert!(reason("empty.mp3").contains("empty (0 bytes)"));
    assert!(reason("one.ogg").contains("cannot decode"));
    assert!(reason("paper.flac").contains("not a recognised audio container"));
    assert!(reason("header.wav").contains("no audio could be decoded"));
    assert!(reason("blip.wav").contains("too short"));
    assert!(reason("cut.flac").contains("cannot decode"));
    assert!(reason("long.wav").contains("over the limit of 10.0 s"));
    assert_eq!(failed.len(), 7, "{v}");
    assert!(
        stderr.contains("3 of 10 files analysed; 7 failed"),
        "{stderr}"
    );

    // The size cap, and caps that make no sense, which are argument errors (exit code 2).
    let small = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "--max-file-mb", "0.01"])
        .arg(d.join("good_6ch.wav"))
        .output()
        .unwrap();
    assert_eq!(small.status.code(), Some(1));
    let e = String::from_utf8_lossy(&small.stderr);
    assert!(
        e.contains("good_6ch.wav")
            && e.contains("MB, over the limit")
            && e.contains("--max-file-mb"),
        "{e}"
    );
    for (bad, flag) in [
        ("--max-duration=0", "--max-duration"),
        ("--max-file-mb=-3", "--max-file-mb"),
        ("--max-duration=NaN", "--max-duration"),
    ] {
        let r = Command::new(env!("CARGO_BIN_EXE_ainrec"))
            .args(["features", bad])
            .arg(d.join("good_8k.wav"))
            .output()
            .unwrap();
        assert_eq!(r.status.code(), Some(2), "{bad}");
        let e = String::from_utf8_lossy(&r.stderr);
        assert!(
            e.contains(flag) && e.contains("expected a positive number"),
            "{e}"
        );
    }
}

/// Robustness II, cases 1, 2 and 8: finite but extreme float PCM. A 1e36 sine at 22.05 kHz
/// hung the analysis (the spectrum overflowed to NaN and the peak scan never advanced); ±3e38
/// at 44.1 and 48 kHz panicked inside the resampler and lost the whole batch; above ~300 the
/// scattering path gave NaN. Each is now named with its reason, in seconds, and the good file
/// of the same batch is kept; a hot but plausible float file (peaks at the level limit) is
/// analysed into finite features.
#[test]
fn extreme_float_wavs_are_refused_by_name_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sine = |rate: u32, amp: f32, secs: usize| -> Vec<f32> {
        (0..rate as usize * secs)
            .map(|n| amp * (2.0 * PI * 440.0 * n as f32 / rate as f32).sin())
            .collect()
    };
    wav_f32(&d.join("huge_1e36.wav"), 22_050, &sine(22_050, 1e36, 3));
    for rate in [44_100, 48_000] {
        let x: Vec<f32> = (0..rate as usize * 2)
            .map(|n| if n % 2 == 0 { 3e38 } else { -3e38 })
            .collect();
        wav_f32(&d.join(format!("max_{rate}.wav")), rate, &x);
    }
    wav_f32(&d.join("loud_300.wav"), 22_050, &sine(22_050, 300.0, 3));
    wav_f32(
        &d.join("hot_limit.wav"),
        22_050,
        &sine(22_050, ainrec::audio::MAX_SAMPLE_MAGNITUDE, 3),
    );
    wav16(
        &d.join("good.wav"),
        22_050,
        1,
        22_050 * 3,
        tone(440.0, 22_050, 0.5),
    );

    let out = d.join("out.json");
    let t = Instant::now();
    let run = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "-o"])
        .arg(&out)
        .arg(d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    // Generous for a loaded 2-core CI; the hang never finished at all.
    assert!(t.elapsed().as_secs() < 120, "{:?}: {stderr}", t.elapsed());
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let mut kept: Vec<&str> = v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["file"].as_str().unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept[0].ends_with("good.wav") && kept[1].ends_with("hot_limit.wav"));
    for t in v["tracks"].as_array().unwrap() {
        let desc = t["descriptor"].as_array().unwrap();
        assert!(desc.iter().all(|x| x.as_f64().is_some_and(f64::is_finite)));
    }
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 4, "{v}");
    // The first sample beyond the limit is named, as written in the file.
    let first_over = |x: &[f32]| {
        let v = x.iter().find(|s| s.abs() > 64.0).unwrap();
        format!("{v:e}")
    };
    for (file, value) in [
        ("huge_1e36.wav", first_over(&sine(22_050, 1e36, 1))),
        ("max_44100.wav", "3e38".to_string()),
        ("max_48000.wav", "3e38".to_string()),
        ("loud_300.wav", first_over(&sine(22_050, 300.0, 1))),
    ] {
        let f = failed
            .iter()
            .find(|f| f["file"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} not in failed: {v}"));
        let e = f["error"].as_str().unwrap();
        assert!(
            e.contains(file) && e.contains("beyond the supported magnitude"),
            "{e}"
        );
        assert!(e.contains(&value), "{value}: {e}");
    }

    // The feature API (what the page's worker calls) refuses the same PCM by index instead of
    // analysing it: no hang and no NaN.
    let huge = sine(22_050, 1e36, 3);
    let t = Instant::now();
    let e = analyze(&huge, &TrackConfig::default())
        .unwrap_err()
        .to_string();
    assert!(t.elapsed().as_secs() < 30, "{:?}", t.elapsed());
    assert!(
        e.contains("magnitude at most") && e.contains("at sample"),
        "{e}"
    );
}

/// Robustness II, case 4: a folder with two symlink loops (`a/self -> .`, `a/sub/up -> ..`)
/// and a FIFO named `.wav` is walked in seconds, each real file analysed once, the loops and
/// the FIFO named on stderr. Before, the first loop analysed one file 41 times, the second grew
/// without bound and the FIFO blocked the batch.
#[cfg(unix)]
#[test]
fn symlink_loops_and_fifos_in_a_folder_are_walked_once_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    std::fs::create_dir_all(a.join("sub")).unwrap();
    one_second_tone(&a.join("one.wav"));
    wav16(
        &a.join("sub/two.wav"),
        22_050,
        1,
        22_050,
        tone(660.0, 22_050, 0.5),
    );
    std::os::unix::fs::symlink(".", a.join("self")).unwrap();
    std::os::unix::fs::symlink("..", a.join("sub/up")).unwrap();
    let fifo = a.join("pipe.wav");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());

    let out = dir.path().join("out.json");
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "-o"])
        .arg(&out)
        .arg(&a)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a hang must fail the test, not the CI run.
    while child.try_wait().unwrap().is_none() {
        if t.elapsed().as_secs() > 120 {
            child.kill().unwrap();
            panic!("the walk did not finish in 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let run = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let mut files: Vec<String> = v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let f = t["file"].as_str().unwrap();
            Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(files, vec!["one.wav", "two.wav"], "{v}");
    assert!(stderr.contains("pipe.wav: not a regular file"), "{stderr}");
    assert!(stderr.contains("(a loop)"), "{stderr}");
}

/// Robustness II, case 6: `-o` naming an input was overwritten with JSON (exit 0), and an
/// unwritable `-o` was found only after the whole batch. Both are refused first, exit 2, with
/// the audio untouched.
#[test]
fn an_output_that_names_an_input_or_cannot_be_written_is_refused_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let x = one_second_tone(&dir.path().join("x.wav"));
    let before = std::fs::read(&x).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "-o"])
        .arg(&x)
        .arg(&x)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("names one of the input files"), "{stderr}");
    assert_eq!(std::fs::read(&x).unwrap(), before, "the audio is untouched");

    let bad = dir.path().join("no/such/folder/out.json");
    let run = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["features", "-o"])
        .arg(&bad)
        .arg(&x)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write -o"), "{stderr}");
}

/// Robustness II, case 9: a FLAC whose header is cut short was "not a recognised audio
/// container: end of stream"; it is named as a FLAC with a damaged header.
#[test]
fn a_damaged_flac_header_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.flac");
    std::fs::write(&path, b"fLaC\x00\x00\x00\x22abc").unwrap();
    let e = decode_file(&path).unwrap_err().to_string();
    assert!(e.contains("a FLAC file whose header is damaged"), "{e}");
    assert!(!e.contains("not a recognised"), "{e}");
}

/// Robustness II, case 9: `--scattering-j 0` failed every file and exited 1 after the batch;
/// a scattering J or Q out of range is a usage error, exit 2, named before any file is read.
#[test]
fn an_out_of_range_scattering_j_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let x = one_second_tone(&dir.path().join("x.wav"));
    for j in ["0", "25"] {
        let run = Command::new(env!("CARGO_BIN_EXE_ainrec"))
            .args(["features", "--scattering-j", j])
            .arg(&x)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "J = {j}: {stderr}");
        assert!(stderr.contains("scattering J"), "{stderr}");
        assert!(run.stdout.is_empty(), "nothing is written");
    }
}

/// Robustness II, case 7: a WAV written to a pipe states the largest data size its header
/// can hold (here 0xFFFFFFFF bytes, 27 hours at 22.05 kHz), and was refused by that stated
/// duration although it holds one second. A statement the file is too small to hold is not
/// trusted: the decoded length governs, and the file is analysed.
#[test]
fn a_streamed_wav_that_overstates_its_length_is_decoded_by_its_real_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = one_second_tone(&dir.path().join("piped.wav"));
    let mut bytes = std::fs::read(&path).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap();
    bytes[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let (audio, _) = analyse_ok(&path);
    assert_eq!(audio.samples.len(), 22_050);
}
