//! The one processing path: inbox files → read → validate → store → consolidate → render. `collate run`,
//! `collate rebuild` and the watcher all call [`process_inbox`].

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::consolidate::{self, FlagSettings, Quarantined};
use crate::error::FatalError;
use crate::exception::Exception;
use crate::outfile::{flush_filesystem, write_atomically, write_atomically_deferred};
use crate::period::{Period, PeriodChoice};
use crate::read::SourceWorkbook;
use crate::render;
use crate::schema::{Schemas, Severity};
use crate::store::{History, ProcessedReturn, ReturnKey, Store, return_key, tables_for};
use crate::validate::{BuiltinCheck, Validated, validate};
use crate::worker::WorkerPool;

/// The folders of one installation.
#[derive(Debug, Clone)]
pub struct Folders {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub store: PathBuf,
}

impl Folders {
    pub fn under(root: &Path) -> Folders {
        Folders {
            inbox: root.join("inbox"),
            outbox: root.join("outbox"),
            store: root.join("store"),
        }
    }

    pub fn dashboard(&self) -> PathBuf {
        self.outbox.join("dashboard.xlsx")
    }

    pub fn exceptions(&self) -> PathBuf {
        self.outbox.join("exceptions.xlsx")
    }

    pub fn return_reports(&self) -> PathBuf {
        self.outbox.join("returns")
    }
}

/// What became of one file in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accepted {
        file: String,
        warnings: usize,
    },
    Rejected {
        file: String,
        reason: String,
    },
    /// The same bytes were processed before, under this name.
    AlreadyProcessed {
        file: String,
        same_as: String,
    },
    /// Still being written: left for the next pass.
    Waiting {
        file: String,
    },
    /// Not a spreadsheet return: moved to `inbox/set aside/` with its reason.
    SetAside {
        file: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub outcomes: Vec<Outcome>,
    pub period: Option<Period>,
    pub dashboard: Option<PathBuf>,
}

impl RunSummary {
    pub fn rejected(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Rejected { .. }))
            .count()
    }

    pub fn accepted(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Accepted { .. }))
            .count()
    }

    pub fn waiting(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Waiting { .. }))
            .count()
    }

    /// The files still being written, by name.
    pub fn waiting_files(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Waiting { file } => Some(file.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn already_processed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::AlreadyProcessed { .. }))
            .count()
    }
}

/// The status file `collate` keeps in the inbox, listing what is still pending.
pub const STATUS_FILE: &str = "collate-status.txt";

/// Where files that are not returns are moved, each with a note of why.
pub const SET_ASIDE_FOLDER: &str = "set aside";

/// What counts as a workbook: the extensions a return may have.
pub const WORKBOOK_EXTENSIONS: [&str; 4] = ["xlsx", "xlsm", "xls", "ods"];

/// What the inbox holds, in received order: returns to process, and files that are not returns.
#[derive(Debug, Default)]
pub struct InboxScan {
    pub returns: Vec<PathBuf>,
    pub not_returns: Vec<PathBuf>,
}

/// Whether a file is one a department could have sent. Hidden files, Excel's `~$` owner files, Excel's
/// extension-less temporary files (written during a save, then renamed), `.tmp` files and collate's own
/// status file are not: they are left alone and never validated.
pub fn is_ignored(path: &Path) -> bool {
    let name = file_name(path);
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    name.starts_with('.')
        || name.starts_with("~$")
        || name == STATUS_FILE
        || extension.is_none()
        || extension.as_deref() == Some("tmp")
}

pub fn is_workbook_name(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| WORKBOOK_EXTENSIONS.contains(&e.as_str()))
}

pub fn scan_inbox(inbox: &Path) -> Result<InboxScan, FatalError> {
    let entries = std::fs::read_dir(inbox).map_err(|error| FatalError::Folder {
        path: inbox.to_path_buf(),
        reason: format!("cannot read the inbox: {error}"),
    })?;
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        if !path.is_file() || is_ignored(&path) {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        files.push((modified, path));
    }
    // Received order: the order the owner saved them in, then by name.
    files.sort();
    let mut scan = InboxScan::default();
    for (_, path) in files {
        if is_workbook_name(&path) {
            scan.returns.push(path);
        } else {
            scan.not_returns.push(path);
        }
    }
    Ok(scan)
}

/// Whether a file has not been written to for `window`: a file still being copied is not read yet.
/// A modification time in the future (a share's clock ahead of ours) counts as settled.
pub fn has_settled(path: &Path, window: std::time::Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|modified| {
            std::time::SystemTime::now()
                .duration_since(modified)
                .map_or(true, |age| age >= window)
        })
        .unwrap_or(false)
}

/// Moves a file that is not a return into `inbox/set aside/`, beside a note saying why. Its bytes are
/// untouched.
pub fn set_aside(inbox: &Path, path: &Path) -> Result<PathBuf, FatalError> {
    let folder = inbox.join(SET_ASIDE_FOLDER);
    let fail = |error: std::io::Error| FatalError::Folder {
        path: folder.clone(),
        reason: format!("cannot set a file aside: {error}"),
    };
    std::fs::create_dir_all(&folder).map_err(fail)?;
    let name = file_name(path);
    let mut target = folder.join(&name);
    let mut copy = 2;
    while target.exists() {
        target = folder.join(format!("{name} ({copy})"));
        copy += 1;
    }
    let reason = format!(
        "{name} is not a spreadsheet return (.xlsx, .xlsm, .xls or .ods), so collate set it aside unread.\n\
         If it is a return, save it from Excel as .xlsx and put it in the inbox again.\n"
    );
    let note = PathBuf::from(format!("{}.reason.txt", target.display()));
    write_atomically(&note, reason.as_bytes())?;
    std::fs::rename(path, &target).map_err(fail)?;
    tracing::warn!(file = %name, "set aside: not a spreadsheet return");
    Ok(target)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn received_at(path: &Path) -> String {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH);
    chrono::DateTime::<chrono::Utc>::from(modified)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A return rejected before validation could start, with its one-line reason.
pub(crate) fn rejected_file(
    file: &str,
    check: BuiltinCheck,
    reason: String,
    guidance: &str,
) -> Validated {
    Validated::Unidentified {
        exceptions: vec![Exception {
            file: file.to_owned(),
            sheet: String::new(),
            cell: String::new(),
            value_found: String::new(),
            rule_id: check.id().to_owned(),
            severity: Severity::Error,
            message: reason,
            guidance: guidance.to_owned(),
        }],
    }
}

/// Validates the bytes of one file. Never fails and never panics outward: a file that breaks the reader
/// is a rejected return with a reason, and the run goes on.
pub fn validate_bytes(schemas: &Schemas, file: &str, bytes: Vec<u8>) -> Validated {
    let extension = Path::new(file)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !WORKBOOK_EXTENSIONS.contains(&extension.as_str()) {
        return rejected_file(
            file,
            BuiltinCheck::UnsupportedFile,
            format!("\"{file}\" is not a spreadsheet return (.xlsx, .xlsm, .xls or .ods)"),
            "Save the return from Excel as .xlsx and send it again.",
        );
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        match SourceWorkbook::open(bytes, &extension, &schemas.dashboard.limits) {
            Ok(mut workbook) => validate(schemas, file, &mut workbook),
            Err(unreadable) => rejected_file(
                file,
                BuiltinCheck::UnreadableWorkbook,
                unreadable.0,
                "Open the file in Excel, check it shows your return, save it as .xlsx and send it again.",
            ),
        }
    }));
    outcome.unwrap_or_else(|_| {
        rejected_file(
            file,
            BuiltinCheck::UnreadableWorkbook,
            "the workbook could not be read (the reader failed on its content)".to_owned(),
            "Open the file in Excel, save it as a new .xlsx and send it again.",
        )
    })
}

/// A file as it arrived: its name, when, its bytes (or why they could not be read) and their SHA-256.
pub struct Received {
    pub file: String,
    pub received_at: String,
    pub bytes: Result<Vec<u8>, std::io::Error>,
    pub sha256: String,
}

/// Reads and hashes one file; validation waits until the hash says the file is new.
pub fn receive(path: &Path) -> Received {
    let bytes = std::fs::read(path);
    Received {
        file: file_name(path),
        received_at: received_at(path),
        sha256: bytes.as_deref().map(sha256_hex).unwrap_or_default(),
        bytes,
    }
}

/// Validates received files on the workers, all at once, results in the order given. Never fails: a
/// file that cannot be read from disk, or that a worker dies on, is a rejected return.
pub fn validate_received(workers: &WorkerPool, received: Vec<Received>) -> Vec<ProcessedReturn> {
    let readable: Vec<(&str, &[u8])> = received
        .iter()
        .filter_map(|r| Some((r.file.as_str(), r.bytes.as_deref().ok()?)))
        .collect();
    let mut validated = workers.validate_all(&readable).into_iter();
    received
        .into_iter()
        .map(|received| {
            let validated = match &received.bytes {
                Ok(_) => validated.next().unwrap_or_default(),
                Err(error) => rejected_file(
                    &received.file,
                    BuiltinCheck::UnreadableFile,
                    format!("the file cannot be opened: {error}"),
                    "Check the file is not open elsewhere and save it into the inbox again.",
                ),
            };
            ProcessedReturn {
                sha256: received.sha256,
                source_file: received.file,
                received_at: received.received_at,
                validated,
            }
        })
        .collect()
}

/// Reads, hashes and validates one file (in a worker).
pub fn process_file(workers: &WorkerPool, path: &Path) -> ProcessedReturn {
    let mut processed = validate_received(workers, vec![receive(path)]);
    processed.pop().unwrap_or_else(|| ProcessedReturn {
        sha256: String::new(),
        source_file: file_name(path),
        received_at: received_at(path),
        validated: Validated::default(),
    })
}

/// Files are read, hashed and validated in parallel this many at a time; results keep inbox order, and
/// memory stays bounded however full the inbox.
const FILES_AT_A_TIME: usize = 64;

/// A processing session: the schemas, the store with its history in memory, and the content already seen.
/// `collate run` opens one for a single pass; the watcher keeps one for its lifetime.
pub struct Collator<'s> {
    schemas: &'s Schemas,
    workers: &'s WorkerPool,
    folders: Folders,
    store: Store,
    history: History,
    /// Content hash → the name it was first processed under.
    known: HashMap<String, String>,
    /// The store's newest segment when `history` was last in step with it.
    segment_seen: Option<u32>,
}

impl<'s> Collator<'s> {
    /// Opens the store (compacting it when it has grown many segments) and loads its history. Call it
    /// holding the batch lock.
    pub fn open(
        schemas: &'s Schemas,
        workers: &'s WorkerPool,
        folders: &Folders,
    ) -> Result<Collator<'s>, FatalError> {
        let store = Store::open(&folders.store)?;
        // Callers hold the batch lock, so this is the moment to fold many small segments into one.
        store.compact()?;
        let history = store.load()?;
        let mut known: HashMap<String, String> = HashMap::new();
        {
            let returns = &history.returns;
            let hashes = returns.column("sha256")?.str()?;
            let names = returns.column("source_file")?.str()?;
            for i in 0..returns.height() {
                if let (Some(hash), Some(name)) = (hashes.get(i), names.get(i)) {
                    known
                        .entry(hash.to_owned())
                        .or_insert_with(|| name.to_owned());
                }
            }
        }
        let segment_seen = store.latest_segment()?;
        Ok(Collator {
            schemas,
            workers,
            folders: folders.clone(),
            store,
            history,
            known,
            segment_seen,
        })
    }

    /// Reloads the history if another process (a `collate run` while the watcher waited) added to the
    /// store; call it holding the batch lock.
    pub fn refresh(&mut self) -> Result<(), FatalError> {
        if self.store.latest_segment()? != self.segment_seen {
            tracing::debug!("the store changed under us; reloading it");
            *self = Collator::open(self.schemas, self.workers, &self.folders)?;
        }
        Ok(())
    }

    /// How many distinct files the store holds.
    pub fn processed_count(&self) -> usize {
        self.known.len()
    }

    /// Processes these files: each new content once, in the order given; the batch becomes one store
    /// segment. `stop` is checked between groups of files, so a stop finishes the returns in hand.
    pub fn process(
        &mut self,
        paths: &[PathBuf],
        stop: &dyn Fn() -> bool,
    ) -> Result<RunSummary, FatalError> {
        let mut summary = RunSummary::default();
        let mut batch = Vec::new();
        let mut reports_written = false;
        let chunks: Vec<&[PathBuf]> = paths.chunks(FILES_AT_A_TIME).collect();
        // The return in use for each department and period, as this batch changes it.
        let mut in_use: HashMap<ReturnKey, String> = HashMap::new();
        std::thread::scope(|scope| -> Result<(), FatalError> {
            // The next group of files is read and hashed on a thread of its own while the workers read
            // the group in hand (on one thread: the pool's threads are waiting on the workers).
            let receive_all =
                |chunk: &[PathBuf]| chunk.iter().map(|p| receive(p)).collect::<Vec<_>>();
            let mut next = chunks
                .first()
                .map(|chunk| scope.spawn(move || receive_all(chunk)));
            for following in chunks.iter().skip(1).map(Some).chain([None]) {
                let Some(in_hand) = next.take() else { break };
                let received = in_hand
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                if stop() {
                    break;
                }
                next = following.map(|chunk| scope.spawn(move || receive_all(chunk)));
                let new = self.only_new(received, &mut summary);
                for processed in validate_received(self.workers, new) {
                    let replaces = self.replaces(&processed, &mut in_use)?;
                    report_outcome(&processed, replaces.as_deref(), &mut summary);
                    reports_written |=
                        write_return_report(&self.folders, &processed, replaces.as_deref())?;
                    batch.push(processed);
                }
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            // The reports reach the disk before the store records their returns as processed.
            if reports_written {
                flush_filesystem(&self.folders.outbox)?;
            }
            let added = tables_for(&batch)?.numbered_from(self.history.next_arrival()?)?;
            self.store.append(&added)?;
            self.segment_seen = self.store.latest_segment()?;
            self.history.extend(&added)?;
        }
        Ok(summary)
    }

    /// The accepted return that `processed` replaces as the one in use for its department and period.
    fn replaces(
        &self,
        processed: &ProcessedReturn,
        in_use: &mut HashMap<ReturnKey, String>,
    ) -> Result<Option<String>, FatalError> {
        let validated = &processed.validated;
        let Some(key) = return_key(validated).filter(|_| validated.accepted()) else {
            return Ok(None);
        };
        let earlier = match in_use.get(&key) {
            Some(file) => Some(file.clone()),
            None => self.history.in_use_for(validated)?,
        };
        in_use.insert(key, processed.source_file.clone());
        Ok(earlier.filter(|file| *file != processed.source_file))
    }

    /// The files whose content is new, in order: the same bytes twice in one batch count once.
    fn only_new(&mut self, received: Vec<Received>, summary: &mut RunSummary) -> Vec<Received> {
        let mut new = Vec::new();
        for received in received {
            if !received.sha256.is_empty() {
                if let Some(same_as) = self.known.get(&received.sha256) {
                    tracing::debug!(file = %received.file, same_as = %same_as, "already processed");
                    summary.outcomes.push(Outcome::AlreadyProcessed {
                        file: received.file,
                        same_as: same_as.clone(),
                    });
                    continue;
                }
                self.known
                    .insert(received.sha256.clone(), received.file.clone());
            }
            new.push(received);
        }
        new
    }

    /// Consolidates everything processed so far and rewrites the dashboard and exceptions workbooks.
    pub fn write_outputs(&self, period: PeriodChoice) -> Result<Written, FatalError> {
        write_outputs(self.schemas, &self.folders, &self.history, period)
    }
}

/// How long a file must go unmodified before it is read, unless configured otherwise.
pub const DEFAULT_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs one pass: every new, settled return in the inbox is processed once, anything that is not a
/// return is set aside, then the outputs and the inbox status are rewritten.
pub fn process_inbox(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    period: PeriodChoice,
) -> Result<RunSummary, FatalError> {
    process_inbox_in_order(schemas, workers, folders, period, &HashMap::new())
}

/// [`process_inbox`], reading the files whose content has a `recorded` arrival number in that order
/// first (what `rebuild` keeps from the store it replaces), then the others by file time.
pub fn process_inbox_in_order(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    period: PeriodChoice,
    recorded: &HashMap<String, i64>,
) -> Result<RunSummary, FatalError> {
    let mut collator = Collator::open(schemas, workers, folders)?;
    let scan = scan_inbox(&folders.inbox)?;
    let (mut ready, waiting) = wait_for_young_files(scan.returns, DEFAULT_SETTLE);
    if !recorded.is_empty() {
        let arrival = |path: &PathBuf| {
            std::fs::read(path)
                .ok()
                .and_then(|bytes| recorded.get(&sha256_hex(&bytes)).copied())
                .unwrap_or(i64::MAX)
        };
        // A stable sort: files never seen keep their file-time order, after those that were.
        ready.sort_by_cached_key(arrival);
    }
    let mut summary = collator.process(&ready, &|| false)?;
    for path in scan.not_returns {
        set_aside(&folders.inbox, &path)?;
        summary.outcomes.push(Outcome::SetAside {
            file: file_name(&path),
        });
    }
    for path in &waiting {
        tracing::warn!(file = %file_name(path), "still being written after waiting {} s; not read this time", DEFAULT_SETTLE.as_secs());
        summary.outcomes.push(Outcome::Waiting {
            file: file_name(path),
        });
    }
    let written = collator.write_outputs(period)?;
    summary.period = Some(written.period);
    summary.dashboard = Some(written.dashboard);
    write_inbox_status(folders, collator.processed_count(), &waiting, &[])?;
    Ok(summary)
}

/// Splits files into those that have stood still for the settle window and those still changing. Files
/// saved a moment ago (a copy just made) are waited for, once, for at most the window: a one-shot run
/// must not skip a complete return only because it is young.
fn wait_for_young_files(
    paths: Vec<PathBuf>,
    window: std::time::Duration,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (ready, young): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .into_iter()
        .partition(|path| has_settled(path, window));
    if young.is_empty() {
        return (ready, young);
    }
    tracing::info!(
        "{} file(s) saved in the last {} s; waiting for them to stand still",
        young.len(),
        window.as_secs_f64()
    );
    std::thread::sleep(window);
    let (settled, changing): (Vec<PathBuf>, Vec<PathBuf>) = young
        .into_iter()
        .partition(|path| has_settled(path, window));
    let mut ready = ready;
    ready.extend(settled);
    (ready, changing)
}

/// Writes `inbox/collate-status.txt`: what is pending, at a glance, beside the returns themselves.
pub fn write_inbox_status(
    folders: &Folders,
    processed: usize,
    settling: &[PathBuf],
    never_settled: &[PathBuf],
) -> Result<(), FatalError> {
    let list = |paths: &[PathBuf]| {
        if paths.is_empty() {
            "  none\n".to_owned()
        } else {
            paths
                .iter()
                .map(|p| format!("  {}\n", file_name(p)))
                .collect()
        }
    };
    let text = format!(
        "collate inbox status\n\n\
         Returns processed so far: {processed} (outcomes in {}; exceptions in {})\n\n\
         Pending, still being written (taken once unchanged for a moment):\n{}\n\
         Still changing after a long wait (check who is writing them):\n{}\n\
         Files that are not returns are moved to \"{SET_ASIDE_FOLDER}\" with a note of why.\n",
        folders.store.display(),
        folders.exceptions().display(),
        list(settling),
        list(never_settled),
    );
    write_atomically(&folders.inbox.join(STATUS_FILE), text.as_bytes())
}

fn report_outcome(processed: &ProcessedReturn, replaces: Option<&str>, summary: &mut RunSummary) {
    let validated = &processed.validated;
    let file = processed.source_file.clone();
    if validated.accepted() {
        let warnings = validated.count(Severity::Warning);
        let identity = match validated {
            Validated::Figures { identity: i, .. } => format!("{} {}", i.department, i.period),
            Validated::PlanUpdate { identity: u, .. } => {
                format!("{} update to {}, {}", u.department, u.plan, u.period)
            }
            Validated::Unidentified { .. } => String::new(),
        };
        let in_use = replaces
            .map(|earlier| format!("; in use in place of \"{earlier}\""))
            .unwrap_or_default();
        tracing::info!(file = %file, "accepted ({identity}) with {warnings} quer{}{in_use}", if warnings == 1 { "y" } else { "ies" });
        summary.outcomes.push(Outcome::Accepted { file, warnings });
    } else {
        let first = validated
            .exceptions()
            .iter()
            .find(|e| e.severity == Severity::Error)
            .map(|e| e.one_line())
            .unwrap_or_else(|| format!("{file}: could not be identified"));
        tracing::warn!(file = %file, "rejected: {first}");
        summary.outcomes.push(Outcome::Rejected {
            file,
            reason: first,
        });
    }
}

/// The report a department can be sent back, xlsx for people and JSON for machines, for every return with
/// something to send back. A clean return has none: its outcome is in the store's returns table. Returns
/// whether a report was written.
fn write_return_report(
    folders: &Folders,
    processed: &ProcessedReturn,
    replaces: Option<&str>,
) -> Result<bool, FatalError> {
    let base = folders.return_reports().join(&processed.source_file);
    let with_suffix = |suffix: &str| PathBuf::from(format!("{}{suffix}", base.display()));
    let (xlsx, json) = (
        with_suffix(".exceptions.xlsx"),
        with_suffix(".exceptions.json"),
    );
    if processed.validated.exceptions().is_empty() {
        // A clean return replacing one of the same name must not leave the old report behind.
        for stale in [&xlsx, &json] {
            if stale.exists() {
                std::fs::remove_file(stale).map_err(|error| FatalError::Output {
                    path: stale.clone(),
                    reason: error.to_string(),
                })?;
            }
        }
        return Ok(false);
    }
    let fail = |path: &Path, error: render::RenderError| FatalError::Output {
        path: path.to_path_buf(),
        reason: error.to_string(),
    };
    write_atomically_deferred(
        &json,
        &render::return_report_json(processed).map_err(|e| fail(&json, e))?,
    )?;
    write_atomically_deferred(
        &xlsx,
        &render::return_report_workbook(processed, replaces).map_err(|e| fail(&xlsx, e))?,
    )?;
    Ok(true)
}

/// The quarter just ended, for a dashboard with no accepted returns yet to say which period it is.
fn quarter_just_ended() -> Period {
    Period::most_recently_ended(chrono::Local::now().date_naive())
}

/// What a rewrite of the outputs produced: the reporting period, and where the dashboard went (beside
/// `dashboard.xlsx` when that could not be replaced).
#[derive(Debug, Clone)]
pub struct Written {
    pub period: Period,
    pub dashboard: PathBuf,
}

/// Consolidates the history and rewrites the dashboard and exceptions workbooks atomically. A stored
/// return whose content can no longer be consolidated or rendered is quarantined (left out and reported
/// in the exceptions workbook): no store content can stop the outputs being written.
pub fn write_outputs(
    schemas: &Schemas,
    folders: &Folders,
    history: &History,
    choice: PeriodChoice,
) -> Result<Written, FatalError> {
    let (period, chase_period) = resolve_periods(history, choice)?;
    let outputs = Outputs {
        schemas,
        catalogue: consolidate::catalogue_frames(schemas)?,
        period,
        chase_period,
        settings: FlagSettings {
            far_above_ratio: schemas.dashboard.far_above_ratio,
            far_above_min_excess: schemas.dashboard.far_above_min_excess,
        },
    };
    let rendered = outputs.render_quarantining(history)?;
    let dashboard = replace_output(&folders.dashboard(), &rendered.dashboard)?;
    replace_output(&folders.exceptions(), &rendered.exceptions)?;
    Ok(Written { period, dashboard })
}

/// How far (in quarters) a period the owner names may be from every stored return: further, and it is
/// more likely a mistyped year than a wish.
const FAR_QUARTERS: i64 = 8;

/// The periods the outputs are for: the dashboard's and the chase list's.
fn resolve_periods(
    history: &History,
    choice: PeriodChoice,
) -> Result<(Period, Period), FatalError> {
    let stored = consolidate::stored_periods(history)?;
    let latest = stored.iter().max().copied();
    Ok(match choice {
        PeriodChoice::Latest => {
            let period = latest.unwrap_or_else(quarter_just_ended);
            (period, period)
        }
        PeriodChoice::Due(due) => (latest.unwrap_or(due), due),
        PeriodChoice::Named(named) => {
            let nearest = stored
                .iter()
                .map(|p| (p.quarter_index() - named.quarter_index()).abs())
                .min();
            if let (Some(distance), Some(latest)) = (nearest, latest)
                && distance > FAR_QUARTERS
            {
                return Err(FatalError::Period {
                    period: named.to_string(),
                    reason: format!(
                        "no return is stored within two years of it (the latest is {latest}); is the year mistyped?"
                    ),
                });
            }
            (named, named)
        }
    })
}

/// The most returns a rewrite quarantines before it gives up and reports the failure itself.
const MAX_QUARANTINED: usize = 8;

/// What the outputs are built from, besides the history.
struct Outputs<'s> {
    schemas: &'s Schemas,
    catalogue: consolidate::CatalogueFrames,
    period: Period,
    chase_period: Period,
    settings: FlagSettings,
}

/// The two workbooks' bytes.
struct Rendered {
    dashboard: Vec<u8>,
    exceptions: Vec<u8>,
}

impl Outputs<'_> {
    /// Consolidates and renders; `Err` is why it failed, in words (a panic included).
    fn render(&self, history: &History, quarantined: &[Quarantined]) -> Result<Rendered, String> {
        let attempt = catch_unwind(AssertUnwindSafe(|| -> Result<Rendered, String> {
            let mut consolidated = consolidate::consolidate(
                history,
                &self.catalogue,
                (self.period, self.chase_period),
                self.settings,
            )
            .map_err(|error| format!("it could not be consolidated: {error}"))?;
            consolidated.quarantined = quarantined.to_vec();
            let (dashboard, exceptions) = rayon::join(
                || render::dashboard_workbook(self.schemas, &consolidated),
                || render::exceptions_workbook(self.schemas, &consolidated),
            );
            let dashboard = dashboard
                .map_err(|error| format!("the dashboard could not be written: {error}"))?;
            let exceptions = exceptions.map_err(|error| {
                format!("the exceptions workbook could not be written: {error}")
            })?;
            Ok(Rendered {
                dashboard,
                exceptions,
            })
        }));
        attempt.unwrap_or_else(|_| Err("building the outputs failed on its content".to_owned()))
    }

    /// Renders everything; while that fails, finds the stored return that breaks it, leaves it out and
    /// tries again.
    fn render_quarantining(&self, history: &History) -> Result<Rendered, FatalError> {
        let mut kept = history.clone();
        let mut quarantined: Vec<Quarantined> = Vec::new();
        loop {
            let reason = match self.render(&kept, &quarantined) {
                Ok(rendered) => return Ok(rendered),
                Err(reason) => reason,
            };
            let culprit = match quarantined.len() < MAX_QUARANTINED {
                true => self.first_breaking_return(&kept)?,
                false => None,
            };
            let Some((hash, file, received_at)) = culprit else {
                return Err(FatalError::Consolidation(reason));
            };
            tracing::error!(file = %file, "quarantined: this stored return can no longer be put on the dashboard ({reason}); every other figure is still written");
            quarantined.push(Quarantined {
                file,
                received_at,
                reason,
            });
            kept = kept.only(&|stored| stored != hash)?;
        }
    }

    /// The return whose arrival first breaks the outputs: the shortest run of stored returns, in the order
    /// stored, that cannot be rendered ends with it. `None` when nothing stored is to blame.
    fn first_breaking_return(
        &self,
        history: &History,
    ) -> Result<Option<(String, String, String)>, FatalError> {
        let stored = history.stored_returns()?;
        let renders = |count: usize| -> Result<bool, FatalError> {
            let first: HashSet<&str> = stored[..count].iter().map(|r| r.0.as_str()).collect();
            Ok(self
                .render(&history.only(&|hash| first.contains(hash))?, &[])
                .is_ok())
        };
        Ok(shortest_failing_run(stored.len(), renders)?.map(|count| stored[count - 1].clone()))
    }
}

/// The length of the shortest run of the first `count` items for which `works` fails, by bisection
/// (log2(count) tries); `None` when all of them work, or when none does (nothing to blame).
fn shortest_failing_run<E>(
    count: usize,
    mut works: impl FnMut(usize) -> Result<bool, E>,
) -> Result<Option<usize>, E> {
    if count == 0 || !works(0)? || works(count)? {
        return Ok(None);
    }
    // works(good) holds and works(bad) does not.
    let (mut good, mut bad) = (0, count);
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        if works(middle)? {
            good = middle;
        } else {
            bad = middle;
        }
    }
    Ok(Some(bad))
}

/// Replaces an output the owner may have open: Excel on Windows refuses the replacement while it has the
/// file open. Retries with back-off (about 3 s in all), then writes a timestamped copy beside it and says
/// so in the log: the update is never lost. Returns where the output went.
pub fn replace_output(path: &Path, bytes: &[u8]) -> Result<PathBuf, FatalError> {
    let mut delay = std::time::Duration::from_millis(100);
    let mut refused = String::new();
    for _ in 0..5 {
        match write_atomically(path, bytes) {
            Ok(()) => return Ok(path.to_path_buf()),
            Err(error) => {
                refused = error.to_string();
                std::thread::sleep(delay);
                delay *= 2;
            }
        }
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stamp = chrono::Local::now().format("%Y-%m-%d %H%M%S");
    let copy = path.with_file_name(format!("{stem} {stamp}.xlsx"));
    write_atomically(&copy, bytes)?;
    tracing::warn!(
        "{} could not be replaced (is it open in Excel?): {refused}; this update was written to {} instead",
        path.display(),
        copy.display()
    );
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_that_first_breaks_the_outputs_is_found_by_bisection() {
        // Returns 0..100 in store order; the one at index 37 breaks rendering whenever it is included.
        let mut tries = 0;
        let found = shortest_failing_run(100, |count| {
            tries += 1;
            Ok::<_, ()>(count <= 37)
        });
        assert_eq!(found, Ok(Some(38)), "the run of 38 ends with index 37");
        assert!(tries <= 9, "{tries} renders");
        assert_eq!(shortest_failing_run(100, |_| Ok::<_, ()>(true)), Ok(None));
        assert_eq!(
            shortest_failing_run(100, |_| Ok::<_, ()>(false)),
            Ok(None),
            "nothing stored to blame when even an empty store fails"
        );
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn owner_temporary_and_hidden_files_are_not_returns() {
        let dir = tempfile::tempdir().expect("temp dir");
        let names = [
            "psd.xlsx",
            "~$psd.xlsx",
            ".hidden.xlsx",
            "notes.pdf",
            "8A3B1C00",
            "psd.tmp",
            STATUS_FILE,
        ];
        for name in names {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        std::fs::create_dir(dir.path().join("archive")).expect("dir");
        let scan = scan_inbox(dir.path()).expect("scan");
        let returns: Vec<String> = scan.returns.iter().map(|p| file_name(p)).collect();
        let others: Vec<String> = scan.not_returns.iter().map(|p| file_name(p)).collect();
        assert_eq!(returns, ["psd.xlsx"]);
        assert_eq!(others, ["notes.pdf"]);
    }
}
