//! The native drivers: one library call per subcommand of `ainrec`, above the pipeline and the
//! evaluation (no CLI types here; `src/bin/ainrec.rs` maps its flags onto these options).
//!
//! - [`features`] — `ainrec features`: a batch of audio files → descriptors;
//! - [`eval`] — `ainrec eval`: cross-validated evaluation on hetrec, with [`checkpoint`]s per
//!   fold, into [`summary`] (`results.json`) and [`report`] (`RESULTS.md`, the model card);
//! - [`cold_start`] — `ainrec eval --cold-start`: the cold-start section of `results.json`;
//! - [`audio_proxy`] — `ainrec audio-proxy`: the audio proxy protocol on the CC corpus, over the
//!   [`descriptor_cache`] it shares with [`train_browser`];
//! - [`recommend`] — `ainrec recommend`; [`train`] — `ainrec train`; [`train_browser`] —
//!   `ainrec train-browser`.
//!
//! Data folders come from [`crate::data::locate`] (`--data`, `AINREC_DATA`, `./data`).

pub mod audio_proxy;
pub mod checkpoint;
pub mod cold_start;
pub mod descriptor_cache;
pub mod eval;
pub mod features;
pub mod recommend;
pub mod report;
pub mod summary;
pub mod train;
pub mod train_browser;

use std::path::Path;

use crate::error::{Error, Result};

/// Default output directory for `results.json` and `RESULTS.md`.
pub const DEFAULT_OUT_DIR: &str = "docs";
/// Default cache folder of computed descriptors (git-ignored), shared by the commands that
/// analyse the CC corpus.
pub const DEFAULT_CACHE_DIR: &str = ".cache";

/// Writes `bytes` to `path` through a temporary file beside it, so a crash or a full disk
/// leaves the previous file whole; creates the parent folder.
pub fn write_atomic(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
