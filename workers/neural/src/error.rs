//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong while loading or running the neural models.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file is missing.
    #[error(
        "model file {path} is missing{hint}",
        path = .path.display(),
        hint = if *.fetch_hint { " (run scripts/fetch-model.sh to fetch all-MiniLM-L6-v2, or set [agents.neural] model_dir)" } else { "" }
    )]
    MissingFile {
        /// The file.
        path: PathBuf,
        /// Whether `scripts/fetch-model.sh` would fetch it.
        fetch_hint: bool,
    },
    /// A model or tokenizer file could not be read or understood.
    #[error("{0}")]
    Model(String),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The input cannot be processed.
    #[error("{0}")]
    Input(String),
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Inference(e.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
