// What counts as listening: the scrobbling convention. A track counts as a *play* once it has
// been heard for PLAY_THRESHOLD_S seconds or half its length, whichever comes first; Next
// (or Skip) before that is a *skip* of the track that was playing, and nothing else; a track
// heard to its end after it counted is also a full listen. "Heard" is media time that played
// through: seeking forward earns nothing, so jumping to the end of a track is neither a play
// nor a full listen.
import { recordFullListen, recordPlay, recordSkip } from './history.js';
import { state } from './state.js';

export const PLAY_THRESHOLD_S = 30;

/** Seconds of `duration` a track must be heard for to count as a play. */
export const playThreshold = (duration) => (Number.isFinite(duration) && duration > 0
  ? Math.min(PLAY_THRESHOLD_S, duration / 2) : PLAY_THRESHOLD_S);

// The track in the player: how long it has been heard, and whether it counted yet.
export const listening = {
  id: null, heard: 0, last: null, counted: false, threshold: PLAY_THRESHOLD_S,
};
const subscribers = [];

/** Has `fn` called when the heard time or whether it counted changes (the player bar). */
export function onListening(fn) {
  subscribers.push(fn);
}
const tell = () => { for (const fn of subscribers) fn(listening); };

/** A new track is in the player (nothing is recorded for it yet). */
export function beginListening(id) {
  Object.assign(listening, {
    id, heard: 0, last: null, counted: false, threshold: PLAY_THRESHOLD_S,
  });
  tell();
}

/** Attaches the rules to the <audio> element's events. */
export function attachListening(audio) {
  audio.addEventListener('loadedmetadata', () => {
    listening.threshold = playThreshold(audio.duration);
    tell();
  });
  // A seek (the visitor's, or a test's) restarts the count from the new position.
  audio.addEventListener('seeking', () => { listening.last = null; });
  audio.addEventListener('play', () => { listening.last = audio.currentTime; });
  audio.addEventListener('timeupdate', () => {
    if (!listening.id || audio.seeking) return;
    const now = audio.currentTime;
    if (listening.last !== null && !audio.paused) {
      const d = now - listening.last;
      // timeupdate fires every 15–250 ms of real time: a bigger step is a jump, not listening.
      if (d > 0 && d <= Math.max(1, audio.playbackRate)) listening.heard += d;
    }
    listening.last = now;
    listening.threshold = playThreshold(audio.duration);
    if (!listening.counted && listening.heard >= listening.threshold) {
      listening.counted = true;
      const t = state.tracks.get(listening.id);
      if (t) recordPlay(t);
    }
    tell();
  });
}

/** Next or Skip pressed: a skip of the playing track when it has not counted as a play yet. */
export async function leaveBeforeTheEnd() {
  const t = state.tracks.get(listening.id);
  const skipped = t && !listening.counted;
  listening.id = null;
  if (skipped) await recordSkip(t);
  return skipped;
}

/** The track ended: a full listen when it had counted as a play (it was heard, not jumped through). */
export async function listenedToTheEnd() {
  const t = state.tracks.get(listening.id);
  const full = t && listening.counted;
  listening.id = null;
  if (full) await recordFullListen(t);
  return full;
}
