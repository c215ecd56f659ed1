//! Bringing the drafts in the outbox in line with the store, on every pass: a reply to a return that
//! another return of the same department and period has replaced, and a reminder for a return that has
//! arrived or for a quarter signed off or not the one being collected, are withdrawn (moved to `outbox/withdrawn/` with
//! a note of why: never sent); a draft not yet sent is addressed to the contacts `departments.toml` gives
//! now.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::PolarsResult;

use super::Folders;
use crate::consolidate::{self, AsAt, Consolidated, CurrentReturn, FlagSettings};
use crate::draft::DraftMessage;
use crate::error::FatalError;
use crate::outfile::{fit_file_name, write_atomically};
use crate::period::{FinancialYear, Period, Quarter};
use crate::schema::{Schemas, TemplateKind};
use crate::store::History;

/// Where withdrawn drafts are kept, each beside a note of why.
pub const WITHDRAWN_FOLDER: &str = "withdrawn";

/// What a draft comes to now: to send, to whom; or withdrawn, and why.
#[derive(Debug, Clone, PartialEq)]
enum Standing {
    Current { to: Vec<String> },
    Withdrawn(String),
}

/// Withdraws the drafts the store has overtaken and re-addresses those still to send; returns the
/// drafts withdrawn, with why. A draft already sent is left as it is. `made` is the history already
/// consolidated for the outputs, used when it is as at the quarter being collected.
pub fn bring_in_line(
    schemas: &Schemas,
    folders: &Folders,
    history: &History,
    made: Option<&(AsAt, Consolidated)>,
) -> Result<Vec<(PathBuf, String)>, FatalError> {
    let has_drafts =
        |folder: PathBuf| std::fs::read_dir(folder).is_ok_and(|mut e| e.next().is_some());
    if !has_drafts(folders.replies()) && !has_drafts(folders.outbox.join("pack")) {
        return Ok(Vec::new());
    }
    let collected = consolidate::collected_quarter(history).map_err(FatalError::History)?;
    let Some(collected) = collected else {
        return Ok(Vec::new());
    };
    let as_at = AsAt::quarter(schemas, (collected, collected), None);
    let consolidated = match made {
        Some((made_as_at, consolidated)) if *made_as_at == as_at => consolidated,
        _ => &consolidated_as_at(schemas, history, as_at)?,
    };
    let mut standings =
        replies(schemas, folders, history, consolidated).map_err(FatalError::History)?;
    standings.extend(reminders(
        schemas,
        folders,
        history,
        consolidated,
        collected,
    )?);
    let sent = crate::send::already_sent(&folders.store)?;
    let mut withdrawn = Vec::new();
    for (path, standing) in standings {
        let bytes = std::fs::read(&path).map_err(|e| FatalError::output(&path, e))?;
        if sent.contains(&crate::send::content_hash(&bytes)) {
            continue;
        }
        match standing {
            Standing::Withdrawn(why) => {
                withdraw(folders, &path, &bytes, &why)?;
                withdrawn.push((path, why));
            }
            Standing::Current { to } => readdress(&path, &bytes, &to)?,
        }
    }
    Ok(withdrawn)
}

fn consolidated_as_at(
    schemas: &Schemas,
    history: &History,
    as_at: AsAt,
) -> Result<Consolidated, FatalError> {
    let catalogue = consolidate::catalogue_frames(schemas).map_err(FatalError::Consolidation)?;
    consolidate::consolidate(history, &catalogue, as_at, FlagSettings::of(schemas))
        .map_err(FatalError::Consolidation)
}

/// Each reply draft in `outbox/replies/` with the return it answers, judged against the store.
fn replies(
    schemas: &Schemas,
    folders: &Folders,
    history: &History,
    consolidated: &Consolidated,
) -> PolarsResult<Vec<(PathBuf, Standing)>> {
    let current = CurrentReturn::rows(&consolidated.current_returns)?;
    let in_use: HashSet<&str> = current.iter().map(|r| r.sha256.as_str()).collect();
    let rejected = consolidated.rejected.column("sha256")?.str()?;
    let open_rejected: HashSet<&str> = rejected.iter().flatten().collect();
    let returns = &history.returns;
    let text = |name: &str| returns.column(name).and_then(|c| Ok(c.str()?.clone()));
    let (files, hashes, departments, senders) = (
        text("source_file")?,
        text("sha256")?,
        text("department")?,
        text("sender_address")?,
    );
    // The latest return of each name is the one its reply answers. The folder is listed once: the store
    // holds every return ever received, the folder only the replies drafted.
    let drafted: HashSet<String> = std::fs::read_dir(folders.replies())
        .map(|entries| {
            (entries.flatten())
                .filter_map(|entry| entry.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut answered: HashMap<PathBuf, usize> = HashMap::new();
    for i in 0..returns.height() {
        let name = fit_file_name(files.get(i).unwrap_or_default(), ".eml");
        if drafted.contains(&name) {
            answered.insert(folders.replies().join(name), i);
        }
    }
    let mut standings = Vec::new();
    for (path, i) in answered.into_iter().filter(|(path, _)| path.is_file()) {
        let hash = hashes.get(i).unwrap_or_default();
        let department = departments.get(i).and_then(|d| schemas.department(d));
        let sender = senders.get(i).filter(|s| !s.is_empty());
        let withheld =
            crate::render::withheld_from(schemas, department, sender.unwrap_or_default());
        let standing = if let Some(why) = withheld {
            // A reply drafted before the owner's settings said otherwise: not for this sender.
            Standing::Withdrawn(format!("no reply goes to this sender: {why}"))
        } else if in_use.contains(hash) || open_rejected.contains(hash) {
            Standing::Current {
                to: crate::render::reply_recipients(department, sender),
            }
        } else {
            Standing::Withdrawn(superseded_by(&current, returns, i)?)
        };
        standings.push((path, standing));
    }
    standings.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(standings)
}

/// Why a reply is no longer to be sent: the return in use instead, where there is one.
fn superseded_by(
    current: &[CurrentReturn],
    returns: &polars::prelude::DataFrame,
    i: usize,
) -> PolarsResult<String> {
    let text = |name: &str| -> PolarsResult<String> {
        Ok(returns
            .column(name)?
            .str()?
            .get(i)
            .unwrap_or_default()
            .to_owned())
    };
    let (department, template) = (text("department")?, text("template")?);
    let year = returns
        .column("year_start")?
        .i32()?
        .get(i)
        .map(FinancialYear);
    let quarter = (returns.column("quarter")?.i32()?.get(i))
        .and_then(|q| Quarter::new(u8::try_from(q).ok()?));
    let instead = current.iter().find(|r| {
        r.department == department
            && r.template == template
            && r.ret_year == year
            && r.ret_q == quarter
    });
    Ok(match instead {
        Some(r) => format!(
            "\"{}\" has replaced the return it answers, for {department} {}",
            r.source_file,
            super::super::render::period_label(&r.plan_period, r.ret_year, r.ret_q)
        ),
        None => "another return has replaced the one it answers".to_owned(),
    })
}

/// Each reminder draft in the pack folders, judged against the store: still owed, or not.
fn reminders(
    schemas: &Schemas,
    folders: &Folders,
    history: &History,
    consolidated: &Consolidated,
    collected: Period,
) -> Result<Vec<(PathBuf, Standing)>, FatalError> {
    let current =
        CurrentReturn::rows(&consolidated.current_returns).map_err(FatalError::History)?;
    let Ok(packs) = std::fs::read_dir(folders.outbox.join("pack")) else {
        return Ok(Vec::new());
    };
    let mut standings = Vec::new();
    for pack in packs.flatten().map(|entry| entry.path()) {
        let name = pack
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some(period) = Period::parse(&name).filter(|p| p.quarter.is_some()) else {
            continue;
        };
        let signed_off = super::signoff::latest_version(history, period).is_some();
        for template in schemas
            .templates
            .iter()
            .filter(|t| t.kind == TemplateKind::Quarterly)
        {
            let path = pack.join(crate::pack::reminder_file(schemas, template, period));
            if !path.is_file() {
                continue;
            }
            let arrived = current.iter().find(|r| {
                r.template == template.id
                    && r.ret_year == Some(period.year)
                    && r.ret_q == period.quarter
            });
            let standing = match (arrived, signed_off) {
                (Some(r), _) => {
                    Standing::Withdrawn(format!("the return has arrived: \"{}\"", r.source_file))
                }
                (None, true) => Standing::Withdrawn(format!("{period} is signed off")),
                (None, false) if period != collected => Standing::Withdrawn(format!(
                    "{period} is not the quarter being collected ({collected}){}",
                    match period > collected {
                        true => format!("; sign {collected} off first, then make its pack again"),
                        false => String::new(),
                    }
                )),
                (None, false) => Standing::Current {
                    to: (schemas.department(&template.department))
                        .map(|d| d.contact_addresses())
                        .unwrap_or_default(),
                },
            };
            standings.push((path, standing));
        }
    }
    Ok(standings)
}

/// Moves a draft into `outbox/withdrawn/`, with a note beside it saying why.
fn withdraw(folders: &Folders, path: &Path, bytes: &[u8], why: &str) -> Result<(), FatalError> {
    let folder = folders.outbox.join(WITHDRAWN_FOLDER);
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let kept = folder.join(fit_file_name(&name, ""));
    write_atomically(&kept, bytes)?;
    let note = format!("{name}\nWithdrawn, never sent: {why}.\n");
    write_atomically(
        &folder.join(fit_file_name(&name, ".why.txt")),
        note.as_bytes(),
    )?;
    std::fs::remove_file(path).map_err(|e| FatalError::output(path, e))?;
    tracing::info!(draft = %name, "withdrawn, never to be sent: {why}");
    Ok(())
}

/// Writes a draft again, to the contacts it should go to now, when they have changed. A file that is not
/// an email is left as it is (`collate send` holds it back).
fn readdress(path: &Path, bytes: &[u8], to: &[String]) -> Result<(), FatalError> {
    let Some(draft) = DraftMessage::from_eml(bytes) else {
        return Ok(());
    };
    if draft.addressed_to(to) {
        return Ok(());
    }
    let readdressed = DraftMessage {
        to: to.to_vec(),
        ..draft
    };
    let bytes = readdressed
        .to_eml()
        .map_err(|e| FatalError::output(path, e))?;
    write_atomically(path, &bytes)
}
