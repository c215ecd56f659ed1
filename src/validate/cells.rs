//! Reading a cell the way people fill them in: numbers typed as text, "n/a", dates in any form; and
//! locating a cell with the reason a blank is blank.

use calamine::Data;
use chrono::NaiveDate;

use crate::excel::normalise_label;
use crate::read::{FoundCell, NotFound, SourceWorkbook, display_value};
use crate::schema::{Limits, Locator, ValueKind};

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

pub(super) fn cell_text(value: &Data) -> String {
    match value {
        Data::String(text) => text.trim().to_owned(),
        Data::Empty => String::new(),
        other => display_value(other),
    }
}

/// Locates a cell and, when it is blank, says why (a merged area, an uncalculated formula).
pub(super) fn locate_explained(
    workbook: &mut SourceWorkbook,
    locator: &Locator,
) -> Result<FoundCell, NotFound> {
    let cell = workbook.locate(locator)?;
    Ok(workbook.explain_blank(cell))
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
