//! A whole-inbox pass, as `collate run` and `rebuild` make it: every settled file read once (in the order
//! a rebuild keeps), then the inbox's status written.

use std::collections::HashMap;
use std::path::PathBuf;

use super::inbox::{
    DEFAULT_SETTLE, file_name, receive, scan_inbox, wait_for_young_files, write_inbox_status,
};
use super::session::Collator;
use super::{Folders, Outcome, RunSummary};
use crate::error::FatalError;
use crate::period::PeriodChoice;
use crate::schema::Schemas;
use crate::worker::WorkerPool;

/// Runs one pass: every new, settled return in the inbox is processed once, anything that is not a
/// return is set aside, then the outputs and the inbox status are rewritten.
pub fn process_inbox(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    period: PeriodChoice,
) -> Result<RunSummary, FatalError> {
    process_inbox_in_order(schemas, workers, folders, period, &HashMap::new())
}

/// [`process_inbox`], reading the files whose content has a `recorded` arrival number in that order
/// first (what `rebuild` keeps from the store it replaces), then the others by file time.
pub fn process_inbox_in_order(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    period: PeriodChoice,
    recorded: &HashMap<String, i64>,
) -> Result<RunSummary, FatalError> {
    let mut collator = Collator::open(schemas, workers, folders)?;
    let mut scan = scan_inbox(&folders.inbox)?;
    let (mut ready, waiting) =
        wait_for_young_files(scan.split_settled(DEFAULT_SETTLE), DEFAULT_SETTLE);
    if !recorded.is_empty() {
        // Read within the limits, as for processing: a file too big to read has no recorded place.
        let arrival = |path: &PathBuf| {
            let received = receive(path, &schemas.dashboard.limits);
            recorded.get(&received.sha256).copied().unwrap_or(i64::MAX)
        };
        // A stable sort: files never seen keep their file-time order, after those that were.
        ready.sort_by_cached_key(arrival);
    }
    let mut summary = collator.pass(&ready, &scan.not_returns, &|| false, period)?;
    for path in &waiting {
        tracing::warn!(file = %file_name(path), "still being written after waiting {} s; not read this time", DEFAULT_SETTLE.as_secs());
        summary.outcomes.push(Outcome::Waiting {
            file: file_name(path),
        });
    }
    write_inbox_status(folders, collator.processed_count(), &waiting, &[])?;
    Ok(summary)
}
