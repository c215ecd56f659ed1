//! The checker a return is validated with: it collects exceptions, from `collate`'s own checks (each a
//! [`BuiltinCheck`]) and from the schema's rules, with the file, sheet and cell they concern.

use super::BuiltinCheck;
use crate::excel::quoted_value;
use crate::exception::{Exception, fill};
use crate::read::{FoundCell, NotFound, display_value};
use crate::schema::{Rule, Schemas, Severity};

/// A problem raised by the validator itself rather than by a rule in `rules.toml`.
pub(super) struct Problem {
    pub check: BuiltinCheck,
    pub severity: Severity,
    pub sheet: String,
    pub cell: String,
    pub value_found: String,
    pub message: String,
    pub guidance: String,
}

/// Collects one return's exceptions.
pub(super) struct Checker<'s> {
    pub schemas: &'s Schemas,
    pub file: String,
    pub exceptions: Vec<Exception>,
}

impl Checker<'_> {
    pub fn raise(&mut self, problem: Problem) {
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

    pub fn raise_rule(
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

    pub fn not_found(&mut self, what: &str, missing: NotFound) {
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

    pub fn cell_problem(
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
pub(super) fn not_applicable_query(cell: &FoundCell, what: &str) -> Problem {
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
pub(super) fn too_long(cell: &FoundCell, what: &str, length: usize) -> Problem {
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
