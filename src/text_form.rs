//! Values that records and the workers' answers keep as text (a time, a financial year, a quarter), read
//! back into their types: one serde form for all of them, an empty text for none.

use serde::{Deserialize, Deserializer, Serializer};

/// A value with one text form, read back exactly.
pub trait TextForm: Sized {
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Result<Self, String>;
}

/// `#[serde(with = "crate::text_form::optional")]`: the value's text, empty for `None`.
pub mod optional {
    use super::*;

    pub fn serialize<T: TextForm, S: Serializer>(
        value: &Option<T>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        to.serialize_str(&value.as_ref().map(TextForm::to_text).unwrap_or_default())
    }

    pub fn deserialize<'de, T: TextForm, D: Deserializer<'de>>(
        from: D,
    ) -> Result<Option<T>, D::Error> {
        let text = String::deserialize(from)?;
        match text.is_empty() {
            true => Ok(None),
            false => T::from_text(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// `#[serde(with = "crate::text_form::required")]`: the value's text.
pub mod required {
    use super::*;

    pub fn serialize<T: TextForm, S: Serializer>(value: &T, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_str(&value.to_text())
    }

    pub fn deserialize<'de, T: TextForm, D: Deserializer<'de>>(from: D) -> Result<T, D::Error> {
        let text = String::deserialize(from)?;
        T::from_text(&text).map_err(serde::de::Error::custom)
    }
}

/// A moment a record keeps (when a version was signed off or withdrawn): to the second, in UTC.
impl TextForm for chrono::DateTime<chrono::Utc> {
    fn to_text(&self) -> String {
        self.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    fn from_text(text: &str) -> Result<Self, String> {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| at.to_utc())
            .map_err(|error| format!("{text:?} is not a time: {error}"))
    }
}

/// When a message says it was sent, with its offset: RFC 3339, UTC written `Z` as mail-parser writes it.
impl TextForm for chrono::DateTime<chrono::FixedOffset> {
    fn to_text(&self) -> String {
        self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    fn from_text(text: &str) -> Result<Self, String> {
        chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|error| format!("{text:?} is not a time: {error}"))
    }
}

impl TextForm for crate::period::FinancialYear {
    fn to_text(&self) -> String {
        self.to_string()
    }

    fn from_text(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| format!("{text:?} is not a financial year"))
    }
}

impl TextForm for crate::period::Quarter {
    fn to_text(&self) -> String {
        self.to_string()
    }

    fn from_text(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| format!("{text:?} is not a quarter"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_back_from_its_text() {
        let at = chrono::DateTime::<chrono::Utc>::from_text("2020-11-20T10:00:00+00:00");
        assert_eq!(
            at.map(|at| at.to_text()).as_deref(),
            Ok("2020-11-20T10:00:00Z")
        );
        let sent = chrono::DateTime::<chrono::FixedOffset>::from_text("2020-10-15T10:00:00Z");
        assert_eq!(
            sent.map(|s| s.to_text()).as_deref(),
            Ok("2020-10-15T10:00:00Z")
        );
        let year = crate::period::FinancialYear::from_text("2020/21");
        assert_eq!(year, Ok(crate::period::FinancialYear(2020)));
        assert!(crate::period::Quarter::from_text("Q5").is_err());
    }
}
