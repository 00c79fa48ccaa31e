// musicnn in the page (issue 18, item 3): a file added to the library is also tagged by the
// MSD musicnn tagger in the analysis worker (16 kHz render of the analysed span, wasm Tagger in
// steps), its output stored under its own key; its 50 tag probabilities agree with
// `ainrec features --features musicnn` on the same file within 0.02 each (mean over patches),
// and the descriptors the browser model reads are unchanged.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bin, openPage, repo, useServerAndBrowser,
} from './harness.mjs';

const demoDir = path.join(repo, 'models', 'demo');
const catalog = JSON.parse(readFileSync(path.join(demoDir, 'catalog.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ainrec-tags-'));
const env = useServerAndBrowser();
// Three demo excerpts of different styles, as WAV (the CLI and the page decode the same bytes).
const picks = [2, 17, 30].map((i) => catalog.tracks[i]);
const files = picks.map((t, i) => path.join(tmp, `tagged-${i}.wav`));

before(() => {
  picks.forEach((t, i) => execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', path.join(demoDir, t.file),
    '-c:a', 'pcm_s16le', files[i]]));
});

test('the page tags each added file with musicnn, as the CLI does (within 0.02 per tag)', async () => {
  const { page, consoleErrors } = await openPage(env.browser, env.server.url);
  let worst = 0;
  for (const [i, file] of files.entries()) {
    const before = await page.evaluate(() => window.ainrec.batchesDone);
    await page.setInputFiles('#file-input', file);
    await page.waitForFunction((k) => window.ainrec.batchesDone > k && !window.ainrec.batch
      && window.ainrec.lastTags && window.ainrec.lastTags.id === window.ainrec.last.id, before, { timeout: 120000 });
    const tags = await page.evaluate(() => window.ainrec.lastTags);
    const cli = JSON.parse(execFileSync(bin, ['features', '--features', 'musicnn', file], { encoding: 'utf8' }));
    const names = cli.descriptor_names || cli.names;
    assert.ok(Array.isArray(names), `the CLI output names its values: ${Object.keys(cli)}`);
    assert.deepEqual(tags.names, names, 'the page and the CLI name the same 250 values');
    const tagIdx = names.flatMap((n, k) => (n.startsWith('tag.') ? [k] : []));
    assert.equal(tagIdx.length, 50);
    for (const k of tagIdx) {
      const d = Math.abs(tags.descriptor[k] - cli.descriptor[k]);
      worst = Math.max(worst, d);
      assert.ok(d <= 0.02, `${picks[i].title}: ${names[k]} page ${tags.descriptor[k]} vs CLI ${cli.descriptor[k]}`);
    }
    assert.ok(tags.patches >= 4, `${tags.patches} patches of a 15 s excerpt`);
    // The descriptors the browser model reads are still the library's own analysis.
    const last = await page.evaluate(() => window.ainrec.last);
    assert.equal(last.key, await page.evaluate(() => window.ainrec.key));
  }
  console.log(`worst per-tag difference page vs CLI: ${worst.toFixed(4)}`);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});
