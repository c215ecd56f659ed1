//! `collate send` against a real SMTP server (aiosmtpd, started by the test): each draft delivered once,
//! nothing twice, and a server that refuses leaves the draft unsent and says so.

use std::path::Path;

use crate::servers::SmtpServer;
use crate::support::{Installation, repo, stdout};

/// An installation whose outbox holds one draft reply (to the forwarded PSD return), set to send through
/// the server on `port`.
fn with_a_draft(port: u16) -> Installation {
    let installation = Installation::new();
    installation.set_contacts("PSD", &["deputy@example.police.uk"]);
    let email = repo().join("tests/fixtures/emails/forwarded PSD return.eml");
    installation.receive("forwarded.eml", &std::fs::read(email).expect("email"), 0);
    assert_eq!(installation.run(), 0);
    let dashboard = installation
        .inbox()
        .with_file_name("schemas")
        .join("dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    text.push_str(&format!(
        "\n[mail]\nfrom = \"integrity.dashboard@example.police.uk\"\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n"
    ));
    std::fs::write(&dashboard, text).expect("write");
    installation
}

#[test]
fn each_draft_is_delivered_once_and_never_twice() {
    let mailbox = tempfile::tempdir().expect("temp dir");
    let server = SmtpServer::start(mailbox.path(), false);
    let installation = with_a_draft(server.port);
    let output = installation.collate(&["send"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        stdout(&output).contains("1 sent, 0 not sent"),
        "{}",
        stdout(&output)
    );
    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1);
    let (bytes, recipients) = &delivered[0];
    assert_eq!(recipients, "deputy@example.police.uk");
    let message = mail_parser::MessageParser::default()
        .parse(bytes)
        .expect("a message");
    let from = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address());
    assert_eq!(from, Some("integrity.dashboard@example.police.uk"));
    assert_eq!(message.subject(), Some("Re: Fw: PSD Q2 return"));
    assert!(
        message.header_raw("X-Unsent").is_none(),
        "sent, so no longer a draft"
    );
    let again = installation.collate(&["send"]);
    assert!(
        stdout(&again).contains("0 sent, 0 not sent"),
        "{}",
        stdout(&again)
    );
    assert_eq!(server.delivered().len(), 1, "nothing twice");
}

#[test]
fn a_server_that_refuses_leaves_the_draft_unsent_and_reported() {
    let mailbox = tempfile::tempdir().expect("temp dir");
    let refusing = SmtpServer::start(&mailbox.path().join("refusing"), true);
    let installation = with_a_draft(refusing.port);
    let output = installation.collate(&["send"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let said = stdout(&output);
    assert!(
        said.contains("not sent: ") && said.contains("0 sent, 1 not sent"),
        "{said}"
    );
    assert!(refusing.delivered().is_empty());
    drop(refusing);
    // The draft is still to send: a server that accepts it later delivers it.
    let accepting = SmtpServer::start(&mailbox.path().join("accepting"), false);
    let dashboard = installation
        .inbox()
        .with_file_name("schemas")
        .join("dashboard.toml");
    let text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    let text = text
        .lines()
        .map(|line| {
            if line.starts_with("port = ") {
                format!("port = {}", accepting.port)
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&dashboard, text).expect("write");
    let output = installation.collate(&["send"]);
    assert!(stdout(&output).contains("1 sent, 0 not sent"), "{output:?}");
    assert_eq!(accepting.delivered().len(), 1);
}

#[test]
fn without_a_mail_server_in_the_schema_nothing_is_ever_sent() {
    let installation = Installation::new();
    let email = repo().join("tests/fixtures/emails/forwarded PSD return.eml");
    installation.receive("forwarded.eml", &std::fs::read(email).expect("email"), 0);
    assert_eq!(installation.run(), 0);
    let output = installation.collate(&["send"]);
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("nothing was sent"), "{said}");
}

#[test]
fn a_dry_run_lists_what_would_go_and_sends_nothing_then_send_sends_exactly_that_dated_now() {
    let mailbox = tempfile::tempdir().expect("temp dir");
    let server = SmtpServer::start(mailbox.path(), false);
    let installation = with_a_draft(server.port);
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    let text = text.replace(
        "[mail]\n",
        "[mail]\nfrom_name = \"Siân Owen, City of London Police\"\n",
    );
    std::fs::write(&dashboard, text).expect("write");

    let dry = installation.collate(&["send", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");
    let said = stdout(&dry);
    for expected in [
        "would send ",
        "  to: deputy@example.police.uk",
        "  subject: Re: Fw: PSD Q2 return",
        ".exceptions.xlsx",
        "  why: reply: its return has exceptions to fix or queries to answer",
        "1 message(s) would be sent through 127.0.0.1:",
        "none held back; nothing was sent",
    ] {
        assert!(said.contains(expected), "{expected:?} not in {said}");
    }
    assert!(server.delivered().is_empty(), "a dry run sends nothing");

    let draft_path = installation.outbox().join("replies");
    let draft = crate::support::first_draft(&draft_path);
    let draft = std::fs::read(draft).expect("the draft");
    let draft = mail_parser::MessageParser::default()
        .parse(&draft)
        .expect("a message")
        .message_id()
        .map(str::to_owned);

    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let output = installation.collate(&["send"]);
    assert!(
        stdout(&output).contains("1 sent, 0 not sent; none held back"),
        "{}",
        stdout(&output)
    );
    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1, "exactly what the dry run listed");
    let message = mail_parser::MessageParser::default()
        .parse(&delivered[0].0)
        .expect("a message");
    let from = message.from().and_then(|f| f.first()).expect("a From");
    assert_eq!(from.name(), Some("Siân Owen, City of London Police"));
    // A name that is not plain ASCII goes out encoded, as Python's own email package reads it back.
    let raw = mailbox.path().join("as delivered.eml");
    std::fs::write(&raw, &delivered[0].0).expect("written");
    let read_back = crate::support::python_script_json(
        "import json, sys, email, email.policy\n\
         m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)\n\
         a = m['from'].addresses[0]\n\
         print(json.dumps([a.display_name, a.addr_spec]))",
        &raw,
    );
    assert_eq!(read_back[0], "Siân Owen, City of London Police");
    assert_eq!(read_back[1], "integrity.dashboard@example.police.uk");
    let header = String::from_utf8_lossy(&delivered[0].0);
    let from_line = header
        .lines()
        .find(|l| l.starts_with("From:"))
        .unwrap_or_default();
    assert!(
        from_line.is_ascii() && from_line.contains("=?"),
        "encoded: {from_line}"
    );
    assert_eq!(
        from.address(),
        Some("integrity.dashboard@example.police.uk")
    );
    let date = message.date().expect("a Date").to_timestamp();
    assert!(
        date >= before.timestamp(),
        "dated when sent, not when drafted"
    );
    assert!(message.message_id().is_some());
    assert_ne!(
        message.message_id().map(str::to_owned),
        draft,
        "a Message-ID of its own"
    );
    assert!(message.in_reply_to().as_text().is_some(), "still threaded");

    let again = installation.collate(&["send", "--dry-run"]);
    assert!(
        stdout(&again).contains("0 message(s) would be sent through 127.0.0.1:")
            && stdout(&again).contains("held back: 1 already sent"),
        "{}",
        stdout(&again)
    );
    // Each draft held back is named, with why: the same list the watcher would act on.
    let said = stdout(&again);
    let named = said
        .lines()
        .position(|line| line.starts_with("held back ") && line.ends_with(".eml"));
    assert!(
        named.is_some_and(|at| said.lines().nth(at + 1)
            == Some("  why: it was sent before; a draft is never sent twice")),
        "{said}"
    );
}

fn mail_through(installation: &Installation, port: u16) {
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    text.push_str(&format!(
        "\n[mail]\nfrom = \"integrity.dashboard@example.police.uk\"\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n"
    ));
    std::fs::write(&dashboard, text).expect("write");
}

#[test]
fn drafts_follow_the_store_a_superseded_reply_and_an_answered_reminder_are_never_sent() {
    let mailbox = tempfile::tempdir().expect("temp dir");
    let server = SmtpServer::start(mailbox.path(), false);
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    mail_through(&installation, server.port);
    // HR's first try: more leavers citing integrity than leavers, so it is rejected and a reply drafted
    // (to nobody yet: HR has no contacts).
    let rejected = crate::support::edited_seed_draft(&installation, "hr-quarterly", |hr| {
        let row = hr
            .rows
            .iter_mut()
            .find(|row| row.1 == "officer_leavers_integrity");
        row.expect("row").3[1] = Some(50.0);
    });
    std::fs::remove_file(installation.inbox().join("2020-21 Q2 HR return.xlsx")).expect("remove");
    installation.receive(
        "HR first try.xlsx",
        &rejected.to_bytes().expect("workbook"),
        0,
    );
    let first = installation.collate(&["run"]);
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        crate::support::stderr(&first)
    );
    let reply = installation.outbox().join("replies/HR first try.xlsx.eml");
    assert!(reply.is_file(), "a reply to the rejected return is drafted");
    // A pack for the quarter: PSD's return is removed, so a reminder is drafted for it.
    std::fs::remove_file(installation.inbox().join("2020-21 Q2 PSD return.xlsx")).expect("remove");
    assert_eq!(installation.collate(&["rebuild"]).status.code(), Some(1));
    assert_eq!(
        installation
            .collate(&["pack", "--period", "2020/21-Q2"])
            .status
            .code(),
        Some(0)
    );
    let reminder = installation
        .outbox()
        .join("pack/2020-21 Q2/Reminder - 2020-21 Q2 Professional Standards return.eml");
    assert!(reminder.is_file());

    // Contacts added afterwards reach the drafts at the next run, without a rebuild.
    installation.set_contacts("HR", &["hr.performance@example.police.uk"]);
    installation.set_contacts("PSD", &["psd.performance@example.police.uk"]);
    assert_eq!(installation.run(), 0, "nothing new to read");
    let dry = stdout(&installation.collate(&["send", "--dry-run"]));
    assert!(
        dry.contains("  to: hr.performance@example.police.uk"),
        "{dry}"
    );
    assert!(
        dry.contains("  to: psd.performance@example.police.uk"),
        "{dry}"
    );
    // The re-addressed reminder is written again whole, and Python's email package reads it as the
    // same draft: the new recipient, still a draft, its template still attached.
    let read_back = crate::support::python_script_json(
        "import json, sys, email, email.policy\n\
         m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)\n\
         files = [p.get_filename() for p in m.iter_attachments()]\n\
         print(json.dumps([str(m['to']), m['x-unsent'], m['subject'], files]))",
        &reminder,
    );
    assert_eq!(read_back[0], "psd.performance@example.police.uk");
    assert_eq!(read_back[1], "1");
    assert!(
        read_back[2]
            .as_str()
            .is_some_and(|s| s.starts_with("Reminder: ")),
        "{read_back}"
    );
    assert_eq!(
        read_back[3][0],
        "2020-21 Q2 Professional Standards return.xlsx"
    );

    // HR's corrected return and PSD's return arrive: the reply to the first try and the reminder are
    // withdrawn, kept aside with the reason, and never sent.
    let corrected = crate::support::seed_draft(&installation, "hr-quarterly");
    installation.receive(
        "HR corrected.xlsx",
        &corrected.to_bytes().expect("workbook"),
        5,
    );
    let psd = crate::support::seed_draft(&installation, "psd-quarterly");
    installation.receive("PSD.xlsx", &psd.to_bytes().expect("workbook"), 5);
    let output = installation.collate(&["run"]);
    let log = crate::support::stderr(&output);
    assert!(log.contains("withdrawn, never to be sent"), "{log}");
    assert!(!reply.exists() && !reminder.exists(), "both withdrawn");
    let why = std::fs::read_to_string(
        installation
            .outbox()
            .join("withdrawn/HR first try.xlsx.eml.why.txt"),
    )
    .expect("the reason is kept");
    assert!(
        why.contains("\"HR corrected.xlsx\" has replaced the return it answers"),
        "{why}"
    );
    let dry = stdout(&installation.collate(&["send", "--dry-run"]));
    assert!(
        !dry.contains("HR first try") && !dry.contains("Reminder - "),
        "{dry}"
    );

    let sent = installation.collate(&["send"]);
    assert!(stdout(&sent).contains("not sent"), "{}", stdout(&sent));
    for (bytes, _) in server.delivered() {
        let message = mail_parser::MessageParser::default()
            .parse(&bytes)
            .expect("a message");
        let subject = message.subject().unwrap_or_default().to_owned();
        assert!(
            !subject.contains("HR first try") && !subject.starts_with("Reminder"),
            "{subject} was sent"
        );
    }
}

/// An installation with a draft to send to the server on `port` over `security`, trusting the CA file
/// `ca_file` names (relative to the installation folder) when given.
fn with_a_draft_over_tls(port: u16, security: &str, ca_file: Option<&Path>) -> Installation {
    let installation = with_a_draft(port);
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    text = text.replace("security = \"none\"", &format!("security = \"{security}\""));
    if let Some(ca_file) = ca_file {
        std::fs::copy(ca_file, installation.root.join("force-ca.pem")).expect("the CA");
        text.push_str("ca_file = \"force-ca.pem\"\n");
    }
    std::fs::write(&dashboard, text).expect("write");
    installation
}

#[test]
fn starttls_and_implicit_tls_deliver_to_a_server_the_force_ca_vouches_for() {
    for (option, security) in [("--starttls", "starttls"), ("--tls", "tls")] {
        let mailbox = tempfile::tempdir().expect("temp dir");
        let server = SmtpServer::start_with(mailbox.path(), &[option]);
        let ca = mailbox.path().join("ca.pem");
        let installation = with_a_draft_over_tls(server.port, security, Some(&ca));
        let output = installation.collate(&["send"]);
        assert_eq!(output.status.code(), Some(0), "{security}: {output:?}");
        assert!(
            stdout(&output).contains("1 sent, 0 not sent"),
            "{security}: {output:?}"
        );
        assert_eq!(server.delivered().len(), 1, "{security}");
    }
}

#[test]
fn a_certificate_no_trusted_authority_vouches_for_is_refused_with_the_reason_and_nothing_sent() {
    for (option, security) in [("--starttls", "starttls"), ("--tls", "tls")] {
        let mailbox = tempfile::tempdir().expect("temp dir");
        let server = SmtpServer::start_with(mailbox.path(), &[option]);
        let installation = with_a_draft_over_tls(server.port, security, None);
        let output = installation.collate(&["send"]);
        assert_eq!(output.status.code(), Some(1), "{security}: {output:?}");
        let said = stdout(&output);
        assert!(
            said.contains("not sent: ")
                && said.contains("the mail server's certificate is not from an authority this machine trusts (UnknownIssuer)"),
            "{security}: {said}"
        );
        assert!(server.delivered().is_empty(), "{security}: nothing sent");
    }
}

#[test]
fn the_machines_own_trust_store_is_used_so_a_ca_it_trusts_needs_no_ca_file() {
    let mailbox = tempfile::tempdir().expect("temp dir");
    let server = SmtpServer::start_with(mailbox.path(), &["--starttls"]);
    let installation = with_a_draft_over_tls(server.port, "starttls", None);
    // The machine trusts the force's authority (as a force's managed machines do): here through the
    // trust store file OpenSSL-style stores are read from.
    let output = installation
        .command()
        .arg("send")
        .env("SSL_CERT_FILE", mailbox.path().join("ca.pem"))
        .output()
        .expect("collate runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(server.delivered().len(), 1);
}

#[test]
fn a_return_from_someone_not_a_contact_gets_nothing_sent_to_them() {
    let mailbox = tempfile::tempdir().expect("temp dir");
    let server = SmtpServer::start(mailbox.path(), false);
    let installation = Installation::new();
    installation.set_contacts("PSD", &["psd.performance@example.police.uk"]);
    let email = repo().join("tests/fixtures/emails/forwarded PSD return.eml");
    installation.receive("forwarded.eml", &std::fs::read(email).expect("email"), 0);
    assert_eq!(installation.run(), 0);
    mail_through(&installation, server.port);
    let output = installation.collate(&["send"]);
    assert!(
        stdout(&output).contains("0 sent, 0 not sent"),
        "{}",
        stdout(&output)
    );
    assert!(
        server.delivered().is_empty(),
        "the stranger's reply never arrives"
    );
}
