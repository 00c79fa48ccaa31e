//! Training: Adam (lr 5e-4, the paper's rate), positives scored against sampled negatives
//! through the *same* target attention used to rank, early stopping on a validation set,
//! fixed seeds, checkpoints as safetensors bytes.
//!
//! One example is `(history, positive items)`. Each step scores the positives and
//! [`TrainConfig::n_negatives`] items drawn from the catalog — uniformly, or in proportion to
//! given weights with the sampled-softmax correction ([`Trainer::set_negative_weights`]) — shared
//! by the example's positives (a user's own items are masked out), and minimises for every
//! positive the softmax cross-entropy of that positive against the negatives — sampled softmax,
//! the way the model is used: rank a candidate set. One recurrent pass per user serves all of
//! their positives, which is what makes per-fold retraining affordable on a CPU. Song
//! embeddings come from the song encoder over content features (plus optional id embeddings),
//! trained jointly.
//!
//! Everything random (example order, negatives, dropout, initial weights) comes from SplitMix64
//! streams derived from [`TrainConfig::seed`], so a run is reproducible on every platform. No
//! clock and no files: the caller times epochs in [`Trainer::fit`]'s callback (the browser and
//! the CLI have different clocks) and stores the checkpoint bytes where it likes.

use std::collections::{HashMap, HashSet};

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use serde::{Deserialize, Serialize};

use crate::data::history::Portrait;
use crate::error::{Error, Result};
use crate::model::ainrnn::{self, Ainrnn, Batch};
use crate::model::batch::{gather, PaddedHistories};
use crate::model::model_file::encode_catalog;
use crate::model::portrait::PortraitBatch;
use crate::model::song_encoder::{self, SongEncoder};
use crate::model::{seeded_var_builder, to_safetensors, trainable_vars};
use crate::util::rng::{derive_seed, hash_str, Rng};

/// Training hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Adam learning rate (5e-4 in the paper).
    pub lr: f64,
    /// Most epochs to run.
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
    /// Examples per optimiser step.
    pub batch_size: usize,
    /// Sampled negatives per positive.
    pub n_negatives: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Sampled or full softmax (see [`Loss`]).
    #[serde(default)]
    pub loss: Loss,
    /// Factor on the learning rate after every epoch that does not improve the early-stopping
    /// score (1 = a constant rate): the decay starts when the ranking has peaked.
    #[serde(default = "one")]
    pub lr_decay: f64,
}

fn one() -> f64 {
    1.0
}

/// What each positive's softmax runs over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// The positive against [`TrainConfig::n_negatives`] drawn negatives shared by the batch.
    #[default]
    Sampled,
    /// The positive against every catalog item the user does not know — cross-entropy over the
    /// whole catalog (Klenitskiy & Vasilev 2023), scored with [`Ainrnn::score_shared`]; no
    /// sampling, so no correction and no `n_negatives`.
    Full,
}

impl Loss {
    /// True for [`Loss::Sampled`] (the default, left out of serialised grids).
    pub fn is_sampled(&self) -> bool {
        *self == Loss::Sampled
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            lr: 5e-4,
            max_epochs: 30,
            patience: 3,
            batch_size: 32,
            n_negatives: 20,
            seed: 2022,
            loss: Loss::Sampled,
            lr_decay: 1.0,
        }
    }
}

/// One training or validation example: a user's history and the items they went on to play.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The history, oldest first: `(catalog item, play count)`. Only the last
    /// `max_len` items are used.
    pub history: Vec<(usize, f32)>,
    /// The items to rank above the negatives (at least one). Each is scored against the
    /// example's shared negatives: loss = mean over positives of −log softmax(positive, negatives).
    pub positives: Vec<usize>,
    /// Items never drawn as negatives for this example (the user's other known items).
    pub exclude: Vec<usize>,
    /// The user's portrait, if any.
    pub portrait: Option<Portrait>,
}

/// An early-stopping criterion measured on the trainer after an epoch; lower is better (see
/// [`Trainer::fit_with_criterion`]).
pub type Criterion<'a> = dyn FnMut(&Trainer) -> Result<f32> + 'a;

/// Losses of one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (with dropout).
    pub train_loss: f32,
    /// Mean validation loss (no dropout, fixed negatives).
    pub valid_loss: f32,
    /// The early-stopping criterion when it is not the validation loss (see
    /// [`Trainer::fit_with_criterion`]); lower is better.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criterion: Option<f32>,
}

/// What [`Trainer::fit`] returns.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Every epoch run.
    pub epochs: Vec<EpochStats>,
    /// The epoch with the lowest validation loss, or criterion when one was given (1-based).
    pub best_epoch: usize,
    /// Safetensors bytes of the weights at `best_epoch` (see [`Trainer::checkpoint`]).
    pub checkpoint: Vec<u8>,
    /// True when the callback asked to stop.
    pub cancelled: bool,
}

/// The song encoder and AINRNN trained together over a content-feature matrix.
pub struct Trainer {
    varmap: VarMap,
    encoder: SongEncoder,
    model: Ainrnn,
    /// `(n_items, d_in)` content features.
    features: Tensor,
    opt: AdamW,
    cfg: TrainConfig,
    device: Device,
    /// Non-uniform negatives, when set ([`Trainer::set_negative_weights`]).
    sampler: Option<NegativeSampler>,
}

/// Draws negatives with probability `q_i ∝ weight_i` (with replacement) and knows `ln q_i`, the
/// sampled-softmax correction: every candidate's score is lowered by `ln q` of its item, so the
/// loss still estimates the full softmax however skewed the proposal (Bengio & Senécal 2008;
/// Jean et al. 2015). Uniform sampling needs no correction (ln q is one constant).
struct NegativeSampler {
    /// Running sums of the weights; the last is the total.
    cumulative: Vec<f64>,
    /// `ln q_i` per item.
    log_q: Vec<f32>,
}

impl NegativeSampler {
    fn new(weights: &[f64]) -> Result<Self> {
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !w.is_finite() || **w <= 0.0)
        {
            return Err(Error::invalid(
                format!("negative-sampling weight of item {i}"),
                "a finite value > 0",
                w,
            ));
        }
        let mut total = 0.0;
        let cumulative: Vec<f64> = weights
            .iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        let log_q = weights.iter().map(|w| (w / total).ln() as f32).collect();
        Ok(NegativeSampler { cumulative, log_q })
    }

    fn draw(&self, rng: &mut Rng, k: usize) -> Vec<usize> {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        (0..k)
            .map(|_| {
                let x = rng.next_f64() * total;
                self.cumulative
                    .partition_point(|&c| c <= x)
                    .min(self.cumulative.len() - 1)
            })
            .collect()
    }
}

impl Trainer {
    /// A fresh model (weights from `cfg.seed`) over `features` (one row of `d_in` content
    /// features per catalog item). The encoder's standardisation statistics are measured on
    /// `features`. Variable prefixes: `song.*`, `ainrnn.*`.
    pub fn new(
        features: Vec<Vec<f32>>,
        encoder_cfg: song_encoder::Config,
        model_cfg: ainrnn::Config,
        cfg: TrainConfig,
        device: &Device,
    ) -> Result<Self> {
        if encoder_cfg.output_dim != model_cfg.item_dim {
            return Err(Error::invalid(
                "song encoder output_dim",
                format!("the model's item_dim {}", model_cfg.item_dim),
                encoder_cfg.output_dim,
            ));
        }
        if cfg.batch_size == 0
            || cfg.n_negatives == 0
            || !cfg.lr.is_finite()
            || cfg.lr <= 0.0
            || !(cfg.lr_decay > 0.0 && cfg.lr_decay <= 1.0)
        {
            return Err(Error::invalid(
                "training config",
                "batch_size, n_negatives and lr > 0, lr_decay in (0, 1]",
                format!("{cfg:?}"),
            ));
        }
        let n = features.len();
        let d = encoder_cfg.input_dim;
        if let Some((i, row)) = features.iter().enumerate().find(|(_, r)| r.len() != d) {
            return Err(Error::invalid(
                format!("content features of item {i}"),
                format!("{d} values"),
                row.len(),
            ));
        }
        if n <= cfg.n_negatives {
            return Err(Error::invalid(
                "catalog size",
                format!("more than n_negatives ({})", cfg.n_negatives),
                n,
            ));
        }
        let flat: Vec<f32> = features.into_iter().flatten().collect();
        let features = Tensor::from_vec(flat, (n, d), device)?;
        let varmap = VarMap::new();
        let vb = seeded_var_builder(&varmap, cfg.seed, device);
        let encoder = SongEncoder::new(encoder_cfg, vb.pp("song"))?;
        encoder.fit_stats(&features)?;
        let model = Ainrnn::new(model_cfg, vb.pp("ainrnn"))?;
        let opt = AdamW::new(
            trainable_vars(&varmap),
            ParamsAdamW {
                lr: cfg.lr,
                weight_decay: 0.0, // plain Adam, as in the paper
                ..Default::default()
            },
        )?;
        Ok(Trainer {
            varmap,
            encoder,
            model,
            features,
            opt,
            cfg,
            device: device.clone(),
            sampler: None,
        })
    }

    /// Draws negatives in proportion to `weights` (one per catalog item, each > 0) instead of
    /// uniformly, with the matching correction in the loss (see [`NegativeSampler`]); `None`
    /// restores uniform draws.
    pub fn set_negative_weights(&mut self, weights: Option<&[f64]>) -> Result<()> {
        let n = self.features.dim(0)?;
        self.sampler = match weights {
            None => None,
            Some(w) if w.len() != n => {
                return Err(Error::invalid(
                    "negative-sampling weights",
                    format!("{n} (one per item)"),
                    w.len(),
                ))
            }
            Some(w) => Some(NegativeSampler::new(w)?),
        };
        Ok(())
    }

    /// The optimiser's current learning rate (after any [`TrainConfig::lr_decay`]).
    pub fn learning_rate(&self) -> f64 {
        self.opt.learning_rate()
    }

    /// The network being trained.
    pub fn model(&self) -> &Ainrnn {
        &self.model
    }

    /// The variables (weights and buffers) of the encoder (`song.*`) and network (`ainrnn.*`).
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The song encoder being trained.
    pub fn encoder(&self) -> &SongEncoder {
        &self.encoder
    }

    /// The current weights (with the encoder's statistics and the model's configuration in the
    /// metadata) as safetensors bytes; [`Ainrnn::from_bytes`] with prefix `ainrnn` reads them.
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        let mut meta = self.model.metadata()?;
        meta.insert(
            "ainrec.song_encoder.config".into(),
            serde_json::to_string(self.encoder.config())?,
        );
        meta.insert(
            "ainrec.train.config".into(),
            serde_json::to_string(&self.cfg)?,
        );
        to_safetensors(&self.varmap, meta)
    }

    /// The mean loss over `examples` without dropout and without updating anything, with
    /// negatives drawn from `seed` (use the same seed across epochs to compare them).
    pub fn evaluate(&self, examples: &[Example], seed: u64) -> Result<f32> {
        if examples.is_empty() {
            return Err(Error::invalid("validation examples", "at least one", 0));
        }
        let mut rng = Rng::new(seed);
        let (mut total, mut n) = (0f64, 0usize);
        for chunk in examples.chunks(self.cfg.batch_size) {
            let loss = self.loss(chunk, &mut rng, None)?;
            total += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
            n += chunk.len();
        }
        Ok((total / n as f64) as f32)
    }

    /// Trains on `train`, early-stopping on the loss over `valid`. After each epoch `on_epoch`
    /// gets its statistics and returns false to stop (cancel). The best epoch's weights are
    /// restored at the end and returned as a checkpoint.
    pub fn fit(
        &mut self,
        train: &[Example],
        valid: &[Example],
        on_epoch: &mut dyn FnMut(&EpochStats) -> bool,
    ) -> Result<TrainReport> {
        self.fit_with(&mut |_| Ok(train.to_vec()), valid, on_epoch)
    }

    /// [`Trainer::fit`] with fresh training examples each epoch: `make_train(epoch)` (1-based)
    /// returns that epoch's examples. Redrawing each user's input/target split every epoch is
    /// what keeps per-item id embeddings from memorising which items follow which history.
    pub fn fit_with(
        &mut self,
        make_train: &mut dyn FnMut(usize) -> Result<Vec<Example>>,
        valid: &[Example],
        on_epoch: &mut dyn FnMut(&EpochStats) -> bool,
    ) -> Result<TrainReport> {
        self.fit_with_criterion(make_train, valid, None, on_epoch)
    }

    /// [`Trainer::fit_with`] choosing the best epoch (and stopping) by `criterion(self)` after
    /// each epoch instead of the validation loss; lower is better. The validation loss is still
    /// computed and reported. Why: the sampled validation loss of a few hundred users is a noisy
    /// stand-in for what the model is for — ranking the whole catalog — and can pick the first
    /// epoch of a run whose ranking goes on improving.
    pub fn fit_with_criterion(
        &mut self,
        make_train: &mut dyn FnMut(usize) -> Result<Vec<Example>>,
        valid: &[Example],
        mut criterion: Option<&mut Criterion<'_>>,
        on_epoch: &mut dyn FnMut(&EpochStats) -> bool,
    ) -> Result<TrainReport> {
        let valid_seed = derive_seed(self.cfg.seed, &[hash_str("valid")]);
        let mut epochs = Vec::new();
        let mut best: Option<(usize, f32, Vec<u8>)> = None;
        let mut cancelled = false;
        for epoch in 1..=self.cfg.max_epochs {
            let train = make_train(epoch)?;
            if train.is_empty() {
                return Err(Error::invalid("training examples", "at least one", 0));
            }
            let mut order: Vec<usize> = (0..train.len()).collect();
            let mut rng = Rng::new(derive_seed(
                self.cfg.seed,
                &[hash_str("epoch"), epoch as u64],
            ));
            rng.shuffle(&mut order);
            let (mut total, mut n) = (0f64, 0usize);
            for idx in order.chunks(self.cfg.batch_size) {
                let chunk: Vec<Example> = idx.iter().map(|&i| train[i].clone()).collect();
                let mut dropout = Rng::new(rng.next_u64());
                let loss = self.loss(&chunk, &mut rng, Some(&mut dropout))?;
                self.opt.backward_step(&loss)?;
                self.model.clip_recurrent()?;
                total += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
                n += chunk.len();
            }
            let train_loss = (total / n as f64) as f32;
            if !train_loss.is_finite() {
                return Err(Error::Model(format!("training diverged at epoch {epoch}")));
            }
            let stats = EpochStats {
                epoch,
                train_loss,
                valid_loss: self.evaluate(valid, valid_seed)?,
                criterion: match criterion.as_mut() {
                    Some(c) => Some(c(self)?),
                    None => None,
                },
            };
            epochs.push(stats);
            let score = stats.criterion.unwrap_or(stats.valid_loss);
            if best.as_ref().is_none_or(|(_, l, _)| score < *l) {
                best = Some((epoch, score, self.checkpoint()?));
            } else if self.cfg.lr_decay < 1.0 {
                let lr = self.opt.learning_rate() * self.cfg.lr_decay;
                self.opt.set_learning_rate(lr);
            }
            if !on_epoch(&stats) {
                cancelled = true;
                break;
            }
            let best_epoch = best.as_ref().map_or(epoch, |b| b.0);
            if epoch - best_epoch >= self.cfg.patience {
                break;
            }
        }
        let (best_epoch, _, checkpoint) = best.ok_or(Error::Cancelled)?;
        self.restore(&checkpoint)?;
        Ok(TrainReport {
            epochs,
            best_epoch,
            checkpoint,
            cancelled,
        })
    }

    /// Loads checkpoint weights into the live variables (same names and shapes).
    fn restore(&self, bytes: &[u8]) -> Result<()> {
        let saved = candle_core::safetensors::load_buffer(bytes, &self.device)?;
        let data = self.varmap.data().lock().unwrap_or_else(|p| p.into_inner());
        for (name, var) in data.iter() {
            let t = saved
                .get(name)
                .ok_or_else(|| Error::Model(format!("checkpoint has no variable {name}")))?;
            var.set(t)?;
        }
        Ok(())
    }

    /// The training loss of one batch under [`TrainConfig::loss`] (mean over positives of
    /// −log softmax of the positive against the user's negatives).
    fn loss(
        &self,
        examples: &[Example],
        rng: &mut Rng,
        dropout: Option<&mut Rng>,
    ) -> Result<Tensor> {
        match self.cfg.loss {
            Loss::Sampled => self.sampled_loss(examples, rng, dropout),
            Loss::Full => self.full_loss(examples, dropout),
        }
    }

    /// Full-softmax loss of one batch: every positive against every item its user does not
    /// know (history, exclusions and the other positives are masked out of the denominator, as
    /// a sampled negative that is the user's own is). The whole catalog is encoded once per
    /// step and scored for every user by [`Ainrnn::score_shared`].
    fn full_loss(&self, examples: &[Example], dropout: Option<&mut Rng>) -> Result<Tensor> {
        let b = examples.len();
        let n_items = self.features.dim(0)?;
        let max_len = self.model.config().max_len;
        let p = check_positives(examples)?;
        let mut known = vec![1f32; b * n_items]; // 1: in the softmax's denominator
        let mut pos_idx = Vec::with_capacity(b * p);
        let mut pos_mask = vec![0f32; b * p];
        let mut windows: Vec<Vec<(u32, f32)>> = Vec::with_capacity(b);
        for (i, e) in examples.iter().enumerate() {
            let own = e
                .exclude
                .iter()
                .chain(e.history.iter().map(|h| &h.0))
                .chain(&e.positives);
            for &item in own {
                if item >= n_items {
                    return Err(Error::invalid(
                        "item of an example",
                        format!("< {n_items}"),
                        item,
                    ));
                }
                known[i * n_items + item] = 0.0;
            }
            let recent = &e.history[e.history.len().saturating_sub(max_len)..];
            windows.push(recent.iter().map(|&(item, pl)| (item as u32, pl)).collect());
            for k in 0..p {
                pos_idx.push(*e.positives.get(k).unwrap_or(&e.positives[0]) as u32);
                pos_mask[i * p + k] = f32::from(k < e.positives.len());
            }
        }
        let dev = &self.device;
        let table = self.embed((0..n_items as u32).collect())?; // (n_items, d)
        let (history, plays, mask) = PaddedHistories::new(&windows).tensors(&table)?;
        let portraits: Vec<Option<&Portrait>> =
            examples.iter().map(|e| e.portrait.as_ref()).collect();
        let (portrait, _) = PortraitBatch::new(&portraits, &self.model.config().portrait, dev)?;
        let scores = self.model.score_shared(
            &Batch {
                history: &history,
                plays: &plays,
                mask: &mask,
                portrait: &portrait,
                candidates: &table,
            },
            &table,
            dropout,
        )?; // (B, n_items)
        let pos = scores.gather(&Tensor::from_vec(pos_idx, (b, p), dev)?, 1)?; // (B, P)
        let known = Tensor::from_vec(known, (b, n_items), dev)?;
        let neg = (scores + known.affine(1e9, -1e9)?)?;
        positive_softmax_loss(&neg, &pos, pos_mask)
    }

    /// Sampled-softmax loss of one batch: candidates are each example's positives (padded to
    /// the batch's most) followed by `n_negatives` negatives shared by the whole batch.
    ///
    /// Why shared: the song encoder is the costly part of a step, and with shared negatives it
    /// runs once per distinct item of the batch (histories, positives, negatives) instead of
    /// once per (user, candidate). A negative that is one of a user's own items is masked out of
    /// that user's softmax rather than redrawn, so no user is pushed away from their own songs.
    fn sampled_loss(
        &self,
        examples: &[Example],
        rng: &mut Rng,
        dropout: Option<&mut Rng>,
    ) -> Result<Tensor> {
        let b = examples.len();
        let n_items = self.features.dim(0)?;
        let max_len = self.model.config().max_len;
        let p = check_positives(examples)?;
        let n_neg = self.cfg.n_negatives;
        let c = p + n_neg;
        // Every item a user knows: never a negative for that user.
        let mut taken: Vec<HashSet<usize>> = Vec::with_capacity(b);
        for e in examples {
            let mut own: HashSet<usize> = e.exclude.iter().copied().collect();
            own.extend(e.history.iter().map(|h| h.0));
            own.extend(e.positives.iter().copied());
            if let Some(&bad) = own.iter().find(|&&i| i >= n_items) {
                return Err(Error::invalid(
                    "item of an example",
                    format!("< {n_items}"),
                    bad,
                ));
            }
            if n_items.saturating_sub(own.len()) < n_neg {
                return Err(Error::invalid(
                    "catalog items left for negatives",
                    format!("≥ {n_neg}"),
                    n_items.saturating_sub(own.len()),
                ));
            }
            taken.push(own);
        }
        let negatives = match &self.sampler {
            Some(s) => s.draw(rng, n_neg),
            None => rng.sample_indices(n_items, n_neg)?,
        };
        // Rows of the distinct-item table, built in first-use order.
        let mut row_of: HashMap<usize, u32> = HashMap::new();
        let mut distinct: Vec<u32> = Vec::new();
        let mut row = |item: usize| -> u32 {
            *row_of.entry(item).or_insert_with(|| {
                distinct.push(item as u32);
                (distinct.len() - 1) as u32
            })
        };
        // The last `max_len` items of each history (padded in `PaddedHistories`). Padded
        // positive slots repeat the first positive and are masked out of the loss.
        let mut windows: Vec<Vec<(u32, f32)>> = Vec::with_capacity(b);
        let mut cand_rows = Vec::with_capacity(b * c);
        let mut cand_items = Vec::with_capacity(b * c);
        let mut pos_mask = vec![0f32; b * p];
        let mut neg_mask = vec![0f32; b * n_neg];
        for (i, e) in examples.iter().enumerate() {
            let recent = &e.history[e.history.len().saturating_sub(max_len)..];
            windows.push(recent.iter().map(|&(item, pl)| (row(item), pl)).collect());
            for k in 0..p {
                let item = *e.positives.get(k).unwrap_or(&e.positives[0]);
                cand_items.push(item);
                cand_rows.push(row(item));
                pos_mask[i * p + k] = f32::from(k < e.positives.len());
            }
            for (k, &j) in negatives.iter().enumerate() {
                cand_items.push(j);
                cand_rows.push(row(j));
                neg_mask[i * n_neg + k] = f32::from(!taken[i].contains(&j));
            }
        }
        let dev = &self.device;
        let table = self.embed(distinct)?; // (distinct items, d)
        let (history, plays, mask) = PaddedHistories::new(&windows).tensors(&table)?;
        let candidates = gather(&table, cand_rows, b, c)?;
        let portraits: Vec<Option<&Portrait>> =
            examples.iter().map(|e| e.portrait.as_ref()).collect();
        let (portrait, _) = PortraitBatch::new(&portraits, &self.model.config().portrait, dev)?;
        let out = self.model.forward(
            &Batch {
                history: &history,
                plays: &plays,
                mask: &mask,
                portrait: &portrait,
                candidates: &candidates,
            },
            dropout,
        )?;
        let scores = match &self.sampler {
            None => out.scores,
            Some(s) => {
                // Candidates of example i are rows i·c … i·c + c − 1 of cand_items.
                let log_q: Vec<f32> = cand_items.iter().map(|&j| s.log_q[j]).collect();
                (out.scores - Tensor::from_vec(log_q, (b, c), dev)?)?
            }
        };
        let pos = scores.narrow(1, 0, p)?; // (B, P)
        let neg_mask = Tensor::from_vec(neg_mask, (b, n_neg), dev)?;
        // Masked negatives get −1e9 before the log-sum-exp: exp underflows to exactly 0.
        let neg = (scores.narrow(1, p, n_neg)? + neg_mask.affine(1e9, -1e9)?)?; // (B, N)
        positive_softmax_loss(&neg, &pos, pos_mask)
    }

    /// Song embeddings `(N, d)` of catalog items `ids`.
    fn embed(&self, ids: Vec<u32>) -> Result<Tensor> {
        let n = ids.len();
        let idx = Tensor::from_vec(ids, n, &self.device)?;
        self.encoder
            .forward_items(&self.features.index_select(&idx, 0)?, &idx)
    }

    /// Embeddings `(n_items, d)` of the whole catalog with the current weights, computed the
    /// way a loaded model file computes them ([`encode_catalog`]), so both score alike.
    pub fn item_embeddings(&self) -> Result<Tensor> {
        Ok(encode_catalog(&self.encoder, &self.features)?.detach())
    }
}

/// The most positives of any example of the batch (the width they are padded to); an error
/// when an example has none.
fn check_positives(examples: &[Example]) -> Result<usize> {
    let p = examples
        .iter()
        .map(|e| e.positives.len())
        .max()
        .unwrap_or(0);
    if p == 0 || examples.iter().any(|e| e.positives.is_empty()) {
        return Err(Error::invalid(
            "training example",
            "at least one positive",
            0,
        ));
    }
    Ok(p)
}

/// Mean over the real positives (`pos_mask` 1) of −log softmax of each positive `(B, P)`
/// against its user's negatives `neg (B, N)` (masked ones already at −1e9):
/// softplus(lse(neg) − pos), stable for any sign.
fn positive_softmax_loss(neg: &Tensor, pos: &Tensor, pos_mask: Vec<f32>) -> Result<Tensor> {
    let lse = log_sum_exp(neg)?; // (B, 1)
    let x = lse.broadcast_sub(pos)?;
    let softplus = (x.relu()? + x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?;
    let pos_mask = Tensor::from_vec(pos_mask, pos.dims2()?, pos.device())?;
    let n_pos = pos_mask.sum_all()?;
    Ok((softplus * pos_mask)?.sum_all()?.broadcast_div(&n_pos)?)
}

/// `log Σ_j exp(x_ij)` over the last dimension, `(B, N)` → `(B, 1)`, shifted by the row maximum
/// so large scores do not overflow.
fn log_sum_exp(x: &Tensor) -> Result<Tensor> {
    let m = x.max_keepdim(1)?.detach();
    Ok(x.broadcast_sub(&m)?
        .exp()?
        .sum_keepdim(1)?
        .log()?
        .broadcast_add(&m)?)
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn negatives_are_drawn_in_proportion_to_their_weights() {
        let s = NegativeSampler::new(&[1.0, 3.0, 0.5, 0.5]).unwrap();
        // q = [0.2, 0.6, 0.1, 0.1], stored as logs.
        for (lq, q) in s.log_q.iter().zip([0.2f32, 0.6, 0.1, 0.1]) {
            assert!((lq.exp() - q).abs() < 1e-6, "{lq} vs ln {q}");
        }
        let mut rng = Rng::new(3);
        let mut counts = [0usize; 4];
        for i in s.draw(&mut rng, 20_000) {
            counts[i] += 1;
        }
        // Each share within 1.5 % of q (binomial sd ≤ 0.35 % at n = 20 000).
        for (c, q) in counts.iter().zip([0.2, 0.6, 0.1, 0.1]) {
            let share = *c as f64 / 20_000.0;
            assert!((share - q).abs() < 0.015, "{counts:?}");
        }
        // Same seed, same draws.
        assert_eq!(s.draw(&mut Rng::new(9), 50), s.draw(&mut Rng::new(9), 50));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = NegativeSampler::new(&[1.0, bad]).err().unwrap().to_string();
            assert!(e.contains("item 1"), "{e}");
        }
    }
}
