//! `collate watch`: processes returns as they land, until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;

use super::{Locations, exit, parse_period};
use crate::period::PeriodChoice;
use crate::schema;
use crate::watch::{WatchOptions, watch as watch_inbox};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Seconds a file must stand still (size and time unchanged) before it is read.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Seconds between full rescans of the inbox, the safety net for lost events.
    #[arg(long, default_value_t = 60.0)]
    rescan: f64,
    /// Poll every this many seconds instead of waiting for notifications (network shares).
    #[arg(long)]
    poll: Option<f64>,
    /// The period of the dashboard and chase list, e.g. 2020/21-Q2, or `due` (as for `run`).
    #[arg(long, value_parser = parse_period, default_value = "latest", hide_default_value = true)]
    period: PeriodChoice,
}

fn seconds(value: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| anyhow::anyhow!("--{what} must be a number of seconds, 0 or more"))
}

pub fn watch(locations: &Locations, args: &WatchArgs) -> anyhow::Result<u8> {
    let options = WatchOptions {
        settle: seconds(args.settle, "settle")?,
        rescan: seconds(args.rescan, "rescan")?.max(Duration::from_millis(100)),
        poll: args
            .poll
            .map(|p| seconds(p, "poll").map(|d| d.max(Duration::from_millis(100))))
            .transpose()?,
        period: args.period,
        ..WatchOptions::default()
    };
    let schemas = schema::load(&locations.schemas())?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C: the store and outputs are safe at any moment, so leave now.
            std::process::exit(i32::from(exit::COULD_NOT_RUN));
        }
        tracing::info!("stopping after the returns in hand");
    })?;
    let workers = locations.workers(&schemas)?;
    let folders = locations.folders();
    // After each batch, from the folder or the mailbox: the replies go out when the owner has said so.
    let mut after_batch = |_: &crate::pipeline::RunSummary| {
        if let Err(error) =
            crate::send::send_replies_if_automatic(&schemas, &folders.outbox, &folders.store)
        {
            tracing::warn!("the replies could not be sent: {error}");
        }
    };
    watch_inbox(
        &schemas,
        &workers,
        &folders,
        &options,
        &stop,
        &mut after_batch,
    )?;
    Ok(exit::ACCEPTED)
}
