//! `collate fetch` and `collate watch` against a real IMAP server: Dovecot, started by the tests on
//! 127.0.0.1 from a configuration in a folder of their own, its mailbox looked at with Python's imaplib
//! (not ours). Replies go to a real SMTP server (aiosmtpd).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::servers::{Dovecot, PASSWORD, SmtpServer, USER};
use crate::support::{Installation, repo, sheet_rows, stderr, wait_until};

/// The shared mailbox in the installation's dashboard.toml, with the password in the environment.
fn mailbox_settings(installation: &Installation, server: &Dovecot, extra: &str) {
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    text.push_str(&format!(
        "\n[mail.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\npassword_env = \"MAILBOX_PASSWORD\"\n{extra}",
        server.plain
    ));
    std::fs::write(&dashboard, text).expect("write");
}

fn fetch(installation: &Installation, password: &str) -> std::process::Output {
    installation
        .command()
        .arg("fetch")
        .env("MAILBOX_PASSWORD", password)
        .output()
        .expect("collate fetch runs")
}

fn email(name: &str) -> PathBuf {
    repo().join("tests/fixtures/emails").join(name)
}

/// The three messages of the first case: a return from a contact, a correction forwarded by a deputy,
/// and a message carrying only a PDF.
fn three_messages(server: &Dovecot) {
    for name in [
        "sample/PSD returns.eml",
        "forwarded PSD return.eml",
        "PDF only.eml",
    ] {
        server.deliver(&email(name));
    }
    assert_eq!(server.count("INBOX"), 3);
}

#[test]
fn fetch_takes_each_message_stores_its_returns_sets_the_pdf_aside_and_moves_all_three() {
    let server = Dovecot::start();
    let installation = Installation::new();
    mailbox_settings(&installation, &server, "");
    three_messages(&server);

    // `check` says the mailbox is reached and what waits, and moves nothing.
    let checked = installation
        .command()
        .arg("check")
        .env("MAILBOX_PASSWORD", PASSWORD)
        .output()
        .expect("collate check runs");
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    assert!(
        stderr(&checked).contains("reached and logged into; 3 message(s) waiting"),
        "{}",
        stderr(&checked)
    );
    assert_eq!(server.count("INBOX"), 3);

    let output = fetch(&installation, PASSWORD);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(
        log.contains("3 message(s) taken from INBOX and moved to collate/processed; 0 left there"),
        "{log}"
    );
    assert_eq!(server.count("INBOX"), 0, "INBOX is empty");
    assert_eq!(server.count("collate.processed"), 3, "all three moved");

    // The returns are in the store: the dashboard's Returns sheet lists them, its Data has their figures.
    let returns = sheet_rows(&installation.dashboard(), "Returns");
    let psd_q2 = returns
        .iter()
        .filter(|row| {
            row.iter()
                .any(|c| c.contains("› 2020-21 Q2 PSD return.xlsx"))
        })
        .count();
    assert!(psd_q2 >= 1, "{returns:?}");
    let rows = crate::support::data_rows(&installation.dashboard());
    assert_eq!(
        crate::support::figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24")
    );
    // The PDF-only message is set aside with its reason, and the log says so.
    let aside: Vec<String> = std::fs::read_dir(installation.inbox().join("set aside"))
        .expect("set aside")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        aside
            .iter()
            .any(|name| name.ends_with("PIU minutes 11670f53.eml.reason.txt")),
        "{aside:?}"
    );
    assert!(log.contains("carries no spreadsheet return"), "{log}");
    let exceptions = sheet_rows(&installation.exceptions(), "Set aside");
    assert!(
        exceptions
            .iter()
            .any(|row| row.iter().any(|c| c.contains("PIU minutes"))),
        "{exceptions:?}"
    );

    // Fetched again: nothing waits, nothing changes.
    let again = fetch(&installation, PASSWORD);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("0 message(s) taken"),
        "{}",
        stderr(&again)
    );
    assert_eq!(server.count("collate.processed"), 3);
}

/// A process frozen (SIGSTOP) as soon as `appears` exists, so that what it was about to do next has not
/// happened; the caller kills it.
fn freeze_when(child: &Child, appears: impl Fn() -> bool) {
    wait_until(60, "the first message to be saved", &appears);
    let status = Command::new("kill")
        .args(["-STOP", &child.id().to_string()])
        .status()
        .expect("kill -STOP");
    assert!(status.success());
}

#[test]
fn a_fetch_killed_between_saving_and_moving_loses_nothing_and_counts_nothing_twice() {
    let server = Dovecot::start();
    let installation = Installation::new();
    mailbox_settings(&installation, &server, "");
    let sample: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/fixtures/emails/sample"))
        .expect("sample emails")
        .map(|e| e.expect("entry").path())
        .collect();
    for message in &sample {
        server.deliver(message);
    }
    let waiting = sample.len();

    let mut child = installation
        .command()
        .arg("fetch")
        .env("MAILBOX_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("collate fetch starts");
    let inbox = installation.inbox();
    freeze_when(&child, || {
        std::fs::read_dir(&inbox).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
        })
    });
    // Frozen after saving a message and before any was moved (every message is saved before the pass).
    assert_eq!(
        server.count("INBOX"),
        waiting,
        "nothing moved before the kill"
    );
    child.kill().expect("kill -9");
    child.wait().expect("reaped");

    let output = fetch(&installation, PASSWORD);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.count("INBOX"), 0);
    assert_eq!(
        server.count("collate.processed"),
        waiting,
        "each moved once"
    );
    // Each return stored once: no content twice in the store.
    let stored = installation.stored_returns();
    let mut hashes: Vec<&str> = stored.iter().map(|(hash, _, _)| hash.as_str()).collect();
    hashes.sort_unstable();
    let before = hashes.len();
    hashes.dedup();
    assert_eq!(hashes.len(), before, "a return stored twice: {stored:?}");
    assert!(
        before >= waiting,
        "every message's returns are stored: {stored:?}"
    );
}

#[test]
fn a_wrong_password_or_an_untrusted_certificate_is_said_and_nothing_on_the_server_moves() {
    let server = Dovecot::start();
    let installation = Installation::new();
    mailbox_settings(&installation, &server, "");
    three_messages(&server);

    let output = fetch(&installation, "not the password");
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{log}");
    assert!(
        log.contains(&format!("the mailbox refused the login for {USER}")),
        "{log}"
    );
    let checked = installation
        .command()
        .arg("check")
        .env("MAILBOX_PASSWORD", "not the password")
        .output()
        .expect("collate check runs");
    assert_eq!(checked.status.code(), Some(2));
    assert!(
        stderr(&checked).contains("refused the login"),
        "{}",
        stderr(&checked)
    );

    // Over TLS to a server whose authority this machine does not trust.
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    let over_tls = text
        .replace(
            &format!("port = {}", server.plain),
            &format!("port = {}", server.tls),
        )
        .replace("security = \"none\"", "security = \"tls\"");
    std::fs::write(&dashboard, &over_tls).expect("write");
    let output = fetch(&installation, PASSWORD);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{log}");
    assert!(
        log.contains("showed a certificate that no authority this machine trusts vouches for"),
        "{log}"
    );
    assert_eq!(server.count("INBOX"), 3, "nothing moved or deleted");
    assert_eq!(server.count("collate.processed"), 0);

    // The force's authority named in ca_file: the same server is trusted, over TLS and STARTTLS.
    std::fs::copy(server.ca(), installation.root.join("force-ca.pem")).expect("the CA");
    for (port, security) in [(server.tls, "tls"), (server.plain, "starttls")] {
        let text = format!(
            "{}ca_file = \"force-ca.pem\"\n",
            over_tls
                .replace(&format!("port = {}", server.tls), &format!("port = {port}"))
                .replace("security = \"tls\"", &format!("security = \"{security}\""))
        );
        std::fs::write(&dashboard, text).expect("write");
        let output = fetch(&installation, PASSWORD);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{security}: {}",
            stderr(&output)
        );
    }
    assert_eq!(server.count("collate.processed"), 3);
}

#[test]
fn a_password_written_in_dashboard_toml_is_refused_with_the_reason() {
    let installation = Installation::new();
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    text.push_str(
        "\n[mail.imap]\nhost = \"imap.example.police.uk\"\nuser = \"x\"\npassword = \"hunter2\"\n",
    );
    std::fs::write(&dashboard, text).expect("write");
    let output = installation.collate(&["fetch"]);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{log}");
    assert!(log.contains("mail.imap.password"), "{log}");
    assert!(
        log.contains("a password is never written in dashboard.toml"),
        "{log}"
    );
}

#[test]
fn the_watcher_answers_a_return_from_the_mailbox_within_seconds_threaded_and_once() {
    let mut server = Dovecot::start();
    let outgoing = tempfile::tempdir().expect("temp dir");
    let smtp = SmtpServer::start(outgoing.path(), false);
    let installation = Installation::new();
    installation.set_contacts("PSD", &["psd.performance@example.police.uk"]);
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    text.push_str(&format!(
        "\n[mail]\nfrom = \"integrity.dashboard@example.police.uk\"\nsend_replies = \"automatic\"\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n",
        smtp.port
    ));
    std::fs::write(&dashboard, text).expect("write");
    mailbox_settings(&installation, &server, "");

    let mut command = installation.command();
    command
        .args(["watch", "-v", "--rescan", "1"])
        .env("MAILBOX_PASSWORD", PASSWORD);
    let logins = || {
        std::fs::read_to_string(server.log())
            .unwrap_or_default()
            .matches("imap-login: Info: Login:")
            .count()
    };
    let before = logins();
    let watcher = installation.spawn_watcher(command, &installation.inbox());
    // Its listener logged in (holding IDLE) and its first fetch is done.
    wait_until(30, "the watcher's first looks at the mailbox", || {
        logins() >= before + 2
    });

    // The mailbox stopped and started again while the watcher runs: said once, and it carries on.
    server.stop();
    server.restart();

    let message = email("sample/PSD returns.eml");
    let appended = std::time::Instant::now();
    server.deliver(&message);
    wait_until(10, "the reply to reach the department", || {
        !smtp.delivered().is_empty()
    });
    let took = appended.elapsed();
    let delivered = smtp.delivered();
    let reply = mail_parser::MessageParser::default()
        .parse(&delivered[0].0)
        .expect("a message");
    let original_bytes = std::fs::read(&message).expect("the message");
    let original = mail_parser::MessageParser::default()
        .parse(&original_bytes)
        .expect("a message");
    assert_eq!(
        reply.in_reply_to().as_text(),
        original.message_id(),
        "threaded under the department's message"
    );
    assert!(
        delivered[0].1.contains("psd.performance@example.police.uk"),
        "to the department's contact: {}",
        delivered[0].1
    );
    assert!(took < std::time::Duration::from_secs(10));
    assert_eq!(server.count("INBOX"), 0);

    // Nothing twice: two more looks over the inbox later, still the one message.
    installation.wait_for_rescans(2, 0);
    assert_eq!(smtp.delivered().len(), 1, "{}", installation.watch_log());
    let log = installation.watch_log();
    assert!(
        log.contains("reply sent to psd.performance@example.police.uk"),
        "{log}"
    );
    assert_eq!(
        log.matches("the watcher goes on watching the inbox folder and tries the mailbox again")
            .count(),
        1,
        "the outage said once: {log}"
    );
    assert_eq!(
        log.matches("the mailbox can be reached again").count(),
        1,
        "{log}"
    );
    drop(watcher);
}

#[test]
fn xoauth2_with_a_token_command_fetches_as_microsoft_365_would_be_read() {
    let server = Dovecot::start();
    let installation = Installation::new();
    let dashboard = installation.root.join("schemas/dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard).expect("dashboard.toml");
    text.push_str(&format!(
        "\n[mail.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\ntoken_command = \"{}\"\n",
        server.plain,
        server.token_command()
    ));
    std::fs::write(&dashboard, text).expect("write");
    server.deliver(&email("sample/PSD returns.eml"));
    let output = installation.collate(&["fetch"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.count("INBOX"), 0);
    assert_eq!(server.count("collate.processed"), 1);
    let log = std::fs::read_to_string(server.log()).unwrap_or_default();
    assert!(
        log.contains("method=XOAUTH2"),
        "logged in with the token: {log}"
    );
}

/// A copy of `message` with its subject and Message-ID made its own by `n`.
fn numbered(message: &[u8], n: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    text.replacen("Subject: ", &format!("Subject: {n} "), 1)
        .replacen("Message-ID: <", &format!("Message-ID: <{n}."), 1)
        .into_bytes()
}

#[test]
fn five_hundred_messages_and_one_of_40_mb_are_each_taken_and_moved() {
    let server = Dovecot::start();
    let installation = Installation::new();
    mailbox_settings(&installation, &server, "");
    let folder = tempfile::tempdir().expect("a folder");
    // 499 short messages with no workbook (each set aside), appended in one session.
    let pdf_only = std::fs::read(email("PDF only.eml")).expect("the message");
    let many = folder.path().join("many");
    std::fs::create_dir_all(&many).expect("folder");
    for n in 0..499 {
        std::fs::write(many.join(format!("{n:03}.eml")), numbered(&pdf_only, n)).expect("written");
    }
    let appended = server.imap(
        "import os\nfor name in sorted(os.listdir(sys.argv[1])):\n    m.append('INBOX', None, None, open(os.path.join(sys.argv[1], name), 'rb').read())\nprint(json.dumps(len(os.listdir(sys.argv[1]))))",
        &many,
    );
    assert_eq!(appended, 499);
    // And one of over 40 MB: the PSD returns beside a 30 MB scan.
    let big = folder.path().join("big.eml");
    let made = crate::support::python3()
        .arg("-c")
        .arg(
            "import sys, os, email, email.policy\n\
             m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)\n\
             m.add_attachment(os.urandom(30 * 1024 * 1024), maintype='application', subtype='pdf', filename='scan.pdf')\n\
             open(sys.argv[2], 'wb').write(m.as_bytes())",
        )
        .arg(email("sample/PSD returns.eml"))
        .arg(&big)
        .status()
        .expect("python3 runs");
    assert!(made.success());
    let size = std::fs::metadata(&big).expect("big").len();
    assert!(size > 40 * 1024 * 1024, "{size}");
    server.deliver(&big);
    assert_eq!(server.count("INBOX"), 500);

    let output = fetch(&installation, PASSWORD);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(log.contains("500 message(s) taken"), "{log}");
    assert_eq!(server.count("INBOX"), 0);
    assert_eq!(server.count("collate.processed"), 500);
    let rows = crate::support::data_rows(&installation.dashboard());
    assert_eq!(
        crate::support::figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24"),
        "the 40 MB message's return is read"
    );
    let aside = std::fs::read_dir(installation.inbox().join("set aside"))
        .expect("set aside")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".reason.txt"))
        })
        .count();
    assert_eq!(aside, 499);
}
