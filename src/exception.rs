//! Exceptions are data: every problem found in a return, with the place, the value and what to do about it.

use serde::{Deserialize, Serialize};

use crate::schema::Severity;

/// One problem with a return, as a department would be told it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    pub file: String,
    pub sheet: String,
    pub cell: String,
    pub value_found: String,
    pub rule_id: String,
    pub severity: Severity,
    pub message: String,
    pub guidance: String,
}

impl Exception {
    /// The one-line form used in logs and by `collate check`.
    pub fn one_line(&self) -> String {
        let place = match (self.sheet.is_empty(), self.cell.is_empty()) {
            (true, _) => String::new(),
            (false, true) => format!(" [{}]", self.sheet),
            (false, false) => format!(" [{}!{}]", self.sheet, self.cell),
        };
        let found = if self.value_found.is_empty() {
            String::new()
        } else {
            format!(" (found {})", self.value_found)
        };
        format!(
            "{}{place}: {} {}: {}{found}",
            self.file,
            self.severity.as_str(),
            self.rule_id,
            self.message
        )
    }
}

/// Fills `{name}` placeholders of a rule's message with what was found.
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_file_sheet_cell_and_value() {
        let exception = Exception {
            file: "psd.xlsx".into(),
            sheet: "PSD".into(),
            cell: "E12".into(),
            value_found: "0".into(),
            rule_id: "no-future-quarters".into(),
            severity: Severity::Warning,
            message: "a figure for QTR 3 in a Q2 return".into(),
            guidance: String::new(),
        };
        assert_eq!(
            exception.one_line(),
            "psd.xlsx [PSD!E12]: warning no-future-quarters: a figure for QTR 3 in a Q2 return (found 0)"
        );
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "{part} > {whole}",
                &[("part", "5".into()), ("whole", "3".into())]
            ),
            "5 > 3"
        );
    }
}
