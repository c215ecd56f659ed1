//! A quarter's editions: what the board paper of a quarter says about its versions (the draft, or a
//! version being signed off), the manifest a version keeps, and what changed since the last one.

use std::collections::{HashMap, HashSet};

use polars::prelude::PolarsResult;

use crate::consolidate::{
    Consolidated, CurrentReturn, DataRow, LateReturn, LatestStatus, MissingReturn, PlanStatusRow,
};
use crate::period::{FinancialYear, Period, Quarter};
use crate::render::{Edition, LateArrival, PaperStatus, SinceVersion};
use crate::store::{
    FigureChange, History, SignOff, SignedFigure, SignedReturn, SignedStatus, latest_versions,
    next_version,
};

/// Who signs a quarter off, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Signing {
    pub by: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Signing {
    /// The day it is signed (UTC).
    pub fn day(&self) -> chrono::NaiveDate {
        self.at.date_naive()
    }
}

/// The latest signed-off version of a quarter, if any.
pub fn latest_version(history: &History, quarter: Period) -> Option<&SignOff> {
    latest_versions(&history.sign_offs)
        .into_iter()
        .find(|s| s.period() == Some(quarter))
}

/// The edition a board paper is made as: a draft, or the next version signed off by `signing`; with
/// what arrived and changed since the quarter's last version.
pub fn edition(
    history: &History,
    consolidated: &Consolidated,
    signing: Option<&Signing>,
) -> PolarsResult<(Edition, SignOff)> {
    let quarter = consolidated.period;
    let previous = latest_version(history, quarter);
    let figures = signed_figures(consolidated)?;
    let (late, arrivals): (Vec<SignedReturn>, Vec<LateArrival>) =
        late_for(consolidated, quarter)?.into_iter().unzip();
    let since = previous.map(|previous| SinceVersion {
        version: previous.version,
        late: arrivals,
        changes: changes_since(previous, &figures),
    });
    let version = next_version(&history.sign_offs, &quarter.to_string());
    let status = match signing {
        Some(signing) => PaperStatus::SignedOff {
            version,
            by: signing.by.clone(),
            at: signing.at,
        },
        None => PaperStatus::Draft,
    };
    let sign_off = SignOff {
        quarter: quarter.to_string(),
        version,
        closed_by: signing.map(|s| s.by.clone()).unwrap_or_default(),
        closed_at: signing.map(|s| s.at),
        returns: signed_returns(history, consolidated)?,
        figures,
        late_returns: match since {
            Some(_) => late,
            None => Vec::new(),
        },
        changes: since
            .as_ref()
            .map(|s| s.changes.clone())
            .unwrap_or_default(),
        missing: MissingReturn::rows(&consolidated.missing)?
            .into_iter()
            .map(|m| m.department)
            .collect(),
        plans: signed_statuses(consolidated)?,
        withdrawn: None,
    };
    Ok((Edition { status, since }, sign_off))
}

/// Each plan measure's position as the paper shows it.
fn signed_statuses(consolidated: &Consolidated) -> PolarsResult<Vec<SignedStatus>> {
    Ok(LatestStatus::rows(&consolidated.plans.latest)?
        .into_iter()
        .map(|s| SignedStatus {
            plan: s.plan,
            reference: s.reference,
            period: s.period,
            status: s.status,
        })
        .collect())
}

/// Whether a version would hold nothing its predecessor did not: the same returns in use, the same
/// figures and the same plan positions.
pub fn unchanged_since(previous: &SignOff, next: &SignOff) -> bool {
    let in_use = |s: &SignOff| -> HashSet<String> {
        (s.returns.iter())
            .filter(|r| r.in_use)
            .map(|r| r.sha256.clone())
            .collect()
    };
    in_use(previous) == in_use(next)
        && changes_since(previous, &next.figures).is_empty()
        && previous.plans == next.plans
}

/// The returns for the quarter that arrived after its latest version.
/// The returns for the quarter that arrived after its latest version: as the manifest keeps each, and as
/// the paper says it.
fn late_for(
    consolidated: &Consolidated,
    quarter: Period,
) -> PolarsResult<Vec<(SignedReturn, LateArrival)>> {
    let in_use: HashSet<String> = CurrentReturn::rows(&consolidated.current_returns)?
        .into_iter()
        .map(|r| r.sha256)
        .collect();
    Ok(LateReturn::rows(&consolidated.late_returns)?
        .into_iter()
        .filter(|r| is_quarter(r.ret_year, r.ret_q, quarter))
        .map(|r| {
            let arrival = LateArrival {
                department: r.department.clone(),
                file: r.source_file.clone(),
                received_at: r.received_at,
                in_use: in_use.contains(&r.sha256),
            };
            let signed = SignedReturn {
                department: r.department,
                template: r.template,
                period: quarter.to_string(),
                in_use: arrival.in_use,
                file: r.source_file,
                sha256: r.sha256,
                received_at: (r.received_at)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                    .unwrap_or_default(),
            };
            (signed, arrival)
        })
        .collect())
}

fn is_quarter(year: Option<FinancialYear>, q: Option<Quarter>, quarter: Period) -> bool {
    year == Some(quarter.year) && q == quarter.quarter
}

/// Every return the version is made from (the returns in use for the quarter and before it, and every
/// action plan update in use), then every other return for the quarter the store holds.
fn signed_returns(
    history: &History,
    consolidated: &Consolidated,
) -> PolarsResult<Vec<SignedReturn>> {
    let quarter = consolidated.period;
    // A whole-year return (the historical one, of earlier years' figures) counts from its year's start.
    let reached = |year: Option<FinancialYear>, q: Option<Quarter>| {
        let number = |q: Option<Quarter>| q.map_or(0, Quarter::number);
        year.is_none_or(|year| (year, number(q)) <= (quarter.year, number(quarter.quarter)))
    };
    // A plan update is in the version when a status it gave is shown (the plans are as at the quarter).
    let shown_updates: HashSet<String> = PlanStatusRow::rows(&consolidated.plans.statuses)?
        .into_iter()
        .map(|s| s.sha256)
        .collect();
    let current = CurrentReturn::rows(&consolidated.current_returns)?;
    let mut signed: Vec<SignedReturn> = current
        .into_iter()
        .filter(|r| match r.plan_period.is_empty() {
            true => reached(r.ret_year, r.ret_q),
            false => shown_updates.contains(&r.sha256),
        })
        .map(|r| SignedReturn {
            period: period_of(r.ret_year, r.ret_q, &r.plan_period),
            department: r.department,
            template: r.template,
            file: r.source_file,
            sha256: r.sha256,
            received_at: r.received_at,
            in_use: true,
        })
        .collect();
    let listed: HashSet<String> = signed.iter().map(|r| r.sha256.clone()).collect();
    for stored in history.returns_for(quarter)? {
        if !listed.contains(&stored.sha256) {
            signed.push(stored);
        }
    }
    Ok(signed)
}

/// "2020/21 Q2", "2020/21", or a plan update's period.
fn period_of(year: Option<FinancialYear>, quarter: Option<Quarter>, plan_period: &str) -> String {
    match year {
        Some(year) if plan_period.is_empty() => Period { year, quarter }.to_string(),
        _ => plan_period.to_owned(),
    }
}

/// The figures as returned (each quarter and whole year) that the version shows.
fn signed_figures(consolidated: &Consolidated) -> PolarsResult<Vec<SignedFigure>> {
    Ok(DataRow::rows(&consolidated.data)?
        .into_iter()
        .filter(|row| row.figure == "quarter" || row.figure == "annual")
        .filter_map(|row| {
            Some(SignedFigure {
                value: row.value?,
                indicator: row.indicator,
                measure: row.measure,
                financial_year: row.year_start?,
                quarter: row.q,
                source_file: row.source_file,
            })
        })
        .collect())
}

/// Each figure whose value differs from the version's (or that one of them lacks): was, now, and the
/// return it now comes from.
pub fn changes_since(previous: &SignOff, now: &[SignedFigure]) -> Vec<FigureChange> {
    type Key = (String, String, FinancialYear, Option<Quarter>);
    let key = |f: &'_ SignedFigure| -> Key {
        (
            f.indicator.clone(),
            f.measure.clone(),
            f.financial_year,
            f.quarter,
        )
    };
    let was: HashMap<_, &SignedFigure> = previous.figures.iter().map(|f| (key(f), f)).collect();
    let is: HashMap<_, &SignedFigure> = now.iter().map(|f| (key(f), f)).collect();
    let mut changes: Vec<FigureChange> = Vec::new();
    let mut keys: Vec<&Key> = was.keys().chain(is.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (before, after) = (was.get(k), is.get(k));
        if before.map(|f| f.value) == after.map(|f| f.value) {
            continue;
        }
        changes.push(FigureChange {
            indicator: k.0.clone(),
            measure: k.1.clone(),
            financial_year: k.2,
            quarter: k.3,
            was: before.map(|f| f.value),
            now: after.map(|f| f.value),
            from: after
                .or(before)
                .map(|f| f.source_file.clone())
                .unwrap_or_default(),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(quarter: u8, value: f64, file: &str) -> SignedFigure {
        SignedFigure {
            indicator: "HR 3".into(),
            measure: "officer_leavers".into(),
            financial_year: FinancialYear(2020),
            quarter: Quarter::new(quarter),
            value,
            source_file: file.into(),
        }
    }

    #[test]
    fn a_change_says_what_it_was_what_it_is_and_where_from() {
        let v1 = SignOff {
            quarter: "2020/21 Q2".into(),
            version: 1,
            closed_by: "Jo".into(),
            closed_at: None,
            returns: Vec::new(),
            figures: vec![figure(1, 8.0, "hr q2.xlsx"), figure(2, 20.0, "hr q2.xlsx")],
            late_returns: Vec::new(),
            changes: Vec::new(),
            missing: Vec::new(),
            plans: Vec::new(),
            withdrawn: None,
        };
        let now = [
            figure(1, 12.0, "hr q2 v2.xlsx"),
            figure(2, 20.0, "hr q2 v2.xlsx"),
        ];
        let changes = changes_since(&v1, &now);
        assert!(!unchanged_since(
            &v1,
            &SignOff {
                figures: now.to_vec(),
                ..v1.clone()
            }
        ));
        assert!(unchanged_since(&v1, &v1.clone()));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].period().to_string(), "2020/21 Q1");
        assert_eq!((changes[0].was, changes[0].now), (Some(8.0), Some(12.0)));
        assert_eq!(changes[0].from, "hr q2 v2.xlsx");
    }
}
