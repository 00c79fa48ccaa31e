// Recommendations: the browser model lives in the compute worker (a wasm `Recommender`); this
// module loads it and its weights, gives it the library (the rows it ranks) and the history
// mapped onto those rows, asks for a ranking when either changed (debounced; the diversity
// rule is the Rust one, applied in the worker) and shows it with what each pick attended to.
import * as store from '../store.js';
import { entryText } from './format.js';
import { viridis } from './heatmap.js';
import { playTrack } from './playback.js';
import { model, shown, state } from './state.js';
import { $, button } from './ui.js';
import { request } from './worker-rpc.js';

const REC_K = 10;
const RECOMMEND_DEBOUNCE_MS = 300;
const BECAUSE_TOP = 3;

function modelStatus(text, isError = false) {
  $('model-status').textContent = text;
  $('model-status').classList.toggle('error', isError);
}

export function updateModelControls() {
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

/** Loads the model in the compute worker; resolves to whether it can rank this page's descriptors. */
export function initModel() {
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

/** Loads the model again into a new compute worker (one that replaced a worker that trapped),
 * with this browser's weights and, on the next ranking, the library. */
export function reloadModel() {
  if (!model.ready) return;
  Object.assign(model, { ok: false, librarySig: null, recSig: null });
  initModel().then((ok) => (ok ? syncWeights() : null)).catch(() => {});
}

/** Loads the stored fine-tuned weights into the model, or the shipped ones when none are stored. */
export async function syncWeights() {
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
export async function ensureLibrary() {
  const rows = libraryRows();
  // Each row's artist as the visitor sees it (the Rust diversity rule normalises it): a changed
  // artist tag changes the signature, so the worker gets the library again.
  const artists = rows.map((id) => state.tracks.get(id)?.artist || '');
  const sig = JSON.stringify([rows, artists]);
  if (sig === model.librarySig) return;
  if (!rows.length) {
    // Nothing to rank: the worker keeps its previous rows, none of which is referenced.
    Object.assign(model, { rows: [], rowIndex: new Map(), librarySig: sig });
    return;
  }
  const all = new Float32Array(rows.length * model.descriptorLength);
  rows.forEach((id, i) => all.set(state.descriptors.get(id), i * model.descriptorLength));
  await request({ type: 'setLibrary', descriptors: all, artists }, { transfer: [all.buffer] }).done;
  model.rows = rows;
  model.rowIndex = new Map(rows.map((id, i) => [id, i]));
  model.librarySig = sig;
}

/** The history (oldest first) as the model's steps, and the track id of each step. */
export function historySteps() {
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

/** Asks for a new ranking soon: changes in a burst (a batch of files, key repeats) make one. */
export function scheduleRecommend() {
  if (!model.ok) return;
  clearTimeout(model.timer);
  model.timer = setTimeout(() => { model.timer = null; recompute(); }, RECOMMEND_DEBOUNCE_MS);
}

function diversityLimit() {
  const n = Math.round(Number($('diversity-n').value));
  return $('diversity').checked && n >= 1 ? n : 0; // 0: no limit
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
      // The diversity rule runs in Rust (ranking/diversity.rs), as `ainrec recommend --diversity`.
      const { list, ms } = await request({ type: 'recommend', history: steps, exclude: [], k: REC_K, diversity: limit }).done;
      shown.recommendMs.push(ms);
      renderRecommendations(list, ids);
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
