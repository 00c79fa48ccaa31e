//! AINRNN (He 2022 §3.3): a history encoder of stacked recurrent layers with dense ("full")
//! connections, eq. 4 target attention over its states, and the user portrait.
//!
//! ```text
//! x_t     = [g(song_t), ln(1 + plays_t)]                       (B, T, d + 1)
//! layer l = IndRNN (or LSTM) over the input given by `connections`:
//!     Dense     l gets [x, h_1, …, h_{l−1}]   (every lower layer, the paper's change)
//!     Residual  l gets h_1 + … + h_{l−1}      (identity skips; layer 1 gets x)
//!     None      l gets h_{l−1}                (a plain stack)
//! s_t     = the top of the stack (h_L; for Residual the running sum h_1 + … + h_L)
//! a_c     = Attention(candidate c, s)          with `attention`, per candidate (eq. 4)
//!         = s at the last real step            without (IndRNN/LSTM without attention)
//! score_c = ⟨W [a_c, portrait] + b, candidate c⟩ / √d
//! ```
//!
//! Every variant is this one network with switches ([`Config::cell`], [`Config::attention`],
//! [`Config::connections`]), so the paper's comparison (AINRNN vs IndRNN vs LSTM) changes one
//! thing at a time. Dropout (0.5 in the paper) is applied to every layer's output in training
//! only, with one mask per sequence ("dropout over time", as in the IndRNN reference code) drawn
//! from a caller-seeded generator so runs are reproducible.

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, Linear, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::attention::{self, TargetAttention};
use crate::model::indrnn::{self, IndRnn};
use crate::model::lstm::{self, LstmLayer};
use crate::model::portrait::{self, PortraitBatch, PortraitEncoder};
use crate::model::{check_dims, dropout_mask};
use crate::util::rng::Rng;

/// Version of the saved-model layout; a file with another version is rejected.
pub const FORMAT_VERSION: u32 = 1;

/// Metadata key of the JSON [`Config`] in a saved model.
pub const META_CONFIG: &str = "ainrec.ainrnn.config";
/// Metadata key of [`FORMAT_VERSION`] in a saved model.
pub const META_VERSION: &str = "ainrec.ainrnn.format_version";

/// The recurrent cell of the history encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// IndRNN (the paper's cell).
    IndRnn,
    /// LSTM (the paper's baseline).
    Lstm,
}

/// How layers of the stack are wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connections {
    /// Each layer gets the input and every lower layer's output (the paper's "full" connections).
    Dense,
    /// Each layer gets the sum of the lower layers' outputs (residual IndRNN).
    Residual,
    /// Each layer gets the layer below only.
    None,
}

/// The longest history window a configuration may state (the shipped models use 200 and 50;
/// a model file's configuration is checked against it).
pub const MAX_HISTORY_LEN: usize = 10_000;

/// Configuration of the whole network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Song embedding size `d` (history items and candidates).
    pub item_dim: usize,
    /// Hidden units per recurrent layer.
    pub hidden_dim: usize,
    /// Number of stacked layers (5 in the paper).
    pub n_layers: usize,
    /// The recurrent cell.
    pub cell: CellKind,
    /// Target attention on, or the last state as the user vector.
    pub attention: bool,
    /// The wiring between layers.
    pub connections: Connections,
    /// Dropout probability on layer outputs in training (0.5 in the paper).
    pub dropout: f32,
    /// Longest history trained on (sets IndRNN's recurrent-weight bound).
    pub max_len: usize,
    /// Dimension of the attention's similarity space.
    pub att_dim: usize,
    /// The portrait encoder (with the genre vocabulary).
    pub portrait: portrait::Config,
    /// Layer normalisation of every layer's output before it is wired upward. Without it a
    /// ReLU IndRNN with `u` near 1 sums its inputs over time, and five dense-connected layers
    /// compound that growth (scores in the thousands after one step, measured on hetrec). The
    /// IndRNN reference code uses batch normalisation between layers; layer normalisation does
    /// the same job and behaves identically for one user at inference.
    #[serde(default)]
    pub layer_norm: bool,
    /// What the attention (or the last-state readout) reads at each step.
    #[serde(default)]
    pub readout: Readout,
}

/// The per-step states the attention reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// The top of the stack (`hidden` values per step).
    #[default]
    Top,
    /// The input and every layer's output side by side, `[x, h_1, …, h_L]` — the output of a
    /// densely connected block (as in DenseNet), so the song itself stays visible to the
    /// attention next to what the stack made of its context.
    All,
}

impl Config {
    /// The paper's AINRNN: 5 dense-connected IndRNN layers, attention, dropout 0.5, d = 128.
    pub fn paper(genres: Vec<String>) -> Self {
        Config {
            item_dim: 128,
            hidden_dim: 128,
            n_layers: 5,
            cell: CellKind::IndRnn,
            attention: true,
            connections: Connections::Dense,
            dropout: 0.5,
            max_len: 200,
            att_dim: 64,
            portrait: portrait::Config { dim: 16, genres },
            layer_norm: true,
            readout: Readout::All,
        }
    }

    /// Width of the per-step states the attention reads ([`Config::readout`]).
    pub fn state_dim(&self) -> usize {
        match self.readout {
            Readout::Top => self.hidden_dim,
            Readout::All => self.item_dim + 1 + self.n_layers * self.hidden_dim,
        }
    }

    /// Input features of layer `l` (0-based) under this wiring.
    pub fn layer_input_dim(&self, l: usize) -> usize {
        let x = self.item_dim + 1;
        match (self.connections, l) {
            (_, 0) => x,
            (Connections::Dense, l) => x + l * self.hidden_dim,
            (Connections::Residual | Connections::None, _) => self.hidden_dim,
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: &str, expected: &str, found: String| {
            Err(Error::invalid(format!("AINRNN {what}"), expected, found))
        };
        if self.item_dim == 0 || self.hidden_dim == 0 || self.att_dim == 0 || self.max_len == 0 {
            return bad(
                "dimensions",
                "item_dim, hidden_dim, att_dim, max_len > 0",
                format!("{self:?}"),
            );
        }
        if self.max_len > MAX_HISTORY_LEN {
            // A model file may state any length; 10^12 was accepted before.
            return bad(
                "max_len",
                &format!("at most {MAX_HISTORY_LEN}"),
                self.max_len.to_string(),
            );
        }
        if self.n_layers == 0 {
            return bad("n_layers", "≥ 1", "0".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", "in [0, 1)", self.dropout.to_string());
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Layer {
    IndRnn(IndRnn),
    Lstm(LstmLayer),
}

impl Layer {
    fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        match self {
            Layer::IndRnn(l) => l.forward(x, mask),
            Layer::Lstm(l) => l.forward(x, mask),
        }
    }
}

/// One batch of users and the candidates to score for each.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// History song embeddings `(B, T, item_dim)`, oldest first, padded anywhere.
    pub history: &'a Tensor,
    /// Play counts `(B, T)`.
    pub plays: &'a Tensor,
    /// `(B, T)`, 1 for real steps, 0 for padding.
    pub mask: &'a Tensor,
    /// One portrait per user.
    pub portrait: &'a PortraitBatch,
    /// Candidate embeddings `(B, C, item_dim)`, or `(C, item_dim)` shared by every user.
    pub candidates: &'a Tensor,
}

/// What the network returns.
#[derive(Debug, Clone)]
pub struct Output {
    /// `(B, C)`: higher ranks first.
    pub scores: Tensor,
    /// `(B, C, T)` attention weights (0 on padding, summing to 1 over real steps), when the
    /// attention is on.
    pub attention: Option<Tensor>,
}

/// What the recurrent stack produced, for inspection and tests.
#[derive(Debug, Clone)]
pub struct StackTrace {
    /// The input each layer received, `(B, T, layer_input_dim(l))`.
    pub inputs: Vec<Tensor>,
    /// Each layer's output after dropout, `(B, T, hidden)`.
    pub outputs: Vec<Tensor>,
    /// The states the attention reads, `(B, T, state_dim)` ([`Config::state_dim`]).
    pub states: Tensor,
}

/// Values per `(users × steps × candidates)` block of [`Ainrnn::score_shared`]: 4 M floats,
/// 16 MB, under glibc's 32 MB ceiling for serving allocations from its reusable heap.
const SHARED_BLOCK_VALUES: usize = 1 << 22;

/// The per-user part of every score ([`Ainrnn::user_side`]).
struct UserSide {
    stack: StackTrace,
    /// `(B, T, item_dim)`: each state through the state part of the head.
    projected: Tensor,
    /// `(B, item_dim)`: the portrait part of the head plus its bias.
    bias: Tensor,
}

/// The AINRNN network (and, through its switches, the IndRNN and LSTM baselines).
#[derive(Debug, Clone)]
pub struct Ainrnn {
    layers: Vec<Layer>,
    norms: Vec<LayerNorm>,
    attention: Option<TargetAttention>,
    portrait: PortraitEncoder,
    head: Linear,
    cfg: Config,
}

impl Ainrnn {
    /// Creates (or loads) the network under `vb`: `layer{l}.*`, `norm{l}.*` (with
    /// [`Config::layer_norm`]), `attention.*`, `portrait.*`, `head.*`.
    pub fn new(cfg: Config, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let mut layers = Vec::with_capacity(cfg.n_layers);
        for l in 0..cfg.n_layers {
            let vb = vb.pp(format!("layer{l}"));
            let input_dim = cfg.layer_input_dim(l);
            layers.push(match cfg.cell {
                CellKind::IndRnn => Layer::IndRnn(IndRnn::new(
                    indrnn::Config {
                        input_dim,
                        hidden_dim: cfg.hidden_dim,
                        max_len: cfg.max_len,
                        long_memory: l + 1 == cfg.n_layers,
                    },
                    vb,
                )?),
                CellKind::Lstm => Layer::Lstm(LstmLayer::new(
                    lstm::Config {
                        input_dim,
                        hidden_dim: cfg.hidden_dim,
                    },
                    vb,
                )?),
            });
        }
        let norms = if cfg.layer_norm {
            (0..cfg.n_layers)
                .map(|l| candle_nn::layer_norm(cfg.hidden_dim, 1e-5, vb.pp(format!("norm{l}"))))
                .collect::<candle_core::Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let attention = if cfg.attention {
            Some(TargetAttention::new(
                attention::Config {
                    query_dim: cfg.item_dim,
                    key_dim: cfg.state_dim(),
                    att_dim: cfg.att_dim,
                },
                vb.pp("attention"),
            )?)
        } else {
            None
        };
        let portrait = PortraitEncoder::new(cfg.portrait.clone(), vb.pp("portrait"))?;
        let head = candle_nn::linear(
            cfg.state_dim() + cfg.portrait.out_dim(),
            cfg.item_dim,
            vb.pp("head"),
        )?;
        Ok(Ainrnn {
            layers,
            norms,
            attention,
            portrait,
            head,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The target attention, when on.
    pub fn attention(&self) -> Option<&TargetAttention> {
        self.attention.as_ref()
    }

    /// The portrait encoder.
    pub fn portrait(&self) -> &PortraitEncoder {
        &self.portrait
    }

    /// Keeps IndRNN's recurrent weights within their bound; call after every optimiser step.
    pub fn clip_recurrent(&self) -> Result<()> {
        for layer in &self.layers {
            if let Layer::IndRnn(l) = layer {
                l.clip_recurrent()?;
            }
        }
        Ok(())
    }

    /// The recurrent stack over `history (B, T, item_dim)` and `plays (B, T)`.
    ///
    /// `dropout`: a generator in training (dropout on), `None` in inference. `tap(l, out)` sees
    /// each layer's output before it is wired upward and may replace it (tests use it to check
    /// the wiring; pass `|_, t| Ok(t)` otherwise).
    pub fn run_stack(
        &self,
        history: &Tensor,
        plays: &Tensor,
        mask: &Tensor,
        mut dropout: Option<&mut Rng>,
        tap: &mut dyn FnMut(usize, Tensor) -> Result<Tensor>,
    ) -> Result<StackTrace> {
        let (b, t) = mask.dims2()?;
        check_dims(
            history,
            "history",
            &[Some(b), Some(t), Some(self.cfg.item_dim)],
        )?;
        check_dims(plays, "play counts", &[Some(b), Some(t)])?;
        // ln(1 + plays) as one more input feature; padding may hold anything, so mask it first.
        let log_plays = (plays.relu()? * mask)?
            .affine(1.0, 1.0)?
            .log()?
            .unsqueeze(2)?;
        let x = Tensor::cat(&[history, &log_plays], 2)?;
        let mut inputs: Vec<Tensor> = Vec::with_capacity(self.layers.len());
        let mut outputs: Vec<Tensor> = Vec::with_capacity(self.layers.len());
        let mut running: Option<Tensor> = None; // Residual: h_1 + … + h_l
        for (l, layer) in self.layers.iter().enumerate() {
            let input = match (self.cfg.connections, l) {
                (_, 0) => x.clone(),
                (Connections::Dense, _) => {
                    let mut parts: Vec<&Tensor> = vec![&x];
                    parts.extend(outputs.iter());
                    Tensor::cat(&parts, 2)?
                }
                (Connections::Residual, _) => running.clone().unwrap_or_else(|| x.clone()),
                (Connections::None, _) => outputs[l - 1].clone(),
            };
            let mut out = layer.forward(&input, mask)?;
            if let Some(norm) = self.norms.get(l) {
                // Padded steps go back to 0 after the shift of the normalisation.
                out = norm.forward(&out)?.broadcast_mul(&mask.unsqueeze(2)?)?;
            }
            if let Some(rng) = dropout.as_deref_mut() {
                if self.cfg.dropout > 0.0 {
                    let m =
                        dropout_mask(b, self.cfg.hidden_dim, self.cfg.dropout, rng, x.device())?;
                    out = out.broadcast_mul(&m)?;
                }
            }
            let out = tap(l, out)?;
            running = Some(match running {
                Some(r) => (r + &out)?,
                None => out.clone(),
            });
            inputs.push(input);
            outputs.push(out);
        }
        let states = match (self.cfg.readout, self.cfg.connections) {
            (Readout::All, _) => {
                let mut parts: Vec<&Tensor> = vec![&x];
                parts.extend(outputs.iter());
                Tensor::cat(&parts, 2)?
            }
            (Readout::Top, Connections::Residual) => running.unwrap_or_else(|| x.clone()),
            (Readout::Top, Connections::Dense | Connections::None) => {
                outputs.last().cloned().unwrap_or_else(|| x.clone())
            }
        };
        Ok(StackTrace {
            inputs,
            outputs,
            states,
        })
    }

    /// Scores the batch's candidates. `dropout`: `Some(generator)` in training, `None` otherwise.
    pub fn forward(&self, batch: &Batch, dropout: Option<&mut Rng>) -> Result<Output> {
        self.forward_tapped(batch, dropout, &mut |_, t| Ok(t))
    }

    /// [`Ainrnn::forward`] with a `tap` on the layer outputs (see [`Ainrnn::run_stack`]).
    pub fn forward_tapped(
        &self,
        batch: &Batch,
        dropout: Option<&mut Rng>,
        tap: &mut dyn FnMut(usize, Tensor) -> Result<Tensor>,
    ) -> Result<Output> {
        let (b, t) = batch.mask.dims2()?;
        let d = self.cfg.item_dim;
        let candidates = match batch.candidates.rank() {
            2 => {
                check_dims(batch.candidates, "candidates", &[None, Some(d)])?;
                let c = batch.candidates.dim(0)?;
                batch
                    .candidates
                    .unsqueeze(0)?
                    .broadcast_as((b, c, d))?
                    .contiguous()?
            }
            _ => {
                check_dims(batch.candidates, "candidates", &[Some(b), None, Some(d)])?;
                batch.candidates.clone()
            }
        };
        let c = candidates.dim(1)?;
        let user = self.user_side(batch, dropout, tap)?;
        let (stack, projected, user_bias) = (&user.stack, &user.projected, &user.bias);
        let (z, weights) = match &self.attention {
            Some(att) => {
                let (a, w) = att.forward(
                    &candidates,
                    &stack.states,
                    projected,
                    batch.plays,
                    batch.mask,
                )?; // a: (B, C, d)
                (a.broadcast_add(&user_bias.unsqueeze(1)?)?, Some(w))
            }
            None => {
                let last = last_step_selector(batch.mask, t)?; // (B, 1, T)
                (
                    last.matmul(projected)?
                        .broadcast_add(&user_bias.unsqueeze(1)?)?,
                    None,
                ) // (B, 1, d)
            }
        };
        // Scaled by 1/√d like any dot-product score, so the logits of the softmax start near
        // unit scale whatever the embedding size.
        let scores = candidates
            .broadcast_mul(&z)?
            .sum(2)?
            .affine(1.0 / (self.cfg.item_dim as f64).sqrt(), 0.0)?;
        debug_assert_eq!(scores.dims(), &[b, c]);
        Ok(Output {
            scores,
            attention: weights,
        })
    }

    /// What every candidate's score shares for a user: the stack over the history, its states
    /// through the state part of the head, and the portrait part plus the head's bias.
    fn user_side(
        &self,
        batch: &Batch,
        dropout: Option<&mut Rng>,
        tap: &mut dyn FnMut(usize, Tensor) -> Result<Tensor>,
    ) -> Result<UserSide> {
        let (b, t) = batch.mask.dims2()?;
        let d = self.cfg.item_dim;
        if batch.portrait.len() != b {
            return Err(Error::invalid(
                "portrait batch",
                format!("{b} users"),
                batch.portrait.len(),
            ));
        }
        let stack = self.run_stack(batch.history, batch.plays, batch.mask, dropout, tap)?;
        // The head is linear, W [a, p] + b = W_s a + (W_p p + b), and a is a weighted sum of
        // states, so W_s is applied to the T states once per user instead of to C attended
        // vectors per user: the cost no longer grows with candidates × state width.
        let sd = self.cfg.state_dim();
        let w = self.head.weight(); // (d, S + P)
        let w_s = w.narrow(1, 0, sd)?;
        let w_p = w.narrow(1, sd, self.cfg.portrait.out_dim())?;
        let p = self.portrait.forward(batch.portrait)?; // (B, P)
        let mut bias = p.matmul(&w_p.t()?)?; // (B, d)
        if let Some(head_bias) = self.head.bias() {
            bias = bias.broadcast_add(head_bias)?;
        }
        let projected = stack
            .states
            .reshape((b * t, sd))?
            .matmul(&w_s.t()?)?
            .reshape((b, t, d))?; // (B, T, d)
        Ok(UserSide {
            stack,
            projected,
            bias,
        })
    }

    /// Scores of candidates shared by every user, `catalog (C, item_dim)` → `(B, C)`: the same
    /// values as [`Ainrnn::forward`] with those candidates, computed without the `(B, C, d)`
    /// attended vectors. With attention, score_bc = Σ_t w_bct ⟨v_bt, c⟩ + ⟨bias_b, c⟩ (the
    /// attended vector is a weighted sum of the projected states `v`), so one `(B·T, d) × (d, C)`
    /// product replaces B copies of the catalog — what makes a full softmax over the 16,510
    /// hetrec artists affordable per training step. `batch.candidates` is not read.
    pub fn score_shared(
        &self,
        batch: &Batch,
        catalog: &Tensor,
        dropout: Option<&mut Rng>,
    ) -> Result<Tensor> {
        let (b, t) = batch.mask.dims2()?;
        // In blocks of candidates: a (B, T, block) tensor stays small enough for the allocator
        // to reuse its memory (whole-catalog tensors of ~100 MB were mapped and zeroed afresh
        // by the kernel on every operation — a third of the time).
        let block = SHARED_BLOCK_VALUES / (b * t).max(1);
        self.score_shared_in_blocks(batch, catalog, dropout, block)
    }

    /// [`Ainrnn::score_shared`] scoring `block` candidates (at least 1) at a time.
    pub fn score_shared_in_blocks(
        &self,
        batch: &Batch,
        catalog: &Tensor,
        dropout: Option<&mut Rng>,
        block: usize,
    ) -> Result<Tensor> {
        let (b, t) = batch.mask.dims2()?;
        let d = self.cfg.item_dim;
        check_dims(catalog, "candidates", &[None, Some(d)])?;
        let c = catalog.dim(0)?;
        let user = self.user_side(batch, dropout, &mut |_, x| Ok(x))?;
        let base = user.bias.matmul(&catalog.t()?)?; // (B, C)
        let attended = match &self.attention {
            Some(att) => {
                let block = block.clamp(1, c.max(1));
                let projected = user.projected.reshape((b * t, d))?;
                // The history's keys once for the batch, not once per block.
                let history = att.prepare_shared(&user.stack.states, batch.plays, batch.mask)?;
                let mut parts = Vec::with_capacity(c.div_ceil(block));
                for start in (0..c).step_by(block) {
                    let cands = catalog.narrow(0, start, block.min(c - start))?;
                    let values = projected
                        .matmul(&cands.t()?)?
                        .reshape((b, t, cands.dim(0)?))?; // ⟨v_bt, c⟩
                    parts.push(att.attend_shared(&history, &cands, &values)?);
                }
                Tensor::cat(&parts, 1)?
            }
            None => last_step_selector(batch.mask, t)?
                .matmul(&user.projected)?
                .squeeze(1)?
                .matmul(&catalog.t()?)?,
        };
        Ok((attended + base)?.affine(1.0 / (d as f64).sqrt(), 0.0)?)
    }

    /// The user vector `(B, item_dim)` of stage-1 retrieval: the head applied to the mean of the
    /// history states over real steps (in place of per-candidate attention) and the portrait.
    /// Its dot product with a song embedding approximates [`Ainrnn::forward`]'s score cheaply.
    pub fn pooled_user(
        &self,
        history: &Tensor,
        plays: &Tensor,
        mask: &Tensor,
        portrait: &PortraitBatch,
    ) -> Result<Tensor> {
        let stack = self.run_stack(history, plays, mask, None, &mut |_, t| Ok(t))?;
        let n = mask.sum_keepdim(1)?.clamp(1.0, f64::MAX)?; // (B, 1)
        let mean = stack
            .states
            .broadcast_mul(&mask.unsqueeze(2)?)?
            .sum(1)?
            .broadcast_div(&n)?; // (B, S)
        let p = self.portrait.forward(portrait)?;
        Ok(self.head.forward(&Tensor::cat(&[&mean, &p], 1)?)?)
    }

    /// The saved-model metadata: format version and the JSON configuration (with the genre
    /// vocabulary), so a file alone rebuilds the network.
    pub fn metadata(&self) -> Result<HashMap<String, String>> {
        Ok(HashMap::from([
            (META_VERSION.to_owned(), FORMAT_VERSION.to_string()),
            (META_CONFIG.to_owned(), serde_json::to_string(&self.cfg)?),
        ]))
    }

    /// Saves the weights of `varmap` (the one this network was built on) with
    /// [`Ainrnn::metadata`] as safetensors bytes.
    pub fn to_bytes(&self, varmap: &VarMap) -> Result<Vec<u8>> {
        crate::model::to_safetensors(varmap, self.metadata()?)
    }

    /// Rebuilds a network from [`Ainrnn::to_bytes`] output; the variables come back trainable
    /// in the returned `VarMap` (for fine-tuning). `prefix` must match the one it was built with.
    pub fn from_bytes(bytes: &[u8], prefix: &str, device: &Device) -> Result<(Self, VarMap)> {
        let meta = crate::model::safetensors_metadata(bytes)?;
        let version = meta.get(META_VERSION).map(String::as_str).unwrap_or("none");
        if version != FORMAT_VERSION.to_string() {
            return Err(Error::Model(format!(
                "AINRNN format version {version}, this build reads {FORMAT_VERSION}"
            )));
        }
        let cfg: Config = serde_json::from_str(
            meta.get(META_CONFIG)
                .ok_or_else(|| Error::Model(format!("no {META_CONFIG} in the model file")))?,
        )?;
        let (varmap, vb) = crate::model::from_safetensors(bytes, device)?;
        let vb = if prefix.is_empty() { vb } else { vb.pp(prefix) };
        Ok((Ainrnn::new(cfg, vb)?, varmap))
    }
}

/// `(B, 1, T)`: 1 at each row's last real step (all zeros for an empty history), to read the
/// final state out of `(B, T, H)` outputs with one batched product.
fn last_step_selector(mask: &Tensor, t: usize) -> Result<Tensor> {
    let rows = mask.to_dtype(DType::F32)?.to_vec2::<f32>()?;
    let mut sel = vec![0f32; rows.len() * t];
    for (b, row) in rows.iter().enumerate() {
        if let Some(last) = row.iter().rposition(|m| *m > 0.0) {
            sel[b * t + last] = 1.0;
        }
    }
    Ok(Tensor::from_vec(sel, (rows.len(), 1, t), mask.device())?)
}
