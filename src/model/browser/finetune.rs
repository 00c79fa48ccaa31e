//! Fine-tuning on one visitor's history (next-play prediction, a before/after check on the
//! held-out last plays, roll-back when worse).

use std::collections::HashSet;

use candle_core::{Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_rows, prior_user, BrowserModel, Step, LOG_SCALE};
use crate::error::{Error, Result};
use crate::model::ainrnn::Batch;
use crate::model::batch::{gather, PaddedHistories};
use crate::model::named_vars;
use crate::util::rng::{derive_seed, hash_str, Rng};

/// Fine-tuning options (explicit defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FineTuneConfig {
    /// Adam learning rate.
    pub lr: f64,
    /// Examples (cut points of the history) per step.
    pub batch: usize,
    /// Negatives per step, drawn from the visitor's unheard library (and their skips).
    pub n_negatives: usize,
    /// Longest history window per example.
    pub window: usize,
    /// Most steps.
    pub max_steps: usize,
    /// Time budget in milliseconds (the caller's clock).
    pub budget_ms: f64,
    /// The last plays held out for the before/after check (none below 10 history items).
    pub holdout: usize,
    /// Seed of every draw.
    pub seed: u64,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        FineTuneConfig {
            lr: 1e-3,
            batch: 16,
            n_negatives: 32,
            window: 30,
            max_steps: 80,
            budget_ms: 2500.0,
            holdout: 5,
            seed: 2022,
        }
    }
}

/// One fine-tuning step's report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepReport {
    /// 1-based step.
    pub step: usize,
    /// Mean sampled-softmax loss of the step's batch.
    pub loss: f32,
}

/// The before/after check and how the run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FineTuneOutcome {
    /// Steps run.
    pub steps: usize,
    /// Mean reciprocal rank of the held-out last plays before fine-tuning (`None` without a
    /// held-out part).
    pub before: Option<f64>,
    /// The same for the weights the session ranks with now: after fine-tuning when kept, the
    /// starting weights' value when rolled back.
    pub after: Option<f64>,
    /// The check as measured right after the run, before any roll-back (`None` when a step
    /// failed or there is no held-out part): what fine-tuning itself did.
    pub checked: Option<f64>,
    /// True when the fine-tuned weights were kept; false when rolled back.
    pub kept: bool,
    /// Why the weights were rolled back, if they were.
    pub rolled_back: Option<String>,
    /// The held-out history items (rows of the table).
    pub held_out: Vec<usize>,
}

/// A fine-tuning run on one visitor's history over their library `table (N, d)`.
///
/// Next-play prediction: an example is a cut point `t` of the (training part of the) history;
/// its input is the window before `t`, its positive the item at `t` (never a skipped one), its
/// negatives items of the library the visitor has not heard plus the ones they skipped. The
/// last [`FineTuneConfig::holdout`] items are held out: [`FineTuner::finish`] compares their
/// reciprocal ranks before and after and rolls back when worse. A step whose loss or weights
/// are not finite rolls back to the weights before it and ends the run.
pub struct FineTuner {
    cfg: FineTuneConfig,
    table: Tensor,
    train: Vec<Step>,
    held_out: Vec<usize>,
    cut_points: Vec<usize>,
    negative_pool: Vec<usize>,
    opt: AdamW,
    rng: Rng,
    /// The weights the run started from (what a cancel or roll-back restores).
    pub(super) initial: Vec<u8>,
    /// The check before the run.
    pub(super) before: Option<f64>,
    steps: usize,
    failure: Option<String>,
}

impl FineTuner {
    /// Prepares a run; the model is not changed until [`FineTuner::step`].
    pub fn new(
        model: &BrowserModel,
        table: Tensor,
        history: &[Step],
        cfg: FineTuneConfig,
    ) -> Result<Self> {
        check_rows(&table, history.iter().map(|s| s.item))?;
        if !(cfg.lr.is_finite() && cfg.lr > 0.0) || cfg.batch == 0 || cfg.n_negatives == 0 {
            return Err(Error::invalid(
                "fine-tuning options",
                "lr > 0, batch > 0, n_negatives > 0",
                format!("{cfg:?}"),
            ));
        }
        let n = table.dim(0)?;
        let holdout = if history.len() >= 10 {
            cfg.holdout.min(history.len() / 4)
        } else {
            0
        };
        let (train, held) = history.split_at(history.len() - holdout);
        let held_out: Vec<usize> = held
            .iter()
            .filter(|s| !s.is_skip())
            .map(|s| s.item)
            .collect();
        let cut_points: Vec<usize> = (1..train.len()).filter(|&t| !train[t].is_skip()).collect();
        if cut_points.is_empty() {
            return Err(Error::invalid(
                "history to learn from",
                "at least two songs, the later one not skipped",
                format!("{} songs", train.len()),
            ));
        }
        let heard: HashSet<usize> = train.iter().map(|s| s.item).collect();
        let mut negative_pool: Vec<usize> = (0..n).filter(|i| !heard.contains(i)).collect();
        negative_pool.extend(train.iter().filter(|s| s.is_skip()).map(|s| s.item));
        if negative_pool.is_empty() {
            return Err(Error::invalid(
                "library to draw negatives from",
                "at least one song not in the history",
                "none",
            ));
        }
        let vars: Vec<Var> = named_vars(&model.varmap)
            .into_iter()
            .filter(|(n, _)| n.starts_with("ainrnn.") || n == LOG_SCALE)
            .map(|(_, v)| v)
            .collect();
        let opt = AdamW::new(
            vars,
            ParamsAdamW {
                lr: cfg.lr,
                weight_decay: 0.0,
                ..Default::default()
            },
        )?;
        let mut tuner = FineTuner {
            cfg,
            table,
            train: train.to_vec(),
            held_out,
            cut_points,
            negative_pool,
            opt,
            rng: Rng::new(derive_seed(cfg.seed, &[hash_str("fine-tune")])),
            initial: model.to_bytes()?,
            before: None,
            steps: 0,
            failure: None,
        };
        tuner.before = tuner.check(model)?;
        Ok(tuner)
    }

    /// The options.
    pub fn config(&self) -> &FineTuneConfig {
        &self.cfg
    }

    /// Steps run so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// True when no further step should run (step limit reached or a step failed).
    pub fn done(&self) -> bool {
        self.steps >= self.cfg.max_steps || self.failure.is_some()
    }

    /// Mean reciprocal rank of the held-out items among every library song not in the training
    /// part of the history (the held-out ones included), with the model's full scores.
    pub fn check(&self, model: &BrowserModel) -> Result<Option<f64>> {
        if self.held_out.is_empty() {
            return Ok(None);
        }
        let heard: HashSet<usize> = self.train.iter().map(|s| s.item).collect();
        let candidates: Vec<usize> = (0..self.table.dim(0)?)
            .filter(|i| !heard.contains(i))
            .collect();
        let scored = model.score(&self.table, &self.train, &candidates)?;
        Ok(Some(crate::metrics::mean_reciprocal_rank(
            &candidates,
            &scored.scores,
            &self.held_out,
        )))
    }

    /// One optimiser step. On a non-finite loss or weights the model goes back to the weights
    /// before this step and the run is over ([`FineTuner::done`]); the report still comes back.
    pub fn step(&mut self, model: &BrowserModel) -> Result<StepReport> {
        if self.done() {
            return Err(Error::Model("the fine-tuning run is over".into()));
        }
        let loss = self.loss(model)?;
        let l = loss.to_scalar::<f32>()?;
        self.steps += 1;
        if !l.is_finite() {
            // Nothing has been updated yet: the weights are still those before this step.
            self.failure = Some(format!("the loss was not finite at step {}", self.steps));
            return Ok(StepReport {
                step: self.steps,
                loss: l,
            });
        }
        // Only the optimised variables move: an in-memory copy of them is the roll-back point
        // (serialising the whole model file every step would cost more than the step).
        let before: Vec<(Var, Tensor)> = named_vars(&model.varmap)
            .into_iter()
            .filter(|(n, _)| n.starts_with("ainrnn.") || n == LOG_SCALE)
            .map(|(_, v)| {
                let copy = v.as_tensor().copy()?;
                Ok((v, copy))
            })
            .collect::<Result<_>>()?;
        self.opt.backward_step(&loss)?;
        model.net.clip_recurrent()?;
        let finite = named_vars(&model.varmap).iter().all(|(_, v)| {
            v.as_tensor()
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .is_ok_and(|x| x.iter().all(|v| v.is_finite()))
        });
        if !finite {
            self.failure = Some(format!(
                "the weights were not finite after step {}",
                self.steps
            ));
            for (var, saved) in &before {
                var.set(saved)?;
            }
        }
        Ok(StepReport {
            step: self.steps,
            loss: l,
        })
    }

    fn loss(&mut self, model: &BrowserModel) -> Result<Tensor> {
        let dev = &model.device;
        let b = self.cfg.batch.min(self.cut_points.len());
        let picks = self.rng.sample_indices(self.cut_points.len(), b)?;
        let n_neg = self.cfg.n_negatives.min(self.negative_pool.len());
        let negs: Vec<usize> = self
            .rng
            .sample_indices(self.negative_pool.len(), n_neg)?
            .into_iter()
            .map(|i| self.negative_pool[i])
            .collect();
        let win = self.cfg.window.min(model.cfg.ainrnn.max_len).max(1);
        let c = 1 + n_neg;
        let mut windows = Vec::with_capacity(b);
        let mut cands = Vec::with_capacity(b * c);
        let mut users = Vec::with_capacity(b * model.cfg.ainrnn.item_dim);
        for &p in &picks {
            let t = self.cut_points[p];
            let window = &self.train[t.saturating_sub(win)..t];
            windows.push(
                window
                    .iter()
                    .map(|s| (s.item as u32, s.plays.max(0.0)))
                    .collect(),
            );
            cands.push(self.train[t].item as u32);
            cands.extend(negs.iter().map(|&j| j as u32));
            users.extend(prior_user(&self.table, window, &model.cfg.prior)?.to_vec1::<f32>()?);
        }
        let (history, plays, mask) = PaddedHistories::new(&windows).tensors(&self.table)?;
        let candidates = gather(&self.table, cands, b, c)?;
        let users = Tensor::from_vec(users, (b, model.cfg.ainrnn.item_dim, 1), dev)?;
        let prior = candidates.matmul(&users)?.squeeze(2)?; // (B, C), constant
        let portrait = model.empty_portrait(b)?;
        let mut dropout = Rng::new(self.rng.next_u64());
        let out = model.net.forward(
            &Batch {
                history: &history,
                plays: &plays,
                mask: &mask,
                portrait: &portrait,
                candidates: &candidates,
            },
            Some(&mut dropout),
        )?;
        let scores = (prior.broadcast_mul(&model.log_scale.exp()?)? + out.scores)?;
        let target = Tensor::zeros(b, candle_core::DType::U32, dev)?;
        Ok(candle_nn::loss::cross_entropy(&scores, &target)?)
    }

    /// Ends the run: the check after fine-tuning, and a roll-back to the starting weights when a
    /// step failed or the check got worse. Updates the model's `info` when the weights are kept.
    pub fn finish(self, model: &mut BrowserModel) -> Result<FineTuneOutcome> {
        let mut rolled_back = self.failure.clone();
        let after = if rolled_back.is_none() {
            self.check(model)?
        } else {
            None
        };
        if rolled_back.is_none() {
            if let (Some(b), Some(a)) = (self.before, after) {
                if a < b {
                    rolled_back = Some(format!(
                        "the check on your last plays got worse ({a:.3} < {b:.3})"
                    ));
                }
            }
        }
        let kept = rolled_back.is_none() && self.steps > 0;
        if !kept {
            model.restore(&self.initial)?;
        } else {
            let mut info = model.info.clone();
            if let Value::Object(m) = &mut info {
                m.insert(
                    "fine_tuned".into(),
                    serde_json::json!({
                        "steps": self.steps,
                        "history_items": self.train.len() + self.held_out.len(),
                        "check_before": self.before,
                        "check_after": after,
                    }),
                );
            }
            model.info = info;
        }
        Ok(FineTuneOutcome {
            steps: self.steps,
            before: self.before,
            after: if kept { after } else { self.before },
            checked: after,
            kept,
            rolled_back,
            held_out: self.held_out,
        })
    }
}
