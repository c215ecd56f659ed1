//! Action plan consolidation: stored statuses in; the status table, each plan's tracker matrix, counts per
//! section and status, and the exceptions the board acts on out. Pure polars; no I/O here.
//!
//! "Last good update wins" per measure and period, as for figures. Exceptions are judged at each plan's
//! latest reported period (the latest period any accepted update gave a status for), as at its date.

use polars::prelude::*;

use super::rows::table_rows;
use super::{inner, left, sort_by};
use crate::schema::{Completion, Schemas, StatusKind};
use crate::store::History;

/// The plan schemas as frames.
#[derive(Debug, Clone)]
pub struct PlanFrames {
    /// plan, plan_order, section, section_title, section_order, ref, measure_order, title, owner, due
    /// (ISO date or null), due_text
    pub measures: DataFrame,
    /// plan, period, period_order, as_at, stale_before (ISO dates; stale_before null when not configured)
    pub periods: DataFrame,
    /// plan, status, kind, rank
    pub vocabulary: DataFrame,
}

/// Everything the plan sheets and plan exceptions show.
#[derive(Debug, Clone)]
pub struct PlanTables {
    /// The `PlanStatus` table: plan, section, ref, period, status, owner, source_file, source_cell, then
    /// as_at, status_as_written, narrative, update_date, complete, kind, rank, prev_status, prev_rank, trend,
    /// title,
    /// section_title, due, due_text and the orders.
    pub statuses: DataFrame,
    /// Per measure, its latest status and what came with it: plan, section, ref, period, status,
    /// narrative, update_date, complete, trend, source_file, source_cell.
    pub latest: DataFrame,
    /// Each plan's latest reported period: plan, period, period_order, as_at.
    pub reported: DataFrame,
    /// plan, section, period, status, measures: how many measures stood at each status.
    pub counts: DataFrame,
    /// plan, section, ref, period, exception, status, prev_status, due_text, as_at, update_date, complete,
    /// owner, title, source_file, source_cell.
    pub exceptions: DataFrame,
}

/// What the board is to act on in a plan, in the order the board reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanExceptionKind {
    StatusWorsened,
    NotDueAfterDueDate,
    PastDueNotComplete,
    OnTrackNotComplete,
    UpdateOutOfDate,
    NoUpdate,
}

impl PlanExceptionKind {
    pub const ALL: [PlanExceptionKind; 6] = [
        PlanExceptionKind::StatusWorsened,
        PlanExceptionKind::NotDueAfterDueDate,
        PlanExceptionKind::PastDueNotComplete,
        PlanExceptionKind::OnTrackNotComplete,
        PlanExceptionKind::UpdateOutOfDate,
        PlanExceptionKind::NoUpdate,
    ];

    /// The kind as the exceptions workbook names it.
    pub const fn label(self) -> &'static str {
        match self {
            PlanExceptionKind::StatusWorsened => "status worsened",
            PlanExceptionKind::NotDueAfterDueDate => "not-due status after the due date",
            PlanExceptionKind::PastDueNotComplete => "past due and not complete",
            PlanExceptionKind::OnTrackNotComplete => "on track but not complete past due",
            PlanExceptionKind::UpdateOutOfDate => "latest update out of date",
            PlanExceptionKind::NoUpdate => "no update for the period",
        }
    }

    pub fn from_label(label: &str) -> Option<PlanExceptionKind> {
        PlanExceptionKind::ALL
            .into_iter()
            .find(|kind| kind.label() == label)
    }

    /// Where the kind comes in the board's reading order.
    fn order(self) -> i32 {
        self as i32
    }
}

pub fn plan_frames(schemas: &Schemas) -> PolarsResult<PlanFrames> {
    let mut m: [Vec<Option<String>>; 9] = Default::default();
    let (mut plan_order, mut section_order, mut measure_order) = (vec![], vec![], vec![]);
    let (mut p_plan, mut p_period, mut p_order, mut p_as_at, mut p_stale) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut v_plan, mut v_status, mut v_kind, mut v_rank) = (vec![], vec![], vec![], vec![]);
    let iso = |date: chrono::NaiveDate| date.format("%Y-%m-%d").to_string();
    for (plan_index, plan) in schemas.plans.iter().enumerate() {
        for (measure_index, measure) in plan.measures.iter().enumerate() {
            let (section_index, section) = plan
                .sections
                .iter()
                .enumerate()
                .find(|(_, s)| s.id == measure.section)
                .map(|(i, s)| (i, s.title.clone()))
                .unwrap_or_default();
            let row = [
                Some(plan.id.clone()),
                Some(measure.section.clone()),
                Some(section),
                Some(measure.reference.clone()),
                Some(measure.title.clone()),
                Some(measure.owner.clone()),
                measure.due.map(iso),
                Some(measure.due_text.clone()),
                Some(measure.departments.join(", ")),
            ];
            for (column, value) in m.iter_mut().zip(row) {
                column.push(value);
            }
            plan_order.push(plan_index as i32);
            section_order.push(section_index as i32);
            measure_order.push(measure_index as i32);
        }
        for (index, period) in plan.periods.iter().enumerate() {
            p_plan.push(plan.id.clone());
            p_period.push(period.label.clone());
            p_order.push(index as i32);
            p_as_at.push(iso(period.as_at));
            p_stale.push(plan.stale_update_days.and_then(|days| {
                period
                    .as_at
                    .checked_sub_days(chrono::Days::new(u64::from(days)))
                    .map(iso)
            }));
        }
        for status in &plan.statuses {
            v_plan.push(plan.id.clone());
            v_status.push(status.name.clone());
            v_kind.push(status.kind.as_str());
            v_rank.push(status.kind.rank());
        }
    }
    let [
        plan,
        section,
        section_title,
        reference,
        title,
        owner,
        due,
        due_text,
        departments,
    ] = m;
    Ok(PlanFrames {
        measures: df!(
            "plan" => plan, "plan_order" => plan_order, "section" => section,
            "section_title" => section_title, "section_order" => section_order, "ref" => reference,
            "measure_order" => measure_order, "title" => title, "owner" => owner, "due" => due,
            "due_text" => due_text, "departments" => departments,
        )?,
        periods: df!(
            "plan" => p_plan, "period" => p_period, "period_order" => p_order, "as_at" => p_as_at,
            "stale_before" => p_stale,
        )?,
        vocabulary: df!("plan" => v_plan, "status" => v_status, "kind" => v_kind, "rank" => v_rank)?,
    })
}

fn keys() -> [Expr; 3] {
    [col("plan"), col("section"), col("ref")]
}

/// The plans as at `until`: each status dated (by its update, or else by its period) on or after it is
/// left out, as the board would not have had it.
pub fn consolidate_plans(
    history: &History,
    frames: &PlanFrames,
    until: chrono::NaiveDate,
) -> PolarsResult<PlanTables> {
    let statuses = status_table(current_statuses(history), frames, until)?;
    let reported = reported_periods(&statuses, frames)?;
    Ok(PlanTables {
        latest: latest_statuses(&statuses)?,
        counts: status_counts(&statuses)?,
        exceptions: plan_exceptions(&statuses, &reported, frames)?,
        reported,
        statuses,
    })
}

/// Last good update wins: of the accepted updates giving a measure's status for a period, the one
/// received last.
fn current_statuses(history: &History) -> LazyFrame {
    let accepted = history
        .returns
        .clone()
        .lazy()
        .filter(col("accepted"))
        .select([col("sha256"), col("order")]);
    let (by, order) = sort_by(&["order"]);
    history
        .statuses
        .clone()
        .lazy()
        .join(accepted, [col("sha256")], [col("sha256")], inner())
        .sort(by, order)
        .group_by_stable([col("plan"), col("section"), col("ref"), col("period")])
        .agg([
            col("status").last(),
            col("status_as_written").last(),
            col("narrative").last(),
            col("update_date").last(),
            col("complete").last(),
            col("source_file").last(),
            col("source_cell").last(),
            col("sha256").last(),
        ])
}

/// Every current status with its measure, period and vocabulary facts, and its trend on the period before.
fn status_table(
    current: LazyFrame,
    frames: &PlanFrames,
    until: chrono::NaiveDate,
) -> PolarsResult<DataFrame> {
    let plan_period = [col("plan"), col("period")];
    // ISO dates compare as text.
    let dated = when(col("update_date").is_not_null())
        .then(col("update_date"))
        .otherwise(col("as_at"));
    let until = until.format("%Y-%m-%d").to_string();
    let with_schema = current
        .join(frames.measures.clone().lazy(), keys(), keys(), inner())
        .join(
            frames.periods.clone().lazy(),
            plan_period.clone(),
            plan_period.clone(),
            inner(),
        )
        .join(
            frames.vocabulary.clone().lazy(),
            [col("plan"), col("status")],
            [col("plan"), col("status")],
            inner(),
        )
        .filter(dated.lt_eq(lit(until)));
    let previous = with_schema.clone().select([
        col("plan"),
        col("section"),
        col("ref"),
        (col("period_order") + lit(1)).alias("period_order"),
        col("status").alias("prev_status"),
        col("rank").alias("prev_rank"),
    ]);
    let step = [col("plan"), col("section"), col("ref"), col("period_order")];
    with_schema
        .join(previous, step.clone(), step, left())
        .with_column(
            when(col("prev_rank").is_null())
                .then(lit(""))
                .when(col("rank").gt(col("prev_rank")))
                .then(lit("worse"))
                .when(col("rank").lt(col("prev_rank")))
                .then(lit("better"))
                .otherwise(lit("no change"))
                .alias("trend"),
        )
        .sort(
            [
                "plan_order",
                "section_order",
                "measure_order",
                "period_order",
            ],
            SortMultipleOptions::default(),
        )
        .select([
            col("plan"),
            col("section"),
            col("ref"),
            col("period"),
            col("status"),
            col("owner"),
            col("source_file"),
            col("source_cell"),
            col("as_at"),
            col("status_as_written"),
            col("narrative"),
            col("update_date"),
            col("complete"),
            col("kind"),
            col("rank"),
            col("prev_status"),
            col("prev_rank"),
            col("trend"),
            col("title"),
            col("section_title"),
            col("due"),
            col("due_text"),
            col("stale_before"),
            col("plan_order"),
            col("section_order"),
            col("measure_order"),
            col("period_order"),
            col("sha256"),
        ])
        .collect()
}

/// Each measure's latest status, with what came with it.
fn latest_statuses(statuses: &DataFrame) -> PolarsResult<DataFrame> {
    statuses
        .clone()
        .lazy()
        .group_by_stable(keys())
        .agg([
            col("period").last(),
            col("status").last(),
            col("kind").last(),
            col("narrative").last(),
            col("update_date").last(),
            col("complete").last(),
            col("trend").last(),
            col("source_file").last(),
            col("source_cell").last(),
        ])
        .collect()
}

/// Each plan's latest reported period.
fn reported_periods(statuses: &DataFrame, frames: &PlanFrames) -> PolarsResult<DataFrame> {
    statuses
        .clone()
        .lazy()
        .group_by_stable([col("plan")])
        .agg([col("period_order").max()])
        .join(
            frames.periods.clone().lazy(),
            [col("plan"), col("period_order")],
            [col("plan"), col("period_order")],
            inner(),
        )
        .select([
            col("plan"),
            col("period"),
            col("period_order"),
            col("as_at"),
            col("stale_before"),
        ])
        .collect()
}

/// Measures per plan, section, period and status.
fn status_counts(statuses: &DataFrame) -> PolarsResult<DataFrame> {
    statuses
        .clone()
        .lazy()
        .group_by_stable([col("plan"), col("section"), col("period"), col("status")])
        .agg([len().alias("measures")])
        .collect()
}

fn kind_is(kind: StatusKind) -> Expr {
    col("kind").eq(lit(kind.as_str()))
}

/// A measure complete by its status or by the plan's completion column.
fn finished() -> Expr {
    kind_is(StatusKind::Complete)
        .or(complete_is(Completion::Yes))
        .or(complete_is(Completion::NotApplicable))
}

fn complete_is(completion: Completion) -> Expr {
    col("complete").eq(lit(completion.as_str()))
}

/// The board's exceptions, each judged at the plan's latest reported period.
fn plan_exceptions(
    statuses: &DataFrame,
    reported: &DataFrame,
    frames: &PlanFrames,
) -> PolarsResult<DataFrame> {
    let columns = || {
        [
            col("plan"),
            col("section"),
            col("ref"),
            col("period"),
            col("exception"),
            col("status"),
            col("prev_status"),
            col("due_text"),
            col("as_at"),
            col("update_date"),
            col("complete"),
            col("owner"),
            col("title"),
            col("section_title"),
            col("source_file"),
            col("source_cell"),
            col("plan_order"),
            col("exception_order"),
            col("section_order"),
            col("measure_order"),
        ]
    };
    let all: Vec<LazyFrame> = flagged_at_latest(statuses, reported)
        .into_iter()
        .chain([no_update(statuses, reported, frames)])
        .map(|frame| frame.select(columns()))
        .collect();
    concat(all, UnionArgs::default())?
        .sort(
            [
                "plan_order",
                "exception_order",
                "section_order",
                "measure_order",
            ],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
}

/// The statuses at each plan's latest period that the board must act on, one frame per kind.
fn flagged_at_latest(statuses: &DataFrame, reported: &DataFrame) -> [LazyFrame; 5] {
    let plan_period = [col("plan"), col("period")];
    let at_latest = statuses.clone().lazy().join(
        reported.clone().lazy().select([col("plan"), col("period")]),
        plan_period.clone(),
        plan_period.clone(),
        inner(),
    );
    let past_due = col("due").is_not_null().and(col("due").lt(col("as_at")));
    let finished = finished();
    let flagged = |kind: PlanExceptionKind, condition: Expr| {
        at_latest.clone().filter(condition).with_columns([
            lit(kind.label()).alias("exception"),
            lit(kind.order()).alias("exception_order"),
        ])
    };
    let worsened = flagged(
        PlanExceptionKind::StatusWorsened,
        col("prev_rank")
            .is_not_null()
            .and(col("rank").gt(col("prev_rank"))),
    );
    let white_after_due = flagged(
        PlanExceptionKind::NotDueAfterDueDate,
        kind_is(StatusKind::NotDue).and(past_due.clone()),
    );
    // Where the plan records completion, that decides; otherwise a status at risk or off track past its
    // due date is not complete. (A not-due status past its date has its own exception.)
    let not_complete = complete_is(Completion::No).or(col("complete")
        .is_null()
        .and(kind_is(StatusKind::AtRisk).or(kind_is(StatusKind::OffTrack))));
    let past_due_not_complete = flagged(
        PlanExceptionKind::PastDueNotComplete,
        past_due
            .clone()
            .and(not_complete)
            .and(kind_is(StatusKind::Complete).not()),
    );
    let green_not_complete = flagged(
        PlanExceptionKind::OnTrackNotComplete,
        kind_is(StatusKind::OnTrack)
            .and(complete_is(Completion::No))
            .and(past_due),
    );
    let out_of_date = flagged(
        PlanExceptionKind::UpdateOutOfDate,
        col("update_date")
            .is_not_null()
            .and(col("stale_before").is_not_null())
            .and(col("update_date").lt(col("stale_before")))
            .and(finished.clone().not()),
    );

    [
        worsened,
        white_after_due,
        past_due_not_complete,
        green_not_complete,
        out_of_date,
    ]
}

/// Measures with no status at the plan's latest period, unless already complete earlier.
fn no_update(statuses: &DataFrame, reported: &DataFrame, frames: &PlanFrames) -> LazyFrame {
    let done_before = statuses
        .clone()
        .lazy()
        .filter(finished())
        .group_by_stable(keys())
        .agg([lit(true).first().alias("done_before")]);
    frames
        .measures
        .clone()
        .lazy()
        .join(
            reported
                .clone()
                .lazy()
                .select([col("plan"), col("period"), col("as_at")]),
            [col("plan")],
            [col("plan")],
            inner(),
        )
        .join(
            statuses.clone().lazy().select([
                col("plan"),
                col("section"),
                col("ref"),
                col("period"),
                col("status"),
            ]),
            [col("plan"), col("section"), col("ref"), col("period")],
            [col("plan"), col("section"), col("ref"), col("period")],
            left(),
        )
        .join(done_before, keys(), keys(), left())
        .filter(col("status").is_null().and(col("done_before").is_null()))
        .with_columns([
            lit(PlanExceptionKind::NoUpdate.label()).alias("exception"),
            lit(PlanExceptionKind::NoUpdate.order()).alias("exception_order"),
            lit(NULL).cast(DataType::String).alias("prev_status"),
            lit(NULL).cast(DataType::String).alias("update_date"),
            lit(NULL).cast(DataType::String).alias("complete"),
            lit(NULL).cast(DataType::String).alias("source_file"),
            lit(NULL).cast(DataType::String).alias("source_cell"),
        ])
}

table_rows! {
    /// A measure's status for a period, with what came with it: a row of the `PlanStatus` table.
    pub struct PlanStatusRow {
        plan: text,
        section: text,
        reference: text = "ref",
        period: text,
        status: text,
        /// What the status means, whatever the plan calls it.
        kind: status_kind,
        owner: text,
        source_file: text,
        source_cell: text,
        as_at: date,
        status_as_written: text,
        complete: text,
        /// `None` when the update gives no date.
        update_date: date,
        narrative: text,
        title: text,
        section_title: text,
        due_text: text,
        /// The update it came from.
        sha256: text,
    }
}

table_rows! {
    /// A measure's latest status and what came with it.
    pub struct LatestStatus {
        plan: text,
        section: text,
        reference: text = "ref",
        period: text,
        status: text,
        narrative: text,
        /// `None` when the update gives no date.
        update_date: date,
        complete: text,
        trend: text,
    }
}

table_rows! {
    /// A plan's latest reported period.
    pub struct ReportedPeriod {
        plan: text,
        period: text,
        as_at: date,
    }
}

table_rows! {
    /// How many measures of a plan's section stood at a status in a period.
    pub struct StatusCount {
        plan: text,
        section: text,
        period: text,
        status: text,
        measures: number,
    }
}

table_rows! {
    /// Something the board is to act on in a plan, with the measure and the facts behind it.
    pub struct PlanException {
        plan: text,
        section_title: text,
        reference: text = "ref",
        title: text,
        /// The kind's label.
        exception: text,
        /// The kind itself.
        kind: exception_kind = "exception",
        period: text,
        status: text,
        prev_status: text,
        due_text: text,
        as_at: date,
        /// `None` when the update gives no date.
        update_date: date,
        complete: text,
        owner: text,
        source_file: text,
        source_cell: text,
    }
}
