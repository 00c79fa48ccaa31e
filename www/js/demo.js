// The bundled demo catalog (CC excerpts in www/demo): added with the descriptors shipped in
// catalog.json when they were made by this page's analysis, else analysed here like dropped
// files; and the credits listed under "About".
import * as store from '../store.js';
import { fromBase64 } from './base64.js';
import { addFiles } from './batch.js';
import { addBadFile } from './library-view.js';
import { changed, state } from './state.js';
import {
  $, setStatus, showUsage, storageProblem,
} from './ui.js';
import { ready } from './worker-rpc.js';

let catalogPromise = null;
function loadCatalog() {
  catalogPromise ??= fetch('demo/catalog.json').then((r) => {
    if (!r.ok) throw new Error(`the demo catalog is not on this server (HTTP ${r.status}); run make demo-catalog`);
    return r.json();
  });
  catalogPromise.catch(() => { catalogPromise = null; });
  return catalogPromise;
}

function decodeDescriptor(text) {
  return new Float32Array(fromBase64(text).buffer); // little-endian, as written by scripts/demo_catalog.py
}

/** "Load the demo catalog". */
export async function loadDemo() {
  const demoButton = $('demo-catalog');
  demoButton.disabled = true;
  try {
    await ready();
    const cat = await loadCatalog();
    renderCredits(cat);
    const credit = (t) => ({ license: t.license, license_url: t.license_url, source: t.source });
    const fresh = cat.tracks.filter((t) => !state.tracks.get(t.sha256)?.hasFeatures);
    if (cat.analysis_key === state.key) {
      // Descriptors shipped with the catalog, made with this page's analysis key.
      const pairs = fresh.map((t) => [{
        id: t.sha256, name: t.file, title: t.title, artist: t.artist, album: 'ainrec demo catalog',
        genre: t.genre, tagged: true, duration: t.duration_s, size: t.bytes, type: 'audio/ogg',
        cover: null, addedAt: Date.now(), source: 'demo', demoFile: t.file, credit: credit(t),
      }, { id: t.sha256, analysisKey: cat.analysis_key, descriptor: decodeDescriptor(t.descriptor) }]);
      try {
        await store.putTracks(pairs);
      } catch (err) {
        storageProblem(err, 'the demo catalog could not be saved');
      }
      for (const [track, f] of pairs) {
        track.hasFeatures = true;
        state.tracks.set(track.id, track);
        state.descriptors.set(track.id, f.descriptor);
      }
      changed();
      setStatus(`Demo catalog: ${pairs.length} tracks added (${cat.tracks.length - pairs.length} were already there).`);
      showUsage();
    } else {
      // The extractor changed since the catalog was built: analyse the excerpts here.
      setStatus('The demo catalog was made by another extractor version; analysing its excerpts in this tab…');
      const entries = [];
      for (const t of fresh) {
        const r = await fetch(`demo/${encodeURIComponent(t.file)}`);
        if (!r.ok) { addBadFile(t.file, `not on this server (HTTP ${r.status})`); continue; }
        entries.push({ file: new File([await r.blob()], t.file, { type: 'audio/ogg' }), path: t.file });
      }
      addFiles(entries);
    }
  } catch (err) {
    setStatus(`Could not load the demo catalog: ${err.message}`, true);
  } finally {
    demoButton.disabled = false;
  }
}

function renderCredits(cat) {
  const items = cat.tracks.map((t) => {
    const li = document.createElement('li');
    li.append(`“${t.title}” by ${t.artist} — ${t.license.replace(/-/g, ' ')}`);
    if (t.license_url) li.append(` (${t.license_url})`);
    li.append(`; excerpt of ${t.source}`);
    return li;
  });
  $('credits').replaceChildren(...items);
}

/** The "About" box's `toggle`: its credits, fetched when it is opened. */
export function aboutToggled() {
  if ($('about').open) {
    loadCatalog().then(renderCredits, (err) => {
      $('credits').replaceChildren(Object.assign(document.createElement('li'), { textContent: err.message }));
    });
  }
}
