// The page's shared constants and test knobs, each defined once: several modules must agree
// on them (the decoder and the analysis on the rate, the inputs and the queue on what counts
// as audio), and a second copy is one that drifts.

// What the Rust side defines, given by the compute worker once its wasm is loaded (`ready` in
// worker-rpc.js; everything that reads these waits for it): the rate the analysis runs at
// (DESIGN §3; Web Audio renders every file to it) and the file extensions taken as audio
// (src/audio/mod.rs, the same list as the CLI's folder walk). Live bindings: importers see them.
export let ANALYSIS_RATE = null;
export let AUDIO_EXTENSIONS = [];
export let AUDIO_NAME = /$^/;

/** Takes the worker's `ready` message: {analysisRate, audioExtensions}. */
export function setFromAnalyser({ analysisRate, audioExtensions }) {
  ANALYSIS_RATE = analysisRate;
  AUDIO_EXTENSIONS = audioExtensions;
  AUDIO_NAME = new RegExp(`\\.(${audioExtensions.join('|')})$`, 'i');
}

// Every library entry is analysed the same way (one analysis key): the 30 s middle excerpt
// (DESIGN §3); frames only for the heat-map of the last track.
export const LIBRARY_OPTIONS = { span: 30, frames: true };

// musicnn (the MSD tagger, src/model/musicnn) reads 16 kHz mono in 3 s patches; its output is
// stored under its own analysis key, beside the descriptors the browser model reads, so the
// model in use keeps working while a library gains its tags.
export const MUSICNN_RATE = 16000;
export const MUSICNN_KEY = 'musicnn-msd-1';
export const MUSICNN_PATCH_S = 3;

// The shortest clip taken as a track. The analysis itself runs on 0.05 s (one scattering
// window), but a descriptor of a few frames describes a click, not a piece of music, and would
// then be played, recommended and explained as one: 2 s is 86 analysis frames (hop 512 at
// 22050 Hz). Every e2e fixture meant as music is 3 s or longer; the demo excerpts are 15 s.
export const MIN_TRACK_S = 2;

// The page's query: the e2e tests lower limits or arm failures through it (`?maxFileMB=`,
// `?maxDecodeMin=`, `?debugPanicAt=`, `?finetuneLr=`); each is read where it is used.
export const params = new URLSearchParams(location.search);
