//! The cover of the quarter's pack: who owes which return for the period, by when, and which file of the
//! pack is theirs, for the owner to work through as the templates go out.

use super::{
    RenderError, WriteText, bold, deterministic_workbook, due_by, heading, print_on_a4, wrapped,
};
use crate::period::Period;
use crate::schema::Schemas;

/// A return still owed for the period, and the file of the pack that holds its template.
#[derive(Debug, Clone, PartialEq)]
pub struct OwedReturn {
    pub department: String,
    /// The template's title.
    pub template: String,
    pub file: String,
    /// The last return received for it and rejected, if any.
    pub rejected_file: Option<String>,
}

/// The row the cover's table starts on, under its title and the sentence saying what the pack is.
const HEADER_ROW: u32 = 3;

pub fn pack_cover(
    schemas: &Schemas,
    period: Period,
    owed: &[OwedReturn],
) -> Result<Vec<u8>, RenderError> {
    let title = format!("{}: returns owed for {period}", schemas.dashboard.force);
    let mut workbook = deterministic_workbook(&title)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("Who owes what")?;
    print_on_a4(sheet, Some(HEADER_ROW))?;
    sheet.write_text_with_format(0, 0, &title, &heading())?;
    let due = due_by(schemas, period);
    let note = if owed.is_empty() {
        format!("Every return for {period} has been received and accepted.")
    } else {
        format!(
            "Due by {due}. Each template is filled in with the period, the department and the figures already accepted for the year: send each department its file, and save their reply into the inbox."
        )
    };
    sheet.write_text(1, 0, note)?;
    let headers = [
        "Department",
        "Return",
        "Template in this pack",
        "Due by",
        "Status",
    ];
    for (col, header) in headers.iter().enumerate() {
        sheet.write_text_with_format(HEADER_ROW, col as u16, *header, &bold())?;
    }
    for (i, return_owed) in owed.iter().enumerate() {
        let row = HEADER_ROW + 1 + i as u32;
        let status = match &return_owed.rejected_file {
            None => "not received".to_owned(),
            Some(file) => format!("received but rejected ({file}): the exceptions report says why"),
        };
        let cells = [
            &return_owed.department,
            &return_owed.template,
            &return_owed.file,
            &due,
            &status,
        ];
        for (col, text) in cells.into_iter().enumerate() {
            sheet.write_text_with_format(row, col as u16, text, &wrapped())?;
        }
        sheet.set_row_height(row, 30)?;
    }
    sheet.set_column_width(0, 26)?;
    sheet.set_column_width(1, 40)?;
    sheet.set_column_width(2, 44)?;
    sheet.set_column_width(3, 12)?;
    sheet.set_column_width(4, 36)?;
    Ok(workbook.save_to_buffer()?)
}
