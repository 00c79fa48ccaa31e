//! The CC audio corpus: `audio/catalog.csv` (55 redistributable tracks) plus the five music
//! clips of `librosa/` (credits in a `.txt` beside each), as one list of [`AudioTrack`]s.
//!
//! No listener ever heard these tracks in any data we have, so they serve the *audio proxy*
//! protocol (see `eval::audio_proxy`): can a descriptor find another excerpt of the same
//! track, or tracks of the same source collection? Collections and artists are reliable
//! labels; genres are mostly guesses (`genre_basis`), so only "source" / "file ID3" genres
//! are kept.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One track of the corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioTrack {
    /// Stable id: the file name without extension.
    pub id: String,
    /// Path relative to the data folder (`audio/…` or `librosa/…`).
    pub path: String,
    /// Title.
    pub title: String,
    /// Artist (composer or performer as credited).
    pub artist: String,
    /// Source collection: the repository the file came from, or `librosa` for its example
    /// clips. The grouping label of the audio proxy protocol.
    pub collection: String,
    /// Licence as credited (e.g. `CC-BY-3.0`, `CC0-1.0`, `Public Domain`).
    pub licence: String,
    /// Genre, only where its source is reliable (the file's tags or its source's listing).
    pub genre: Option<String>,
}

/// Parses `audio/catalog.csv` (header: file, title, artist, genre, license, source_repo,
/// source_path, commit, evidence, duration_s, bytes, genre_basis; RFC 4180 quoting).
pub fn parse_catalog(text: &str) -> Result<Vec<AudioTrack>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::Parse {
            file: "catalog.csv".into(),
            reason: format!("header: {e}"),
        })?
        .clone();
    let col = |name: &str| -> Result<usize> {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Parse {
                file: "catalog.csv".into(),
                reason: format!(
                    "expected a column {name:?}, found columns {:?}",
                    headers.iter().collect::<Vec<_>>()
                ),
            })
    };
    let (file, title, artist, genre, licence, repo, basis) = (
        col("file")?,
        col("title")?,
        col("artist")?,
        col("genre")?,
        col("license")?,
        col("source_repo")?,
        col("genre_basis")?,
    );
    let mut tracks = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| Error::Parse {
            file: "catalog.csv".into(),
            reason: format!("row {}: {e}", i + 2),
        })?;
        let get = |c: usize| row.get(c).unwrap_or("").trim().to_string();
        let f = get(file);
        if f.is_empty() {
            return Err(Error::Parse {
                file: "catalog.csv".into(),
                reason: format!("row {}: the file name is empty", i + 2),
            });
        }
        let reliable = matches!(get(basis).as_str(), "source" | "file ID3");
        let g = get(genre);
        tracks.push(AudioTrack {
            id: stem(&f).to_string(),
            path: format!("audio/{f}"),
            title: get(title),
            artist: get(artist),
            collection: get(repo),
            licence: get(licence),
            genre: (reliable && !g.is_empty() && g != "unknown").then_some(g),
        });
    }
    Ok(tracks)
}

fn stem(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(s, _)| s)
}

/// The music clips of `librosa/` (the speech and whale-song clips are not music).
pub const LIBROSA_MUSIC: [&str; 5] = [
    "hungarian_dance_number_5_-_allegro_in_f_sharp_minor_string_orchestra",
    "karissa_hobbs_-_lets_go_fishin",
    "kevin_macleod_-_p_i_tchaikovsky_dance_of_the_sugar_plum_fairy",
    "kevin_macleod_-_vibe_ace",
    "sorohanro_-_solo-trumpet-06",
];

/// Reads a librosa clip's credit text (`"<Title> by <Artist> is licensed …"`, `"… is in the
/// Public Domain"`, or `Part of "<Pack>" by <Artist>`).
pub fn parse_librosa_credit(id: &str, text: &str) -> Result<AudioTrack> {
    let first = text.lines().next().unwrap_or("").trim();
    let (title, rest) = first.rsplit_once(" by ").ok_or_else(|| Error::Parse {
        file: format!("librosa/{id}.txt"),
        reason: format!("expected a first line \"<title> by <artist> …\", found {first:?}"),
    })?;
    let artist = rest
        .split(" is ")
        .next()
        .unwrap_or(rest)
        .trim()
        .trim_end_matches('.');
    let title = title
        .trim_start_matches("Part of ")
        .trim_matches('"')
        .to_string();
    let licence = if text.contains("creativecommons.org/licenses/by/3.0") {
        "CC-BY-3.0"
    } else if text.contains("creativecommons.org/licenses/by/4.0") {
        "CC-BY-4.0"
    } else if text.contains("Public Domain") {
        "Public Domain"
    } else {
        return Err(Error::Parse {
            file: format!("librosa/{id}.txt"),
            reason: "no licence found (expected a CC BY link or \"Public Domain\")".into(),
        });
    };
    Ok(AudioTrack {
        id: id.to_string(),
        path: format!("librosa/{id}.ogg"),
        title,
        artist: artist.to_string(),
        collection: "librosa".to_string(),
        licence: licence.to_string(),
        genre: None,
    })
}

/// Loads the corpus from the shared data folder (`<dir>/audio/catalog.csv`,
/// `<dir>/librosa/*.txt`), checking that every listed audio file exists.
#[cfg(feature = "native")]
pub fn load(dir: &std::path::Path) -> Result<Vec<AudioTrack>> {
    let catalog = dir.join("audio/catalog.csv");
    let text = std::fs::read_to_string(&catalog).map_err(|e| Error::io(&catalog, e))?;
    let mut tracks = parse_catalog(&text)?;
    for id in LIBROSA_MUSIC {
        let p = dir.join(format!("librosa/{id}.txt"));
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        tracks.push(parse_librosa_credit(id, &text)?);
    }
    for t in &tracks {
        let p = dir.join(&t.path);
        if !p.is_file() {
            return Err(Error::io(
                &p,
                std::io::Error::new(std::io::ErrorKind::NotFound, "listed in the corpus"),
            ));
        }
    }
    Ok(tracks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const CATALOG: &str = "file,title,artist,genre,license,source_repo,source_path,commit,evidence,duration_s,bytes,genre_basis
kevin_macleod-a_mission.ogg,A Mission,Kevin MacLeod,unknown,CC-BY-3.0,vividos/MultiplayerOnlineGame,src/A Mission.ogg,cc9b,\"DataCredits.md: \"\"All Music pieces, by Kevin\"\"\",44.1,586997,-
tad-beat.mp3,Beat,TAD,hip hop,CC0-1.0,gm3/cc0-beats,beat.mp3,abcd,listing,30.0,1000,source
x.ogg,X,Y,rock,CC0-1.0,a/b,x.ogg,ef01,ev,10,10,title (rock)
";

    #[test]
    fn catalog_rows_parse_with_quoting_and_reliable_genres_only() {
        let t = parse_catalog(CATALOG).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].id, "kevin_macleod-a_mission");
        assert_eq!(t[0].path, "audio/kevin_macleod-a_mission.ogg");
        assert_eq!(t[0].collection, "vividos/MultiplayerOnlineGame");
        assert_eq!(t[0].licence, "CC-BY-3.0");
        assert_eq!(t[0].genre, None, "unknown is no genre");
        assert_eq!(t[1].genre.as_deref(), Some("hip hop"), "basis: source");
        assert_eq!(
            t[2].genre, None,
            "a genre guessed from the title is dropped"
        );
    }

    #[test]
    fn a_catalog_without_a_needed_column_names_it() {
        let e = parse_catalog("file,title\na.ogg,A\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("artist"), "{e}");
    }

    #[test]
    fn librosa_credits_parse() {
        let t = parse_librosa_credit(
            "kevin_macleod_-_vibe_ace",
            "Vibe Ace by Kevin MacLeod is licensed under a Creative Commons Attribution License.\nFrom …\nCC-BY https://creativecommons.org/licenses/by/3.0/\n",
        )
        .unwrap();
        assert_eq!(
            (t.title.as_str(), t.artist.as_str()),
            ("Vibe Ace", "Kevin MacLeod")
        );
        assert_eq!(t.licence, "CC-BY-3.0");
        let b = parse_librosa_credit(
            "brahms",
            "Hungarian Dance number 5 by Johannes Brahms / US Army Strings is in the Public Domain. \n",
        )
        .unwrap();
        assert_eq!(b.artist, "Johannes Brahms / US Army Strings");
        assert_eq!(b.licence, "Public Domain");
        let p = parse_librosa_credit(
            "trumpet",
            "Part of \"Jazz Trumpet Loops Pack in F 90 bpm\" by Mihai Sorohan\nCC-BY https://creativecommons.org/licenses/by/3.0/\n",
        )
        .unwrap();
        assert_eq!(p.title, "Jazz Trumpet Loops Pack in F 90 bpm");
        assert_eq!(p.artist, "Mihai Sorohan");
        assert!(parse_librosa_credit("x", "no credit here").is_err());
    }

    #[cfg(feature = "native")]
    #[test]
    fn shipped_corpus_loads_when_present() {
        use crate::data::locate::{DataRoot, Source};
        let root = match DataRoot::resolve(None) {
            r if r.source == Source::Default => DataRoot::resolve(Some(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
            )),
            r => r,
        };
        let dir = match root.audio_corpus() {
            Ok(dir) => dir,
            Err(e) => {
                eprintln!("skipped shipped_corpus_loads_when_present: {e}");
                return;
            }
        };
        let t = load(&dir).unwrap();
        assert_eq!(t.len(), 60, "55 catalog tracks + 5 librosa music clips");
        let mut ids: Vec<&str> = t.iter().map(|t| t.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 60, "ids are unique");
    }
}
