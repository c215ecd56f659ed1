//! `collate use FILE`: makes an accepted return the one in use for its department and period, whatever
//! arrived after it.

use std::path::PathBuf;

use clap::Args;

use super::{Locations, exit};
use crate::lock;
use crate::period::PeriodChoice;
use crate::pipeline::{Collator, sha256_hex};
use crate::schema;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct UseArgs {
    /// The return to use, as saved in the inbox (e.g. "inbox/2020-21 Q3 PSD return.xlsx").
    file: PathBuf,
}

pub fn prefer(locations: &Locations, args: &UseArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let bytes = std::fs::read(&args.file)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", args.file.display()))?;
    let sha256 = sha256_hex(&bytes);
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate use")?;
    let store = Store::open(&folders.store)?;
    let history = store.load()?;
    let Some(chosen) = history.arrive_again(&sha256, history.next_arrival()?)? else {
        anyhow::bail!(
            "{} has not been read yet, or was rejected: only an accepted return can be the one in use (run `collate run` first, and see its report)",
            args.file.display()
        );
    };
    store.append(&chosen)?;
    let workers = locations.workers(&schemas)?;
    let collator = Collator::open(&schemas, &workers, &folders)?;
    let written = collator.write_outputs(PeriodChoice::Latest)?;
    println!(
        "{} is now the one in use for its department and period; the dashboard for {} is written to {}",
        args.file.display(),
        written.period,
        written.dashboard.display()
    );
    Ok(exit::ACCEPTED)
}
