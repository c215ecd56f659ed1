//! An email `collate` drafts (a reply to a return, a reminder of a return owed) as a typed record, and
//! its one way to and from the `.eml` file the owner previews: mail-builder writes it, mail-parser reads
//! it back. Re-addressing a draft and sending it change the record and write it again; no header is ever
//! spliced into text.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use mail_parser::{MessageParser, MimeHeaders};

/// The longest display name written into a header: a name is a name, not a paragraph.
const NAME_CHARS: usize = 80;

/// One message, as `collate` drafts and sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftMessage {
    /// Who it is from: nobody while a draft (the owner's mail program fills it in), the owner once sent.
    pub from: Option<Mailbox>,
    pub to: Vec<String>,
    pub subject: String,
    /// Without the angle brackets.
    pub message_id: String,
    /// Seconds since 1970, UTC.
    pub date: i64,
    /// The message it answers, without the angle brackets; written as `In-Reply-To` and `References`.
    pub in_reply_to: Option<String>,
    /// Marked `X-Unsent: 1`, so that Outlook opens it as a draft to edit and send.
    pub unsent: bool,
    /// The boundary between its parts: fixed by `collate`, so the same draft is the same bytes.
    pub boundary: String,
    pub text: String,
    pub attachment: Option<Attachment>,
}

/// An address, with the name shown beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// The one file a draft carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The content type of the workbooks `collate` attaches.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl DraftMessage {
    /// The message as an `.eml` file: headers in a fixed order, a name that is not plain ASCII encoded.
    pub fn to_eml(&self) -> std::io::Result<Vec<u8>> {
        let mut message = MessageBuilder::new();
        if let Some(from) = &self.from {
            message = message.from(Address::new_address(
                from.name.as_deref().map(one_line_name),
                from.address.as_str(),
            ));
        }
        message = message
            .subject(self.subject.as_str())
            .message_id(self.message_id.as_str())
            .date(self.date);
        if self.unsent {
            message = message.header("X-Unsent", Raw::new("1"));
        }
        if !self.to.is_empty() {
            message = message.to(self.to.iter().map(String::as_str).collect::<Vec<_>>());
        }
        if let Some(id) = &self.in_reply_to {
            message = message.in_reply_to(id.as_str()).references(id.as_str());
        }
        message.body(self.parts()).write_to_vec()
    }

    fn parts(&self) -> MimePart<'_> {
        let mut parts = vec![MimePart::new("text/plain", self.text.as_str())];
        if let Some(attachment) = &self.attachment {
            parts.push(
                MimePart::new(
                    attachment.content_type.as_str(),
                    attachment.bytes.as_slice(),
                )
                .attachment(attachment.name.as_str()),
            );
        }
        MimePart::new(
            ContentType::new("multipart/mixed").attribute("boundary", self.boundary.as_str()),
            parts,
        )
    }

    /// The record an `.eml` file holds; `None` if it is not an email.
    pub fn from_eml(bytes: &[u8]) -> Option<DraftMessage> {
        let message = MessageParser::default().parse(bytes)?;
        let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
            list.into_iter()
                .flat_map(|list| list.iter())
                .filter_map(|address| address.address())
                .map(str::to_owned)
                .collect()
        };
        let from = (message.from().and_then(|list| list.first())).and_then(|from| {
            Some(Mailbox {
                name: from.name().map(str::to_owned),
                address: from.address()?.to_owned(),
            })
        });
        let attachment = message.attachments().next().map(|part| Attachment {
            name: part.attachment_name().unwrap_or_default().to_owned(),
            content_type: (part.content_type())
                .map(|t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or_default()))
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            bytes: part.contents().to_vec(),
        });
        Some(DraftMessage {
            from,
            to: addresses(message.to()),
            subject: message.subject().unwrap_or_default().to_owned(),
            message_id: message.message_id().unwrap_or_default().to_owned(),
            date: message.date().map_or(0, |date| date.to_timestamp()),
            in_reply_to: message.in_reply_to().as_text().map(str::to_owned),
            unsent: message.header("X-Unsent").is_some(),
            boundary: (message.content_type())
                .and_then(|t| t.attribute("boundary"))
                .unwrap_or("collate")
                .to_owned(),
            text: message.body_text(0).unwrap_or_default().into_owned(),
            attachment,
        })
    }

    /// Whether it goes to exactly these addresses, whatever their order and case.
    pub fn addressed_to(&self, to: &[String]) -> bool {
        let set = |list: &[String]| {
            let mut list: Vec<String> = list.iter().map(|a| a.to_ascii_lowercase()).collect();
            list.sort();
            list.dedup();
            list
        };
        set(&self.to) == set(to)
    }
}

/// A display name kept to one short line: no control character can start a header of its own.
fn one_line_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(NAME_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply() -> DraftMessage {
        DraftMessage {
            from: None,
            to: vec!["psd@example.uk".into(), "deputy@example.uk".into()],
            subject: "Re: PSD Q2 return – 2020/21".into(),
            message_id: "0123456789abcdef.reply@collate".into(),
            date: 1_601_467_200,
            in_reply_to: Some("x@dept.example.uk".into()),
            unsent: true,
            boundary: "collate-0123456789abcdef".into(),
            text: "Dear Professional Standards,\n\nThank you — please answer:\n- Cover!C4: £12\n"
                .into(),
            attachment: Some(Attachment {
                name: "PSD return.exceptions.xlsx".into(),
                content_type: XLSX.into(),
                bytes: vec![0x50, 0x4b, 3, 4, 0, 255, 13, 10],
            }),
        }
    }

    #[test]
    fn a_draft_read_back_is_the_same_record_and_written_again_the_same_bytes() {
        let draft = reply();
        let eml = draft.to_eml().expect("written");
        let read = DraftMessage::from_eml(&eml).expect("an email");
        assert_eq!(read.to, draft.to);
        assert_eq!(read.subject, draft.subject);
        assert_eq!(read.in_reply_to, draft.in_reply_to);
        assert_eq!(read.attachment, draft.attachment);
        assert_eq!(read.to_eml().expect("written"), eml);
        let sent = DraftMessage {
            from: Some(Mailbox {
                name: Some("Siân Owen".into()),
                address: "owner@example.uk".into(),
            }),
            unsent: false,
            ..read
        };
        let eml = sent.to_eml().expect("written");
        assert_eq!(
            DraftMessage::from_eml(&eml).map(|m| m.to_eml().expect("written")),
            Some(eml)
        );
    }

    #[test]
    fn a_name_cannot_add_a_header_and_is_encoded_when_not_ascii() {
        let sent = DraftMessage {
            from: Some(Mailbox {
                name: Some("Integrity \"Dashboard\"\r\nBcc: x@y".into()),
                address: "owner@example.uk".into(),
            }),
            ..reply()
        };
        let eml = String::from_utf8(sent.to_eml().expect("written")).expect("ASCII");
        let headers = eml.split("\r\n\r\n").next().unwrap_or_default();
        assert!(
            headers.starts_with(
                "From: \"Integrity \\\"Dashboard\\\"Bcc: x@y\" <owner@example.uk>\r\n"
            ),
            "{headers}"
        );
        assert!(!headers.contains("\nBcc"), "{headers}");
        let named = DraftMessage {
            from: Some(Mailbox {
                name: Some("Siân Owen".into()),
                address: "owner@example.uk".into(),
            }),
            ..reply()
        };
        let eml = named.to_eml().expect("written");
        let from = String::from_utf8_lossy(&eml);
        let from = from.lines().next().unwrap_or_default();
        assert!(from.is_ascii() && from.contains("=?"), "{from}");
        let read = DraftMessage::from_eml(&eml).and_then(|m| m.from);
        assert_eq!(read.and_then(|f| f.name).as_deref(), Some("Siân Owen"));
    }

    #[test]
    fn addresses_are_compared_whatever_their_order_and_case() {
        let draft = reply();
        assert!(draft.addressed_to(&["Deputy@example.uk".into(), "psd@example.uk".into()]));
        assert!(!draft.addressed_to(&["psd@example.uk".into()]));
    }
}
