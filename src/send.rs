//! Sending the drafts `collate` wrote (replies in `outbox/replies/`, reminders in `outbox/pack/`), when
//! the owner asks (`collate send`), through the SMTP server `dashboard.toml` names. Each draft is sent once:
//! what was sent is recorded in `store/sent.jsonl`, and a draft already there is never sent again.

use std::io::Write;
use std::path::{Path, PathBuf};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, SmtpTransport, Transport};
use mail_parser::MessageParser;

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
            let sha256 = crate::pipeline::sha256_hex(&bytes);
            drafts.push(Draft {
                path,
                bytes,
                sha256,
            });
        }
    }
    Ok(drafts)
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

/// The connection to the SMTP server, with the credentials the environment holds (never the file).
pub fn transport(smtp: &SmtpSettings) -> Result<SmtpTransport, FatalError> {
    let fail = |error: lettre::transport::smtp::Error| FatalError::MailServer {
        server: format!("{}:{}", smtp.host, smtp.port),
        cause: Cause::Other(Box::new(error)),
    };
    let mut builder = match smtp.security.as_str() {
        "tls" => SmtpTransport::relay(&smtp.host).map_err(fail)?,
        "none" => SmtpTransport::builder_dangerous(&smtp.host),
        _ => SmtpTransport::starttls_relay(&smtp.host).map_err(fail)?,
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

/// Sends one draft from `from`; returns its recipients, or why it was not sent.
pub fn deliver(
    transport: &SmtpTransport,
    from: &str,
    draft: &Draft,
) -> Result<Vec<String>, String> {
    let message = MessageParser::default()
        .parse(&draft.bytes)
        .ok_or("the draft is not an email")?;
    let recipients: Vec<String> = message
        .to()
        .into_iter()
        .chain(message.cc())
        .flat_map(|list| list.iter())
        .filter_map(|address| address.address())
        .map(str::to_owned)
        .collect();
    if recipients.is_empty() {
        return Err("it has no recipient: open it, address it and send it yourself".into());
    }
    let parse = |text: &str| {
        text.parse::<Address>()
            .map_err(|e| format!("\"{text}\": {e}"))
    };
    let to = recipients
        .iter()
        .map(|r| parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(parse(from)?), to).map_err(|e| e.to_string())?;
    transport
        .send_raw(&envelope, &as_sent(&draft.bytes, from))
        .map_err(|error| error.to_string())?;
    Ok(recipients)
}

/// The draft as it goes out: from the owner, no longer marked unsent.
fn as_sent(draft: &[u8], from: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(draft);
    let mut sent = format!("From: {from}\r\n");
    let mut in_headers = true;
    for line in text.split_inclusive('\n') {
        if in_headers && line.trim_end().is_empty() {
            in_headers = false;
        }
        if in_headers && line.to_ascii_lowercase().starts_with("x-unsent:") {
            continue;
        }
        sent.push_str(line);
    }
    sent.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_draft_goes_out_from_the_owner_and_no_longer_unsent() {
        let draft = b"Subject: Re: Q2\r\nX-Unsent: 1\r\nTo: a@b.uk\r\n\r\nX-Unsent: 1 in the body stays\r\n";
        let sent = String::from_utf8(super::as_sent(draft, "owner@b.uk")).unwrap_or_default();
        assert_eq!(
            sent,
            "From: owner@b.uk\r\nSubject: Re: Q2\r\nTo: a@b.uk\r\n\r\nX-Unsent: 1 in the body stays\r\n"
        );
    }
}
