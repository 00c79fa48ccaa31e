// Browser side of `make bench` (docs/BENCHMARKS.md). Served with ainrec's wasm (www/pkg),
// essentia.js 0.1.3 (AGPL: benchmark only, copied to a temp folder under target/, never into
// www/) and meyda 5.6.3, all timed in ONE page load on the same 30 s of PCM
// (clip30.f32, written by benches/features.rs from ainrec's own decoder).
//
// window.runBench({ reps })  -> timings (every benchmark once per round, rounds interleaved,
//                               one untimed warm-up round first; medians over `reps` rounds)
// window.runMemory({ seconds }) -> peak wasm memory for a long signal (call on a fresh page)
import init, { mfcc as wasmMfcc, Analyzer, version } from './pkg/ainrec.js';
import { EssentiaWASM } from './essentia/essentia-wasm.es.js';
import Essentia from './essentia/essentia.js-core.es.js';

const SR = 22050;
const FRAME = 2048;
const HOP = 512;

const log = (msg) => {
  console.log(msg);
  const el = document.getElementById('log');
  if (el) el.textContent += `${msg}\n`;
};

let wasmExports = null;
async function ready() {
  if (!wasmExports) wasmExports = await init();
  return wasmExports;
}

async function loadClip() {
  const r = await fetch('clip30.f32');
  if (!r.ok) throw new Error(`clip30.f32: HTTP ${r.status}`);
  return new Float32Array(await r.arrayBuffer());
}

function essentiaReady() {
  return new Promise((resolve) => {
    if (EssentiaWASM.calledRun) resolve();
    else EssentiaWASM.onRuntimeInitialized = () => resolve();
  });
}

// --- ours (wasm) ------------------------------------------------------------------------
function oursMfcc(pcm) {
  const m = wasmMfcc(pcm, SR);
  return { frames: m.nFrames, values: m.data.length };
}

function oursAnalyze(pcm, options) {
  const a = new Analyzer(pcm, SR, { span: 'whole', frames: false, ...options });
  while (!a.finished()) a.step(1e9);
  const out = a.finish();
  a.free();
  return { frames: out.nFrames, values: out.descriptor.length };
}

// --- essentia.js ------------------------------------------------------------------------
// DESIGN.md §3 parameters, sample rate passed explicitly everywhere (the JS wrapper defaults to
// 44100). Essentia's own frame convention (FrameGenerator = FrameCutter, centred first frame).
// MFCC configured like librosa's (128 Slaney mel bands, power, dB, DCT-II, 20 coefficients).
function essentiaMfccHfcHpcp(essentia, pcm) {
  const frames = essentia.FrameGenerator(pcm, FRAME, HOP);
  const n = frames.size();
  const mfccs = [];
  const hfcs = new Float32Array(n);
  const hpcps = [];
  for (let i = 0; i < n; i++) {
    const frame = frames.get(i);
    const w = essentia.Windowing(frame, false, FRAME, 'hann', 0, false).frame;
    const spec = essentia.Spectrum(w, FRAME).spectrum;
    const m = essentia.MFCC(spec, 2, SR / 2, FRAME / 2 + 1, 0, 'dbpow', 0, 'unit_tri', 128, 20,
      SR, 1e-10, 'power', 'slaneyMel', 'linear');
    mfccs.push(essentia.vectorToArray(m.mfcc));
    hfcs[i] = essentia.HFC(spec, SR, 'Masri').hfc;
    const pk = essentia.SpectralPeaks(spec, 0, 5000, 100, 40, 'frequency', SR);
    const h = essentia.HPCP(pk.frequencies, pk.magnitudes, true, 500, 0, 5000, false, 40, false,
      'unitMax', 440, SR, 12, 'squaredCosine', 1).hpcp;
    hpcps.push(essentia.vectorToArray(h));
    for (const v of [frame, w, spec, m.mfcc, m.bands, pk.frequencies, pk.magnitudes, h]) v.delete();
  }
  frames.delete();
  return { frames: n, values: mfccs.length * 20 + hfcs.length + hpcps.length * 12 };
}

function essentiaMfccOnly(essentia, pcm) {
  const frames = essentia.FrameGenerator(pcm, FRAME, HOP);
  const n = frames.size();
  const mfccs = [];
  for (let i = 0; i < n; i++) {
    const frame = frames.get(i);
    const w = essentia.Windowing(frame, false, FRAME, 'hann', 0, false).frame;
    const spec = essentia.Spectrum(w, FRAME).spectrum;
    const m = essentia.MFCC(spec, 2, SR / 2, FRAME / 2 + 1, 0, 'dbpow', 0, 'unit_tri', 128, 20,
      SR, 1e-10, 'power', 'slaneyMel', 'linear');
    mfccs.push(essentia.vectorToArray(m.mfcc));
    for (const v of [frame, w, spec, m.mfcc, m.bands]) v.delete();
  }
  frames.delete();
  return { frames: n, values: mfccs.length * 20 };
}

// --- meyda ------------------------------------------------------------------------------
// bufferSize 2048, hop 512, sampleRate 22050, hanning window; 20 coefficients from 128 mel
// bands (as librosa). Meyda has no padding: frames are 1 + floor((n - 2048) / 512).
function meydaMfcc(pcm) {
  const Meyda = window.Meyda;
  Meyda.bufferSize = FRAME;
  Meyda.sampleRate = SR;
  Meyda.numberOfMFCCCoefficients = 20;
  Meyda.melBands = 128;
  Meyda.windowingFunction = 'hanning';
  const out = [];
  for (let s = 0; s + FRAME <= pcm.length; s += HOP) {
    out.push(Meyda.extract('mfcc', pcm.subarray(s, s + FRAME)));
  }
  return { frames: out.length, values: out.length * out[0].length };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

window.runBench = async ({ reps = 5 } = {}) => {
  await ready();
  await essentiaReady();
  const essentia = new Essentia(EssentiaWASM);
  const pcm = await loadClip();
  const cases = {
    ours_mfcc: () => oursMfcc(pcm),
    ours_mfcc_hfc_hpcp: () => oursAnalyze(pcm, { features: 'mfcc,hfc,hpcp' }),
    ours_full_j10: () => oursAnalyze(pcm, { features: 'mfcc,scattering,hfc,hpcp', scatteringJ: 10, scatteringQ: 8 }),
    ours_full_j8: () => oursAnalyze(pcm, { features: 'mfcc,scattering,hfc,hpcp', scatteringJ: 8, scatteringQ: 8 }),
    essentia_mfcc_hfc_hpcp: () => essentiaMfccHfcHpcp(essentia, pcm),
    essentia_mfcc: () => essentiaMfccOnly(essentia, pcm),
    meyda_mfcc: () => meydaMfcc(pcm),
  };
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const shapes = {};
  for (let round = -1; round < reps; round++) {
    for (const [name, fn] of Object.entries(cases)) {
      const t0 = performance.now();
      const shape = fn();
      const dt = performance.now() - t0;
      if (round >= 0) times[name].push(dt);
      else shapes[name] = shape;
    }
    log(round < 0 ? 'warm-up round done' : `round ${round + 1}/${reps} done`);
  }
  const results = {};
  for (const [name, ts] of Object.entries(times)) {
    results[name] = { median_ms: median(ts), min_ms: Math.min(...ts), times_ms: ts, ...shapes[name] };
    log(`${name}: median ${results[name].median_ms.toFixed(1)} ms`);
  }
  essentia.delete();
  window.benchResults = {
    ainrec: version(),
    essentia: essentia.version,
    n_samples: pcm.length,
    sample_rate: SR,
    reps,
    cross_origin_isolated: self.crossOriginIsolated,
    results,
  };
  return window.benchResults;
};

window.runMemory = async ({ seconds = 7200 } = {}) => {
  const wasm = await ready();
  const clip = await loadClip();
  const n = seconds * SR;
  const pcm = new Float32Array(n);
  for (let s = 0; s < n; s += clip.length) pcm.set(clip.subarray(0, Math.min(clip.length, n - s)), s);
  const mem = () => wasm.memory.buffer.byteLength;
  const before = mem();
  const t0 = performance.now();
  const a = new Analyzer(pcm, SR, { span: 'whole', frames: false });
  const afterConstructor = mem();
  while (!a.finished()) a.step(1e9);
  const out = a.finish();
  const ms = performance.now() - t0;
  a.free();
  const peak = mem();
  return {
    signal_seconds: seconds,
    n_samples: n,
    pcm_bytes: n * 4,
    features: 'mfcc,scattering,hfc,hpcp (default J=10, Q=8), span whole, frames false',
    wasm_memory_before_bytes: before,
    wasm_memory_after_constructor_bytes: afterConstructor,
    wasm_memory_peak_bytes: peak,
    analysis_ms: ms,
    n_frames: out.nFrames,
    descriptor_len: out.descriptor.length,
  };
};

window.benchReady = true;
