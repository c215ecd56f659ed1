//! The dashboard's Charts sheet: each indicator's figures this year by quarter and, where it has two or
//! more earlier years, year by year, drawn by Excel from the cells of its group sheet; two indicators to a
//! printed page, so no chart is split.

use rust_xlsxwriter::{Chart, ChartType, Workbook};

use super::QUARTER_COL;
use crate::render::{RenderError, WriteText, bold, heading, print_on_a4};

/// Where an indicator's figures sit on its group sheet, for the charts that refer to them.
pub(super) struct ChartSource {
    pub(super) code: String,
    pub(super) title: String,
    pub(super) sheet: String,
    pub(super) first_row: u32,
    pub(super) last_row: u32,
    pub(super) history_cols: Option<(u16, u16)>,
    pub(super) history_header_row: u32,
}

/// How many indicators' charts a printed page of the Charts sheet holds (A4 landscape, one page wide).
const CHARTS_PER_PAGE: usize = 2;

/// The row an indicator's charts start at on the Charts sheet: its title, then the charts 22 rows tall.
fn chart_top(index: usize) -> u32 {
    2 + index as u32 * 22
}

pub(super) fn charts_sheet(
    workbook: &mut Workbook,
    sources: &[ChartSource],
) -> Result<(), RenderError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("Charts")?;
    print_on_a4(sheet, None)?;
    sheet.write_text_with_format(0, 0, "Quarterly and historical figures", &heading())?;
    // Two indicators' charts to a printed page, each page starting with one: a chart is never split.
    let breaks: Vec<u32> = (2..sources.len())
        .step_by(CHARTS_PER_PAGE)
        .map(chart_top)
        .collect();
    sheet.set_page_breaks(&breaks)?;
    for (index, source) in sources.iter().enumerate() {
        let top = chart_top(index);
        let mut quarterly = Chart::new(ChartType::Column);
        quarterly
            .title()
            .set_name(&format!("{}: this year by quarter", source.code));
        for row in source.first_row..=source.last_row {
            quarterly
                .add_series()
                .set_name((source.sheet.as_str(), row, 1))
                .set_categories((
                    source.sheet.as_str(),
                    source.history_header_row,
                    QUARTER_COL,
                    source.history_header_row,
                    QUARTER_COL + 3,
                ))
                .set_values((
                    source.sheet.as_str(),
                    row,
                    QUARTER_COL,
                    row,
                    QUARTER_COL + 3,
                ));
        }
        quarterly.set_width(620).set_height(380);
        sheet.write_text_with_format(
            top,
            0,
            format!("{} {}", source.code, source.title),
            &bold(),
        )?;
        sheet.insert_chart(top + 1, 0, &quarterly)?;
        if let Some((first_col, last_col)) = source.history_cols {
            let mut historical = Chart::new(ChartType::Line);
            historical
                .title()
                .set_name(&format!("{}: previous years", source.code));
            for row in source.first_row..=source.last_row {
                historical
                    .add_series()
                    .set_name((source.sheet.as_str(), row, 1))
                    .set_categories((
                        source.sheet.as_str(),
                        source.history_header_row,
                        first_col,
                        source.history_header_row,
                        last_col,
                    ))
                    .set_values((source.sheet.as_str(), row, first_col, row, last_col));
            }
            historical.set_width(620).set_height(380);
            sheet.insert_chart(top + 1, 10, &historical)?;
        }
    }
    Ok(())
}
