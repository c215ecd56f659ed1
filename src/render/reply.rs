//! Draft replies to departments: for a return with exceptions, an email the owner opens, reads and sends.
//! It goes to the department's contacts (and the sender when one of them, or when `reply_to_other_senders`
//! allows it), threads under their message, says
//! in plain words what to fix and what to answer, each with its cell, and carries the return's exception
//! workbook. `X-Unsent: 1` makes Outlook open it as an editable draft rather than a received message.

use crate::draft::{Attachment, DraftMessage, XLSX};
use crate::exception::Exception;
use crate::schema::{Department, Schemas, Severity};
use crate::store::ProcessedReturn;

/// The draft reply for a return with exceptions; `None` for a clean return.
pub fn reply_draft(
    schemas: &Schemas,
    processed: &ProcessedReturn,
    report: &[u8],
) -> std::io::Result<Option<Vec<u8>>> {
    let exceptions = processed.validated.exceptions();
    if exceptions.is_empty() {
        return Ok(None);
    }
    let department = processed
        .validated
        .department()
        .and_then(|id| schemas.department(id));
    if reply_withheld(schemas, processed).is_some() {
        return Ok(None);
    }
    let sender = (processed.message.as_ref()).map(|m| m.sender_address.as_str());
    let recipients = reply_recipients(department, sender.filter(|s| !s.is_empty()));
    let subject = match &processed.message {
        Some(message) => format!("Re: {}", message.subject.trim_start_matches("Re: ")),
        None => format!("Your return {}", processed.source_file),
    };
    // Fixed from the return itself, so that the same return always gives the same draft.
    let key: String = processed.sha256.chars().take(16).collect();
    let sent = chrono::DateTime::parse_from_rfc3339(&processed.received_at)
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let draft = DraftMessage {
        from: None,
        to: recipients,
        subject,
        message_id: format!("{key}.reply@collate"),
        date: sent,
        in_reply_to: (processed.message.as_ref())
            .map(|m| m.message_id.clone())
            .filter(|id| !id.is_empty()),
        unsent: true,
        boundary: format!("collate-{key}"),
        text: body_text(schemas, processed, department.map(|d| d.name.as_str())),
        attachment: Some(Attachment {
            // Named after the workbook the department sent, not the saved email it came in.
            name: crate::outfile::fit_file_name(returned_workbook(processed), ".exceptions.xlsx"),
            content_type: XLSX.to_owned(),
            bytes: report.to_vec(),
        }),
    };
    draft.to_eml().map(Some)
}

/// The name of the workbook a return came as: its attachment's name when it came by email.
fn returned_workbook(processed: &ProcessedReturn) -> &str {
    (processed.message.as_ref())
        .map(|m| m.attachment.as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or(&processed.source_file)
}

pub fn reply_recipients(department: Option<&Department>, sender: Option<&str>) -> Vec<String> {
    let contacts: Vec<String> = department
        .map(|d| d.contact_addresses())
        .unwrap_or_default();
    let named = department.is_none_or(|d| !d.contacts.is_empty());
    match sender {
        Some(sender) if named && !contacts.iter().any(|c| c.eq_ignore_ascii_case(sender)) => {
            contacts.into_iter().chain([sender.to_owned()]).collect()
        }
        _ => contacts,
    }
}

/// Why no reply is drafted for a return, if none is: it was emailed by someone who is not one of its
/// department's contacts (or it could not be told whose it is), and `dashboard.toml` does not allow
/// replies to other senders. The owner is told; the department is not written to.
pub fn reply_withheld(schemas: &Schemas, processed: &ProcessedReturn) -> Option<String> {
    let message = processed.message.as_ref()?;
    let department = processed
        .validated
        .department()
        .and_then(|id| schemas.department(id));
    withheld_from(schemas, department, &message.sender_address)
}

/// [`reply_withheld`] for a return by its department (if known) and the address that emailed it.
pub fn withheld_from(
    schemas: &Schemas,
    department: Option<&Department>,
    sender: &str,
) -> Option<String> {
    if schemas.dashboard.mail.reply_to_other_senders || sender.is_empty() {
        return None;
    }
    match department {
        // No contacts yet: the draft is written unaddressed, for the owner to address.
        Some(d) if d.contacts.is_empty() || d.is_contact(sender) => None,
        Some(d) => Some(format!("{sender} is not one of the contacts of {}", d.name)),
        None => Some(format!(
            "it could not be told which department's return it is, so {sender} may be anyone"
        )),
    }
}

/// The reply's words: what was received, then the errors to fix and the queries to answer.
fn body_text(schemas: &Schemas, processed: &ProcessedReturn, department: Option<&str>) -> String {
    let exceptions = processed.validated.exceptions();
    let what = returned_workbook(processed);
    let period = processed
        .validated
        .period_label()
        .map(|p| format!(" for {p}"))
        .unwrap_or_default();
    let mut text = format!(
        "Dear {},\n\nThank you for your return{period} ({what}).\n\n",
        department.unwrap_or("colleague")
    );
    if processed.validated.accepted() {
        text.push_str("It has been accepted. Please answer the queries below; a corrected return is welcome if a figure was wrong.\n");
    } else {
        text.push_str("It could not be accepted yet: please correct what is listed under \"To fix\" and send the return again.\n");
    }
    for (heading, severity) in [
        ("To fix", Severity::Error),
        ("Queries to answer", Severity::Warning),
    ] {
        // Who may send a department's returns is the owner's business, not the department's.
        let sender_check = crate::validate::BuiltinCheck::SenderNotAContact.id();
        let listed: Vec<&Exception> = exceptions
            .iter()
            .filter(|e| e.severity == severity && e.rule_id != sender_check)
            .collect();
        if listed.is_empty() {
            continue;
        }
        text.push_str(&format!("\n{heading}:\n"));
        for exception in listed {
            text.push_str(&format!("- {}\n", line(exception)));
        }
    }
    text.push_str(&format!(
        "\nThe attached workbook lists each of these with its cell.\n\nKind regards,\n{} {}\n",
        schemas.dashboard.force, schemas.dashboard.title
    ));
    text
}

/// One exception as the department reads it: where, what is wrong, what to do.
fn line(exception: &Exception) -> String {
    let place = match (exception.sheet.as_str(), exception.cell.as_str()) {
        ("", _) => String::new(),
        (sheet, "") => format!("{sheet}: "),
        (sheet, cell) => format!("{sheet}!{cell}: "),
    };
    let mut line = format!("{place}{}", exception.message);
    if !exception.guidance.is_empty() {
        line.push_str(&format!(". {}", exception.guidance));
    }
    line
}

/// What a reminder is about: the return owed, by whom, by when, and its template.
pub struct Reminder<'a> {
    pub owed: &'a super::OwedReturn,
    /// The department's contact addresses (none: the owner addresses it).
    pub to: Vec<String>,
    pub period: crate::period::Period,
    /// "30/10/2020".
    pub due: String,
    /// Whether the due date had passed when the reminder was written.
    pub overdue: bool,
    pub template: &'a [u8],
}

/// A reminder draft for a return still owed: to the department's contacts, with its template attached
/// (filled in with the period and the year's figures so far) and the due date in the body.
pub fn reminder_draft(schemas: &Schemas, reminder: &Reminder<'_>) -> std::io::Result<Vec<u8>> {
    let owed = reminder.owed;
    let key = short_hash(&format!("{}|{}", reminder.period, owed.file));
    let status = match &owed.rejected_file {
        None => "We have not received it yet.".to_owned(),
        Some(file) => {
            format!("The one we received ({file}) could not be accepted; the reply to it says why.")
        }
    };
    let when = match reminder.overdue {
        true => format!("has been overdue since {}", reminder.due),
        false => format!("is due by {}", reminder.due),
    };
    let body = format!(
        "Dear {},\n\nA reminder that your {} for {} {when}. {status}\n\n\
         The template is attached, already filled in with the period, your department and the figures \
         accepted so far this year: please fill in the yellow cells and send it back.\n\n\
         Kind regards,\n{} {}\n",
        owed.department,
        owed.template,
        reminder.period,
        schemas.dashboard.force,
        schemas.dashboard.title
    );
    let draft = DraftMessage {
        from: None,
        to: reminder.to.clone(),
        subject: format!(
            "Reminder: {} for {}, {}",
            owed.template,
            reminder.period,
            match reminder.overdue {
                true => format!("overdue since {}", reminder.due),
                false => format!("due by {}", reminder.due),
            }
        ),
        message_id: format!("{key}.reminder@collate"),
        date: reminder_date(reminder.period),
        in_reply_to: None,
        unsent: true,
        boundary: format!("collate-{key}"),
        text: body,
        attachment: Some(Attachment {
            name: owed.file.clone(),
            content_type: XLSX.to_owned(),
            bytes: reminder.template.to_vec(),
        }),
    };
    draft.to_eml()
}

/// The end of the period reminded about, as the draft's date: fixed, so the same pack gives the same bytes.
fn reminder_date(period: crate::period::Period) -> i64 {
    period
        .quarter
        .and_then(|q| q.last_day(period.year))
        .and_then(|day| day.and_hms_opt(12, 0, 0))
        .map_or(0, |time| time.and_utc().timestamp())
}

/// The first 16 hex digits of a text's SHA-256: a stable key for a draft's id and boundary.
fn short_hash(text: &str) -> String {
    crate::digest::sha256_prefix(text.as_bytes(), 8)
}
