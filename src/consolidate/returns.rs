//! Which returns are in the picture: the order they arrived in, the one in use for each department,
//! template and period, those it replaced, the rejected ones still open, those still owed, and the
//! exceptions the owner still has to deal with.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use super::rows::table_rows;
use super::{CatalogueFrames, ReportingQuarter, inner, left, sort_by};
use crate::period::{FinancialYear, Period, Quarter};
use crate::store::{History, SignOff};

/// The history with its returns in the order `collate` received them: by arrival number, and for a store
/// from before arrival numbers by file time. Each content appears once, at its latest arrival (a
/// `collate use` is an arrival), numbered in that order as `order`.
pub(super) fn in_arrival_order(history: &History) -> PolarsResult<History> {
    // A store is written in the order its returns arrive, so they are usually in arrival order already.
    let returns = match numbered_in_order(&history.returns)? {
        true => history.returns.clone(),
        false => by_arrival(history.returns.clone().lazy()).collect()?,
    };
    // Usually each content arrived once: then there is nothing to drop (polars' `unique` on the hashes
    // took 5 ms of every pass at 12,000 returns, finding nothing).
    let latest = latest_of_each_content(&returns)?;
    let mut returns = match latest.all() {
        true => returns,
        false => returns.filter(&latest)?,
    };
    // In one piece, as the sort left it: the tables below are made from it many times over.
    returns.rechunk_mut();
    Ok(History {
        returns: returns.with_row_index("order".into(), None)?,
        ..history.clone()
    })
}

/// Returns by arrival number, and for a store from before arrival numbers by file time, then name.
fn by_arrival(returns: LazyFrame) -> LazyFrame {
    returns.sort(
        ["arrival", "received_at", "source_file"],
        SortMultipleOptions::default()
            .with_maintain_order(true)
            .with_nulls_last(false),
    )
}

/// Whether every return has an arrival number, each higher than the one before it.
fn numbered_in_order(returns: &DataFrame) -> PolarsResult<bool> {
    let Ok(arrivals) = returns.column("arrival")?.i64() else {
        return Ok(false);
    };
    let mut previous = None;
    for arrival in arrivals.iter() {
        match (previous, arrival) {
            (_, None) => return Ok(false),
            (Some(previous), Some(arrival)) if previous >= arrival => return Ok(false),
            _ => previous = arrival,
        }
    }
    Ok(true)
}

/// For each return, whether it is its content's latest arrival (in the order given).
fn latest_of_each_content(returns: &DataFrame) -> PolarsResult<BooleanChunked> {
    let hashes = returns.column("sha256")?.str()?;
    let mut seen = PlHashSet::with_capacity(hashes.len());
    let mut latest: Vec<bool> = hashes.iter().rev().map(|hash| seen.insert(hash)).collect();
    latest.reverse();
    Ok(BooleanChunked::from_slice("latest".into(), &latest))
}

/// Accepted returns that are not the one in use for their department, template and period, with the file
/// that is.
pub(super) fn replaced_returns(
    returns: &LazyFrame,
    current: &LazyFrame,
) -> PolarsResult<DataFrame> {
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
        col("order").alias("in_use_order"),
    ]);
    // Every accepted return not in use; and every rejected one that an accepted return received after it
    // has superseded (it has left the Rejected list, and is listed here with what superseded it).
    let replaced = col("accepted").or(col("order").lt(col("in_use_order")));
    returns
        .clone()
        .join(current.clone().select(in_use), key(), key(), inner())
        .filter(col("sha256").neq(col("in_use_sha256")).and(replaced))
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
            col("accepted"),
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

/// The quarter being collected, which the dashboard, the nightly run and the board paper are for: see
/// [`quarter_being_collected`]. `None` with nothing stored or signed off.
pub fn collected_quarter(history: &History) -> PolarsResult<Option<Period>> {
    Ok(quarter_being_collected(
        &latest_by_department(history)?,
        &history.sign_offs,
    ))
}

/// The quarter most departments' latest accepted returns are for (on a tie, the earlier), so that a
/// return sent early for the next quarter does not move it; and never a quarter already signed off: once
/// one is, the quarter after it.
pub fn quarter_being_collected(
    latest: &HashMap<String, Period>,
    sign_offs: &[SignOff],
) -> Option<Period> {
    let mut counts: BTreeMap<Period, usize> = BTreeMap::new();
    for period in latest.values() {
        *counts.entry(*period).or_default() += 1;
    }
    // The most departments; of equal counts the earliest (max_by_key keeps the last of equals).
    let most_sent = counts
        .into_iter()
        .rev()
        .max_by_key(|&(_, count)| count)
        .map(|(period, _)| period);
    let after_signed_off = (sign_offs.iter())
        .filter(|s| s.withdrawn.is_none())
        .filter_map(SignOff::period)
        .max()
        .map(Period::next_quarter);
    most_sent.max(after_signed_off)
}

/// Each department's latest quarter with an accepted figures return.
pub fn latest_by_department(history: &History) -> PolarsResult<HashMap<String, Period>> {
    let returns = &history.returns;
    let (departments, accepted) = (
        returns.column("department")?.str()?,
        returns.column("accepted")?.bool()?,
    );
    let (years, quarters) = (
        returns.column("year_start")?.i32()?,
        returns.column("quarter")?.i32()?,
    );
    let mut latest: HashMap<String, Period> = HashMap::new();
    for i in 0..returns.height() {
        let (Some(department), Some(true), Some(year), Some(quarter)) = (
            departments.get(i),
            accepted.get(i),
            years.get(i),
            quarters
                .get(i)
                .and_then(|q| Quarter::new(u8::try_from(q).ok()?)),
        ) else {
            continue;
        };
        let period = Period {
            year: FinancialYear(year),
            quarter: Some(quarter),
        };
        let kept = latest.entry(department.to_owned()).or_insert(period);
        *kept = (*kept).max(period);
    }
    Ok(latest)
}

table_rows! {
    /// A return for a signed-off quarter that the latest version did not know: it arrived after.
    pub struct LateReturn {
        department: text,
        template: text,
        ret_year: year,
        ret_q: quarter,
        source_file: text,
        sha256: text,
        received_at: time,
        accepted: flag,
        /// The version it arrived after.
        signed_version: number,
    }
}

/// A department's returns for the reporting quarter, counted once for every document that shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentCount {
    /// The department's id; `None` for the files no department could be told from.
    pub department: Option<String>,
    pub expected: usize,
    pub received: usize,
    pub missing: usize,
    /// Exceptions in its rejected returns (the rows of exceptions.xlsx's Rejected sheet).
    pub errors: usize,
    /// Queries in its accepted returns in use (the rows of the Warnings sheet).
    pub queries: usize,
}

/// Per department expecting quarterly returns, in the schema's order, and (if they have exceptions) the
/// files no department could be told from: returns expected, received and missing for the quarter, then
/// errors and queries as exceptions.xlsx lists them.
pub(super) fn department_counts(
    catalogue: &CatalogueFrames,
    current: &DataFrame,
    open: &DataFrame,
    at: ReportingQuarter,
) -> PolarsResult<Vec<DepartmentCount>> {
    let current = CurrentReturn::rows(current)?;
    let open = OpenException::rows(open)?;
    let expected = catalogue.expected_returns.column("department")?.str()?;
    let mut departments: Vec<&str> = Vec::new();
    for department in expected.iter().flatten() {
        if !departments.contains(&department) {
            departments.push(department);
        }
    }
    let (year, quarter) = (
        Some(FinancialYear(at.year)),
        u8::try_from(at.quarter).ok().and_then(Quarter::new),
    );
    // The quarter's own returns' exceptions (and those of returns whose period could not be read): a
    // quarter starts with none of the last one's.
    let open: Vec<OpenException> = open
        .into_iter()
        .filter(|e| {
            let unread = e.ret_year.is_none_or(|y| y.0 == 0);
            e.plan_period.is_empty() && (unread || (e.ret_year == year && e.ret_q == quarter))
        })
        .collect();
    let exceptions = |belongs: &dyn Fn(&str) -> bool| exception_counts(&open, belongs);
    let mut counts: Vec<DepartmentCount> = departments
        .iter()
        .map(|&department| {
            let expected = expected
                .iter()
                .flatten()
                .filter(|d| *d == department)
                .count();
            let received = (current.iter())
                .filter(|r| r.department == department && r.ret_year == year && r.ret_q == quarter)
                .count();
            let (errors, queries) = exceptions(&|d| d == department);
            DepartmentCount {
                department: Some(department.to_owned()),
                expected,
                received,
                missing: expected.saturating_sub(received),
                errors,
                queries,
            }
        })
        .collect();
    let (errors, queries) = exceptions(&|d| !departments.contains(&d));
    if errors + queries > 0 {
        counts.push(DepartmentCount {
            department: None,
            expected: 0,
            received: 0,
            missing: 0,
            errors,
            queries,
        });
    }
    Ok(counts)
}

/// The errors in rejected returns and the queries in accepted ones, of the departments `belongs` takes.
fn exception_counts(open: &[OpenException], belongs: &dyn Fn(&str) -> bool) -> (usize, usize) {
    let theirs = open.iter().filter(|e| belongs(&e.department));
    theirs.fold((0, 0), |(errors, queries), e| match e.accepted_return {
        Some(false) => (errors + 1, queries),
        _ => (errors, queries + 1),
    })
}

/// The columns of [`LateReturn`], for returns that arrived after `version`.
fn late_columns(version: i64) -> [Expr; 9] {
    [
        col("department"),
        col("template"),
        col("ret_year"),
        col("ret_q"),
        col("source_file"),
        col("sha256"),
        col("received_at"),
        col("accepted"),
        lit(version).alias("signed_version"),
    ]
}

/// The returns for signed-off quarters that their latest version does not list: each arrived after it
/// (by content, so a rebuild, which receives every file again, finds the same ones).
pub(super) fn late_returns(returns: &LazyFrame, sign_offs: &[SignOff]) -> PolarsResult<DataFrame> {
    let mut late = Vec::new();
    for sign_off in crate::store::latest_versions(sign_offs) {
        let Some(period) = sign_off.period() else {
            continue;
        };
        let quarter = ReportingQuarter::of(period);
        let known: std::collections::HashSet<&str> =
            sign_off.returns.iter().map(|r| r.sha256.as_str()).collect();
        let of_quarter = returns
            .clone()
            .filter(quarter.is_returns_period())
            .select(late_columns(i64::from(sign_off.version)))
            .collect()?;
        let hashes = of_quarter.column("sha256")?.str()?;
        let mask = BooleanChunked::from_iter_values(
            "late".into(),
            (0..of_quarter.height()).map(|i| !known.contains(hashes.get(i).unwrap_or_default())),
        );
        late.push(of_quarter.filter(&mask)?.lazy());
    }
    if late.is_empty() {
        return returns.clone().select(late_columns(0)).limit(0).collect();
    }
    concat(late, UnionArgs::default())?.collect()
}

/// The latest period for which any quarterly return was accepted.
pub fn latest_period(history: &History) -> PolarsResult<Option<Period>> {
    Ok(stored_periods(history)?.into_iter().max())
}

/// The store's returns with the keys a return replaces another by: department, template, `ret_year`,
/// `ret_q` and `plan_period` (empty rather than null where they do not apply).
pub(super) fn keyed_returns(history: &History) -> LazyFrame {
    history.returns.clone().lazy().with_columns([
        col("quarter").fill_null(lit(0)).alias("ret_q"),
        col("department").fill_null(lit("")),
        col("template").fill_null(lit("")),
        col("year_start").fill_null(lit(0)).alias("ret_year"),
        // Plan updates have a plan period instead of a quarter; each period's update stands on its own.
        col("plan_period").fill_null(lit("")),
    ])
}

/// The current accepted return per department, template and period: the latest to arrive.
pub(super) fn current_returns(returns: &LazyFrame) -> LazyFrame {
    let (by, order) = sort_by(&["order"]);
    returns
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
        ])
}

/// The current returns of one quarter.
pub(super) fn current_in(current: &LazyFrame, quarter: ReportingQuarter) -> LazyFrame {
    current.clone().filter(quarter.is_returns_period())
}

/// The analysis texts of the reporting period's current returns.
pub(super) fn period_commentary(
    history: &History,
    current_now: &LazyFrame,
) -> PolarsResult<DataFrame> {
    history
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
        .collect()
}

table_rows! {
    /// A quarterly return owed for the chased quarter.
    pub struct MissingReturn {
        department: text,
        template: text,
        /// The last return received for it and rejected, if any.
        rejected_file: optional_text,
    }
}

/// The quarterly returns expected for the chased quarter with no accepted return, naming a rejected one
/// where there is one.
pub(super) fn missing_returns(
    catalogue: &CatalogueFrames,
    returns: &LazyFrame,
    current: &LazyFrame,
    chase: ReportingQuarter,
) -> PolarsResult<DataFrame> {
    let chased_period = chase.is_returns_period();
    let current_chased = current.clone().filter(chased_period.clone());
    let rejected_now = returns
        .clone()
        .filter(col("accepted").not().and(chased_period))
        .group_by_stable([col("department"), col("template")])
        .agg([col("source_file").last().alias("rejected_file")]);
    catalogue
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
        .collect()
}

/// Rejected returns not since replaced by an accepted one.
pub(super) fn rejected_returns(
    returns: &LazyFrame,
    current: &LazyFrame,
) -> PolarsResult<DataFrame> {
    // A rejected return stays on the list until an accepted return for the same department, template and
    // period arrives after it. One that could not even be identified (a corrupt file) stays listed while the
    // store holds it: `collate rebuild` after removing it from the inbox clears it.
    returns
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
        .collect()
}

/// The exceptions still open: those of the current accepted returns and of the rejected ones.
pub(super) fn open_exceptions(
    history: &History,
    current: &LazyFrame,
    rejected: &DataFrame,
) -> PolarsResult<DataFrame> {
    let in_picture = concat(
        [(current.clone(), true), (rejected.clone().lazy(), false)].map(|(frame, accepted)| {
            frame
                .select([
                    col("sha256"),
                    col("department"),
                    col("ret_year"),
                    col("ret_q"),
                    col("plan_period"),
                    col("received_at"),
                ])
                .with_column(lit(accepted).alias("accepted_return"))
        }),
        UnionArgs::default(),
    )?;
    history
        .exceptions
        .clone()
        .lazy()
        .join(in_picture, [col("sha256")], [col("sha256")], inner())
        .sort(
            [
                "accepted_return",
                "department",
                "ret_year",
                "ret_q",
                "received_at",
                "source_file",
            ],
            // The accepted returns' exceptions first.
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false, false, false, false, false])
                .with_maintain_order(true),
        )
        .collect()
}

table_rows! {
    /// The return in use for a department, template and period.
    pub struct CurrentReturn {
        department: text,
        template: text,
        /// `None` when the return has no year.
        ret_year: year,
        /// `None` for a whole-year or plan return.
        ret_q: quarter,
        plan_period: text,
        source_file: text,
        sha256: text,
        received_at: text,
    }
}

table_rows! {
    /// An analysis text of the reporting period's returns.
    pub struct Commentary {
        indicator: text,
        text: text,
        department: text,
        source_file: text,
        sheet: text,
        cell: text,
    }
}

table_rows! {
    /// An exception the owner still has to deal with, with the return it was found in.
    pub struct OpenException {
        /// Whether the return was accepted (a query) or rejected (an error to fix).
        accepted_return: flag,
        department: text,
        ret_year: year,
        ret_q: quarter,
        plan_period: text,
        received_at: time,
        source_file: text,
        sheet: text,
        cell: text,
        value_found: text,
        rule_id: text,
        severity: text,
        message: text,
        guidance: text,
    }
}

table_rows! {
    /// An accepted return another return has replaced, with the file in use instead.
    pub struct ReplacedReturn {
        department: text,
        ret_year: year,
        ret_q: quarter,
        plan_period: text,
        source_file: text,
        received_at: time,
        in_use_file: text,
        /// False for a rejected return the one in use superseded.
        accepted: flag,
    }
}

/// Every return received, in the order it arrived, with the message it came in (null for a file).
pub(super) fn received_returns(returns: &LazyFrame) -> PolarsResult<DataFrame> {
    returns
        .clone()
        .sort(
            ["order"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .select([
            col("source_file"),
            col("department"),
            col("ret_year"),
            col("ret_q"),
            col("plan_period"),
            col("received_at"),
            col("sender_name"),
            col("sender_address"),
            col("sent_at"),
            col("subject"),
            col("accepted"),
            col("errors"),
            col("warnings"),
        ])
        .collect()
}

/// The latest time among the returns received (`received_returns`' table): its one column read, not
/// every row whole (some 12,000 at 12,000 returns, on every pass of the watcher).
pub(super) fn last_received(
    received: &DataFrame,
) -> PolarsResult<Option<chrono::DateTime<chrono::FixedOffset>>> {
    let times = super::rows::Cells::of(received.column("received_at")?)?;
    let mut last = None;
    for row in 0..received.height() {
        last = last.max(times.time(row)?);
    }
    Ok(last)
}

table_rows! {
    /// A return as received: what it was, when it arrived, who sent it, and what became of it.
    pub struct ReceivedReturn {
        source_file: text,
        department: text,
        ret_year: year,
        ret_q: quarter,
        plan_period: text,
        received_at: time,
        /// Empty for a return saved into the inbox as a file.
        sender_name: text,
        sender_address: text,
        sent_at: message_time,
        subject: text,
        accepted: flag,
        errors: number,
        warnings: number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history_of(returns: DataFrame) -> History {
        History {
            returns,
            figures: DataFrame::empty(),
            commentary: DataFrame::empty(),
            exceptions: DataFrame::empty(),
            statuses: DataFrame::empty(),
            sign_offs: Vec::new(),
        }
    }

    /// What polars' own sort and `unique` make of the returns: each content once, at its latest arrival.
    fn sorted_and_unique_by_polars(returns: &DataFrame) -> DataFrame {
        by_arrival(returns.clone().lazy())
            .unique_stable_generic(Some(vec![col("sha256")]), UniqueKeepStrategy::Last)
            .with_row_index("order", None)
            .collect()
            .expect("polars")
    }

    #[test]
    fn returns_come_in_arrival_order_each_content_once_at_its_latest_arrival() {
        let stores = [
            // Numbered in order, each content once.
            (
                vec![Some(1), Some(2), Some(3)],
                ["a", "b", "c"],
                ["t1", "t2", "t3"],
            ),
            // `collate use` gave content "a" a later arrival.
            (
                vec![Some(1), Some(2), Some(3)],
                ["a", "b", "a"],
                ["t1", "t2", "t3"],
            ),
            // A store from before arrival numbers: by file time, then name.
            (
                vec![None, None, Some(1)],
                ["c", "a", "b"],
                ["t2", "t1", "t0"],
            ),
            // Out of order.
            (
                vec![Some(3), Some(1), Some(2)],
                ["a", "b", "a"],
                ["t3", "t1", "t2"],
            ),
        ];
        for (arrival, sha256, received_at) in stores {
            let returns = df! {
                "arrival" => arrival,
                "received_at" => received_at,
                "source_file" => ["x.xlsx", "y.xlsx", "z.xlsx"],
                "sha256" => sha256,
            }
            .expect("frame");
            let ordered = in_arrival_order(&history_of(returns.clone())).expect("ordered");
            let expected = sorted_and_unique_by_polars(&returns);
            assert_eq!(ordered.returns.schema(), expected.schema());
            assert_eq!(ordered.returns, expected, "{returns}");
        }
    }

    #[test]
    fn the_last_received_is_the_latest_time_whatever_the_order() -> PolarsResult<()> {
        let times = [
            Some("2020-10-15T10:00:00+00:00"),
            None,
            Some("2021-01-02T09:30:00+00:00"),
            Some("2020-12-31T23:00:00+00:00"),
        ];
        let received = df!("received_at" => times)?;
        let latest = chrono::DateTime::parse_from_rfc3339("2021-01-02T09:30:00+00:00").ok();
        assert_eq!(last_received(&received)?, latest);
        assert_eq!(last_received(&received.head(Some(0)))?, None);
        let unreadable = df!("received_at" => ["2020-10-15T10:00:00+00:00", "yesterday"])?;
        assert!(last_received(&unreadable).is_err());
        Ok(())
    }
}
