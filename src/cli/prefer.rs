//! `collate use FILE`: makes an accepted return the one in use for its department and period, whatever
//! arrived after it.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Locations, exit};
use crate::lock;
use crate::period::PeriodChoice;
use crate::pipeline::{Collator, sha256_hex};
use crate::schema;
use crate::store::{History, Store};

#[derive(Debug, Args)]
pub struct UseArgs {
    /// The return to use, by any name the outputs give it: as saved in the inbox ("inbox/2020-21 Q3 PSD
    /// return.xlsx"), or an emailed one as "inbox/PSD returns.eml › 2020-21 Q3 PSD return.xlsx" (or just
    /// the email, when it carried one return).
    file: PathBuf,
}

/// The content hash of the return `given` names: a file saved in the inbox is read; an emailed return is
/// found in the store by the name the outputs give it ("PSD returns.eml › return.xlsx", with or without
/// the inbox folder before it), or by its email's name when that email carried one accepted return.
fn chosen_return(history: &History, inbox: &Path, given: &Path) -> anyhow::Result<String> {
    let text = given.to_string_lossy();
    let name = Path::new(text.as_ref())
        .strip_prefix(inbox)
        .or_else(|_| Path::new(text.as_ref()).strip_prefix("inbox"))
        .map_or(text.to_string(), |rest| rest.to_string_lossy().into_owned());
    let email = name.split(" › ").next().unwrap_or_default();
    if !crate::read::message::is_message_name(email) {
        let bytes = std::fs::read(given)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", given.display()))?;
        return Ok(sha256_hex(&bytes));
    }
    // An emailed return: by the name the store (and every output) gives it.
    let accepted = history.accepted_returns()?;
    let mut found: Vec<&str> = (accepted.iter())
        .filter(|r| {
            r.file == name || (!name.contains(" › ") && r.file.split(" › ").next() == Some(email))
        })
        .map(|r| r.sha256)
        .collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => anyhow::bail!(
            "{} has not been read yet, or none of its returns was accepted: only an accepted return can be the one in use (run `collate run` first, and see its report)",
            given.display()
        ),
        _ => anyhow::bail!(
            "{} carried more than one return; name one as the outputs do: \"inbox/{email} › <attachment>\"",
            given.display()
        ),
    }
}

pub fn prefer(locations: &Locations, args: &UseArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate use")?;
    let store = Store::open(&folders.store)?;
    let history = store.load()?;
    let sha256 = chosen_return(&history, &folders.inbox, &args.file)?;
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
