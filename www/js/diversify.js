// The diversity control's re-ranking of the model's list, alone in its module: it is to be
// replaced by a call into wasm (the Rust ranking), so recommend.js calls it in one place and
// hands it plain data (no page state), as that call will take.

/**
 * Re-ranks `list` (the model's order, best first) so that at most `n` tracks by one artist
 * follow each other, keeping `k` entries. `artists[i]` is the normalised artist of `list[i]`
 * ('' when unknown: such a track never counts as a repeat). When only repeats are left, the
 * best of them is taken.
 */
export function diversify(list, artists, n, k) {
  const out = []; // indices into list
  const pool = list.map((_, i) => i);
  while (out.length < k && pool.length) {
    let pick = pool.findIndex((i) => {
      const a = artists[i];
      if (!a || out.length < n) return true;
      return !out.slice(-n).every((o) => artists[o] === a);
    });
    if (pick < 0) pick = 0; // nothing else is left
    out.push(pool.splice(pick, 1)[0]);
  }
  return out.map((i) => list[i]);
}
