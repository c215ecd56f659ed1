//! The figures both documents show, read once from the consolidation as typed rows: each figure's mark
//! (flagged, restated, partial, N/A), the board's flags and restated figures in words, each indicator's
//! analysis, and the returns counted per department. The dashboard workbook and the board paper lay out
//! the same values from here.

use std::collections::HashSet;

use crate::consolidate::{
    BoardFlag, Commentary, Consolidated, DataRow, HistoryRow, RestatedFigure, YearRow,
};
use crate::period::{FinancialYear, Period, Quarter};
use crate::schema::{Indicator, NotCollected, Schemas};

use super::RenderError;

/// What the notes are about: an indicator, a measure and a quarter; a whole indicator (its analysis
/// missing) has no measure (empty) and no quarter.
pub(crate) type FigureKey = (String, String, Option<Quarter>);

/// The board's flags, or the restatements, on the reporting year's figures, by what they are about.
pub(crate) type FlagNotes = std::collections::BTreeMap<FigureKey, Vec<String>>;

/// The key of a measure's quarter `number` (1 to 4) of an indicator.
pub(crate) fn figure_key(indicator: &str, measure: &str, number: usize) -> FigureKey {
    let quarter = u8::try_from(number).ok().and_then(Quarter::new);
    (indicator.to_owned(), measure.to_owned(), quarter)
}

/// The key that marks an indicator as a whole.
pub(crate) fn whole_indicator(indicator: &str) -> FigureKey {
    (indicator.to_owned(), String::new(), None)
}

pub(crate) fn flag_notes(consolidated: &Consolidated) -> Result<FlagNotes, RenderError> {
    let year = consolidated.period.year;
    let mut notes = FlagNotes::new();
    for flag in BoardFlag::rows(&consolidated.flags)? {
        if flag.year_start.is_some_and(|y| y != year) {
            continue;
        }
        let mut note = format!("Board flag: {}", flag.flag);
        if let Some(baseline) = flag.baseline {
            note.push_str(&format!(" (a typical quarter is {baseline:.1})"));
        }
        if !flag.source_cell.is_empty() {
            note.push_str(&format!("; from {} {}", flag.source_file, flag.source_cell));
        }
        let quarter = flag.q.filter(|_| !flag.measure.is_empty());
        notes
            .entry((flag.indicator, flag.measure, quarter))
            .or_default()
            .push(note);
    }
    Ok(notes)
}

/// The reporting year's restated figures, by what they are about: the query that says what each was
/// before.
pub(crate) fn restated_notes(consolidated: &Consolidated) -> Result<FlagNotes, RenderError> {
    let mut notes = FlagNotes::new();
    for restated in RestatedFigure::rows(&consolidated.restated)? {
        notes
            .entry((restated.indicator, restated.measure, restated.q))
            .or_default()
            .push(restated.message);
    }
    Ok(notes)
}

/// The returns counted per department (consolidation counts them once), each with its department's name:
/// expected, received, missing, errors and queries.
pub(crate) fn department_counts(
    schemas: &Schemas,
    consolidated: &Consolidated,
) -> Vec<(String, [f64; 5])> {
    (consolidated.department_counts.iter())
        .map(|count| {
            let name = match &count.department {
                Some(id) => super::department_name(schemas, id),
                None => "Other files (not identified)".to_owned(),
            };
            let figures = [
                count.expected,
                count.received,
                count.missing,
                count.errors,
                count.queries,
            ];
            (name, figures.map(|n| n as f64))
        })
        .collect()
}

/// "Awaits returns: 0 of 7 received; due by 30/01/2021", for a quarter none of whose returns has come
/// yet (its totals are not partial, its figures are still to come).
pub(crate) fn awaiting_returns(schemas: &Schemas, consolidated: &Consolidated) -> Option<String> {
    let counts = &consolidated.department_counts;
    let expected: usize = counts.iter().map(|c| c.expected).sum();
    let received: usize = counts.iter().map(|c| c.received).sum();
    (expected > 0 && received == 0).then(|| {
        format!(
            "Awaits returns: 0 of {expected} received; due by {}",
            super::due_by(schemas, consolidated.period)
        )
    })
}

/// The consolidated tables the group sheets show, read once as typed rows.
pub(crate) struct Figures {
    pub(crate) period: Period,
    pub(crate) year: Vec<YearRow>,
    /// The year before by quarter, where the returns give it.
    pub(crate) previous_year: Vec<YearRow>,
    pub(crate) history: Vec<HistoryRow>,
    pub(crate) commentary: Vec<Commentary>,
    pub(crate) notes: FlagNotes,
    pub(crate) restated: FlagNotes,
    /// The figures a return gave as N/A: indicator, measure, year, quarter (`None` for a whole year).
    pub(crate) not_applicable: HashSet<NotApplicableKey>,
}

/// How a figure is marked wherever it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Plain,
    /// Flagged to the board.
    Flagged,
    /// Restated since first accepted.
    Restated,
    /// A total over a blank quarter.
    Partial,
    /// The return said N/A (there is no value): not a figure, and not missing.
    NotApplicable,
}

/// Where a return said N/A: indicator, measure, year, quarter (`None` for a whole year).
pub(crate) type NotApplicableKey = (String, String, FinancialYear, Option<Quarter>);

impl Figures {
    pub(crate) fn read(consolidated: &Consolidated) -> Result<Self, RenderError> {
        Ok(Figures {
            period: consolidated.period,
            year: YearRow::rows(&consolidated.year_matrix)?,
            previous_year: YearRow::rows(&consolidated.previous_year)?,
            history: HistoryRow::rows(&consolidated.history)?,
            commentary: Commentary::rows(&consolidated.commentary)?,
            notes: flag_notes(consolidated)?,
            restated: restated_notes(consolidated)?,
            not_applicable: (DataRow::rows(&consolidated.data)?.into_iter())
                .filter(|row| row.not_applicable == Some(true))
                .filter_map(|row| Some((row.indicator, row.measure, row.year_start?, row.q)))
                .collect(),
        })
    }

    /// How a measure's QTR 1–4 and year cells of the reporting year are marked, in that order: worked
    /// out here once, for the workbook and the paper alike.
    pub(crate) fn year_marks(
        &self,
        (indicator, measure): (&str, &str),
        row: &YearRow,
    ) -> [Mark; 5] {
        let [q1, q2, q3, q4] = row.quarters();
        let values = [q1, q2, q3, q4, row.year_value];
        let mut marks = [Mark::Plain; 5];
        for (offset, mark) in marks.iter_mut().enumerate() {
            let key = figure_key(indicator, measure, offset + 1);
            let year = self.period.year;
            if values[offset].is_none() && self.not_applicable((indicator, measure), year, key.2) {
                *mark = Mark::NotApplicable;
            }
            if offset == 4 {
                continue;
            }
            if self.notes.contains_key(&key) {
                *mark = Mark::Flagged;
            } else if self.restated.contains_key(&key) {
                *mark = Mark::Restated;
            }
        }
        if row.year_complete == Some(false) && row.year_value.is_some() {
            marks[4] = Mark::Partial;
        }
        marks
    }

    /// Whether the return said N/A for this figure (`quarter` `None` for the whole year).
    pub(crate) fn not_applicable(
        &self,
        (indicator, measure): (&str, &str),
        year: FinancialYear,
        quarter: Option<Quarter>,
    ) -> bool {
        let key = (indicator.to_owned(), measure.to_owned(), year, quarter);
        self.not_applicable.contains(&key)
    }
}

/// What the notes say of an indicator's figures (and of the indicator as a whole), one line each, each
/// naming the quarter and the measure it is about (unless the note does: `named`).
pub(crate) fn marks_of(indicator: &Indicator, notes: &FlagNotes, named: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for ((code, measure, quarter), said) in notes {
        if *code != indicator.code {
            continue;
        }
        let label = indicator
            .measures
            .iter()
            .find(|m| m.id == *measure)
            .map(|m| m.label.as_str());
        let place = match (label, quarter) {
            _ if named => String::new(),
            (Some(label), Some(q)) => format!("QTR {}, {label}: ", q.number()),
            (Some(label), None) => format!("{label}: "),
            (None, _) => String::new(),
        };
        lines.extend(said.iter().map(|note| format!("{place}{note}")));
    }
    lines
}

/// The analysis the period's returns give for an indicator, if any.
pub(crate) fn analysis_for(figures: &Figures, indicator: &str) -> Option<String> {
    let texts: Vec<&str> = figures
        .commentary
        .iter()
        .filter(|analysis| analysis.indicator == indicator)
        .map(|analysis| analysis.text.as_str())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

/// A group's indicators as both documents show them: in the catalogue's order, leaving out those no
/// template collects when `dashboard.toml` says to.
pub(crate) fn shown_indicators<'s>(schemas: &'s Schemas, group: &str) -> Vec<&'s Indicator> {
    (schemas.catalogue.indicators.iter())
        .filter(|indicator| indicator.group == group)
        .filter(|indicator| {
            schemas.dashboard.indicators_not_collected == NotCollected::Show
                || schemas.collects_indicator(indicator)
        })
        .collect()
}

/// What a document says under an indicator's figures about its analysis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Analysis {
    /// As the department supplied it, with the department's name.
    Supplied { owner: String, text: String },
    /// Asked for, and not supplied for the reporting period.
    NotSupplied { owner: String },
    /// No return template asks for this indicator: not the department's doing.
    NotCollected,
}

impl Analysis {
    pub(crate) fn of(schemas: &Schemas, figures: &Figures, indicator: &Indicator) -> Analysis {
        let owner = schemas
            .department(&indicator.owner)
            .map(|d| d.analysis_by.clone())
            .unwrap_or_else(|| indicator.owner.clone());
        match analysis_for(figures, &indicator.code) {
            Some(text) => Analysis::Supplied { owner, text },
            None if !schemas.collects_indicator(indicator) => Analysis::NotCollected,
            None => Analysis::NotSupplied { owner },
        }
    }

    /// The analysis in one paragraph, as both documents print it.
    pub(crate) fn said(&self, period: Period) -> String {
        match self {
            Analysis::Supplied { owner, text } => {
                format!("Analysis - the following information has been supplied by {owner}: {text}")
            }
            Analysis::NotSupplied { owner } => {
                format!("Analysis - no analysis has been supplied by {owner} for {period}.")
            }
            Analysis::NotCollected => "Not collected - no return template asks for this indicator \
                 yet, so the dashboard has no figures or analysis for it."
                .to_owned(),
        }
    }
}

/// The board's headline in words: each flag (after its indicator's code) and each restated figure of
/// the reporting year, as (title, lines).
pub(crate) fn headline_lines(
    schemas: &Schemas,
    figures: &Figures,
) -> [(&'static str, Vec<String>); 2] {
    // A restatement's query names its indicator; a flag is said after its indicator's code.
    [
        ("Board flags", &figures.notes, false),
        ("Restated figures", &figures.restated, true),
    ]
    .map(|(title, notes, named)| {
        let mut lines = Vec::new();
        for indicator in &schemas.catalogue.indicators {
            let said = marks_of(indicator, notes, named);
            lines.extend((said.into_iter()).filter(|line| !line.is_empty()).map(
                |line| match named {
                    true => line,
                    false => format!("{} {line}", indicator.code),
                },
            ));
        }
        (title, lines)
    })
}
