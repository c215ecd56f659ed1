//! Reading received files on the workers: a workbook is one return; a saved email is one return per
//! workbook attached (each named after the email and the attachment), or a rejected return saying why it
//! holds none; a return whose reader was stopped from outside is left for later, never given a verdict.

use std::path::Path;

use super::Folders;
use super::inbox::{NotRead, Received, receive, set_aside_because};
use crate::digest::sha256_hex;
use crate::error::FatalError;
use crate::read::message::{Unpacked, is_message_name};
use crate::schema::Schemas;
use crate::store::ProcessedReturn;
use crate::validate::{BuiltinCheck, Validated, check_sender};
use crate::worker::{Interrupted, WorkerPool};

/// Validates received files on the workers, all at once, results in the order given. A file that cannot
/// be read from disk, or that a worker dies on, is a rejected return; one whose reader was stopped from
/// outside twice is [`LeftForLater`].
pub fn validate_received(
    schemas: &Schemas,
    workers: &WorkerPool,
    received: Vec<Received>,
) -> Vec<Result<ProcessedReturn, LeftForLater>> {
    let readable: Vec<(&str, &[u8])> = received
        .iter()
        .filter_map(|r| Some((r.file.as_str(), r.bytes.as_deref().ok()?)))
        .collect();
    let mut validated = crate::phase::timed("read and validate (workers)", || {
        workers.validate_all(&readable)
    })
    .into_iter();
    received
        .into_iter()
        .map(|received| {
            let validated = match &received.bytes {
                Ok(_) => validated.next().unwrap_or_else(|| Ok(Validated::default())),
                Err(not_read) => Ok(not_read_return(schemas, &received.file, not_read)),
            };
            let mut validated = match validated {
                Ok(validated) => validated,
                Err(interrupted) => return Err(LeftForLater::of(&received, interrupted)),
            };
            if let Some(message) = &received.message {
                check_sender(schemas, &mut validated, message);
            }
            Ok(ProcessedReturn {
                sha256: received.sha256,
                source_file: received.file,
                received_at: received.received_at,
                validated,
                message: received.message,
            })
        })
        .collect()
}

/// A return whose reading was not finished, because its reader was stopped from outside: no verdict is
/// stored, and the file stays in the inbox to be read again by the next pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftForLater {
    /// The return, as the outputs would name it.
    pub file: String,
    /// The inbox file it is in (the email, for a workbook attached to one).
    pub inbox_file: String,
    pub sha256: String,
    pub reason: String,
}

impl LeftForLater {
    pub(super) fn of(received: &Received, interrupted: Interrupted) -> LeftForLater {
        LeftForLater {
            file: received.file.clone(),
            inbox_file: received
                .message
                .as_ref()
                .map_or_else(|| received.file.clone(), |m| m.email_file.clone()),
            sha256: received.sha256.clone(),
            reason: interrupted.reason,
        }
    }
}

/// A workbook that was not read from the inbox, rejected with the reason.
fn not_read_return(schemas: &Schemas, file: &str, not_read: &NotRead) -> Validated {
    let reason = not_read.reason(file, &schemas.dashboard.limits);
    match not_read {
        NotRead::Failed(_) => Validated::rejected(
            file,
            BuiltinCheck::UnreadableFile,
            reason,
            "Check the file is not open elsewhere and save it into the inbox again.",
        ),
        // What the worker would have said, had the file been handed to it.
        NotRead::TooBig(_) => Validated::rejected(
            file,
            BuiltinCheck::UnreadableWorkbook,
            reason,
            "Open the file in Excel, check it shows your return, save it as .xlsx and send it again.",
        ),
    }
}

/// Reads, hashes and validates one file (in a worker): a workbook is one return; a saved email is one
/// return per workbook attached, or one rejected return saying why it holds none.
pub fn process_file(
    schemas: &Schemas,
    workers: &WorkerPool,
    path: &Path,
) -> Vec<Result<ProcessedReturn, LeftForLater>> {
    let received = receive(path, &schemas.dashboard.limits);
    let (sha256, received_at) = (received.sha256.clone(), received.received_at.clone());
    let mut returns = Vec::new();
    let mut done = Vec::new();
    // An email is opened as the pass opens one; one that holds no return is a rejected return here.
    for opened in open_messages(schemas, workers, vec![received]) {
        match opened {
            Opened::Return(received) => returns.push(received),
            Opened::NoReturn { file, why } => done.push(Ok(ProcessedReturn {
                sha256: sha256.clone(),
                validated: Validated::rejected(
                    &file,
                    BuiltinCheck::UnsupportedFile,
                    no_return_reason(&file, &why),
                    "Save the return attached to the email into the inbox instead.",
                ),
                source_file: file,
                received_at: received_at.clone(),
                message: None,
            })),
            Opened::Left(left) => done.push(Err(left)),
        }
    }
    done.extend(validate_received(schemas, workers, returns));
    done
}

/// Why an email holds no return: it carries no workbook, or it could not be opened.
fn no_return_reason(file: &str, why: &Result<Unpacked, String>) -> String {
    match why {
        Ok(unpacked) => no_workbook_reason(file, unpacked),
        Err(reason) => reason.clone(),
    }
}

/// Why an email that opened holds no return.
fn no_workbook_reason(file: &str, unpacked: &Unpacked) -> String {
    if unpacked.others.is_empty() {
        format!("{file} carries no attachment, so no return")
    } else {
        format!(
            "{file} carries no spreadsheet return (its attachments: {})",
            unpacked.others.join(", ")
        )
    }
}

/// A saved email's workbooks as returns received with it: each named after the email and the attachment
/// ("Q2 return.eml › PSD Q2.xlsx"), hashed on its own bytes (so the same workbook saved separately too
/// counts once), with the message it came in.
fn attachments_received(email: &Received, unpacked: Unpacked) -> Vec<Received> {
    unpacked
        .workbooks
        .into_iter()
        .map(|attachment| Received {
            file: format!("{} › {}", email.file, attachment.provenance.attachment),
            received_at: email.received_at.clone(),
            sha256: sha256_hex(&attachment.bytes),
            bytes: Ok(attachment.bytes),
            message: Some(attachment.provenance),
        })
        .collect()
}

/// A file of the inbox once any saved email is opened: a return, an email that holds none (and why), or
/// one whose reader was stopped from outside.
pub(super) enum Opened {
    Return(Received),
    NoReturn {
        file: String,
        why: Result<Unpacked, String>,
    },
    Left(LeftForLater),
}

/// Each saved email replaced by the workbooks attached to it (opened on the workers), in order.
pub(super) fn open_messages(
    schemas: &Schemas,
    workers: &WorkerPool,
    received: Vec<Received>,
) -> Vec<Opened> {
    if !received.iter().any(|r| is_message_name(&r.file)) {
        return received.into_iter().map(Opened::Return).collect();
    }
    let messages: Vec<(&str, &[u8])> = received
        .iter()
        .filter(|r| is_message_name(&r.file))
        .filter_map(|r| Some((r.file.as_str(), r.bytes.as_deref().ok()?)))
        .collect();
    let mut opened = workers.unpack_all(&messages).into_iter();
    let mut expanded = Vec::new();
    for received in received {
        if !is_message_name(&received.file) {
            expanded.push(Opened::Return(received));
            continue;
        }
        let unpacked = match &received.bytes {
            Ok(_) => opened
                .next()
                .unwrap_or_else(|| Ok(Err("it was not read".into()))),
            Err(not_read) => Ok(Err(
                not_read.reason(&received.file, &schemas.dashboard.limits)
            )),
        };
        match unpacked {
            Ok(Ok(unpacked)) if !unpacked.workbooks.is_empty() => expanded.extend(
                attachments_received(&received, unpacked)
                    .into_iter()
                    .map(Opened::Return),
            ),
            Ok(why) => expanded.push(Opened::NoReturn {
                file: received.file,
                why,
            }),
            Err(interrupted) => {
                expanded.push(Opened::Left(LeftForLater::of(&received, interrupted)));
            }
        }
    }
    expanded
}

/// Sets aside an email that holds no return, saying why.
pub(super) fn set_email_aside(
    folders: &Folders,
    file: &str,
    why: Result<Unpacked, String>,
) -> Result<(), FatalError> {
    let reason = match why {
        Ok(unpacked) => format!(
            "{}, so collate set it aside.\n\
             If a return was meant to be attached, ask for it as .xlsx.\n",
            no_workbook_reason(file, &unpacked)
        ),
        Err(reason) => format!(
            "{file} could not be read as an email ({reason}), so collate set it aside.\n\
             Save the return attached to it into the inbox instead.\n"
        ),
    };
    set_aside_because(&folders.inbox, &folders.inbox.join(file), &reason)?;
    Ok(())
}
