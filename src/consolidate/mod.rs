//! Consolidation: the store's figures in, the dashboard's tables out. Pure polars; no I/O here.
//!
//! "Last good return wins": for each department, template and period the latest accepted return is current;
//! for each figure, the current return of the latest period that states it wins (a Q2 return restates Q1).

mod plans;

use polars::prelude::*;

pub use plans::{PlanExceptionKind, PlanFrames, PlanTables, consolidate_plans, plan_frames};

use crate::period::{FinancialYear, Period, Quarter};
use crate::schema::{Schemas, TemplateKind};
use crate::store::History;

/// The schema facts consolidation needs, as frames.
#[derive(Debug, Clone)]
pub struct CatalogueFrames {
    /// indicator, measure, indicator_order, measure_order, summable, integrity
    pub measures: DataFrame,
    /// indicator, measure (the derived one), part, part_order
    pub derived: DataFrame,
    /// department, template, order: the quarterly returns expected every quarter
    pub expected_returns: DataFrame,
    /// template, indicator: analysis texts each template carries
    pub expected_analysis: DataFrame,
    /// The action plans.
    pub plans: PlanFrames,
}

#[derive(Debug, Clone, Copy)]
pub struct FlagSettings {
    pub far_above_ratio: f64,
    pub far_above_min_excess: f64,
}

/// Everything the outputs show.
#[derive(Debug, Clone)]
pub struct Consolidated {
    pub period: Period,
    /// The period the chase list is for: the quarter whose returns are due.
    pub chase_period: Period,
    /// The `Data` sheet: indicator, measure, financial_year, quarter, value, source_file, source_cell, figure,
    /// complete (false for a total over a blank quarter), year_start, q (0 for a whole-year figure).
    pub data: DataFrame,
    /// The reporting year per measure: indicator, measure, q1..q4, year_value, year_complete (false for a
    /// total over a blank quarter), same_quarter_last_year.
    pub year_matrix: DataFrame,
    /// Whole-year figures of earlier years: indicator, measure, year_start, financial_year, value, change.
    pub history: DataFrame,
    /// The current accepted return per department, template and period.
    pub current_returns: DataFrame,
    /// Analysis text of the reporting period's returns: indicator, text, department, source_file, sheet, cell.
    pub commentary: DataFrame,
    /// Expected returns for the period with no accepted return: department, template, note.
    pub missing: DataFrame,
    /// Rejected returns not since replaced by an accepted one: the store's return rows.
    pub rejected: DataFrame,
    /// Exceptions of the returns in the current picture: outcome ("accepted" or "rejected"), department,
    /// ret_year, ret_q, received_at, and the exception's file, sheet, cell, value_found, rule_id, severity,
    /// message and guidance.
    pub open_exceptions: DataFrame,
    /// Accepted returns another return has replaced for the same department, template and period:
    /// department, ret_year, ret_q, plan_period, source_file, received_at, in_use_file.
    pub not_in_use: DataFrame,
    /// Flags for the integrity board: flag, indicator, measure, financial_year, quarter, value, baseline (the
    /// typical quarter a figure was compared with), source_file, source_cell.
    pub flags: DataFrame,
    /// The action plan trackers.
    pub plans: PlanTables,
    /// Returns in the store that could no longer be consolidated or rendered, left out of the outputs.
    pub quarantined: Vec<Quarantined>,
}

/// A stored return left out of the outputs because its content broke them, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    pub file: String,
    pub received_at: String,
    pub reason: String,
}

pub fn catalogue_frames(schemas: &Schemas) -> PolarsResult<CatalogueFrames> {
    let (
        mut indicator,
        mut measure,
        mut indicator_order,
        mut measure_order,
        mut summable,
        mut integrity,
    ) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut d_indicator, mut d_measure, mut d_part, mut d_order) =
        (vec![], vec![], vec![], vec![]);
    for (i, ind) in schemas.catalogue.indicators.iter().enumerate() {
        for (m, mea) in ind.measures.iter().enumerate() {
            indicator.push(ind.code.clone());
            measure.push(mea.id.clone());
            indicator_order.push(i as i32);
            measure_order.push(m as i32);
            summable.push(mea.summable);
            integrity.push(mea.integrity);
            for (position, part) in mea.sum_of.iter().flatten().enumerate() {
                d_order.push(position as i32);
                d_indicator.push(ind.code.clone());
                d_measure.push(mea.id.clone());
                d_part.push(part.clone());
            }
        }
    }
    let (mut e_department, mut e_template, mut a_template, mut a_indicator) =
        (vec![], vec![], vec![], vec![]);
    // Expected returns in the order departments are listed, so the chase list reads the same every time.
    for department in &schemas.departments {
        for template in &schemas.templates {
            if template.kind == TemplateKind::Quarterly && template.department == department.id {
                e_department.push(template.department.clone());
                e_template.push(template.id.clone());
            }
        }
    }
    for template in &schemas.templates {
        for spec in &template.analysis {
            a_template.push(template.id.clone());
            a_indicator.push(spec.indicator.clone());
        }
    }
    Ok(CatalogueFrames {
        measures: df!(
            "indicator" => indicator, "measure" => measure, "indicator_order" => indicator_order,
            "measure_order" => measure_order, "summable" => summable, "integrity" => integrity,
        )?,
        derived: df!(
            "indicator" => d_indicator, "measure" => d_measure, "part" => d_part, "part_order" => d_order,
        )?,
        expected_returns: df!(
            "department" => e_department.clone(), "template" => e_template,
            "order" => (0..e_department.len() as i32).collect::<Vec<_>>(),
        )?,
        expected_analysis: df!("template" => a_template, "indicator" => a_indicator)?,
        plans: plan_frames(schemas)?,
    })
}

fn inner() -> JoinArgs {
    JoinArgs::new(JoinType::Inner)
}

fn left() -> JoinArgs {
    JoinArgs::new(JoinType::Left)
}

fn sort_by(columns: &[&str]) -> (Vec<PlSmallStr>, SortMultipleOptions) {
    (
        columns.iter().map(|c| PlSmallStr::from(*c)).collect(),
        SortMultipleOptions::default().with_maintain_order(true),
    )
}

/// The history with its returns in the order `collate` received them: by arrival number, and for a store
/// from before arrival numbers by file time. Each content appears once, at its latest arrival (a
/// `collate use` is an arrival), numbered in that order as `order`.
fn in_arrival_order(history: &History) -> PolarsResult<History> {
    let returns = history
        .returns
        .clone()
        .lazy()
        .sort(
            ["arrival", "received_at", "source_file"],
            SortMultipleOptions::default()
                .with_maintain_order(true)
                .with_nulls_last(false),
        )
        .unique_stable_generic(Some(vec![col("sha256")]), UniqueKeepStrategy::Last)
        .with_row_index("order", None)
        .collect()?;
    Ok(History {
        returns,
        ..history.clone()
    })
}

/// Accepted returns that are not the one in use for their department, template and period, with the file
/// that is.
fn replaced_returns(returns: &LazyFrame, current: &LazyFrame) -> PolarsResult<DataFrame> {
    let key = || {
        vec![
            col("department"),
            col("template"),
            col("ret_year"),
            col("ret_q"),
            col("plan_period"),
        ]
    };
    let mut in_use = key();
    in_use.extend([
        col("sha256").alias("in_use_sha256"),
        col("source_file").alias("in_use_file"),
    ]);
    returns
        .clone()
        .filter(col("accepted"))
        .join(current.clone().select(in_use), key(), key(), inner())
        .filter(col("sha256").neq(col("in_use_sha256")))
        .sort(
            ["order"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .select([
            col("department"),
            col("ret_year"),
            col("ret_q"),
            col("plan_period"),
            col("source_file"),
            col("received_at"),
            col("in_use_file"),
        ])
        .collect()
}

/// Every quarter for which a quarterly return was accepted.
pub fn stored_periods(history: &History) -> PolarsResult<Vec<Period>> {
    let accepted = history
        .returns
        .clone()
        .lazy()
        .filter(col("accepted").and(col("quarter").is_not_null()))
        .select([col("year_start"), col("quarter")])
        .unique(None, UniqueKeepStrategy::First)
        .collect()?;
    let (years, quarters) = (
        accepted.column("year_start")?.i32()?,
        accepted.column("quarter")?.i32()?,
    );
    Ok((0..accepted.height())
        .filter_map(|i| {
            Some(Period {
                year: FinancialYear(years.get(i)?),
                quarter: Some(Quarter::new(u8::try_from(quarters.get(i)?).ok()?)?),
            })
        })
        .collect())
}

/// The latest period for which any quarterly return was accepted.
pub fn latest_period(history: &History) -> PolarsResult<Option<Period>> {
    Ok(stored_periods(history)?.into_iter().max())
}

/// Consolidates the history for the dashboard's `period`, with the chase list for `chase_period` (the
/// quarter whose returns are due; usually the same).
pub fn consolidate(
    history: &History,
    catalogue: &CatalogueFrames,
    (period, chase_period): (Period, Period),
    flags: FlagSettings,
) -> PolarsResult<Consolidated> {
    let year = period.year.0;
    let quarter = period.quarter.map(|q| i32::from(q.number())).unwrap_or(4);
    let history = &in_arrival_order(history)?;

    let returns = history.returns.clone().lazy().with_columns([
        col("quarter").fill_null(lit(0)).alias("ret_q"),
        col("department").fill_null(lit("")),
        col("template").fill_null(lit("")),
        col("year_start").fill_null(lit(0)).alias("ret_year"),
        // Plan updates have a plan period instead of a quarter; each period's update stands on its own.
        col("plan_period").fill_null(lit("")),
    ]);
    let (by, order) = sort_by(&["order"]);
    let current = returns
        .clone()
        .filter(col("accepted"))
        .sort(by.clone(), order.clone())
        .group_by_stable([
            col("department"),
            col("template"),
            col("ret_year"),
            col("ret_q"),
            col("plan_period"),
        ])
        .agg([
            col("sha256").last(),
            col("received_at").last(),
            col("order").last(),
            col("source_file").last(),
            col("errors").last(),
            col("warnings").last(),
        ]);

    // Every accepted figure of a current return; stated totals were checked at validation and are kept in the
    // store, but the dashboard recomputes totals from the quarters it shows.
    let (by_recency, recency) = sort_by(&["ret_year", "ret_q", "order"]);
    let figures = history
        .figures
        .clone()
        .lazy()
        .filter(col("slot").neq(lit("total")))
        .with_column(col("quarter").fill_null(lit(0)).alias("q"))
        .join(
            current.clone().select([
                col("sha256"),
                col("ret_year"),
                col("ret_q"),
                col("order"),
                col("department"),
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
        ]);

    let columns = [
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
    ];
    let select_columns = || columns.iter().map(|c| col(*c)).collect::<Vec<_>>();

    let stated = figures.clone().with_columns([
        when(col("q").gt(lit(0)))
            .then(lit("quarter"))
            .otherwise(lit("annual"))
            .alias("figure"),
        lit(true).alias("complete"),
    ]);
    // A total is complete when every quarter due by the reporting period has a figure: a blank quarter
    // is a gap, not a 0, and the board must see that the total is partial.
    let quarters_due = when(col("year_start").lt(lit(year)))
        .then(lit(4u32))
        .when(col("year_start").eq(lit(year)))
        .then(lit(quarter as u32))
        .otherwise(col("n"));

    let annual_keys = figures.clone().filter(col("q").eq(lit(0))).select([
        col("indicator"),
        col("measure"),
        col("year_start"),
        lit(true).alias("has_annual"),
    ]);
    let totals = figures
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
        ])
        .join(
            annual_keys,
            [col("indicator"), col("measure"), col("year_start")],
            [col("indicator"), col("measure"), col("year_start")],
            left(),
        )
        .filter(col("has_annual").is_null())
        .with_columns([
            lit(0).cast(DataType::Int32).alias("q"),
            when(col("n").eq(lit(4)))
                .then(lit("year_total"))
                .otherwise(lit("year_to_date"))
                .alias("figure"),
            col("n").gt_eq(quarters_due).alias("complete"),
        ]);

    let derived = catalogue
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
            col("parts").first(),
            col("financial_year").first(),
            col("source_file").unique_stable(),
            col("source_cell"),
        ])
        .filter(col("n").eq(col("parts")))
        .with_columns([lit("derived").alias("figure"), lit(true).alias("complete")]);

    // Totals and derived figures cite every cell they add up.
    let mut totals = totals.select(select_columns()).collect()?;
    let mut derived = derived.select(select_columns()).collect()?;
    for frame in [&mut totals, &mut derived] {
        join_list_column(frame, "source_file", "; ")?;
        join_list_column(frame, "source_cell", " + ")?;
    }
    let data = concat(
        [
            stated.select(select_columns()),
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
        col("year_start"),
        col("q"),
    ])
    .collect()?;

    let data_lazy = data.clone().lazy();
    let in_quarter = |n: i32| {
        col("value")
            .filter(col("q").eq(lit(n)))
            .first()
            .alias(format!("q{n}"))
    };
    let same_quarter_last_year = data_lazy
        .clone()
        .filter(
            col("year_start")
                .eq(lit(year - 1))
                .and(col("q").eq(lit(quarter))),
        )
        .select([
            col("indicator"),
            col("measure"),
            col("value").alias("same_quarter_last_year"),
        ]);
    let year_matrix = data_lazy
        .clone()
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
        ])
        .join(
            same_quarter_last_year,
            [col("indicator"), col("measure")],
            [col("indicator"), col("measure")],
            left(),
        )
        .collect()?;

    let whole_years = data_lazy.clone().filter(
        col("q")
            .eq(lit(0))
            .and(col("figure").neq(lit("year_to_date"))),
    );
    let history_frame = whole_years
        .clone()
        .filter(col("year_start").lt(lit(year)))
        .select([
            col("indicator"),
            col("measure"),
            col("year_start"),
            col("financial_year"),
            col("value"),
        ])
        .join(
            whole_years.select([
                col("indicator"),
                col("measure"),
                (col("year_start") + lit(1)).alias("year_start"),
                col("value").alias("previous"),
            ]),
            [col("indicator"), col("measure"), col("year_start")],
            [col("indicator"), col("measure"), col("year_start")],
            left(),
        )
        .with_column((col("value") - col("previous")).alias("change"))
        .select([
            col("indicator"),
            col("measure"),
            col("year_start"),
            col("financial_year"),
            col("value"),
            col("change"),
        ])
        .collect()?;

    let this_period = col("ret_year")
        .eq(lit(year))
        .and(col("ret_q").eq(lit(quarter)));
    let current_now = current.clone().filter(this_period.clone());
    let commentary = history
        .commentary
        .clone()
        .lazy()
        .join(
            current_now
                .clone()
                .select([col("sha256"), col("department")]),
            [col("sha256")],
            [col("sha256")],
            inner(),
        )
        .select([
            col("indicator"),
            col("text"),
            col("department"),
            col("source_file"),
            col("sheet"),
            col("cell"),
        ])
        .collect()?;

    let (chase_year, chase_quarter) = (
        chase_period.year.0,
        chase_period.quarter.map_or(4, |q| i32::from(q.number())),
    );
    let chased_period = col("ret_year")
        .eq(lit(chase_year))
        .and(col("ret_q").eq(lit(chase_quarter)));
    let current_chased = current.clone().filter(chased_period.clone());
    let rejected_now = returns
        .clone()
        .filter(col("accepted").not().and(chased_period))
        .group_by_stable([col("department"), col("template")])
        .agg([col("source_file").last().alias("rejected_file")]);
    let missing = catalogue
        .expected_returns
        .clone()
        .lazy()
        .join(
            current_chased.select([col("department"), col("template"), col("sha256")]),
            [col("department"), col("template")],
            [col("department"), col("template")],
            left(),
        )
        .filter(col("sha256").is_null())
        .join(
            rejected_now,
            [col("department"), col("template")],
            [col("department"), col("template")],
            left(),
        )
        .sort(["order"], SortMultipleOptions::default())
        .select([col("department"), col("template"), col("rejected_file")])
        .collect()?;

    // A rejected return stays on the list until an accepted return for the same department, template and
    // period arrives after it. One that could not even be identified (a corrupt file) stays listed while the
    // store holds it: `collate rebuild` after removing it from the inbox clears it.
    let rejected = returns
        .clone()
        .filter(col("accepted").not())
        .join(
            current.clone().select([
                col("department"),
                col("template"),
                col("ret_year"),
                col("ret_q"),
                col("plan_period"),
                col("order").alias("replaced_at"),
            ]),
            [
                col("department"),
                col("template"),
                col("ret_year"),
                col("ret_q"),
                col("plan_period"),
            ],
            [
                col("department"),
                col("template"),
                col("ret_year"),
                col("ret_q"),
                col("plan_period"),
            ],
            left(),
        )
        .filter(
            col("replaced_at")
                .is_null()
                .or(col("replaced_at").lt_eq(col("order"))),
        )
        .sort(
            ["order"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()?;

    // The returns whose exceptions are still open: the current accepted ones and the rejected ones.
    let in_picture = concat(
        [
            (current.clone(), "accepted"),
            (rejected.clone().lazy(), "rejected"),
        ]
        .map(|(frame, outcome)| {
            frame
                .select([
                    col("sha256"),
                    col("department"),
                    col("ret_year"),
                    col("ret_q"),
                    col("plan_period"),
                    col("received_at"),
                ])
                .with_column(lit(outcome).alias("outcome"))
        }),
        UnionArgs::default(),
    )?;
    let not_in_use = replaced_returns(&returns, &current)?;
    let open_exceptions = history
        .exceptions
        .clone()
        .lazy()
        .join(in_picture, [col("sha256")], [col("sha256")], inner())
        .sort(
            [
                "outcome",
                "department",
                "ret_year",
                "ret_q",
                "received_at",
                "source_file",
            ],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()?;

    let flags = board_flags(
        &data,
        catalogue,
        &current_now,
        &history.commentary,
        year,
        quarter,
        flags,
    )?;

    Ok(Consolidated {
        period,
        chase_period,
        data,
        year_matrix,
        history: history_frame,
        current_returns: current
            .sort(
                ["department", "template", "ret_year", "ret_q"],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .collect()?,
        commentary,
        missing,
        rejected,
        open_exceptions,
        not_in_use,
        flags,
        plans: consolidate_plans(history, &catalogue.plans)?,
        quarantined: Vec::new(),
    })
}

/// Flags the integrity board acts on: integrity counts above zero, quarters far above their history, and
/// analysis texts missing from this period's returns.
fn board_flags(
    data: &DataFrame,
    catalogue: &CatalogueFrames,
    current_now: &LazyFrame,
    commentary: &DataFrame,
    year: i32,
    quarter: i32,
    settings: FlagSettings,
) -> PolarsResult<DataFrame> {
    let data = data.clone().lazy();
    let keys = [col("indicator"), col("measure")];
    let flag_columns = || {
        [
            col("flag"),
            col("indicator"),
            col("measure"),
            col("financial_year"),
            col("quarter"),
            col("value"),
            col("baseline"),
            col("source_file"),
            col("source_cell"),
        ]
    };

    let integrity = data
        .clone()
        .filter(
            col("year_start")
                .eq(lit(year))
                .and(col("q").gt(lit(0)))
                .and(col("q").lt_eq(lit(quarter)))
                .and(col("value").gt(lit(0.0))),
        )
        .join(
            catalogue.measures.clone().lazy().select([
                col("indicator"),
                col("measure"),
                col("integrity"),
            ]),
            keys.clone(),
            keys.clone(),
            inner(),
        )
        .filter(col("integrity"))
        .with_columns([
            lit("integrity count above zero").alias("flag"),
            lit(NULL).cast(DataType::Float64).alias("baseline"),
        ])
        .select(flag_columns());

    let earlier = data.clone().filter(col("year_start").lt(lit(year)));
    let quarterly_baseline = earlier
        .clone()
        .filter(col("q").gt(lit(0)))
        .group_by_stable(keys.clone())
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
        .group_by_stable(keys.clone())
        .agg([(col("value").mean() / lit(4.0)).alias("annual_quarter_mean")]);
    let far_above = data
        .clone()
        .filter(
            col("year_start")
                .eq(lit(year))
                .and(col("q").eq(lit(quarter))),
        )
        .join(quarterly_baseline, keys.clone(), keys.clone(), left())
        .join(annual_baseline, keys.clone(), keys.clone(), left())
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
        .select(flag_columns());

    let missing_analysis = current_now
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
            lit(FinancialYear(year).to_string()).alias("financial_year"),
            quarter_label(lit(quarter)).alias("quarter"),
            lit(NULL).cast(DataType::Float64).alias("value"),
            lit(NULL).cast(DataType::Float64).alias("baseline"),
            lit("").alias("source_cell"),
        ])
        .select(flag_columns());

    concat(
        [integrity, far_above, missing_analysis],
        UnionArgs::default(),
    )?
    .sort(
        ["flag", "indicator", "measure", "financial_year", "quarter"],
        SortMultipleOptions::default().with_maintain_order(true),
    )
    .collect()
}

/// "Q1"…"Q4" for quarters, empty for a whole-year figure (0).
fn quarter_label(q: Expr) -> Expr {
    when(q.clone().eq(lit(1)))
        .then(lit("Q1"))
        .when(q.clone().eq(lit(2)))
        .then(lit("Q2"))
        .when(q.clone().eq(lit(3)))
        .then(lit("Q3"))
        .when(q.eq(lit(4)))
        .then(lit("Q4"))
        .otherwise(lit(""))
}

/// Replaces a list-of-text column with its items joined by `separator`.
fn join_list_column(frame: &mut DataFrame, name: &str, separator: &str) -> PolarsResult<()> {
    let lists = frame.column(name)?.list()?;
    let joined = (0..lists.len())
        .map(|row| match lists.get_as_series(row) {
            Some(items) => {
                let items = items.str()?;
                Ok((0..items.len())
                    .filter_map(|i| items.get(i))
                    .collect::<Vec<_>>()
                    .join(separator))
            }
            None => Ok(String::new()),
        })
        .collect::<PolarsResult<Vec<String>>>()?;
    frame.with_column(Column::new(name.into(), joined))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exception::Exception;
    use crate::schema::Severity;
    use crate::store::{ProcessedReturn, tables_for};
    use crate::validate::{Figure, FigureSlot, ReturnIdentity, Validated};

    fn schemas() -> Schemas {
        crate::schema::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"))
            .expect("schemas")
    }

    /// A PSD return for 2020/21 `quarter`, received at `minute`, with complaints per quarter.
    fn psd_return(
        name: &str,
        quarter: u8,
        minute: u32,
        complaints: &[(u8, f64)],
        accepted: bool,
    ) -> ProcessedReturn {
        let figures = complaints
            .iter()
            .map(|(q, value)| Figure {
                indicator: "PSD 1".into(),
                measure: "complaints".into(),
                year: FinancialYear(2020),
                slot: FigureSlot::Quarter(Quarter::new(*q).expect("quarter")),
                value: *value,
                sheet: "PSD".into(),
                cell: format!("C{q}"),
            })
            .collect();
        let exceptions = if accepted {
            vec![]
        } else {
            vec![Exception {
                file: name.into(),
                sheet: "PSD".into(),
                cell: "C1".into(),
                value_found: String::new(),
                rule_id: "test".into(),
                severity: Severity::Error,
                message: "rejected".into(),
                guidance: String::new(),
            }]
        };
        ProcessedReturn {
            sha256: format!("sha-{name}"),
            source_file: name.into(),
            received_at: format!("2020-10-01T10:{minute:02}:00Z"),
            validated: Validated::Figures {
                identity: ReturnIdentity {
                    department: "PSD".into(),
                    template: "psd-quarterly".into(),
                    template_version: 1,
                    period: Period {
                        year: FinancialYear(2020),
                        quarter: Quarter::new(quarter),
                    },
                },
                figures,
                commentary: vec![],
                exceptions,
            },
        }
    }

    fn complaints(consolidated: &Consolidated) -> Vec<(String, f64, String)> {
        let data = &consolidated.data;
        let column = |name: &str| data.column(name).expect("column").clone();
        let (measure, quarter, value, file) = (
            column("measure"),
            column("quarter"),
            column("value"),
            column("source_file"),
        );
        (0..data.height())
            .filter(|&i| measure.str().expect("str").get(i) == Some("complaints"))
            .map(|i| {
                (
                    quarter
                        .str()
                        .expect("str")
                        .get(i)
                        .unwrap_or_default()
                        .to_owned(),
                    value.f64().expect("f64").get(i).unwrap_or(f64::NAN),
                    file.str()
                        .expect("str")
                        .get(i)
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }

    fn consolidate_returns(returns: &[ProcessedReturn]) -> Consolidated {
        let schemas = schemas();
        let history = tables_for(returns).expect("tables");
        let period = latest_period(&history).expect("period").expect("a period");
        let settings = FlagSettings {
            far_above_ratio: 1.5,
            far_above_min_excess: 5.0,
        };
        consolidate(
            &history,
            &catalogue_frames(&schemas).expect("frames"),
            (period, period),
            settings,
        )
        .expect("consolidate")
    }

    #[test]
    fn a_later_period_restates_earlier_quarters_and_the_last_good_return_wins() {
        let consolidated = consolidate_returns(&[
            psd_return("q1.xlsx", 1, 0, &[(1, 40.0)], true),
            psd_return("q2.xlsx", 2, 1, &[(1, 39.0), (2, 24.0)], true),
            psd_return("q2 corrected.xlsx", 2, 2, &[(1, 39.0), (2, 25.0)], true),
            psd_return("q2 broken.xlsx", 2, 3, &[(1, 1.0), (2, 1.0)], false),
        ]);
        assert_eq!(consolidated.period.to_string(), "2020/21 Q2");
        assert_eq!(
            complaints(&consolidated),
            [
                ("Q1".to_owned(), 39.0, "q2 corrected.xlsx".to_owned()),
                ("Q2".to_owned(), 25.0, "q2 corrected.xlsx".to_owned()),
                (String::new(), 64.0, "q2 corrected.xlsx".to_owned()),
            ]
        );
        let rejected = consolidated
            .rejected
            .column("source_file")
            .expect("column")
            .str()
            .expect("str")
            .get(0);
        assert_eq!(rejected, Some("q2 broken.xlsx"));
        assert_eq!(
            consolidated.missing.height(),
            6,
            "every other department is still to send Q2"
        );
    }
}
