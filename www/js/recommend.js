// Recommendations: the browser model lives in the compute worker (a wasm `Recommender`); this
// module loads it and its weights, gives it the library (the rows it ranks) and the history
// mapped onto those rows, asks for a ranking when either changed (debounced; the diversity
// rule is the Rust one, applied in the worker) and shows it with what each pick attended to.
import * as store from '../store.js';
import { params } from './config.js';
import { entryText } from './format.js';
import { viridis } from './heatmap.js';
import { playTrack } from './playback.js';
import { historyWeight, modelSignals } from './history.js';
import { radio, setQueue } from './queue.js';
import {
  canonical, model, shown, state,
} from './state.js';
import { $, button } from './ui.js';
import { request } from './worker-rpc.js';

// Test-only: `?recK=N` shows N recommendations instead of 10 (the e2e test reads the scores of
// the whole library to see what a dislike does to a track's neighbours).
const REC_K = Math.max(1, Math.min(200, Number(params.get('recK')) || 10));
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

/** The history (oldest first) as the model's steps, the track id and history item of each step. */
export function historySteps() {
  const steps = [];
  const ids = [];
  const items = [];
  for (const it of state.history.items) {
    const row = model.rowIndex.get(it.id);
    if (row === undefined) continue;
    steps.push({ item: row, ...modelSignals(it) });
    ids.push(it.id);
    items.push(it);
  }
  return { steps, ids, items };
}

const stepWeight = (s) => Math.log1p(s.plays) + (s.liked ? 1 : 0) - Math.log1p(s.skips);

/** "Start radio from this track": the history with the seed weighing as much as all the rest
 * together (at least as one liked play), so the ranking is "like this track, for you". */
function seedSteps(steps, seedRow) {
  const others = steps.filter((s) => s.item !== seedRow);
  const rest = others.reduce((a, s) => a + Math.abs(stepWeight(s)), 0);
  // ln(1 + plays) + 1 (the like) = max(ln 2, rest − 1) + 1 ≥ rest.
  const plays = Math.min(1e6, Math.expm1(Math.max(Math.LN2, rest - 1)));
  return [...others, { item: seedRow, plays, liked: true, skips: 0 }];
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

const rowOf = (id) => {
  const t = state.tracks.get(id);
  return t ? model.rowIndex.get(canonical(t)) : undefined;
};

async function recompute() {
  if (!model.ok) return;
  if (model.running || model.tuning) {
    model.again = true;
    return;
  }
  model.running = true;
  try {
    await ensureLibrary();
    const { steps, ids, items } = historySteps();
    const limit = diversityLimit();
    const sig = JSON.stringify([model.librarySig.length, model.librarySig.slice(0, 64), steps, limit,
      model.weightsVersion, radio.mode, radio.seedId, state.playing]);
    if (sig === model.recSig) return;
    let list = [];
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
      ({ list } = await request({ type: 'recommend', history: steps, exclude: [], k: REC_K, diversity: limit }).done
        .then((r) => { shown.recommendMs.push(r.ms); return r; }));
      renderRecommendations(list, ids, items);
      shown.recommendedFor = ids;
    }
    await refillQueue(list, steps, limit);
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

/** The radio's queue after a re-rank (see queue.js for its modes). */
async function refillQueue(list, steps, limit) {
  const playingRow = rowOf(state.playing);
  const exclude = playingRow === undefined ? [] : [playingRow];
  let ids = list.map((r) => model.rows[r.item]);
  const seedRow = radio.mode === 'seed' ? rowOf(radio.seedId) : undefined;
  if (seedRow !== undefined) {
    const seeded = seedSteps(steps, seedRow);
    if (model.rows.length > seeded.length + exclude.length) {
      const r = await request({
        type: 'recommend', history: seeded, exclude, k: REC_K, diversity: limit,
      }).done;
      ids = r.list.map((x) => model.rows[x.item]);
    } else {
      ids = [];
    }
  }
  ids = ids.filter((id) => id !== state.playing);
  if (ids.length || !steps.length) {
    setQueue(ids);
    return;
  }
  // Nothing unheard is left: the heard tracks, each scored against the rest of the history.
  const r = await request({
    type: 'rankHeard', history: seedRow === undefined ? steps : seedSteps(steps, seedRow), rows: model.rows.length, k: REC_K,
  }).done;
  const heard = r.list.map((x) => model.rows[x.item]).filter((id) => id !== state.playing);
  setQueue(heard, {
    heard: true,
    note: heard.length
      ? 'You have heard every track in your library: the radio goes on with the heard ones that score best '
        + '(each ranked against the rest of your history; skipped and disliked ones are left out).'
      : 'You have heard every track, and skipped or disliked the rest: add more music for the radio.',
  });
}

function titleOf(id) {
  const t = state.tracks.get(id);
  return t ? entryText(t).title : 'a removed track';
}

const times = (n) => (n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`);

/**
 * The explanation of one pick. A history item's part in it is its attention weight times its
 * weight in the history (plays, a like, less skips and a dislike: historyWeight). The reasons
 * "for" are the items with the largest positive parts, each said as played or liked; an item
 * the visitor skipped or disliked is never one of them: where its part lowers the pick, it is
 * named as "less like X, which you skipped".
 */
export function explain(attention, stepItems) {
  const parts = attention.map((a, j) => ({ item: stepItems[j], part: a * historyWeight(stepItems[j]) }));
  const negative = (it) => it.disliked || ((it.skips || 0) > (it.plays || 0) && !it.liked);
  const pros = parts.filter((p) => p.part > 0 && !negative(p.item)).sort((a, b) => b.part - a.part);
  const total = pros.reduce((a, p) => a + p.part, 0);
  // Name up to three, each with at least a tenth of the positive parts (the first always).
  const cited = pros.slice(0, BECAUSE_TOP).filter((p, k) => k === 0 || p.part >= 0.1 * total);
  const cons = parts.filter((p) => p.part < 0).sort((a, b) => a.part - b.part).slice(0, 1);
  return {
    because: cited.map((p) => ({
      id: p.item.id, did: p.item.liked ? 'liked' : 'played', plays: p.item.plays || 0, share: p.part / total,
    })),
    against: cons.map((p) => ({ id: p.item.id, did: p.item.disliked ? 'disliked' : 'skipped' })),
  };
}

function becauseText({ because, against }) {
  const list = (xs) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);
  const parts = [];
  if (because.length) {
    // "Because you liked A and played B twice".
    const words = because.map((b) => (b.did === 'liked' ? `liked ${titleOf(b.id)}`
      : `played ${titleOf(b.id)}${b.plays > 1 ? ` ${times(b.plays)}` : ''}`));
    parts.push(`Because you ${list(words)}`);
  }
  for (const a of against) parts.push(`less like ${titleOf(a.id)}, which you ${a.did}`);
  if (!parts.length) return 'Close to nothing you played or liked: a pick from the rest of your library.';
  const text = parts.join('; ');
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

function renderRecommendations(list, ids, items) {
  const frag = document.createDocumentFragment();
  shown.recommendations = [];
  list.forEach((r, pos) => {
    const id = model.rows[r.item];
    const t = state.tracks.get(id);
    const { title, who } = entryText(t);
    // Attention covers the last attention.length steps of the history, oldest first.
    const stepIds = ids.slice(ids.length - r.attention.length);
    const stepItems = items.slice(items.length - r.attention.length);
    const li = document.createElement('li');
    li.dataset.id = id;
    const head = document.createElement('div');
    head.className = 'rec-head';
    const name = document.createElement('span');
    const strong = document.createElement('strong');
    strong.textContent = title;
    name.append(strong, who ? ` — ${who}` : '');
    // No raw score: the list's order is the statement. Where the diversity rule placed a pick
    // above ones the model scored higher, that is said.
    const moved = document.createElement('span');
    moved.className = 'moved';
    moved.dataset.testid = 'moved';
    moved.textContent = r.model_rank > pos ? `moved up to vary artists (the model's #${r.model_rank + 1})` : '';
    head.append(name, button('Play', 'play', `Play ${title}`, () => playTrack(id)));
    const why = explain(r.attention, stepItems);
    const because = document.createElement('p');
    because.className = 'because';
    because.dataset.testid = 'because';
    because.textContent = becauseText(why);
    const map = document.createElement('div');
    map.className = 'attention';
    map.dataset.testid = 'attention';
    map.setAttribute('role', 'img');
    const top = why.because[0];
    map.setAttribute('aria-label', `Attention over your last ${r.attention.length} history items, oldest first`
      + `${top ? `; most on ${titleOf(top.id)}` : ''}`);
    const max = Math.max(...r.attention) || 1;
    r.attention.forEach((w, j) => {
      const cell = document.createElement('span');
      cell.dataset.weight = String(w);
      cell.title = `${titleOf(stepIds[j])}: ${(100 * w).toFixed(1)} %`;
      const [cr, cg, cb] = viridis(w / max);
      cell.style.backgroundColor = `rgb(${cr}, ${cg}, ${cb})`;
      map.append(cell);
    });
    li.append(head, because, moved, map);
    frag.append(li);
    shown.recommendations.push({
      id, title, artist: t.artist, score: r.score, attention: r.attention, modelRank: r.model_rank,
      because: why.because, against: why.against, text: because.textContent,
    });
  });
  $('recommendations-empty').hidden = true;
  $('recommendations').replaceChildren(frag);
}
