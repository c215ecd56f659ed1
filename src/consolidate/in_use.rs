//! "Last good return wins", asked: the return in use for each department, template and period, and each
//! quarter's figure as the dashboard shows it. Both come from the very queries the dashboard is built
//! with, so the pass (which return a new one replaces) and the restatement checks (what a figure is
//! judged against) can never disagree with what the dashboard shows.

use polars::prelude::*;

use super::rows::table_rows;
use super::{ReportingQuarter, figures, returns};
use crate::store::History;

table_rows! {
    /// The accepted return in use for a department, template (or plan) and period: the last to arrive.
    pub struct ReturnInUse {
        department: text,
        template: text,
        /// None for a plan update.
        year: year = "ret_year",
        /// None for a whole-year return or a plan update.
        quarter: quarter = "ret_q",
        plan_period: text,
        source_file: text,
    }
}

/// Every return in use.
pub fn returns_in_use(history: &History) -> PolarsResult<Vec<ReturnInUse>> {
    let history = returns::in_arrival_order(history)?;
    let returns = returns::keyed_returns(&history);
    ReturnInUse::rows(&returns::current_returns(&returns).collect()?)
}

table_rows! {
    /// A quarter's figure as the dashboard shows it, and the return it is shown from.
    pub struct FigureShown {
        department: text,
        template: text,
        indicator: text,
        measure: text,
        year: year = "year_start",
        quarter: quarter = "q",
        /// None where the return said N/A.
        value: number,
        source_file: text,
        /// The period of the return it is shown from: a later period's return restates an earlier one's.
        given_year: year = "ret_year",
        given_quarter: quarter = "ret_q",
    }
}

/// Every quarter's figure shown, over all the periods the store holds.
pub fn figures_shown(history: &History) -> PolarsResult<Vec<FigureShown>> {
    let history = returns::in_arrival_order(history)?;
    let returns = returns::keyed_returns(&history);
    let current = returns::current_returns(&returns);
    let shown = figures::current_figures(&history, &current, ReportingQuarter::EVERY)?
        .filter(col("slot").eq(lit("quarter")))
        .collect()?;
    FigureShown::rows(&shown)
}
