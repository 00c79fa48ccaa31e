//! The user portrait (He 2022 §3.3: age, the language of the songs the user listens to, and
//! song genres) as embeddings.
//!
//! - Age band: one of the 7 bands of [`AgeBand::ALL`] (unknown, <18, 18–24, 25–34, 35–44,
//!   45–54, 55+), a 7-row embedding table; an absent band is `unknown`.
//! - Language: an ISO 639-1 code, or unknown. Every two-letter code has its own row
//!   (1 + 26 · 26 rows, row 0 = unknown), so no list of languages has to be kept in step with
//!   the standard, and a code never seen in training simply keeps its initial vector.
//! - Genres: a multi-hot vector over a vocabulary stored with the model ([`Config::genres`]),
//!   averaged through a genre embedding table; genres outside the vocabulary are reported by
//!   [`PortraitBatch::new`], never silently dropped. No genre gives a zero vector.
//!
//! The output is the three parts side by side, `(batch, 3 · dim)`.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::data::history::{AgeBand, Portrait};
use crate::error::{Error, Result};
use crate::model::check_dims;

/// Rows of the language table: row 0 for unknown, then one per pair of letters a–z.
pub const N_LANGUAGES: usize = 1 + 26 * 26;

/// Configuration of the portrait encoder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Embedding size of each of the three fields.
    pub dim: usize,
    /// The genre vocabulary, in embedding-row order. Matching is case-insensitive.
    pub genres: Vec<String>,
}

impl Config {
    /// Width of the encoder's output.
    pub fn out_dim(&self) -> usize {
        3 * self.dim
    }
}

/// The row of an age band (its position in [`AgeBand::ALL`]; absent = unknown = 0).
pub fn age_index(band: Option<AgeBand>) -> u32 {
    let band = band.unwrap_or(AgeBand::Unknown);
    AgeBand::ALL
        .iter()
        .position(|(b, _)| *b == band)
        .unwrap_or(0) as u32
}

/// The row of a language: 0 for absent, `"unknown"` or anything that is not two ASCII letters;
/// otherwise `1 + 26 · first + second` (case-insensitive).
pub fn language_index(language: Option<&str>) -> u32 {
    match language.map(|l| l.trim().as_bytes()) {
        Some(&[a, b]) if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            let a = u32::from(a.to_ascii_lowercase() - b'a');
            let b = u32::from(b.to_ascii_lowercase() - b'a');
            1 + 26 * a + b
        }
        _ => 0,
    }
}

/// A batch of portraits as index tensors.
#[derive(Debug, Clone)]
pub struct PortraitBatch {
    /// Age-band rows `(batch,)`, u32.
    pub age: Tensor,
    /// Language rows `(batch,)`, u32.
    pub language: Tensor,
    /// Genre weights `(batch, n_genres)`, f32: `1 / k` on each of a user's `k` known genres.
    pub genres: Tensor,
}

impl PortraitBatch {
    /// Encodes one portrait per user (`None` = nothing known) against `cfg`'s genre vocabulary.
    /// Returns the batch and, per user, the genres that are not in the vocabulary.
    pub fn new(
        portraits: &[Option<&Portrait>],
        cfg: &Config,
        device: &Device,
    ) -> Result<(Self, Vec<Vec<String>>)> {
        let n = portraits.len();
        let g = cfg.genres.len();
        let vocab: Vec<String> = cfg.genres.iter().map(|s| s.trim().to_lowercase()).collect();
        let mut age = Vec::with_capacity(n);
        let mut language = Vec::with_capacity(n);
        let mut genres = vec![0f32; n * g];
        let mut unknown = Vec::with_capacity(n);
        for (b, p) in portraits.iter().enumerate() {
            age.push(age_index(p.and_then(|p| p.age_band)));
            language.push(language_index(p.and_then(|p| p.language.as_deref())));
            let mut missing = Vec::new();
            let mut rows = Vec::new();
            for name in p.map(|p| p.genres.as_slice()).unwrap_or_default() {
                match vocab.iter().position(|v| *v == name.trim().to_lowercase()) {
                    Some(i) if !rows.contains(&i) => rows.push(i),
                    Some(_) => {}
                    None => missing.push(name.clone()),
                }
            }
            for &i in &rows {
                genres[b * g + i] = 1.0 / rows.len() as f32;
            }
            unknown.push(missing);
        }
        Ok((
            PortraitBatch {
                age: Tensor::from_vec(age, n, device)?,
                language: Tensor::from_vec(language, n, device)?,
                genres: Tensor::from_vec(genres, (n, g), device)?,
            },
            unknown,
        ))
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.age.dims1().unwrap_or(0)
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The portrait encoder.
#[derive(Debug, Clone)]
pub struct PortraitEncoder {
    age: Embedding,
    language: Embedding,
    /// `(n_genres, dim)`; absent for an empty vocabulary.
    genre: Option<Tensor>,
    cfg: Config,
}

impl PortraitEncoder {
    /// Creates (or loads) `age.embeddings (7, dim)`, `language.embeddings (677, dim)` and, with a
    /// genre vocabulary, `genre (n_genres, dim)` under `vb`.
    pub fn new(cfg: Config, vb: VarBuilder) -> Result<Self> {
        if cfg.dim == 0 {
            return Err(Error::invalid("portrait dim", "> 0", 0));
        }
        let age = candle_nn::embedding(AgeBand::ALL.len(), cfg.dim, vb.pp("age"))?;
        let language = candle_nn::embedding(N_LANGUAGES, cfg.dim, vb.pp("language"))?;
        let genre = if cfg.genres.is_empty() {
            None
        } else {
            Some(vb.get_with_hints(
                (cfg.genres.len(), cfg.dim),
                "genre",
                candle_nn::Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            )?)
        };
        Ok(PortraitEncoder {
            age,
            language,
            genre,
            cfg,
        })
    }

    /// The configuration (with the genre vocabulary).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// `(batch, 3 · dim)`: age, language and genre embeddings side by side.
    pub fn forward(&self, p: &PortraitBatch) -> Result<Tensor> {
        let n = p.len();
        check_dims(
            &p.genres,
            "portrait genres",
            &[Some(n), Some(self.cfg.genres.len())],
        )?;
        let age = self.age.forward(&p.age)?;
        let language = self.language.forward(&p.language)?;
        let genre = match &self.genre {
            Some(table) => p.genres.matmul(table)?,
            None => Tensor::zeros((n, self.cfg.dim), DType::F32, p.age.device())?,
        };
        Ok(Tensor::cat(&[&age, &language, &genre], 1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::seeded_var_builder;
    use candle_nn::VarMap;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn indices_cover_the_vocabularies() {
        assert_eq!(age_index(None), 0);
        assert_eq!(age_index(Some(AgeBand::Over55)), 6);
        assert_eq!(language_index(Some("aa")), 1);
        assert_eq!(language_index(Some("zz")), N_LANGUAGES as u32 - 1);
        assert_eq!(language_index(Some("EN")), language_index(Some("en")));
        for s in [None, Some("unknown"), Some("e"), Some("e1"), Some("")] {
            assert_eq!(language_index(s), 0, "{s:?}");
        }
    }

    #[test]
    fn batch_encoding_and_unknown_genres() {
        let cfg = Config {
            dim: 4,
            genres: vec!["rock".into(), "Jazz".into(), "pop".into()],
        };
        let p = Portrait {
            age_band: Some(AgeBand::From25To34),
            language: Some("fr".into()),
            genres: vec!["jazz".into(), "polka".into(), "rock".into(), "Rock".into()],
        };
        let (b, unknown) = PortraitBatch::new(&[Some(&p), None], &cfg, &Device::Cpu).unwrap();
        assert_eq!(unknown, vec![vec!["polka".to_string()], vec![]]);
        assert_eq!(b.age.to_vec1::<u32>().unwrap(), vec![3, 0]);
        assert_eq!(
            b.genres.to_vec2::<f32>().unwrap(),
            vec![vec![0.5, 0.5, 0.0], vec![0.0; 3]]
        );
        let vm = VarMap::new();
        let enc = PortraitEncoder::new(cfg, seeded_var_builder(&vm, 3, &Device::Cpu)).unwrap();
        let out = enc.forward(&b).unwrap();
        assert_eq!(out.dims(), &[2, 12]);
        let rows = out.to_vec2::<f32>().unwrap();
        assert!(
            rows[1][8..].iter().all(|v| *v == 0.0),
            "no genre → zero genre part"
        );
        assert!(rows[0][8..].iter().any(|v| *v != 0.0));
    }
}
