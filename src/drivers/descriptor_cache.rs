//! Descriptors of excerpts of every track of the CC audio corpus, computed once and cached on
//! disk under the extractor's cache key: `ainrec audio-proxy` and `ainrec train-browser` read
//! the same files, and a changed extractor recomputes them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::drivers::{write_atomic, DEFAULT_CACHE_DIR};
use crate::error::{Error, Result};

/// `.cache/descriptors`: the default cache folder of excerpt descriptors (git-ignored; safe to
/// delete, it is rebuilt on the next run).
pub fn default_cache_dir() -> PathBuf {
    PathBuf::from(DEFAULT_CACHE_DIR).join("descriptors")
}

/// Disjoint excerpts of a track of `n` samples: `count` of `len` samples centred at
/// `(2i + 1) / (2 · count)` of the track, `len = min(max_len, n / count)`.
pub fn excerpt_ranges(n: usize, count: usize, max_len: usize) -> Vec<std::ops::Range<usize>> {
    let count = count.max(1);
    let len = max_len.min(n / count);
    (0..count)
        .map(|i| {
            let centre = n * (2 * i + 1) / (2 * count);
            let start = centre.saturating_sub(len / 2).min(n - len);
            start..start + len
        })
        .collect()
}

/// Descriptors of excerpts of every track of the CC audio corpus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExcerptDescriptors {
    /// The cache key: extractor configuration, excerpts per track, excerpt length.
    pub key: String,
    /// Descriptor value names.
    pub names: Vec<String>,
    /// `(track id, excerpt index, descriptor)`.
    pub rows: Vec<(String, usize, Vec<f32>)>,
}

/// Descriptors of `count` disjoint excerpts (at most `excerpt_s` seconds) of every track in
/// `tracks`, analysed whole with `track_cfg`, cached as JSON in `cache_dir` under the
/// extractor's cache key (so a changed extractor recomputes them).
pub fn corpus_excerpt_descriptors(
    data_dir: &Path,
    tracks: &[crate::data::audio_corpus::AudioTrack],
    track_cfg: &crate::features::track::TrackConfig,
    count: usize,
    excerpt_s: f64,
    cache_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<ExcerptDescriptors> {
    use crate::features::track::{analyze, descriptor_names, Span};
    let cfg = crate::features::track::TrackConfig {
        span: Span::Whole,
        ..*track_cfg
    };
    let key = format!("{}-x{count}-{excerpt_s}s", cfg.cache_key());
    std::fs::create_dir_all(cache_dir).map_err(|e| Error::io(cache_dir, e))?;
    let cache_path = cache_dir.join(format!("audio_proxy-{key}.json"));
    let cached: Option<ExcerptDescriptors> = std::fs::read_to_string(&cache_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .filter(|c: &ExcerptDescriptors| c.key == key);
    if let Some(c) = cached {
        progress(&format!("descriptors from {}", cache_path.display()));
        return Ok(c);
    }
    let mut rows = Vec::new();
    for (i, t) in tracks.iter().enumerate() {
        progress(&format!(
            "[{}/{}] {} ({count} excerpts)",
            i + 1,
            tracks.len(),
            t.path
        ));
        let audio = crate::audio::decode::decode_file(&data_dir.join(&t.path))?;
        let max_len = (excerpt_s * f64::from(audio.sample_rate)) as usize;
        for (e, r) in excerpt_ranges(audio.samples.len(), count, max_len)
            .into_iter()
            .enumerate()
        {
            let out = analyze(&audio.samples[r], &cfg)
                .map_err(|err| Error::Audio(format!("{}: {err}", t.path)))?;
            rows.push((t.id.clone(), e, out.descriptor));
        }
    }
    let c = ExcerptDescriptors {
        key,
        names: descriptor_names(&cfg),
        rows,
    };
    write_atomic(&cache_path, &serde_json::to_string(&c)?)?;
    Ok(c)
}

impl ExcerptDescriptors {
    /// The track index (in `tracks`) of every row.
    pub fn track_indices(
        &self,
        tracks: &[crate::data::audio_corpus::AudioTrack],
    ) -> Result<Vec<usize>> {
        let index: HashMap<&str, usize> = tracks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect();
        self.rows
            .iter()
            .map(|(id, _, _)| {
                index.get(id.as_str()).copied().ok_or_else(|| Error::Parse {
                    file: format!("audio proxy descriptors {}", self.key),
                    reason: format!("unknown track {id}"),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_disjoint_and_centred() {
        let r = excerpt_ranges(300, 3, 50);
        assert_eq!(r, vec![25..75, 125..175, 225..275]);
        // A short track: thirds, still disjoint.
        let r = excerpt_ranges(90, 3, 50);
        assert_eq!(r, vec![0..30, 30..60, 60..90]);
        for w in excerpt_ranges(1001, 3, 400).windows(2) {
            assert!(w[0].end <= w[1].start);
        }
    }
}
