//! One error type for the whole crate.
//!
//! Every message names what was expected and what was found, so that a visitor
//! (through the page) or a researcher (through the CLI) can act on it without
//! reading the source.

use std::fmt;

/// The crate's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A caller passed a value that is out of range or of the wrong shape.
    #[error("invalid {what}: expected {expected}, found {found}")]
    Invalid {
        /// Which argument or field.
        what: String,
        /// What would have been accepted.
        expected: String,
        /// What was given.
        found: String,
    },

    /// Audio samples that cannot be analysed (NaN, Inf, empty).
    #[error("invalid audio: {0}")]
    Audio(String),

    /// A file could not be decoded.
    #[error("cannot decode {file}: {reason}")]
    Decode {
        /// The file's name as the user gave it.
        file: String,
        /// Why, in words.
        reason: String,
    },

    /// A format we know but do not support (for example Opus, which symphonia cannot decode).
    #[error("unsupported format in {file}: {reason}")]
    Unsupported {
        /// The file's name as the user gave it.
        file: String,
        /// What is unsupported and what would work instead.
        reason: String,
    },

    /// A data file (history, interaction log, catalog) that does not match its schema.
    #[error("malformed {file}: {reason}")]
    Parse {
        /// The file (or input) that was being read.
        file: String,
        /// Line/field and what was wrong with it.
        reason: String,
    },

    /// A model file that does not match what this build expects.
    #[error("model rejected: {0}")]
    Model(String),

    /// A data set a command needs is not where it looked: names the files, the folder, where
    /// that folder came from and how to get the data ([`crate::data::locate`]).
    #[error("data missing: {0}")]
    MissingData(String),

    /// An operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,

    /// An I/O failure, with the path that failed.
    #[error("{path}: {source}")]
    Io {
        /// The path being read or written.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A tensor operation failed inside candle.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),

    /// JSON (de)serialisation failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// A model file's rejection, named by its path. The reason keeps one "model rejected:"
    /// prefix (it used to read "model rejected: x: model rejected: …").
    pub fn model_file(path: &std::path::Path, e: Error) -> Self {
        let reason = match e {
            Error::Model(reason) => reason,
            other => other.to_string(),
        };
        Error::Model(format!("{}: {reason}", path.display()))
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(
        what: impl Into<String>,
        expected: impl fmt::Display,
        found: impl fmt::Display,
    ) -> Self {
        Error::Invalid {
            what: what.into(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_model_file_rejection_says_model_rejected_once() {
        let inner = Error::Model("no ainrec.config in the model file".into());
        let msg = Error::model_file(std::path::Path::new("m.safetensors"), inner).to_string();
        assert_eq!(
            msg,
            "model rejected: m.safetensors: no ainrec.config in the model file"
        );
        let io = Error::invalid("k", "at least 1", 0);
        let msg = Error::model_file(std::path::Path::new("m"), io).to_string();
        assert_eq!(msg.matches("model rejected").count(), 1, "{msg}");
    }
}
