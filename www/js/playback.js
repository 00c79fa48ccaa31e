// Playback: finding something that plays a track (this session's file, the stored bytes or
// file handle, a demo excerpt, or another file of the same recording), playing it, and what
// Next and auto-next taking the radio's queue. What counts as a play or a skip is
// listening.js's rule; the views only call playTrack, nextTrack and togglePlay.
import * as store from '../store.js';
import { entryText } from './format.js';
import { historyItem } from './history.js';
import {
  beginListening, leaveBeforeTheEnd, listenedToTheEnd, listening,
} from './listening.js';
import { takeNext } from './queue.js';
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
  if (t.imported) {
    return {
      error: 'its audio is not in this browser: it came from an imported export, and an export '
        + 'carries no audio. Use “Re-link folder…” with the folder it is in (or drop the file again) to play it',
    };
  }
  return {
    error: 'its audio is not kept in this browser (it was too large for the storage quota, or '
      + 'storage was full, and this browser gave no file handle to reopen it). Drop the file again to play it',
  };
}

/** Whether something in this tab or this browser can play `t` (without asking for it). */
export function audioAvailable(t) {
  if (t.source === 'demo' || t.hasAudio || state.sessionFiles.has(t.id)) return true;
  for (const other of state.tracks.values()) {
    if (other.id !== t.id && canonical(other) === canonical(t)
      && (state.sessionFiles.has(other.id) || other.hasAudio)) return true;
  }
  return false;
}

/** Plays track `id`; resolves to false (with the reason shown) when it cannot. Nothing is
 * recorded here: listening.js counts the play once the track has been heard long enough. */
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
  beginListening(id);
  audioEl().src = src.url;
  try {
    await audioEl().play();
  } catch (err) {
    // Autoplay policy or a decode failure: say which, nothing recorded.
    show($('playback-message'), `Cannot play ${title}: ${err.message}.`);
    listening.id = null;
    changed();
    return false;
  }
  changed();
  return true;
}

// Without a queue (no model, or nothing ranked yet) the radio goes on in the library's order
// after `id`, leaving out what the visitor disliked.
async function playLibraryAfter(id, tried) {
  const ids = [...state.tracks.keys()];
  const start = ids.indexOf(id); // -1 when nothing played: from the first row on
  for (let k = 1; k <= ids.length; k++) {
    const next = ids[(start + k) % ids.length];
    const t = state.tracks.get(next);
    if (tried.includes(next) || historyItem(t, false)?.disliked) continue;
    tried.push(next);
    if (await playTrack(next)) return true;
  }
  return false;
}

/** Plays the next queued track (the radio), else the next one of the library. */
async function playNext(left) {
  const tried = left ? [left] : [];
  for (let id = takeNext(tried); id; id = takeNext(tried)) {
    tried.push(id);
    if (await playTrack(id)) return true;
  }
  return playLibraryAfter(left, tried);
}

/** Next (the player bar, the media keys, N): before the play threshold it is a skip of the
 * playing track, and only that; then the next queued track plays. */
export async function nextTrack() {
  const left = state.playing;
  if (left) {
    audioEl().pause();
    await leaveBeforeTheEnd();
  }
  await playNext(left);
}

/** The <audio> element's `ended`: a full listen (when it counted as a play), then auto-next. */
export async function playedToTheEnd() {
  const left = state.playing;
  if (!left) return;
  await listenedToTheEnd();
  await playNext(left);
}

/** Play (the media session's "play"): resumes the paused track, or starts the queue. */
export async function resumePlay() {
  if (state.playing && audioEl().getAttribute('src') && audioEl().paused) {
    await audioEl().play().catch((err) => show($('playback-message'), `Cannot play: ${err.message}.`));
  } else if (!state.playing) {
    await playNext(null);
  }
}

/** Play or pause the player (the bar's button, the media keys, K). */
export async function togglePlay() {
  const audio = audioEl();
  if (!state.playing || !audio.getAttribute('src')) {
    await playNext(null);
  } else if (audio.paused) {
    await audio.play().catch((err) => show($('playback-message'), `Cannot play: ${err.message}.`));
  } else {
    audio.pause();
  }
}

/** Stops the player and lets go of its source (Forget me, before the deletion). */
export function stopPlayback() {
  const audio = audioEl();
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
  listening.id = null;
}

/** Says nothing is playing (Forget me, once everything is deleted). */
export function clearNowPlaying() {
  state.playing = null;
  changed();
}
