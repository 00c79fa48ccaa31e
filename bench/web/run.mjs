// Drives bench/web/ in headless Debian Chromium (playwright-core, never a downloaded browser),
// served by `ainrec serve` on 127.0.0.1 from a temp folder under target/bench/site that holds
// only: this page, www/pkg (our wasm), essentia.js and meyda builds, and clip30.f32.
// essentia.js is AGPL: it is copied only into that temp folder for the benchmark, never into www/.
//
// usage: node bench/web/run.mjs [--reps 7] [--long-seconds 7200] [--out target/bench/web.json]
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const reps = Number(arg('reps', process.env.BENCH_WEB_REPS || 7));
const longSeconds = Number(arg('long-seconds', process.env.AINREC_BENCH_LONG_S || 7200));
const out = path.resolve(repo, arg('out', path.join(process.env.AINREC_BENCH_OUT || 'target/bench', 'web.json')));
const bin = path.resolve(repo, process.env.AINREC_BIN || 'target/release/ainrec');
const benchDir = path.resolve(repo, process.env.AINREC_BENCH_OUT || 'target/bench');
const site = path.join(benchDir, 'site');

// --- the temp site -------------------------------------------------------------------------
rmSync(site, { recursive: true, force: true });
mkdirSync(path.join(site, 'essentia'), { recursive: true });
for (const f of ['index.html', 'bench.js']) copyFileSync(path.join(here, f), path.join(site, f));
cpSync(path.join(repo, 'www/pkg'), path.join(site, 'pkg'), { recursive: true });
// src/wasm.rs's `Analyzer` docs hold `/* Float32Array, mono */` inside a `///` example, which
// wasm-bindgen copies into a JSDoc block: the inner `*/` closes it and ainrec.js does not parse.
// Until the source is fixed, neutralise comment delimiters inside JSDoc lines of the COPY only.
{
  const js = path.join(site, 'pkg', 'ainrec.js');
  const fixed = readFileSync(js, 'utf8').split('\n').map((l) => (/^\s*\* /.test(l)
    ? l.replace(/\/\*/g, '/ *').replace(/\*\/(?=.)/g, '* /') : l)).join('\n');
  writeFileSync(js, fixed);
}
const nm = path.join(here, 'node_modules');
for (const f of ['essentia-wasm.es.js', 'essentia.js-core.es.js']) {
  copyFileSync(path.join(nm, 'essentia.js/dist', f), path.join(site, 'essentia', f));
}
copyFileSync(path.join(nm, 'meyda/dist/web/meyda.min.js'), path.join(site, 'meyda.min.js'));
copyFileSync(path.join(benchDir, 'clip30.f32'), path.join(site, 'clip30.f32'));
const pkgVersion = (p) => JSON.parse(readFileSync(path.join(nm, p, 'package.json'), 'utf8')).version;

// --- server (as tests/e2e/harness.mjs, rooted at the temp site) ------------------------------
function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['serve', site, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${text}`)), 15000);
    proc.on('error', reject);
    proc.stdout.on('data', (chunk) => {
      text += chunk;
      const m = text.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[0], stop: () => proc.kill('SIGTERM') });
      }
    });
  });
}

const server = await startServer();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  // essentia.js's embind glue builds its invokers with `new Function`, which the page's CSP
  // (script-src 'self' 'wasm-unsafe-eval') forbids; the benchmark context bypasses the CSP.
  const context = await browser.newContext({ bypassCSP: true });
  const open = async () => {
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} @ ${JSON.stringify(m.location())}`);
      else process.stdout.write(`  [page] ${m.text()}\n`);
    });
    page.on('pageerror', (e) => errors.push(e.stack || e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
    await page.goto(server.url);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 20000 })
      .catch((e) => { throw new Error(`${e.message}\n${errors.join('\n')}`); });
    return { page, errors };
  };

  console.log(`==> timings in Chromium ${browser.version()}, ${reps} rounds`);
  const t = await open();
  const timings = await t.page.evaluate((r) => window.runBench({ reps: r }), reps);
  await t.page.close();

  let memory = null;
  if (longSeconds > 0) {
    console.log(`==> wasm memory for a ${longSeconds} s signal (fresh page)`);
    const m = await open();
    memory = await m.page.evaluate((s) => window.runMemory({ seconds: s }), longSeconds);
    await m.page.close();
    console.log(`  peak wasm memory ${(memory.wasm_memory_peak_bytes / 2 ** 20).toFixed(0)} MiB`);
  }
  const result = {
    chromium: browser.version(),
    versions: {
      'essentia.js': pkgVersion('essentia.js'),
      meyda: pkgVersion('meyda'),
      'playwright-core': pkgVersion('playwright-core'),
    },
    timings,
    memory,
  };
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2));
  console.log(`wrote ${path.relative(repo, out)}`);
} finally {
  await browser.close();
  server.stop();
}
