//! Neighbourhood scoring over item-kNN or content-kNN similarities, their trainers and grids,
//! and the cache that lets a grid share one similarity computation.

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::eval::{FitContext, Trainer};
use crate::ranking::{Recommender, UserInput};

use super::popularity::popularity_fallback;
use super::similarity::*;
use super::{config_field, neighbourhood_json, neighbours_field};

/// Neighbourhood sizes tried for item-kNN (`None` = all neighbours; × 3 weightings = 15
/// configurations). Two earlier 10-fold runs picked the top of the grid ({20…400} → 400,
/// {50…1000} → 1000), so the grid ends with "all".
pub const ITEM_KNN_NEIGHBOURS: [Option<usize>; 5] =
    [Some(100), Some(200), Some(400), Some(1000), None];

/// Neighbourhood sizes tried for content-kNN on tags (× 2 weightings = 14 configurations).
pub const CONTENT_KNN_NEIGHBOURS: [Option<usize>; 7] = [
    Some(20),
    Some(50),
    Some(100),
    Some(200),
    Some(400),
    Some(1000),
    None,
];

/// How a kNN model turns input items into scores.
#[derive(Debug, Clone)]
enum Scorer {
    /// The first `k` entries of each input item's neighbour list.
    Lists {
        neighbours: Arc<Neighbours>,
        k: usize,
    },
    /// Every neighbour, through one profile vector per user (exact, no lists).
    All { vectors: Arc<UnitVectors> },
}

/// Neighbourhood recommender (item-kNN and content-kNN).
#[derive(Debug, Clone)]
pub struct KnnRecommender {
    name: String,
    scorer: Scorer,
    input_weighting: Weighting,
    fallback: Vec<f32>,
}

impl KnnRecommender {
    /// A kNN model using the first `k` entries of each neighbour list; `input_weighting` weighs
    /// the user's input items; `popularity` (training user counts) orders items without evidence.
    pub fn new(
        name: &str,
        neighbours: Arc<Neighbours>,
        k: usize,
        input_weighting: Weighting,
        popularity: &[u32],
    ) -> Self {
        KnnRecommender {
            name: name.to_owned(),
            scorer: Scorer::Lists { neighbours, k },
            input_weighting,
            fallback: popularity_fallback(popularity),
        }
    }

    /// A kNN model using every neighbour (exact profile scoring over unit vectors; use only for
    /// non-negative vectors).
    pub fn all_neighbours(
        name: &str,
        vectors: Arc<UnitVectors>,
        input_weighting: Weighting,
        popularity: &[u32],
    ) -> Self {
        KnnRecommender {
            name: name.to_owned(),
            scorer: Scorer::All { vectors },
            input_weighting,
            fallback: popularity_fallback(popularity),
        }
    }
}

impl Recommender for KnnRecommender {
    fn name(&self) -> &str {
        &self.name
    }
    fn n_items(&self) -> usize {
        self.fallback.len()
    }
    fn score(&self, input: &UserInput) -> Result<Vec<f32>> {
        let n = self.fallback.len();
        super::check_input_items(input, n)?;
        let mut s = vec![0f32; n];
        match &self.scorer {
            Scorer::Lists { neighbours, k } => {
                for it in &input.items {
                    let w = self.input_weighting.weight(it.plays);
                    for &(j, sim) in neighbours.lists[it.item].iter().take(*k) {
                        s[j as usize] += w * sim;
                    }
                }
            }
            Scorer::All { vectors } => {
                let mut profile: Vec<(u32, f32)> = Vec::new();
                for it in &input.items {
                    let w = self.input_weighting.weight(it.plays);
                    profile.extend(vectors.rows[it.item].iter().map(|&(d, v)| (d, w * v)));
                }
                profile.sort_unstable_by_key(|e| e.0);
                profile.dedup_by(|b, a| {
                    let same = a.0 == b.0;
                    if same {
                        a.1 += b.1;
                    }
                    same
                });
                for (d, p) in profile {
                    for &(j, v) in &vectors.postings[d as usize] {
                        s[j as usize] += p * v;
                    }
                }
                // Remove each input item's similarity to itself (1 for a unit vector), which
                // neighbour lists never contain; the residue of the subtraction is rounded to 0.
                for it in &input.items {
                    if !vectors.rows[it.item].is_empty() {
                        let w = self.input_weighting.weight(it.plays);
                        let x = &mut s[it.item];
                        *x -= w;
                        if x.abs() < 1e-5 * w.max(1.0) {
                            *x = 0.0;
                        }
                    }
                }
            }
        }
        for (x, f) in s.iter_mut().zip(&self.fallback) {
            if *x <= 0.0 {
                *x = *f;
            }
        }
        Ok(s)
    }
}

type CacheKey = (u64, String);
type CacheEntry = (CacheKey, Arc<UnitVectors>, Option<Arc<Neighbours>>);

/// Keeps the last unit vectors and neighbour lists: the grid varies `neighbours` fastest, so
/// consecutive configurations share one similarity computation and only the cut-off changes.
#[derive(Debug, Default)]
struct KnnCache {
    last: RefCell<Option<CacheEntry>>,
}

impl KnnCache {
    fn vectors(&self, key: &CacheKey, compute: impl FnOnce() -> UnitVectors) -> Arc<UnitVectors> {
        if let Some((k, v, _)) = self.last.borrow().as_ref() {
            if k == key {
                return v.clone();
            }
        }
        let v = Arc::new(compute());
        *self.last.borrow_mut() = Some((key.clone(), v.clone(), None));
        v
    }

    /// Neighbour lists (cut at `max_k`) of the vectors cached under `key`.
    fn neighbours(&self, key: &CacheKey, vectors: &UnitVectors, max_k: usize) -> Arc<Neighbours> {
        if let Some((k, _, Some(n))) = self.last.borrow().as_ref() {
            if k == key {
                return n.clone();
            }
        }
        let n = Arc::new(vectors.top_neighbours(max_k));
        if let Some((k, _, slot)) = self.last.borrow_mut().as_mut() {
            if k == key {
                *slot = Some(n.clone());
            }
        }
        n
    }
}

pub(super) fn users_fingerprint(users: &[usize]) -> u64 {
    users
        .iter()
        .fold(crate::util::rng::hash_str("users"), |h, &u| {
            crate::util::rng::mix64(h ^ u as u64)
        })
}

/// One kNN configuration: which neighbourhood, out of which grid, how inputs are weighted.
struct KnnSpec<'a> {
    name: &'a str,
    k: Option<usize>,
    grid: &'a [Option<usize>],
    input_weighting: Weighting,
    popularity: &'a [u32],
}

/// Builds a kNN model from cached vectors for one `neighbours` setting of a grid.
fn knn_model(
    cache: &KnnCache,
    key: CacheKey,
    vectors: impl FnOnce() -> UnitVectors,
    spec: KnnSpec<'_>,
) -> Box<dyn Recommender> {
    let vectors = cache.vectors(&key, vectors);
    let KnnSpec {
        name,
        k,
        grid,
        input_weighting,
        popularity,
    } = spec;
    match k {
        None => Box::new(KnnRecommender::all_neighbours(
            name,
            vectors,
            input_weighting,
            popularity,
        )),
        Some(k) => {
            // Lists are cut at the largest finite size of the grid, so one computation serves
            // every size.
            let max_k = grid.iter().flatten().copied().max().unwrap_or(k).max(k);
            let nb = cache.neighbours(&key, &vectors, max_k);
            Box::new(KnnRecommender::new(
                name,
                nb,
                k,
                input_weighting,
                popularity,
            ))
        }
    }
}

/// Trainer for item-kNN; grid: weighting ∈ {binary, log_plays, plays} × neighbours ∈
/// [`ITEM_KNN_NEIGHBOURS`]. Input items are weighted like the interactions.
#[derive(Debug, Default)]
pub struct ItemKnnTrainer {
    cache: KnnCache,
}

impl Trainer for ItemKnnTrainer {
    fn name(&self) -> &str {
        "item_knn"
    }
    fn grid(&self) -> Vec<Value> {
        let mut g = Vec::new();
        for w in ["binary", "log_plays", "plays"] {
            for k in ITEM_KNN_NEIGHBOURS {
                g.push(json!({"weighting": w, "neighbours": neighbourhood_json(k)}));
            }
        }
        g
    }
    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        let weighting: Weighting = config_field("item_knn", config, "weighting")?;
        let k = neighbours_field("item_knn", config)?;
        let key = (users_fingerprint(ctx.train_users), format!("{weighting:?}"));
        let pop = ctx.dataset.item_user_counts(ctx.train_users);
        let vectors = || item_vectors(ctx.dataset, ctx.train_users, weighting);
        let spec = KnnSpec {
            name: "item_knn",
            k,
            grid: &ITEM_KNN_NEIGHBOURS,
            input_weighting: weighting,
            popularity: &pop,
        };
        Ok(knn_model(&self.cache, key, vectors, spec))
    }
}

/// Trainer for content-kNN over [`FitContext::content`]; grid: content weightings × neighbour
/// sizes. Input items are weighted by log plays.
#[derive(Debug)]
pub struct ContentKnnTrainer {
    weightings: Vec<ContentWeighting>,
    neighbours: Vec<Option<usize>>,
    cache: KnnCache,
}

impl ContentKnnTrainer {
    /// For count-like content (hetrec tag profiles): log counts and tf-idf ×
    /// [`CONTENT_KNN_NEIGHBOURS`].
    pub fn for_tags() -> Self {
        ContentKnnTrainer {
            weightings: vec![ContentWeighting::Log, ContentWeighting::TfIdf],
            neighbours: CONTENT_KNN_NEIGHBOURS.to_vec(),
            cache: KnnCache::default(),
        }
    }
}

impl Trainer for ContentKnnTrainer {
    fn name(&self) -> &str {
        "content_knn"
    }
    fn grid(&self) -> Vec<Value> {
        let mut g = Vec::new();
        for w in &self.weightings {
            for k in &self.neighbours {
                g.push(json!({"weighting": w, "neighbours": neighbourhood_json(*k)}));
            }
        }
        g
    }
    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        let content = ctx.content.ok_or_else(|| {
            Error::invalid(
                "content_knn input",
                "item content (tag profiles or audio descriptors)",
                "none",
            )
        })?;
        if content.rows.len() != ctx.dataset.catalog.len() {
            return Err(Error::invalid(
                "content matrix",
                format!("one row per catalog item ({})", ctx.dataset.catalog.len()),
                content.rows.len(),
            ));
        }
        let weighting: ContentWeighting = config_field("content_knn", config, "weighting")?;
        let k = neighbours_field("content_knn", config)?;
        if k.is_none() && weighting == ContentWeighting::ZScore {
            return Err(Error::invalid(
                "content_knn neighbours for z-scored descriptors",
                "a finite number (negative similarities are not evidence)",
                "all",
            ));
        }
        // Content is a function of the training users (tag profiles), so they key the cache
        // together with the content's size.
        let fp = crate::util::rng::mix64(users_fingerprint(ctx.train_users) ^ content.nnz() as u64);
        let key = (fp, format!("{weighting:?}"));
        let pop = ctx.dataset.item_user_counts(ctx.train_users);
        let vectors = || content_vectors(content, weighting);
        let spec = KnnSpec {
            name: "content_knn",
            k,
            grid: &self.neighbours,
            input_weighting: Weighting::LogPlays,
            popularity: &pop,
        };
        Ok(knn_model(&self.cache, key, vectors, spec))
    }
}
