//! The shared mailbox the departments email their returns to, read over IMAP: `collate fetch` takes each
//! message waiting in its folder into the inbox as the exact bytes it came as, puts it through the same
//! pass as a file dropped there, and only once the pass is done with it moves it on the server to the
//! processed folder. A stop at any moment leaves the message on the server to be taken again, and its
//! returns are known by their content: each is stored once, and no message is lost.

mod connect;
mod fetch;
mod secret;
mod watch;

pub use connect::{Session, open};
pub use fetch::{FetchError, Fetched, fetch, fetch_into, waiting};
pub use watch::MailWaiting;

/// Why the mailbox could not be read, in the owner's terms. Nothing on the server is moved or deleted
/// when any of these happens.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("cannot reach the mailbox at {0}: {1}")]
    Unreachable(String, String),
    #[error(
        "the mailbox server at {0} showed a certificate that no authority this machine trusts vouches for ({1}); nothing was fetched: have the force's certificate authority trusted on this machine, or name it in [mail.imap] ca_file"
    )]
    Certificate(String, String),
    #[error("could not set up a secure connection to the mailbox at {0}: {1}")]
    Tls(String, String),
    #[error(
        "the mailbox refused the login for {0}: check the password or token that [mail.imap] names; nothing was fetched"
    )]
    LoginRefused(String),
    #[error("the mailbox's password or token: {0}")]
    Secret(String),
    #[error("the mailbox at {0} answered: {1}")]
    Server(String, String),
}

impl MailboxError {
    /// An error of the IMAP conversation with `server`.
    fn from_imap(server: &str, error: imap::Error) -> MailboxError {
        match error {
            imap::Error::Io(error) => MailboxError::from_tls_io(server, &error),
            other => MailboxError::Server(server.to_owned(), other.to_string()),
        }
    }

    /// An I/O error on the way to `server`, a certificate refused said as such.
    fn from_tls_io(server: &str, error: &std::io::Error) -> MailboxError {
        let tls = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match tls {
            Some(rustls::Error::InvalidCertificate(why)) => {
                MailboxError::Certificate(server.to_owned(), format!("{why:?}"))
            }
            Some(other) => MailboxError::Tls(server.to_owned(), other.to_string()),
            None => MailboxError::Unreachable(server.to_owned(), error.to_string()),
        }
    }
}
