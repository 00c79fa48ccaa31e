//! The JavaScript boundary: the only module with `#[wasm_bindgen]`.
//!
//! Thin on purpose: it converts JS values, calls the pure Rust core and turns every
//! error into a JS `Error` carrying the message. No panic is meant to cross this
//! boundary; the panic hook installed at start-up reports any that does to the console.

use wasm_bindgen::prelude::*;

use crate::features::mfcc::{mfcc as compute_mfcc, MfccConfig};
use crate::features::scattering::ScatteringConfig;
use crate::features::track::{descriptor_names, FeatureSet, Span, TrackAnalysis, TrackConfig};
use crate::features::FrameMatrix;

fn js_err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Installs the panic hook (runs once when the module is instantiated).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The crate version and extractor version, e.g. `"0.1.0+fx1"`.
#[wasm_bindgen]
pub fn version() -> String {
    format!(
        "{}+fx{}",
        env!("CARGO_PKG_VERSION"),
        crate::EXTRACTOR_VERSION
    )
}

/// MFCC of mono PCM at `sample_rate` Hz with librosa's defaults.
///
/// Returns `{ sampleRate, hopLength, nFrames, nMfcc, data }` where `data` is a
/// `Float32Array` of `nFrames × nMfcc` values, frame after frame.
#[wasm_bindgen]
pub fn mfcc(pcm: &[f32], sample_rate: u32) -> Result<JsValue, JsError> {
    let mut cfg = MfccConfig::default();
    cfg.stft.sample_rate = sample_rate;
    let m = compute_mfcc(pcm, &cfg).map_err(js_err)?;
    let out = js_sys::Object::new();
    let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
    set("sampleRate", sample_rate.into()).map_err(|_| JsError::new("cannot build result"))?;
    set("hopLength", (cfg.stft.hop_length as u32).into())
        .map_err(|_| JsError::new("cannot build result"))?;
    set("nFrames", (m.n_frames as u32).into()).map_err(|_| JsError::new("cannot build result"))?;
    set("nMfcc", (m.n_coeffs as u32).into()).map_err(|_| JsError::new("cannot build result"))?;
    set("data", js_sys::Float32Array::from(m.data.as_slice()).into())
        .map_err(|_| JsError::new("cannot build result"))?;
    Ok(out.into())
}

/// Options of an [`Analyzer`], all optional: `{ features: "mfcc,scattering,hfc,hpcp",
/// span: 30 | "whole", frames: false, scatteringJ: 10, scatteringQ: 8 }`.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AnalyzerOptions {
    features: Option<String>,
    span: Option<SpanOption>,
    frames: Option<bool>,
    scattering_j: Option<u32>,
    scattering_q: Option<u32>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SpanOption {
    Seconds(f32),
    Text(String),
}

fn track_config(options: JsValue) -> Result<TrackConfig, JsError> {
    let o: AnalyzerOptions = if options.is_undefined() || options.is_null() {
        AnalyzerOptions::default()
    } else {
        // serde-wasm-bindgen reads only the fields it knows, so a typo would pass silently.
        const KNOWN: [&str; 5] = ["features", "span", "frames", "scatteringJ", "scatteringQ"];
        if let Some(obj) = options.dyn_ref::<js_sys::Object>() {
            for key in js_sys::Object::keys(obj).iter() {
                let key = key.as_string().unwrap_or_default();
                if !KNOWN.contains(&key.as_str()) {
                    return Err(JsError::new(&format!(
                        "invalid analyzer options: unknown option {key:?} (expected one of {})",
                        KNOWN.join(", ")
                    )));
                }
            }
        }
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("invalid analyzer options: {e}")))?
    };
    let mut cfg = TrackConfig::default();
    if let Some(f) = &o.features {
        cfg.features = FeatureSet::parse(f).map_err(js_err)?;
    }
    match o.span {
        None => {}
        Some(SpanOption::Seconds(s)) => cfg.span = Span::parse(&s.to_string()).map_err(js_err)?,
        Some(SpanOption::Text(t)) => cfg.span = Span::parse(&t).map_err(js_err)?,
    }
    cfg.keep_frames = o.frames.unwrap_or(false);
    let j = o.scattering_j.unwrap_or(cfg.scattering.j);
    let q = o.scattering_q.unwrap_or(cfg.scattering.q.0);
    cfg.scattering = ScatteringConfig::new(j, (q, 1));
    cfg.scattering.validate().map_err(js_err)?;
    Ok(cfg)
}

fn set(obj: &js_sys::Object, key: &str, value: JsValue) -> Result<(), JsError> {
    js_sys::Reflect::set(obj, &JsValue::from_str(key), &value)
        .map(|_| ())
        .map_err(|_| JsError::new("cannot build the result object"))
}

fn matrix_js(m: &FrameMatrix) -> Result<JsValue, JsError> {
    let o = js_sys::Object::new();
    set(&o, "nFrames", (m.n_frames as u32).into())?;
    set(&o, "nCoeffs", (m.n_coeffs as u32).into())?;
    set(
        &o,
        "data",
        js_sys::Float32Array::from(m.data.as_slice()).into(),
    )?;
    Ok(o.into())
}

/// The descriptor layout for `options` (see [`Analyzer`]): an array of names.
#[wasm_bindgen(js_name = descriptorNames)]
pub fn descriptor_names_js(options: JsValue) -> Result<Vec<String>, JsError> {
    Ok(descriptor_names(&track_config(options)?))
}

/// The cache key of `options`: extractor and descriptor versions plus every parameter
/// that changes the output (the library keys stored features by content hash + this).
#[wasm_bindgen(js_name = analysisKey)]
pub fn analysis_key(options: JsValue) -> Result<String, JsError> {
    Ok(track_config(options)?.cache_key())
}

/// One track's analysis, done in small steps so the worker stays responsive and a cancel
/// (simply: stop calling `step` and `free()` it) takes effect at once.
///
/// ```js
/// // pcm: a mono Float32Array at 22050 Hz
/// const a = new Analyzer(pcm, 22050, { span: 30 });
/// while (!a.finished()) { a.step(50); postProgress(a.progress()); await yieldToEvents(); }
/// const { descriptor, names } = a.finish();
/// ```
#[wasm_bindgen]
pub struct Analyzer {
    span_samples: Vec<f32>,
    analysis: Option<TrackAnalysis>,
}

#[wasm_bindgen]
impl Analyzer {
    /// Plans the analysis of `pcm` (mono, `sample_rate` must be 22050) and copies only the
    /// analysed span into wasm memory, checking it for NaN/Inf.
    #[wasm_bindgen(constructor)]
    pub fn new(
        pcm: &js_sys::Float32Array,
        sample_rate: u32,
        options: JsValue,
    ) -> Result<Analyzer, JsError> {
        let mut cfg = track_config(options)?;
        cfg.mfcc.stft.sample_rate = sample_rate;
        let mut analysis = TrackAnalysis::new(cfg, pcm.length() as usize).map_err(js_err)?;
        let span = analysis.span();
        let span_samples = pcm.subarray(span.start as u32, span.end as u32).to_vec();
        analysis.check_span(&span_samples).map_err(js_err)?;
        Ok(Analyzer {
            span_samples,
            analysis: Some(analysis),
        })
    }

    fn analysis(&self) -> Result<&TrackAnalysis, JsError> {
        self.analysis
            .as_ref()
            .ok_or_else(|| JsError::new("this analysis is already finished"))
    }

    /// Works for about `budget_ms` milliseconds (at least one unit: ≤ 256 STFT frames or
    /// one scattering block) and returns the fraction done, in `[0, 1]`.
    pub fn step(&mut self, budget_ms: f64) -> Result<f64, JsError> {
        let start = js_sys::Date::now();
        let a = self
            .analysis
            .as_mut()
            .ok_or_else(|| JsError::new("this analysis is already finished"))?;
        loop {
            let p = a.step_span(&self.span_samples).map_err(js_err)?;
            if p.finished() || js_sys::Date::now() - start >= budget_ms {
                return Ok(p.fraction());
            }
        }
    }

    /// Fraction done, in `[0, 1]`.
    pub fn progress(&self) -> Result<f64, JsError> {
        Ok(self.analysis()?.progress().fraction())
    }

    /// True when every step is done and `finish()` may be called.
    pub fn finished(&self) -> Result<bool, JsError> {
        Ok(self.analysis()?.progress().finished())
    }

    /// First sample and length of the analysed span: `[start, length]`.
    pub fn span(&self) -> Result<Vec<u32>, JsError> {
        let s = self.analysis()?.span();
        Ok(vec![s.start as u32, s.len() as u32])
    }

    /// The result: `{ descriptor: Float32Array, names: string[], key, spanStart, spanLength,
    /// nFrames, hopLength, frames? }`; `frames` (when asked for) holds `mfcc`, `mfccDelta`,
    /// `mfccDelta2`, `hpcp`, `scattering` as `{ nFrames, nCoeffs, data }`, `hfc` as a
    /// `Float32Array`, and `scatteringHop`. Frees the span's samples.
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        let a = self
            .analysis
            .take()
            .ok_or_else(|| JsError::new("this analysis is already finished"))?;
        self.span_samples = Vec::new();
        let cfg = *a.config();
        let hop = a.scattering_hop();
        let out = a.finish().map_err(js_err)?;
        let o = js_sys::Object::new();
        set(
            &o,
            "descriptor",
            js_sys::Float32Array::from(out.descriptor.as_slice()).into(),
        )?;
        let names = js_sys::Array::new();
        for n in descriptor_names(&cfg) {
            names.push(&JsValue::from_str(&n));
        }
        set(&o, "names", names.into())?;
        set(&o, "key", JsValue::from_str(&cfg.cache_key()))?;
        set(&o, "spanStart", (out.span_start as u32).into())?;
        set(&o, "spanLength", (out.span_len as u32).into())?;
        set(&o, "nFrames", (out.n_frames as u32).into())?;
        set(&o, "hopLength", (cfg.mfcc.stft.hop_length as u32).into())?;
        if let Some(fr) = &out.frames {
            let f = js_sys::Object::new();
            for (key, m) in [
                ("mfcc", &fr.mfcc),
                ("mfccDelta", &fr.mfcc_delta),
                ("mfccDelta2", &fr.mfcc_delta2),
                ("hpcp", &fr.hpcp),
                ("scattering", &fr.scattering),
            ] {
                if let Some(m) = m {
                    set(&f, key, matrix_js(m)?)?;
                }
            }
            if let Some(h) = &fr.hfc {
                set(&f, "hfc", js_sys::Float32Array::from(h.as_slice()).into())?;
            }
            if hop > 0 {
                set(&f, "scatteringHop", (hop as u32).into())?;
            }
            set(&o, "frames", f.into())?;
        }
        Ok(o.into())
    }
}

/// Tags of a whole audio file (`bytes`: its contents; `extension` without the dot, a hint
/// only): `{ title?, artist?, album?, genre?, durationS?, cover?: { mime, data: Uint8Array } }`.
/// Throws for a file no demuxer recognises (the page then decodes it anyway and lists it as
/// bad only if decoding fails too).
#[cfg(feature = "tags")]
#[wasm_bindgen(js_name = readTags)]
pub fn read_tags(bytes: Vec<u8>, extension: Option<String>) -> Result<JsValue, JsError> {
    let t = crate::audio::tags::read_tags(bytes, extension.as_deref()).map_err(js_err)?;
    let o = js_sys::Object::new();
    for (key, value) in [
        ("title", &t.title),
        ("artist", &t.artist),
        ("album", &t.album),
        ("genre", &t.genre),
    ] {
        if let Some(v) = value {
            set(&o, key, JsValue::from_str(v))?;
        }
    }
    if let Some(d) = t.duration_s {
        set(&o, "durationS", d.into())?;
    }
    if let Some((mime, data)) = &t.cover {
        let c = js_sys::Object::new();
        set(&c, "mime", JsValue::from_str(mime))?;
        set(&c, "data", js_sys::Uint8Array::from(data.as_slice()).into())?;
        set(&o, "cover", c.into())?;
    }
    Ok(o.into())
}
