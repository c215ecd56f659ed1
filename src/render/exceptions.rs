//! Exception reports: one per return for the department (xlsx and JSON), and the consolidated exceptions
//! workbook for the dashboard owner (rejected returns, queries, chase list, board flags).

use polars::prelude::DataFrame;
use rust_xlsxwriter::{Format, Worksheet};
use serde::Serialize;

use super::{
    RenderError, SavedWorkbook, WrappedRows, WriteText, bold, department_name,
    deterministic_workbook, fit_cell, heading, list_sheet, not_printed, owners_workbook,
    period_label, print_on_a4, uk_clock, wrapped, wrapped_list_sheet,
};
use crate::consolidate::{
    BoardFlag, Consolidated, LateReturn, MissingReturn, OpenException, ReplacedReturn,
};
use crate::exception::Exception;
use crate::read::message::MessageProvenance;
use crate::schema::{Schemas, Severity};
use crate::store::ProcessedReturn;

const EXCEPTION_HEADERS: [&str; 8] = [
    "File",
    "Sheet",
    "Cell",
    "Value found",
    "Rule",
    "Severity",
    "Message",
    "Guidance",
];

fn write_headers(
    sheet: &mut Worksheet,
    row: u32,
    first_col: u16,
    headers: &[&str],
) -> Result<(), RenderError> {
    for (col, header) in headers.iter().enumerate() {
        sheet.write_text_with_format(row, first_col + col as u16, *header, &bold())?;
    }
    Ok(())
}

/// Stored returns that could no longer be put on the dashboard: the owner must look at each.
fn quarantined_sheet(
    sheet: &mut Worksheet,
    quarantined: &[crate::consolidate::Quarantined],
) -> Result<(), RenderError> {
    list_sheet(
        sheet,
        "Quarantined",
        &["File", "Received", "Why it was left out", "What to do"],
    )?;
    for (offset, entry) in quarantined.iter().enumerate() {
        let row = 1 + offset as u32;
        sheet.write_text(row, 0, &entry.file)?;
        sheet.write_text(row, 1, uk_clock(entry.received_at))?;
        sheet.write_text_with_format(row, 2, &entry.reason, &wrapped())?;
        sheet.write_text_with_format(
            row,
            3,
            "Its figures are not on the dashboard. Open the original in the inbox, ask the department for a corrected return, then remove the file and run collate rebuild.",
            &wrapped(),
        )?;
    }
    sheet.set_column_width(0, 36)?;
    sheet.set_column_width(1, 22)?;
    sheet.set_column_width(2, 60)?;
    sheet.set_column_width(3, 60)?;
    Ok(())
}

/// Files the inbox set aside unread (an email with no workbook, a PDF): kept in `inbox/set aside/`.
fn set_aside_sheet(
    sheet: &mut Worksheet,
    set_aside: &[crate::consolidate::SetAside],
) -> Result<(), RenderError> {
    const WHAT_TO_DO: &str = "It is kept in the inbox's \"set aside\" folder. If it should have held a return, ask the department to send the workbook itself (.xlsx); delete the file once dealt with.";
    let rows = set_aside.iter().map(|entry| {
        vec![
            fit_cell(&entry.file).into_owned(),
            fit_cell(&entry.reason).into_owned(),
            WHAT_TO_DO.to_owned(),
        ]
    });
    wrapped_list_sheet(
        sheet,
        (
            "Set aside",
            &["File", "Why it was set aside", "What to do"],
            &[40.0, 60.0, 50.0],
        ),
        rows,
    )
}

/// Accepted returns another has replaced: which is in use instead, why, and how to change it.
fn not_in_use_sheet(
    sheet: &mut Worksheet,
    schemas: &Schemas,
    replaced: &DataFrame,
) -> Result<(), RenderError> {
    let headers = [
        "Department",
        "Period",
        "File",
        "Received",
        "In use instead",
        "Why, and how to change it",
    ];
    let widths = [22.0, 10.0, 34.0, 20.0, 34.0, 60.0];
    let rows = ReplacedReturn::rows(replaced)?.into_iter().map(|replaced| {
        let (file, in_use) = (replaced.source_file, replaced.in_use_file);
        let why = match replaced.accepted {
            Some(false) => format!(
                "Rejected, and superseded: {in_use} was received after it and accepted. Nothing to do."
            ),
            _ => format!(
                "{in_use} was received after it, and the last return received for a period is the one in use. To use this one instead: collate use \"inbox/{file}\""
            ),
        };
        vec![
            department_name(schemas, &replaced.department),
            period_label(&replaced.plan_period, replaced.ret_year, replaced.ret_q),
            file,
            uk_clock(replaced.received_at),
            in_use,
            why,
        ]
    });
    wrapped_list_sheet(sheet, ("Not in use", &headers, &widths), rows)
}

/// Returns for signed-off quarters that arrived after the latest version: the next version takes them in.
fn after_sign_off_sheet(
    sheet: &mut Worksheet,
    schemas: &Schemas,
    late: &[LateReturn],
) -> Result<(), RenderError> {
    let headers = [
        "Department",
        "Quarter",
        "File",
        "Received",
        "Outcome",
        "What happens next",
    ];
    let widths = [22.0, 10.0, 34.0, 17.0, 12.0, 60.0];
    let rows = late.iter().map(|late| {
        let period = period_label("", late.ret_year, late.ret_q);
        let version = late.signed_version.unwrap_or_default();
        let next = format!(
            "It arrived after version {version} of {period} was signed off, which it does not change. \
             `collate close {}` writes version {}, which opens with what changed.",
            period.replace(' ', "-"),
            version + 1.0
        );
        let outcome = match late.accepted {
            Some(true) => "Accepted",
            _ => "Rejected",
        };
        vec![
            department_name(schemas, &late.department),
            period,
            late.source_file.clone(),
            uk_clock(late.received_at),
            outcome.to_owned(),
            next,
        ]
    });
    wrapped_list_sheet(sheet, ("After sign-off", &headers, &widths), rows)
}

/// The widths of an exception's columns (file, sheet, cell, value, rule, severity, message, guidance).
const EXCEPTION_WIDTHS: [f64; 8] = [26.0, 12.0, 7.0, 14.0, 20.0, 8.0, 48.0, 45.0];

fn size_exception_columns(sheet: &mut Worksheet, first_col: u16) -> Result<(), RenderError> {
    for (offset, width) in EXCEPTION_WIDTHS.iter().enumerate() {
        sheet.set_column_width(first_col + offset as u16, *width)?;
    }
    Ok(())
}

fn in_use_line(processed: &ProcessedReturn, replaces: Option<&str>) -> String {
    match (processed.validated.accepted(), replaces) {
        (false, _) => "No: a rejected return is never used".to_owned(),
        (true, Some(earlier)) => {
            format!("Yes, in place of {earlier} (the last return received is used)")
        }
        (true, None) => "Yes".to_owned(),
    }
}

fn outcome_line(processed: &ProcessedReturn) -> String {
    let validated = &processed.validated;
    let errors = validated.count(crate::schema::Severity::Error);
    let warnings = validated.count(crate::schema::Severity::Warning);
    if validated.accepted() {
        format!(
            "Accepted with {warnings} quer{} to answer",
            if warnings == 1 { "y" } else { "ies" }
        )
    } else {
        format!(
            "Rejected: {errors} error{} to correct before it can be used",
            if errors == 1 { "" } else { "s" }
        )
    }
}

/// The report a department is sent back about its own return; `replaces` names the return it took the
/// place of as the one in use.
pub fn return_report_workbook(
    processed: &ProcessedReturn,
    replaces: Option<&str>,
) -> Result<Vec<u8>, RenderError> {
    let mut workbook = deterministic_workbook(&format!("Exceptions in {}", processed.source_file))?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("Exceptions")?;
    sheet.write_text_with_format(
        0,
        0,
        format!("Exceptions in {}", processed.source_file),
        &heading(),
    )?;
    let identity = processed.validated.figures_identity();
    let facts = [
        (
            "Department",
            identity.map(|i| i.department.clone()).unwrap_or_default(),
        ),
        (
            "Period",
            identity.map(|i| i.period.to_string()).unwrap_or_default(),
        ),
        (
            "Template",
            identity
                .map(|i| format!("{} v{}", i.template, i.template_version))
                .unwrap_or_default(),
        ),
        ("Outcome", outcome_line(processed)),
        ("In use", in_use_line(processed, replaces)),
    ];
    // The file's SHA-256 is for machines: it stays in the JSON report, not in what a department reads.
    let mut facts = facts.to_vec();
    if let Some(message) = &processed.message {
        facts.extend(message_facts(message));
    }
    for (offset, (label, value)) in facts.iter().enumerate() {
        sheet.write_text_with_format(2 + offset as u32, 0, *label, &bold())?;
        sheet.write_text(2 + offset as u32, 1, value)?;
    }
    let top = 3 + facts.len() as u32;
    write_headers(sheet, top, 0, &REPORT_HEADERS)?;
    let mut lines = WrappedRows::new(&REPORT_WIDTHS);
    for (i, exception) in processed.validated.exceptions().iter().enumerate() {
        write_report_line(&mut lines, sheet, top + 1 + i as u32, exception)?;
    }
    lines.finish(sheet)?;
    if processed.validated.exceptions().is_empty() {
        sheet.write_text(top + 1, 0, "No exceptions: thank you.")?;
    }
    lay_out_report(sheet, top)?;
    Ok(workbook.save_to_buffer()?)
}

/// Where a return that came by email came from, as the report lists it.
fn message_facts(message: &MessageProvenance) -> [(&'static str, String); 3] {
    let sender = match (
        message.sender_name.as_str(),
        message.sender_address.as_str(),
    ) {
        ("", address) => address.to_owned(),
        (name, address) => format!("{name} <{address}>"),
    };
    [
        ("Sent by", sender),
        ("Sent", uk_clock(message.sent_at)),
        (
            "Email",
            format!("{} ({})", message.subject, message.email_file),
        ),
    ]
}

/// The department reads its report on paper as often as on screen: each exception on one line, its
/// place, what is wrong and what to do side by side.
const REPORT_HEADERS: [&str; 5] = [
    "Where",
    "Kind",
    "Value found",
    "What is wrong",
    "What to do",
];
const REPORT_WIDTHS: [f64; 5] = [13.0, 20.0, 14.0, 55.0, 55.0];

fn write_report_line(
    lines: &mut WrappedRows<'_>,
    sheet: &mut Worksheet,
    row: u32,
    exception: &Exception,
) -> Result<(), RenderError> {
    let place = match (exception.sheet.as_str(), exception.cell.as_str()) {
        ("", _) => String::new(),
        (sheet, "") => sheet.to_owned(),
        (sheet, cell) => format!("{sheet}!{cell}"),
    };
    let kind = match exception.severity {
        crate::schema::Severity::Error => "Error: correct it",
        crate::schema::Severity::Warning => "Query: please answer",
    };
    let cells = [
        place.as_str(),
        kind,
        exception.value_found.as_str(),
        exception.message.as_str(),
        exception.guidance.as_str(),
    ];
    lines.write(sheet, row, 0, cells)
}

/// A4 landscape, one page wide, the heading row repeated on every page.
fn lay_out_report(sheet: &mut Worksheet, header_row: u32) -> Result<(), RenderError> {
    for (col, width) in REPORT_WIDTHS.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    print_on_a4(sheet, Some(header_row))?;
    sheet.set_freeze_panes(header_row + 1, 0)?;
    Ok(())
}

fn write_exception(
    lines: &mut WrappedRows<'_>,
    sheet: &mut Worksheet,
    row: u32,
    first_col: u16,
    exception: &Exception,
) -> Result<(), RenderError> {
    let cells = [
        exception.file.as_str(),
        exception.sheet.as_str(),
        exception.cell.as_str(),
        exception.value_found.as_str(),
        exception.rule_id.as_str(),
        exception.severity.as_str(),
        exception.message.as_str(),
        exception.guidance.as_str(),
    ];
    lines.write(sheet, row, first_col, cells)
}

#[derive(Serialize)]
struct ReturnReport<'a> {
    file: &'a str,
    sha256: &'a str,
    received_at: &'a str,
    accepted: bool,
    department: Option<&'a str>,
    template: Option<&'a str>,
    template_version: Option<u32>,
    period: Option<String>,
    /// For a return that came attached to a saved email: the message it came in.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a MessageProvenance>,
    exceptions: &'a [Exception],
}

/// The same report for machines.
pub fn return_report_json(processed: &ProcessedReturn) -> Result<Vec<u8>, RenderError> {
    let identity = processed.validated.figures_identity();
    let report = ReturnReport {
        file: &processed.source_file,
        sha256: &processed.sha256,
        received_at: &processed.received_at,
        accepted: processed.validated.accepted(),
        department: identity.map(|i| i.department.as_str()),
        template: identity.map(|i| i.template.as_str()),
        template_version: identity.map(|i| i.template_version),
        period: identity.map(|i| i.period.to_string()),
        message: processed.message.as_ref(),
        exceptions: processed.validated.exceptions(),
    };
    let mut bytes = serde_json::to_vec_pretty(&report)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The dashboard owner's workbook: everything that needs chasing or the board's attention.
pub fn exceptions_workbook(
    schemas: &Schemas,
    consolidated: &Consolidated,
) -> Result<SavedWorkbook, RenderError> {
    let mut workbook = owners_workbook("Integrity dashboard exceptions")?;
    let open = OpenException::rows(&consolidated.open_exceptions)?;
    summary_sheet(workbook.add_worksheet(), schemas, consolidated, &open)?;
    for (sheet_title, accepted) in [("Rejected", false), ("Warnings", true)] {
        let listed: Vec<&OpenException> = open
            .iter()
            .filter(|e| e.accepted_return == Some(accepted))
            .collect();
        let sheet = workbook.add_worksheet();
        open_exceptions_sheet(sheet, schemas, sheet_title, &listed)?;
        if listed.is_empty() {
            let none = match accepted {
                false => "No rejected return is waiting for a correction.",
                true => "No query is open in the accepted returns in use.",
            };
            sheet.write_text(1, 0, none)?;
            // On screen it says so; on paper the Summary's 0 says it, without a page of headings.
            not_printed(sheet, 2 + EXCEPTION_HEADERS.len() as u16)?;
        }
    }
    if !consolidated.quarantined.is_empty() {
        quarantined_sheet(workbook.add_worksheet(), &consolidated.quarantined)?;
    }
    if !consolidated.set_aside.is_empty() {
        set_aside_sheet(workbook.add_worksheet(), &consolidated.set_aside)?;
    }
    if consolidated.not_in_use.height() > 0 {
        not_in_use_sheet(workbook.add_worksheet(), schemas, &consolidated.not_in_use)?;
    }
    let late = LateReturn::rows(&consolidated.late_returns)?;
    if !late.is_empty() {
        after_sign_off_sheet(workbook.add_worksheet(), schemas, &late)?;
    }
    chase_sheet(workbook.add_worksheet(), schemas, consolidated)?;
    let board = workbook.add_worksheet();
    board_flags_sheet(board, schemas, &consolidated.flags)?;
    if consolidated.flags.height() == 0 {
        // Says what it looked at, rather than print as headings alone.
        board.write_text(1, 0, format!("No board flag for {}.", consolidated.period))?;
        not_printed(board, 7)?;
    }
    if !schemas.plans.is_empty() {
        super::plans::plan_exceptions_sheet(&mut workbook, schemas, &consolidated.plans)?;
    }
    Ok(SavedWorkbook::save(workbook)?)
}

/// The counts the owner looks at first.
fn summary_sheet(
    summary: &mut Worksheet,
    schemas: &Schemas,
    consolidated: &Consolidated,
    open: &[OpenException],
) -> Result<(), RenderError> {
    summary.set_name("Summary")?;
    summary.write_text_with_format(
        0,
        0,
        format!(
            "Exceptions for the {} dashboard, {}",
            schemas.dashboard.force, consolidated.period
        ),
        &heading(),
    )?;
    let mut counts = [0usize; 2];
    for exception in open {
        counts[usize::from(exception.accepted_return != Some(false))] += 1;
    }
    // Each count says what it counts: the chase list is for the quarter whose returns are due, which
    // may not be the dashboard's.
    let chased = consolidated.chase_period;
    let lines = [
        (
            "Rejected returns not since replaced".to_owned(),
            consolidated.rejected.height(),
        ),
        ("Exceptions in those returns".to_owned(), counts[0]),
        (
            "Queries (warnings) in the accepted returns in use".to_owned(),
            counts[1],
        ),
        (
            format!(
                "Returns missing for {chased} (due by {})",
                super::due_by(schemas, chased)
            ),
            consolidated.missing.height(),
        ),
        (
            format!("Board flags on {}", consolidated.period),
            consolidated.flags.height(),
        ),
        (
            "Plan exceptions (each plan at its latest period)".to_owned(),
            consolidated.plans.exceptions.height(),
        ),
    ];
    for (offset, (label, count)) in lines.iter().enumerate() {
        summary.write_text_with_format(2 + offset as u32, 0, label, &bold())?;
        summary.write_number(2 + offset as u32, 1, *count as f64)?;
    }
    let mut row = 2 + lines.len() as u32;
    if consolidated.late_returns.height() > 0 {
        let label = "Returns that arrived after their quarter was signed off (see After sign-off)";
        summary.write_text_with_format(row, 0, label, &bold())?;
        summary.write_number(row, 1, consolidated.late_returns.height() as f64)?;
        row += 1;
    }
    if !consolidated.quarantined.is_empty() {
        summary.write_text_with_format(row, 0, "Returns quarantined (left out)", &bold())?;
        summary.write_number(row, 1, consolidated.quarantined.len() as f64)?;
    }
    summary.set_column_width(0, 52)?;
    summary.set_column_range_width(1, 4, 12)?;
    // The title runs past the first column: the printed area takes it in.
    summary.set_print_area(0, 0, 2 + lines.len() as u32 + 1, 4)?;
    print_on_a4(summary, None)?;

    Ok(())
}

/// The exceptions still open of rejected returns ("Rejected") or of accepted ones ("Warnings").
fn open_exceptions_sheet(
    sheet: &mut Worksheet,
    schemas: &Schemas,
    sheet_title: &str,
    open: &[&OpenException],
) -> Result<(), RenderError> {
    sheet.set_name(sheet_title)?;
    write_headers(sheet, 0, 0, &["Department", "Period", "Received"])?;
    write_headers(sheet, 0, 3, &EXCEPTION_HEADERS)?;
    let mut lines = WrappedRows::new(&EXCEPTION_WIDTHS);
    for (i, open) in open.iter().enumerate() {
        let row = 1 + i as u32;
        let exception = Exception {
            file: open.source_file.clone(),
            sheet: open.sheet.clone(),
            cell: open.cell.clone(),
            value_found: open.value_found.clone(),
            rule_id: open.rule_id.clone(),
            severity: Severity::from_stored(&open.severity),
            message: open.message.clone(),
            guidance: open.guidance.clone(),
        };
        let period = period_label(&open.plan_period, open.ret_year, open.ret_q);
        let department = department_name(schemas, &open.department);
        // Top-aligned like the exception's own cells, which may run to several lines.
        let received = uk_clock(open.received_at);
        for (col, value) in [department, period, received].into_iter().enumerate() {
            sheet.write_text_with_format(row, col as u16, value, &wrapped())?;
        }
        write_exception(&mut lines, sheet, row, 3, &exception)?;
    }
    lines.finish(sheet)?;
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 12)?;
    sheet.set_column_width(2, 20)?;
    size_exception_columns(sheet, 3)?;
    sheet.set_freeze_panes(1, 0)?;
    print_on_a4(sheet, Some(0))?;
    Ok(())
}

/// The returns owed for the chased quarter, with the date they are due by.
fn chase_sheet(
    chase: &mut Worksheet,
    schemas: &Schemas,
    consolidated: &Consolidated,
) -> Result<(), RenderError> {
    list_sheet(
        chase,
        "Chase list",
        &[
            "Department",
            "Return template",
            "Period",
            "Due by",
            "Status",
        ],
    )?;
    let chased = consolidated.chase_period;
    let due_by = super::due_by(schemas, chased);
    let owed = MissingReturn::rows(&consolidated.missing)?;
    if owed.is_empty() {
        // Says which quarter it looked at, rather than print as headings alone.
        let done = format!("Every return expected for {chased} has been received and accepted.");
        chase.write_text(1, 0, done)?;
        not_printed(chase, 4)?;
    }
    for (i, missing) in owed.iter().enumerate() {
        let row = 1 + i as u32;
        let status = match &missing.rejected_file {
            None => "not received".to_owned(),
            Some(file) => format!("received but rejected ({file}): see the Rejected sheet"),
        };
        chase.write_text(row, 0, department_name(schemas, &missing.department))?;
        chase.write_text(row, 1, &missing.template)?;
        chase.write_text(row, 2, chased.to_string())?;
        chase.write_text(row, 3, &due_by)?;
        chase.write_text(row, 4, status)?;
    }
    chase.set_column_width(0, 28)?;
    chase.set_column_width(1, 24)?;
    chase.set_column_width(2, 12)?;
    chase.set_column_width(3, 12)?;
    chase.set_column_width(4, 60)?;

    Ok(())
}

/// What the integrity board is to look at.
fn board_flags_sheet(
    board: &mut Worksheet,
    schemas: &Schemas,
    flags: &DataFrame,
) -> Result<(), RenderError> {
    let flag_headers = [
        "Flag",
        "Indicator",
        "Measure",
        "Period",
        "Value",
        "Typical quarter",
        "Source file",
        "Source cell",
    ];
    list_sheet(board, "Board flags", &flag_headers)?;
    let number_format = Format::new().set_num_format("#,##0.##");
    for (i, flag) in BoardFlag::rows(flags)?.into_iter().enumerate() {
        let row = 1 + i as u32;
        let measure_label = schemas
            .catalogue
            .measure(&flag.indicator, &flag.measure)
            .map(|m| m.label.clone())
            .unwrap_or(flag.measure);
        board.write_text(row, 0, &flag.flag)?;
        board.write_text(row, 1, &flag.indicator)?;
        board.write_text(row, 2, measure_label)?;
        board.write_text(row, 3, period_label("", flag.year_start, flag.q))?;
        if let Some(value) = flag.value {
            board.write_number_with_format(row, 4, value, &number_format)?;
        }
        if let Some(baseline) = flag.baseline {
            board.write_number_with_format(row, 5, baseline, &number_format)?;
        }
        board.write_text(row, 6, &flag.source_file)?;
        board.write_text(row, 7, &flag.source_cell)?;
    }
    board.set_column_width(0, 28)?;
    board.set_column_width(2, 44)?;
    board.set_column_range_width(3, 5, 14)?;
    board.set_column_range_width(6, 7, 30)?;
    Ok(())
}
