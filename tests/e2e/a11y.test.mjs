// Accessibility and layout of the page (issue 7, "keyboard operable, labelled controls, readable
// at 360 px, no layout jumps"), driven in Debian's Chromium against `ainrec serve`:
// - every control has an accessible name (Chromium's own accessibility tree, over CDP);
// - every control is reached with Tab, shows a visible focus ring there, and works with Enter or
//   Space (file choosers, the dialog and the portrait form included);
// - at 360 px the page does not scroll sideways, in every state;
// - nothing jumps while files are analysed, recommendations update and the model learns
//   (cumulative layout shift, shifts right after input excluded as the Web Vitals do), and the
//   recommendations and "Learn my taste" sit where they sit whatever the size of the library;
// - the portrait fields say that the current model does not use them.
// Screenshots at 360 px and at desktop width are written to artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  artifacts, openPage, repo, useServerAndBrowser, settled,
} from './harness.mjs';

const demoDir = path.join(repo, 'models', 'demo');
const catalog = JSON.parse(readFileSync(path.join(demoDir, 'catalog.json'), 'utf8'));
const fixtures = path.join(repo, 'tests', 'fixtures');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };

const env = useServerAndBrowser();

// Cumulative layout shift as the Web Vitals define it, with the elements that moved.
function observeLayoutShift() {
  window.__cls = 0;
  window.__shifts = [];
  const name = (n) => (!n || !n.tagName ? String(n && n.nodeName)
    : `${n.tagName.toLowerCase()}${n.id ? `#${n.id}` : ''}${n.className && typeof n.className === 'string' ? `.${n.className.split(' ').join('.')}` : ''}`);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      window.__cls += e.value;
      window.__shifts.push({ value: Number(e.value.toFixed(5)), at: Math.round(e.startTime), moved: (e.sources || []).map((s) => name(s.node)) });
    }
  }).observe({ type: 'layout-shift', buffered: true });
}

async function open(viewport = DESKTOP) {
  const o = await openPage(env.browser, env.server.url, { initScript: observeLayoutShift, viewport });
  await o.page.waitForFunction(() => window.ainrec.loaded, null, { timeout: 30000 });
  await o.page.waitForFunction(() => window.ainrec.model().ok || window.ainrec.model().error, null, { timeout: 30000 });
  assert.equal(await o.page.evaluate(() => window.ainrec.model().error), null);
  return o;
}

const waitBatch = (page, n) => page.waitForFunction((k) => window.ainrec.batchesDone >= k && !window.ainrec.batch, n, { timeout: 180000 });


const scrollWidth = (page) => page.evaluate(() => document.documentElement.scrollWidth);

/** Where `selector` sits in the document (not the viewport), in px from the top. */
const docTop = (page, selector) => page.$eval(selector, (el) => Math.round(el.getBoundingClientRect().top + window.scrollY));

/** Interactive and labelled nodes of Chromium's accessibility tree without a name. */
async function unnamed(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const needName = new Set(['button', 'checkbox', 'spinbutton', 'textbox', 'combobox', 'ListBox', 'listbox', 'slider',
    'link', 'DisclosureTriangle', 'radio', 'switch', 'searchbox', 'menuitem', 'image', 'img', 'region',
    'progressbar', 'dialog', 'Audio', 'Video', 'tab']);
  const counted = nodes.filter((n) => !n.ignored && needName.has(n.role?.value));
  const missing = counted.filter((n) => !(n.name?.value || '').trim())
    .map((n) => `${n.role.value} (backend node ${n.backendDOMNodeId})`);
  return { count: counted.length, missing, roles: [...new Set(counted.map((n) => n.role.value))] };
}

async function checkNames(page, what) {
  const { count, missing, roles } = await unnamed(page);
  assert.ok(count > 10, `${what}: ${count} controls in the accessibility tree`);
  assert.deepEqual(missing, [], `${what}: controls without an accessible name`);
  return { count, roles };
}

/**
 * Presses Tab through the whole page (until focus comes back round). Marks every element that
 * got focus, and returns the stops, each with whether a focus ring was visible (on the element,
 * or for a visually hidden file input on its label) and whether it was scrolled into view.
 */
async function tabWalk(page, max = 800) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    for (const el of document.querySelectorAll('[data-tab-stop]')) delete el.dataset.tabStop;
    window.__tabStops = 0;
  });
  const stops = [];
  let outside = 0;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const s = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body || el === document.documentElement) return null;
      const first = !el.dataset.tabStop;
      if (first) el.dataset.tabStop = String(++window.__tabStops);
      const shown = el.classList.contains('visually-hidden') ? document.querySelector(`label[for="${el.id}"]`) : el;
      const cs = getComputedStyle(shown);
      const r = shown.getBoundingClientRect();
      const desc = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.dataset.testid ? `[${el.dataset.testid}]` : ''}`
        + `${el.getAttribute('aria-label') ? ` “${el.getAttribute('aria-label')}”` : ''}`;
      return {
        key: el.dataset.tabStop,
        first,
        desc,
        ring: el.tagName === 'AUDIO' || (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1),
        inView: r.bottom > 0 && r.top < window.innerHeight && r.right > 0 && r.left < window.innerWidth,
      };
    });
    if (!s) {
      outside += 1;
      if (outside > 1 && stops.length) break;
      continue;
    }
    if (!s.first && s.key === '1') break; // round again
    if (s.first) stops.push(s);
  }
  return stops;
}

/** Visible, enabled controls of the page that the Tab walk did not reach. */
const unreached = (page) => page.evaluate(() => [...document.querySelectorAll(
  'button, input, select, textarea, summary, a[href], audio[controls], [tabindex]',
)].filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0
  && !el.closest('dialog:not([open])') && !(el.closest('details:not([open])') && el.tagName !== 'SUMMARY')
  && !el.dataset.tabStop).map((el) => el.outerHTML.slice(0, 120)));

/**
 * Keeps Playwright intercepting file choosers for the page's whole life. Playwright intercepts
 * choosers only while something listens for them and switches interception on with an
 * asynchronous protocol call when the first listener comes, so a `waitForEvent` made together
 * with the key press can lose the race: the chooser then opens natively (headless: nothing) and
 * is missed. Seen in two fresh-clone CI runs; locally, with a retry added to look, the first
 * press was lost every time, and with this listener never.
 */
function keepChoosersIntercepted(page) {
  page.on('filechooser', () => {});
}

/**
 * Presses `key` on the focused file input and returns the file chooser it opens (call
 * `keepChoosersIntercepted` first). If none opens, fails with what the page looked like: the
 * focused element, the user activation and the console's warnings (Chromium names a refused
 * chooser).
 */
async function chooserFrom(page, key) {
  const warnings = [];
  const onConsole = (m) => { if (m.type() === 'warning') warnings.push(m.text()); };
  page.on('console', onConsole);
  try {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: 15000 }), page.keyboard.press(key)]);
    return chooser;
  } catch (err) {
    const state = await page.evaluate(() => ({
      focused: document.activeElement?.outerHTML.slice(0, 120),
      userActivation: { isActive: navigator.userActivation?.isActive, hasBeenActive: navigator.userActivation?.hasBeenActive },
      model: window.ainrec.model(),
    }));
    throw new Error(`${key} opened no file chooser: ${err.message}\npage: ${JSON.stringify(state)}\nconsole warnings: ${JSON.stringify(warnings)}`);
  } finally {
    page.off('console', onConsole);
  }
}

/** Presses Tab until the focused element matches `selector` (fails after `max` presses). */
async function tabTo(page, selector, max = 600) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
  }
  assert.fail(`${selector} was not reached with Tab`);
}

test('empty page: controls named, portrait marked as unused by the model, 360 px without sideways scrolling', async () => {
  const { page, consoleErrors } = await open(DESKTOP);
  const names = await checkNames(page, 'empty page');
  console.log(`accessibility tree: ${names.count} named controls and regions (${names.roles.join(', ')})`);
  // The file chooser offers exactly the extensions the Rust side takes as audio (one list for
  // the CLI's folder walk and the page, handed over by the worker).
  const rust = readFileSync(path.join(repo, 'src', 'audio', 'mod.rs'), 'utf8')
    .match(/pub const AUDIO_EXTENSIONS: \[&str; \d+\] = \[([^\]]*)\]/)[1].match(/"([a-z0-9]+)"/g).map((e) => `.${e.slice(1, -1)}`);
  await page.waitForFunction(() => document.getElementById('file-input').accept !== '');
  assert.deepEqual((await page.getAttribute('#file-input', 'accept')).split(','), ['audio/*', ...rust]);
  // The model reports that it does not read the portrait; the form says so, field by field.
  assert.equal(await page.evaluate(() => window.ainrec.model().usesPortrait), false);
  assert.match(await page.textContent('[data-testid=portrait-use]'), /^Not used by the current model: it learns from what you play/);
  for (const id of ['age-band', 'language', 'genres']) {
    assert.equal(await page.isVisible(`label[for=${id}] .unused-tag`), true, `${id} is marked`);
    assert.equal(await page.getAttribute(`#${id}`, 'aria-describedby'), 'portrait-use');
    const name = await page.$eval(`#${id}`, (el) => el.labels[0].textContent.replace(/\s+/g, ' ').trim());
    assert.match(name, /not used by the current model$/, id);
  }
  await page.screenshot({ path: path.join(artifacts, 'empty-page.png'), fullPage: true });
  await page.setViewportSize(PHONE);
  assert.ok(await scrollWidth(page) <= PHONE.width, `page is ${await scrollWidth(page)} px wide at 360 px`);
  await page.screenshot({ path: path.join(artifacts, 'empty-page-360px.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('keyboard only: every control reached with Tab, a visible focus ring, Enter and Space work', async () => {
  const { page, consoleErrors } = await open(DESKTOP);
  keepChoosersIntercepted(page);
  // The demo catalog, from the keyboard.
  await tabTo(page, '#demo-catalog');
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=library] li').length === n, catalog.tracks.length, { timeout: 30000 });
  // Play two tracks with Enter (each heard at 16 × speed until it counts as a play), like one with Space.
  const lib = (i, testid) => `[data-testid=library] li[data-id="${catalog.tracks[i].sha256}"] [data-testid=${testid}]`;
  await page.evaluate(() => { document.getElementById('audio').defaultPlaybackRate = 16; });
  for (const i of [10, 30]) {
    await page.focus(lib(i - 1, 'remove'));
    await tabTo(page, lib(i, 'play'), 2);
    await page.keyboard.press('Enter');
    await page.waitForFunction((x) => window.ainrec.history().items.at(-1)?.id === x, catalog.tracks[i].sha256, { timeout: 15000 });
    await page.evaluate(() => document.getElementById('audio').pause());
  }
  await page.focus(lib(41, 'play'));
  await tabTo(page, lib(41, 'like'), 2);
  await page.keyboard.press('Space');
  await page.waitForFunction((x) => window.ainrec.history().items.some((i) => i.id === x && i.liked), catalog.tracks[41].sha256);
  // The history is written before the list is drawn again: wait for the button's state (seen
  // once in CI: read a moment too early), then check the like is still on the history.
  await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('aria-pressed') === 'true', lib(41, 'like'), { timeout: 5000 });
  assert.ok(await page.evaluate((x) => window.ainrec.history().items.some((i) => i.id === x && i.liked), catalog.tracks[41].sha256));
  await settled(page);
  assert.equal(await page.locator('[data-testid=recommendations] li').count(), 10);

  // The whole page with Tab: every visible, enabled control is a stop, with a focus ring, in view.
  const stops = await tabWalk(page);
  console.log(`Tab walk: ${stops.length} stops (${catalog.tracks.length} tracks × 4 buttons, 10 recommendations, the rest of the page)`);
  assert.ok(stops.length >= catalog.tracks.length * 4 + 10 + 15, `only ${stops.length} Tab stops`);
  assert.deepEqual(await unreached(page), [], 'controls Tab never reaches');
  assert.deepEqual(stops.filter((s) => !s.ring).map((s) => s.desc), [], 'stops without a visible focus ring');
  assert.deepEqual(stops.filter((s) => !s.inView).map((s) => s.desc), [], 'stops not scrolled into view');
  // The walk starts where focus was: read it from the first control of the page on.
  const first = stops.findIndex((s) => s.desc.startsWith('input#file-input'));
  const order = [...stops.slice(first), ...stops.slice(0, first)].map((s) => s.desc);
  const at = (re) => order.findIndex((d) => re.test(d));
  // The order follows the page: library, listening, recommendations, learning, the rest.
  assert.ok(at(/#file-input/) < at(/#demo-catalog/) && at(/#demo-catalog/) < at(/\[play\]/)
    && at(/#audio/) < at(/#diversity\b/) && at(/#diversity\b/) < at(/#finetune-start/)
    && at(/#finetune-start/) < at(/#age-band/) && at(/#age-band/) < at(/\[forget\]/), order.join('\n'));
  await checkNames(page, 'library and recommendations');

  // A recommendation plays with Enter.
  const recId = await page.getAttribute('[data-testid=recommendations] li:first-child', 'data-id');
  await page.focus('#diversity-n');
  await tabTo(page, '[data-testid=recommendations] li:first-child [data-testid=play]', 3);
  await page.keyboard.press('Enter');
  await page.waitForFunction((x) => window.ainrec.history().items.at(-1)?.id === x, recId, { timeout: 15000 });
  await page.evaluate(() => document.getElementById('audio').pause());
  await settled(page);
  // The diversity checkbox toggles with Space, the number goes up with the arrow key.
  await page.focus('#diversity');
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked('#diversity'), false);
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked('#diversity'), true);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'diversity-n');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.inputValue('#diversity-n'), '3');
  await settled(page);

  // Learn my taste with Enter.
  await tabTo(page, '#finetune-start', 20);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.ainrec.fineTune, null, { timeout: 60000 });
  // Four history items: too few to check what it would learn, so it says so and keeps nothing.
  assert.match(await page.textContent('[data-testid=finetune-result]'), /^Not run, nothing kept: learning needs 10 tracks/);
  await settled(page);

  // The file chooser opens from the keyboard (Enter on "choose files"), and the file is analysed.
  const done = await page.evaluate(() => window.ainrec.batchesDone);
  await page.focus('#drop-title').catch(() => {});
  await page.evaluate(() => document.activeElement?.blur());
  await tabTo(page, '#file-input');
  const chooser = await chooserFrom(page, 'Enter');
  await chooser.setFiles(path.join(fixtures, 'wav', 'vibeace_22050_mono.wav'));
  await waitBatch(page, done + 1);
  assert.equal((await page.evaluate(() => window.ainrec.lastBatch)).added, 1);
  // The portrait form: type, Enter saves.
  await tabTo(page, '#language');
  await page.keyboard.type('de');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.ainrec.history().portrait?.language === 'de');
  // Import with Enter (a file that is refused: nothing changes, a message says why).
  await tabTo(page, '#import', 20);
  const imp = await chooserFrom(page, 'Enter');
  await imp.setFiles(path.join(fixtures, 'wav', 'vibeace_22050_mono.wav'));
  await page.waitForFunction(() => /refused/.test(document.querySelector('[data-testid=data-message]').textContent));
  // Forget me opens its dialog with Enter; focus goes into it; Escape closes it and keeps everything.
  await tabTo(page, '[data-testid=forget]', 10);
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.getElementById('forget-dialog').open), true);
  assert.equal(await page.evaluate(() => Boolean(document.activeElement.closest('#forget-dialog'))), true, 'focus moved into the dialog');
  await page.screenshot({ path: path.join(artifacts, 'keyboard-forget-dialog.png') });
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.getElementById('forget-dialog').open), false);
  assert.equal(await page.locator('[data-testid=library] li').count(), catalog.tracks.length + 1);
  // About opens with Enter on its summary.
  await tabTo(page, '#about summary', 10);
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=credits] li').length === n, catalog.tracks.length);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

for (const [label, viewport] of [['desktop', DESKTOP], ['360px', PHONE]]) {
  test(`no layout jumps (${label}): analysis, recommendation updates and learning; recommendations stay put`, async () => {
    const { page, consoleErrors } = await open(viewport);
    const recsTop = await docTop(page, '#recs-title');
    const tuneTop = await docTop(page, '#finetune-start');
    if (viewport === DESKTOP) {
      // Two columns: the recommendations start in the first screen, beside the library.
      assert.ok(recsTop < viewport.height / 2, `recommendations start at ${recsTop} px`);
    }
    // Analysis of three real CC files and a corrupt one (no user input: every shift counts).
    const files = [0, 1, 2].map((i) => path.join(demoDir, catalog.tracks[i].file));
    await page.setInputFiles('#file-input', [...files, path.join(fixtures, 'formats', 'broken.mp3')]);
    await waitBatch(page, 1);
    assert.equal((await page.evaluate(() => window.ainrec.lastBatch)).added, 3);
    const afterAnalysis = await page.evaluate(() => window.__cls);
    await page.click('[data-testid=demo-catalog]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=library] li').length === n, catalog.tracks.length, { timeout: 30000 });
    // Recommendation updates without input: plays that auto-next records when a track ends
    // (from the dropped files, which play from blob URLs and can be seeked to their end).
    // At 4 × speed: each track counts as a play after half its length, then ends and the next
    // queued one starts.
    await page.evaluate(() => { document.getElementById('audio').defaultPlaybackRate = 4; });
    await page.locator(`[data-testid=library] li[data-id="${catalog.tracks[0].sha256}"] [data-testid=play]`).click();
    await page.waitForFunction(() => !document.getElementById('audio').paused);
    await page.waitForTimeout(600); // past the "recent input" window
    for (let k = 0; k < 3; k++) {
      const n = await page.evaluate(() => window.ainrec.history().items.length);
      await page.waitForFunction((m) => window.ainrec.history().items.length > m, n, { timeout: 30000 });
      await settled(page);
    }
    await page.evaluate(() => document.getElementById('audio').pause());
    await settled(page);
    assert.equal(await page.locator('[data-testid=recommendations] li').count(), 10);
    await page.screenshot({ path: path.join(artifacts, `recommendations-${label}.png`), fullPage: viewport === PHONE });
    // Learning: the status, the loss plot and the result update for seconds after the click.
    await page.click('[data-testid=finetune-start]');
    await page.waitForFunction(() => window.ainrec.fineTune, null, { timeout: 60000 });
    await settled(page);
    await page.screenshot({ path: path.join(artifacts, `finetuned-${label}.png`), fullPage: viewport === PHONE });
    const { cls, shifts } = await page.evaluate(() => ({ cls: window.__cls, shifts: window.__shifts }));
    console.log(`layout shift (${label}): ${cls.toFixed(4)} in all (${afterAnalysis.toFixed(4)} during the analysis)`
      + `${shifts.length ? `; ${JSON.stringify(shifts.slice(0, 8))}` : ''}`);
    assert.ok(cls < 0.01, `cumulative layout shift ${cls}: ${JSON.stringify(shifts)}`);
    // The recommendations and "Learn my taste" did not move down with 59 tracks in the library.
    assert.equal(await docTop(page, '#recs-title'), recsTop);
    assert.equal(await docTop(page, '#finetune-start'), tuneTop);
    assert.ok(await scrollWidth(page) <= viewport.width, `page is ${await scrollWidth(page)} px wide`);
    await checkNames(page, `after learning (${label})`);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });
}
