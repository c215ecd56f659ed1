//! Fatal errors: bad configuration or unusable folders. These stop the program; a bad return never does.
//! Each names what failed (the stage, the file or folder) and keeps its cause, for the closing message
//! ("…: cannot read the inbox: permission denied") and for whoever looks further.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    /// A schema file says something `collate` cannot work with.
    #[error("{}: {key}: {reason}", file.display())]
    Schema {
        file: PathBuf,
        key: String,
        reason: String,
    },
    /// A folder or file of the installation cannot be used.
    #[error("{}: {what}", path.display())]
    Folder {
        path: PathBuf,
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The history store cannot be read or written.
    #[error("history store {}: {what}", path.display())]
    Store {
        path: PathBuf,
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// An output (a workbook, a report) cannot be written.
    #[error("cannot write {}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        cause: Cause,
    },
    /// The history store's tables, once loaded, could not be worked with.
    #[error("history store: its tables could not be read")]
    History(#[source] polars::error::PolarsError),
    /// Consolidating the stored returns failed.
    #[error("consolidation failed")]
    Consolidation(#[source] polars::error::PolarsError),
    /// The outputs could not be built, even with every stored return that broke them left out.
    #[error("the outputs could not be built: {0}")]
    Outputs(String),
    #[error("--period {period}: {reason}")]
    Period { period: String, reason: String },
    /// The SMTP server named in `dashboard.toml` cannot be used.
    #[error("the mail server {server} cannot be used")]
    MailServer {
        server: String,
        #[source]
        cause: Cause,
    },
}

/// What failed underneath a fatal error.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Reading or writing a table (the store's Parquet segments).
    #[error(transparent)]
    Table(#[from] polars::error::PolarsError),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
    /// A cause known only by its description (another process's message).
    #[error("{0}")]
    Described(String),
}

impl FatalError {
    pub fn schema(file: &Path, key: impl Into<String>, reason: impl Into<String>) -> Self {
        FatalError::Schema {
            file: file.to_path_buf(),
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// A folder that cannot be used, for a reason of `collate`'s own.
    pub fn folder(path: &Path, what: impl Into<String>) -> Self {
        FatalError::Folder {
            path: path.to_path_buf(),
            what: what.into(),
            cause: None,
        }
    }

    /// A folder or file that the system would not let `collate` use: `what` it was doing, and why not.
    pub fn folder_failed(path: &Path, what: impl Into<String>, cause: impl Into<Cause>) -> Self {
        FatalError::Folder {
            path: path.to_path_buf(),
            what: what.into(),
            cause: Some(cause.into()),
        }
    }

    /// The store could not be read or written: `what` it was doing, and why not.
    pub fn store(path: &Path, what: impl Into<String>, cause: impl Into<Cause>) -> Self {
        FatalError::Store {
            path: path.to_path_buf(),
            what: what.into(),
            cause: Some(cause.into()),
        }
    }

    pub fn output(path: &Path, cause: impl Into<Cause>) -> Self {
        FatalError::Output {
            path: path.to_path_buf(),
            cause: cause.into(),
        }
    }
}
