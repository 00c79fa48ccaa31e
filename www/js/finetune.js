// "Learn my taste": fine-tuning the browser model on this visitor's history in the compute
// worker, with its loss plotted as it runs; Stop and Reset model. The worker decides whether
// the new weights are kept (a held-out check, a roll-back on NaN); this module stores kept
// weights and says what happened.
import * as store from '../store.js';
import { params } from './config.js';
import {
  ensureLibrary, historySteps, scheduleRecommend, updateModelControls,
} from './recommend.js';
import { model, shown } from './state.js';
import { $, showUsage, storageProblem } from './ui.js';
import { cancelRequest, request } from './worker-rpc.js';

// Test-only: `?finetuneLr=` overrides the learning rate (a huge one forces a NaN roll-back).
const FINETUNE_LR = params.has('finetuneLr') ? Number(params.get('finetuneLr')) : null;

// The run holds out the last plays to check its result only from this many history items on
// (src/model/browser/finetune.rs: no held-out plays below 10): with fewer there is nothing to
// check against, so the page does not run it, and keeps nothing.
export const MIN_HISTORY = 10;

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
  // The axes' labels: the loss's range on the left, the steps below.
  $('loss-max').textContent = finite.length ? hi.toFixed(2) : '';
  $('loss-min').textContent = finite.length ? lo.toFixed(2) : '';
  $('loss-steps').textContent = pts.length ? `step ${pts.length}` : '';
  const last = finite[finite.length - 1];
  $('loss-plot').setAttribute('aria-label', `Training loss per step: ${pts.length} steps${last ? `, from ${finite[0].loss.toFixed(3)} to ${last.loss.toFixed(3)}` : ''}`);
}

// The check's mean reciprocal rank as a rank: 1 / MRR, the harmonic mean of the held-out plays'
// ranks ("found at rank 3 on average").
const asRank = (mrr) => (mrr > 0 ? (1 / mrr).toFixed(1) : 'beyond the list');

function describeOutcome(o, ms) {
  const runs = `${o.steps} steps in ${(ms / 1000).toFixed(1)} s.`;
  const n = o.held_out.length;
  const mrr = (v) => v.toFixed(3);
  if (o.before === null || o.before === undefined) {
    return `Nothing kept: there were no plays to check the result on (the held-out last plays were all skipped). ${runs}`;
  }
  if (o.kept) {
    return `Kept: your last ${n} plays (held out from training) would now be found at rank ${asRank(o.after)} `
      + `on average instead of ${asRank(o.before)} (mean reciprocal rank ${mrr(o.after)}, before ${mrr(o.before)}); `
      + `the weights are saved in this browser. ${runs}`;
  }
  const after = Number.isFinite(o.after) ? `, after ${mrr(o.after)}` : '';
  const why = o.rolled_back || 'no step was run';
  return `Rolled back to the previous weights: ${why}. Your last ${n} plays (held out) ranked: before `
    + `${mrr(o.before)}${after} (mean reciprocal rank). The loss falls on the plays it trains on; the check on `
    + `plays it did not see decides. ${runs}`;
}

/** Shows a result and keeps it for after a reload. */
async function keepResult(text) {
  $('finetune-result').textContent = text;
  try {
    await store.putNote('finetune', { text, at: new Date().toISOString() });
  } catch {
    // The result is on the page; only its copy for after a reload is lost.
  }
}

/** The last run's result, as it was said (at start-up; the weights themselves are loaded by recommend.js). */
export async function showKeptResult() {
  let note = null;
  try {
    note = await store.getNote('finetune');
  } catch {
    note = null;
  }
  if (note?.text && !$('finetune-result').textContent) {
    $('finetune-result').textContent = `Last run (${note.at.slice(0, 16).replace('T', ' ')} UTC): ${note.text}`;
  }
}

/** "Learn my taste". */
export async function startFineTune() {
  if (!model.ok || model.tuning) return;
  try {
    await ensureLibrary();
  } catch (err) {
    $('finetune-result').textContent = `Cannot learn: ${err.message}`;
    return;
  }
  const { steps } = historySteps();
  if (steps.length < MIN_HISTORY) {
    const more = MIN_HISTORY - steps.length;
    $('finetune-result').textContent = `Not run, nothing kept: learning needs ${MIN_HISTORY} tracks in your history `
      + `(its last plays are held out to check it); you have ${steps.length}. Play ${more} more and try again.`;
    shown.fineTune = { refused: true, needed: more };
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
    // Only weights that passed the check are kept: a run with nothing to check (kept by the
    // model for want of a check) is undone here.
    const checked = outcome.before !== null && outcome.before !== undefined;
    if (outcome.kept && !checked) {
      model.tuning = null;
      await restoreWeights();
      outcome.kept = false;
    }
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
    await keepResult(text);
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
}

/** Puts the weights the page had before a run back into the model (the stored ones, else the shipped). */
async function restoreWeights() {
  const stored = await store.getWeights().catch(() => null);
  if (stored) await request({ type: 'loadWeights', bytes: stored }).done;
  else await request({ type: 'reset' }).done;
  model.weightsVersion += 1;
}

/** Empties the loss plot and the result (Forget me). */
export function clearLoss() {
  shown.lossPoints = [];
  shown.fineTune = null;
  drawLoss();
  $('finetune-result').textContent = '';
}

/** Stop: the worker cancels the run, and the weights it started from stay. */
export function stopFineTune() {
  if (model.tuning) cancelRequest(model.tuning.id);
}

/** Reset model: the shipped weights again, the stored fine-tuned ones deleted. */
export async function resetModel() {
  if (!model.ok || model.tuning) return;
  try {
    await request({ type: 'reset' }).done;
    await store.deleteWeights();
    model.weights = 'shipped';
    model.weightsVersion += 1;
    $('finetune-result').textContent = 'Back to the shipped weights; your fine-tuned ones are deleted.';
    await store.putNote('finetune', null).catch(() => {});
  } catch (err) {
    $('finetune-result').textContent = `Reset failed: ${err.message}`;
  }
  updateModelControls();
  scheduleRecommend();
  showUsage();
}
