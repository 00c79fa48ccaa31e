// The page's shared constants and test knobs, each defined once: several modules must agree
// on them (the decoder and the analysis on the rate, the inputs and the queue on what counts
// as audio), and a second copy is one that drifts.

// The analysis runs at this rate (DESIGN §3): Web Audio renders every file to it.
export const ANALYSIS_RATE = 22050;

// Must match the audio extensions of src/ (the Rust CLI list, src/bin/ainrec.rs, lacks `weba`).
export const AUDIO_EXTENSIONS = ['wav', 'wave', 'mp3', 'ogg', 'oga', 'opus', 'flac', 'm4a', 'mp4', 'aac', 'webm', 'weba', 'mka'];
export const AUDIO_NAME = new RegExp(`\\.(${AUDIO_EXTENSIONS.join('|')})$`, 'i');

// Every library entry is analysed the same way (one analysis key): the 30 s middle excerpt
// (DESIGN §3); frames only for the heat-map of the last track.
export const LIBRARY_OPTIONS = { span: 30, frames: true };

// The page's query: the e2e tests lower limits or arm failures through it (`?maxFileMB=`,
// `?maxDecodeMin=`, `?debugPanicAt=`, `?finetuneLr=`); each is read where it is used.
export const params = new URLSearchParams(location.search);
