//! Title, artist, album and cover art from a file's tags (ID3v2, Vorbis comments in Ogg
//! Vorbis/Opus and FLAC, MP4 `ilst`), read by symphonia's demuxers without decoding audio.
//!
//! Why symphonia and not a hand-written parser in the page: the crate already uses it
//! natively, it compiles to `wasm32-unknown-unknown` (pure Rust), and its readers have
//! seen far more odd files than a small JS parser would (unsynchronised ID3 frames,
//! multi-page Vorbis comments, MP4 atoms at either end). Only the demuxers are used here;
//! the codecs are linked only by the native decoder. Behind the `tags` feature so the
//! page can have it without the rest of `native`.

use std::io::Cursor;

use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{MetadataOptions, MetadataRevision, StandardTagKey, StandardVisualKey};
use symphonia::core::probe::{Hint, Probe};

use crate::error::{Error, Result};

/// Cover art bigger than this is dropped (it would be stored with every library entry).
pub const MAX_COVER_BYTES: usize = 2 * 1024 * 1024;

/// What the tags say about a file. Every field is optional: many files have no tags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    /// Track title.
    pub title: Option<String>,
    /// Track artist (or, failing that, the album artist).
    pub artist: Option<String>,
    /// Album.
    pub album: Option<String>,
    /// Genre as written in the file.
    pub genre: Option<String>,
    /// Duration in seconds from the container, when it states one.
    pub duration_s: Option<f64>,
    /// Front cover (or the first picture): MIME type and bytes.
    pub cover: Option<(String, Vec<u8>)>,
}

/// Reads the tags of a whole file held in memory. `extension` (without the dot) only
/// helps the probe; the content decides.
pub fn read_tags(bytes: Vec<u8>, extension: Option<&str>) -> Result<Tags> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    let meta_opts = MetadataOptions {
        limit_visual_bytes: symphonia::core::meta::Limit::Maximum(MAX_COVER_BYTES),
        ..Default::default()
    };
    let mut probed = tag_probe()
        .format(&hint, mss, &FormatOptions::default(), &meta_opts)
        .map_err(|e| Error::Decode {
            file: "(tags)".into(),
            reason: format!("not a container this reader knows: {e}"),
        })?;

    let mut tags = Tags::default();
    // Metadata found before the container (an ID3v2 block in front of MP3 frames) first,
    // then the container's own; a later revision fills only what is still missing.
    if let Some(rev) = probed.metadata.get().as_ref().and_then(|m| m.current()) {
        merge(&mut tags, rev);
    }
    if let Some(rev) = probed.format.metadata().current() {
        merge(&mut tags, rev);
    }
    if let Some(track) = probed.format.default_track() {
        let p = &track.codec_params;
        if let (Some(n), Some(rate)) = (p.n_frames, p.sample_rate) {
            if rate > 0 {
                tags.duration_s = Some(n as f64 / f64::from(rate));
            }
        }
    }
    Ok(tags)
}

/// The containers whose tags the page reads. Not `symphonia::default::get_probe()`: that one
/// also registers Matroska, ADTS, AIFF and CAF readers, which grew the page's wasm by ~0.1 MB
/// for files a music library rarely holds (they still decode in the page; only their tags
/// are not read).
fn tag_probe() -> Probe {
    use symphonia::default::formats::{FlacReader, IsoMp4Reader, MpaReader, OggReader, WavReader};
    let mut probe = Probe::default();
    probe.register_all::<FlacReader>();
    probe.register_all::<IsoMp4Reader>();
    probe.register_all::<MpaReader>();
    probe.register_all::<WavReader>();
    probe.register_all::<OggReader>();
    probe.register_all::<symphonia_metadata::id3v2::Id3v2Reader>();
    probe
}

fn clean(s: &str) -> Option<String> {
    // ID3v2.3 strings may carry NUL separators or padding.
    let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!t.is_empty()).then(|| t.replace('\0', " / "))
}

fn merge(tags: &mut Tags, rev: &MetadataRevision) {
    let mut album_artist = None;
    for tag in rev.tags() {
        let Some(key) = tag.std_key else { continue };
        let value = tag.value.to_string();
        let slot = match key {
            StandardTagKey::TrackTitle => &mut tags.title,
            StandardTagKey::Artist => &mut tags.artist,
            StandardTagKey::Album => &mut tags.album,
            StandardTagKey::Genre => &mut tags.genre,
            StandardTagKey::AlbumArtist => &mut album_artist,
            _ => continue,
        };
        if slot.is_none() {
            *slot = clean(&value);
        }
    }
    if tags.artist.is_none() {
        tags.artist = album_artist;
    }
    if tags.cover.is_none() {
        let visuals = rev.visuals();
        let front = visuals
            .iter()
            .find(|v| v.usage == Some(StandardVisualKey::FrontCover))
            .or_else(|| visuals.first());
        if let Some(v) = front {
            if !v.data.is_empty() && v.data.len() <= MAX_COVER_BYTES {
                let mime = if v.media_type.is_empty() {
                    "image/jpeg".to_string()
                } else {
                    v.media_type.clone()
                };
                tags.cover = Some((mime, v.data.to_vec()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format fixtures carry the same tags in ID3v2 (MP3), Vorbis comments (Ogg Vorbis,
    /// Opus, FLAC) and MP4 `ilst` (M4A); the WAV has none (tests/fixtures/formats/README.md).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn reads_the_tags_of_every_container() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats");
        for name in ["a.mp3", "b.ogg", "c.flac", "e.m4a", "f.opus"] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let ext = name.rsplit('.').next();
            let t = read_tags(bytes, ext).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                t.title.as_deref(),
                Some("Let's Go Fishin' (1 s excerpt)"),
                "{name}"
            );
            assert_eq!(t.artist.as_deref(), Some("Karissa Hobbs"), "{name}");
            if let Some(d) = t.duration_s {
                assert!((d - 1.0).abs() < 0.1, "{name}: duration {d}");
            }
        }
        let wav = read_tags(std::fs::read(dir.join("d.wav")).unwrap(), Some("wav")).unwrap();
        assert_eq!(wav.title, None);
        assert!((wav.duration_s.unwrap() - 1.0).abs() < 1e-3);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_tags(vec![], None).is_err());
        assert!(read_tags(b"definitely not audio".repeat(100), Some("mp3")).is_err());
    }
}
