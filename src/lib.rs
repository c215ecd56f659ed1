//! collate: departmental spreadsheet returns in, an integrity dashboard and exception reports out.
//!
//! The pipeline stages, each a module with a typed hand-off: [`read`] → [`validate`] → [`store`] →
//! [`consolidate`] → [`render`]; [`pipeline`] runs them for `collate run` and the watcher alike.

pub mod cli;
pub mod consolidate;
pub mod digest;
pub mod draft;
pub mod error;
pub mod excel;
pub mod exception;
pub mod lock;
pub mod mailbox;
pub mod outfile;
pub mod pack;
pub mod pdf;
pub mod period;
pub mod phase;
pub mod pipeline;
pub mod platform;
pub mod polars_local;
pub mod read;
pub mod render;
pub mod schema;
pub mod send;
pub mod store;
pub mod template;
pub mod text_form;
pub mod validate;
pub mod watch;
pub mod worker;
