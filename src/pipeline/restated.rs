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
use crate::store::{AcceptedReturn, History};
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

/// A figure as accepted: its value, where it came from, and the period of the return that gave it.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    value: f64,
    file: String,
    /// The period of the return it came from (year, quarter): a later period's return wins.
    given_in: (i32, u8),
    /// When that return arrived: of two returns for one period, the later wins.
    arrival: i64,
}

impl Shown {
    /// Whether `self` takes the place of `shown` on the dashboard.
    fn replaces(&self, shown: Option<&Shown>) -> bool {
        shown.is_none_or(|s| (self.given_in, self.arrival) >= (s.given_in, s.arrival))
    }
}

/// The quarterly figures accepted so far, loaded from the history for each department's template the
/// first time a return on it comes, then kept in step with each return accepted.
#[derive(Default)]
pub struct ShownFigures {
    departments: HashMap<ReturnsKey, HashMap<SlotKey, Shown>>,
    /// Arrival numbers given to the returns accepted since loading, after the history's.
    next_arrival: i64,
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
        if !self.departments.contains_key(&key) {
            let loaded = load_shown(history, &key)?;
            self.next_arrival = self.next_arrival.max(history.next_arrival()? - 1);
            self.departments.insert(key.clone(), loaded);
        }
        self.next_arrival += 1;
        let arrival = self.next_arrival;
        let shown = self.departments.entry(key).or_default();
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
                arrival,
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

/// What is shown of one department's template: for each quarter's figure, the one from the current return
/// of the latest period that gives it.
fn load_shown(history: &History, key: &ReturnsKey) -> PolarsResult<HashMap<SlotKey, Shown>> {
    let current = current_returns_of(history, key)?;
    let mut shown: HashMap<SlotKey, Shown> = HashMap::new();
    if current.is_empty() {
        return Ok(shown);
    }
    let figures = &history.figures;
    let text = |name: &str| figures.column(name).and_then(|c| c.str().cloned());
    let (hashes, indicators, measures) = (text("sha256")?, text("indicator")?, text("measure")?);
    let (years, quarters, values) = (
        figures.column("year_start")?.i32()?.clone(),
        figures.column("quarter")?.i32()?.clone(),
        figures.column("value")?.f64()?.clone(),
    );
    let slots = text("slot")?;
    for i in 0..figures.height() {
        let Some(given) = hashes.get(i).and_then(|hash| current.get(hash)) else {
            continue;
        };
        let (Some("quarter"), Some(year), Some(quarter), Some(value)) =
            (slots.get(i), years.get(i), quarters.get(i), values.get(i))
        else {
            continue;
        };
        let slot = SlotKey {
            indicator: indicators.get(i).unwrap_or_default().to_owned(),
            measure: measures.get(i).unwrap_or_default().to_owned(),
            when: (year, u8::try_from(quarter).unwrap_or(0)),
        };
        let candidate = Shown {
            value,
            ..given.clone()
        };
        if candidate.replaces(shown.get(&slot)) {
            shown.insert(slot, candidate);
        }
    }
    Ok(shown)
}

/// The current accepted return of each quarter the department returned on the template: by content hash,
/// its file, its period and its arrival.
fn current_returns_of(history: &History, key: &ReturnsKey) -> PolarsResult<HashMap<String, Shown>> {
    let mut latest: HashMap<(i32, u8), AcceptedReturn<'_>> = HashMap::new();
    for accepted in history.accepted_returns()? {
        let ours =
            accepted.key.department == key.department && accepted.key.template == key.template;
        let quarter = accepted.key.quarter.and_then(|q| u8::try_from(q).ok());
        let (true, Some(year), Some(quarter)) = (ours, accepted.key.year, quarter) else {
            continue;
        };
        let entry = latest
            .entry((year, quarter))
            .or_insert_with(|| accepted.clone());
        if accepted.rank > entry.rank {
            *entry = accepted;
        }
    }
    Ok(latest
        .into_iter()
        .map(|(period, accepted)| {
            let shown = Shown {
                value: 0.0,
                file: accepted.file.to_owned(),
                given_in: period,
                arrival: accepted.rank.0,
            };
            (accepted.sha256.to_owned(), shown)
        })
        .collect())
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
