//! The eq. 4 prior: what a history says before any network has read it.
//!
//! ```text
//! w_i      = ln(1 + plays_i) + like_bonus·liked_i − skip_penalty·ln(1 + skips_i)
//! user     = Σ_i w_i e_i / Σ_i |w_i|
//! prior(c) = ⟨e_c, user⟩
//! ```

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// How history events weigh in the prior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriorConfig {
    /// Added to a liked item's weight (a like counts as `e − 1` extra plays at 1 play).
    pub like_bonus: f32,
    /// Multiplies `ln(1 + skips)`, subtracted from the weight.
    pub skip_penalty: f32,
}

impl Default for PriorConfig {
    fn default() -> Self {
        PriorConfig {
            like_bonus: 1.0,
            skip_penalty: 1.0,
        }
    }
}

/// table the caller passes) and what the visitor did with it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Step {
    /// Row in the embedding table.
    pub item: usize,
    /// Plays.
    pub plays: f32,
    /// Liked.
    pub liked: bool,
    /// Skips.
    pub skips: f32,
}

impl Step {
    /// True when the visitor mostly skipped it (a negative, never a positive, in fine-tuning).
    pub fn is_skip(&self) -> bool {
        !self.liked && self.skips > self.plays
    }
}

/// The prior weight of each step (see the module docs). When every weight is 0 (e.g. items
/// added without plays) each counts 1: a history still says "songs like these".
pub fn prior_weights(history: &[Step], cfg: &PriorConfig) -> Vec<f32> {
    let w: Vec<f32> = history
        .iter()
        .map(|s| {
            s.plays.max(0.0).ln_1p() + if s.liked { cfg.like_bonus } else { 0.0 }
                - cfg.skip_penalty * s.skips.max(0.0).ln_1p()
        })
        .collect();
    if w.iter().all(|v| *v == 0.0) {
        vec![1.0; w.len()]
    } else {
        w
    }
}

/// The prior's user vector `Σ w_i e_i / Σ |w_i|` over embeddings `table (N, d)`.
pub fn prior_user(table: &Tensor, history: &[Step], cfg: &PriorConfig) -> Result<Tensor> {
    let d = table.dim(1)?;
    if history.is_empty() {
        return Ok(Tensor::zeros(d, candle_core::DType::F32, table.device())?);
    }
    let w = prior_weights(history, cfg);
    let norm: f32 = w.iter().map(|v| v.abs()).sum();
    let w: Vec<f32> = w.iter().map(|v| v / norm).collect();
    let idx: Vec<u32> = history.iter().map(|s| s.item as u32).collect();
    let rows = table.index_select(&Tensor::from_vec(idx, history.len(), table.device())?, 0)?;
    Ok(Tensor::from_vec(w, (1, history.len()), table.device())?
        .matmul(&rows)?
        .squeeze(0)?)
}
