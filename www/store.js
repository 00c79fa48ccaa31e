// Persistence: the only module that touches IndexedDB. Everything the visitor owns that
// survives a reload lives here, in this browser's storage for this origin, and nowhere else.
//
// Object stores (schema version SCHEMA_VERSION; upgrades run in `upgrade` below):
//   tracks    {id, name, title, artist, album, genre, duration, size, type, cover: Blob|null,
//              addedAt, source: "file"|"demo", demoFile?, credit?, sameAs?}   key: id
//              (id = SHA-256 of the file's bytes, hex, so a file is recognised whatever its name)
//   features  {key: `${id}|${analysisKey}`, id, analysisKey, descriptor: Float32Array}
//              (analysisKey = extractor version + every parameter, so a new extractor recomputes)
//   audio     {id, blob?: Blob, handle?: FileSystemFileHandle}   what plays the track after a reload
//   kv        {k, v}: "history" (the versioned history of src/data/history.rs), "weights"
//              (fine-tuned weights, safetensors bytes, or absent)
//
// Writes that belong together (a track and its features) go in one transaction, so a full
// quota aborts the whole write and leaves what was stored before untouched.
//
// Reads are checked, not trusted (the import's rules): a record of the wrong shape, with NaN
// in its descriptor or from a newer schema is skipped — left as it is in the database — and
// named in `takeProblems()`; a damaged history is copied to kv "history-damaged" before the
// page starts again from what is readable of it.

export const DB_NAME = 'ainrec';
export const SCHEMA_VERSION = 1;
export const HISTORY_VERSION = 1;

/** A storage failure; `quota` is true when the browser refused for lack of space. */
export class StoreError extends Error {
  constructor(message, cause) {
    super(message);
    this.quota = Boolean(cause && (cause.name === 'QuotaExceededError'
      || /quota/i.test(String(cause.message || ''))));
    this.cause = cause;
  }
}

function upgrade(db, oldVersion) {
  // One step per schema version; a visitor's database is migrated in order.
  if (oldVersion < 1) {
    db.createObjectStore('tracks', { keyPath: 'id' });
    db.createObjectStore('features', { keyPath: 'key' });
    db.createObjectStore('audio', { keyPath: 'id' });
    db.createObjectStore('kv', { keyPath: 'k' });
  }
}

let dbPromise = null;

/** Opens (creating or migrating) the database. Rejects with a StoreError saying why. */
export function open() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    if (!('indexedDB' in self) || !self.indexedDB) {
      reject(new StoreError('this browser offers no IndexedDB (private mode?), so nothing can be kept'));
      return;
    }
    const req = indexedDB.open(DB_NAME, SCHEMA_VERSION);
    req.onupgradeneeded = (e) => upgrade(req.result, e.oldVersion);
    req.onsuccess = () => {
      const db = req.result;
      // Another tab upgrading the schema: let it, this tab reloads its view on next use.
      db.onversionchange = () => { db.close(); dbPromise = null; };
      resolve(db);
    };
    req.onerror = () => reject(new StoreError(`cannot open the browser database: ${req.error?.message}`, req.error));
    req.onblocked = () => reject(new StoreError('the database is held open by another tab of this page; close it and reload'));
  });
  dbPromise.catch(() => { dbPromise = null; });
  return dbPromise;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(new StoreError(tx.error ? tx.error.message : 'the write was aborted', tx.error));
    tx.onerror = (e) => e.preventDefault(); // reported once, by onabort
  });
}

function result(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new StoreError(req.error?.message || 'read failed', req.error));
  });
}

async function run(stores, mode, body) {
  const db = await open();
  let tx;
  try {
    tx = db.transaction(stores, mode);
  } catch (err) {
    throw new StoreError(`cannot use the browser database: ${err.message}`, err);
  }
  const finished = done(tx);
  let value;
  try {
    value = await body(tx);
  } catch (err) {
    try { tx.abort(); } catch { /* already finished */ }
    await finished.catch(() => {});
    throw err instanceof StoreError ? err : new StoreError(err.message, err);
  }
  await finished;
  return value;
}

export const featureKey = (id, analysisKey) => `${id}|${analysisKey}`;

// ---------------------------------------------------------------- checks on read
const HEX_ID = /^[0-9a-f]{64}$/;
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const optString = (v) => v === undefined || v === null || typeof v === 'string';
const isCount = (v) => v === undefined || v === null || (Number.isInteger(v) && v >= 0);
const short = (id) => (typeof id === 'string' ? (id.length > 16 ? `${id.slice(0, 12)}…` : id) : JSON.stringify(id ?? null));

// store/key -> text, of the reads since the last takeProblems().
const problems = new Map();

function note(storeName, key, what, reason) {
  problems.set(`${storeName}/${String(key)}`, `${storeName === 'kv' ? '' : `${storeName} record `}${what}: ${reason}`);
}

/** The damaged records met by reads since the last call (each once), as sentences. */
export function takeProblems() {
  const out = [...problems.values()];
  problems.clear();
  return out;
}

function schemaProblem(r) {
  if (r.schemaVersion === undefined) return null;
  if (!Number.isInteger(r.schemaVersion) || r.schemaVersion < 1) return `its schemaVersion ${JSON.stringify(r.schemaVersion)} is not a version`;
  if (r.schemaVersion > SCHEMA_VERSION) return `it was written by a newer version of this page (record schema ${r.schemaVersion}; this page reads up to ${SCHEMA_VERSION})`;
  return null;
}

/** Why a `tracks` record cannot be used, or null. */
export function trackProblem(t) {
  if (!isObject(t)) return 'it is not an object';
  if (typeof t.id !== 'string' || !HEX_ID.test(t.id)) return `its id ${short(t.id)} is not a SHA-256 (64 hex digits)`;
  const schema = schemaProblem(t);
  if (schema) return schema;
  if (typeof t.name !== 'string' || !t.name) return 'it has no file name';
  for (const k of ['title', 'artist', 'album', 'genre']) if (!optString(t[k])) return `its ${k} is not text`;
  if (t.duration !== undefined && t.duration !== null && !(Number.isFinite(t.duration) && t.duration >= 0)) return 'its duration is not a number of seconds';
  if (!Number.isFinite(t.addedAt)) return 'its addedAt is not a time';
  if (t.source !== 'file' && t.source !== 'demo') return `its source ${JSON.stringify(t.source ?? null)} is neither "file" nor "demo"`;
  if (t.source === 'demo' && (typeof t.demoFile !== 'string' || !t.demoFile)) return 'it is a demo track without its file name';
  if (t.cover !== undefined && t.cover !== null && !(t.cover instanceof Blob)) return 'its cover is not an image';
  if (t.sameAs !== undefined && t.sameAs !== null && !(typeof t.sameAs === 'string' && HEX_ID.test(t.sameAs))) return 'its sameAs is not a track id';
  return null;
}

/** Why a `features` record cannot be used, or null. */
export function featuresProblem(f) {
  if (!isObject(f)) return 'it is not an object';
  if (typeof f.id !== 'string' || !HEX_ID.test(f.id)) return `its id ${short(f.id)} is not a SHA-256 (64 hex digits)`;
  if (typeof f.analysisKey !== 'string' || !f.analysisKey) return 'it has no analysis key';
  if (f.key !== featureKey(f.id, f.analysisKey)) return 'its key does not match its id and analysis key';
  const schema = schemaProblem(f);
  if (schema) return schema;
  if (!(f.descriptor instanceof Float32Array)) {
    return f.descriptor === undefined ? 'it has no descriptor' : `its descriptor is ${Array.isArray(f.descriptor) ? 'a plain array' : typeof f.descriptor}, not a Float32Array`;
  }
  if (!f.descriptor.length) return 'its descriptor is empty';
  const bad = f.descriptor.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) return `its descriptor has a non-finite value (${f.descriptor[bad]} at ${bad})`;
  return null;
}

/** Why an `audio` record cannot be used, or null. */
export function audioProblem(a) {
  if (!isObject(a)) return 'it is not an object';
  if (typeof a.id !== 'string' || !HEX_ID.test(a.id)) return `its id ${short(a.id)} is not a SHA-256 (64 hex digits)`;
  const schema = schemaProblem(a);
  if (schema) return schema;
  const blob = a.blob instanceof Blob;
  const handle = isObject(a.handle) && typeof a.handle.getFile === 'function';
  if (!blob && !handle) return 'it holds neither the audio bytes nor a file handle';
  return null;
}

/** Why a history item cannot be used, or null (the import's rules). */
export function historyItemProblem(it) {
  if (!isObject(it) || typeof it.id !== 'string' || !it.id) return 'it has no id';
  for (const k of ['plays', 'skips', 'full_listens']) if (!isCount(it[k])) return `its ${k} is not a non-negative integer`;
  if (it.liked !== undefined && typeof it.liked !== 'boolean') return 'its liked is not true/false';
  if (it.disliked !== undefined && typeof it.disliked !== 'boolean') return 'its disliked is not true/false';
  return null;
}

function checkedTrack(t) {
  const why = trackProblem(t);
  if (why) note('tracks', isObject(t) ? t.id : t, `${short(isObject(t) ? t.id : t)}${isObject(t) && typeof t.name === 'string' ? ` (${t.name})` : ''}`, why);
  return !why;
}

function checkedFeatures(f) {
  const why = featuresProblem(f);
  if (why) note('features', isObject(f) ? f.key : f, short(isObject(f) ? f.id : f), why);
  return !why;
}

/** The stored history made usable: unreadable items dropped (each named), or a new history
 * when nothing of it is readable. `damaged` is true when anything was dropped. */
function checkedHistory(h) {
  if (h === undefined || h === null) return { history: emptyHistory(), damaged: false };
  const what = 'history';
  if (!isObject(h)) {
    note('kv', 'history', what, 'it is not an object; starting a new history');
    return { history: emptyHistory(), damaged: true };
  }
  if (h.version !== HISTORY_VERSION) {
    note('kv', 'history', what, `it is version ${JSON.stringify(h.version ?? null)}, this page reads version ${HISTORY_VERSION}; starting a new history`);
    return { history: emptyHistory(), damaged: true };
  }
  if (!Array.isArray(h.items)) {
    note('kv', 'history', what, 'its items are not a list; starting a new history');
    return { history: emptyHistory(), damaged: true };
  }
  const items = [];
  h.items.forEach((it, i) => {
    const why = historyItemProblem(it);
    if (why) note('kv', `history/${i}`, `history item ${i}${isObject(it) && typeof it.id === 'string' ? ` (${short(it.id)})` : ''}`, `${why}; left out`);
    else items.push(it);
  });
  const portrait = isObject(h.portrait) ? h.portrait : {};
  return { history: { ...h, items, portrait }, damaged: items.length !== h.items.length };
}

export function emptyHistory() {
  return { version: HISTORY_VERSION, items: [], portrait: {} };
}

/** Everything needed to draw the page: tracks, history, and which tracks have features/audio. */
export async function loadAll(analysisKey) {
  const loaded = await run(['tracks', 'features', 'audio', 'kv'], 'readonly', async (tx) => {
    const tracks = (await result(tx.objectStore('tracks').getAll())).filter(checkedTrack);
    const featureKeys = new Set((await result(tx.objectStore('features').getAll()))
      .filter(checkedFeatures).map((f) => f.key));
    const audio = await result(tx.objectStore('audio').getAll());
    const audioIds = new Set(audio.filter((a) => {
      const why = audioProblem(a);
      if (why) note('audio', isObject(a) ? a.id : a, short(isObject(a) ? a.id : a), why);
      return !why;
    }).map((a) => a.id));
    const h = await result(tx.objectStore('kv').get('history'));
    for (const t of tracks) {
      t.hasFeatures = featureKeys.has(featureKey(t.id, analysisKey));
      t.hasAudio = audioIds.has(t.id);
    }
    tracks.sort((a, b) => a.addedAt - b.addedAt);
    return { tracks, raw: h ? h.v : undefined, ...checkedHistory(h ? h.v : undefined) };
  });
  if (loaded.damaged) {
    // Keep the damaged original (once) before the page's next save replaces it.
    await run(['kv'], 'readwrite', async (tx) => {
      const kv = tx.objectStore('kv');
      if (!(await result(kv.get('history-damaged')))) kv.put({ k: 'history-damaged', v: loaded.raw });
    }).catch(() => {});
  }
  return { tracks: loaded.tracks, history: loaded.history };
}

export async function getTrack(id) {
  const t = await run(['tracks'], 'readonly', (tx) => result(tx.objectStore('tracks').get(id)));
  return t && checkedTrack(t) ? t : undefined;
}

export async function getFeatures(id, analysisKey) {
  const f = await run(['features'], 'readonly',
    (tx) => result(tx.objectStore('features').get(featureKey(id, analysisKey))));
  return f && checkedFeatures(f) ? f : undefined;
}

export async function getAllFeatures(analysisKey) {
  return run(['features'], 'readonly', async (tx) => {
    const all = await result(tx.objectStore('features').getAll());
    return all.filter((f) => checkedFeatures(f) && f.analysisKey === analysisKey);
  });
}

/** Stores a track and its features in one transaction (all or nothing). */
export async function putTrack(track, features) {
  return run(['tracks', 'features'], 'readwrite', (tx) => {
    tx.objectStore('tracks').put(track);
    if (features) tx.objectStore('features').put({ ...features, key: featureKey(track.id, features.analysisKey) });
  });
}

/** Stores one more set of features of a stored track (musicnn's tags, under their own key). */
export async function putFeatures(features) {
  return run(['features'], 'readwrite', (tx) => {
    tx.objectStore('features').put({ ...features, key: featureKey(features.id, features.analysisKey) });
  });
}

/** Stores many tracks and their features in one transaction (the demo catalog). */
export async function putTracks(pairs) {
  return run(['tracks', 'features'], 'readwrite', (tx) => {
    for (const [track, features] of pairs) {
      tx.objectStore('tracks').put(track);
      if (features) tx.objectStore('features').put({ ...features, key: featureKey(track.id, features.analysisKey) });
    }
  });
}

/** Keeps what plays a track after a reload: a Blob (its bytes) or a FileSystemFileHandle. */
export async function putAudio(id, { blob, handle }) {
  return run(['audio'], 'readwrite', (tx) => { tx.objectStore('audio').put({ id, blob, handle }); });
}

/** What plays a track after a reload; a damaged record is thrown as a StoreError. */
export async function getAudio(id) {
  const a = await run(['audio'], 'readonly', (tx) => result(tx.objectStore('audio').get(id)));
  const why = a === undefined ? null : audioProblem(a);
  if (why) {
    note('audio', id, short(id), why);
    throw new StoreError(`its stored audio record is damaged (${why})`);
  }
  return a;
}

export async function putHistory(history) {
  return run(['kv'], 'readwrite', (tx) => { tx.objectStore('kv').put({ k: 'history', v: history }); });
}

/** The stored fine-tuned weights (an ArrayBuffer), or null (none, or a damaged record). */
export async function getWeights() {
  const v = await run(['kv'], 'readonly', async (tx) => (await result(tx.objectStore('kv').get('weights')))?.v ?? null);
  if (v === null || v instanceof ArrayBuffer) return v;
  if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  note('kv', 'weights', 'weights', `they are ${typeof v}, not model bytes; the shipped weights are used`);
  return null;
}

/** Keeps fine-tuned weights (a browser model file, safetensors bytes as an ArrayBuffer). */
export async function putWeights(bytes) {
  return run(['kv'], 'readwrite', (tx) => { tx.objectStore('kv').put({ k: 'weights', v: bytes }); });
}

/** A small value of the page's own (e.g. the last "Learn my taste" result), or null. */
export async function getNote(key) {
  return run(['kv'], 'readonly', async (tx) => (await result(tx.objectStore('kv').get(`note:${key}`)))?.v ?? null);
}

/** Keeps a small value of the page's own; null deletes it. */
export async function putNote(key, value) {
  return run(['kv'], 'readwrite', (tx) => {
    if (value === null) tx.objectStore('kv').delete(`note:${key}`);
    else tx.objectStore('kv').put({ k: `note:${key}`, v: value });
  });
}

/** Deletes the fine-tuned weights ("Reset model"): the shipped ones are used again. */
export async function deleteWeights() {
  return run(['kv'], 'readwrite', (tx) => { tx.objectStore('kv').delete('weights'); });
}

/**
 * Import: writes tracks (+ features), history and weights in one transaction, so a failure
 * (quota, a bad record) leaves the database exactly as it was.
 */
export async function importAll({ tracks, history, weights }) {
  return run(['tracks', 'features', 'kv'], 'readwrite', (tx) => {
    for (const { track, features } of tracks) {
      tx.objectStore('tracks').put(track);
      if (features) tx.objectStore('features').put({ ...features, key: featureKey(track.id, features.analysisKey) });
    }
    tx.objectStore('kv').put({ k: 'history', v: history });
    if (weights) tx.objectStore('kv').put({ k: 'weights', v: weights });
    else tx.objectStore('kv').delete('weights');
  });
}

/** Deletes the whole database ("Forget me"); resolves once the browser has removed it. */
export async function forgetAll() {
  if (dbPromise) {
    const db = await dbPromise.catch(() => null);
    db?.close();
    dbPromise = null;
  }
  await new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(new StoreError(`could not delete the database: ${req.error?.message}`, req.error));
    // Another tab holds it open: deletion completes when that tab closes; say so.
    req.onblocked = () => reject(new StoreError('another tab of this page keeps the database open; close it and try again'));
  });
}
