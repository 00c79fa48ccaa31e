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

export function toggleLike(track) {
  const item = historyItem(track, true);
  item.liked = !item.liked;
  item.like_time = nowS();
  return saveHistory();
}

export function removeFromHistory(track) {
  const id = canonical(track);
  state.history.items = state.history.items.filter((i) => i.id !== id);
  return saveHistory();
}
