//! Lays a return out on its sheets and writes it: labelled blocks of figures, cells at fixed addresses and
//! items found by defined name, each cell drawn as what it is for (set by `collate`, typed by the
//! department, or closed), and every cell a department types into recorded for the guards.

use std::collections::HashMap;

use chrono::Datelike;
use rust_xlsxwriter::{
    Color, ExcelDateTime, Format, FormatBorder, Formula, Workbook, Worksheet, XlsxError,
};

use super::inputs::Input;
use crate::excel::cell_sum;

/// What goes into one cell of a return.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Number(f64),
    Text(String),
    Date(chrono::NaiveDate),
}

impl From<f64> for Entry {
    fn from(value: f64) -> Self {
        Entry::Number(value)
    }
}

impl From<&str> for Entry {
    fn from(value: &str) -> Self {
        Entry::Text(value.to_owned())
    }
}

/// What a laid-out cell holds.
#[derive(Debug, Clone)]
pub(super) enum Placed {
    Entry(Entry),
    /// A Total: the sum of the cells under these headings on the same row.
    SumOf(Vec<String>),
}

/// What a cell is for, which decides how it is drawn and guarded.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CellRole {
    /// Set by `collate` (the template, its version, the department, a total's formula): locked.
    Fixed,
    /// For the department to type into: open, shaded, validated and named.
    Input(Box<Input>),
    /// A quarter after the return's own: greyed and locked, since nothing is due there yet.
    Closed,
}

/// A figure a template has a cell for: (indicator, measure, year offset, column heading).
pub(super) type FigureKey = (String, String, i32, String);

/// A labelled grid: an optional anchor label, column headings, and labelled rows.
#[derive(Debug, Default)]
pub(super) struct Block {
    within: Option<String>,
    title: String,
    headings: Vec<String>,
    rows: Vec<String>,
    cells: HashMap<(String, String), (Option<Placed>, CellRole)>,
    figures: HashMap<(String, String), FigureKey>,
    merged_rows: Vec<(String, String)>,
}

impl Block {
    pub fn cell(&mut self, row: &str, heading: &str, entry: Option<Placed>, role: CellRole) {
        if !self.rows.iter().any(|r| r == row) {
            self.rows.push(row.to_owned());
        }
        if !self.headings.iter().any(|h| h == heading) {
            self.headings.push(heading.to_owned());
        }
        self.cells
            .insert((row.to_owned(), heading.to_owned()), (entry, role));
    }

    /// Marks the cell of `row` and `heading` as the one holding a figure.
    pub fn figure(&mut self, row: &str, heading: &str, key: FigureKey) {
        self.figures
            .insert((row.to_owned(), heading.to_owned()), key);
    }

    pub fn merge_across(&mut self, row: &str, heading: &str) {
        self.merged_rows.push((row.to_owned(), heading.to_owned()));
    }
}

/// An item at a fixed address, with the label written to its left.
#[derive(Debug)]
struct FixedItem {
    sheet: String,
    row: u32,
    col: u32,
    label: String,
    entry: Option<Placed>,
    role: CellRole,
}

/// An item found by defined name, listed on the first sheet.
#[derive(Debug)]
struct NamedItem {
    name: String,
    label: String,
    entry: Option<Placed>,
    role: CellRole,
}

#[derive(Debug, Default)]
pub(super) struct Layout {
    /// Sheets in order, each with its blocks in order.
    sheets: Vec<(String, Vec<Block>)>,
    fixed: Vec<FixedItem>,
    named: Vec<NamedItem>,
}

/// Where the cells the department types into ended up, and where each figure is.
#[derive(Debug, Default)]
pub(super) struct Written {
    /// (sheet, row, column, what it takes).
    pub inputs: Vec<(String, u32, u16, Input)>,
    pub figures: HashMap<FigureKey, (String, u32, u16)>,
    /// The schema's own defined names (items it finds by name), with their targets.
    pub names: Vec<(String, String)>,
}

impl Layout {
    fn sheet(&mut self, sheet: &str) -> &mut Vec<Block> {
        if !self.sheets.iter().any(|(name, _)| name == sheet) {
            self.sheets.push((sheet.to_owned(), Vec::new()));
        }
        let position = self
            .sheets
            .iter()
            .position(|(name, _)| name == sheet)
            .unwrap_or(0);
        &mut self.sheets[position].1
    }

    pub fn block(&mut self, sheet: &str, within: Option<&str>, title: String) -> &mut Block {
        let blocks = self.sheet(sheet);
        let position = match blocks.iter().position(|b| b.within.as_deref() == within) {
            Some(position) => position,
            None => {
                blocks.push(Block {
                    within: within.map(str::to_owned),
                    title,
                    ..Block::default()
                });
                blocks.len() - 1
            }
        };
        &mut blocks[position]
    }

    pub fn place(
        &mut self,
        locator: &crate::schema::Locator,
        (label, title): (&str, Option<String>),
        entry: Option<Placed>,
        role: CellRole,
    ) {
        use crate::schema::Locator;
        match locator {
            Locator::Label {
                sheet,
                within,
                row,
                column,
            } => {
                self.block(sheet, within.as_deref(), title.unwrap_or_default())
                    .cell(row, column, entry, role);
            }
            Locator::Cell { sheet, row, col } => {
                self.sheet(sheet);
                self.fixed.push(FixedItem {
                    sheet: sheet.clone(),
                    row: *row,
                    col: *col,
                    label: label.to_owned(),
                    entry,
                    role,
                });
            }
            Locator::Name(name) => self.named.push(NamedItem {
                name: name.clone(),
                label: label.to_owned(),
                entry,
                role,
            }),
        }
    }

    /// Writes every sheet into `workbook`, the first with the title; returns where the inputs went.
    pub fn write(
        &self,
        workbook: &mut Workbook,
        title: &str,
        hidden: &[String],
    ) -> Result<Written, XlsxError> {
        let mut written = Written::default();
        for (index, (sheet_name, blocks)) in self.sheets.iter().enumerate() {
            let sheet = workbook.add_worksheet();
            sheet.set_name(sheet_name)?;
            if hidden.contains(sheet_name) {
                sheet.set_hidden(true);
            }
            sheet.set_column_width(0, 10)?;
            sheet.set_column_width(1, 48)?;
            sheet.set_column_range_width(2, 12, 12)?;
            // A department may print it to fill in by hand or to check: A4 landscape, one page wide.
            sheet
                .set_landscape()
                .set_paper_size(9)
                .set_print_fit_to_pages(1, 0);
            let mut writer = SheetWriter {
                sheet,
                name: sheet_name,
                written: &mut written,
            };
            let mut row = 0u32;
            if index == 0 {
                writer
                    .sheet
                    .write_string_with_format(0, 0, title, &bold())?;
                row = 2;
            }
            for block in blocks {
                row = writer.block(row, block)? + 1;
            }
            self.write_fixed(&mut writer)?;
            if index == 0 {
                self.write_named(&mut writer, row)?;
            }
        }
        Ok(written)
    }

    /// The items placed at fixed cells of this sheet, each with its label to the left.
    fn write_fixed(&self, writer: &mut SheetWriter<'_>) -> Result<(), XlsxError> {
        let sheet_name = writer.name;
        for item in self.fixed.iter().filter(|item| item.sheet == sheet_name) {
            let col = u16::try_from(item.col).unwrap_or(u16::MAX);
            if col > 0 {
                writer
                    .sheet
                    .write_string_with_format(item.row, col - 1, &item.label, &bold())?;
            }
            writer.cell((item.row, col), item.entry.as_ref(), &item.role)?;
        }
        Ok(())
    }

    /// The items found by defined name, listed from `row` on, each named where it is.
    fn write_named(&self, writer: &mut SheetWriter<'_>, mut row: u32) -> Result<(), XlsxError> {
        for item in &self.named {
            writer
                .sheet
                .write_string_with_format(row, 1, &item.label, &bold())?;
            writer.cell((row, 2), item.entry.as_ref(), &item.role)?;
            let target = format!(
                "='{}'!{}",
                writer.name.replace('\'', "''"),
                absolute(row, 2)
            );
            writer.written.names.push((item.name.clone(), target));
            row += 1;
        }
        Ok(())
    }
}

/// "$C$3": an absolute reference, as defined names take them.
pub(super) fn absolute(row: u32, col: u16) -> String {
    rust_xlsxwriter::utility::row_col_to_cell_absolute(row, col)
}

fn bold() -> Format {
    Format::new().set_bold()
}

/// How a cell is drawn for its role: inputs open and shaded pale yellow, closed cells grey and locked.
fn role_format(role: &CellRole, date: bool, wrap: bool) -> Format {
    let mut format = match role {
        CellRole::Fixed => Format::new(),
        CellRole::Input(_) => Format::new()
            .set_unlocked()
            .set_background_color(Color::RGB(0xFF_F2_CC))
            .set_border(FormatBorder::Thin)
            .set_border_color(Color::RGB(0xBF_BF_BF)),
        CellRole::Closed => Format::new()
            .set_background_color(Color::RGB(0xD9_D9_D9))
            .set_border(FormatBorder::Thin)
            .set_border_color(Color::RGB(0xBF_BF_BF)),
    };
    if date {
        format = format.set_num_format("dd/mm/yyyy");
    }
    if wrap {
        format = format
            .set_text_wrap()
            .set_align(rust_xlsxwriter::FormatAlign::Top);
    }
    format
}

/// Writes the cells of one sheet, noting where inputs and figures land.
struct SheetWriter<'w> {
    sheet: &'w mut Worksheet,
    name: &'w str,
    written: &'w mut Written,
}

impl SheetWriter<'_> {
    /// One block: its anchor label and title, its headings, then its labelled rows; returns the row after.
    fn block(&mut self, mut row: u32, block: &Block) -> Result<u32, XlsxError> {
        if let Some(within) = &block.within {
            self.sheet
                .write_string_with_format(row, 0, within, &bold())?;
            self.sheet
                .write_string_with_format(row, 1, &block.title, &bold())?;
            row += 1;
        }
        let item = if block.within.is_some() {
            "Measure"
        } else {
            "Item"
        };
        self.sheet.write_string_with_format(row, 1, item, &bold())?;
        for (offset, heading) in block.headings.iter().enumerate() {
            self.sheet
                .write_string_with_format(row, 2 + offset as u16, heading, &bold())?;
        }
        row += 1;
        for label in &block.rows {
            self.sheet.write_string(row, 1, label)?;
            for (offset, heading) in block.headings.iter().enumerate() {
                self.block_cell((row, offset), block, (label, heading))?;
            }
            row += 1;
        }
        Ok(row)
    }

    /// The cell of one row label and heading of a block.
    fn block_cell(
        &mut self,
        (row, offset): (u32, usize),
        block: &Block,
        (label, heading): (&String, &String),
    ) -> Result<(), XlsxError> {
        let col = 2 + offset as u16;
        let key = (label.clone(), heading.clone());
        if let Some(figure) = block.figures.get(&key) {
            self.written
                .figures
                .insert(figure.clone(), (self.name.to_owned(), row, col));
        }
        let Some((entry, role)) = block.cells.get(&key) else {
            return Ok(());
        };
        if block.merged_rows.contains(&key) {
            let last = (2 + block.headings.len().max(offset + 2) as u16 - 1).max(col + 1);
            let text = match entry {
                Some(Placed::Entry(Entry::Text(text))) => text.as_str(),
                _ => "",
            };
            let format = role_format(role, false, true);
            self.sheet.merge_range(row, col, row, last, text, &format)?;
            self.sheet.set_row_height(row, 60)?;
            self.note_input((row, col), role);
            return Ok(());
        }
        match entry {
            Some(Placed::SumOf(headings)) => self.sum_of((row, col), block, label, headings),
            entry => self.cell((row, col), entry.as_ref(), role),
        }
    }

    /// A cell as its role draws it, holding `entry` if any.
    fn cell(
        &mut self,
        (row, col): (u32, u16),
        entry: Option<&Placed>,
        role: &CellRole,
    ) -> Result<(), XlsxError> {
        let is_date = matches!(role, CellRole::Input(input) if input.kind == crate::schema::ValueKind::Date)
            || matches!(entry, Some(Placed::Entry(Entry::Date(_))));
        let format = role_format(role, is_date, false);
        match entry {
            Some(Placed::Entry(entry)) => write_entry(self.sheet, (row, col), entry, &format)?,
            _ if *role != CellRole::Fixed => {
                self.sheet.write_blank(row, col, &format)?;
            }
            _ => {}
        }
        self.note_input((row, col), role);
        Ok(())
    }

    fn note_input(&mut self, (row, col): (u32, u16), role: &CellRole) {
        if let CellRole::Input(input) = role {
            self.written
                .inputs
                .push((self.name.to_owned(), row, col, (**input).clone()));
        }
    }

    /// A total as a formula summing the cells under `headings` on its row, with their sum as its value.
    fn sum_of(
        &mut self,
        (row, col): (u32, u16),
        block: &Block,
        label: &str,
        headings: &[String],
    ) -> Result<(), XlsxError> {
        let cols: Vec<u16> = headings
            .iter()
            .filter_map(|h| block.headings.iter().position(|x| x == h))
            .map(|p| 2 + p as u16)
            .collect();
        let (Some(first), Some(last)) = (cols.first(), cols.last()) else {
            return Ok(());
        };
        let sum = cell_sum(cols.iter().filter_map(|c| {
            let heading = &block.headings[usize::from(*c - 2)];
            match block.cells.get(&(label.to_owned(), heading.clone())) {
                Some((Some(Placed::Entry(Entry::Number(n))), _)) => Some(*n),
                _ => None,
            }
        }));
        let cell = rust_xlsxwriter::utility::row_col_to_cell;
        let formula = Formula::new(format!("=SUM({}:{})", cell(row, *first), cell(row, *last)))
            .set_result(sum.to_string());
        self.sheet.write_formula(row, col, formula)?;
        Ok(())
    }
}

fn write_entry(
    sheet: &mut Worksheet,
    (row, col): (u32, u16),
    entry: &Entry,
    format: &Format,
) -> Result<(), XlsxError> {
    match entry {
        Entry::Number(number) => {
            sheet.write_number_with_format(row, col, *number, format)?;
        }
        Entry::Text(text) => {
            sheet.write_string_with_format(row, col, text, format)?;
        }
        Entry::Date(date) => {
            let date =
                ExcelDateTime::from_ymd(date.year() as u16, date.month() as u8, date.day() as u8)?;
            sheet.write_datetime_with_format(row, col, &date, format)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn absolute_references_pin_column_and_row() {
        assert_eq!(super::absolute(2, 2), "$C$3");
        assert_eq!(super::absolute(0, 27), "$AB$1");
    }
}
