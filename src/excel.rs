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

#[cfg(test)]
mod tests {
    use super::*;

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
}
