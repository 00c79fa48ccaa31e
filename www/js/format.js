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

/**
 * Title and artist read from a file name, for files without tags: the folders and the
 * extension dropped, underscores as spaces, a leading track number ("01 - ", "1-02 ", "07. ")
 * dropped, then "artist - title" split at the first " - " (or, in a name without spaces, at
 * its only hyphen: "boomboxhead-dopebeat2").
 */
export function parseFileName(name) {
  const base = stem(name.split('/').pop());
  let s = base.replace(/_+/g, ' ').replace(/\s+/g, ' ').trim();
  s = s.replace(/^(?:\d{1,2}-\d{1,3}\s+|\d{1,3}\s*[-.)]\s+|0\d\s+)(?=\S)/, '');
  let artist = '';
  let title = s;
  const dash = s.indexOf(' - ');
  if (dash > 0) {
    artist = s.slice(0, dash).trim();
    title = s.slice(dash + 3).trim();
  } else if (!/\s/.test(base) && (s.match(/-/g) || []).length === 1 && !/^-|-$/.test(s)) {
    [artist, title] = s.split('-');
  }
  return { title: title || s || base, artist };
}

/** A track's title and artist as shown: its tags, else what its file name says. */
export function displayNames(t) {
  // An untagged file's record holds its file name as its title (`tagged: false`).
  if (t.title && t.tagged !== false) return { title: t.title, artist: t.artist || '' };
  const parsed = parseFileName(t.name);
  return { title: parsed.title, artist: t.artist || parsed.artist };
}

/** A track's title (from its tags, else its file name) and its "artist — album" line. */
export function entryText(t) {
  const { title, artist } = displayNames(t);
  const who = [artist, t.album].filter(Boolean).join(' — ');
  return { title, who };
}
