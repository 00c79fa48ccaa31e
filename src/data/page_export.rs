//! The page's Export file (`www/js/import-export.js`) read natively, so that `ainrec recommend`
//! ranks a visitor's library exactly as the page did.
//!
//! Why a reader of its own: the export's top level is a history (the CLI's history reader takes
//! it as is), but ranking the visitor's songs needs what the history does not hold — the
//! library's tracks in the page's order, each with its descriptor (base64 of little-endian f32),
//! its artist (for the diversity rule) and whether it is a second copy of another track
//! (`sameAs`: the page ranks one row per recording), plus the fine-tuned weights, when there are
//! any. The rows are built as `www/js/recommend.js` builds them: tracks in order, without
//! `sameAs`, whose descriptor has the model's length.

use base64::Engine;
use serde::Deserialize;

use crate::data::history::{parse_history, History};
use crate::error::{Error, Result};

/// What the page writes in `format`.
pub const EXPORT_FORMAT: &str = "ainrec-export";

/// One track record of an export (the fields the ranking needs; the rest are ignored).
#[derive(Debug, Clone, Deserialize)]
struct TrackRecord {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    artist: Option<String>,
    #[serde(default, rename = "sameAs")]
    same_as: Option<String>,
    #[serde(default)]
    descriptor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Weights {
    format: String,
    data: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Envelope {
    format: Option<String>,
    #[serde(default)]
    analysis_key: Option<String>,
    #[serde(default)]
    tracks: Vec<TrackRecord>,
    #[serde(default)]
    weights: Option<Weights>,
}

/// One track the page would rank.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    /// The page's track id (a content hash).
    pub id: String,
    /// Title, else the file name.
    pub title: Option<String>,
    /// Artist tag ("" when the file has none).
    pub artist: String,
    /// The track descriptor.
    pub descriptor: Vec<f32>,
}

/// A page export: its history and the tracks with descriptors.
#[derive(Debug, Clone)]
pub struct PageExport {
    /// The history (the export's top level).
    pub history: History,
    /// The analysis key the descriptors were made with.
    pub analysis_key: Option<String>,
    /// Every track with a usable descriptor (no `sameAs`), in the page's order.
    tracks: Vec<ExportRow>,
    /// Fine-tuned weights (safetensors bytes), when the visitor had any.
    pub weights: Option<Vec<u8>>,
}

fn parse_err(file: &str, reason: impl Into<String>) -> Error {
    Error::Parse {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

/// Base64 of little-endian f32 values → the values.
fn decode_descriptor(text: &str) -> std::result::Result<Vec<f32>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("not base64 ({e})"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!("{} bytes, not a whole number of f32", bytes.len()));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

impl PageExport {
    /// Parses an export's text; `file` names it in errors. A file without `"format":
    /// "ainrec-export"` is refused (a plain history has no library to rank).
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let history = parse_history(text, file)?;
        let env: Envelope = serde_json::from_str(text)
            .map_err(|e| parse_err(file, format!("not a page export: {e}")))?;
        if env.format.as_deref() != Some(EXPORT_FORMAT) {
            return Err(parse_err(
                file,
                format!(
                    "not a page export (format is {:?}, expected \"{EXPORT_FORMAT}\"): a \
                     history alone has no library to rank; use a hetrec model or a baseline",
                    env.format
                ),
            ));
        }
        let mut tracks = Vec::new();
        for (i, t) in env.tracks.into_iter().enumerate() {
            if t.same_as.is_some() {
                continue;
            }
            let Some(encoded) = t.descriptor else {
                continue;
            };
            let descriptor = decode_descriptor(&encoded)
                .map_err(|e| parse_err(file, format!("tracks[{i}].descriptor is {e}")))?;
            tracks.push(ExportRow {
                id: t.id,
                title: t.title.or(t.name),
                artist: t.artist.unwrap_or_default(),
                descriptor,
            });
        }
        let weights = match env.weights {
            None => None,
            Some(w) if w.format == "safetensors" => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(&w.data)
                    .map_err(|e| parse_err(file, format!("weights.data is not base64 ({e})")))?,
            ),
            Some(w) => {
                return Err(parse_err(
                    file,
                    format!("weights.format is {:?}, expected \"safetensors\"", w.format),
                ))
            }
        };
        Ok(PageExport {
            history,
            analysis_key: env.analysis_key,
            tracks,
            weights,
        })
    }

    /// The rows the page ranks for a model of descriptor length `len`: the tracks whose
    /// descriptor has that length, in order.
    pub fn rows(&self, len: usize) -> Vec<&ExportRow> {
        self.tracks
            .iter()
            .filter(|t| t.descriptor.len() == len)
            .collect()
    }
}

/// Reads and parses an export file.
#[cfg(feature = "native")]
pub fn read_page_export(path: &std::path::Path) -> Result<PageExport> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    PageExport::parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn b64(values: &[f32]) -> String {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn rows_follow_the_page_order_without_copies_or_other_lengths() {
        let text = serde_json::json!({
            "version": 1, "format": "ainrec-export", "analysis_key": "k",
            "items": [{"id": "b", "plays": 2}],
            "tracks": [
                {"id": "a", "title": "A", "artist": "X", "descriptor": b64(&[1.0, 2.0])},
                {"id": "a2", "sameAs": "a", "descriptor": b64(&[1.0, 2.0])},
                {"id": "b", "name": "b.wav", "descriptor": b64(&[3.0, -4.5])},
                {"id": "c", "descriptor": null},
                {"id": "d", "descriptor": b64(&[1.0, 2.0, 3.0])}
            ],
            "weights": null
        })
        .to_string();
        let e = PageExport::parse(&text, "x.json").unwrap();
        let rows = e.rows(2);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(rows[1].descriptor, [3.0, -4.5]);
        assert_eq!(rows[1].title.as_deref(), Some("b.wav"));
        assert_eq!(rows[1].artist, "");
        assert_eq!(e.history.items[0].id, "b");
        assert_eq!(e.rows(3).len(), 1);
        assert!(e.weights.is_none());
    }

    #[test]
    fn a_plain_history_or_a_bad_descriptor_is_refused_by_name() {
        let plain = r#"{"version": 1, "items": [{"id": "a"}]}"#;
        let err = PageExport::parse(plain, "h.json").unwrap_err().to_string();
        assert!(
            err.contains("not a page export") && err.contains("h.json"),
            "{err}"
        );
        let bad = r#"{"format": "ainrec-export", "items": [],
            "tracks": [{"id": "a"}, {"id": "b", "descriptor": "AAA"}]}"#;
        let err = PageExport::parse(bad, "e.json").unwrap_err().to_string();
        assert!(err.contains("tracks[1].descriptor"), "{err}");
        let weights = r#"{"format": "ainrec-export", "items": [],
            "weights": {"format": "npz", "data": ""}}"#;
        let err = PageExport::parse(weights, "e.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("weights.format"), "{err}");
    }
}
