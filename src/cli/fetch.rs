//! `collate fetch`: one pass over the shared mailbox (`[mail.imap]`): each message waiting is saved into
//! the inbox, read through the same pass as a file dropped there, and moved to the processed folder on
//! the server once the pass is done with it.

use clap::Args;

use super::{Locations, exit, parse_period};
use crate::lock;
use crate::mailbox::{FetchError, fetch as fetch_mailbox};
use crate::period::PeriodChoice;
use crate::schema;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The period of the dashboard and chase list, as for `run`.
    #[arg(long, value_parser = parse_period, default_value = "latest", hide_default_value = true)]
    period: PeriodChoice,
}

pub fn fetch(locations: &Locations, args: &FetchArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let Some(settings) = &schemas.dashboard.mail.imap else {
        anyhow::bail!(
            "dashboard.toml names no shared mailbox ([mail.imap]): save the departments' emails into the inbox folder and run `collate run`"
        );
    };
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate fetch")?;
    let workers = locations.workers(&schemas)?;
    let fetched = match fetch_mailbox(&schemas, &workers, &folders, settings, args.period, &|| {
        false
    }) {
        Ok(fetched) => fetched,
        Err(FetchError::Mailbox(error)) => {
            super::closing_line(&error.to_string());
            return Ok(exit::COULD_NOT_RUN);
        }
        Err(FetchError::Fatal(error)) => return Err(error.into()),
    };
    tracing::info!(
        "{} message(s) taken from {} and moved to {}; {} left there",
        fetched.moved,
        settings.folder,
        settings.processed_folder,
        fetched.left
    );
    crate::send::send_replies_if_automatic(&schemas, &folders.outbox, &folders.store)?;
    Ok(match &fetched.summary {
        Some(summary) => super::run::finish(summary),
        None => exit::ACCEPTED,
    })
}
