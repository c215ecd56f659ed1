//! Reading consolidated tables back as typed rows: the hand-off to render, so that a table's column names
//! are written only where consolidation builds it and where its row type is declared.

use polars::prelude::{AnyValue, Column, PolarsResult};

/// Declares a consolidated table's row type and how it is read from the table: each field is read from the
/// column of its own name (or the one given after `=`), as `text`, `number`, `flag`, `optional_text`, or
/// as a financial `year` (its first calendar year) or a `quarter` (1–4) from a number column, or as a
/// `date` (ISO 8601) or a `time` (RFC 3339) from the text consolidation keeps them as, or as the enums
/// of a plan status's kind (`status_kind`) and a plan exception's kind (`exception_kind`).
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
                $( let $field = frame.column(table_rows!(@column $field $($column)?))?; )*
                (0..frame.height())
                    .map(|i| {
                        Ok(Self {
                            $( $field: $crate::consolidate::rows::$kind($field, i)? ),*
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
    (@type quarter) => { Option<$crate::period::Quarter> };
    (@column $field:ident) => { stringify!($field) };
    (@column $field:ident $column:literal) => { $column };
}

pub(crate) use table_rows;

/// A cell as text, whatever its type; a null reads as empty.
pub(crate) fn text(column: &Column, row: usize) -> PolarsResult<String> {
    Ok(match column.get(row)? {
        AnyValue::Null => String::new(),
        AnyValue::String(text) => text.to_owned(),
        AnyValue::StringOwned(text) => text.to_string(),
        other => other.to_string(),
    })
}

/// A cell as text, `None` when null or empty.
pub(crate) fn optional_text(column: &Column, row: usize) -> PolarsResult<Option<String>> {
    Ok(Some(text(column, row)?).filter(|text| !text.is_empty()))
}

/// A cell as a number; a null or a text reads as `None`.
pub(crate) fn number(column: &Column, row: usize) -> PolarsResult<Option<f64>> {
    Ok(match column.get(row)? {
        AnyValue::Float64(n) => Some(n),
        AnyValue::Float32(n) => Some(f64::from(n)),
        AnyValue::Int64(n) => Some(n as f64),
        AnyValue::Int32(n) => Some(f64::from(n)),
        AnyValue::UInt32(n) => Some(f64::from(n)),
        AnyValue::UInt64(n) => Some(n as f64),
        _ => None,
    })
}

/// A financial year from its first calendar year; 0 or null (no year) reads as `None`.
pub(crate) fn year(
    column: &Column,
    row: usize,
) -> PolarsResult<Option<crate::period::FinancialYear>> {
    Ok(number(column, row)?
        .filter(|year| *year >= 1.0)
        .map(|year| crate::period::FinancialYear(year as i32)))
}

/// A quarter from its number; 0 or null (a whole-year or plan return) reads as `None`.
pub(crate) fn quarter(column: &Column, row: usize) -> PolarsResult<Option<crate::period::Quarter>> {
    Ok(number(column, row)?
        .filter(|q| (1.0..=4.0).contains(q))
        .and_then(|q| crate::period::Quarter::new(q as u8)))
}

/// A date written as consolidation writes one (`2020-09-30`); empty or null reads as `None`.
pub(crate) fn date(column: &Column, row: usize) -> PolarsResult<Option<chrono::NaiveDate>> {
    Ok(optional_text(column, row)?
        .and_then(|text| chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()))
}

/// A time as the store records one (RFC 3339); empty or null reads as `None`.
pub(crate) fn time(
    column: &Column,
    row: usize,
) -> PolarsResult<Option<chrono::DateTime<chrono::FixedOffset>>> {
    Ok(optional_text(column, row)?
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(&text).ok()))
}

/// A plan status's kind, as consolidation's tables write it ("on_track").
pub(crate) fn status_kind(
    column: &Column,
    row: usize,
) -> PolarsResult<Option<crate::schema::StatusKind>> {
    Ok(crate::schema::StatusKind::parse(&text(column, row)?))
}

/// A plan exception's kind, from the label its table gives it.
pub(crate) fn exception_kind(
    column: &Column,
    row: usize,
) -> PolarsResult<Option<super::PlanExceptionKind>> {
    Ok(super::PlanExceptionKind::from_label(&text(column, row)?))
}

/// A cell as true or false; anything else reads as `None`.
pub(crate) fn flag(column: &Column, row: usize) -> PolarsResult<Option<bool>> {
    Ok(match column.get(row)? {
        AnyValue::Boolean(value) => Some(value),
        _ => None,
    })
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
