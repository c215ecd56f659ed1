//! Benchmark: from a department's email appended to the shared mailbox to the department's reply
//! delivered by SMTP, with `collate watch` listening by IMAP IDLE and `send_replies = "automatic"`, as
//! an installation answering unattended does. Dovecot and aiosmtpd run on 127.0.0.1, started here.
//!
//! Run: cargo bench --bench mailbox_latency
//! Each sample is a fresh installation and watcher, then one email (the sample PSD returns, whose Q2
//! return raises two queries) appended to INBOX; the figure is the time until the reply is delivered.

// A harness: a failed expectation is the bench failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/install.rs"]
mod install;
#[allow(dead_code)]
#[path = "../tests/support/python.rs"]
mod python;
// Shared with the tests, which use more of it.
#[allow(dead_code)]
#[path = "../tests/support/servers.rs"]
mod servers;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use servers::{Dovecot, PASSWORD, SmtpServer, USER};

const COLLATE: &str = env!("CARGO_BIN_EXE_collate");
const SAMPLES: usize = 7;

/// An installation answering its mailbox unattended: PSD's contact set, the mail servers named.
fn installation(root: &Path, imap: &Dovecot, smtp: &SmtpServer) -> anyhow::Result<()> {
    install::install_schemas(root)?;
    std::fs::create_dir_all(root.join("inbox"))?;
    let departments = root.join("schemas/departments.toml");
    let text = std::fs::read_to_string(&departments)?.replacen(
        "id = \"PSD\"\n",
        "id = \"PSD\"\ncontacts = [\"psd.performance@example.police.uk\"]\n",
        1,
    );
    std::fs::write(&departments, text)?;
    let dashboard = root.join("schemas/dashboard.toml");
    let mut text = std::fs::read_to_string(&dashboard)?;
    text.push_str(&format!(
        "\n[mail]\nfrom = \"integrity.dashboard@example.police.uk\"\nsend_replies = \"automatic\"\n\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\n\
         [mail.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\npassword_env = \"MAILBOX_PASSWORD\"\n",
        smtp.port, imap.plain
    ));
    std::fs::write(&dashboard, text)?;
    Ok(())
}

/// `collate watch` started from the installation folder; ready once its first look at the inbox is
/// written down.
fn start_watcher(root: &Path) -> anyhow::Result<Child> {
    let child = Command::new(COLLATE)
        .current_dir(root)
        .args(["watch", "--rescan", "600"])
        .env("MAILBOX_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let status = root.join("inbox").join(collate::pipeline::STATUS_FILE);
    servers::wait_until(30, "the watcher to start", || status.exists());
    Ok(child)
}

/// How many logins the server has logged.
fn logins(imap: &Dovecot) -> usize {
    let log = std::fs::read_to_string(imap.log()).unwrap_or_default();
    log.matches("imap-login: Info: Login:").count()
}

fn one_sample(imap: &Dovecot, message: &Path) -> anyhow::Result<Duration> {
    let outgoing = tempfile::tempdir()?;
    let smtp = SmtpServer::start(outgoing.path(), false);
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("Integrity dashboard");
    installation(&root, imap, &smtp)?;
    let before = logins(imap);
    let mut watcher = start_watcher(&root)?;
    // As a watcher that has been running: its listener logged in (and holds IDLE), its first fetch done.
    servers::wait_until(30, "the watcher's first looks at the mailbox", || {
        logins(imap) >= before + 2
    });
    let appended = Instant::now();
    imap.deliver(message);
    servers::wait_until(60, "the reply", || !smtp.delivered().is_empty());
    let took = appended.elapsed();
    let _ = watcher.kill();
    let _ = watcher.wait();
    Ok(took)
}

fn main() -> anyhow::Result<()> {
    let imap = Dovecot::start();
    let message =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emails/sample/PSD returns.eml");
    let mut samples = Vec::new();
    for _ in 0..SAMPLES {
        samples.push(one_sample(&imap, &message)?);
    }
    samples.sort();
    let ms = |d: &Duration| d.as_millis();
    println!(
        "email appended to INBOX → reply delivered by SMTP ({SAMPLES} samples, IDLE, automatic replies): median {} ms, best {} ms, worst {} ms",
        ms(&samples[SAMPLES / 2]),
        ms(&samples[0]),
        ms(&samples[SAMPLES - 1])
    );
    Ok(())
}
