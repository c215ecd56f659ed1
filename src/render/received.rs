//! The dashboard's `Returns` sheet: every return received, in the order it arrived, who sent it and when
//! (for a return that came by email), and what became of it.

use rust_xlsxwriter::Worksheet;

use super::{RenderError, WrappedRows, department_name, list_sheet, period_label, uk_clock};
use crate::consolidate::{Consolidated, ReceivedReturn};
use crate::schema::Schemas;

const HEADERS: [&str; 8] = [
    "Received",
    "File",
    "Department",
    "Period",
    "Sent by",
    "Sent",
    "Subject",
    "Outcome",
];
const WIDTHS: [f64; 8] = [19.0, 40.0, 20.0, 11.0, 30.0, 19.0, 26.0, 22.0];

pub fn returns_sheet(
    schemas: &Schemas,
    consolidated: &Consolidated,
) -> Result<Worksheet, RenderError> {
    let mut sheet = Worksheet::new();
    list_sheet(&mut sheet, "Returns", &HEADERS)?;
    let mut rows = WrappedRows::new(&WIDTHS);
    for (i, received) in ReceivedReturn::rows(&consolidated.received)?
        .into_iter()
        .enumerate()
    {
        rows.write(&mut sheet, 1 + i as u32, 0, row_cells(schemas, received))?;
    }
    rows.finish(&mut sheet)?;
    for (col, width) in WIDTHS.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    // An administrative list for the owner, on screen: the board's printout leaves it out.
    super::not_printed(&mut sheet, (HEADERS.len() - 1) as u16)?;
    Ok(sheet)
}

/// A return's row, in the order of `HEADERS`.
fn row_cells(schemas: &Schemas, received: ReceivedReturn) -> [String; 8] {
    let sent_by = match (
        received.sender_name.as_str(),
        received.sender_address.as_str(),
    ) {
        ("", "") => "(saved as a file)".to_owned(),
        ("", address) => address.to_owned(),
        (name, address) => format!("{name} <{address}>"),
    };
    let count = |n: Option<f64>, one: &str, many: &str| match n.unwrap_or(0.0) as u64 {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    let outcome = match received.accepted {
        Some(true) if received.warnings.unwrap_or(0.0) > 0.0 => {
            format!("accepted, {}", count(received.warnings, "query", "queries"))
        }
        Some(true) => "accepted".to_owned(),
        _ => format!("rejected, {}", count(received.errors, "error", "errors")),
    };
    let department = if received.department.is_empty() {
        String::new()
    } else {
        department_name(schemas, &received.department)
    };
    [
        uk_clock(received.received_at),
        received.source_file,
        department,
        period_label(&received.plan_period, received.ret_year, received.ret_q),
        sent_by,
        uk_clock(received.sent_at),
        received.subject,
        outcome,
    ]
}
