//! Reading consolidated tables back as typed rows: the hand-off to render, so that a table's column names
//! are written only where consolidation builds it and where its row type is declared.

use polars::prelude::{
    AnyValue, BooleanChunked, Column, DataType, Float64Chunked, PolarsResult, StringChunked,
};

/// Declares a consolidated table's row type and how it is read from the table: each field is read from the
/// column of its own name (or the one given after `=`), as `text`, `number`, `flag`, `optional_text`, or
/// as a financial `year` (its first calendar year) or a `quarter` (1–4) from a number column, or as a
/// `date` (ISO 8601) or a `time` (RFC 3339) from the text consolidation keeps them as (text that does
/// not parse is an error), a message's own date (`message_time`, lenient), or as the enums of a plan
/// status's kind (`status_kind`) and a plan exception's kind (`exception_kind`).
macro_rules! table_rows {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $kind:ident $(= $column:literal)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: table_rows!(@type $kind) ),*
        }

        impl $name {
            /// The table's rows, in its order.
            pub fn rows(frame: &polars::prelude::DataFrame) -> polars::prelude::PolarsResult<Vec<Self>> {
                $(
                    let $field = $crate::consolidate::rows::Cells::of(
                        frame.column(table_rows!(@column $field $($column)?))?,
                    )?;
                )*
                (0..frame.height())
                    .map(|i| {
                        Ok(Self {
                            $( $field: $field.$kind(i)? ),*
                        })
                    })
                    .collect()
            }
        }
    };
    (@type text) => { String };
    (@type optional_text) => { Option<String> };
    (@type number) => { Option<f64> };
    (@type flag) => { Option<bool> };
    (@type year) => { Option<$crate::period::FinancialYear> };
    (@type date) => { Option<chrono::NaiveDate> };
    (@type status_kind) => { Option<$crate::schema::StatusKind> };
    (@type exception_kind) => { Option<$crate::consolidate::PlanExceptionKind> };
    (@type time) => { Option<chrono::DateTime<chrono::FixedOffset>> };
    (@type message_time) => { Option<chrono::DateTime<chrono::FixedOffset>> };
    (@type quarter) => { Option<$crate::period::Quarter> };
    (@column $field:ident) => { stringify!($field) };
    (@column $field:ident $column:literal) => { $column };
}

pub(crate) use table_rows;

/// One column's cells, read as each field's kind asks. The column's type is looked at once, not at each
/// cell: the long lists read some 24,000 rows of a dozen fields on every rewrite at 12,000 returns.
pub(crate) struct Cells<'a> {
    column: &'a Column,
    /// The column's text, when it holds text.
    strings: Option<&'a StringChunked>,
    /// The column's numbers, when it holds numbers of a kind read as one.
    numbers: Option<Float64Chunked>,
    /// The column's true or false, when it holds them.
    flags: Option<&'a BooleanChunked>,
}

impl<'a> Cells<'a> {
    pub(crate) fn of(column: &'a Column) -> PolarsResult<Cells<'a>> {
        let numbers = match column.dtype() {
            DataType::Float64 => Some(column.f64()?.clone()),
            DataType::Float32
            | DataType::Int64
            | DataType::Int32
            | DataType::UInt32
            | DataType::UInt64 => Some(column.cast(&DataType::Float64)?.f64()?.clone()),
            _ => None,
        };
        Ok(Cells {
            column,
            strings: column.str().ok(),
            numbers,
            flags: column.bool().ok(),
        })
    }

    /// A cell as text, whatever its type; a null reads as empty.
    pub(crate) fn text(&self, row: usize) -> PolarsResult<String> {
        if let Some(strings) = self.strings.filter(|strings| row < strings.len()) {
            return Ok(strings.get(row).map(str::to_owned).unwrap_or_default());
        }
        Ok(match self.column.get(row)? {
            AnyValue::Null => String::new(),
            AnyValue::String(text) => text.to_owned(),
            AnyValue::StringOwned(text) => text.to_string(),
            other => other.to_string(),
        })
    }

    /// A cell as text, `None` when null or empty.
    pub(crate) fn optional_text(&self, row: usize) -> PolarsResult<Option<String>> {
        Ok(Some(self.text(row)?).filter(|text| !text.is_empty()))
    }

    /// A cell as a number; a null or a text reads as `None`.
    pub(crate) fn number(&self, row: usize) -> PolarsResult<Option<f64>> {
        match &self.numbers {
            Some(numbers) if row < numbers.len() => Ok(numbers.get(row)),
            // Past the end: polars' own error for the row.
            Some(_) => self.column.get(row).map(|_| None),
            None => Ok(None),
        }
    }

    /// A financial year from its first calendar year; 0 or null (no year) reads as `None`.
    pub(crate) fn year(&self, row: usize) -> PolarsResult<Option<crate::period::FinancialYear>> {
        Ok(self
            .number(row)?
            .filter(|year| *year >= 1.0)
            .map(|year| crate::period::FinancialYear(year as i32)))
    }

    /// A quarter from its number; 0 or null (a whole-year or plan return) reads as `None`.
    pub(crate) fn quarter(&self, row: usize) -> PolarsResult<Option<crate::period::Quarter>> {
        Ok(self
            .number(row)?
            .filter(|q| (1.0..=4.0).contains(q))
            .and_then(|q| crate::period::Quarter::new(q as u8)))
    }

    /// A cell as true or false; anything else reads as `None`.
    pub(crate) fn flag(&self, row: usize) -> PolarsResult<Option<bool>> {
        match self.flags {
            Some(flags) if row < flags.len() => Ok(flags.get(row)),
            _ => self.column.get(row).map(|_| None),
        }
    }

    /// A cell `collate` wrote itself as text, read back through `parse`: empty or null reads as `None`,
    /// and text that does not parse is an error naming the column, the row and the text (the table was
    /// not written by consolidation, or the store was changed by hand), never a value quietly dropped.
    fn parsed<T>(
        &self,
        row: usize,
        what: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> PolarsResult<Option<T>> {
        let Some(text) = self.optional_text(row)? else {
            return Ok(None);
        };
        match parse(&text) {
            Some(value) => Ok(Some(value)),
            None => Err(polars::prelude::PolarsError::ComputeError(
                format!(
                    "{} row {}: {text:?} is not {what}",
                    self.column.name(),
                    row + 1
                )
                .into(),
            )),
        }
    }

    /// A date written as consolidation writes one (`2020-09-30`).
    pub(crate) fn date(&self, row: usize) -> PolarsResult<Option<chrono::NaiveDate>> {
        self.parsed(row, "a date (2020-09-30)", |text| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
        })
    }

    /// A time as the store records one (RFC 3339).
    pub(crate) fn time(
        &self,
        row: usize,
    ) -> PolarsResult<Option<chrono::DateTime<chrono::FixedOffset>>> {
        self.parsed(row, "a time (RFC 3339)", |text| {
            chrono::DateTime::parse_from_rfc3339(text).ok()
        })
    }

    /// The date a message gave itself, as the store keeps it: RFC 3339, or, in a store written before
    /// dates were read at the edge, the message's own RFC 5322 date or whatever it said (which reads as
    /// `None`: the sender's date is shown as not known, and nothing else depends on it).
    pub(crate) fn message_time(
        &self,
        row: usize,
    ) -> PolarsResult<Option<chrono::DateTime<chrono::FixedOffset>>> {
        Ok(self.optional_text(row)?.and_then(|text| {
            chrono::DateTime::parse_from_rfc3339(&text)
                .or_else(|_| chrono::DateTime::parse_from_rfc2822(&text))
                .ok()
        }))
    }

    /// A plan status's kind, as consolidation's tables write it ("on_track").
    pub(crate) fn status_kind(
        &self,
        row: usize,
    ) -> PolarsResult<Option<crate::schema::StatusKind>> {
        self.parsed(row, "a plan status", crate::schema::StatusKind::parse)
    }

    /// A plan exception's kind, from the label its table gives it.
    pub(crate) fn exception_kind(
        &self,
        row: usize,
    ) -> PolarsResult<Option<super::PlanExceptionKind>> {
        self.parsed(row, "a kind of plan exception", |text| {
            super::PlanExceptionKind::from_label(text)
        })
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    table_rows! {
        /// A row of the test table.
        pub struct Sample {
            name: text,
            reference: text = "ref",
            note: optional_text,
            value: number,
            done: flag,
        }
    }

    #[test]
    fn rows_read_each_field_from_its_column_with_nulls_as_empty() -> PolarsResult<()> {
        let frame = df!(
            "name" => ["a", "b"],
            "ref" => [Some(1i32), None],
            "note" => [Some(""), Some("seen")],
            "value" => [Some(2.5), None],
            "done" => [Some(true), None],
        )?;
        let rows = Sample::rows(&frame)?;
        assert_eq!(
            rows,
            vec![
                Sample {
                    name: "a".into(),
                    reference: "1".into(),
                    note: None,
                    value: Some(2.5),
                    done: Some(true),
                },
                Sample {
                    name: "b".into(),
                    reference: String::new(),
                    note: Some("seen".into()),
                    value: None,
                    done: None,
                },
            ]
        );
        // A table stacked from parts (as the store's, a batch at a time) reads the same, part by part.
        let mut stacked = frame.clone();
        stacked.vstack_mut(&frame)?;
        assert_eq!(Sample::rows(&stacked)?, [rows.clone(), rows].concat());
        Ok(())
    }

    table_rows! {
        /// A row with a date and a time.
        pub struct Dated {
            day: date,
            at: time,
        }
    }

    #[test]
    fn a_date_or_time_that_does_not_parse_is_an_error_naming_its_place_not_a_blank()
    -> PolarsResult<()> {
        let good = df!(
            "day" => [Some("2020-09-30"), None, Some("")],
            "at" => [Some("2020-10-15T10:00:00Z"), Some(""), None],
        )?;
        let rows = Dated::rows(&good)?;
        assert_eq!(rows[0].day, chrono::NaiveDate::from_ymd_opt(2020, 9, 30));
        assert!(rows[0].at.is_some() && rows[1].at.is_none() && rows[2].day.is_none());
        let bad = df!("day" => ["2020-09-30", "30/09/2020"], "at" => ["", ""])?;
        let error = Dated::rows(&bad).err().map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("day row 2: \"30/09/2020\" is not a date")),
            "{error:?}"
        );
        Ok(())
    }

    #[test]
    fn each_kind_of_column_reads_as_its_cells_did_one_by_one() -> PolarsResult<()> {
        let frame = df!(
            "f64" => [Some(1.5f64), None],
            "f32" => [Some(2.5f32), None],
            "i64" => [Some(3i64), None],
            "i32" => [Some(-4i32), None],
            "u32" => [Some(5u32), None],
            "u64" => [Some(6u64), None],
            "text" => [Some("8"), None],
            "flag" => [Some(true), None],
        )?;
        let numbers: Vec<Option<f64>> = [1.5, 2.5, 3.0, -4.0, 5.0, 6.0]
            .into_iter()
            .map(Some)
            // Text and true-or-false read as no number.
            .chain([None, None])
            .collect();
        for (column, number) in frame.columns().iter().zip(numbers) {
            let cells = super::Cells::of(column)?;
            assert_eq!(cells.number(0)?, number, "{}", column.name());
            assert_eq!(cells.number(1)?, None);
            let flag = (column.name().as_str() == "flag").then_some(true);
            assert_eq!(cells.flag(0)?, flag, "{}", column.name());
            assert_eq!(cells.flag(1)?, None);
            assert_eq!(cells.text(1)?, "");
        }
        let text = super::Cells::of(frame.column("i32")?)?.text(0)?;
        assert_eq!(text, "-4");
        Ok(())
    }

    #[test]
    fn a_missing_column_is_an_error_naming_it() -> PolarsResult<()> {
        let frame = df!("name" => ["a"])?;
        let error = Sample::rows(&frame).err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("ref")));
        Ok(())
    }
}
