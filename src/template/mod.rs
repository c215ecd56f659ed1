//! Writes a return workbook laid out from its template schema: blank for departments to fill in
//! (`collate template`), prefilled for a period (`collate pack`), or filled, for sample returns, test
//! fixtures and benchmarks. Every one is guarded the same way: input cells validated, named and open,
//! the rest locked, the schema's rules shown as the department types.

mod guard;
mod inputs;
mod layout;
mod plan;
mod rules;

use std::collections::HashMap;

use rust_xlsxwriter::{ExcelDateTime, Workbook, XlsxError};

use crate::excel::{defined_name, figure_name};
use crate::period::{FinancialYear, Quarter};
use crate::schema::{Catalogue, Locator, Schemas, SlotKind, Template, ValueKind, ValueSource};
use inputs::Input;
use layout::{CellRole, Layout, Placed};

pub use guard::IDENTITY_SHEET;
pub use layout::Entry;
pub use plan::{PlanRow, PlanUpdateDraft};

/// A return being filled in: the cover, the figures by (indicator, measure, year offset, column heading),
/// and the analysis texts.
#[derive(Debug, Clone)]
pub struct ReturnDraft<'t> {
    template: &'t Template,
    schemas: &'t Schemas,
    catalogue: &'t Catalogue,
    identity: HashMap<&'static str, Entry>,
    fields: HashMap<String, Entry>,
    figures: HashMap<(String, String, i32, String), Entry>,
    analysis: HashMap<String, String>,
    year_headings: Vec<FinancialYear>,
    hidden: Vec<String>,
    /// Totals are written as SUM formulas, as in the departments' own templates.
    total_formulas: bool,
    /// In a template prefilled for a quarter: the quarter after which the year's cells are closed.
    closed_after: Option<Quarter>,
    /// Figures filled in from returns already accepted, by (indicator, measure, heading).
    prefilled: Vec<(String, String, String, f64)>,
}

impl<'t> ReturnDraft<'t> {
    pub fn new(template: &'t Template, schemas: &'t Schemas) -> Self {
        let mut identity = HashMap::new();
        identity.insert("template", Entry::Text(template.id.clone()));
        identity.insert("version", Entry::Number(f64::from(template.version)));
        identity.insert("department", Entry::Text(template.department.clone()));
        ReturnDraft {
            template,
            schemas,
            catalogue: &schemas.catalogue,
            identity,
            fields: HashMap::new(),
            figures: HashMap::new(),
            analysis: HashMap::new(),
            year_headings: Vec::new(),
            hidden: Vec::new(),
            total_formulas: true,
            closed_after: None,
            prefilled: Vec::new(),
        }
    }

    /// Fills in a figure already accepted for this year (`heading` "QTR 1"): still open, so that it can be
    /// restated, and highlighted once it differs from what was accepted.
    pub fn prefill(mut self, indicator: &str, measure: &str, heading: &str, value: f64) -> Self {
        self.prefilled.push((
            indicator.to_owned(),
            measure.to_owned(),
            heading.to_owned(),
            value,
        ));
        self.figure(indicator, measure, 0, heading, value)
    }

    /// Closes the year's quarters after `quarter`: greyed and locked, since nothing is due there yet.
    pub fn close_after(mut self, quarter: Quarter) -> Self {
        self.closed_after = Some(quarter);
        self
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
        let layout = self.layout();
        let mut workbook = Workbook::new();
        let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
        workbook.set_properties(
            &rust_xlsxwriter::DocProperties::new()
                .set_title(&self.template.title)
                .set_creation_datetime(&created),
        );
        let written = layout.write(&mut workbook, &self.template.title, &self.hidden)?;
        guard::validate_and_name(&mut workbook, &written)?;
        rules::show_rules(&mut workbook, self.template, &self.schemas.rules, &written)?;
        rules::show_restatements(&mut workbook, &self.prefilled, &written)?;
        let identity = [
            ("Template", self.template.id.clone()),
            ("Template version", self.template.version.to_string()),
            ("Schema fingerprint", self.template.fingerprint.clone()),
        ];
        guard::identity_sheet(&mut workbook, &identity)?;
        guard::protect(workbook, &self.schemas.dashboard.templates)
    }

    /// Where every item of the return goes, and what each cell is for.
    fn layout(&self) -> Layout {
        let mut layout = Layout::default();
        for (locator, label, entry, role) in self.cover_items() {
            layout.place(locator, (&label, None), entry.map(Placed::Entry), role);
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
        layout
    }

    /// The cover's items: which template, version, department and period, then the template's fields.
    /// The template, version and department are set by `collate`; so is the period once it is chosen.
    fn cover_items(&self) -> Vec<(&Locator, String, Option<Entry>, CellRole)> {
        let identity = &self.template.identity;
        let fixed = |item: &str| self.identity.get(item).cloned();
        let mut items = vec![(
            &identity.template,
            "Template".to_owned(),
            fixed("template"),
            CellRole::Fixed,
        )];
        if let Some(locator) = &identity.version {
            items.push((
                locator,
                "Template version".into(),
                fixed("version"),
                CellRole::Fixed,
            ));
        }
        items.push((
            &identity.department,
            "Department".into(),
            fixed("department"),
            CellRole::Fixed,
        ));
        let year = self.period_item("financial_year", "Financial year", ValueKind::Text);
        items.push((&identity.financial_year, year.0, year.1, year.2));
        if let Some(locator) = &identity.quarter {
            let quarters = Quarter::ALL.map(|q| format!("QTR {}", q.number())).to_vec();
            let quarter = self.period_item("quarter", "Quarter", ValueKind::Choice(quarters));
            items.push((locator, quarter.0, quarter.1, quarter.2));
        }
        for field in &self.template.fields {
            let input = Input {
                name: defined_name(&["field", &field.id]),
                title: field.label.clone(),
                label: field.label.clone(),
                kind: field.kind.clone(),
                limits: field.limits,
                guidance: Vec::new(),
            };
            let entry = self.fields.get(&field.id).cloned();
            items.push((
                &field.locator,
                field.label.clone(),
                entry,
                CellRole::Input(Box::new(input)),
            ));
        }
        items
    }

    /// A part of the period on the cover: fixed once the template is made for a period, else typed.
    fn period_item(
        &self,
        item: &str,
        label: &str,
        kind: ValueKind,
    ) -> (String, Option<Entry>, CellRole) {
        if let Some(entry) = self.identity.get(item) {
            return (label.to_owned(), Some(entry.clone()), CellRole::Fixed);
        }
        let example = match kind {
            ValueKind::Choice(_) => {
                "Choose the quarter the return covers (QTR 1 is April to June)."
            }
            _ => "Write it as 2020/21.",
        };
        let input = Input {
            name: defined_name(&["collate", item]),
            title: label.to_owned(),
            label: format!("The {} the return covers", label.to_lowercase()),
            kind,
            limits: Default::default(),
            guidance: vec![example.to_owned()],
        };
        (label.to_owned(), None, CellRole::Input(Box::new(input)))
    }

    /// What a figure cell takes: the measure's type and limits, with the rules' guidance on it.
    fn figure_input(
        &self,
        (indicator, measure, year_offset): (&str, &str, i32),
        heading: &str,
    ) -> Input {
        let known = self.catalogue.measure(indicator, measure);
        let year = match year_offset {
            0 => String::new(),
            -1 => " last year".to_owned(),
            offset => format!(" {offset} years on"),
        };

        let mut guidance = self.rule_guidance(indicator, measure);
        let accepted = self.prefilled.iter().find(|(i, m, h, _)| {
            year_offset == 0 && i == indicator && m == measure && h == heading
        });
        if let Some((.., value)) = accepted {
            guidance.insert(
                0,
                format!("Accepted earlier: {value}. Change it only to correct it (the cell then turns blue)."),
            );
        }
        if known.is_some_and(|m| m.not_applicable) {
            guidance.insert(0, "Type n/a if it does not apply.".to_owned());
        }
        Input {
            name: figure_name(indicator, measure, year_offset, heading),
            title: format!("{indicator}, {heading}{year}")
                .trim_end_matches(", ")
                .to_owned(),
            label: known.map_or_else(|| measure.to_owned(), |m| m.label.clone()),
            kind: known.map_or(ValueKind::Number, |m| m.kind.clone()),
            limits: known.map(|m| m.limits).unwrap_or_default(),
            guidance,
        }
    }

    /// The guidance of the schema's rules that involve a measure, in the department's terms.
    fn rule_guidance(&self, indicator: &str, measure: &str) -> Vec<String> {
        self.schemas
            .rules
            .iter()
            .filter(|rule| rules::involves(&rule.check, indicator, measure))
            .map(|rule| rules::fill_labels(&rule.guidance, &rule.check, self.catalogue))
            .filter(|guidance| !guidance.contains('{'))
            .collect()
    }

    /// A measure's row of a figures table: a cell under each heading, a total summing the quarters.
    fn place_row(
        &self,
        layout: &mut Layout,
        (indicator, measure, year_offset): (&str, &str, i32),
        (sheet, within, row): (&str, Option<&str>, &str),
        headings: &[(String, Option<SlotKind>)],
    ) {
        let summable = self
            .catalogue
            .measure(indicator, measure)
            .is_some_and(|m| m.summable);
        let block = layout.block(sheet, within, self.indicator_title(within.unwrap_or("")));
        let mut quarter_cells = Vec::new();
        for (heading, kind) in headings {
            let key = (
                indicator.to_owned(),
                measure.to_owned(),
                year_offset,
                heading.clone(),
            );
            block.figure(row, heading, key.clone());
            if *kind == Some(SlotKind::Total) && !summable {
                block.cell(row, heading, None, CellRole::Fixed);
                continue;
            }
            let mut entry = self.figures.get(&key).cloned().map(Placed::Entry);
            if matches!(kind, Some(SlotKind::Quarter(_))) {
                quarter_cells.push(heading.clone());
            }
            if *kind == Some(SlotKind::Total) && self.total_formulas && entry.is_none() {
                entry = Some(Placed::SumOf(quarter_cells.clone()));
            }
            let role = match (kind, &entry) {
                (_, Some(Placed::SumOf(_))) => CellRole::Fixed,
                (Some(SlotKind::Quarter(q)), _) if year_offset == 0 && self.is_closed(*q) => {
                    CellRole::Closed
                }
                _ => {
                    let input = self.figure_input((indicator, measure, year_offset), heading);
                    CellRole::Input(Box::new(input))
                }
            };
            block.cell(row, heading, entry, role);
        }
    }

    fn is_closed(&self, quarter: Quarter) -> bool {
        self.closed_after.is_some_and(|last| quarter > last)
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
        let input = self.figure_input((indicator, measure, year_offset), "");
        let label = input.label.clone();
        let title = self.indicator_title(indicator);
        layout.place(
            locator,
            (&label, Some(title)),
            self.figures.get(&key).cloned().map(Placed::Entry),
            CellRole::Input(Box::new(input)),
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
            let input = Input {
                name: defined_name(&[&spec.indicator, "analysis"]),
                title: format!("{} analysis", spec.indicator),
                label: format!("{} analysis", spec.indicator),
                kind: ValueKind::Text,
                limits: Default::default(),
                guidance: vec![
                    "A short analysis of this quarter's figures for the integrity board."
                        .to_owned(),
                ],
            };
            layout.place(
                &spec.locator,
                ("Analysis", Some(title)),
                text,
                CellRole::Input(Box::new(input)),
            );
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
