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
use crate::schema::PlanMeasure;
use crate::schema::{
    COMPLETE_HEADING, CURRENT_POSITION_HEADING, Completion, DATE_OF_UPDATE_HEADING,
    LATEST_UPDATE_HEADING, Locator, Plan, PlanPeriodLabel, PlanSection, REF_HEADING, Severity,
    StatusName,
};

/// Which plan update this is, as the workbook states it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanUpdateIdentity {
    pub plan: String,
    pub department: String,
    pub period: PlanPeriodLabel,
    pub template_version: u32,
}

/// One measure's status for one reporting period, with what came with it and where it was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusUpdate {
    pub section: String,
    pub reference: String,
    pub period: PlanPeriodLabel,
    pub status: StatusName,
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
    let (own_period, _) = plan.period(identity.period.as_str())?;
    let sheet = plan.update.sheet.as_str();
    let anchors = section_anchors(checker, plan, &identity, workbook)?;
    let mut rows = UpdateRows {
        plan,
        identity: &identity,
        own_period,
        sheet,
        seen: Vec::new(),
        statuses: Vec::new(),
    };
    let (last_row, last_col) = workbook.extent(sheet).unwrap_or((0, 0));
    for (index, (anchor, section)) in anchors.iter().enumerate() {
        let end = anchors
            .get(index + 1)
            .map_or(last_row, |(next, _)| next.saturating_sub(1));
        let Some(header) = ref_heading(checker, workbook, sheet, section, (*anchor, end)) else {
            continue;
        };
        let columns = header_columns(workbook, sheet, header, last_col, plan, own_period);
        for row in header + 1..=end {
            let cells = RowCells::read(workbook, rows.sheet, row, &columns);
            rows.read_row(checker, section, &cells);
        }
    }
    let statuses = rows.statuses;
    Some((identity, statuses))
}

/// The section tables, top to bottom: each runs from its title to the next section's title. A section
/// the department has measures in but the update lacks is a query; no table at all is an error (`None`).
fn section_anchors<'p>(
    checker: &mut Checker<'_>,
    plan: &'p Plan,
    identity: &PlanUpdateIdentity,
    workbook: &mut SourceWorkbook,
) -> Option<Vec<(u32, &'p PlanSection)>> {
    let sheet = plan.update.sheet.as_str();
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
    Some(anchors)
}

/// The row of a section's "Ref" heading, between its title and the next section.
fn ref_heading(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    sheet: &str,
    section: &PlanSection,
    (anchor, end): (u32, u32),
) -> Option<u32> {
    match workbook.find_label(sheet, REF_HEADING, anchor) {
        Ok(Some((row, _))) if row <= end => Some(row),
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
            None
        }
    }
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

/// Reads the rows of one update's tables, remembering the measures already updated.
struct UpdateRows<'a> {
    plan: &'a Plan,
    identity: &'a PlanUpdateIdentity,
    /// The index of the update's own period among the plan's periods.
    own_period: usize,
    sheet: &'a str,
    seen: Vec<(String, String)>,
    statuses: Vec<super::StatusUpdate>,
}

/// The cells of one table row, by what their columns hold.
struct RowCells {
    row: u32,
    cells: Vec<(Column, FoundCell)>,
}

impl RowCells {
    fn read(
        workbook: &mut SourceWorkbook,
        sheet: &str,
        row: u32,
        columns: &[(u32, Column)],
    ) -> Self {
        let mut cells = Vec::new();
        for (col, column) in columns {
            if let Ok(cell) = workbook.cell(sheet, row, *col) {
                cells.push((*column, workbook.explain_blank(cell)));
            }
        }
        RowCells { row, cells }
    }

    fn find(&self, wanted: Column) -> Option<&FoundCell> {
        self.cells
            .iter()
            .find(|(c, _)| *c == wanted)
            .map(|(_, cell)| cell)
    }

    /// Cells other than the ref that hold something.
    fn filled(&self) -> impl Iterator<Item = &(Column, FoundCell)> {
        self.cells
            .iter()
            .filter(|(column, cell)| *column != Column::Ref && !blank(&cell.value))
    }
}

/// What came with a measure's own-period status.
#[derive(Clone, Copy)]
struct Details<'t> {
    narrative: Option<&'t str>,
    update_date: Option<chrono::NaiveDate>,
    complete: Option<Completion>,
}

impl<'a> UpdateRows<'a> {
    /// One row of a section's table: its measure's statuses, or an exception saying why not.
    fn read_row(&mut self, checker: &mut Checker<'_>, section: &PlanSection, cells: &RowCells) {
        let Some((reference, ref_cell)) = self.measure_of(checker, section, cells) else {
            return;
        };
        let label = self.plan.measure_label(&section.id, &reference);
        let narrative = cells
            .find(Column::Narrative)
            .map(|cell| cell_text(&cell.value))
            .filter(|text| !text.is_empty());
        let details = Details {
            narrative: narrative.as_deref(),
            update_date: update_date(checker, cells, &label),
            complete: completion(checker, cells, &label),
        };
        let own_status_given =
            self.read_statuses(checker, section, (&reference, &label), cells, details);
        let anything_else = details.narrative.is_some()
            || details.update_date.is_some()
            || details.complete.is_some();
        if !own_status_given && anything_else {
            checker.raise(Problem {
                check: BuiltinCheck::StatusMissing,
                severity: Severity::Warning,
                sheet: ref_cell.sheet.clone(),
                cell: a1(cells.row, ref_cell.col),
                value_found: reference.clone(),
                message: format!(
                    "{label} has an update but no status for {}",
                    self.identity.period
                ),
                guidance: "Give the measure's traffic-light status for the reporting period."
                    .into(),
            });
        }
    }

    /// The measure a row updates, with its ref cell: known, the department's own, not updated twice,
    /// and with something filled in. `None` (with an exception where one is due) otherwise.
    fn measure_of(
        &mut self,
        checker: &mut Checker<'_>,
        section: &PlanSection,
        cells: &RowCells,
    ) -> Option<(String, FoundCell)> {
        let reference = cells
            .find(Column::Ref)
            .map(|cell| cell_text(&cell.value))
            .unwrap_or_default();
        if reference.is_empty() {
            status_without_measure(checker, section, cells);
            return None;
        }
        let ref_cell = cells.find(Column::Ref)?.clone();
        let plan = self.plan;
        let Some(measure) = plan.measure(&section.id, &reference) else {
            unknown_ref(checker, plan, section, &reference, &ref_cell);
            return None;
        };
        cells.filled().next()?;
        if !measure.departments.contains(&self.identity.department) {
            not_owner(
                checker,
                plan,
                section,
                measure,
                &self.identity.department,
                &ref_cell,
            );
            return None;
        }
        let key = (section.id.clone(), reference.clone());
        if self.seen.contains(&key) {
            checker.cell_problem(
                BuiltinCheck::DuplicateRef,
                &ref_cell,
                format!(
                    "{} appears twice",
                    plan.measure_label(&section.id, &reference)
                ),
                "Keep one row per measure.",
            );
            return None;
        }
        self.seen.push(key);
        Some((reference, ref_cell))
    }

    /// The row's statuses up to the update's own period, recorded; returns whether the own period's
    /// status was given.
    fn read_statuses(
        &mut self,
        checker: &mut Checker<'_>,
        section: &PlanSection,
        (reference, label): (&str, &str),
        cells: &RowCells,
        details: Details<'_>,
    ) -> bool {
        let mut own_status_given = false;
        for (column, cell) in &cells.cells {
            let Column::Status(index) = *column else {
                continue;
            };
            if blank(&cell.value) {
                continue;
            }
            let period = &self.plan.periods[index];
            let as_written = cell_text(&cell.value);
            if index > self.own_period {
                checker.raise(Problem {
                    check: BuiltinCheck::FutureStatus,
                    severity: Severity::Warning,
                    sheet: cell.sheet.clone(),
                    cell: cell.address(),
                    value_found: as_written.clone(),
                    message: format!(
                        "{label} has a status for {}, after this update's period {}; it was not recorded",
                        period.label, self.identity.period
                    ),
                    guidance: "Give statuses up to the reporting period of the return only.".into(),
                });
                continue;
            }
            match self.plan.parse_status(&as_written) {
                Ok(status) => {
                    let own = index == self.own_period;
                    own_status_given |= own;
                    self.statuses.push(super::StatusUpdate {
                        section: section.id.clone(),
                        reference: reference.to_owned(),
                        period: period.id(),
                        status: status.id(),
                        as_written,
                        sheet: cell.sheet.clone(),
                        cell: cell.address(),
                        narrative: details.narrative.map(str::to_owned).filter(|_| own),
                        update_date: details.update_date.filter(|_| own),
                        complete: details.complete.filter(|_| own),
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
        own_status_given
    }
}

/// A status on a row with no measure ref: not recorded, and said so.
fn status_without_measure(checker: &mut Checker<'_>, section: &PlanSection, cells: &RowCells) {
    let Some((_, cell)) = cells.filled().find(|(c, _)| matches!(c, Column::Status(_))) else {
        return;
    };
    checker.raise(Problem {
        check: BuiltinCheck::StatusWithoutMeasure,
        severity: Severity::Warning,
        sheet: cell.sheet.clone(),
        cell: cell.address(),
        value_found: display_value(&cell.value),
        message: format!(
            "a status ({}) on row {} of \"{}\" has no measure ref, so it was not recorded",
            cell_text(&cell.value),
            cells.row + 1,
            section.title
        ),
        guidance: "Put the status on its measure's row, or delete it.".into(),
    });
}

fn unknown_ref(
    checker: &mut Checker<'_>,
    plan: &Plan,
    section: &PlanSection,
    reference: &str,
    ref_cell: &FoundCell,
) {
    let refs: Vec<&str> = plan
        .measures
        .iter()
        .filter(|m| m.section == section.id)
        .map(|m| m.reference.as_str())
        .collect();
    checker.cell_problem(
        BuiltinCheck::UnknownRef,
        ref_cell,
        format!(
            "\"{reference}\" is not a measure of \"{}\" in the {} (its refs: {})",
            section.title,
            plan.title,
            refs.join(", ")
        ),
        "Use the rows of the update template as sent; do not add or renumber measures.",
    );
}

/// A department updating a measure the plan assigns to others.
fn not_owner(
    checker: &mut Checker<'_>,
    plan: &Plan,
    section: &PlanSection,
    measure: &PlanMeasure,
    department: &str,
    ref_cell: &FoundCell,
) {
    let schemas = checker.schemas;
    let department_name = |id: &str| {
        schemas
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
        department_name(department),
        plan.measure_label(&section.id, &measure.reference),
        owners.join(" and "),
        measure.owner
    );
    checker.cell_problem(
        BuiltinCheck::NotOwner,
        ref_cell,
        message,
        "Return only your own measures; the owner of this one sends its update.",
    );
}

/// The row's date of update, when given and readable.
fn update_date(
    checker: &mut Checker<'_>,
    cells: &RowCells,
    label: &str,
) -> Option<chrono::NaiveDate> {
    let cell = cells
        .find(Column::UpdateDate)
        .filter(|cell| !blank(&cell.value))?;
    let date = read_date(&cell.value);
    if date.is_none() {
        checker.cell_problem(
            BuiltinCheck::UnreadableDate,
            cell,
            format!(
                "the date of update of {label} (\"{}\") cannot be read as a date",
                cell_text(&cell.value)
            ),
            "Type the date as a date, such as 24/08/2015.",
        );
    }
    date
}

/// Whether the row says its measure is complete, when given and readable.
fn completion(checker: &mut Checker<'_>, cells: &RowCells, label: &str) -> Option<Completion> {
    let cell = cells
        .find(Column::Complete)
        .filter(|cell| !blank(&cell.value))?;
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
            Some((_, period)) => Some(period.id()),
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
