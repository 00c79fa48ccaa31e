//! Full-scale public formats a user can download elsewhere, parsed into the common structures
//! ([`DatasetBuilder`] → [`crate::data::Dataset`], [`LowLevel`] → [`ContentMatrix`]), so one
//! command can train at scale on a bigger machine.
//!
//! - **Taste Profile** (Echo Nest / Million Song Dataset, `train_triplets.txt`, 48 M rows):
//!   `user \t song \t count`, no header.
//! - **ListenBrainz listens** (CC0 dumps and user exports), JSON lines: one listen per line with
//!   `user_name` (or `user_id`), `listened_at` (unix seconds), `recording_msid` and
//!   `track_metadata {artist_name, track_name, release_name, additional_info, mbid_mapping}`.
//! - **AcousticBrainz low-level** (CC0), one JSON document per recording: Essentia music
//!   extractor statistics under `lowlevel`, `rhythm`, `tonal`, plus `metadata`.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde_json::Value;

use crate::data::{Catalog, ContentMatrix, DatasetBuilder};
use crate::error::{Error, Result};

fn perr(file: &str, line: usize, reason: impl std::fmt::Display) -> Error {
    Error::Parse {
        file: file.to_owned(),
        reason: format!("line {line}: {reason}"),
    }
}

/// Reads Taste Profile triplets into `builder`; returns the number of rows read. Blank lines
/// are skipped; a row without three tab-separated fields or with a non-integer count is an error
/// naming the line and field.
pub fn read_taste_profile(
    reader: impl BufRead,
    file: &str,
    builder: &mut DatasetBuilder,
) -> Result<usize> {
    let mut rows = 0;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| perr(file, n, format!("unreadable: {e}")))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split('\t');
        let (Some(user), Some(song), Some(count)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(perr(
                file,
                n,
                "expected 3 tab-separated fields: user, song, play count",
            ));
        };
        if user.is_empty() || song.is_empty() {
            return Err(perr(file, n, "field `user` and `song` must not be empty"));
        }
        let count: u32 = count.trim().parse().map_err(|_| {
            perr(
                file,
                n,
                format!("field `count`: expected a non-negative integer, found {count:?}"),
            )
        })?;
        builder.add(user, song, count, None);
        rows += 1;
    }
    Ok(rows)
}

/// One ListenBrainz listen, reduced to what a recommender needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenRecord {
    /// `user_name`, or `user_id` as a string when there is no name.
    pub user: String,
    /// The item key: `mbid_mapping.recording_mbid`, else `additional_info.recording_mbid`,
    /// else `recording_msid`, else `"artist_name – track_name"` (so unmatched listens still
    /// count, as the same text maps to the same item).
    pub item: String,
    /// Unix seconds of the listen, if given.
    pub listened_at: Option<i64>,
    /// `"artist_name – track_name"`, for display.
    pub display: String,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Parses one ListenBrainz listen (one JSON line); `line` is only used in error messages.
pub fn parse_listen(text: &str, file: &str, line: usize) -> Result<ListenRecord> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| perr(file, line, format!("not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(perr(
            file,
            line,
            "expected a JSON object (one listen per line)",
        ));
    }
    let user = match (
        str_at(&v, &["user_name"]),
        v.get("user_id").and_then(Value::as_u64),
    ) {
        (Some(name), _) => name.to_owned(),
        (None, Some(id)) => id.to_string(),
        (None, None) => {
            return Err(perr(
                file,
                line,
                "field `user_name` (or `user_id`) is missing",
            ))
        }
    };
    let listened_at = match v.get("listened_at") {
        None | Some(Value::Null) => None,
        Some(t) => Some(t.as_i64().ok_or_else(|| {
            perr(
                file,
                line,
                format!("field `listened_at`: expected integer unix seconds, found {t}"),
            )
        })?),
    };
    let tm = v.get("track_metadata").filter(|t| t.is_object()).ok_or_else(|| {
        perr(file, line, "field `track_metadata` is missing (expected an object with artist_name, track_name)")
    })?;
    let artist = str_at(tm, &["artist_name"]).ok_or_else(|| {
        perr(
            file,
            line,
            "field `track_metadata.artist_name`: expected a non-empty string",
        )
    })?;
    let track = str_at(tm, &["track_name"]).ok_or_else(|| {
        perr(
            file,
            line,
            "field `track_metadata.track_name`: expected a non-empty string",
        )
    })?;
    let display = format!("{artist} \u{2013} {track}");
    let item = str_at(tm, &["mbid_mapping", "recording_mbid"])
        .or_else(|| str_at(tm, &["additional_info", "recording_mbid"]))
        .or_else(|| str_at(&v, &["recording_msid"]))
        .map(str::to_owned)
        .unwrap_or_else(|| display.clone());
    Ok(ListenRecord {
        user,
        item,
        listened_at,
        display,
    })
}

/// Reads ListenBrainz JSON lines into `builder` (each listen = one play; repeated listens of a
/// recording add up and keep the earliest time). Blank lines are skipped. Returns the number of
/// listens read.
pub fn read_listenbrainz(
    reader: impl BufRead,
    file: &str,
    builder: &mut DatasetBuilder,
) -> Result<usize> {
    let mut rows = 0;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| perr(file, i + 1, format!("unreadable: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let r = parse_listen(&line, file, i + 1)?;
        let item = builder.add(&r.user, &r.item, 1, r.listened_at);
        builder.set_name(item, r.display);
        rows += 1;
    }
    Ok(rows)
}

/// An AcousticBrainz low-level document, flattened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LowLevel {
    /// `metadata.tags.musicbrainz_recordingid[0]`, when present (dumps also name files by it).
    pub recording_mbid: Option<String>,
    /// Every numeric value under `lowlevel`, `rhythm` and `tonal`, keyed by its dotted path
    /// (`lowlevel.hfc.mean`, `tonal.hpcp.mean`). Numbers become 1-element vectors, number arrays
    /// stay vectors, and square matrices (`mfcc.cov`) are stored as their diagonal under
    /// `<path>.diag` (the per-coefficient variance; the off-diagonal terms are not descriptors
    /// we use). Strings (keys, scales) are skipped.
    pub fields: BTreeMap<String, Vec<f32>>,
}

/// The descriptor layout that mirrors our own track descriptor (DESIGN §3: MFCC, HFC, HPCP as
/// mean and spread over time). AcousticBrainz has no scattering transform.
pub const ACOUSTICBRAINZ_LAYOUT: [&str; 6] = [
    "lowlevel.mfcc.mean",
    "lowlevel.mfcc.cov.diag",
    "lowlevel.hfc.mean",
    "lowlevel.hfc.var",
    "tonal.hpcp.mean",
    "tonal.hpcp.var",
];

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Vec<f32>>) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(prefix.to_owned(), vec![x as f32]);
            }
        }
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_number) => {
            out.insert(
                prefix.to_owned(),
                a.iter()
                    .filter_map(Value::as_f64)
                    .map(|x| x as f32)
                    .collect(),
            );
        }
        Value::Array(rows)
            if !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| r.as_array().is_some_and(|r| r.len() == rows.len())) =>
        {
            let diag = rows
                .iter()
                .enumerate()
                .map(|(i, r)| r[i].as_f64().unwrap_or(f64::NAN) as f32)
                .collect();
            out.insert(format!("{prefix}.diag"), diag);
        }
        Value::Object(m) => {
            for (k, v) in m {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        _ => {}
    }
}

/// Parses one AcousticBrainz low-level JSON document. Errors when it is not JSON or has no
/// `lowlevel` object (the one section every low-level document has).
pub fn parse_acousticbrainz(text: &str, file: &str) -> Result<LowLevel> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Parse {
        file: file.to_owned(),
        reason: format!("not valid JSON: {e}"),
    })?;
    if !v.get("lowlevel").is_some_and(Value::is_object) {
        return Err(Error::Parse {
            file: file.to_owned(),
            reason: "field `lowlevel` is missing (expected an AcousticBrainz low-level document)"
                .into(),
        });
    }
    let mut fields = BTreeMap::new();
    for section in ["lowlevel", "rhythm", "tonal"] {
        if let Some(s) = v.get(section) {
            flatten(section, s, &mut fields);
        }
    }
    let recording_mbid = v
        .pointer("/metadata/tags/musicbrainz_recordingid/0")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(LowLevel {
        recording_mbid,
        fields,
    })
}

impl LowLevel {
    /// Concatenates the named fields into one descriptor; errors name the missing field or a
    /// non-finite value.
    pub fn descriptor(&self, layout: &[&str], file: &str) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        for name in layout {
            let v = self.fields.get(*name).ok_or_else(|| Error::Parse {
                file: file.to_owned(),
                reason: format!("field `{name}` is missing"),
            })?;
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::Parse {
                    file: file.to_owned(),
                    reason: format!("field `{name}` has a non-finite value"),
                });
            }
            out.extend_from_slice(v);
        }
        Ok(out)
    }

    /// Names of each dimension of [`LowLevel::descriptor`] (`lowlevel.mfcc.mean[0]`, …).
    pub fn dim_names(&self, layout: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for name in layout {
            match self.fields.get(*name) {
                Some(v) if v.len() == 1 => out.push((*name).to_owned()),
                Some(v) => out.extend((0..v.len()).map(|i| format!("{name}[{i}]"))),
                None => {}
            }
        }
        out
    }
}

/// Builds a content matrix over `catalog` from `(item id, document)` pairs using `layout`.
/// Documents for ids not in the catalog are skipped; when an id appears twice, the first wins
/// (AcousticBrainz has several submissions per recording; dumps number them `-0`, `-1`, …).
/// All descriptors must have the same length, else the error names the offending id.
pub fn content_from_lowlevel<'a>(
    catalog: &Catalog,
    docs: impl IntoIterator<Item = (&'a str, &'a LowLevel)>,
    layout: &[&str],
) -> Result<ContentMatrix> {
    let mut rows: Vec<Option<Vec<f32>>> = vec![None; catalog.len()];
    let mut names: Option<Vec<String>> = None;
    for (id, doc) in docs {
        let Some(i) = catalog.index_of(id) else {
            continue;
        };
        if rows[i].is_some() {
            continue;
        }
        let d = doc.descriptor(layout, id)?;
        let dn = doc.dim_names(layout);
        match &names {
            None => names = Some(dn),
            Some(n) if n.len() != d.len() => {
                return Err(Error::Parse {
                    file: id.to_owned(),
                    reason: format!("descriptor has {} values, others have {}", d.len(), n.len()),
                })
            }
            Some(_) => {}
        }
        rows[i] = Some(d);
    }
    Ok(ContentMatrix::from_dense(names.unwrap_or_default(), rows))
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const TRIPLETS: &str =
        include_str!("../../tests/fixtures/formats-data/taste_profile_triplets.txt");
    const LISTENS: &str =
        include_str!("../../tests/fixtures/formats-data/listenbrainz_listens.jsonl");
    const AB0: &str =
        include_str!("../../tests/fixtures/formats-data/acousticbrainz_lowlevel_b1a9c0e9.json");
    const AB1: &str =
        include_str!("../../tests/fixtures/formats-data/acousticbrainz_lowlevel_e3f2a5d1.json");

    #[test]
    fn taste_profile_triplets_become_a_dataset() {
        let mut b = DatasetBuilder::new();
        assert_eq!(
            read_taste_profile(TRIPLETS.as_bytes(), "t.txt", &mut b).unwrap(),
            10
        );
        let d = b.build();
        assert_eq!(d.users.len(), 3);
        assert_eq!(d.catalog.len(), 5);
        assert_eq!(d.n_interactions(), 10);
        let u = d.users.iter().find(|u| u.user.starts_with("bd4c")).unwrap();
        let top = u.listens[0];
        assert_eq!(
            (d.catalog.id(top.item), top.plays),
            ("SOAPDEY12A81C210A9", 12),
            "undated: most played first"
        );
    }

    #[test]
    fn taste_profile_errors_name_line_and_field() {
        let mut b = DatasetBuilder::new();
        let e =
            read_taste_profile("u\ts\t1\nu\ts2\tlots\n".as_bytes(), "t.txt", &mut b).unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("count"),
            "{e}"
        );
        let e = read_taste_profile("u\ts\n".as_bytes(), "t.txt", &mut b).unwrap_err();
        assert!(e.to_string().contains("3 tab-separated"), "{e}");
    }

    #[test]
    fn listenbrainz_lines_pick_the_best_item_key_and_aggregate() {
        let mut b = DatasetBuilder::new();
        assert_eq!(
            read_listenbrainz(LISTENS.as_bytes(), "l.jsonl", &mut b).unwrap(),
            5
        );
        let d = b.build();
        assert_eq!(d.users.len(), 2);
        let alice = d.users.iter().find(|u| u.user == "alice").unwrap();
        let monkeys = d
            .catalog
            .index_of("b1a9c0e9-d987-4042-ae91-78d6a3267d69")
            .unwrap();
        let l = alice.listens.iter().find(|l| l.item == monkeys).unwrap();
        assert_eq!((l.plays, l.time), (2, Some(1_601_000_000)));
        assert_eq!(
            d.catalog.name(monkeys),
            Some("Kevin MacLeod \u{2013} Monkeys Spinning Monkeys")
        );
        assert!(
            d.catalog
                .index_of("e3f2a5d1-5d7c-4a36-8e84-1c2b3d4e5f60")
                .is_some(),
            "mbid_mapping wins"
        );
        assert!(
            d.catalog
                .index_of("5b1f0d3e-1111-4a2b-8c3d-000000000003")
                .is_some(),
            "msid fallback"
        );
        assert!(
            d.catalog
                .index_of("Bogart VGM \u{2013} Forest Theme")
                .is_some(),
            "text fallback"
        );
        // Dated listens are in time order.
        assert!(alice.listens.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[test]
    fn listenbrainz_errors_name_line_and_field() {
        let mut b = DatasetBuilder::new();
        let bad = "{\"user_name\": \"a\", \"listened_at\": 1, \"track_metadata\": {\"artist_name\": \"x\"}}\n";
        let e = read_listenbrainz(format!("\n{bad}").as_bytes(), "l.jsonl", &mut b).unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("track_name"),
            "{e}"
        );
        let e = parse_listen("{\"listened_at\": 1}", "l", 1).unwrap_err();
        assert!(e.to_string().contains("user_name"), "{e}");
        let e = parse_listen(
            "{\"user_name\": \"a\", \"listened_at\": \"x\", \"track_metadata\": {}}",
            "l",
            1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("listened_at"), "{e}");
    }

    #[test]
    fn acousticbrainz_documents_flatten_and_make_content() {
        let a = parse_acousticbrainz(AB0, "ab0.json").unwrap();
        assert_eq!(
            a.recording_mbid.as_deref(),
            Some("b1a9c0e9-d987-4042-ae91-78d6a3267d69")
        );
        assert_eq!(a.fields["lowlevel.mfcc.mean"].len(), 13);
        assert_eq!(a.fields["lowlevel.mfcc.cov.diag"][2], 3.0);
        assert_eq!(a.fields["tonal.hpcp.mean"].len(), 36);
        assert_eq!(a.fields["rhythm.bpm"], vec![120.0]);
        assert!(
            !a.fields.contains_key("tonal.key_key"),
            "strings are skipped"
        );
        let d = a.descriptor(&ACOUSTICBRAINZ_LAYOUT, "ab0.json").unwrap();
        assert_eq!(d.len(), 13 + 13 + 1 + 1 + 36 + 36);
        assert_eq!(a.dim_names(&ACOUSTICBRAINZ_LAYOUT).len(), d.len());
        assert_eq!(a.dim_names(&ACOUSTICBRAINZ_LAYOUT)[26], "lowlevel.hfc.mean");
        let e = a.descriptor(&["lowlevel.nope"], "ab0.json").unwrap_err();
        assert!(e.to_string().contains("lowlevel.nope"), "{e}");

        let b = parse_acousticbrainz(AB1, "ab1.json").unwrap();
        let mut cat = Catalog::new();
        cat.insert("unknown-recording");
        cat.insert("e3f2a5d1-5d7c-4a36-8e84-1c2b3d4e5f60");
        cat.insert("b1a9c0e9-d987-4042-ae91-78d6a3267d69");
        let ids = [
            a.recording_mbid.clone().unwrap(),
            b.recording_mbid.clone().unwrap(),
        ];
        let m = content_from_lowlevel(
            &cat,
            [(ids[0].as_str(), &a), (ids[1].as_str(), &b)],
            &ACOUSTICBRAINZ_LAYOUT,
        )
        .unwrap();
        assert_eq!(m.dims, 100);
        assert!(m.rows[0].is_empty());
        assert_eq!(m.n_with_content(), 2);
    }

    #[test]
    fn acousticbrainz_rejects_other_documents() {
        assert!(parse_acousticbrainz("{\"highlevel\": {}}", "x.json")
            .unwrap_err()
            .to_string()
            .contains("lowlevel"));
        assert!(parse_acousticbrainz("nope", "x.json").is_err());
    }
}
