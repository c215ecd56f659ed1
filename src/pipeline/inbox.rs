//! The inbox: what counts as a return, scanning in received order, files still being written, files
//! that are not returns set aside, reading and hashing a file as received, and the inbox status file.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::digest::sha256_hex;

use super::Folders;
use crate::error::FatalError;
use crate::outfile::{fit_file_name, write_atomically};
use crate::read::WORKBOOK_EXTENSIONS;
use crate::read::inspect::check_file_size;
use crate::read::message::{MessageProvenance, check_email_size, is_message_name};
use crate::schema::ReadLimits;

/// The status file `collate` keeps in the inbox, listing what is still pending.
pub const STATUS_FILE: &str = "collate-status.txt";

/// Where files that are not returns are moved, each with a note of why.
pub const SET_ASIDE_FOLDER: &str = "set aside";

/// What the inbox holds, in received order: returns to process, and files that are not returns.
#[derive(Debug, Default)]
pub struct InboxScan {
    pub returns: Vec<PathBuf>,
    pub not_returns: Vec<PathBuf>,
    /// When each of `returns` was last written, as the scan found it.
    returns_modified: Vec<SystemTime>,
}

impl InboxScan {
    /// Takes the returns out: those that had stood still for `window` when the inbox was scanned, and
    /// those written since (without a second look at each file).
    pub(super) fn split_settled(&mut self, window: Duration) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let (settled, young): (Vec<_>, Vec<_>) = std::mem::take(&mut self.returns)
            .into_iter()
            .zip(std::mem::take(&mut self.returns_modified))
            .partition(|(_, modified)| settled_since(*modified, window));
        let paths = |files: Vec<(PathBuf, SystemTime)>| files.into_iter().map(|(p, _)| p).collect();
        (paths(settled), paths(young))
    }
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

/// Whether a file is read for returns: a workbook, or a saved email carrying them.
pub fn is_return_or_message(path: &Path) -> bool {
    is_workbook_name(path) || is_message_name(&file_name(path))
}

pub fn scan_inbox(inbox: &Path) -> Result<InboxScan, FatalError> {
    let entries = std::fs::read_dir(inbox)
        .map_err(|error| FatalError::folder_failed(inbox, "cannot read the inbox", error))?;
    let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        if is_ignored(&path) {
            continue;
        }
        // One look at each file (a link is followed): whether it is a file, and when it was written.
        match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => {
                let modified = metadata.modified().unwrap_or(std::time::UNIX_EPOCH);
                files.push((modified, path));
            }
            _ => {}
        }
    }
    // Received order: the order the owner saved them in, then by name.
    files.sort();
    let mut scan = InboxScan::default();
    for (modified, path) in files {
        if is_return_or_message(&path) {
            scan.returns.push(path);
            scan.returns_modified.push(modified);
        } else {
            scan.not_returns.push(path);
        }
    }
    Ok(scan)
}

/// Whether a file has not been written to for `window`: a file still being copied is not read yet.
/// A modification time in the future (a share's clock ahead of ours) counts as settled.
pub fn has_settled(path: &Path, window: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| settled_since(modified, window))
}

fn settled_since(modified: SystemTime, window: Duration) -> bool {
    SystemTime::now()
        .duration_since(modified)
        .map_or(true, |age| age >= window)
}

/// Moves a file that is not a return into `inbox/set aside/`, beside a note saying why. Its bytes are
/// untouched.
pub fn set_aside(inbox: &Path, path: &Path) -> Result<PathBuf, FatalError> {
    let name = file_name(path);
    let reason = format!(
        "{name} is not a spreadsheet return (.xlsx, .xlsm, .xls or .ods), so collate set it aside unread.\n\
         If it is a return, save it from Excel as .xlsx and put it in the inbox again.\n"
    );
    set_aside_because(inbox, path, &reason)
}

/// Moves a file that holds no return into `inbox/set aside/`, beside a note giving `reason`.
pub fn set_aside_because(inbox: &Path, path: &Path, reason: &str) -> Result<PathBuf, FatalError> {
    let folder = inbox.join(SET_ASIDE_FOLDER);
    let fail = |error: std::io::Error| {
        FatalError::folder_failed(&folder, "cannot set a file aside", error)
    };
    std::fs::create_dir_all(&folder).map_err(fail)?;
    let name = file_name(path);
    let mut target = name.clone();
    let mut copy = 2;
    while folder.join(&target).exists() {
        target = fit_file_name(&name, &format!(" ({copy})"));
        copy += 1;
    }
    let note = folder.join(fit_file_name(&target, ".reason.txt"));
    let target = folder.join(target);
    write_atomically(&note, reason.as_bytes())?;
    std::fs::rename(path, &target).map_err(fail)?;
    tracing::warn!(file = %name, reason = %reason.lines().next().unwrap_or_default(), "set aside");
    Ok(target)
}

/// The most set-aside files the exceptions workbook lists (the newest are all in the folder).
const SET_ASIDE_LISTED: usize = 500;

/// The files in `inbox/set aside/`, each with the first line of its note, in name order; unreadable
/// notes say so. At most [`SET_ASIDE_LISTED`].
pub(super) fn set_aside_files(inbox: &Path) -> Vec<crate::consolidate::SetAside> {
    use std::io::Read;
    let Ok(entries) = std::fs::read_dir(inbox.join(SET_ASIDE_FOLDER)) else {
        return Vec::new();
    };
    let mut notes: Vec<PathBuf> = (entries.flatten())
        .map(|entry| entry.path())
        .filter(|path| file_name(path).ends_with(".reason.txt"))
        .collect();
    notes.sort();
    notes.truncate(SET_ASIDE_LISTED);
    notes
        .iter()
        .map(|note| {
            let mut text = String::new();
            let read = std::fs::File::open(note)
                .and_then(|file| file.take(4096).read_to_string(&mut text));
            let reason = match read {
                Ok(_) => text.lines().next().unwrap_or_default().to_owned(),
                Err(error) => format!("its note cannot be read: {error}"),
            };
            let name = file_name(note);
            crate::consolidate::SetAside {
                file: name.trim_end_matches(".reason.txt").to_owned(),
                reason,
            }
        })
        .collect()
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn received_at(modified: Option<SystemTime>) -> String {
    chrono::DateTime::<chrono::Utc>::from(modified.unwrap_or(std::time::UNIX_EPOCH))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Why a file's bytes were not taken from the inbox.
#[derive(Debug)]
pub enum NotRead {
    /// The file system would not give them.
    Failed(std::io::Error),
    /// The file is larger (this many bytes) than any return may be: it is not read at all, so that no
    /// file in the inbox can fill the memory.
    TooBig(u64),
}

impl NotRead {
    /// Why `file` was not read, in the department's terms: for one too big, the words its worker would
    /// have used (for a workbook or a saved email).
    pub fn reason(&self, file: &str, limits: &ReadLimits) -> String {
        match self {
            NotRead::Failed(error) => format!("the file cannot be opened: {error}"),
            NotRead::TooBig(size) => {
                let refused = match is_message_name(file) {
                    true => check_email_size(*size, limits),
                    false => check_file_size(*size, limits),
                };
                refused.err().map_or_else(String::new, |refusal| refusal.0)
            }
        }
    }
}

/// A file as it arrived: its name, when, its bytes (or why they could not be read) and their SHA-256.
pub struct Received {
    pub file: String,
    pub received_at: String,
    pub bytes: Result<Vec<u8>, NotRead>,
    pub sha256: String,
    /// For a workbook that came attached to a saved email: the message it came in.
    pub message: Option<MessageProvenance>,
}

/// Reads and hashes one file within `limits`; validation waits until the hash says the file is new.
pub fn receive(path: &Path, limits: &ReadLimits) -> Received {
    let (bytes, modified) = read_within(path, limits.file_bytes());
    // A file that could not be opened may still say when it was saved.
    let modified = modified.or_else(|| std::fs::metadata(path).and_then(|m| m.modified()).ok());
    Received {
        file: file_name(path),
        received_at: received_at(modified),
        sha256: bytes.as_deref().map(sha256_hex).unwrap_or_default(),
        bytes,
        message: None,
    }
}

/// A file's bytes and modification time, from one opening. A file of more than `most` bytes is not
/// read: its size says so first, and one that grows while it is read is cut off just past the limit.
fn read_within(path: &Path, most: u64) -> (Result<Vec<u8>, NotRead>, Option<SystemTime>) {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => return (Err(NotRead::Failed(error)), None),
    };
    let metadata = match file.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return (Err(NotRead::Failed(error)), None),
    };
    let modified = metadata.modified().ok();
    if metadata.len() > most {
        return (Err(NotRead::TooBig(metadata.len())), modified);
    }
    // The size is within the limit, so it can size the buffer.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    let read = match (&mut file).take(most + 1).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() as u64 > most => Err(NotRead::TooBig(bytes.len() as u64)),
        Ok(_) => Ok(bytes),
        Err(error) => Err(NotRead::Failed(error)),
    };
    (read, modified)
}

/// How long a file must go unmodified before it is read, unless configured otherwise.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);

/// The returns found (split by [`InboxScan::split_settled`]) as those ready to read and those still
/// changing. Files saved a moment ago (a copy just made) are waited for, once, for at most the window: a
/// one-shot run must not skip a complete return only because it is young.
pub(super) fn wait_for_young_files(
    (ready, young): (Vec<PathBuf>, Vec<PathBuf>),
    window: Duration,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
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
