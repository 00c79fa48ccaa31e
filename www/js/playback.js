// Playback: finding something that plays a track (this session's file, the stored bytes or
// file handle, a demo excerpt, or another file of the same recording), playing it, and what
// ending, skipping and auto-next record in the history. The library list and the
// recommendations only call playTrack and skipTrack.
import * as store from '../store.js';
import { entryText } from './format.js';
import { recordFullListen, recordPlay, recordSkip } from './history.js';
import {
  canonical, changed, objectUrl, state,
} from './state.js';
import { $, show } from './ui.js';

const audioEl = () => $('audio');

// Demo excerpts are fetched once from this origin and played from blob URLs: a blob can be
// sought in, a stream from a server that sends no byte ranges (`ainrec serve`) cannot.
const demoBlobs = new Map(); // demo file -> Promise<Blob>

async function playableSource(t) {
  if (t.source === 'demo') {
    let blob = demoBlobs.get(t.demoFile);
    if (!blob) {
      blob = fetch(`demo/${encodeURIComponent(t.demoFile)}`).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.blob();
      });
      demoBlobs.set(t.demoFile, blob);
      blob.catch(() => demoBlobs.delete(t.demoFile));
    }
    try {
      return { url: objectUrl(await blob) };
    } catch (err) {
      return { error: `the demo excerpt could not be fetched from this page's server (${err.message})` };
    }
  }
  const session = state.sessionFiles.get(t.id);
  if (session) return { url: objectUrl(session) };
  let stored = null;
  try {
    stored = await store.getAudio(t.id);
  } catch (err) {
    return { error: `the stored audio cannot be read (${err.message})` };
  }
  if (stored?.blob) return { url: objectUrl(stored.blob) };
  if (stored?.handle) {
    try {
      let perm = await stored.handle.queryPermission({ mode: 'read' });
      if (perm !== 'granted') perm = await stored.handle.requestPermission({ mode: 'read' });
      if (perm !== 'granted') return { error: 'you did not allow this page to read the file again' };
      const file = await stored.handle.getFile();
      state.sessionFiles.set(t.id, file);
      return { url: objectUrl(file) };
    } catch (err) {
      return { error: `the file is no longer where it was (${err.message})` };
    }
  }
  // A sibling in another format may still be playable.
  for (const other of state.tracks.values()) {
    if (other.id !== t.id && canonical(other) === canonical(t)
      && (state.sessionFiles.has(other.id) || other.hasAudio)) {
      return playableSource(other);
    }
  }
  return {
    error: 'its audio is not kept in this browser (it was too large for the storage quota, or '
      + 'storage was full, and this browser gave no file handle to reopen it). Drop the file again to play it',
  };
}

/** Plays track `id` and records the play; resolves to false (with the reason shown) when it cannot. */
export async function playTrack(id) {
  const t = state.tracks.get(id);
  if (!t) return false;
  const { title } = entryText(t);
  const src = await playableSource(t);
  if (src.error) {
    show($('playback-message'), `Cannot play ${title}: ${src.error}.`);
    return false;
  }
  show($('playback-message'), '');
  state.playing = id;
  audioEl().src = src.url;
  $('now-playing').textContent = `Playing: ${title}${t.artist ? ` — ${t.artist}` : ''}`;
  try {
    await audioEl().play();
  } catch (err) {
    // Autoplay policy or a decode failure: say which, nothing recorded.
    show($('playback-message'), `Cannot play ${title}: ${err.message}.`);
    changed();
    return false;
  }
  await recordPlay(t);
  return true;
}

async function playNextAfter(id) {
  const ids = [...state.tracks.keys()];
  const start = ids.indexOf(id);
  for (let k = 1; k < ids.length; k++) {
    if (await playTrack(ids[(start + k) % ids.length])) return;
  }
}

export async function skipTrack(id) {
  const t = state.tracks.get(id);
  if (!t) return;
  await recordSkip(t);
  if (state.playing === id) {
    audioEl().pause();
    await playNextAfter(id);
  }
}

/** The <audio> element's `ended`: a full listen, then the next track (auto-next). */
export async function playedToTheEnd() {
  const t = state.tracks.get(state.playing);
  if (!t) return;
  await recordFullListen(t);
  await playNextAfter(t.id);
}

/** Stops the player and lets go of its source (Forget me, before the deletion). */
export function stopPlayback() {
  const audio = audioEl();
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
}

/** Says nothing is playing (Forget me, once everything is deleted). */
export function clearNowPlaying() {
  state.playing = null;
  $('now-playing').textContent = 'Nothing playing. Press Play on a track.';
}
