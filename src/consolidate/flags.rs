//! Flags for the integrity board: integrity counts above zero, quarters far above their history, and
//! analysis texts missing from the period's returns.

use polars::prelude::*;

use super::rows::table_rows;
use super::{CatalogueFrames, FlagSettings, ReportingQuarter, inner, left, quarter_label};
use crate::period::FinancialYear;

/// The columns of the flags table, whatever raised the flag.
const FLAG_COLUMNS: [&str; 11] = [
    "flag",
    "indicator",
    "measure",
    "financial_year",
    "quarter",
    "year_start",
    "q",
    "value",
    "baseline",
    "source_file",
    "source_cell",
];

table_rows! {
    /// One flag for the board, as the outputs show it.
    pub struct BoardFlag {
        flag: text,
        indicator: text,
        /// Empty for a flag on the indicator as a whole (its analysis missing).
        measure: text,
        /// The financial year and the quarter (its "2020/21" and "Q1"…"Q4" are for the Data's readers).
        year_start: year,
        q: quarter,
        value: number,
        /// The typical quarter the value was compared with.
        baseline: number,
        source_file: text,
        source_cell: text,
    }
}

fn keys() -> [Expr; 2] {
    [col("indicator"), col("measure")]
}

/// Every flag of the reporting quarter, by flag, indicator and measure.
pub(super) fn board_flags(
    data: &DataFrame,
    catalogue: &CatalogueFrames,
    current_now: &LazyFrame,
    commentary: &DataFrame,
    at: ReportingQuarter,
    settings: FlagSettings,
) -> PolarsResult<DataFrame> {
    concat(
        [
            integrity_above_zero(data, catalogue, at),
            far_above_history(data, at, settings),
            missing_analysis(current_now, catalogue, commentary, at),
        ],
        UnionArgs::default(),
    )?
    .sort(
        ["flag", "indicator", "measure", "financial_year", "quarter"],
        SortMultipleOptions::default().with_maintain_order(true),
    )
    .collect()
}

/// Integrity measures above zero in a quarter of the reporting year up to the reporting quarter.
fn integrity_above_zero(
    data: &DataFrame,
    catalogue: &CatalogueFrames,
    at: ReportingQuarter,
) -> LazyFrame {
    data.clone()
        .lazy()
        .filter(
            col("year_start")
                .eq(lit(at.year))
                .and(col("q").gt(lit(0)))
                .and(col("q").lt_eq(lit(at.quarter)))
                .and(col("value").gt(lit(0.0))),
        )
        .join(
            catalogue.measures.clone().lazy().select([
                col("indicator"),
                col("measure"),
                col("integrity"),
            ]),
            keys(),
            keys(),
            inner(),
        )
        .filter(col("integrity"))
        .with_columns([
            lit("integrity count above zero").alias("flag"),
            lit(NULL).cast(DataType::Float64).alias("baseline"),
        ])
        .select(FLAG_COLUMNS.map(col))
}

/// The reporting quarter's figures far above the typical quarter of earlier years (their quarters when
/// four or more are known, otherwise a quarter of their whole-year figures).
fn far_above_history(data: &DataFrame, at: ReportingQuarter, settings: FlagSettings) -> LazyFrame {
    let data = data.clone().lazy();
    let earlier = data.clone().filter(col("year_start").lt(lit(at.year)));
    let quarterly_baseline = earlier
        .clone()
        .filter(col("q").gt(lit(0)))
        .group_by_stable(keys())
        .agg([
            col("value").mean().alias("quarter_mean"),
            col("value").count().alias("quarters_known"),
        ]);
    let annual_baseline = earlier
        .filter(
            col("q")
                .eq(lit(0))
                .and(col("figure").neq(lit("year_to_date"))),
        )
        .group_by_stable(keys())
        .agg([(col("value").mean() / lit(4.0)).alias("annual_quarter_mean")]);
    data.clone()
        .filter(
            col("year_start")
                .eq(lit(at.year))
                .and(col("q").eq(lit(at.quarter))),
        )
        .join(quarterly_baseline, keys(), keys(), left())
        .join(annual_baseline, keys(), keys(), left())
        .with_column(
            when(col("quarters_known").gt_eq(lit(4)))
                .then(col("quarter_mean"))
                .otherwise(col("annual_quarter_mean"))
                .alias("baseline"),
        )
        .filter(
            col("baseline").is_not_null().and(
                col("value")
                    .gt(col("baseline") * lit(settings.far_above_ratio))
                    .and(
                        (col("value") - col("baseline")).gt_eq(lit(settings.far_above_min_excess)),
                    ),
            ),
        )
        .with_columns([lit("far above its history").alias("flag")])
        .select(FLAG_COLUMNS.map(col))
}

/// Analysis texts a current return's template asks for that the return left empty.
fn missing_analysis(
    current_now: &LazyFrame,
    catalogue: &CatalogueFrames,
    commentary: &DataFrame,
    at: ReportingQuarter,
) -> LazyFrame {
    current_now
        .clone()
        .select([
            col("sha256"),
            col("template"),
            col("source_file"),
            col("ret_year"),
            col("ret_q"),
        ])
        .join(
            catalogue.expected_analysis.clone().lazy(),
            [col("template")],
            [col("template")],
            inner(),
        )
        .join(
            commentary
                .clone()
                .lazy()
                .select([col("sha256"), col("indicator"), col("text")]),
            [col("sha256"), col("indicator")],
            [col("sha256"), col("indicator")],
            left(),
        )
        .filter(col("text").is_null())
        .with_columns([
            lit("analysis text missing").alias("flag"),
            lit("").alias("measure"),
            lit(FinancialYear(at.year).to_string()).alias("financial_year"),
            quarter_label(lit(at.quarter)).alias("quarter"),
            lit(at.year).alias("year_start"),
            lit(at.quarter).alias("q"),
            lit(NULL).cast(DataType::Float64).alias("value"),
            lit(NULL).cast(DataType::Float64).alias("baseline"),
            lit("").alias("source_cell"),
        ])
        .select(FLAG_COLUMNS.map(col))
}
