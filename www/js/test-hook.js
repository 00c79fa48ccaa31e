// The test hook, window.ainrec (read by tests/e2e/*.mjs; handy in the console too). It reads
// the page's state through getters and holds none of its own, so what a test sees is what the
// page itself works from, never a copy that could drift from it.
import { listening } from './listening.js';
import { model, shown, state } from './state.js';
import { ready, workers } from './worker-rpc.js';

export function testHook() {
  return {
    get ready() { return ready(); },
    get version() { return workers.version; },
    get key() { return state.key; },
    get loaded() { return state.loaded; },
    get last() { return shown.last; },
    get lastTags() { return shown.lastTags; },
    get stats() { return shown.stats; },
    get batch() { return state.batch; },
    get lastBatch() { return state.lastBatch; },
    get batchesDone() { return state.batchesDone; },
    get sameDistances() { return shown.sameDistances; },
    get workerRestarts() { return workers.restarts; },
    get internalErrors() { return workers.internalErrors; },
    get analysisWorkers() { return workers.analysisStarted; },
    get recommendations() { return shown.recommendations; },
    get recommendedFor() { return shown.recommendedFor; },
    get recommendMs() { return shown.recommendMs; },
    get recommendRuns() { return shown.recommendRuns; },
    get lossPoints() { return shown.lossPoints; },
    get fineTune() { return shown.fineTune; },
    get lastExport() { return shown.lastExport; },
    get storeProblems() { return shown.storeProblems; },
    get queue() { return shown.queue; },
    get mediaSession() { return shown.mediaSession; },
    listening: () => ({ ...listening }),
    history: () => state.history,
    tracks: () => [...state.tracks.values()].map(({ cover, ...t }) => ({ ...t, hasCover: Boolean(cover) })),
    playing: () => state.playing,
    model: () => ({
      ok: model.ok, error: model.error, analysisKey: model.analysisKey, weights: model.weights,
      rows: model.rows.length, tuning: Boolean(model.tuning), usesPortrait: model.usesPortrait,
      idle: !model.timer && !model.running && !model.again && !model.tuning,
    }),
  };
}
