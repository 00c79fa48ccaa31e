//! Training: Adam (lr 5e-4, the paper's rate), positives scored against sampled negatives
//! through the *same* target attention used to rank, early stopping on a validation set,
//! fixed seeds, checkpoints as safetensors bytes.
//!
//! One example is `(history, positive item)`. Each step scores the positive and
//! [`TrainConfig::n_negatives`] items drawn uniformly from the catalog (never one of the user's
//! history or known positives) and minimises the softmax cross-entropy with the positive in
//! slot 0 — sampled softmax, the way the model is used: rank a candidate set. Song embeddings
//! come from the song encoder over content features, trained jointly.
//!
//! Everything random (example order, negatives, dropout, initial weights) comes from SplitMix64
//! streams derived from [`TrainConfig::seed`], so a run is reproducible on every platform. No
//! clock and no files: the caller times epochs in [`Trainer::fit`]'s callback (the browser and
//! the CLI have different clocks) and stores the checkpoint bytes where it likes.

use std::collections::HashSet;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use serde::{Deserialize, Serialize};

use crate::data::history::Portrait;
use crate::data::rng::{derive_seed, hash_str, Rng};
use crate::error::{Error, Result};
use crate::model::ainrnn::{self, Ainrnn, Batch};
use crate::model::portrait::PortraitBatch;
use crate::model::song_encoder::{self, SongEncoder};
use crate::model::{seeded_var_builder, to_safetensors, trainable_vars};

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
        }
    }
}

/// One training or validation example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The history, oldest first: `(catalog item, play count)`. Only the last
    /// `max_len` items are used.
    pub history: Vec<(usize, f32)>,
    /// The item to rank first.
    pub positive: usize,
    /// Items never drawn as negatives for this example (the user's other known items).
    pub exclude: Vec<usize>,
    /// The user's portrait, if any.
    pub portrait: Option<Portrait>,
}

/// Losses of one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (with dropout).
    pub train_loss: f32,
    /// Mean validation loss (no dropout, fixed negatives).
    pub valid_loss: f32,
}

/// What [`Trainer::fit`] returns.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Every epoch run.
    pub epochs: Vec<EpochStats>,
    /// The epoch with the lowest validation loss (1-based).
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
        if cfg.batch_size == 0 || cfg.n_negatives == 0 || !cfg.lr.is_finite() || cfg.lr <= 0.0 {
            return Err(Error::invalid(
                "training config",
                "batch_size, n_negatives and lr > 0",
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
        })
    }

    /// The network being trained.
    pub fn model(&self) -> &Ainrnn {
        &self.model
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
        if train.is_empty() {
            return Err(Error::invalid("training examples", "at least one", 0));
        }
        let valid_seed = derive_seed(self.cfg.seed, &[hash_str("valid")]);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut epochs = Vec::new();
        let mut best: Option<(usize, f32, Vec<u8>)> = None;
        let mut cancelled = false;
        for epoch in 1..=self.cfg.max_epochs {
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
            let stats = EpochStats {
                epoch,
                train_loss: (total / n as f64) as f32,
                valid_loss: self.evaluate(valid, valid_seed)?,
            };
            if !stats.train_loss.is_finite() {
                return Err(Error::Model(format!("training diverged at epoch {epoch}")));
            }
            epochs.push(stats);
            if best.as_ref().is_none_or(|(_, l, _)| stats.valid_loss < *l) {
                best = Some((epoch, stats.valid_loss, self.checkpoint()?));
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

    /// Cross-entropy of one batch: positive in candidate slot 0, `n_negatives` after it.
    fn loss(
        &self,
        examples: &[Example],
        rng: &mut Rng,
        dropout: Option<&mut Rng>,
    ) -> Result<Tensor> {
        let b = examples.len();
        let n_items = self.features.dim(0)?;
        let max_len = self.model.config().max_len;
        let t = examples
            .iter()
            .map(|e| e.history.len().min(max_len))
            .max()
            .unwrap_or(0)
            .max(1);
        let c = 1 + self.cfg.n_negatives;
        // Right-padded histories of the last `max_len` items; padding points at item 0 with
        // mask 0 (its embedding is computed but never used).
        let (mut ids, mut plays, mut mask) =
            (vec![0u32; b * t], vec![0f32; b * t], vec![0f32; b * t]);
        let mut cands = Vec::with_capacity(b * c);
        for (i, e) in examples.iter().enumerate() {
            if e.positive >= n_items {
                return Err(Error::invalid(
                    "positive item",
                    format!("< {n_items}"),
                    e.positive,
                ));
            }
            let recent = &e.history[e.history.len().saturating_sub(max_len)..];
            for (s, &(item, p)) in recent.iter().enumerate() {
                if item >= n_items {
                    return Err(Error::invalid("history item", format!("< {n_items}"), item));
                }
                ids[i * t + s] = item as u32;
                plays[i * t + s] = p;
                mask[i * t + s] = 1.0;
            }
            let mut taken: HashSet<usize> = e.exclude.iter().copied().collect();
            taken.extend(e.history.iter().map(|h| h.0));
            taken.insert(e.positive);
            let free = n_items.saturating_sub(taken.len());
            if free < self.cfg.n_negatives {
                return Err(Error::invalid(
                    "catalog items left for negatives",
                    format!("≥ {}", self.cfg.n_negatives),
                    free,
                ));
            }
            cands.push(e.positive as u32);
            let mut drawn = 0;
            while drawn < self.cfg.n_negatives {
                let j = rng.below(n_items as u64) as usize;
                if taken.insert(j) {
                    cands.push(j as u32);
                    drawn += 1;
                }
            }
        }
        let dev = &self.device;
        let d = self.model.config().item_dim;
        let embed = |ids: Vec<u32>| -> Result<Tensor> {
            let n = ids.len();
            let idx = Tensor::from_vec(ids, n, dev)?;
            self.encoder.forward(&self.features.index_select(&idx, 0)?)
        };
        let history = embed(ids)?.reshape((b, t, d))?;
        let candidates = embed(cands)?.reshape((b, c, d))?;
        let plays = Tensor::from_vec(plays, (b, t), dev)?;
        let mask = Tensor::from_vec(mask, (b, t), dev)?;
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
        let labels = Tensor::zeros(b, DType::U32, dev)?;
        Ok(candle_nn::loss::cross_entropy(&out.scores, &labels)?)
    }
}
