//! The cold-start protocol: how well a model ranks artists that no training user listened to,
//! from their content alone — the situation of every song a visitor brings to the page.
//!
//! Per fold, a seeded share ([`ColdStartConfig::fraction`], 10 %) of the *eligible* artists is
//! withheld. Eligible: at least one of the 50 MSD tags ([`crate::features::musicnn_input::MSD_TAGS`])
//! in the fold's tag profiles (training and validation users' assignments; never a test user's).
//! Then:
//! - every listening pair with a withheld artist is removed from the data the models are fitted
//!   on ([`ColdFold::train_data`]); the withheld artists keep their tag profile, built from
//!   training users' tag assignments as for every artist — a new song has tags, not listeners;
//! - an evaluated user is split into input and targets as in the other protocols
//!   ([`crate::data::splits::split_user`]); the input keeps only warm artists, the targets only
//!   withheld ones, and users with no withheld target are not evaluated (their number is the
//!   `users` entry of the metric table; a fold where none is left is an error);
//! - each evaluated user's withheld targets are ranked among **all withheld artists** (the
//!   candidates), with the metrics of the full protocol ([`crate::metrics`]).
//!
//! Tuning works the same way on the validation users, so every choice is made under this
//! protocol ([`run_cold_fold`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::data::splits::{split_user, Fold, SplitConfig};
use crate::data::{ContentMatrix, Dataset, UserHistory};
use crate::error::{Error, Result};
use crate::metrics::{Accumulator, MetricTable, MAX_K, TUNING_METRIC};
use crate::ranking::{check_scores, top_k, Recommender, UserInput};
use crate::util::rng::{derive_seed, hash_str, Rng};

use super::{ContentFor, FoldFit, FoldResult, TestCase, Trainer, Tuning};

/// The name of the protocol in results.
pub const COLD_START: &str = "cold_start";

/// The models compared under the protocol by default: a floor, the content-free ranking by
/// tag popularity, and content-kNN over all of hetrec's tags and over the 50 MSD tags.
pub const COLD_START_MODELS: [&str; 4] = [
    "random",
    "tag_popularity",
    "content_knn",
    "content_knn_msd50",
];

/// How the withheld artists are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColdStartConfig {
    /// Share of eligible artists withheld per fold.
    pub fraction: f64,
    /// Seed of the draw (with the fold index).
    pub seed: u64,
}

impl Default for ColdStartConfig {
    fn default() -> Self {
        ColdStartConfig {
            fraction: 0.1,
            seed: 20_260_101,
        }
    }
}

/// Artists that have at least one of `tags` (case-insensitive names) in `content`.
pub fn eligible_items(content: &ContentMatrix, tags: &[&str]) -> Vec<usize> {
    let wanted: HashSet<String> = tags.iter().map(|t| t.to_lowercase()).collect();
    let dims: HashSet<u32> = content
        .dim_names
        .iter()
        .enumerate()
        .filter(|(_, n)| wanted.contains(&n.to_lowercase()))
        .map(|(d, _)| d as u32)
        .collect();
    content
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.iter().any(|(d, v)| *v > 0.0 && dims.contains(d)))
        .map(|(i, _)| i)
        .collect()
}

/// One fold under the protocol: the withheld artists, the data to fit on, and the evaluated
/// validation and test users.
#[derive(Debug, Clone)]
pub struct ColdFold {
    /// Withheld artists (catalog indices, sorted): the candidates of every evaluated user.
    pub withheld: Vec<usize>,
    /// The data set without any listening pair of a withheld artist (same catalog, same users).
    pub train_data: Dataset,
    /// Validation users with at least one withheld target.
    pub validation: Vec<TestCase>,
    /// Test users with at least one withheld target.
    pub test: Vec<TestCase>,
}

impl ColdFold {
    /// Draws `cfg.fraction` of `eligible` (at least one when any is eligible) for `fold` and
    /// builds the fold. Errors when nothing is eligible, or when no validation or no test user
    /// has a withheld target.
    pub fn build(
        dataset: &Dataset,
        fold: &Fold,
        split: &SplitConfig,
        eligible: &[usize],
        cfg: &ColdStartConfig,
    ) -> Result<Self> {
        if eligible.is_empty() || !(cfg.fraction > 0.0 && cfg.fraction < 1.0) {
            return Err(Error::invalid(
                "cold-start protocol",
                "eligible artists and a withheld fraction in (0, 1)",
                format!("{} eligible, fraction {}", eligible.len(), cfg.fraction),
            ));
        }
        let n = ((eligible.len() as f64 * cfg.fraction).round() as usize).max(1);
        let seed = derive_seed(cfg.seed, &[hash_str(COLD_START), fold.index as u64]);
        let mut withheld: Vec<usize> = Rng::new(seed)
            .sample_indices(eligible.len(), n)?
            .into_iter()
            .map(|k| eligible[k])
            .collect();
        withheld.sort_unstable();
        let mut is_withheld = vec![false; dataset.catalog.len()];
        for &i in &withheld {
            is_withheld[i] = true;
        }
        let train_data = Dataset {
            catalog: dataset.catalog.clone(),
            users: dataset
                .users
                .iter()
                .map(|u| UserHistory {
                    listens: u
                        .listens
                        .iter()
                        .filter(|l| !is_withheld[l.item])
                        .cloned()
                        .collect(),
                    ..u.clone()
                })
                .collect(),
        };
        let cases = |users: &[usize], which: &str| {
            let c = cold_cases(dataset, users, split, &is_withheld)?;
            if c.is_empty() {
                // Metrics over no users are undefined, and a tuning run on them would choose
                // blindly: too small a data set (or fraction) for the protocol.
                return Err(Error::invalid(
                    format!("cold-start fold {}", fold.index + 1),
                    format!(
                        "{which} users with a target among the {} withheld artists",
                        n
                    ),
                    "none",
                ));
            }
            Ok(c)
        };
        Ok(ColdFold {
            validation: cases(&fold.validation, "validation")?,
            test: cases(&fold.test, "test")?,
            withheld,
            train_data,
        })
    }
}

/// The evaluated cases of `users`: the usual split, input restricted to warm artists, targets to
/// withheld ones; users without a withheld target are left out.
fn cold_cases(
    dataset: &Dataset,
    users: &[usize],
    split: &SplitConfig,
    is_withheld: &[bool],
) -> Result<Vec<TestCase>> {
    let mut out = Vec::new();
    for &u in users {
        let (input, targets) = split_user(&dataset.users[u], split.seed, split.target_fraction)?;
        let targets: Vec<usize> = targets
            .iter()
            .map(|l| l.item)
            .filter(|&i| is_withheld[i])
            .collect();
        if targets.is_empty() {
            continue;
        }
        let warm: Vec<_> = input.into_iter().filter(|l| !is_withheld[l.item]).collect();
        out.push(TestCase {
            user: u,
            input: UserInput::from_listens(&warm),
            targets,
        });
    }
    Ok(out)
}

/// Metrics of `model` ranking each case's targets among `candidates`, plus `users` (how many
/// cases were evaluated).
pub fn evaluate_cold(
    model: &dyn Recommender,
    cases: &[TestCase],
    candidates: &[usize],
) -> Result<MetricTable> {
    let mut acc = Accumulator::new();
    for c in cases {
        let s = model.score_candidates(&c.input, candidates)?;
        check_scores(model.name(), &s, candidates.len())?;
        // Positions in `candidates` are ranked like catalog indices (ties by lower position,
        // and `candidates` is sorted, so by lower catalog index as everywhere else).
        let list = top_k(&s, &[], MAX_K);
        let hits: Vec<bool> = list
            .iter()
            .map(|(p, _)| c.targets.contains(&candidates[*p]))
            .collect();
        acc.add_full(&hits, c.targets.len());
    }
    let mut table = acc.finish();
    table.insert("users".into(), cases.len() as f64);
    Ok(table)
}

/// [`super::run_fold`] under the protocol: tunes `trainer` on (train → validation) with the
/// withheld artists' pairs removed, scoring [`TUNING_METRIC`] under this protocol; refits the
/// chosen configuration on train ∪ validation and evaluates the test users. Content comes from
/// `content_for` exactly as in the other protocols (the withheld artists keep theirs). The
/// result's metrics are under [`COLD_START`], with `withheld`, the number of candidates.
pub fn run_cold_fold(
    trainer: &dyn Trainer,
    fold: &Fold,
    cold: &ColdFold,
    split: &SplitConfig,
    content_for: &ContentFor<'_>,
    tuning: Tuning<'_, '_>,
) -> Result<FoldResult> {
    let seed = derive_seed(
        split.seed,
        &[
            hash_str(trainer.name()),
            hash_str(COLD_START),
            fold.index as u64,
        ],
    );
    let fit = FoldFit {
        trainer,
        dataset: &cold.train_data,
        fold,
        seed,
        content_for,
    };
    let score = |m: &dyn Recommender| -> Result<f64> {
        let t = evaluate_cold(m, &cold.validation, &cold.withheld)?;
        Ok(t[TUNING_METRIC])
    };
    let (chosen, trials, model) = fit.tune_and_refit(&score, tuning)?;
    let mut table = evaluate_cold(model.as_ref(), &cold.test, &cold.withheld)?;
    table.insert("withheld".into(), cold.withheld.len() as f64);
    let mut metrics = std::collections::BTreeMap::new();
    metrics.insert(COLD_START.to_owned(), table);
    Ok(FoldResult {
        chosen,
        trials,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::splits::{assign_folds, filter_users, make_folds};
    use crate::data::DatasetBuilder;
    use crate::ranking::tests::Fixed;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// 12 users over items i0..i19, each listening to 8 of them.
    fn data() -> Dataset {
        let mut b = DatasetBuilder::new();
        for u in 0..12 {
            for k in 0..8 {
                b.add(
                    &format!("u{u}"),
                    &format!("i{}", (u + 3 * k) % 20),
                    1 + k as u32,
                    None,
                );
            }
        }
        b.build()
    }

    fn content(n: usize) -> ContentMatrix {
        // Items with an even index carry "Jazz" (an MSD tag, other case), odd ones only "zz".
        ContentMatrix {
            dims: 2,
            dim_names: vec!["jazz".into(), "zz".into()],
            rows: (0..n)
                .map(|i| {
                    if i % 2 == 0 {
                        vec![(0, 2.0)]
                    } else {
                        vec![(1, 1.0)]
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn eligible_items_have_one_of_the_tags_in_any_case() {
        let c = content(6);
        assert_eq!(eligible_items(&c, &["Jazz"]), vec![0, 2, 4]);
        assert!(eligible_items(&c, &["rock"]).is_empty());
    }

    #[test]
    fn withheld_artists_leave_training_and_are_the_only_targets_and_candidates() {
        let d = data();
        let split = SplitConfig {
            folds: 3,
            min_items: 1,
            seed: 5,
            target_fraction: 0.5,
        };
        let folds = make_folds(&assign_folds(&d, &filter_users(&d, 1), 3, 5).unwrap());
        let eligible = eligible_items(&content(d.catalog.len()), &["jazz"]);
        let cfg = ColdStartConfig {
            fraction: 0.5,
            seed: 1,
        };
        let cold = ColdFold::build(&d, &folds[0], &split, &eligible, &cfg).unwrap();
        assert_eq!(cold.withheld.len(), 5, "50 % of 10 eligible");
        assert!(cold.withheld.iter().all(|i| eligible.contains(i)));
        assert!(cold.withheld.windows(2).all(|w| w[0] < w[1]));
        let again = ColdFold::build(&d, &folds[0], &split, &eligible, &cfg).unwrap();
        assert_eq!(again.withheld, cold.withheld, "seeded");
        let other = ColdFold::build(&d, &folds[1], &split, &eligible, &cfg).unwrap();
        assert_ne!(other.withheld, cold.withheld, "drawn per fold");
        // No training pair with a withheld artist; every other pair kept.
        for (u, h) in cold.train_data.users.iter().enumerate() {
            assert!(h.listens.iter().all(|l| !cold.withheld.contains(&l.item)));
            let kept = d.users[u]
                .listens
                .iter()
                .filter(|l| !cold.withheld.contains(&l.item))
                .count();
            assert_eq!(h.listens.len(), kept);
        }
        for c in cold.validation.iter().chain(&cold.test) {
            assert!(!c.targets.is_empty());
            assert!(c.targets.iter().all(|t| cold.withheld.contains(t)));
            assert!(c
                .input
                .items
                .iter()
                .all(|i| !cold.withheld.contains(&i.item)));
        }
        assert!(cold.test.iter().all(|c| folds[0].test.contains(&c.user)));
        // A model that knows the answers ranks them first among the candidates.
        let mut oracle = vec![0f32; d.catalog.len()];
        let case = &cold.test[0];
        for &t in &case.targets {
            oracle[t] = 1.0;
        }
        let t = evaluate_cold(&Fixed(oracle), &cold.test[..1], &cold.withheld).unwrap();
        assert_eq!(t["hit@1"], 1.0);
        assert_eq!(t["users"], 1.0);
        let k = case.targets.len();
        assert_eq!(t[&format!("recall@{k}")], 1.0);
    }

    #[test]
    fn nothing_eligible_is_an_error() {
        let d = data();
        let split = SplitConfig::default();
        let folds = make_folds(&assign_folds(&d, &filter_users(&d, 1), 3, 5).unwrap());
        let e =
            ColdFold::build(&d, &folds[0], &split, &[], &ColdStartConfig::default()).unwrap_err();
        assert!(e.to_string().contains("eligible"), "{e}");
    }
}
