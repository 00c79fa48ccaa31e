// The page's side of its two workers (../worker.js): numbered requests answered by promises,
// progress, cancelling, and replacing a worker whose wasm trapped. The rest of the page sees
// requests, never Worker objects, so a replaced worker changes nothing for it.
//
// `compute` hashes files, reads their tags, gives the analysis key and holds the model
// (recommendations, fine-tuning); `analysis` analyses one track at a time. Stopping an analysis
// terminates the analysis worker, which stops its wasm wherever it is (no waiting for the
// current step to end, nor for a busy machine to schedule the worker's next turn) and frees its
// memory, and starts a fresh one for the next file; the model is untouched.
// A wasm trap (a Rust panic) poisons a worker's instance: the worker then answers
// {type: "fatal", runtime: true}, and the page replaces it (replaceWorker) — the requests in
// flight fail with "internal error …", the batch goes on, and whoever subscribed with
// onComputeReplaced loads the model into a new compute worker again.
import { params, setFromAnalyser } from './config.js';
import { setStatus } from './ui.js';

// Test-only: `?debugPanicAt=N` makes the first analysis worker's N-th analysis panic in wasm.
const DEBUG_PANIC_AT = Number(params.get('debugPanicAt')) || 0;
const MAX_WORKER_RESTARTS = 5;

// What the workers did so far, for the test hook.
export const workers = {
  version: null, // the analyser's version, once the compute worker is ready
  restarts: 0, // workers replaced after a trap
  internalErrors: [], // the traps' messages
  analysisStarted: 0, // analysis workers started (Cancel starts a new one)
};

let nextId = 1;
const pending = new Map(); // id -> { resolve, reject, onProgress, worker, doing }
const handles = { compute: null, analysis: null };
let computeReady = null;
const computeReplaced = [];

export const cancelledError = () => Object.assign(new Error('cancelled'), { cancelled: true });

function startWorker(debugPanicAt = 0) {
  const url = new URL('../worker.js', import.meta.url);
  if (debugPanicAt) url.searchParams.set('debugPanicAt', String(debugPanicAt));
  const worker = new Worker(url, { type: 'module' });
  const handle = { worker, ready: null, dead: false };
  handle.ready = new Promise((resolve, reject) => {
    worker.addEventListener('message', (e) => {
      const msg = e.data;
      if (handle.dead) return; // a replaced worker's last words
      if (msg.type === 'ready') {
        resolve(msg);
      } else if (msg.type === 'fatal' && msg.runtime) {
        replaceWorker(handle, msg.error);
      } else if (msg.type === 'fatal') {
        setStatus(msg.error, true);
        reject(new Error(msg.error));
      } else if (msg.type === 'progress') {
        pending.get(msg.id)?.onProgress?.(msg.fraction, msg);
      } else if (pending.has(msg.id)) {
        const { resolve: ok, reject: fail } = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.ok) {
          ok(msg.result);
        } else {
          const err = new Error(msg.error);
          err.cancelled = Boolean(msg.cancelled);
          fail(err);
        }
      }
    });
    worker.addEventListener('error', (e) => {
      if (handle.dead) return;
      const text = `The analyser failed to start: ${e.message || 'unknown error'}`;
      setStatus(text, true);
      reject(new Error(text));
    });
  });
  handle.ready.catch(() => {});
  return handle;
}

function startCompute() {
  handles.compute = startWorker();
  computeReady = handles.compute.ready.then((msg) => {
    workers.version = msg.version;
    setFromAnalyser(msg);
    return msg.version;
  });
  computeReady.catch(() => {});
}

function startAnalysis(debugPanicAt = 0) {
  handles.analysis = startWorker(debugPanicAt);
  workers.analysisStarted += 1;
}

/** Starts both workers (once, at start-up). */
export function startWorkers() {
  startCompute();
  startAnalysis(DEBUG_PANIC_AT);
}

/** Resolves to the analyser's version once the compute worker has loaded its wasm. */
export const ready = () => computeReady;

/** Has `fn` called when a new compute worker replaced one that trapped: it holds no model. */
export function onComputeReplaced(fn) {
  computeReplaced.push(fn);
}

/** Terminates `old` and answers each request it held with `error(entry)`. */
function retire(old, error) {
  old.dead = true;
  old.worker.terminate();
  for (const [id, p] of pending) {
    if (p.worker === old) {
      pending.delete(id);
      p.reject(error(p));
    }
  }
}

/** Replaces a worker whose wasm instance trapped: every request it held fails with the reason,
 * and a fresh worker takes over. */
function replaceWorker(old, reason) {
  if (old.dead) return;
  workers.internalErrors.push(reason);
  retire(old, (p) => {
    const what = p.doing ? ` while ${p.doing}` : '';
    return Object.assign(new Error(`internal error${what}: ${reason} (the analyser was restarted)`), { internal: true });
  });
  if (workers.restarts >= MAX_WORKER_RESTARTS) {
    setStatus(`The analyser failed ${workers.restarts + 1} times (last: ${reason}); reload the page.`, true);
    return;
  }
  workers.restarts += 1;
  if (old === handles.analysis) {
    startAnalysis();
    return;
  }
  startCompute();
  for (const fn of computeReplaced) fn();
}

/**
 * Sends a request to a worker (`to`: 'compute' or 'analysis'); returns {id, done: Promise}.
 * `onProgress(fraction, message)` sees its progress; `doing` names the work in the error of a
 * trap ("internal error while analysing x.wav").
 */
export function request(message, { transfer = [], onProgress = null, to = 'compute', doing = null } = {}) {
  const id = nextId++;
  const worker = handles[to];
  const done = new Promise((resolve, reject) => {
    if (worker.dead) {
      reject(new Error('the analyser is not running (it failed too often); reload the page'));
      return;
    }
    pending.set(id, { resolve, reject, onProgress, worker, doing });
    worker.worker.postMessage({ id, ...message }, transfer);
  });
  return { id, done };
}

/** Asks the worker running request `id` to stop it (a fine-tuning run: Stop). */
export function cancelRequest(id) {
  const p = pending.get(id);
  if (p && !p.worker.dead) p.worker.worker.postMessage({ type: 'cancel', target: id });
}

/** Stops the analysis in progress at once: terminates its worker, answers its requests as
 * cancelled, and starts a fresh worker for the next file. */
export function stopAnalysis() {
  retire(handles.analysis, () => cancelledError());
  startAnalysis();
}
