//! Signed-off quarters: each `collate close` leaves a record (the version's manifest) under
//! `store/sign-offs/`, kept apart from the segments so a rebuild never forgets a sign-off.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::FatalError;
use crate::outfile::write_atomically;
use crate::period::Period;

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
    /// When, as RFC 3339.
    pub closed_at: String,
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
}

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
    pub financial_year: String,
    /// "Q1"…"Q4", or empty for a whole-year figure.
    pub quarter: String,
    pub value: f64,
    pub source_file: String,
}

/// A figure that differs between two versions: what it was, what it is now, and the return it now
/// comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureChange {
    pub indicator: String,
    pub measure: String,
    pub financial_year: String,
    pub quarter: String,
    pub was: Option<f64>,
    pub now: Option<f64>,
    pub from: String,
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

/// Reads every sign-off record of the store, oldest quarter and version first. A record that cannot be
/// read stops the program: the board's quarter cannot be known without it.
pub fn load_sign_offs(store: &Path) -> Result<Vec<SignOff>, FatalError> {
    let folder = store.join(FOLDER);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(FatalError::store(&folder, "cannot list it", error)),
    };
    let mut sign_offs = Vec::new();
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let bytes =
            std::fs::read(&path).map_err(|e| FatalError::store(&path, "cannot read it", e))?;
        let sign_off: SignOff = serde_json::from_slice(&bytes).map_err(|e| {
            FatalError::store(&path, "is not a sign-off record", std::io::Error::other(e))
        })?;
        sign_offs.push(sign_off);
    }
    sign_offs.sort_by_key(|s| (s.period(), s.version));
    Ok(sign_offs)
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

/// The latest version of each signed-off quarter.
pub fn latest_versions(sign_offs: &[SignOff]) -> Vec<&SignOff> {
    let mut latest: Vec<&SignOff> = Vec::new();
    for sign_off in sign_offs {
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
            closed_at: "2020-11-20T10:00:00+00:00".into(),
            returns: Vec::new(),
            figures: Vec::new(),
            late_returns: Vec::new(),
            changes: Vec::new(),
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
        Ok(())
    }
}
