// What this page cannot work without, checked before anything starts: a missing feature is
// named (and the controls that need it disabled) instead of failing later with a riddle.
import { $, show } from './ui.js';

export function checkBrowser() {
  const missing = [];
  if (typeof WebAssembly !== 'object') missing.push('WebAssembly');
  if (typeof Worker !== 'function') missing.push('Web Workers');
  if (typeof OfflineAudioContext !== 'function') missing.push('Web Audio (OfflineAudioContext)');
  if (!self.crypto || !crypto.subtle) missing.push('Web Crypto (a secure context: https or localhost)');
  if (!self.indexedDB) missing.push('IndexedDB (storage; private mode may disable it)');
  if (!missing.length) return;
  show($('missing-features'), `This browser lacks what the page needs: ${missing.join(', ')}. `
    + 'Try a current Chromium, Firefox or Safari over https or on localhost.');
  // Without these nothing can be analysed: say so on the controls instead of failing later.
  if (missing.some((m) => !m.startsWith('IndexedDB'))) {
    for (const id of ['file-input', 'folder-input', 'demo-catalog']) $(id).disabled = true;
  }
}
