//! The history's returns, asked: every accepted one with what replaces it by, the files already known,
//! and the returns of a quarter as a sign-off lists them.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::{History, SignedReturn};
use crate::validate::Validated;

impl History {
    /// Every accepted return the returns table holds, with its key, its content hash and its file. Which
    /// of them is in use is consolidation's to say (`consolidate::returns_in_use`).
    pub fn accepted_returns(&self) -> PolarsResult<Vec<AcceptedReturn<'_>>> {
        let returns = &self.returns;
        let text = |name: &str| returns.column(name).and_then(|c| c.str());
        let (department, template, plan_period) =
            (text("department")?, text("template")?, text("plan_period")?);
        let (hashes, files) = (text("sha256")?, text("source_file")?);
        let (years, quarters) = (
            returns.column("year_start")?.i32()?,
            returns.column("quarter")?.i32()?,
        );
        let accepted = returns.column("accepted")?.bool()?;
        Ok((0..returns.height())
            .filter(|&i| accepted.get(i) == Some(true))
            .map(|i| AcceptedReturn {
                key: ReturnKey {
                    department: department.get(i).unwrap_or_default().to_owned(),
                    template: template.get(i).unwrap_or_default().to_owned(),
                    year: years.get(i),
                    quarter: quarters.get(i),
                    plan_period: plan_period.get(i).unwrap_or_default().to_owned(),
                },
                sha256: hashes.get(i).unwrap_or_default(),
                file: files.get(i).unwrap_or_default(),
            })
            .collect())
    }

    /// The files already processed: each content hash with the name it was first stored under.
    pub fn known_files(&self) -> PolarsResult<HashMap<String, String>> {
        let mut known = HashMap::new();
        for (hash, name, _) in self.stored_returns()? {
            known.entry(hash).or_insert(name);
        }
        Ok(known)
    }

    /// Each stored return's content hash, file name and time received, in the order they were stored.
    pub fn stored_returns(&self) -> PolarsResult<Vec<(String, String, String)>> {
        let returns = &self.returns;
        let (hashes, files, received) = (
            returns.column("sha256")?.str()?,
            returns.column("source_file")?.str()?,
            returns.column("received_at")?.str()?,
        );
        Ok((0..returns.height())
            .map(|i| {
                let text = |column: &StringChunked| column.get(i).unwrap_or_default().to_owned();
                (text(hashes), text(files), text(received))
            })
            .collect())
    }

    /// Every stored return for a quarter, accepted or not, as a sign-off lists it (not in use).
    pub fn returns_for(&self, quarter: crate::period::Period) -> PolarsResult<Vec<SignedReturn>> {
        let returns = &self.returns;
        let text = |name: &str| returns.column(name).and_then(|c| Ok(c.str()?.clone()));
        let (hashes, files, departments, templates, received) = (
            text("sha256")?,
            text("source_file")?,
            text("department")?,
            text("template")?,
            text("received_at")?,
        );
        let (years, quarters) = (
            returns.column("year_start")?.i32()?,
            returns.column("quarter")?.i32()?,
        );
        let wanted = (
            Some(quarter.year.0),
            quarter.quarter.map(|q| i32::from(q.number())),
        );
        let mut found: Vec<SignedReturn> = Vec::new();
        // A quarter corrected many times holds thousands of returns: each is looked for once.
        let mut listed: HashSet<&str> = HashSet::new();
        for i in 0..returns.height() {
            let hash = hashes.get(i).unwrap_or_default();
            if (years.get(i), quarters.get(i)) != wanted || !listed.insert(hash) {
                continue;
            }
            found.push(SignedReturn {
                department: departments.get(i).unwrap_or_default().to_owned(),
                template: templates.get(i).unwrap_or_default().to_owned(),
                period: quarter.to_string(),
                file: files.get(i).unwrap_or_default().to_owned(),
                sha256: hash.to_owned(),
                received_at: received.get(i).unwrap_or_default().to_owned(),
                in_use: false,
            });
        }
        Ok(found)
    }
}

/// What a return replaces an earlier one by: department, template (or plan), and period.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReturnKey {
    pub department: String,
    pub template: String,
    pub year: Option<i32>,
    pub quarter: Option<i32>,
    pub plan_period: String,
}

/// An accepted return as the returns table holds it: see [`History::accepted_returns`].
#[derive(Debug, Clone)]
pub struct AcceptedReturn<'h> {
    pub key: ReturnKey,
    pub sha256: &'h str,
    pub file: &'h str,
}

/// The key of an identified return, as the store records it.
pub fn return_key(validated: &Validated) -> Option<ReturnKey> {
    match validated {
        Validated::Figures { identity, .. } => Some(ReturnKey {
            department: identity.department.clone(),
            template: identity.template.clone(),
            year: Some(identity.period.year.0),
            quarter: identity.period.quarter.map(|q| i32::from(q.number())),
            plan_period: String::new(),
        }),
        Validated::PlanUpdate { identity, .. } => Some(ReturnKey {
            department: identity.department.clone(),
            template: identity.plan.clone(),
            year: None,
            quarter: None,
            plan_period: identity.period.to_string(),
        }),
        Validated::Unidentified { .. } => None,
    }
}
