//! `collate close QUARTER --by NAME`: signs a quarter off. Writes the next numbered version of its board
//! paper into `outbox/board/<quarter>/vN/` (the paper as `.docx` and PDF, the dashboard as it was, and a
//! manifest of every return with its SHA-256, who closed it and when), records the sign-off in the store,
//! and moves the dashboard on to the next quarter. A version, once written, is never rewritten.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Locations, exit};
use crate::error::FatalError;
use crate::lock;
use crate::outfile::write_atomically;
use crate::pdf::{self, Printed};
use crate::period::{Period, PeriodChoice};
use crate::pipeline::{Folders, Signing, render_edition, write_outputs};
use crate::schema::{self, Schemas};
use crate::store::{self, SignOff, Store};

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The quarter to sign off, such as 2020/21-Q2.
    #[arg(value_parser = parse_quarter)]
    quarter: Period,
    /// Who signs it off: their name, as the board paper and its manifest will say.
    #[arg(long, value_parser = parse_name)]
    by: String,
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

/// The files a version folder holds.
const PAPER: &str = "board paper.docx";
const DASHBOARD: &str = "dashboard.xlsx";
const MANIFEST: &str = "manifest.json";

pub fn close(locations: &Locations, args: &CloseArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate close")?;
    let store = Store::open(&folders.store)?;
    let mut history = store.load()?;
    let quarter = args.quarter;
    if !history
        .returns_for(quarter)?
        .iter()
        .any(|r| !r.sha256.is_empty())
    {
        anyhow::bail!(
            "no return for {quarter} is stored, so there is nothing to sign off: run `collate run` once the returns are in the inbox"
        );
    }
    let signing = Signing {
        by: args.by.clone(),
        at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let rendered = render_edition(
        &schemas,
        &history,
        PeriodChoice::Named(quarter),
        Some(signing),
    )?;
    let sign_off = rendered.sign_off().clone();
    let version_folder = write_version(&folders, &store, &rendered)?;
    history.sign_offs.push(sign_off.clone());
    let written = write_outputs(&schemas, &folders, &history, PeriodChoice::Latest)?;
    report(&schemas, &sign_off, &version_folder, written.period);
    Ok(exit::ACCEPTED)
}

/// Writes the version into a folder of its own beside the final one, records the sign-off, then gives
/// the folder its name: an interrupted close leaves no version half-written under a version's name.
fn write_version(
    folders: &Folders,
    store: &Store,
    rendered: &crate::pipeline::RenderedOutputs,
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
