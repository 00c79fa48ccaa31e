// Listening that follows the recommendations (issue 21), driven in Debian's Chromium against
// `ainrec serve` on the demo catalog (15 s excerpts: half their length, 7.5 s, comes before the
// 30 s play threshold):
// - a play counts once a track has been heard for its threshold, and not before; Next before
//   that is a skip of that track only;
// - auto-next and Next take the "Up next" queue (the recommendations), Start radio and Play all
//   recommendations fill it, and with nothing unheard left it goes on with heard tracks and says so;
// - "Less like this" lowers the disliked track's neighbours; no explanation cites a skipped or
//   disliked item as a reason;
// - the player bar: media session metadata while playing, the skip link and the shortcuts, on
//   screen at 390 × 844 with the library scrolled.
// Tracks are played faster than real time (playbackRate): media time still has to play through,
// which is what the rule counts; seeking earns nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  artifacts, openPage, repo, useServerAndBrowser, settled,
} from './harness.mjs';

const demoDir = path.join(repo, 'models', 'demo');
const catalog = JSON.parse(readFileSync(path.join(demoDir, 'catalog.json'), 'utf8'));
const shots = process.env.AINREC_SHOTS || path.join(artifacts, 'shots');
mkdirSync(shots, { recursive: true });
const env = useServerAndBrowser();

async function open({ query = '', viewport } = {}) {
  const o = await openPage(env.browser, env.server.url + query, viewport ? { viewport } : {});
  await o.page.waitForFunction(() => window.ainrec.loaded && window.ainrec.model().ok, null, { timeout: 30000 });
  await o.page.click('[data-testid=demo-catalog]');
  await o.page.waitForFunction((n) => document.querySelectorAll('[data-testid=library] li').length === n,
    catalog.tracks.length, { timeout: 30000 });
  return o;
}

const id = (i) => catalog.tracks[i].sha256;
const lib = (i, testid) => `[data-testid=library] li[data-id="${id(i)}"] [data-testid=${testid}]`;
const item = (page, x) => page.evaluate((k) => window.ainrec.history().items.find((i) => i.id === k) || null, x);
const rate = (page, r) => page.evaluate((v) => { const a = document.getElementById('audio'); a.defaultPlaybackRate = v; a.playbackRate = v; }, r);
const playing = (page) => page.evaluate(() => window.ainrec.playing());
const queue = (page) => page.evaluate(() => window.ainrec.queue);
const pause = (page) => page.evaluate(() => document.getElementById('audio').pause());


/** Waits until track `x` has counted as a play (heard for its threshold). */
const counted = (page, x) => page.waitForFunction((k) => window.ainrec.history().items.find((i) => i.id === k)?.plays >= 1, x, { timeout: 30000 });

test('play → heard past the threshold → the track ends → the next queued recommendation plays; media session set', async () => {
  const { page, consoleErrors } = await open();
  await rate(page, 16);
  await page.click(lib(7, 'play'));
  await counted(page, id(7));
  await pause(page);
  await settled(page);
  const q = await queue(page);
  assert.equal(q.mode, 'recommendations');
  const recs = await page.evaluate(() => window.ainrec.recommendations.map((r) => r.id));
  assert.deepEqual(q.ids, recs, 'the queue is the recommendations, in the order shown');
  assert.equal(await page.locator('[data-testid=queue] li').count(), q.ids.length);
  // No raw scores beside the list; a pick the diversity rule (on by default) placed above ones
  // the model scored higher says so, and only such a pick.
  assert.equal(await page.locator('[data-testid=recommendations] [data-testid=score]').count(), 0);
  const moved = await page.evaluate(() => [...document.querySelectorAll('[data-testid=recommendations] li')].map((li, i) => ({
    i, rank: window.ainrec.recommendations[i].modelRank, text: li.querySelector('[data-testid=moved]').textContent,
  })));
  for (const m of moved) {
    if (m.rank > m.i) assert.equal(m.text, `moved up to vary artists (the model's #${m.rank + 1})`);
    else assert.equal(m.text, '', `#${m.i + 1} was not moved up: ${m.text}`);
  }
  console.log(`diversity: ${moved.filter((m) => m.text).length} of ${moved.length} picks moved up to vary artists`);
  assert.match(await page.textContent('#attention-legend'), /dark = little, bright = the most/);
  // The media session names the playing track.
  assert.deepEqual(await page.evaluate(() => ({ title: navigator.mediaSession.metadata?.title, artist: navigator.mediaSession.metadata?.artist })),
    { title: catalog.tracks[7].title, artist: catalog.tracks[7].artist });
  // To its end (a seek: it already counted), then auto-next.
  await page.evaluate(() => { const a = document.getElementById('audio'); a.currentTime = a.duration - 0.3; a.play(); });
  await page.waitForFunction((x) => window.ainrec.playing() === x && !document.getElementById('audio').paused, q.ids[0], { timeout: 15000 });
  const first = await item(page, id(7));
  assert.equal(first.plays, 1);
  assert.equal(first.full_listens, 1);
  assert.equal((await item(page, q.ids[0]))?.plays || 0, 0, 'the next track has no play yet');
  assert.equal(await page.evaluate(() => navigator.mediaSession.metadata.title),
    await page.evaluate((x) => window.ainrec.tracks().find((t) => t.id === x).title, q.ids[0]));
  assert.equal(await page.evaluate(() => navigator.mediaSession.playbackState), 'playing');
  assert.match(await page.textContent('[data-testid=now-playing]'), new RegExp(await page.evaluate((x) => window.ainrec.tracks().find((t) => t.id === x).title, q.ids[0])));
  // Jumping to the end earns nothing: neither a play nor a full listen.
  const second = q.ids[0];
  await page.waitForFunction(() => Number.isFinite(document.getElementById('audio').duration));
  await page.evaluate(() => { const a = document.getElementById('audio'); a.currentTime = a.duration - 0.2; });
  await page.waitForFunction((x) => window.ainrec.playing() !== x, second, { timeout: 15000 });
  const jumped = await item(page, second);
  assert.equal(jumped?.plays || 0, 0, 'a track jumped through is not a play');
  assert.equal(jumped?.full_listens || 0, 0);
  await pause(page);
  await page.screenshot({ path: path.join(shots, 'queue-1280.png') });
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('Next before the threshold is a skip of that track only; no track gains a play before its threshold', async () => {
  const { page, consoleErrors } = await open();
  // Every time update: the heard time and the playing track's plays, to check the order of the two.
  await page.evaluate(() => {
    window.__samples = [];
    document.getElementById('audio').addEventListener('timeupdate', () => {
      const l = window.ainrec.listening();
      const it = window.ainrec.history().items.find((i) => i.id === l.id);
      if (l.id) window.__samples.push({ id: l.id, heard: l.heard, threshold: l.threshold, plays: it?.plays || 0 });
    });
  });
  await page.click(lib(20, 'like'));
  await page.click(lib(21, 'like'));
  await settled(page);
  await rate(page, 4);
  await page.click(lib(3, 'play'));
  await page.waitForFunction(() => window.ainrec.listening().heard > 0.5, null, { timeout: 15000 });
  const next = (await queue(page)).ids[0];
  await page.click('[data-testid=bar-next]');
  await page.waitForFunction((x) => window.ainrec.playing() === x, next, { timeout: 15000 });
  const skipped = await item(page, id(3));
  assert.equal(skipped.skips, 1);
  assert.equal(skipped.plays, 0, 'a skipped track gains no play');
  assert.equal((await item(page, next))?.skips || 0, 0, 'the next track is not skipped');
  assert.equal((await item(page, next))?.plays || 0, 0, 'nor played yet');
  await counted(page, next);
  await pause(page);
  const samples = await page.evaluate(() => window.__samples);
  const early = samples.filter((s) => s.heard < s.threshold - 1e-6);
  assert.ok(early.length >= 5, `${early.length} samples before the threshold`);
  assert.deepEqual(early.filter((s) => s.plays > 0), [], 'a play counted before the threshold');
  assert.ok(samples.some((s) => s.id === next && s.heard >= s.threshold && s.plays === 1), 'counted once heard');
  const threshold = samples.filter((s) => s.id === next).at(-1).threshold;
  assert.ok(Math.abs(threshold - 7.5) < 0.2, `half of a 15 s excerpt: ${threshold}`);
  // Explanations: the skipped track is never a reason for; where it counts, it is what a pick is less like.
  await settled(page);
  const skippedTitle = catalog.tracks[3].title;
  const recs = await page.evaluate(() => window.ainrec.recommendations);
  for (const r of recs) {
    assert.ok(!r.because.some((b) => b.id === id(3)), `${r.title} cites the skipped track: ${r.text}`);
    const named = r.text.split(skippedTitle).length - 1;
    const asLess = r.text.split(`less like ${skippedTitle}, which you skipped`).length - 1;
    assert.equal(named, asLess, `the skipped track named other than as "less like": ${r.text}`);
    assert.match(r.text, /^Because you (liked|played) /);
    // Each reason says what was done with it: liked, or played.
    for (const b of r.because) {
      const h = await item(page, b.id);
      assert.equal(b.did, h.liked ? 'liked' : 'played', `${r.title}: ${r.text}`);
      assert.ok(r.text.includes(`${b.did} ${await page.evaluate((x) => window.ainrec.tracks().find((t) => t.id === x).title, b.id)}`), r.text);
    }
  }
  console.log(`explanations after a skip: ${recs.slice(0, 3).map((r) => r.text).join(' | ')}`);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('"Less like this" lowers the disliked track\'s neighbours; it is shown, and taken back with a second press', async () => {
  const { page, consoleErrors } = await open({ query: `?recK=${catalog.tracks.length}` });
  await page.uncheck('[data-testid=diversity]');
  const scores = () => page.evaluate(() => Object.fromEntries(window.ainrec.recommendations.map((r) => [r.id, r.score])));
  // X's neighbours: the tracks ranked first for a history of X alone.
  const X = 12;
  await page.click(lib(X, 'like'));
  await settled(page);
  const alone = Object.entries(await scores(page)).sort((a, b) => b[1] - a[1]).map(([k]) => k);
  await page.click(lib(X, 'remove'));
  // A history of its own: two liked tracks of other collections.
  await page.click(lib(40, 'like'));
  await page.click(lib(50, 'like'));
  await settled(page);
  const before = await scores(page);
  await page.click(lib(X, 'dislike'));
  await settled(page);
  assert.equal(await page.getAttribute(lib(X, 'dislike'), 'aria-pressed'), 'true');
  assert.match(await page.textContent(`[data-testid=library] li[data-id="${id(X)}"] [data-testid=counts]`), /less like this/);
  const after = await scores(page);
  const heard = new Set([id(40), id(50), id(X)]);
  const near = alone.filter((k) => !heard.has(k)).slice(0, 5);
  const far = alone.filter((k) => !heard.has(k)).slice(-5);
  const drop = (ks) => ks.map((k) => before[k] - after[k]);
  console.log(`dislike: neighbours' scores fall by ${drop(near).map((d) => d.toFixed(3)).join(', ')}; the farthest tracks' by ${drop(far).map((d) => d.toFixed(3)).join(', ')}`);
  for (const [k, d] of near.map((k) => [k, before[k] - after[k]])) assert.ok(d > 0, `neighbour ${k.slice(0, 6)} not lowered (${d})`);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(drop(near)) > mean(drop(far)), 'the neighbours fall more than the farthest tracks');
  // The disliked track is never cited as a reason.
  for (const r of await page.evaluate(() => window.ainrec.recommendations)) {
    assert.ok(!r.because.some((b) => b.id === id(X)), `${r.title}: ${r.text}`);
  }
  // Pressed again: taken back, the scores are the ones before.
  await page.click(lib(X, 'dislike'));
  await settled(page);
  assert.equal(await page.getAttribute(lib(X, 'dislike'), 'aria-pressed'), 'false');
  const undone = await scores(page);
  for (const k of near) assert.ok(Math.abs(undone[k] - before[k]) < 1e-4 || undone[k] > after[k], `undo of ${k.slice(0, 6)}`);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('Start radio from a track and Play all recommendations fill the queue; Next takes it', async () => {
  const { page, consoleErrors } = await open();
  await rate(page, 16);
  // A radio from a track with an empty history: there are no recommendations yet, the queue is full.
  await page.click(lib(30, 'radio'));
  await page.waitForFunction(() => window.ainrec.queue?.mode === 'seed' && window.ainrec.queue.ids.length === 10, null, { timeout: 15000 });
  assert.equal(await playing(page), id(30));
  assert.equal(await page.evaluate(() => window.ainrec.recommendations.length), 0);
  assert.match(await page.textContent('[data-testid=queue-mode]'), new RegExp(`Radio from ${catalog.tracks[30].title}`));
  const seedQueue = (await queue(page)).ids;
  assert.ok(!seedQueue.includes(id(30)));
  // Once the seed counted, the history is that track alone: its radio is what it recommends.
  await counted(page, id(30));
  await pause(page);
  await settled(page);
  await page.waitForFunction((s) => window.ainrec.queue.ids.join() !== '' && window.ainrec.model().idle, seedQueue);
  const recs = await page.evaluate(() => window.ainrec.recommendations.map((r) => r.id));
  assert.deepEqual(seedQueue, recs, 'the seed radio ranks as a history of that track');
  await page.screenshot({ path: path.join(shots, 'radio-1280.png') });
  const next = (await queue(page)).ids[0];
  await page.keyboard.press('n'); // the shortcut for Next
  await page.waitForFunction((x) => window.ainrec.playing() === x, next, { timeout: 15000 });
  await pause(page);
  // Play all recommendations: the first plays, the rest is the queue.
  await counted(page, next).catch(() => {});
  await settled(page);
  await page.click('[data-testid=play-all]');
  await settled(page);
  await page.waitForFunction(() => window.ainrec.queue.mode === 'recommendations' && window.ainrec.model().idle);
  const shown = await page.evaluate(() => window.ainrec.recommendations.map((r) => r.id));
  const now = await playing(page);
  await pause(page);
  const q = await queue(page);
  assert.ok(shown.includes(now) || (await item(page, now))?.plays >= 1, 'a recommendation plays');
  assert.deepEqual(q.ids, shown.filter((x) => x !== now), 'the queue: the other recommendations, in order');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('with nothing unheard left the radio goes on with the best-scored heard tracks and says so', async () => {
  const o = await openPage(env.browser, env.server.url);
  const { page, consoleErrors } = o;
  await page.waitForFunction(() => window.ainrec.loaded && window.ainrec.model().ok, null, { timeout: 30000 });
  await page.setInputFiles('#file-input', [0, 10, 20, 45].map((i) => path.join(demoDir, catalog.tracks[i].file)));
  await page.waitForFunction(() => window.ainrec.batchesDone >= 1 && !window.ainrec.batch, null, { timeout: 120000 });
  const ids = await page.evaluate(() => window.ainrec.tracks().map((t) => t.id));
  assert.equal(ids.length, 4);
  const btn = (x, t) => page.locator(`[data-testid=library] li[data-id="${x}"] [data-testid=${t}]`);
  for (const x of ids.slice(0, 3)) await btn(x, 'like').click();
  await btn(ids[3], 'dislike').click();
  await settled(page);
  await page.waitForFunction(() => window.ainrec.queue?.heard, null, { timeout: 15000 });
  const q = await queue(page);
  assert.match(q.note, /heard every track in your library: the radio goes on with the heard ones that score best/);
  assert.match(await page.textContent('[data-testid=queue-note]'), /heard every track/);
  assert.deepEqual([...q.ids].sort(), ids.slice(0, 3).sort(), 'the liked ones, not the disliked one');
  await page.click('[data-testid=bar-play]');
  await page.waitForFunction((x) => window.ainrec.playing() === x, q.ids[0], { timeout: 15000 });
  await pause(page);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('the player bar stays on screen at 390 × 844 with the library scrolled; skip link; screenshots', async () => {
  const PHONE = { width: 390, height: 844 };
  const { page, consoleErrors } = await open({ viewport: PHONE });
  await rate(page, 16);
  await page.click(lib(2, 'play'));
  await counted(page, id(2));
  await pause(page);
  await settled(page);
  await page.evaluate(() => {
    const box = document.querySelector('.library-box');
    box.scrollIntoView();
    box.scrollTop = box.scrollHeight / 2;
  });
  const bar = await page.evaluate(() => {
    const r = document.getElementById('player-bar').getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + 8);
    const play = document.getElementById('bar-play').getBoundingClientRect();
    return {
      top: r.top, bottom: r.bottom, width: r.width, scrollY: window.scrollY, covered: !hit?.closest('#player-bar'),
      playInView: play.top >= 0 && play.bottom <= innerHeight && play.right <= innerWidth,
      libraryScrolled: document.querySelector('.library-box').scrollTop,
    };
  });
  assert.ok(bar.scrollY > 100 && bar.libraryScrolled > 100, `page and library scrolled: ${JSON.stringify(bar)}`);
  assert.ok(bar.top >= 0 && bar.bottom <= PHONE.height + 0.5 && bar.width <= PHONE.width, `bar in the window: ${JSON.stringify(bar)}`);
  assert.equal(bar.covered, false, 'nothing covers the bar');
  assert.ok(bar.playInView, 'its Play button is on screen');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= PHONE.width, 'no sideways scrolling');
  assert.match(await page.textContent('[data-testid=now-playing]'), new RegExp(catalog.tracks[2].title));
  await page.screenshot({ path: path.join(shots, 'library-390.png') });
  // The skip link: the Tab stop before the first control of the page, and Enter moves focus to
  // the player's Play button.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.focus('#file-input');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'skip-to-player');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'bar-play');
  // The queue and the recommendations at 390 px.
  await page.locator('.queue').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'queue-390.png') });
  await page.locator('.recs').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'recommendations-390.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, 'library-1280.png') });
  await page.locator('.recs').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'recommendations-1280.png') });
  assert.deepEqual(consoleErrors, []);
  await page.close();
});
