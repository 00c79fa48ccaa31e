// The model parts of the page (issue 7): recommendations with attention heat-maps, "Learn my
// taste" (fine-tuning in the worker, the before/after check, roll-back on a forced NaN), the
// fine-tuned weights kept across a reload and "Reset model", driven in Debian's Chromium
// against `ainrec serve` on the demo catalog (models/demo) and the shipped browser model
// (models/browser.safetensors, copied to www/model by `make page-assets`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  artifacts, bin, openPage, recordTimings, repo, useServerAndBrowser, settled,
} from './harness.mjs';

const catalog = JSON.parse(readFileSync(path.join(repo, 'models', 'demo', 'catalog.json'), 'utf8'));

const env = useServerAndBrowser();

async function ready(page) {
  await page.waitForFunction(() => window.ainrec.loaded, null, { timeout: 30000 });
  await page.waitForFunction(() => window.ainrec.model && (window.ainrec.model().ok || window.ainrec.model().error),
    null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.ainrec.model().error), null);
}

async function open(query = '') {
  const o = await openPage(env.browser, env.server.url + query);
  await ready(o.page);
  return o;
}

async function loadDemo(page) {
  await page.click('[data-testid=demo-catalog]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=library] li').length === n,
    catalog.tracks.length, { timeout: 30000 });
}

const historyIds = (page) => page.evaluate(() => window.ainrec.history().items.map((i) => i.id));
const libraryButton = (page, id, testid) => page.locator(`[data-testid=library] li[data-id="${id}"] [data-testid=${testid}]`);

/** Plays the demo tracks `indices` in order through the library's Play buttons, each until it
 * counts as a play (half of a 15 s excerpt, heard at 16 × speed), then pauses it. */
async function playAll(page, indices) {
  await page.evaluate(() => { const a = document.getElementById('audio'); a.defaultPlaybackRate = 16; a.playbackRate = 16; });
  for (const i of indices) {
    const id = catalog.tracks[i].sha256;
    await libraryButton(page, id, 'play').click();
    await page.waitForFunction((x) => window.ainrec.history().items.at(-1)?.id === x, id, { timeout: 15000 });
    await page.evaluate(() => document.getElementById('audio').pause());
  }
}

/** Waits until the recommendations shown were computed for the current history. */

const scores = (page) => page.evaluate(() => Object.fromEntries(window.ainrec.recommendations.map((r) => [r.id, r.score])));

/** The SHA-256 (hex) of the fine-tuned weights stored in IndexedDB, or null. */
const storedWeights = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const req = indexedDB.open('ainrec');
  req.onsuccess = () => {
    const get = req.result.transaction('kv').objectStore('kv').get('weights');
    get.onsuccess = async () => {
      req.result.close();
      if (!get.result) { resolve(null); return; }
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', get.result.v));
      resolve(Array.from(d, (b) => b.toString(16).padStart(2, '0')).join(''));
    };
    get.onerror = () => reject(get.error);
  };
  req.onerror = () => reject(req.error);
}));
const shipped = createHash('sha256').update(readFileSync(path.join(repo, 'models', 'browser.safetensors'))).digest('hex');

test('empty history shows what to do; play/like 3 demo tracks -> 10 explained recommendations', async () => {
  const { page, consoleErrors } = await open();
  assert.match(await page.textContent('[data-testid=recommendations-empty]'), /load the demo catalog/);
  await loadDemo(page);
  await page.waitForFunction(() => /Play or like a few tracks/.test(document.querySelector('[data-testid=recommendations-empty]').textContent));
  assert.ok(await page.isVisible('[data-testid=recommendations-empty]'));
  assert.equal(await page.locator('[data-testid=recommendations] li').count(), 0);
  await page.screenshot({ path: path.join(artifacts, 'model-empty-history.png'), fullPage: true });

  await playAll(page, [40, 3]);
  await settled(page);
  const runs = await page.evaluate(() => window.ainrec.recommendMs.length);
  const clicked = Date.now();
  await libraryButton(page, catalog.tracks[45].sha256, 'like').click();
  await settled(page);
  const clickToList = Date.now() - clicked;
  assert.equal(await page.isVisible('[data-testid=recommendations-empty]'), false);
  const items = page.locator('[data-testid=recommendations] li');
  assert.equal(await items.count(), 10);
  const heard = new Set(await historyIds(page));
  assert.equal(heard.size, 3);
  const shown = await items.evaluateAll((lis) => lis.map((li) => ({
    id: li.dataset.id,
    weights: [...li.querySelectorAll('[data-testid=attention] [data-weight]')].map((c) => Number(c.dataset.weight)),
    because: li.querySelector('[data-testid=because]').textContent,
  })));
  for (const r of shown) {
    assert.ok(!heard.has(r.id), `recommended a track of the history: ${r.id}`);
    assert.equal(r.weights.length, 3, 'one attention cell per history item');
    const sum = r.weights.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) <= 1e-3, `attention sums to ${sum}`);
    assert.match(r.because, /^Because you (played|liked) /);
  }
  assert.equal(new Set(shown.map((r) => r.id)).size, 10, 'no duplicates');
  // Diversity: at most 2 in a row by one artist while other artists remain in the pool.
  const artists = await page.evaluate(() => window.ainrec.recommendations.map((r) => r.artist));
  console.log(`recommendations (artists): ${artists.join(' | ')}`);
  const ms = await page.evaluate(() => window.ainrec.recommendMs);
  console.log(`recommend (55 rows, 3 history items, k = 30) in the worker: ${ms.map((m) => m.toFixed(1)).join(', ')} ms`);
  assert.equal(ms.length - runs, 1, 'one recommendation run for the like');
  recordTimings({
    recommend: {
      first_run_ms: Number(ms[0].toFixed(1)),
      like_run_ms: Number(ms[ms.length - 1].toFixed(1)),
      like_click_to_list_ms: clickToList,
      worker_ms: ms.map((m) => Number(m.toFixed(1))),
      what: `in the worker: rank ${catalog.tracks.length} library rows (demo catalog), top 30 with attention; the first run (after the first plays) `
        + 'also embeds the library, the like run ranks for a 3-item history; click to list: a Like click until the re-ranked 10 are shown, with the 300 ms debounce, '
        + 'the history write and the rendering',
    },
  });
  await page.screenshot({ path: path.join(artifacts, 'model-recommendations.png'), fullPage: true });

  // Clicking Play on a recommendation plays it and records the play (once heard for its threshold).
  const first = shown[0].id;
  await page.evaluate(() => { document.getElementById('audio').defaultPlaybackRate = 16; });
  await items.first().locator('[data-testid=play]').click();
  await page.waitForFunction((x) => window.ainrec.playing() === x && window.ainrec.history().items.at(-1).id === x, first);
  await page.evaluate(() => document.getElementById('audio').pause());
  await settled(page);
  assert.ok(!(await page.evaluate(() => window.ainrec.recommendations.map((r) => r.id))).includes(first));
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('the page and `ainrec recommend` rank alike: the same 10 in the same order from its export, for every diversity setting', async () => {
  const { page, consoleErrors } = await open();
  await loadDemo(page);
  await playAll(page, [40, 3, 12]);
  await libraryButton(page, catalog.tracks[45].sha256, 'like').click();
  await settled(page);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ainrec-parity-'));
  // [checkbox, N]: the default (at most 2 in a row), 1, and the rule off.
  const orders = {};
  for (const [on, n] of [[true, 2], [true, 1], [false, 2]]) {
    const runs = await page.evaluate(() => window.ainrec.recommendRuns);
    const changed = await page.evaluate(([c, k]) => {
      const box = document.getElementById('diversity');
      const num = document.getElementById('diversity-n');
      const differs = box.checked !== c || Number(num.value) !== k;
      box.checked = c;
      num.value = String(k);
      box.dispatchEvent(new Event('change'));
      return differs;
    }, [on, n]);
    if (changed) await page.waitForFunction((r) => window.ainrec.recommendRuns > r, runs, { timeout: 30000 });
    await settled(page);
    const shownIds = await page.evaluate(() => window.ainrec.recommendations.map((r) => r.id));
    const before = await page.evaluate(() => window.ainrec.lastExport?.exported_at ?? null);
    await page.click('[data-testid=export]');
    await page.waitForFunction((b) => window.ainrec.lastExport && window.ainrec.lastExport.exported_at !== b, before);
    const file = path.join(dir, `export-${on ? n : 0}.json`);
    writeFileSync(file, JSON.stringify(await page.evaluate(() => window.ainrec.lastExport)));
    const cli = JSON.parse(execFileSync(bin, ['recommend', '--model', path.join(repo, 'www', 'model', 'browser.safetensors'),
      '--history', file, '--diversity', String(on ? n : 0)], { encoding: 'utf8' }));
    const cliIds = cli.recommendations.map((r) => r.id);
    console.log(`diversity ${on ? n : 'off'}: page ${shownIds.map((x) => x.slice(0, 6)).join(' ')}`);
    assert.equal(shownIds.length, 10);
    assert.deepEqual(cliIds, shownIds, `diversity ${on ? n : 'off'}: the CLI and the page disagree`);
    orders[on ? n : 'off'] = shownIds.join();
  }
  // The history is one that the rule really reorders: at most 1 in a row is not the plain order.
  assert.notEqual(orders[1], orders.off, 'diversity 1 left the order unchanged: not a reordering fixture');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

// One page (one browser context, so one IndexedDB) for fine-tuning, the forced NaN, reload, reset.
let tuned;
let shippedScores;
let tunedScores;

test('learn my taste: loss plot, before/after check, weights kept in IndexedDB', async () => {
  const o = await open();
  tuned = o;
  const { page } = o;
  await loadDemo(page);
  // A scripted 20-play history with a change of taste: ten tracks of one game's soundtrack
  // (catalog 0-9), then ten of a jazz score (20-29); the last 5 plays are held out for the check.
  // The prior weighs every play alike; fine-tuning learns that the recent plays matter more.
  // Measured natively with the shipped model and fixed step counts (`tests/model/browser.rs`
  // library, same 55 rows): the check improves after 20, 40, 60 and 80 steps (0.110 -> 0.120,
  // 0.126, 0.141, 0.140), so the time-budgeted default run keeps its weights however many steps
  // this machine manages.
  await playAll(page, [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 20 + i)]);
  assert.equal((await historyIds(page)).length, 20);
  await settled(page);
  shippedScores = await scores(page);
  const t0 = Date.now();
  await page.click('[data-testid=finetune-start]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=loss-plot]').dataset.points) > 0, null, { timeout: 30000 });
  assert.equal(await page.isEnabled('[data-testid=finetune-stop]'), true);
  await page.waitForFunction(() => window.ainrec.fineTune, null, { timeout: 60000 });
  const wall = Date.now() - t0;
  const ft = await page.evaluate(() => window.ainrec.fineTune);
  const points = Number(await page.getAttribute('[data-testid=loss-plot]', 'data-points'));
  const text = await page.textContent('[data-testid=finetune-result]');
  console.log(`fine-tuning (20 plays, defaults): ${ft.outcome.steps} steps in ${ft.ms.toFixed(0)} ms in the worker (${wall} ms click to result); ${text}`);
  recordTimings({
    fine_tune_default: {
      worker_ms: Math.round(ft.ms),
      click_to_result_ms: wall,
      steps: ft.outcome.steps,
      before: ft.outcome.before,
      after: ft.outcome.after,
      kept: ft.outcome.kept,
      what: 'Learn my taste with the default options (at most 80 steps, 2.5 s budget) on a scripted 20-play history, 55 library rows',
    },
  });
  assert.equal(points, ft.outcome.steps);
  assert.ok(points > 0);
  assert.match(text, /^Kept: your last 5 plays \(held out from training\) would now be found at rank \d+\.\d on average instead of \d+\.\d \(mean reciprocal rank \d\.\d{3}, before \d\.\d{3}\)/);
  // The ranks said are those of the check: 1 / mean reciprocal rank.
  const [, rankAfter, rankBefore] = text.match(/rank (\d+\.\d) on average instead of (\d+\.\d)/);
  assert.equal(rankAfter, (1 / ft.outcome.after).toFixed(1));
  assert.equal(rankBefore, (1 / ft.outcome.before).toFixed(1));
  // The loss plot's axes are labelled with the loss's range and the steps.
  assert.equal(await page.textContent('#loss-steps'), `step ${points}`);
  assert.match(await page.textContent('#loss-max'), /^\d+\.\d\d$/);
  assert.match(await page.textContent('.loss-y .axis-name'), /loss/);
  assert.match(await page.textContent('.loss-x .axis-name'), /training step/);
  assert.equal(ft.outcome.kept, true, text);
  assert.match(text, /Kept/);
  const stored = await storedWeights(page);
  assert.ok(stored, 'weights stored in IndexedDB');
  assert.notEqual(stored, shipped, 'the stored weights differ from the shipped ones');
  await settled(page);
  tunedScores = await scores(page);
  assert.notDeepEqual(tunedScores, shippedScores, 'the recommendations changed with the weights');
  assert.match(await page.textContent('[data-testid=model-status]'), /fine-tuned/);
  await page.screenshot({ path: path.join(artifacts, 'model-finetuned.png'), fullPage: true });
  await page.locator('section.recs').screenshot({ path: path.join(artifacts, 'model-finetuned-section.png') });
});

test('learn my taste with a short history runs nothing, keeps nothing and says how many more plays it needs', async () => {
  const { page, consoleErrors } = await open();
  await loadDemo(page);
  await playAll(page, [5, 15, 25]);
  await settled(page);
  const before = await scores(page);
  await page.click('[data-testid=finetune-start]');
  await page.waitForFunction(() => window.ainrec.fineTune, null, { timeout: 30000 });
  assert.deepEqual(await page.evaluate(() => window.ainrec.fineTune), { refused: true, needed: 7 });
  assert.match(await page.textContent('[data-testid=finetune-result]'),
    /^Not run, nothing kept: learning needs 10 tracks in your history \(its last plays are held out to check it\); you have 3\. Play 7 more and try again\.$/);
  assert.equal(await page.evaluate(() => window.ainrec.lossPoints.length), 0, 'no step ran');
  assert.equal(await storedWeights(page), null, 'no weights stored');
  assert.equal(await page.evaluate(() => window.ainrec.model().weights), 'shipped');
  await settled(page);
  assert.deepEqual(await scores(page), before, 'the model is unchanged');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a forced NaN (test-only learning rate) rolls back and keeps the stored weights', async () => {
  const { page } = tuned;
  const before = await storedWeights(page);
  await page.goto(`${env.server.url}?finetuneLr=1e300`);
  await ready(page);
  await settled(page);
  await page.click('[data-testid=finetune-start]');
  await page.waitForFunction(() => window.ainrec.fineTune, null, { timeout: 60000 });
  const ft = await page.evaluate(() => window.ainrec.fineTune);
  const text = await page.textContent('[data-testid=finetune-result]');
  console.log(`forced NaN: ${text}`);
  assert.equal(ft.outcome.kept, false);
  assert.ok(ft.outcome.rolled_back);
  assert.match(text, /Rolled back to the previous weights: the (loss|weights) (was|were) not finite/);
  assert.equal(await storedWeights(page), before, 'stored weights unchanged');
  await settled(page);
  assert.deepEqual(await scores(page), tunedScores, 'the model still has the fine-tuned weights');
  await page.screenshot({ path: path.join(artifacts, 'model-rolled-back.png'), fullPage: true });
});

test('reload keeps the fine-tuned weights; Reset model returns to the shipped ones', async () => {
  const { page, consoleErrors } = tuned;
  await page.goto(env.server.url);
  await ready(page);
  await settled(page);
  assert.equal(await page.evaluate(() => window.ainrec.model().weights), 'fine-tuned');
  assert.deepEqual(await scores(page), tunedScores, 'fine-tuned weights loaded after the reload');
  // The last run's result is still said after the reload (it was the forced roll-back).
  assert.match(await page.textContent('[data-testid=finetune-result]'), /^Last run \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\): Rolled back to the previous weights/);
  // The export carries the fine-tuned weights (imported again at the end of this test).
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export]')]);
  const exported = path.join(mkdtempSync(path.join(os.tmpdir(), 'ainrec-model-')), 'export.json');
  await download.saveAs(exported);
  const doc = JSON.parse(readFileSync(exported, 'utf8'));
  assert.equal(createHash('sha256').update(Buffer.from(doc.weights.data, 'base64')).digest('hex'), await storedWeights(page));
  await page.click('[data-testid=reset-model]');
  await page.waitForFunction(() => /shipped weights/.test(document.querySelector('[data-testid=finetune-result]').textContent));
  assert.equal(await storedWeights(page), null, 'stored weights deleted');
  assert.equal(await page.evaluate(() => window.ainrec.model().weights), 'shipped');
  await settled(page);
  assert.deepEqual(await scores(page), shippedScores, 'back to the shipped weights');
  await page.screenshot({ path: path.join(artifacts, 'model-reset.png'), fullPage: true });
  // A corrupt stored record: a message, and the shipped weights are used.
  await page.evaluate(() => new Promise((resolve) => {
    const req = indexedDB.open('ainrec');
    req.onsuccess = () => {
      const tx = req.result.transaction('kv', 'readwrite');
      tx.objectStore('kv').put({ k: 'weights', v: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer });
      tx.oncomplete = () => { req.result.close(); resolve(); };
    };
  }));
  await page.reload();
  await ready(page);
  await page.waitForFunction(() => /could not be loaded/.test(document.querySelector('[data-testid=finetune-result]').textContent), null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.ainrec.model().weights), 'shipped');
  await settled(page);
  assert.deepEqual(await scores(page), shippedScores);
  // Importing the export brings the fine-tuned weights back into the model.
  await page.setInputFiles('#import', exported);
  await page.waitForFunction(() => /Imported/.test(document.querySelector('[data-testid=data-message]').textContent));
  await page.waitForFunction(() => window.ainrec.model().weights === 'fine-tuned');
  await settled(page);
  assert.deepEqual(await scores(page), tunedScores, 'imported fine-tuned weights in use');
  // Stop mid-run: the weights stay as they were.
  await page.click('[data-testid=finetune-start]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=loss-plot]').dataset.points) > 0, null, { timeout: 30000 });
  const t0 = Date.now();
  await page.click('[data-testid=finetune-stop]');
  await page.waitForFunction(() => window.ainrec.fineTune, null, { timeout: 30000 });
  console.log(`Stop: fine-tuning over ${Date.now() - t0} ms after the click`);
  assert.equal((await page.evaluate(() => window.ainrec.fineTune)).cancelled, true);
  assert.match(await page.textContent('[data-testid=finetune-result]'), /Stopped/);
  await settled(page);
  assert.deepEqual(await scores(page), tunedScores, 'Stop kept the weights');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('without the model file the page says so and everything else works', async () => {
  const page = await env.browser.newPage();
  await page.route('**/model/browser.safetensors', (route) => route.fulfill({ status: 404, body: 'not here' }));
  await page.goto(env.server.url);
  await page.waitForFunction(() => window.ainrec?.loaded, null, { timeout: 30000 });
  await page.waitForFunction(() => window.ainrec.model().error, null, { timeout: 30000 });
  const status = await page.textContent('[data-testid=model-status]');
  assert.match(status, /No recommendations: the model file model\/browser\.safetensors could not be fetched \(HTTP 404\).*Everything else on the page works/);
  assert.equal(await page.isDisabled('[data-testid=finetune-start]'), true);
  // Nothing reads the portrait then either, and the form says so.
  assert.match(await page.textContent('[data-testid=portrait-use]'), /^Not used: there is no recommender in this page right now/);
  assert.equal(await page.isVisible('label[for=genres] .unused-tag'), true);
  await loadDemo(page);
  await playAll(page, [0]);
  assert.equal((await historyIds(page)).length, 1);
  await page.screenshot({ path: path.join(artifacts, 'model-missing.png') });
  await page.close();
});
