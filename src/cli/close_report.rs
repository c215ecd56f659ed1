//! What `collate close` says (its report, beside `close.rs`): the version signed off, the one that stays current when nothing changed,
//! what a dry run would sign off, a version withdrawn, and a paper that could not be printed to PDF.

use std::fmt::Write as _;
use std::path::Path;

use crate::pdf::{self, Printed};
use crate::period::Period;
use crate::pipeline::{Closing, Withdrawn};
use crate::schema::Schemas;
use crate::store::SignOff;

use crate::render::{department_name, uk_clock};

/// The lines `close` prints for what it did.
pub fn closing_text(schemas: &Schemas, closing: &Closing) -> String {
    match closing {
        Closing::Signed {
            sign_off,
            folder,
            now,
            ..
        } => signed(schemas, sign_off, folder, *now),
        Closing::Unchanged(current) => format!(
            "Nothing has changed since version {} of {} (signed off by {} on {}): the same returns in use, figures and plan positions. Version {} stays the current one; nothing was written.",
            current.version,
            current.quarter,
            current.closed_by,
            uk_clock(current.closed_at),
            current.version
        ),
        Closing::Preview { sign_off, previous } => preview(schemas, sign_off, previous.as_deref()),
    }
}

/// The line that says a signed-off paper was not printed to PDF, and what to do; `None` when it was.
pub fn pdf_not_made(closing: &Closing) -> Option<String> {
    let Closing::Signed { paper, printed, .. } = closing else {
        return None;
    };
    match printed {
        Printed::Made(_) => None,
        Printed::NoOffice => Some(pdf::install_office(paper)),
        Printed::Failed(why) => Some(format!(
            "the board paper was not printed to PDF ({why}); open {} in Word and save it as PDF",
            paper.display()
        )),
    }
}

fn signed(schemas: &Schemas, sign_off: &SignOff, folder: &Path, now: Period) -> String {
    let in_use = sign_off.returns.iter().filter(|r| r.in_use).count();
    let mut text = format!(
        "{} {} {} signed off by {} as version {}: {in_use} returns in use; written to {}\n",
        schemas.dashboard.force,
        schemas.dashboard.title,
        sign_off.quarter,
        sign_off.closed_by,
        sign_off.version,
        folder.display()
    );
    if !sign_off.changes.is_empty() || !sign_off.late_returns.is_empty() {
        let _ = writeln!(
            text,
            "Since version {}: {} figure(s) changed, {} return(s) arrived after it; the paper opens with them",
            sign_off.version - 1,
            sign_off.changes.len(),
            sign_off.late_returns.len()
        );
    }
    let _ = write!(
        text,
        "The dashboard and the draft board paper are now for {now}."
    );
    text
}

/// What a version would hold: the returns in use, the departments missing, what changed since the last.
fn preview(schemas: &Schemas, sign_off: &SignOff, previous: Option<&SignOff>) -> String {
    let in_use: Vec<_> = sign_off.returns.iter().filter(|r| r.in_use).collect();
    let mut text = format!(
        "Version {} of {} would be signed off with (nothing is written by --dry-run):\n  {} returns in use:\n",
        sign_off.version,
        sign_off.quarter,
        in_use.len()
    );
    for r in in_use {
        let name = department_name(schemas, &r.department);
        let _ = writeln!(text, "    {name}, {}: \"{}\"", r.period, r.file);
    }
    let missing: Vec<String> = (sign_off.missing.iter())
        .map(|d| department_name(schemas, d))
        .collect();
    let _ = match missing.is_empty() {
        true => writeln!(text, "  Missing: none."),
        false => writeln!(
            text,
            "  Missing: {} (close refuses without --with-missing).",
            missing.join(", ")
        ),
    };
    let Some(previous) = previous else {
        return text;
    };
    if crate::pipeline::unchanged_since(previous, sign_off) {
        let _ = writeln!(
            text,
            "  Nothing has changed since version {}: close would write nothing.",
            previous.version
        );
        return text;
    }
    let _ = writeln!(
        text,
        "  Since version {}: {} figure(s) changed, {} return(s) arrived after it.",
        previous.version,
        sign_off.changes.len(),
        sign_off.late_returns.len()
    );
    for change in &sign_off.changes {
        let shown = |v: Option<f64>| v.map_or_else(|| "blank".to_owned(), |v| v.to_string());
        let _ = writeln!(
            text,
            "    {} {}, {}: was {}, now {} (from \"{}\")",
            change.indicator,
            change.measure,
            change.period(),
            shown(change.was),
            shown(change.now),
            change.from
        );
    }
    text
}

/// The line `close --withdraw` prints.
pub fn withdrawn_text(withdrawn: &Withdrawn) -> String {
    let withdrawal = &withdrawn.withdrawal;
    format!(
        "Version {} of {} is withdrawn ({}); its folder {} is kept with a note saying so. The dashboard and the draft board paper are now for {}.",
        withdrawal.version,
        withdrawal.quarter,
        withdrawal.reason,
        withdrawn.folder.display(),
        withdrawn.now
    )
}
