//! Turns a batch of processed returns into the store's five tables (returns, figures, commentary,
//! exceptions, statuses): one row per return, and the rows each kind of return gives.

use std::collections::HashMap;

use polars::prelude::*;
use polars_arrow::array::MutableBinaryViewArray;

use super::{History, ProcessedReturn};
use crate::error::FatalError;
use crate::exception::Exception;
use crate::period::FinancialYear;
use crate::read::message::MessageProvenance;
use crate::schema::Severity;
use crate::validate::{
    Commentary, Figure, FigureSlot, PlanUpdateIdentity, ReturnIdentity, StatusUpdate, Validated,
};

/// Builds the store tables from processed returns; with no returns, their empty typed forms. Only an
/// accepted return's figures, analysis and statuses are kept; every return's exceptions are.
pub fn tables_for(batch: &[ProcessedReturn]) -> Result<History, FatalError> {
    let mut tables = BatchTables::default();
    batch.iter().for_each(|processed| tables.push(processed));
    tables.finish()
}

/// A batch's tables, written a return at a time as each is reported on: a large batch's figures (tens
/// of thousands of rows) go straight into their columns, and no return is held until the batch is stored.
#[derive(Default)]
pub struct BatchTables {
    returns: ReturnsColumns,
    figures: FiguresColumns,
    commentary: CommentaryColumns,
    exceptions: ExceptionsColumns,
    statuses: StatusColumns,
}

impl BatchTables {
    /// Adds a return's rows to every table.
    pub fn push(&mut self, processed: &ProcessedReturn) {
        let validated = &processed.validated;
        self.returns.push(processed);
        for exception in validated.exceptions() {
            self.exceptions.push(processed, exception);
        }
        if !validated.accepted() {
            return;
        }
        match validated {
            Validated::Figures {
                figures,
                commentary: notes,
                ..
            } => {
                self.figures.push(processed, figures);
                self.commentary.push(processed, notes);
            }
            Validated::PlanUpdate {
                identity,
                statuses: given,
                ..
            } => given
                .iter()
                .for_each(|update| self.statuses.push(processed, identity, update)),
            Validated::Unidentified { .. } => {}
        }
    }

    /// Whether no return has been added.
    pub fn is_empty(&self) -> bool {
        self.returns.sha256.len() == 0
    }

    pub fn finish(self) -> Result<History, FatalError> {
        let frame = |made: PolarsResult<DataFrame>| made.map_err(FatalError::History);
        Ok(History {
            returns: frame(self.returns.into_frame())?,
            figures: frame(self.figures.into_frame())?,
            commentary: frame(self.commentary.into_frame())?,
            exceptions: frame(self.exceptions.into_frame())?,
            statuses: frame(self.statuses.into_frame())?,
            sign_offs: Vec::new(),
        })
    }
}

/// A text column written straight into polars' buffer as its rows come (named when it is finished); a
/// value repeated down a run of rows (a return's hash beside each of its figures) is held once.
#[derive(Default)]
struct Text(MutableBinaryViewArray<str>);

impl Text {
    fn push(&mut self, value: &str) {
        self.0.push_value(value);
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn push_repeated(&mut self, value: &str, rows: usize) {
        if rows > 0 {
            self.0.extend_constant(rows, Some(value));
        }
    }

    fn finish(self, name: &str) -> Column {
        StringChunked::with_chunk(name.into(), self.0.freeze()).into_column()
    }
}

/// The returns table: one row per return processed, accepted or not.
#[derive(Default)]
struct ReturnsColumns {
    sha256: Text,
    source_file: Text,
    received_at: Text,
    department: Vec<Option<String>>,
    /// The template's id, or the plan's for a plan update.
    template: Vec<Option<String>>,
    template_version: Vec<Option<i64>>,
    financial_year: Vec<Option<String>>,
    year_start: Vec<Option<i32>>,
    quarter: Vec<Option<i32>>,
    accepted: Vec<bool>,
    errors: Vec<i64>,
    warnings: Vec<i64>,
    plan_period: Vec<Option<String>>,
    message: MessageColumns,
}

/// Where a return that came by email came from; null for a return saved as a file.
#[derive(Default)]
struct MessageColumns {
    email_file: Vec<Option<String>>,
    attachment: Vec<Option<String>>,
    sender_address: Vec<Option<String>>,
    sender_name: Vec<Option<String>>,
    sent_at: Vec<Option<String>>,
    subject: Vec<Option<String>>,
    message_id: Vec<Option<String>>,
}

impl MessageColumns {
    fn push(&mut self, message: Option<&MessageProvenance>) {
        let field = |get: fn(&MessageProvenance) -> &String| message.map(|m| get(m).clone());
        self.email_file.push(field(|m| &m.email_file));
        self.attachment.push(field(|m| &m.attachment));
        self.sender_address.push(field(|m| &m.sender_address));
        self.sender_name.push(field(|m| &m.sender_name));
        self.sent_at
            .push(message.map(MessageProvenance::sent_at_text));
        self.subject.push(field(|m| &m.subject));
        self.message_id.push(field(|m| &m.message_id));
    }

    fn into_columns(self) -> [Column; 7] {
        [
            Column::new("email_file".into(), self.email_file),
            Column::new("attachment".into(), self.attachment),
            Column::new("sender_address".into(), self.sender_address),
            Column::new("sender_name".into(), self.sender_name),
            Column::new("sent_at".into(), self.sent_at),
            Column::new("subject".into(), self.subject),
            Column::new("message_id".into(), self.message_id),
        ]
    }
}

impl ReturnsColumns {
    fn push(&mut self, processed: &ProcessedReturn) {
        let validated = &processed.validated;
        self.message.push(processed.message.as_ref());
        self.sha256.push(&processed.sha256);
        self.source_file.push(&processed.source_file);
        self.received_at.push(&processed.received_at);
        self.accepted.push(validated.accepted());
        self.errors.push(validated.count(Severity::Error) as i64);
        self.warnings
            .push(validated.count(Severity::Warning) as i64);
        match validated {
            Validated::Figures { identity, .. } => self.push_figures_identity(identity),
            Validated::PlanUpdate { identity, .. } => self.push_plan_identity(identity),
            Validated::Unidentified { .. } => self.push_unidentified(),
        }
    }

    fn push_figures_identity(&mut self, identity: &ReturnIdentity) {
        self.department.push(Some(identity.department.clone()));
        self.template.push(Some(identity.template.clone()));
        self.template_version
            .push(Some(i64::from(identity.template_version)));
        self.financial_year
            .push(Some(identity.period.year.to_string()));
        self.year_start.push(Some(identity.period.year.0));
        self.quarter
            .push(identity.period.quarter.map(|q| i32::from(q.number())));
        self.plan_period.push(None);
    }

    fn push_plan_identity(&mut self, identity: &PlanUpdateIdentity) {
        self.department.push(Some(identity.department.clone()));
        self.template.push(Some(identity.plan.clone()));
        self.template_version
            .push(Some(i64::from(identity.template_version)));
        self.financial_year.push(None);
        self.year_start.push(None);
        self.quarter.push(None);
        self.plan_period.push(Some(identity.period.to_string()));
    }

    fn push_unidentified(&mut self) {
        self.department.push(None);
        self.template.push(None);
        self.template_version.push(None);
        self.financial_year.push(None);
        self.year_start.push(None);
        self.quarter.push(None);
        self.plan_period.push(None);
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        let count = self.sha256.len();
        let mut columns = vec![
            self.sha256.finish("sha256"),
            self.source_file.finish("source_file"),
            self.received_at.finish("received_at"),
            Column::new("department".into(), self.department),
            Column::new("template".into(), self.template),
            Column::new("template_version".into(), self.template_version),
            Column::new("financial_year".into(), self.financial_year),
            Column::new("year_start".into(), self.year_start),
            Column::new("quarter".into(), self.quarter),
            Column::new("accepted".into(), self.accepted),
            Column::new("errors".into(), self.errors),
            Column::new("warnings".into(), self.warnings),
            Column::new("plan_period".into(), self.plan_period),
            // Numbered when the batch is stored (`History::numbered_from`); a store from before arrival
            // numbers existed reads as nulls, ordered by file time.
            Column::new("arrival".into(), vec![None::<i64>; count]),
        ];
        // A store from before emails were read has none of these: they read as nulls.
        columns.extend(self.message.into_columns());
        DataFrame::new_infer_height(columns)
    }
}

/// The figures table: the figures of a large batch come by the tens of thousands, so each is written
/// straight into its columns.
#[derive(Default)]
struct FiguresColumns {
    sha256: Text,
    source_file: Text,
    indicator: Text,
    measure: Text,
    financial_year: Text,
    year_start: Vec<i32>,
    quarter: Vec<Option<i32>>,
    slot: Text,
    /// Null where the cell said N/A.
    value: Vec<Option<f64>>,
    not_applicable: Vec<bool>,
    sheet: Text,
    cell: Text,
    source_cell: Text,
    /// Where each made value is written before it is copied into its column.
    scratch: String,
    /// Each financial year's text, made once: a batch spans a few years and holds figures by the
    /// thousand.
    year_texts: HashMap<FinancialYear, String>,
}

impl FiguresColumns {
    /// A return's figures: its hash and file name once for them all.
    fn push(&mut self, processed: &ProcessedReturn, figures: &[Figure]) {
        self.sha256.push_repeated(&processed.sha256, figures.len());
        self.source_file
            .push_repeated(&processed.source_file, figures.len());
        figures.iter().for_each(|figure| self.push_figure(figure));
    }

    fn push_figure(&mut self, figure: &Figure) {
        self.indicator.push(&figure.indicator);
        self.measure.push(&figure.measure);
        let year = self
            .year_texts
            .entry(figure.year)
            .or_insert_with(|| figure.year.to_string());
        self.financial_year.push(year);
        self.year_start.push(figure.year.0);
        self.quarter.push(match figure.slot {
            FigureSlot::Quarter(q) => Some(i32::from(q.number())),
            _ => None,
        });
        self.slot.push(figure.slot.as_str());
        self.value
            .push(Some(figure.value).filter(|_| !figure.not_applicable));
        self.not_applicable.push(figure.not_applicable);
        self.sheet.push(&figure.sheet);
        self.cell.push(&figure.cell);
        self.scratch.clear();
        self.scratch.push_str(&figure.sheet);
        self.scratch.push('!');
        self.scratch.push_str(&figure.cell);
        self.source_cell.push(&self.scratch);
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            self.sha256.finish("sha256"),
            self.source_file.finish("source_file"),
            self.indicator.finish("indicator"),
            self.measure.finish("measure"),
            self.financial_year.finish("financial_year"),
            Column::new("year_start".into(), self.year_start),
            Column::new("quarter".into(), self.quarter),
            self.slot.finish("slot"),
            Column::new("value".into(), self.value),
            self.sheet.finish("sheet"),
            Column::new("not_applicable".into(), self.not_applicable),
            self.cell.finish("cell"),
            self.source_cell.finish("source_cell"),
        ])
    }
}

/// The commentary table: each indicator's analysis text.
#[derive(Default)]
struct CommentaryColumns {
    sha256: Text,
    source_file: Text,
    indicator: Text,
    text: Text,
    sheet: Text,
    cell: Text,
}

impl CommentaryColumns {
    /// A return's analysis texts: its hash and file name once for them all.
    fn push(&mut self, processed: &ProcessedReturn, notes: &[Commentary]) {
        self.sha256.push_repeated(&processed.sha256, notes.len());
        self.source_file
            .push_repeated(&processed.source_file, notes.len());
        for note in notes {
            self.indicator.push(&note.indicator);
            self.text.push(&note.text);
            self.sheet.push(&note.sheet);
            self.cell.push(&note.cell);
        }
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            self.sha256.finish("sha256"),
            self.source_file.finish("source_file"),
            self.indicator.finish("indicator"),
            self.text.finish("text"),
            self.sheet.finish("sheet"),
            self.cell.finish("cell"),
        ])
    }
}

/// The exceptions table: every exception of every return.
#[derive(Default)]
struct ExceptionsColumns {
    sha256: Text,
    source_file: Text,
    sheet: Text,
    cell: Text,
    value_found: Text,
    rule_id: Text,
    severity: Text,
    message: Text,
    guidance: Text,
}

impl ExceptionsColumns {
    fn push(&mut self, processed: &ProcessedReturn, exception: &Exception) {
        self.sha256.push(&processed.sha256);
        self.source_file.push(&exception.file);
        self.sheet.push(&exception.sheet);
        self.cell.push(&exception.cell);
        self.value_found.push(&exception.value_found);
        self.rule_id.push(&exception.rule_id);
        self.severity.push(exception.severity.as_str());
        self.message.push(&exception.message);
        self.guidance.push(&exception.guidance);
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            self.sha256.finish("sha256"),
            self.source_file.finish("source_file"),
            self.sheet.finish("sheet"),
            self.cell.finish("cell"),
            self.value_found.finish("value_found"),
            self.rule_id.finish("rule_id"),
            self.severity.finish("severity"),
            self.message.finish("message"),
            self.guidance.finish("guidance"),
        ])
    }
}

/// The statuses table: every status an accepted plan update gave, with its provenance.
#[derive(Default)]
struct StatusColumns {
    sha256: Text,
    source_file: Text,
    plan: Text,
    section: Text,
    reference: Text,
    period: Text,
    status: Text,
    status_as_written: Text,
    sheet: Text,
    cell: Text,
    source_cell: Text,
    narrative: Vec<Option<String>>,
    update_date: Vec<Option<String>>,
    complete: Vec<Option<String>>,
}

impl StatusColumns {
    fn push(
        &mut self,
        processed: &ProcessedReturn,
        plan_update: &PlanUpdateIdentity,
        update: &StatusUpdate,
    ) {
        self.sha256.push(&processed.sha256);
        self.source_file.push(&processed.source_file);
        self.plan.push(&plan_update.plan);
        self.section.push(&update.section);
        self.reference.push(&update.reference);
        self.period.push(&update.period.to_string());
        self.status.push(&update.status.to_string());
        self.status_as_written.push(&update.as_written);
        self.sheet.push(&update.sheet);
        self.cell.push(&update.cell);
        self.source_cell
            .push(&format!("{}!{}", update.sheet, update.cell));
        self.narrative.push(update.narrative.clone());
        // ISO dates compare correctly as text, which keeps polars' date features out of the build.
        self.update_date
            .push(update.update_date.map(|d| d.format("%Y-%m-%d").to_string()));
        self.complete
            .push(update.complete.map(|c| c.as_str().to_owned()));
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            self.sha256.finish("sha256"),
            self.source_file.finish("source_file"),
            self.plan.finish("plan"),
            self.section.finish("section"),
            self.reference.finish("ref"),
            self.period.finish("period"),
            self.status.finish("status"),
            self.status_as_written.finish("status_as_written"),
            self.sheet.finish("sheet"),
            self.cell.finish("cell"),
            self.source_cell.finish("source_cell"),
            Column::new("narrative".into(), self.narrative),
            Column::new("update_date".into(), self.update_date),
            Column::new("complete".into(), self.complete),
        ])
    }
}
