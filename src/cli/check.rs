//! `collate check FILE…`: validates returns and prints their exceptions; stores nothing, writes nothing.
//! With a shared mailbox in `dashboard.toml`, it also says whether the mailbox can be reached and logged
//! into, and how many messages wait there (moving nothing).

use std::path::PathBuf;

use clap::Args;

use super::{Locations, exit};
use crate::pipeline::process_file;
use crate::schema;
use crate::validate::Validated;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The returns to check (none: only the shared mailbox is checked, when dashboard.toml names one).
    files: Vec<PathBuf>,
    /// Print the exceptions as JSON, one object per file.
    #[arg(long)]
    json: bool,
}

pub fn check(locations: &Locations, args: &CheckArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    for gap in schemas.mail_gaps() {
        eprintln!("collate: note: {gap}");
    }
    let mailbox_reached = match &schemas.dashboard.mail.imap {
        Some(settings) => Some(check_mailbox(settings)),
        None if args.files.is_empty() => {
            anyhow::bail!(
                "name the returns to check (dashboard.toml names no shared mailbox to check)"
            )
        }
        None => None,
    };
    if args.files.is_empty() {
        return Ok(match mailbox_reached {
            Some(true) => exit::ACCEPTED,
            _ => exit::COULD_NOT_RUN,
        });
    }
    let workers = locations.workers(&schemas)?;
    let mut any_rejected = false;
    let mut reports = Vec::new();
    for processed in args
        .files
        .iter()
        .flat_map(|file| process_file(&schemas, &workers, file))
    {
        let processed = match processed {
            Ok(processed) => processed,
            Err(left) => {
                // Not a verdict: the file was not read through, so it is neither accepted nor rejected.
                any_rejected = true;
                println!("{}: not read ({}); check it again", left.file, left.reason);
                continue;
            }
        };
        let validated = &processed.validated;
        any_rejected |= !validated.accepted();
        if args.json {
            reports.push(serde_json::json!({
                "file": processed.source_file,
                "accepted": validated.accepted(),
                "period": validated.period_label(),
                "department": validated.department(),
                "plan": match validated {
                    Validated::PlanUpdate { identity, .. } => Some(identity.plan.as_str()),
                    _ => None,
                },
                "statuses": match validated {
                    Validated::PlanUpdate { statuses, .. } => statuses.len(),
                    _ => 0,
                },
                "exceptions": validated.exceptions(),
            }));
        } else {
            let verdict = if validated.accepted() {
                "accepted"
            } else {
                "rejected"
            };
            println!("{}: {verdict}", processed.source_file);
            for exception in validated.exceptions() {
                println!("  {}", exception.one_line());
                if !exception.guidance.is_empty() {
                    println!("      what to do: {}", exception.guidance);
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if any_rejected {
        exit::SOME_REJECTED
    } else {
        exit::ACCEPTED
    })
}

/// Says whether the shared mailbox can be reached and logged into, and how many messages wait.
fn check_mailbox(settings: &crate::schema::ImapSettings) -> bool {
    let place = format!(
        "the shared mailbox {} ({}:{}, {})",
        settings.user, settings.host, settings.port, settings.folder
    );
    match crate::mailbox::waiting(settings) {
        Ok(waiting) => {
            eprintln!("collate: {place}: reached and logged into; {waiting} message(s) waiting");
            true
        }
        Err(error) => {
            eprintln!("collate: {place}: {error}");
            false
        }
    }
}
