//! Writes a return workbook laid out from its template schema: blank for departments to fill in
//! (`collate template`), or filled, for sample returns, test fixtures and benchmarks.

mod plan;

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, Worksheet, XlsxError};

use crate::excel::{a1, cell_sum};
use crate::period::FinancialYear;
use crate::schema::{Catalogue, Locator, SlotKind, Template, ValueSource};

pub use plan::{PlanRow, PlanUpdateDraft};

/// What goes into one cell of a return.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Number(f64),
    Text(String),
    Date(NaiveDate),
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

/// A return being filled in: the cover, the figures by (indicator, measure, year offset, column heading),
/// and the analysis texts.
#[derive(Debug, Clone)]
pub struct ReturnDraft<'t> {
    template: &'t Template,
    catalogue: &'t Catalogue,
    identity: HashMap<&'static str, Entry>,
    fields: HashMap<String, Entry>,
    figures: HashMap<(String, String, i32, String), Entry>,
    analysis: HashMap<String, String>,
    year_headings: Vec<FinancialYear>,
    hidden: Vec<String>,
    /// Totals are written as SUM formulas, as in the departments' own templates.
    total_formulas: bool,
}

impl<'t> ReturnDraft<'t> {
    pub fn new(template: &'t Template, catalogue: &'t Catalogue) -> Self {
        let mut identity = HashMap::new();
        identity.insert("template", Entry::Text(template.id.clone()));
        identity.insert("version", Entry::Number(f64::from(template.version)));
        identity.insert("department", Entry::Text(template.department.clone()));
        ReturnDraft {
            template,
            catalogue,
            identity,
            fields: HashMap::new(),
            figures: HashMap::new(),
            analysis: HashMap::new(),
            year_headings: Vec::new(),
            hidden: Vec::new(),
            total_formulas: true,
        }
    }

    /// Sets a cover item: "template", "version", "department", "financial_year" or "quarter".
    pub fn identity(mut self, item: &'static str, entry: impl Into<Entry>) -> Self {
        self.identity.insert(item, entry.into());
        self
    }

    pub fn period(self, year: &str, quarter: &str) -> Self {
        self.identity("financial_year", year)
            .identity("quarter", quarter)
    }

    pub fn field(mut self, id: &str, entry: impl Into<Entry>) -> Self {
        self.fields.insert(id.to_owned(), entry.into());
        self
    }

    /// A figure in the column headed `heading` ("QTR 1", "Total", "2015/16"); for a single-cell value, "".
    pub fn figure(
        mut self,
        indicator: &str,
        measure: &str,
        year_offset: i32,
        heading: &str,
        entry: impl Into<Entry>,
    ) -> Self {
        let entry = entry.into();
        if let Some(year) = FinancialYear::parse(heading)
            && !self.year_headings.contains(&year)
        {
            self.year_headings.push(year);
            self.year_headings.sort();
        }
        self.figures.insert(
            (
                indicator.to_owned(),
                measure.to_owned(),
                year_offset,
                heading.to_owned(),
            ),
            entry,
        );
        self
    }

    pub fn analysis(mut self, indicator: &str, text: &str) -> Self {
        self.analysis.insert(indicator.to_owned(), text.to_owned());
        self
    }

    pub fn hide_sheet(mut self, sheet: &str) -> Self {
        self.hidden.push(sheet.to_owned());
        self
    }

    pub fn total_formulas(mut self, enabled: bool) -> Self {
        self.total_formulas = enabled;
        self
    }

    fn indicator_title(&self, code: &str) -> String {
        self.catalogue
            .indicator(code)
            .map(|i| i.title.clone())
            .unwrap_or_default()
    }

    /// The column headings of figure rows, in the order a person reads them.
    fn row_headings(&self) -> Vec<(String, Option<SlotKind>)> {
        let mut headings: Vec<(String, Option<SlotKind>)> = self
            .template
            .columns
            .by_heading
            .iter()
            .map(|(heading, kind)| (heading.clone(), Some(*kind)))
            .collect();
        let rank = |kind: &Option<SlotKind>| match kind {
            Some(SlotKind::Quarter(q)) => u32::from(q.number()),
            Some(SlotKind::Total) => 5,
            Some(SlotKind::Annual) => 6,
            None => 7,
        };
        headings.sort_by_key(|(_, kind)| rank(kind));
        if self.template.columns.year_headings {
            headings.extend(self.year_headings.iter().map(|y| (y.to_string(), None)));
        }
        headings
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, XlsxError> {
        let mut layout = Layout::default();
        for (locator, label, entry) in self.cover_items() {
            layout.place(locator, &label, entry.map(Placed::Entry), None);
        }
        let headings = self.row_headings();
        for source in &self.template.sources {
            match source {
                ValueSource::Row {
                    indicator,
                    measure,
                    sheet,
                    within,
                    row,
                    year_offset,
                } => {
                    let measure_ref = (indicator.as_str(), measure.as_str(), *year_offset);
                    let at = (sheet.as_str(), within.as_deref(), row.as_str());
                    self.place_row(&mut layout, measure_ref, at, &headings);
                }
                ValueSource::Cell {
                    indicator,
                    measure,
                    year_offset,
                    locator,
                    ..
                } => {
                    let measure_ref = (indicator.as_str(), measure.as_str(), *year_offset);
                    self.place_cell(&mut layout, measure_ref, locator);
                }
            }
        }
        self.place_analysis(&mut layout);
        layout.write(&self.template.title, &self.hidden)
    }

    /// The cover's items: which template, version, department and period, then the template's fields.
    fn cover_items(&self) -> Vec<(&Locator, String, Option<Entry>)> {
        let identity = &self.template.identity;
        let mut cover_items: Vec<(&Locator, String, Option<Entry>)> = vec![(
            &identity.template,
            "Template".into(),
            self.identity.get("template").cloned(),
        )];
        if let Some(locator) = &identity.version {
            cover_items.push((
                locator,
                "Template version".into(),
                self.identity.get("version").cloned(),
            ));
        }
        cover_items.push((
            &identity.department,
            "Department".into(),
            self.identity.get("department").cloned(),
        ));
        cover_items.push((
            &identity.financial_year,
            "Financial year".into(),
            self.identity.get("financial_year").cloned(),
        ));
        if let Some(locator) = &identity.quarter {
            cover_items.push((
                locator,
                "Quarter".into(),
                self.identity.get("quarter").cloned(),
            ));
        }
        for field in &self.template.fields {
            cover_items.push((
                &field.locator,
                field.label.clone(),
                self.fields.get(&field.id).cloned(),
            ));
        }
        cover_items
    }

    /// A measure's row of a figures table: a cell under each heading, a total summing the quarters.
    fn place_row(
        &self,
        layout: &mut Layout,
        (indicator, measure, year_offset): (&str, &str, i32),
        (sheet, within, row): (&str, Option<&str>, &str),
        headings: &[(String, Option<SlotKind>)],
    ) {
        let block = layout.block(sheet, within, self.indicator_title(within.unwrap_or("")));
        let mut quarter_cells = Vec::new();
        for (heading, kind) in headings {
            let key = (
                indicator.to_owned(),
                measure.to_owned(),
                year_offset,
                heading.clone(),
            );
            let summable = self
                .catalogue
                .measure(indicator, measure)
                .is_some_and(|m| m.summable);
            if *kind == Some(SlotKind::Total) && !summable {
                block.cell(row, heading, None);
                continue;
            }
            let mut entry = self.figures.get(&key).cloned().map(Placed::Entry);
            if matches!(kind, Some(SlotKind::Quarter(_))) {
                quarter_cells.push(heading.clone());
            }
            if *kind == Some(SlotKind::Total) && self.total_formulas && entry.is_none() {
                entry = Some(Placed::SumOf(quarter_cells.clone()));
            }
            block.cell(row, heading, entry);
        }
    }

    /// A measure's figure in a cell of its own.
    fn place_cell(
        &self,
        layout: &mut Layout,
        (indicator, measure, year_offset): (&str, &str, i32),
        locator: &Locator,
    ) {
        let key = (
            indicator.to_owned(),
            measure.to_owned(),
            year_offset,
            String::new(),
        );
        let label = self
            .catalogue
            .measure(indicator, measure)
            .map(|m| m.label.clone())
            .unwrap_or_else(|| measure.to_owned());
        let title = self.indicator_title(indicator);
        layout.place(
            locator,
            &label,
            self.figures.get(&key).cloned().map(Placed::Entry),
            Some(title),
        );
    }

    /// The analysis texts, each merged across its row.
    fn place_analysis(&self, layout: &mut Layout) {
        for spec in &self.template.analysis {
            let text = self
                .analysis
                .get(&spec.indicator)
                .cloned()
                .map(Entry::Text)
                .map(Placed::Entry);
            let title = self.indicator_title(&spec.indicator);
            layout.place(&spec.locator, "Analysis", text, Some(title));
            if let Locator::Label {
                sheet,
                within,
                row,
                column,
            } = &spec.locator
            {
                layout
                    .block(sheet, within.as_deref(), String::new())
                    .merge_across(row, column);
            }
        }
    }
}

/// What a laid-out cell holds.
#[derive(Debug, Clone)]
enum Placed {
    Entry(Entry),
    /// A Total: the sum of the cells under these headings on the same row.
    SumOf(Vec<String>),
}

/// A labelled grid: an optional anchor label, column headings, and labelled rows.
#[derive(Debug, Default)]
struct Block {
    within: Option<String>,
    title: String,
    headings: Vec<String>,
    rows: Vec<String>,
    cells: HashMap<(String, String), Placed>,
    merged_rows: Vec<(String, String)>,
}

impl Block {
    fn cell(&mut self, row: &str, heading: &str, entry: Option<Placed>) {
        if !self.rows.iter().any(|r| r == row) {
            self.rows.push(row.to_owned());
        }
        if !self.headings.iter().any(|h| h == heading) {
            self.headings.push(heading.to_owned());
        }
        if let Some(entry) = entry {
            self.cells
                .insert((row.to_owned(), heading.to_owned()), entry);
        }
    }

    fn merge_across(&mut self, row: &str, heading: &str) {
        self.merged_rows.push((row.to_owned(), heading.to_owned()));
    }
}

#[derive(Debug, Default)]
struct Layout {
    /// Sheets in order, each with its blocks in order.
    sheets: Vec<(String, Vec<Block>)>,
    fixed: Vec<(String, u32, u32, String, Option<Placed>)>,
    named: Vec<(String, String, Option<Placed>)>,
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

    fn block(&mut self, sheet: &str, within: Option<&str>, title: String) -> &mut Block {
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

    fn place(
        &mut self,
        locator: &Locator,
        label: &str,
        entry: Option<Placed>,
        title: Option<String>,
    ) {
        match locator {
            Locator::Label {
                sheet,
                within,
                row,
                column,
            } => {
                self.block(sheet, within.as_deref(), title.unwrap_or_default())
                    .cell(row, column, entry);
            }
            Locator::Cell { sheet, row, col } => {
                self.sheet(sheet);
                self.fixed
                    .push((sheet.clone(), *row, *col, label.to_owned(), entry));
            }
            Locator::Name(name) => self.named.push((name.clone(), label.to_owned(), entry)),
        }
    }

    fn write(&self, title: &str, hidden: &[String]) -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new();
        let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
        workbook
            .set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
        let formats = Formats::new();
        let mut names: Vec<(String, String)> = Vec::new();
        for (index, (sheet_name, blocks)) in self.sheets.iter().enumerate() {
            let sheet = workbook.add_worksheet();
            sheet.set_name(sheet_name)?;
            if hidden.contains(sheet_name) {
                sheet.set_hidden(true);
            }
            sheet.set_column_width(0, 10)?;
            sheet.set_column_width(1, 48)?;
            sheet.set_column_range_width(2, 12, 12)?;
            let mut row = 0u32;
            if index == 0 {
                sheet.write_string_with_format(0, 0, title, &formats.bold)?;
                row = 2;
            }
            for block in blocks {
                row = write_block(sheet, row, block, &formats)? + 1;
            }
            self.write_fixed(sheet, sheet_name, &formats)?;
            if index == 0 {
                names.extend(self.write_named(sheet, sheet_name, row, &formats)?);
            }
        }
        for (name, target) in names {
            workbook.define_name(name, &target)?;
        }
        workbook.save_to_buffer()
    }

    /// The items placed at fixed cells of this sheet, each with its label to the left.
    fn write_fixed(
        &self,
        sheet: &mut Worksheet,
        sheet_name: &str,
        formats: &Formats,
    ) -> Result<(), XlsxError> {
        for (fixed_sheet, r, c, label, entry) in &self.fixed {
            if fixed_sheet != sheet_name {
                continue;
            }
            let col = u16::try_from(*c).unwrap_or(u16::MAX);
            if col > 0 {
                sheet.write_string_with_format(*r, col - 1, label, &formats.bold)?;
            }
            if let Some(Placed::Entry(entry)) = entry {
                write_entry(sheet, *r, col, entry, &formats.date)?;
            }
        }
        Ok(())
    }

    /// The items found by defined name, listed from `row` on; returns the names with their targets.
    fn write_named(
        &self,
        sheet: &mut Worksheet,
        sheet_name: &str,
        mut row: u32,
        formats: &Formats,
    ) -> Result<Vec<(String, String)>, XlsxError> {
        let mut names = Vec::new();
        for (name, label, entry) in &self.named {
            sheet.write_string_with_format(row, 1, label, &formats.bold)?;
            if let Some(Placed::Entry(entry)) = entry {
                write_entry(sheet, row, 2, entry, &formats.date)?;
            }
            names.push((
                name.clone(),
                format!(
                    "='{}'!${}${}",
                    sheet_name.replace('\'', "''"),
                    column_letters(2),
                    row + 1
                ),
            ));
            row += 1;
        }
        Ok(names)
    }
}

/// The formats a return template is written with.
struct Formats {
    bold: Format,
    date: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            bold: Format::new().set_bold(),
            date: Format::new().set_num_format("dd/mm/yyyy"),
            wrap: Format::new().set_text_wrap(),
        }
    }
}

/// One block: its anchor label and title, its headings, then its labelled rows; returns the row after it.
fn write_block(
    sheet: &mut Worksheet,
    mut row: u32,
    block: &Block,
    formats: &Formats,
) -> Result<u32, XlsxError> {
    if let Some(within) = &block.within {
        sheet.write_string_with_format(row, 0, within, &formats.bold)?;
        sheet.write_string_with_format(row, 1, &block.title, &formats.bold)?;
        row += 1;
    }
    let item = if block.within.is_some() {
        "Measure"
    } else {
        "Item"
    };
    sheet.write_string_with_format(row, 1, item, &formats.bold)?;
    for (offset, heading) in block.headings.iter().enumerate() {
        sheet.write_string_with_format(row, 2 + offset as u16, heading, &formats.bold)?;
    }
    row += 1;
    for label in &block.rows {
        sheet.write_string(row, 1, label)?;
        for (offset, heading) in block.headings.iter().enumerate() {
            write_block_cell(sheet, (row, offset), block, (label, heading), formats)?;
        }
        row += 1;
    }
    Ok(row)
}

/// The cell of one row label and heading of a block.
fn write_block_cell(
    sheet: &mut Worksheet,
    (row, offset): (u32, usize),
    block: &Block,
    (label, heading): (&String, &String),
    formats: &Formats,
) -> Result<(), XlsxError> {
    let col = 2 + offset as u16;
    let merged = block
        .merged_rows
        .iter()
        .any(|(r, h)| r == label && h == heading);
    match block.cells.get(&(label.clone(), heading.clone())) {
        Some(Placed::Entry(Entry::Text(text))) if merged => {
            let last = 2 + block.headings.len().max(offset + 2) as u16 - 1;
            sheet.merge_range(row, col, row, last.max(col + 1), text, &formats.wrap)?;
            sheet.set_row_height(row, 60)?;
        }
        Some(Placed::Entry(entry)) => write_entry(sheet, row, col, entry, &formats.date)?,
        Some(Placed::SumOf(headings)) => sum_of(sheet, (row, col), block, label, headings)?,
        None => {}
    }
    Ok(())
}

/// A total as a formula summing the cells under `headings` on its row, with their sum as its value.
fn sum_of(
    sheet: &mut Worksheet,
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
    if let (Some(first), Some(last)) = (cols.first(), cols.last()) {
        let sum = cell_sum(cols.iter().filter_map(|c| {
            let heading = &block.headings[usize::from(*c - 2)];
            match block.cells.get(&(label.to_owned(), heading.clone())) {
                Some(Placed::Entry(Entry::Number(n))) => Some(*n),
                _ => None,
            }
        }));
        let formula = Formula::new(format!(
            "=SUM({}:{})",
            a1(row, u32::from(*first)),
            a1(row, u32::from(*last))
        ))
        .set_result(sum.to_string());
        sheet.write_formula(row, col, formula)?;
    }
    Ok(())
}

fn column_letters(col: u16) -> String {
    let address = a1(0, u32::from(col));
    address.trim_end_matches('1').to_owned()
}

fn write_entry(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    entry: &Entry,
    date_format: &Format,
) -> Result<(), XlsxError> {
    match entry {
        Entry::Number(number) => {
            sheet.write_number(row, col, *number)?;
        }
        Entry::Text(text) => {
            sheet.write_string(row, col, text)?;
        }
        Entry::Date(date) => {
            let date =
                ExcelDateTime::from_ymd(date.year() as u16, date.month() as u8, date.day() as u8)?;
            sheet.write_datetime_with_format(row, col, &date, date_format)?;
        }
    }
    Ok(())
}
