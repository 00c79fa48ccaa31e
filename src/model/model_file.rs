//! The model file: a trained song encoder + AINRNN together with the catalog it ranks, in one
//! safetensors blob (bytes in, bytes out — the browser stores models without a file system).
//!
//! Tensors: `song.*` (encoder weights, id embeddings and standardisation buffers), `ainrnn.*`
//! (the network), and the catalog's content features as a sparse matrix in three buffers
//! `catalog.buffer_indptr (n_items + 1)`, `catalog.buffer_index (nnz)`,
//! `catalog.buffer_value (nnz)` (stored as f32; indices stay exact below 2^24).
//! Metadata (JSON strings): [`META_FORMAT`] = [`MODEL_FILE_VERSION`], the network and encoder
//! configurations, `ainrec.catalog.ids`, `ainrec.catalog.names`, `ainrec.catalog.features`
//! (the content dimensions' names), `ainrec.model.kind` and `ainrec.model.info` (how it was
//! trained: data, users, epochs, command).
//!
//! Loading re-encodes the catalog from its stored features, so a loaded model scores exactly as
//! the one that was saved; anything missing, mis-shaped or of another version is an error naming
//! what is wrong, and nothing is half-loaded.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use serde_json::Value;

use crate::data::Catalog;
use crate::error::{Error, Result};
use crate::model::ainrnn::{self, Ainrnn};
use crate::model::recommender::NeuralRecommender;
use crate::model::song_encoder::{self, SongEncoder};
use crate::model::{from_safetensors, named_vars, safetensors_metadata};

/// Version of the model-file layout described above.
pub const MODEL_FILE_VERSION: u32 = 1;
/// Metadata key of [`MODEL_FILE_VERSION`].
pub const META_FORMAT: &str = "ainrec.model_file.version";
const META_ENCODER: &str = "ainrec.song_encoder.config";
const META_IDS: &str = "ainrec.catalog.ids";
const META_NAMES: &str = "ainrec.catalog.names";
const META_FEATURES: &str = "ainrec.catalog.features";
const META_KIND: &str = "ainrec.model.kind";
const META_INFO: &str = "ainrec.model.info";

/// What a model file holds besides the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCatalog {
    /// The items, with display names.
    pub catalog: Catalog,
    /// Names of the content dimensions.
    pub feature_names: Vec<String>,
    /// One sparse row per item: `(dimension, value)`.
    pub features: Vec<Vec<(u32, f32)>>,
}

impl ModelCatalog {
    /// Dense `(n_items, dims)` rows for the song encoder.
    pub fn dense(&self) -> Vec<Vec<f32>> {
        let dims = self.feature_names.len().max(1);
        self.features
            .iter()
            .map(|row| {
                let mut v = vec![0f32; dims];
                for &(d, x) in row {
                    if let Some(slot) = v.get_mut(d as usize) {
                        *slot = x;
                    }
                }
                v
            })
            .collect()
    }

    /// Sparse rows of dense `rows` (zeros dropped).
    pub fn sparse(rows: &[Vec<f32>]) -> Vec<Vec<(u32, f32)>> {
        let dims = rows.first().map_or(0, Vec::len);
        crate::data::ContentMatrix::from_dense(
            vec![String::new(); dims],
            rows.iter().cloned().map(Some).collect(),
        )
        .rows
    }
}

/// A loaded model file.
pub struct LoadedModel {
    /// The ranking model over the file's catalog.
    pub recommender: NeuralRecommender,
    /// The catalog and its content.
    pub catalog: ModelCatalog,
    /// The variant (`ainrnn`, `indrnn`, …).
    pub kind: String,
    /// How it was trained.
    pub info: Value,
}

/// Serialises the trained `varmap` (holding `song.*` and `ainrnn.*`), the network's and
/// encoder's configurations and the catalog into model-file bytes.
pub fn save(
    varmap: &candle_nn::VarMap,
    model: &Ainrnn,
    encoder: &SongEncoder,
    catalog: &ModelCatalog,
    kind: &str,
    info: &Value,
) -> Result<Vec<u8>> {
    let n = catalog.catalog.len();
    if catalog.features.len() != n {
        return Err(Error::invalid(
            "catalog features",
            format!("one row per item ({n})"),
            catalog.features.len(),
        ));
    }
    let dev = Device::Cpu;
    let mut tensors: Vec<(String, Tensor)> = named_vars(varmap)
        .into_iter()
        .map(|(name, var)| (name, var.as_tensor().clone()))
        .collect();
    let mut indptr = Vec::with_capacity(n + 1);
    let (mut index, mut value) = (Vec::new(), Vec::new());
    indptr.push(0f32);
    for row in &catalog.features {
        for &(d, x) in row {
            index.push(d as f32);
            value.push(x);
        }
        indptr.push(index.len() as f32);
    }
    if index.len() >= 1 << 24 {
        return Err(Error::Model(
            "catalog features too large for the f32 index layout".into(),
        ));
    }
    let nnz = index.len();
    tensors.push((
        "catalog.buffer_indptr".into(),
        Tensor::from_vec(indptr, n + 1, &dev)?,
    ));
    tensors.push((
        "catalog.buffer_index".into(),
        Tensor::from_vec(index, nnz, &dev)?,
    ));
    tensors.push((
        "catalog.buffer_value".into(),
        Tensor::from_vec(value, nnz, &dev)?,
    ));
    let names: Vec<Option<&str>> = (0..n).map(|i| catalog.catalog.name(i)).collect();
    let mut meta: HashMap<String, String> = model.metadata()?;
    meta.insert(META_FORMAT.into(), MODEL_FILE_VERSION.to_string());
    meta.insert(
        META_ENCODER.into(),
        serde_json::to_string(encoder.config())?,
    );
    meta.insert(
        META_IDS.into(),
        serde_json::to_string(catalog.catalog.ids())?,
    );
    meta.insert(META_NAMES.into(), serde_json::to_string(&names)?);
    meta.insert(
        META_FEATURES.into(),
        serde_json::to_string(&catalog.feature_names)?,
    );
    meta.insert(META_KIND.into(), kind.to_owned());
    meta.insert(META_INFO.into(), serde_json::to_string(info)?);
    safetensors::serialize(tensors, Some(meta))
        .map_err(|e| Error::Model(format!("cannot serialise the model: {e}")))
}

fn meta_json<T: serde::de::DeserializeOwned>(
    meta: &HashMap<String, String>,
    key: &str,
) -> Result<T> {
    let text = meta
        .get(key)
        .ok_or_else(|| Error::Model(format!("not an ainrec model file: no {key}")))?;
    serde_json::from_str(text)
        .map_err(|e| Error::Model(format!("model file field {key} is unreadable: {e}")))
}

/// Reads model-file bytes (see the module docs).
pub fn load(bytes: &[u8]) -> Result<LoadedModel> {
    let meta = safetensors_metadata(bytes)?;
    let version = meta.get(META_FORMAT).map(String::as_str).unwrap_or("none");
    if version != MODEL_FILE_VERSION.to_string() {
        return Err(Error::Model(format!(
            "model file version {version}; this build reads version {MODEL_FILE_VERSION}"
        )));
    }
    let model_cfg: ainrnn::Config = meta_json(&meta, ainrnn::META_CONFIG)?;
    let enc_cfg: song_encoder::Config = meta_json(&meta, META_ENCODER)?;
    let ids: Vec<String> = meta_json(&meta, META_IDS)?;
    let names: Vec<Option<String>> = meta_json(&meta, META_NAMES)?;
    let feature_names: Vec<String> = meta_json(&meta, META_FEATURES)?;
    let info: Value = meta_json(&meta, META_INFO).unwrap_or(Value::Null);
    let kind = meta
        .get(META_KIND)
        .cloned()
        .unwrap_or_else(|| "ainrnn".into());
    if names.len() != ids.len() {
        return Err(Error::Model(format!(
            "model file has {} item ids but {} names",
            ids.len(),
            names.len()
        )));
    }
    let dev = Device::Cpu;
    let (varmap, vb) = from_safetensors(bytes, &dev)?;
    let read = |name: &str| -> Result<Vec<f32>> {
        let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
        let t = data
            .get(name)
            .ok_or_else(|| Error::Model(format!("model file has no tensor {name}")))?;
        Ok(t.as_tensor().flatten_all()?.to_vec1::<f32>()?)
    };
    let (indptr, index, value) = (
        read("catalog.buffer_indptr")?,
        read("catalog.buffer_index")?,
        read("catalog.buffer_value")?,
    );
    let n = ids.len();
    if indptr.len() != n + 1 || index.len() != value.len() {
        return Err(Error::Model(format!(
            "model file catalog features do not match its {n} items"
        )));
    }
    // Offsets and feature indices are stored as f32: each must be a non-negative integer, or
    // `as usize` would quietly turn -5 into 0 and 1.5 into 1. The offsets run from 0 to nnz.
    let whole = |x: &f32| x.is_finite() && *x >= 0.0 && x.fract() == 0.0;
    if !indptr.iter().all(whole)
        || !index.iter().all(whole)
        || indptr.first() != Some(&0.0)
        || indptr.last().map(|&x| x as usize) != Some(index.len())
    {
        return Err(Error::Model(
            "model file catalog features are corrupt (offsets and indices must be whole numbers \
             from 0, the offsets ending at the number of entries)"
                .into(),
        ));
    }
    let mut features = Vec::with_capacity(n);
    for w in indptr.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        if a > b || b > index.len() {
            return Err(Error::Model(
                "model file catalog features are corrupt".into(),
            ));
        }
        let row: Vec<(u32, f32)> = (a..b).map(|j| (index[j] as u32, value[j])).collect();
        if let Some(&(d, _)) = row.iter().find(|(d, _)| *d as usize >= feature_names.len()) {
            return Err(Error::Model(format!(
                "model file feature index {d} out of range ({} features)",
                feature_names.len()
            )));
        }
        features.push(row);
    }
    let mut catalog = Catalog::new();
    for (i, id) in ids.iter().enumerate() {
        if catalog.insert(id) != i {
            return Err(Error::Model(format!("model file repeats item id {id}")));
        }
        if let Some(name) = &names[i] {
            catalog.set_name(i, name.clone());
        }
    }
    let catalog = ModelCatalog {
        catalog,
        feature_names,
        features,
    };
    let encoder = SongEncoder::new(enc_cfg, vb.pp("song"))?;
    let model = Ainrnn::new(model_cfg, vb.pp("ainrnn"))?;
    let dense = catalog.dense();
    let d_in = encoder.config().input_dim;
    if let Some(r) = dense.iter().find(|r| r.len() != d_in) {
        return Err(Error::invalid(
            "catalog feature row",
            format!("{d_in} values"),
            r.len(),
        ));
    }
    let flat: Vec<f32> = dense.into_iter().flatten().collect();
    let items = encode_catalog(&encoder, &Tensor::from_vec(flat, (n, d_in), &dev)?)?;
    let recommender = NeuralRecommender::new(&kind, model, items, None)?;
    Ok(LoadedModel {
        recommender,
        catalog,
        kind,
        info,
    })
}

/// Song embeddings `(n, d)` of `features (n, d_in)` (item `i` gets id `i`), in blocks of 4096
/// so the encoder's hidden layer never holds the whole catalog at once.
pub fn encode_catalog(encoder: &SongEncoder, features: &Tensor) -> Result<Tensor> {
    let n = features.dim(0)?;
    if n == 0 {
        return Err(Error::Model("the model file's catalog is empty".into()));
    }
    let mut parts = Vec::new();
    for start in (0..n).step_by(4096) {
        let len = 4096.min(n - start);
        let ids: Vec<u32> = (start..start + len).map(|i| i as u32).collect();
        let ids = Tensor::from_vec(ids, len, features.device())?;
        parts.push(encoder.forward_items(&features.narrow(0, start, len)?, &ids)?);
    }
    Ok(Tensor::cat(&parts, 0)?)
}
