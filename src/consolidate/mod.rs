//! Consolidation: the store's figures in, the dashboard's tables out. Pure polars; no I/O here.
//!
//! "Last good return wins": for each department, template and period the latest accepted return is current;
//! for each figure, the current return of the latest period that states it wins (a Q2 return restates Q1).

mod catalogue;
mod figures;
mod flags;
mod in_use;
mod plans;
mod returns;
mod rows;

use polars::prelude::*;

pub use catalogue::catalogue_frames;
pub use figures::RestatedFigure;
pub use figures::{DataRow, HistoryRow, YearRow};
pub use flags::BoardFlag;
pub use in_use::{FigureShown, ReturnInUse, figures_shown, returns_in_use};
pub use plans::{
    LatestStatus, PlanException, PlanExceptionKind, PlanFrames, PlanStatusRow, PlanTables,
    ReportedPeriod, StatusCount, consolidate_plans, plan_frames,
};
pub use returns::{
    Commentary, CurrentReturn, DepartmentCount, LateReturn, MissingReturn, OpenException,
    ReceivedReturn, ReplacedReturn, collected_quarter, latest_by_department, latest_period,
    quarter_being_collected, stored_periods,
};

use crate::period::Period;
use crate::schema::Schemas;
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
    /// total over a blank quarter), same_quarter_last_year, change_on_last_year (the year to date less the same quarters
    /// of the year before).
    pub year_matrix: DataFrame,
    /// The year before the reporting year by quarter, for measures whose returns give its quarters: the
    /// year matrix's columns (its comparisons null).
    pub previous_year: DataFrame,
    /// Whole-year figures of earlier years: indicator, measure, year_start, financial_year, value.
    pub history: DataFrame,
    /// The current accepted return per department, template and period.
    pub current_returns: DataFrame,
    /// Analysis text of the reporting period's returns: indicator, text, department, source_file, sheet, cell.
    pub commentary: DataFrame,
    /// Expected returns for the period with no accepted return: department, template, note.
    pub missing: DataFrame,
    /// Rejected returns not since replaced by an accepted one: the store's return rows.
    pub rejected: DataFrame,
    /// Exceptions of the returns in the current picture: accepted_return (false for a rejected one), department,
    /// ret_year, ret_q, received_at, and the exception's file, sheet, cell, value_found, rule_id, severity,
    /// message and guidance.
    pub open_exceptions: DataFrame,
    /// Accepted returns another return has replaced for the same department, template and period:
    /// department, ret_year, ret_q, plan_period, source_file, received_at, in_use_file.
    pub not_in_use: DataFrame,
    /// The reporting year's figures that were restated (a return changed a figure already accepted), with
    /// the query that says from what: see [`RestatedFigure`].
    pub restated: DataFrame,
    /// Flags for the integrity board: flag, indicator, measure, financial_year, quarter, value, baseline (the
    /// typical quarter a figure was compared with), source_file, source_cell.
    pub flags: DataFrame,
    /// The action plan trackers, as at `plans_until`.
    pub plans: PlanTables,
    /// The day the plans are as at.
    pub plans_until: chrono::NaiveDate,
    /// Every return received, in the order it arrived, with who sent it when it came by email: see
    /// [`ReceivedReturn`].
    pub received: DataFrame,
    /// When the last of them was received, if any was: the time a draft board paper is as at.
    pub last_received: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The reporting quarter's returns counted per department, for every document that shows them.
    pub department_counts: Vec<DepartmentCount>,
    /// Returns for signed-off quarters that arrived after the latest version: see [`LateReturn`].
    pub late_returns: DataFrame,
    /// Returns in the store that could no longer be consolidated or rendered, left out of the outputs.
    pub quarantined: Vec<Quarantined>,
    /// Files the inbox received that held no return, set aside unread: see [`SetAside`].
    pub set_aside: Vec<SetAside>,
}

/// A file set aside in `inbox/set aside/` (an email with no workbook, a PDF), and the first line of its
/// note of why.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAside {
    pub file: String,
    pub reason: String,
}

/// A stored return left out of the outputs because its content broke them, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    pub file: String,
    pub received_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub reason: String,
}

/// A quarter as consolidation compares it with the store's `ret_year` and `ret_q` (a whole-year period
/// counts as its fourth quarter).
#[derive(Debug, Clone, Copy)]
struct ReportingQuarter {
    year: i32,
    quarter: i32,
}

impl ReportingQuarter {
    /// Past every period the store can hold: what is in use over the whole history.
    const EVERY: ReportingQuarter = ReportingQuarter {
        year: i32::MAX,
        quarter: 4,
    };

    fn of(period: Period) -> ReportingQuarter {
        ReportingQuarter {
            year: period.year.0,
            quarter: period.quarter.map_or(4, |q| i32::from(q.number())),
        }
    }

    /// Whether a return (with `ret_year` and `ret_q`) is for this quarter.
    fn is_returns_period(self) -> Expr {
        col("ret_year")
            .eq(lit(self.year))
            .and(col("ret_q").eq(lit(self.quarter)))
    }

    /// Whether the period in the `year` and `quarter` columns has come by this quarter: an earlier year,
    /// or this year up to this quarter (a whole-year period, quarter 0, counts from its year's start).
    fn reached(self, year: &str, quarter: &str) -> Expr {
        col(year).lt(lit(self.year)).or(col(year)
            .eq(lit(self.year))
            .and(col(quarter).lt_eq(lit(self.quarter))))
    }
}

/// What a consolidation is as at: the dashboard's quarter, the quarter whose returns are chased (usually
/// the same), and the day the action plans are taken as at (the quarter's returns' due date, or its
/// sign-off if earlier: plan leads report in the weeks after a quarter ends).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsAt {
    pub period: Period,
    pub chase_period: Period,
    pub plans_until: chrono::NaiveDate,
}

impl AsAt {
    /// As at `period` (chasing `chase_period`), with the plans as at its returns' due date, or `signed`
    /// if earlier.
    pub fn quarter(
        schemas: &Schemas,
        (period, chase_period): (Period, Period),
        signed: Option<chrono::NaiveDate>,
    ) -> AsAt {
        let due = schemas.returns_due(period);
        let plans_until = match (due, signed) {
            (Some(due), Some(signed)) => due.min(signed),
            (due, signed) => due.or(signed).unwrap_or(chrono::NaiveDate::MAX),
        };
        AsAt {
            period,
            chase_period,
            plans_until,
        }
    }
}

impl FlagSettings {
    /// The flag settings `dashboard.toml` gives.
    pub fn of(schemas: &Schemas) -> FlagSettings {
        FlagSettings {
            far_above_ratio: schemas.dashboard.far_above_ratio,
            far_above_min_excess: schemas.dashboard.far_above_min_excess,
        }
    }
}

/// Consolidates the history as at `as_at`: figures of periods up to its quarter, plans as at its day.
/// The figures' tables and the returns' tables are made side by side, each on a thread of its own.
pub fn consolidate(
    history: &History,
    catalogue: &CatalogueFrames,
    as_at: AsAt,
    flags: FlagSettings,
) -> PolarsResult<Consolidated> {
    let at = ReportingQuarter::of(as_at.period);
    let history = &returns::in_arrival_order(history)?;
    // Collected once: each table below is its own query and would otherwise compute these again (half
    // of consolidation's time went on that).
    let returns = returns::keyed_returns(history).collect()?;
    let current = returns::current_returns(&returns.clone().lazy()).collect()?;
    let (figure_tables, return_tables) = crate::polars_local::on_two_threads(
        || figure_tables(history, catalogue, &current, at, flags),
        || return_tables(history, catalogue, &returns, &current, as_at),
    );
    let (figure_tables, return_tables) = (figure_tables?, return_tables?);
    Ok(Consolidated {
        period: as_at.period,
        chase_period: as_at.chase_period,
        plans_until: as_at.plans_until,
        year_matrix: figure_tables.year_matrix,
        previous_year: figure_tables.previous_year,
        history: figure_tables.history,
        commentary: return_tables.commentary,
        missing: return_tables.missing,
        department_counts: return_tables.department_counts,
        open_exceptions: return_tables.open_exceptions,
        not_in_use: return_tables.not_in_use,
        flags: figure_tables.flags,
        current_returns: return_tables.current_returns,
        plans: return_tables.plans,
        received: return_tables.received,
        last_received: return_tables.last_received,
        late_returns: return_tables.late_returns,
        data: figure_tables.data,
        restated: figure_tables.restated,
        rejected: return_tables.rejected,
        quarantined: Vec::new(),
        set_aside: Vec::new(),
    })
}

/// The tables made from the figures of the returns in use.
struct FigureTables {
    data: DataFrame,
    year_matrix: DataFrame,
    previous_year: DataFrame,
    history: DataFrame,
    restated: DataFrame,
    flags: DataFrame,
}

fn figure_tables(
    history: &History,
    catalogue: &CatalogueFrames,
    current: &DataFrame,
    at: ReportingQuarter,
    flags: FlagSettings,
) -> PolarsResult<FigureTables> {
    let current = current.clone().lazy();
    // As at the reporting quarter: a return for a later quarter, and any figure of a later quarter,
    // waits for its quarter.
    let current_as_at = current.clone().filter(at.reached("ret_year", "ret_q"));
    let figures = figures::current_figures(history, &current_as_at, at)?
        .collect()?
        .lazy();
    let data = figures::data_table(&figures, catalogue, &current_as_at, at)?;
    let current_now = returns::current_in(&current, at);
    Ok(FigureTables {
        year_matrix: figures::year_matrix(&data, catalogue, at)?,
        previous_year: figures::previous_year_by_quarter(&data, at)?,
        history: figures::whole_year_history(&data, at)?,
        restated: figures::restated_figures(history, &figures, &current_now, at)?,
        flags: flags::board_flags(
            &data,
            catalogue,
            &current_now,
            &history.commentary,
            at,
            flags,
        )?,
        data,
    })
}

/// The tables made from the returns: which are in use, replaced, rejected or owed, and what they say.
struct ReturnTables {
    current_returns: DataFrame,
    commentary: DataFrame,
    missing: DataFrame,
    rejected: DataFrame,
    open_exceptions: DataFrame,
    department_counts: Vec<DepartmentCount>,
    not_in_use: DataFrame,
    plans: PlanTables,
    received: DataFrame,
    last_received: Option<chrono::DateTime<chrono::FixedOffset>>,
    late_returns: DataFrame,
}

fn return_tables(
    history: &History,
    catalogue: &CatalogueFrames,
    returns: &DataFrame,
    current: &DataFrame,
    as_at: AsAt,
) -> PolarsResult<ReturnTables> {
    let at = ReportingQuarter::of(as_at.period);
    let (returns, current) = (returns.clone().lazy(), current.clone().lazy());
    let current_now = returns::current_in(&current, at);
    let rejected = returns::rejected_returns(&returns, &current)?;
    let open_exceptions = returns::open_exceptions(history, &current, &rejected)?;
    let received = returns::received_returns(&returns)?;
    let current_returns = current
        .clone()
        .sort(
            ["department", "template", "ret_year", "ret_q"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()?;
    Ok(ReturnTables {
        commentary: returns::period_commentary(history, &current_now)?,
        missing: returns::missing_returns(
            catalogue,
            &returns,
            &current,
            ReportingQuarter::of(as_at.chase_period),
        )?,
        department_counts: returns::department_counts(
            catalogue,
            &current_returns,
            &open_exceptions,
            at,
        )?,
        open_exceptions,
        not_in_use: returns::replaced_returns(&returns, &current)?,
        current_returns,
        plans: consolidate_plans(history, &catalogue.plans, as_at.plans_until)?,
        last_received: returns::last_received(&received)?,
        received,
        late_returns: returns::late_returns(&returns, &history.sign_offs)?,
        rejected,
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
    use crate::period::{FinancialYear, Quarter};
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
                not_applicable: false,
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
            message: None,
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
        consolidate(
            &history,
            &catalogue_frames(&schemas).expect("frames"),
            AsAt::quarter(&schemas, (period, period), None),
            FlagSettings::of(&schemas),
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
