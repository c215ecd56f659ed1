//! Which return a workbook is: its template (by the id it states), version, department and period, each
//! checked against the schemas.

use super::cells::{CellNumber, cell_text, locate_explained, read_number};
use super::checker::{Checker, Problem};
use super::{BuiltinCheck, ReturnIdentity};
use crate::excel::normalise_label;
use crate::period::{FinancialYear, Period, Quarter};
use crate::read::{FoundCell, SourceWorkbook, display_value};
use crate::schema::{Locator, Severity, Template};

/// Finds which template the workbook is and reads its department and period.
pub(super) fn identify<'s>(
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
