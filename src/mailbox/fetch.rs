//! One pass over the shared mailbox's folder: each message saved into the inbox as its exact bytes, the
//! pass run over them, and each message the pass is done with moved to the processed folder.

use std::path::{Path, PathBuf};

use super::MailboxError;
use super::connect::{Session, open};
use crate::error::FatalError;
use crate::outfile::{fit_file_name, write_atomically};
use crate::period::PeriodChoice;
use crate::pipeline::{Collator, Folders, RunSummary};
use crate::schema::{ImapSettings, Schemas};
use crate::worker::WorkerPool;

/// What a fetch did: the pass over the messages taken, and what was moved on the server.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The pass over the messages saved (none when nothing waited).
    pub summary: Option<RunSummary>,
    /// Messages moved to the processed folder.
    pub moved: usize,
    /// Messages left in the folder for the next pass (a stop came first, or the pass was not done).
    pub left: usize,
    /// Messages too large for any return, moved without being taken: (which, their size).
    pub too_large: Vec<(String, u64)>,
    /// Where the messages taken were saved in the inbox.
    pub saved: Vec<PathBuf>,
}

/// Why a fetch stopped: the mailbox, or the installation.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    #[error(transparent)]
    Fatal(#[from] FatalError),
}

/// Fetches every message waiting in the folder, through a session of its own; call it holding the batch
/// lock.
pub fn fetch(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    settings: &ImapSettings,
    period: PeriodChoice,
    stop: &dyn Fn() -> bool,
) -> Result<Fetched, FetchError> {
    let mut collator = Collator::open(schemas, workers, folders)?;
    fetch_into(&mut collator, settings, period, stop)
}

/// Fetches every message waiting in the folder through `collator`'s pass; call it holding the batch
/// lock. The messages are saved first, all of them, then read in one pass; only the messages the pass is
/// done with are moved.
pub fn fetch_into(
    collator: &mut Collator<'_>,
    settings: &ImapSettings,
    period: PeriodChoice,
    stop: &dyn Fn() -> bool,
) -> Result<Fetched, FetchError> {
    let server = format!("{}:{}", settings.host, settings.port);
    let answered = |error: imap::Error| MailboxError::from_imap(&server, error);
    let mut session = open(settings)?;
    let processed = processed_folder(&mut session, settings).map_err(answered)?;
    session.select(&settings.folder).map_err(answered)?;
    let mut uids: Vec<u32> = session
        .uid_search("ALL")
        .map_err(answered)?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut fetched = Fetched::default();
    let limit = collator.limits().file_bytes();
    let (mut saved, mut done) = (Vec::new(), Vec::new());
    for &uid in &uids {
        if stop() {
            break;
        }
        let size = message_size(&mut session, uid).map_err(answered)?;
        if size > limit {
            // Never downloaded: moved aside on the server, where the owner can still open it.
            tracing::warn!(
                message = uid,
                "a message of {} MB is larger than any return may be ({} MB): not taken; moved to {}",
                size / (1024 * 1024),
                limit / (1024 * 1024),
                settings.processed_folder
            );
            fetched.too_large.push((format!("message {uid}"), size));
            done.push(uid);
            continue;
        }
        let bytes = message(&mut session, uid).map_err(answered)?;
        saved.push((uid, save(&collator.folders().inbox, &bytes)?));
    }
    if !saved.is_empty() {
        let paths: Vec<PathBuf> = saved.iter().map(|(_, path)| path.clone()).collect();
        let summary = collator.pass(&paths, &[], stop, period)?;
        done.extend(
            (saved.iter())
                .filter(|(_, path)| summary.done_with.contains(path))
                .map(|(uid, _)| *uid),
        );
        fetched.saved = paths;
        fetched.summary = Some(summary);
    }
    move_to(&mut session, &done, &processed).map_err(answered)?;
    fetched.moved = done.len();
    fetched.left = uids.len() - done.len();
    let _ = session.logout();
    Ok(fetched)
}

/// How many messages wait in the folder (for `collate check`).
pub fn waiting(settings: &ImapSettings) -> Result<usize, MailboxError> {
    let server = format!("{}:{}", settings.host, settings.port);
    let mut session = open(settings)?;
    let mailbox = session
        .examine(&settings.folder)
        .map_err(|error| MailboxError::from_imap(&server, error))?;
    let _ = session.logout();
    Ok(mailbox.exists as usize)
}

/// The processed folder's name on this server (its own hierarchy separator in place of `/`), created
/// when missing.
fn processed_folder(session: &mut Session, settings: &ImapSettings) -> imap::Result<String> {
    let root = session.list(Some(""), Some("\"\""))?;
    let delimiter = (root.iter().next())
        .and_then(|name| name.delimiter())
        .unwrap_or("/")
        .to_owned();
    let name = settings.processed_folder.replace('/', &delimiter);
    let found = session.list(Some(""), Some(&quoted(&name)))?;
    if found.is_empty() {
        session.create(&name)?;
    }
    Ok(name)
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

fn message_size(session: &mut Session, uid: u32) -> imap::Result<u64> {
    let fetches = session.uid_fetch(uid.to_string(), "RFC822.SIZE")?;
    Ok(fetches.iter().find_map(|f| f.size).map_or(0, u64::from))
}

/// The message's exact bytes, without marking it read.
fn message(session: &mut Session, uid: u32) -> imap::Result<Vec<u8>> {
    let fetches = session.uid_fetch(uid.to_string(), "BODY.PEEK[]")?;
    Ok(fetches
        .iter()
        .find_map(|f| f.body().map(<[u8]>::to_vec))
        .unwrap_or_default())
}

/// Moves the messages to `folder`: MOVE where the server has it, else a copy, then the originals
/// marked deleted and expunged.
fn move_to(session: &mut Session, uids: &[u32], folder: &str) -> imap::Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    let set: Vec<String> = uids.iter().map(u32::to_string).collect();
    let set = set.join(",");
    let capabilities = session.capabilities()?;
    if capabilities.has_str("MOVE") {
        return session.uid_mv(&set, folder);
    }
    session.uid_copy(&set, folder)?;
    session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")?;
    match capabilities.has_str("UIDPLUS") {
        true => session.uid_expunge(&set).map(|_| ()),
        false => session.expunge().map(|_| ()),
    }
}

/// Saves a message into the inbox as the bytes it came as, under a name made from its date, sender and
/// subject (bounded, and holding nothing a file name on Windows cannot), with a short hash of its bytes:
/// the same message is saved under the same name again.
fn save(inbox: &Path, bytes: &[u8]) -> Result<PathBuf, FatalError> {
    let path = inbox.join(saved_name(bytes));
    write_atomically(&path, bytes)?;
    Ok(path)
}

fn saved_name(bytes: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse_headers(bytes);
    let (date, sender, subject) = match &message {
        Some(message) => (
            message
                .date()
                .map(|d| {
                    format!(
                        "{:04}-{:02}-{:02} {:02}{:02}",
                        d.year, d.month, d.day, d.hour, d.minute
                    )
                })
                .unwrap_or_default(),
            (message.from().and_then(|f| f.first()))
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned(),
            message.subject().unwrap_or_default().to_owned(),
        ),
        None => Default::default(),
    };
    let subject: String = subject.chars().take(60).collect();
    let hash = crate::digest::sha256_prefix(bytes, 4);
    let name: String = format!("{date} {sender} {subject} {hash}")
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '-',
            c => c,
        })
        .collect();
    fit_file_name(name.trim(), ".eml")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_saved_message_is_named_by_its_date_sender_and_subject_fit_for_any_file_system() {
        let bytes = b"From: PSD <psd@example.uk>\r\nDate: Thu, 15 Oct 2020 10:00:00 +0100\r\nSubject: Re: Q2 <return>?\r\n\r\nbody";
        let name = super::saved_name(bytes);
        assert!(
            name.starts_with("2020-10-15 1000 psd@example.uk Re- Q2 -return-- "),
            "{name}"
        );
        assert!(name.ends_with(".eml"));
        assert_eq!(
            super::saved_name(bytes),
            name,
            "the same message, the same name"
        );
        let long = format!("Subject: {}\r\n\r\n", "x".repeat(5000));
        assert!(super::saved_name(long.as_bytes()).len() < 250);
    }
}
