//! `collate run`: one pass over the inbox; what a nightly schedule calls.

use clap::Args;

use super::{Locations, closing_line, exit, parse_period};
use crate::lock;
use crate::period::PeriodChoice;
use crate::pipeline::{Folders, RunSummary, process_inbox};
use crate::schema;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The period of the dashboard and chase list, e.g. 2020/21-Q2; or `due`: the dashboard for the
    /// latest period with returns, the chase list for the quarter whose returns are due (default: the
    /// latest period with an accepted return, for both).
    #[arg(long, value_parser = parse_period, default_value = "latest", hide_default_value = true)]
    pub period: PeriodChoice,
}

pub fn run(locations: &Locations, args: &RunArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate run")?;
    let workers = locations.workers(&schemas)?;
    for gap in schemas.mail_gaps() {
        tracing::warn!("{gap}");
    }
    let summary = process_inbox(&schemas, &workers, &folders, args.period)?;
    if summary.outcomes.is_empty() && summary.period.is_some() {
        tracing::info!(
            "no returns in {} yet: save the departments' returns there and run again",
            folders.inbox.display()
        );
    }
    if let Some(dashboard) = &summary.dashboard {
        keep_dated_copy(&folders, dashboard)?;
    }
    crate::send::send_replies_if_automatic(&schemas, &folders.outbox, &folders.store)?;
    Ok(finish(&summary))
}

/// Keeps a dated copy of the dashboard each run writes (one a day, the last run of the day wins), so the
/// owner can compare nights.
fn keep_dated_copy(folders: &Folders, dashboard: &std::path::Path) -> anyhow::Result<()> {
    let today = chrono::Local::now().format("%Y-%m-%d");
    let copy = folders
        .outbox
        .join("nightly")
        .join(format!("dashboard {today}.xlsx"));
    let bytes = std::fs::read(dashboard)?;
    crate::outfile::write_atomically(&copy, &bytes)?;
    Ok(())
}

/// The summary line a schedule's log keeps, and the exit code that tells its outcome.
pub fn finish(summary: &RunSummary) -> u8 {
    let period = summary.period.map(|p| p.to_string()).unwrap_or_default();
    tracing::info!(
        "{} accepted, {} rejected, {} already processed, {} still being written; dashboard for {period} written to {}",
        summary.accepted(),
        summary.rejected(),
        summary.already_processed(),
        summary.waiting(),
        summary
            .dashboard
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    if summary.waiting() > 0 {
        closing_line(&format!(
            "{} file(s) still being written were not read: {}; run again once they are saved",
            summary.waiting(),
            summary.waiting_files().join(", ")
        ));
    }
    let not_finished = summary.not_finished();
    if !not_finished.is_empty() {
        let files: Vec<&str> = not_finished.iter().map(|(file, _)| *file).collect();
        closing_line(&format!(
            "{} return(s) not read through, because their reader was stopped from outside: {}; they \
             stay in the inbox and are read again by the next run",
            files.len(),
            files.join(", ")
        ));
    }
    if summary.rejected() > 0 {
        closing_line(&format!(
            "{} return(s) rejected; see outbox/exceptions.xlsx",
            summary.rejected()
        ));
    }
    if summary.rejected() > 0 || summary.waiting() > 0 || !not_finished.is_empty() {
        exit::SOME_REJECTED
    } else {
        exit::ACCEPTED
    }
}
