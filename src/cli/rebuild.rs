//! `collate rebuild`: empties the history store and processes every original in the inbox again.

use super::Locations;
use super::run::{RunArgs, finish};
use crate::lock;
use crate::pipeline::process_inbox_in_order;
use crate::schema;
use crate::store::Store;

pub fn rebuild(locations: &Locations, args: &RunArgs) -> anyhow::Result<u8> {
    // Schemas are checked before the store is touched: a bad schema must not leave an empty store.
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate rebuild")?;
    // The order returns were received in (and `collate use` choices) outlive the store they were in.
    let store = Store::open(&folders.store)?;
    let recorded = match store.load() {
        Ok(history) => history.arrivals().unwrap_or_default(),
        Err(error) => {
            tracing::warn!("{error}; the returns are taken in the order of their file times");
            std::collections::HashMap::new()
        }
    };
    store.clear()?;
    tracing::info!(
        "history store cleared; processing every return in {}",
        folders.inbox.display()
    );
    let workers = locations.workers(&schemas)?;
    let summary = process_inbox_in_order(&schemas, &workers, &folders, args.period, &recorded)?;
    Ok(finish(&summary))
}
