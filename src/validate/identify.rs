//! Which return a workbook is: its template (by the id it states), version, department and period, each
//! checked against the schemas. The version and department checks serve figures returns and plan updates
//! alike.

use super::cells::{CellNumber, cell_text, locate_explained, read_number};
use super::checker::{Checker, Problem};
use super::{BuiltinCheck, ReturnIdentity};
use crate::excel::normalise_label;
use crate::period::{FinancialYear, Period, Quarter};
use crate::read::{FoundCell, SourceWorkbook, display_value};
use crate::schema::{Department, IDENTITY_SHEET, Locator, Severity, Template};

/// Finds which template the workbook is and reads its department and period.
pub(super) fn identify<'s>(
    checker: &mut Checker<'s>,
    workbook: &mut SourceWorkbook,
) -> Option<(&'s Template, ReturnIdentity)> {
    let template = find_template(checker, workbook)?;
    let identity = &template.identity;
    let version_ok = match &identity.version {
        Some(locator) => {
            let stated = StatedVersion {
                of: format!("template {}", template.id),
                current: template.version,
                guidance: "Copy your figures into the current template and send that.",
            };
            check_version(checker, workbook, locator, &stated)
        }
        None => true,
    };
    let department = read_department(checker, workbook, &identity.department)
        .and_then(|(department, cell)| owner_of(checker, template, department, &cell));
    let year = read_financial_year(checker, workbook, &identity.financial_year);
    let quarter = match &identity.quarter {
        None => Some(None),
        Some(locator) => read_quarter(checker, workbook, locator).map(Some),
    };
    let (Some(department), Some((year, year_cell)), Some(quarter), true) =
        (department, year, quarter, version_ok)
    else {
        return None;
    };
    let today = chrono::Local::now().date_naive();
    refuse_period_not_begun(checker, Period { year, quarter }, &year_cell, today);
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

/// The template whose id the workbook states where that template keeps it; an exception when none.
fn find_template<'s>(
    checker: &mut Checker<'s>,
    workbook: &mut SourceWorkbook,
) -> Option<&'s Template> {
    let schemas = checker.schemas;
    let mut stated_ids: Vec<(String, FoundCell)> = Vec::new();
    for template in &schemas.templates {
        if let Some((text, cell)) = stated_id(workbook, template) {
            if names(template, &text) {
                return Some(template);
            }
            if !text.is_empty() && !stated_ids.iter().any(|(known, _)| *known == text) {
                stated_ids.push((text, cell));
            }
        }
    }
    if let Some((id, _)) = hidden_identity(workbook)
        && let Some(template) = schemas.template(&id)
    {
        checker.raise(identified_from_hidden_sheet(
            &template.id,
            stated_ids.first(),
        ));
        return Some(template);
    }
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
    None
}

/// What the workbook states where `template` keeps its id, with the cell.
fn stated_id(workbook: &mut SourceWorkbook, template: &Template) -> Option<(String, FoundCell)> {
    let cell = locate_explained(workbook, &template.identity.template).ok()?;
    Some((cell_text(&cell.value), cell))
}

fn names(template: &Template, stated: &str) -> bool {
    normalise_label(stated) == normalise_label(&template.id)
}

/// The id a workbook's very hidden identity sheet states (templates `collate` writes have one), if any.
fn hidden_identity(workbook: &mut SourceWorkbook) -> Option<(String, FoundCell)> {
    let cell = workbook.cell(IDENTITY_SHEET, 0, 1).ok()?;
    let id = cell_text(&cell.value);
    (!id.is_empty()).then_some((id, cell))
}

/// A query: the cover did not name the return's template (`stated` is what it said, if anything), so it
/// was identified from the template's hidden identity instead.
fn identified_from_hidden_sheet(id: &str, stated: Option<&(String, FoundCell)>) -> Problem {
    let (sheet, cell, found) = match stated {
        Some((text, cell)) => (cell.sheet.clone(), cell.address(), text.clone()),
        None => (String::new(), String::new(), "(no template id)".to_owned()),
    };
    Problem {
        check: BuiltinCheck::CoverTemplateMissing,
        severity: Severity::Warning,
        sheet,
        cell,
        value_found: found,
        message: format!(
            "the cover does not say which template this is; it was identified as {id} from the template's own hidden record"
        ),
        guidance: "Fill in the template as it was sent, without changing its cover.".into(),
    }
}

/// The plan a workbook's hidden identity names, when its cover does not name one: a query, as for
/// figures returns.
pub(super) fn plan_from_identity_sheet<'s>(
    checker: &mut Checker<'s>,
    workbook: &mut SourceWorkbook,
) -> Option<&'s crate::schema::Plan> {
    // A cover that names a return template is no plan update: its hidden sheet is not read for nothing.
    let templates = &checker.schemas.templates;
    if templates
        .iter()
        .any(|t| stated_id(workbook, t).is_some_and(|(text, _)| names(t, &text)))
    {
        return None;
    }
    let (id, _) = hidden_identity(workbook)?;
    let plan = checker.schemas.plan(&id)?;
    checker.raise(identified_from_hidden_sheet(&plan.id, None));
    Some(plan)
}

/// The version a return must state, and how to speak of it.
pub(super) struct StatedVersion {
    /// "template psd-quarterly", "the Delivery Plan update".
    pub of: String,
    pub current: u32,
    pub guidance: &'static str,
}

/// Whether the return states the current version of its template.
pub(super) fn check_version(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    locator: &Locator,
    version: &StatedVersion,
) -> bool {
    let cell = match locate_explained(workbook, locator) {
        Ok(cell) => cell,
        Err(missing) => {
            checker.not_found("the template version", missing);
            return false;
        }
    };
    let stated = match read_number(&cell.value) {
        Ok(CellNumber::Number(n)) if n.fract() == 0.0 && n >= 0.0 => Some(n as u32),
        _ => None,
    };
    if stated == Some(version.current) {
        return true;
    }
    checker.cell_problem(
        BuiltinCheck::TemplateVersion,
        &cell,
        format!(
            "this is version {} of {}; version {} is current",
            display_value(&cell.value),
            version.of,
            version.current
        ),
        version.guidance,
    );
    false
}

/// The department a return states, as one the schemas know.
pub(super) fn read_department<'s>(
    checker: &mut Checker<'s>,
    workbook: &mut SourceWorkbook,
    locator: &Locator,
) -> Option<(&'s Department, FoundCell)> {
    let schemas = checker.schemas;
    let cell = read_identity_cell(checker, workbook, locator, "the department")?;
    let stated = cell_text(&cell.value);
    if let Some(department) = schemas.department_named(&stated) {
        return Some((department, cell));
    }
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

/// A figures template belongs to one department: a return from another is on the wrong template.
fn owner_of(
    checker: &mut Checker<'_>,
    template: &Template,
    department: &Department,
    cell: &FoundCell,
) -> Option<String> {
    if department.id == template.department {
        return Some(department.id.clone());
    }
    checker.cell_problem(
        BuiltinCheck::WrongTemplate,
        cell,
        format!(
            "the return is from {} but on the {} template, which belongs to {}",
            department.name, template.id, template.department
        ),
        "Use your own department's return template.",
    );
    None
}

/// A cover naming a period that has not begun by `today` is an error on its year cell: no figure for it
/// can be known yet, so it is a typo (2027/28 for 2020/21), and it must never become the board's quarter.
fn refuse_period_not_begun(
    checker: &mut Checker<'_>,
    period: Period,
    year_cell: &FoundCell,
    today: chrono::NaiveDate,
) {
    let Some(begins) = period.first_day().filter(|begins| *begins > today) else {
        return;
    };
    let latest = Period::most_recently_ended(today).next_quarter();
    checker.cell_problem(
        BuiltinCheck::FutureCoverPeriod,
        year_cell,
        format!(
            "the cover says {period}, which has not begun (it begins on {}); no figure for it can be known yet",
            begins.format("%d/%m/%Y")
        ),
        &format!(
            "Correct the financial year and quarter on the cover to the quarter the figures are for (the latest that has begun is {latest}), and send the return again."
        ),
    );
}

fn read_financial_year(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    locator: &Locator,
) -> Option<(FinancialYear, FoundCell)> {
    let expected = PeriodPart {
        what: "the financial year",
        parse: FinancialYear::parse,
        message: "the financial year cannot be read; expected a year such as 2020/21",
        guidance: "Write the financial year the return covers as 2020/21.",
    };
    read_period_part(checker, workbook, locator, expected)
}

fn read_quarter(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    locator: &Locator,
) -> Option<Quarter> {
    let expected = PeriodPart {
        what: "the quarter",
        parse: Quarter::parse,
        message: "the quarter cannot be read; expected QTR 1, QTR 2, QTR 3 or QTR 4",
        guidance: "Write the quarter the return covers as QTR 1 to QTR 4 (QTR 1 is April to June).",
    };
    read_period_part(checker, workbook, locator, expected).map(|(quarter, _)| quarter)
}

/// A part of the period a return states (its year, its quarter), and what to say when it cannot be read.
struct PeriodPart<T> {
    what: &'static str,
    parse: fn(&str) -> Option<T>,
    message: &'static str,
    guidance: &'static str,
}

/// The part, with the cell it was read from.
fn read_period_part<T>(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    locator: &Locator,
    expected: PeriodPart<T>,
) -> Option<(T, FoundCell)> {
    let cell = read_identity_cell(checker, workbook, locator, expected.what)?;
    let Some(part) = (expected.parse)(&cell_text(&cell.value)) else {
        checker.cell_problem(
            BuiltinCheck::UnreadablePeriod,
            &cell,
            expected.message.into(),
            expected.guidance,
        );
        return None;
    };
    Some((part, cell))
}

/// A cover cell that identifies the return: found and filled in, or an exception saying which.
pub(super) fn read_identity_cell(
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
