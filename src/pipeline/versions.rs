//! A quarter's versions: signing one off deliberately (refusing a quarter not ended, after the one being
//! collected, with returns missing, or unchanged since its latest version), writing its folder whole then
//! giving it its name, and withdrawing one signed off by mistake (a note in its folder, a record in the
//! store).

use std::path::{Path, PathBuf};

use super::signoff::{Signing, latest_version, unchanged_since};
use super::{Folders, RenderedOutputs, render_edition, write_outputs};
use crate::consolidate;
use crate::error::FatalError;
use crate::outfile::{flush_filesystem, write_atomically};
use crate::pdf::{self, Printed};
use crate::period::{Period, PeriodChoice};
use crate::render::uk_clock;
use crate::schema::Schemas;
use crate::store::{self, History, SignOff, Store, Withdrawal};

/// The files a version folder holds.
const PAPER: &str = "board paper.docx";
const DASHBOARD: &str = "dashboard.xlsx";
const MANIFEST: &str = "manifest.json";
/// The note a withdrawn version's folder is given.
const WITHDRAWN_NOTE: &str = "WITHDRAWN.txt";

/// Why a sign-off or a withdrawal is refused, in the owner's words; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "{0} cannot be signed off: it has not ended (it ends on {1}); a quarter is signed off once its returns are in"
    )]
    NotEnded(Period, String),
    #[error(
        "{0} cannot be signed off: it is after {1}, the quarter being collected; sign {1} off first"
    )]
    AfterCollected(Period, Period),
    #[error(
        "{0} cannot be signed off: no return for it is stored, so there is nothing to sign off: run `collate run` once the returns are in the inbox"
    )]
    NothingStored(Period),
    #[error(
        "{0} cannot be signed off: no return for it is in use from {1}. Chase them (exceptions.xlsx, Chase list), or sign off without them with --with-missing: the paper's headline will list them"
    )]
    Missing(Period, String),
    #[error("version {1} of {0} was never signed off, so it cannot be withdrawn")]
    NoSuchVersion(String, u32),
    #[error("version {1} of {0} was already withdrawn, by {2} on {3}")]
    AlreadyWithdrawn(String, u32, String, String),
    #[error("{} already exists, and a version is never rewritten; its sign-off record is missing from {}: restore it, or move the folder aside", .0.display(), .1.display())]
    FolderExists(PathBuf, PathBuf),
    #[error(transparent)]
    Fatal(#[from] FatalError),
}

/// What `collate close` did.
pub enum Closing {
    /// A version was signed off and written into `folder`, its paper at `paper` (printed to PDF beside
    /// it, or not); the dashboard is now for `now`.
    Signed {
        sign_off: Box<SignOff>,
        folder: PathBuf,
        paper: PathBuf,
        now: Period,
        printed: Printed,
    },
    /// Nothing has changed since this version, which stays the current one; nothing was written.
    Unchanged(Box<SignOff>),
    /// A dry run: the version as it would be signed off, and the one it would follow.
    Preview {
        sign_off: Box<SignOff>,
        previous: Option<Box<SignOff>>,
    },
}

/// How a sign-off is asked for.
pub struct CloseRequest {
    pub quarter: Period,
    pub signing: Signing,
    pub with_missing: bool,
    pub dry_run: bool,
}

/// Signs `request.quarter` off, unless that would mean nothing (see [`Refused`]).
pub fn close_quarter(
    schemas: &Schemas,
    (folders, store): (&Folders, &Store),
    mut history: History,
    request: CloseRequest,
) -> Result<Closing, Refused> {
    let quarter = request.quarter;
    closable(&history, quarter, chrono::Local::now().date_naive())?;
    let choice = PeriodChoice::Named(quarter);
    let rendered = render_edition(schemas, folders, &history, choice, Some(request.signing))?;
    let sign_off = rendered.sign_off();
    let previous = latest_version(&history, quarter);
    if request.dry_run {
        return Ok(Closing::Preview {
            sign_off: Box::new(sign_off.clone()),
            previous: previous.cloned().map(Box::new),
        });
    }
    if !sign_off.missing.is_empty() && !request.with_missing {
        let names: Vec<String> = (sign_off.missing.iter())
            .map(|d| crate::render::department_name(schemas, d))
            .collect();
        return Err(Refused::Missing(quarter, names.join(", ")));
    }
    if let Some(current) = previous.filter(|c| unchanged_since(c, sign_off)) {
        return Ok(Closing::Unchanged(Box::new(current.clone())));
    }
    let (folder, printed) = write_version(folders, store, &rendered)?;
    history.sign_offs.push(sign_off.clone());
    let written = write_outputs(schemas, folders, &history, PeriodChoice::Latest)?;
    Ok(Closing::Signed {
        sign_off: Box::new(rendered.sign_off().clone()),
        paper: folder.join(PAPER),
        folder,
        now: written.period,
        printed,
    })
}

/// Whether `quarter` may be signed off on `today`: it has ended, it is not after the quarter being
/// collected, and a return for it is stored.
fn closable(history: &History, quarter: Period, today: chrono::NaiveDate) -> Result<(), Refused> {
    let ends = quarter.quarter.and_then(|q| q.last_day(quarter.year));
    if let Some(ends) = ends.filter(|ends| *ends >= today) {
        let ends = ends.format("%d/%m/%Y").to_string();
        return Err(Refused::NotEnded(quarter, ends));
    }
    let collected = consolidate::collected_quarter(history).map_err(FatalError::History)?;
    if let Some(collected) = collected.filter(|c| quarter > *c) {
        return Err(Refused::AfterCollected(quarter, collected));
    }
    let stored = history.returns_for(quarter).map_err(FatalError::History)?;
    match stored.iter().any(|r| !r.sha256.is_empty()) {
        true => Ok(()),
        false => Err(Refused::NothingStored(quarter)),
    }
}

/// Writes the version into a folder of its own beside the final one, records the sign-off, then gives
/// the folder its name: an interrupted close leaves no version half-written under a version's name.
fn write_version(
    folders: &Folders,
    store: &Store,
    rendered: &RenderedOutputs,
) -> Result<(PathBuf, Printed), Refused> {
    let sign_off = rendered.sign_off();
    let quarter_folder = folders.board().join(store::folder_name(&sign_off.quarter));
    let final_folder = quarter_folder.join(format!("v{}", sign_off.version));
    if final_folder.exists() {
        return Err(Refused::FolderExists(final_folder, store.dir().to_owned()));
    }
    std::fs::create_dir_all(&quarter_folder)
        .map_err(|e| FatalError::folder_failed(&quarter_folder, "cannot create it", e))?;
    let making = tempfile::Builder::new()
        .prefix(&format!(".v{}-", sign_off.version))
        .tempdir_in(&quarter_folder)
        .map_err(|e| FatalError::folder_failed(&quarter_folder, "cannot write in it", e))?;
    let manifest = store::manifest_bytes(sign_off)?;
    write_atomically(&making.path().join(PAPER), rendered.board_paper())?;
    write_atomically(&making.path().join(DASHBOARD), rendered.dashboard())?;
    write_atomically(&making.path().join(MANIFEST), &manifest)?;
    let printed = print_pdf(&making.path().join(PAPER));
    store::record_sign_off(store.dir(), sign_off)?;
    let made = making.keep();
    std::fs::rename(&made, &final_folder).map_err(|e| {
        FatalError::folder_failed(&final_folder, "cannot name the version's folder", e)
    })?;
    flush_filesystem(&quarter_folder)?;
    Ok((final_folder, printed))
}

/// Prints the paper to PDF beside it.
fn print_pdf(paper: &Path) -> Printed {
    let folder = paper.parent().unwrap_or(Path::new("."));
    let printed = pdf::print_to_pdf(paper, folder);
    if let Printed::Made(pdf) = &printed {
        tracing::debug!("printed {}", pdf.display());
    }
    printed
}

/// A version withdrawn: the withdrawal, the folder its note was written in (when the folder is there),
/// and the quarter the dashboard is now for.
pub struct Withdrawn {
    pub withdrawal: Withdrawal,
    pub folder: PathBuf,
    pub now: Period,
}

/// Withdraws `withdrawal.version` of its quarter: a note in its folder and a record in the store, then the
/// outputs are made again as if it had never been signed.
pub fn withdraw_version(
    schemas: &Schemas,
    (folders, store): (&Folders, &Store),
    history: &History,
    withdrawal: Withdrawal,
) -> Result<Withdrawn, Refused> {
    let (quarter, version) = (withdrawal.quarter.clone(), withdrawal.version);
    let signed = (history.sign_offs.iter())
        .find(|s| s.quarter == withdrawal.quarter && s.version == version)
        .ok_or_else(|| Refused::NoSuchVersion(quarter.clone(), version))?;
    if let Some(earlier) = &signed.withdrawn {
        let when = uk_clock(earlier.withdrawn_at);
        let by = earlier.withdrawn_by.clone();
        return Err(Refused::AlreadyWithdrawn(quarter, version, by, when));
    }
    let folder = (folders.board())
        .join(store::folder_name(&withdrawal.quarter))
        .join(format!("v{version}"));
    if folder.is_dir() {
        let note = withdrawal_note(&withdrawal);
        write_atomically(&folder.join(WITHDRAWN_NOTE), note.as_bytes())?;
    }
    store::record_withdrawal(store.dir(), &withdrawal)?;
    let history = store.load()?;
    let written = write_outputs(schemas, folders, &history, PeriodChoice::Latest)?;
    Ok(Withdrawn {
        withdrawal,
        folder,
        now: written.period,
    })
}

/// The note a withdrawn version's folder keeps.
fn withdrawal_note(withdrawal: &Withdrawal) -> String {
    format!(
        "WITHDRAWN\r\n\r\nVersion {} of the {} board paper was withdrawn by {} on {}.\r\nWhy: {}\r\n\r\nThe files here are kept as they were signed off, but this is not a version of the quarter: the quarter is worked out as if it had never been signed.\r\n",
        withdrawal.version,
        withdrawal.quarter,
        withdrawal.withdrawn_by,
        uk_clock(withdrawal.withdrawn_at),
        withdrawal.reason
    )
}
