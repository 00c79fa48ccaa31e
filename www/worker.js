// The worker owns the wasm module: every computation on the visitor's audio runs here,
// off the main thread.
//
// Messages in:  {id, type: "analyze", pcm: Float32Array, sampleRate, options}
//               {id, type: "inspect", bytes: ArrayBuffer, extension} -> {hash, tags}: the
//                 SHA-256 of the file (the library's key) and its tags (readTags in wasm)
//               {id, type: "key", options} -> the analysis key of `options`
//               {id, type: "tag", pcm: Float32Array (16 kHz)} -> {descriptor, names, patches}:
//                 musicnn's mean tags and embedding (Tagger in wasm), in steps like "analyze"
//               {type: "cancel", target: id}
//   The recommender (the browser model, models/browser.safetensors served as
//   model/browser.safetensors):
//               {id, type: "model"} -> {analysisKey, descriptorLength, info, usesPortrait}:
//                 loads the model
//               {id, type: "setLibrary", descriptors: Float32Array, artists: string[]} -> number of rows
//               {id, type: "recommend", history, exclude, k, diversity}
//                 -> [{item, score, prior, attention, model_rank}]
//               {id, type: "rankHeard", history, rows, k} -> {list: [{item, score}]}: the heard
//                 tracks, each scored against the rest of the history (the radio's last resort)
//               {id, type: "fineTune", history, options} -> runs fineTuneStart, then
//                 fineTuneRun(RUN_SLICE_MS) in a loop (progress messages carry `steps`), then
//                 fineTuneFinish -> {outcome, weights: Uint8Array|null (when kept)}; a "cancel"
//                 of its id is Stop (fineTuneCancel, the weights it started from stay)
//               {id, type: "weights"} -> Uint8Array; {id, type: "loadWeights", bytes};
//               {id, type: "reset"}
// Messages out: {type: "ready", version, audioExtensions, analysisRate} once; {type: "progress", id, fraction} while an
//               analysis runs; then {id, ok: true, result} or {id, ok: false, error, cancelled}.
//               {type: "fatal", error, runtime: true, id}: a wasm call trapped (a Rust panic or
//               another WebAssembly.RuntimeError). The instance is then unusable (its stack and
//               heap may be half-updated), so this worker answers every later request the same
//               way; the page (js/worker-rpc.js) terminates it and starts a fresh one.
//
// An analysis runs in steps of ~STEP_MS; between steps the worker yields to its event loop,
// so a "cancel" message is handled within one step (the Analyzer is freed at once).
import init, {
  Analyzer, MusicnnModel, Recommender, Tagger, analysisKey, analysisRate, audioExtensions, debugPanic,
  readTags, version,
} from './pkg/ainrec.js';

const STEP_MS = 40;
const RUN_SLICE_MS = 100;
const MODEL_URL = 'model/browser.safetensors';
// musicnn's MSD weights (f16, ISC licence in model/musicnn_msd.LICENSE), fetched on first use.
const TAGGER_URL = 'model/musicnn_msd.safetensors';

const ready = init().then(
  () => self.postMessage({
    type: 'ready', version: version(), audioExtensions: audioExtensions(), analysisRate: analysisRate(),
  }),
  (err) => self.postMessage({ type: 'fatal', error: `could not load the analyser: ${err}` }),
);

const cancelled = new Set();

// Test-only (`?debugPanicAt=N` on the page, passed on in this worker's URL): the N-th analysis
// panics inside wasm, as a bug would.
const DEBUG_PANIC_AT = Number(new URL(self.location.href).searchParams.get('debugPanicAt')) || 0;
let analyses = 0;

// Set once a wasm call trapped: nothing may run in this instance any more.
let poisoned = null;
// The panic hook (console_error_panic_hook) writes the panic's message with console.error
// just before the trap; keep its first lines to say what went wrong, not only "unreachable".
let lastPanic = null;
const consoleError = console.error.bind(console);
console.error = (...args) => {
  const text = String(args[0] ?? '');
  if (text.startsWith('panicked at')) lastPanic = text.split('\n\nStack')[0].replace(/\s+/g, ' ').trim();
  consoleError(...args);
};

// Yields to the event loop (a message posted to ourselves runs after pending messages).
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()();
function yieldToEvents() {
  return new Promise((resolve) => { waiting.push(resolve); channel.port2.postMessage(null); });
}

function errorMessage(err) {
  return err && err.message ? err.message : String(err);
}

async function analyze(id, data) {
  analyses += 1;
  if (analyses === DEBUG_PANIC_AT) debugPanic();
  const a = new Analyzer(data.pcm, data.sampleRate, data.options);
  // The Analyzer copied the span it analyses: let the whole track's PCM go now (2 hours at
  // 22050 Hz are 635 MB), not when the analysis ends.
  data.pcm = null;
  try {
    if (!await runSteps(id, a)) return null;
    const r = a.finish();
    const result = {
      descriptor: r.descriptor, names: r.names, key: r.key, spanStart: r.spanStart,
      spanLength: r.spanLength, nFrames: r.nFrames, hopLength: r.hopLength,
    };
    const transfer = [r.descriptor.buffer];
    if (r.frames && r.frames.mfcc) {
      result.mfcc = r.frames.mfcc;
      transfer.push(r.frames.mfcc.data.buffer);
    }
    return { result, transfer };
  } finally {
    // After a trap, free() may throw too: the trap is what gets reported.
    try { a.free(); } catch { /* the instance is poisoned */ }
  }
}

/** Steps a wasm job (Analyzer or Tagger) ~STEP_MS at a time with progress; false if cancelled. */
async function runSteps(id, job) {
  while (!job.finished()) {
    const fraction = job.step(STEP_MS);
    self.postMessage({ type: 'progress', id, fraction });
    await yieldToEvents();
    if (cancelled.has(id)) {
      cancelled.delete(id);
      return false;
    }
  }
  return true;
}

/** The bytes of a model file served beside the page; `what` names it in the error. */
async function fetchModelFile(url, what) {
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  } catch (err) {
    throw new Error(`${what} ${url} could not be fetched (${errorMessage(err)}); run make page-assets`);
  }
}

let musicnn = null;

async function loadTagger() {
  if (!musicnn) {
    musicnn = new MusicnnModel(await fetchModelFile(TAGGER_URL, "the tagger's weights"));
  }
  return musicnn;
}

async function tag(id, data) {
  const t = new Tagger(await loadTagger(), data.pcm, 16000);
  data.pcm = null;
  try {
    if (!await runSteps(id, t)) return null;
    const r = t.finish();
    return { result: { descriptor: r.descriptor, names: r.names, patches: r.patches }, transfer: [r.descriptor.buffer] };
  } finally {
    try { t.free(); } catch { /* the instance is poisoned */ }
  }
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Tags are read from the whole file up to this size (MP4 may keep them at the end); of a
// bigger file only its start goes into wasm memory (which never shrinks), where ID3v2,
// Vorbis comments and FLAC headers live; its duration is then only trusted from headers.
const TAG_WHOLE_BYTES = 32 * 2 ** 20;
const TAG_PREFIX_BYTES = 4 * 2 ** 20;

async function inspect({ bytes, extension }) {
  const hash = hex(await crypto.subtle.digest('SHA-256', bytes));
  const partial = bytes.byteLength > TAG_WHOLE_BYTES;
  let tags = {};
  let tagError = null;
  try {
    tags = readTags(new Uint8Array(bytes, 0, partial ? TAG_PREFIX_BYTES : bytes.byteLength), extension || undefined);
    // An Ogg reader takes the duration from the last page it sees: wrong for a prefix.
    if (partial && /^(ogg|oga|opus)$/i.test(extension || '')) delete tags.durationS;
  } catch (err) {
    // No tags is normal (a bare WAV, an unknown container); decoding decides if it is audio.
    tagError = errorMessage(err);
  }
  return { result: { hash, tags, tagError, partial }, transfer: tags.cover ? [tags.cover.data.buffer] : [] };
}

// ---------------------------------------------------------------- the recommender
let recommender = null;
let tuning = false;

async function loadModel() {
  if (!recommender) {
    const bytes = await fetchModelFile(MODEL_URL, 'the model file');
    try {
      recommender = new Recommender(bytes);
    } catch (err) {
      throw new Error(`the model file ${MODEL_URL} could not be loaded: ${errorMessage(err)}`);
    }
  }
  return {
    analysisKey: recommender.analysisKey(),
    descriptorLength: recommender.descriptorLength(),
    info: recommender.info(),
    usesPortrait: recommender.usesPortrait(),
  };
}

function model() {
  if (!recommender) throw new Error('the model is not loaded');
  return recommender;
}

function notWhileTuning() {
  if (tuning) throw new Error('a fine-tuning run is in progress');
}

async function fineTune(id, { history, options }) {
  const r = model();
  notWhileTuning();
  tuning = true;
  const started = performance.now();
  try {
    const before = r.fineTuneStart(history, options || {});
    self.postMessage({ type: 'progress', id, before, steps: [] });
    for (;;) {
      await yieldToEvents();
      if (cancelled.has(id)) {
        cancelled.delete(id);
        r.fineTuneCancel();
        return null;
      }
      const run = r.fineTuneRun(RUN_SLICE_MS);
      self.postMessage({ type: 'progress', id, steps: run.steps });
      if (run.done) break;
    }
    const outcome = r.fineTuneFinish();
    const weights = outcome.kept ? r.weights() : null;
    const result = { outcome, weights, ms: performance.now() - started };
    return { result, transfer: weights ? [weights.buffer] : [] };
  } catch (err) {
    try { r.fineTuneCancel(); } catch { /* no run to cancel */ }
    throw err;
  } finally {
    tuning = false;
  }
}

function recommend({ history, exclude, k, diversity }) {
  notWhileTuning();
  const started = performance.now();
  const list = model().recommend(history, exclude || [], { k: k || 10, diversity: diversity || 0 });
  return { result: { list, ms: performance.now() - started }, transfer: [] };
}

// The heard tracks, best first, when the radio has nothing unheard left: each heard track that
// was not mostly skipped is scored by the model for the history without it (it is then the only
// candidate: every other row is excluded), so a track is never scored by its own plays.
function rankHeard({ history, rows, k }) {
  notWhileTuning();
  const r = model();
  const started = performance.now();
  const positive = (s) => Math.log1p(s.plays || 0) + (s.liked ? 1 : 0) - Math.log1p(s.skips || 0) > 0;
  const scored = [];
  for (const [i, s] of history.entries()) {
    if (!positive(s)) continue;
    const rest = history.filter((_, j) => j !== i);
    if (!rest.length) continue;
    const exclude = [];
    for (let row = 0; row < rows; row++) if (row !== s.item) exclude.push(row);
    const [best] = r.recommend(rest, exclude, { k: 1 });
    if (best) scored.push({ item: s.item, score: best.score });
  }
  scored.sort((a, b) => b.score - a.score);
  return { result: { list: scored.slice(0, k || 10), ms: performance.now() - started }, transfer: [] };
}

// One handler per request type, each answering {result, transfer}, or null when the request
// was cancelled. A table rather than a chain of ifs: the list of requests is this, in one place.
const handlers = {
  analyze: (id, data) => analyze(id, data),
  tag: (id, data) => tag(id, data),
  inspect: (_, data) => inspect(data),
  key: (_, { options }) => ({ result: analysisKey(options), transfer: [] }),
  model: async () => ({ result: await loadModel(), transfer: [] }),
  setLibrary: (_, { descriptors, artists }) => {
    notWhileTuning();
    return { result: model().setLibrary(descriptors, artists), transfer: [] };
  },
  recommend: (_, data) => recommend(data),
  rankHeard: (_, data) => rankHeard(data),
  fineTune: (id, data) => fineTune(id, data),
  weights: () => {
    const w = model().weights();
    return { result: w, transfer: [w.buffer] };
  },
  loadWeights: (_, { bytes }) => {
    notWhileTuning();
    model().loadWeights(new Uint8Array(bytes));
    return { result: true, transfer: [] };
  },
  reset: () => {
    notWhileTuning();
    model().reset();
    return { result: true, transfer: [] };
  },
};

self.onmessage = async (event) => {
  const { id, type } = event.data;
  // Not a request (no answer), and taken at once, not after `ready`: it must reach a request
  // that is running.
  if (type === 'cancel') {
    cancelled.add(event.data.target);
    return;
  }
  await ready;
  if (poisoned) {
    self.postMessage({ type: 'fatal', runtime: true, id, error: poisoned });
    return;
  }
  try {
    if (!Object.hasOwn(handlers, type)) throw new Error(`unknown request type: ${type}`);
    const out = await handlers[type](id, event.data);
    if (out === null) {
      self.postMessage({ id, ok: false, cancelled: true, error: 'cancelled' });
    } else {
      self.postMessage({ id, ok: true, result: out.result }, out.transfer);
    }
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      // A panic (its message went to the console through the panic hook) or another trap.
      poisoned = lastPanic || `${err.name}: ${errorMessage(err)}`;
      self.postMessage({ type: 'fatal', runtime: true, id, error: poisoned });
      return;
    }
    self.postMessage({ id, ok: false, error: errorMessage(err) });
  }
};
