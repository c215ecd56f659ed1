//! Fatal errors: bad configuration or unusable folders. These stop the program; a bad return never does.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    #[error("{}: {key}: {reason}", file.display())]
    Schema {
        file: PathBuf,
        key: String,
        reason: String,
    },
    #[error("{}: {reason}", path.display())]
    Folder { path: PathBuf, reason: String },
    #[error("history store {}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
    #[error("cannot write {}: {reason}", path.display())]
    Output { path: PathBuf, reason: String },
    #[error("consolidation failed: {0}")]
    Consolidation(String),
    #[error("--period {period}: {reason}")]
    Period { period: String, reason: String },
}

impl FatalError {
    pub fn schema(
        file: &std::path::Path,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        FatalError::Schema {
            file: file.to_path_buf(),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl From<polars::error::PolarsError> for FatalError {
    fn from(error: polars::error::PolarsError) -> Self {
        FatalError::Consolidation(error.to_string())
    }
}
