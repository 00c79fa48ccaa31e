// The browser model's speed in Chromium (`make bench-model`, docs/BENCHMARKS.md): a default
// fine-tuning run on a 500-play history, and ranking 10,000 candidates for one visitor.
// Candidates: the 55 demo-catalog descriptors (real, models/demo/catalog.json), each repeated
// with a deterministic ±1 % jitter to reach 10,000 rows — a timing input, not a library anyone has.
// Peer in the same run: audio-kNN in plain JS (z-scored descriptors, cosine to the play-weighted
// history), the cheapest honest recommender over the same rows.
import init, { Recommender } from './pkg/ainrec.js';

const log = (msg) => {
  console.log(msg);
  document.getElementById('log').textContent += `${msg}\n`;
};

function b64f32(s) {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function splitmix(seed) {
  let x = BigInt(seed);
  return () => {
    x = (x + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    z ^= z >> 31n;
    return Number(z >> 11n) / 2 ** 53;
  };
}

function library(base, n, len) {
  const rand = splitmix(7);
  const out = new Float32Array(n * len);
  for (let i = 0; i < n; i++) {
    const src = base[i % base.length];
    for (let j = 0; j < len; j++) out[i * len + j] = src[j] * (1 + 0.02 * (rand() - 0.5));
  }
  return out;
}

function history(n, plays) {
  const rand = splitmix(11);
  const h = [];
  for (let i = 0; i < plays; i++) {
    h.push({ item: (i * 7919) % n, plays: 1 + Math.floor(rand() * 5), liked: rand() < 0.2, skips: rand() < 0.1 ? 2 : 0 });
  }
  return h;
}

function knnPeer(flat, n, len, hist) {
  // z-scores over the library, then cosine to Σ w_i z_i.
  const mean = new Float64Array(len);
  const sq = new Float64Array(len);
  for (let i = 0; i < n; i++) for (let j = 0; j < len; j++) { const v = flat[i * len + j]; mean[j] += v; sq[j] += v * v; }
  for (let j = 0; j < len; j++) { mean[j] /= n; sq[j] = Math.sqrt(Math.max(sq[j] / n - mean[j] ** 2, 0)) || 1; }
  const z = new Float32Array(n * len);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < len; j++) { const v = (flat[i * len + j] - mean[j]) / sq[j]; z[i * len + j] = v; norm += v * v; }
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < len; j++) z[i * len + j] /= norm;
  }
  const u = new Float64Array(len);
  for (const h of hist) {
    const w = Math.log1p(h.plays) + (h.liked ? 1 : 0) - Math.log1p(h.skips);
    for (let j = 0; j < len; j++) u[j] += w * z[h.item * len + j];
  }
  const heard = new Set(hist.map((h) => h.item));
  const scores = [];
  for (let i = 0; i < n; i++) {
    if (heard.has(i)) continue;
    let s = 0;
    for (let j = 0; j < len; j++) s += z[i * len + j] * u[j];
    scores.push([s, i]);
  }
  scores.sort((a, b) => b[0] - a[0]);
  return scores.slice(0, 10);
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

window.runModelBench = async ({ reps = 7, candidates = 10000, plays = 500 } = {}) => {
  await init();
  const [modelBytes, catalog] = await Promise.all([
    fetch('browser.safetensors').then((r) => r.arrayBuffer()),
    fetch('catalog.json').then((r) => r.json()),
  ]);
  const base = catalog.tracks.map((t) => b64f32(t.descriptor));
  const len = base[0].length;
  const rec = new Recommender(new Uint8Array(modelBytes));
  const lib = library(base, candidates, len);
  let t0 = performance.now();
  rec.setLibrary(lib);
  const embedMs = performance.now() - t0;
  log(`embedded ${candidates} descriptors in ${embedMs.toFixed(1)} ms`);
  const hist50 = history(candidates, 50);
  rec.recommend(hist50, [], { k: 10 }); // warm-up
  const rank = [];
  const peer = [];
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    const out = rec.recommend(hist50, [], { k: 10 });
    rank.push(performance.now() - t0);
    if (out.length !== 10) throw new Error('expected 10 recommendations');
    t0 = performance.now();
    knnPeer(lib, candidates, len, hist50);
    peer.push(performance.now() - t0);
  }
  log(`rank ${candidates}: median ${median(rank).toFixed(2)} ms (peer audio-kNN in JS ${median(peer).toFixed(2)} ms)`);
  // Fine-tuning: a 500-play history over a library of 1000 of the rows, default options.
  rec.setLibrary(lib.subarray(0, 1000 * len));
  const hist500 = history(1000, plays);
  const tune = [];
  const steps = [];
  for (let r = 0; r < Math.min(reps, 3); r++) {
    rec.reset();
    t0 = performance.now();
    rec.fineTuneStart(hist500, {});
    let done = false;
    let n = 0;
    while (!done) {
      const run = rec.fineTuneRun(100);
      n += run.steps.length;
      done = run.done;
    }
    const outcome = rec.fineTuneFinish();
    tune.push(performance.now() - t0);
    steps.push(n);
    log(`fine-tune ${plays} plays: ${tune[tune.length - 1].toFixed(0)} ms, ${n} steps, kept ${outcome.kept}`);
  }
  const result = {
    chromium: navigator.userAgent,
    candidates,
    embed_ms: embedMs,
    rank_ms_median: median(rank),
    rank_peer_knn_js_ms_median: median(peer),
    fine_tune_plays: plays,
    fine_tune_ms_median: median(tune),
    fine_tune_steps: steps,
    reps,
  };
  rec.free();
  return result;
};
window.benchReady = true;
