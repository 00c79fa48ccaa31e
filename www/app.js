// The page: decoding (Web Audio), the DOM and drawing. All computation on the audio
// happens in worker.js; nothing the visitor drops is sent anywhere.

const ANALYSIS_RATE = 22050;
// decodeAudioData needs the whole file in memory; beyond this the tab risks running out.
const MAX_FILE_BYTES = 512 * 1024 * 1024;

const statusEl = document.getElementById('status');
const infoEl = document.getElementById('track-info');
const canvas = document.getElementById('mfcc-canvas');
const fileInput = document.getElementById('file-input');
const dropZone = document.getElementById('drop-zone');
const progressEl = document.getElementById('progress');
const cancelButton = document.getElementById('cancel');
// Whole tracks up to this length are analysed (and drawn) whole; longer ones by their
// 30 s middle excerpt, so a DJ mix does not hold hundreds of MB of frames.
const WHOLE_TRACK_MAX_S = 600;

function setStatus(text, isError = false) {
  statusEl.textContent = text;
  statusEl.classList.toggle('error', isError);
}

// Test hook and console access: the last analysis result.
const api = { last: null, ready: null };
window.ainrec = api;

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map();
api.ready = new Promise((resolve, reject) => {
  worker.addEventListener('message', (e) => {
    const msg = e.data;
    if (msg.type === 'ready') {
      api.version = msg.version;
      setStatus('Ready. Drop or choose an audio file.');
      resolve(msg.version);
    } else if (msg.type === 'fatal') {
      setStatus(msg.error, true);
      reject(new Error(msg.error));
    } else if (msg.type === 'progress') {
      pending.get(msg.id)?.onProgress?.(msg.fraction);
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
    const text = `The analyser failed to start: ${e.message || 'unknown error'}`;
    setStatus(text, true);
    reject(new Error(text));
  });
});

// Sends a request; returns {id, done: Promise}. `onProgress(fraction)` sees progress.
function request(message, transfer, onProgress) {
  const id = nextId++;
  const done = new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, ...message }, transfer);
  });
  return { id, done };
}

// Decode any format the browser knows, then render to mono at the analysis rate through a
// 1-channel OfflineAudioContext (Web Audio's down-mix; see README on >2 channels).
async function decodeToMono(file) {
  if (file.size === 0) throw new Error('the file is empty (0 bytes)');
  if (file.size > MAX_FILE_BYTES) {
    throw new Error(`the file is ${(file.size / 2 ** 20).toFixed(0)} MB; this page analyses files up to ${MAX_FILE_BYTES / 2 ** 20} MB`);
  }
  const bytes = await file.arrayBuffer();
  let decoded;
  try {
    decoded = await new OfflineAudioContext(1, 1, ANALYSIS_RATE).decodeAudioData(bytes);
  } catch (err) {
    throw new Error('the browser cannot decode it as audio (unsupported or corrupt file)');
  }
  if (decoded.length === 0) throw new Error('it decodes to no audio at all');
  const ctx = new OfflineAudioContext(1, decoded.length, ANALYSIS_RATE);
  const src = ctx.createBufferSource();
  src.buffer = decoded;
  src.connect(ctx.destination);
  src.start();
  const rendered = await ctx.startRendering();
  return rendered.getChannelData(0);
}

function viridis(t) {
  // Polynomial fit of matplotlib's viridis (public-domain coefficients by Matt Zucker).
  const c = [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ];
  return [0, 1, 2].map((k) => {
    let v = c[6][k];
    for (let i = 5; i >= 0; i--) v = c[i][k] + t * v;
    return Math.round(255 * Math.min(1, Math.max(0, v)));
  });
}

function drawMfcc({ nFrames, nCoeffs: nMfcc, data }) {
  const img = new ImageData(nFrames, nMfcc);
  for (let c = 0; c < nMfcc; c++) {
    let lo = Infinity; let hi = -Infinity;
    for (let t = 0; t < nFrames; t++) {
      const v = data[t * nMfcc + c];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo || 1;
    const y = nMfcc - 1 - c; // c0 at the bottom
    for (let t = 0; t < nFrames; t++) {
      const [r, g, b] = viridis((data[t * nMfcc + c] - lo) / span);
      const p = (y * nFrames + t) * 4;
      img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
    }
  }
  const off = new OffscreenCanvas(nFrames, nMfcc);
  off.getContext('2d').putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function formatDuration(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(1).padStart(4, '0')}`;
}

let current = null; // {id, name, cancelAt} of the analysis in progress

cancelButton.addEventListener('click', () => {
  if (!current) return;
  current.cancelAt = performance.now();
  worker.postMessage({ type: 'cancel', target: current.id });
  setStatus(`Cancelling ${current.name}…`);
});

async function analyse(file) {
  try {
    await api.ready;
  } catch {
    return;
  }
  if (current) {
    setStatus(`Still analysing ${current.name}; cancel it first or wait.`, true);
    return;
  }
  setStatus(`Decoding ${file.name}…`);
  try {
    const pcm = await decodeToMono(file);
    const duration = pcm.length / ANALYSIS_RATE;
    const whole = duration <= WHOLE_TRACK_MAX_S;
    setStatus(`Analysing ${file.name} (${formatDuration(duration)})…`);
    const t0 = performance.now();
    progressEl.value = 0;
    progressEl.hidden = false;
    cancelButton.hidden = false;
    const options = { span: whole ? 'whole' : 30, frames: true };
    const req = request({ type: 'analyze', pcm, sampleRate: ANALYSIS_RATE, options }, [pcm.buffer],
      (fraction) => { progressEl.value = fraction; });
    current = { id: req.id, name: file.name, cancelAt: null };
    let result;
    try {
      result = await req.done;
    } catch (err) {
      if (err.cancelled) {
        const latency = performance.now() - current.cancelAt;
        api.last = { name: file.name, cancelled: true, cancelLatencyMs: latency };
        setStatus(`Cancelled ${file.name} (stopped ${latency.toFixed(0)} ms after the click).`);
        return;
      }
      throw err;
    }
    const ms = performance.now() - t0;
    drawMfcc(result.mfcc);
    api.last = {
      name: file.name, duration, sampleRate: ANALYSIS_RATE, hopLength: result.hopLength,
      nFrames: result.mfcc.nFrames, nMfcc: result.mfcc.nCoeffs, mfcc: Array.from(result.mfcc.data),
      descriptor: Array.from(result.descriptor), names: result.names, key: result.key, millis: ms,
    };
    const span = whole ? 'whole track' : `${(result.spanLength / ANALYSIS_RATE).toFixed(0)} s from the middle`;
    infoEl.textContent = `${file.name} — ${formatDuration(duration)}, ${result.mfcc.nFrames} frames, `
      + `descriptor of ${result.descriptor.length} values (${span})`;
    setStatus(`Done: ${file.name} analysed in ${ms.toFixed(0)} ms.`);
  } catch (err) {
    api.last = { name: file.name, error: err.message };
    setStatus(`Could not analyse ${file.name}: ${err.message}`, true);
  } finally {
    current = null;
    progressEl.hidden = true;
    cancelButton.hidden = true;
  }
}

fileInput.addEventListener('change', () => {
  if (fileInput.files.length > 0) analyse(fileInput.files[0]);
  fileInput.value = '';
});
for (const type of ['dragenter', 'dragover']) {
  dropZone.addEventListener(type, (e) => { e.preventDefault(); dropZone.classList.add('dragging'); });
}
for (const type of ['dragleave', 'drop']) {
  dropZone.addEventListener(type, () => dropZone.classList.remove('dragging'));
}
dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  const file = e.dataTransfer.files[0];
  if (file) analyse(file);
});
