//! The versioned history file shared by the page's export and the CLI (`ainrec recommend`).
//!
//! ```json
//! {"version": 1,
//!  "items": [{"id": "51", "plays": 12, "liked": true, "skips": 0, "time": 1238544000},
//!            {"id": "89", "plays": 1, "disliked": true}],
//!  "portrait": {"age_band": "25-34", "language": "en", "genres": ["rock"]}}
//! ```
//!
//! Rules (each violation is an [`Error::Parse`] naming the field, e.g. `items[2].plays`):
//! - `items` is required (it may be empty): without it any JSON object — a results file, a model
//!   config — would silently read as an empty history.
//! - In an item only `id` is required: a string, or a non-negative integer taken as its decimal
//!   string (hetrec ids are integers). `plays` and `skips` are non-negative integers, `liked` and
//!   `disliked` ("less like this" on the page) booleans, `time` integer unix seconds. `null`
//!   means absent.
//! - `version` is optional and defaults to 1; any other version is rejected, so a future format
//!   is never misread.
//! - `portrait` is optional, and so is each of its fields. `age_band` is one of
//!   [`AgeBand::ALL`]; `language` is an ISO 639-1 code (two lowercase letters) or `"unknown"`;
//!   `genres` is a list of strings.
//! - Unknown keys are ignored, so the page may store extra display fields (title, artist) per item.
//! - The order of `items` is the sequence order (oldest first); `time` does not reorder it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The history format version this build reads and writes.
pub const HISTORY_VERSION: u32 = 1;

/// How a dislike reaches the models, which read plays, a like and skips but have no dislike
/// field: as this many extra skips (and no like). With the browser prior's weight
/// w = ln(1 + plays) + liked − ln(1 + skips), a disliked track weighs at most
/// ln(1 + plays) − ln(21), below any track skipped once, and fine-tuning takes it as a negative
/// (skips > plays, not liked), like a skipped one. The page (`www/js/history.js`) applies the
/// same number, so the page and `ainrec recommend` rank one history alike.
pub const DISLIKE_SKIPS: u64 = 20;

/// A listening history as exchanged between the page and the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Format version; always [`HISTORY_VERSION`] after parsing.
    pub version: u32,
    /// The items, oldest first.
    pub items: Vec<HistoryItem>,
    /// Optional user portrait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portrait: Option<Portrait>,
}

impl Default for History {
    fn default() -> Self {
        History {
            version: HISTORY_VERSION,
            items: Vec::new(),
            portrait: None,
        }
    }
}

/// One item of a history.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HistoryItem {
    /// The item's id in the model's catalog (for hetrec models, the artistID as a string).
    pub id: String,
    /// Number of plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plays: Option<u64>,
    /// Whether the visitor liked it (a strong positive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liked: Option<bool>,
    /// Number of skips (a negative signal for fine-tuning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skips: Option<u64>,
    /// Unix seconds of the (last) play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// "Less like this": a strong negative ([`DISLIKE_SKIPS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disliked: Option<bool>,
}

impl HistoryItem {
    /// The like the models read: a like that a dislike does not override.
    pub fn model_liked(&self) -> bool {
        self.liked.unwrap_or(false) && !self.disliked.unwrap_or(false)
    }

    /// The skips the models read: the recorded ones plus [`DISLIKE_SKIPS`] for a dislike.
    pub fn model_skips(&self) -> u64 {
        let extra = if self.disliked.unwrap_or(false) {
            DISLIKE_SKIPS
        } else {
            0
        };
        self.skips.unwrap_or(0).saturating_add(extra)
    }
}

/// Age bands of the user portrait (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgeBand {
    /// Not given.
    #[serde(rename = "unknown")]
    Unknown,
    /// Under 18.
    #[serde(rename = "<18")]
    Under18,
    /// 18–24.
    #[serde(rename = "18-24")]
    From18To24,
    /// 25–34.
    #[serde(rename = "25-34")]
    From25To34,
    /// 35–44.
    #[serde(rename = "35-44")]
    From35To44,
    /// 45–54.
    #[serde(rename = "45-54")]
    From45To54,
    /// 55 and over.
    #[serde(rename = "55+")]
    Over55,
}

impl AgeBand {
    /// Every band with its JSON spelling.
    pub const ALL: [(AgeBand, &'static str); 7] = [
        (AgeBand::Unknown, "unknown"),
        (AgeBand::Under18, "<18"),
        (AgeBand::From18To24, "18-24"),
        (AgeBand::From25To34, "25-34"),
        (AgeBand::From35To44, "35-44"),
        (AgeBand::From45To54, "45-54"),
        (AgeBand::Over55, "55+"),
    ];

    /// Parses the JSON spelling; an en dash (`18–24`) is accepted for the hyphen.
    pub fn parse(s: &str) -> Option<AgeBand> {
        let s = s.replace('\u{2013}', "-");
        Self::ALL
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(b, _)| *b)
    }
}

/// The user portrait: age band, language and genres.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Portrait {
    /// Age band, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
    /// ISO 639-1 language code or `"unknown"`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Genre names (matched against a model's genre vocabulary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: &str, expected: &str, found: &Value) -> Error {
        Error::Parse {
            file: self.file.to_owned(),
            reason: format!(
                "field `{field}`: expected {expected}, found {}",
                describe(found)
            ),
        }
    }

    fn missing(&self, field: &str, expected: &str) -> Error {
        Error::Parse {
            file: self.file.to_owned(),
            reason: format!("field `{field}` is missing ({expected})"),
        }
    }

    fn opt_u64(&self, obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u64>> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(path, "a non-negative integer", v)),
        }
    }
}

/// Parses a history file's text; `file` names the input in error messages.
pub fn parse_history(text: &str, file: &str) -> Result<History> {
    let cx = Ctx { file };
    if text.starts_with('\u{feff}') {
        // serde_json's "expected value at line 1 column 1" does not say why.
        return Err(Error::Parse {
            file: file.to_owned(),
            reason: "starts with a byte-order mark (U+FEFF): save it as UTF-8 without a BOM".into(),
        });
    }
    let root: Value = serde_json::from_str(text).map_err(|e| Error::Parse {
        file: file.to_owned(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let Value::Object(root) = root else {
        return Err(cx.err("(top level)", "an object with an `items` array", &root));
    };

    let version = match root.get("version") {
        None | Some(Value::Null) => HISTORY_VERSION,
        Some(v) => match v.as_u64() {
            Some(n) if n == u64::from(HISTORY_VERSION) => HISTORY_VERSION,
            _ => return Err(cx.err("version", &format!("{HISTORY_VERSION}"), v)),
        },
    };

    let items_v = root
        .get("items")
        .ok_or_else(|| cx.missing("items", "an array of {\"id\": …} objects"))?;
    let Value::Array(raw_items) = items_v else {
        return Err(cx.err("items", "an array of {\"id\": …} objects", items_v));
    };
    let mut items = Vec::with_capacity(raw_items.len());
    for (i, v) in raw_items.iter().enumerate() {
        let path = |k: &str| format!("items[{i}].{k}");
        let Value::Object(obj) = v else {
            return Err(cx.err(&format!("items[{i}]"), "an object with an `id`", v));
        };
        let id = match obj.get("id") {
            None | Some(Value::Null) => return Err(cx.missing(&path("id"), "a string item id")),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(v @ Value::Number(n)) => match n.as_u64() {
                Some(n) => n.to_string(),
                None => return Err(cx.err(&path("id"), "a string or a non-negative integer", v)),
            },
            Some(v) => return Err(cx.err(&path("id"), "a non-empty string", v)),
        };
        let flag = |key: &str| match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(cx.err(&path(key), "true or false", v)),
        };
        let liked = flag("liked")?;
        let disliked = flag("disliked")?;
        let time = match obj.get("time") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| cx.err(&path("time"), "integer unix seconds", v))?,
            ),
        };
        items.push(HistoryItem {
            id,
            plays: cx.opt_u64(obj, "plays", &path("plays"))?,
            liked,
            skips: cx.opt_u64(obj, "skips", &path("skips"))?,
            time,
            disliked,
        });
    }

    let portrait = match root.get("portrait") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => Some(parse_portrait(&cx, p)?),
        Some(v) => return Err(cx.err("portrait", "an object", v)),
    };
    Ok(History {
        version,
        items,
        portrait,
    })
}

fn parse_portrait(cx: &Ctx<'_>, p: &Map<String, Value>) -> Result<Portrait> {
    let bands = AgeBand::ALL
        .iter()
        .map(|(_, s)| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let age_band = match p.get("age_band") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let b = v.as_str().and_then(AgeBand::parse);
            Some(b.ok_or_else(|| cx.err("portrait.age_band", &format!("one of {bands}"), v))?)
        }
    };
    let language = match p.get("language") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let ok = v.as_str().filter(|s| {
                *s == "unknown" || (s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase()))
            });
            Some(
                ok.ok_or_else(|| {
                    cx.err(
                        "portrait.language",
                        "an ISO 639-1 code such as \"en\", or \"unknown\"",
                        v,
                    )
                })?
                .to_owned(),
            )
        }
    };
    let genres = match p.get("genres") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(gs)) => gs
            .iter()
            .enumerate()
            .map(|(i, g)| {
                g.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| cx.err(&format!("portrait.genres[{i}]"), "a string", g))
            })
            .collect::<Result<_>>()?,
        Some(v) => return Err(cx.err("portrait.genres", "an array of strings", v)),
    };
    Ok(Portrait {
        age_band,
        language,
        genres,
    })
}

impl History {
    /// Serialises to pretty JSON in the same schema [`parse_history`] reads (absent optional
    /// fields are omitted).
    pub fn to_json(&self) -> String {
        // Serialising plain strings, integers and booleans cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Reads and parses a history file.
#[cfg(feature = "native")]
pub fn read_history(path: &std::path::Path) -> Result<History> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_history(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn err(text: &str) -> String {
        parse_history(text, "h.json").unwrap_err().to_string()
    }

    #[test]
    fn minimal_and_full_histories_parse() {
        let h = parse_history(r#"{"items": [{"id": "51"}, {"id": 52}]}"#, "h.json").unwrap();
        assert_eq!(h.version, 1);
        assert_eq!(
            h.items[0],
            HistoryItem {
                id: "51".into(),
                ..Default::default()
            }
        );
        assert_eq!(h.items[1].id, "52");
        let full = r#"{"version": 1, "items": [{"id": "51", "plays": 12, "liked": true, "skips": 2,
            "time": 1238544000, "title": "ignored"}],
            "portrait": {"age_band": "25–34", "language": "en", "genres": ["rock", "pop"]}}"#;
        let h = parse_history(full, "h.json").unwrap();
        assert_eq!(h.items[0].plays, Some(12));
        assert_eq!(h.items[0].liked, Some(true));
        assert_eq!(h.items[0].skips, Some(2));
        assert_eq!(h.items[0].time, Some(1_238_544_000));
        let p = h.portrait.as_ref().unwrap();
        assert_eq!(p.age_band, Some(AgeBand::From25To34));
        assert_eq!(p.genres, vec!["rock", "pop"]);
    }

    #[test]
    fn round_trips_through_to_json() {
        let text = r#"{"items": [{"id": "51", "plays": 3, "time": -5}, {"id": "x", "liked": false}],
            "portrait": {"age_band": "55+", "language": "unknown"}}"#;
        let h = parse_history(text, "h.json").unwrap();
        let again = parse_history(&h.to_json(), "again.json").unwrap();
        assert_eq!(h, again);
        assert!(h.to_json().contains("\"55+\""));
        assert!(!h.to_json().contains("skips"), "absent fields are omitted");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"items": [{"id": "1"}, {"plays": 3}]}"#, "items[1].id"),
            (r#"{"items": [{"id": "1", "plays": -3}]}"#, "items[0].plays"),
            (
                r#"{"items": [{"id": "1", "plays": 2.5}]}"#,
                "items[0].plays",
            ),
            (
                r#"{"items": [{"id": "1", "liked": "yes"}]}"#,
                "items[0].liked",
            ),
            (
                r#"{"items": [{"id": "1", "skips": "2"}]}"#,
                "items[0].skips",
            ),
            (
                r#"{"items": [{"id": "1", "time": "2009-04-01"}]}"#,
                "items[0].time",
            ),
            (r#"{"items": [{"id": ""}]}"#, "items[0].id"),
            (r#"{"items": [{"id": [1]}]}"#, "items[0].id"),
            (r#"{"items": ["51"]}"#, "items[0]"),
            (r#"{"items": {"id": "1"}}"#, "`items`"),
            (r#"{"version": 2, "items": []}"#, "`version`"),
            (r#"{"portrait": {}}"#, "`items` is missing"),
            (
                r#"{"items": [], "portrait": {"age_band": "30"}}"#,
                "portrait.age_band",
            ),
            (
                r#"{"items": [], "portrait": {"language": "English"}}"#,
                "portrait.language",
            ),
            (
                r#"{"items": [], "portrait": {"genres": ["rock", 3]}}"#,
                "portrait.genres[1]",
            ),
            (r#"{"items": [], "portrait": []}"#, "`portrait`"),
            (r#"[{"id": "1"}]"#, "top level"),
        ];
        for (text, field) in cases {
            let msg = err(text);
            assert!(
                msg.contains(field) && msg.contains("h.json"),
                "{text} -> {msg}"
            );
        }
        assert!(err("{\"items\": [").contains("not valid JSON"));
    }
}
