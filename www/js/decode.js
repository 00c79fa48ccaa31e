// Reading a dropped file before its analysis: the size caps, its hash and tags (from the
// compute worker, whose hash is the library's key), the duration cap, and Web Audio's decode
// to mono at the analysis rate. Everything that can refuse a file before its analysis is
// here, so each refusal says why in the same words.
import { ANALYSIS_RATE, params } from './config.js';
import { request } from './worker-rpc.js';

// decodeAudioData needs the whole file, and then its PCM, in memory: beyond this the tab
// risks running out of memory. `?maxFileMB=` lowers it (the e2e test of the refusal).
const MAX_FILE_BYTES = (Number(params.get('maxFileMB')) || 512) * 2 ** 20;
// decodeAudioData keeps every channel of the whole track (at 22050 Hz here), then the mono
// render: 60 min of stereo is ~320 + 160 MB. Longer tracks are refused with the reason
// before decoding (`?maxDecodeMin=` lowers it for the e2e test).
const MAX_DECODE_S = (Number(params.get('maxDecodeMin')) || 60) * 60;
// Without a duration in the file's headers, assume at least this bit rate to estimate one.
const ASSUMED_MIN_BITRATE = 128000;

/** Throws (with the reason) for a file that is empty or too large to read in this tab. */
export function checkSize(file) {
  if (file.size === 0) throw new Error('the file is empty (0 bytes)');
  if (file.size > MAX_FILE_BYTES) {
    throw new Error(`too large for this tab: ${(file.size / 2 ** 20).toFixed(0)} MB (files up to `
      + `${(MAX_FILE_BYTES / 2 ** 20).toFixed(0)} MB are analysed)`);
  }
}

/** The file's SHA-256 `hash`, its `tags` and whether they were read from a `partial` prefix. */
export function inspectFile(file) {
  const ext = (file.name.match(/\.([^.]+)$/) || [])[1];
  return file.arrayBuffer()
    .then((bytes) => request({ type: 'inspect', bytes, extension: ext }, { transfer: [bytes] }).done);
}

/** Throws (with the reason) for a file whose stated or estimated duration is over the cap. */
export function checkDuration(file, inspected) {
  const seconds = (inspected.tags || {}).durationS
    || (inspected.partial ? (file.size * 8) / ASSUMED_MIN_BITRATE : 0);
  if (seconds > MAX_DECODE_S) {
    const min = (x) => (x < 600 ? (x / 60).toFixed(1) : Math.round(x / 60));
    throw new Error(`too long to decode in this tab: about ${min(seconds)} min (tracks up to `
      + `${min(MAX_DECODE_S)} min are analysed; decoding holds the whole track in memory)`);
  }
}

// Decode any format the browser knows, then render to mono at each of `rates` (Hz: the
// analysis rate, and musicnn's 16 kHz) through a 1-channel OfflineAudioContext (Web Audio's
// down-mix and resampler; see README on >2 channels). One decode serves every rate.
export async function decodeToMonoAt(bytes, rates) {
  let decoded;
  // decodeAudioData detaches `bytes`: keep the head to say what the file is if it fails.
  const head = new Uint8Array(bytes.slice(0, 64));
  const size = bytes.byteLength;
  try {
    decoded = await new OfflineAudioContext(1, 1, rates[0]).decodeAudioData(bytes);
  } catch (err) {
    throw new Error(`the browser cannot decode it as audio (${whatItIs(head, size) || 'unsupported or corrupt file'})`);
  }
  if (decoded.length === 0) throw new Error('it decodes to no audio at all');
  const out = [];
  for (const rate of rates) {
    const ctx = new OfflineAudioContext(1, Math.ceil(decoded.duration * rate), rate);
    const src = ctx.createBufferSource();
    src.buffer = decoded;
    src.connect(ctx.destination);
    src.start();
    out.push((await ctx.startRendering()).getChannelData(0));
  }
  return out;
}

/** What a file that failed to decode looks like, from its first bytes, or null. */
function whatItIs(head, size) {
  const ascii = String.fromCharCode(...head.subarray(0, 16));
  const starts = (...b) => b.every((x, i) => head[i] === x);
  if (size < 16) return `only ${size} byte${size === 1 ? '' : 's'}: too short to be audio`;
  if (ascii.startsWith('%PDF')) return 'it is a PDF document, not audio';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'it is a PNG image, not audio';
  if (starts(0xff, 0xd8, 0xff)) return 'it is a JPEG image, not audio';
  if (ascii.startsWith('GIF8')) return 'it is a GIF image, not audio';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'it is a ZIP archive (or an office document), not audio';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WAVE' && size <= 44) return 'a WAV header without any samples';
  if (/^\s*[<{[]/.test(ascii)) return 'it is text (HTML, XML or JSON), not audio';
  return null;
}
