//! Writes the outputs a person reads: the master dashboard, the consolidated exceptions workbook, the
//! per-return exception reports, the board paper, the plan trackers, the pack's cover and the draft
//! replies and reminders. Each is built in memory and written atomically by the caller.

mod board;
mod dashboard;
mod exceptions;
mod figures;
mod pack;
mod plans;
mod received;
mod reply;
mod wrapped;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::excel::fit_cell;
use crate::period::FinancialYear;
use wrapped::WrappedRows;

pub use board::{Edition, LateArrival, PaperStatus, SinceVersion, board_paper_docx};
pub use dashboard::dashboard_workbook;
pub use exceptions::{exceptions_workbook, return_report_json, return_report_workbook};
pub use pack::{OwedReturn, pack_cover};
pub use plans::PLAN_STATUS_HEADERS;
pub use reply::{
    Reminder, reminder_draft, reply_draft, reply_recipients, reply_withheld, withheld_from,
};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Xlsx(#[from] XlsxError),
    #[error("{0}")]
    Polars(#[from] polars::error::PolarsError),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The board paper could not be laid out.
    #[error("{0}")]
    Document(String),
}

/// A new workbook whose bytes depend only on what is written into it: the creation time is fixed, since
/// the same inputs must give the same workbook.
fn deterministic_workbook(title: &str) -> Result<Workbook, XlsxError> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
    workbook.set_properties(
        &DocProperties::new()
            .set_title(title)
            .set_creation_datetime(&created),
    );
    Ok(workbook)
}

/// [`deterministic_workbook`] for the owner's dashboard and exceptions workbooks, packed with deflate's
/// fastest level. They are rewritten on every pass and grow with the store, and at the default level
/// packing is most of the time spent saving them (1,000 returns: 107 M of the 151 M instructions);
/// the fastest level takes a quarter of that, for files a third larger (150 → 216 KB). The per-return
/// reports, which travel by email, keep the default.
fn owners_workbook(title: &str) -> Result<Workbook, XlsxError> {
    let mut workbook = deterministic_workbook(title)?;
    workbook.set_zip_compression_level(1);
    Ok(workbook)
}

/// One of the owner's workbooks saved: the file's bytes, and the workbook they were made from. Freeing a
/// large workbook's cells takes a while (about 15 ms for each at 12,000 returns), so whoever writes the
/// file frees the workbook once the file is written, rather than before it is.
pub struct SavedWorkbook {
    pub bytes: Vec<u8>,
    pub workbook: Workbook,
}

impl SavedWorkbook {
    fn save(mut workbook: Workbook) -> Result<SavedWorkbook, XlsxError> {
        let bytes = workbook.save_to_buffer()?;
        Ok(SavedWorkbook { bytes, workbook })
    }
}

/// Every sheet a person reads prints on A4 landscape, one page wide, its heading row (if any) repeated on
/// every page.
fn print_on_a4(sheet: &mut Worksheet, heading_row: Option<u32>) -> Result<(), XlsxError> {
    sheet.set_landscape();
    sheet.set_paper_size(9);
    sheet.set_margins(0.4, 0.4, 0.5, 0.5, 0.3, 0.3);
    sheet.set_print_fit_to_pages(1, 0);
    if let Some(row) = heading_row {
        sheet.set_repeat_rows(row, row)?;
    }
    Ok(())
}

/// A sheet that lists things a person works through: its name, its bold heading row, printed on A4 with
/// that row on every page.
fn list_sheet(sheet: &mut Worksheet, name: &str, headers: &[&str]) -> Result<(), XlsxError> {
    sheet.set_name(name)?;
    print_on_a4(sheet, Some(0))?;
    for (col, header) in headers.iter().enumerate() {
        sheet.write_text_with_format(0, col as u16, *header, &bold())?;
    }
    Ok(())
}

/// A list sheet of text rows, each wrapped in its columns of `widths` and as tall as its text.
fn wrapped_list_sheet(
    sheet: &mut Worksheet,
    (name, headers, widths): (&str, &[&str], &[f64]),
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<(), RenderError> {
    list_sheet(sheet, name, headers)?;
    let mut wrapped_rows = WrappedRows::new(widths);
    for (i, cells) in rows.into_iter().enumerate() {
        wrapped_rows.write(sheet, 1 + i as u32, 0, cells)?;
    }
    wrapped_rows.finish(sheet)?;
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    Ok(())
}

/// A table for machines (Power BI, pivots) is left out of the printout: its print area is an empty cell,
/// which an office suite does not print.
fn not_printed(sheet: &mut Worksheet, last_col: u16) -> Result<(), XlsxError> {
    // An empty cell beside the table: office suites leave an empty print area out of the printout.
    sheet.set_print_area(0, last_col + 2, 0, last_col + 2)?;
    print_on_a4(sheet, None)
}

/// How many lines `text` wraps to in a column `width` characters wide (Excel's column width unit).
pub(crate) fn text_lines(text: &str, width: f64) -> usize {
    // A width unit is the widest digit; ordinary text runs about 1.2 characters to the unit. Counting a
    // little under that leaves a margin: a row a line too tall is better than one that overprints.
    let per_line = (width * 1.1).max(1.0) as usize;
    text.split('\n')
        .map(|line| line.chars().count().div_ceil(per_line).max(1))
        .sum()
}

/// A row tall enough for its wrapped text: Excel and LibreOffice do not size rows on opening, and wrapped
/// lines would print over the next row.
fn fit_row(sheet: &mut Worksheet, row: u32, lines: usize) -> Result<(), XlsxError> {
    sheet.set_row_height(row, 14.5 * lines.max(1) as f64 + 1.5)?;
    Ok(())
}

fn bold() -> Format {
    Format::new().set_bold()
}

fn heading() -> Format {
    Format::new().set_bold().set_font_size(14)
}

fn wrapped() -> Format {
    Format::new()
        .set_text_wrap()
        .set_align(rust_xlsxwriter::FormatAlign::Top)
}

/// Every text cell of every output goes through here: text copied from a return is cut at Excel's cell
/// limit with a visible marker, so that no return can make a workbook Excel refuses to write or open.
trait WriteText {
    fn write_text(
        &mut self,
        row: u32,
        col: u16,
        text: impl AsRef<str> + Into<String>,
    ) -> Result<&mut Worksheet, XlsxError>;
    fn write_text_with_format(
        &mut self,
        row: u32,
        col: u16,
        text: impl AsRef<str> + Into<String>,
        format: &Format,
    ) -> Result<&mut Worksheet, XlsxError>;
}

impl WriteText for Worksheet {
    fn write_text(
        &mut self,
        row: u32,
        col: u16,
        text: impl AsRef<str> + Into<String>,
    ) -> Result<&mut Worksheet, XlsxError> {
        self.write_string(row, col, fitted(text))
    }

    fn write_text_with_format(
        &mut self,
        row: u32,
        col: u16,
        text: impl AsRef<str> + Into<String>,
        format: &Format,
    ) -> Result<&mut Worksheet, XlsxError> {
        self.write_string_with_format(row, col, fitted(text), format)
    }
}

/// `text` as a cell takes it: text already made for the cell is handed over as it is, not copied (the
/// long lists write some 170,000 cells at 12,000 returns).
fn fitted(text: impl AsRef<str> + Into<String>) -> String {
    if let std::borrow::Cow::Owned(cut) = fit_cell(text.as_ref()) {
        return cut;
    }
    text.into()
}

/// The date a quarter's returns are due, as the board reads dates ("30/10/2020"): the schema's
/// `returns_due_days` after the quarter ends. Empty for a whole-year period.
pub fn due_by(schemas: &crate::schema::Schemas, period: crate::period::Period) -> String {
    uk_day(schemas.returns_due(period))
}

/// A return's period as the owner reads it: a plan update's own period, else "2020/21 Q2" or "2020/21".
pub(crate) fn period_label(
    plan_period: &str,
    year: Option<FinancialYear>,
    quarter: Option<crate::period::Quarter>,
) -> String {
    if !plan_period.is_empty() {
        return plan_period.to_owned();
    }
    match year {
        // Written digit by digit, as times are: the long lists write some 24,000 of them.
        Some(FinancialYear(first @ 1000..=9999)) => {
            let first = first.unsigned_abs();
            let mut text = String::with_capacity("2020/21 Q2".len());
            push_digits(&mut text, first, 4);
            text.push('/');
            push_digits(&mut text, (first + 1) % 100, 2);
            if let Some(quarter) = quarter {
                text.push_str(" Q");
                push_digits(&mut text, u32::from(quarter.number()), 1);
            }
            text
        }
        Some(year) => crate::period::Period { year, quarter }.to_string(),
        None => String::new(),
    }
}

/// A department's name as the owner knows it.
pub(crate) fn department_name(schemas: &crate::schema::Schemas, id: &str) -> String {
    schemas
        .department(id)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| id.to_owned())
}

/// Excel refuses sheet names over 31 characters or with []:*?/\ in them.
fn sheet_name(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .collect();
    cleaned.chars().take(31).collect()
}

/// A time as every output writes one: `15/10/2020 10:00`, in the offset it was recorded with (a time
/// received is UTC; a time sent, the sender's); empty when there is none.
pub(crate) fn uk_clock<Zone: chrono::TimeZone>(time: Option<chrono::DateTime<Zone>>) -> String
where
    Zone::Offset: std::fmt::Display,
{
    use chrono::Timelike;
    let Some(time) = time else {
        return String::new();
    };
    match uk_date(time.date_naive()) {
        // Written digit by digit: chrono reads its format string anew for every time, and the long lists
        // write some 36,000 of them at 12,000 returns.
        Some(mut text) => {
            text.push(' ');
            push_digits(&mut text, time.hour(), 2);
            text.push(':');
            push_digits(&mut text, time.minute(), 2);
            text
        }
        None => time.format("%d/%m/%Y %H:%M").to_string(),
    }
}

/// A date as every output writes one: `15/10/2020`; empty when there is none.
pub(crate) fn uk_day(date: Option<chrono::NaiveDate>) -> String {
    date.map(|d| uk_date(d).unwrap_or_else(|| d.format("%d/%m/%Y").to_string()))
        .unwrap_or_default()
}

/// `15/10/2020`, for a year of four digits (chrono's `%Y` writes others with a sign).
fn uk_date(date: chrono::NaiveDate) -> Option<String> {
    use chrono::Datelike;
    let year = u32::try_from(date.year())
        .ok()
        .filter(|year| *year <= 9999)?;
    let mut text = String::with_capacity("15/10/2020 07:05".len());
    push_digits(&mut text, date.day(), 2);
    text.push('/');
    push_digits(&mut text, date.month(), 2);
    text.push('/');
    push_digits(&mut text, year, 4);
    Some(text)
}

/// The last `width` decimal digits of `value`, zero-padded: `{value:0width$}` for a value that fits.
fn push_digits(text: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u32.pow(place) % 10;
        text.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};

    #[test]
    fn times_and_days_read_as_chrono_writes_them_whatever_the_year_and_zone() {
        let days = [
            (2020, 10, 15),
            (2021, 1, 1),
            (999, 12, 31),
            (0, 2, 29),
            (9999, 12, 31),
        ]
        .into_iter()
        .chain([(10000, 1, 1), (-1, 6, 5)])
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d));
        for day in days {
            assert_eq!(uk_day(Some(day)), day.format("%d/%m/%Y").to_string());
            let time = day.and_hms_opt(7, 5, 9).expect("time");
            let utc = Utc.from_utc_datetime(&time);
            assert_eq!(
                uk_clock(Some(utc)),
                utc.format("%d/%m/%Y %H:%M").to_string()
            );
            let sent = FixedOffset::east_opt(-5 * 3600)
                .expect("zone")
                .from_utc_datetime(&time);
            assert_eq!(
                uk_clock(Some(sent)),
                sent.format("%d/%m/%Y %H:%M").to_string()
            );
        }
        assert_eq!(uk_day(NaiveDate::from_ymd_opt(2020, 10, 15)), "15/10/2020");
        let late = Utc.with_ymd_and_hms(2021, 3, 31, 23, 59, 0).single();
        assert_eq!(uk_clock(late), "31/03/2021 23:59");
        assert_eq!(uk_clock(None::<chrono::DateTime<Utc>>), "");
    }

    #[test]
    fn a_period_reads_as_the_period_writes_itself_whatever_the_year() {
        let quarters = std::iter::once(None).chain(crate::period::Quarter::ALL.map(Some));
        for quarter in quarters {
            for first in [-5, 0, 999, 1000, 2020, 2098, 2099, 9999, 10_000] {
                let year = FinancialYear(first);
                assert_eq!(
                    period_label("", Some(year), quarter),
                    crate::period::Period { year, quarter }.to_string()
                );
            }
        }
        assert_eq!(period_label("", Some(FinancialYear(2020)), None), "2020/21");
        assert_eq!(
            period_label("2021/22 H1", Some(FinancialYear(2020)), None),
            "2021/22 H1"
        );
        assert_eq!(period_label("", None, None), "");
    }
}
