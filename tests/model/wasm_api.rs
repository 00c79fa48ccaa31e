//! The worker's view of the wasm API: an `Analyzer` fed a `Float32Array`, stepped with a
//! time budget, cancelled by dropping it, and its errors as JS `Error`s with the message.
//! Browser only (it needs JS values).
#![cfg(target_arch = "wasm32")]

use crate::common;

use ainrec::wasm::{analysis_key, descriptor_names_js, Analyzer, MusicnnModel, Tagger};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn message(e: wasm_bindgen::JsError) -> String {
    js_sys::Error::from(JsValue::from(e)).message().into()
}

fn long_track() -> js_sys::Float32Array {
    // 12 s: the vibeace clip four times over (a real signal, not a tone).
    let clip = common::pcm("vibeace");
    let mut x = Vec::with_capacity(clip.len() * 4);
    for _ in 0..4 {
        x.extend_from_slice(&clip);
    }
    js_sys::Float32Array::from(x.as_slice())
}

#[wasm_bindgen_test]
fn steps_are_small_and_progress_rises_to_one() {
    let pcm = long_track();
    let mut a = Analyzer::new(&pcm, 22050, options(r#"{"span": "whole"}"#)).unwrap();
    let mut last = a.progress().unwrap();
    assert_eq!(last, 0.0);
    let mut steps = 0;
    while !a.finished().unwrap() {
        // A zero budget does exactly one unit of work.
        let p = a.step(0.0).unwrap();
        assert!(p > last && p <= 1.0, "{last} → {p}");
        last = p;
        steps += 1;
    }
    assert!(steps >= 4, "{steps} steps");
    let out = a.finish().unwrap();
    let get = |k: &str| js_sys::Reflect::get(&out, &JsValue::from_str(k)).unwrap();
    let descriptor = js_sys::Float32Array::from(get("descriptor")).to_vec();
    let names = js_sys::Array::from(&get("names"));
    assert_eq!(descriptor.len() as u32, names.length());
    assert!(descriptor.iter().all(|v| v.is_finite()));
    assert_eq!(get("spanLength").as_f64(), Some(f64::from(pcm.length())));
    // Finished analyses say so instead of panicking.
    assert!(message(a.finish().unwrap_err()).contains("already finished"));
}

#[wasm_bindgen_test]
fn the_excerpt_is_the_middle_and_frames_come_back_on_request() {
    let pcm = long_track();
    let mut a = Analyzer::new(
        &pcm,
        22050,
        options(r#"{"span": 4, "frames": true, "features": "mfcc,hpcp"}"#),
    )
    .unwrap();
    let span = a.span().unwrap();
    assert_eq!(span[1], 4 * 22050);
    assert_eq!(span[0], (pcm.length() - 4 * 22050) / 2);
    while !a.finished().unwrap() {
        a.step(1e9).unwrap();
    }
    let out = a.finish().unwrap();
    let frames = js_sys::Reflect::get(&out, &"frames".into()).unwrap();
    let mfcc = js_sys::Reflect::get(&frames, &"mfcc".into()).unwrap();
    let n = js_sys::Reflect::get(&mfcc, &"nFrames".into()).unwrap();
    assert_eq!(n.as_f64(), Some(f64::from(1 + 4 * 22050 / 512)));
    assert!(js_sys::Reflect::get(&frames, &"hpcp".into())
        .unwrap()
        .is_object());
    assert!(js_sys::Reflect::get(&frames, &"scattering".into())
        .unwrap()
        .is_undefined());
}

#[wasm_bindgen_test]
fn bad_input_and_options_are_js_errors_with_the_reason() {
    let pcm = long_track();
    let e = Analyzer::new(&pcm, 44100, JsValue::UNDEFINED)
        .err()
        .unwrap();
    assert!(message(e).contains("22050"));
    let e = Analyzer::new(&pcm, 22050, options(r#"{"spn": 3}"#))
        .err()
        .unwrap();
    assert!(message(e).contains("spn"));
    let e = Analyzer::new(&pcm, 22050, options(r#"{"features": "chroma"}"#))
        .err()
        .unwrap();
    assert!(message(e).contains("chroma"));
    let empty = js_sys::Float32Array::new_with_length(0);
    let e = Analyzer::new(&empty, 22050, JsValue::UNDEFINED)
        .err()
        .unwrap();
    assert!(message(e).contains("no samples"));
    let mut x = common::pcm("vibeace");
    x[30_000] = f32::NAN;
    let bad = js_sys::Float32Array::from(x.as_slice());
    let e = Analyzer::new(&bad, 22050, options(r#"{"span": "whole"}"#))
        .err()
        .unwrap();
    assert!(message(e).contains("30000"));
}

#[wasm_bindgen_test]
fn names_and_keys_follow_the_options() {
    let names = descriptor_names_js(options(r#"{"features": "hfc"}"#)).unwrap();
    assert_eq!(names, vec!["hfc_log_mean", "hfc_log_std"]);
    let a = analysis_key(options(r#"{"features": "mfcc"}"#)).unwrap();
    let b = analysis_key(options(r#"{"features": "mfcc", "span": "whole"}"#)).unwrap();
    assert_ne!(a, b);
}

/// The worker's tagger: musicnn over 16 kHz PCM in steps (progress rising to 1), its result the
/// core's mean over patches for the same signal and weights (the shipped f16 file), with the
/// names of `ainrec features --features musicnn`; a wrong rate and damaged weights are errors.
#[wasm_bindgen_test]
fn the_tagger_steps_through_patches_and_gives_the_core_descriptor() {
    const SHIPPED: &[u8] = include_bytes!("../../models/musicnn_msd.safetensors");
    let bytes = include_bytes!("../fixtures/pcm16k/trumpet.f32");
    let x: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let model = MusicnnModel::new(SHIPPED).unwrap();
    assert_eq!(model.tag_names().len(), 50);
    let js = js_sys::Float32Array::from(x.as_slice());
    let mut t = Tagger::new(&model, &js, 16_000).unwrap();
    let mut last = 0.0;
    let mut steps = 0;
    while !t.finished() {
        let p = t.step(0.0).unwrap(); // one patch per step
        assert!(p > last && p <= 1.0, "{last} → {p}");
        last = p;
        steps += 1;
    }
    let n = ainrec::features::musicnn_input::patch_count(x.len());
    assert_eq!(steps, n);
    let out = t.finish().unwrap();
    let get = |k: &str| js_sys::Reflect::get(&out, &JsValue::from_str(k)).unwrap();
    let got = js_sys::Float32Array::from(get("descriptor")).to_vec();
    let core = ainrec::model::musicnn::Musicnn::from_safetensors(SHIPPED)
        .unwrap()
        .tag_all(&x)
        .unwrap()
        .descriptor();
    assert_eq!(got.len(), 250);
    for (a, b) in got.iter().zip(&core) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    let names = js_sys::Array::from(&get("names"));
    assert_eq!(
        names.get(0).as_string().unwrap(),
        ainrec::features::musicnn_input::descriptor_names()[0]
    );
    assert_eq!(get("patches").as_f64().unwrap() as usize, n);
    let e = message(Tagger::new(&model, &js, 22_050).err().unwrap());
    assert!(e.contains("16000 Hz") && e.contains("22050"), "{e}");
    let e = message(MusicnnModel::new(&SHIPPED[..1000]).err().unwrap());
    assert!(e.contains("musicnn weights"), "{e}");
}
