// Shared set-up for the end-to-end tests: start `ainrec serve` on a free loopback port,
// launch Debian's Chromium through playwright-core (never a downloaded browser), and
// record every request the page makes.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const bin = path.resolve(here, process.env.AINREC_BIN || '../../target/release/ainrec');
export const artifacts = path.join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** Starts `ainrec serve <root> --port 0` (root: www by default); resolves to { url, stop }. */
export function startServer(root = path.join(repo, 'www')) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['serve', root, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15000);
    proc.on('error', reject);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[0], stop: () => proc.kill('SIGTERM') });
      }
    });
  });
}

/** Launches headless Chromium with the flags this machine needs. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * For a test file: starts `ainrec serve` and Chromium before its tests and stops both after.
 * Returns { server, browser }, filled in once the `before` hook has run.
 */
export function useServerAndBrowser() {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.stop();
  });
  return env;
}

/** Opens the page (after `initScript`, if given; in `viewport` {width, height}, if given),
 * records requests, and waits until the worker reports ready. */
export async function openPage(browser, url, { initScript, viewport } = {}) {
  const page = await browser.newPage(viewport ? { viewport } : {});
  if (initScript) await page.addInitScript(initScript);
  const requests = [];
  const consoleErrors = [];
  // Requests not yet answered, with when they started: when the page does not load, the
  // error names what it was waiting for (a stalled module, the server, the browser).
  const pending = new Map();
  const t0 = Date.now();
  page.on('request', (r) => {
    requests.push({ url: r.url(), method: r.method(), postData: r.postData() });
    pending.set(r, Date.now() - t0);
  });
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => pending.delete(r));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  try {
    await page.goto(url);
  } catch (err) {
    const waiting = [...pending].map(([r, at]) => `${r.method()} ${r.url()} (sent at ${at} ms)`);
    err.message += `\n${requests.length} requests, ${waiting.length} unanswered: ${waiting.join('; ') || 'none'}`
      + `; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
    throw err;
  }
  await page.waitForFunction(() => window.ainrec && window.ainrec.version, null, { timeout: 60000 });
  return { page, requests, consoleErrors };
}

/** Merges `entries` (name -> measurement) into artifacts/timings.json, where each test file adds
 * what it measured, with the machine it ran on, and prints them. */
export function recordTimings(entries) {
  const file = path.join(artifacts, 'timings.json');
  let all = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    all = {};
  }
  const cpus = os.cpus();
  all.machine = { cpus: cpus.length, cpu: cpus[0]?.model };
  // The load average says how busy the machine was (other jobs share its cores).
  const load = os.loadavg().map((x) => Number(x.toFixed(2)));
  for (const [k, v] of Object.entries(entries)) all[k] = { ...v, measured_at: new Date().toISOString(), loadavg_1_5_15min: load };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  for (const [k, v] of Object.entries(entries)) console.log(`timing ${k}: ${JSON.stringify(v)}`);
}

/** Waits until the page's model is idle and its recommendations are for the current history. */
export async function settled(page) {
  await page.waitForFunction(() => {
    const a = window.ainrec;
    const ids = a.history().items.map((i) => i.id).join();
    return a.model().idle && a.recommendedFor && a.recommendedFor.join() === ids;
  }, null, { timeout: 30000 });
}
