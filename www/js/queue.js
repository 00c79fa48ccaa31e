// The radio's "Up next" queue: which tracks play after the current one, and why. It is filled
// from the rankings (recommend.js calls setQueue after every re-rank, so the queue follows the
// history), taken from by auto-next and Next (playback.js), and drawn here. Three modes:
// - "recommendations": the recommendations, in the order shown (the default, and "Play all
//   recommendations");
// - "seed": "Start radio from this track": tracks ranked for the history with that track
//   weighing as much as all the rest;
// - when nothing unheard is left, either mode goes on with the heard tracks that score best
//   (each ranked by the model against the rest of the history), and the note says so.
import { entryText } from './format.js';
import { shown, state } from './state.js';
import { $, setText } from './ui.js';

export const radio = {
  mode: 'recommendations', seedId: null, ids: [], note: '', heard: false,
};

function titleOf(id) {
  const t = state.tracks.get(id);
  return t ? entryText(t).title : 'a removed track';
}

function render() {
  const list = $('queue');
  const ids = radio.ids.filter((id) => state.tracks.has(id));
  // Rows are replaced (they hold no controls, so no focus can be lost).
  list.replaceChildren(...ids.map((id, i) => {
    const li = document.createElement('li');
    li.dataset.id = id;
    const t = state.tracks.get(id);
    const { who } = entryText(t);
    li.textContent = `${titleOf(id)}${who ? ` — ${who}` : ''}`;
    if (i === 0) li.classList.add('next');
    return li;
  }));
  const from = radio.mode === 'seed' ? `Radio from ${titleOf(radio.seedId)}` : 'From your recommendations';
  setText($('queue-mode'), from);
  setText($('queue-note'), radio.note || (ids.length ? '' : 'Nothing queued yet: play, like or skip a few tracks.'));
  shown.queue = { mode: radio.mode, seedId: radio.seedId, ids, note: radio.note, heard: radio.heard };
}

/** The queue after a re-rank: `ids` in order, `note` says where they come from when it matters. */
export function setQueue(ids, { note = '', heard = false } = {}) {
  radio.ids = ids.filter((id) => id !== state.playing);
  radio.note = note;
  radio.heard = heard;
  render();
}

/** "Start radio from this track". */
export function startRadio(seedId) {
  Object.assign(radio, {
    mode: 'seed', seedId, ids: [], note: `Finding tracks like ${titleOf(seedId)}…`, heard: false,
  });
  render();
}

/** "Play all recommendations": the queue follows the recommendations again. */
export function followRecommendations() {
  Object.assign(radio, { mode: 'recommendations', seedId: null });
  render();
}

/** The next queued track (taken off the queue), never one of `not`; null when none is queued. */
export function takeNext(not = []) {
  while (radio.ids.length) {
    const id = radio.ids.shift();
    if (state.tracks.has(id) && !not.includes(id)) {
      render();
      return id;
    }
  }
  render();
  return null;
}

/** Empties the queue (Forget me). */
export function clearQueue() {
  Object.assign(radio, {
    mode: 'recommendations', seedId: null, ids: [], note: '', heard: false,
  });
  render();
}
