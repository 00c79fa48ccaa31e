// Drives bench/model/ in headless Debian Chromium against `ainrec serve` on a temp site under
// target/bench/model-site holding only this page, www/pkg, the browser model and the demo
// catalog. usage: node bench/model/run.mjs [--reps 7] [--out target/bench/model.json]
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// The e2e harness (and its playwright-core) serves and drives the page the same way.
import { launchBrowser, startServer } from '../../tests/e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const reps = Number(arg('reps', 7));
const out = path.resolve(repo, arg('out', 'target/bench/model.json'));
const site = path.resolve(repo, 'target/bench/model-site');

rmSync(site, { recursive: true, force: true });
mkdirSync(site, { recursive: true });
for (const f of ['index.html', 'model_bench.js']) copyFileSync(path.join(here, f), path.join(site, f));
cpSync(path.join(repo, 'www/pkg'), path.join(site, 'pkg'), { recursive: true });
copyFileSync(path.join(repo, 'models/browser.safetensors'), path.join(site, 'browser.safetensors'));
copyFileSync(path.join(repo, 'models/demo/catalog.json'), path.join(site, 'catalog.json'));

const server = await startServer(site);
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : process.stdout.write(`  [page] ${m.text()}\n`)));
  page.on('pageerror', (e) => errors.push(e.stack || e.message));
  await page.goto(server.url);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 20000 })
    .catch((e) => { throw new Error(`${e.message}\n${errors.join('\n')}`); });
  const result = await page.evaluate((r) => window.runModelBench({ reps: r }), reps);
  if (errors.length) throw new Error(errors.join('\n'));
  result.chromium_version = browser.version();
  result.command = 'make bench-model';
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  server.stop();
}
