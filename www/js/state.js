// The page's state, in one place: the library and the history as this tab holds them (what
// store.js keeps; loaded at start-up and after an import or Forget me), this session's files,
// playback and analysis queue, the recommender's state, and what the page last computed and
// showed. Modules change it; the test hook only reads it. Nothing here touches the DOM: a
// module that changes the library or the history calls changed(), and the views that app.js
// subscribed redraw.
import * as store from '../store.js';

export const state = {
  tracks: new Map(), // id -> track record (+ hasFeatures, hasAudio)
  descriptors: new Map(), // id -> Float32Array (for "same track" checks and the model's rows)
  musicnn: new Map(), // id -> {descriptor: Float32Array, names}: musicnn's 50 tags + embedding
  history: store.emptyHistory(),
  storageOk: false,
  key: null, // the analysis key of LIBRARY_OPTIONS, from the worker at start-up
  loaded: false, // the stored library and history are on the page
  sessionFiles: new Map(), // id -> File of this session: plays without any storage
  urls: new Map(), // Blob -> object URL, revoked on forget
  playing: null, // id of the track in the <audio> element
  queue: [], // files waiting for their analysis
  current: null, // {id, name} of the analysis in progress
  batch: null, // the batch being analysed (see batch.js)
  lastBatch: null, // the summary of the last batch that ended
  batchesDone: 0,
};

// The browser model in the compute worker, as the page knows it: which library rows it was
// given (every track with a descriptor of this page's analysis key, one row per recording),
// which weights it holds, and whether a ranking or a fine-tuning run is under way.
export const model = {
  ready: null, ok: false, error: null, analysisKey: null, descriptorLength: 0,
  rows: [], rowIndex: new Map(), librarySig: null, recSig: null, timer: null,
  running: false, again: false, tuning: null, weights: 'shipped', weightsVersion: 0,
  usesPortrait: false,
};

// What the page computed and showed, kept for the test hook and the console.
export const shown = {
  last: null, // the last file analysed (its MFCC, descriptor, timings), or the one cancelled
  lastTags: null, // musicnn's output for the last file tagged: {id, names, descriptor, patches}
  stats: { analysed: 0, cacheHits: 0, bad: 0 },
  sameDistances: [], // every "same track" descriptor distance measured
  recommendations: [],
  recommendedFor: null, // the history ids the recommendations shown were computed for
  recommendMs: [],
  recommendRuns: 0,
  lossPoints: [], // the fine-tuning run's loss per step
  fineTune: null, // the last fine-tuning run's outcome, set when it has ended
  lastExport: null,
  storeProblems: [],
  queue: null, // the radio's "Up next" as last drawn: {mode, seedId, ids, note, heard}
  mediaSession: null, // the media session's metadata as last set
};

const listeners = [];

/** Has `fn` called after every change of the library or the history. */
export function onChange(fn) {
  listeners.push(fn);
}

/** Says the library or the history changed. The views redraw now, synchronously: a like
 * lights up on the click, not after its disk write. */
export function changed() {
  for (const fn of listeners) fn();
}

/** The id of the recording `t` is a file of: "same track" files share their first one's. */
export const canonical = (t) => t.sameAs || t.id;

/** One object URL per Blob, made on first use and revoked on Forget me. */
export function objectUrl(blob) {
  if (!state.urls.has(blob)) state.urls.set(blob, URL.createObjectURL(blob));
  return state.urls.get(blob);
}
