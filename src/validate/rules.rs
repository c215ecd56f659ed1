//! The schema's rules applied to a return's figures (part within whole, totals, sums, needs-when-positive,
//! no future quarters, figures complete), and the cover/sheet mismatch check that silences some of them.

use std::collections::BTreeMap;

use super::checker::{Checker, Problem};
use super::{Blank, BuiltinCheck, Figure, FigureSlot, ReturnIdentity};
use crate::excel::cell_sum;
use crate::period::{FinancialYear, Period, Quarter};
use crate::schema::{Check, Frequency, MeasureRef, Schemas, Severity, Template, TemplateKind};

type FigureKey = (String, String, FinancialYear, FigureSlot);

/// At least this many measures with figures for a later quarter make the sheet a later quarter's return
/// (one stray later figure, as in the seed's PSD return, is a query on that cell instead).
const LATER_QUARTER_MEASURES: usize = 3;

/// The cover's quarter is earlier than the sheet's: most measures with a figure for the cover's quarter
/// also have one for a later quarter of the same year.
pub(super) fn cover_disagrees_with_sheet(
    template: &Template,
    identity: &ReturnIdentity,
    figures: &[Figure],
) -> Option<Problem> {
    let own = identity.period.quarter?;
    if template.kind != TemplateKind::Quarterly {
        return None;
    }
    let in_year = |f: &&Figure| f.year == identity.period.year;
    let quarter_of = |f: &Figure| match f.slot {
        FigureSlot::Quarter(q) => Some(q),
        _ => None,
    };
    let later: Vec<&Figure> = figures
        .iter()
        .filter(in_year)
        .filter(|f| quarter_of(f).is_some_and(|q| q > own))
        .collect();
    let latest = later.iter().filter_map(|f| quarter_of(f)).max()?;
    let measures = |wanted: Quarter| {
        figures
            .iter()
            .filter(in_year)
            .filter(|f| quarter_of(f) == Some(wanted))
            .map(|f| (&f.indicator, &f.measure))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let (with_later, with_own) = (measures(latest), measures(own));
    if with_later < LATER_QUARTER_MEASURES || with_later * 2 < with_own {
        return None;
    }
    let first = later.iter().find(|f| quarter_of(f) == Some(latest))?;
    Some(Problem {
        check: BuiltinCheck::CoverPeriodMismatch,
        severity: Severity::Error,
        sheet: first.sheet.clone(),
        cell: first.cell.clone(),
        value_found: format!(
            "{} on the cover; {with_later} figures for {}",
            own.heading(),
            latest.heading()
        ),
        message: format!(
            "the cover says {} but the sheet holds {} figures for {with_later} measures: is this the {latest} return?",
            own.heading(),
            latest.heading()
        ),
        guidance: format!(
            "If it is the {latest} return, correct the quarter on the cover to {} and send it again; keep the figures.",
            latest.heading()
        ),
    })
}

/// Applies every rule of the schema to the figures; returns the figures kept (a figure for a quarter after
/// the return's own is dropped).
pub(super) fn apply_rules(
    checker: &mut Checker<'_>,
    template: &Template,
    identity: &ReturnIdentity,
    figures: Vec<Figure>,
    blanks: &[Blank],
    cover_mismatch: bool,
) -> Vec<Figure> {
    let schemas = checker.schemas;
    let quarterly = template.kind == TemplateKind::Quarterly;
    let mut dropped: Vec<usize> = Vec::new();
    {
        let context = RuleContext::new(checker.schemas, identity.period, &figures);
        for rule in &schemas.rules {
            let raise = &mut |at: (&str, &str), found: String, values: &[(&str, String)]| {
                checker.raise_rule(rule, at, found, values)
            };
            match &rule.check {
                Check::PartWithinWhole { part, whole } => {
                    part_within_whole(&context, part, whole, raise)
                }
                // Said once as the cover's mistake instead.
                Check::TotalMatchesQuarters if cover_mismatch => {}
                Check::TotalMatchesQuarters => total_matches_quarters(&context, raise),
                Check::SumsTo {
                    measures,
                    target,
                    tolerance,
                } => sums_to(&context, measures, *target, *tolerance, raise),
                Check::NeedsWhenPositive { when, needs } => {
                    needs_when_positive(&context, when, needs, raise)
                }
                Check::NoFutureQuarters if quarterly => {
                    dropped.extend(future_quarters(&context, cover_mismatch, raise))
                }
                Check::FiguresComplete if quarterly => figures_complete(&context, blanks, raise),
                Check::NoFutureQuarters | Check::FiguresComplete => {}
            }
        }
    }
    figures
        .into_iter()
        .enumerate()
        .filter(|(position, _)| !dropped.contains(position))
        .map(|(_, figure)| figure)
        .collect()
}

/// Raises a rule's exception at a sheet and cell, with the value found and the message's placeholders.
type Raise<'r> = dyn FnMut((&str, &str), String, &[(&str, String)]) + 'r;

/// What every rule looks at: the return's figures, indexed by measure, year and slot, and its period.
struct RuleContext<'a> {
    schemas: &'a Schemas,
    period: Period,
    figures: &'a [Figure],
    index: BTreeMap<FigureKey, &'a Figure>,
}

impl<'a> RuleContext<'a> {
    fn new(schemas: &'a Schemas, period: Period, figures: &'a [Figure]) -> RuleContext<'a> {
        let index = figures
            .iter()
            .map(|f| ((f.indicator.clone(), f.measure.clone(), f.year, f.slot), f))
            .collect();
        RuleContext {
            schemas,
            period,
            figures,
            index,
        }
    }

    fn get(
        &self,
        measure: &MeasureRef,
        year: FinancialYear,
        slot: FigureSlot,
    ) -> Option<&'a Figure> {
        self.index
            .get(&(
                measure.indicator.clone(),
                measure.measure.clone(),
                year,
                slot,
            ))
            .copied()
    }

    /// A measure as the department knows it: "PSD1 Number of complaints".
    fn label(&self, indicator: &str, measure: &str) -> String {
        self.schemas
            .catalogue
            .measure(indicator, measure)
            .map(|m| format!("{indicator} {}", m.label))
            .unwrap_or_else(|| format!("{indicator} {measure}"))
    }

    /// A figure for a period after the return's own.
    fn is_future(&self, figure: &Figure) -> bool {
        let period = self.period;
        match (figure.slot, period.quarter) {
            (FigureSlot::Quarter(quarter), Some(own)) => {
                figure.year > period.year || (figure.year == period.year && quarter > own)
            }
            _ => figure.year > period.year,
        }
    }

    /// The figures of one measure, leaving out stated totals.
    fn of_measure<'m>(&'m self, measure: &'m MeasureRef) -> impl Iterator<Item = &'a Figure> + 'm {
        self.figures.iter().filter(move |f| {
            f.indicator == measure.indicator
                && f.measure == measure.measure
                && f.slot != FigureSlot::Total
        })
    }
}

/// A part is never more than its whole (totals are not compared: a part within its whole in every
/// quarter is within it in total).
fn part_within_whole(
    context: &RuleContext<'_>,
    part: &MeasureRef,
    whole: &MeasureRef,
    raise: &mut Raise<'_>,
) {
    for figure in context.of_measure(part) {
        let Some(whole_figure) = context.get(whole, figure.year, figure.slot) else {
            continue;
        };
        if figure.value > whole_figure.value {
            let values = [
                ("part", context.label(&part.indicator, &part.measure)),
                ("whole", context.label(&whole.indicator, &whole.measure)),
                ("period", figure.slot.describe(figure.year)),
                ("value", format!("{}", figure.value)),
                ("whole_value", format!("{}", whole_figure.value)),
            ];
            let found = format!(
                "{} (whole {}!{} = {})",
                figure.value, whole_figure.sheet, whole_figure.cell, whole_figure.value
            );
            raise((&figure.sheet, &figure.cell), found, &values);
        }
    }
}

/// A stated total equals its quarters up to the return's own.
fn total_matches_quarters(context: &RuleContext<'_>, raise: &mut Raise<'_>) {
    for total in context
        .figures
        .iter()
        .filter(|f| f.slot == FigureSlot::Total)
    {
        let measure = MeasureRef {
            indicator: total.indicator.clone(),
            measure: total.measure.clone(),
        };
        let sum = cell_sum(
            Quarter::ALL
                .iter()
                .filter_map(|q| context.get(&measure, total.year, FigureSlot::Quarter(*q)))
                .filter(|f| !context.is_future(f))
                .map(|f| f.value),
        );
        if (sum - total.value).abs() > 1e-6 {
            let values = [
                ("measure", context.label(&total.indicator, &total.measure)),
                ("period", total.year.to_string()),
                ("value", format!("{}", total.value)),
                ("sum", format!("{sum}")),
            ];
            let found = format!("total {} but the quarters add up to {sum}", total.value);
            raise((&total.sheet, &total.cell), found, &values);
        }
    }
}

/// Measures that together make a whole (percentages to 100) add up to it, within the tolerance.
fn sums_to(
    context: &RuleContext<'_>,
    measures: &[MeasureRef],
    target: f64,
    tolerance: f64,
    raise: &mut Raise<'_>,
) {
    let Some(first) = measures.first() else {
        return;
    };
    for anchor in context.of_measure(first) {
        let parts: Option<Vec<&Figure>> = measures
            .iter()
            .map(|m| context.get(m, anchor.year, anchor.slot))
            .collect();
        let Some(parts) = parts else { continue };
        let sum = cell_sum(parts.iter().map(|f| f.value));
        if (sum - target).abs() > tolerance + 1e-9 {
            let cells: Vec<String> = parts
                .iter()
                .map(|f| format!("{}!{}", f.sheet, f.cell))
                .collect();
            let values = [
                ("period", anchor.slot.describe(anchor.year)),
                ("sum", format!("{sum}")),
                ("target", format!("{target}")),
                ("cells", cells.join(", ")),
            ];
            raise((&anchor.sheet, &anchor.cell), format!("sum {sum}"), &values);
        }
    }
}

/// Where one measure is above zero, another must be too (courses run need trainees).
fn needs_when_positive(
    context: &RuleContext<'_>,
    when: &MeasureRef,
    needs: &MeasureRef,
    raise: &mut Raise<'_>,
) {
    for figure in context.of_measure(when).filter(|f| f.value > 0.0) {
        let needed = context.get(needs, figure.year, figure.slot);
        if needed.is_some_and(|n| n.value > 0.0) {
            continue;
        }
        let needed_found = needed
            .map(|n| format!("{} ({}!{})", n.value, n.sheet, n.cell))
            .unwrap_or_else(|| "(blank)".to_owned());
        let values = [
            ("when", context.label(&when.indicator, &when.measure)),
            ("needs", context.label(&needs.indicator, &needs.measure)),
            ("period", figure.slot.describe(figure.year)),
            ("value", format!("{}", figure.value)),
            ("needs_value", needed_found.clone()),
        ];
        let found = format!("{} with {needed_found}", figure.value);
        raise((&figure.sheet, &figure.cell), found, &values);
    }
}

/// Figures for a quarter after the return's own: each a query (unless the cover is the mistake, said
/// once already), and left out. Returns their positions.
fn future_quarters(
    context: &RuleContext<'_>,
    cover_mismatch: bool,
    raise: &mut Raise<'_>,
) -> Vec<usize> {
    let mut dropped = Vec::new();
    for (position, figure) in context.figures.iter().enumerate() {
        if !context.is_future(figure) {
            continue;
        }
        if !cover_mismatch {
            let values = [
                ("measure", context.label(&figure.indicator, &figure.measure)),
                ("period", figure.slot.describe(figure.year)),
                ("return_period", context.period.to_string()),
                ("value", format!("{}", figure.value)),
            ];
            raise(
                (&figure.sheet, &figure.cell),
                format!("{}", figure.value),
                &values,
            );
        }
        dropped.push(position);
    }
    dropped
}

/// Every figure due by the return's period is filled in (annual figures only for annual measures).
fn figures_complete(context: &RuleContext<'_>, blanks: &[Blank], raise: &mut Raise<'_>) {
    let period = context.period;
    for blank in blanks {
        let due = blank.slot.is_due(blank.year, period)
            && match blank.slot {
                FigureSlot::Quarter(_) => true,
                FigureSlot::Annual => context
                    .schemas
                    .catalogue
                    .measure(&blank.indicator, &blank.measure)
                    .is_some_and(|m| m.frequency == Frequency::Annual),
                FigureSlot::Total => false,
            };
        if due {
            let values = [
                ("measure", context.label(&blank.indicator, &blank.measure)),
                ("period", blank.slot.describe(blank.year)),
                ("return_period", period.to_string()),
            ];
            raise((&blank.sheet, &blank.cell), "(blank)".into(), &values);
        }
    }
}
