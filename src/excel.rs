//! What any part of `collate` needs to know of Excel itself: A1 cell references, how labels compare, and
//! Excel's own limits, which nothing copied from a return may push an output past.

use std::borrow::Cow;

/// The most characters an Excel cell holds.
pub const CELL_TEXT_LIMIT: usize = 32_767;

/// How much of a value found in a cell an exception quotes: enough to recognise it.
const QUOTED_VALUE_LIMIT: usize = 500;

/// Text as a cell can hold it: cut at Excel's limit with a visible marker saying how long it was.
pub fn fit_cell(text: &str) -> Cow<'_, str> {
    let length = text.chars().count();
    if length <= CELL_TEXT_LIMIT {
        return Cow::Borrowed(text);
    }
    let marker = format!(
        " […cut: the return's text is {length} characters; an Excel cell holds {CELL_TEXT_LIMIT}]"
    );
    let kept: String = text
        .chars()
        .take(CELL_TEXT_LIMIT - marker.chars().count())
        .collect();
    Cow::Owned(kept + &marker)
}

/// A value as an exception quotes it: a long one is cut, saying so.
pub fn quoted_value(text: String) -> String {
    let length = text.chars().count();
    if length <= QUOTED_VALUE_LIMIT {
        return text;
    }
    let kept: String = text.chars().take(QUOTED_VALUE_LIMIT).collect();
    format!("{kept}… ({length} characters)")
}

/// Whether text is longer than a cell holds; its length in characters if so.
pub fn over_cell_limit(text: &str) -> Option<usize> {
    let length = text.chars().count();
    (length > CELL_TEXT_LIMIT).then_some(length)
}

/// "C5" → (4, 2), zero-based; `$` signs are allowed.
/// Numbers added up as a cell shows their sum: from 0.0, since Rust's float sum of nothing is -0.0, which a
/// workbook would show as "-0" and a message as "add up to -0".
pub fn cell_sum(numbers: impl IntoIterator<Item = f64>) -> f64 {
    numbers.into_iter().fold(0.0, |sum, n| sum + n)
}

/// An Excel defined name from its parts: letters, digits and underscores only, starting with a letter,
/// so that `PSD 1` / `complaints` / `QTR 2` becomes `PSD1_complaints_QTR2`.
pub fn defined_name(parts: &[&str]) -> String {
    let cleaned: Vec<String> = parts
        .iter()
        .map(|part| {
            part.chars()
                .filter_map(|c| match c {
                    c if c.is_ascii_alphanumeric() => Some(c),
                    '_' | '-' | '/' | '.' => Some('_'),
                    _ => None,
                })
                .collect::<String>()
        })
        .filter(|part| !part.is_empty())
        .collect();
    let name = cleaned.join("_");
    match name.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => name,
        _ => format!("n_{name}"),
    }
}

/// The defined name of a figure cell in the templates `collate` writes ("PSD1_complaints_QTR2"; a year
/// before the return's own adds "y_1"): the validator finds a figure by it when its row label was changed.
pub fn figure_name(indicator: &str, measure: &str, year_offset: i32, heading: &str) -> String {
    let offset = if year_offset == 0 {
        String::new()
    } else {
        format!("y{year_offset}")
    };
    defined_name(&[indicator, measure, &offset, heading])
}

/// "C5", "$C$5" or "c5" → (4, 2), zero-based; anything else is `None`. Every cell of every sheet is
/// looked at through here during inspection, so it builds nothing.
pub fn parse_a1(text: &str) -> Option<(u32, u32)> {
    let (mut col, mut letters, mut row) = (0u32, 0, None::<u32>);
    for byte in text.trim().bytes().filter(|&b| b != b'$') {
        match (row, byte) {
            (None, b'A'..=b'Z' | b'a'..=b'z') if letters < 3 => {
                letters += 1;
                col = col * 26 + u32::from(byte.to_ascii_uppercase() - b'A' + 1);
            }
            (None, b'0'..=b'9') if letters > 0 => row = Some(u32::from(byte - b'0')),
            (Some(digits), b'0'..=b'9') => {
                row = Some(
                    digits
                        .checked_mul(10)?
                        .checked_add(u32::from(byte - b'0'))?,
                );
            }
            _ => return None,
        }
    }
    let row = row.filter(|&row| row >= 1)?;
    Some((row - 1, col - 1))
}

/// (4, 2) → "C5", as `rust_xlsxwriter::utility` writes it; a column past any Excel allows (a claim in a
/// hostile file) reads as the last it can name.
pub fn a1(row: u32, col: u32) -> String {
    rust_xlsxwriter::utility::row_col_to_cell(row, u16::try_from(col).unwrap_or(u16::MAX))
}

/// Compares labels the way a person reads them: case, repeated spaces and stray edges do not matter.
/// One pass and one allocation: every text cell of every return goes through here, most of them plain
/// ASCII, which is read byte by byte.
pub fn normalise_label(text: &str) -> String {
    if text.is_ascii() {
        return normalise_ascii_label(text.as_bytes());
    }
    let mut normalised = String::with_capacity(text.len());
    let mut space_pending = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space_pending = !normalised.is_empty();
            continue;
        }
        if space_pending {
            normalised.push(' ');
            space_pending = false;
        }
        normalised.extend(c.to_lowercase());
    }
    normalised
}

/// [`normalise_label`] for ASCII text: the same spaces (tab to carriage return, as `char::is_whitespace`
/// has them) and the same lower case.
fn normalise_ascii_label(text: &[u8]) -> String {
    let mut normalised = String::with_capacity(text.len());
    let mut space_pending = false;
    for &byte in text {
        if matches!(byte, b' ' | b'\t'..=b'\r') {
            space_pending = !normalised.is_empty();
            continue;
        }
        if space_pending {
            normalised.push(' ');
            space_pending = false;
        }
        normalised.push(char::from(byte.to_ascii_lowercase()));
    }
    normalised
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_keep_letters_digits_and_underscores() {
        assert_eq!(
            super::defined_name(&["PSD 1", "complaints", "QTR 2"]),
            "PSD1_complaints_QTR2"
        );
        assert_eq!(super::defined_name(&["2015/16", "x"]), "n_2015_16_x");
    }

    #[test]
    fn cell_references_read_as_excel_writes_them() {
        assert_eq!(super::parse_a1("C5"), Some((4, 2)));
        assert_eq!(super::parse_a1(" $c$5 "), Some((4, 2)));
        assert_eq!(super::parse_a1("XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(super::parse_a1("A4294967295"), Some((4_294_967_294, 0)));
        for not_a_cell in [
            "",
            "A",
            "5",
            "A0",
            "ABCD1",
            "A1B",
            "A 1",
            "A-1",
            "A+1",
            "Ä1",
            "A4294967296",
            "1A",
        ] {
            assert_eq!(super::parse_a1(not_a_cell), None, "{not_a_cell:?}");
        }
    }

    #[test]
    fn a_sum_of_nothing_is_zero_not_minus_zero() {
        assert!(super::cell_sum([]).is_sign_positive());
        assert_eq!(super::cell_sum([1.5, 2.0]), 3.5);
    }

    use super::*;

    #[test]
    fn ascii_labels_read_as_any_other_text_would() {
        for label in [
            "  Number of\tCOMPLAINTS \x0b received ",
            "QTR 1",
            "\r\n",
            "Complaints  (all)\u{a0} Total",
            "Ünïcode  LABEL",
        ] {
            let by_chars = label
                .split(char::is_whitespace)
                .filter(|word| !word.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(normalise_label(label), by_chars, "{label:?}");
        }
    }

    #[test]
    fn text_over_the_limit_is_cut_to_it_with_a_marker() {
        let long = "a".repeat(40_000);
        let fitted = fit_cell(&long);
        assert_eq!(fitted.chars().count(), CELL_TEXT_LIMIT);
        assert!(
            fitted.ends_with(
                "[…cut: the return's text is 40000 characters; an Excel cell holds 32767]"
            )
        );
        assert_eq!(fit_cell("short"), "short");
    }

    #[test]
    fn multi_byte_text_is_counted_in_characters() {
        let long = "é".repeat(CELL_TEXT_LIMIT);
        assert_eq!(fit_cell(&long).chars().count(), CELL_TEXT_LIMIT);
        assert!(over_cell_limit(&long).is_none());
    }

    #[test]
    fn labels_compare_regardless_of_case_and_spacing() {
        assert_eq!(
            normalise_label("  Number of  Complaints\tMade "),
            "number of complaints made"
        );
        assert_eq!(normalise_label("QTR 1"), normalise_label("qtr   1"));
        assert_eq!(normalise_label(""), "");
    }
}
