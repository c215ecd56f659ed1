//! Action plan outputs: one dashboard sheet per plan laid out as the seeds' "Plan Summary" with traffic-light
//! fills, the `PlanStatus` table, and the plan exceptions sheet of the exceptions workbook.

use std::collections::HashMap;

use rust_xlsxwriter::{
    Color, Format, FormatAlign, FormatBorder, Table, TableColumn, Workbook, Worksheet,
};

use super::{
    RenderError, WrappedRows, WriteText, bold, fit_row, heading, list_sheet, not_printed,
    print_on_a4, text_lines, uk_day, wrapped,
};
use crate::consolidate::{
    LatestStatus, PlanException, PlanExceptionKind, PlanStatusRow, PlanTables, ReportedPeriod,
    StatusCount,
};
use crate::excel::cell_sum;
use crate::schema::{Plan, PlanMeasure, PlanSection, Schemas};

/// The headers of the `PlanStatus` table; the first eight are the contract other tools rely on.
pub const PLAN_STATUS_HEADERS: [&str; 16] = [
    "plan",
    "section",
    "ref",
    "period",
    "status",
    "owner",
    "source_file",
    "source_cell",
    "as_at",
    "status_as_written",
    "complete",
    "date_of_update",
    "update",
    "measure",
    "section_title",
    "due",
];

/// A status as the `PlanStatus` table shows it, in the order of `PLAN_STATUS_HEADERS`.
fn plan_status_cells(status: &PlanStatusRow) -> [String; 16] {
    [
        status.plan.clone(),
        status.section.clone(),
        status.reference.clone(),
        status.period.clone(),
        status.status.clone(),
        status.owner.clone(),
        status.source_file.clone(),
        status.source_cell.clone(),
        uk_day(status.as_at),
        status.status_as_written.clone(),
        status.complete.clone(),
        uk_day(status.update_date),
        status.narrative.clone(),
        status.title.clone(),
        status.section_title.clone(),
        status.due_text.clone(),
    ]
}

/// A measure's detail shown beside its statuses: its heading, and how to read it.
type Detail = (&'static str, fn(&PlanMeasure) -> &String);

/// A status cell's format: the plan's colour, with text that stays readable on it.
fn status_format(plan: &Plan, status: &str) -> Format {
    let base = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin);
    match plan.status(status) {
        Some(def) => {
            let rgb = def.rgb();
            let (r, g, b) = ((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
            let dark = r * 299 + g * 587 + b * 114 < 128_000;
            let format = base.set_background_color(Color::RGB(rgb));
            if dark {
                format.set_font_color(Color::White)
            } else {
                format
            }
        }
        None => base,
    }
}

/// A measure of a plan: (plan, section, ref).
type MeasureKey = (String, String, String);

/// The plan tables the plan sheets show, read once as typed rows.
struct PlanRows {
    /// Each measure's status by period.
    statuses: HashMap<MeasureKey, HashMap<String, String>>,
    /// Each measure's latest status and what came with it.
    latest: HashMap<MeasureKey, LatestStatus>,
    /// Each plan's latest reported period and its date, as the board reads it.
    reported: HashMap<String, (String, String)>,
    counts: Vec<StatusCount>,
}

impl PlanRows {
    fn read(tables: &PlanTables) -> Result<Self, RenderError> {
        let mut statuses: HashMap<MeasureKey, HashMap<String, String>> = HashMap::new();
        for status in PlanStatusRow::rows(&tables.statuses)? {
            let key = (status.plan, status.section, status.reference);
            statuses
                .entry(key)
                .or_default()
                .insert(status.period, status.status);
        }
        let latest = LatestStatus::rows(&tables.latest)?
            .into_iter()
            .map(|l| ((l.plan.clone(), l.section.clone(), l.reference.clone()), l))
            .collect();
        let reported = ReportedPeriod::rows(&tables.reported)?
            .into_iter()
            .map(|r| (r.plan, (r.period, uk_day(r.as_at))))
            .collect();
        Ok(PlanRows {
            statuses,
            latest,
            reported,
            counts: StatusCount::rows(&tables.counts)?,
        })
    }
}

/// One sheet per plan, after the dashboard's own sheets.
pub fn plan_sheets(
    workbook: &mut Workbook,
    schemas: &Schemas,
    tables: &PlanTables,
) -> Result<(), RenderError> {
    let rows = PlanRows::read(tables)?;
    for plan in &schemas.plans {
        plan_sheet(workbook, plan, &rows)?;
    }
    Ok(())
}

fn plan_sheet(workbook: &mut Workbook, plan: &Plan, rows: &PlanRows) -> Result<(), RenderError> {
    let reported = rows.reported.get(&plan.id);
    let sheet = workbook.add_worksheet();
    sheet.set_name(&plan.sheet)?;
    print_on_a4(sheet, None)?;
    sheet.write_text_with_format(0, 0, &plan.title, &heading())?;
    if !plan.owner.is_empty() {
        sheet.write_text(1, 0, format!("Plan owner: {}", plan.owner))?;
    }
    sheet.write_text(
        2,
        0,
        match reported {
            Some((period, as_at)) => format!("Latest update: {period} (as at {as_at})"),
            None => "No update has been received yet".to_owned(),
        },
    )?;

    let layout = PlanLayout::new(plan);
    let mut row = 4u32;
    sheet.write_text_with_format(row, 0, "PLAN SUMMARY", &bold())?;
    row += 2;
    for section in &plan.sections {
        sheet.write_text_with_format(row, 0, &section.title, &bold())?;
        let tracker_col = layout.first_status_col;
        sheet.write_text_with_format(row, tracker_col, "Traffic Light Tracker", &bold())?;
        row += 1;
        for (col, header) in layout.headers.iter().enumerate() {
            sheet.write_text_with_format(row, col as u16, header, &layout.header_format)?;
        }
        row += 1;
        for measure in plan.measures.iter().filter(|m| m.section == section.id) {
            tracker_row(sheet, row, (plan, section, measure), &layout, rows)?;
            row += 1;
        }
        row += 1;
    }
    row = vocabulary(sheet, row, plan, &layout)?;
    if let Some((period, _)) = reported {
        status_counts(sheet, row, (plan, period), &layout, &rows.counts)?;
    }
    for (col, width) in layout.widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    sheet.set_freeze_panes(0, 2)?;
    Ok(())
}

/// A plan sheet's tracker columns: what they hold, how wide, how drawn.
struct PlanLayout {
    headers: Vec<String>,
    collects: crate::schema::Collects,
    details: Vec<Detail>,
    periods: u16,
    first_status_col: u16,
    widths: Vec<f64>,
    header_format: Format,
    cell_format: Format,
}

impl PlanLayout {
    fn new(plan: &Plan) -> PlanLayout {
        let collects = plan.update.collects;
        let narrative_heading = if collects.latest_update {
            "Latest update"
        } else {
            "Current position"
        };
        let mut headers: Vec<String> = vec!["Ref".into(), "Measure".into()];
        headers.extend(plan.periods.iter().map(|p| p.label.clone()));
        headers.extend(["Trend".into(), "Owner".into(), "Due date".into()]);
        if collects.complete {
            headers.push("Complete".into());
        }
        if collects.date_of_update {
            headers.push("Date of update".into());
        }
        headers.push(narrative_heading.into());
        let has =
            |field: fn(&PlanMeasure) -> &String| plan.measures.iter().any(|m| !field(m).is_empty());
        let all_details: [Detail; 4] = [
            ("Aim / rationale", |m| &m.aim),
            ("Measurement", |m| &m.measurement),
            ("Traffic light criteria", |m| &m.criteria),
            ("Initial response", |m| &m.initial_response),
        ];
        let details: Vec<Detail> = all_details
            .into_iter()
            .filter(|(_, field)| has(*field))
            .collect();
        headers.extend(details.iter().map(|(h, _)| h.to_string()));

        let periods = plan.periods.len() as u16;
        PlanLayout {
            widths: plan_column_widths(headers.len(), periods),
            headers,
            collects,
            details,
            periods,
            first_status_col: 2,
            header_format: bold().set_border(FormatBorder::Thin).set_text_wrap(),
            cell_format: wrapped().set_border(FormatBorder::Thin),
        }
    }
}

/// One measure's tracker row: its status for each period in the plan's colours, the trend, owner, due
/// date, what came with the latest update, and the plan's details.
fn tracker_row(
    sheet: &mut Worksheet,
    row: u32,
    (plan, section, measure): (&Plan, &PlanSection, &PlanMeasure),
    layout: &PlanLayout,
    rows: &PlanRows,
) -> Result<(), RenderError> {
    let key = (
        plan.id.clone(),
        section.id.clone(),
        measure.reference.clone(),
    );
    let by_period = rows.statuses.get(&key);
    sheet.write_text_with_format(row, 0, &measure.reference, &layout.cell_format)?;
    sheet.write_text_with_format(row, 1, &measure.title, &layout.cell_format)?;
    let mut lines = text_lines(&measure.title, layout.widths[1]);
    let mut path = Vec::new();
    for (offset, period) in plan.periods.iter().enumerate() {
        let col = layout.first_status_col + offset as u16;
        match by_period.and_then(|p| p.get(&period.label)) {
            Some(status) => {
                sheet.write_text_with_format(row, col, status, &status_format(plan, status))?;
                path.push(status.clone());
            }
            None => {
                sheet.write_blank(row, col, &Format::new().set_border(FormatBorder::Thin))?;
            }
        }
    }
    let latest = rows.latest.get(&key);
    let latest_text =
        |field: fn(&LatestStatus) -> &String| latest.map_or("", |l| field(l).as_str());
    let (narrative, complete) = (latest_text(|l| &l.narrative), latest_text(|l| &l.complete));
    let update_date = uk_day(latest.and_then(|l| l.update_date));
    let trend_text = match (path.len(), latest_text(|l| &l.trend)) {
        (0 | 1, _) => String::new(),
        (_, "") => path.join(" → "),
        (_, "no change") => "no change".to_owned(),
        (_, trend) => format!("{} ({trend})", path.join(" → ")),
    };
    let mut col = layout.first_status_col + layout.periods;
    let mut put = |value: &str| -> Result<(), RenderError> {
        sheet.write_text_with_format(row, col, value, &layout.cell_format)?;
        let width = layout.widths.get(usize::from(col)).copied().unwrap_or(20.0);
        lines = lines.max(text_lines(value, width));
        col += 1;
        Ok(())
    };
    put(&trend_text)?;
    put(&measure.owner)?;
    put(&measure.due_text)?;
    if layout.collects.complete {
        put(complete)?;
    }
    if layout.collects.date_of_update {
        put(&update_date)?;
    }
    put(narrative)?;
    for (_, field) in &layout.details {
        put(field(measure))?;
    }
    fit_row(sheet, row, lines)?;
    Ok(())
}

/// The vocabulary, in the plan's own colours; returns the next free row.
fn vocabulary(
    sheet: &mut Worksheet,
    mut row: u32,
    plan: &Plan,
    layout: &PlanLayout,
) -> Result<u32, RenderError> {
    sheet.write_text_with_format(row, 0, "Traffic Light Colour", &layout.header_format)?;
    sheet.write_text_with_format(
        row,
        1,
        "Definition of measure achievement",
        &layout.header_format,
    )?;
    row += 1;
    for status in &plan.statuses {
        sheet.write_text_with_format(row, 0, &status.name, &status_format(plan, &status.name))?;
        sheet.write_text_with_format(row, 1, &status.meaning, &layout.cell_format)?;
        fit_row(sheet, row, text_lines(&status.meaning, layout.widths[1]))?;
        row += 1;
    }
    Ok(row)
}

/// Measures per section and status at the latest period.
fn status_counts(
    sheet: &mut Worksheet,
    mut row: u32,
    (plan, period): (&Plan, &str),
    layout: &PlanLayout,
    counts: &[StatusCount],
) -> Result<(), RenderError> {
    row += 1;
    sheet.write_text_with_format(row, 0, format!("Measures by status, {period}"), &bold())?;
    row += 1;
    sheet.write_text_with_format(row, 1, "Section", &layout.header_format)?;
    for (offset, status) in plan.statuses.iter().enumerate() {
        sheet.write_text_with_format(
            row,
            2 + offset as u16,
            &status.name,
            &status_format(plan, &status.name),
        )?;
    }
    row += 1;
    for section in &plan.sections {
        sheet.write_text_with_format(row, 1, &section.title, &layout.cell_format)?;
        for (offset, status) in plan.statuses.iter().enumerate() {
            let count = cell_sum(
                counts
                    .iter()
                    .filter(|c| {
                        c.plan == plan.id
                            && c.section == section.id
                            && c.period == *period
                            && c.status == status.name
                    })
                    .filter_map(|c| c.measures),
            );
            sheet.write_number_with_format(
                row,
                2 + offset as u16,
                count,
                &Format::new().set_border(FormatBorder::Thin),
            )?;
        }
        row += 1;
    }
    Ok(())
}

/// The `PlanStatus` sheet: every status as one Excel table.
pub fn plan_status_sheet(workbook: &mut Workbook, tables: &PlanTables) -> Result<(), RenderError> {
    let statuses = PlanStatusRow::rows(&tables.statuses)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("PlanStatus")?;
    for (i, status) in statuses.iter().enumerate() {
        for (col, value) in plan_status_cells(status).iter().enumerate() {
            sheet.write_text(1 + i as u32, col as u16, value)?;
        }
    }
    let columns: Vec<TableColumn> = PLAN_STATUS_HEADERS
        .iter()
        .map(|header| TableColumn::new().set_header(*header))
        .collect();
    let last_row = statuses.len().max(1) as u32;
    let table = Table::new().set_name("PlanStatus").set_columns(&columns);
    not_printed(sheet, PLAN_STATUS_HEADERS.len() as u16 - 1)?;
    sheet.add_table(0, 0, last_row, PLAN_STATUS_HEADERS.len() as u16 - 1, &table)?;
    sheet.set_column_range_width(0, 5, 16)?;
    sheet.set_column_range_width(6, 7, 34)?;
    sheet.set_column_range_width(8, 11, 14)?;
    sheet.set_column_range_width(12, 15, 40)?;
    Ok(())
}

/// A plan exception as its sheet shows it, in the order of its headers.
fn plan_exception_cells(schemas: &Schemas, exception: &PlanException) -> [String; 14] {
    let plan_title = schemas
        .plan(&exception.plan)
        .map_or(exception.plan.clone(), |p| p.title.clone());
    [
        plan_title,
        exception.section_title.clone(),
        exception.reference.clone(),
        exception.title.clone(),
        exception.exception.clone(),
        exception.period.clone(),
        exception.status.clone(),
        exception
            .kind
            .map(|kind| exception_detail(kind, exception))
            .unwrap_or_default(),
        exception.due_text.clone(),
        uk_day(exception.update_date),
        exception.complete.clone(),
        exception.owner.clone(),
        exception.source_file.clone(),
        exception.source_cell.clone(),
    ]
}

/// One sentence saying what the board is to act on.
fn exception_detail(kind: PlanExceptionKind, exception: &PlanException) -> String {
    let PlanException {
        period,
        status,
        prev_status,
        due_text: due,
        complete,
        ..
    } = exception;
    let (as_at, update_date) = (uk_day(exception.as_at), uk_day(exception.update_date));
    match kind {
        PlanExceptionKind::StatusWorsened => {
            format!("went from {prev_status} to {status} at {period}")
        }
        PlanExceptionKind::NotDueAfterDueDate => {
            format!("{status} (due date not reached) at {period}, but it was due {due}")
        }
        PlanExceptionKind::PastDueNotComplete => {
            let complete = if complete.is_empty() {
                String::new()
            } else {
                format!(", complete: {complete}")
            };
            format!("due {due}; {status} at {period} ({as_at}){complete}")
        }
        PlanExceptionKind::OnTrackNotComplete => {
            format!("{status} at {period} but marked not complete; it was due {due}")
        }
        PlanExceptionKind::UpdateOutOfDate => {
            format!("last updated {update_date}, too long before {as_at}")
        }
        PlanExceptionKind::NoUpdate => format!("no status was returned for {period}"),
    }
}

/// The exceptions workbook's sheet of plan exceptions.
pub fn plan_exceptions_sheet(
    workbook: &mut Workbook,
    schemas: &Schemas,
    tables: &PlanTables,
) -> Result<(), RenderError> {
    let exceptions = PlanException::rows(&tables.exceptions)?;
    let sheet = workbook.add_worksheet();
    let headers = [
        "Plan",
        "Section",
        "Ref",
        "Measure",
        "Exception",
        "Period",
        "Status",
        "Detail",
        "Due date",
        "Updated",
        "Complete",
        "Owner",
        "Source file",
        "Source cell",
    ];
    list_sheet(sheet, "Plan exceptions", &headers)?;
    // Wrapped in columns that print at about 90 % on A4 landscape; where each came from (the last two
    // columns) is for the screen.
    let widths = [
        18.0, 14.0, 5.0, 30.0, 18.0, 7.0, 8.0, 30.0, 11.0, 10.0, 8.0, 14.0, 22.0, 10.0,
    ];
    let mut rows = WrappedRows::new(&widths);
    for (i, exception) in exceptions.iter().enumerate() {
        rows.write(
            sheet,
            1 + i as u32,
            0,
            plan_exception_cells(schemas, exception),
        )?;
    }
    rows.finish(sheet)?;
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    const PRINTED_COLUMNS: u16 = 12;
    let last_row = exceptions.len() as u32;
    sheet.set_print_area(0, 0, last_row.max(1), PRINTED_COLUMNS - 1)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// A plan sheet's column widths. A4 landscape holds about 240 width units at 60 %: the text columns
/// (narratives, criteria) share what the reference, title, statuses, trend, owner and due date leave.
fn plan_column_widths(columns: usize, periods: u16) -> Vec<f64> {
    let mut widths = vec![8.0, 40.0];
    widths.extend(std::iter::repeat_n(10.0, usize::from(periods)));
    widths.extend([18.0, 12.0, 12.0]);
    let fixed: f64 = widths.iter().sum();
    let texts = columns.saturating_sub(widths.len()).max(1);
    let text_width = ((240.0 - fixed) / texts as f64).clamp(20.0, 40.0);
    widths.resize(columns.max(widths.len()), text_width);
    widths
}
