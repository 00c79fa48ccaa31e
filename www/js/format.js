// How tracks and times are written on the page, and how names compare: the library list, the
// player, the recommendations and the "same track" check must agree on them.

/** A file name without its extension. */
export const stem = (name) => name.replace(/\.[^.]+$/, '');

/** Text as compared for "same artist" and "same title": case and spacing do not count. */
export const norm = (s) => (s || '').toLowerCase().replace(/\s+/g, ' ').trim();

export function formatDuration(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(0).padStart(2, '0')}`;
}

/** A track's title (its file name when it has no tag) and its "artist — album" line. */
export function entryText(t) {
  const who = [t.artist, t.album].filter(Boolean).join(' — ');
  return { title: t.title || stem(t.name), who };
}
