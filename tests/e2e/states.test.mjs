// A library that reads like music and states that tell the truth (issue 21, items 4 and 5),
// driven in Debian's Chromium against `ainrec serve`:
// - a PDF and a PNG dropped with music are both listed with their reasons, and so is a clip
//   shorter than a track needs (the minimum stated);
// - an untagged file's title and artist come from its file name; search and sort; a new row is
//   scrolled into view in the list's box;
// - Forget me resets every status line and figure, and its dialog's default button keeps the data.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openPage, repo, useServerAndBrowser } from './harness.mjs';

const demoDir = path.join(repo, 'models', 'demo');
const catalog = JSON.parse(readFileSync(path.join(demoDir, 'catalog.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ainrec-states-'));
const UNTAGGED = '03 - Some Artist - Some_Title.wav';
const env = useServerAndBrowser();

before(() => {
  const ff = (args) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  const src = path.join(demoDir, catalog.tracks[8].file);
  ff(['-i', src, '-t', '6', '-map_metadata', '-1', '-c:a', 'pcm_s16le', path.join(tmp, UNTAGGED)]);
  ff(['-i', src, '-t', '1', '-map_metadata', '-1', '-c:a', 'pcm_s16le', path.join(tmp, 'one-second.wav')]);
  ff(['-f', 'lavfi', '-i', 'color=c=0x3b6ea8:s=32x32', '-frames:v', '1', path.join(tmp, 'cover.png')]);
  writeFileSync(path.join(tmp, 'liner notes.pdf'), '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');
});

const waitBatch = (page, n) => page.waitForFunction((k) => window.ainrec.batchesDone >= k && !window.ainrec.batch, n, { timeout: 120000 });

/** Drops `names` (files of tmp) on the drop zone, as a drag and drop does. */
async function drop(page, names) {
  const files = names.map((n) => ({ name: n, b64: readFileSync(path.join(tmp, n)).toString('base64') }));
  const dt = await page.evaluateHandle((list) => {
    const d = new DataTransfer();
    for (const f of list) {
      const bin = atob(f.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      d.items.add(new File([bytes], f.name, { type: f.name.endsWith('.png') ? 'image/png' : f.name.endsWith('.pdf') ? 'application/pdf' : '' }));
    }
    return d;
  }, files);
  await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dt });
}

test('dropped with music: a PDF, a PNG and a 1 s clip are each listed with the reason; the untagged file reads like music; search, sort, new rows in view', async () => {
  const { page, consoleErrors } = await openPage(env.browser, env.server.url, { viewport: { width: 1280, height: 800 } });
  await page.waitForFunction(() => window.ainrec.loaded, null, { timeout: 30000 });
  await page.click('[data-testid=demo-catalog]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=library] li').length === n, catalog.tracks.length, { timeout: 30000 });
  await drop(page, ['liner notes.pdf', UNTAGGED, 'cover.png', 'one-second.wav']);
  await waitBatch(page, 1);
  const bad = await page.locator('[data-testid=bad-files] li').allTextContents();
  assert.equal(bad.length, 3, bad.join('\n'));
  assert.match(bad.find((t) => t.startsWith('liner notes.pdf: ')), /not added: it is a PDF document, not audio/);
  assert.match(bad.find((t) => t.startsWith('cover.png: ')), /not added: it is an image, not audio/);
  assert.match(bad.find((t) => t.startsWith('one-second.wav: ')), /it is 1\.00 s long: shorter than the 2 s a track needs/);
  assert.equal(await page.textContent('#bad-count'), '3');
  const status = await page.textContent('[data-testid=status]');
  assert.match(status, /1 added/);
  assert.match(status, /1 not added \(listed below\), 2 not audio \(listed below\)/);
  // The untagged file: title and artist from its name (track number and underscores gone).
  const row = page.locator('[data-testid=library] li', { hasText: 'Some Title' });
  assert.equal(await row.locator('.title').textContent(), 'Some Title');
  assert.match(await row.locator('.sub').textContent(), /^Some Artist · 0:06/);
  // Added last, at the bottom of a 56-row list: scrolled into view in the box.
  const inView = await row.evaluate((li) => {
    const box = li.closest('.library-box').getBoundingClientRect();
    const r = li.getBoundingClientRect();
    return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  });
  assert.ok(inView, 'the new row is in view');
  // Search: by artist, across title, artist, album and file name.
  await page.fill('[data-testid=library-search]', 'some artist');
  assert.equal(await page.locator('[data-testid=library] li:not([hidden])').count(), 1);
  assert.equal(await page.textContent('#library-count'), `(1 of ${catalog.tracks.length + 1} shown)`);
  await page.fill('[data-testid=library-search]', 'no such music');
  assert.equal(await page.locator('[data-testid=library] li:not([hidden])').count(), 0);
  assert.match(await page.textContent('[data-testid=library-nomatch]'), /No track matches “no such music”/);
  await page.fill('[data-testid=library-search]', '');
  assert.equal(await page.locator('[data-testid=library] li:not([hidden])').count(), catalog.tracks.length + 1);
  // Sort: by title (alphabetical), by artist, by plays.
  const titles = () => page.locator('[data-testid=library] li .title').allTextContents();
  await page.selectOption('[data-testid=library-sort]', 'title');
  const byTitle = await titles();
  assert.deepEqual(byTitle, [...byTitle].sort((a, b) => a.localeCompare(b)));
  await page.selectOption('[data-testid=library-sort]', 'recent');
  assert.equal((await titles())[0], 'Some Title', 'the newest first');
  await page.selectOption('[data-testid=library-sort]', 'artist');
  const artists = await page.evaluate(() => [...document.querySelectorAll('[data-testid=library] li')].map((li) => li.querySelector('.sub').textContent.split(' — ')[0].split(' · ')[0]));
  assert.deepEqual(artists, [...artists].sort((a, b) => a.localeCompare(b)));
  await page.evaluate(() => { document.getElementById('audio').defaultPlaybackRate = 16; });
  const target = catalog.tracks[33];
  await page.click(`[data-testid=library] li[data-id="${target.sha256}"] [data-testid=play]`);
  await page.waitForFunction((x) => window.ainrec.history().items.find((i) => i.id === x)?.plays === 1, target.sha256, { timeout: 15000 });
  await page.evaluate(() => document.getElementById('audio').pause());
  await page.selectOption('[data-testid=library-sort]', 'plays');
  assert.equal((await titles())[0], target.title, 'the most played first');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('Forget me: "Keep my data" is the default; confirmed, every status line and figure is reset', async () => {
  const { page, consoleErrors } = await openPage(env.browser, env.server.url, { viewport: { width: 1280, height: 800 } });
  await page.waitForFunction(() => window.ainrec.loaded && window.ainrec.model().ok, null, { timeout: 30000 });
  const fresh = await page.evaluate(() => Object.fromEntries(['status', 'library-count', 'bad-count', 'track-info', 'now-playing',
    'play-count', 'queue-note', 'finetune-result', 'recommendations-empty'].map((id) => [id, document.getElementById(id).textContent])));
  await page.click('[data-testid=demo-catalog]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=library] li').length === n, catalog.tracks.length, { timeout: 30000 });
  await drop(page, ['cover.png', UNTAGGED]);
  await waitBatch(page, 1);
  await page.evaluate(() => { document.getElementById('audio').defaultPlaybackRate = 16; });
  for (const i of [3, 4]) {
    await page.click(`[data-testid=library] li[data-id="${catalog.tracks[i].sha256}"] [data-testid=play]`);
    await page.waitForFunction((x) => window.ainrec.history().items.find((it) => it.id === x)?.plays === 1, catalog.tracks[i].sha256, { timeout: 15000 });
  }
  await page.evaluate(() => document.getElementById('audio').pause());
  await page.waitForFunction(() => window.ainrec.queue?.ids.length > 0 && window.ainrec.recommendations.length > 0, null, { timeout: 15000 });
  await page.click('[data-testid=finetune-start]');
  await page.waitForFunction(() => window.ainrec.fineTune);
  assert.notEqual(await page.textContent('#finetune-result'), '');
  // The dialog opens on "Keep my data"; Enter there keeps everything.
  await page.click('[data-testid=forget]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'forget-cancel');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.getElementById('forget-dialog').open), false);
  assert.equal(await page.locator('[data-testid=library] li').count(), catalog.tracks.length + 1);
  // Confirmed: back to a first visit.
  await page.click('[data-testid=forget]');
  await page.click('[data-testid=forget-confirm]');
  await page.waitForFunction(() => /deleted/.test(document.querySelector('[data-testid=data-message]').textContent));
  await page.waitForFunction(() => window.ainrec.model().idle && window.ainrec.recommendations.length === 0);
  const now = await page.evaluate(() => Object.fromEntries(['status', 'library-count', 'bad-count', 'track-info', 'now-playing',
    'play-count', 'queue-note', 'finetune-result', 'recommendations-empty'].map((id) => [id, document.getElementById(id).textContent])));
  // The recommendations' line then says there is no music (not "play a few tracks").
  assert.match(now['recommendations-empty'], /No tracks yet/);
  delete now['recommendations-empty'];
  delete fresh['recommendations-empty'];
  assert.deepEqual(now, fresh);
  const figures = await page.evaluate(() => ({
    library: document.querySelectorAll('[data-testid=library] li').length,
    bad: document.querySelectorAll('[data-testid=bad-files] li').length,
    queue: document.querySelectorAll('[data-testid=queue] li').length,
    recs: document.querySelectorAll('[data-testid=recommendations] li').length,
    progress: document.getElementById('progress').value,
    overall: document.getElementById('overall-progress').value,
    lossPoints: document.getElementById('loss-plot').dataset.points,
    lossSteps: document.getElementById('loss-steps').textContent,
    playbackMessage: document.getElementById('playback-message').hidden,
    storageWarning: document.getElementById('storage-warning').hidden,
    history: window.ainrec.history().items.length,
    mediaSession: navigator.mediaSession.metadata,
  }));
  assert.deepEqual(figures, {
    library: 0, bad: 0, queue: 0, recs: 0, progress: 0, overall: 0, lossPoints: '0', lossSteps: '', playbackMessage: true, storageWarning: true, history: 0, mediaSession: null,
  });
  assert.deepEqual(consoleErrors, []);
  await page.close();
});
