// One file of a batch, in steps: inspect (size, hash and tags, duration) -> decode (Web
// Audio, mono at the analysis rate) -> analyse (the analysis worker) -> record (the track,
// its "same track" check, IndexedDB, the library), with the heat-map and the track line
// shown in between. A step that refuses the file throws with the reason, which the batch
// lists under "Files not added".
import * as store from '../store.js';
import {
  ANALYSIS_RATE, LIBRARY_OPTIONS, MIN_TRACK_S, MUSICNN_KEY, MUSICNN_PATCH_S, MUSICNN_RATE,
} from './config.js';
import {
  checkDuration, checkSize, decodeToMonoAt, inspectFile,
} from './decode.js';
import { formatDuration, norm, stem } from './format.js';
import { drawMfcc } from './heatmap.js';
import { addBadFile } from './library-view.js';
import {
  canonical, changed, shown, state,
} from './state.js';
import { $, setStatus, storageProblem } from './ui.js';
import { cancelledError, request } from './worker-rpc.js';

// Audio kept in IndexedDB for playback after a reload, per file; bigger files need a file
// handle (drag and drop in Chromium gives one) or are dropped again.
const MAX_STORED_AUDIO_BYTES = 64 * 2 ** 20;
// Two files are "the same track" when their tags (title + artist) agree and their durations
// are within this; or, whatever the tags, when their descriptors are this close (relative
// L2 distance). Measured in the e2e test on 15 s CC excerpts: a WAV and its 128 kbit/s MP3
// 0.013; the closest two different tracks 0.16. 0.05 sits between with margin both ways.
const SAME_DURATION_S = 1.0;
const SAME_DESCRIPTOR_DIST = 0.05;

/** Resolves as `promise`, or rejects at once when the batch is cancelled (decoding cannot be
 * interrupted, so it is abandoned: its result is dropped when it arrives). */
function guard(b, promise) {
  promise.catch(() => {}); // an abandoned decode may still fail later: nobody waits for it
  return Promise.race([promise, b.cancelSignal]);
}

const counter = (b) => `${b.done + 1} of ${b.total}`;

/**
 * Analyses one file of batch `b` and adds it to the library; resolves to 'added', or 'known'
 * when the same bytes were analysed before. `progress(fraction)` follows the analysis.
 */
export async function processFile({
  file, handle, path, relinkOnly,
}, b, progress) {
  const name = path || file.name;
  const inspected = await inspectStep(file, name, b);
  const known = state.tracks.get(inspected.hash);
  if (known && known.hasFeatures) {
    // The same bytes were analysed before (under this analysis key): nothing to compute.
    shown.stats.cacheHits += 1;
    const relinked = !known.hasAudio && known.source !== 'demo' && !state.sessionFiles.has(known.id);
    state.sessionFiles.set(known.id, file);
    // Dropped again after an import or a full quota: keep its audio now if it has none.
    if (!known.hasAudio && known.source !== 'demo') await keepAudio(known, file, handle);
    changed();
    return relinked ? 'relinked' : 'known';
  }
  // "Re-link folder" gives audio back to the library's tracks; it adds nothing new.
  if (relinkOnly) {
    throw new Error('not a file of your library (Re-link folder only gives audio back to the tracks you have; '
      + 'drop or choose it to add it)');
  }
  const [pcm, pcm16k] = await decodeStep(file, name, b);
  const duration = pcm.length / ANALYSIS_RATE;
  if (duration < MIN_TRACK_S) {
    throw new Error(`it is ${duration.toFixed(2)} s long: shorter than the ${MIN_TRACK_S} s a track needs `
      + `(the analysis describes at least ${MIN_TRACK_S} s of sound); not added`);
  }
  const { result, ms } = await analyseStep(pcm, name, duration, b, progress);
  showAnalysis(name, inspected.hash, duration, result, ms);
  const track = await recordStep(file, name, inspected, duration, result);
  changed();
  await keepAudio(track, file, handle);
  await tagStep(track, pcm16k, result, name, b);
  return 'added';
}

/**
 * musicnn's tags of the analysed span (the same 30 s as the descriptors, rendered at 16 kHz),
 * stored under their own key. The track is already in the library: a failure here is said on
 * the status line and loses nothing; a span shorter than one 3 s patch has no tags.
 */
async function tagStep(track, pcm16k, result, name, b) {
  const from = Math.round((result.spanStart / ANALYSIS_RATE) * MUSICNN_RATE);
  const n = Math.round((result.spanLength / ANALYSIS_RATE) * MUSICNN_RATE);
  const span = pcm16k.slice(from, Math.min(pcm16k.length, from + n));
  if (span.length < MUSICNN_PATCH_S * MUSICNN_RATE || b.cancelled) return;
  setStatus(`Tagging ${name} (musicnn; ${counter(b)})…`);
  const req = request({ type: 'tag', pcm: span }, {
    transfer: [span.buffer], to: 'analysis', doing: `tagging ${name}`,
  });
  state.current = { id: req.id, name };
  try {
    const r = await req.done;
    state.musicnn.set(track.id, { descriptor: r.descriptor, names: r.names });
    shown.lastTags = {
      id: track.id, names: r.names, descriptor: Array.from(r.descriptor), patches: r.patches,
    };
    await store.putFeatures({ id: track.id, analysisKey: MUSICNN_KEY, descriptor: r.descriptor });
  } catch (err) {
    if (err.cancelled) return;
    setStatus(`${name} was added; its musicnn tags could not be computed: ${err.message}`);
  } finally {
    state.current = null;
  }
}

async function inspectStep(file, name, b) {
  checkSize(file);
  setStatus(`Reading ${name} (${counter(b)})…`);
  const inspected = await guard(b, inspectFile(file));
  checkDuration(file, inspected);
  return inspected;
}

async function decodeStep(file, name, b) {
  setStatus(`Decoding ${name} (${counter(b)})…`);
  const pcm = await guard(b, file.arrayBuffer().then((bytes) => decodeToMonoAt(bytes, [ANALYSIS_RATE, MUSICNN_RATE])));
  if (b.cancelled) throw cancelledError();
  return pcm;
}

async function analyseStep(pcm, name, duration, b, progress) {
  setStatus(`Analysing ${name} (${formatDuration(duration)}; ${counter(b)})…`);
  const t0 = performance.now();
  const req = request({ type: 'analyze', pcm, sampleRate: ANALYSIS_RATE, options: LIBRARY_OPTIONS }, {
    transfer: [pcm.buffer],
    onProgress: progress,
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
  return { result, ms };
}

/** The view of the file just analysed: its heat-map, its line, and the test hook's `last`. */
function showAnalysis(name, id, duration, result, ms) {
  $('progress').value = 1;
  if (result.mfcc) drawMfcc(result.mfcc);
  $('track-info').textContent = `${name} — ${formatDuration(duration)}, ${result.nFrames} frames, `
    + `descriptor of ${result.descriptor.length} values, analysed in ${ms.toFixed(0)} ms`;
  shown.last = {
    name, id, duration, sampleRate: ANALYSIS_RATE, hopLength: result.hopLength,
    nFrames: result.mfcc?.nFrames, nMfcc: result.mfcc?.nCoeffs,
    mfcc: result.mfcc ? Array.from(result.mfcc.data) : null,
    descriptor: Array.from(result.descriptor), names: result.names, key: result.key, millis: ms,
  };
}

/** Makes the library entry, stores it with its descriptor and puts it in the state. */
async function recordStep(file, name, inspected, duration, result) {
  const id = inspected.hash;
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
  return track;
}

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
