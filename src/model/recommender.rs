//! A trained song encoder + AINRNN as a [`Recommender`]: the one ranking path shared by
//! evaluation, `ainrec recommend` and the browser.
//!
//! The catalog's song embeddings are computed once (they do not depend on the user); a request
//! then costs one pass of the recurrent stack over the history and, per candidate, eq. 4 target
//! attention and a dot product. Candidates are scored in blocks of [`CANDIDATE_BLOCK`] so memory
//! stays bounded (attention holds `block × T × hidden` values) however large the catalog is.
//!
//! [`NeuralRecommender::two_stage`] is the fast path for big catalogs (DESIGN §4): stage 1 ranks
//! every item by a dot product with a user vector pooled over the history states (no per-candidate
//! attention), stage 2 rescores the best `retrieve` of them with full attention.

use candle_core::{Device, Tensor};

use crate::data::history::Portrait;
use crate::error::{Error, Result};
use crate::model::ainrnn::{Ainrnn, Batch};
use crate::model::portrait::PortraitBatch;
use crate::ranking::{top_k, Recommender, UserInput};
use crate::util::rng::{derive_seed, hash_str, Rng};

/// What [`NeuralRecommender::two_stage`] returns: the `k` best `(item, score)` and the stage-1
/// candidate list.
pub type TwoStage = (Vec<(usize, f32)>, Vec<usize>);

/// Candidates scored per forward pass.
pub const CANDIDATE_BLOCK: usize = 2048;

/// A neural model over a fixed catalog of precomputed song embeddings.
pub struct NeuralRecommender {
    name: String,
    model: Ainrnn,
    /// `(n_items, d)` song embeddings.
    items: Tensor,
    n_items: usize,
    /// When set, the input history is shuffled with this seed before scoring (the order-shuffled
    /// control of the evaluation): the model then sees the same items in a random order.
    shuffle_seed: Option<u64>,
    device: Device,
}

/// The history as the network sees it.
struct Prepared {
    /// Catalog indices, oldest first (the last `max_len` items).
    items: Vec<usize>,
    history: Tensor,
    plays: Tensor,
    mask: Tensor,
    portrait: PortraitBatch,
}

impl NeuralRecommender {
    /// Wraps `model` with the catalog's song embeddings `items (n_items, item_dim)`.
    pub fn new(
        name: &str,
        model: Ainrnn,
        items: Tensor,
        shuffle_seed: Option<u64>,
    ) -> Result<Self> {
        let (n_items, d) = items.dims2()?;
        if d != model.config().item_dim {
            return Err(Error::invalid(
                "song embeddings",
                format!("(n_items, {})", model.config().item_dim),
                format!("{:?}", items.dims()),
            ));
        }
        let device = items.device().clone();
        Ok(NeuralRecommender {
            name: name.to_owned(),
            model,
            items,
            n_items,
            shuffle_seed,
            device,
        })
    }

    /// The network.
    pub fn model(&self) -> &Ainrnn {
        &self.model
    }

    /// The song embeddings `(n_items, d)`.
    pub fn item_embeddings(&self) -> &Tensor {
        &self.items
    }

    fn prepare(&self, input: &UserInput) -> Result<Prepared> {
        let max_len = self.model.config().max_len;
        let mut steps: Vec<(usize, f32)> = input
            .items
            .iter()
            .map(|i| (i.item, i.plays.max(0.0)))
            .collect();
        if let Some(seed) = self.shuffle_seed {
            // Seeded by the items too, so one input always gets the same order.
            let mut key: Vec<u64> = vec![hash_str("shuffle")];
            key.extend(steps.iter().map(|s| s.0 as u64));
            Rng::new(derive_seed(seed, &key)).shuffle(&mut steps);
        }
        let steps = &steps[steps.len().saturating_sub(max_len)..];
        if let Some(&(bad, _)) = steps.iter().find(|s| s.0 >= self.n_items) {
            return Err(Error::invalid(
                "history item",
                format!("< {}", self.n_items),
                bad,
            ));
        }
        let t = steps.len().max(1);
        let ids: Vec<u32> = (0..t)
            .map(|s| steps.get(s).map_or(0, |x| x.0 as u32))
            .collect();
        let plays: Vec<f32> = (0..t).map(|s| steps.get(s).map_or(0.0, |x| x.1)).collect();
        let mask: Vec<f32> = (0..t)
            .map(|s| if s < steps.len() { 1.0 } else { 0.0 })
            .collect();
        let d = self.model.config().item_dim;
        let idx = Tensor::from_vec(ids, t, &self.device)?;
        let history = self.items.index_select(&idx, 0)?.reshape((1, t, d))?;
        let portraits: [Option<&Portrait>; 1] = [input.portrait.as_ref()];
        let (portrait, _) =
            PortraitBatch::new(&portraits, &self.model.config().portrait, &self.device)?;
        Ok(Prepared {
            items: steps.iter().map(|s| s.0).collect(),
            history,
            plays: Tensor::from_vec(plays, (1, t), &self.device)?,
            mask: Tensor::from_vec(mask, (1, t), &self.device)?,
            portrait,
        })
    }

    /// Scores and (when the model has attention) attention weights `(n, T)` of `candidates`.
    fn run(
        &self,
        p: &Prepared,
        candidates: &[usize],
        with_weights: bool,
    ) -> Result<(Vec<f32>, Vec<Vec<f32>>)> {
        let mut scores = Vec::with_capacity(candidates.len());
        let mut weights = Vec::new();
        for block in candidates.chunks(CANDIDATE_BLOCK) {
            if let Some(&bad) = block.iter().find(|&&c| c >= self.n_items) {
                return Err(Error::invalid(
                    "candidate item",
                    format!("< {}", self.n_items),
                    bad,
                ));
            }
            let idx: Vec<u32> = block.iter().map(|&c| c as u32).collect();
            let idx = Tensor::from_vec(idx, block.len(), &self.device)?;
            let cands = self.items.index_select(&idx, 0)?;
            let out = self.model.forward(
                &Batch {
                    history: &p.history,
                    plays: &p.plays,
                    mask: &p.mask,
                    portrait: &p.portrait,
                    candidates: &cands,
                },
                None,
            )?;
            scores.extend(out.scores.squeeze(0)?.to_vec1::<f32>()?);
            if with_weights {
                if let Some(w) = out.attention {
                    weights.extend(w.squeeze(0)?.to_vec2::<f32>()?);
                }
            }
        }
        Ok((scores, weights))
    }

    /// Stage 1 of [`NeuralRecommender::two_stage`]: every item's dot product with the user
    /// vector made from the mean of the history states (attention replaced by a uniform average).
    pub fn pooled_scores(&self, input: &UserInput) -> Result<Vec<f32>> {
        self.pooled(&self.prepare(input)?)
    }

    fn pooled(&self, p: &Prepared) -> Result<Vec<f32>> {
        let user = self
            .model
            .pooled_user(&p.history, &p.plays, &p.mask, &p.portrait)?; // (1, d)
        Ok(self
            .items
            .matmul(&user.t()?)?
            .squeeze(1)?
            .to_vec1::<f32>()?)
    }

    /// Two-stage ranking: the `retrieve` best items by [`NeuralRecommender::pooled_scores`]
    /// (never an input item), rescored with full attention; returns the `k` best as
    /// `(item, score)` and the stage-1 candidate list (to measure stage-1 recall).
    pub fn two_stage(&self, input: &UserInput, retrieve: usize, k: usize) -> Result<TwoStage> {
        let p = self.prepare(input)?;
        let stage1: Vec<usize> = top_k(&self.pooled(&p)?, &input.item_indices(), retrieve)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        let (scores, _) = self.run(&p, &stage1, false)?;
        let mut dense = vec![f32::NEG_INFINITY; self.n_items];
        for (&i, &s) in stage1.iter().zip(&scores) {
            dense[i] = s;
        }
        let best = top_k(&dense, &input.item_indices(), k.min(stage1.len()));
        Ok((best, stage1))
    }
}

impl Recommender for NeuralRecommender {
    fn name(&self) -> &str {
        &self.name
    }

    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score(&self, input: &UserInput) -> Result<Vec<f32>> {
        let all: Vec<usize> = (0..self.n_items).collect();
        self.score_candidates(input, &all)
    }

    fn score_candidates(&self, input: &UserInput, candidates: &[usize]) -> Result<Vec<f32>> {
        let p = self.prepare(input)?;
        Ok(self.run(&p, candidates, false)?.0)
    }

    fn explain(&self, input: &UserInput, item: usize) -> Result<Vec<(usize, f32)>> {
        let p = self.prepare(input)?;
        let (_, weights) = self.run(&p, &[item], true)?;
        Ok(match weights.first() {
            Some(w) => p.items.iter().copied().zip(w.iter().copied()).collect(),
            None => Vec::new(),
        })
    }
}
