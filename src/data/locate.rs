//! Where the data sets are: `--data DIR`, else `$AINREC_DATA`, else `./data` (git-ignored).
//!
//! No default names a folder outside the repository: a newcomer's clone runs as it is, and a
//! command whose data is missing says which files it looked for, where, which of the three
//! sources chose that place, and how to get them (`make data`, or the download of each set in
//! `docs/DATA.md`).
//!
//! The data folder holds one sub-folder per set:
//! - `hetrec2011-lastfm-2k/` — the HetRec 2011 Last.fm listening data (`ainrec eval`, `train`,
//!   `recommend`);
//! - `audio/` (with `catalog.csv`) and `librosa/` — the CC audio corpus (`ainrec train-browser`,
//!   `audio-proxy`).
//!
//! For the hetrec commands, `--data` may also name the hetrec folder itself (what earlier
//! versions took), recognised by its `user_artists.dat`.

use std::path::{Path, PathBuf};

use crate::data::hetrec::{ARTISTS, TAGS, USER_ARTISTS, USER_TAGGED_ARTISTS};
use crate::{Error, Result};

/// The environment variable naming the data folder when `--data` is not given.
pub const DATA_ENV: &str = "AINREC_DATA";
/// The data folder when neither `--data` nor [`DATA_ENV`] is given, relative to the working
/// directory (the repository root for `make` and the README's commands).
pub const DEFAULT_DATA_DIR: &str = "data";
/// The hetrec set's sub-folder.
pub const HETREC_DIR: &str = "hetrec2011-lastfm-2k";
/// The files of the hetrec set the loader reads.
pub const HETREC_FILES: [&str; 4] = [USER_ARTISTS, USER_TAGGED_ARTISTS, ARTISTS, TAGS];
/// The CC audio corpus's catalog, relative to the data folder.
pub const AUDIO_CATALOG: &str = "audio/catalog.csv";
/// The librosa example clips' folder, relative to the data folder.
pub const LIBROSA_DIR: &str = "librosa";

/// How to get the data, appended to every "missing" message.
const HOW_TO_GET: &str = "run `make data` (docs/DATA.md: it fills ./data from a local copy \
                          when there is one, and otherwise prints where to download each set), \
                          or point --data or AINREC_DATA at a folder that has them";

/// Which of the three sources chose the data folder (named in messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--data` on the command line.
    Flag,
    /// The [`DATA_ENV`] environment variable.
    Env,
    /// [`DEFAULT_DATA_DIR`].
    Default,
}

/// The data folder and where its path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRoot {
    /// The folder (as given; relative paths are relative to the working directory).
    pub path: PathBuf,
    /// Which source chose it.
    pub source: Source,
}

impl DataRoot {
    /// `flag`, else `$AINREC_DATA` (when set and not empty), else `./data`.
    pub fn resolve(flag: Option<&Path>) -> Self {
        Self::resolve_with(flag, std::env::var_os(DATA_ENV).map(PathBuf::from))
    }

    /// [`Self::resolve`] with the environment's value passed in (for tests).
    pub fn resolve_with(flag: Option<&Path>, env: Option<PathBuf>) -> Self {
        if let Some(p) = flag {
            return Self {
                path: p.to_path_buf(),
                source: Source::Flag,
            };
        }
        match env.filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => Self {
                path,
                source: Source::Env,
            },
            None => Self {
                path: PathBuf::from(DEFAULT_DATA_DIR),
                source: Source::Default,
            },
        }
    }

    fn origin(&self) -> String {
        match self.source {
            Source::Flag => "given by --data".into(),
            Source::Env => format!("from {DATA_ENV}"),
            Source::Default => {
                format!("the default ./{DEFAULT_DATA_DIR}; neither --data nor {DATA_ENV} was given")
            }
        }
    }

    /// The hetrec folder: `<root>/hetrec2011-lastfm-2k`, or the root itself when it holds
    /// `user_artists.dat`. Not checked; see [`Self::hetrec`].
    pub fn hetrec_dir(&self) -> PathBuf {
        if self.path.join(USER_ARTISTS).is_file() {
            self.path.clone()
        } else {
            self.path.join(HETREC_DIR)
        }
    }

    /// The hetrec folder, checked: an error names each missing file, the folder, where that
    /// folder came from and how to get the data.
    pub fn hetrec(&self) -> Result<PathBuf> {
        let dir = self.hetrec_dir();
        let missing: Vec<&str> = HETREC_FILES
            .iter()
            .copied()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if missing.is_empty() {
            return Ok(dir);
        }
        Err(self.missing("the hetrec2011-lastfm-2k listening data", &dir, &missing))
    }

    /// The data folder of the CC audio corpus, checked for `audio/catalog.csv` and `librosa/`
    /// (the files each lists are checked when the corpus loads).
    pub fn audio_corpus(&self) -> Result<PathBuf> {
        let missing: Vec<&str> = [AUDIO_CATALOG, LIBROSA_DIR]
            .into_iter()
            .filter(|f| !self.path.join(f).exists())
            .collect();
        if missing.is_empty() {
            return Ok(self.path.clone());
        }
        Err(self.missing("the CC audio corpus", &self.path, &missing))
    }

    fn missing(&self, what: &str, dir: &Path, files: &[&str]) -> Error {
        Error::MissingData(format!(
            "{what} is not in {} ({}): looked for {}; {HOW_TO_GET}",
            dir.display(),
            self.origin(),
            files.join(", "),
        ))
    }
}

#[cfg(all(test, feature = "native"))]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_environment_then_data() {
        let env = Some(PathBuf::from("/from/env"));
        let r = DataRoot::resolve_with(Some(Path::new("/flag")), env.clone());
        assert_eq!(
            (r.path.as_path(), r.source),
            (Path::new("/flag"), Source::Flag)
        );
        let r = DataRoot::resolve_with(None, env);
        assert_eq!(
            (r.path.as_path(), r.source),
            (Path::new("/from/env"), Source::Env)
        );
        let r = DataRoot::resolve_with(None, Some(PathBuf::new()));
        assert_eq!(
            (r.path.as_path(), r.source),
            (Path::new("data"), Source::Default)
        );
        assert_eq!(DataRoot::resolve_with(None, None).source, Source::Default);
    }

    #[test]
    fn missing_data_names_the_files_the_folder_its_source_and_make_data() {
        let dir = std::env::temp_dir().join(format!("ainrec-locate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(HETREC_DIR)).unwrap();
        std::fs::write(dir.join(HETREC_DIR).join(ARTISTS), "").unwrap();
        let root = DataRoot::resolve_with(None, Some(dir.clone()));
        let e = root.hetrec().unwrap_err().to_string();
        for needle in [
            USER_ARTISTS,
            USER_TAGGED_ARTISTS,
            TAGS,
            "AINREC_DATA",
            "make data",
        ] {
            assert!(e.contains(needle), "{needle} in {e}");
        }
        assert!(
            e.contains("looked for user_artists.dat, user_taggedartists.dat, tags.dat;"),
            "only the missing files are named: {e}"
        );
        let e = root.audio_corpus().unwrap_err().to_string();
        assert!(e.contains(AUDIO_CATALOG) && e.contains(LIBROSA_DIR), "{e}");
        let e = DataRoot::resolve_with(None, None)
            .audio_corpus()
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string());
        assert!(e.is_empty() || e.contains("the default ./data"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_hetrec_folder_itself_is_accepted() {
        let dir = std::env::temp_dir().join(format!("ainrec-locate-h-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in HETREC_FILES {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let root = DataRoot::resolve_with(Some(&dir), None);
        assert_eq!(root.hetrec().unwrap(), dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
