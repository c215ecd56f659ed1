//! Real servers on 127.0.0.1 for the mail tests and benches: Dovecot for IMAP, aiosmtpd for SMTP, each
//! started from a folder of its own and stopped when dropped.

use std::io::BufRead;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The mailbox's owner and password, as the server's password file has them.
pub const USER: &str = "integrity.dashboard";
pub const PASSWORD: &str = "s3cret-for-tests";

/// A real IMAP server on 127.0.0.1, in a process group of its own; stopped when dropped.
pub struct Dovecot {
    folder: tempfile::TempDir,
    child: Option<Child>,
    /// The plain port (IMAP, STARTTLS offered) and the TLS port (IMAPS).
    pub plain: u16,
    pub tls: u16,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        installed();
        let folder = tempfile::tempdir().expect("a folder");
        let dir = folder.path();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).expect("folder");
        }
        // Dovecot run as root serves the mail as an ordinary user.
        let chowned = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(dir.join("mail"))
            .status()
            .expect("chown");
        assert!(chowned.success());
        certificates(dir);
        oauth2(dir);
        std::fs::write(
            dir.join("passwd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .expect("passwd");
        let (plain, tls) = (free_port(), free_port());
        std::fs::write(dir.join("dovecot.conf"), configuration(dir, plain, tls)).expect("conf");
        let mut server = Dovecot {
            folder,
            child: None,
            plain,
            tls,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(self.folder.path().join("dovecot.conf"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        self.child = Some(child);
        let port = self.plain;
        wait_until(30, "Dovecot to listen", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Stops the server as a service manager would: SIGTERM to its whole process group.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
        let port = self.plain;
        wait_until(30, "Dovecot to stop", || {
            TcpStream::connect(("127.0.0.1", port)).is_err()
        });
    }

    pub fn restart(&mut self) {
        self.launch();
    }

    /// Where the server logs each login.
    pub fn log(&self) -> PathBuf {
        self.folder.path().join("dovecot.log")
    }

    /// The command that prints an access token for the mailbox's owner.
    pub fn token_command(&self) -> String {
        format!("python3 {}/token.py {USER}", self.folder.path().display())
    }

    /// The certificate authority the server's certificate is from.
    pub fn ca(&self) -> PathBuf {
        self.folder.path().join("ca.pem")
    }

    /// What a Python imaplib script prints (JSON), logged in as the mailbox's owner as `m`; the file
    /// `path` is its `sys.argv[1]`.
    pub fn imap(&self, script: &str, path: &Path) -> serde_json::Value {
        let script = format!(
            "import imaplib, json, sys\nm = imaplib.IMAP4('127.0.0.1', {})\nm.login('{USER}', '{PASSWORD}')\n{script}",
            self.plain
        );
        crate::python::python_script_json(&script, path)
    }

    /// Appends a message to INBOX, as the departments' mail server delivers it.
    pub fn deliver(&self, message: &Path) {
        let done = self.imap(
            "print(json.dumps(m.append('INBOX', None, None, open(sys.argv[1], 'rb').read())[0]))",
            message,
        );
        assert_eq!(done, "OK");
    }

    /// How many messages a folder holds (0 for a folder that is not there).
    pub fn count(&self, folder: &str) -> usize {
        let said = self.imap(
            "typ, data = m.select(sys.argv[1], readonly=True)\nprint(json.dumps(int(data[0]) if typ == 'OK' else 0))",
            Path::new(folder),
        );
        said.as_u64().unwrap_or(0) as usize
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

/// Dovecot, installed from Debian's packages when missing (as `.ci/run` does), so `cargo test` brings
/// what its tests need.
fn installed() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        if Command::new("dovecot").arg("--version").output().is_ok() {
            return;
        }
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        let status = Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "dovecot-imapd",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "the mailbox tests need Dovecot: apt-get install dovecot-imapd"
        );
    });
}

/// An OAuth 2.0 set-up as Microsoft 365's, in miniature: Dovecot validates a token locally with an
/// HS256 key, and `token.py USER` prints a token signed with it (what a token command does).
fn oauth2(dir: &Path) {
    const KEY: &str = "a-test-signing-key-of-32-bytes!!";
    let keys = dir.join("keys/default/HS256");
    std::fs::create_dir_all(&keys).expect("keys");
    let made = crate::python::python3()
        .arg("-c")
        .arg("import base64, sys; open(sys.argv[1], 'w').write(base64.b64encode(sys.argv[2].encode()).decode())")
        .arg(keys.join("default"))
        .arg(KEY)
        .status()
        .expect("python3 runs");
    assert!(made.success());
    std::fs::write(
        dir.join("oauth2.conf.ext"),
        format!(
            "introspection_mode = local\nlocal_validation_key_dict = fs:posix:prefix={}/keys/\nusername_attribute = sub\n",
            dir.display()
        ),
    )
    .expect("oauth2 settings");
    std::fs::write(
        dir.join("token.py"),
        format!(
            "import base64, hashlib, hmac, json, sys, time\n\
             b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()\n\
             now = int(time.time())\n\
             head = b64(json.dumps({{'alg': 'HS256', 'typ': 'JWT'}}).encode())\n\
             body = b64(json.dumps({{'sub': sys.argv[1], 'iat': now, 'nbf': now, 'exp': now + 3600}}).encode())\n\
             mac = hmac.new(b'{KEY}', (head + '.' + body).encode(), hashlib.sha256).digest()\n\
             print(head + '.' + body + '.' + b64(mac))\n"
        ),
    )
    .expect("token.py");
}

/// A certificate authority of the tests' own (trustme) and a certificate for 127.0.0.1 it issued.
fn certificates(dir: &Path) {
    let made = crate::python::python3()
        .arg("-c")
        .arg(
            "import sys, trustme\n\
             ca = trustme.CA()\n\
             ca.cert_pem.write_to_path(sys.argv[1] + '/ca.pem')\n\
             cert = ca.issue_cert('127.0.0.1', 'localhost')\n\
             cert.private_key_pem.write_to_path(sys.argv[1] + '/key.pem')\n\
             cert.cert_chain_pems[0].write_to_path(sys.argv[1] + '/cert.pem')\n",
        )
        .arg(dir)
        .status()
        .expect("python3 runs");
    assert!(made.success(), "the test authority's certificates");
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("address").port()
}

/// Dovecot's configuration: everything in `dir`, run as root with an ordinary user for the mail (and
/// `chroot =` where its services would otherwise want one), no delay after a failed login.
fn configuration(dir: &Path, plain: u16, tls: u16) -> String {
    let d = dir.display();
    format!(
        "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
         listen = 127.0.0.1\nprotocols = imap\n\
         ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
         auth_mechanisms = plain login xoauth2\nauth_failure_delay = 0\n\
         default_login_user = nobody\ndefault_internal_user = nobody\ndefault_internal_group = nogroup\n\
         mail_location = maildir:{d}/mail/%u\n\
         passdb {{\n  driver = passwd-file\n  mechanisms = plain login\n  args = {d}/passwd\n}}\n\
         passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {d}/oauth2.conf.ext\n}}\n\
         userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/mail/%u\n}}\n\
         service imap-login {{\n  chroot =\n\
           inet_listener imap {{\n    address = 127.0.0.1\n    port = {plain}\n  }}\n\
           inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls}\n    ssl = yes\n  }}\n}}\n\
         service anvil {{\n  chroot =\n}}\nservice old-stats {{\n  chroot =\n}}\nservice ipc {{\n  chroot =\n}}\n"
    )
}

/// A real SMTP server on 127.0.0.1, saving what it accepts into a folder; stopped when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    folder: PathBuf,
}

impl SmtpServer {
    pub fn start(folder: &Path, refuse: bool) -> SmtpServer {
        SmtpServer::start_with(folder, if refuse { &["--refuse"] } else { &[] })
    }

    /// A server started with `options` (`--refuse`, `--starttls`, `--tls`).
    pub fn start_with(folder: &Path, options: &[&str]) -> SmtpServer {
        let mut command = crate::python::python3();
        command
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py"))
            .arg(folder)
            .args(options)
            .stdout(Stdio::piped())
            // The refusal tests make it log the handshakes it refuses: expected, not news.
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("the server says its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("a port, not {line:?}"));
        SmtpServer {
            child,
            port,
            folder: folder.to_path_buf(),
        }
    }

    pub fn delivered(&self) -> Vec<(Vec<u8>, String)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .expect("server folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                let rcpt = std::fs::read_to_string(p.with_extension("rcpt")).unwrap_or_default();
                (std::fs::read(p).expect("message"), rcpt)
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `condition`, checking every 100 ms; fails the test with `what` after `seconds`.
pub fn wait_until(seconds: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
