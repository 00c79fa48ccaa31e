//! The audio proxy protocol: with no listener data joined to audio, how well does a
//! descriptor retrieve (a) another excerpt of the same track and (b) other tracks of the
//! same source collection? Everything is macro-averaged over collections, because one
//! composer dominates the corpus and a micro average would mostly measure him.
//!
//! Each track gives several disjoint excerpts; every excerpt is a query against all other
//! excerpts, ranked by cosine similarity of z-scored descriptors (z-scores computed over
//! the whole corpus, per descriptor value; the corpus is the test set and there is no
//! training, so nothing leaks). Metrics per query:
//! - `same_track_hit@1`: the nearest other excerpt is from the same track;
//! - `same_track_mrr`: 1 / rank of the first excerpt of the same track;
//! - `same_collection_precision@5`: share of the 5 nearest excerpts *of other tracks* that
//!   come from the query's collection (own-track excerpts removed, or it would repeat (a)).
//!
//! Each metric is averaged over a collection's queries, then over collections (mean ± std
//! over collections). The `chance` feature set gives each metric's expectation under a
//! random ranking, computed exactly, so every number has its floor beside it.

use std::collections::BTreeMap;

use crate::metrics::MeanStd;

/// Neighbours counted by `same_collection_precision@k`.
pub const COLLECTION_K: usize = 5;

/// Per-query metric values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct QueryScores {
    hit1: f64,
    mrr: f64,
    collection_p: f64,
}

/// Evaluates unit-length `vectors` (one per excerpt, `track[i]` its track index,
/// `collection[t]` the class of track `t`). Returns `metric → mean ± std over collections`.
pub fn evaluate(
    vectors: &[Vec<f32>],
    track: &[usize],
    collection: &[String],
) -> BTreeMap<String, MeanStd> {
    let scored: Vec<(usize, QueryScores)> = (0..vectors.len())
        .map(|q| (q, query_scores(vectors, track, collection, q)))
        .collect();
    macro_average(&scored, track, collection)
}

/// Cross-fitted evaluation: `folds[f] = (vectors, queries)` — every excerpt embedded by the
/// encoder of fold `f`, and the excerpts (of the tracks that encoder never saw) that are asked
/// as queries under it. Each excerpt should be a query in exactly one fold; all excerpts are
/// candidates in every fold. Averaged like [`evaluate`].
pub fn evaluate_folds(
    folds: &[(Vec<Vec<f32>>, Vec<usize>)],
    track: &[usize],
    collection: &[String],
) -> BTreeMap<String, MeanStd> {
    let scored: Vec<(usize, QueryScores)> = folds
        .iter()
        .flat_map(|(vectors, queries)| {
            queries
                .iter()
                .map(|&q| (q, query_scores(vectors, track, collection, q)))
        })
        .collect();
    macro_average(&scored, track, collection)
}

/// The metrics of query `q` against every other excerpt.
fn query_scores(
    vectors: &[Vec<f32>],
    track: &[usize],
    collection: &[String],
    q: usize,
) -> QueryScores {
    let mut ranked: Vec<(usize, f32)> = (0..vectors.len())
        .filter(|&j| j != q)
        .map(|j| {
            let d = vectors[q].iter().zip(&vectors[j]).map(|(a, b)| a * b).sum();
            (j, d)
        })
        .collect();
    // Ties broken by index, so the ranking is deterministic.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let first_same = ranked
        .iter()
        .position(|(j, _)| track[*j] == track[q])
        .map_or(0.0, |r| 1.0 / (r + 1) as f64);
    let others: Vec<usize> = ranked
        .iter()
        .map(|(j, _)| *j)
        .filter(|&j| track[j] != track[q])
        .take(COLLECTION_K)
        .collect();
    let same_coll = others
        .iter()
        .filter(|&&j| collection[track[j]] == collection[track[q]])
        .count();
    QueryScores {
        hit1: f64::from(u8::from(first_same == 1.0)),
        mrr: first_same,
        collection_p: same_coll as f64 / others.len().max(1) as f64,
    }
}

/// The expected value of each metric under a uniformly random ranking, exactly.
pub fn chance(track: &[usize], collection: &[String]) -> BTreeMap<String, MeanStd> {
    let n = track.len();
    let scores: Vec<(usize, QueryScores)> = (0..n)
        .map(|q| {
            let others = n - 1;
            let same = (0..n).filter(|&j| j != q && track[j] == track[q]).count();
            let other_tracks = others - same;
            let same_coll = (0..n)
                .filter(|&j| track[j] != track[q] && collection[track[j]] == collection[track[q]])
                .count();
            // E[1/rank of the first of `same` relevant among `others`]: Σ_r P(first = r)/r.
            let mut mrr = 0.0;
            let mut p_none_before = 1.0;
            for r in 1..=others {
                let remaining = (others - (r - 1)) as f64;
                let p_here = same as f64 / remaining;
                mrr += p_none_before * p_here / r as f64;
                p_none_before *= 1.0 - p_here;
                if p_none_before <= 0.0 {
                    break;
                }
            }
            (
                q,
                QueryScores {
                    hit1: same as f64 / others.max(1) as f64,
                    mrr,
                    collection_p: same_coll as f64 / other_tracks.max(1) as f64,
                },
            )
        })
        .collect();
    macro_average(&scores, track, collection)
}

fn macro_average(
    scores: &[(usize, QueryScores)],
    track: &[usize],
    collection: &[String],
) -> BTreeMap<String, MeanStd> {
    let mut per_class: BTreeMap<&str, Vec<QueryScores>> = BTreeMap::new();
    for &(q, s) in scores {
        per_class
            .entry(collection[track[q]].as_str())
            .or_default()
            .push(s);
    }
    let class_means = |f: fn(&QueryScores) -> f64| -> Vec<f64> {
        per_class
            .values()
            .map(|v| v.iter().map(f).sum::<f64>() / v.len() as f64)
            .collect()
    };
    let mut out = BTreeMap::new();
    for (name, f) in [
        (
            "same_track_hit@1",
            (|s: &QueryScores| s.hit1) as fn(&QueryScores) -> f64,
        ),
        ("same_track_mrr", |s: &QueryScores| s.mrr),
        ("same_collection_precision@5", |s: &QueryScores| {
            s.collection_p
        }),
    ] {
        out.insert(name.to_string(), MeanStd::of(&class_means(f)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn classes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Two tracks × two excerpts in one collection, one track × two excerpts in another;
    /// vectors placed so that every hand-computed value is known.
    #[test]
    fn hand_computed_case() {
        let v = |a: f32, b: f32| {
            let n = (a * a + b * b).sqrt();
            vec![a / n, b / n]
        };
        // Track 0 (coll A): near (1, 0); track 1 (coll A): near (0, 1); track 2 (coll B):
        // one excerpt near track 0, one near (−1, 0).
        let vectors = vec![
            v(1.0, 0.05),
            v(1.0, -0.05),
            v(0.05, 1.0),
            v(-0.05, 1.0),
            v(1.0, 0.2),
            v(-1.0, 0.0),
        ];
        let track = vec![0, 0, 1, 1, 2, 2];
        let coll = classes(&["A", "A", "B"]);
        let m = evaluate(&vectors, &track, &coll);
        // Class A (tracks 0, 1): every excerpt finds its sibling first (hit 1, rr 1).
        // Class B (track 2): excerpt 4 is nearest to excerpts 0, 1, 2, 3 and farthest from
        // its sibling 5 (rr 1/5); excerpt 5 = (−1, 0) ranks 3 (x = −0.05), 2, then its
        // sibling 4 (x = 0.98 beats 0 and 1 at 0.9988) → rr 1/3. Neither hits at 1.
        let hit = m["same_track_hit@1"];
        assert!((hit.mean - 0.5).abs() < 1e-12, "{hit:?}");
        let mrr = m["same_track_mrr"].mean;
        let want = (1.0 + (0.2 + 1.0 / 3.0) / 2.0) / 2.0;
        assert!((mrr - want).abs() < 1e-6, "{mrr} vs {want}");
        // Collection precision@5: an A query has 4 other-track excerpts (2 of track 1 in A,
        // 2 of track 2 in B) → 2/4; a B query has only A excerpts → 0. Macro: 0.25.
        let p = m["same_collection_precision@5"].mean;
        assert!((p - (0.5 + 0.0) / 2.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn chance_is_the_random_expectation() {
        // Three tracks of two excerpts each, one collection: for every query 1 sibling among
        // 5 others → hit@1 = 1/5, MRR = (1/5)(1 + 1/2 + 1/3 + 1/4 + 1/5), precision 1.
        let track = vec![0, 0, 1, 1, 2, 2];
        let coll = classes(&["A", "A", "A"]);
        let c = chance(&track, &coll);
        assert!((c["same_track_hit@1"].mean - 0.2).abs() < 1e-12);
        let h5: f64 = (1..=5).map(|r| 1.0 / r as f64).sum();
        assert!((c["same_track_mrr"].mean - h5 / 5.0).abs() < 1e-12);
        assert!((c["same_collection_precision@5"].mean - 1.0).abs() < 1e-12);
    }
}
