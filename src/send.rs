//! Sending the drafts `collate` wrote (replies in `outbox/replies/`, reminders in `outbox/pack/`), when
//! the owner asks (`collate send`), through the SMTP server `dashboard.toml` names. Each draft is sent once:
//! what was sent is recorded in `store/sent.jsonl`, and a draft already there is never sent again.

use std::io::Write;
use std::path::{Path, PathBuf};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport};

use crate::draft::{DraftMessage, Mailbox};
use crate::error::{Cause, FatalError};
use crate::schema::SmtpSettings;

/// The record of what was sent, in the store.
pub const SENT_LEDGER: &str = "sent.jsonl";

/// A draft found in the outbox.
#[derive(Debug, Clone)]
pub struct Draft {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// Every draft in the outbox, replies first, each folder in name order.
pub fn drafts(outbox: &Path) -> Result<Vec<Draft>, FatalError> {
    let mut folders = vec![outbox.join("replies")];
    if let Ok(packs) = std::fs::read_dir(outbox.join("pack")) {
        let mut packs: Vec<PathBuf> = packs.flatten().map(|e| e.path()).collect();
        packs.sort();
        folders.extend(packs);
    }
    let mut drafts = Vec::new();
    for folder in folders.iter().filter(|f| f.is_dir()) {
        let entries = std::fs::read_dir(folder)
            .map_err(|error| FatalError::folder_failed(folder, "list the drafts", error))?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).map_err(|error| FatalError::output(&path, error))?;
            let sha256 = content_hash(&bytes);
            drafts.push(Draft {
                path,
                bytes,
                sha256,
            });
        }
    }
    Ok(drafts)
}

/// A draft's SHA-256, in hex: what the record of sent drafts knows it by.
pub fn content_hash(bytes: &[u8]) -> String {
    crate::digest::sha256_hex(bytes)
}

/// The content hashes of the drafts already sent.
pub fn already_sent(store: &Path) -> Result<Vec<String>, FatalError> {
    let path = store.join(SENT_LEDGER);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(FatalError::store(&path, "cannot read it", error)),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|entry| entry["sha256"].as_str().map(str::to_owned))
        .collect())
}

/// Records a sent draft, durably, before the next is sent.
pub fn record_sent(store: &Path, draft: &Draft, recipients: &[String]) -> Result<(), FatalError> {
    let path = store.join(SENT_LEDGER);
    let entry = serde_json::json!({
        "sha256": draft.sha256,
        "draft": draft.path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "to": recipients,
        "sent_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    let fail =
        |error: std::io::Error| FatalError::store(&path, "cannot record a sent draft", error);
    std::fs::create_dir_all(store).map_err(fail)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(fail)?;
    writeln!(file, "{entry}").map_err(fail)?;
    file.sync_data().map_err(fail)
}

/// Why a draft is held back rather than sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HeldBack {
    /// Sent before (recorded in the store): a draft is never sent twice.
    AlreadySent,
    /// It names nobody to send it to: the owner addresses it and sends it from their mail program.
    NoRecipient,
    /// It cannot be read as an email.
    NotAnEmail,
}

impl HeldBack {
    /// Why one draft is held back, in the owner's terms.
    pub fn one(self) -> &'static str {
        match self {
            HeldBack::AlreadySent => "it was sent before; a draft is never sent twice",
            HeldBack::NoRecipient => {
                "it names nobody to send it to: open it, address it and send it from your mail program"
            }
            HeldBack::NotAnEmail => "it cannot be read as an email",
        }
    }

    /// What the owner is told, for a count of drafts.
    pub fn said(self) -> &'static str {
        match self {
            HeldBack::AlreadySent => "already sent",
            HeldBack::NoRecipient => {
                "with no recipient (open each, address it and send it from your mail program)"
            }
            HeldBack::NotAnEmail => "that are not emails",
        }
    }
}

/// A draft that `collate send` would send: the message it holds (to whom, what, with which attachment),
/// and why it exists.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub draft: Draft,
    pub message: DraftMessage,
    /// A reminder (in `outbox/pack/`), or a reply to a return.
    pub reminder: bool,
    pub why: &'static str,
}

/// What `collate send` does with each draft: the ones it sends, in order, and the ones it holds back.
#[derive(Debug, Clone, Default)]
pub struct SendingPlan {
    pub outgoing: Vec<Outgoing>,
    pub held_back: Vec<(Draft, HeldBack)>,
}

impl SendingPlan {
    /// Every draft in the outbox, sorted into those to send and those held back (and why).
    pub fn of(drafts: Vec<Draft>, sent_before: &[String]) -> SendingPlan {
        let mut plan = SendingPlan::default();
        for draft in drafts {
            if sent_before.contains(&draft.sha256) {
                plan.held_back.push((draft, HeldBack::AlreadySent));
                continue;
            }
            match outgoing(draft) {
                Ok(outgoing) => plan.outgoing.push(outgoing),
                Err((draft, why)) => plan.held_back.push((draft, why)),
            }
        }
        plan
    }

    /// The drafts held back, counted by why: "2 already sent, 1 with no recipient (…)".
    pub fn held_back_said(&self) -> String {
        let mut reasons: Vec<HeldBack> = self.held_back.iter().map(|(_, why)| *why).collect();
        reasons.sort();
        let mut said: Vec<String> = Vec::new();
        for reason in [
            HeldBack::AlreadySent,
            HeldBack::NoRecipient,
            HeldBack::NotAnEmail,
        ] {
            let count = reasons.iter().filter(|r| **r == reason).count();
            if count > 0 {
                said.push(format!("{count} {}", reason.said()));
            }
        }
        match said.is_empty() {
            true => "none held back".to_owned(),
            false => format!("held back: {}", said.join(", ")),
        }
    }
}

/// A draft as it would go out, or why it is held back.
fn outgoing(draft: Draft) -> Result<Outgoing, (Draft, HeldBack)> {
    let Some(message) = DraftMessage::from_eml(&draft.bytes) else {
        return Err((draft, HeldBack::NotAnEmail));
    };
    if message.to.is_empty() {
        return Err((draft, HeldBack::NoRecipient));
    }
    let reminder = draft.path.components().any(|c| c.as_os_str() == "pack");
    let why = match reminder {
        true => "reminder: the department still owes this return",
        false => "reply: its return has exceptions to fix or queries to answer",
    };
    Ok(Outgoing {
        draft,
        message,
        reminder,
        why,
    })
}

/// With `[mail] send_replies = "automatic"`: sends the replies `collate send --dry-run` would list
/// (reminders stay the owner's to send), each once, as `collate send` would. A reply that cannot be sent
/// stays in the outbox, said in the log, and is tried again after the next batch.
pub fn send_replies_if_automatic(
    schemas: &crate::schema::Schemas,
    outbox: &Path,
    store: &Path,
) -> Result<(), FatalError> {
    let mail = &schemas.dashboard.mail;
    if mail.send_replies != crate::schema::SendReplies::Automatic {
        return Ok(());
    }
    let (Some(smtp), Some(from)) = (&mail.smtp, &mail.from) else {
        tracing::warn!(
            "send_replies = \"automatic\" but dashboard.toml names no mail server ([mail] from and [mail.smtp]): the replies stay in the outbox"
        );
        return Ok(());
    };
    let plan = SendingPlan::of(drafts(outbox)?, &already_sent(store)?);
    let replies: Vec<&Outgoing> = plan.outgoing.iter().filter(|o| !o.reminder).collect();
    if replies.is_empty() {
        return Ok(());
    }
    let transport = transport(smtp)?;
    let sender = Mailbox {
        address: from.clone(),
        name: mail.from_name.clone(),
    };
    for outgoing in replies {
        let name = outgoing
            .draft
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        match deliver(&transport, &sender, outgoing) {
            Ok(()) => {
                record_sent(store, &outgoing.draft, &outgoing.message.to)?;
                tracing::info!(draft = %name, "reply sent to {}", outgoing.message.to.join(", "));
            }
            Err(reason) => tracing::warn!(
                draft = %name,
                "reply not sent: {reason}; it stays in the outbox and is tried again after the next batch"
            ),
        }
    }
    Ok(())
}

/// The connection to the SMTP server, with the credentials the environment holds (never the file).
pub fn transport(smtp: &SmtpSettings) -> Result<SmtpTransport, FatalError> {
    let fail = |error: lettre::transport::smtp::Error| FatalError::MailServer {
        server: format!("{}:{}", smtp.host, smtp.port),
        cause: Cause::Other(Box::new(error)),
    };
    // The machine's own trust store (the platform's verifier: on Windows, the certificates the force's
    // machines trust), and the CA file [mail.smtp] names, if any.
    let tls = || -> Result<TlsParameters, FatalError> {
        let mut tls = TlsParameters::builder(smtp.host.clone());
        if let Some(ca_file) = &smtp.ca_file {
            let pem = std::fs::read(ca_file).map_err(|error| FatalError::MailServer {
                server: format!("{}:{}", smtp.host, smtp.port),
                cause: Cause::Described(format!(
                    "cannot read ca_file {}: {error}",
                    ca_file.display()
                )),
            })?;
            tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(fail)?);
        }
        tls.build().map_err(fail)
    };
    let builder = SmtpTransport::builder_dangerous(&smtp.host);
    let mut builder = match smtp.security.as_str() {
        "tls" => builder.tls(Tls::Wrapper(tls()?)),
        "none" => builder,
        _ => builder.tls(Tls::Required(tls()?)),
    }
    .port(smtp.port)
    .timeout(Some(std::time::Duration::from_secs(30)));
    let from_env = |name: &Option<String>| name.as_ref().and_then(|n| std::env::var(n).ok());
    if let (Some(user), Some(password)) =
        (from_env(&smtp.username_env), from_env(&smtp.password_env))
    {
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

/// Sends one outgoing draft from the owner, dated and identified as sent now; `Err` says why not.
pub fn deliver(
    transport: &SmtpTransport,
    sender: &Mailbox,
    outgoing: &Outgoing,
) -> Result<(), String> {
    let parse = |text: &str| {
        text.parse::<Address>()
            .map_err(|e| format!("\"{text}\": {e}"))
    };
    let to = (outgoing.message.to.iter())
        .map(|r| parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(parse(&sender.address)?), to).map_err(|e| e.to_string())?;
    let sent = as_sent(outgoing, sender, chrono::Utc::now().timestamp());
    let bytes = sent.to_eml().map_err(|e| e.to_string())?;
    transport
        .send_raw(&envelope, &bytes)
        .map(|_| ())
        .map_err(|error| in_owners_words(&error.to_string()))
}

/// A sending error as the owner can act on it.
fn in_owners_words(error: &str) -> String {
    match error.contains("invalid peer certificate") {
        true => format!(
            "the mail server's certificate is not from an authority this machine trusts ({}); \
             nothing was sent to it: have the force's certificate authority trusted on this machine, \
             or name it in [mail.smtp] ca_file",
            error.rsplit(": ").next().unwrap_or(error)
        ),
        false => error.to_owned(),
    }
}

/// The draft as it goes out: from the owner (with their name), dated when it is sent, with a Message-ID
/// of its own, no longer marked unsent; its recipients, subject, threading, text and attachment kept.
fn as_sent(outgoing: &Outgoing, sender: &Mailbox, now: i64) -> DraftMessage {
    let domain = sender.address.rsplit('@').next().unwrap_or("collate");
    let sha256 = &outgoing.draft.sha256;
    DraftMessage {
        from: Some(sender.clone()),
        date: now,
        message_id: format!("{}.{now}@{domain}", &sha256[..16.min(sha256.len())]),
        unsent: false,
        ..outgoing.message.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_goes_out_from_the_owner_dated_and_identified_now_and_no_longer_unsent() {
        let bytes = b"Date: Thu, 31 Dec 2020 12:00:00 +0000\r\nMessage-ID:\r\n <draft@b.uk>\r\nSubject: Re: Q2\r\nIn-Reply-To: <x@dept.uk>\r\nX-Unsent: 1\r\nTo: a@b.uk\r\n\r\nX-Unsent: 1 in the body stays\r\n";
        let draft = Draft {
            path: "replies/a.eml".into(),
            bytes: bytes.to_vec(),
            sha256: "0123456789abcdef0123".into(),
        };
        let outgoing = outgoing(draft).expect("to send");
        let sender = Mailbox {
            address: "owner@b.uk".into(),
            name: Some("Integrity Dashboard".into()),
        };
        let sent = as_sent(&outgoing, &sender, 1_796_378_400);
        let eml = String::from_utf8(sent.to_eml().expect("written")).unwrap_or_default();
        let headers = eml.split("\r\n\r\n").next().unwrap_or_default();
        assert_eq!(
            headers,
            "From: \"Integrity Dashboard\" <owner@b.uk>\r\nSubject: Re: Q2\r\nMessage-ID: <0123456789abcdef.1796378400@b.uk>\r\nDate: Fri, 4 Dec 2026 10:00:00 +0000\r\nTo: <a@b.uk>\r\nIn-Reply-To: <x@dept.uk>\r\nReferences: <x@dept.uk>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"collate\""
        );
        assert!(eml.contains("X-Unsent: 1 in the body stays"), "{eml}");
    }
}
