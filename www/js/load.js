// Start-up, and reading what this browser kept back into the page's state: at start-up and
// after an import or Forget me, the library, the history and the weights come from store.js,
// the damaged records it skipped are named, and every view is redrawn from the new state.
import * as store from '../store.js';
import { LIBRARY_OPTIONS } from './config.js';
import { renderPortrait } from './portrait.js';
import { showKeptResult } from './finetune.js';
import { initModel, syncWeights } from './recommend.js';
import { changed, shown, state } from './state.js';
import {
  $, setStatus, show, showUsage,
} from './ui.js';
import { ready, request } from './worker-rpc.js';

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

export async function reloadState() {
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
  changed();
  renderPortrait();
  await syncWeights();
  await showKeptResult();
  showStoreProblems();
  await showUsage();
}

/** Once the analyser is up: the analysis key, the model, the stored library and history. */
export async function start() {
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
