// The library list and the "Files not added" list. Rows are made once and then updated in
// place: a re-render (on every play, pause, like, analysed file) must not replace the
// buttons, because a Space press clicks on key-up, on the element that went active on
// key-down, and focus would be lost with a replaced button.
import {
  displayNames, entryText, formatDuration, norm,
} from './format.js';
import {
  historyItem, removeFromHistory, toggleDislike, toggleLike,
} from './history.js';
import { audioAvailable, playTrack } from './playback.js';
import { startRadio } from './queue.js';
import { scheduleRecommend } from './recommend.js';
import { objectUrl, shown, state } from './state.js';
import {
  $, button, setAttr, setText,
} from './ui.js';

const listRows = new Map(); // track id -> { li, cover, title, sub, counts, play, radio, like, dislike, remove }

/** "Start radio from this track": it plays now, and the queue fills with tracks like it. */
async function radioFrom(id) {
  startRadio(id);
  await playTrack(id);
  scheduleRecommend();
}

function libraryRow(id) {
  let row = listRows.get(id);
  if (row) return row;
  const track = () => state.tracks.get(id);
  const el = (tag, className) => {
    const e = document.createElement(tag);
    if (className) e.className = className;
    return e;
  };
  row = { li: el('li'), cover: el('img', 'cover'), title: el('span', 'title'), sub: el('span', 'sub'), counts: el('span', 'counts') };
  row.li.dataset.id = id;
  row.cover.alt = '';
  row.counts.dataset.testid = 'counts';
  row.play = button('Play', 'play', '', () => playTrack(id));
  row.radio = button('Radio', 'radio', '', () => radioFrom(id));
  row.like = button('♡ Like', 'like', '', () => toggleLike(track()));
  row.dislike = button('Less', 'dislike', '', () => toggleDislike(track()));
  row.remove = button('Remove', 'remove', '', () => removeFromHistory(track()));
  const info = el('div', 'info');
  info.append(row.title, row.sub, row.counts);
  const actions = el('div', 'actions');
  actions.append(row.play, row.radio, row.like, row.dislike, row.remove);
  row.li.append(row.cover, info, actions);
  listRows.set(id, row);
  return row;
}

// The orders of the "Sort by" menu; ties keep the order added.
const SORTS = {
  added: () => 0,
  recent: (a, b) => (b.t.addedAt || 0) - (a.t.addedAt || 0),
  title: (a, b) => a.title.localeCompare(b.title),
  artist: (a, b) => (a.artist || '\uffff').localeCompare(b.artist || '\uffff') || a.title.localeCompare(b.title),
  plays: (a, b) => b.plays - a.plays,
};

/** The library in the order chosen, each with whether it matches the search. */
function arranged() {
  const query = norm($('library-search').value);
  const rows = [...state.tracks.values()].map((t) => {
    const { title, artist } = displayNames(t);
    const plays = historyItem(t, false)?.plays || 0;
    const text = norm([title, artist, t.album, t.name].filter(Boolean).join(' '));
    return {
      t, title, artist, plays, match: !query || text.includes(query),
    };
  });
  const cmp = SORTS[$('library-sort').value] || SORTS.added;
  return { rows: rows.map((r, i) => ({ ...r, i })).sort((a, b) => cmp(a, b) || a.i - b.i), query };
}

let drawnOnce = false;

export function renderLibrary() {
  const libraryEl = $('library');
  const audioEl = $('audio');
  const { rows: order, query } = arranged();
  const tracks = order.map((r) => r.t);
  const shownCount = order.filter((r) => r.match).length;
  $('library-empty').hidden = tracks.length > 0;
  $('library-count').textContent = !tracks.length ? ''
    : shownCount === tracks.length ? `(${tracks.length})` : `(${shownCount} of ${tracks.length} shown)`;
  $('library-nomatch').hidden = !tracks.length || shownCount > 0;
  setText($('library-nomatch'), query ? `No track matches “${$('library-search').value.trim()}”.` : '');
  const created = [];
  const focused = document.activeElement?.closest?.('li[data-id]');
  const focusKey = focused ? [focused.dataset.id, document.activeElement.dataset.testid] : null;
  const live = new Set(tracks.map((t) => t.id));
  for (const [id, row] of listRows) {
    if (!live.has(id)) {
      row.li.remove();
      listRows.delete(id);
    }
  }
  let prev = null;
  for (const [k, t] of tracks.entries()) {
    if (!listRows.has(t.id)) created.push(t.id);
    const row = libraryRow(t.id);
    row.li.hidden = !order[k].match;
    const { title, who } = entryText(t);
    const item = historyItem(t, false);
    // The playing row is marked (and named for screen readers); the Play label stays put.
    row.li.classList.toggle('playing', state.playing === t.id);
    if (state.playing === t.id) setAttr(row.li, 'aria-current', 'true');
    else row.li.removeAttribute('aria-current');
    const cover = t.cover ? objectUrl(t.cover) : null;
    if (cover && row.cover.getAttribute('src') !== cover) row.cover.src = cover;
    row.cover.classList.toggle('no-cover', !cover);
    setText(row.title, title);
    const notes = [];
    if (who) notes.push(who);
    if (t.duration) notes.push(formatDuration(t.duration));
    if (t.source === 'demo') notes.push(`demo · ${t.credit?.license || ''}`);
    if (t.sameAs) {
      const first = state.tracks.get(t.sameAs);
      notes.push(`same track as ${first ? first.name : 'another file'}`);
    }
    const available = audioAvailable(t);
    row.li.classList.toggle('no-audio', !available);
    if (!available) notes.push('audio not in this browser');
    setText(row.sub, notes.join(' · '));
    const n = (k, one, many) => `${k} ${k === 1 ? one : many}`;
    setText(row.counts, item
      ? `${n(item.plays || 0, 'play', 'plays')} · ${n(item.full_listens || 0, 'full listen', 'full listens')}`
        + ` · ${n(item.skips || 0, 'skip', 'skips')}${item.liked ? ' · liked' : ''}${item.disliked ? ' · less like this' : ''}`
      : '');
    setAttr(row.play, 'aria-label', state.playing === t.id && !audioEl.paused ? `Play ${title} again (playing)` : `Play ${title}`);
    setText(row.like, item?.liked ? '♥ Liked' : '♡ Like');
    setAttr(row.like, 'aria-label', `Like ${title}`);
    setAttr(row.like, 'aria-pressed', String(Boolean(item?.liked)));
    setAttr(row.radio, 'aria-label', `Start radio from ${title}`);
    setAttr(row.dislike, 'aria-label', `Less like ${title}`);
    setAttr(row.dislike, 'aria-pressed', String(Boolean(item?.disliked)));
    setAttr(row.remove, 'aria-label', `Remove ${title} from your history`);
    // The list follows the library's order; a row moves only when it is out of place.
    const want = prev ? prev.nextSibling : libraryEl.firstChild;
    if (want !== row.li) libraryEl.insertBefore(row.li, want);
    prev = row.li;
  }
  // A track added while the page is open is scrolled into view in the list's box (only the box
  // scrolls, not the page).
  // (Of several added at once, such as the demo catalog, the first.)
  const newest = drawnOnce && state.loaded ? created.map((id) => listRows.get(id)?.li).find((li) => li && !li.hidden) : null;
  if (newest) {
    const box = libraryEl.closest('.library-box');
    const r = newest.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    if (r.bottom > b.bottom) box.scrollTop += r.bottom - b.bottom;
    else if (r.top < b.top) box.scrollTop -= b.top - r.top;
  }
  if (state.loaded) drawnOnce = true;
  // Rows without audio in this browser (after an import) are marked, and one action gives
  // them their audio back.
  const without = tracks.filter((t) => !audioAvailable(t));
  const missing = without.length;
  $('relink').hidden = missing === 0;
  const why = without.some((t) => t.imported) ? 'they came from an import, and an export carries none'
    : 'it could not be kept in this browser\'s storage';
  setText($('relink-text'), missing
    ? `${missing} track${missing > 1 ? 's have' : ' has'} no audio in this browser (${why}): `
    : '');
  // A moved row loses focus; give it back to the same button.
  if (focusKey && !document.activeElement?.closest?.('li[data-id]')) {
    libraryEl.querySelector(`li[data-id="${focusKey[0]}"] [data-testid="${focusKey[1]}"]`)?.focus();
  }
}

/** Lists a file that was not added, with the reason. */
export function addBadFile(name, reason) {
  const badFilesEl = $('bad-files');
  shown.stats.bad += 1;
  const li = document.createElement('li');
  li.textContent = `${name}: ${reason}`;
  badFilesEl.append(li);
  $('bad-count').textContent = String(badFilesEl.children.length);
  $('bad-files-none').hidden = true;
}

/** Empties the "Files not added" list (Forget me). */
export function clearBadFiles() {
  $('bad-files').replaceChildren();
  $('bad-count').textContent = '0';
  $('bad-files-none').hidden = false;
}
