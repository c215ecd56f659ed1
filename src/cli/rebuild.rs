//! `collate rebuild`: empties the history store and processes every original in the inbox again.

use super::Locations;
use super::run::{RunArgs, finish};
use crate::lock;
use crate::pipeline::process_inbox;
use crate::schema;
use crate::store::Store;

pub fn rebuild(locations: &Locations, args: &RunArgs) -> anyhow::Result<u8> {
    // Schemas are checked before the store is touched: a bad schema must not leave an empty store.
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate rebuild")?;
    Store::open(&folders.store)?.clear()?;
    tracing::info!(
        "history store cleared; processing every return in {}",
        folders.inbox.display()
    );
    let workers = locations.workers(&schemas)?;
    let summary = process_inbox(&schemas, &workers, &folders, args.period)?;
    Ok(finish(&summary))
}
