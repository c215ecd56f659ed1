//! The board paper as values: what each page says, built from the same typed figures as the dashboard
//! workbook (`render::figures`), so that the two documents cannot disagree. The `.docx` writer only lays
//! these values out.

use crate::consolidate::{Consolidated, LatestStatus, MissingReturn, PlanStatusRow, YearRow};
use crate::period::{FinancialYear, Period};
use crate::schema::{Frequency, Indicator, Measure, NotCollectedInPaper, Plan, Principle, Schemas};
use crate::store::FigureChange;

use super::super::figures::{
    Analysis, Figures, Mark, awaiting_returns, department_counts, headline_lines, marks_of,
    shown_indicators, whole_indicator,
};
use super::super::{RenderError, department_name, uk_clock, uk_day};
use super::chart::BarChart;
use super::number;

/// Which edition of the paper this is.
#[derive(Debug, Clone, PartialEq)]
pub enum PaperStatus {
    /// Not signed off: every page says DRAFT.
    Draft,
    /// Signed off by the owner as this version.
    SignedOff {
        version: u32,
        by: String,
        at: chrono::DateTime<chrono::Utc>,
    },
}

/// What happened since the quarter's last signed-off version, for the next one to open with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinceVersion {
    pub version: u32,
    pub late: Vec<LateArrival>,
    pub changes: Vec<FigureChange>,
}

/// A return for the quarter that arrived after its last version, as the next version says it.
#[derive(Debug, Clone, PartialEq)]
pub struct LateArrival {
    pub department: String,
    pub file: String,
    pub received_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Whether the new version's figures come from it.
    pub in_use: bool,
}

/// The edition a paper is made as: its status, and what changed since the last version.
#[derive(Debug, Clone, PartialEq)]
pub struct Edition {
    pub status: PaperStatus,
    pub since: Option<SinceVersion>,
}

/// The whole paper.
pub(super) struct Paper {
    pub force: String,
    pub title: String,
    pub quarter: Period,
    pub status: PaperStatus,
    /// "Signed off by … on …", or "Draft as at …".
    pub dated: String,
    /// What the document's properties say of it.
    pub properties: Properties,
    pub rationale: String,
    pub principles_title: String,
    pub principles: Vec<Principle>,
    pub headline: Headline,
    pub sections: Vec<Section>,
    pub plans: Vec<PlanTracker>,
    /// The day the plans are as at, which their updates are aged at.
    pub plans_as_at: Option<String>,
    pub owners: Vec<[String; 4]>,
}

/// The document's author and time (created and modified): the signer and the sign-off, or for a draft
/// `collate` and the latest return's arrival; the same for the same store and sign-off.
pub(super) struct Properties {
    pub author: String,
    /// W3C date and time, as `2020-11-20T10:00:00Z`.
    pub at: String,
}

/// What the headline says since the quarter's last version: its number, the returns that arrived after it
/// and the figures that changed, a line each.
pub(super) struct SinceLines {
    pub version: u32,
    pub late: Vec<String>,
    pub changes: Vec<String>,
}

/// A department's returns for the quarter: expected, received and missing.
pub(super) struct ReturnsOf {
    pub department: String,
    pub counts: [f64; 3],
}

/// The one-page headline.
pub(super) struct Headline {
    pub since: Option<SinceLines>,
    pub flags: Vec<String>,
    pub restated: Vec<String>,
    /// Department, expected, received, missing.
    pub returns: Vec<ReturnsOf>,
    /// "Awaits returns: 0 of 7 received; due by …", for a quarter none of whose returns has come.
    pub awaiting: Option<String>,
    pub missing: Vec<String>,
    /// The one line naming the indicators no return template collects (when they have no sections).
    pub not_collected: Option<String>,
}

pub(super) struct Section {
    pub title: String,
    pub indicators: Vec<IndicatorPart>,
}

/// A figure as printed, with what marks it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Cell {
    pub value: Option<f64>,
    pub mark: Mark,
}

/// One measure's row: its label, QTR 1–4 and the total.
pub(super) struct MeasureFigures {
    pub label: String,
    pub cells: [Cell; 5],
}

pub(super) struct IndicatorPart {
    pub code: String,
    pub title: String,
    pub flagged: bool,
    /// The reporting year's measures, then the year before where the template carries it.
    pub measures: Vec<MeasureFigures>,
    /// For an indicator of whole-year measures only (a survey): each measure by year instead.
    pub by_year: Option<ByYear>,
    pub history: Vec<String>,
    pub chart: Option<BarChart>,
    /// What the board is told of the flagged figures, a line each.
    pub flags: Vec<String>,
    /// What it is told of the restated figures, a line each.
    pub restated: Vec<String>,
    pub rationale: String,
    pub analysis: String,
    pub collected: bool,
}

/// Whole-year measures year by year: the earlier years', then the reporting year's.
pub(super) struct ByYear {
    pub years: Vec<FinancialYear>,
    pub rows: Vec<(String, Vec<Cell>)>,
}

/// An action plan's RAG tracker: each measure's latest status, and how old its update is, under the
/// heading of the plan's part it belongs to.
pub(super) struct PlanTracker {
    pub title: String,
    pub parts: Vec<PlanPart>,
    /// Each status: its name, what it means and its colour ("#RRGGBB").
    pub statuses: Vec<(String, String, String)>,
}

impl Paper {
    pub(super) fn build(
        schemas: &Schemas,
        consolidated: &Consolidated,
        edition: &Edition,
    ) -> Result<Paper, RenderError> {
        let figures = Figures::read(consolidated)?;
        let as_of = consolidated.last_received;
        let dated = match &edition.status {
            PaperStatus::SignedOff { by, at, .. } => {
                format!(
                    "Signed off by {by} on {}",
                    uk_clock(Some(at.fixed_offset()))
                )
            }
            PaperStatus::Draft => {
                format!("Draft as at {}", uk_clock(as_of))
            }
        };
        // Plan updates are aged at the day the plans are taken as at: the quarter's returns' due date (or
        // its sign-off, if earlier), so no update shown is after it.
        let plans_as_at = Some(consolidated.plans_until).filter(|d| *d != chrono::NaiveDate::MAX);
        let w3c = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let properties = match &edition.status {
            PaperStatus::SignedOff { by, at, .. } => Properties {
                author: by.clone(),
                at: w3c(*at),
            },
            PaperStatus::Draft => Properties {
                author: "collate (draft)".to_owned(),
                at: as_of.map_or_else(|| "2000-01-01T00:00:00Z".to_owned(), |t| w3c(t.to_utc())),
            },
        };
        let text = &schemas.dashboard.board_paper;
        Ok(Paper {
            force: schemas.dashboard.force.clone(),
            title: schemas.dashboard.title.clone(),
            quarter: consolidated.period,
            status: edition.status.clone(),
            dated,
            properties,
            rationale: text.rationale.clone(),
            principles_title: text.principles_title.clone(),
            principles: text.principles.clone(),
            headline: headline(schemas, consolidated, &figures, edition)?,
            sections: sections(schemas, &figures),
            plans: plan_trackers(schemas, consolidated, plans_as_at)?,
            plans_as_at: plans_as_at.map(|d| d.format("%d/%m/%Y").to_string()),
            owners: owners(schemas),
        })
    }
}

fn headline(
    schemas: &Schemas,
    consolidated: &Consolidated,
    figures: &Figures,
    edition: &Edition,
) -> Result<Headline, RenderError> {
    let [(_, flags), (_, restated)] = headline_lines(schemas, figures);
    let returns = department_counts(schemas, consolidated)
        .into_iter()
        .filter(|(_, counts)| counts[0] > 0.0)
        .map(
            |(department, [expected, received, missing, ..])| ReturnsOf {
                department,
                counts: [expected, received, missing],
            },
        )
        .collect();
    let missing = MissingReturn::rows(&consolidated.missing)?
        .into_iter()
        .map(|m| {
            let name = department_name(schemas, &m.department);
            match m.rejected_file {
                Some(file) => format!("{name}: the return sent (\"{file}\") was rejected"),
                None => format!("{name}: not received"),
            }
        })
        .collect();
    let since = edition.since.as_ref().map(|since| {
        let late = since
            .late
            .iter()
            .map(|r| {
                let name = department_name(schemas, &r.department);
                format!(
                    "{name}: \"{}\" arrived on {} ({})",
                    r.file,
                    uk_clock(r.received_at),
                    if r.in_use { "in use" } else { "not in use" }
                )
            })
            .collect();
        let changes = since
            .changes
            .iter()
            .map(|c| change_line(schemas, c))
            .collect();
        SinceLines {
            version: since.version,
            late,
            changes,
        }
    });
    let not_collected: Vec<String> = match schemas.dashboard.board_paper.not_collected {
        NotCollectedInPaper::List => (schemas.catalogue.indicators.iter())
            .filter(|i| !schemas.collects_indicator(i))
            .map(|i| format!("{} {}", i.code, i.title))
            .collect(),
        NotCollectedInPaper::Sections => Vec::new(),
    };
    Ok(Headline {
        since,
        flags,
        restated,
        returns,
        awaiting: awaiting_returns(schemas, consolidated),
        missing,
        not_collected: (!not_collected.is_empty()).then(|| {
            format!(
                "Not yet collected (no return template asks for them; their data owners are listed at the end): {}.",
                not_collected.join("; ")
            )
        }),
    })
}

/// A changed figure in words: "HR 3 Police officer leavers, 2020/21 QTR 1: was 8, now 12 (from …)".
fn change_line(schemas: &Schemas, change: &FigureChange) -> String {
    let label = schemas
        .catalogue
        .measure(&change.indicator, &change.measure)
        .map_or(change.measure.as_str(), |m| m.label.as_str());
    let when = match change.quarter {
        Some(q) => format!("{} QTR {}", change.financial_year, q.number()),
        None => change.financial_year.to_string(),
    };
    let shown = |value: Option<f64>| value.map_or_else(|| "blank".to_owned(), number);
    format!(
        "{} {label}, {when}: was {}, now {} (from \"{}\")",
        change.indicator,
        shown(change.was),
        shown(change.now),
        change.from
    )
}

fn sections(schemas: &Schemas, figures: &Figures) -> Vec<Section> {
    schemas
        .catalogue
        .groups
        .iter()
        .map(|group| Section {
            title: format!("{} Indicators", group.title),
            indicators: shown_indicators(schemas, &group.id)
                .into_iter()
                .filter(|indicator| {
                    schemas.dashboard.board_paper.not_collected == NotCollectedInPaper::Sections
                        || schemas.collects_indicator(indicator)
                })
                .map(|indicator| indicator_part(schemas, figures, indicator))
                .collect(),
        })
        .filter(|section| !section.indicators.is_empty())
        .collect()
}

fn indicator_part(schemas: &Schemas, figures: &Figures, indicator: &Indicator) -> IndicatorPart {
    let code = &indicator.code;
    let year = figures.period.year;
    let mut measures: Vec<MeasureFigures> = indicator
        .measures
        .iter()
        .map(|measure| MeasureFigures {
            label: measure.label.clone(),
            cells: year_cells(figures, indicator, measure),
        })
        .collect();
    for measure in &indicator.measures {
        if !schemas.collects_last_year(code, &measure.id) {
            continue;
        }
        if let Some(row) = year_row(&figures.previous_year, code, &measure.id) {
            let [q1, q2, q3, q4] = row.quarters();
            let plain = |value| Cell {
                value,
                mark: Mark::Plain,
            };
            measures.push(MeasureFigures {
                label: format!("{}: {}", year.previous(), measure.label),
                cells: [q1, q2, q3, q4, row.year_value].map(plain),
            });
        }
    }
    let annual = !indicator.measures.is_empty()
        && (indicator.measures.iter()).all(|m| m.frequency == Frequency::Annual);
    IndicatorPart {
        by_year: annual.then(|| by_year(figures, indicator)),
        code: code.clone(),
        title: indicator.title.clone(),
        flagged: figures.notes.contains_key(&whole_indicator(code)),
        measures,

        // A survey's table is already year by year.
        history: match annual {
            true => Vec::new(),
            false => history_lines(figures, indicator),
        },
        chart: chart_of(figures, indicator).filter(|_| schemas.collects_indicator(indicator)),
        flags: marks_of(indicator, &figures.notes, false),
        restated: marks_of(indicator, &figures.restated, true),
        rationale: indicator.rationale.clone(),
        analysis: Analysis::of(schemas, figures, indicator).said(figures.period),
        collected: schemas.collects_indicator(indicator),
    }
}

/// Each whole-year measure by year, every year any of them has a figure for.
fn by_year(figures: &Figures, indicator: &Indicator) -> ByYear {
    let this_year = figures.period.year;
    let value_in = |measure: &Measure, year: FinancialYear| {
        let value = match year == this_year {
            true => {
                year_row(&figures.year, &indicator.code, &measure.id).and_then(|r| r.year_value)
            }
            false => history_of(figures, &indicator.code, &measure.id)
                .into_iter()
                .find(|(y, _)| *y == year)
                .map(|(_, value)| value),
        };
        let said_na = figures.not_applicable((&indicator.code, &measure.id), year, None);
        let mark = match (value, said_na) {
            (None, true) => Mark::NotApplicable,
            _ => Mark::Plain,
        };
        Cell { value, mark }
    };
    let mut years: Vec<FinancialYear> = (indicator.measures.iter())
        .flat_map(|m| history_years(figures, &indicator.code, &m.id))
        .chain([this_year])
        .collect();
    years.sort();
    years.dedup();
    let rows = (indicator.measures.iter())
        .map(|m| {
            (
                m.label.clone(),
                years.iter().map(|y| value_in(m, *y)).collect(),
            )
        })
        .collect();
    ByYear { years, rows }
}

fn year_row<'f>(rows: &'f [YearRow], indicator: &str, measure: &str) -> Option<&'f YearRow> {
    rows.iter()
        .find(|row| row.indicator == indicator && row.measure == measure)
}

/// QTR 1–4 and the total of the reporting year, each marked as the dashboard marks it.
fn year_cells(figures: &Figures, indicator: &Indicator, measure: &Measure) -> [Cell; 5] {
    let Some(row) = year_row(&figures.year, &indicator.code, &measure.id) else {
        return [Cell {
            value: None,
            mark: Mark::Plain,
        }; 5];
    };
    let [q1, q2, q3, q4] = row.quarters();
    let marks = figures.year_marks((&indicator.code, &measure.id), row);
    let mut cells = [q1, q2, q3, q4, row.year_value].map(|value| Cell {
        value,
        mark: Mark::Plain,
    });
    for (cell, mark) in cells.iter_mut().zip(marks) {
        cell.mark = mark;
    }
    cells
}

/// "Historical data" lines: per measure with earlier years, "label: 2015/16: 7; 2016/17: 13".
fn history_lines(figures: &Figures, indicator: &Indicator) -> Vec<String> {
    indicator
        .measures
        .iter()
        .filter_map(|measure| {
            let years: Vec<String> = history_of(figures, &indicator.code, &measure.id)
                .into_iter()
                .map(|(year, value)| format!("{year}: {}", number(value)))
                .collect();
            (!years.is_empty()).then(|| format!("{}: {}", measure.label, years.join("; ")))
        })
        .collect()
}

/// The earlier years a measure has a whole-year figure for, or an N/A.
fn history_years(figures: &Figures, indicator: &str, measure: &str) -> Vec<FinancialYear> {
    (figures.history.iter())
        .filter(|h| h.indicator == indicator && h.measure == measure)
        .filter_map(|h| h.year_start)
        .collect()
}

fn history_of(figures: &Figures, indicator: &str, measure: &str) -> Vec<(FinancialYear, f64)> {
    let mut years: Vec<(FinancialYear, f64)> = figures
        .history
        .iter()
        .filter(|h| h.indicator == indicator && h.measure == measure)
        .filter_map(|h| Some((h.year_start?, h.value?)))
        .collect();
    years.sort_by_key(|(year, _)| *year);
    years
}

/// The indicator's chart: its first measure with earlier years above zero, year by year and the year so
/// far; or else its first measure with a quarter above zero, by quarter. `None` when there is nothing to
/// plot: a chart is never empty, nor all zeros.
fn chart_of(figures: &Figures, indicator: &Indicator) -> Option<BarChart> {
    if !indicator.chart {
        return None;
    }
    let year = figures.period.year;
    for measure in &indicator.measures {
        let history = history_of(figures, &indicator.code, &measure.id);
        if !history.iter().any(|(_, value)| *value > 0.0) {
            continue;
        }
        let mut bars: Vec<(String, f64)> = history
            .into_iter()
            .map(|(y, value)| (y.to_string(), value))
            .collect();
        if let Some(so_far) =
            year_row(&figures.year, &indicator.code, &measure.id).and_then(|r| r.year_value)
        {
            bars.push((format!("{year} to date"), so_far));
        }
        return Some(BarChart {
            title: format!("{} {}: by year", indicator.code, measure.label),
            bars,
        });
    }
    let measure = indicator.measures.iter().find(|measure| {
        year_row(&figures.year, &indicator.code, &measure.id)
            .is_some_and(|row| row.quarters().iter().flatten().any(|v| *v > 0.0))
    })?;
    let row = year_row(&figures.year, &indicator.code, &measure.id)?;
    let bars = (row.quarters().into_iter().enumerate())
        .filter_map(|(q, value)| Some((format!("QTR {}", q + 1), value?)))
        .collect();
    Some(BarChart {
        title: format!("{} {}: {year} by quarter", indicator.code, measure.label),
        bars,
    })
}

fn plan_trackers(
    schemas: &Schemas,
    consolidated: &Consolidated,
    today: Option<chrono::NaiveDate>,
) -> Result<Vec<PlanTracker>, RenderError> {
    let latest = LatestStatus::rows(&consolidated.plans.latest)?;
    let statuses = PlanStatusRow::rows(&consolidated.plans.statuses)?;
    Ok(schemas
        .plans
        .iter()
        .map(|plan| plan_tracker(plan, &latest, &statuses, today))
        .filter(|tracker| !tracker.parts.is_empty())
        .collect())
}

/// A part of a plan (its section: "Commit", "National Recommendations") and its measures' rows: ref,
/// measure, status, latest update, age.
pub(super) struct PlanPart {
    pub title: String,
    pub rows: Vec<StatusRow>,
}

/// A measure's row of a tracker: ref, measure, status, latest update, age; and its status's colour in the
/// plan's own vocabulary ("RRGGBB"), when it has one.
pub(super) struct StatusRow {
    pub cells: [String; 5],
    pub colour: Option<String>,
}

fn plan_tracker(
    plan: &Plan,
    latest: &[LatestStatus],
    statuses: &[PlanStatusRow],
    today: Option<chrono::NaiveDate>,
) -> PlanTracker {
    let parts = (plan.sections.iter())
        .map(|section| PlanPart {
            title: section.title.clone(),
            rows: part_rows(plan, &section.id, (latest, statuses), today),
        })
        .filter(|part| !part.rows.is_empty())
        .collect();
    PlanTracker {
        title: plan.title.clone(),
        parts,
        statuses: plan
            .statuses
            .iter()
            .map(|s| (s.name.clone(), s.meaning.clone(), s.colour.clone()))
            .collect(),
    }
}

/// The rows of a plan part's measures that have a status as at the paper.
fn part_rows(
    plan: &Plan,
    section: &str,
    (latest, statuses): (&[LatestStatus], &[PlanStatusRow]),
    today: Option<chrono::NaiveDate>,
) -> Vec<StatusRow> {
    plan.measures
        .iter()
        .filter(|measure| measure.section == section)
        .filter_map(|measure| {
            let status = latest
                .iter()
                .find(|s| s.plan == plan.id && s.reference == measure.reference)?;
            // The update's own date where it gives one, else the date its period stood at.
            let as_at = statuses
                .iter()
                .find(|s| {
                    s.plan == plan.id
                        && s.reference == measure.reference
                        && s.period == status.period
                })
                .and_then(|s| s.as_at);
            let updated = status.update_date.or(as_at);
            let colour = (plan.statuses.iter())
                .find(|defined| defined.name == status.status)
                .map(|defined| defined.colour.trim_start_matches('#').to_owned());
            Some(StatusRow {
                cells: [
                    measure.reference.clone(),
                    measure.title.clone(),
                    status.status.clone(),
                    format!("{} ({})", uk_day(updated), status.period),
                    age(updated, today),
                ],
                colour,
            })
        })
        .collect()
}

/// How old an update is on the paper's date, in the largest whole unit that says it.
fn age(updated: Option<chrono::NaiveDate>, today: Option<chrono::NaiveDate>) -> String {
    let (Some(updated), Some(today)) = (updated, today) else {
        return String::new();
    };
    let days = (today - updated).num_days();
    match days {
        d if d < 0 => "after this paper's date".to_owned(),
        d if d < 62 => format!("{d} day{}", if d == 1 { "" } else { "s" }),
        d if d < 730 => format!("{} months", d / 30),
        d => format!("{} years", d / 365),
    }
}

fn owners(schemas: &Schemas) -> Vec<[String; 4]> {
    schemas
        .catalogue
        .indicators
        .iter()
        .map(|i| {
            [
                i.code.clone(),
                i.title.clone(),
                department_name(schemas, &i.owner),
                i.source.clone(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_print_as_people_write_them() {
        assert_eq!(number(28.0), "28");
        assert_eq!(number(3021.0), "3021");
        assert_eq!(number(88.5), "88.5");
        assert_eq!(number(1.0 / 3.0), "0.33");
    }

    #[test]
    fn an_update_is_aged_in_the_unit_that_says_it() {
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(age(day(2020, 10, 1), day(2020, 10, 31)), "30 days");
        assert_eq!(age(day(2020, 1, 1), day(2020, 10, 31)), "10 months");
        assert_eq!(age(day(2015, 11, 30), day(2020, 10, 31)), "4 years");
        assert_eq!(age(None, day(2020, 10, 31)), "");
    }
}
