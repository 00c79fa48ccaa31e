//! Rankings that need no listener of the ranked item — the floor and the simple references of
//! the cold-start protocol ([`crate::eval::cold_start`]):
//!
//! - **random**: a seeded random order per input (the seed mixes the fit seed with the input's
//!   items, so a user's order does not depend on who else is evaluated);
//! - **tag popularity**: how many tag assignments (by training users) an item has, over all of
//!   hetrec's tags or only the 50 MSD tags — the cold analogue of popularity, since a withheld
//!   artist has no plays;
//! - **content-kNN over the 50 MSD tags** (`content_knn_msd50`): content-kNN
//!   ([`ContentKnnTrainer`]) on the tag profiles restricted to the tags musicnn predicts from
//!   audio ([`MSD_TAGS`]): what the page can know about a visitor's song.

use serde_json::{json, Value};

use crate::data::ContentMatrix;
use crate::error::{Error, Result};
use crate::eval::{FitContext, Trainer};
use crate::features::musicnn_input::MSD_TAGS;
use crate::ranking::{Recommender, UserInput};
use crate::util::rng::{derive_seed, mix64, Rng};

use super::config_field;
use super::knn::ContentKnnTrainer;

/// A seeded random order, drawn afresh for each input.
#[derive(Debug, Clone)]
pub struct RandomOrder {
    n_items: usize,
    seed: u64,
}

impl Recommender for RandomOrder {
    fn name(&self) -> &str {
        "random"
    }
    fn n_items(&self) -> usize {
        self.n_items
    }
    fn score(&self, input: &UserInput) -> Result<Vec<f32>> {
        super::check_input_items(input, self.n_items)?;
        let items: Vec<u64> = input.items.iter().map(|i| i.item as u64).collect();
        let mut rng = Rng::new(derive_seed(self.seed, &items));
        Ok((0..self.n_items).map(|_| rng.next_f64() as f32).collect())
    }
}

/// Trainer for [`RandomOrder`]; one configuration.
#[derive(Debug, Default)]
pub struct RandomTrainer;

impl Trainer for RandomTrainer {
    fn name(&self) -> &str {
        "random"
    }
    fn grid(&self) -> Vec<Value> {
        vec![json!({})]
    }
    fn fit(&self, ctx: &FitContext<'_>, _config: &Value) -> Result<Box<dyn Recommender>> {
        Ok(Box::new(RandomOrder {
            n_items: ctx.dataset.catalog.len(),
            seed: mix64(ctx.seed),
        }))
    }
}

/// The tag profiles of `ctx`, checked against the catalog.
fn tag_content<'c>(model: &str, ctx: &FitContext<'c>) -> Result<&'c ContentMatrix> {
    let content = ctx
        .content
        .ok_or_else(|| Error::invalid(format!("{model} input"), "item tag profiles", "none"))?;
    if content.rows.len() != ctx.dataset.catalog.len() {
        return Err(Error::invalid(
            "content matrix",
            format!("one row per catalog item ({})", ctx.dataset.catalog.len()),
            content.rows.len(),
        ));
    }
    Ok(content)
}

/// Items ranked by their number of tag assignments.
#[derive(Debug, Clone)]
pub struct TagPopularity {
    scores: Vec<f32>,
}

impl Recommender for TagPopularity {
    fn name(&self) -> &str {
        "tag_popularity"
    }
    fn n_items(&self) -> usize {
        self.scores.len()
    }
    fn score(&self, input: &UserInput) -> Result<Vec<f32>> {
        super::check_input_items(input, self.scores.len())?;
        Ok(self.scores.clone())
    }
}

/// Trainer for [`TagPopularity`]; grid: counted over all tags, or over the 50 MSD tags.
#[derive(Debug, Default)]
pub struct TagPopularityTrainer;

impl Trainer for TagPopularityTrainer {
    fn name(&self) -> &str {
        "tag_popularity"
    }
    fn grid(&self) -> Vec<Value> {
        vec![json!({"tags": "all"}), json!({"tags": "msd50"})]
    }
    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        let content = tag_content("tag_popularity", ctx)?;
        let tags: String = config_field("tag_popularity", config, "tags")?;
        let restricted;
        let content = match tags.as_str() {
            "all" => content,
            "msd50" => {
                restricted = content.select_dims(&MSD_TAGS);
                &restricted
            }
            other => {
                return Err(Error::invalid(
                    "tag_popularity config field `tags`",
                    "\"all\" or \"msd50\"",
                    other,
                ))
            }
        };
        let scores = content
            .rows
            .iter()
            .map(|r| r.iter().map(|(_, v)| *v).sum())
            .collect();
        Ok(Box::new(TagPopularity { scores }))
    }
}

/// Content-kNN on the tag profiles restricted to the 50 MSD tags; the grid of
/// [`ContentKnnTrainer::for_tags`].
#[derive(Debug)]
pub struct Msd50ContentKnnTrainer {
    inner: ContentKnnTrainer,
}

impl Default for Msd50ContentKnnTrainer {
    fn default() -> Self {
        Msd50ContentKnnTrainer {
            inner: ContentKnnTrainer::for_tags(),
        }
    }
}

impl Trainer for Msd50ContentKnnTrainer {
    fn name(&self) -> &str {
        "content_knn_msd50"
    }
    fn grid(&self) -> Vec<Value> {
        self.inner.grid()
    }
    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        let restricted = tag_content("content_knn_msd50", ctx)?.select_dims(&MSD_TAGS);
        self.inner.fit(
            &FitContext {
                content: Some(&restricted),
                ..*ctx
            },
            config,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetBuilder, Listen};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ctx_parts() -> (crate::data::Dataset, ContentMatrix) {
        let mut b = DatasetBuilder::new();
        for (u, i) in [("u0", "a"), ("u0", "b"), ("u1", "c"), ("u1", "d")] {
            b.add(u, i, 1, None);
        }
        let d = b.build();
        // a: rock ×3; b: "zz" ×5 (not an MSD tag); c: jazz ×1 + zz ×1; d: jazz ×2.
        let c = ContentMatrix {
            dims: 3,
            dim_names: vec!["rock".into(), "zz".into(), "jazz".into()],
            rows: vec![
                vec![(0, 3.0)],
                vec![(1, 5.0)],
                vec![(1, 1.0), (2, 1.0)],
                vec![(2, 2.0)],
            ],
        };
        (d, c)
    }

    #[test]
    fn tag_popularity_counts_all_tags_or_the_msd_ones() {
        let (d, c) = ctx_parts();
        let ctx = FitContext {
            dataset: &d,
            train_users: &[0, 1],
            content: Some(&c),
            seed: 0,
        };
        let none = UserInput::default();
        let all = TagPopularityTrainer
            .fit(&ctx, &json!({"tags": "all"}))
            .unwrap();
        assert_eq!(all.score(&none).unwrap(), vec![3.0, 5.0, 2.0, 2.0]);
        let msd = TagPopularityTrainer
            .fit(&ctx, &json!({"tags": "msd50"}))
            .unwrap();
        assert_eq!(msd.score(&none).unwrap(), vec![3.0, 0.0, 1.0, 2.0]);
        assert!(TagPopularityTrainer
            .fit(&ctx, &json!({"tags": "some"}))
            .is_err());
        let no_content = FitContext {
            content: None,
            ..ctx
        };
        assert!(TagPopularityTrainer
            .fit(&no_content, &json!({"tags": "all"}))
            .is_err());
    }

    #[test]
    fn random_is_seeded_per_input_and_msd50_knn_ignores_other_tags() {
        let (d, c) = ctx_parts();
        let ctx = FitContext {
            dataset: &d,
            train_users: &[0, 1],
            content: Some(&c),
            seed: 9,
        };
        let r = RandomTrainer.fit(&ctx, &json!({})).unwrap();
        let one = |i: usize| {
            UserInput::from_listens(&[Listen {
                item: i,
                plays: 1,
                time: None,
            }])
        };
        assert_eq!(r.score(&one(0)).unwrap(), r.score(&one(0)).unwrap());
        assert_ne!(r.score(&one(0)).unwrap(), r.score(&one(1)).unwrap());
        // From item c (jazz + zz), the MSD-only profile finds d (jazz) and never b (zz only).
        let m = Msd50ContentKnnTrainer::default()
            .fit(&ctx, &json!({"weighting": "log", "neighbours": "all"}))
            .unwrap();
        let s = m.score(&one(2)).unwrap();
        assert!(s[3] > s[1] && s[3] > s[0], "{s:?}");
        let full = ContentKnnTrainer::for_tags()
            .fit(&ctx, &json!({"weighting": "log", "neighbours": "all"}))
            .unwrap();
        let s = full.score(&one(2)).unwrap();
        assert!(s[1] > s[0], "all tags: b shares zz with c: {s:?}");
    }
}
