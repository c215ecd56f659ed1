//! Reaching the shared mailbox: TCP, TLS (implicit or STARTTLS, the certificate checked against the
//! machine's trust store and the `ca_file` the settings name, as for SMTP), then a login with a password
//! or an OAuth 2.0 token (XOAUTH2). Every failure says what the owner can do about it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use imap::extensions::idle::SetReadTimeout;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::MailboxError;
use super::secret::{Secret, secret};
use crate::schema::ImapSettings;

/// A logged-in session with the shared mailbox.
pub type Session = imap::Session<imap::Connection>;

/// How long a silent server is waited for, for anything but IDLE.
const SILENCE: Duration = Duration::from_secs(60);

/// Connects and logs in.
pub fn open(settings: &ImapSettings) -> Result<Session, MailboxError> {
    let server = format!("{}:{}", settings.host, settings.port);
    let tcp = TcpStream::connect((settings.host.as_str(), settings.port))
        .map_err(|error| MailboxError::Unreachable(server.clone(), error.to_string()))?;
    let _ = tcp.set_read_timeout(Some(SILENCE));
    let _ = tcp.set_write_timeout(Some(SILENCE));
    let protocol = |error: imap::Error| MailboxError::from_imap(&server, error);
    let mut client = match settings.security.as_str() {
        "tls" => {
            let mut client = imap::Client::new(boxed(tls(settings, tcp)?));
            client.read_greeting().map_err(protocol)?;
            client
        }
        "starttls" => {
            starttls(&tcp).map_err(|why| MailboxError::Tls(server.clone(), why))?;
            let mut client = imap::Client::new(boxed(tls(settings, tcp)?));
            client.greeting_read = true;
            client
        }
        _ => {
            let mut client = imap::Client::new(boxed(tcp));
            client.read_greeting().map_err(protocol)?;
            client
        }
    };
    let _ = client.capabilities();
    login(settings, client)
}

fn boxed(stream: impl imap::ImapConnection + 'static) -> imap::Connection {
    Box::new(stream)
}

/// Logs in with the secret the settings name.
fn login(
    settings: &ImapSettings,
    client: imap::Client<imap::Connection>,
) -> Result<Session, MailboxError> {
    let refused = |error: imap::Error| match error {
        imap::Error::No(_) | imap::Error::Bad(_) => {
            MailboxError::LoginRefused(settings.user.clone())
        }
        other => MailboxError::from_imap(&format!("{}:{}", settings.host, settings.port), other),
    };
    match secret(settings)? {
        Secret::Password(password) => client
            .login(&settings.user, password)
            .map_err(|(error, _)| refused(error)),
        Secret::Token(token) => client
            .authenticate(
                "XOAUTH2",
                &XOAuth2 {
                    user: settings.user.clone(),
                    token,
                },
            )
            .map_err(|(error, _)| refused(error)),
    }
}

/// SASL XOAUTH2, as Microsoft 365 and Gmail take an OAuth 2.0 access token.
struct XOAuth2 {
    user: String,
    token: String,
}

impl imap::Authenticator for XOAuth2 {
    type Response = String;

    fn process(&self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

/// A TLS connection over `tcp`, the server's certificate checked.
fn tls(settings: &ImapSettings, tcp: TcpStream) -> Result<Tls, MailboxError> {
    let server = format!("{}:{}", settings.host, settings.port);
    let setup = |why: String| MailboxError::Tls(server.clone(), why);
    let mut extra_roots = Vec::new();
    if let Some(ca_file) = &settings.ca_file {
        let pem = std::fs::read(ca_file).map_err(|error| {
            setup(format!(
                "cannot read ca_file {}: {error}",
                ca_file.display()
            ))
        })?;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            extra_roots.push(certificate.map_err(|error| {
                setup(format!(
                    "ca_file {} is not a PEM certificate: {error}",
                    ca_file.display()
                ))
            })?);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
            .map_err(|error| setup(error.to_string()))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| setup(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let name = ServerName::try_from(settings.host.clone())
        .map_err(|error| setup(format!("{} is not a host name: {error}", settings.host)))?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|error| setup(error.to_string()))?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    // The handshake now, so that a certificate nobody vouches for is said as such, before any login.
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|error| MailboxError::from_tls_io(&server, &error))?;
    }
    Ok(Tls(stream))
}

/// A TLS stream the IMAP client can wait on (IDLE sets a read timeout on the socket beneath).
struct Tls(rustls::StreamOwned<rustls::ClientConnection, TcpStream>);

impl Read for Tls {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buffer)
    }
}

impl Write for Tls {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl SetReadTimeout for Tls {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> imap::Result<()> {
        self.0
            .sock
            .set_read_timeout(timeout)
            .map_err(imap::Error::Io)
    }
}

/// The greeting, then STARTTLS, in plain text: the server says nothing more until the TLS handshake,
/// so nothing meant for TLS is read here. Lines are read within a bound.
fn starttls(tcp: &TcpStream) -> Result<(), String> {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(tcp.take(64 * 1024));
    let mut line = String::new();
    let said = |error: std::io::Error| error.to_string();
    lines.read_line(&mut line).map_err(said)?;
    if !line.starts_with("* OK") {
        return Err(format!("it greeted with {:?}", line.trim_end()));
    }
    let mut writer = tcp;
    writer.write_all(b"c1 STARTTLS\r\n").map_err(said)?;
    loop {
        line.clear();
        if lines.read_line(&mut line).map_err(said)? == 0 {
            return Err("it closed the connection when asked for STARTTLS".to_owned());
        }
        if let Some(answer) = line.strip_prefix("c1 ") {
            return match answer.starts_with("OK") {
                true => Ok(()),
                false => Err(format!(
                    "it refused STARTTLS ({}): set security = \"tls\" and the port of its TLS service",
                    answer.trim_end()
                )),
            };
        }
    }
}
