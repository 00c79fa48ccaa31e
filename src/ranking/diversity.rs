//! Diversity re-ranking: at most `max_run` items by one artist in a row.
//!
//! A model that ranks by sound or taste often puts five songs of one album at the top; a
//! listener expects variety. The rule is greedy and keeps the model's order wherever it can:
//! the list is built position by position, each time taking the best remaining item whose artist
//! would not make a run longer than `max_run` (the last `max_run` picks all by that artist).
//! When every remaining item would, the best one is taken anyway (the list is never shorter
//! than it would be without the rule). Items without an artist are never held back, and they
//! break a run. Artists compare after [`artist_key`] (case, spacing), as the page always has.
//!
//! Both the CLI and the page's worker call [`diversify`], so they rank alike; each result carries
//! its rank before the re-rank so the page can say "moved up to vary artists".

/// The artist as the rule compares it: lower case, runs of white space as one space, trimmed
/// (`"  Kevin   MacLeod "` and `"kevin macleod"` are one artist). Empty means "no artist".
pub fn artist_key(artist: &str) -> String {
    artist
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// One item of a re-ranked list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reranked {
    /// The caller's item index (catalog index or library row).
    pub item: usize,
    /// The model's score, unchanged.
    pub score: f32,
    /// 0-based position in the model's list before the re-rank.
    pub model_rank: usize,
}

/// Re-ranks `ranked` (the model's list, best first: `(item, score)`) so that at most `max_run`
/// consecutive items share an artist, and returns the first `k`. `artist(item)` gives an item's
/// artist (`None` or empty: no artist). `max_run == 0` means no limit: the model's order, cut to `k`.
///
/// Cost: O(k · n) comparisons for n input items (the page asks for 3 · k).
pub fn diversify<'a>(
    ranked: &[(usize, f32)],
    artist: impl Fn(usize) -> Option<&'a str>,
    max_run: usize,
    k: usize,
) -> Vec<Reranked> {
    let mut pool: Vec<(Reranked, String)> = ranked
        .iter()
        .enumerate()
        .map(|(r, &(item, score))| {
            (
                Reranked {
                    item,
                    score,
                    model_rank: r,
                },
                artist(item).map(artist_key).unwrap_or_default(),
            )
        })
        .collect();
    let mut out: Vec<(Reranked, String)> = Vec::with_capacity(k.min(pool.len()));
    while out.len() < k && !pool.is_empty() {
        let allowed = |a: &str| {
            max_run == 0
                || a.is_empty()
                || out.len() < max_run
                || !out[out.len() - max_run..].iter().all(|(_, o)| o == a)
        };
        let pick = pool.iter().position(|(_, a)| allowed(a)).unwrap_or(0);
        out.push(pool.remove(pick));
    }
    out.into_iter().map(|(r, _)| r).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A model's list of 10 where artist A holds the top four and C the last three, and one item
    /// has no artist: the rule reorders it for every `max_run` below 4. Shared with the wasm API
    /// test, which must give the same orders (`FIXTURE_ORDERS`).
    pub(crate) const FIXTURE_ARTISTS: [&str; 10] =
        ["A", "a ", "A", "A", "B", "", "C", "B", " c", "C"];

    /// The model's scores of the fixture, best first.
    pub(crate) fn fixture() -> Vec<(usize, f32)> {
        (0..10).map(|i| (i, 10.0 - i as f32)).collect()
    }

    /// `(max_run, k, item order)` checked by hand against the rule.
    pub(crate) const FIXTURE_ORDERS: [(usize, usize, &[usize]); 5] = [
        (1, 10, &[0, 4, 1, 5, 2, 6, 3, 7, 8, 9]),
        (2, 10, &[0, 1, 4, 2, 3, 5, 6, 7, 8, 9]),
        (3, 10, &[0, 1, 2, 4, 3, 5, 6, 7, 8, 9]),
        (0, 10, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        (1, 4, &[0, 4, 1, 5]),
    ];

    fn artist(i: usize) -> Option<&'static str> {
        FIXTURE_ARTISTS.get(i).copied()
    }

    #[test]
    fn the_rule_reorders_the_fixture_as_worked_out_by_hand() {
        for (max_run, k, want) in FIXTURE_ORDERS {
            let got: Vec<usize> = diversify(&fixture(), artist, max_run, k)
                .iter()
                .map(|r| r.item)
                .collect();
            assert_eq!(got, want, "max_run {max_run}, k {k}");
        }
    }

    #[test]
    fn no_run_is_longer_than_allowed_unless_nothing_else_is_left() {
        // max_run 1 on the fixture: C, B, c, C at the end — the last two must repeat C.
        // Keys in the result: a b a _ a c a b c c.
        let out = diversify(&fixture(), artist, 1, 10);
        let keys: Vec<String> = out
            .iter()
            .map(|r| artist_key(FIXTURE_ARTISTS[r.item]))
            .collect();
        let runs = keys
            .windows(2)
            .filter(|w| !w[0].is_empty() && w[0] == w[1])
            .count();
        assert_eq!(runs, 1, "{keys:?}");
        assert_eq!(out[9].item, 9, "only C is left: taken anyway");
    }

    #[test]
    fn each_item_keeps_its_score_and_its_rank_before_the_rerank() {
        let out = diversify(&fixture(), artist, 1, 10);
        for r in &out {
            assert_eq!(r.model_rank, r.item);
            assert_eq!(r.score, 10.0 - r.item as f32);
        }
        let mut items: Vec<usize> = out.iter().map(|r| r.item).collect();
        items.sort_unstable();
        assert_eq!(items, (0..10).collect::<Vec<_>>(), "a permutation");
    }

    #[test]
    fn artists_compare_without_case_or_spacing() {
        assert_eq!(artist_key("  Kevin   MacLeod "), "kevin macleod");
        assert_eq!(artist_key(" \t"), "");
        let list = [(0, 3.0), (1, 2.0), (2, 1.0)];
        let names = ["Kevin MacLeod", "kevin  macleod", "TAD"];
        let out = diversify(&list, |i| Some(names[i]), 1, 3);
        assert_eq!(out.iter().map(|r| r.item).collect::<Vec<_>>(), [0, 2, 1]);
    }
}
