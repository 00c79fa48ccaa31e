// The worker owns the wasm module: every computation on the visitor's audio runs here,
// off the main thread. Messages in: {id, type: "mfcc", pcm: Float32Array, sampleRate}.
// Messages out: {type: "ready", version} once, then {id, ok: true, result} or {id, ok: false, error}.
import init, { mfcc, version } from './pkg/ainrec.js';

const ready = init().then(
  () => self.postMessage({ type: 'ready', version: version() }),
  (err) => self.postMessage({ type: 'fatal', error: `could not load the analyser: ${err}` }),
);

self.onmessage = async (event) => {
  await ready;
  const { id, type } = event.data;
  try {
    if (type !== 'mfcc') throw new Error(`unknown request type: ${type}`);
    const r = mfcc(event.data.pcm, event.data.sampleRate);
    const result = {
      sampleRate: r.sampleRate, hopLength: r.hopLength, nFrames: r.nFrames, nMfcc: r.nMfcc, data: r.data,
    };
    self.postMessage({ id, ok: true, result }, [r.data.buffer]);
  } catch (err) {
    self.postMessage({ id, ok: false, error: err && err.message ? err.message : String(err) });
  }
};
