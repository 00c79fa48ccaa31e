//! The JavaScript boundary: the only module with `#[wasm_bindgen]`.
//!
//! Thin on purpose: it converts JS values, calls the pure Rust core and turns every
//! error into a JS `Error` carrying the message. No panic is meant to cross this
//! boundary; the panic hook installed at start-up reports any that does to the console.

use wasm_bindgen::prelude::*;

use crate::features::mfcc::{mfcc as compute_mfcc, MfccConfig};
use crate::features::track::{descriptor_names, AnalyzerOptions, TrackAnalysis, TrackConfig};
use crate::features::FrameMatrix;

fn js_err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Installs the panic hook (runs once when the module is instantiated).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Test-only: panics inside wasm, as a bug would. The page calls it only when its URL asks
/// (`?debugPanicAt=N`: the N-th analysis of the first worker), so the e2e test can check that
/// a panic costs one file, not the tab (the worker is replaced and the batch goes on).
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic() {
    panic!("debugPanic: a deliberate panic for the robustness test");
}

/// The file extensions the page takes as audio ([`crate::audio::AUDIO_EXTENSIONS`]: one list
/// for the CLI's folder walk and the page's drop zone), lower case, without the dot.
#[wasm_bindgen(js_name = audioExtensions)]
pub fn audio_extensions() -> Vec<String> {
    crate::audio::AUDIO_EXTENSIONS
        .iter()
        .map(|e| (*e).to_owned())
        .collect()
}

/// The rate every feature is computed at ([`crate::audio::ANALYSIS_RATE`]): the page has Web
/// Audio render each file to it.
#[wasm_bindgen(js_name = analysisRate)]
pub fn analysis_rate() -> u32 {
    crate::audio::ANALYSIS_RATE
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

/// The `Analyzer` options (`{ features, span, frames, scatteringJ, scatteringQ }`, all
/// optional) → a track configuration, by the same struct and checks as the native side
/// (`features::track::AnalyzerOptions`).
fn track_config(options: JsValue) -> Result<TrackConfig, JsError> {
    let o: AnalyzerOptions = if options.is_undefined() || options.is_null() {
        AnalyzerOptions::default()
    } else {
        // serde-wasm-bindgen reads only the fields it knows, so a typo would pass silently.
        if let Some(obj) = options.dyn_ref::<js_sys::Object>() {
            for key in js_sys::Object::keys(obj).iter() {
                let key = key.as_string().unwrap_or_default();
                if !AnalyzerOptions::KNOWN.contains(&key.as_str()) {
                    return Err(JsError::new(&format!(
                        "invalid analyzer options: unknown option {key:?} (expected one of {})",
                        AnalyzerOptions::KNOWN.join(", ")
                    )));
                }
            }
        }
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("invalid analyzer options: {e}")))?
    };
    o.to_config().map_err(js_err)
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

// ---------------------------------------------------------------------- the browser model

/// One history step from JS: `{ item, plays?, liked?, skips? }` (`item`: the song's row in the
/// library passed to `setLibrary`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StepJs {
    item: usize,
    #[serde(default)]
    plays: f32,
    #[serde(default)]
    liked: bool,
    #[serde(default)]
    skips: f32,
}

fn history_from_js(history: JsValue) -> Result<Vec<crate::model::browser::Step>, JsError> {
    let steps: Vec<StepJs> = serde_wasm_bindgen::from_value(history)
        .map_err(|e| JsError::new(&format!("invalid history: {e}")))?;
    steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if !(s.plays.is_finite() && s.plays >= 0.0 && s.skips.is_finite() && s.skips >= 0.0) {
                return Err(JsError::new(&format!(
                    "invalid history: step {i} needs finite, non-negative plays and skips"
                )));
            }
            Ok(crate::model::browser::Step {
                item: s.item,
                plays: s.plays,
                liked: s.liked,
                skips: s.skips,
            })
        })
        .collect()
}

fn options_from_js<T: serde::de::DeserializeOwned + Default>(
    what: &str,
    options: JsValue,
) -> Result<T, JsError> {
    if options.is_undefined() || options.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(options)
        .map_err(|e| JsError::new(&format!("invalid {what} options: {e}")))
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("cannot build the result: {e}")))
}

/// The page's recommender: the browser model, the visitor's library and at most one
/// fine-tuning run (see `crate::model::browser`).
///
/// ```js
/// const r = new Recommender(modelBytes);            // Uint8Array of browser.safetensors
/// r.setLibrary(descriptors);                        // Float32Array, one descriptor per song
/// r.recommend([{ item: 3, plays: 2, liked: true }], [], { k: 10 });
/// r.fineTuneStart(history, { budget_ms: 2500 });    // → check before (or null)
/// while (!(await step()).done) …                    // r.fineTuneRun(100) → steps with losses
/// r.fineTuneFinish();                               // → { before, after, kept, rolled_back }
/// ```
#[wasm_bindgen]
pub struct Recommender {
    session: crate::model::browser::Session,
    /// `Date.now()` when the running fine-tuning started (its time budget).
    tune_started: Option<f64>,
}

#[wasm_bindgen]
impl Recommender {
    /// Loads a browser model file; a corrupt or foreign file throws with the reason.
    #[wasm_bindgen(constructor)]
    pub fn new(model: &[u8]) -> Result<Recommender, JsError> {
        Ok(Recommender {
            session: crate::model::browser::Session::new(model).map_err(js_err)?,
            tune_started: None,
        })
    }

    /// The extractor key descriptors must come from (compare with `analysisKey()`).
    #[wasm_bindgen(js_name = analysisKey)]
    pub fn model_analysis_key(&self) -> String {
        self.session.model().config().analysis_key.clone()
    }

    /// Values per descriptor.
    #[wasm_bindgen(js_name = descriptorLength)]
    pub fn descriptor_length(&self) -> usize {
        self.session.model().config().descriptor_names.len()
    }

    /// How the model was made (and fine-tuned), as an object.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(self.session.model().info())
    }

    /// Whether the model reads the visitor's portrait (age band, language, genres); when false
    /// the page marks those fields as unused.
    #[wasm_bindgen(js_name = usesPortrait)]
    pub fn uses_portrait(&self) -> bool {
        self.session.model().uses_portrait()
    }

    /// Replaces the library (`descriptors`: one descriptor after another; `artists`: each
    /// row's artist, or omitted) and returns the number of songs. A bad descriptor throws and
    /// the previous library stays.
    #[wasm_bindgen(js_name = setLibrary)]
    pub fn set_library(
        &mut self,
        descriptors: &[f32],
        artists: Option<Vec<String>>,
    ) -> Result<usize, JsError> {
        self.tune_started = None;
        self.session
            .set_library(descriptors, &artists.unwrap_or_default())
            .map_err(js_err)
    }

    /// The `k` best unheard songs: `[{ item, score, prior, attention: number[], model_rank }]`,
    /// never one of the history or of `exclude` (rows). Options: `{ k: 10, retrieve: 200,
    /// diversity: 0 }` — `diversity: N` allows at most N songs by one artist in a row (the
    /// same re-rank as `ainrec recommend --diversity N`; `model_rank` is the position before it).
    pub fn recommend(
        &self,
        history: JsValue,
        exclude: Vec<u32>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let history = history_from_js(history)?;
        let opts: crate::model::browser::RankOptions = options_from_js("recommend", options)?;
        let exclude = exclude.into_iter().map(|i| i as usize).collect();
        to_js(
            &self
                .session
                .recommend(&history, &exclude, &opts)
                .map_err(js_err)?,
        )
    }

    /// Starts fine-tuning on `history` with options `{ lr, batch, n_negatives, window,
    /// max_steps, budget_ms, holdout, seed }` (all optional); returns the check before it
    /// (mean reciprocal rank of the held-out last plays) or `null`.
    #[wasm_bindgen(js_name = fineTuneStart)]
    pub fn fine_tune_start(
        &mut self,
        history: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let history = history_from_js(history)?;
        let cfg: crate::model::browser::FineTuneConfig = options_from_js("fine-tuning", options)?;
        let before = self
            .session
            .fine_tune_start(&history, cfg)
            .map_err(js_err)?;
        self.tune_started = Some(js_sys::Date::now());
        to_js(&before)
    }

    /// Runs fine-tuning steps for about `slice_ms` (at least one), within the run's total time
    /// budget; returns `{ steps: [{ step, loss }], done }`. When `done`, call `fineTuneFinish`.
    #[wasm_bindgen(js_name = fineTuneRun)]
    pub fn fine_tune_run(&mut self, slice_ms: f64) -> Result<JsValue, JsError> {
        let started = self
            .tune_started
            .ok_or_else(|| JsError::new("no fine-tuning run has been started"))?;
        let budget = self
            .session
            .fine_tune_budget_ms()
            .ok_or_else(|| JsError::new("no fine-tuning run has been started"))?;
        let slice_start = js_sys::Date::now();
        let mut steps = Vec::new();
        let mut done = false;
        loop {
            match self.session.fine_tune_step().map_err(js_err)? {
                Some(r) => steps.push(r),
                None => {
                    done = true;
                    break;
                }
            }
            let now = js_sys::Date::now();
            if now - started >= budget {
                done = true;
                break;
            }
            if now - slice_start >= slice_ms {
                break;
            }
        }
        #[derive(serde::Serialize)]
        struct Run {
            steps: Vec<crate::model::browser::StepReport>,
            done: bool,
        }
        to_js(&Run { steps, done })
    }

    /// Ends the run: `{ steps, before, after, kept, rolled_back, held_out }`; the weights go back
    /// to where the run started when a step failed or the check got worse.
    #[wasm_bindgen(js_name = fineTuneFinish)]
    pub fn fine_tune_finish(&mut self) -> Result<JsValue, JsError> {
        self.tune_started = None;
        to_js(&self.session.fine_tune_finish().map_err(js_err)?)
    }

    /// Abandons the running fine-tuning (Stop) and returns to the weights it started from.
    #[wasm_bindgen(js_name = fineTuneCancel)]
    pub fn fine_tune_cancel(&mut self) -> Result<(), JsError> {
        self.tune_started = None;
        self.session.fine_tune_cancel().map_err(js_err)
    }

    /// The current weights as a browser model file (to persist or export).
    pub fn weights(&self) -> Result<Vec<u8>, JsError> {
        self.session.weights().map_err(js_err)
    }

    /// Loads saved weights; a corrupt or foreign file throws and the current weights stay.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        self.tune_started = None;
        self.session.load_weights(bytes).map_err(js_err)
    }

    /// Back to the shipped weights.
    pub fn reset(&mut self) -> Result<(), JsError> {
        self.tune_started = None;
        self.session.reset().map_err(js_err)
    }
}

/// The MSD musicnn tagger's network, loaded once per worker from the weights file the page
/// fetches (`models/musicnn_msd.safetensors`, f16; ISC licence beside it) and shared by every
/// [`Tagger`].
#[wasm_bindgen(js_name = MusicnnModel)]
pub struct MusicnnModel {
    inner: std::rc::Rc<crate::model::musicnn::Musicnn>,
}

#[wasm_bindgen(js_class = MusicnnModel)]
impl MusicnnModel {
    /// Reads the weights; a corrupt or foreign file is an `Error` naming what is wrong.
    #[wasm_bindgen(constructor)]
    pub fn new(weights: &[u8]) -> Result<MusicnnModel, JsError> {
        let inner = crate::model::musicnn::Musicnn::from_safetensors(weights).map_err(js_err)?;
        Ok(MusicnnModel {
            inner: std::rc::Rc::new(inner),
        })
    }

    /// The 50 tag names, in the order of the probabilities.
    #[wasm_bindgen(js_name = tagNames)]
    pub fn tag_names(&self) -> Vec<String> {
        self.inner.tag_names().to_vec()
    }
}

/// Tagging one signal with musicnn in steps (one 3 s patch per unit), so the worker can report
/// progress and drop it to cancel, as with [`Analyzer`]:
///
/// ```js
/// const t = new Tagger(model, pcm16k, 16000);
/// while (!t.finished()) { t.step(50); postProgress(t.progress()); await yieldToEvents(); }
/// const { descriptor, names, patches } = t.finish();
/// ```
#[wasm_bindgen]
pub struct Tagger {
    model: std::rc::Rc<crate::model::musicnn::Musicnn>,
    pcm: Vec<f32>,
    n_patches: usize,
    taggram: crate::model::musicnn::Taggram,
}

#[wasm_bindgen]
impl Tagger {
    /// Plans the tagging of mono `pcm` at `sample_rate` (musicnn's 16 kHz: the page renders the
    /// file a second time at that rate), checking it for NaN/Inf and for at least one 3 s patch.
    #[wasm_bindgen(constructor)]
    pub fn new(
        model: &MusicnnModel,
        pcm: &js_sys::Float32Array,
        sample_rate: u32,
    ) -> Result<Tagger, JsError> {
        use crate::features::musicnn_input::{self, SAMPLE_RATE};
        if sample_rate != SAMPLE_RATE {
            return Err(js_err(crate::Error::invalid(
                "musicnn sample rate",
                format!("{SAMPLE_RATE} Hz"),
                format!("{sample_rate} Hz"),
            )));
        }
        let pcm = pcm.to_vec();
        musicnn_input::check_signal(&pcm).map_err(js_err)?;
        let n_patches = musicnn_input::patch_count(pcm.len());
        let cfg = model.inner.config();
        Ok(Tagger {
            model: model.inner.clone(),
            pcm,
            n_patches,
            taggram: crate::model::musicnn::Taggram::empty(cfg.n_tags, cfg.backend_units),
        })
    }

    /// Tags patches for about `budget_ms` milliseconds (at least one) and returns the fraction
    /// done, in `[0, 1]`.
    pub fn step(&mut self, budget_ms: f64) -> Result<f64, JsError> {
        let start = js_sys::Date::now();
        while !self.finished() {
            let p = self.taggram.n_patches();
            let t = self.model.tag_patches(&self.pcm, &[p], 1).map_err(js_err)?;
            self.taggram.extend(t).map_err(js_err)?;
            if js_sys::Date::now() - start >= budget_ms {
                break;
            }
        }
        Ok(self.progress())
    }

    /// Fraction done, in `[0, 1]`.
    pub fn progress(&self) -> f64 {
        self.taggram.n_patches() as f64 / self.n_patches.max(1) as f64
    }

    /// True when every patch is tagged.
    pub fn finished(&self) -> bool {
        self.taggram.n_patches() >= self.n_patches
    }

    /// `{ descriptor: Float32Array, names: string[], patches }`: the mean over patches of the
    /// 50 tag probabilities (`tag.<name>`) and of the 200-d embedding — the values of
    /// `ainrec features --features musicnn` for the same 16 kHz signal.
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        if !self.finished() {
            return Err(JsError::new(
                "the tagging is not finished: call step() until finished()",
            ));
        }
        self.pcm = Vec::new();
        let o = js_sys::Object::new();
        set(
            &o,
            "descriptor",
            js_sys::Float32Array::from(self.taggram.descriptor().as_slice()).into(),
        )?;
        let names = js_sys::Array::new();
        for n in crate::features::musicnn_input::descriptor_names() {
            names.push(&JsValue::from_str(&n));
        }
        set(&o, "names", names.into())?;
        set(&o, "patches", (self.n_patches as u32).into())?;
        Ok(o.into())
    }
}
