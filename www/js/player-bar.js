// The player bar: always on screen (fixed to the bottom of the window, at every width), with the
// playing track, Play/Pause, Next, More like this and Less like this; the same actions on the
// media keys and lock screen (Media Session API) and on the keyboard (K, N, L, D, outside text
// fields), and the "Skip to the player" link at the top of the page.
import { displayNames, formatDuration } from './format.js';
import { historyItem, toggleDislike, toggleLike } from './history.js';
import { listening, onListening } from './listening.js';
import { nextTrack, resumePlay, togglePlay } from './playback.js';
import { radio } from './queue.js';
import { objectUrl, shown, state } from './state.js';
import { $, setAttr, setText } from './ui.js';

const SHORTCUTS = { k: 'bar-play', n: 'bar-next', l: 'bar-like', d: 'bar-dislike' };

const playing = () => (state.playing ? state.tracks.get(state.playing) : null);

function countLine() {
  if (!state.playing) return '';
  if (listening.id !== state.playing) return '';
  if (listening.counted) return 'Counted as a play.';
  const left = Math.max(0, listening.threshold - listening.heard);
  return `Counts as a play after ${formatDuration(listening.threshold)} heard (${formatDuration(left)} to go); `
    + 'Next before that is a skip.';
}

/** Draws the bar from the state (called on every change and every time update). */
export function renderPlayerBar() {
  const t = playing();
  const audio = $('audio');
  const { title, artist } = t ? displayNames(t) : { title: '', artist: '' };
  setText($('now-playing'), t ? `${title}${artist ? ` — ${artist}` : ''}` : 'Nothing playing.');
  setText($('play-count'), t ? countLine() : 'Press Play on a track, or Play all recommendations.');
  const isPlaying = Boolean(t) && !audio.paused;
  setText($('bar-play'), isPlaying ? 'Pause' : 'Play');
  setAttr($('bar-play'), 'aria-label', isPlaying ? `Pause ${title}` : (t ? `Play ${title}` : 'Play the next queued track'));
  const item = t ? historyItem(t, false) : null;
  for (const [id, on, name] of [['bar-like', item?.liked, 'More like this'], ['bar-dislike', item?.disliked, 'Less like this']]) {
    $(id).disabled = !t;
    setAttr($(id), 'aria-pressed', String(Boolean(on)));
    setAttr($(id), 'aria-label', t ? `${name}: ${title}` : name);
  }
  // Only the heart changes (the label keeps its width); "like this" is hidden on narrow screens.
  setText($('bar-like').firstChild, item?.liked ? '♥ More' : '♡ More');
  updateMediaSession(t, isPlaying);
}

let sessionFor = null;
function updateMediaSession(t, isPlaying) {
  const ms = navigator.mediaSession;
  if (!ms) return;
  ms.playbackState = t ? (isPlaying ? 'playing' : 'paused') : 'none';
  const key = t ? `${t.id}|${t.title}|${t.artist}|${t.name}` : null;
  if (key === sessionFor) return;
  sessionFor = key;
  if (!t || typeof MediaMetadata !== 'function') {
    ms.metadata = null;
    shown.mediaSession = null;
    return;
  }
  const { title, artist } = displayNames(t);
  const artwork = t.cover ? [{ src: objectUrl(t.cover), type: t.cover.type || 'image/jpeg' }] : [];
  ms.metadata = new MediaMetadata({
    title, artist, album: t.album || (radio.mode === 'seed' ? 'ainrec radio' : 'ainrec'), artwork,
  });
  shown.mediaSession = { title, artist };
}

function shortcut(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const el = e.target;
  // Typing in a field (search, portrait) or working a control that takes letters is left alone.
  if (el.closest?.('input, select, textarea, [contenteditable], dialog[open]')) return;
  const id = SHORTCUTS[e.key.toLowerCase()];
  if (!id || $(id).disabled) return;
  e.preventDefault();
  $(id).click();
}

/** Attaches the bar's buttons, the media session's handlers, the shortcuts and the skip link. */
export function attachPlayerBar() {
  $('bar-play').addEventListener('click', togglePlay);
  $('bar-next').addEventListener('click', nextTrack);
  $('bar-like').addEventListener('click', () => { if (playing()) toggleLike(playing()); });
  $('bar-dislike').addEventListener('click', () => { if (playing()) toggleDislike(playing()); });
  document.addEventListener('keydown', shortcut);
  $('skip-to-player').addEventListener('click', (e) => {
    e.preventDefault();
    $('bar-play').focus();
  });
  const ms = navigator.mediaSession;
  if (ms) {
    const handlers = {
      play: () => resumePlay(),
      pause: () => $('audio').pause(),
      nexttrack: () => nextTrack(),
    };
    for (const [action, fn] of Object.entries(handlers)) {
      try { ms.setActionHandler(action, fn); } catch { /* an action this browser does not know */ }
    }
  }
  onListening(renderPlayerBar);
}
