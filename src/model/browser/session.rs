//! A visitor's session: what the page's worker holds.

use std::collections::HashSet;

use candle_core::Tensor;

use super::{
    BrowserModel, FineTuneConfig, FineTuneOutcome, FineTuner, RankOptions, Ranked, Step, StepReport,
};
use crate::error::{Error, Result};

/// What the page's worker holds: the model, the embeddings of the visitor's library (their
/// files and the demo catalog, in the page's order) and at most one fine-tuning run. Pure Rust,
/// so the native tests and the wasm API (`src/wasm.rs`) drive the same code.
pub struct Session {
    model: BrowserModel,
    table: Tensor,
    /// The artist of each library row (empty: none known; `""`: that row's is unknown).
    artists: Vec<String>,
    shipped: Vec<u8>,
    tuner: Option<FineTuner>,
}

impl Session {
    /// Loads a browser model file (the shipped weights "Reset model" returns to).
    pub fn new(bytes: &[u8]) -> Result<Self> {
        let model = BrowserModel::from_bytes(bytes)?;
        let d = model.cfg.ainrnn.item_dim;
        let table = Tensor::zeros((0, d), candle_core::DType::F32, &model.device)?;
        Ok(Session {
            model,
            table,
            artists: Vec::new(),
            shipped: bytes.to_vec(),
            tuner: None,
        })
    }

    /// The model.
    pub fn model(&self) -> &BrowserModel {
        &self.model
    }

    /// Songs in the library.
    pub fn library_len(&self) -> usize {
        self.table.dim(0).unwrap_or(0)
    }

    /// Replaces the library by `flat` descriptors (one after another, each of the model's
    /// descriptor length) and the artist of each row (`artists` empty when none is known; the
    /// diversity limit needs them). A bad row fails the whole call and keeps the previous
    /// library; a running fine-tuning run is abandoned (its rows would no longer mean the same
    /// songs).
    pub fn set_library(&mut self, flat: &[f32], artists: &[String]) -> Result<usize> {
        let len = self.model.cfg.descriptor_names.len();
        if flat.len() % len != 0 {
            return Err(Error::invalid(
                "library descriptors",
                format!(
                    "a multiple of {len} values ({})",
                    self.model.cfg.analysis_key
                ),
                flat.len(),
            ));
        }
        let rows: Vec<Vec<f32>> = flat.chunks(len).map(<[f32]>::to_vec).collect();
        if !artists.is_empty() && artists.len() != rows.len() {
            return Err(Error::invalid(
                "library artists",
                format!("none or one per song ({})", rows.len()),
                artists.len(),
            ));
        }
        self.table = self.model.embed_library(&rows)?;
        self.artists = artists.to_vec();
        self.fine_tune_cancel()?;
        Ok(rows.len())
    }

    /// The top `opts.k` unheard songs for `history` (see [`BrowserModel::rank`]), re-ranked
    /// by the library's artists when `opts.diversity` is set.
    pub fn recommend(
        &self,
        history: &[Step],
        exclude: &HashSet<usize>,
        opts: &RankOptions,
    ) -> Result<Vec<Ranked>> {
        self.model
            .rank(&self.table, history, exclude, opts, &self.artists)
    }

    /// Starts a fine-tuning run on `history`; returns the check before it (`None` when the
    /// history is too short to hold plays out).
    pub fn fine_tune_start(
        &mut self,
        history: &[Step],
        cfg: FineTuneConfig,
    ) -> Result<Option<f64>> {
        if let Some(t) = self.tuner.take() {
            self.model.restore(&t.initial)?;
        }
        let t = FineTuner::new(&self.model, self.table.clone(), history, cfg)?;
        let before = t.before;
        self.tuner = Some(t);
        Ok(before)
    }

    /// The running fine-tuning's time budget in milliseconds (`None` without a run).
    pub fn fine_tune_budget_ms(&self) -> Option<f64> {
        self.tuner.as_ref().map(|t| t.config().budget_ms)
    }

    /// One step of the running fine-tuning; `None` when the run is over (call
    /// [`Session::fine_tune_finish`]).
    pub fn fine_tune_step(&mut self) -> Result<Option<StepReport>> {
        let t = self
            .tuner
            .as_mut()
            .ok_or_else(|| Error::Model("no fine-tuning run has been started".into()))?;
        if t.done() {
            return Ok(None);
        }
        t.step(&self.model).map(Some)
    }

    /// Ends the run (check after, roll-back when worse or failed).
    pub fn fine_tune_finish(&mut self) -> Result<FineTuneOutcome> {
        let t = self
            .tuner
            .take()
            .ok_or_else(|| Error::Model("no fine-tuning run has been started".into()))?;
        t.finish(&mut self.model)
    }

    /// Abandons the running fine-tuning and returns to the weights it started from.
    pub fn fine_tune_cancel(&mut self) -> Result<()> {
        if let Some(t) = self.tuner.take() {
            self.model.restore(&t.initial)?;
        }
        Ok(())
    }

    /// The current weights as a browser model file (what the page persists).
    pub fn weights(&self) -> Result<Vec<u8>> {
        self.model.to_bytes()
    }

    /// Loads saved weights (e.g. fine-tuned ones from IndexedDB or an import); a corrupt or
    /// foreign file is an error and the current weights stay.
    pub fn load_weights(&mut self, bytes: &[u8]) -> Result<()> {
        let m = BrowserModel::from_bytes(bytes)?;
        if m.cfg != self.model.cfg {
            return Err(Error::Model(
                "these weights belong to a browser model of another configuration".into(),
            ));
        }
        self.tuner = None;
        self.model = m;
        Ok(())
    }

    /// Back to the shipped weights ("Reset model").
    pub fn reset(&mut self) -> Result<()> {
        self.tuner = None;
        self.model = BrowserModel::from_bytes(&self.shipped)?;
        Ok(())
    }
}
