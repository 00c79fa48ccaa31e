// Where files come from: the two file inputs, the File System Access pickers (which give file
// handles) and drag and drop of files and folders. Each turns what the browser hands over
// into entries {file, handle?, path} for the queue (batch.js), walking folders.
import { addFiles } from './batch.js';
import { AUDIO_EXTENSIONS } from './config.js';
import { $, setStatus } from './ui.js';
import { ready } from './worker-rpc.js';

// The choosers offer what the queue takes (the list comes from the Rust side, not the HTML).
const dotted = () => AUDIO_EXTENSIONS.map((e) => `.${e}`);

/** Sets a file input's `accept` once the worker has said which extensions are audio. */
export async function offerAudioExtensions(input) {
  await ready().catch(() => {});
  input.accept = ['audio/*', ...dotted()].join(',');
}

/** A file input's `change` (`options` go with every file: `{relinkOnly}` for Re-link folder). */
export function chosen(input, options = {}) {
  addFiles([...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name, ...options })));
  input.value = '';
}

// Where the File System Access API exists (Chromium), the pickers return file handles: a
// handle kept in IndexedDB reopens the file after a reload (with the visitor's permission)
// without copying its bytes into the browser's storage. Elsewhere the inputs' own choosers.
async function pickWithHandles(kind) {
  if (kind === 'files') {
    const handles = await window.showOpenFilePicker({
      multiple: true,
      types: [{ description: 'Audio', accept: { 'audio/*': dotted() } }],
    });
    return Promise.all(handles.map(async (h) => ({ file: await h.getFile(), handle: h, path: h.name })));
  }
  const dir = await window.showDirectoryPicker({ mode: 'read' });
  const out = [];
  await walkDirectory(dir, `${dir.name}/`, out);
  return out;
}

/** A click on the label of a file input: the picker with handles instead, where there is one. */
export async function pickerClicked(e, kind, options = {}) {
  if (typeof window.showOpenFilePicker !== 'function') return;
  e.preventDefault();
  try {
    addFiles((await pickWithHandles(kind)).map((entry) => ({ ...entry, ...options })));
  } catch (err) {
    if (err.name !== 'AbortError') setStatus(`Could not open the files: ${err.message}`, true);
  }
}

async function walkDirectory(dirHandle, prefix, out) {
  for await (const h of dirHandle.values()) {
    if (h.kind === 'file') out.push({ file: await h.getFile(), handle: h, path: `${prefix}${h.name}` });
    else await walkDirectory(h, `${prefix}${h.name}/`, out);
  }
}

function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walkEntry(entry, out) {
  if (entry.isFile) {
    out.push({ file: await new Promise((res, rej) => entry.file(res, rej)), path: entry.fullPath.replace(/^\//, '') });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (let batch = await readEntries(reader); batch.length; batch = await readEntries(reader)) {
      for (const e of batch) await walkEntry(e, out);
    }
  }
}

/** `dragenter` and `dragover` on the drop zone. */
export function dragOver(e) {
  e.preventDefault();
  $('drop-zone').classList.add('dragging');
}

/** `dragleave` and `drop` on the drop zone. */
export function dragEnded() {
  $('drop-zone').classList.remove('dragging');
}

/** `drop` on the drop zone. */
export async function dropped(e) {
  e.preventDefault();
  // Everything on the DataTransfer must be taken synchronously, before any await.
  const items = [...(e.dataTransfer.items || [])].filter((i) => i.kind === 'file');
  const handles = items.map((i) => (i.getAsFileSystemHandle ? i.getAsFileSystemHandle() : null));
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  const files = items.map((i) => i.getAsFile());
  const out = [];
  for (let k = 0; k < items.length; k++) {
    // File System Access handles (Chromium) let a track play again after a reload without
    // copying its bytes; otherwise the entry API walks folders.
    const handle = handles[k] ? await handles[k].catch(() => null) : null;
    if (handle?.kind === 'directory') await walkDirectory(handle, `${handle.name}/`, out);
    else if (handle?.kind === 'file') out.push({ file: await handle.getFile(), handle, path: handle.name });
    else if (entries[k]?.isDirectory) await walkEntry(entries[k], out);
    else if (files[k]) out.push({ file: files[k], path: files[k].name });
  }
  addFiles(out);
}
