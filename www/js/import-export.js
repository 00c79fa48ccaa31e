// Your data: Export (one JSON file: the history, the track records with their descriptors,
// the fine-tuned weights; no audio), Import (checked completely before anything is written,
// then written in one transaction) and Forget me (the whole database deleted).
import * as store from '../store.js';
import { fromBase64, toBase64 } from './base64.js';
import { clearMfcc } from './heatmap.js';
import { clearBadFiles } from './library-view.js';
import { reloadState } from './load.js';
import { clearLoss } from './finetune.js';
import { audioAvailable, clearNowPlaying, stopPlayback } from './playback.js';
import { clearQueue } from './queue.js';
import { shown, state } from './state.js';
import { $, setStatus, show } from './ui.js';
import { workers } from './worker-rpc.js';

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

/** "Export". */
export async function exportData() {
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
}

/**
 * Checks an export file completely before anything is written; throws with the reason. Each
 * record is checked by the rules store.js applies when it reads it back, so that an import
 * holds only what the page can use after a reload, and the two checks cannot drift apart.
 */
function validateImport(doc) {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('it is not an ainrec export (not a JSON object)');
  if (doc.format !== EXPORT_FORMAT) throw new Error(`it is not an ainrec export (format is ${JSON.stringify(doc.format ?? null)}, expected "${EXPORT_FORMAT}")`);
  if (doc.export_version !== EXPORT_VERSION) throw new Error(`it is export version ${doc.export_version}; this page reads version ${EXPORT_VERSION}`);
  if (doc.version !== store.HISTORY_VERSION) throw new Error(`its history is version ${doc.version}; this page reads version ${store.HISTORY_VERSION}`);
  if (!Array.isArray(doc.items)) throw new Error('its "items" (the history) is missing');
  doc.items.forEach((it, i) => {
    const why = store.historyItemProblem(it);
    if (why) throw new Error(`items[${i}]: ${why}`);
  });
  if (!Array.isArray(doc.tracks)) throw new Error('its "tracks" list is missing');
  const tracks = doc.tracks.map((t, i) => {
    const isRecord = t !== null && typeof t === 'object' && !Array.isArray(t);
    const { descriptor: encoded, ...record } = isRecord ? t : {};
    // An export carries no audio: the page says so when such a track cannot play.
    const track = { ...record, cover: null, imported: record.source === 'file' ? true : undefined };
    const why = store.trackProblem(isRecord ? track : t);
    if (why) throw new Error(`tracks[${i}] cannot be kept: ${why}`);
    // A descriptor is kept only with the analysis key that made it: without one it is dropped.
    if (!encoded || !doc.analysis_key) return { track, features: null };
    let descriptor;
    try {
      descriptor = new Float32Array(fromBase64(encoded).buffer);
    } catch {
      throw new Error(`tracks[${i}].descriptor is not base64`);
    }
    const features = { id: t.id, analysisKey: doc.analysis_key, descriptor };
    const bad = store.featuresProblem({ ...features, key: store.featureKey(t.id, doc.analysis_key) });
    if (bad) throw new Error(`tracks[${i}].descriptor cannot be kept: ${bad}`);
    return { track, features };
  });
  let weights = null;
  if (doc.weights) {
    if (doc.weights.format !== 'safetensors' || typeof doc.weights.data !== 'string') throw new Error('its weights are not base64 safetensors');
    try { weights = fromBase64(doc.weights.data).buffer; } catch { throw new Error('its weights are not valid base64'); }
  }
  const portrait = doc.portrait && typeof doc.portrait === 'object' ? doc.portrait : {};
  return { tracks, history: { version: doc.version, items: doc.items, portrait }, weights };
}

/** The import input's `change`. */
export async function importData() {
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
  const silent = [...state.tracks.values()].filter((t) => !audioAvailable(t)).length;
  dataMessage(`Imported ${parsed.history.items.length} history items and ${parsed.tracks.length} tracks from ${file.name}.`
    + (silent ? ` An export carries no audio: ${silent} of the tracks cannot play in this browser until you use `
      + '“Re-link folder…” (or drop their files again); they are marked in the list.' : ''));
}

export const askForget = () => $('forget-dialog').showModal();
export const cancelForget = () => $('forget-dialog').close();

/** "Forget me", confirmed: everything this page stored in this browser is deleted. */
export async function forgetEverything() {
  $('forget-dialog').close();
  stopPlayback();
  try {
    await store.forgetAll();
  } catch (err) {
    dataMessage(`Forget me failed: ${err.message}`, true);
    return;
  }
  for (const url of state.urls.values()) URL.revokeObjectURL(url);
  state.urls.clear();
  state.sessionFiles.clear();
  // Every line and figure that spoke of the deleted data goes back to its state on a new visit.
  clearNowPlaying();
  clearQueue();
  clearBadFiles();
  clearLoss();
  $('track-info').textContent = '';
  clearMfcc();
  state.lastBatch = null;
  $('progress').value = 0;
  $('overall-progress').value = 0;
  $('overall-count').textContent = '';
  show($('playback-message'), '');
  show($('storage-warning'), '');
  $('portrait-saved').textContent = '';
  await reloadState();
  setStatus('Ready. Drop audio files or a folder, or load the demo catalog.');
  dataMessage('Everything this page stored in this browser has been deleted.');
}
