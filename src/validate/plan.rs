//! Checks an action plan update return: which plan, department and period it is, and each measure's status
//! and update, against the plan's vocabulary and owners. Problems are exceptions with cells, as for returns.

use calamine::Data;

use super::BuiltinCheck;
use super::Checker;
use super::cells::{cell_text, locate_explained, read_date};
use super::checker::Problem;
use super::identify::{StatedVersion, check_version, read_department, read_identity_cell};
use crate::excel::a1;
use crate::excel::normalise_label;
use crate::read::{FoundCell, SourceWorkbook, display_value};
use crate::schema::{
    COMPLETE_HEADING, CURRENT_POSITION_HEADING, Completion, DATE_OF_UPDATE_HEADING,
    LATEST_UPDATE_HEADING, Locator, Plan, PlanSection, REF_HEADING, Severity,
};

/// Which plan update this is, as the workbook states it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanUpdateIdentity {
    pub plan: String,
    pub department: String,
    pub period: String,
    pub template_version: u32,
}

/// One measure's status for one reporting period, with what came with it and where it was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusUpdate {
    pub section: String,
    pub reference: String,
    pub period: String,
    /// The plan's own name for the status.
    pub status: String,
    /// The status as the owner typed it ("GREEN /COMPLETE").
    pub as_written: String,
    pub sheet: String,
    pub cell: String,
    /// The current position or latest update: given with the return's own period only.
    pub narrative: Option<String>,
    #[serde(with = "crate::period::optional_date")]
    pub update_date: Option<chrono::NaiveDate>,
    pub complete: Option<Completion>,
}

/// The cover of every plan update return: label rows with their values in the "Value" column.
fn cover(row: &str) -> Locator {
    Locator::Label {
        sheet: COVER_SHEET.to_owned(),
        within: None,
        row: row.to_owned(),
        column: "Value".to_owned(),
    }
}

pub const COVER_SHEET: &str = "Cover";
pub const COVER_ROWS: [&str; 4] = [
    "Template",
    "Template version",
    "Department",
    "Reporting period",
];

/// The plan a workbook's cover names, if it is a plan update.
pub fn which_plan<'s>(
    plans: &'s [Plan],
    workbook: &mut SourceWorkbook,
) -> Option<(&'s Plan, FoundCell)> {
    let cell = locate_explained(workbook, &cover("Template")).ok()?;
    let stated = normalise_label(&cell_text(&cell.value));
    plans
        .iter()
        .find(|plan| normalise_label(&plan.id) == stated)
        .map(|plan| (plan, cell))
}

/// What a column of the update table holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Column {
    Ref,
    /// The status for the plan's period with this index.
    Status(usize),
    Narrative,
    UpdateDate,
    Complete,
}

fn blank(value: &Data) -> bool {
    match value {
        Data::Empty => true,
        Data::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// Validates a plan update: identity first, then every row of every section table.
pub(super) fn validate_update(
    checker: &mut Checker<'_>,
    plan: &Plan,
    workbook: &mut SourceWorkbook,
) -> Option<(PlanUpdateIdentity, Vec<super::StatusUpdate>)> {
    let identity = identify(checker, plan, workbook)?;
    let (own_period, _) = plan.period(&identity.period)?;
    let sheet = plan.update.sheet.as_str();
    let mut statuses = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    // Section tables, top to bottom: each runs from its title to the next section's title.
    let mut anchors: Vec<(u32, &PlanSection)> = Vec::new();
    for section in &plan.sections {
        match workbook.find_label(sheet, &section.title, 0) {
            Ok(Some((row, _))) => anchors.push((row, section)),
            Ok(None) => {
                // The measures of a missing section are simply not updated: the plan exceptions list
                // them as having no update, so this is a query rather than a reason to refuse the rest.
                if plan
                    .measures_of(&identity.department)
                    .any(|m| m.section == section.id)
                {
                    checker.raise(Problem {
                        check: BuiltinCheck::SectionMissing,
                        severity: Severity::Warning,
                        sheet: sheet.to_owned(),
                        cell: String::new(),
                        value_found: String::new(),
                        message: format!(
                            "the section \"{}\" is not in the update, so none of its measures were updated",
                            section.title
                        ),
                        guidance: "Use the update template as sent, with every section's table.".into(),
                    });
                }
            }
            Err(missing) => {
                checker.not_found("the plan's table", missing);
                return None;
            }
        }
    }
    anchors.sort_by_key(|(row, _)| *row);
    let (last_row, last_col) = workbook.extent(sheet).unwrap_or((0, 0));
    for (index, (anchor, section)) in anchors.iter().enumerate() {
        let end = anchors
            .get(index + 1)
            .map_or(last_row, |(next, _)| next.saturating_sub(1));
        let header = match workbook.find_label(sheet, REF_HEADING, *anchor) {
            Ok(Some((row, _))) if row <= end => row,
            _ => {
                checker.not_found(
                    &format!("the \"{REF_HEADING}\" heading of \"{}\"", section.title),
                    crate::read::NotFound {
                        sheet: sheet.to_owned(),
                        reason: format!(
                            "no \"{REF_HEADING}\" column heading under \"{}\"",
                            section.title
                        ),
                    },
                );
                continue;
            }
        };
        let columns = header_columns(workbook, sheet, header, last_col, plan, own_period);
        for row in header + 1..=end {
            read_row(
                checker,
                workbook,
                plan,
                section,
                &identity,
                own_period,
                (sheet, row),
                &columns,
                &mut seen,
                &mut statuses,
            );
        }
    }
    Some((identity, statuses))
}

fn header_columns(
    workbook: &mut SourceWorkbook,
    sheet: &str,
    header: u32,
    last_col: u32,
    plan: &Plan,
    own_period: usize,
) -> Vec<(u32, Column)> {
    let mut columns = Vec::new();
    for col in 0..=last_col {
        let Ok(cell) = workbook.cell(sheet, header, col) else {
            continue;
        };
        let heading = normalise_label(&cell_text(&cell.value));
        if heading.is_empty() {
            continue;
        }
        let is = |text: &str| normalise_label(text) == heading;
        let collects = plan.update.collects;
        let column = if is(REF_HEADING) {
            Some(Column::Ref)
        } else if let Some(status) = &plan.update.status_heading {
            // A single status column holds the status for the update's own period.
            is(status).then_some(Column::Status(own_period))
        } else {
            plan.period(&heading)
                .map(|(index, _)| Column::Status(index))
        };
        let column = column.or_else(|| {
            if (collects.current_position && is(CURRENT_POSITION_HEADING))
                || (collects.latest_update && is(LATEST_UPDATE_HEADING))
            {
                Some(Column::Narrative)
            } else if collects.date_of_update && is(DATE_OF_UPDATE_HEADING) {
                Some(Column::UpdateDate)
            } else if collects.complete && is(COMPLETE_HEADING) {
                Some(Column::Complete)
            } else {
                None
            }
        });
        if let Some(column) = column {
            columns.push((col, column));
        }
    }
    columns
}

#[allow(clippy::too_many_arguments)]
fn read_row(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    plan: &Plan,
    section: &PlanSection,
    identity: &PlanUpdateIdentity,
    own_period: usize,
    (sheet, row): (&str, u32),
    columns: &[(u32, Column)],
    seen: &mut Vec<(String, String)>,
    statuses: &mut Vec<super::StatusUpdate>,
) {
    let mut cells: Vec<(Column, FoundCell)> = Vec::new();
    for (col, column) in columns {
        if let Ok(cell) = workbook.cell(sheet, row, *col) {
            let cell = workbook.explain_blank(cell);
            cells.push((*column, cell));
        }
    }
    let find = |wanted: Column| {
        cells
            .iter()
            .find(|(c, _)| *c == wanted)
            .map(|(_, cell)| cell)
    };
    let reference = find(Column::Ref)
        .map(|cell| cell_text(&cell.value))
        .unwrap_or_default();
    let filled: Vec<&(Column, FoundCell)> = cells
        .iter()
        .filter(|(column, cell)| *column != Column::Ref && !blank(&cell.value))
        .collect();
    if reference.is_empty() {
        if let Some((_, cell)) = filled.iter().find(|(c, _)| matches!(c, Column::Status(_))) {
            checker.raise(Problem {
                check: BuiltinCheck::StatusWithoutMeasure,
                severity: Severity::Warning,
                sheet: cell.sheet.clone(),
                cell: cell.address(),
                value_found: display_value(&cell.value),
                message: format!(
                    "a status ({}) on row {} of \"{}\" has no measure ref, so it was not recorded",
                    cell_text(&cell.value),
                    row + 1,
                    section.title
                ),
                guidance: "Put the status on its measure's row, or delete it.".into(),
            });
        }
        return;
    }
    let ref_cell = find(Column::Ref).cloned();
    let Some(ref_cell) = ref_cell else {
        return;
    };
    let Some(measure) = plan.measure(&section.id, &reference) else {
        let refs: Vec<&str> = plan
            .measures
            .iter()
            .filter(|m| m.section == section.id)
            .map(|m| m.reference.as_str())
            .collect();
        checker.cell_problem(
            BuiltinCheck::UnknownRef,
            &ref_cell,
            format!(
                "\"{reference}\" is not a measure of \"{}\" in the {} (its refs: {})",
                section.title,
                plan.title,
                refs.join(", ")
            ),
            "Use the rows of the update template as sent; do not add or renumber measures.",
        );
        return;
    };
    if filled.is_empty() {
        return;
    }
    if !measure.departments.contains(&identity.department) {
        let department_name = |id: &str| {
            checker
                .schemas
                .department(id)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| id.to_owned())
        };
        let owners: Vec<String> = measure
            .departments
            .iter()
            .map(|d| department_name(d))
            .collect();
        let message = format!(
            "{} may not update {}: the plan assigns it to {} ({})",
            department_name(&identity.department),
            plan.measure_label(&section.id, &reference),
            owners.join(" and "),
            measure.owner
        );
        checker.cell_problem(
            BuiltinCheck::NotOwner,
            &ref_cell,
            message,
            "Return only your own measures; the owner of this one sends its update.",
        );
        return;
    }
    let label = plan.measure_label(&section.id, &reference);
    let key = (section.id.clone(), reference.clone());
    if seen.contains(&key) {
        checker.cell_problem(
            BuiltinCheck::DuplicateRef,
            &ref_cell,
            format!("{label} appears twice"),
            "Keep one row per measure.",
        );
        return;
    }
    seen.push(key);

    let narrative = find(Column::Narrative)
        .map(|cell| cell_text(&cell.value))
        .filter(|text| !text.is_empty());
    let update_date = match find(Column::UpdateDate) {
        Some(cell) if !blank(&cell.value) => match read_date(&cell.value) {
            Some(date) => Some(date),
            None => {
                checker.cell_problem(
                    BuiltinCheck::UnreadableDate,
                    cell,
                    format!(
                        "the date of update of {label} (\"{}\") cannot be read as a date",
                        cell_text(&cell.value)
                    ),
                    "Type the date as a date, such as 24/08/2015.",
                );
                None
            }
        },
        _ => None,
    };
    let complete = match find(Column::Complete) {
        Some(cell) if !blank(&cell.value) => {
            let parsed = Completion::parse(&cell_text(&cell.value));
            if parsed.is_none() {
                checker.cell_problem(
                    BuiltinCheck::UnreadableCompletion,
                    cell,
                    format!(
                        "whether {label} is complete reads \"{}\"; expected Yes, No or N/A",
                        cell_text(&cell.value)
                    ),
                    "Write Yes, No or N/A.",
                );
            }
            parsed
        }
        _ => None,
    };

    let mut own_status_given = false;
    for (column, cell) in &cells {
        let Column::Status(index) = column else {
            continue;
        };
        if blank(&cell.value) {
            continue;
        }
        let index = *index;
        let period = &plan.periods[index];
        let as_written = cell_text(&cell.value);
        if index > own_period {
            checker.raise(Problem {
                check: BuiltinCheck::FutureStatus,
                severity: Severity::Warning,
                sheet: cell.sheet.clone(),
                cell: cell.address(),
                value_found: as_written.clone(),
                message: format!(
                    "{label} has a status for {}, after this update's period {}; it was not recorded",
                    period.label, identity.period
                ),
                guidance: "Give statuses up to the reporting period of the return only.".into(),
            });
            continue;
        }
        match plan.parse_status(&as_written) {
            Ok(status) => {
                let own = index == own_period;
                own_status_given |= own;
                statuses.push(super::StatusUpdate {
                    section: section.id.clone(),
                    reference: reference.clone(),
                    period: period.label.clone(),
                    status: status.name.clone(),
                    as_written,
                    sheet: cell.sheet.clone(),
                    cell: cell.address(),
                    narrative: narrative.clone().filter(|_| own),
                    update_date: update_date.filter(|_| own),
                    complete: complete.filter(|_| own),
                });
            }
            Err(reason) => checker.cell_problem(
                BuiltinCheck::UnknownStatus,
                cell,
                format!("the {} status of {label}: {reason}", period.label),
                "Use one of the plan's traffic-light statuses, as in its definitions.",
            ),
        }
    }
    if !own_status_given && (narrative.is_some() || update_date.is_some() || complete.is_some()) {
        checker.raise(Problem {
            check: BuiltinCheck::StatusMissing,
            severity: Severity::Warning,
            sheet: ref_cell.sheet.clone(),
            cell: a1(row, ref_cell.col),
            value_found: reference.clone(),
            message: format!(
                "{label} has an update but no status for {}",
                identity.period
            ),
            guidance: "Give the measure's traffic-light status for the reporting period.".into(),
        });
    }
}

fn identify(
    checker: &mut Checker<'_>,
    plan: &Plan,
    workbook: &mut SourceWorkbook,
) -> Option<PlanUpdateIdentity> {
    let version = StatedVersion {
        of: format!("the {} update", plan.title),
        current: plan.version,
        guidance: "Copy your updates into the current update template and send that.",
    };
    let version_ok = check_version(checker, workbook, &cover("Template version"), &version);
    let department = read_department(checker, workbook, &cover("Department"))
        .map(|(department, _)| department.id.clone());
    let period = read_identity_cell(
        checker,
        workbook,
        &cover("Reporting period"),
        "the reporting period",
    )
    .and_then(|cell| {
        let stated = cell_text(&cell.value);
        match plan.period(&stated) {
            Some((_, period)) => Some(period.label.clone()),
            None => {
                let labels: Vec<&str> = plan.periods.iter().map(|p| p.label.as_str()).collect();
                checker.cell_problem(
                    BuiltinCheck::UnreadablePeriod,
                    &cell,
                    format!(
                        "\"{stated}\" is not a reporting period of the {} (its periods: {})",
                        plan.title,
                        labels.join(", ")
                    ),
                    "Write the reporting period as the plan names it.",
                );
                None
            }
        }
    });
    let (Some(department), Some(period), true) = (department, period, version_ok) else {
        return None;
    };
    Some(PlanUpdateIdentity {
        plan: plan.id.clone(),
        department,
        period,
        template_version: plan.version,
    })
}
