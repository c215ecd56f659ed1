//! Action plan outputs: one dashboard sheet per plan laid out as the seeds' "Plan Summary" with traffic-light
//! fills, the `PlanStatus` table, and the plan exceptions sheet of the exceptions workbook.

use std::collections::HashMap;

use rust_xlsxwriter::{
    Color, Format, FormatAlign, FormatBorder, Table, TableColumn, Workbook, Worksheet,
};

use super::{
    RenderError, WriteText, bold, fit_row, heading, list_sheet, not_printed, print_on_a4, text,
    text_lines, wrapped,
};
use crate::consolidate::{PlanExceptionKind, PlanTables};
use crate::schema::{Plan, PlanMeasure, PlanSection, Schemas};

/// The columns of the `PlanStatus` table; the first eight are the contract other tools rely on.
pub const PLAN_STATUS_COLUMNS: [(&str, &str); 16] = [
    ("plan", "plan"),
    ("section", "section"),
    ("ref", "ref"),
    ("period", "period"),
    ("status", "status"),
    ("owner", "owner"),
    ("source_file", "source_file"),
    ("source_cell", "source_cell"),
    ("as_at", "as_at"),
    ("status_as_written", "status_as_written"),
    ("complete", "complete"),
    ("date_of_update", "update_date"),
    ("update", "narrative"),
    ("measure", "title"),
    ("section_title", "section_title"),
    ("due", "due_text"),
];

/// A measure's detail shown beside its statuses: its heading, and how to read it.
type Detail = (&'static str, fn(&PlanMeasure) -> &String);

/// "2015-08-24" → "24/08/2015", as the board reads dates.
fn uk_date(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| iso.to_owned())
}

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

/// Statuses by (plan, section, ref) then period, from the status table.
type StatusLookup = HashMap<(String, String, String), HashMap<String, String>>;

fn status_lookup(tables: &PlanTables) -> Result<StatusLookup, RenderError> {
    let statuses = &tables.statuses;
    let mut lookup: StatusLookup = HashMap::new();
    for i in 0..statuses.height() {
        let key = (
            text(statuses, "plan", i)?,
            text(statuses, "section", i)?,
            text(statuses, "ref", i)?,
        );
        lookup
            .entry(key)
            .or_default()
            .insert(text(statuses, "period", i)?, text(statuses, "status", i)?);
    }
    Ok(lookup)
}

/// What each measure's latest row says: its period, status, narrative, update date, completion, trend.
type LatestLookup = HashMap<(String, String, String), [String; 6]>;

fn latest_lookup(tables: &PlanTables) -> Result<LatestLookup, RenderError> {
    let latest = &tables.latest;
    let mut lookup = HashMap::new();
    for i in 0..latest.height() {
        let key = (
            text(latest, "plan", i)?,
            text(latest, "section", i)?,
            text(latest, "ref", i)?,
        );
        let update_date = text(latest, "update_date", i)?;
        lookup.insert(
            key,
            [
                text(latest, "period", i)?,
                text(latest, "status", i)?,
                text(latest, "narrative", i)?,
                if update_date.is_empty() {
                    update_date
                } else {
                    uk_date(&update_date)
                },
                text(latest, "complete", i)?,
                text(latest, "trend", i)?,
            ],
        );
    }
    Ok(lookup)
}

/// One sheet per plan, after the dashboard's own sheets.
pub fn plan_sheets(
    workbook: &mut Workbook,
    schemas: &Schemas,
    tables: &PlanTables,
) -> Result<(), RenderError> {
    let statuses = status_lookup(tables)?;
    let latest = latest_lookup(tables)?;
    let mut reported: HashMap<String, (String, String)> = HashMap::new();
    for i in 0..tables.reported.height() {
        reported.insert(
            text(&tables.reported, "plan", i)?,
            (
                text(&tables.reported, "period", i)?,
                uk_date(&text(&tables.reported, "as_at", i)?),
            ),
        );
    }
    for plan in &schemas.plans {
        plan_sheet(
            workbook,
            plan,
            &statuses,
            &latest,
            reported.get(&plan.id),
            tables,
        )?;
    }
    Ok(())
}

fn plan_sheet(
    workbook: &mut Workbook,
    plan: &Plan,
    statuses: &StatusLookup,
    latest: &LatestLookup,
    reported: Option<&(String, String)>,
    tables: &PlanTables,
) -> Result<(), RenderError> {
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
            tracker_row(
                sheet,
                row,
                (plan, section, measure),
                &layout,
                (statuses, latest),
            )?;
            row += 1;
        }
        row += 1;
    }
    row = vocabulary(sheet, row, plan, &layout)?;
    if let Some((period, _)) = reported {
        status_counts(sheet, row, (plan, period), &layout, tables)?;
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
    (statuses, latest): (&StatusLookup, &LatestLookup),
) -> Result<(), RenderError> {
    let key = (
        plan.id.clone(),
        section.id.clone(),
        measure.reference.clone(),
    );
    let by_period = statuses.get(&key);
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
    let empty: [String; 6] = Default::default();
    let [_, _, narrative, update_date, complete, trend] = latest.get(&key).unwrap_or(&empty);
    let trend_text = match (path.len(), trend.as_str()) {
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
        put(update_date)?;
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
    tables: &PlanTables,
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
    let counts = &tables.counts;
    for section in &plan.sections {
        sheet.write_text_with_format(row, 1, &section.title, &layout.cell_format)?;
        for (offset, status) in plan.statuses.iter().enumerate() {
            let mut count = 0.0;
            for i in 0..counts.height() {
                if text(counts, "plan", i)? == plan.id
                    && text(counts, "section", i)? == section.id
                    && text(counts, "period", i)? == *period
                    && text(counts, "status", i)? == status.name
                {
                    count += super::number(counts, "measures", i)?.unwrap_or(0.0);
                }
            }
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
    let statuses = &tables.statuses;
    let sheet = workbook.add_worksheet();
    sheet.set_name("PlanStatus")?;
    for i in 0..statuses.height() {
        let row = 1 + i as u32;
        for (col, (_, column)) in PLAN_STATUS_COLUMNS.iter().enumerate() {
            let mut value = text(statuses, column, i)?;
            if matches!(*column, "as_at" | "update_date") && !value.is_empty() {
                value = uk_date(&value);
            }
            sheet.write_text(row, col as u16, value)?;
        }
    }
    let columns: Vec<TableColumn> = PLAN_STATUS_COLUMNS
        .iter()
        .map(|(header, _)| TableColumn::new().set_header(*header))
        .collect();
    let last_row = statuses.height().max(1) as u32;
    let table = Table::new().set_name("PlanStatus").set_columns(&columns);
    not_printed(sheet, PLAN_STATUS_COLUMNS.len() as u16 - 1)?;
    sheet.add_table(0, 0, last_row, PLAN_STATUS_COLUMNS.len() as u16 - 1, &table)?;
    sheet.set_column_range_width(0, 5, 16)?;
    sheet.set_column_range_width(6, 7, 34)?;
    sheet.set_column_range_width(8, 11, 14)?;
    sheet.set_column_range_width(12, 15, 40)?;
    Ok(())
}

/// One sentence saying what the board is to act on.
fn exception_detail(kind: PlanExceptionKind, row: &[String; 7]) -> String {
    let [
        period,
        status,
        prev_status,
        due,
        as_at,
        update_date,
        complete,
    ] = row;
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
    let exceptions = &tables.exceptions;
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
        "Date of update",
        "Complete",
        "Owner",
        "Source file",
        "Source cell",
    ];
    list_sheet(sheet, "Plan exceptions", &headers)?;
    for i in 0..exceptions.height() {
        let row = 1 + i as u32;
        let plan_id = text(exceptions, "plan", i)?;
        let plan_title = schemas
            .plan(&plan_id)
            .map(|p| p.title.clone())
            .unwrap_or(plan_id);
        let kind = text(exceptions, "exception", i)?;
        let update_date = text(exceptions, "update_date", i)?;
        let update_date = if update_date.is_empty() {
            update_date
        } else {
            uk_date(&update_date)
        };
        let facts = [
            text(exceptions, "period", i)?,
            text(exceptions, "status", i)?,
            text(exceptions, "prev_status", i)?,
            text(exceptions, "due_text", i)?,
            uk_date(&text(exceptions, "as_at", i)?),
            update_date.clone(),
            text(exceptions, "complete", i)?,
        ];
        let cells = [
            plan_title,
            text(exceptions, "section_title", i)?,
            text(exceptions, "ref", i)?,
            text(exceptions, "title", i)?,
            kind.clone(),
            facts[0].clone(),
            facts[1].clone(),
            PlanExceptionKind::from_label(&kind)
                .map(|kind| exception_detail(kind, &facts))
                .unwrap_or_default(),
            facts[3].clone(),
            update_date,
            facts[6].clone(),
            text(exceptions, "owner", i)?,
            text(exceptions, "source_file", i)?,
            text(exceptions, "source_cell", i)?,
        ];
        for (col, value) in cells.iter().enumerate() {
            sheet.write_text(row, col as u16, value)?;
        }
    }
    let widths = [
        18.0, 18.0, 5.0, 34.0, 24.0, 8.0, 9.0, 36.0, 10.0, 10.0, 8.0, 16.0, 22.0, 10.0,
    ];
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
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
