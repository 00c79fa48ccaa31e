//! Fitting the neural models on a listening data set, behind the evaluation harness's
//! [`Trainer`](crate::eval::Trainer): item features from content, training examples from
//! histories, early stopping on held-out training users, and the fitted
//! [`NeuralRecommender`].
//!
//! The three models of the paper's comparison are one network with switches
//! ([`NeuralKind`]): `ainrnn` (dense IndRNN stack + eq. 4 attention), `indrnn` (the same stack,
//! last state instead of attention — the paper's IndRNN baseline) and `lstm` (LSTM cells, last
//! state). `ainrnn_shuffled` is AINRNN trained and queried on randomly reordered histories: the
//! control that measures how much the (partial) time order contributes.
//!
//! Item content on hetrec is a tag profile over ~11k tags; the song encoder reads the
//! [`NeuralConfig::vocab`] tags used on the most artists, `ln(1 + count)`, each row scaled to
//! unit length, plus a learned per-artist id embedding (see
//! [`song_encoder::Config::n_ids`](crate::model::song_encoder::Config)).

use std::cell::RefCell;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::rng::{derive_seed, hash_str, Rng};
use crate::data::splits::split_user;
use crate::data::{ContentMatrix, Dataset, Listen};
use crate::error::{Error, Result};
use crate::eval::{Accumulator, FitContext, Trainer as EvalTrainer, TUNING_METRIC};
use crate::model::ainrnn::{self, CellKind, Connections};
use crate::model::recommender::NeuralRecommender;
use crate::model::train::{Criterion, EpochStats, Example, TrainConfig, Trainer};
use crate::model::{portrait, song_encoder};
use crate::recommend::{InputItem, Recommender, UserInput};

/// Which variant of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeuralKind {
    /// Dense-connected IndRNN stack with target attention (the paper's model).
    Ainrnn,
    /// The IndRNN stack without attention (last state).
    Indrnn,
    /// LSTM stack without attention (last state).
    Lstm,
    /// AINRNN on randomly reordered histories (order control).
    AinrnnShuffled,
}

impl NeuralKind {
    /// Every variant with its result name.
    pub const ALL: [(NeuralKind, &'static str); 4] = [
        (NeuralKind::Ainrnn, "ainrnn"),
        (NeuralKind::Indrnn, "indrnn"),
        (NeuralKind::Lstm, "lstm"),
        (NeuralKind::AinrnnShuffled, "ainrnn_shuffled"),
    ];

    /// The variant called `name` in results.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    /// Its name in results.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("ainrnn", |(_, n)| n)
    }
}

/// Hyper-parameters of one fit (the tuning grid's entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeuralConfig {
    /// Song embedding size.
    pub item_dim: usize,
    /// Hidden units per recurrent layer.
    pub hidden_dim: usize,
    /// Recurrent layers.
    pub n_layers: usize,
    /// Dropout on layer outputs.
    pub dropout: f32,
    /// Adam learning rate.
    pub lr: f64,
    /// Tags read by the song encoder (0 = no content, ids only).
    pub vocab: usize,
    /// Learn a per-item id embedding.
    pub ids: bool,
    /// Random input/target splits of each training user per epoch's data (augmentation).
    pub splits_per_user: usize,
    /// Sampled negatives per example.
    pub n_negatives: usize,
    /// Users per optimiser step.
    pub batch_size: usize,
    /// Most epochs.
    pub max_epochs: usize,
    /// Standardise content features (off for the unit-length tag rows of hetrec, whose sparse
    /// dimensions have tiny deviations that standardisation would blow up).
    pub standardize: bool,
    /// Early-stopping patience (epochs).
    pub patience: usize,
    /// Longest history read (most recent items).
    pub max_len: usize,
    /// What the attention reads per step.
    pub readout: ainrnn::Readout,
    /// Co-occurrence features: each item's cosine co-occurrence (over training users) with the
    /// this many most popular items, appended to the content features (0 = off). See
    /// [`cooccurrence_features`]. Off by default: the rows include each training user's own
    /// co-occurrences, so training learns a shortcut that test users cannot offer (fold 1: lower
    /// validation loss, but full P@10 0.058 against 0.107 without).
    #[serde(default)]
    pub anchors: usize,
    /// What chooses the best epoch and stops training (see [`StopOn`]).
    #[serde(default, skip_serializing_if = "StopOn::is_loss")]
    pub stop_on: StopOn,
    /// Negatives drawn with probability ∝ (1 + training users of the item)^power, with the
    /// sampled-softmax correction (0 = uniform). Popular items are the hard negatives of full
    /// ranking, and uniform draws from 16k mostly-obscure artists rarely offer them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub negative_power: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The early-stopping criterion of a fit, measured on the held-out training users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopOn {
    /// The sampled-softmax loss (the training loss without dropout, fixed negatives).
    #[default]
    Loss,
    /// NDCG@10 of their held-out items under full-catalog ranking (two-stage, stage 1 keeping
    /// [`STOP_RETRIEVE`] items): the evaluation's own measure, on users never trained on.
    Ndcg,
}

impl StopOn {
    fn is_loss(&self) -> bool {
        *self == StopOn::Loss
    }
}

/// Stage-1 candidates kept when [`StopOn::Ndcg`] ranks the early-stopping users.
pub const STOP_RETRIEVE: usize = 500;

/// Mean NDCG@10 (the evaluation's [`TUNING_METRIC`], computed by its [`Accumulator`]) of
/// `examples` — history as input, positives as the items to find — when `model` ranks the
/// catalog minus each history.
pub fn ranking_ndcg(model: &NeuralRecommender, examples: &[Example]) -> Result<f32> {
    let mut acc = Accumulator::new();
    for e in examples {
        let input = UserInput {
            items: e
                .history
                .iter()
                .map(|&(item, plays)| InputItem {
                    item,
                    plays,
                    liked: false,
                    skips: 0,
                    time: None,
                })
                .collect(),
            portrait: e.portrait.clone(),
        };
        let (top, _) = model.two_stage(&input, STOP_RETRIEVE, 10)?;
        let hits: Vec<bool> = top.iter().map(|(i, _)| e.positives.contains(i)).collect();
        acc.add_full(&hits, e.positives.len());
    }
    Ok(acc.finish()[TUNING_METRIC] as f32)
}

impl Default for NeuralConfig {
    fn default() -> Self {
        NeuralConfig {
            item_dim: 128,
            // Measured on fold 1 of hetrec (`ainrec eval --max-folds 1 --neural-config …`):
            // hidden 128 at the paper's lr 5e-4 reached full P@10 0.067 in the epochs a CPU
            // affords; hidden 64 at lr 5e-3 reached 0.107 (see models/MODEL_CARD.md).
            hidden_dim: 64,
            n_layers: 5,
            dropout: 0.5,
            lr: 5e-3,
            vocab: 256,
            ids: true,
            splits_per_user: 1,
            n_negatives: 200,
            batch_size: 32,
            max_epochs: 16,
            standardize: false,
            patience: 4,
            max_len: 50,
            readout: ainrnn::Readout::All,
            anchors: 0,
            // Fold 1 / fold 2 of hetrec, full P@10 (`ainrec eval --only-folds 1,2 --models
            // ainrnn --neural-config …`): stopping on the loss 0.107 / 0.059 (fold 2 stopped at
            // epoch 1); on NDCG@10 0.107 / 0.102; with negatives ∝ popularity^0.75 0.141 / 0.146,
            // ^1 0.148 / 0.150; ^1 with 500 negatives 0.135 (fold 1).
            stop_on: StopOn::Ndcg,
            negative_power: 1.0,
        }
    }
}

/// Item features for the song encoder: the `vocab` content dimensions present on the most
/// items, `ln(1 + value)`, each row scaled to unit length (an item without content is a zero
/// row). Returns the chosen dimensions' names and one row per item.
pub fn content_features(content: &ContentMatrix, vocab: usize) -> (Vec<String>, Vec<Vec<f32>>) {
    let mut df = vec![0usize; content.dims];
    for row in &content.rows {
        for &(d, _) in row {
            df[d as usize] += 1;
        }
    }
    let mut dims: Vec<usize> = (0..content.dims).filter(|&d| df[d] > 0).collect();
    dims.sort_by(|&a, &b| df[b].cmp(&df[a]).then(a.cmp(&b)));
    dims.truncate(vocab);
    let mut slot = vec![usize::MAX; content.dims];
    for (s, &d) in dims.iter().enumerate() {
        slot[d] = s;
    }
    let width = dims.len().max(1);
    let rows = content
        .rows
        .iter()
        .map(|row| {
            let mut v = vec![0f32; width];
            for &(d, x) in row {
                if let Some(s) = slot.get(d as usize).filter(|s| **s != usize::MAX) {
                    v[*s] = x.max(0.0).ln_1p();
                }
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            v
        })
        .collect();
    let names = dims
        .iter()
        .map(|&d| {
            content
                .dim_names
                .get(d)
                .cloned()
                .unwrap_or_else(|| d.to_string())
        })
        .collect();
    (names, rows)
}

/// Collaborative item features from the training users only: for each item, its cosine
/// co-occurrence with each of the `anchors` items that most training users played
/// (`|U_i ∩ U_a| / √(|U_i| |U_a|)`), the row scaled to unit length. Items no training user
/// played get a zero row (they are ranked by content and id alone). Returns the anchors' names
/// (`cooc:<item id>`) and one row per item.
pub fn cooccurrence_features(
    dataset: &Dataset,
    users: &[usize],
    anchors: usize,
) -> (Vec<String>, Vec<Vec<f32>>) {
    let n = dataset.catalog.len();
    let counts = dataset.item_user_counts(users);
    let mut order: Vec<usize> = (0..n).filter(|&i| counts[i] > 0).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    order.truncate(anchors);
    let mut slot = vec![usize::MAX; n];
    for (s, &a) in order.iter().enumerate() {
        slot[a] = s;
    }
    let width = order.len().max(1);
    let mut rows = vec![vec![0f32; width]; n];
    for &u in users {
        let items = dataset.users[u].items();
        let here: Vec<usize> = items
            .iter()
            .filter(|&&i| slot[i] != usize::MAX)
            .map(|&i| slot[i])
            .collect();
        for &i in &items {
            for &s in &here {
                rows[i][s] += 1.0;
            }
        }
    }
    for (i, row) in rows.iter_mut().enumerate() {
        for (s, x) in row.iter_mut().enumerate() {
            if *x > 0.0 {
                *x /= ((counts[i] as f32) * (counts[order[s]] as f32)).sqrt();
            }
        }
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
    let names = order
        .iter()
        .map(|&a| format!("cooc:{}", dataset.catalog.id(a)))
        .collect();
    (names, rows)
}

/// One training example per user and split: the input part (in data-set order, or shuffled for
/// the order control) as history, the held-out part as positives, the user's whole history
/// excluded from negatives.
pub fn examples(
    dataset: &Dataset,
    users: &[usize],
    splits: usize,
    target_fraction: f64,
    seed: u64,
    shuffle: bool,
) -> Result<Vec<Example>> {
    let mut out = Vec::with_capacity(users.len() * splits);
    for &u in users {
        let user = &dataset.users[u];
        if user.listens.len() < 2 {
            continue;
        }
        for r in 0..splits {
            let (mut input, targets) = split_user(
                user,
                derive_seed(seed, &[hash_str("train-split"), r as u64]),
                target_fraction,
            )?;
            if shuffle {
                shuffle_listens(&mut input, seed, &user.user);
            }
            out.push(Example {
                history: input.iter().map(|l| (l.item, l.plays as f32)).collect(),
                positives: targets.iter().map(|l| l.item).collect(),
                exclude: user.items(),
                portrait: None,
            });
        }
    }
    Ok(out)
}

fn shuffle_listens(listens: &mut [Listen], seed: u64, user: &str) {
    Rng::new(derive_seed(seed, &[hash_str("shuffle"), hash_str(user)])).shuffle(listens);
}

/// The neural models as an evaluation [`Trainer`](crate::eval::Trainer).
pub struct NeuralTrainer {
    kind: NeuralKind,
    grid: Vec<NeuralConfig>,
    /// Seconds of every epoch run by this trainer (all fits), for `seconds_per_epoch`.
    epoch_seconds: RefCell<Vec<f64>>,
    /// Print one line per epoch to stderr.
    pub verbose: bool,
}

impl NeuralTrainer {
    /// A trainer for `kind` with the default configuration as its only grid entry.
    pub fn new(kind: NeuralKind) -> Self {
        NeuralTrainer {
            kind,
            grid: vec![NeuralConfig::default()],
            epoch_seconds: RefCell::new(Vec::new()),
            verbose: false,
        }
    }

    /// A trainer whose single configuration is the default with the fields of `overrides` (a
    /// JSON object) replaced. Unknown fields are an error, so a typo cannot pass silently.
    pub fn with_overrides(kind: NeuralKind, overrides: &Value) -> Result<Self> {
        let mut base = serde_json::to_value(NeuralConfig::default())?;
        let (Some(obj), Some(over)) = (base.as_object_mut(), overrides.as_object()) else {
            return Err(Error::invalid("neural config", "a JSON object", overrides));
        };
        // Fields left out of the serialised default (they keep older grids' JSON unchanged)
        // are still fields.
        obj.entry("stop_on")
            .or_insert_with(|| serde_json::to_value(StopOn::Loss).unwrap_or(Value::Null));
        obj.entry("negative_power").or_insert(Value::from(0.0));
        for (k, v) in over {
            if !obj.contains_key(k) {
                return Err(Error::invalid(
                    "neural config field",
                    format!(
                        "one of {}",
                        obj.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    k,
                ));
            }
            obj.insert(k.clone(), v.clone());
        }
        let mut t = Self::new(kind);
        t.grid = vec![serde_json::from_value(base)?];
        Ok(t)
    }

    /// The configuration this trainer fits (its grid's first entry).
    pub fn config(&self) -> &NeuralConfig {
        &self.grid[0]
    }

    /// The network configuration of `kind` under `c`.
    pub fn model_config(kind: NeuralKind, c: &NeuralConfig) -> ainrnn::Config {
        ainrnn::Config {
            item_dim: c.item_dim,
            hidden_dim: c.hidden_dim,
            n_layers: c.n_layers,
            cell: match kind {
                NeuralKind::Lstm => CellKind::Lstm,
                _ => CellKind::IndRnn,
            },
            attention: matches!(kind, NeuralKind::Ainrnn | NeuralKind::AinrnnShuffled),
            connections: Connections::Dense,
            dropout: c.dropout,
            max_len: c.max_len,
            att_dim: 64,
            portrait: portrait::Config {
                dim: 16,
                genres: Vec::new(),
            },
            layer_norm: true,
            readout: c.readout,
        }
    }

    /// Fits `kind` under `c` on `ctx`.
    pub fn fit_config(&self, ctx: &FitContext<'_>, c: &NeuralConfig) -> Result<Fitted> {
        let n_items = ctx.dataset.catalog.len();
        let (mut feature_names, mut features) = match ctx.content {
            Some(content) if c.vocab > 0 => content_features(content, c.vocab),
            _ => (Vec::new(), vec![Vec::new(); n_items]),
        };
        if c.anchors > 0 {
            let (names, rows) = cooccurrence_features(ctx.dataset, ctx.train_users, c.anchors);
            feature_names.extend(names);
            for (f, r) in features.iter_mut().zip(rows) {
                f.extend(r);
            }
        }
        if feature_names.is_empty() {
            // No content at all: one constant zero feature, so the encoder is the id table.
            feature_names.push("none".into());
            features.iter_mut().for_each(|f| *f = vec![0.0]);
        }
        // Early stopping on a seeded tenth of the training users.
        let mut users = ctx.train_users.to_vec();
        Rng::new(derive_seed(ctx.seed, &[hash_str("early-stop")])).shuffle(&mut users);
        let n_stop = (users.len() / 10).max(1);
        if users.len() <= n_stop {
            return Err(Error::invalid("training users", "at least 2", users.len()));
        }
        let (stop_users, fit_users) = users.split_at(n_stop);
        let shuffle = self.kind == NeuralKind::AinrnnShuffled;
        let frac = 0.2;
        // Fresh input/target splits every epoch (see `Trainer::fit_with`).
        let mut make_train = |epoch: usize| {
            examples(
                ctx.dataset,
                fit_users,
                c.splits_per_user,
                frac,
                derive_seed(ctx.seed, &[hash_str("epoch-splits"), epoch as u64]),
                shuffle,
            )
        };
        let valid = examples(
            ctx.dataset,
            stop_users,
            1,
            frac,
            derive_seed(ctx.seed, &[1]),
            shuffle,
        )?;
        let d_in = features.first().map_or(1, Vec::len);
        let encoder = song_encoder::Config {
            input_dim: d_in,
            hidden_dim: c.item_dim * 2,
            output_dim: c.item_dim,
            n_ids: if c.ids { n_items } else { 0 },
        };
        let cfg = TrainConfig {
            lr: c.lr,
            max_epochs: c.max_epochs,
            patience: c.patience,
            batch_size: c.batch_size,
            n_negatives: c.n_negatives,
            seed: ctx.seed,
        };
        let mut trainer = Trainer::new(
            features.clone(),
            encoder,
            Self::model_config(self.kind, c),
            cfg,
            &Device::Cpu,
        )?;
        if c.negative_power != 0.0 {
            let counts = ctx.dataset.item_user_counts(fit_users);
            let weights: Vec<f64> = counts
                .iter()
                .map(|&n| (1.0 + f64::from(n)).powf(c.negative_power))
                .collect();
            trainer.set_negative_weights(Some(&weights))?;
        }
        if !c.standardize {
            trainer
                .encoder()
                .set_stats(&vec![0.0; d_in], &vec![1.0; d_in])?;
        }
        let clock = Clock::start();
        let mut last = clock.seconds();
        let verbose = self.verbose;
        let name = self.kind.name();
        let kind = self.kind;
        let mut ndcg = |t: &Trainer| -> Result<f32> {
            // The stop users' examples are already in training order (shuffled for the
            // control), so the ranking model must not shuffle them again.
            let model =
                NeuralRecommender::new(kind.name(), t.model().clone(), t.item_embeddings()?, None)?;
            Ok(-ranking_ndcg(&model, &valid)?)
        };
        let criterion: Option<&mut Criterion<'_>> = match c.stop_on {
            StopOn::Loss => None,
            StopOn::Ndcg => Some(&mut ndcg),
        };
        let report = trainer.fit_with_criterion(&mut make_train, &valid, criterion, &mut |e| {
            let now = clock.seconds();
            self.epoch_seconds.borrow_mut().push(now - last);
            if verbose {
                let stop = e
                    .criterion
                    .map_or(String::new(), |c| format!(" ndcg@10 {:.4}", -c));
                eprintln!(
                    "    {name} epoch {}: train {:.4} valid {:.4}{stop} ({:.1} s)",
                    e.epoch,
                    e.train_loss,
                    e.valid_loss,
                    now - last
                );
            }
            last = now;
            true
        })?;
        Ok(Fitted {
            kind: self.kind,
            trainer,
            epochs: report.epochs,
            best_epoch: report.best_epoch,
            feature_names,
            features,
            shuffle_seed: shuffle.then_some(ctx.seed),
            stop_users: stop_users.to_vec(),
        })
    }
}

/// A fitted neural model with what it was fitted on.
pub struct Fitted {
    /// The variant.
    pub kind: NeuralKind,
    /// The trainer, holding the best epoch's weights.
    pub trainer: Trainer,
    /// Every epoch run.
    pub epochs: Vec<EpochStats>,
    /// The epoch whose weights were kept (1-based).
    pub best_epoch: usize,
    /// Names of the content dimensions the encoder reads.
    pub feature_names: Vec<String>,
    /// The encoder's input row of every catalog item.
    pub features: Vec<Vec<f32>>,
    /// The order-control seed (for `ainrnn_shuffled`).
    pub shuffle_seed: Option<u64>,
    /// The training users held out for early stopping (never trained on).
    pub stop_users: Vec<usize>,
}

impl Fitted {
    /// The fitted model as a recommender over the whole catalog.
    pub fn recommender(&self) -> Result<NeuralRecommender> {
        NeuralRecommender::new(
            self.kind.name(),
            self.trainer.model().clone(),
            self.trainer.item_embeddings()?,
            self.shuffle_seed,
        )
    }

    /// Model-file bytes ([`crate::model::model_file`]) over `catalog` (the data set's items,
    /// in the order the model was trained on).
    pub fn save(&self, catalog: &crate::data::Catalog, info: &Value) -> Result<Vec<u8>> {
        crate::model::model_file::save(
            self.trainer.varmap(),
            self.trainer.model(),
            self.trainer.encoder(),
            &crate::model::model_file::ModelCatalog {
                catalog: catalog.clone(),
                feature_names: self.feature_names.clone(),
                features: crate::model::model_file::ModelCatalog::sparse(&self.features),
            },
            self.kind.name(),
            info,
        )
    }
}

impl EvalTrainer for NeuralTrainer {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn grid(&self) -> Vec<Value> {
        self.grid
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
            .collect()
    }

    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        let c: NeuralConfig = serde_json::from_value(config.clone())?;
        Ok(Box::new(self.fit_config(ctx, &c)?.recommender()?))
    }

    fn seconds_per_epoch(&self) -> Option<f64> {
        let s = self.epoch_seconds.take();
        (!s.is_empty()).then(|| s.iter().sum::<f64>() / s.len() as f64)
    }
}

/// Wall-clock seconds where the platform has a clock (`Instant` panics in wasm32, where the
/// browser times training itself).
struct Clock {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
}

impl Clock {
    fn start() -> Self {
        Clock {
            #[cfg(not(target_arch = "wasm32"))]
            start: std::time::Instant::now(),
        }
    }

    fn seconds(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.start.elapsed().as_secs_f64();
        #[cfg(target_arch = "wasm32")]
        return 0.0;
    }
}
