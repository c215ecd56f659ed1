//! Signed-off quarters: each `collate close` leaves a record (the version's manifest) under
//! `store/sign-offs/`, kept apart from the segments so a rebuild never forgets a sign-off.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::FatalError;
use crate::outfile::write_atomically;
use crate::period::{FinancialYear, Period, Quarter};

/// A moment a record keeps: when a version was signed off or withdrawn.
pub type Moment = chrono::DateTime<chrono::Utc>;

/// The folder of the store that holds the sign-off records.
const FOLDER: &str = "sign-offs";

/// One version of a quarter's board paper as the owner signed it off: who, when, the returns it was made
/// from and every figure it showed. Written once, never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOff {
    /// The quarter signed off, as "2020/21 Q2".
    pub quarter: String,
    pub version: u32,
    pub closed_by: String,
    /// When; `None` for a draft, which nobody has signed.
    #[serde(with = "crate::text_form::optional")]
    pub closed_at: Option<Moment>,
    /// Every return the version was made from (in use), and every other return for the quarter that the
    /// store held at the time: a return for the quarter not listed here arrived after this version.
    pub returns: Vec<SignedReturn>,
    /// Every figure of the reporting year (and the year before) as the version showed it.
    pub figures: Vec<SignedFigure>,
    /// Returns for the quarter that arrived after the version before this one.
    #[serde(default)]
    pub late_returns: Vec<SignedReturn>,
    /// What changed since the version before this one.
    #[serde(default)]
    pub changes: Vec<FigureChange>,
    /// The departments whose return for the quarter was missing when it was signed off (their ids).
    #[serde(default)]
    pub missing: Vec<String>,
    /// Each action plan measure's position as the version showed it.
    #[serde(default)]
    pub plans: Vec<SignedStatus>,
    /// Set when the version was withdrawn (from its own record beside this one: a sign-off record is
    /// never rewritten).
    #[serde(skip)]
    pub withdrawn: Option<Withdrawal>,
}

/// An action plan measure's status as a version showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStatus {
    pub plan: String,
    pub reference: String,
    /// The plan period the status is for ("Aug 18").
    pub period: String,
    pub status: String,
}

/// A version withdrawn after it was signed off by mistake: by whom, when and why. Its folder is kept;
/// the quarter is worked out as if it had never been signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// The quarter, as "2020/21 Q2".
    pub quarter: String,
    pub version: u32,
    pub withdrawn_by: String,
    /// When.
    #[serde(with = "crate::text_form::optional")]
    pub withdrawn_at: Option<Moment>,
    pub reason: String,
}

impl Withdrawal {
    /// Version `version` of `quarter` withdrawn by `by`, for `reason`, at `at`.
    pub fn of(
        quarter: Period,
        version: u32,
        (by, reason): (&str, &str),
        at: chrono::DateTime<chrono::Utc>,
    ) -> Withdrawal {
        Withdrawal {
            quarter: quarter.to_string(),
            version,
            withdrawn_by: by.to_owned(),
            withdrawn_at: Some(at),
            reason: reason.to_owned(),
        }
    }

    /// The file name its record is kept under: `2020-21-Q2-v3.withdrawn.json`.
    fn file_name(&self) -> String {
        format!(
            "{}-v{}{WITHDRAWN}",
            folder_name(&self.quarter),
            self.version
        )
    }
}

/// How a withdrawal's record ends.
const WITHDRAWN: &str = ".withdrawn.json";

/// A return as a sign-off names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReturn {
    pub department: String,
    /// The template or plan.
    pub template: String,
    /// "2020/21 Q2", "2020/21" or a plan's period.
    pub period: String,
    pub file: String,
    pub sha256: String,
    pub received_at: String,
    /// Whether the version's figures came from it (false: replaced, or rejected).
    pub in_use: bool,
}

/// A figure as a version showed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedFigure {
    pub indicator: String,
    pub measure: String,
    /// Kept as "2020/21".
    #[serde(with = "crate::text_form::required")]
    pub financial_year: FinancialYear,
    /// Kept as "Q1"…"Q4", or empty for a whole-year figure.
    #[serde(with = "crate::text_form::optional")]
    pub quarter: Option<Quarter>,
    pub value: f64,
    pub source_file: String,
}

/// A figure that differs between two versions: what it was, what it is now, and the return it now
/// comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureChange {
    pub indicator: String,
    pub measure: String,
    #[serde(with = "crate::text_form::required")]
    pub financial_year: FinancialYear,
    #[serde(with = "crate::text_form::optional")]
    pub quarter: Option<Quarter>,
    pub was: Option<f64>,
    pub now: Option<f64>,
    pub from: String,
}

impl FigureChange {
    /// The quarter (or whole year) of the figure that changed.
    pub fn period(&self) -> Period {
        Period {
            year: self.financial_year,
            quarter: self.quarter,
        }
    }
}

impl SignOff {
    /// The quarter, read back.
    pub fn period(&self) -> Option<Period> {
        Period::parse(&self.quarter)
    }

    /// The file name a record is kept under: `2020-21-Q2-v1.json`.
    fn file_name(&self) -> String {
        format!("{}-v{}.json", folder_name(&self.quarter), self.version)
    }
}

/// A quarter as a folder or file name: "2020/21 Q2" → "2020-21-Q2".
pub fn folder_name(quarter: &str) -> String {
    quarter.replace(['/', ' '], "-")
}

/// Reads every sign-off record of the store, with the withdrawals of any, oldest quarter and version
/// first. A record that cannot be read stops the program: the board's quarter cannot be known without it.
pub fn load_sign_offs(store: &Path) -> Result<Vec<SignOff>, FatalError> {
    let folder = store.join(FOLDER);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(FatalError::store(&folder, "cannot list it", error)),
    };
    let mut sign_offs: Vec<SignOff> = Vec::new();
    let mut withdrawals: Vec<Withdrawal> = Vec::new();
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(WITHDRAWN) {
            withdrawals.push(read_record(&path, "is not a withdrawal record")?);
        } else if name.ends_with(".json") {
            sign_offs.push(read_record(&path, "is not a sign-off record")?);
        }
    }
    for withdrawal in withdrawals {
        let withdrawn = sign_offs
            .iter_mut()
            .find(|s| s.quarter == withdrawal.quarter && s.version == withdrawal.version);
        if let Some(sign_off) = withdrawn {
            sign_off.withdrawn = Some(withdrawal);
        }
    }
    sign_offs.sort_by_key(|s| (s.period(), s.version));
    Ok(sign_offs)
}

fn read_record<T: serde::de::DeserializeOwned>(path: &Path, not: &str) -> Result<T, FatalError> {
    let bytes = std::fs::read(path).map_err(|e| FatalError::store(path, "cannot read it", e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| FatalError::store(path, not, std::io::Error::other(e)))
}

/// Records that a version was withdrawn (atomically), beside its sign-off record; returns where.
pub fn record_withdrawal(store: &Path, withdrawal: &Withdrawal) -> Result<PathBuf, FatalError> {
    let path = store.join(FOLDER).join(withdrawal.file_name());
    let mut bytes = serde_json::to_vec_pretty(withdrawal)
        .map_err(|e| FatalError::Outputs(format!("the withdrawal could not be written: {e}")))?;
    bytes.push(b'\n');
    write_atomically(&path, &bytes)?;
    Ok(path)
}

/// Records a sign-off (atomically); returns where. An existing record of the same version is never
/// replaced.
pub fn record_sign_off(store: &Path, sign_off: &SignOff) -> Result<PathBuf, FatalError> {
    let folder = store.join(FOLDER);
    std::fs::create_dir_all(&folder)
        .map_err(|e| FatalError::store(&folder, "cannot create it", e))?;
    let path = folder.join(sign_off.file_name());
    if path.exists() {
        return Err(FatalError::store(
            &path,
            "this version is already signed off, and a version is never rewritten",
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    write_atomically(&path, &manifest_bytes(sign_off)?)?;
    Ok(path)
}

/// A sign-off as its manifest file holds it: pretty JSON, the same bytes for the same record.
pub fn manifest_bytes(sign_off: &SignOff) -> Result<Vec<u8>, FatalError> {
    let mut bytes = serde_json::to_vec_pretty(sign_off)
        .map_err(|e| FatalError::Outputs(format!("the manifest could not be written: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The number the next version of `quarter` takes: one after every version signed, withdrawn ones
/// included (their folders keep their numbers).
pub fn next_version(sign_offs: &[SignOff], quarter: &str) -> u32 {
    let signed = sign_offs.iter().filter(|s| s.quarter == quarter);
    signed.map(|s| s.version).max().unwrap_or(0) + 1
}

/// The latest version of each signed-off quarter that stands (withdrawn versions are as if never signed).
pub fn latest_versions(sign_offs: &[SignOff]) -> Vec<&SignOff> {
    let mut latest: Vec<&SignOff> = Vec::new();
    for sign_off in sign_offs.iter().filter(|s| s.withdrawn.is_none()) {
        match latest.iter_mut().find(|s| s.quarter == sign_off.quarter) {
            Some(kept) if kept.version < sign_off.version => *kept = sign_off,
            Some(_) => {}
            None => latest.push(sign_off),
        }
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_off(quarter: &str, version: u32) -> SignOff {
        SignOff {
            quarter: quarter.into(),
            version,
            closed_by: "Jo Owner".into(),
            closed_at: chrono::DateTime::from_timestamp(1_605_866_400, 0),
            returns: Vec::new(),
            figures: Vec::new(),
            late_returns: Vec::new(),
            changes: Vec::new(),
            missing: Vec::new(),
            plans: Vec::new(),
            withdrawn: None,
        }
    }

    #[test]
    fn a_record_is_kept_once_and_read_back_in_order() -> Result<(), FatalError> {
        let store =
            tempfile::tempdir().map_err(|e| FatalError::store(Path::new("."), "temp", e))?;
        record_sign_off(store.path(), &sign_off("2020/21 Q2", 2))?;
        record_sign_off(store.path(), &sign_off("2020/21 Q1", 1))?;
        record_sign_off(store.path(), &sign_off("2020/21 Q2", 1))?;
        assert!(record_sign_off(store.path(), &sign_off("2020/21 Q2", 1)).is_err());
        let loaded = load_sign_offs(store.path())?;
        let order: Vec<(String, u32)> = loaded
            .iter()
            .map(|s| (s.quarter.clone(), s.version))
            .collect();
        assert_eq!(
            order,
            [
                ("2020/21 Q1".into(), 1),
                ("2020/21 Q2".into(), 1),
                ("2020/21 Q2".into(), 2)
            ]
        );
        let latest: Vec<u32> = latest_versions(&loaded).iter().map(|s| s.version).collect();
        assert_eq!(latest, [1, 2]);
        let withdrawal = Withdrawal {
            quarter: "2020/21 Q2".into(),
            version: 2,
            withdrawn_by: "Jo Owner".into(),
            withdrawn_at: chrono::DateTime::from_timestamp(1_605_952_800, 0),
            reason: "signed off by mistake".into(),
        };
        record_withdrawal(store.path(), &withdrawal)?;
        let loaded = load_sign_offs(store.path())?;
        assert_eq!(loaded[2].withdrawn.as_ref(), Some(&withdrawal));
        let latest: Vec<u32> = latest_versions(&loaded).iter().map(|s| s.version).collect();
        assert_eq!(latest, [1, 1], "a withdrawn version is as if never signed");
        assert_eq!(next_version(&loaded, "2020/21 Q2"), 3, "its number is kept");
        Ok(())
    }
}
