//! Cosine similarities between items: unit vectors of training-user columns (item-kNN) or of
//! content rows (content-kNN), and each item's top-k neighbour list.

use serde::{Deserialize, Serialize};

use crate::data::{ContentMatrix, Dataset};

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
    pub(super) fn weight(self, plays: f32) -> f32 {
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
