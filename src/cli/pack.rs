//! `collate pack --period due`: the quarter's pack, in `outbox/pack/<period>/`: a prefilled template for
//! every quarterly return still owed for the period, and a cover listing who owes what by when.

use clap::Args;

use super::{Locations, exit, parse_period};
use crate::consolidate;
use crate::pack;
use crate::period::{Period, PeriodChoice};
use crate::schema;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The quarter the pack is for: `due` (the quarter most recently ended, whose returns are being
    /// collected; the default), `latest` (the quarter being collected: most departments' latest, never one signed off), or one such as 2020/21-Q2.
    #[arg(long, value_parser = parse_period, default_value = "due")]
    period: PeriodChoice,
}

pub fn pack(locations: &Locations, args: &PackArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let period = match args.period {
        PeriodChoice::Due(period) | PeriodChoice::Named(period) => period,
        PeriodChoice::Latest => latest_stored(&folders.store)?,
    };
    if period.quarter.is_none() {
        anyhow::bail!(
            "a pack is for a quarter: name one such as {}-Q2",
            period.year
        );
    }
    let pack = pack::write_pack(&schemas, (&folders.store, &folders.outbox), period)?;
    for owed in &pack.owed {
        println!("{}: {}", owed.department, owed.file);
    }
    println!(
        "{} template{} for {period} and the cover ({}) are in {}",
        pack.owed.len(),
        if pack.owed.len() == 1 { "" } else { "s" },
        pack::COVER_FILE,
        pack.folder.display()
    );
    Ok(exit::ACCEPTED)
}

/// The quarter being collected, or the quarter just ended when nothing is stored.
fn latest_stored(store: &std::path::Path) -> anyhow::Result<Period> {
    let today = chrono::Local::now().date_naive();
    if !store.is_dir() {
        return Ok(Period::most_recently_ended(today));
    }
    let history = Store::open(store)?.load()?;
    Ok(consolidate::collected_quarter(&history)?
        .unwrap_or_else(|| Period::most_recently_ended(today)))
}
