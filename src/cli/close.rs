//! `collate close QUARTER --by NAME [--with-missing] [--dry-run]`, and `--withdraw N --reason TEXT`: the
//! arguments, checked, handed to `pipeline::close_quarter` or `pipeline::withdraw_version`, and what they
//! did said in the owner's words (`render::closing`).

use clap::Args;

use super::close_report::{closing_text, pdf_not_made, withdrawn_text};
use super::{Locations, exit};
use crate::lock;
use crate::period::Period;
use crate::pipeline::{CloseRequest, Signing, close_quarter, withdraw_version};
use crate::schema;
use crate::store::{Store, Withdrawal};

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

/// A name as it will be printed: on one line, and short enough for a cover.
fn parse_name(text: &str) -> Result<String, String> {
    one_line(text, 80, "say who signs, such as --by \"Jo Bloggs\"")
}

/// A reason as it will be kept: on one line, at most 500 characters.
fn parse_reason(text: &str) -> Result<String, String> {
    one_line(
        text,
        500,
        "say why, such as --reason \"signed off by mistake\"",
    )
}

/// `text` trimmed onto one line, of 1 to `most` characters (`empty` says what to give when it is empty).
fn one_line(text: &str, most: usize, empty: &str) -> Result<String, String> {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.chars().count() {
        0 => Err(empty.to_owned()),
        n if n <= most => Ok(line),
        _ => Err(format!("at most {most} characters, please")),
    }
}

pub fn close(locations: &Locations, args: &CloseArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let _lock = lock::acquire(&lock::batch_lock_path(&folders.store), "collate close")?;
    let store = Store::open(&folders.store)?;
    let history = store.load()?;
    let now = chrono::Utc::now();
    let by = args.by.clone().unwrap_or_default();
    if let (Some(version), Some(reason)) = (args.withdraw, &args.reason) {
        let asked = Withdrawal::of(args.quarter, version, (&by, reason), now);
        let withdrawn = withdraw_version(&schemas, (&folders, &store), &history, asked)?;
        println!("{}", withdrawn_text(&withdrawn));
        return Ok(exit::ACCEPTED);
    }
    let request = CloseRequest {
        quarter: args.quarter,
        signing: Signing { by, at: now },
        with_missing: args.with_missing,
        dry_run: args.dry_run,
    };
    let closing = close_quarter(&schemas, (&folders, &store), history, request)?;
    if let Some(line) = pdf_not_made(&closing) {
        super::closing_line(&line);
    }
    println!("{}", closing_text(&schemas, &closing));
    Ok(exit::ACCEPTED)
}
