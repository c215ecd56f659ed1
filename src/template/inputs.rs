//! What a department may type into each cell of a template, said where it is typed: Excel data validation
//! built from the same schema `collate` checks the return against (which stays the authority), with an
//! input message and an error alert in the department's terms.

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, ExcelDateTime, Formula, XlsxError,
};

use crate::excel::a1;
use crate::schema::{Limits, ValueKind};

/// Excel's limits on a validation's texts.
const TITLE_LIMIT: usize = 32;
const MESSAGE_LIMIT: usize = 255;

/// A cell the department fills in: what it is, what it takes, and what helps them fill it in.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Input {
    /// The cell's defined name.
    pub name: String,
    /// Shown as the input message's title ("PSD 1, QTR 2").
    pub title: String,
    /// What the figure or field is ("Number of complaints made per quarter").
    pub label: String,
    pub kind: ValueKind,
    pub limits: Limits,
    /// Guidance from the schema's rules on this figure.
    pub guidance: Vec<String>,
}

impl Input {
    /// The cell's data validation: an error alert stops what `collate` would reject (the wrong type, a
    /// figure out of range); what it only queries ("n/a" for a count) is let through, to be queried.
    pub fn validation(&self, (row, col): (u32, u16)) -> Result<DataValidation, XlsxError> {
        let cell = a1(row, u32::from(col));
        let validation = match &self.kind {
            ValueKind::Count | ValueKind::Percentage | ValueKind::Number => DataValidation::new()
                .allow_custom(Formula::new(number_formula(&cell, &self.kind, self.limits))),
            ValueKind::Date => DataValidation::new().allow_date(DataValidationRule::Between(
                ExcelDateTime::from_ymd(1990, 1, 1)?,
                ExcelDateTime::from_ymd(2099, 12, 31)?,
            )),
            ValueKind::Choice(allowed) if allowed.join(",").chars().count() < MESSAGE_LIMIT => {
                DataValidation::new().allow_list_strings(allowed)?
            }
            ValueKind::Choice(_) | ValueKind::Text => DataValidation::new().allow_any_value(),
        };
        validation
            .set_input_title(fit(&self.title, TITLE_LIMIT))?
            .set_input_message(fit(&self.message(), MESSAGE_LIMIT))?
            .set_error_title("Not what this cell takes")?
            .set_error_message(fit(
                &format!("{} takes {}.", self.label, self.kind.describe()),
                MESSAGE_LIMIT,
            ))
            .map(|v| v.set_error_style(DataValidationErrorStyle::Stop))
    }

    /// The input message: what the cell is, what it takes, then the rules' guidance as far as it fits.
    fn message(&self) -> String {
        let mut message = match self.kind {
            ValueKind::Text => format!("{}.", self.label),
            _ => format!("{}: {}.", self.label, self.kind.describe()),
        };
        if matches!(self.kind, ValueKind::Count | ValueKind::Percentage) {
            message.push_str(" Leave it blank if there is no figure yet; a blank is not 0.");
        }
        // What does not fit Excel's limit is cut, with an ellipsis, where the validation is built.
        for guidance in &self.guidance {
            message.push(' ');
            message.push_str(guidance);
        }
        message
    }
}

/// A number the validator accepts as `kind` within `limits`, or "n/a" (which it reads, and queries where the
/// measure does not allow it).
fn number_formula(cell: &str, kind: &ValueKind, limits: Limits) -> String {
    let mut checks = vec![format!("ISNUMBER({cell})")];
    match kind {
        ValueKind::Count => checks.extend([format!("{cell}>=0"), format!("INT({cell})={cell}")]),
        ValueKind::Percentage => checks.extend([format!("{cell}>=0"), format!("{cell}<=100")]),
        _ => {}
    }
    if let Some(minimum) = limits.minimum {
        checks.push(format!("{cell}>={minimum}"));
    }
    if let Some(maximum) = limits.maximum {
        checks.push(format!("{cell}<={maximum}"));
    }
    format!("=OR(AND({}),LOWER(TRIM({cell}))=\"n/a\")", checks.join(","))
}

/// `text` cut to `limit` characters, with an ellipsis where it was cut.
fn fit(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_takes_whole_numbers_of_zero_or_more_or_n_a() {
        assert_eq!(
            number_formula("C3", &ValueKind::Count, Limits::default()),
            "=OR(AND(ISNUMBER(C3),C3>=0,INT(C3)=C3),LOWER(TRIM(C3))=\"n/a\")"
        );
    }

    #[test]
    fn long_texts_are_cut_to_excels_limits() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
