// The analysis queue: files dropped or chosen are filtered (audio by name or type; covers,
// playlists and notes are skipped quietly), queued, and analysed one at a time in a batch
// with its two progress bars, its Cancel and its summary line. Files dropped during a batch
// join it.
import { processFile } from './analyse.js';
import { AUDIO_NAME } from './config.js';
import { addBadFile } from './library-view.js';
import { shown, state } from './state.js';
import { $, setStatus, showUsage } from './ui.js';
import { cancelledError, ready, stopAnalysis } from './worker-rpc.js';

// In a dropped folder these are expected companions of music, not failures to report.
const COMPANION_NAME = /(\.(jpe?g|png|gif|bmp|webp|txt|nfo|m3u8?|pls|cue|log|pdf|db|ini|sfv|md5|accurip|url|xml|json)$)|(^\.)/i;

function updateOverall() {
  const b = state.batch;
  if (!b) {
    $('overall-progress').value = 0;
    $('overall-count').textContent = '';
    return;
  }
  $('overall-progress').value = b.total ? (b.done + b.fraction) / b.total : 0;
  $('overall-count').textContent = `(${b.done} of ${b.total})`;
}

/** Cancel: stops the file in progress at once (its worker is terminated) and drops the queue. */
export function cancelBatch() {
  const b = state.batch;
  if (!b || b.cancelled) return;
  b.cancelled = true;
  b.cancelAt = performance.now();
  b.rejectCancel(cancelledError());
  state.queue.length = 0;
  if (state.current) stopAnalysis();
  setStatus('Cancelling…');
}

/** Adds files ({file, handle?, path?}) to the library (queued; one analysis at a time). What
 * counts as audio is known once the worker is ready; drops before that wait for it, in order. */
export async function addFiles(entries) {
  try {
    await ready();
  } catch {
    return; // the page already says the analyser could not load
  }
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
    total: state.queue.length, done: 0, fraction: 0, added: 0, known: 0, relinked: 0, failed: 0,
    cancelled: false, cancelAt: null, started: performance.now(), analyseMs: 0, files: [],
  };
  b.cancelSignal = new Promise((_, reject) => { b.rejectCancel = reject; });
  b.cancelSignal.catch(() => {});
  state.batch = b;
  $('cancel').disabled = false;
  updateOverall();
  try {
    await ready();
  } catch {
    return;
  }
  const progress = (fraction) => {
    $('progress').value = fraction;
    b.fraction = fraction;
    updateOverall();
  };
  while (state.queue.length && !b.cancelled) {
    const entry = state.queue.shift();
    b.fraction = 0;
    $('progress').value = 0;
    const record = { name: entry.path || entry.file.name, outcome: null, progress: 0 };
    b.files.push(record);
    const fileStarted = performance.now();
    try {
      const outcome = await processFile(entry, b, progress);
      record.outcome = outcome;
      record.progress = 1;
      record.ms = performance.now() - fileStarted; // read + tags + decode + analysis + store
      if (outcome === 'known') b.known += 1;
      else if (outcome === 'relinked') b.relinked += 1;
      else if (outcome === 'added') b.added += 1;
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
  if (b.relinked) parts.push(`${b.relinked} re-linked (their audio plays again)`);
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
  $('cancel').disabled = true;
  // The bars keep the final state (100 % when all went through) until the next batch.
  $('overall-progress').value = b.total ? b.done / b.total : 0;
  $('overall-count').textContent = `(${b.done} of ${b.total})`;
  showUsage();
}
