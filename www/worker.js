// The worker owns the wasm module: every computation on the visitor's audio runs here,
// off the main thread.
//
// Messages in:  {id, type: "analyze", pcm: Float32Array, sampleRate, options}
//               {id, type: "inspect", bytes: ArrayBuffer, extension} -> {hash, tags}: the
//                 SHA-256 of the file (the library's key) and its tags (readTags in wasm)
//               {id, type: "key", options} -> the analysis key of `options`
//               {type: "cancel", target: id}
// Messages out: {type: "ready", version} once; {type: "progress", id, fraction} while an
//               analysis runs; then {id, ok: true, result} or {id, ok: false, error, cancelled}.
//
// An analysis runs in steps of ~STEP_MS; between steps the worker yields to its event loop,
// so a "cancel" message is handled within one step (the Analyzer is freed at once).
import init, {
  Analyzer, analysisKey, readTags, version,
} from './pkg/ainrec.js';

const STEP_MS = 40;

const ready = init().then(
  () => self.postMessage({ type: 'ready', version: version() }),
  (err) => self.postMessage({ type: 'fatal', error: `could not load the analyser: ${err}` }),
);

const cancelled = new Set();

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

async function analyze(id, { pcm, sampleRate, options }) {
  const a = new Analyzer(pcm, sampleRate, options);
  try {
    while (!a.finished()) {
      const fraction = a.step(STEP_MS);
      self.postMessage({ type: 'progress', id, fraction });
      await yieldToEvents();
      if (cancelled.has(id)) {
        cancelled.delete(id);
        return null;
      }
    }
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
    a.free();
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

self.onmessage = async (event) => {
  const { id, type } = event.data;
  if (type === 'cancel') {
    cancelled.add(event.data.target);
    return;
  }
  await ready;
  try {
    let out;
    if (type === 'analyze') out = await analyze(id, event.data);
    else if (type === 'inspect') out = await inspect(event.data);
    else if (type === 'key') out = { result: analysisKey(event.data.options), transfer: [] };
    else throw new Error(`unknown request type: ${type}`);
    if (out === null) {
      self.postMessage({ id, ok: false, cancelled: true, error: 'cancelled' });
    } else {
      self.postMessage({ id, ok: true, result: out.result }, out.transfer);
    }
  } catch (err) {
    self.postMessage({ id, ok: false, error: errorMessage(err) });
  }
};
