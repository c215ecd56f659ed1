//! The master dashboard workbook: summary, one sheet per indicator group laid out as the seed dashboard,
//! charts, data owners, and the `Data` table every consolidated figure lands in.

mod charts;

use std::collections::BTreeSet;

use charts::{ChartSource, charts_sheet};

use rust_xlsxwriter::{Format, Table, TableColumn, Workbook, Worksheet};

use crate::excel::fit_cell;

use super::figures::{
    Analysis, Figures, Mark, awaiting_returns, department_counts, figure_key, headline_lines,
    marks_of, shown_indicators, whole_indicator,
};
use super::{
    RenderError, SavedWorkbook, WriteText, bold, fit_row, heading, not_printed, owners_workbook,
    print_on_a4, sheet_name, text_lines, wrapped,
};
use crate::consolidate::{Consolidated, DataRow, YearRow};
use crate::period::{FinancialYear, Period};
use crate::schema::{Indicator, Measure, Schemas};

/// The columns of the `Data` sheet; the first seven are the contract Power BI and pivot tables rely on.
pub const DATA_COLUMNS: [&str; 10] = [
    "indicator",
    "measure",
    "financial_year",
    "quarter",
    "value",
    "source_file",
    "source_cell",
    "figure",
    "measure_label",
    "complete",
];

pub fn dashboard_workbook(
    schemas: &Schemas,
    consolidated: &Consolidated,
) -> Result<SavedWorkbook, RenderError> {
    let period = consolidated.period;
    let title = format!(
        "{} {} {}, Quarter {}",
        schemas.dashboard.force,
        schemas.dashboard.title,
        period.year,
        period.quarter.map(|q| q.number()).unwrap_or(4)
    );
    let mut workbook = owners_workbook(&title)?;
    // The two long lists (most of the work on a large store) are built beside the other sheets.
    let (front, (returns, data)) = rayon::join(
        || front_sheets(&mut workbook, schemas, consolidated, &title),
        || {
            rayon::join(
                || super::received::returns_sheet(schemas, consolidated),
                || data_sheet(schemas, consolidated),
            )
        },
    );
    front?;
    workbook.push_worksheet(returns?);
    workbook.push_worksheet(data?);
    if !schemas.plans.is_empty() {
        super::plans::plan_sheets(&mut workbook, schemas, &consolidated.plans)?;
        super::plans::plan_status_sheet(&mut workbook, &consolidated.plans)?;
    }
    Ok(SavedWorkbook::save(workbook)?)
}

/// The sheets before the long lists: the summary, one per indicator group, the charts, the data owners.
fn front_sheets(
    workbook: &mut Workbook,
    schemas: &Schemas,
    consolidated: &Consolidated,
    title: &str,
) -> Result<(), RenderError> {
    let figures = Figures::read(consolidated)?;
    summary_sheet(workbook, schemas, (consolidated, &figures), title)?;
    let mut chart_sources = Vec::new();
    for group in &schemas.catalogue.groups {
        let name = sheet_name(&group.title);
        let indicators = shown_indicators(schemas, &group.id);
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name)?;
        print_on_a4(sheet, None)?;
        chart_sources.extend(group_sheet(
            sheet,
            &name,
            &group.title,
            &indicators,
            schemas,
            &figures,
        )?);
    }
    charts_sheet(workbook, &chart_sources)?;
    owners_sheet(workbook, schemas)
}

fn summary_sheet(
    workbook: &mut Workbook,
    schemas: &Schemas,
    (consolidated, figures): (&Consolidated, &Figures),
    title: &str,
) -> Result<(), RenderError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("Summary")?;
    print_on_a4(sheet, None)?;
    sheet.write_text_with_format(0, 0, title, &heading())?;
    sheet.write_text_with_format(2, 0, "Reporting period", &bold())?;
    sheet.write_text(2, 1, consolidated.period.to_string())?;
    if let Some(awaiting) = awaiting_returns(schemas, consolidated) {
        sheet.write_text(3, 1, awaiting)?;
    }
    // Each count says what it counts, and agrees with exceptions.xlsx: the exceptions are the rows of its
    // Rejected sheet, the queries the rows of its Warnings sheet, of the quarter's own returns (a quarter
    // starts with none of the last one's).
    let headers = [
        "Department",
        "Returns expected",
        "Returns received",
        "Returns missing",
        "Exceptions in its rejected returns for the quarter",
        "Queries in its returns for the quarter",
    ];
    let number_heading = bold()
        .set_text_wrap()
        .set_align(rust_xlsxwriter::FormatAlign::Right)
        .set_align(rust_xlsxwriter::FormatAlign::Bottom);
    for (col, header) in headers.iter().enumerate() {
        let format = if col == 0 {
            bold()
        } else {
            number_heading.clone()
        };
        sheet.write_text_with_format(4, col as u16, *header, &format)?;
    }
    let counts = department_counts(schemas, consolidated);
    let mut totals = [0.0; 5];
    let mut row = 5u32;
    for (name, figures) in &counts {
        sheet.write_text(row, 0, name)?;
        for (offset, value) in figures.iter().enumerate() {
            sheet.write_number(row, 1 + offset as u16, *value)?;
            totals[offset] += value;
        }
        row += 1;
    }
    sheet.write_text_with_format(row, 0, "All departments", &bold())?;
    for (offset, total) in totals.iter().enumerate() {
        sheet.write_number_with_format(row, 1 + offset as u16, *total, &bold())?;
    }
    row = headline(sheet, row + 2, schemas, figures)?;
    sheet.write_text(
        row + 1,
        0,
        "Details of every exception and query are in exceptions.xlsx.",
    )?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_range_width(1, 5, 16)?;
    sheet.set_row_height(4, 60)?;
    Ok(())
}

/// The board's headline beneath the counts, on the first page it reads: each flag and each restated
/// figure of the reporting year in words (a cell note does not print). Returns the next free row.
fn headline(
    sheet: &mut Worksheet,
    mut row: u32,
    schemas: &Schemas,
    figures: &Figures,
) -> Result<u32, RenderError> {
    for (title, lines) in headline_lines(schemas, figures) {
        let heading = format!("{title} for {}: {}", figures.period, lines.len());
        sheet.write_text_with_format(row, 0, heading, &bold())?;
        row += 1;
        if lines.is_empty() {
            sheet.write_text(row, 0, "None.")?;
            row += 1;
        }
        for line in lines {
            sheet.merge_range(row, 0, row, 5, &fit_cell(&line), &wrapped())?;
            sheet.set_row_height(row, 15.0 * text_lines(&line, 28.0 + 5.0 * 16.0) as f64)?;
            row += 1;
        }
        row += 1;
    }
    Ok(row)
}

const QUARTER_COL: u16 = 2;
/// The width of a group sheet's measure column.
const LABEL_WIDTH: f64 = 48.0;

/// Marks a flagged figure where it stands: highlighted, with the reasons in a cell note.
fn mark_flagged(
    sheet: &mut Worksheet,
    (row, col): (u32, u16),
    reasons: &[String],
) -> Result<(), RenderError> {
    let note = rust_xlsxwriter::Note::new(fit_cell(&reasons.join("\n")))
        .set_author("collate")
        .set_width(360);
    sheet.insert_note(row, col, &note)?;
    Ok(())
}

/// The quarters due by the reporting period that have no figure, as "QTR 2" or "QTR 1 and QTR 3".
fn blank_quarters(year: &YearRow, period: Period) -> String {
    let reported = year.quarters_due.map(|due| due as usize);
    let due = reported.unwrap_or_else(|| usize::from(period.quarter.map_or(4, |q| q.number())));
    let blank: Vec<String> = (1..=due)
        .filter(|q| year.quarters()[q - 1].is_none())
        .map(|q| format!("QTR {q}"))
        .collect();
    let verb = if blank.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", blank.join(" and "))
}

/// What a cell the return said N/A shows: not a figure, and not missing.
const NOT_APPLICABLE: &str = "N/A";

fn not_applicable_format() -> Format {
    Format::new().set_align(rust_xlsxwriter::FormatAlign::Right)
}

/// A partial total: italic on grey, so that it cannot be read as the whole year.
fn partial_format(format: &Format) -> Format {
    format.clone().set_italic().set_background_color("E7E6E6")
}

/// A restated figure: dark blue on light blue, as a prefilled template shows a changed figure.
fn restated(format: &Format) -> Format {
    format
        .clone()
        .set_background_color("DDEBF7")
        .set_font_color("1F4E78")
        .set_bold()
}

/// A flagged figure: dark red on light red, as Excel's own "bad" cell style.
fn flagged(format: &Format) -> Format {
    format
        .clone()
        .set_background_color("FFC7CE")
        .set_font_color("9C0006")
        .set_bold()
}

fn group_sheet(
    sheet: &mut Worksheet,
    name: &str,
    title: &str,
    indicators: &[&Indicator],
    schemas: &Schemas,
    figures: &Figures,
) -> Result<Vec<ChartSource>, RenderError> {
    let layout = GroupLayout::new(indicators, figures);
    sheet.write_text_with_format(0, 0, format!("{title} Indicators"), &heading())?;
    sheet.set_column_width(0, 10)?;
    sheet.set_column_width(1, LABEL_WIDTH)?;
    sheet.set_column_range_width(QUARTER_COL, layout.change_col, 11)?;
    let mut row = 2u32;
    let mut sources = Vec::new();
    for indicator in indicators {
        indicator_title(sheet, row, indicator, &layout)?;
        let header_row = row + 1;
        indicator_headers(sheet, header_row, &layout, figures.period.year)?;
        row = header_row + 1;
        let first_row = row;
        let mut charted_years = BTreeSet::new();
        for measure in &indicator.measures {
            charted_years.extend(measure_row(sheet, row, (indicator, measure), &layout)?);
            row += 1;
        }
        // A line needs two years: one point, or none, would print as an empty chart.
        let has_history = charted_years.len() >= 2;
        let last_row = row.saturating_sub(1);
        row = previous_year_rows(sheet, row, (schemas, indicator), &layout)?;
        row = indicator_texts(sheet, row, indicator, (schemas, figures), layout.change_col)?;
        if indicator.chart
            && !indicator.measures.is_empty()
            && schemas.collects_indicator(indicator)
        {
            sources.push(ChartSource {
                code: indicator.code.clone(),
                title: indicator.title.clone(),
                sheet: name.to_owned(),
                first_row,
                last_row,
                history_cols: has_history.then(|| (layout.first_year_col, layout.change_col - 1)),
                history_header_row: header_row,
            });
        }
    }
    sheet.set_freeze_panes(2, 0)?;
    Ok(sources)
}

/// Where a group sheet's columns fall, and the figures it shows.
struct GroupLayout<'f> {
    /// Earlier years shown: every year any of the sheet's indicators has a whole-year figure for.
    years: Vec<FinancialYear>,
    first_year_col: u16,
    change_col: u16,
    number_format: Format,
    figures: &'f Figures,
}

impl<'f> GroupLayout<'f> {
    fn new(indicators: &[&Indicator], figures: &'f Figures) -> Self {
        let codes: Vec<&str> = indicators.iter().map(|i| i.code.as_str()).collect();
        let years: BTreeSet<FinancialYear> = figures
            .history
            .iter()
            .filter(|h| codes.contains(&h.indicator.as_str()))
            .filter_map(|h| h.year_start)
            .collect();
        let years: Vec<FinancialYear> = years.into_iter().collect();
        let first_year_col = QUARTER_COL + 6;
        GroupLayout {
            change_col: first_year_col + years.len() as u16,
            first_year_col,
            years,
            number_format: Format::new().set_num_format("#,##0.##"),
            figures,
        }
    }
}

/// The indicator's code (marked when the board flags it) and title.
fn indicator_title(
    sheet: &mut Worksheet,
    row: u32,
    indicator: &Indicator,
    layout: &GroupLayout,
) -> Result<(), RenderError> {
    match layout.figures.notes.get(&whole_indicator(&indicator.code)) {
        Some(reasons) => {
            sheet.write_text_with_format(row, 0, &indicator.code, &flagged(&bold()))?;
            mark_flagged(sheet, (row, 0), reasons)?;
        }
        None => {
            sheet.write_text_with_format(row, 0, &indicator.code, &bold())?;
        }
    }
    sheet.merge_range(row, 1, row, layout.change_col, &indicator.title, &bold())?;
    Ok(())
}

fn indicator_headers(
    sheet: &mut Worksheet,
    row: u32,
    layout: &GroupLayout,
    year: FinancialYear,
) -> Result<(), RenderError> {
    let mut headers: Vec<String> = vec!["Number".into(), "Measure".into()];
    headers.extend(["QTR 1", "QTR 2", "QTR 3", "QTR 4"].map(String::from));
    headers.push(format!("Total {year}"));
    headers.push("Same quarter last year".into());
    headers.extend(layout.years.iter().map(FinancialYear::to_string));
    // The year to date against the same quarters of the year before, never two past years.
    headers.push(match layout.figures.period.quarter.map(|q| q.number()) {
        Some(1) => format!("Change on {} QTR 1", year.previous()),
        Some(n) => format!("Change on {} QTR 1–{n}", year.previous()),
        None => format!("Change on {}", year.previous()),
    });
    for (col, header) in headers.iter().enumerate() {
        sheet.write_text_with_format(row, col as u16, header, &bold().set_text_wrap())?;
    }
    sheet.set_row_height(row, 45)?;
    Ok(())
}

/// One measure's row: the reporting year by quarter, its total, the same quarter last year, then the
/// earlier years and the last change. Returns the earlier years it has a figure for.
fn measure_row(
    sheet: &mut Worksheet,
    row: u32,
    (indicator, measure): (&Indicator, &Measure),
    layout: &GroupLayout,
) -> Result<Vec<FinancialYear>, RenderError> {
    sheet.write_text(row, 0, &indicator.code)?;
    // A long label wraps in its row, never cut off by the figure beside it.
    let label = Format::new().set_text_wrap();
    sheet.write_text_with_format(row, 1, &measure.label, &label)?;
    let lines = text_lines(&measure.label, LABEL_WIDTH);
    if lines > 1 {
        fit_row(sheet, row, lines)?;
    }
    let year = layout
        .figures
        .year
        .iter()
        .find(|year| year.indicator == indicator.code && year.measure == measure.id);
    if let Some(year) = year {
        reporting_year_cells(sheet, row, (indicator, measure), layout, year)?;
        if let Some(change) = year.change_on_last_year {
            let at = (row, layout.change_col);
            sheet.write_number_with_format(at.0, at.1, change, &layout.number_format)?;
        }
    }
    history_cells(sheet, row, (indicator, measure), layout)
}

fn reporting_year_cells(
    sheet: &mut Worksheet,
    row: u32,
    (indicator, measure): (&Indicator, &Measure),
    layout: &GroupLayout,
    year: &YearRow,
) -> Result<(), RenderError> {
    let number_format = &layout.number_format;
    let [q1, q2, q3, q4] = year.quarters();
    let values = [q1, q2, q3, q4, year.year_value, year.same_quarter_last_year];
    let marks = layout
        .figures
        .year_marks((&indicator.code, &measure.id), year);
    for (offset, value) in values.into_iter().enumerate() {
        let at = (row, QUARTER_COL + offset as u16);
        // The same quarter last year is not the return's: never marked.
        let mark = marks.get(offset).copied().unwrap_or(Mark::Plain);
        let Some(value) = value else {
            if mark == Mark::NotApplicable {
                let format = not_applicable_format();
                sheet.write_text_with_format(at.0, at.1, NOT_APPLICABLE, &format)?;
            }
            continue;
        };
        let format = match mark {
            Mark::Partial => {
                write_partial_total(sheet, at, (value, number_format), year, layout)?;
                continue;
            }
            Mark::Flagged => flagged(number_format),
            Mark::Restated => restated(number_format),
            Mark::Plain | Mark::NotApplicable => number_format.clone(),
        };
        sheet.write_number_with_format(at.0, at.1, value, &format)?;
        let reasons = cell_reasons(layout.figures, (&indicator.code, &measure.id), offset);
        if !reasons.is_empty() {
            mark_flagged(sheet, at, &reasons)?;
        }
    }
    Ok(())
}

/// A partial total: shaded, with a note naming the blank quarters.
fn write_partial_total(
    sheet: &mut Worksheet,
    at: (u32, u16),
    (value, number_format): (f64, &Format),
    year: &YearRow,
    layout: &GroupLayout,
) -> Result<(), RenderError> {
    let blank = blank_quarters(year, layout.figures.period);
    sheet.write_number_with_format(at.0, at.1, value, &partial_format(number_format))?;
    let note = rust_xlsxwriter::Note::new(format!(
        "Partial total: {blank} blank in the return, so not counted (a blank is not 0)."
    ))
    .set_author("collate");
    sheet.insert_note(at.0, at.1, &note)?;
    Ok(())
}

/// What a quarter's cell note says: its flags, then its restatements.
fn cell_reasons(
    figures: &Figures,
    (indicator, measure): (&str, &str),
    offset: usize,
) -> Vec<String> {
    if offset >= 4 {
        return Vec::new();
    }
    let key = figure_key(indicator, measure, offset + 1);
    let flags = figures.notes.get(&key).into_iter().flatten().cloned();
    let restatements = figures.restated.get(&key).into_iter().flatten();
    flags
        .chain(restatements.map(|said| format!("Restated: {said}")))
        .collect()
}

/// Beneath an indicator's measures, a row for each measure whose return template carries the year before
/// by quarter (as Finance's does: the seed's "2019" row), so an indicator keeps the rows it has; returns
/// the next free row. Kept after the reporting year's rows, which the charts plot.
fn previous_year_rows(
    sheet: &mut Worksheet,
    mut row: u32,
    (schemas, indicator): (&Schemas, &Indicator),
    layout: &GroupLayout,
) -> Result<u32, RenderError> {
    let previous = layout.figures.period.year.previous();
    let carried = indicator
        .measures
        .iter()
        .filter(|measure| schemas.collects_last_year(&indicator.code, &measure.id));
    for measure in carried {
        let Some(year) = layout
            .figures
            .previous_year
            .iter()
            .find(|year| year.indicator == indicator.code && year.measure == measure.id)
        else {
            continue;
        };
        sheet.write_text(row, 0, &indicator.code)?;
        // The year first: a long label is cut at the column's edge on paper.
        sheet.write_text(row, 1, format!("{previous}: {}", measure.label))?;
        let values = year.quarters().into_iter().chain([year.year_value]);
        for (offset, value) in values.enumerate() {
            if let Some(value) = value {
                let col = QUARTER_COL + offset as u16;
                sheet.write_number_with_format(row, col, value, &layout.number_format)?;
            }
        }
        row += 1;
    }
    Ok(row)
}

/// The measure's whole-year figures of earlier years; returns the years it has a figure for.
fn history_cells(
    sheet: &mut Worksheet,
    row: u32,
    (indicator, measure): (&Indicator, &Measure),
    layout: &GroupLayout,
) -> Result<Vec<FinancialYear>, RenderError> {
    let mut years = Vec::new();
    for past in &layout.figures.history {
        if past.indicator != indicator.code || past.measure != measure.id {
            continue;
        }
        let Some(year) = past.year_start else {
            continue;
        };
        let Some(position) = layout.years.iter().position(|y| *y == year) else {
            continue;
        };
        let col = layout.first_year_col + position as u16;
        let keys = (indicator.code.as_str(), measure.id.as_str());
        match past.value {
            Some(value) => {
                sheet.write_number_with_format(row, col, value, &layout.number_format)?;
                years.push(year);
            }
            None if layout.figures.not_applicable(keys, year, None) => {
                sheet.write_text_with_format(row, col, NOT_APPLICABLE, &not_applicable_format())?;
            }
            None => {}
        }
    }
    Ok(years)
}

/// The indicator's rationale and the department's analysis under its table; returns the next free row.
fn indicator_texts(
    sheet: &mut Worksheet,
    mut row: u32,
    indicator: &Indicator,
    (schemas, figures): (&Schemas, &Figures),
    change_col: u16,
) -> Result<u32, RenderError> {
    let text_format = wrapped();
    let label = bold().set_align(rust_xlsxwriter::FormatAlign::Top);
    // A cell note does not print: what is marked on the figures is said in words beneath them.
    // A restatement's query names its quarter and measure itself.
    for (title, notes, format, named) in [
        ("Flagged", &figures.notes, flagged(&label), false),
        ("Restated", &figures.restated, restated(&label), true),
    ] {
        let lines = marks_of(indicator, notes, named);
        if lines.is_empty() {
            continue;
        }
        // The lines laid out in one cell, one under another.
        let said = lines.join("\n");
        sheet.write_text_with_format(row, 0, title, &format)?;
        sheet.merge_range(row, 1, row, change_col, &fit_cell(&said), &text_format)?;
        sheet.set_row_height(row, row_height(&said))?;
        row += 1;
    }
    sheet.write_text_with_format(row, 0, "Rationale", &label)?;
    sheet.merge_range(
        row,
        1,
        row,
        change_col,
        &fit_cell(&indicator.rationale),
        &text_format,
    )?;
    sheet.set_row_height(row, row_height(&indicator.rationale))?;
    row += 1;
    let analysis_text = Analysis::of(schemas, figures, indicator).said(figures.period);
    sheet.write_text_with_format(row, 0, "Analysis", &label)?;
    sheet.merge_range(
        row,
        1,
        row,
        change_col,
        &fit_cell(&analysis_text),
        &text_format,
    )?;
    sheet.set_row_height(row, row_height(&analysis_text))?;
    row += 2;
    Ok(row)
}

/// Merged cells do not grow with their text, so the row is sized for it: about 110 characters a line.
fn row_height(text: &str) -> f64 {
    let lines = (text.chars().count() / 110 + 1) as f64;
    (lines * 15.0).min(400.0)
}

/// The width of the Data Owners sheet's indicator column.
const OWNERS_TITLE_WIDTH: f64 = 70.0;

fn owners_sheet(workbook: &mut Workbook, schemas: &Schemas) -> Result<(), RenderError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("Data Owners and Sources")?;
    print_on_a4(sheet, None)?;
    sheet.write_text_with_format(0, 0, "Data Owners and Sources", &heading())?;
    for (col, header) in ["No.", "Indicator", "Owner", "Data Source"]
        .iter()
        .enumerate()
    {
        sheet.write_text_with_format(2, col as u16, *header, &bold())?;
    }
    for (i, indicator) in schemas.catalogue.indicators.iter().enumerate() {
        let row = 3 + i as u32;
        let owner = schemas
            .department(&indicator.owner)
            .map(|d| d.name.as_str())
            .unwrap_or(indicator.owner.as_str());
        let top = wrapped().set_align(rust_xlsxwriter::FormatAlign::Top);
        sheet.write_text_with_format(row, 0, &indicator.code, &top)?;
        sheet.write_text_with_format(row, 1, &indicator.title, &top)?;
        sheet.write_text_with_format(row, 2, owner, &top)?;
        sheet.write_text_with_format(row, 3, &indicator.source, &top)?;
        // Excel and LibreOffice do not size a row on opening: a long title would print over the next.
        fit_row(sheet, row, text_lines(&indicator.title, OWNERS_TITLE_WIDTH))?;
    }
    sheet.set_column_width(0, 10)?;
    sheet.set_column_width(1, OWNERS_TITLE_WIDTH)?;
    sheet.set_column_range_width(2, 3, 26)?;
    Ok(())
}

fn data_sheet(schemas: &Schemas, consolidated: &Consolidated) -> Result<Worksheet, RenderError> {
    let data = DataRow::rows(&consolidated.data)?;
    let mut sheet = Worksheet::new();
    sheet.set_name("Data")?;
    for (i, figure) in data.iter().enumerate() {
        data_row(&mut sheet, 1 + i as u32, schemas, figure)?;
    }
    let columns: Vec<TableColumn> = DATA_COLUMNS
        .iter()
        .map(|name| TableColumn::new().set_header(*name))
        .collect();
    // A table needs a data row; an empty store still gets a well-formed, empty table.
    let last_row = data.len().max(1) as u32;
    let table = Table::new().set_name("IntegrityData").set_columns(&columns);
    not_printed(&mut sheet, DATA_COLUMNS.len() as u16 - 1)?;
    sheet.add_table(0, 0, last_row, DATA_COLUMNS.len() as u16 - 1, &table)?;
    sheet.set_column_range_width(0, 1, 22)?;
    sheet.set_column_range_width(2, 4, 14)?;
    sheet.set_column_range_width(5, 6, 34)?;
    sheet.set_column_range_width(7, 8, 30)?;
    Ok(sheet)
}

/// One figure of the `Data` table, in the order of `DATA_COLUMNS`.
fn data_row(
    sheet: &mut Worksheet,
    row: u32,
    schemas: &Schemas,
    figure: &DataRow,
) -> Result<(), RenderError> {
    let texts = [
        &figure.indicator,
        &figure.measure,
        &figure.financial_year,
        &figure.quarter,
    ];
    for (col, text) in texts.into_iter().enumerate() {
        sheet.write_text(row, col as u16, text)?;
    }
    match figure.value {
        Some(value) => {
            sheet.write_number(row, 4, value)?;
        }
        None if figure.not_applicable == Some(true) => {
            sheet.write_text(row, 4, NOT_APPLICABLE)?;
        }
        None => {}
    }
    let texts = [&figure.source_file, &figure.source_cell, &figure.figure];
    for (offset, text) in texts.into_iter().enumerate() {
        sheet.write_text(row, 5 + offset as u16, text)?;
    }
    let label = schemas
        .catalogue
        .measure(&figure.indicator, &figure.measure)
        .map(|m| m.label.as_str())
        .unwrap_or_default();
    sheet.write_text(row, 8, label)?;
    sheet.write_boolean(row, 9, figure.complete != Some(false))?;
    Ok(())
}
