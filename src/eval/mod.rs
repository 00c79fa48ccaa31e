//! Evaluation protocols (DESIGN §5) and tuning on the validation fold; the metrics they
//! report are [`crate::metrics`].
//!
//! # Protocols
//! - `full` (the headline): rank the **whole catalog minus the user's input history**; targets
//!   are the held-out part.
//! - `sampled100`: each target is ranked against 100 negatives drawn uniformly from items outside
//!   the user's **whole** history (input and targets), with a fixed seed derived from the user id
//!   and target, drawn once per fold ([`FoldProtocol`]) and shared by every model. Each target is
//!   its own one-relevant list: hit@k = 1 if rank < k, ndcg@k = hit@k / log2(rank + 2),
//!   precision@k = hit@k / k, recall@k = hit@k; per user these are averaged over the user's
//!   targets. Ranks use the same tie rule as recommendations ([`crate::ranking::ranks_before`]).

pub mod audio_proxy;
pub mod baselines;
pub mod cold_start;
pub mod neural;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::splits::{split_user, Fold, SplitConfig};
use crate::data::{ContentMatrix, Dataset};
use crate::error::{Error, Result};
use crate::metrics::{Accumulator, MetricTable, MAX_K, TUNING_METRIC};
use crate::ranking::{check_scores, ranks_before, top_k, Recommender, UserInput};
use crate::util::rng::{derive_seed, hash_str, Rng};

/// Protocol names, in report order.
pub const PROTOCOLS: [&str; 2] = ["full", "sampled100"];
/// Negatives per target in the sampled protocol.
pub const DEFAULT_NEGATIVES: usize = 100;
/// Default seed for sampled negatives.
pub const DEFAULT_NEGATIVE_SEED: u64 = 100_100;
/// The most configurations any model may try on the validation fold (the shared budget).
pub const TUNING_BUDGET: usize = 16;

/// One evaluated user: the input a model sees and the targets it should find.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// Dataset index of the user.
    pub user: usize,
    /// The input part of the history.
    pub input: UserInput,
    /// Catalog indices of the held-out targets.
    pub targets: Vec<usize>,
}

/// Splits each of `users` into input and targets ([`split_user`]).
pub fn build_cases(
    dataset: &Dataset,
    users: &[usize],
    split: &SplitConfig,
) -> Result<Vec<TestCase>> {
    users
        .iter()
        .map(|&u| {
            let (input, targets) =
                split_user(&dataset.users[u], split.seed, split.target_fraction)?;
            Ok(TestCase {
                user: u,
                input: UserInput::from_listens(&input),
                targets: targets.iter().map(|l| l.item).collect(),
            })
        })
        .collect()
}

/// The test users of one fold with their sampled negatives, built once and shared by every model.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldProtocol {
    /// The evaluated users.
    pub cases: Vec<TestCase>,
    /// `negatives[c][t]`: the negatives of target `t` of case `c`, drawn from outside the user's
    /// whole history.
    pub negatives: Vec<Vec<Vec<usize>>>,
}

impl FoldProtocol {
    /// Builds the cases of `users` and draws `n_negatives` negatives per target. The draw for a
    /// target depends only on `negative_seed`, the user id and the target's position, never on
    /// the model or fold order.
    pub fn build(
        dataset: &Dataset,
        users: &[usize],
        split: &SplitConfig,
        n_negatives: usize,
        negative_seed: u64,
    ) -> Result<Self> {
        let cases = build_cases(dataset, users, split)?;
        let n_items = dataset.catalog.len();
        let negatives = cases
            .iter()
            .map(|c| {
                let whole = dataset.users[c.user].items();
                let uid = hash_str(&dataset.users[c.user].user);
                (0..c.targets.len())
                    .map(|t| {
                        let seed =
                            derive_seed(negative_seed, &[hash_str("negatives"), uid, t as u64]);
                        Rng::new(seed).sample_excluding(n_items, n_negatives, &whole)
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FoldProtocol { cases, negatives })
    }
}

/// Full-ranking metrics of `model` over `cases`.
pub fn evaluate_full(model: &dyn Recommender, cases: &[TestCase]) -> Result<MetricTable> {
    let mut acc = Accumulator::new();
    for c in cases {
        let scores = model.score(&c.input)?;
        check_scores(model.name(), &scores, model.n_items())?;
        let list = top_k(&scores, &c.input.item_indices(), MAX_K);
        let hits: Vec<bool> = list.iter().map(|(i, _)| c.targets.contains(i)).collect();
        acc.add_full(&hits, c.targets.len());
    }
    Ok(acc.finish())
}

/// Sampled-protocol metrics of `model` over the cases of `protocol`. Each user is scored once on
/// the union of their targets and negatives ([`Recommender::score_candidates`]).
pub fn evaluate_sampled(model: &dyn Recommender, protocol: &FoldProtocol) -> Result<MetricTable> {
    let mut acc = Accumulator::new();
    for (c, negs) in protocol.cases.iter().zip(&protocol.negatives) {
        let mut cands: Vec<usize> = c.targets.clone();
        for n in negs {
            cands.extend_from_slice(n);
        }
        cands.sort_unstable();
        cands.dedup();
        let s = model.score_candidates(&c.input, &cands)?;
        if s.len() != cands.len() || s.iter().any(|x| x.is_nan()) {
            return Err(Error::Model(format!(
                "{} returned invalid candidate scores",
                model.name()
            )));
        }
        let score_of = |i: usize| s[cands.binary_search(&i).unwrap_or_default()];
        let ranks: Vec<usize> = c
            .targets
            .iter()
            .zip(negs)
            .map(|(&t, ns)| {
                let st = (t, score_of(t));
                ns.iter()
                    .filter(|&&n| ranks_before((n, score_of(n)), st))
                    .count()
            })
            .collect();
        acc.add_sampled(&ranks);
    }
    Ok(acc.finish())
}

/// Both protocols: `{"full": …, "sampled100": …}`.
pub fn evaluate(
    model: &dyn Recommender,
    protocol: &FoldProtocol,
) -> Result<BTreeMap<String, MetricTable>> {
    let mut out = BTreeMap::new();
    out.insert(
        PROTOCOLS[0].to_owned(),
        evaluate_full(model, &protocol.cases)?,
    );
    out.insert(PROTOCOLS[1].to_owned(), evaluate_sampled(model, protocol)?);
    Ok(out)
}

/// What a model is fitted on.
#[derive(Debug, Clone, Copy)]
pub struct FitContext<'a> {
    /// The whole data set (only `train_users`' histories may be used).
    pub dataset: &'a Dataset,
    /// Dataset indices of the users to fit on.
    pub train_users: &'a [usize],
    /// Item content built from the same training users (tag profiles) or user-independent
    /// (audio descriptors); `None` when the data set has none.
    pub content: Option<&'a ContentMatrix>,
    /// Seed for any randomness in fitting.
    pub seed: u64,
}

/// Something that turns training data and a configuration into a [`Recommender`]. Baselines
/// implement it now; neural models implement it later and get the same tuning and evaluation.
pub trait Trainer {
    /// Model name, as in results.
    fn name(&self) -> &str;

    /// The configurations tried on the validation fold, in order (at most [`TUNING_BUDGET`]).
    /// On a tie in the tuning metric the earlier configuration wins.
    fn grid(&self) -> Vec<Value>;

    /// Fits one configuration.
    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>>;

    /// Mean wall-clock seconds per training epoch over the fits since the last call (models
    /// trained in epochs only; the harness asks once per fold).
    fn seconds_per_epoch(&self) -> Option<f64> {
        None
    }

    /// A control tuned by another model: `Some(leader)` makes the harness fit on each fold only
    /// the configuration that the model named `leader` chose on that fold (the order-shuffled
    /// AINRNN takes AINRNN's, so that the two differ in the order of the history alone).
    fn follows(&self) -> Option<&str> {
        None
    }
}

/// `inner` with its grid replaced by `grid` (a follower's one configuration, see
/// [`Trainer::follows`]).
pub struct Restricted<'a> {
    /// The trainer that fits.
    pub inner: &'a dyn Trainer,
    /// The configurations to try.
    pub grid: Vec<Value>,
}

impl Trainer for Restricted<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn grid(&self) -> Vec<Value> {
        self.grid.clone()
    }

    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        self.inner.fit(ctx, config)
    }

    fn seconds_per_epoch(&self) -> Option<f64> {
        self.inner.seconds_per_epoch()
    }
}

/// One configuration tried while tuning, with its validation score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The configuration.
    pub config: Value,
    /// [`TUNING_METRIC`] on the validation users.
    pub score: f64,
}

/// Called after each tuning trial with (trials done, grid size, the trial): a grid of 16 fits
/// takes up to half an hour on one core, so the caller can say how far it is (and save it).
pub type OnTrial<'a> = dyn FnMut(usize, usize, &Trial) + 'a;

/// How a fold's tuning reports and resumes: the trials an interrupted run finished (the grid's
/// first ones; reused, not refitted) and the callback that hears each new one.
pub struct Tuning<'a, 'f> {
    /// Finished trials, in grid order.
    pub done: &'a [Trial],
    /// Hears each new trial.
    pub on_trial: &'a mut OnTrial<'f>,
}

/// How a tuning trial is scored: [`TUNING_METRIC`] of a fitted model on the validation users,
/// under the protocol being tuned for.
pub type ValidationScore<'a> = dyn Fn(&dyn Recommender) -> Result<f64> + 'a;

/// Fits every grid configuration on `ctx` and scores it with `score` (for the full protocol,
/// [`full_validation`]). Returns the best configuration and all trials. `done` holds trials
/// already finished by an interrupted run (the grid's first ones, same configurations): they
/// are taken as they are, not refitted, and `on_trial` hears only the new ones.
pub fn tune(
    trainer: &dyn Trainer,
    ctx: &FitContext<'_>,
    score: &ValidationScore<'_>,
    done: &[Trial],
    on_trial: &mut OnTrial<'_>,
) -> Result<(Value, Vec<Trial>)> {
    let grid = trainer.grid();
    if grid.is_empty() || grid.len() > TUNING_BUDGET {
        return Err(Error::invalid(
            format!("tuning grid of {}", trainer.name()),
            format!("1 to {TUNING_BUDGET} configurations"),
            grid.len(),
        ));
    }
    let n = grid.len();
    let mut trials = Vec::with_capacity(n);
    let mut best: Option<(f64, Value)> = None;
    for (k, config) in grid.into_iter().enumerate() {
        let reused = done.get(k).filter(|t| t.config == config).map(|t| t.score);
        let score = match reused {
            Some(s) => s,
            None => score(trainer.fit(ctx, &config)?.as_ref())?,
        };
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, config.clone()));
        }
        trials.push(Trial { config, score });
        if reused.is_none() {
            on_trial(trials.len(), n, &trials[trials.len() - 1]);
        }
    }
    let (_, best) = best.ok_or_else(|| Error::Model("empty tuning grid".into()))?;
    Ok((best, trials))
}

/// [`TUNING_METRIC`] of the full protocol on `validation`.
pub fn full_validation(validation: &[TestCase]) -> impl Fn(&dyn Recommender) -> Result<f64> + '_ {
    move |m| Ok(evaluate_full(m, validation)?[TUNING_METRIC])
}

/// The outcome of one model on one fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    /// The configuration chosen on the validation users.
    pub chosen: Value,
    /// Every configuration tried and its validation score.
    pub trials: Vec<Trial>,
    /// `metrics[protocol][metric]` on the test users.
    pub metrics: BTreeMap<String, MetricTable>,
}

/// Builds item content for a set of training users (see [`run_fold`]).
pub type ContentFor<'a> = dyn Fn(&[usize]) -> Result<Option<Arc<ContentMatrix>>> + 'a;

/// Tunes `trainer` on (fold.train → fold.validation), refits the chosen configuration on
/// train ∪ validation, and evaluates it on the fold's test protocol.
///
/// `content_for(users)` must build item content from those users only (tag profiles) or return
/// user-independent content (audio); it is called once for each training set, and may cache
/// (every model of a fold asks for the same two training sets). `tuning` resumes an
/// interrupted tuning and hears each new trial.
pub fn run_fold(
    trainer: &dyn Trainer,
    dataset: &Dataset,
    fold: &Fold,
    split: &SplitConfig,
    test: &FoldProtocol,
    content_for: &ContentFor<'_>,
    tuning: Tuning<'_, '_>,
) -> Result<FoldResult> {
    let validation = build_cases(dataset, &fold.validation, split)?;
    let seed = derive_seed(split.seed, &[hash_str(trainer.name()), fold.index as u64]);
    let fit = FoldFit {
        trainer,
        dataset,
        fold,
        seed,
        content_for,
    };
    let (chosen, trials, model) = fit.tune_and_refit(&full_validation(&validation), tuning)?;
    let metrics = evaluate(model.as_ref(), test)?;
    Ok(FoldResult {
        chosen,
        trials,
        metrics,
    })
}

/// What one model's tuning and refit on a fold use, whatever the protocol.
pub(crate) struct FoldFit<'a> {
    pub(crate) trainer: &'a dyn Trainer,
    /// The data the models are fitted on (only the fold's training users are read).
    pub(crate) dataset: &'a Dataset,
    pub(crate) fold: &'a Fold,
    pub(crate) seed: u64,
    pub(crate) content_for: &'a ContentFor<'a>,
}

impl FoldFit<'_> {
    /// Tunes on the training folds (scored by `score` on the validation users), then refits
    /// the chosen configuration on train ∪ validation. Returns the choice, the trials and the
    /// refitted model.
    pub(crate) fn tune_and_refit(
        &self,
        score: &ValidationScore<'_>,
        tuning: Tuning<'_, '_>,
    ) -> Result<(Value, Vec<Trial>, Box<dyn Recommender>)> {
        let fit_on = |users: &[usize], f: &mut dyn FnMut(&FitContext<'_>) -> Result<()>| {
            let content = (self.content_for)(users)?;
            f(&FitContext {
                dataset: self.dataset,
                train_users: users,
                content: content.as_deref(),
                seed: self.seed,
            })
        };
        // A single configuration has nothing to choose: skip the tuning fit (the neural
        // models, whose fits cost minutes, use this; they early-stop on held-out training users
        // instead).
        let grid = self.trainer.grid();
        let (chosen, trials) = match grid.as_slice() {
            [only] => (only.clone(), Vec::new()),
            _ => {
                let mut out = None;
                fit_on(&self.fold.train, &mut |ctx| {
                    out = Some(tune(
                        self.trainer,
                        ctx,
                        score,
                        tuning.done,
                        tuning.on_trial,
                    )?);
                    Ok(())
                })?;
                out.ok_or_else(|| Error::Model("tuning produced nothing".into()))?
            }
        };
        let mut model = None;
        fit_on(&self.fold.train_and_validation(), &mut |ctx| {
            model = Some(self.trainer.fit(ctx, &chosen)?);
            Ok(())
        })?;
        let model = model.ok_or_else(|| Error::Model("refit produced nothing".into()))?;
        Ok((chosen, trials, model))
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::*;
    use crate::data::splits::{assign_folds, filter_users, make_folds};
    use crate::data::{DatasetBuilder, Listen};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    use crate::metrics::METRICS;
    use crate::ranking::tests::Fixed;

    #[test]
    fn full_protocol_excludes_input_and_ranks_the_rest() {
        // Items 0..6; the model prefers low indices. Input {0, 1}; targets {2, 5}.
        let model = Fixed(vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        let input = UserInput::from_listens(&[
            Listen {
                item: 0,
                plays: 1,
                time: None,
            },
            Listen {
                item: 1,
                plays: 1,
                time: None,
            },
        ]);
        let cases = [TestCase {
            user: 0,
            input,
            targets: vec![2, 5],
        }];
        let t = evaluate_full(&model, &cases).unwrap();
        // Ranking without the input: 2, 3, 4, 5 → hits at ranks 0 and 3.
        assert!(
            close(t["precision@1"], 1.0),
            "item 0 and 1 must not occupy the top"
        );
        assert!(close(t["recall@3"], 0.5));
        assert!(close(t["recall@4"], 1.0));
        assert!(close(t["precision@20"], 2.0 / 20.0));
    }

    #[test]
    fn sampled_protocol_ranks_targets_against_their_negatives() {
        let model = Fixed(vec![0.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        let input = UserInput::from_listens(&[Listen {
            item: 0,
            plays: 1,
            time: None,
        }]);
        let protocol = FoldProtocol {
            cases: vec![TestCase {
                user: 0,
                input,
                targets: vec![4, 1],
            }],
            // Target 4 vs {5 (tie, higher index → after), 3}: rank 0. Target 1 vs {2, 3}: rank 2.
            negatives: vec![vec![vec![5, 3], vec![2, 3]]],
        };
        let t = evaluate_sampled(&model, &protocol).unwrap();
        assert!(close(t["hit@1"], 0.5));
        assert!(close(t["hit@2"], 0.5));
        assert!(close(t["hit@3"], 1.0));
        assert!(close(t["ndcg@3"], (1.0 + 0.5) / 2.0));
    }

    /// Every user has the 6 shared items `p0..p5` and 6 items of their own.
    fn toy_dataset(n_users: usize) -> Dataset {
        let mut b = DatasetBuilder::new();
        for u in 0..n_users {
            for i in 0..6 {
                b.add(&format!("u{u}"), &format!("p{i}"), 1, None);
                b.add(&format!("u{u}"), &format!("own{u}-{i}"), 1, None);
            }
        }
        b.build()
    }

    #[test]
    fn negatives_are_outside_the_whole_history_and_reproducible() {
        let d = toy_dataset(20);
        let split = SplitConfig {
            min_items: 1,
            folds: 5,
            seed: 3,
            target_fraction: 0.25,
        };
        let users: Vec<usize> = (0..20).collect();
        let p = FoldProtocol::build(&d, &users, &split, 100, 9).unwrap();
        for (c, negs) in p.cases.iter().zip(&p.negatives) {
            assert_eq!(negs.len(), c.targets.len());
            let whole = d.users[c.user].items();
            for n in negs {
                assert_eq!(n.len(), 100);
                assert!(n.iter().all(|i| !whole.contains(i)));
            }
        }
        // The same user gets the same negatives whatever else is in the fold.
        let q = FoldProtocol::build(&d, &users[5..7], &split, 100, 9).unwrap();
        assert_eq!(q.negatives[0], p.negatives[5]);
        assert_eq!(q.cases[1], p.cases[6]);
        assert_ne!(
            FoldProtocol::build(&d, &users, &split, 100, 10)
                .unwrap()
                .negatives,
            p.negatives
        );
    }

    /// A trainer whose grid is two constant models: a good one (scores by popularity) and one
    /// that prefers unpopular items.
    struct Toy;
    struct Pop(Vec<f32>);
    impl Recommender for Pop {
        fn name(&self) -> &str {
            "toy"
        }
        fn n_items(&self) -> usize {
            self.0.len()
        }
        fn score(&self, _: &UserInput) -> Result<Vec<f32>> {
            Ok(self.0.clone())
        }
    }
    impl Trainer for Toy {
        fn name(&self) -> &str {
            "toy"
        }
        fn grid(&self) -> Vec<Value> {
            vec![
                serde_json::json!({"sign": -1.0}),
                serde_json::json!({"sign": 1.0}),
            ]
        }
        fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
            let sign = config["sign"].as_f64().unwrap() as f32;
            let counts = ctx.dataset.item_user_counts(ctx.train_users);
            Ok(Box::new(Pop(counts
                .iter()
                .map(|&c| sign * c as f32)
                .collect())))
        }
    }

    #[test]
    fn run_fold_tunes_on_validation_and_reports_both_protocols() {
        let d = toy_dataset(30);
        let split = SplitConfig {
            min_items: 1,
            folds: 5,
            seed: 3,
            target_fraction: 0.25,
        };
        let folds = make_folds(&assign_folds(&d, &filter_users(&d, 1), 5, 3).unwrap());
        let test = FoldProtocol::build(&d, &folds[0].test, &split, 50, 1).unwrap();
        // Record which users item content is built from: never a test user, and the
        // validation users only for the final refit.
        let asked: std::cell::RefCell<Vec<Vec<usize>>> = Default::default();
        let content_for = |users: &[usize]| -> Result<Option<Arc<ContentMatrix>>> {
            asked.borrow_mut().push(users.to_vec());
            Ok(None)
        };
        let mut heard = Vec::new();
        let mut on_trial = |k: usize, n: usize, t: &Trial| heard.push((k, n, t.score));
        let r = run_fold(
            &Toy,
            &d,
            &folds[0],
            &split,
            &test,
            &content_for,
            Tuning {
                done: &[],
                on_trial: &mut on_trial,
            },
        )
        .unwrap();
        let asked = asked.into_inner();
        assert_eq!(
            asked,
            vec![folds[0].train.clone(), folds[0].train_and_validation()]
        );
        assert!(asked.iter().flatten().all(|u| !folds[0].test.contains(u)));
        assert!(asked[0].iter().all(|u| !folds[0].validation.contains(u)));
        assert_eq!(r.trials.len(), 2);
        assert_eq!(r.chosen, serde_json::json!({"sign": 1.0}));
        assert!(r.trials[1].score >= r.trials[0].score);
        let want: Vec<(usize, usize, f64)> = r
            .trials
            .iter()
            .enumerate()
            .map(|(i, t)| (i + 1, 2, t.score))
            .collect();
        assert_eq!(heard, want, "one report per trial, in order");
        assert_eq!(r.metrics.len(), 2);
        assert_eq!(r.metrics["full"].len(), METRICS.len() * MAX_K);
    }
}
