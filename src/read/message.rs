//! Saved emails (`.eml`, as Outlook's "Save as", Thunderbird and webmail downloads write them) as
//! containers of returns: who sent the message, when and under what subject, its workbook attachments
//! (also those of a forwarded message inside it), and what else it carried. Read in a worker, as every
//! untrusted file is, within limits no claim in the message can raise.

use mail_parser::{Message, MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};

use super::{Unreadable, WORKBOOK_EXTENSIONS};
use crate::outfile::fit_name;
use crate::schema::ReadLimits;

/// The extensions of the saved emails `collate` reads: RFC 5322 files, and Outlook's own messages.
pub const MESSAGE_EXTENSIONS: [&str; 2] = ["eml", "msg"];

/// The most attachments one message may carry, forwarded ones included.
const MAX_ATTACHMENTS: usize = 50;

/// How deep forwarded messages are opened: a return forwarded twice is still found.
const MAX_DEPTH: usize = 3;

/// Where a return that came by email came from, as the message states it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageProvenance {
    /// The saved email, as it is named in the inbox.
    pub email_file: String,
    /// The workbook's name as attached.
    pub attachment: String,
    pub sender_address: String,
    pub sender_name: String,
    /// As the message dates itself; `None` when it gives no date that can be read.
    #[serde(with = "crate::text_form::optional")]
    pub sent_at: Option<SentAt>,
    pub subject: String,
    pub message_id: String,
}

/// When a message says it was sent, with the offset it gave.
pub type SentAt = chrono::DateTime<chrono::FixedOffset>;

impl MessageProvenance {
    /// When it was sent, as the store and the JSON report keep it: RFC 3339 (UTC written `Z`, as
    /// mail-parser writes it), empty when not known.
    pub fn sent_at_text(&self) -> String {
        use crate::text_form::TextForm;
        self.sent_at
            .as_ref()
            .map(TextForm::to_text)
            .unwrap_or_default()
    }
}

/// A workbook attached to a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub provenance: MessageProvenance,
    pub bytes: Vec<u8>,
}

/// What a message holds: its workbooks, and the names of the other attachments (not returns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unpacked {
    pub workbooks: Vec<Attachment>,
    pub others: Vec<String>,
}

/// Whether a file in the inbox is a saved email.
pub fn is_message_name(name: &str) -> bool {
    extension_of(name).is_some_and(|e| MESSAGE_EXTENSIONS.contains(&e.as_str()))
}

fn extension_of(name: &str) -> Option<String> {
    std::path::Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Whether a saved email of `size` bytes may be opened at all.
pub fn check_email_size(size: u64, limits: &ReadLimits) -> Result<(), Unreadable> {
    if size > limits.file_bytes() {
        return Err(Unreadable(format!(
            "the email is larger than the {} MB a return may be",
            limits.file_mb
        )));
    }
    Ok(())
}

/// Opens a saved email: every workbook attached to it or to a message forwarded inside it.
pub fn unpack(email_file: &str, bytes: &[u8], limits: &ReadLimits) -> Result<Unpacked, Unreadable> {
    check_email_size(bytes.len() as u64, limits)?;
    if extension_of(email_file).as_deref() == Some("msg") {
        return unpack_outlook(email_file, bytes);
    }
    let message = MessageParser::default()
        .parse(bytes)
        .filter(|m| m.from().is_some() || m.subject().is_some() || m.message_id().is_some())
        .ok_or_else(|| {
            Unreadable("the file is not an email (no sender, subject or message id)".into())
        })?;
    let mut unpacked = Unpacked::default();
    collect(&message, email_file, 0, &mut unpacked)?;
    Ok(unpacked)
}

/// Gathers the attachments of `message`, opening forwarded messages up to `MAX_DEPTH`. A forwarded
/// return keeps the provenance of the message it was forwarded in: that is who sent it to the owner.
fn collect(
    message: &Message<'_>,
    email_file: &str,
    depth: usize,
    unpacked: &mut Unpacked,
) -> Result<(), Unreadable> {
    let outer = provenance(message, email_file);
    for part in message.attachments() {
        if unpacked.workbooks.len() + unpacked.others.len() >= MAX_ATTACHMENTS {
            return Err(Unreadable(format!(
                "the email carries more than {MAX_ATTACHMENTS} attachments"
            )));
        }
        if let Some(forwarded) = part.message() {
            if depth + 1 >= MAX_DEPTH {
                return Err(Unreadable(format!(
                    "the email forwards messages more than {MAX_DEPTH} deep"
                )));
            }
            let before = unpacked.workbooks.len();
            collect(forwarded, email_file, depth + 1, unpacked)?;
            for workbook in &mut unpacked.workbooks[before..] {
                workbook.provenance = MessageProvenance {
                    attachment: workbook.provenance.attachment.clone(),
                    ..outer.clone()
                };
            }
            continue;
        }
        let name = part.attachment_name().unwrap_or("(unnamed attachment)");
        let name = safe_name(name);
        match extension_of(&name) {
            Some(e) if WORKBOOK_EXTENSIONS.contains(&e.as_str()) => {
                unpacked.workbooks.push(Attachment {
                    provenance: MessageProvenance {
                        attachment: name,
                        ..outer.clone()
                    },
                    bytes: part.contents().to_vec(),
                });
            }
            _ => unpacked.others.push(name),
        }
    }
    Ok(())
}

/// An Outlook message (`.msg`, what dragging a message out of Outlook gives): its workbook attachments,
/// also those of a message attached to it (forwarded as an item), with who sent it.
fn unpack_outlook(email_file: &str, bytes: &[u8]) -> Result<Unpacked, Unreadable> {
    let outlook = msg_parser::Outlook::from_slice(bytes)
        .map_err(|error| Unreadable(format!("the file is not an Outlook message ({error})")))?;
    let provenance = outlook_provenance(&outlook, email_file);
    let mut unpacked = Unpacked::default();
    collect_outlook(outlook, &provenance, 0, &mut unpacked)?;
    Ok(unpacked)
}

/// Gathers an Outlook message's attachments, opening attached messages up to `MAX_DEPTH`; every workbook
/// keeps the provenance of the outer message (who sent it to the owner).
fn collect_outlook(
    outlook: msg_parser::Outlook,
    provenance: &MessageProvenance,
    depth: usize,
    unpacked: &mut Unpacked,
) -> Result<(), Unreadable> {
    for attachment in outlook.attachments {
        if unpacked.workbooks.len() + unpacked.others.len() >= MAX_ATTACHMENTS {
            return Err(Unreadable(format!(
                "the email carries more than {MAX_ATTACHMENTS} attachments"
            )));
        }
        if let Some(nested) = attachment.as_message() {
            if depth + 1 >= MAX_DEPTH {
                return Err(Unreadable(format!(
                    "the email forwards messages more than {MAX_DEPTH} deep"
                )));
            }
            let nested = nested.map_err(|error| {
                Unreadable(format!("a message attached to it cannot be read ({error})"))
            })?;
            collect_outlook(nested, provenance, depth + 1, unpacked)?;
            continue;
        }
        let name = [
            &attachment.long_file_name,
            &attachment.file_name,
            &attachment.display_name,
        ]
        .into_iter()
        .find(|n| !n.is_empty())
        .map_or_else(|| "(unnamed attachment)".to_owned(), |n| safe_name(n));
        match extension_of(&name) {
            Some(e) if WORKBOOK_EXTENSIONS.contains(&e.as_str()) => {
                unpacked.workbooks.push(Attachment {
                    provenance: MessageProvenance {
                        attachment: name,
                        ..provenance.clone()
                    },
                    bytes: attachment.payload_bytes,
                });
            }
            _ => unpacked.others.push(name),
        }
    }
    Ok(())
}

/// Who sent an Outlook message, when, and under what subject.
fn outlook_provenance(outlook: &msg_parser::Outlook, email_file: &str) -> MessageProvenance {
    // Outlook's own time of sending (RFC 3339), else the Date its headers kept (RFC 5322).
    let sent_at = chrono::DateTime::parse_from_rfc3339(&outlook.client_submit_time)
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(&outlook.headers.date))
        .ok();
    MessageProvenance {
        email_file: email_file.to_owned(),
        attachment: String::new(),
        // A message saved inside an Exchange organisation may give only an Exchange directory name, not
        // an address mail can be sent to: that is no address.
        sender_address: Some(outlook.sender.email.clone())
            .filter(|address| address.contains('@'))
            .unwrap_or_default(),
        sender_name: outlook.sender.name.clone(),
        sent_at,
        subject: outlook.subject.clone(),
        message_id: outlook
            .headers
            .message_id
            .trim_matches(['<', '>'])
            .to_owned(),
    }
}

/// Who sent the message, when, and under what subject.
fn provenance(message: &Message<'_>, email_file: &str) -> MessageProvenance {
    let sender = message.from().and_then(|from| from.first());
    MessageProvenance {
        email_file: email_file.to_owned(),
        attachment: String::new(),
        sender_address: sender
            .and_then(|s| s.address())
            .unwrap_or_default()
            .to_owned(),
        sender_name: sender.and_then(|s| s.name()).unwrap_or_default().to_owned(),
        sent_at: message
            .date()
            .and_then(|date| chrono::DateTime::parse_from_rfc3339(&date.to_rfc3339()).ok()),
        subject: message.subject().unwrap_or_default().to_owned(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
    }
}

/// An attachment's name as a file name: no folders, nothing a file system refuses.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .map(|c| {
            if ":*?\"<>|".contains(c) || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        // Cut to a length any output can carry, keeping the extension that makes it a workbook.
        fit_name(&cleaned, "", ATTACHMENT_NAME_BYTES)
    }
}

/// The longest attachment name kept, in bytes: beside the email's name in the return's name, and in a
/// file name made from both (which is cut again to fit).
const ATTACHMENT_NAME_BYTES: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "From: PSD Analyst <analyst@psd.police.uk>\r\n\
To: dashboard@police.uk\r\n\
Subject: Q2 return\r\n\
Date: Thu, 15 Oct 2020 10:00:00 +0100\r\n\
Message-ID: <q2@psd.police.uk>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
Please find our return attached.\r\n\
--b\r\n\
Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\
Content-Disposition: attachment; filename=\"PSD Q2.xlsx\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
UEsDBA==\r\n\
--b\r\n\
Content-Type: application/pdf\r\n\
Content-Disposition: attachment; filename=\"minutes.pdf\"\r\n\
\r\n\
%PDF\r\n\
--b--\r\n";

    #[test]
    fn a_message_gives_its_workbooks_with_who_sent_them() {
        let unpacked = unpack("q2.eml", MESSAGE.as_bytes(), &ReadLimits::default());
        let unpacked = unpacked.unwrap_or_default();
        assert_eq!(unpacked.workbooks.len(), 1);
        let workbook = &unpacked.workbooks[0];
        assert_eq!(workbook.bytes, b"PK\x03\x04");
        assert_eq!(workbook.provenance.attachment, "PSD Q2.xlsx");
        assert_eq!(workbook.provenance.sender_address, "analyst@psd.police.uk");
        assert_eq!(workbook.provenance.sender_name, "PSD Analyst");
        assert_eq!(workbook.provenance.subject, "Q2 return");
        assert_eq!(workbook.provenance.message_id, "q2@psd.police.uk");
        assert!(
            workbook
                .provenance
                .sent_at_text()
                .starts_with("2020-10-15T10:00:00")
        );
        assert_eq!(unpacked.others, ["minutes.pdf"]);
    }

    #[test]
    fn a_message_with_too_many_attachments_is_refused() {
        let mut message = String::from(
            "From: a@b.uk\r\nSubject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
        );
        for i in 0..=MAX_ATTACHMENTS {
            message.push_str(&format!(
                "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"{i}.pdf\"\r\n\r\nx\r\n"
            ));
        }
        message.push_str("--b--\r\n");
        let refused = unpack("many.eml", message.as_bytes(), &ReadLimits::default());
        assert!(refused.is_err_and(|e| e.0.contains("more than 50 attachments")));
    }

    #[test]
    fn text_that_is_not_an_email_is_refused() {
        let refused = unpack("x.eml", b"\x00\x01 not mail", &ReadLimits::default());
        assert!(refused.is_err());
    }

    #[test]
    fn attachment_names_cannot_reach_other_folders() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("a:b?.xlsx"), "a-b-.xlsx");
        assert_eq!(safe_name("  "), "attachment");
    }

    #[test]
    fn long_attachment_names_keep_their_extension() {
        let name = format!("PSD quarterly return {}.xlsx", "x".repeat(180));
        let kept = safe_name(&name);
        assert!(kept.len() <= ATTACHMENT_NAME_BYTES, "{}", kept.len());
        assert!(kept.ends_with(".xlsx"), "{kept}");
        assert!(kept.starts_with("PSD quarterly return xxx"), "{kept}");
    }
}
