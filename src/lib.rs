//! collate: departmental spreadsheet returns in, an integrity dashboard and exception reports out.
//!
//! The pipeline stages, each a module with a typed hand-off: [`read`] → [`validate`] → [`store`] →
//! [`consolidate`] → [`render`]; [`pipeline`] runs them for `collate run` and the watcher alike.

pub mod error;
pub mod exception;
pub mod period;
pub mod read;
pub mod schema;
pub mod validate;
pub mod outfile;
pub mod store;
pub mod consolidate;
pub mod render;
pub mod pipeline;
pub mod cli;
pub mod template;
