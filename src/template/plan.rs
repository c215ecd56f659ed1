//! Writes an action plan update return laid out like the seeds' tables: blank for a department's own
//! measures (`collate template PLAN --department D`), or filled, for the sample inbox and tests.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError,
};
use serde::Deserialize;

use super::guard;
use super::inputs::Input;
use super::layout::Written;
use crate::excel::defined_name;
use crate::schema::{TemplateSettings, ValueKind};

use crate::schema::{
    COMPLETE_HEADING, CURRENT_POSITION_HEADING, DATE_OF_UPDATE_HEADING, DUE_HEADING,
    INITIAL_RESPONSE_HEADING, LATEST_UPDATE_HEADING, Plan, PlanMeasure, PlanSection, REF_HEADING,
};
use crate::validate::{COVER_ROWS, COVER_SHEET};

/// One row of an update as an owner fills it in. Values are written as typed: a date of update that reads
/// as a date is written as one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRow {
    pub section: String,
    #[serde(rename = "ref")]
    pub reference: String,
    /// Period label (or the plan's status heading) → status as typed.
    #[serde(default)]
    pub statuses: BTreeMap<String, String>,
    pub current_position: Option<String>,
    pub latest_update: Option<String>,
    pub date_of_update: Option<String>,
    pub complete: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PlanUpdateDraft<'p> {
    plan: &'p Plan,
    guard: TemplateSettings,
    department: String,
    period: String,
    rows: Vec<PlanRow>,
    version: u32,
}

impl<'p> PlanUpdateDraft<'p> {
    /// An update from `department` (as its cover names it) for the reporting period `period`, with no rows.
    pub fn new(plan: &'p Plan, department: &str, period: &str) -> Self {
        PlanUpdateDraft {
            plan,
            guard: TemplateSettings::default(),
            department: department.to_owned(),
            period: period.to_owned(),
            rows: Vec::new(),
            version: plan.version,
        }
    }

    /// Blank rows for every measure this department updates.
    pub fn with_measures_of(mut self, department_id: &str) -> Self {
        self.rows = self
            .plan
            .measures_of(department_id)
            .map(|measure| PlanRow {
                section: measure.section.clone(),
                reference: measure.reference.clone(),
                ..PlanRow::default()
            })
            .collect();
        self
    }

    pub fn rows(mut self, rows: Vec<PlanRow>) -> Self {
        self.rows = rows;
        self
    }

    /// How the update is protected (`[templates]` in `dashboard.toml`); protected without a password by
    /// default.
    pub fn guarded(mut self, settings: &TemplateSettings) -> Self {
        self.guard = settings.clone();
        self
    }

    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, XlsxError> {
        let plan = self.plan;
        let mut workbook = Workbook::new();
        let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
        workbook.set_properties(
            &DocProperties::new()
                .set_title(format!("{} update", plan.title))
                .set_creation_datetime(&created),
        );
        let formats = Formats::new();
        self.write_cover(workbook.add_worksheet(), &formats)?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(&plan.update.sheet)?;
        sheet.write_string_with_format(0, 0, &plan.title, &formats.bold)?;
        let layout = UpdateLayout::of(plan);
        sheet.write_string(
            1,
            0,
            format!(
                "Give each of your measures' status for the reporting period ({}) and its update.",
                layout.names.join(", ")
            ),
        )?;
        let mut written = Written::default();
        let mut row = 3u32;
        for section in &plan.sections {
            let rows: Vec<&PlanRow> = self
                .rows
                .iter()
                .filter(|r| r.section == section.id)
                .collect();
            if rows.is_empty() {
                continue;
            }
            sheet.write_string_with_format(row, 0, &section.title, &formats.bold)?;
            row += 1;
            for (col, heading) in layout.order.iter().enumerate() {
                sheet.write_string_with_format(row, col as u16, heading, &formats.header)?;
            }
            row += 1;
            for entry in rows {
                let inputs = self.write_row(sheet, row, (section, entry), &layout, &formats)?;
                let sheet_name = &plan.update.sheet;
                written.inputs.extend(
                    inputs
                        .into_iter()
                        .map(|(col, input)| (sheet_name.clone(), row, col, input)),
                );
                row += 1;
            }
            row += 1;
        }
        layout.size_columns(sheet)?;
        for sheet in workbook.worksheets_mut() {
            sheet
                .set_landscape()
                .set_paper_size(9)
                .set_print_fit_to_pages(1, 0);
        }
        guard::validate_and_name(&mut workbook, &written)?;
        let identity = [
            ("Template", plan.id.clone()),
            ("Template version", self.version.to_string()),
            ("Schema fingerprint", plan.fingerprint.clone()),
        ];
        guard::identity_sheet(&mut workbook, &identity)?;
        guard::protect(workbook, &self.guard)
    }

    /// The cover: which plan, version, department and period the update is.
    fn write_cover(&self, cover: &mut Worksheet, formats: &Formats) -> Result<(), XlsxError> {
        let plan = self.plan;
        cover.set_name(COVER_SHEET)?;
        cover.write_string_with_format(0, 0, format!("{} update", plan.title), &formats.bold)?;
        cover.write_string_with_format(2, 0, "Item", &formats.bold)?;
        cover.write_string_with_format(2, 1, "Value", &formats.bold)?;
        let values = [
            plan.id.clone(),
            self.version.to_string(),
            self.department.clone(),
            self.period.clone(),
        ];
        for (offset, (label, value)) in COVER_ROWS.iter().zip(values).enumerate() {
            let row = 3 + offset as u32;
            cover.write_string(row, 0, *label)?;
            if *label == "Template version" {
                cover.write_number(row, 1, f64::from(self.version))?;
            } else {
                cover.write_string(row, 1, value)?;
            }
        }
        let periods: Vec<&str> = plan.periods.iter().map(|p| p.label.as_str()).collect();
        cover.write_string(8, 0, format!("Reporting periods: {}", periods.join(", ")))?;
        cover.set_column_width(0, 22)?;
        cover.set_column_width(1, 40)?;
        Ok(())
    }

    /// One measure's row: its fixed facts, then what the department gives.
    fn write_row(
        &self,
        sheet: &mut Worksheet,
        row: u32,
        (section, entry): (&PlanSection, &PlanRow),
        layout: &UpdateLayout,
        formats: &Formats,
    ) -> Result<Vec<(u16, Input)>, XlsxError> {
        let plan = self.plan;
        let measure: Option<&PlanMeasure> = plan.measure(&section.id, &entry.reference);
        let mut inputs = Vec::new();
        let fixed = [
            (REF_HEADING.to_owned(), entry.reference.clone()),
            (
                plan.update.title_heading.clone(),
                measure.map(|m| m.title.clone()).unwrap_or_default(),
            ),
            (
                plan.update.owner_heading.clone(),
                measure.map(|m| m.owner.clone()).unwrap_or_default(),
            ),
            (
                DUE_HEADING.to_owned(),
                measure.map(|m| m.due_text.clone()).unwrap_or_default(),
            ),
            (
                INITIAL_RESPONSE_HEADING.to_owned(),
                measure
                    .map(|m| m.initial_response.clone())
                    .unwrap_or_default(),
            ),
        ];
        for (heading, value) in fixed {
            if let Some(col) = layout.column(&heading) {
                sheet.write_string_with_format(row, col, value, &formats.cell)?;
            }
        }
        for heading in &layout.status_headings {
            if let Some(col) = layout.column(heading) {
                // A single status column takes the status given for the update's own period.
                let status = entry.statuses.get(heading).or_else(|| {
                    plan.update
                        .status_heading
                        .as_ref()
                        .and_then(|_| entry.statuses.get(&self.period))
                });
                if self.is_after_own_period(heading) {
                    write_optional(sheet, (row, col), status, &formats.closed)?;
                    continue;
                }
                write_optional(sheet, (row, col), status, &formats.input)?;
                inputs.push((col, self.status_input(section, &entry.reference, heading)));
            }
        }
        let texts = [
            (CURRENT_POSITION_HEADING, &entry.current_position),
            (LATEST_UPDATE_HEADING, &entry.latest_update),
            (COMPLETE_HEADING, &entry.complete),
        ];
        for (heading, value) in texts {
            if let Some(col) = layout.column(heading) {
                write_optional(sheet, (row, col), value.as_ref(), &formats.input)?;
                inputs.push((col, self.detail_input(section, &entry.reference, heading)));
            }
        }
        if let Some(col) = layout.column(DATE_OF_UPDATE_HEADING) {
            write_date_of_update(sheet, (row, col), entry.date_of_update.as_deref(), formats)?;
            let heading = DATE_OF_UPDATE_HEADING;
            inputs.push((col, self.detail_input(section, &entry.reference, heading)));
        }
        Ok(inputs)
    }

    /// Whether a status column is for a period after the update's own: nothing is due there yet.
    fn is_after_own_period(&self, heading: &str) -> bool {
        let periods = &self.plan.periods;
        let index = |label: &str| periods.iter().position(|p| p.label == label);
        matches!((index(heading), index(&self.period)), (Some(at), Some(own)) if at > own)
    }

    /// A status cell: one of the plan's statuses.
    fn status_input(&self, section: &PlanSection, reference: &str, heading: &str) -> Input {
        let plan = self.plan;
        let names: Vec<String> = plan.statuses.iter().map(|s| s.name.clone()).collect();
        let meanings: Vec<String> = plan
            .statuses
            .iter()
            .map(|s| format!("{}: {}", s.name, s.meaning.trim_end_matches('.')))
            .collect();
        Input {
            name: defined_name(&[&plan.id, &section.id, reference, heading]),
            title: format!("{reference}, {heading}"),
            label: format!(
                "The status of measure {}",
                plan.measure_label(&section.id, reference)
            ),
            kind: ValueKind::Choice(names),
            limits: Default::default(),
            guidance: vec![format!("{}.", meanings.join("; "))],
        }
    }

    /// A cell of what comes with the status: the narrative, whether it is complete, the date of update.
    fn detail_input(&self, section: &PlanSection, reference: &str, heading: &str) -> Input {
        let kind = match heading {
            COMPLETE_HEADING => ValueKind::Choice(vec!["Yes".into(), "No".into(), "N/A".into()]),
            DATE_OF_UPDATE_HEADING => ValueKind::Date,
            _ => ValueKind::Text,
        };
        Input {
            name: defined_name(&[&self.plan.id, &section.id, reference, heading]),
            title: format!("{reference}, {heading}"),
            label: format!(
                "{heading} of {}",
                self.plan.measure_label(&section.id, reference)
            ),
            kind,
            limits: Default::default(),
            guidance: Vec::new(),
        }
    }
}

/// A text cell of an update row, or a blank one drawn like it.
fn write_optional(
    sheet: &mut Worksheet,
    (row, col): (u32, u16),
    value: Option<&String>,
    format: &Format,
) -> Result<(), XlsxError> {
    match value {
        Some(value) => sheet.write_string_with_format(row, col, value, format)?,
        None => sheet.write_blank(row, col, format)?,
    };
    Ok(())
}

/// The date of an update as a real date where it reads as one, else as it was typed.
fn write_date_of_update(
    sheet: &mut Worksheet,
    (row, col): (u32, u16),
    typed: Option<&str>,
    formats: &Formats,
) -> Result<(), XlsxError> {
    match typed.map(|d| (d, as_date(d))) {
        Some((_, Some(date))) => {
            let excel = ExcelDateTime::from_ymd(
                u16::try_from(chrono::Datelike::year(&date)).unwrap_or(1900),
                chrono::Datelike::month(&date) as u8,
                chrono::Datelike::day(&date) as u8,
            )?;
            sheet.write_datetime_with_format(row, col, &excel, &formats.date)?;
        }
        Some((typed, None)) => {
            sheet.write_string_with_format(row, col, typed, &formats.input)?;
        }
        None => {
            sheet.write_blank(row, col, &formats.input)?;
        }
    }
    Ok(())
}

/// The formats an update is written with.
struct Formats {
    bold: Format,
    header: Format,
    cell: Format,
    date: Format,
    /// What the department fills in: open and shaded, as in the figures templates.
    input: Format,
    /// A status for a period after the update's own: greyed and locked.
    closed: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            bold: Format::new().set_bold(),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_border(FormatBorder::Thin),
            cell: Format::new().set_text_wrap().set_border(FormatBorder::Thin),
            date: Format::new()
                .set_num_format("dd-mmm-yy")
                .set_border(FormatBorder::Thin)
                .set_unlocked()
                .set_background_color(Color::RGB(0xFF_F2_CC)),
            input: Format::new()
                .set_text_wrap()
                .set_border(FormatBorder::Thin)
                .set_unlocked()
                .set_background_color(Color::RGB(0xFF_F2_CC)),
            closed: Format::new()
                .set_text_wrap()
                .set_border(FormatBorder::Thin)
                .set_background_color(Color::RGB(0xD9_D9_D9)),
        }
    }
}

/// The columns of an update's tables, in order, as the plan lays them out.
struct UpdateLayout {
    order: Vec<String>,
    status_headings: Vec<String>,
    first_status: u16,
    with_initial: bool,
    /// The plan's status names, offered in a list.
    names: Vec<String>,
}

impl UpdateLayout {
    fn of(plan: &Plan) -> UpdateLayout {
        let names: Vec<String> = plan.statuses.iter().map(|s| s.name.clone()).collect();
        let collects = plan.update.collects;
        let with_initial = plan.measures.iter().any(|m| !m.initial_response.is_empty());
        let mut headings: Vec<String> = vec![
            REF_HEADING.into(),
            plan.update.title_heading.clone(),
            plan.update.owner_heading.clone(),
            DUE_HEADING.into(),
        ];
        if with_initial {
            headings.push(INITIAL_RESPONSE_HEADING.into());
        }
        let status_headings: Vec<String> = match &plan.update.status_heading {
            Some(heading) => vec![heading.clone()],
            None => plan.periods.iter().map(|p| p.label.clone()).collect(),
        };
        let first_status = headings.len() as u16;
        let mut extra: Vec<&str> = Vec::new();
        if collects.current_position {
            extra.push(CURRENT_POSITION_HEADING);
        }
        if collects.latest_update {
            extra.push(LATEST_UPDATE_HEADING);
        }
        if collects.date_of_update {
            extra.push(DATE_OF_UPDATE_HEADING);
        }
        if collects.complete {
            extra.push(COMPLETE_HEADING);
        }
        // The seed improvement plan puts the RAG status last; the trackers put statuses before the narrative.
        let status_last = plan.update.status_heading.is_some();
        let mut order: Vec<String> = headings;
        if !status_last {
            order.extend(status_headings.iter().cloned());
        }
        order.extend(extra.iter().map(|h| h.to_string()));
        if status_last {
            order.extend(status_headings.iter().cloned());
        }
        UpdateLayout {
            order,
            status_headings,
            first_status,
            with_initial,
            names,
        }
    }

    fn column(&self, heading: &str) -> Option<u16> {
        self.order
            .iter()
            .position(|h| h == heading)
            .map(|p| p as u16)
    }

    fn size_columns(&self, sheet: &mut Worksheet) -> Result<(), XlsxError> {
        let layout = self;
        sheet.set_column_width(0, 8)?;
        sheet.set_column_width(1, 50)?;
        sheet.set_column_width(2, 24)?;
        sheet.set_column_width(3, 14)?;
        for (col, heading) in layout
            .order
            .iter()
            .enumerate()
            .skip(usize::from(layout.first_status))
        {
            let wide = [
                CURRENT_POSITION_HEADING,
                LATEST_UPDATE_HEADING,
                INITIAL_RESPONSE_HEADING,
            ]
            .contains(&heading.as_str());
            sheet.set_column_width(col as u16, if wide { 60 } else { 12 })?;
        }
        if layout.with_initial {
            sheet.set_column_width(4, 60)?;
        }
        Ok(())
    }
}

/// A date as owners type them: 24-Aug-15, 24/08/2015 or 2015-08-24.
fn as_date(text: &str) -> Option<NaiveDate> {
    ["%d-%b-%y", "%d/%m/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text.trim(), format).ok())
}
