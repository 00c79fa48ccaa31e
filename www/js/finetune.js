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
  } catch (err) {
    $('finetune-result').textContent = `Reset failed: ${err.message}`;
  }
  updateModelControls();
  scheduleRecommend();
  showUsage();
}
