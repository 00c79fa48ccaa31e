// The listening history's rules: what a play, a full listen, a skip, a like or a removal
// changes in it, and saving it. In one module so that every control records listening the
// same way; the model and `ainrec recommend --history` read these fields.
import * as store from '../store.js';
import { canonical, changed, state } from './state.js';
import { storageProblem } from './ui.js';

const nowS = () => Math.floor(Date.now() / 1000);

/** The history item of `track`'s recording (made when `create` and there is none), or undefined. */
export function historyItem(track, create) {
  const id = canonical(track);
  let item = state.history.items.find((i) => i.id === id);
  if (!item && create) {
    item = { id, title: track.title, artist: track.artist || undefined, plays: 0, full_listens: 0, skips: 0 };
    state.history.items.push(item);
  }
  return item;
}

// The list shows the change at once (a like lights up on the click, not after the disk write);
// a write that fails says so, and the history in the tab is still the new one.
export async function saveHistory() {
  changed();
  try {
    await store.putHistory(state.history);
  } catch (err) {
    storageProblem(err, 'the latest change to your history could not be saved');
  }
}

export function recordPlay(track) {
  const item = historyItem(track, true);
  const t = nowS();
  item.plays += 1;
  item.time = t;
  item.play_times = [...(item.play_times || []), t].slice(-100);
  // The order of `items` is the listening order (oldest first): a replay moves it last.
  state.history.items = state.history.items.filter((i) => i !== item).concat(item);
  return saveHistory();
}

export function recordFullListen(track) {
  const item = historyItem(track, true);
  item.full_listens = (item.full_listens || 0) + 1;
  return saveHistory();
}

export function recordSkip(track) {
  const item = historyItem(track, true);
  item.skips = (item.skips || 0) + 1;
  item.skip_times = [...(item.skip_times || []), nowS()].slice(-100);
  return saveHistory();
}

/** "More like this": a like (a strong positive); it clears a dislike of the same track. */
export function toggleLike(track) {
  const item = historyItem(track, true);
  item.liked = !item.liked;
  item.like_time = nowS();
  if (item.liked) delete item.disliked;
  return saveHistory();
}

/** "Less like this": a dislike (a strong negative, see historyWeight); it clears a like. Pressed
 * again it is taken back. */
export function toggleDislike(track) {
  const item = historyItem(track, true);
  if (item.disliked) delete item.disliked;
  else {
    item.disliked = true;
    item.liked = false;
  }
  item.dislike_time = nowS();
  return saveHistory();
}

// How a history item weighs with the model: the browser model reads plays, a like and skips
// (src/model/browser/prior.rs: w = ln(1 + plays) + like_bonus·liked − skip_penalty·ln(1 + skips),
// both factors 1 by default). It has no field for a dislike, so a dislike is given to it as
// DISLIKE_SKIPS extra skips: w ≤ ln(1 + plays) − ln(21), below any skipped-once track, and the
// fine-tuning takes the item as a negative (skips > plays, not liked) like a skipped one.
// The same number as DISLIKE_SKIPS in src/data/history.rs, which `ainrec recommend` applies to
// an exported history, so the page and the CLI rank it alike.
const DISLIKE_SKIPS = 20;

/** What the model is told about `item`: {plays, liked, skips}. */
export function modelSignals(item) {
  return {
    plays: item.plays || 0,
    liked: Boolean(item.liked) && !item.disliked,
    skips: (item.skips || 0) + (item.disliked ? DISLIKE_SKIPS : 0),
  };
}

/** The prior weight the model gives `item` (the same formula as prior.rs, for explanations). */
export function historyWeight(item) {
  const s = modelSignals(item);
  return Math.log1p(s.plays) + (s.liked ? 1 : 0) - Math.log1p(s.skips);
}

export function removeFromHistory(track) {
  const id = canonical(track);
  state.history.items = state.history.items.filter((i) => i.id !== id);
  return saveHistory();
}
