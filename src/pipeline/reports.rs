//! What is said of each return as it is stored: its line in the log and the run's summary, and the
//! report a department can be sent back (xlsx for people, JSON for machines) with its draft reply.

use std::path::{Path, PathBuf};

use super::{Folders, Outcome, RunSummary};
use crate::error::{Cause, FatalError};
use crate::exception::Exception;
use crate::outfile::{fit_file_name, write_atomically_deferred};
use crate::render;
use crate::schema::{Schemas, Severity};
use crate::store::{History, ProcessedReturn};
use crate::validate::{BuiltinCheck, Validated};

pub(super) fn report_outcome(
    processed: &ProcessedReturn,
    replaces: Option<&str>,
    summary: &mut RunSummary,
) {
    let validated = &processed.validated;
    let file = processed.source_file.clone();
    if validated.accepted() {
        let warnings = validated.count(Severity::Warning);
        let identity = match validated {
            Validated::Figures { identity: i, .. } => format!("{} {}", i.department, i.period),
            Validated::PlanUpdate { identity: u, .. } => {
                format!("{} update to {}, {}", u.department, u.plan, u.period)
            }
            Validated::Unidentified { .. } => String::new(),
        };
        let in_use = replaces
            .map(|earlier| format!("; in use in place of \"{earlier}\""))
            .unwrap_or_default();
        tracing::info!(file = %file, "accepted ({identity}) with {warnings} quer{}{in_use}", if warnings == 1 { "y" } else { "ies" });
        summary.outcomes.push(Outcome::Accepted { file, warnings });
    } else {
        let first = validated
            .exceptions()
            .iter()
            .find(|e| e.severity == Severity::Error)
            .map(|e| e.one_line())
            .unwrap_or_else(|| format!("{file}: could not be identified"));
        tracing::warn!(file = %file, "rejected: {first}");
        summary.outcomes.push(Outcome::Rejected {
            file,
            reason: first,
        });
    }
}

/// The report a department can be sent back, xlsx for people and JSON for machines, for every return with
/// something to send back, and its draft reply. A clean return has none: its outcome is in the store's
/// returns table, and an old report of the same name is removed when there may be one. A report that
/// cannot be written is a warning on the return (in the log and in `exceptions.xlsx`), never the end of
/// the run. Returns whether anything may have been written.
pub(super) fn write_return_report(
    schemas: &Schemas,
    folders: &Folders,
    processed: &mut ProcessedReturn,
    replaces: Option<&str>,
    old_reports_possible: bool,
) -> bool {
    if processed.validated.exceptions().is_empty() && !old_reports_possible {
        return false;
    }
    let paths = ReportPaths::of(folders, &processed.source_file);
    let written = match processed.validated.exceptions().is_empty() {
        true => paths.remove_stale().map(|()| false),
        false => paths.write(schemas, processed, replaces).map(|()| true),
    };
    match written {
        Ok(written) => written,
        Err(error) => {
            tracing::warn!(file = %processed.source_file, "its report could not be written: {error}");
            processed
                .validated
                .push_exception(report_not_written(processed, &error));
            true
        }
    }
}

/// What a return's report is known by within a batch: its name cut for the longest of its files, so that
/// two returns whose reports would share any file share this.
pub(super) fn report_key(source_file: &str) -> String {
    fit_file_name(source_file, ".exceptions.xlsx")
}

/// Where a return's report and draft reply go: named after the return, cut to fit the file system.
struct ReportPaths {
    xlsx: PathBuf,
    json: PathBuf,
    reply: PathBuf,
}

impl ReportPaths {
    fn of(folders: &Folders, source_file: &str) -> ReportPaths {
        let report = |suffix: &str| {
            folders
                .return_reports()
                .join(fit_file_name(source_file, suffix))
        };
        ReportPaths {
            xlsx: report(".exceptions.xlsx"),
            json: report(".exceptions.json"),
            reply: folders.replies().join(fit_file_name(source_file, ".eml")),
        }
    }

    /// A clean return replacing one of the same name must not leave the old report behind.
    fn remove_stale(&self) -> Result<(), FatalError> {
        for stale in [&self.xlsx, &self.json, &self.reply] {
            if stale.exists() {
                std::fs::remove_file(stale).map_err(|error| FatalError::output(stale, error))?;
            }
        }
        Ok(())
    }

    fn write(
        &self,
        schemas: &Schemas,
        processed: &ProcessedReturn,
        replaces: Option<&str>,
    ) -> Result<(), FatalError> {
        let fail = |path: &Path, error: render::RenderError| {
            FatalError::output(path, Cause::Other(Box::new(error)))
        };
        let json = render::return_report_json(processed).map_err(|e| fail(&self.json, e))?;
        write_atomically_deferred(&self.json, &json)?;
        let workbook =
            render::return_report_workbook(processed, replaces).map_err(|e| fail(&self.xlsx, e))?;
        write_atomically_deferred(&self.xlsx, &workbook)?;
        let draft = render::reply_draft(schemas, processed, &workbook)
            .map_err(|error| FatalError::output(&self.reply, error))?;
        if let Some(draft) = draft {
            write_atomically_deferred(&self.reply, &draft)?;
        } else if let Some(why) = render::reply_withheld(schemas, processed) {
            tracing::warn!(
                file = %processed.source_file,
                "no reply drafted: {why}; answer the sender yourself if they may send it (or set \
                 reply_to_other_senders = true under [mail] in dashboard.toml)"
            );
        }
        Ok(())
    }
}

/// The warning a return carries when its report could not be written.
fn report_not_written(processed: &ProcessedReturn, error: &FatalError) -> Exception {
    Exception {
        file: processed.source_file.clone(),
        sheet: String::new(),
        cell: String::new(),
        value_found: String::new(),
        rule_id: BuiltinCheck::ReportNotWritten.id().to_owned(),
        severity: Severity::Warning,
        message: format!("collate could not write this return's report or draft reply: {error}"),
        guidance: "Check that the outbox can be written to (space on the disk, permissions); the \
                   return's exceptions are listed here all the same."
            .to_owned(),
    }
}

/// Says in the log when a return is for a quarter already signed off: it is stored, and the next
/// version takes it in; the version signed off is left as it was.
pub(super) fn tell_if_after_sign_off(history: &History, processed: &ProcessedReturn) {
    let Validated::Figures { identity, .. } = &processed.validated else {
        return;
    };
    let Some(signed) = super::signoff::latest_version(history, identity.period) else {
        return;
    };
    tracing::warn!(
        file = %processed.source_file,
        "this return for {} arrived after version {} was signed off ({} by {}); it is stored and \
         listed in exceptions.xlsx, and `collate close {}` would write version {} with it",
        identity.period,
        signed.version,
        render::uk_clock(signed.closed_at),
        signed.closed_by,
        identity.period.to_string().replace(' ', "-"),
        signed.version + 1
    );
}
