// Small DOM helpers every view uses, and the page-wide messages (the status line, storage
// problems, the storage use): in one module so that each view writes them the same way.

export const $ = (id) => document.getElementById(id);

export function setStatus(text, isError = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

/** Shows `text` in `el`, or hides `el` when there is none. */
export function show(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

export function button(label, testid, ariaLabel, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.testid = testid;
  b.setAttribute('aria-label', ariaLabel);
  b.addEventListener('click', onClick);
  return b;
}

// Writes only what changed (no needless style and accessibility-tree work on a long list).
export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}
export function setAttr(e, name, value) {
  if (e.getAttribute(name) !== value) e.setAttribute(name, value);
}

/** Says that a write to the browser's storage failed, and why; returns the text. */
export function storageProblem(err, what) {
  const text = err.quota
    ? `Your browser's storage for this page is full: ${what}. Everything stored before is kept; `
      + 'free space (remove other sites\' data) or use Export to keep a copy.'
    : `Could not save ${what}: ${err.message}.`;
  show($('storage-warning'), text);
  return text;
}

export async function showUsage() {
  if (!navigator.storage?.estimate) {
    $('usage').textContent = 'This browser does not report how much it stores.';
    return;
  }
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
  const mb = (b) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GB` : `${(b / 2 ** 20).toFixed(1)} MB`);
  $('usage').textContent = `Stored in this browser for this page: ${mb(usage)} of ${mb(quota)} available`
    + (persisted ? ' (kept even when the disk runs low).' : ' (the browser may clear it when the disk runs low).');
}
