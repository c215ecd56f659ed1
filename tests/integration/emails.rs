//! Returns that arrive as saved emails: every workbook attached is a return, with the message it came
//! in; an email with no workbook is set aside with the reason. The emails were written by Python's own
//! `email` package (`scripts/make-email-fixtures.py`).

use std::path::{Path, PathBuf};

use crate::support::{Installation, repo, sheet_rows};

fn emails(folder: &str) -> PathBuf {
    repo().join("tests/fixtures/emails").join(folder)
}

/// Copies emails into the inbox, as saved an hour ago (settled).
fn receive_emails(installation: &Installation, paths: &[PathBuf]) {
    for (i, path) in paths.iter().enumerate() {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        installation.receive(&name, &std::fs::read(path).expect("email"), i as u64);
    }
}

fn sample_emails() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(emails("sample"))
        .expect("sample emails")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
}

/// A sheet's rows with the columns named `without` left out, sorted.
fn table_without(path: &Path, sheet: &str, without: &[&str]) -> Vec<Vec<String>> {
    let rows = sheet_rows(path, sheet);
    let keep: Vec<usize> = (0..rows[0].len())
        .filter(|&c| !without.contains(&rows[0][c].as_str()))
        .collect();
    let mut table: Vec<Vec<String>> = rows[1..]
        .iter()
        .map(|row| {
            keep.iter()
                .map(|&c| row.get(c).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    table.sort();
    table
}

#[test]
fn the_sample_returns_sent_as_emails_give_the_same_tables_as_the_files() {
    let files = Installation::with_sample_inbox();
    assert_eq!(files.run(), 0);
    let mail = Installation::new();
    receive_emails(&mail, &sample_emails());
    assert_eq!(mail.run(), 0, "every return attached is accepted");
    for (sheet, provenance) in [("Data", ["source_file"]), ("PlanStatus", ["source_file"])] {
        assert_eq!(
            table_without(&mail.dashboard(), sheet, &provenance),
            table_without(&files.dashboard(), sheet, &provenance),
            "{sheet}"
        );
    }
    let data = sheet_rows(&mail.dashboard(), "Data");
    assert!(
        data.iter()
            .any(|row| row[5] == "PSD returns.eml › 2020-21 Q2 PSD return.xlsx"),
        "a figure names the email and the attachment"
    );
    let returns = sheet_rows(&mail.dashboard(), "Returns");
    assert_eq!(
        returns[0][..5],
        ["Received", "File", "Department", "Period", "Sent by"]
    );
    let psd_q2 = returns
        .iter()
        .find(|row| row[1] == "PSD returns.eml › 2020-21 Q2 PSD return.xlsx")
        .expect("the PSD Q2 return in the Returns view");
    assert_eq!(
        psd_q2[2..],
        [
            "Professional Standards",
            "2020/21 Q2",
            "PSD Performance Analyst <psd.performance@example.police.uk>",
            "15/10/2020 14:05",
            "PSD integrity returns",
            "accepted, 2 queries"
        ]
    );
    let again = mail.collate(&["run"]);
    assert!(
        crate::support::stderr(&again).contains("0 accepted, 0 rejected, 21 already processed"),
        "{}",
        crate::support::stderr(&again)
    );
}

#[test]
fn an_email_with_no_workbook_is_set_aside_with_the_reason() {
    let installation = Installation::new();
    receive_emails(&installation, &[emails("PDF only.eml")]);
    assert_eq!(installation.run(), 0);
    let aside = installation.inbox().join("set aside");
    assert!(
        aside.join("PDF only.eml").exists(),
        "kept, unchanged, set aside"
    );
    let reason = std::fs::read_to_string(aside.join("PDF only.eml.reason.txt")).expect("reason");
    assert!(
        reason.contains("carries no spreadsheet return (its attachments: minutes.pdf)"),
        "{reason}"
    );
}

#[test]
fn a_return_forwarded_in_an_email_is_read_with_who_forwarded_it() {
    let installation = Installation::new();
    receive_emails(&installation, &[emails("forwarded PSD return.eml")]);
    assert_eq!(installation.run(), 0);
    let report = installation
        .outbox()
        .join("returns/forwarded PSD return.eml › 2020-21 Q2 PSD return.xlsx.exceptions.json");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the return's report"))
            .expect("JSON");
    let message = &report["message"];
    assert_eq!(message["sender_address"], "deputy@example.police.uk");
    assert_eq!(message["subject"], "Fw: PSD Q2 return");
    assert_eq!(message["attachment"], "2020-21 Q2 PSD return.xlsx");
    assert_eq!(message["email_file"], "forwarded PSD return.eml");
}

#[test]
fn the_same_return_saved_as_a_file_and_attached_to_an_email_counts_once() {
    let installation = Installation::new();
    let psd = std::fs::read(repo().join("inbox/2020-21 Q2 PSD return.xlsx")).expect("sample");
    installation.receive("2020-21 Q2 PSD return.xlsx", &psd, 0);
    receive_emails(&installation, &[emails("forwarded PSD return.eml")]);
    let output = installation.collate(&["run"]);
    let log = crate::support::stderr(&output);
    assert!(
        log.contains("1 accepted, 0 rejected, 1 already processed"),
        "{log}"
    );
}

/// The installation's PSD entry given contacts (and, if any, how a stranger's return is raised).
fn psd_contacts(installation: &Installation, extra: &str) {
    let path = installation
        .inbox()
        .with_file_name("schemas")
        .join("departments.toml");
    let text = std::fs::read_to_string(&path).expect("departments.toml");
    let psd = "aliases = [\"PSD\", \"Professional Standards Department\"]";
    assert!(text.contains(psd));
    let with = format!("{psd}\ncontacts = [\"psd.performance@example.police.uk\"]\n{extra}");
    std::fs::write(&path, text.replace(psd, &with)).expect("write");
}

#[test]
fn a_return_from_someone_not_a_contact_gets_no_reply_and_the_owner_is_told() {
    let installation = Installation::new();
    psd_contacts(&installation, "");
    receive_emails(&installation, &[emails("forwarded PSD return.eml")]);
    let output = installation.collate(&["run"]);
    let log = crate::support::stderr(&output);
    assert!(
        log.contains("no reply drafted: deputy@example.police.uk is not one of the contacts of Professional Standards"),
        "{log}"
    );
    let replies = installation.outbox().join("replies");
    let drafted = std::fs::read_dir(&replies).map_or(0, |entries| entries.count());
    assert_eq!(drafted, 0, "nothing is drafted to a stranger");
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    let said = warnings
        .iter()
        .find(|row| row.iter().any(|c| c == "sender-not-a-contact"))
        .map(|row| row.join(" | "))
        .expect("the owner is told");
    assert!(said.contains("No reply is drafted to the sender"), "{said}");

    // Where the owner allows it, the reply goes to the department's contacts and the sender.
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    std::fs::write(
        &dashboard,
        format!("{text}\n[mail]\nreply_to_other_senders = true\n"),
    )
    .expect("write");
    assert_eq!(installation.collate(&["rebuild"]).status.code(), Some(0));
    let draft = crate::support::first_draft(&replies);
    let bytes = std::fs::read(draft).expect("the reply");
    let message = mail_parser::MessageParser::default()
        .parse(&bytes)
        .expect("a message");
    let to: Vec<&str> = message
        .to()
        .map(|to| to.iter().filter_map(|a| a.address()).collect())
        .unwrap_or_default();
    assert_eq!(
        to,
        [
            "psd.performance@example.police.uk",
            "deputy@example.police.uk"
        ]
    );
    let body = message.body_text(0).expect("body");
    assert!(
        !body.contains("departments.toml"),
        "nothing tells a department to change settings: {body}"
    );

    // Allowed no longer: the next run withdraws the reply drafted meanwhile, so it is never sent.
    let text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    std::fs::write(
        &dashboard,
        text.replace("reply_to_other_senders = true", ""),
    )
    .expect("write");
    assert_eq!(installation.run(), 0);
    assert_eq!(std::fs::read_dir(&replies).map_or(0, |e| e.count()), 0);
    let withdrawn = installation.outbox().join("withdrawn");
    let why = std::fs::read_dir(&withdrawn)
        .expect("withdrawn")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with(".why.txt"))
        .map(|p| std::fs::read_to_string(p).expect("why"))
        .expect("a note of why");
    assert!(why.contains("no reply goes to this sender"), "{why}");
}

#[test]
fn a_return_emailed_by_someone_not_a_contact_of_its_department_is_queried() {
    let installation = Installation::new();
    psd_contacts(&installation, "");
    receive_emails(&installation, &[emails("forwarded PSD return.eml")]);
    assert_eq!(installation.run(), 0, "a query only");
    let output = installation.collate(&["check", "inbox/forwarded PSD return.eml"]);
    let report = crate::support::stdout(&output);
    assert!(
        report.contains("warning sender-not-a-contact")
            && report.contains("emailed by deputy@example.police.uk, who is not one of its contacts (psd.performance@example.police.uk)"),
        "{report}"
    );
}

#[test]
fn where_the_schema_says_so_a_strangers_return_is_rejected() {
    let installation = Installation::new();
    psd_contacts(&installation, "sender_not_a_contact = \"error\"");
    receive_emails(&installation, &[emails("forwarded PSD return.eml")]);
    assert_eq!(installation.run(), 1, "rejected");
    let rows = sheet_rows(&installation.exceptions(), "Rejected");
    assert!(
        rows.iter()
            .any(|row| row.iter().any(|c| c == "sender-not-a-contact")),
        "{rows:?}"
    );
}

#[test]
fn a_return_from_a_contact_raises_nothing_about_its_sender() {
    let installation = Installation::new();
    psd_contacts(&installation, "");
    receive_emails(&installation, &[emails("sample/PSD returns.eml")]);
    assert_eq!(installation.run(), 0);
    let rows = sheet_rows(&installation.exceptions(), "Warnings");
    assert!(
        !rows
            .iter()
            .any(|row| row.iter().any(|c| c == "sender-not-a-contact")),
        "{rows:?}"
    );
}

/// The draft reply to the forwarded PSD return (its sender one of PSD's contacts), after a run.
fn forwarded_reply(installation: &Installation) -> PathBuf {
    installation.set_contacts("PSD", &["deputy@example.police.uk"]);
    receive_emails(installation, &[emails("forwarded PSD return.eml")]);
    assert_eq!(installation.run(), 0);
    installation
        .outbox()
        .join("replies/forwarded PSD return.eml › 2020-21 Q2 PSD return.xlsx.eml")
}

#[test]
fn a_return_with_queries_gets_a_draft_reply_threaded_under_its_email() {
    use calamine::Reader;
    use mail_parser::{MessageParser, MimeHeaders};
    let installation = Installation::new();
    let bytes = std::fs::read(forwarded_reply(&installation)).expect("the draft reply");
    let draft = MessageParser::default().parse(&bytes).expect("a message");
    let to = draft
        .to()
        .and_then(|to| to.first())
        .and_then(|a| a.address());
    assert_eq!(to, Some("deputy@example.police.uk"));
    assert_eq!(draft.subject(), Some("Re: Fw: PSD Q2 return"));
    assert_eq!(
        draft.in_reply_to().as_text(),
        Some("sample-21@example.police.uk")
    );
    assert_eq!(draft.header_raw("X-Unsent").map(str::trim), Some("1"));
    let body = draft.body_text(0).expect("a text body");
    assert!(
        body.contains("Queries to answer:") && body.contains("- PSD!E8: "),
        "{body}"
    );
    let attachment = draft.attachment(0).expect("the exceptions workbook");
    assert_eq!(
        attachment.attachment_name(),
        Some("2020-21 Q2 PSD return.xlsx.exceptions.xlsx")
    );
    let mut workbook =
        calamine::Xlsx::new(std::io::Cursor::new(attachment.contents().to_vec())).expect("xlsx");
    let sheet = workbook
        .worksheet_range("Exceptions")
        .expect("Exceptions sheet");
    let places: Vec<String> = sheet
        .rows()
        .filter_map(|row| row.first().map(|c| c.to_string()))
        .collect();
    assert!(places.iter().any(|p| p.contains("E8")), "{places:?}");
}

#[test]
fn pythons_email_package_reads_the_draft_reply_the_same_way() {
    let installation = Installation::new();
    let draft = forwarded_reply(&installation);
    let script = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
print(json.dumps({
    'to': str(m['To']), 'subject': str(m['Subject']), 'in_reply_to': str(m['In-Reply-To']),
    'unsent': str(m['X-Unsent']), 'body': m.get_body(('plain',)).get_content(),
    'attachments': [a.get_filename() for a in m.iter_attachments()],
}))
"#;
    let read = crate::support::python_script_json(script, &draft);
    assert_eq!(read["to"], "deputy@example.police.uk");
    assert_eq!(read["subject"], "Re: Fw: PSD Q2 return");
    assert_eq!(read["in_reply_to"], "<sample-21@example.police.uk>");
    assert_eq!(read["unsent"], "1");
    assert!(
        read["body"]
            .as_str()
            .is_some_and(|b| b.contains("PSD!D6: "))
    );
    assert_eq!(
        read["attachments"][0],
        "2020-21 Q2 PSD return.xlsx.exceptions.xlsx"
    );
}

#[test]
fn a_reminder_written_before_the_due_date_says_due_by() {
    use mail_parser::MessageParser;
    let installation = Installation::with_sample_inbox();
    psd_contacts(&installation, "");
    // Due a year and more after the quarter just ended: not yet due today.
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    let text = text.replace("returns_due_days = 30", "returns_due_days = 400");
    std::fs::write(&dashboard, text).expect("write");
    assert_eq!(installation.run(), 0);
    let output = installation.collate(&["pack"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let packs = std::fs::read_dir(installation.outbox().join("pack")).expect("a pack");
    let folder = packs
        .map(|e| e.expect("entry").path())
        .next()
        .expect("its folder");
    let reminder = crate::support::first_draft(&folder);
    let bytes = std::fs::read(reminder).expect("the reminder");
    let draft = MessageParser::default().parse(&bytes).expect("a message");
    let subject = draft.subject().unwrap_or_default();
    assert!(
        subject.contains(", due by ") && !subject.contains("overdue"),
        "{subject}"
    );
    let body = draft.body_text(0).expect("body");
    assert!(body.contains(" is due by "), "{body}");
}

#[test]
fn the_pack_has_a_reminder_draft_for_each_return_owed_with_its_template() {
    use mail_parser::{MessageParser, MimeHeaders};
    let installation = Installation::with_sample_inbox();
    psd_contacts(&installation, "");
    std::fs::remove_file(installation.inbox().join("2020-21 Q2 PSD return.xlsx")).expect("remove");
    assert_eq!(installation.run(), 0);
    let output = installation.collate(&["pack", "--period", "2020/21-Q2"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let folder = installation.outbox().join("pack/2020-21 Q2");
    let bytes =
        std::fs::read(folder.join("Reminder - 2020-21 Q2 Professional Standards return.eml"))
            .expect("the reminder");
    let draft = MessageParser::default().parse(&bytes).expect("a message");
    let to = draft
        .to()
        .and_then(|to| to.first())
        .and_then(|a| a.address());
    assert_eq!(to, Some("psd.performance@example.police.uk"));
    // Written long after its due date, it says so.
    assert_eq!(
        draft.subject(),
        Some(
            "Reminder: Professional Standards quarterly integrity return for 2020/21 Q2, overdue since 30/10/2020"
        )
    );
    assert_eq!(draft.header_raw("X-Unsent").map(str::trim), Some("1"));
    let body = draft.body_text(0).expect("body");
    assert!(body.contains("has been overdue since 30/10/2020"), "{body}");
    let attachment = draft.attachment(0).expect("the template");
    assert_eq!(
        attachment.attachment_name(),
        Some("2020-21 Q2 Professional Standards return.xlsx")
    );
    let template = std::fs::read(folder.join("2020-21 Q2 Professional Standards return.xlsx"))
        .expect("template");
    assert_eq!(
        attachment.contents(),
        template.as_slice(),
        "the pack's own template"
    );
}

/// What Python's extract-msg (an independent reader) reads from an Outlook message.
fn extract_msg(path: &Path) -> serde_json::Value {
    let script = r#"
import extract_msg, hashlib, json, sys
m = extract_msg.openMsg(sys.argv[1])
print(json.dumps({
    'subject': m.subject, 'sender': m.sender,
    'attachments': [[a.longFilename, hashlib.sha256(a.data).hexdigest()] for a in m.attachments],
}))
"#;
    crate::support::python_script_json(script, path)
}

#[test]
fn an_outlook_message_carrying_a_return_is_read_as_extract_msg_reads_it() {
    let installation = Installation::new();
    let message = emails("outlook/PSD return from Outlook.msg");
    receive_emails(&installation, std::slice::from_ref(&message));
    assert_eq!(installation.run(), 0, "the return attached is accepted");
    let read = extract_msg(&message);
    let (name, sha256) = (&read["attachments"][0][0], &read["attachments"][0][1]);
    assert_eq!(name, "2020-21 Q2 PSD return.xlsx");
    let report = installation
        .outbox()
        .join("returns/PSD return from Outlook.msg › 2020-21 Q2 PSD return.xlsx.exceptions.json");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("report")).expect("JSON");
    assert_eq!(&report["sha256"], sha256, "the same attachment bytes");
    assert_eq!(report["message"]["attachment"], *name);
    assert_eq!(report["message"]["subject"], read["subject"]);
    assert_eq!(report["message"]["sender_name"], read["sender"]);
    assert_eq!(
        report["message"]["sender_address"], "",
        "Outlook kept only an Exchange directory name, which is no address"
    );
}

#[test]
fn an_outlook_message_with_no_return_is_set_aside_naming_its_attachments() {
    let installation = Installation::new();
    let message = emails("outlook/from Outlook, no return.msg");
    receive_emails(&installation, std::slice::from_ref(&message));
    assert_eq!(installation.run(), 0);
    let names: Vec<String> = extract_msg(&message)["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .filter_map(|a| a[0].as_str().map(str::to_owned))
        .collect();
    let reason = std::fs::read_to_string(
        installation
            .inbox()
            .join("set aside/from Outlook, no return.msg.reason.txt"),
    )
    .expect("reason");
    assert!(
        reason.contains(&format!("(its attachments: {})", names.join(", "))),
        "{reason}"
    );
}

#[test]
fn a_return_in_an_outlook_message_forwarded_as_an_item_is_found() {
    let installation = Installation::new();
    let message = emails("outlook/PSD return forwarded as an item.msg");
    receive_emails(&installation, std::slice::from_ref(&message));
    assert_eq!(installation.run(), 0, "the return inside is accepted");
    let script = r#"
import extract_msg, hashlib, json, sys
inner = extract_msg.openMsg(sys.argv[1]).attachments[0].data
print(json.dumps([[a.longFilename, hashlib.sha256(a.data).hexdigest()] for a in inner.attachments]))
"#;
    let inner = crate::support::python_script_json(script, &message);
    let report = installation.outbox().join(
        "returns/PSD return forwarded as an item.msg › 2020-21 Q2 PSD return.xlsx.exceptions.json",
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("report")).expect("JSON");
    assert_eq!(inner[0][0], "2020-21 Q2 PSD return.xlsx");
    assert_eq!(
        report["sha256"], inner[0][1],
        "the bytes extract-msg reads in the inner message"
    );
    assert_eq!(
        report["message"]["subject"], "Test Email",
        "the outer message's"
    );
}

#[test]
fn collate_use_takes_an_emailed_return_by_the_name_the_outputs_give_it() {
    let installation = Installation::new();
    receive_emails(&installation, &[emails("forwarded PSD return.eml")]);
    assert_eq!(installation.run(), 0);
    let later = crate::support::edited_seed_draft(&installation, "psd-quarterly", |psd| {
        let row = psd.rows.iter_mut().find(|row| row.1 == "complaints");
        row.expect("row").3[1] = Some(25.0);
    });
    let bytes = later.to_bytes().expect("workbook");
    installation.receive("PSD corrected.xlsx", &bytes, 60);
    let second = installation.collate(&["run"]);
    let log = crate::support::stderr(&second);
    assert!(
        log.contains("in use in place of \"forwarded PSD return.eml › "),
        "{log}"
    );
    let not_in_use = sheet_rows(&installation.exceptions(), "Not in use");
    let why = not_in_use
        .iter()
        .find(|row| {
            row.get(2)
                .is_some_and(|f| f.starts_with("forwarded PSD return.eml › "))
        })
        .map(|row| row[5].clone())
        .expect("the emailed return is listed as not in use");
    // The command the sheet gives, as the owner would paste it.
    let command = why.split("collate use ").nth(1).expect("a command");
    let name = command.trim().trim_matches('"');
    let chosen = installation.collate(&["use", name]);
    assert_eq!(
        chosen.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&chosen)
    );
    let not_in_use = sheet_rows(&installation.exceptions(), "Not in use");
    assert!(
        not_in_use
            .iter()
            .any(|row| row.get(2).is_some_and(|f| f == "PSD corrected.xlsx")),
        "{not_in_use:?}"
    );
    // A file by its path, and an email by its own name when it carried one return, do as well.
    let again = installation.collate(&["use", "inbox/PSD corrected.xlsx"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&again)
    );
    let by_email = installation.collate(&["use", "inbox/forwarded PSD return.eml"]);
    assert_eq!(
        by_email.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&by_email)
    );
}
