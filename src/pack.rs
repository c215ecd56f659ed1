//! The quarter's pack: which quarterly returns are owed for a period, each as its template prefilled with
//! the period, the department and the year's figures already accepted, and a cover listing who owes what
//! by when. `collate template --period` uses the same prefilling for one template.

use std::path::{Path, PathBuf};

use crate::consolidate::{
    self, AsAt, Consolidated, DataRow, FlagSettings, MissingReturn, PlanStatusRow,
};
use crate::error::{Cause, FatalError};
use crate::outfile::{fit_file_name, write_atomically};
use crate::period::Period;
use crate::render::{self, OwedReturn};
use crate::schema::{Plan, Schemas, SlotKind, Template, ValueSource};
use crate::store::{Store, tables_for};
use crate::template::{PlanRow, PlanUpdateDraft, ReturnDraft};

/// The history as the store holds it, consolidated for `period` (the chase list then lists the returns
/// owed for it). A store not yet made holds nothing.
pub fn consolidated_for(
    schemas: &Schemas,
    store: &Path,
    period: Period,
) -> Result<Consolidated, FatalError> {
    let history = if store.is_dir() {
        Store::open(store)?.load()?
    } else {
        tables_for(&[])?
    };
    let catalogue = consolidate::catalogue_frames(schemas).map_err(FatalError::Consolidation)?;
    let as_at = AsAt::quarter(schemas, (period, period), None);
    consolidate::consolidate(&history, &catalogue, as_at, FlagSettings::of(schemas))
        .map_err(FatalError::Consolidation)
}

/// A template prefilled for `period`: the period and department set, the year's earlier quarters filled
/// with the figures accepted for them (still open, to restate), and later quarters closed.
pub fn prefilled<'s>(
    schemas: &'s Schemas,
    template: &'s Template,
    period: Period,
    accepted: &[DataRow],
) -> ReturnDraft<'s> {
    let mut draft = ReturnDraft::new(template, schemas);
    let Some(quarter) = period.quarter else {
        return draft.identity("financial_year", period.year.to_string().as_str());
    };
    draft = draft
        .period(
            &period.year.to_string(),
            &format!("QTR {}", quarter.number()),
        )
        .close_after(quarter);
    let year = period.year.to_string();
    for source in &template.sources {
        let ValueSource::Row {
            indicator,
            measure,
            year_offset: 0,
            ..
        } = source
        else {
            continue;
        };
        for (heading, kind) in &template.columns.by_heading {
            let SlotKind::Quarter(q) = kind else { continue };
            if *q >= quarter {
                continue;
            }
            let label = format!("Q{}", q.number());
            let figure = accepted.iter().find(|f| {
                f.indicator == *indicator
                    && f.measure == *measure
                    && f.financial_year == year
                    && f.quarter == label
            });
            if let Some(value) = figure.and_then(|f| f.value) {
                draft = draft.prefill(indicator, measure, heading, value);
            }
        }
    }
    draft
}

/// A plan update for a department's measures and a reporting period, with the statuses already accepted
/// for the plan's earlier periods filled in (where the plan has a column per period), so the department
/// sees the path so far and gives the period's own.
pub fn prefilled_update<'p>(
    plan: &'p Plan,
    (department_id, department_name): (&str, &str),
    period: &str,
    accepted: &[PlanStatusRow],
) -> PlanUpdateDraft<'p> {
    let own = plan.period(period).map_or(0, |(index, _)| index);
    let earlier: Vec<&str> = plan.periods[..own]
        .iter()
        .map(|p| p.label.as_str())
        .collect();
    let per_period_columns = plan.update.status_heading.is_none();
    let rows = plan
        .measures_of(department_id)
        .map(|measure| {
            let statuses = accepted
                .iter()
                .filter(|s| {
                    per_period_columns
                        && s.plan == plan.id
                        && s.section == measure.section
                        && s.reference == measure.reference
                        && earlier.contains(&s.period.as_str())
                })
                .map(|s| (s.period.clone(), s.status.clone()))
                .collect();
            PlanRow {
                section: measure.section.clone(),
                reference: measure.reference.clone(),
                statuses,
                ..PlanRow::default()
            }
        })
        .collect();
    PlanUpdateDraft::new(plan, department_name, period).rows(rows)
}

/// What `write_pack` wrote: the folder, and each return owed with its file.
#[derive(Debug)]
pub struct Pack {
    pub folder: PathBuf,
    pub owed: Vec<OwedReturn>,
}

/// Writes the pack for `period` into `outbox/pack/<period>/`: a prefilled template per return still owed
/// and the cover, `Who owes what.xlsx`. Files of an earlier pack for the period are replaced.
pub fn write_pack(
    schemas: &Schemas,
    (store, outbox): (&Path, &Path),
    period: Period,
) -> Result<Pack, FatalError> {
    let consolidated = consolidated_for(schemas, store, period)?;
    let accepted = DataRow::rows(&consolidated.data).map_err(FatalError::Consolidation)?;
    let missing = MissingReturn::rows(&consolidated.missing).map_err(FatalError::Consolidation)?;
    let folder = outbox
        .join("pack")
        .join(period.to_string().replace('/', "-"));
    let mut owed = Vec::new();
    for missing in missing {
        let Some(template) = schemas.template(&missing.template) else {
            continue;
        };
        let department = schemas
            .department(&missing.department)
            .map_or(missing.department.clone(), |d| d.name.clone());
        let file = pack_file_name(schemas, &department, template, period);
        let bytes = prefilled(schemas, template, period, &accepted)
            .to_bytes()
            .map_err(|error| {
                FatalError::output(&folder.join(&file), Cause::Other(Box::new(error)))
            })?;
        write_atomically(&folder.join(&file), &bytes)?;
        let return_owed = OwedReturn {
            department,
            template: template.title.clone(),
            file,
            rejected_file: missing.rejected_file,
        };
        write_reminder(schemas, (&folder, period), &return_owed, &bytes)?;
        owed.push(return_owed);
    }
    let cover = render::pack_cover(schemas, period, &owed).map_err(|error| {
        FatalError::output(&folder.join(COVER_FILE), Cause::Other(Box::new(error)))
    })?;
    write_atomically(&folder.join(COVER_FILE), &cover)?;
    remove_stale(&folder, &owed)?;
    Ok(Pack { folder, owed })
}

/// The name of the reminder a pack for `period` holds for a return on `template`.
pub fn reminder_file(schemas: &Schemas, template: &Template, period: Period) -> String {
    let department = schemas
        .department(&template.department)
        .map_or(template.department.clone(), |d| d.name.clone());
    reminder_name(&pack_file_name(schemas, &department, template, period))
}

/// The reminder draft for a return owed, beside its template: `Reminder - <template file>.eml`.
fn write_reminder(
    schemas: &Schemas,
    (folder, period): (&Path, Period),
    owed: &OwedReturn,
    template: &[u8],
) -> Result<(), FatalError> {
    let path = folder.join(reminder_name(&owed.file));
    let to = schemas
        .departments
        .iter()
        .find(|d| d.name == owed.department)
        .map(|d| d.contact_addresses())
        .unwrap_or_default();
    let due = schemas.returns_due(period);
    let today = chrono::Local::now().date_naive();
    let reminder = render::Reminder {
        owed,
        to,
        period,
        due: render::due_by(schemas, period),
        overdue: due.is_some_and(|due| today > due),
        template,
    };
    let draft = render::reminder_draft(schemas, &reminder)
        .map_err(|error| FatalError::output(&path, error))?;
    write_atomically(&path, &draft)
}

fn reminder_name(template_file: &str) -> String {
    let name = format!("Reminder - {}", template_file.trim_end_matches(".xlsx"));
    fit_file_name(&name, ".eml")
}

/// Removes the templates and reminders an earlier pack for the period wrote for returns no longer owed,
/// so that the folder holds only what is still to be sent.
fn remove_stale(folder: &Path, owed: &[OwedReturn]) -> Result<(), FatalError> {
    let entries = std::fs::read_dir(folder)
        .map_err(|error| FatalError::folder_failed(folder, "list the pack folder", error))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = (name.ends_with(".xlsx") || name.ends_with(".eml")) && name != COVER_FILE;
        let still_owed = owed
            .iter()
            .any(|o| o.file == name || reminder_name(&o.file) == name);
        if ours && !still_owed {
            std::fs::remove_file(entry.path())
                .map_err(|error| FatalError::output(&entry.path(), error))?;
        }
    }
    Ok(())
}

/// The pack's cover: who owes what, by when.
pub const COVER_FILE: &str = "Who owes what.xlsx";

/// "2020-21 Q2 Professional Standards return.xlsx", with the template's id where a department owes two.
fn pack_file_name(
    schemas: &Schemas,
    department: &str,
    template: &Template,
    period: Period,
) -> String {
    let period = period.to_string().replace('/', "-");
    let quarterly_templates = schemas
        .templates
        .iter()
        .filter(|t| t.department == template.department && t.kind == template.kind)
        .count();
    let name = if quarterly_templates > 1 {
        format!("{period} {department} {}.xlsx", template.id)
    } else {
        format!("{period} {department} return.xlsx")
    };
    fit_file_name(
        &name.replace(['/', '\\', ':', '*', '?', '"', '<', '>', '|'], "-"),
        "",
    )
}
