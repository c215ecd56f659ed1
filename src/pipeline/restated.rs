//! Figures the board can trust: a return that gives a quarter before its own a value other than the one
//! already accepted (and shown on the dashboard) is a query naming the cell, the old value, the new value
//! and the return the old one came from. The dashboard's value for a quarter comes from the current return
//! of the latest period that gives it (a Q2 return restates Q1; a return's "same quarter last year" is
//! last year's figure), so that is what a restatement is judged against.

use std::collections::HashMap;

use polars::prelude::PolarsResult;

use crate::exception::Exception;
use crate::period::{Period, Quarter};
use crate::schema::{Schemas, Severity};
use crate::store::History;
use crate::validate::{BuiltinCheck, FigureSlot, ReturnIdentity, Validated};

/// One department's returns on one template: whose figures can restate whose.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ReturnsKey {
    department: String,
    template: String,
}

/// One quarter's figure of one measure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SlotKey {
    indicator: String,
    measure: String,
    /// The quarter's place in time: its financial year's first calendar year, and its number.
    when: (i32, u8),
}

/// A figure as shown: its value, where it came from, and the period of the return that gave it.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    value: f64,
    file: String,
    /// The period of the return it came from (year, quarter; 0 for a whole-year return).
    given_in: (i32, u8),
}

impl Shown {
    /// Whether `self`, from a return taken in this pass, takes the place of `shown` on the dashboard. A
    /// return taken now arrives after every stored one, so of two the later period's wins, and of one
    /// period's this one (what the dashboard's own query, `consolidate::figures_shown`, does with arrivals).
    fn replaces(&self, shown: Option<&Shown>) -> bool {
        shown.is_none_or(|s| self.given_in >= s.given_in)
    }
}

/// What the dashboard shows of each department's template, quarter by quarter.
type ShownByTemplate = HashMap<ReturnsKey, HashMap<SlotKey, Shown>>;

/// The quarterly figures shown, asked of consolidation the first time a figures return comes in a pass,
/// then kept in step with each return accepted.
#[derive(Default)]
pub struct ShownFigures {
    departments: Option<ShownByTemplate>,
}

impl ShownFigures {
    /// Checks an accepted figures return against what is shown, raising a query for each earlier quarter
    /// it restates; then counts its figures as shown.
    pub fn check_and_take(
        &mut self,
        schemas: &Schemas,
        history: &History,
        file: &str,
        validated: &mut Validated,
    ) -> PolarsResult<()> {
        let Validated::Figures {
            identity, figures, ..
        } = &*validated
        else {
            return Ok(());
        };
        let Some(own) = identity.period.quarter.map(Quarter::number) else {
            return Ok(());
        };
        let own = (identity.period.year.0, own);
        let key = ReturnsKey {
            department: identity.department.clone(),
            template: identity.template.clone(),
        };
        let departments = match &mut self.departments {
            Some(departments) => departments,
            None => self
                .departments
                .insert(crate::phase::timed("figures shown (restatements)", || {
                    crate::polars_local::on_one_thread(|| load_shown(history))
                })?),
        };
        let shown = departments.entry(key).or_default();
        let mut queries = Vec::new();
        for figure in figures.iter().filter(|f| !f.not_applicable) {
            let FigureSlot::Quarter(quarter) = figure.slot else {
                continue;
            };
            let slot = SlotKey {
                indicator: figure.indicator.clone(),
                measure: figure.measure.clone(),
                when: (figure.year.0, quarter.number()),
            };
            if let Some(before) = shown.get(&slot)
                && slot.when < own
                && before.value != figure.value
            {
                queries.push(restated(schemas, file, figure, before));
            }
            let given = Shown {
                value: figure.value,
                file: file.to_owned(),
                given_in: own,
            };
            if given.replaces(shown.get(&slot)) {
                shown.insert(slot, given);
            }
        }
        for query in queries {
            validated.push_exception(query);
        }
        Ok(())
    }
}

/// The query a restated figure raises.
fn restated(
    schemas: &Schemas,
    file: &str,
    figure: &crate::validate::Figure,
    before: &Shown,
) -> Exception {
    let measure = schemas
        .catalogue
        .measure(&figure.indicator, &figure.measure)
        .map_or(figure.measure.as_str(), |m| m.label.as_str());
    let period = figure.slot.describe(figure.year);
    Exception {
        file: file.to_owned(),
        sheet: figure.sheet.clone(),
        cell: figure.cell.clone(),
        value_found: number(figure.value),
        rule_id: BuiltinCheck::RestatedFigure.id().to_owned(),
        severity: Severity::Warning,
        message: format!(
            "{} {measure}, {period}: this return gives {}, but {} was accepted from \"{}\"; the dashboard now shows {} as restated",
            figure.indicator,
            number(figure.value),
            number(before.value),
            before.file,
            number(figure.value),
        ),
        guidance: format!(
            "If {} was wrong, say why in the analysis; if not, correct this cell back to {}.",
            number(before.value),
            number(before.value)
        ),
    }
}

/// A figure as people write it: whole numbers without a decimal point.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

/// What the dashboard shows of every department's template, from the store.
fn load_shown(history: &History) -> PolarsResult<ShownByTemplate> {
    let mut shown = ShownByTemplate::new();
    // A store with no figures shows none: the queries would only say so, at a cost.
    if history.figures.height() == 0 {
        return Ok(shown);
    }
    for figure in crate::consolidate::figures_shown(history)? {
        let (Some(year), Some(quarter), Some(value), Some(given_year)) =
            (figure.year, figure.quarter, figure.value, figure.given_year)
        else {
            continue;
        };
        let key = ReturnsKey {
            department: figure.department,
            template: figure.template,
        };
        let slot = SlotKey {
            indicator: figure.indicator,
            measure: figure.measure,
            when: (year.0, quarter.number()),
        };
        let given_in = (
            given_year.0,
            figure.given_quarter.map_or(0, Quarter::number),
        );
        let figure = Shown {
            value,
            file: figure.source_file,
            given_in,
        };
        shown.entry(key).or_default().insert(slot, figure);
    }
    Ok(shown)
}

/// How many quarters away from the quarter being collected a return's cover may be before it is queried:
/// a year or more is more likely a cover copied from last year than a return sent early or late.
const FAR_QUARTERS: i64 = 4;

/// A query on a quarterly figures return whose cover names a period a year or more away from the quarter
/// being collected (the financial year cell of its cover, where the template fixes it).
pub fn far_cover_period(
    schemas: &Schemas,
    file: &str,
    validated: &Validated,
    collected: Option<Period>,
) -> Option<Exception> {
    let Validated::Figures { identity, .. } = validated else {
        return None;
    };
    let collected = collected?;
    identity.period.quarter?;
    let distance = identity.period.quarter_index() - collected.quarter_index();
    if distance.abs() < FAR_QUARTERS {
        return None;
    }
    let (how_far, when) = match distance {
        d if d < 0 => (-d, "before"),
        d => (d, "after"),
    };
    Some(cover_exception(
        schemas,
        file,
        identity,
        (BuiltinCheck::FarCoverPeriod, Severity::Warning),
        (
            format!(
                "the cover says {}, {how_far} quarters {when} {collected}, the quarter being collected; its figures are stored for {}",
                identity.period, identity.period
            ),
            format!(
                "If this return is for {collected}, correct the year and quarter on its cover and send it again."
            ),
        ),
    ))
}

/// An exception on the cover's financial year cell (where the template fixes it) of a figures return.
fn cover_exception(
    schemas: &Schemas,
    file: &str,
    identity: &ReturnIdentity,
    (check, severity): (BuiltinCheck, Severity),
    (message, guidance): (String, String),
) -> Exception {
    let (sheet, cell) = schemas
        .templates
        .iter()
        .find(|t| t.id == identity.template)
        .and_then(|t| match &t.identity.financial_year {
            crate::schema::Locator::Cell { sheet, row, col } => {
                Some((sheet.clone(), crate::excel::a1(*row, *col)))
            }
            _ => None,
        })
        .unwrap_or_default();
    Exception {
        file: file.to_owned(),
        sheet,
        cell,
        value_found: identity.period.to_string(),
        rule_id: check.id().to_owned(),
        severity,
        message,
        guidance,
    }
}
