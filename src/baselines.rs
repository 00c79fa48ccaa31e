//! Baselines every model is judged against: popularity, item-kNN and content-kNN.
//!
//! All three are fitted on training users only, tuned on the same validation fold with the same
//! budget ([`crate::eval::TUNING_BUDGET`]) and metric as any other model, and implement
//! [`Recommender`] so they run through the same ranking code as the neural models.
//!
//! - **popularity**: number of training users who listened to an item (or, as the other grid
//!   point, their total plays).
//! - **item-kNN**: cosine similarity between items' training-user vectors (binary, log plays or
//!   raw plays); each item keeps its `k` most similar items, or all of them (`"all"`); a user's
//!   score for item j is Σ_{i ∈ input} w(i) · sim(i, j) over the inputs that have j among their
//!   neighbours.
//! - **content-kNN**: the same neighbourhood scoring with cosine similarity of item content —
//!   tag profiles on hetrec (log counts or tf-idf), audio descriptors (z-scored) on audio.
//!
//! With `"all"` neighbours the score is computed exactly without neighbour lists:
//! Σ_i w(i) · (v̂_i · v̂_j) = (Σ_i w(i) v̂_i) · v̂_j, one sparse profile per user. It is offered only
//! for non-negative vectors (co-occurrence, tags), where every similarity is ≥ 0.
//!
//! Items with no neighbour evidence (score 0) are ranked after every item with evidence, by
//! training popularity: a deterministic and sensible order instead of "lowest id first", and the
//! same for every kNN model.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::data::{ContentMatrix, Dataset};
use crate::error::{Error, Result};
use crate::eval::{FitContext, Trainer};
use crate::recommend::{Recommender, UserInput};

/// Names of the baselines, as accepted by [`baseline_trainer`].
pub const BASELINES: [&str; 3] = ["popularity", "item_knn", "content_knn"];

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

/// Neighbourhood sizes for content-kNN on dense descriptors: z-scores can be negative, so only
/// positive neighbours in finite lists are used.
pub const DESCRIPTOR_KNN_NEIGHBOURS: [Option<usize>; 6] = [
    Some(20),
    Some(50),
    Some(100),
    Some(200),
    Some(400),
    Some(1000),
];

fn neighbourhood_json(k: Option<usize>) -> Value {
    k.map_or_else(|| json!("all"), |k| json!(k))
}

/// How an interaction (or a user's input item) is weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// 1 for any listen.
    Binary,
    /// ln(1 + plays): play counts matter, heavy listeners do not dominate.
    LogPlays,
    /// Raw play count.
    Plays,
}

impl Weighting {
    fn weight(self, plays: f32) -> f32 {
        match self {
            Weighting::Binary => 1.0,
            Weighting::LogPlays => plays.max(0.0).ln_1p(),
            Weighting::Plays => plays.max(0.0),
        }
    }
}

/// How content vectors are transformed before cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentWeighting {
    /// ln(1 + value): for counts (tags).
    Log,
    /// ln(1 + value) · ln(N / df): down-weights tags nearly every artist has ("rock").
    TfIdf,
    /// Per-dimension z-score over items with content: for dense descriptors (audio), whose
    /// dimensions have unrelated scales.
    ZScore,
}

/// Per-item neighbour lists, each sorted by similarity (descending, ties by index), only
/// positive similarities, at most the `max_k` computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbours {
    /// `lists[i]` = `(j, sim(i, j))`.
    pub lists: Vec<Vec<(u32, f32)>>,
}

fn keep_top(cands: &mut Vec<(u32, f32)>, k: usize) {
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if cands.len() > k && k > 0 {
        cands.select_nth_unstable_by(k - 1, order);
    }
    cands.truncate(k);
    cands.sort_by(order);
}

/// L2-normalised sparse vectors of the catalog items (rows) with their inverted index
/// (postings), so that a dot product is a cosine similarity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitVectors {
    /// `rows[i]` = `(dimension, value)` of item i, unit length (empty: no vector).
    pub rows: Vec<Vec<(u32, f32)>>,
    /// `postings[d]` = `(item, value)` of dimension d.
    pub postings: Vec<Vec<(u32, f32)>>,
}

impl UnitVectors {
    /// Normalises `rows` (over `dims` dimensions) and builds the postings.
    pub fn new(mut rows: Vec<Vec<(u32, f32)>>, dims: usize) -> Self {
        for r in &mut rows {
            let norm = r.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                r.iter_mut().for_each(|(_, v)| *v /= norm);
            } else {
                r.clear();
            }
        }
        let mut postings = vec![Vec::new(); dims];
        for (i, r) in rows.iter().enumerate() {
            for &(d, v) in r {
                postings[d as usize].push((i as u32, v));
            }
        }
        UnitVectors { rows, postings }
    }

    /// Each item's `max_k` most similar other items with positive cosine similarity.
    pub fn top_neighbours(&self, max_k: usize) -> Neighbours {
        let n = self.rows.len();
        let mut acc = vec![0f32; n];
        let mut touched: Vec<u32> = Vec::new();
        let mut lists = Vec::with_capacity(n);
        for (i, row) in self.rows.iter().enumerate() {
            for &(d, v) in row {
                for &(j, w) in &self.postings[d as usize] {
                    if acc[j as usize] == 0.0 {
                        touched.push(j);
                    }
                    acc[j as usize] += v * w;
                }
            }
            let mut cands: Vec<(u32, f32)> = Vec::with_capacity(touched.len());
            for &j in &touched {
                let dot = acc[j as usize];
                acc[j as usize] = 0.0;
                if j as usize != i && dot > 0.0 {
                    cands.push((j, dot));
                }
            }
            touched.clear();
            keep_top(&mut cands, max_k);
            lists.push(cands);
        }
        Neighbours { lists }
    }
}

/// Items as unit vectors over the training users (weighted by `weighting`).
pub fn item_vectors(dataset: &Dataset, users: &[usize], weighting: Weighting) -> UnitVectors {
    let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); dataset.catalog.len()];
    for (d, &u) in users.iter().enumerate() {
        for l in &dataset.users[u].listens {
            let w = weighting.weight(l.plays as f32);
            if w > 0.0 {
                rows[l.item].push((d as u32, w));
            }
        }
    }
    UnitVectors::new(rows, users.len())
}

/// Item–item cosine similarity over the training users' interaction vectors.
pub fn item_similarities(
    dataset: &Dataset,
    users: &[usize],
    weighting: Weighting,
    max_k: usize,
) -> Neighbours {
    item_vectors(dataset, users, weighting).top_neighbours(max_k)
}

/// Content rows transformed by `weighting` (see [`ContentWeighting`]) as unit vectors.
pub fn content_vectors(content: &ContentMatrix, weighting: ContentWeighting) -> UnitVectors {
    let rows: Vec<Vec<(u32, f32)>> = match weighting {
        ContentWeighting::Log => content
            .rows
            .iter()
            .map(|r| r.iter().map(|&(d, v)| (d, v.max(0.0).ln_1p())).collect())
            .collect(),
        ContentWeighting::TfIdf => {
            let mut df = vec![0u32; content.dims];
            for r in &content.rows {
                for &(d, _) in r {
                    df[d as usize] += 1;
                }
            }
            let n = content.n_with_content().max(1) as f32;
            content
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|&(d, v)| (d, v.max(0.0).ln_1p() * (n / df[d as usize] as f32).ln()))
                        .collect()
                })
                .collect()
        }
        ContentWeighting::ZScore => {
            let with: Vec<&Vec<(u32, f32)>> =
                content.rows.iter().filter(|r| !r.is_empty()).collect();
            let m = with.len().max(1) as f64;
            let mut mean = vec![0f64; content.dims];
            let mut sq = vec![0f64; content.dims];
            for r in &with {
                for &(d, v) in r.iter() {
                    mean[d as usize] += f64::from(v) / m;
                }
            }
            for r in &with {
                let mut dense = vec![0f64; content.dims];
                for &(d, v) in r.iter() {
                    dense[d as usize] = f64::from(v);
                }
                for (d, x) in dense.iter().enumerate() {
                    sq[d] += (x - mean[d]).powi(2) / m;
                }
            }
            let std: Vec<f64> = sq.iter().map(|s| s.sqrt()).collect();
            content
                .rows
                .iter()
                .map(|r| {
                    if r.is_empty() {
                        return Vec::new();
                    }
                    let mut dense = vec![0f64; content.dims];
                    for &(d, v) in r {
                        dense[d as usize] = f64::from(v);
                    }
                    dense
                        .iter()
                        .enumerate()
                        .filter(|(d, _)| std[*d] > 0.0)
                        .map(|(d, x)| (d as u32, ((x - mean[d]) / std[d]) as f32))
                        .filter(|(_, z)| *z != 0.0)
                        .collect()
                })
                .collect()
        }
    };
    UnitVectors::new(rows, content.dims)
}

/// Content cosine similarity after `weighting` (see [`ContentWeighting`]).
pub fn content_similarities(
    content: &ContentMatrix,
    weighting: ContentWeighting,
    max_k: usize,
) -> Neighbours {
    content_vectors(content, weighting).top_neighbours(max_k)
}

/// Scores in [-1, 0) that order items by popularity, for items without neighbour evidence.
fn popularity_fallback(counts: &[u32]) -> Vec<f32> {
    let max = counts.iter().copied().max().unwrap_or(0) as f32;
    counts
        .iter()
        .map(|&c| -1.0 + c as f32 / (max + 1.0))
        .collect()
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
        if let Some(bad) = input.items.iter().find(|it| it.item >= n) {
            return Err(Error::invalid(
                "input item",
                format!("a catalog index < {n}"),
                bad.item,
            ));
        }
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

fn config_field<T: serde::de::DeserializeOwned>(
    model: &str,
    config: &Value,
    key: &str,
) -> Result<T> {
    serde_json::from_value(config.get(key).cloned().unwrap_or(Value::Null))
        .map_err(|e| Error::invalid(format!("{model} config field `{key}`"), "a valid value", e))
}

/// `neighbours`: a positive integer or `"all"` (→ `None`).
fn neighbours_field(model: &str, config: &Value) -> Result<Option<usize>> {
    match config.get("neighbours") {
        Some(Value::String(s)) if s == "all" => Ok(None),
        Some(v) => match v.as_u64() {
            Some(k) if k > 0 => Ok(Some(k as usize)),
            _ => Err(Error::invalid(
                format!("{model} config field `neighbours`"),
                "a positive integer or \"all\"",
                v,
            )),
        },
        None => Err(Error::invalid(
            format!("{model} config field `neighbours`"),
            "a positive integer or \"all\"",
            "nothing",
        )),
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

fn users_fingerprint(users: &[usize]) -> u64 {
    users
        .iter()
        .fold(crate::data::rng::hash_str("users"), |h, &u| {
            crate::data::rng::mix64(h ^ u as u64)
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

    /// For dense audio descriptors: z-scored dimensions × [`DESCRIPTOR_KNN_NEIGHBOURS`].
    pub fn for_descriptors() -> Self {
        ContentKnnTrainer {
            weightings: vec![ContentWeighting::ZScore],
            neighbours: DESCRIPTOR_KNN_NEIGHBOURS.to_vec(),
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
        let fp = crate::data::rng::mix64(users_fingerprint(ctx.train_users) ^ content.nnz() as u64);
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

/// The trainer of a baseline by name (`popularity`, `item_knn`, `content_knn`; content-kNN with
/// the tag grid). `None` for other names.
pub fn baseline_trainer(name: &str) -> Option<Box<dyn Trainer>> {
    match name {
        "popularity" => Some(Box::new(PopularityTrainer)),
        "item_knn" => Some(Box::new(ItemKnnTrainer::default())),
        "content_knn" => Some(Box::new(ContentKnnTrainer::for_tags())),
        _ => None,
    }
}

/// The configuration `ainrec recommend` uses when fitting a baseline on all shipped users: the
/// one 10-fold tuning on hetrec picked most often (see `docs/results.json`, `settings.chosen`).
/// Measured with the grids above: popularity by users 10/10; item-kNN log plays with all
/// neighbours 4/10 (tied with 1000 neighbours, 4/10; mean validation NDCG@10 0.2248 vs 0.2246);
/// content-kNN log counts with all neighbours 10/10.
pub fn default_config(name: &str) -> Option<Value> {
    match name {
        "popularity" => Some(json!({"by": "users"})),
        "item_knn" => Some(json!({"weighting": "log_plays", "neighbours": "all"})),
        "content_knn" => Some(json!({"weighting": "log", "neighbours": "all"})),
        _ => None,
    }
}

/// Counts how often each configuration was chosen (helper for reports).
pub fn count_choices(chosen: &[Value]) -> Vec<(Value, usize)> {
    let mut counts: HashMap<String, (Value, usize)> = HashMap::new();
    for c in chosen {
        counts
            .entry(c.to_string())
            .or_insert_with(|| (c.clone(), 0))
            .1 += 1;
    }
    let mut v: Vec<(String, (Value, usize))> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::*;
    use crate::data::{DatasetBuilder, Listen};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// u0: a b c; u1: a b; u2: c d; u3: a b d (plays as given).
    fn toy() -> Dataset {
        let mut b = DatasetBuilder::new();
        for (u, items) in [
            ("u0", vec![("a", 1), ("b", 1), ("c", 1)]),
            ("u1", vec![("a", 2), ("b", 8)]),
            ("u2", vec![("c", 1), ("d", 1)]),
            ("u3", vec![("a", 1), ("b", 1), ("d", 1)]),
        ] {
            for (i, p) in items {
                b.add(u, i, p, None);
            }
        }
        b.build()
    }

    fn input(d: &Dataset, ids: &[&str]) -> UserInput {
        UserInput::from_listens(
            &ids.iter()
                .map(|id| Listen {
                    item: d.catalog.index_of(id).unwrap(),
                    plays: 1,
                    time: None,
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn binary_cosine_by_hand() {
        let d = toy();
        let nb = item_similarities(&d, &[0, 1, 2, 3], Weighting::Binary, 10);
        let ix = |id: &str| d.catalog.index_of(id).unwrap() as u32;
        // a = {0,1,3}, b = {0,1,3}, c = {0,2}, d = {2,3}.
        let sim = |x: &str, y: &str| {
            nb.lists[ix(x) as usize]
                .iter()
                .find(|e| e.0 == ix(y))
                .map(|e| e.1)
        };
        assert!((sim("a", "b").unwrap() - 1.0).abs() < 1e-6);
        assert!((sim("a", "c").unwrap() - 1.0 / 6f32.sqrt()).abs() < 1e-6);
        assert!((sim("c", "d").unwrap() - 0.5).abs() < 1e-6);
        assert_eq!(
            nb.lists[ix("a") as usize][0].0,
            ix("b"),
            "most similar first"
        );
        assert!(
            nb.lists
                .iter()
                .enumerate()
                .all(|(i, l)| l.iter().all(|e| e.0 as usize != i)),
            "no self"
        );
        let nb1 = item_similarities(&d, &[0, 1, 2, 3], Weighting::Binary, 1);
        assert!(nb1.lists.iter().all(|l| l.len() <= 1));
    }

    #[test]
    fn item_knn_scores_and_falls_back_to_popularity() {
        let d = toy();
        let users = [0, 1, 2, 3];
        let nb = Arc::new(item_similarities(&d, &users, Weighting::Binary, 10));
        let pop = d.item_user_counts(&users);
        let m = KnnRecommender::new("item_knn", nb, 10, Weighting::Binary, &pop);
        let s = m.score(&input(&d, &["a"])).unwrap();
        let ix = |id: &str| d.catalog.index_of(id).unwrap();
        // b (1.0) > c (1/√6) = d (1/√6); a itself has no self-similarity → fallback < 0.
        assert!(s[ix("b")] > s[ix("c")] && s[ix("c")] > 0.0);
        assert!((s[ix("c")] - s[ix("d")]).abs() < 1e-6);
        assert!(s[ix("a")] < 0.0);
        // With no evidence at all, the order is popularity.
        let empty = m.score(&UserInput::default()).unwrap();
        assert!(empty[ix("a")] > empty[ix("c")] && empty.iter().all(|x| *x < 0.0));
    }

    #[test]
    fn all_neighbours_scoring_equals_unbounded_lists() {
        let d = toy();
        let users = [0, 1, 2, 3];
        let pop = d.item_user_counts(&users);
        for w in [Weighting::Binary, Weighting::LogPlays, Weighting::Plays] {
            let v = Arc::new(item_vectors(&d, &users, w));
            let lists = Arc::new(v.top_neighbours(usize::MAX));
            let a = KnnRecommender::new("item_knn", lists, usize::MAX, w, &pop);
            let b = KnnRecommender::all_neighbours("item_knn", v, w, &pop);
            for ids in [&["a"][..], &["a", "c"], &["d"], &[]] {
                let (sa, sb) = (
                    a.score(&input(&d, ids)).unwrap(),
                    b.score(&input(&d, ids)).unwrap(),
                );
                for (x, y) in sa.iter().zip(&sb) {
                    assert!((x - y).abs() < 1e-6, "{w:?} {ids:?}: {sa:?} vs {sb:?}");
                }
            }
        }
    }

    #[test]
    fn neighbours_config_accepts_integers_and_all() {
        assert_eq!(
            neighbours_field("m", &json!({"neighbours": 5})).unwrap(),
            Some(5)
        );
        assert_eq!(
            neighbours_field("m", &json!({"neighbours": "all"})).unwrap(),
            None
        );
        for bad in [
            json!({"neighbours": 0}),
            json!({"neighbours": "many"}),
            json!({}),
        ] {
            let e = neighbours_field("m", &bad).unwrap_err().to_string();
            assert!(e.contains("neighbours"), "{e}");
        }
    }

    #[test]
    fn popularity_counts_training_users_only() {
        let d = toy();
        let p = Popularity::fit(&d, &[0, 1], PopularityBy::Users);
        let s = p.score(&UserInput::default()).unwrap();
        let ix = |id: &str| d.catalog.index_of(id).unwrap();
        assert_eq!((s[ix("a")], s[ix("c")], s[ix("d")]), (2.0, 1.0, 0.0));
        let p = Popularity::fit(&d, &[0, 1], PopularityBy::Plays);
        assert_eq!(p.score(&UserInput::default()).unwrap()[ix("b")], 9.0);
    }

    #[test]
    fn content_similarity_by_hand_and_tfidf_discounts_common_tags() {
        // Items: 0 = {rock, metal}, 1 = {rock, metal}, 2 = {rock, jazz}, 3 = {} (no content).
        let m = ContentMatrix {
            dims: 3,
            dim_names: vec!["rock".into(), "metal".into(), "jazz".into()],
            rows: vec![
                vec![(0, 1.0), (1, 1.0)],
                vec![(0, 1.0), (1, 1.0)],
                vec![(0, 1.0), (2, 1.0)],
                vec![],
            ],
        };
        let nb = content_similarities(&m, ContentWeighting::Log, 10);
        assert!((nb.lists[0][0].1 - 1.0).abs() < 1e-6 && nb.lists[0][0].0 == 1);
        assert!((nb.lists[0][1].1 - 0.5).abs() < 1e-6);
        assert!(nb.lists[3].is_empty());
        // "rock" is on every item with content: idf = ln(3/3) = 0, so 0 and 2 share nothing.
        let nb = content_similarities(&m, ContentWeighting::TfIdf, 10);
        assert_eq!(nb.lists[0].len(), 1);
        assert!(nb.lists[2].is_empty());
    }

    #[test]
    fn zscore_content_handles_dense_descriptors() {
        let m = ContentMatrix::from_dense(
            vec!["x".into(), "y".into()],
            vec![
                Some(vec![1.0, 100.0]),
                Some(vec![1.1, 110.0]),
                Some(vec![5.0, 500.0]),
                None,
            ],
        );
        let nb = content_similarities(&m, ContentWeighting::ZScore, 10);
        assert_eq!(
            nb.lists[0].first().map(|e| e.0),
            Some(1),
            "closest descriptor first"
        );
        assert!(nb.lists[3].is_empty());
    }

    #[test]
    fn trainers_fit_every_grid_point_within_budget() {
        let d = toy();
        let content = ContentMatrix {
            dims: 1,
            dim_names: vec!["t".into()],
            rows: vec![vec![(0, 1.0)], vec![(0, 2.0)], vec![], vec![(0, 1.0)]],
        };
        let ctx = FitContext {
            dataset: &d,
            train_users: &[0, 1, 2, 3],
            content: Some(&content),
            seed: 0,
        };
        for name in BASELINES {
            let t = baseline_trainer(name).unwrap();
            assert!(t.grid().len() <= crate::eval::TUNING_BUDGET);
            for c in t
                .grid()
                .iter()
                .chain(std::iter::once(&default_config(name).unwrap()))
            {
                let m = t.fit(&ctx, c).unwrap();
                assert_eq!(m.name(), name);
                assert_eq!(m.score(&input(&d, &["a"])).unwrap().len(), 4);
            }
        }
        let no_content = FitContext {
            content: None,
            ..ctx
        };
        assert!(baseline_trainer("content_knn")
            .unwrap()
            .fit(&no_content, &default_config("content_knn").unwrap())
            .is_err());
        assert!(baseline_trainer("lstm").is_none());
        let bad = json!({"weighting": "cubic", "neighbours": 5});
        let e = baseline_trainer("item_knn")
            .unwrap()
            .fit(&ctx, &bad)
            .err()
            .unwrap();
        assert!(e.to_string().contains("weighting"), "{e}");
    }

    #[test]
    fn choices_are_counted_most_frequent_first() {
        let c = count_choices(&[json!(1), json!(2), json!(2)]);
        assert_eq!(c, vec![(json!(2), 2), (json!(1), 1)]);
    }
}
