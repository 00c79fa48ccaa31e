//! Ranking metrics, shared by the evaluation and by model training (early stopping, the
//! fine-tuning check), so both mean the same thing by "ndcg@10".
//!
//! # Metrics (k = 1…[`MAX_K`])
//! # Metrics (k = 1…[`MAX_K`])
//! For a user with target set T and a ranked list L (top k):
//! - `precision@k` = |L∩T| / k; `recall@k` = |L∩T| / |T|; `hit@k` = 1 if |L∩T| > 0;
//! - `ndcg@k` with **binary relevance, standard form**: DCG = Σ_{i<k} rel_i / log2(i + 2),
//!   divided by the ideal DCG of min(k, |T|) relevant items. (The paper's eq. 6 mixes rel_i and
//!   2^rel_i − 1 gains; with binary relevance both give this.)
//! - `accuracy@k` = the paper's eq. 5: Σ_users |L∩T| / Σ_users |T|, **micro**-averaged over all
//!   users of a fold (recall-like; reported under the paper's name).
//!
//! Every metric except accuracy is averaged over users (each user weighs the same), then over
//! folds: results are mean ± sample standard deviation (n − 1) of the per-fold values.

use std::collections::BTreeMap;
use std::collections::HashMap;

pub use crate::util::stats::MeanStd;

/// Largest cut-off evaluated.
pub const MAX_K: usize = 20;
/// Metric names, in report order.
pub const METRICS: [&str; 5] = ["precision", "recall", "accuracy", "ndcg", "hit"];
/// The validation metric every model is tuned on (full protocol).
pub const TUNING_METRIC: &str = "ndcg@10";
/// `metric@k`, the key used in tables and `results.json`.
pub fn metric_key(metric: &str, k: usize) -> String {
    format!("{metric}@{k}")
}

/// Metric name → value for one protocol on one fold.
pub type MetricTable = BTreeMap<String, f64>;

fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 2) as f64).log2()
}

/// Sums of per-user metrics over a set of users, finished into a [`MetricTable`].
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    users: usize,
    precision: [f64; MAX_K],
    recall: [f64; MAX_K],
    ndcg: [f64; MAX_K],
    hit: [f64; MAX_K],
    hits_total: [f64; MAX_K],
    targets_total: f64,
}

impl Accumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one user under the full protocol. `ranked_hits[i]` says whether the item at rank `i`
    /// of the user's list is a target (only the first [`MAX_K`] entries are read; a shorter list
    /// counts the missing ranks as misses). Users without targets are skipped.
    pub fn add_full(&mut self, ranked_hits: &[bool], n_targets: usize) {
        if n_targets == 0 {
            return;
        }
        self.users += 1;
        self.targets_total += n_targets as f64;
        let (mut hits, mut dcg, mut idcg) = (0usize, 0.0, 0.0);
        for k in 1..=MAX_K {
            let i = k - 1;
            if ranked_hits.get(i).copied().unwrap_or(false) {
                hits += 1;
                dcg += discount(i);
            }
            if i < n_targets {
                idcg += discount(i);
            }
            self.precision[i] += hits as f64 / k as f64;
            self.recall[i] += hits as f64 / n_targets as f64;
            self.ndcg[i] += dcg / idcg;
            self.hit[i] += f64::from(u8::from(hits > 0));
            self.hits_total[i] += hits as f64;
        }
    }

    /// Adds one user under the sampled protocol: `ranks[t]` is target t's 0-based rank among
    /// itself and its negatives. Users without targets are skipped.
    pub fn add_sampled(&mut self, ranks: &[usize]) {
        if ranks.is_empty() {
            return;
        }
        self.users += 1;
        let n = ranks.len() as f64;
        self.targets_total += n;
        for k in 1..=MAX_K {
            let i = k - 1;
            let (mut hits, mut dcg) = (0.0, 0.0);
            for &r in ranks {
                if r < k {
                    hits += 1.0;
                    dcg += discount(r);
                }
            }
            self.precision[i] += hits / n / k as f64;
            self.recall[i] += hits / n;
            self.ndcg[i] += dcg / n;
            self.hit[i] += hits / n;
            self.hits_total[i] += hits;
        }
    }

    /// Number of users added.
    pub fn users(&self) -> usize {
        self.users
    }

    /// User-averaged metrics (accuracy micro-averaged) for every k; all zero without users.
    pub fn finish(&self) -> MetricTable {
        let u = self.users.max(1) as f64;
        let mut t = MetricTable::new();
        for k in 1..=MAX_K {
            let i = k - 1;
            t.insert(metric_key("precision", k), self.precision[i] / u);
            t.insert(metric_key("recall", k), self.recall[i] / u);
            t.insert(metric_key("ndcg", k), self.ndcg[i] / u);
            t.insert(metric_key("hit", k), self.hit[i] / u);
            let acc = if self.targets_total > 0.0 {
                self.hits_total[i] / self.targets_total
            } else {
                0.0
            };
            t.insert(metric_key("accuracy", k), acc);
        }
        t
    }
}

/// Mean ± sample std of each metric over per-fold tables (metrics missing from a table are
/// averaged over the tables that have them).
pub fn aggregate(tables: &[MetricTable]) -> BTreeMap<String, MeanStd> {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for t in tables {
        for (k, v) in t {
            values.entry(k.clone()).or_default().push(*v);
        }
    }
    values
        .into_iter()
        .map(|(k, v)| (k, MeanStd::of(&v)))
        .collect()
}

/// Mean over `targets` of 1 / (1-based rank of the target among `candidates` by `scores`,
/// ties broken by candidate order).
pub fn mean_reciprocal_rank(candidates: &[usize], scores: &[f32], targets: &[usize]) -> f64 {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let rank: HashMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(r, &j)| (candidates[j], r + 1))
        .collect();
    let found: Vec<f64> = targets
        .iter()
        .filter_map(|t| rank.get(t).map(|&r| 1.0 / r as f64))
        .collect();
    if found.is_empty() {
        0.0
    } else {
        found.iter().sum::<f64>() / targets.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn full_metrics_by_hand() {
        // Targets {A, B, C}; list hits at ranks 0 and 2 (1-based 1 and 3).
        let mut acc = Accumulator::new();
        acc.add_full(&[true, false, true, false, false], 3);
        let t = acc.finish();
        assert!(close(t["precision@1"], 1.0));
        assert!(close(t["precision@2"], 0.5));
        assert!(close(t["precision@3"], 2.0 / 3.0));
        assert!(close(t["precision@10"], 0.2));
        assert!(close(t["recall@1"], 1.0 / 3.0));
        assert!(close(t["recall@3"], 2.0 / 3.0));
        assert!(close(t["recall@20"], 2.0 / 3.0));
        assert!(close(t["hit@1"], 1.0));
        // DCG@3 = 1 + 1/log2(4) = 1.5; IDCG@3 = 1 + 1/log2(3) + 1/2.
        let idcg3 = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!(close(t["ndcg@3"], 1.5 / idcg3));
        assert!(close(t["ndcg@1"], 1.0));
        // Past |T| the ideal DCG stops growing.
        assert!(close(t["ndcg@10"], 1.5 / idcg3));
        assert!(close(t["accuracy@3"], 2.0 / 3.0));
    }

    #[test]
    fn accuracy_is_micro_and_others_are_user_means() {
        let mut acc = Accumulator::new();
        acc.add_full(&[true], 1); // 1 of 1
        acc.add_full(&[false, false, false, false, false], 4); // 0 of 4 in top 5
        acc.add_full(&[], 0); // skipped: no targets
        let t = acc.finish();
        assert_eq!(acc.users(), 2);
        assert!(close(t["recall@5"], 0.5), "macro: (1 + 0) / 2");
        assert!(close(t["accuracy@5"], 0.2), "micro: 1 / (1 + 4)");
        assert!(close(t["hit@5"], 0.5));
        assert!(close(t["precision@5"], 0.1));
    }

    #[test]
    fn sampled_metrics_by_hand() {
        let mut acc = Accumulator::new();
        acc.add_sampled(&[0, 4, 50]);
        let t = acc.finish();
        assert!(close(t["hit@1"], 1.0 / 3.0));
        assert!(close(t["hit@5"], 2.0 / 3.0));
        assert!(close(t["hit@20"], 2.0 / 3.0));
        assert!(close(t["recall@5"], 2.0 / 3.0));
        assert!(close(t["precision@5"], 2.0 / 15.0));
        assert!(close(t["ndcg@5"], (1.0 + 1.0 / 6f64.log2()) / 3.0));
        assert!(close(t["accuracy@5"], 2.0 / 3.0));
    }

    #[test]
    fn aggregate_uses_sample_std() {
        let mk = |v| MetricTable::from([("x@1".to_owned(), v)]);
        let a = aggregate(&[mk(1.0), mk(3.0)]);
        assert!(close(a["x@1"].mean, 2.0));
        assert!(close(a["x@1"].std, 2f64.sqrt()));
        assert_eq!(aggregate(&[mk(5.0)])["x@1"].std, 0.0);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every metric is in [0, 1]; recall and hit never decrease with k; precision@k · k is
        /// the hit count, which never exceeds |targets|.
        #[test]
        fn full_metrics_are_bounded_and_monotone(
            hits in prop::collection::vec(any::<bool>(), 0..25),
            extra_targets in 0usize..10,
        ) {
            let n_targets = hits.iter().take(MAX_K).filter(|h| **h).count() + extra_targets;
            prop_assume!(n_targets > 0);
            let mut acc = Accumulator::new();
            acc.add_full(&hits, n_targets);
            let t = acc.finish();
            for v in t.values() {
                prop_assert!((0.0..=1.0 + 1e-12).contains(v));
            }
            for k in 2..=MAX_K {
                prop_assert!(t[&metric_key("recall", k)] >= t[&metric_key("recall", k - 1)]);
                prop_assert!(t[&metric_key("hit", k)] >= t[&metric_key("hit", k - 1)]);
                let h = t[&metric_key("precision", k)] * k as f64;
                prop_assert!(h <= n_targets as f64 + 1e-9);
            }
        }

        /// Sampled ranks give hit@k = share of ranks below k.
        #[test]
        fn sampled_hit_is_the_share_of_small_ranks(ranks in prop::collection::vec(0usize..101, 1..15)) {
            let mut acc = Accumulator::new();
            acc.add_sampled(&ranks);
            let t = acc.finish();
            for k in 1..=MAX_K {
                let share = ranks.iter().filter(|r| **r < k).count() as f64 / ranks.len() as f64;
                prop_assert!((t[&metric_key("hit", k)] - share).abs() < 1e-12);
            }
        }
    }
}
