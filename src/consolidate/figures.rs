//! The figures the dashboard shows, as at its quarter: each figure of the current returns of periods up to
//! it (the latest period that states it wins), the year totals and derived measures worked out from them
//! (a total partial only where a department's return left a quarter blank), the reporting year by
//! quarter, and the whole-year history.

use std::collections::HashSet;

use polars_arrow::array::Array as _;

use polars::prelude::*;

use super::rows::table_rows;
use super::{
    CatalogueFrames, ReportingQuarter, inner, join_list_column, left, quarter_label, sort_by,
};
use crate::store::History;
use crate::validate::BuiltinCheck;

table_rows! {
    /// A figure of the `Data` table.
    pub struct DataRow {
        indicator: text,
        measure: text,
        financial_year: text,
        /// "Q1"…"Q4", or empty for a whole-year figure.
        quarter: text,
        value: number,
        source_file: text,
        source_cell: text,
        /// What kind of figure it is: as returned, a year total, or derived.
        figure: text,
        /// `Some(false)` for a total over a blank quarter.
        complete: flag,
        /// `Some(true)` where the return said N/A (and the schema allows it); its value is `None`.
        not_applicable: flag,
        year_start: year,
        /// `None` for a whole-year figure.
        q: quarter,
    }
}

table_rows! {
    /// A measure's reporting year by quarter.
    pub struct YearRow {
        indicator: text,
        measure: text,
        q1: number,
        q2: number,
        q3: number,
        q4: number,
        year_value: number,
        /// `Some(false)` for a total over a blank quarter.
        year_complete: flag,
        /// How many quarters the year's total is judged over: every one due, once its department's return
        /// for the reporting quarter is in (before that, the quarters it has).
        quarters_due: number,
        same_quarter_last_year: number,
        /// The year to date less the same quarters of the year before, where the measure adds up and
        /// every one of those quarters has a figure in both years.
        change_on_last_year: number,
    }
}

impl YearRow {
    /// The figures of quarters 1 to 4.
    pub fn quarters(&self) -> [Option<f64>; 4] {
        [self.q1, self.q2, self.q3, self.q4]
    }
}

table_rows! {
    /// A measure's whole-year figure of an earlier year.
    pub struct HistoryRow {
        indicator: text,
        measure: text,
        year_start: year,
        value: number,
    }
}

/// The columns every kind of figure on the `Data` sheet is brought to before they are stacked.
const DATA_COLUMNS: [&str; 12] = [
    "indicator",
    "measure",
    "financial_year",
    "year_start",
    "q",
    "value",
    "source_file",
    "source_cell",
    "figure",
    "complete",
    "not_applicable",
    "quarters_due",
];

/// Every accepted figure of a current return of a period up to `at`, of the periods up to `at`; stated
/// totals were checked at validation and are kept in the store, but the dashboard recomputes totals from
/// the quarters it shows.
pub(super) fn current_figures(
    history: &History,
    current: &LazyFrame,
    at: ReportingQuarter,
) -> PolarsResult<LazyFrame> {
    let (by_recency, recency) = sort_by(&["ret_year", "ret_q", "order"]);
    Ok(figures_of(&history.figures, current)?
        .lazy()
        .filter(col("slot").neq(lit("total")))
        .with_columns([
            col("quarter").fill_null(lit(0)).alias("q"),
            // A store from before N/A was kept has no such column.
            col("not_applicable").fill_null(lit(false)),
        ])
        .filter(at.reached("year_start", "q"))
        .join(
            current.clone().select([
                col("sha256"),
                col("ret_year"),
                col("ret_q"),
                col("order"),
                col("department"),
                col("template"),
            ]),
            [col("sha256")],
            [col("sha256")],
            inner(),
        )
        .sort(by_recency, recency)
        .group_by_stable([
            col("indicator"),
            col("measure"),
            col("year_start"),
            col("q"),
        ])
        .agg([
            col("value").last(),
            col("source_file").last(),
            col("sheet").last(),
            col("cell").last(),
            col("financial_year").last(),
            col("slot").last(),
            col("source_cell").last(),
            col("department").last(),
            col("not_applicable").last(),
            col("template").last(),
            col("ret_year").last(),
            col("ret_q").last(),
        ]))
}

/// The rows of `figures` whose return `returns` holds, in the order the store has them. A join on the
/// content hash hashed all 64 characters of every row (some 360,000 rows at 12,000 returns, for a few
/// hundred returns in use); a return's figures lie together, so here a run of rows is looked up once, and
/// a row is known to continue the run by its hash's place in the column's text (the same place, the same
/// hash) without reading the hash.
fn figures_of(figures: &DataFrame, returns: &LazyFrame) -> PolarsResult<DataFrame> {
    let wanted = returns.clone().select([col("sha256")]).collect()?;
    let wanted: HashSet<&str> = wanted.column("sha256")?.str()?.iter().flatten().collect();
    let hashes = figures.column("sha256")?.str()?;
    let mut keep = Vec::with_capacity(hashes.len());
    for part in hashes.downcast_iter() {
        let mut run = None;
        for (row, place) in part.views().iter().enumerate() {
            let present = part.is_valid(row);
            let kept = match run {
                Some((seen, seen_present, kept)) if (seen, seen_present) == (*place, present) => {
                    kept
                }
                _ => present && wanted.contains(part.value(row)),
            };
            run = Some((*place, present, kept));
            keep.push(kept);
        }
    }
    figures.filter(&BooleanChunked::from_slice("keep".into(), &keep))
}

table_rows! {
    /// A figure of the reporting year that the return it is shown from restated: the query raised on the
    /// cell it came from says what it was before.
    pub struct RestatedFigure {
        indicator: text,
        measure: text,
        q: quarter,
        /// The query, in full: "… this return gives 12, but 8 was accepted from …".
        message: text,
    }
}

/// The reporting year's quarterly figures shown from a cell that raised a restatement query.
pub(super) fn restated_figures(
    history: &History,
    figures: &LazyFrame,
    current: &LazyFrame,
    at: ReportingQuarter,
) -> PolarsResult<DataFrame> {
    let cell = || vec![col("source_file"), col("sheet"), col("cell")];
    let queries = history
        .exceptions
        .clone()
        .lazy()
        .filter(col("rule_id").eq(lit(BuiltinCheck::RestatedFigure.id())))
        .join(
            current.clone().select([col("sha256")]),
            [col("sha256")],
            [col("sha256")],
            inner(),
        )
        .select([
            col("source_file"),
            col("sheet"),
            col("cell"),
            col("message"),
        ]);
    figures
        .clone()
        .filter(col("year_start").eq(lit(at.year)).and(col("q").gt(lit(0))))
        .join(queries, cell(), cell(), inner())
        .select([col("indicator"), col("measure"), col("q"), col("message")])
        .sort(
            ["indicator", "measure", "q"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
}

/// The `Data` table: stated figures, year totals and derived measures, in catalogue order with quarters
/// before the year's figure.
pub(super) fn data_table(
    figures: &LazyFrame,
    catalogue: &CatalogueFrames,
    current: &LazyFrame,
    at: ReportingQuarter,
) -> PolarsResult<DataFrame> {
    // Totals and derived figures cite every cell they add up.
    let select_columns = || DATA_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>();
    let mut totals = year_totals(figures, catalogue, current, at)
        .select(select_columns())
        .collect()?;
    let mut derived = derived_figures(figures, catalogue)?
        .select(select_columns())
        .collect()?;
    for frame in [&mut totals, &mut derived] {
        join_list_column(frame, "source_file", "; ")?;
        join_list_column(frame, "source_cell", " + ")?;
    }
    concat(
        [
            stated_figures(figures).select(select_columns()),
            totals.lazy(),
            derived.lazy(),
        ],
        UnionArgs::default(),
    )?
    .join(
        catalogue.measures.clone().lazy().select([
            col("indicator"),
            col("measure"),
            col("indicator_order"),
            col("measure_order"),
        ]),
        [col("indicator"), col("measure")],
        [col("indicator"), col("measure")],
        left(),
    )
    // Quarters first, then the year's total or annual figure.
    .with_column(col("q").eq(lit(0)).alias("whole_year"))
    .sort(
        [
            "indicator_order",
            "measure_order",
            "year_start",
            "whole_year",
            "q",
        ],
        SortMultipleOptions::default().with_maintain_order(true),
    )
    .with_column(quarter_label(col("q")).alias("quarter"))
    .select([
        col("indicator"),
        col("measure"),
        col("financial_year"),
        col("quarter"),
        col("value"),
        col("source_file"),
        col("source_cell"),
        col("figure"),
        col("complete"),
        col("not_applicable"),
        col("quarters_due"),
        col("year_start"),
        col("q"),
    ])
    .collect()
}

/// The figures as the returns state them: quarters, and whole-year figures.
fn stated_figures(figures: &LazyFrame) -> LazyFrame {
    figures.clone().with_columns([
        when(col("q").gt(lit(0)))
            .then(lit("quarter"))
            .otherwise(lit("annual"))
            .alias("figure"),
        lit(true).alias("complete"),
        lit(NULL).cast(DataType::UInt32).alias("quarters_due"),
    ])
}

/// Each department's latest quarter of the reporting year that it has sent a return for, up to `at`: a
/// total is judged partial only once its return for `at` is in.
fn reported_quarters(current: &LazyFrame, at: ReportingQuarter) -> LazyFrame {
    current
        .clone()
        .filter(
            col("ret_year")
                .eq(lit(at.year))
                .and(col("ret_q").gt(lit(0))),
        )
        .group_by_stable([col("department")])
        .agg([col("ret_q").max().alias("reported_q")])
}

/// Year totals (or year to date) of summable measures with no whole-year figure of their own, citing
/// every quarter they add up.
fn year_totals(
    figures: &LazyFrame,
    catalogue: &CatalogueFrames,
    current: &LazyFrame,
    at: ReportingQuarter,
) -> LazyFrame {
    // A total is complete when every quarter due by the reporting period has a figure: a blank quarter is
    // a gap, not a 0, and the board must see that the total is partial. Its department's return for the
    // reporting quarter judges that; while the return is awaited, the total is not judged (the quarter
    // says it awaits returns instead).
    let reported_now = col("reported_q").eq(lit(at.quarter));
    let quarters_due = when(col("year_start").lt(lit(at.year)))
        .then(lit(4u32))
        .when(col("year_start").eq(lit(at.year)).and(reported_now))
        .then(lit(at.quarter as u32))
        .otherwise(col("n"));

    let annual_keys = figures.clone().filter(col("q").eq(lit(0))).select([
        col("indicator"),
        col("measure"),
        col("year_start"),
        lit(true).alias("has_annual"),
    ]);
    figures
        .clone()
        .filter(col("q").gt(lit(0)))
        .join(
            catalogue.measures.clone().lazy().select([
                col("indicator"),
                col("measure"),
                col("summable"),
            ]),
            [col("indicator"), col("measure")],
            [col("indicator"), col("measure")],
            inner(),
        )
        .filter(col("summable"))
        // Joins do not keep row order; provenance lists must come out the same every run.
        .sort(
            ["indicator", "measure", "year_start", "q"],
            SortMultipleOptions::default(),
        )
        .group_by_stable([col("indicator"), col("measure"), col("year_start")])
        .agg([
            col("value").sum(),
            col("value").count().alias("n"),
            col("financial_year").first(),
            col("source_file").unique_stable(),
            col("source_cell"),
            col("department").last(),
        ])
        .join(
            reported_quarters(current, at),
            [col("department")],
            [col("department")],
            left(),
        )
        .join(
            annual_keys,
            [col("indicator"), col("measure"), col("year_start")],
            [col("indicator"), col("measure"), col("year_start")],
            left(),
        )
        // A quarter that said N/A is not a figure: a total of none is not 0.
        .filter(col("has_annual").is_null().and(col("n").gt(lit(0))))
        .with_columns([
            lit(false).alias("not_applicable"),
            lit(0).cast(DataType::Int32).alias("q"),
            when(col("n").eq(lit(4)))
                .then(lit("year_total"))
                .otherwise(lit("year_to_date"))
                .alias("figure"),
            col("n").gt_eq(quarters_due.clone()).alias("complete"),
            quarters_due.alias("quarters_due"),
        ])
}

/// Measures the catalogue defines as the sum of others, where every part is known.
fn derived_figures(figures: &LazyFrame, catalogue: &CatalogueFrames) -> PolarsResult<LazyFrame> {
    Ok(catalogue
        .derived
        .clone()
        .lazy()
        .with_column(
            col("part")
                .count()
                .over([col("indicator"), col("measure")])?
                .alias("parts"),
        )
        .join(
            figures.clone().select([
                col("indicator"),
                col("measure").alias("part"),
                col("year_start"),
                col("q"),
                col("value"),
                col("not_applicable"),
                col("financial_year"),
                col("source_file"),
                col("source_cell"),
            ]),
            [col("indicator"), col("part")],
            [col("indicator"), col("part")],
            inner(),
        )
        .sort(
            ["indicator", "measure", "year_start", "q", "part_order"],
            SortMultipleOptions::default(),
        )
        .group_by_stable([
            col("indicator"),
            col("measure"),
            col("year_start"),
            col("q"),
        ])
        .agg([
            col("value").sum(),
            col("value").count().alias("n"),
            len().alias("given"),
            col("not_applicable").all(true),
            col("parts").first(),
            col("financial_year").first(),
            col("source_file").unique_stable(),
            col("source_cell"),
        ])
        // Known when every part is; not applicable when every part is.
        .filter(
            col("n")
                .eq(col("parts"))
                .or(col("not_applicable").and(col("given").eq(col("parts")))),
        )
        .with_columns([
            when(col("not_applicable"))
                .then(lit(NULL).cast(DataType::Float64))
                .otherwise(col("value"))
                .alias("value"),
            lit("derived").alias("figure"),
            lit(true).alias("complete"),
            lit(NULL).cast(DataType::UInt32).alias("quarters_due"),
        ]))
}

/// The reporting year per measure: its quarters, the year's figure and the same quarter last year.
pub(super) fn year_matrix(
    data: &DataFrame,
    catalogue: &CatalogueFrames,
    at: ReportingQuarter,
) -> PolarsResult<DataFrame> {
    let data_lazy = data.clone().lazy();
    let change = change_on_same_quarters(&data_lazy, catalogue, at);
    let same_quarter_last_year = data_lazy
        .clone()
        .filter(
            col("year_start")
                .eq(lit(at.year - 1))
                .and(col("q").eq(lit(at.quarter))),
        )
        .select([
            col("indicator"),
            col("measure"),
            col("value").alias("same_quarter_last_year"),
        ]);
    by_quarter(&data_lazy, at.year)
        .join(
            same_quarter_last_year,
            [col("indicator"), col("measure")],
            [col("indicator"), col("measure")],
            left(),
        )
        .join(
            change,
            [col("indicator"), col("measure")],
            [col("indicator"), col("measure")],
            left(),
        )
        .collect()
}

/// The year before the reporting year by quarter, for the measures whose returns give any of its
/// quarters (Finance's return carries last year's row): the same columns as the year matrix, with no
/// comparisons of their own.
pub(super) fn previous_year_by_quarter(
    data: &DataFrame,
    at: ReportingQuarter,
) -> PolarsResult<DataFrame> {
    let any_quarter = ["q1", "q2", "q3", "q4"]
        .map(|q| col(q).is_not_null())
        .into_iter()
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false));
    by_quarter(&data.clone().lazy(), at.year - 1)
        .filter(any_quarter)
        .with_columns([
            lit(NULL)
                .cast(DataType::Float64)
                .alias("same_quarter_last_year"),
            lit(NULL)
                .cast(DataType::Float64)
                .alias("change_on_last_year"),
        ])
        .collect()
}

/// One year's figures of each measure by quarter, with the year's figure and whether it is complete.
fn by_quarter(data: &LazyFrame, year: i32) -> LazyFrame {
    let in_quarter = |n: i32| {
        col("value")
            .filter(col("q").eq(lit(n)))
            .first()
            .alias(format!("q{n}"))
    };
    data.clone()
        .filter(col("year_start").eq(lit(year)))
        .group_by_stable([col("indicator"), col("measure")])
        .agg([
            in_quarter(1),
            in_quarter(2),
            in_quarter(3),
            in_quarter(4),
            col("value")
                .filter(col("q").eq(lit(0)))
                .first()
                .alias("year_value"),
            col("complete")
                .filter(col("q").eq(lit(0)))
                .first()
                .alias("year_complete"),
            col("quarters_due").filter(col("q").eq(lit(0))).first(),
        ])
}

/// The year to date against the same quarters of the year before (QTR 1 to the reporting quarter, in
/// both years), for the measures that add up, where every one of those quarters has a figure in both
/// years: a blank is not 0, and a percentage does not add up.
fn change_on_same_quarters(
    data: &LazyFrame,
    catalogue: &CatalogueFrames,
    at: ReportingQuarter,
) -> LazyFrame {
    let keys = || [col("indicator"), col("measure")];
    let to_date = |year: i32, name: &str| {
        data.clone()
            .filter(
                col("year_start")
                    .eq(lit(year))
                    .and(col("q").gt(lit(0)))
                    .and(col("q").lt_eq(lit(at.quarter))),
            )
            .group_by_stable(keys())
            .agg([
                col("value").sum().alias(name),
                col("value").count().alias("quarters"),
            ])
            .filter(col("quarters").eq(lit(at.quarter)))
            .select([col("indicator"), col("measure"), col(name)])
    };
    let summable = catalogue
        .measures
        .clone()
        .lazy()
        .filter(col("summable"))
        .select(keys());
    to_date(at.year, "this_year")
        .join(to_date(at.year - 1, "last_year"), keys(), keys(), inner())
        .join(summable, keys(), keys(), inner())
        .select([
            col("indicator"),
            col("measure"),
            (col("this_year") - col("last_year")).alias("change_on_last_year"),
        ])
}

/// Whole-year figures of the years before the reporting year.
pub(super) fn whole_year_history(
    data: &DataFrame,
    at: ReportingQuarter,
) -> PolarsResult<DataFrame> {
    data.clone()
        .lazy()
        .filter(
            col("q")
                .eq(lit(0))
                .and(col("figure").neq(lit("year_to_date")))
                .and(col("year_start").lt(lit(at.year))),
        )
        .select([
            col("indicator"),
            col("measure"),
            col("year_start"),
            col("financial_year"),
            col("value"),
        ])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_of_the_returns_wanted_are_kept_in_the_stores_order_wherever_their_runs_lie() {
        let figures = df!(
            "sha256" => [Some("a"), Some("a"), Some("b"), Some("a"), None, Some("c"), Some("c")],
            "value" => [1, 2, 3, 4, 5, 6, 7],
        )
        .expect("figures");
        let wanted = df!("sha256" => ["c", "a", "z"]).expect("returns").lazy();
        let kept = figures_of(&figures, &wanted).expect("filtered");
        let values: Vec<Option<i32>> = kept
            .column("value")
            .expect("value")
            .i32()
            .expect("i32")
            .iter()
            .collect();
        assert_eq!(values, [Some(1), Some(2), Some(4), Some(6), Some(7)]);
    }
}
