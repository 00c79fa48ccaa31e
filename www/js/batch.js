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

// What a file that is not audio is, by its name or type, to say why it was not added: every
// dropped file that is not added is listed (a folder's cover and notes too), never skipped
// without a word.
const NOT_AUDIO = [
  [/\.(jpe?g|png|gif|bmp|webp|avif|heic|tiff?)$/i, 'an image'],
  [/\.pdf$/i, 'a PDF document'],
  [/\.(txt|nfo|log|md|rtf|docx?)$/i, 'a text document'],
  [/\.(m3u8?|pls|cue|xspf)$/i, 'a playlist or cue sheet (drop the tracks it lists to add them)'],
  [/\.(sfv|md5|accurip|ffp)$/i, 'a checksum file'],
  [/\.(db|ini|url|xml|json|plist)$/i, 'a data or settings file'],
  [/\.(mp4|mkv|avi|mov|webm)$/i, 'a video file (only audio files are taken)'],
  [/^\./, 'a hidden system file'],
];

function notAudioReason(file) {
  const kind = NOT_AUDIO.find(([re]) => re.test(file.name))?.[1]
    || (file.type ? `of type ${file.type}` : 'of a kind this page does not take');
  return `not added: it is ${kind}, not audio`;
}

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

// Files that were not audio, counted into the batch they came with (or the next one).
let pendingNotAudio = 0;
function shownNotAudio(n) {
  if (state.batch) state.batch.notAudio += n;
  else pendingNotAudio += n;
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
  let notAudio = 0;
  for (const e of entries) {
    const name = e.file.name;
    if (!AUDIO_NAME.test(name) && !(e.file.type || '').startsWith('audio/')) {
      addBadFile(e.path || name, notAudioReason(e.file));
      notAudio += 1;
      continue;
    }
    audio.push(e);
  }
  if (notAudio) shownNotAudio(notAudio);
  if (!audio.length) {
    if (notAudio && !state.batch) {
      pendingNotAudio = 0;
      setStatus(`${notAudio} file${notAudio > 1 ? 's' : ''} not added: not audio (listed below).`);
    }
    return;
  }
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
    total: state.queue.length, done: 0, fraction: 0, added: 0, known: 0, relinked: 0, failed: 0, notAudio: pendingNotAudio,
    cancelled: false, cancelAt: null, started: performance.now(), analyseMs: 0, files: [],
  };
  pendingNotAudio = 0;
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
  if (b.notAudio) parts.push(`${b.notAudio} not audio (listed below)`);
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
