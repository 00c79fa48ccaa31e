// The page: decoding (Web Audio), the DOM, playback and the listening history. All
// computation on the audio happens in worker.js, all persistence in store.js; nothing the
// visitor drops is sent anywhere (the only requests are this origin's static files).
import * as store from './store.js';
import { fromBase64, toBase64 } from './js/base64.js';
import { entryText, formatDuration, norm, stem } from './js/format.js';
import {
  canonical, model, objectUrl, shown, state,
} from './js/state.js';
import { testHook } from './js/test-hook.js';
import {
  $, button, setAttr, setStatus, setText, show, showUsage, storageProblem,
} from './js/ui.js';
import {
  cancelRequest, cancelledError, onComputeReplaced, ready, request, startWorkers, stopAnalysis, workers,
} from './js/worker-rpc.js';
import {
  ANALYSIS_RATE, AUDIO_EXTENSIONS, AUDIO_NAME, LIBRARY_OPTIONS, params,
} from './js/config.js';

// decodeAudioData needs the whole file, and then its PCM, in memory: beyond this the tab
// risks running out of memory. `?maxFileMB=` lowers it (the e2e test of the refusal).
const MAX_FILE_BYTES = (Number(params.get('maxFileMB')) || 512) * 2 ** 20;
// decodeAudioData keeps every channel of the whole track (at 22050 Hz here), then the mono
// render: 60 min of stereo is ~320 + 160 MB. Longer tracks are refused with the reason
// before decoding (`?maxDecodeMin=` lowers it for the e2e test).
const MAX_DECODE_S = (Number(params.get('maxDecodeMin')) || 60) * 60;
// Without a duration in the file's headers, assume at least this bit rate to estimate one.
const ASSUMED_MIN_BITRATE = 128000;
// Audio kept in IndexedDB for playback after a reload, per file; bigger files need a file
// handle (drag and drop in Chromium gives one) or are dropped again.
const MAX_STORED_AUDIO_BYTES = 64 * 2 ** 20;
// In a dropped folder these are expected companions of music, not failures to report.
const COMPANION_NAME = /(\.(jpe?g|png|gif|bmp|webp|txt|nfo|m3u8?|pls|cue|log|pdf|db|ini|sfv|md5|accurip|url|xml|json)$)|(^\.)/i;
// Two files are "the same track" when their tags (title + artist) agree and their durations
// are within this; or, whatever the tags, when their descriptors are this close (relative
// L2 distance). Measured in the e2e test on 15 s CC excerpts: a WAV and its 128 kbit/s MP3
// 0.013; the closest two different tracks 0.16. 0.05 sits between with margin both ways.
const SAME_DURATION_S = 1.0;
const SAME_DESCRIPTOR_DIST = 0.05;

const progressEl = $('progress');
const overallEl = $('overall-progress');
const overallCount = $('overall-count');
const cancelButton = $('cancel');
const libraryEl = $('library');
const badFilesEl = $('bad-files');
const audioEl = $('audio');

window.ainrec = testHook();

// ---------------------------------------------------------------- feature check
// What this page cannot work without; a missing one is named instead of failing later.
const missing = [];
if (typeof WebAssembly !== 'object') missing.push('WebAssembly');
if (typeof Worker !== 'function') missing.push('Web Workers');
if (typeof OfflineAudioContext !== 'function') missing.push('Web Audio (OfflineAudioContext)');
if (!self.crypto || !crypto.subtle) missing.push('Web Crypto (a secure context: https or localhost)');
if (!self.indexedDB) missing.push('IndexedDB (storage; private mode may disable it)');
if (missing.length) {
  show($('missing-features'), `This browser lacks what the page needs: ${missing.join(', ')}. `
    + 'Try a current Chromium, Firefox or Safari over https or on localhost.');
  // Without these nothing can be analysed: say so on the controls instead of failing later.
  if (missing.some((m) => !m.startsWith('IndexedDB'))) {
    for (const id of ['file-input', 'folder-input', 'demo-catalog']) document.getElementById(id).disabled = true;
  }
}

startWorkers();
// The new compute worker has no model: load it again, with the stored weights and the library.
onComputeReplaced(() => {
  if (!model.ready) return;
  Object.assign(model, { ok: false, librarySig: null, recSig: null });
  initModel().then((ok) => (ok ? syncWeights() : null)).catch(() => {});
});

// ---------------------------------------------------------------- decoding
// Decode any format the browser knows, then render to mono at the analysis rate through a
// 1-channel OfflineAudioContext (Web Audio's down-mix; see README on >2 channels).
async function decodeToMono(bytes) {
  let decoded;
  // decodeAudioData detaches `bytes`: keep the head to say what the file is if it fails.
  const head = new Uint8Array(bytes.slice(0, 64));
  const size = bytes.byteLength;
  try {
    decoded = await new OfflineAudioContext(1, 1, ANALYSIS_RATE).decodeAudioData(bytes);
  } catch (err) {
    throw new Error(`the browser cannot decode it as audio (${whatItIs(head, size) || 'unsupported or corrupt file'})`);
  }
  if (decoded.length === 0) throw new Error('it decodes to no audio at all');
  const ctx = new OfflineAudioContext(1, Math.ceil(decoded.duration * ANALYSIS_RATE), ANALYSIS_RATE);
  const src = ctx.createBufferSource();
  src.buffer = decoded;
  src.connect(ctx.destination);
  src.start();
  const rendered = await ctx.startRendering();
  return rendered.getChannelData(0);
}

/** What a file that failed to decode looks like, from its first bytes, or null. */
function whatItIs(head, size) {
  const ascii = String.fromCharCode(...head.subarray(0, 16));
  const starts = (...b) => b.every((x, i) => head[i] === x);
  if (size < 16) return `only ${size} byte${size === 1 ? '' : 's'}: too short to be audio`;
  if (ascii.startsWith('%PDF')) return 'it is a PDF document, not audio';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'it is a PNG image, not audio';
  if (starts(0xff, 0xd8, 0xff)) return 'it is a JPEG image, not audio';
  if (ascii.startsWith('GIF8')) return 'it is a GIF image, not audio';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'it is a ZIP archive (or an office document), not audio';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WAVE' && size <= 44) return 'a WAV header without any samples';
  if (/^\s*[<{[]/.test(ascii)) return 'it is text (HTML, XML or JSON), not audio';
  return null;
}

// ---------------------------------------------------------------- the heat-map
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
  const canvas = $('mfcc-canvas');
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

// ---------------------------------------------------------------- "same track" checks
function descriptorDistance(a, b) {
  if (!a || !b || a.length !== b.length) return Infinity;
  let d = 0; let na = 0; let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2; na += a[i] * a[i]; nb += b[i] * b[i];
  }
  return Math.sqrt(d) / Math.sqrt(Math.sqrt(na * nb) || 1);
}

/** The id of an earlier library entry that is the same recording in another file, or null. */
function findSame(track, descriptor) {
  let best = null;
  for (const other of state.tracks.values()) {
    if (other.id === track.id || Math.abs((other.duration || 0) - track.duration) > SAME_DURATION_S) continue;
    if (track.tagged && other.tagged && norm(track.title) === norm(other.title)
      && norm(track.artist) === norm(other.artist)) return canonical(other);
    const dist = descriptorDistance(descriptor, state.descriptors.get(other.id));
    shown.sameDistances.push({ a: track.name, b: other.name, dist });
    if (dist <= SAME_DESCRIPTOR_DIST && (!best || dist < best.dist)) best = { id: canonical(other), dist };
  }
  return best ? best.id : null;
}

// ---------------------------------------------------------------- the history
const nowS = () => Math.floor(Date.now() / 1000);

function historyItem(track, create) {
  const id = canonical(track);
  let item = state.history.items.find((i) => i.id === id);
  if (!item && create) {
    item = { id, title: track.title, artist: track.artist || undefined, plays: 0, full_listens: 0, skips: 0 };
    state.history.items.push(item);
  }
  return item;
}

// The list shows the change at once (a like lights up on the click, not after the disk write);
// a write that fails says so, and the history in the tab is still the new one.
async function saveHistory() {
  renderLibrary();
  try {
    await store.putHistory(state.history);
  } catch (err) {
    storageProblem(err, 'the latest change to your history could not be saved');
  }
}

function recordPlay(track) {
  const item = historyItem(track, true);
  const t = nowS();
  item.plays += 1;
  item.time = t;
  item.play_times = [...(item.play_times || []), t].slice(-100);
  // The order of `items` is the listening order (oldest first): a replay moves it last.
  state.history.items = state.history.items.filter((i) => i !== item).concat(item);
  return saveHistory();
}

function recordFullListen(track) {
  const item = historyItem(track, true);
  item.full_listens = (item.full_listens || 0) + 1;
  return saveHistory();
}

function recordSkip(track) {
  const item = historyItem(track, true);
  item.skips = (item.skips || 0) + 1;
  item.skip_times = [...(item.skip_times || []), nowS()].slice(-100);
  return saveHistory();
}

function toggleLike(track) {
  const item = historyItem(track, true);
  item.liked = !item.liked;
  item.like_time = nowS();
  return saveHistory();
}

function removeFromHistory(track) {
  const id = canonical(track);
  state.history.items = state.history.items.filter((i) => i.id !== id);
  return saveHistory();
}

// ---------------------------------------------------------------- the library list
// One row per track, made once and then updated in place. A re-render (on every play, pause,
// like, analysed file) must not replace the buttons: a Space press clicks on key-up, on the
// element that went active on key-down, and focus would be lost with a replaced button.
const listRows = new Map(); // track id -> { li, cover, title, sub, counts, play, like, skip, remove }

function libraryRow(id) {
  let row = listRows.get(id);
  if (row) return row;
  const track = () => state.tracks.get(id);
  const el = (tag, className) => {
    const e = document.createElement(tag);
    if (className) e.className = className;
    return e;
  };
  row = { li: el('li'), cover: el('img', 'cover'), title: el('span', 'title'), sub: el('span', 'sub'), counts: el('span', 'counts') };
  row.li.dataset.id = id;
  row.cover.alt = '';
  row.counts.dataset.testid = 'counts';
  row.play = button('Play', 'play', '', () => playTrack(id));
  row.like = button('♡ Like', 'like', '', () => toggleLike(track()));
  row.skip = button('Skip', 'skip', '', () => skipTrack(id));
  row.remove = button('Remove', 'remove', '', () => removeFromHistory(track()));
  const info = el('div', 'info');
  info.append(row.title, row.sub, row.counts);
  const actions = el('div', 'actions');
  actions.append(row.play, row.like, row.skip, row.remove);
  row.li.append(row.cover, info, actions);
  listRows.set(id, row);
  return row;
}

function renderLibrary() {
  const tracks = [...state.tracks.values()];
  $('library-empty').hidden = tracks.length > 0;
  $('library-count').textContent = tracks.length ? `(${tracks.length})` : '';
  const focused = document.activeElement?.closest?.('li[data-id]');
  const focusKey = focused ? [focused.dataset.id, document.activeElement.dataset.testid] : null;
  const live = new Set(tracks.map((t) => t.id));
  for (const [id, row] of listRows) {
    if (!live.has(id)) {
      row.li.remove();
      listRows.delete(id);
    }
  }
  let prev = null;
  for (const t of tracks) {
    const row = libraryRow(t.id);
    const { title, who } = entryText(t);
    const item = historyItem(t, false);
    // The playing row is marked (and named for screen readers); the Play label stays put.
    row.li.classList.toggle('playing', state.playing === t.id);
    if (state.playing === t.id) setAttr(row.li, 'aria-current', 'true');
    else row.li.removeAttribute('aria-current');
    const cover = t.cover ? objectUrl(t.cover) : null;
    if (cover && row.cover.getAttribute('src') !== cover) row.cover.src = cover;
    row.cover.classList.toggle('no-cover', !cover);
    setText(row.title, title);
    const notes = [];
    if (who) notes.push(who);
    if (t.duration) notes.push(formatDuration(t.duration));
    if (t.source === 'demo') notes.push(`demo · ${t.credit?.license || ''}`);
    if (t.sameAs) {
      const first = state.tracks.get(t.sameAs);
      notes.push(`same track as ${first ? first.name : 'another file'}`);
    }
    setText(row.sub, notes.join(' · '));
    const n = (k, one, many) => `${k} ${k === 1 ? one : many}`;
    setText(row.counts, item
      ? `${n(item.plays || 0, 'play', 'plays')} · ${n(item.full_listens || 0, 'full listen', 'full listens')}`
        + ` · ${n(item.skips || 0, 'skip', 'skips')}${item.liked ? ' · liked' : ''}`
      : '');
    setAttr(row.play, 'aria-label', state.playing === t.id && !audioEl.paused ? `Play ${title} again (playing)` : `Play ${title}`);
    setText(row.like, item?.liked ? '♥ Liked' : '♡ Like');
    setAttr(row.like, 'aria-label', `Like ${title}`);
    setAttr(row.like, 'aria-pressed', String(Boolean(item?.liked)));
    setAttr(row.skip, 'aria-label', `Skip ${title}`);
    setAttr(row.remove, 'aria-label', `Remove ${title} from your history`);
    // The list follows the library's order; a row moves only when it is out of place.
    const want = prev ? prev.nextSibling : libraryEl.firstChild;
    if (want !== row.li) libraryEl.insertBefore(row.li, want);
    prev = row.li;
  }
  // A moved row loses focus; give it back to the same button.
  if (focusKey && !document.activeElement?.closest?.('li[data-id]')) {
    libraryEl.querySelector(`li[data-id="${focusKey[0]}"] [data-testid="${focusKey[1]}"]`)?.focus();
  }
  scheduleRecommend();
}

function addBadFile(name, reason) {
  shown.stats.bad += 1;
  const li = document.createElement('li');
  li.textContent = `${name}: ${reason}`;
  badFilesEl.append(li);
  $('bad-count').textContent = String(badFilesEl.children.length);
  $('bad-files-none').hidden = true;
}

// ---------------------------------------------------------------- playback
// Demo excerpts are fetched once from this origin and played from blob URLs: a blob can be
// sought in, a stream from a server that sends no byte ranges (`ainrec serve`) cannot.
const demoBlobs = new Map(); // demo file -> Promise<Blob>

async function playableSource(t) {
  if (t.source === 'demo') {
    let blob = demoBlobs.get(t.demoFile);
    if (!blob) {
      blob = fetch(`demo/${encodeURIComponent(t.demoFile)}`).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.blob();
      });
      demoBlobs.set(t.demoFile, blob);
      blob.catch(() => demoBlobs.delete(t.demoFile));
    }
    try {
      return { url: objectUrl(await blob) };
    } catch (err) {
      return { error: `the demo excerpt could not be fetched from this page's server (${err.message})` };
    }
  }
  const session = state.sessionFiles.get(t.id);
  if (session) return { url: objectUrl(session) };
  let stored = null;
  try {
    stored = await store.getAudio(t.id);
  } catch (err) {
    return { error: `the stored audio cannot be read (${err.message})` };
  }
  if (stored?.blob) return { url: objectUrl(stored.blob) };
  if (stored?.handle) {
    try {
      let perm = await stored.handle.queryPermission({ mode: 'read' });
      if (perm !== 'granted') perm = await stored.handle.requestPermission({ mode: 'read' });
      if (perm !== 'granted') return { error: 'you did not allow this page to read the file again' };
      const file = await stored.handle.getFile();
      state.sessionFiles.set(t.id, file);
      return { url: objectUrl(file) };
    } catch (err) {
      return { error: `the file is no longer where it was (${err.message})` };
    }
  }
  // A sibling in another format may still be playable.
  for (const other of state.tracks.values()) {
    if (other.id !== t.id && canonical(other) === canonical(t)
      && (state.sessionFiles.has(other.id) || other.hasAudio)) {
      return playableSource(other);
    }
  }
  return {
    error: 'its audio is not kept in this browser (it was too large for the storage quota, or '
      + 'storage was full, and this browser gave no file handle to reopen it). Drop the file again to play it',
  };
}

async function playTrack(id) {
  const t = state.tracks.get(id);
  if (!t) return false;
  const { title } = entryText(t);
  const src = await playableSource(t);
  if (src.error) {
    show($('playback-message'), `Cannot play ${title}: ${src.error}.`);
    return false;
  }
  show($('playback-message'), '');
  state.playing = id;
  audioEl.src = src.url;
  $('now-playing').textContent = `Playing: ${title}${t.artist ? ` — ${t.artist}` : ''}`;
  try {
    await audioEl.play();
  } catch (err) {
    // Autoplay policy or a decode failure: say which, nothing recorded.
    show($('playback-message'), `Cannot play ${title}: ${err.message}.`);
    renderLibrary();
    return false;
  }
  await recordPlay(t);
  return true;
}

async function playNextAfter(id) {
  const ids = [...state.tracks.keys()];
  const start = ids.indexOf(id);
  for (let k = 1; k < ids.length; k++) {
    if (await playTrack(ids[(start + k) % ids.length])) return;
  }
}

async function skipTrack(id) {
  const t = state.tracks.get(id);
  if (!t) return;
  await recordSkip(t);
  if (state.playing === id) {
    audioEl.pause();
    await playNextAfter(id);
  }
}

audioEl.addEventListener('ended', async () => {
  const t = state.tracks.get(state.playing);
  if (!t) return;
  await recordFullListen(t);
  await playNextAfter(t.id); // auto-next
});
audioEl.addEventListener('play', () => renderLibrary());
audioEl.addEventListener('pause', () => renderLibrary());

// ---------------------------------------------------------------- the recommender
// The browser model lives in the worker (a wasm `Recommender`); the page keeps which library
// rows it was given (every track with a descriptor of this page's analysis key, one row per
// recording) and maps the history onto them by track id.
const REC_K = 10;
const REC_POOL = 30; // asked of the model, then re-ranked by the diversity control
const RECOMMEND_DEBOUNCE_MS = 300;
const BECAUSE_TOP = 3;
// Test-only: `?finetuneLr=` overrides the learning rate (a huge one forces a NaN roll-back).
const FINETUNE_LR = params.has('finetuneLr') ? Number(params.get('finetuneLr')) : null;

function modelStatus(text, isError = false) {
  $('model-status').textContent = text;
  $('model-status').classList.toggle('error', isError);
}

function updateModelControls() {
  $('finetune-start').disabled = !model.ok || Boolean(model.tuning);
  $('finetune-stop').disabled = !model.tuning;
  $('reset-model').disabled = !model.ok || Boolean(model.tuning);
  if (model.ok) {
    modelStatus(model.weights === 'fine-tuned'
      ? 'Model: fine-tuned on your history in this browser (Reset model returns to the shipped weights).'
      : 'Model: the shipped weights.');
  }
}

/** Says in the portrait form whether the model reads it (the model reports it when loaded). */
function markPortrait() {
  const used = model.ok && model.usesPortrait;
  $('portrait-use').textContent = !model.ok
    ? 'Not used: there is no recommender in this page right now (see “Recommended for you”). '
      + 'Stored with your history and exported with it.'
    : used
      ? 'Used by the recommender in this page, with what you play. Stored with your history and exported with it.'
      : 'Not used by the current model: it learns from what you play, not from these. Stored with '
        + 'your history and exported with it, for a model that can use them.';
  for (const tag of document.querySelectorAll('#portrait .unused-tag')) tag.hidden = used;
  $('portrait').classList.toggle('unused', !used);
}

function initModel() {
  model.ready = request({ type: 'model' }).done.then((m) => {
    model.analysisKey = m.analysisKey;
    model.descriptorLength = m.descriptorLength;
    model.usesPortrait = m.usesPortrait === true;
    if (m.analysisKey !== state.key) {
      model.error = `The model was trained on descriptors of analysis “${m.analysisKey}” but this page `
        + `makes “${state.key}”: no recommendations until they match (rebuild the model or the page). `
        + 'Everything else on the page works.';
      modelStatus(model.error, true);
      markPortrait();
      return false;
    }
    model.ok = true;
    updateModelControls();
    markPortrait();
    return true;
  }, (err) => {
    model.error = `No recommendations: ${err.message}. Everything else on the page works.`;
    modelStatus(model.error, true);
    markPortrait();
    return false;
  });
  return model.ready;
}

/** Loads the stored fine-tuned weights into the model, or the shipped ones when none are stored. */
async function syncWeights() {
  if (!model.ready || !(await model.ready) || model.tuning) return;
  let stored = null;
  try {
    stored = await store.getWeights();
  } catch {
    stored = null;
  }
  try {
    if (stored) {
      await request({ type: 'loadWeights', bytes: stored }).done;
      model.weights = 'fine-tuned';
    } else {
      await request({ type: 'reset' }).done;
      model.weights = 'shipped';
    }
    $('finetune-result').textContent = '';
  } catch (err) {
    await request({ type: 'reset' }).done.catch(() => {});
    model.weights = 'shipped';
    $('finetune-result').textContent = `Your stored fine-tuned weights could not be loaded (${err.message}); `
      + 'the shipped weights are used. Learn my taste again, or Reset model to remove them.';
  }
  model.weightsVersion += 1;
  updateModelControls();
  scheduleRecommend();
}

function libraryRows() {
  const rows = [];
  for (const t of state.tracks.values()) {
    if (t.sameAs) continue; // one row per recording
    const d = state.descriptors.get(t.id);
    if (d && d.length === model.descriptorLength) rows.push(t.id);
  }
  return rows;
}

/** Gives the worker the current library (when it changed). */
async function ensureLibrary() {
  const rows = libraryRows();
  const sig = rows.join(',');
  if (sig === model.librarySig) return;
  if (!rows.length) {
    // Nothing to rank: the worker keeps its previous rows, none of which is referenced.
    Object.assign(model, { rows: [], rowIndex: new Map(), librarySig: sig });
    return;
  }
  const all = new Float32Array(rows.length * model.descriptorLength);
  rows.forEach((id, i) => all.set(state.descriptors.get(id), i * model.descriptorLength));
  await request({ type: 'setLibrary', descriptors: all }, { transfer: [all.buffer] }).done;
  model.rows = rows;
  model.rowIndex = new Map(rows.map((id, i) => [id, i]));
  model.librarySig = sig;
}

/** The history (oldest first) as the model's steps, and the track id of each step. */
function historySteps() {
  const steps = [];
  const ids = [];
  for (const it of state.history.items) {
    const row = model.rowIndex.get(it.id);
    if (row === undefined) continue;
    steps.push({ item: row, plays: it.plays || 0, liked: Boolean(it.liked), skips: it.skips || 0 });
    ids.push(it.id);
  }
  return { steps, ids };
}

function scheduleRecommend() {
  if (!model.ok) return;
  clearTimeout(model.timer);
  model.timer = setTimeout(() => { model.timer = null; recompute(); }, RECOMMEND_DEBOUNCE_MS);
}

function diversityLimit() {
  const n = Math.round(Number($('diversity-n').value));
  return $('diversity').checked && n >= 1 ? n : Infinity;
}

/** Re-ranks the model's list so that at most `n` tracks by one artist follow each other. */
function diversify(list, n) {
  const artist = (r) => norm(state.tracks.get(model.rows[r.item])?.artist);
  const out = [];
  const pool = [...list];
  while (out.length < REC_K && pool.length) {
    let pick = pool.findIndex((r) => {
      const a = artist(r);
      if (!a || out.length < n) return true;
      return !out.slice(-n).every((o) => artist(o) === a);
    });
    if (pick < 0) pick = 0; // nothing else is left
    out.push(pool.splice(pick, 1)[0]);
  }
  return out;
}

async function recompute() {
  if (!model.ok) return;
  if (model.running || model.tuning) {
    model.again = true;
    return;
  }
  model.running = true;
  try {
    await ensureLibrary();
    const { steps, ids } = historySteps();
    const limit = diversityLimit();
    const sig = JSON.stringify([model.librarySig.length, model.librarySig.slice(0, 64), steps, limit, model.weightsVersion]);
    if (sig === model.recSig) return;
    if (!steps.length || model.rows.length <= steps.length) {
      $('recommendations-empty').textContent = model.rows.length === 0
        ? 'No tracks yet: load the demo catalog or drop some music, then play or like a few tracks.'
        : steps.length === 0
          ? 'Play or like a few tracks: recommendations appear here.'
          : 'You have heard everything in your library: add more music for recommendations.';
      $('recommendations-empty').hidden = false;
      $('recommendations').replaceChildren();
      shown.recommendations = [];
      shown.recommendedFor = ids;
    } else {
      const { list, ms } = await request({ type: 'recommend', history: steps, exclude: [], k: REC_POOL }).done;
      shown.recommendMs.push(ms);
      renderRecommendations(diversify(list, limit), ids);
      shown.recommendedFor = ids;
    }
    model.recSig = sig;
    shown.recommendRuns += 1;
  } catch (err) {
    modelStatus(`Recommendations failed: ${err.message}`, true);
  } finally {
    model.running = false;
    if (model.again) {
      model.again = false;
      scheduleRecommend();
    }
  }
}

function titleOf(id) {
  const t = state.tracks.get(id);
  return t ? entryText(t).title : 'a removed track';
}

function renderRecommendations(list, ids) {
  const frag = document.createDocumentFragment();
  shown.recommendations = [];
  for (const r of list) {
    const id = model.rows[r.item];
    const t = state.tracks.get(id);
    const { title, who } = entryText(t);
    // Attention covers the last attention.length steps of the history, oldest first.
    const stepIds = ids.slice(ids.length - r.attention.length);
    const li = document.createElement('li');
    li.dataset.id = id;
    const head = document.createElement('div');
    head.className = 'rec-head';
    const name = document.createElement('span');
    const strong = document.createElement('strong');
    strong.textContent = title;
    name.append(strong, who ? ` — ${who}` : '');
    const score = document.createElement('span');
    score.className = 'score';
    score.dataset.testid = 'score';
    score.textContent = `score ${r.score.toFixed(3)}`;
    head.append(name, score, button('Play', 'play', `Play ${title}`, () => playTrack(id)));
    // The most attended history items (those under 1 % are not worth naming; the first always is).
    const top = r.attention.map((w, j) => [w, stepIds[j]]).sort((a, b) => b[0] - a[0])
      .slice(0, BECAUSE_TOP).filter(([w], k) => k === 0 || w >= 0.01);
    const because = document.createElement('p');
    because.className = 'because';
    because.dataset.testid = 'because';
    because.textContent = `Because you played ${top.map(([w, s]) => `${titleOf(s)} (${Math.round(100 * w)} %)`).join(', ')}`;
    const map = document.createElement('div');
    map.className = 'attention';
    map.dataset.testid = 'attention';
    map.setAttribute('role', 'img');
    map.setAttribute('aria-label', `Attention over your last ${r.attention.length} history items, oldest first`);
    const max = Math.max(...r.attention) || 1;
    r.attention.forEach((w, j) => {
      const cell = document.createElement('span');
      cell.dataset.weight = String(w);
      cell.title = `${titleOf(stepIds[j])}: ${(100 * w).toFixed(1)} %`;
      const [cr, cg, cb] = viridis(w / max);
      cell.style.backgroundColor = `rgb(${cr}, ${cg}, ${cb})`;
      map.append(cell);
    });
    li.append(head, because, map);
    frag.append(li);
    shown.recommendations.push({ id, title, artist: t.artist, score: r.score, attention: r.attention });
  }
  $('recommendations-empty').hidden = true;
  $('recommendations').replaceChildren(frag);
}

for (const id of ['diversity', 'diversity-n']) $(id).addEventListener('change', () => scheduleRecommend());

// ---------------------------------------------------------------- "Learn my taste"
function drawLoss() {
  const pts = shown.lossPoints;
  const finite = pts.filter((p) => Number.isFinite(p.loss));
  const lo = Math.min(...finite.map((p) => p.loss));
  const hi = Math.max(...finite.map((p) => p.loss));
  const n = Math.max(pts.length - 1, 1);
  const xy = pts.map((p, i) => (Number.isFinite(p.loss)
    ? `${((300 * i) / n).toFixed(1)},${(78 - (76 * (p.loss - lo)) / (hi - lo || 1)).toFixed(1)}` : null));
  $('loss-line').setAttribute('points', xy.filter(Boolean).join(' '));
  $('loss-plot').dataset.points = String(pts.length);
  const last = finite[finite.length - 1];
  $('loss-plot').setAttribute('aria-label', `Training loss per step: ${pts.length} steps${last ? `, last ${last.loss.toFixed(3)}` : ''}`);
}

function describeOutcome(o, ms) {
  const runs = `${o.steps} steps in ${(ms / 1000).toFixed(1)} s.`;
  let check;
  if (o.before === null || o.before === undefined) {
    check = 'Your history is too short to hold plays out for a check (10 items are needed).';
  } else if (o.kept) {
    check = `Your last ${o.held_out.length} plays ranked: before ${o.before.toFixed(3)}, `
      + `after ${o.after.toFixed(3)} (mean reciprocal rank).`;
  } else {
    check = `Your last ${o.held_out.length} plays ranked: before ${o.before.toFixed(3)} (mean reciprocal rank).`;
  }
  const end = o.kept
    ? 'Kept: the fine-tuned weights are saved in this browser.'
    : `Rolled back to the previous weights: ${o.rolled_back || 'no step was run'}.`;
  return `${check} ${end} ${runs}`;
}

$('finetune-start').addEventListener('click', async () => {
  if (!model.ok || model.tuning) return;
  try {
    await ensureLibrary();
  } catch (err) {
    $('finetune-result').textContent = `Cannot learn: ${err.message}`;
    return;
  }
  const { steps } = historySteps();
  if (steps.length < 2) {
    $('finetune-result').textContent = 'Play a few tracks first: there is nothing to learn from yet.';
    return;
  }
  const options = {};
  if (FINETUNE_LR !== null && Number.isFinite(FINETUNE_LR)) options.lr = FINETUNE_LR;
  shown.lossPoints = [];
  shown.fineTune = null;
  drawLoss();
  $('finetune-result').textContent = `Learning from your ${steps.length} history items…`;
  model.tuning = request({ type: 'fineTune', history: steps, options }, {
    onProgress: (_, msg) => {
      if (msg.steps?.length) {
        shown.lossPoints.push(...msg.steps);
        drawLoss();
      }
    },
  });
  updateModelControls();
  try {
    const { outcome, weights, ms } = await model.tuning.done;
    let text = describeOutcome(outcome, ms);
    if (outcome.kept && weights) {
      try {
        const bytes = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
        await store.putWeights(bytes);
        model.weights = 'fine-tuned';
      } catch (err) {
        text += ` ${storageProblem(err, 'the fine-tuned weights (they are used until you leave the page)')}`;
        model.weights = 'fine-tuned';
      }
      model.weightsVersion += 1;
      showUsage();
    }
    $('finetune-result').textContent = text;
    shown.fineTune = { outcome, ms }; // set last: the test hook sees a finished run
  } catch (err) {
    $('finetune-result').textContent = err.cancelled
      ? 'Stopped: the weights are as they were before.'
      : `Learning failed: ${err.message}. The weights are as they were before.`;
    shown.fineTune = { error: err.message, cancelled: Boolean(err.cancelled) };
  } finally {
    model.tuning = null;
    updateModelControls();
    scheduleRecommend();
  }
});

$('finetune-stop').addEventListener('click', () => {
  if (model.tuning) cancelRequest(model.tuning.id);
});

$('reset-model').addEventListener('click', async () => {
  if (!model.ok || model.tuning) return;
  try {
    await request({ type: 'reset' }).done;
    await store.deleteWeights();
    model.weights = 'shipped';
    model.weightsVersion += 1;
    $('finetune-result').textContent = 'Back to the shipped weights; your fine-tuned ones are deleted.';
  } catch (err) {
    $('finetune-result').textContent = `Reset failed: ${err.message}`;
  }
  updateModelControls();
  scheduleRecommend();
  showUsage();
});

// ---------------------------------------------------------------- analysis of a batch
function updateOverall() {
  const b = state.batch;
  if (!b) {
    overallEl.value = 0;
    overallCount.textContent = '';
    return;
  }
  overallEl.value = b.total ? (b.done + b.fraction) / b.total : 0;
  overallCount.textContent = `(${b.done} of ${b.total})`;
}

/** Resolves as `promise`, or rejects at once when the batch is cancelled (decoding cannot be
 * interrupted, so it is abandoned: its result is dropped when it arrives). */
function guard(b, promise) {
  promise.catch(() => {}); // an abandoned decode may still fail later: nobody waits for it
  return Promise.race([promise, b.cancelSignal]);
}

cancelButton.addEventListener('click', () => {
  const b = state.batch;
  if (!b || b.cancelled) return;
  b.cancelled = true;
  b.cancelAt = performance.now();
  b.rejectCancel(cancelledError());
  state.queue.length = 0;
  if (state.current) stopAnalysis();
  setStatus('Cancelling…');
});

/** Adds files to the library (queued; one analysis at a time). */
function addFiles(entries) {
  const audio = [];
  let companions = 0;
  for (const e of entries) {
    const name = e.file.name;
    if (!AUDIO_NAME.test(name) && !(e.file.type || '').startsWith('audio/')) {
      if (COMPANION_NAME.test(name)) companions += 1;
      else addBadFile(e.path || name, 'not an audio file (by its name and type)');
      continue;
    }
    audio.push(e);
  }
  if (companions) setStatus(`Skipped ${companions} non-audio files (covers, playlists, notes).`);
  if (!audio.length) return;
  state.queue.push(...audio);
  if (state.batch) {
    state.batch.total += audio.length;
    updateOverall();
  } else {
    runBatch();
  }
}

async function runBatch() {
  const b = {
    total: state.queue.length, done: 0, fraction: 0, added: 0, known: 0, failed: 0,
    cancelled: false, cancelAt: null, started: performance.now(), analyseMs: 0, files: [],
  };
  b.cancelSignal = new Promise((_, reject) => { b.rejectCancel = reject; });
  b.cancelSignal.catch(() => {});
  state.batch = b;
  cancelButton.disabled = false;
  updateOverall();
  try {
    await ready();
  } catch {
    return;
  }
  while (state.queue.length && !b.cancelled) {
    const entry = state.queue.shift();
    b.fraction = 0;
    progressEl.value = 0;
    const record = { name: entry.path || entry.file.name, outcome: null, progress: 0 };
    b.files.push(record);
    const fileStarted = performance.now();
    try {
      const outcome = await processFile(entry, b);
      record.outcome = outcome;
      record.progress = 1;
      record.ms = performance.now() - fileStarted; // read + tags + decode + analysis + store
      if (outcome === 'known') b.known += 1; else if (outcome === 'added') b.added += 1;
    } catch (err) {
      record.outcome = err.cancelled ? 'cancelled' : 'failed';
      record.error = err.message;
      if (err.cancelled) {
        // For an analysis, the moment its worker was terminated; for reading or decoding, the
        // moment the batch abandoned them.
        b.cancelStoppedAt ??= performance.now();
        shown.last = { name: entry.path || entry.file.name, cancelled: true, cancelLatencyMs: b.cancelStoppedAt - b.cancelAt };
        break;
      }
      b.failed += 1;
      addBadFile(entry.path || entry.file.name, err.message);
    }
    b.done += 1;
    b.fraction = 0;
    updateOverall();
  }
  const secs = ((performance.now() - b.started) / 1000).toFixed(1);
  const parts = [`${b.added} added`];
  if (b.known) parts.push(`${b.known} already in the library (not analysed again)`);
  if (b.failed) parts.push(`${b.failed} not added (listed below)`);
  if (b.cancelled) {
    b.cancelLatencyMs = b.cancelStoppedAt ? b.cancelStoppedAt - b.cancelAt : performance.now() - b.cancelAt;
    const rest = b.total - b.done - 1;
    setStatus(`Cancelled ${shown.last?.name || 'the analysis'}${rest > 0 ? ` and ${rest} queued files` : ''} `
      + `(stopped ${b.cancelLatencyMs.toFixed(0)} ms after the click); ${parts.join(', ')}.`);
  } else {
    setStatus(`Done in ${secs} s: ${parts.join(', ')}.`);
  }
  b.finished = performance.now();
  const { cancelSignal, rejectCancel, ...summary } = b;
  state.lastBatch = summary;
  state.batch = null;
  state.batchesDone += 1;
  cancelButton.disabled = true;
  // The bars keep the final state (100 % when all went through) until the next batch.
  overallEl.value = b.total ? b.done / b.total : 0;
  overallCount.textContent = `(${b.done} of ${b.total})`;
  showUsage();
}

async function processFile({ file, handle, path }, b) {
  const name = path || file.name;
  if (file.size === 0) throw new Error('the file is empty (0 bytes)');
  if (file.size > MAX_FILE_BYTES) {
    throw new Error(`too large for this tab: ${(file.size / 2 ** 20).toFixed(0)} MB (files up to `
      + `${(MAX_FILE_BYTES / 2 ** 20).toFixed(0)} MB are analysed)`);
  }
  setStatus(`Reading ${name} (${b.done + 1} of ${b.total})…`);
  const ext = (file.name.match(/\.([^.]+)$/) || [])[1];
  const inspected = await guard(b, file.arrayBuffer()
    .then((bytes) => request({ type: 'inspect', bytes, extension: ext }, { transfer: [bytes] }).done));
  const id = inspected.hash;
  const tagged = inspected.tags || {};
  const seconds = tagged.durationS || (inspected.partial ? (file.size * 8) / ASSUMED_MIN_BITRATE : 0);
  if (seconds > MAX_DECODE_S) {
    const min = (x) => (x < 600 ? (x / 60).toFixed(1) : Math.round(x / 60));
    throw new Error(`too long to decode in this tab: about ${min(seconds)} min (tracks up to `
      + `${min(MAX_DECODE_S)} min are analysed; decoding holds the whole track in memory)`);
  }
  const known = state.tracks.get(id);
  if (known && known.hasFeatures) {
    // The same bytes were analysed before (under this analysis key): nothing to compute.
    shown.stats.cacheHits += 1;
    state.sessionFiles.set(id, file);
    // Dropped again after an import or a full quota: keep its audio now if it has none.
    if (!known.hasAudio && known.source !== 'demo') await keepAudio(known, file, handle);
    return 'known';
  }
  setStatus(`Decoding ${name} (${b.done + 1} of ${b.total})…`);
  const pcm = await guard(b, file.arrayBuffer().then(decodeToMono));
  if (b.cancelled) throw cancelledError();
  const duration = pcm.length / ANALYSIS_RATE;
  setStatus(`Analysing ${name} (${formatDuration(duration)}; ${b.done + 1} of ${b.total})…`);
  const t0 = performance.now();
  const req = request({ type: 'analyze', pcm, sampleRate: ANALYSIS_RATE, options: LIBRARY_OPTIONS }, {
    transfer: [pcm.buffer],
    onProgress: (fraction) => {
      progressEl.value = fraction;
      b.fraction = fraction;
      updateOverall();
    },
    to: 'analysis',
    doing: `analysing ${name}`,
  });
  state.current = { id: req.id, name };
  let result;
  try {
    result = await req.done;
  } catch (err) {
    if (err.cancelled) b.cancelStoppedAt = performance.now();
    throw err;
  } finally {
    state.current = null;
  }
  const ms = performance.now() - t0;
  b.analyseMs += ms;
  shown.stats.analysed += 1;
  progressEl.value = 1;
  if (result.mfcc) drawMfcc(result.mfcc);
  $('track-info').textContent = `${name} — ${formatDuration(duration)}, ${result.nFrames} frames, `
    + `descriptor of ${result.descriptor.length} values, analysed in ${ms.toFixed(0)} ms`;
  shown.last = {
    name, id, duration, sampleRate: ANALYSIS_RATE, hopLength: result.hopLength,
    nFrames: result.mfcc?.nFrames, nMfcc: result.mfcc?.nCoeffs,
    mfcc: result.mfcc ? Array.from(result.mfcc.data) : null,
    descriptor: Array.from(result.descriptor), names: result.names, key: result.key, millis: ms,
  };
  const tags = inspected.tags || {};
  const track = {
    id,
    name,
    title: tags.title || stem(file.name),
    artist: tags.artist || null,
    album: tags.album || null,
    genre: tags.genre || null,
    tagged: Boolean(tags.title),
    duration,
    size: file.size,
    type: file.type,
    cover: tags.cover ? new Blob([tags.cover.data], { type: tags.cover.mime }) : null,
    addedAt: Date.now(),
    source: 'file',
  };
  track.sameAs = findSame(track, result.descriptor);
  try {
    await store.putTrack(track, { id, analysisKey: result.key, descriptor: result.descriptor });
  } catch (err) {
    // Not kept for a reload, but usable in this session.
    const text = storageProblem(err, `${name} was analysed but could not be saved`);
    addBadFile(name, `analysed, not saved: ${err.quota ? 'the storage quota is full' : text}`);
  }
  track.hasFeatures = true;
  state.tracks.set(id, track);
  state.descriptors.set(id, result.descriptor);
  state.sessionFiles.set(id, file);
  renderLibrary();
  await keepAudio(track, file, handle);
  return 'added';
}

/** Keeps what plays `track` after a reload: its file handle, else its bytes within budget. */
async function keepAudio(track, file, handle) {
  try {
    if (handle) {
      await store.putAudio(track.id, { handle });
    } else if (file.size <= MAX_STORED_AUDIO_BYTES) {
      await store.putAudio(track.id, { blob: file });
    } else {
      return;
    }
    track.hasAudio = true;
  } catch (err) {
    storageProblem(err, `the audio of ${track.name} plays now but cannot be kept for after a reload`);
  }
}

// ---------------------------------------------------------------- inputs
const fileInput = $('file-input');
const folderInput = $('folder-input');
// The chooser offers what the queue takes (the list lives in config.js, not in the HTML).
fileInput.accept = ['audio/*', ...AUDIO_EXTENSIONS.map((e) => `.${e}`)].join(',');
for (const input of [fileInput, folderInput]) {
  input.addEventListener('change', () => {
    addFiles([...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.value = '';
  });
}

// Where the File System Access API exists (Chromium), the pickers return file handles: a
// handle kept in IndexedDB reopens the file after a reload (with the visitor's permission)
// without copying its bytes into the browser's storage. Elsewhere the inputs' own choosers.
async function pickWithHandles(kind) {
  if (kind === 'files') {
    const handles = await window.showOpenFilePicker({
      multiple: true,
      types: [{ description: 'Audio', accept: { 'audio/*': AUDIO_EXTENSIONS.map((e) => `.${e}`) } }],
    });
    return Promise.all(handles.map(async (h) => ({ file: await h.getFile(), handle: h, path: h.name })));
  }
  const dir = await window.showDirectoryPicker({ mode: 'read' });
  const out = [];
  await walkDirectory(dir, `${dir.name}/`, out);
  return out;
}

for (const [inputId, kind] of [['file-input', 'files'], ['folder-input', 'folder']]) {
  document.querySelector(`label[for="${inputId}"]`).addEventListener('click', async (e) => {
    if (typeof window.showOpenFilePicker !== 'function') return;
    e.preventDefault();
    try {
      addFiles(await pickWithHandles(kind));
    } catch (err) {
      if (err.name !== 'AbortError') setStatus(`Could not open the files: ${err.message}`, true);
    }
  });
}

const dropZone = $('drop-zone');
for (const type of ['dragenter', 'dragover']) {
  dropZone.addEventListener(type, (e) => { e.preventDefault(); dropZone.classList.add('dragging'); });
}
for (const type of ['dragleave', 'drop']) {
  dropZone.addEventListener(type, () => dropZone.classList.remove('dragging'));
}

async function walkDirectory(dirHandle, prefix, out) {
  for await (const h of dirHandle.values()) {
    if (h.kind === 'file') out.push({ file: await h.getFile(), handle: h, path: `${prefix}${h.name}` });
    else await walkDirectory(h, `${prefix}${h.name}/`, out);
  }
}

function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walkEntry(entry, out) {
  if (entry.isFile) {
    out.push({ file: await new Promise((res, rej) => entry.file(res, rej)), path: entry.fullPath.replace(/^\//, '') });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (let batch = await readEntries(reader); batch.length; batch = await readEntries(reader)) {
      for (const e of batch) await walkEntry(e, out);
    }
  }
}

dropZone.addEventListener('drop', async (e) => {
  e.preventDefault();
  // Everything on the DataTransfer must be taken synchronously, before any await.
  const items = [...(e.dataTransfer.items || [])].filter((i) => i.kind === 'file');
  const handles = items.map((i) => (i.getAsFileSystemHandle ? i.getAsFileSystemHandle() : null));
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  const files = items.map((i) => i.getAsFile());
  const out = [];
  for (let k = 0; k < items.length; k++) {
    // File System Access handles (Chromium) let a track play again after a reload without
    // copying its bytes; otherwise the entry API walks folders.
    const handle = handles[k] ? await handles[k].catch(() => null) : null;
    if (handle?.kind === 'directory') await walkDirectory(handle, `${handle.name}/`, out);
    else if (handle?.kind === 'file') out.push({ file: await handle.getFile(), handle, path: handle.name });
    else if (entries[k]?.isDirectory) await walkEntry(entries[k], out);
    else if (files[k]) out.push({ file: files[k], path: files[k].name });
  }
  addFiles(out);
});

// ---------------------------------------------------------------- demo catalog
let catalogPromise = null;
function loadCatalog() {
  catalogPromise ??= fetch('demo/catalog.json').then((r) => {
    if (!r.ok) throw new Error(`the demo catalog is not on this server (HTTP ${r.status}); run make demo-catalog`);
    return r.json();
  });
  catalogPromise.catch(() => { catalogPromise = null; });
  return catalogPromise;
}

function decodeDescriptor(text) {
  return new Float32Array(fromBase64(text).buffer); // little-endian, as written by scripts/demo_catalog.py
}

$('demo-catalog').addEventListener('click', async () => {
  const demoButton = $('demo-catalog');
  demoButton.disabled = true;
  try {
    await ready();
    const cat = await loadCatalog();
    renderCredits(cat);
    const credit = (t) => ({ license: t.license, license_url: t.license_url, source: t.source });
    const fresh = cat.tracks.filter((t) => !state.tracks.get(t.sha256)?.hasFeatures);
    if (cat.analysis_key === state.key) {
      // Descriptors shipped with the catalog, made with this page's analysis key.
      const pairs = fresh.map((t) => [{
        id: t.sha256, name: t.file, title: t.title, artist: t.artist, album: 'ainrec demo catalog',
        genre: t.genre, tagged: true, duration: t.duration_s, size: t.bytes, type: 'audio/ogg',
        cover: null, addedAt: Date.now(), source: 'demo', demoFile: t.file, credit: credit(t),
      }, { id: t.sha256, analysisKey: cat.analysis_key, descriptor: decodeDescriptor(t.descriptor) }]);
      try {
        await store.putTracks(pairs);
      } catch (err) {
        storageProblem(err, 'the demo catalog could not be saved');
      }
      for (const [track, f] of pairs) {
        track.hasFeatures = true;
        state.tracks.set(track.id, track);
        state.descriptors.set(track.id, f.descriptor);
      }
      renderLibrary();
      setStatus(`Demo catalog: ${pairs.length} tracks added (${cat.tracks.length - pairs.length} were already there).`);
      showUsage();
    } else {
      // The extractor changed since the catalog was built: analyse the excerpts here.
      setStatus('The demo catalog was made by another extractor version; analysing its excerpts in this tab…');
      const entries = [];
      for (const t of fresh) {
        const r = await fetch(`demo/${encodeURIComponent(t.file)}`);
        if (!r.ok) { addBadFile(t.file, `not on this server (HTTP ${r.status})`); continue; }
        entries.push({ file: new File([await r.blob()], t.file, { type: 'audio/ogg' }), path: t.file });
      }
      addFiles(entries);
    }
  } catch (err) {
    setStatus(`Could not load the demo catalog: ${err.message}`, true);
  } finally {
    demoButton.disabled = false;
  }
});

function renderCredits(cat) {
  const items = cat.tracks.map((t) => {
    const li = document.createElement('li');
    li.append(`“${t.title}” by ${t.artist} — ${t.license.replace(/-/g, ' ')}`);
    if (t.license_url) li.append(` (${t.license_url})`);
    li.append(`; excerpt of ${t.source}`);
    return li;
  });
  $('credits').replaceChildren(...items);
}

$('about').addEventListener('toggle', () => {
  if ($('about').open) {
    loadCatalog().then(renderCredits, (err) => {
      $('credits').replaceChildren(Object.assign(document.createElement('li'), { textContent: err.message }));
    });
  }
});

// ---------------------------------------------------------------- portrait
const AGE_BANDS = ['<18', '18-24', '25-34', '35-44', '45-54', '55+'];
function renderPortrait() {
  const p = state.history.portrait || {};
  $('age-band').value = p.age_band || '';
  $('language').value = p.language || '';
  $('genres').value = (p.genres || []).join(', ');
}

$('portrait').addEventListener('submit', async (e) => {
  e.preventDefault();
  const age = $('age-band').value;
  const lang = $('language').value.trim().toLowerCase();
  if (lang && !/^[a-z]{2}$/.test(lang)) {
    $('portrait-saved').textContent = 'Language: two letters (ISO 639-1), e.g. “en”.';
    return;
  }
  const portrait = {};
  if (AGE_BANDS.includes(age)) portrait.age_band = age;
  if (lang) portrait.language = lang;
  const genres = $('genres').value.split(',').map((g) => g.trim()).filter(Boolean);
  if (genres.length) portrait.genres = genres;
  state.history.portrait = portrait;
  await saveHistory();
  $('portrait-saved').textContent = 'Saved.';
});

// ---------------------------------------------------------------- export / import / forget
const EXPORT_FORMAT = 'ainrec-export';
const EXPORT_VERSION = 1;

function dataMessage(text, isError = false) {
  $('data-message').textContent = text;
  $('data-message').classList.toggle('error', isError);
}

/**
 * One file: the history (readable as is by `ainrec recommend --history`: its top level is a
 * history, and the extra keys are ignored there), the library's track records with their
 * descriptors (no audio), and a slot for fine-tuned weights (safetensors bytes, base64).
 */
async function buildExport() {
  const features = await store.getAllFeatures(state.key);
  const byId = new Map(features.map((f) => [f.id, f.descriptor]));
  const weights = await store.getWeights();
  return {
    version: state.history.version,
    format: EXPORT_FORMAT,
    export_version: EXPORT_VERSION,
    exported_at: new Date().toISOString(),
    app_version: workers.version,
    analysis_key: state.key,
    items: state.history.items,
    portrait: state.history.portrait || {},
    tracks: [...state.tracks.values()].map((t) => ({
      id: t.id, name: t.name, title: t.title, artist: t.artist, album: t.album, genre: t.genre,
      tagged: t.tagged, duration: t.duration, size: t.size, type: t.type, addedAt: t.addedAt,
      source: t.source, demoFile: t.demoFile, credit: t.credit, sameAs: t.sameAs,
      descriptor: byId.has(t.id) ? toBase64(new Uint8Array(byId.get(t.id).buffer)) : null,
    })),
    weights: weights ? { format: 'safetensors', encoding: 'base64', data: toBase64(new Uint8Array(weights)) } : null,
  };
}

$('export').addEventListener('click', async () => {
  try {
    const doc = await buildExport();
    shown.lastExport = doc;
    const blob = new Blob([JSON.stringify(doc, null, 1)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `ainrec-history-${new Date().toISOString().slice(0, 10)}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    dataMessage(`Exported ${doc.items.length} history items and ${doc.tracks.length} tracks (no audio) to ${a.download}.`);
  } catch (err) {
    dataMessage(`Export failed: ${err.message}`, true);
  }
});

const isCount = (v) => v === undefined || v === null || (Number.isInteger(v) && v >= 0);

/** Checks an export file completely before anything is written; throws with the reason. */
function validateImport(doc) {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('it is not an ainrec export (not a JSON object)');
  if (doc.format !== EXPORT_FORMAT) throw new Error(`it is not an ainrec export (format is ${JSON.stringify(doc.format ?? null)}, expected "${EXPORT_FORMAT}")`);
  if (doc.export_version !== EXPORT_VERSION) throw new Error(`it is export version ${doc.export_version}; this page reads version ${EXPORT_VERSION}`);
  if (doc.version !== store.HISTORY_VERSION) throw new Error(`its history is version ${doc.version}; this page reads version ${store.HISTORY_VERSION}`);
  if (!Array.isArray(doc.items)) throw new Error('its "items" (the history) is missing');
  doc.items.forEach((it, i) => {
    if (!it || typeof it.id !== 'string' || !it.id) throw new Error(`items[${i}] has no id`);
    for (const k of ['plays', 'skips', 'full_listens']) {
      if (!isCount(it[k])) throw new Error(`items[${i}].${k} is not a non-negative integer`);
    }
    if (it.liked !== undefined && typeof it.liked !== 'boolean') throw new Error(`items[${i}].liked is not true/false`);
  });
  if (!Array.isArray(doc.tracks)) throw new Error('its "tracks" list is missing');
  const tracks = doc.tracks.map((t, i) => {
    if (!t || typeof t.id !== 'string' || !/^[0-9a-f]{64}$/.test(t.id)) throw new Error(`tracks[${i}] has no valid id`);
    let descriptor = null;
    if (t.descriptor) {
      try {
        descriptor = new Float32Array(fromBase64(t.descriptor).buffer);
      } catch {
        throw new Error(`tracks[${i}].descriptor is not base64`);
      }
      if (!descriptor.every(Number.isFinite)) throw new Error(`tracks[${i}].descriptor has NaN or infinite values`);
    }
    const { descriptor: _d, ...record } = t;
    // The rules the page applies when it reads the record back (store.js).
    const why = store.trackProblem({ ...record, cover: null });
    if (why) throw new Error(`tracks[${i}] cannot be kept: ${why}`);
    return {
      track: { ...record, cover: null },
      features: descriptor && doc.analysis_key ? { id: t.id, analysisKey: doc.analysis_key, descriptor } : null,
    };
  });
  let weights = null;
  if (doc.weights) {
    if (doc.weights.format !== 'safetensors' || typeof doc.weights.data !== 'string') throw new Error('its weights are not base64 safetensors');
    try { weights = fromBase64(doc.weights.data).buffer; } catch { throw new Error('its weights are not valid base64'); }
  }
  const portrait = doc.portrait && typeof doc.portrait === 'object' ? doc.portrait : {};
  return { tracks, history: { version: doc.version, items: doc.items, portrait }, weights };
}

$('import').addEventListener('change', async () => {
  const input = $('import');
  const file = input.files[0];
  input.value = '';
  if (!file) return;
  let parsed;
  try {
    let doc;
    try {
      doc = JSON.parse(await file.text());
    } catch {
      throw new Error('it is not valid JSON (damaged or not an export)');
    }
    parsed = validateImport(doc);
    if (doc.analysis_key && doc.analysis_key !== state.key) {
      // Descriptors of another extractor would mix two feature spaces: drop them; the
      // tracks come back without features and are analysed again when their files are dropped.
      for (const t of parsed.tracks) t.features = null;
    }
    await store.importAll(parsed);
  } catch (err) {
    const reason = err.quota ? 'the storage quota is full' : err.message;
    dataMessage(`Import of ${file.name} refused: ${reason}. Nothing was changed.`, true);
    return;
  }
  await reloadState();
  dataMessage(`Imported ${parsed.history.items.length} history items and ${parsed.tracks.length} tracks from ${file.name}.`);
});

$('forget').addEventListener('click', () => $('forget-dialog').showModal());
$('forget-cancel').addEventListener('click', () => $('forget-dialog').close());
$('forget-confirm').addEventListener('click', async () => {
  $('forget-dialog').close();
  audioEl.pause();
  audioEl.removeAttribute('src');
  audioEl.load();
  try {
    await store.forgetAll();
  } catch (err) {
    dataMessage(`Forget me failed: ${err.message}`, true);
    return;
  }
  for (const url of state.urls.values()) URL.revokeObjectURL(url);
  state.urls.clear();
  state.sessionFiles.clear();
  state.playing = null;
  badFilesEl.replaceChildren();
  $('bad-count').textContent = '0';
  $('bad-files-none').hidden = false;
  $('now-playing').textContent = 'Nothing playing. Press Play on a track.';
  $('track-info').textContent = '';
  $('mfcc-canvas').getContext('2d').clearRect(0, 0, 960, 200);
  await reloadState();
  dataMessage('Everything this page stored in this browser has been deleted.');
});

// ---------------------------------------------------------------- start-up
/** Names the damaged records store.js skipped while reading (they stay in the database). */
function showStoreProblems() {
  const problems = store.takeProblems();
  shown.storeProblems = problems;
  $('store-problems').hidden = !problems.length;
  if (!problems.length) return;
  $('store-problems-text').textContent = `${problems.length} damaged record${problems.length > 1 ? 's' : ''} in this `
    + 'browser\'s storage could not be used and were skipped (left as they are; everything else works, '
    + 'and Forget me clears them):';
  $('store-problems-list').replaceChildren(...problems.map((p) => {
    const li = document.createElement('li');
    li.textContent = p;
    return li;
  }));
}

async function reloadState() {
  try {
    const { tracks, history } = await store.loadAll(state.key);
    const features = await store.getAllFeatures(state.key);
    state.tracks = new Map(tracks.map((t) => [t.id, t]));
    state.descriptors = new Map(features.map((f) => [f.id, f.descriptor]));
    state.history = history;
    state.storageOk = true;
  } catch (err) {
    state.storageOk = false;
    show($('storage-warning'), `Nothing can be kept after a reload: ${err.message}.`);
  }
  renderLibrary();
  renderPortrait();
  await syncWeights();
  showStoreProblems();
  await showUsage();
}

async function start() {
  try {
    await ready();
  } catch {
    return;
  }
  state.key = await request({ type: 'key', options: LIBRARY_OPTIONS }).done;
  initModel();
  if (navigator.storage?.persist) {
    // Asked once; browsers may grant it silently (bookmarked, installed) or not at all.
    navigator.storage.persist().catch(() => false);
  }
  await reloadState();
  state.loaded = true;
  setStatus(state.tracks.size
    ? `Ready. ${state.tracks.size} tracks in your library.`
    : 'Ready. Drop audio files or a folder, or load the demo catalog.');
}
start();
