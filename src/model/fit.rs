//! The neural models' configuration and what fitting them needs from a listening data set:
//! item features from content, training examples from histories, and the ranking NDCG used
//! for early stopping. The evaluation adapter that fits them on a fold is
//! [`crate::eval::neural`].
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

use serde::{Deserialize, Serialize};

use crate::data::splits::split_user;
use crate::data::{ContentMatrix, Dataset, Listen};
use crate::error::Result;
use crate::metrics::{Accumulator, TUNING_METRIC};
use crate::model::ainrnn::{self};
use crate::model::recommender::NeuralRecommender;
use crate::model::train::{Example, Loss};
use crate::ranking::{InputItem, UserInput};
use crate::util::rng::{derive_seed, hash_str, Rng};

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
    /// Sampled or full softmax ([`Loss`]); `n_negatives` and `negative_power` are read by the
    /// sampled one only.
    #[serde(default, skip_serializing_if = "Loss::is_sampled")]
    pub loss: Loss,
    /// Learning-rate factor after each epoch that does not improve the early-stopping score
    /// ([`TrainConfig::lr_decay`](crate::model::train::TrainConfig); 1 = constant).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub lr_decay: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn one() -> f64 {
    1.0
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
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
        let input = example_input(e);
        let (top, _) = model.two_stage(&input, STOP_RETRIEVE, 10)?;
        let hits: Vec<bool> = top.iter().map(|(i, _)| e.positives.contains(i)).collect();
        acc.add_full(&hits, e.positives.len());
    }
    Ok(acc.finish()[TUNING_METRIC] as f32)
}

/// A training example's history as a ranking input: its plays, no likes or skips, its
/// portrait (what the model ranks from when the example's positives are to be found).
pub fn example_input(e: &Example) -> UserInput {
    UserInput {
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
    }
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
            loss: Loss::Sampled,
            lr_decay: 1.0,
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
