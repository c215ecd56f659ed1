//! The mailbox's secret, from outside `dashboard.toml`: an environment variable, a file, or a command
//! printing an OAuth 2.0 access token (as git's credential helpers and mutt's oauth2 script do).

use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use super::MailboxError;
use crate::schema::ImapSettings;

/// The most a token command may print: an access token is a few kilobytes.
const TOKEN_BYTES: u64 = 64 * 1024;

/// How long a token command may take.
const TOKEN_SECONDS: u64 = 60;

pub enum Secret {
    Password(String),
    /// An OAuth 2.0 access token, for XOAUTH2.
    Token(String),
}

/// The secret the settings name, read now (a token expires; a password file may have been changed).
pub fn secret(settings: &ImapSettings) -> Result<Secret, MailboxError> {
    let missing = |why: String| MailboxError::Secret(why);
    if let Some(name) = &settings.password_env {
        return std::env::var(name).map(Secret::Password).map_err(|_| {
            missing(format!(
                "the environment variable {name} that [mail.imap] password_env names is not set"
            ))
        });
    }
    if let Some(file) = &settings.password_file {
        let text = std::fs::read_to_string(file).map_err(|error| {
            missing(format!(
                "cannot read the password file {}: {error}",
                file.display()
            ))
        })?;
        return Ok(Secret::Password(
            text.trim_end_matches(['\r', '\n']).to_owned(),
        ));
    }
    let command = settings.token_command.as_deref().unwrap_or_default();
    token(command).map(Secret::Token).map_err(missing)
}

/// Runs the token command; its first line is the token.
fn token(command_line: &str) -> Result<String, String> {
    let failed = |why: String| format!("the token command `{command_line}` {why}");
    let mut child = crate::platform::shell(command_line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| failed(format!("could not start: {error}")))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(failed("gave no output".to_owned()));
    };
    let (said, heard) = mpsc::channel();
    std::thread::spawn(move || {
        let mut printed = String::new();
        let read = stdout.take(TOKEN_BYTES).read_to_string(&mut printed);
        let _ = said.send(read.map(|_| printed));
    });
    let printed = heard.recv_timeout(Duration::from_secs(TOKEN_SECONDS));
    let _ = child.kill();
    let status = child.wait().map_err(|error| failed(error.to_string()))?;
    let printed = match printed {
        Ok(Ok(printed)) => printed,
        Ok(Err(error)) => return Err(failed(format!("printed something unreadable: {error}"))),
        Err(_) => return Err(failed(format!("took more than {TOKEN_SECONDS} seconds"))),
    };
    let token = printed.lines().next().unwrap_or_default().trim().to_owned();
    if token.is_empty() {
        return Err(failed(format!("printed no token ({status})")));
    }
    Ok(token)
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn a_token_is_the_first_line_a_command_prints_and_a_silent_one_is_an_error() {
        assert_eq!(
            super::token("printf 'abc.def\\nrest'").as_deref(),
            Ok("abc.def")
        );
        let error = super::token("exit 3").err().unwrap_or_default();
        assert!(error.contains("printed no token"), "{error}");
    }
}
