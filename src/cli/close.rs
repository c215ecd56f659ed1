//! `collate close QUARTER --by NAME`: signs a quarter off. Writes the next numbered version of its board
//! paper into `outbox/board/<quarter>/vN/` (the paper as `.docx` and PDF, the dashboard as it was, and a
//! manifest of every return with its SHA-256, who closed it and when), records the sign-off in the store,
//! and moves the dashboard on to the next quarter. A version, once written, is never rewritten. A sign-off
//! is deliberate: a quarter not ended, after the one being collected, with returns missing (without
//! `--with-missing`) or unchanged since its last version is refused; `--dry-run` says what a version would
//! hold; `--withdraw N` withdraws one signed off by mistake.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Locations, exit};
use crate::consolidate;
use crate::error::FatalError;
use crate::lock;
use crate::outfile::write_atomically;
use crate::pdf::{self, Printed};
use crate::period::{Period, PeriodChoice};
use crate::pipeline::{
    Folders, RenderedOutputs, Signing, latest_version, render_edition, unchanged_since,
    write_outputs,
};
use crate::render::{department_name, uk_time};
use crate::schema::{self, Schemas};
use crate::store::{self, History, SignOff, SignedReturn, Store, Withdrawal};

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The quarter to sign off, such as 2020/21-Q2.
    #[arg(value_parser = parse_quarter)]
    quarter: Period,
    /// Who signs it off (or withdraws a version): their name, as the board paper and its manifest will say.
    #[arg(long, value_parser = parse_name, required_unless_present = "dry_run")]
    by: Option<String>,
    /// Sign off although departments' returns for the quarter are missing: the paper's headline lists
    /// them.
    #[arg(long)]
    with_missing: bool,
    /// Print what the version would hold (returns in use, missing, changes since the last version) and
    /// write nothing.
    #[arg(long, conflicts_with = "withdraw")]
    dry_run: bool,
    /// Withdraw this version, signed off by mistake: its folder is kept with a note saying so, and the
    /// quarter is worked out as if it had never been signed.
    #[arg(long, value_name = "VERSION", requires = "reason")]
    withdraw: Option<u32>,
    /// Why the version is withdrawn (with --withdraw).
    #[arg(long, requires = "withdraw", value_parser = parse_reason)]
    reason: Option<String>,
}

fn parse_quarter(text: &str) -> Result<Period, String> {
    match Period::parse(text) {
        Some(period) if period.quarter.is_some() => Ok(period),
        _ => Err(format!(
            "\"{text}\" is not a quarter; write it as 2020/21-Q2"
        )),
    }
}

/// A name as it will be printed: trimmed, on one line, and short enough for a cover.
fn parse_name(text: &str) -> Result<String, String> {
    let name: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err("say who signs the quarter off, such as --by \"Jo Bloggs\"".to_owned()),
        1..=80 => Ok(name),
        _ => Err("a name of at most 80 characters, please".to_owned()),
    }
}

/// A reason as it will be kept: on one line, at most 500 characters.
fn parse_reason(text: &str) -> Result<String, String> {
    let reason: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match reason.chars().count() {
        0 => Err(
            "say why the version is withdrawn, such as --reason \"signed off by mistake\""
                .to_owned(),
        ),
        1..=500 => Ok(reason),
        _ => Err("a reason of at most 500 characters, please".to_owned()),
    }
}

/// The files a version folder holds.
const PAPER: &str = "board paper.docx";
const DASHBOARD: &str = "dashboard.xlsx";
const MANIFEST: &str = "manifest.json";
/// The note a withdrawn version's folder is given.
const WITHDRAWN_NOTE: &str = "WITHDRAWN.txt";

pub fn close(locations: &Locations, args: &CloseArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate close")?;
    let store = Store::open(&folders.store)?;
    let history = store.load()?;
    let quarter = args.quarter;
    if let (Some(version), Some(by), Some(reason)) = (args.withdraw, &args.by, &args.reason) {
        let withdrawing = (quarter, version, by.as_str(), reason.as_str());
        return withdraw(&schemas, (&folders, &store), &history, withdrawing);
    }
    let today = chrono::Local::now().date_naive();
    if let Err(refusal) = closable(&history, quarter, today) {
        anyhow::bail!("{quarter} cannot be signed off: {refusal}");
    }
    let signing = Signing {
        by: args.by.clone().unwrap_or_default(),
        at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let rendered = render_edition(
        &schemas,
        &history,
        PeriodChoice::Named(quarter),
        Some(signing),
    )?;
    let sign_off = rendered.sign_off();
    if args.dry_run {
        dry_run(&schemas, latest_version(&history, quarter), sign_off);
        return Ok(exit::ACCEPTED);
    }
    if !sign_off.missing.is_empty() && !args.with_missing {
        anyhow::bail!(
            "{quarter} cannot be signed off: no return for it is in use from {}. Chase them (exceptions.xlsx, Chase list), or sign off without them with --with-missing: the paper's headline will list them",
            names(&schemas, &sign_off.missing)
        );
    }
    if let Some(current) =
        latest_version(&history, quarter).filter(|c| unchanged_since(c, sign_off))
    {
        println!(
            "Nothing has changed since version {} of {quarter} (signed off by {} on {}): the same returns in use, figures and plan positions. Version {} stays the current one; nothing was written.",
            current.version,
            current.closed_by,
            uk_time(&current.closed_at),
            current.version
        );
        return Ok(exit::ACCEPTED);
    }
    sign(&schemas, (&folders, &store), history, &rendered)
}

/// Whether `quarter` may be signed off on `today`: it has ended, it is not after the quarter being
/// collected, and a return for it is stored. `Err` says why not.
fn closable(history: &History, quarter: Period, today: chrono::NaiveDate) -> Result<(), String> {
    let ends = quarter.quarter.and_then(|q| q.last_day(quarter.year));
    if let Some(ends) = ends.filter(|ends| *ends >= today) {
        return Err(format!(
            "it has not ended (it ends on {}); a quarter is signed off once its returns are in",
            ends.format("%d/%m/%Y")
        ));
    }
    let collected = consolidate::collected_quarter(history).map_err(|e| e.to_string())?;
    if let Some(collected) = collected.filter(|c| quarter > *c) {
        return Err(format!(
            "it is after {collected}, the quarter being collected; sign {collected} off first"
        ));
    }
    let stored = history.returns_for(quarter).map_err(|e| e.to_string())?;
    if !stored.iter().any(|r| !r.sha256.is_empty()) {
        return Err("no return for it is stored, so there is nothing to sign off: run `collate run` once the returns are in the inbox".to_owned());
    }
    Ok(())
}

/// Writes the version, records it, and moves the dashboard on.
fn sign(
    schemas: &Schemas,
    (folders, store): (&Folders, &Store),
    mut history: History,
    rendered: &RenderedOutputs,
) -> anyhow::Result<u8> {
    let sign_off = rendered.sign_off().clone();
    let version_folder = write_version(folders, store, rendered)?;
    history.sign_offs.push(sign_off.clone());
    let written = write_outputs(schemas, folders, &history, PeriodChoice::Latest)?;
    report(schemas, &sign_off, &version_folder, written.period);
    Ok(exit::ACCEPTED)
}

/// What the version would hold, said and nothing written.
fn dry_run(schemas: &Schemas, previous: Option<&SignOff>, sign_off: &SignOff) {
    println!(
        "Version {} of {} would be signed off with (nothing is written by --dry-run):",
        sign_off.version, sign_off.quarter
    );
    let in_use: Vec<&SignedReturn> = sign_off.returns.iter().filter(|r| r.in_use).collect();
    println!("  {} returns in use:", in_use.len());
    for r in in_use {
        let name = department_name(schemas, &r.department);
        println!("    {name}, {}: \"{}\"", r.period, r.file);
    }
    match sign_off.missing.is_empty() {
        true => println!("  Missing: none."),
        false => println!(
            "  Missing: {} (close refuses without --with-missing).",
            names(schemas, &sign_off.missing)
        ),
    }
    let Some(previous) = previous else {
        return;
    };
    if unchanged_since(previous, sign_off) {
        println!(
            "  Nothing has changed since version {}: close would write nothing.",
            previous.version
        );
        return;
    }
    println!(
        "  Since version {}: {} figure(s) changed, {} return(s) arrived after it.",
        previous.version,
        sign_off.changes.len(),
        sign_off.late_returns.len()
    );
    for change in &sign_off.changes {
        let shown = |v: Option<f64>| v.map_or_else(|| "blank".to_owned(), |v| v.to_string());
        println!(
            "    {} {}, {} {}: was {}, now {} (from \"{}\")",
            change.indicator,
            change.measure,
            change.financial_year,
            change.quarter,
            shown(change.was),
            shown(change.now),
            change.from
        );
    }
}

/// The departments' names, joined for a sentence.
fn names(schemas: &Schemas, departments: &[String]) -> String {
    let names: Vec<String> = (departments.iter())
        .map(|d| department_name(schemas, d))
        .collect();
    names.join(", ")
}

/// Withdraws a version signed off by mistake: a note in its folder and a record in the store, then the
/// outputs are made again as if it had never been signed.
fn withdraw(
    schemas: &Schemas,
    (folders, store): (&Folders, &Store),
    history: &History,
    (quarter, version, by, reason): (Period, u32, &str, &str),
) -> anyhow::Result<u8> {
    let name = quarter.to_string();
    let Some(signed) =
        (history.sign_offs.iter()).find(|s| s.quarter == name && s.version == version)
    else {
        anyhow::bail!(
            "version {version} of {quarter} was never signed off, so it cannot be withdrawn"
        );
    };
    if let Some(earlier) = &signed.withdrawn {
        anyhow::bail!(
            "version {version} of {quarter} was already withdrawn, by {} on {}",
            earlier.withdrawn_by,
            uk_time(&earlier.withdrawn_at)
        );
    }
    let withdrawal = Withdrawal {
        quarter: name,
        version,
        withdrawn_by: by.to_owned(),
        withdrawn_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        reason: reason.to_owned(),
    };
    let folder = (folders
        .board()
        .join(store::folder_name(&withdrawal.quarter)))
    .join(format!("v{version}"));
    if folder.is_dir() {
        write_atomically(
            &folder.join(WITHDRAWN_NOTE),
            withdrawal_note(&withdrawal).as_bytes(),
        )?;
    }
    store::record_withdrawal(store.dir(), &withdrawal)?;
    let history = store.load()?;
    let written = write_outputs(schemas, folders, &history, PeriodChoice::Latest)?;
    println!(
        "Version {version} of {quarter} is withdrawn ({reason}); its folder {} is kept with a note saying so. The dashboard and the draft board paper are now for {}.",
        folder.display(),
        written.period
    );
    Ok(exit::ACCEPTED)
}

/// The note a withdrawn version's folder keeps.
fn withdrawal_note(withdrawal: &Withdrawal) -> String {
    format!(
        "WITHDRAWN\r\n\r\nVersion {} of the {} board paper was withdrawn by {} on {}.\r\nWhy: {}\r\n\r\nThe files here are kept as they were signed off, but this is not a version of the quarter: the quarter is worked out as if it had never been signed.\r\n",
        withdrawal.version,
        withdrawal.quarter,
        withdrawal.withdrawn_by,
        uk_time(&withdrawal.withdrawn_at),
        withdrawal.reason
    )
}

/// Writes the version into a folder of its own beside the final one, records the sign-off, then gives
/// the folder its name: an interrupted close leaves no version half-written under a version's name.
fn write_version(
    folders: &Folders,
    store: &Store,
    rendered: &RenderedOutputs,
) -> anyhow::Result<PathBuf> {
    let sign_off = rendered.sign_off();
    let quarter_folder = folders.board().join(store::folder_name(&sign_off.quarter));
    let final_folder = quarter_folder.join(format!("v{}", sign_off.version));
    if final_folder.exists() {
        anyhow::bail!(
            "{} already exists, and a version is never rewritten; its sign-off record is missing from {}: restore it, or move the folder aside",
            final_folder.display(),
            store.dir().display()
        );
    }
    std::fs::create_dir_all(&quarter_folder)
        .map_err(|e| FatalError::folder_failed(&quarter_folder, "cannot create it", e))?;
    let making = tempfile::Builder::new()
        .prefix(&format!(".v{}-", sign_off.version))
        .tempdir_in(&quarter_folder)
        .map_err(|e| FatalError::folder_failed(&quarter_folder, "cannot write in it", e))?;
    let manifest = store::manifest_bytes(sign_off)?;
    write_atomically(&making.path().join(PAPER), rendered.board_paper())?;
    write_atomically(&making.path().join(DASHBOARD), rendered.dashboard())?;
    write_atomically(&making.path().join(MANIFEST), &manifest)?;
    print_pdf(&making.path().join(PAPER), &final_folder.join(PAPER));
    store::record_sign_off(store.dir(), sign_off)?;
    let made = making.keep();
    std::fs::rename(&made, &final_folder).map_err(|e| {
        FatalError::folder_failed(&final_folder, "cannot name the version's folder", e)
    })?;
    crate::outfile::flush_filesystem(&quarter_folder)?;
    Ok(final_folder)
}

/// Prints the paper to PDF beside it, saying plainly when that cannot be done (naming the paper where
/// the owner will find it).
fn print_pdf(paper: &Path, final_paper: &Path) {
    let folder = paper.parent().unwrap_or(Path::new("."));
    match pdf::print_to_pdf(paper, folder) {
        Printed::Made(pdf) => tracing::debug!("printed {}", pdf.display()),
        Printed::NoOffice => super::closing_line(&pdf::install_office(final_paper)),
        Printed::Failed(why) => super::closing_line(&format!(
            "the board paper was not printed to PDF ({why}); open {} in Word and save it as PDF",
            final_paper.display()
        )),
    }
}

fn report(schemas: &Schemas, sign_off: &SignOff, folder: &Path, now: Period) {
    let in_use = sign_off.returns.iter().filter(|r| r.in_use).count();
    println!(
        "{} {} {} signed off by {} as version {}: {} returns in use; written to {}",
        schemas.dashboard.force,
        schemas.dashboard.title,
        sign_off.quarter,
        sign_off.closed_by,
        sign_off.version,
        in_use,
        folder.display()
    );
    if !sign_off.changes.is_empty() || !sign_off.late_returns.is_empty() {
        println!(
            "Since version {}: {} figure(s) changed, {} return(s) arrived after it; the paper opens with them",
            sign_off.version - 1,
            sign_off.changes.len(),
            sign_off.late_returns.len()
        );
    }
    println!("The dashboard and the draft board paper are now for {now}.");
}
