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

export function emptyHistory() {
  return { version: HISTORY_VERSION, items: [], portrait: {} };
}

/** Everything needed to draw the page: tracks, history, and which tracks have features/audio. */
export async function loadAll(analysisKey) {
  return run(['tracks', 'features', 'audio', 'kv'], 'readonly', async (tx) => {
    const tracks = await result(tx.objectStore('tracks').getAll());
    const featureKeys = new Set(await result(tx.objectStore('features').getAllKeys()));
    const audioIds = new Set(await result(tx.objectStore('audio').getAllKeys()));
    const h = await result(tx.objectStore('kv').get('history'));
    for (const t of tracks) {
      t.hasFeatures = featureKeys.has(featureKey(t.id, analysisKey));
      t.hasAudio = audioIds.has(t.id);
    }
    tracks.sort((a, b) => a.addedAt - b.addedAt);
    return { tracks, history: h ? h.v : emptyHistory() };
  });
}

export async function getTrack(id) {
  return run(['tracks'], 'readonly', (tx) => result(tx.objectStore('tracks').get(id)));
}

export async function getFeatures(id, analysisKey) {
  return run(['features'], 'readonly',
    (tx) => result(tx.objectStore('features').get(featureKey(id, analysisKey))));
}

export async function getAllFeatures(analysisKey) {
  return run(['features'], 'readonly', async (tx) => {
    const all = await result(tx.objectStore('features').getAll());
    return all.filter((f) => f.analysisKey === analysisKey);
  });
}

/** Stores a track and its features in one transaction (all or nothing). */
export async function putTrack(track, features) {
  return run(['tracks', 'features'], 'readwrite', (tx) => {
    tx.objectStore('tracks').put(track);
    if (features) tx.objectStore('features').put({ ...features, key: featureKey(track.id, features.analysisKey) });
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

export async function getAudio(id) {
  return run(['audio'], 'readonly', (tx) => result(tx.objectStore('audio').get(id)));
}

export async function putHistory(history) {
  return run(['kv'], 'readwrite', (tx) => { tx.objectStore('kv').put({ k: 'history', v: history }); });
}

export async function getWeights() {
  return run(['kv'], 'readonly', async (tx) => (await result(tx.objectStore('kv').get('weights')))?.v ?? null);
}

/** Keeps fine-tuned weights (a browser model file, safetensors bytes as an ArrayBuffer). */
export async function putWeights(bytes) {
  return run(['kv'], 'readwrite', (tx) => { tx.objectStore('kv').put({ k: 'weights', v: bytes }); });
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
