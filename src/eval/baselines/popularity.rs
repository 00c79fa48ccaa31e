//! Popularity: the number of training users who listened to an item, or their total plays.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::data::Dataset;
use crate::error::Result;
use crate::eval::{FitContext, Trainer};
use crate::ranking::{Recommender, UserInput};

use super::config_field;

/// Scores in [-1, 0) that order items by popularity, for items without neighbour evidence.
pub(super) fn popularity_fallback(counts: &[u32]) -> Vec<f32> {
    let max = counts.iter().copied().max().unwrap_or(0) as f32;
    counts
        .iter()
        .map(|&c| -1.0 + c as f32 / (max + 1.0))
        .collect()
}

/// Final scores of a factor model (EASE, iALS): items no training user listened to (score 0 by
/// construction, no evidence) rank after every other item; an input with no catalog item gets
/// the popularity order, as the kNN models do.
pub(super) fn factor_scores(
    mut scores: Vec<f32>,
    known: &[bool],
    fallback: &[f32],
    has_input: bool,
) -> Vec<f32> {
    if !has_input {
        return fallback.to_vec();
    }
    let min = scores
        .iter()
        .zip(known)
        .filter(|(_, k)| **k)
        .map(|(s, _)| *s)
        .fold(0f32, f32::min);
    for ((s, k), f) in scores.iter_mut().zip(known).zip(fallback) {
        if !*k {
            *s = min - 1.0 + f;
        }
    }
    scores
}

/// Most-popular-items recommender.
#[derive(Debug, Clone)]
pub struct Popularity {
    scores: Vec<f32>,
}

/// What "popular" counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopularityBy {
    /// Distinct training users who listened.
    Users,
    /// Total plays by training users.
    Plays,
}

impl Popularity {
    /// Counts over `users` (dataset indices).
    pub fn fit(dataset: &Dataset, users: &[usize], by: PopularityBy) -> Self {
        let scores = match by {
            PopularityBy::Users => dataset
                .item_user_counts(users)
                .into_iter()
                .map(|c| c as f32)
                .collect(),
            PopularityBy::Plays => {
                let mut s = vec![0f64; dataset.catalog.len()];
                for &u in users {
                    for l in &dataset.users[u].listens {
                        s[l.item] += f64::from(l.plays);
                    }
                }
                s.into_iter().map(|x| x as f32).collect()
            }
        };
        Popularity { scores }
    }
}

impl Recommender for Popularity {
    fn name(&self) -> &str {
        "popularity"
    }
    fn n_items(&self) -> usize {
        self.scores.len()
    }
    fn score(&self, _input: &UserInput) -> Result<Vec<f32>> {
        Ok(self.scores.clone())
    }
}

/// Trainer for [`Popularity`]; grid: by users, by plays.
#[derive(Debug, Default)]
pub struct PopularityTrainer;

impl Trainer for PopularityTrainer {
    fn name(&self) -> &str {
        "popularity"
    }
    fn grid(&self) -> Vec<Value> {
        vec![json!({"by": "users"}), json!({"by": "plays"})]
    }
    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        let by: PopularityBy = config_field("popularity", config, "by")?;
        Ok(Box::new(Popularity::fit(ctx.dataset, ctx.train_users, by)))
    }
}
