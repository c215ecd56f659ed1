//! Rows of wrapped text, top-aligned, each row as tall as its longest cell: the long lists (every return
//! received, every return not in use) and the reports' exception lines.
//!
//! rust_xlsxwriter finds a format's index by hashing the whole `Format`; given to each row, and to each
//! empty cell as a formatted blank, that was most of the time the lists took to write (some 24,000 rows at
//! 12,000 returns). Here the format is given once to each run of up to 64 consecutive rows, and a
//! formatted blank is written only where the sheet's extent needs one: the cells, their formats and the
//! sheet's extent come out as they did when each row took its own.

use rust_xlsxwriter::{Format, Worksheet};

use super::{RenderError, WriteText, fit_row, text_lines, wrapped};

/// Made once: a format is built of several strings, and these rows run to thousands of cells.
static WRAPPED: std::sync::LazyLock<Format> = std::sync::LazyLock::new(wrapped);

/// Consecutive rows over the same columns, still to be given the wrapped format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    first_row: u32,
    last_row: u32,
    first_col: u16,
    last_col: u16,
}

/// The most rows given their format at once: rows a little behind the one being written are still in
/// the processor's cache; given all at the end, the 12,000 rows of a long list took longer than when each
/// row took its own format.
const RUN_ROWS: u32 = 64;

/// What has been written in one column.
#[derive(Debug, Clone, Copy, Default)]
struct Column {
    /// A row with a cell in this column, if any.
    row: Option<u32>,
    /// Whether a text (or a row's only blank) has been written in it.
    written: bool,
}

/// Writes rows of wrapped cells into one sheet; [`WrappedRows::finish`] gives the last ones their format.
#[must_use = "the last rows take their format only when finished"]
pub(crate) struct WrappedRows<'w> {
    widths: &'w [f64],
    /// The rows written since the last were given their format; `None` before the first row.
    pending: Option<Option<Run>>,
    /// By column number.
    columns: Vec<Column>,
}

impl<'w> WrappedRows<'w> {
    /// Rows whose cells wrap in columns `widths` wide (the first cell in the first width, and so on).
    pub fn new(widths: &'w [f64]) -> WrappedRows<'w> {
        WrappedRows {
            widths,
            pending: None,
            columns: Vec::new(),
        }
    }

    /// Writes `cells` into `row` from `first_col`, and makes the row tall enough for the longest.
    pub fn write<Text: AsRef<str> + Into<String>>(
        &mut self,
        sheet: &mut Worksheet,
        row: u32,
        first_col: u16,
        cells: impl IntoIterator<Item = Text>,
    ) -> Result<(), RenderError> {
        let (mut any_text, mut last_col, mut lines) = (false, None, 1);
        for ((index, text), col) in cells.into_iter().enumerate().zip(first_col..) {
            if let Some(width) = self.widths.get(index) {
                lines = lines.max(text_lines(text.as_ref(), *width));
            }
            let column = self.column(col);
            column.row.get_or_insert(row);
            if !text.as_ref().is_empty() {
                sheet.write_text(row, col, text)?;
                self.column(col).written = true;
                any_text = true;
            }
            last_col = Some(col);
        }
        if let Some(last_col) = last_col {
            if !any_text {
                // Before the row's height is set, which takes the sheet's first column as it then is.
                sheet.write_blank(row, first_col, &WRAPPED)?;
                self.column(first_col).written = true;
            }
            self.add_to_run(
                sheet,
                Run {
                    first_row: row,
                    last_row: row,
                    first_col,
                    last_col,
                },
            )?;
        }
        fit_row(sheet, row, lines)?;
        Ok(())
    }

    /// Gives the last rows their format, and writes a formatted blank in each column nothing was written
    /// in, for the sheet's extent (each row's is kept by its height, set as it is written).
    pub fn finish(self, sheet: &mut Worksheet) -> Result<(), RenderError> {
        if let Some(Some(run)) = self.pending {
            format_run(sheet, run)?;
        }
        for (col, column) in (0..).zip(&self.columns) {
            if let (Some(row), false) = (column.row, column.written) {
                sheet.write_blank(row, col, &WRAPPED)?;
            }
        }
        Ok(())
    }

    fn column(&mut self, col: u16) -> &mut Column {
        let col = usize::from(col);
        if self.columns.len() <= col {
            self.columns.resize(col + 1, Column::default());
        }
        &mut self.columns[col]
    }

    /// Adds `row` to the run in hand when it follows it over the same columns and the run is not full;
    /// else gives the run its format and starts another. The first row takes its format at once: a
    /// format is numbered in the sheet where it is first looked up, as when each row took it.
    fn add_to_run(&mut self, sheet: &mut Worksheet, row: Run) -> Result<(), RenderError> {
        match &mut self.pending {
            None => {
                format_run(sheet, row)?;
                self.pending = Some(None);
            }
            Some(Some(run))
                if run.last_row + 1 == row.first_row
                    && (run.first_col, run.last_col) == (row.first_col, row.last_col)
                    && run.last_row - run.first_row + 1 < RUN_ROWS =>
            {
                run.last_row = row.first_row;
            }
            Some(pending) => {
                if let Some(run) = pending.replace(row) {
                    format_run(sheet, run)?;
                }
            }
        }
        Ok(())
    }
}

fn format_run(sheet: &mut Worksheet, run: Run) -> Result<(), RenderError> {
    sheet.set_range_format(
        run.first_row,
        run.first_col,
        run.last_row,
        run.last_col,
        &WRAPPED,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::deterministic_workbook;

    /// Rows as each took its format before: a formatted blank for each empty cell, the row's format.
    fn row_by_row(sheet: &mut Worksheet, rows: &[(u32, u16, Vec<&str>)], widths: &[f64]) {
        for (row, first_col, cells) in rows {
            for (col, text) in (*first_col..).zip(cells) {
                match text.is_empty() {
                    true => sheet.write_blank(*row, col, &WRAPPED).map(|_| ()),
                    false => sheet.write_text(*row, col, *text).map(|_| ()),
                }
                .expect("cell");
            }
            if let Some(last) = cells.len().checked_sub(1) {
                let last_col = first_col + last as u16;
                sheet
                    .set_range_format(*row, *first_col, *row, last_col, &WRAPPED)
                    .expect("format");
            }
            let lines = cells
                .iter()
                .zip(widths)
                .map(|(t, w)| text_lines(t, *w))
                .max();
            fit_row(sheet, *row, lines.unwrap_or(1)).expect("height");
        }
    }

    fn saved(write: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
        let mut workbook = deterministic_workbook("rows").expect("workbook");
        write(workbook.add_worksheet());
        workbook.save_to_buffer().expect("saved")
    }

    #[test]
    fn rows_formatted_a_run_at_a_time_make_the_same_workbook_as_rows_formatted_each_alone() {
        let widths = [10.0, 30.0, 5.0, 12.0];
        let long = "a text long enough to wrap onto a second line, and then a third one";
        let mut rows: Vec<(u32, u16, Vec<&str>)> = vec![
            (1, 1, vec!["", "first", "", ""]),
            (2, 1, vec!["b", long, "", "d"]),
            (3, 1, vec!["", "", "", ""]),
            (4, 1, vec!["c", "", "x", ""]),
            // A gap, another span, a row with no cells, a column nothing is ever written in (the last),
            // and a last row with nothing in it.
            (7, 2, vec!["e", "", "f"]),
            (8, 0, vec![]),
            (9, 6, vec!["g", ""]),
            (10, 3, vec!["", ""]),
        ];
        // A long list: more rows than are formatted at once.
        rows.extend((20..170).map(|row| (row, 1, vec![["r", ""][row as usize % 2], "", "x"])));
        rows.push((170, 1, vec!["", "", ""]));
        // A format first used while the rows are written is numbered after theirs, as before.
        let bold = Format::new().set_bold();
        let before = saved(|sheet| {
            sheet.write_string(0, 1, "heading").expect("heading");
            row_by_row(sheet, &rows[..1], &widths);
            sheet
                .write_string_with_format(0, 0, "bold", &bold)
                .expect("bold");
            row_by_row(sheet, &rows[1..], &widths);
        });
        let after = saved(|sheet| {
            sheet.write_string(0, 1, "heading").expect("heading");
            let mut wrapped = WrappedRows::new(&widths);
            for (i, (row, first_col, cells)) in rows.iter().enumerate() {
                wrapped
                    .write(sheet, *row, *first_col, cells.iter().copied())
                    .expect("row");
                if i == 0 {
                    sheet
                        .write_string_with_format(0, 0, "bold", &bold)
                        .expect("bold");
                }
            }
            wrapped.finish(sheet).expect("finished");
        });
        assert!(before == after, "the workbooks differ");
    }

    #[test]
    fn a_sheet_that_begins_with_an_empty_row_spans_the_same_columns_as_before() {
        let widths = [10.0, 10.0];
        let rows: Vec<(u32, u16, Vec<&str>)> = vec![(3, 2, vec!["", ""]), (4, 2, vec!["", "h"])];
        let before = saved(|sheet| row_by_row(sheet, &rows, &widths));
        let after = saved(|sheet| {
            let mut wrapped = WrappedRows::new(&widths);
            for (row, first_col, cells) in &rows {
                wrapped
                    .write(sheet, *row, *first_col, cells.iter().copied())
                    .expect("row");
            }
            wrapped.finish(sheet).expect("finished");
        });
        assert!(before == after, "the workbooks differ");
    }
}
