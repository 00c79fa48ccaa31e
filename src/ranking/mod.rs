//! The interface every model implements and the ranking rule they all share: a user's input
//! ([`UserInput`], built from evaluation listens or a history file) → one score per catalog item
//! ([`Recommender`]) → the best `k` outside the history ([`top_k`], ties by [`ranks_before`]).
//! It sits below the models, so the evaluation, the CLI and the browser rank the same way;
//! [`diversity`] is the re-rank the page and `ainrec recommend --diversity` share.

pub mod diversity;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::data::history::{History, Portrait};
use crate::data::{Catalog, Listen};
use crate::error::{Error, Result};

/// One item of a user's input history, as a model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputItem {
    /// Catalog index.
    pub item: usize,
    /// Play count (1 when the source gives none).
    pub plays: f32,
    /// Liked by the user.
    pub liked: bool,
    /// Times skipped.
    pub skips: u32,
    /// Unix seconds, if known.
    pub time: Option<i64>,
}

/// A user's input: their history (sequence order, oldest first, one entry per item) and portrait.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserInput {
    /// The history items, oldest first, without duplicates.
    pub items: Vec<InputItem>,
    /// The portrait, if any.
    pub portrait: Option<Portrait>,
}

/// Longest id echoed back whole in messages and output; a longer one is cut.
pub const MAX_ECHOED_ID_CHARS: usize = 64;

/// `id` as it may be echoed back: whole up to [`MAX_ECHOED_ID_CHARS`] characters, else its
/// start, an ellipsis and its full length (a 100 MB id string was echoed back whole).
pub fn shorten_id(id: &str) -> String {
    if id.chars().count() <= MAX_ECHOED_ID_CHARS {
        return id.to_string();
    }
    let head: String = id.chars().take(MAX_ECHOED_ID_CHARS).collect();
    format!("{head}… ({} bytes)", id.len())
}

impl UserInput {
    /// The input of an evaluated user: their input listens in data-set order.
    pub fn from_listens(listens: &[Listen]) -> Self {
        UserInput {
            items: listens
                .iter()
                .map(|l| InputItem {
                    item: l.item,
                    plays: l.plays as f32,
                    liked: false,
                    skips: 0,
                    time: l.time,
                })
                .collect(),
            portrait: None,
        }
    }

    /// Maps a history file onto `catalog`. Returns the input and the ids the catalog does not
    /// know (reported to the user, never silently dropped). Repeated ids are merged into their
    /// first position: plays and skips add up, `liked` if any says so, the latest time is kept.
    pub fn from_history(history: &History, catalog: &Catalog) -> (Self, Vec<String>) {
        let mut items: Vec<InputItem> = Vec::with_capacity(history.items.len());
        let mut pos: HashMap<usize, usize> = HashMap::new();
        let mut unknown = Vec::new();
        // A set, not `Vec::contains`: a history of 10^6 unknown ids took quadratic time.
        let mut seen_unknown: HashSet<&str> = HashSet::new();
        for h in &history.items {
            let Some(item) = catalog.index_of(&h.id) else {
                if seen_unknown.insert(&h.id) {
                    unknown.push(shorten_id(&h.id));
                }
                continue;
            };
            let plays = h.plays.unwrap_or(1) as f32;
            let skips = u32::try_from(h.model_skips()).unwrap_or(u32::MAX);
            match pos.get(&item) {
                Some(&p) => {
                    let e = &mut items[p];
                    e.plays += plays;
                    e.skips = e.skips.saturating_add(skips);
                    e.liked |= h.model_liked();
                    e.time = e.time.max(h.time);
                }
                None => {
                    pos.insert(item, items.len());
                    items.push(InputItem {
                        item,
                        plays,
                        liked: h.model_liked(),
                        skips,
                        time: h.time,
                    });
                }
            }
        }
        (
            UserInput {
                items,
                portrait: history.portrait.clone(),
            },
            unknown,
        )
    }

    /// Catalog indices of the input items.
    pub fn item_indices(&self) -> Vec<usize> {
        self.items.iter().map(|i| i.item).collect()
    }
}

/// A ranking model over a fixed catalog.
///
/// Implementations must be deterministic: the same input gives the same scores, so evaluation
/// and the browser agree. Higher scores rank first; ties are broken by [`ranks_before`].
pub trait Recommender {
    /// The model's name as it appears in results (`popularity`, `item_knn`, `ainrnn`, …).
    fn name(&self) -> &str;

    /// Number of catalog items the model scores.
    fn n_items(&self) -> usize;

    /// A score for every catalog item (dense, length [`Recommender::n_items`]). Scores of the
    /// input items are computed like any other; callers exclude them when ranking.
    fn score(&self, input: &UserInput) -> Result<Vec<f32>>;

    /// Scores for `candidates` only, in their order. The default scores the whole catalog; a
    /// model whose per-item cost is high (target attention) overrides this so the sampled
    /// protocol does not pay for the full catalog.
    fn score_candidates(&self, input: &UserInput, candidates: &[usize]) -> Result<Vec<f32>> {
        let all = self.score(input)?;
        candidates
            .iter()
            .map(|&c| {
                all.get(c)
                    .copied()
                    .ok_or_else(|| Error::invalid("candidate item", format!("< {}", all.len()), c))
            })
            .collect()
    }

    /// Why `item` was recommended: `(history item, weight)` pairs such as attention weights.
    /// Models without attention return an empty list.
    fn explain(&self, _input: &UserInput, _item: usize) -> Result<Vec<(usize, f32)>> {
        Ok(Vec::new())
    }
}

/// The ranking order used everywhere (top-k, sampled ranks): higher score first; equal scores by
/// lower catalog index first; NaN ranks below everything. Returns true when `a` ranks before `b`.
pub fn ranks_before(a: (usize, f32), b: (usize, f32)) -> bool {
    rank_order(a, b) == Ordering::Less
}

fn key(s: f32) -> f32 {
    if s.is_nan() {
        f32::NEG_INFINITY
    } else {
        s
    }
}

fn rank_order(a: (usize, f32), b: (usize, f32)) -> Ordering {
    key(b.1).total_cmp(&key(a.1)).then(a.0.cmp(&b.0))
}

/// Checks that `scores` has one finite-or-infinite, non-NaN value per item; a model that yields
/// NaN has a bug, and ranking its output would hide it.
pub fn check_scores(model: &str, scores: &[f32], n_items: usize) -> Result<()> {
    if scores.len() != n_items {
        return Err(Error::Model(format!(
            "{model} returned {} scores for {n_items} catalog items",
            scores.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::Model(format!(
            "{model} produced a NaN score for item {i}"
        )));
    }
    Ok(())
}

/// The `k` best items by [`ranks_before`], never any item of `exclude` (the user's history).
/// Returns fewer than `k` when the catalog minus `exclude` is smaller.
pub fn top_k(scores: &[f32], exclude: &[usize], k: usize) -> Vec<(usize, f32)> {
    let excluded: HashSet<usize> = exclude.iter().copied().collect();
    let mut cands: Vec<(usize, f32)> = scores
        .iter()
        .enumerate()
        .filter(|(i, _)| !excluded.contains(i))
        .map(|(i, s)| (i, *s))
        .collect();
    let k = k.min(cands.len());
    if k == 0 {
        return Vec::new();
    }
    if k < cands.len() {
        cands.select_nth_unstable_by(k - 1, |a, b| rank_order(*a, *b));
        cands.truncate(k);
    }
    cands.sort_by(|a, b| rank_order(*a, *b));
    cands
}

#[cfg(test)]
pub(crate) mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::*;
    use crate::data::history::parse_history;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Scores item i as `self.0[i]`, whatever the input; explains with the input's items
    /// weighted by their position. Shared with the evaluation tests.
    pub(crate) struct Fixed(pub(crate) Vec<f32>);
    impl Recommender for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn n_items(&self) -> usize {
            self.0.len()
        }
        fn score(&self, _: &UserInput) -> Result<Vec<f32>> {
            Ok(self.0.clone())
        }
        fn explain(&self, input: &UserInput, _: usize) -> Result<Vec<(usize, f32)>> {
            Ok(input
                .items
                .iter()
                .enumerate()
                .map(|(r, i)| (i.item, r as f32))
                .collect())
        }
    }

    #[test]
    fn top_k_excludes_history_and_breaks_ties_by_index() {
        let s = [0.5, 0.9, 0.5, f32::NAN, 0.9, 0.1];
        assert_eq!(
            top_k(&s, &[], 4),
            vec![(1, 0.9), (4, 0.9), (0, 0.5), (2, 0.5)]
        );
        assert_eq!(top_k(&s, &[1, 0], 3), vec![(4, 0.9), (2, 0.5), (5, 0.1)]);
        let all = top_k(&s, &[], 10);
        assert_eq!(all.len(), 6);
        assert_eq!(all[5].0, 3, "NaN ranks last");
        assert!(top_k(&s, &[0, 1, 2, 3, 4, 5], 3).is_empty());
        assert!(top_k(&s, &[], 0).is_empty());
    }

    #[test]
    fn top_k_matches_a_full_sort() {
        let s: Vec<f32> = (0..200).map(|i| ((i * 37) % 11) as f32).collect();
        let mut full: Vec<(usize, f32)> = s
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .collect();
        full.sort_by(|a, b| rank_order(*a, *b));
        let ex: Vec<usize> = (0..200).step_by(3).collect();
        assert_eq!(top_k(&s, &ex, 20), full[..20].to_vec());
    }

    #[test]
    fn history_maps_to_input_with_merge_and_unknown_ids() {
        let mut cat = Catalog::new();
        for id in ["a", "b", "c"] {
            cat.insert(id);
        }
        let h = parse_history(
            r#"{"items": [{"id": "b", "plays": 2}, {"id": "zz"}, {"id": "a", "liked": true},
                {"id": "b", "plays": 3, "time": 9, "skips": 1}]}"#,
            "h",
        )
        .unwrap();
        let (input, unknown) = UserInput::from_history(&h, &cat);
        assert_eq!(unknown, vec!["zz"]);
        assert_eq!(input.item_indices(), vec![1, 0]);
        assert_eq!(input.items[0].plays, 5.0);
        assert_eq!(input.items[0].skips, 1);
        assert_eq!(input.items[0].time, Some(9));
        assert!(input.items[1].liked);
        assert_eq!(
            input.items[1].plays, 1.0,
            "a listed item counts as one play"
        );
    }

    /// A dislike ("less like this") reaches the models as DISLIKE_SKIPS extra skips and no
    /// like, as the page tells its worker; a bad value is an error naming the field.
    #[test]
    fn a_dislike_is_read_as_skips_and_cancels_a_like() {
        use crate::data::history::DISLIKE_SKIPS;
        let mut cat = Catalog::new();
        for id in ["a", "b"] {
            cat.insert(id);
        }
        let h = parse_history(
            r#"{"items": [{"id": "a", "plays": 4, "skips": 1, "liked": true, "disliked": true},
                {"id": "b", "plays": 2, "disliked": false}]}"#,
            "h",
        )
        .unwrap();
        let (input, _) = UserInput::from_history(&h, &cat);
        assert_eq!(u64::from(input.items[0].skips), 1 + DISLIKE_SKIPS);
        assert!(!input.items[0].liked);
        assert_eq!(input.items[1].skips, 0);
        let e = parse_history(r#"{"items": [{"id": "a", "disliked": 1}]}"#, "h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("items[0].disliked"), "{e}");
    }

    #[test]
    fn many_unknown_ids_are_deduplicated_and_long_ones_cut() {
        let mut cat = Catalog::new();
        for id in ["a", "b"] {
            cat.insert(id);
        }
        let item = |id: String| crate::data::history::HistoryItem {
            id,
            ..Default::default()
        };
        let n = 200_000;
        let mut items: Vec<_> = (0..n).map(|i| item(format!("u{}", i % (n / 2)))).collect();
        items.push(item("x".repeat(10_000)));
        items.push(item("a".to_string()));
        let h = History {
            items,
            ..History::default()
        };
        // No clock here (the test also runs as wasm, and speed belongs in benchmarks): the
        // quadratic version took minutes on these 10^5 distinct ids, which the test-suite
        // timeout catches; the linear one takes milliseconds.
        let (input, unknown) = UserInput::from_history(&h, &cat);
        assert_eq!(input.items.len(), 1);
        assert_eq!(unknown.len(), n / 2 + 1);
        assert_eq!(unknown[0], "u0");
        let long = unknown.last().unwrap();
        assert!(
            long.len() < 100 && long.ends_with("(10000 bytes)"),
            "{long}"
        );
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// top_k is the prefix of a full sort under the same order, without excluded items.
        #[test]
        fn top_k_is_the_sorted_prefix(
            scores in prop::collection::vec(0u8..6, 0..60),
            exclude in prop::collection::vec(0usize..70, 0..20),
            k in 0usize..25,
        ) {
            let s: Vec<f32> = scores.iter().map(|&x| f32::from(x)).collect();
            let mut full: Vec<(usize, f32)> =
                s.iter().copied().enumerate().filter(|(i, _)| !exclude.contains(i)).collect();
            full.sort_by(|a, b| rank_order(*a, *b));
            full.truncate(k);
            prop_assert_eq!(top_k(&s, &exclude, k), full);
        }
    }
}
