//! Checks one opened return against its template and the rules: figures it accepts, exceptions it raises.

mod builtin;
mod plan;

use std::collections::BTreeMap;

use calamine::Data;
use chrono::NaiveDate;

use crate::exception::{Exception, fill};
use crate::period::{FinancialYear, Period, Quarter};
use serde::{Deserialize, Serialize};

use crate::excel::{over_cell_limit, quoted_value};

use crate::excel::normalise_label;
use crate::read::{FoundCell, NotFound, SourceWorkbook, display_value};
use crate::schema::{
    Check, Frequency, Limits, Locator, MeasureRef, Rule, Schemas, Severity, Slot, SlotKind,
    Template, TemplateKind, ValueKind, ValueSource,
};

pub use builtin::BuiltinCheck;
pub use plan::{COVER_ROWS, COVER_SHEET, PlanUpdateIdentity, StatusUpdate};

/// Which return this is, as the workbook itself states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnIdentity {
    pub department: String,
    pub template: String,
    pub template_version: u32,
    pub period: Period,
}

/// Where a figure belongs in time: a quarter, the stated total of a year, or a whole-year figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FigureSlot {
    Quarter(Quarter),
    Total,
    Annual,
}

impl FigureSlot {
    pub fn as_str(self) -> &'static str {
        match self {
            FigureSlot::Quarter(_) => "quarter",
            FigureSlot::Total => "total",
            FigureSlot::Annual => "annual",
        }
    }

    pub fn describe(self, year: FinancialYear) -> String {
        match self {
            FigureSlot::Quarter(quarter) => format!("{} {year}", quarter.heading()),
            FigureSlot::Total => format!("the {year} total"),
            FigureSlot::Annual => year.to_string(),
        }
    }
}

/// An accepted figure with the cell it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub indicator: String,
    pub measure: String,
    pub year: FinancialYear,
    pub slot: FigureSlot,
    pub value: f64,
    pub sheet: String,
    pub cell: String,
}

/// The owner's analysis text for an indicator, as the department wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commentary {
    pub indicator: String,
    pub text: String,
    pub sheet: String,
    pub cell: String,
}

/// Everything validation found in one return, by what the return turned out to be; it crosses from the
/// worker that read it as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Validated {
    /// Not identified as any return `collate` knows (or not readable at all): its exceptions say why.
    Unidentified { exceptions: Vec<Exception> },
    /// A figures return, with the figures and the analysis it gives.
    Figures {
        identity: ReturnIdentity,
        figures: Vec<Figure>,
        commentary: Vec<Commentary>,
        exceptions: Vec<Exception>,
    },
    /// An action plan update, with the statuses it reports.
    PlanUpdate {
        identity: PlanUpdateIdentity,
        statuses: Vec<StatusUpdate>,
        exceptions: Vec<Exception>,
    },
}

impl Default for Validated {
    fn default() -> Self {
        Validated::Unidentified {
            exceptions: Vec::new(),
        }
    }
}

impl Validated {
    pub fn exceptions(&self) -> &[Exception] {
        match self {
            Validated::Unidentified { exceptions }
            | Validated::Figures { exceptions, .. }
            | Validated::PlanUpdate { exceptions, .. } => exceptions,
        }
    }

    /// A return is accepted when it could be identified and no error was found; warnings are queries.
    pub fn accepted(&self) -> bool {
        !matches!(self, Validated::Unidentified { .. })
            && !self
                .exceptions()
                .iter()
                .any(|e| e.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.exceptions()
            .iter()
            .filter(|e| e.severity == severity)
            .count()
    }

    /// The department the return states it is from.
    pub fn department(&self) -> Option<&str> {
        match self {
            Validated::Figures { identity, .. } => Some(&identity.department),
            Validated::PlanUpdate { identity, .. } => Some(&identity.department),
            Validated::Unidentified { .. } => None,
        }
    }

    /// The period the return states it is for, as the department would write it.
    pub fn period_label(&self) -> Option<String> {
        match self {
            Validated::Figures { identity, .. } => Some(identity.period.to_string()),
            Validated::PlanUpdate { identity, .. } => Some(identity.period.clone()),
            Validated::Unidentified { .. } => None,
        }
    }

    /// A figures return's identity.
    pub fn figures_identity(&self) -> Option<&ReturnIdentity> {
        match self {
            Validated::Figures { identity, .. } => Some(identity),
            _ => None,
        }
    }
}

/// A problem raised by the validator itself rather than by a rule in `rules.toml`.
struct Problem {
    check: BuiltinCheck,
    severity: Severity,
    sheet: String,
    cell: String,
    value_found: String,
    message: String,
    guidance: String,
}

struct Blank {
    indicator: String,
    measure: String,
    year: FinancialYear,
    slot: FigureSlot,
    sheet: String,
    cell: String,
}

struct Checker<'s> {
    schemas: &'s Schemas,
    file: String,
    exceptions: Vec<Exception>,
}

impl Checker<'_> {
    fn raise(&mut self, problem: Problem) {
        self.exceptions.push(Exception {
            file: self.file.clone(),
            sheet: problem.sheet,
            cell: problem.cell,
            value_found: quoted_value(problem.value_found),
            rule_id: problem.check.id().to_owned(),
            severity: problem.severity,
            message: problem.message,
            guidance: problem.guidance,
        });
    }

    fn raise_rule(
        &mut self,
        rule: &Rule,
        at: (&str, &str),
        value_found: String,
        values: &[(&str, String)],
    ) {
        self.exceptions.push(Exception {
            file: self.file.clone(),
            sheet: at.0.to_owned(),
            cell: at.1.to_owned(),
            value_found: quoted_value(value_found),
            rule_id: rule.id.clone(),
            severity: rule.severity,
            message: fill(&rule.message, values),
            guidance: fill(&rule.guidance, values),
        });
    }

    fn not_found(&mut self, what: &str, missing: NotFound) {
        self.raise(Problem {
            check: BuiltinCheck::TemplateLayout,
            severity: Severity::Error,
            sheet: missing.sheet,
            cell: String::new(),
            value_found: String::new(),
            message: format!("cannot find {what}: {}", missing.reason),
            guidance: "Use the current template without moving or renaming its labels, or ask the dashboard owner for a fresh copy.".to_owned(),
        });
    }

    fn cell_problem(
        &mut self,
        check: BuiltinCheck,
        cell: &FoundCell,
        message: String,
        guidance: &str,
    ) {
        self.raise(Problem {
            check,
            severity: Severity::Error,
            sheet: cell.sheet.clone(),
            cell: cell.address(),
            value_found: display_value(&cell.value),
            message,
            guidance: guidance.to_owned(),
        });
    }
}

/// "n/a" where the schema expects a figure: the board cannot tell it from a gap.
fn not_applicable_query(cell: &FoundCell, what: &str) -> Problem {
    Problem {
        check: BuiltinCheck::NotApplicable,
        severity: Severity::Warning,
        sheet: cell.sheet.clone(),
        cell: cell.address(),
        value_found: display_value(&cell.value),
        message: format!(
            "{what} says {} where a count is expected: the dashboard shows it as a gap",
            display_value(&cell.value)
        ),
        guidance: "Type 0 if there were none; if the figure is not known yet, leave it blank and say why in the analysis.".into(),
    }
}

/// Text longer than an Excel cell holds: kept whole in the store, shown cut on the dashboard.
fn too_long(cell: &FoundCell, what: &str, length: usize) -> Problem {
    Problem {
        check: BuiltinCheck::TextTooLong,
        severity: Severity::Warning,
        sheet: cell.sheet.clone(),
        cell: cell.address(),
        value_found: format!("{length} characters"),
        message: format!(
            "{what} is {length} characters long; an Excel cell holds at most {}, so the dashboard shows it cut short",
            "32,767"
        ),
        guidance:
            "Shorten the text to a few paragraphs for the board; send longer reports separately."
                .into(),
    }
}

/// A cell read as a figure: blank is not zero, and "N/A" means not applicable rather than missing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellNumber {
    Blank,
    NotApplicable,
    Number(f64),
}

/// Reads a number the way people type them: float noise, "1,234", "86%", numbers stored as text.
pub fn read_number(value: &Data) -> Result<CellNumber, String> {
    match value {
        Data::Empty => Ok(CellNumber::Blank),
        Data::Int(number) => Ok(CellNumber::Number(*number as f64)),
        Data::Float(number) => Ok(CellNumber::Number(*number)),
        Data::String(text) => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Ok(CellNumber::Blank);
            }
            if matches!(
                normalise_label(trimmed).as_str(),
                "n/a" | "na" | "not applicable"
            ) {
                return Ok(CellNumber::NotApplicable);
            }
            let cleaned: String = trimmed
                .trim_end_matches('%')
                .chars()
                .filter(|c| *c != ',' && !c.is_whitespace())
                .collect();
            cleaned
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .map(CellNumber::Number)
                .ok_or_else(|| "text that is not a number".to_owned())
        }
        Data::Bool(_) => Err("TRUE/FALSE rather than a number".to_owned()),
        Data::DateTime(_) | Data::DateTimeIso(_) => Err("a date rather than a number".to_owned()),
        Data::DurationIso(_) => Err("a duration rather than a number".to_owned()),
        Data::Error(error) => Err(format!("the Excel error {error}")),
    }
}

/// Checks a number against its type and limits; whole numbers with float noise (7.0000000000000009) are whole.
pub fn check_number(kind: &ValueKind, limits: Limits, number: f64) -> Result<f64, String> {
    let number = match kind {
        ValueKind::Count => {
            let rounded = number.round();
            if (number - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
                return Err("a whole number is expected".to_owned());
            }
            if rounded < 0.0 {
                return Err("a count cannot be negative".to_owned());
            }
            rounded + 0.0
        }
        ValueKind::Percentage => {
            if !(0.0..=100.0).contains(&number) {
                return Err("a percentage must be from 0 to 100".to_owned());
            }
            number
        }
        _ => number,
    };
    if let Some(minimum) = limits.minimum
        && number < minimum
    {
        return Err(format!("the smallest allowed value is {minimum}"));
    }
    if let Some(maximum) = limits.maximum
        && number > maximum
    {
        return Err(format!("the largest allowed value is {maximum}"));
    }
    Ok(number)
}

/// Reads a date stored as a date, an Excel serial number or text such as 31/08/2015.
pub fn read_date(value: &Data) -> Option<NaiveDate> {
    match value {
        Data::DateTime(date) => date.as_datetime().map(|d| d.date()),
        Data::Float(_) | Data::Int(_) => {
            let serial = match value {
                Data::Float(f) => *f,
                Data::Int(i) => *i as f64,
                _ => return None,
            };
            if !(1.0..2_958_466.0).contains(&serial) {
                return None;
            }
            NaiveDate::from_ymd_opt(1899, 12, 30)?
                .checked_add_days(chrono::Days::new(serial.floor() as u64))
        }
        Data::String(text) | Data::DateTimeIso(text) => {
            let text = text.trim();
            let text = text
                .get(..10)
                .filter(|_| text.contains('T'))
                .unwrap_or(text);
            [
                "%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%d/%m/%y",
            ]
            .iter()
            .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        }
        _ => None,
    }
}

fn cell_text(value: &Data) -> String {
    match value {
        Data::String(text) => text.trim().to_owned(),
        Data::Empty => String::new(),
        other => display_value(other),
    }
}

/// Validates one opened workbook. Never fails: everything wrong is an exception in the result.
pub fn validate(schemas: &Schemas, file: &str, workbook: &mut SourceWorkbook) -> Validated {
    let mut checker = Checker {
        schemas,
        file: file.to_owned(),
        exceptions: Vec::new(),
    };
    if let Some((plan, _)) = plan::which_plan(&schemas.plans, workbook) {
        let update = plan::validate_update(&mut checker, plan, workbook);
        let exceptions = checker.exceptions;
        return match update {
            Some((identity, statuses)) => Validated::PlanUpdate {
                identity,
                statuses,
                exceptions,
            },
            None => Validated::Unidentified { exceptions },
        };
    }
    let Some((template, identity)) = identify(&mut checker, workbook) else {
        return Validated::Unidentified {
            exceptions: checker.exceptions,
        };
    };

    let mut sheets_used: Vec<String> = Vec::new();
    let mut figures: Vec<Figure> = Vec::new();
    let mut blanks: Vec<Blank> = Vec::new();
    let year = identity.period.year;
    for source in &template.sources {
        let (indicator, measure_id) = source.indicator_and_measure();
        let Some(measure) = schemas.catalogue.measure(indicator, measure_id) else {
            continue;
        };
        let label = format!("{indicator} {}", measure.label);
        let cells: Vec<(FigureSlot, FinancialYear, FoundCell)> = match source {
            ValueSource::Cell {
                slot,
                year_offset,
                locator,
                ..
            } => match workbook.locate(locator) {
                Ok(cell) => vec![(figure_slot(*slot), year.offset(*year_offset), cell)],
                Err(missing) => {
                    checker.not_found(&label, missing);
                    continue;
                }
            },
            ValueSource::Row {
                sheet,
                within,
                row,
                year_offset,
                ..
            } => match workbook.locate_row(sheet, within.as_deref(), row, &template.columns) {
                Ok(cells) => cells
                    .into_iter()
                    .map(|(slot, cell)| match slot {
                        Slot::Relative(kind) => {
                            (figure_slot(kind), year.offset(*year_offset), cell)
                        }
                        Slot::Year(year) => (FigureSlot::Annual, year, cell),
                    })
                    .filter(|(slot, _, _)| measure.summable || *slot != FigureSlot::Total)
                    .collect(),
                Err(missing) => {
                    checker.not_found(&label, missing);
                    continue;
                }
            },
        };
        for (slot, figure_year, cell) in cells {
            if !sheets_used.contains(&cell.sheet) {
                sheets_used.push(cell.sheet.clone());
            }
            let what = format!("{label}, {}", slot.describe(figure_year));
            // Explaining a blank costs a further pass over the sheet: only blanks that matter are explained.
            let cell = if cell.value == Data::Empty && is_due(slot, figure_year, identity.period) {
                workbook.explain_blank(cell)
            } else {
                cell
            };
            if let Some(formula) = &cell.uncalculated_formula {
                checker.cell_problem(
                    BuiltinCheck::FormulaNotCalculated,
                    &cell,
                    format!("{what} is a formula (={formula}) with no calculated value saved"),
                    "Open the file in Excel, let it recalculate (F9), save it and send it again.",
                );
                continue;
            }
            let number = match read_number(&cell.value) {
                Ok(CellNumber::Number(number)) => number,
                Ok(CellNumber::NotApplicable) => {
                    // A count of "n/a" reads as a gap on the dashboard; none is 0.
                    if measure.kind == ValueKind::Count && !measure.not_applicable {
                        checker.raise(not_applicable_query(&cell, &what));
                    }
                    continue;
                }
                Ok(CellNumber::Blank) => {
                    blanks.push(Blank {
                        indicator: indicator.to_owned(),
                        measure: measure_id.to_owned(),
                        year: figure_year,
                        slot,
                        sheet: cell.sheet.clone(),
                        cell: cell.address(),
                    });
                    continue;
                }
                Err(found) => {
                    checker.cell_problem(
                        BuiltinCheck::FigureType,
                        &cell,
                        format!("{what}: found {found}; expected {}", measure.kind.describe()),
                        "Type the figure as a plain number, or leave the cell blank if there is none.",
                    );
                    continue;
                }
            };
            match check_number(&measure.kind, measure.limits, number) {
                Ok(value) => figures.push(Figure {
                    indicator: indicator.to_owned(),
                    measure: measure_id.to_owned(),
                    year: figure_year,
                    slot,
                    value,
                    sheet: cell.sheet.clone(),
                    cell: cell.address(),
                }),
                Err(expected) => checker.cell_problem(
                    BuiltinCheck::FigureRange,
                    &cell,
                    format!("{what}: {expected}"),
                    "Correct the figure; a count is a whole number of 0 or more, a percentage is from 0 to 100.",
                ),
            }
        }
    }

    let mut commentary = Vec::new();
    for spec in &template.analysis {
        match locate_explained(workbook, &spec.locator) {
            Ok(cell) => {
                let text = cell_text(&cell.value);
                if text.is_empty() && spec.required {
                    checker.raise(Problem {
                        check: BuiltinCheck::AnalysisMissing,
                        severity: Severity::Warning,
                        sheet: cell.sheet.clone(),
                        cell: cell.address(),
                        value_found: "(blank)".into(),
                        message: format!("{} has no analysis text", spec.indicator),
                        guidance: "Add a short analysis of this quarter's figures for the integrity board.".into(),
                    });
                }
                if let Some(length) = over_cell_limit(&text) {
                    checker.raise(too_long(
                        &cell,
                        &format!("the {} analysis", spec.indicator),
                        length,
                    ));
                }
                if !text.is_empty() {
                    commentary.push(Commentary {
                        indicator: spec.indicator.clone(),
                        text,
                        sheet: cell.sheet.clone(),
                        cell: cell.address(),
                    });
                }
            }
            Err(missing) => checker.not_found(&format!("the {} analysis", spec.indicator), missing),
        }
    }

    check_fields(&mut checker, template, workbook);

    for sheet in &sheets_used {
        if workbook.sheet_is_hidden(sheet) {
            checker.raise(Problem {
                check: BuiltinCheck::HiddenSheet,
                severity: Severity::Warning,
                sheet: sheet.clone(),
                cell: String::new(),
                value_found: "hidden".into(),
                message: format!("figures were read from the hidden sheet {sheet}"),
                guidance: "Unhide the sheet and check it holds this quarter's figures.".into(),
            });
        }
    }

    // A sheet filled in for a later quarter than its cover says is one mistake, on the cover: said once,
    // instead of a total that does not add up and a query on every later figure.
    let cover_mismatch = cover_disagrees_with_sheet(template, &identity, &figures);
    let mismatched = cover_mismatch.is_some();
    if let Some(problem) = cover_mismatch {
        checker.raise(problem);
    }
    let figures = apply_rules(
        &mut checker,
        template,
        &identity,
        figures,
        &blanks,
        mismatched,
    );
    Validated::Figures {
        identity,
        figures,
        commentary,
        exceptions: checker.exceptions,
    }
}

/// Whether a return for `period` must give the figure for `slot` of `year`.
fn is_due(slot: FigureSlot, year: FinancialYear, period: Period) -> bool {
    match slot {
        FigureSlot::Quarter(quarter) => {
            year < period.year
                || (year == period.year && period.quarter.is_none_or(|own| quarter <= own))
        }
        FigureSlot::Annual => year <= period.year,
        FigureSlot::Total => true,
    }
}

/// Locates a cell and, when it is blank, says why (a merged area, an uncalculated formula).
fn locate_explained(
    workbook: &mut SourceWorkbook,
    locator: &Locator,
) -> Result<FoundCell, NotFound> {
    let cell = workbook.locate(locator)?;
    Ok(workbook.explain_blank(cell))
}

fn figure_slot(kind: SlotKind) -> FigureSlot {
    match kind {
        SlotKind::Quarter(quarter) => FigureSlot::Quarter(quarter),
        SlotKind::Total => FigureSlot::Total,
        SlotKind::Annual => FigureSlot::Annual,
    }
}

/// Finds which template the workbook is and reads its department and period.
fn identify<'s>(
    checker: &mut Checker<'s>,
    workbook: &mut SourceWorkbook,
) -> Option<(&'s Template, ReturnIdentity)> {
    let schemas = checker.schemas;
    let mut stated_ids: Vec<(String, FoundCell)> = Vec::new();
    let mut found = None;
    for template in &schemas.templates {
        if let Ok(cell) = locate_explained(workbook, &template.identity.template) {
            let text = cell_text(&cell.value);
            if normalise_label(&text) == normalise_label(&template.id) {
                found = Some((template, cell));
                break;
            }
            if !text.is_empty() && !stated_ids.iter().any(|(known, _)| *known == text) {
                stated_ids.push((text, cell));
            }
        }
    }
    let Some((template, _)) = found else {
        let known = schemas.return_ids();
        match stated_ids.into_iter().next() {
            Some((stated, cell)) => checker.cell_problem(
                BuiltinCheck::UnknownTemplate,
                &cell,
                format!("the return names the template \"{stated}\", which is not one of {}", known.join(", ")),
                "Fill in the current return template for your department (ask the dashboard owner for a copy).",
            ),
            None => checker.raise(Problem {
                check: BuiltinCheck::UnknownTemplate,
                severity: Severity::Error,
                sheet: String::new(),
                cell: String::new(),
                value_found: String::new(),
                message: format!(
                    "the workbook is not a return template: no template id found (sheets: {})",
                    workbook.sheet_names().join(", ")
                ),
                guidance: "Fill in your department's return template rather than a workbook of your own.".into(),
            }),
        }
        return None;
    };

    let identity = &template.identity;
    let mut ok = true;
    if let Some(locator) = &identity.version {
        match locate_explained(workbook, locator) {
            Ok(cell) => {
                let stated = match read_number(&cell.value) {
                    Ok(CellNumber::Number(n)) if n.fract() == 0.0 => Some(n as u32),
                    _ => None,
                };
                if stated != Some(template.version) {
                    checker.cell_problem(
                        BuiltinCheck::TemplateVersion,
                        &cell,
                        format!(
                            "this is version {} of template {}; version {} is current",
                            display_value(&cell.value),
                            template.id,
                            template.version
                        ),
                        "Copy your figures into the current template and send that.",
                    );
                    ok = false;
                }
            }
            Err(missing) => {
                checker.not_found("the template version", missing);
                ok = false;
            }
        }
    }

    let department = read_identity_cell(checker, workbook, &identity.department, "the department")
        .and_then(|cell| {
            let stated = cell_text(&cell.value);
            match schemas.department_named(&stated) {
                Some(department) if department.id == template.department => {
                    Some(department.id.clone())
                }
                Some(department) => {
                    checker.cell_problem(
                        BuiltinCheck::WrongTemplate,
                        &cell,
                        format!(
                            "the return is from {} but on the {} template, which belongs to {}",
                            department.name, template.id, template.department
                        ),
                        "Use your own department's return template.",
                    );
                    None
                }
                None => {
                    let known: Vec<&str> = schemas
                        .departments
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect();
                    checker.cell_problem(
                        BuiltinCheck::UnknownDepartment,
                        &cell,
                        format!(
                            "\"{stated}\" is not a known department (known: {})",
                            known.join(", ")
                        ),
                        "Write your department's name as the dashboard owner lists it.",
                    );
                    None
                }
            }
        });
    let year = read_identity_cell(
        checker,
        workbook,
        &identity.financial_year,
        "the financial year",
    )
    .and_then(|cell| {
        let year = FinancialYear::parse(&cell_text(&cell.value));
        if year.is_none() {
            checker.cell_problem(
                BuiltinCheck::UnreadablePeriod,
                &cell,
                "the financial year cannot be read; expected a year such as 2020/21".into(),
                "Write the financial year the return covers as 2020/21.",
            );
        }
        year
    });
    let quarter = match &identity.quarter {
        None => Some(None),
        Some(locator) => read_identity_cell(checker, workbook, locator, "the quarter").and_then(|cell| {
            let quarter = Quarter::parse(&cell_text(&cell.value));
            if quarter.is_none() {
                checker.cell_problem(
                    BuiltinCheck::UnreadablePeriod,
                    &cell,
                    "the quarter cannot be read; expected QTR 1, QTR 2, QTR 3 or QTR 4".into(),
                    "Write the quarter the return covers as QTR 1 to QTR 4 (QTR 1 is April to June).",
                );
            }
            quarter.map(Some)
        }),
    };
    let (Some(department), Some(year), Some(quarter), true) = (department, year, quarter, ok)
    else {
        return None;
    };
    Some((
        template,
        ReturnIdentity {
            department,
            template: template.id.clone(),
            template_version: template.version,
            period: Period { year, quarter },
        },
    ))
}

fn read_identity_cell(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    locator: &Locator,
    what: &str,
) -> Option<FoundCell> {
    match locate_explained(workbook, locator) {
        Ok(cell) if cell_text(&cell.value).is_empty() => {
            checker.cell_problem(
                BuiltinCheck::UnreadablePeriod,
                &cell,
                format!("{what} is blank"),
                "Fill in the cover sheet: department, financial year and quarter.",
            );
            None
        }
        Ok(cell) => Some(cell),
        Err(missing) => {
            checker.not_found(what, missing);
            None
        }
    }
}

fn check_fields(checker: &mut Checker<'_>, template: &Template, workbook: &mut SourceWorkbook) {
    for field in &template.fields {
        let cell = match locate_explained(workbook, &field.locator) {
            Ok(cell) => cell,
            Err(missing) => {
                checker.not_found(&field.label, missing);
                continue;
            }
        };
        let blank = matches!(&cell.value, Data::Empty) || cell_text(&cell.value).is_empty();
        if blank {
            if field.required {
                checker.cell_problem(
                    BuiltinCheck::Required,
                    &cell,
                    format!("{} is required", field.label),
                    "Fill in every field on the cover sheet.",
                );
            }
            continue;
        }
        let problem = match &field.kind {
            ValueKind::Date => read_date(&cell.value)
                .is_none()
                .then(|| "a date (such as 30/09/2020) is expected".to_owned()),
            ValueKind::Text => None,
            ValueKind::Choice(allowed) => {
                let stated = normalise_label(&cell_text(&cell.value));
                (!allowed.iter().any(|a| normalise_label(a) == stated))
                    .then(|| format!("expected {}", field.kind.describe()))
            }
            kind => match read_number(&cell.value) {
                Ok(CellNumber::Number(number)) => check_number(kind, field.limits, number).err(),
                Ok(_) => None,
                Err(found) => Some(format!("found {found}; expected {}", kind.describe())),
            },
        };
        if let Some(problem) = problem {
            checker.cell_problem(
                BuiltinCheck::FieldType,
                &cell,
                format!("{}: {problem}", field.label),
                "Correct the cover sheet.",
            );
        }
    }
}

type FigureKey = (String, String, FinancialYear, FigureSlot);

/// At least this many measures with figures for a later quarter make the sheet a later quarter's return
/// (one stray later figure, as in the seed's PSD return, is a query on that cell instead).
const LATER_QUARTER_MEASURES: usize = 3;

/// The cover's quarter is earlier than the sheet's: most measures with a figure for the cover's quarter
/// also have one for a later quarter of the same year.
fn cover_disagrees_with_sheet(
    template: &Template,
    identity: &ReturnIdentity,
    figures: &[Figure],
) -> Option<Problem> {
    let own = identity.period.quarter?;
    if template.kind != TemplateKind::Quarterly {
        return None;
    }
    let in_year = |f: &&Figure| f.year == identity.period.year;
    let quarter_of = |f: &Figure| match f.slot {
        FigureSlot::Quarter(q) => Some(q),
        _ => None,
    };
    let later: Vec<&Figure> = figures
        .iter()
        .filter(in_year)
        .filter(|f| quarter_of(f).is_some_and(|q| q > own))
        .collect();
    let latest = later.iter().filter_map(|f| quarter_of(f)).max()?;
    let measures = |wanted: Quarter| {
        figures
            .iter()
            .filter(in_year)
            .filter(|f| quarter_of(f) == Some(wanted))
            .map(|f| (&f.indicator, &f.measure))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let (with_later, with_own) = (measures(latest), measures(own));
    if with_later < LATER_QUARTER_MEASURES || with_later * 2 < with_own {
        return None;
    }
    let first = later.iter().find(|f| quarter_of(f) == Some(latest))?;
    Some(Problem {
        check: BuiltinCheck::CoverPeriodMismatch,
        severity: Severity::Error,
        sheet: first.sheet.clone(),
        cell: first.cell.clone(),
        value_found: format!(
            "{} on the cover; {with_later} figures for {}",
            own.heading(),
            latest.heading()
        ),
        message: format!(
            "the cover says {} but the sheet holds {} figures for {with_later} measures: is this the {latest} return?",
            own.heading(),
            latest.heading()
        ),
        guidance: format!(
            "If it is the {latest} return, correct the quarter on the cover to {} and send it again; keep the figures.",
            latest.heading()
        ),
    })
}

fn apply_rules(
    checker: &mut Checker<'_>,
    template: &Template,
    identity: &ReturnIdentity,
    figures: Vec<Figure>,
    blanks: &[Blank],
    cover_mismatch: bool,
) -> Vec<Figure> {
    let schemas = checker.schemas;
    let index: BTreeMap<FigureKey, &Figure> = figures
        .iter()
        .map(|f| ((f.indicator.clone(), f.measure.clone(), f.year, f.slot), f))
        .collect();
    let get = |measure: &MeasureRef, year: FinancialYear, slot: FigureSlot| {
        index
            .get(&(
                measure.indicator.clone(),
                measure.measure.clone(),
                year,
                slot,
            ))
            .copied()
    };
    let label = |indicator: &str, measure: &str| {
        schemas
            .catalogue
            .measure(indicator, measure)
            .map(|m| format!("{indicator} {}", m.label))
            .unwrap_or_else(|| format!("{indicator} {measure}"))
    };
    let period = identity.period;
    let is_future = |figure: &Figure| match (figure.slot, period.quarter) {
        (FigureSlot::Quarter(quarter), Some(own)) => {
            figure.year > period.year || (figure.year == period.year && quarter > own)
        }
        _ => figure.year > period.year,
    };
    let mut dropped: Vec<usize> = Vec::new();

    for rule in &schemas.rules {
        match &rule.check {
            Check::PartWithinWhole { part, whole } => {
                // Totals are not compared: a part within its whole in every quarter is within it in total.
                for figure in figures.iter().filter(|f| {
                    f.indicator == part.indicator
                        && f.measure == part.measure
                        && f.slot != FigureSlot::Total
                }) {
                    let Some(whole_figure) = get(whole, figure.year, figure.slot) else {
                        continue;
                    };
                    if figure.value > whole_figure.value {
                        let values = [
                            ("part", label(&part.indicator, &part.measure)),
                            ("whole", label(&whole.indicator, &whole.measure)),
                            ("period", figure.slot.describe(figure.year)),
                            ("value", format!("{}", figure.value)),
                            ("whole_value", format!("{}", whole_figure.value)),
                        ];
                        let found = format!(
                            "{} (whole {}!{} = {})",
                            figure.value, whole_figure.sheet, whole_figure.cell, whole_figure.value
                        );
                        checker.raise_rule(rule, (&figure.sheet, &figure.cell), found, &values);
                    }
                }
            }
            // Said once as the cover's mistake instead.
            Check::TotalMatchesQuarters if cover_mismatch => {}
            Check::TotalMatchesQuarters => {
                for total in figures.iter().filter(|f| f.slot == FigureSlot::Total) {
                    let quarters: Vec<&Figure> = Quarter::ALL
                        .iter()
                        .filter_map(|q| {
                            index
                                .get(&(
                                    total.indicator.clone(),
                                    total.measure.clone(),
                                    total.year,
                                    FigureSlot::Quarter(*q),
                                ))
                                .copied()
                        })
                        .filter(|f| !is_future(f))
                        .collect();
                    let sum: f64 = quarters.iter().map(|f| f.value).sum();
                    if (sum - total.value).abs() > 1e-6 {
                        let values = [
                            ("measure", label(&total.indicator, &total.measure)),
                            ("period", total.year.to_string()),
                            ("value", format!("{}", total.value)),
                            ("sum", format!("{sum}")),
                        ];
                        let found =
                            format!("total {} but the quarters add up to {sum}", total.value);
                        checker.raise_rule(rule, (&total.sheet, &total.cell), found, &values);
                    }
                }
            }
            Check::SumsTo {
                measures,
                target,
                tolerance,
            } => {
                let Some(first) = measures.first() else {
                    continue;
                };
                for anchor in figures.iter().filter(|f| {
                    f.indicator == first.indicator
                        && f.measure == first.measure
                        && f.slot != FigureSlot::Total
                }) {
                    let parts: Option<Vec<&Figure>> = measures
                        .iter()
                        .map(|m| get(m, anchor.year, anchor.slot))
                        .collect();
                    let Some(parts) = parts else { continue };
                    let sum: f64 = parts.iter().map(|f| f.value).sum();
                    if (sum - target).abs() > *tolerance + 1e-9 {
                        let cells: Vec<String> = parts
                            .iter()
                            .map(|f| format!("{}!{}", f.sheet, f.cell))
                            .collect();
                        let values = [
                            ("period", anchor.slot.describe(anchor.year)),
                            ("sum", format!("{sum}")),
                            ("target", format!("{target}")),
                            ("cells", cells.join(", ")),
                        ];
                        checker.raise_rule(
                            rule,
                            (&anchor.sheet, &anchor.cell),
                            format!("sum {sum}"),
                            &values,
                        );
                    }
                }
            }
            Check::NeedsWhenPositive { when, needs } => {
                for figure in figures.iter().filter(|f| {
                    f.indicator == when.indicator
                        && f.measure == when.measure
                        && f.value > 0.0
                        && f.slot != FigureSlot::Total
                }) {
                    let needed = get(needs, figure.year, figure.slot);
                    if needed.is_some_and(|n| n.value > 0.0) {
                        continue;
                    }
                    let needed_found = needed
                        .map(|n| format!("{} ({}!{})", n.value, n.sheet, n.cell))
                        .unwrap_or_else(|| "(blank)".to_owned());
                    let values = [
                        ("when", label(&when.indicator, &when.measure)),
                        ("needs", label(&needs.indicator, &needs.measure)),
                        ("period", figure.slot.describe(figure.year)),
                        ("value", format!("{}", figure.value)),
                        ("needs_value", needed_found.clone()),
                    ];
                    let found = format!("{} with {needed_found}", figure.value);
                    checker.raise_rule(rule, (&figure.sheet, &figure.cell), found, &values);
                }
            }
            Check::NoFutureQuarters => {
                if template.kind != TemplateKind::Quarterly {
                    continue;
                }
                for (position, figure) in figures.iter().enumerate() {
                    if is_future(figure) && cover_mismatch {
                        dropped.push(position);
                    } else if is_future(figure) {
                        let values = [
                            ("measure", label(&figure.indicator, &figure.measure)),
                            ("period", figure.slot.describe(figure.year)),
                            ("return_period", period.to_string()),
                            ("value", format!("{}", figure.value)),
                        ];
                        checker.raise_rule(
                            rule,
                            (&figure.sheet, &figure.cell),
                            format!("{}", figure.value),
                            &values,
                        );
                        dropped.push(position);
                    }
                }
            }
            Check::FiguresComplete => {
                if template.kind != TemplateKind::Quarterly {
                    continue;
                }
                for blank in blanks {
                    // Annual figures in a quarterly return are due only for annual measures.
                    let due = is_due(blank.slot, blank.year, period)
                        && match blank.slot {
                            FigureSlot::Quarter(_) => true,
                            FigureSlot::Annual => schemas
                                .catalogue
                                .measure(&blank.indicator, &blank.measure)
                                .is_some_and(|m| m.frequency == Frequency::Annual),
                            FigureSlot::Total => false,
                        };
                    if due {
                        let values = [
                            ("measure", label(&blank.indicator, &blank.measure)),
                            ("period", blank.slot.describe(blank.year)),
                            ("return_period", period.to_string()),
                        ];
                        checker.raise_rule(
                            rule,
                            (&blank.sheet, &blank.cell),
                            "(blank)".into(),
                            &values,
                        );
                    }
                }
            }
        }
    }

    figures
        .into_iter()
        .enumerate()
        .filter(|(position, _)| !dropped.contains(position))
        .map(|(_, figure)| figure)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_not_zero_and_na_is_not_blank() {
        assert_eq!(read_number(&Data::Empty), Ok(CellNumber::Blank));
        assert_eq!(
            read_number(&Data::String("  ".into())),
            Ok(CellNumber::Blank)
        );
        assert_eq!(
            read_number(&Data::String("N/A".into())),
            Ok(CellNumber::NotApplicable)
        );
        assert_eq!(read_number(&Data::Float(0.0)), Ok(CellNumber::Number(0.0)));
    }

    #[test]
    fn numbers_as_people_type_them() {
        assert_eq!(
            read_number(&Data::String("1,234".into())),
            Ok(CellNumber::Number(1234.0))
        );
        assert_eq!(
            read_number(&Data::String(" 86% ".into())),
            Ok(CellNumber::Number(86.0))
        );
        assert!(read_number(&Data::String("twelve".into())).is_err());
        assert!(read_number(&Data::Bool(true)).is_err());
    }

    #[test]
    fn float_noise_is_a_whole_number_but_a_fraction_is_not() {
        assert_eq!(
            check_number(&ValueKind::Count, Limits::default(), 7.000_000_000_000_001),
            Ok(7.0)
        );
        assert!(check_number(&ValueKind::Count, Limits::default(), 7.5).is_err());
        assert!(check_number(&ValueKind::Count, Limits::default(), -1.0).is_err());
        assert!(check_number(&ValueKind::Percentage, Limits::default(), 101.0).is_err());
        let limits = Limits {
            minimum: None,
            maximum: Some(10.0),
        };
        assert!(check_number(&ValueKind::Number, limits, 11.0).is_err());
    }

    #[test]
    fn dates_from_serials_text_and_date_cells() {
        let expected = NaiveDate::from_ymd_opt(2015, 8, 31);
        assert_eq!(read_date(&Data::Float(42247.0)), expected);
        assert_eq!(read_date(&Data::String("31/08/2015".into())), expected);
        assert_eq!(read_date(&Data::String("2015-08-31".into())), expected);
        assert_eq!(read_date(&Data::String("31 August 2015".into())), expected);
        assert_eq!(read_date(&Data::String("last Tuesday".into())), None);
    }
}
