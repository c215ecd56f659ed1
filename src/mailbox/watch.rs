//! The watcher's ear on the shared mailbox: a thread that holds an IMAP IDLE (or, on a server without
//! IDLE, looks every `poll_seconds`) and says when mail may be waiting; the watcher's own loop fetches it
//! through its pass. A lost connection is tried again with growing waits and said once per outage; it
//! never stops the thread, nor the watching of the folder.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::MailboxError;
use super::connect::open;
use crate::schema::ImapSettings;

/// How long one IDLE waits before the stop flag is looked at again.
const IDLE_TICK: Duration = Duration::from_secs(5);

/// IDLE is renewed within the 29 minutes RFC 2177 allows.
const SESSION_LENGTH: Duration = Duration::from_secs(25 * 60);

/// The longest wait between tries while the mailbox cannot be reached.
const LONGEST_WAIT: Duration = Duration::from_secs(300);

/// Whether mail may be waiting, as the listening thread hears it.
pub struct MailWaiting {
    waiting: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MailWaiting {
    /// Starts listening; mail is taken to be waiting at once (it may have come while nobody listened).
    pub fn start(settings: ImapSettings) -> MailWaiting {
        let waiting = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (waiting, stop) = (Arc::clone(&waiting), Arc::clone(&stop));
            std::thread::spawn(move || listen(&settings, &waiting, &stop))
        };
        MailWaiting {
            waiting,
            stop,
            thread: Some(thread),
        }
    }

    /// Whether mail may have come since the last call.
    pub fn take(&self) -> bool {
        self.waiting.swap(false, Ordering::SeqCst)
    }

    /// Says mail may be waiting still (a fetch that failed is tried again).
    pub fn again(&self) {
        self.waiting.store(true, Ordering::SeqCst);
    }
}

impl Drop for MailWaiting {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Listens until stopped, reconnecting after each failure.
fn listen(settings: &ImapSettings, waiting: &AtomicBool, stop: &AtomicBool) {
    let mut outage = Outage::default();
    while !stop.load(Ordering::SeqCst) {
        match one_session(settings, waiting, stop, &mut outage) {
            Ok(()) => outage.over(),
            Err(error) => {
                let wait = outage.failed(&error);
                pause(wait, stop);
            }
        }
    }
}

/// One session: IDLE (or a look every `poll_seconds`) until stopped or the session is due to be renewed.
fn one_session(
    settings: &ImapSettings,
    waiting: &AtomicBool,
    stop: &AtomicBool,
    outage: &mut Outage,
) -> Result<(), MailboxError> {
    let server = format!("{}:{}", settings.host, settings.port);
    let answered = |error: imap::Error| MailboxError::from_imap(&server, error);
    let mut session = open(settings)?;
    session.examine(&settings.folder).map_err(answered)?;
    let can_idle = session.capabilities().map_err(answered)?.has_str("IDLE");
    outage.over();
    // Connected again after an outage: what came meanwhile is waiting.
    waiting.store(true, Ordering::SeqCst);
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < SESSION_LENGTH {
        if can_idle {
            let outcome = session
                .idle()
                .timeout(IDLE_TICK)
                .keepalive(false)
                .wait_while(|_| false)
                .map_err(answered)?;
            if outcome == imap::extensions::idle::WaitOutcome::MailboxChanged {
                waiting.store(true, Ordering::SeqCst);
            }
        } else {
            pause(Duration::from_secs(settings.poll_seconds), stop);
            session.noop().map_err(answered)?;
            waiting.store(true, Ordering::SeqCst);
        }
    }
    let _ = session.logout();
    Ok(())
}

/// Sleeps for `wait`, looking at the stop flag every 100 ms.
fn pause(wait: Duration, stop: &AtomicBool) {
    let until = Instant::now() + wait;
    while !stop.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A run of failures to reach the mailbox: said when it starts and when it ends, not at every try.
#[derive(Default)]
struct Outage {
    since: Option<Instant>,
    tries: u32,
}

impl Outage {
    /// Notes a failure; returns how long to wait before the next try.
    fn failed(&mut self, error: &MailboxError) -> Duration {
        if self.since.is_none() {
            tracing::warn!(
                "{error}; the watcher goes on watching the inbox folder and tries the mailbox again"
            );
            self.since = Some(Instant::now());
        }
        self.tries = self.tries.saturating_add(1);
        let seconds = 1u64 << self.tries.min(9);
        Duration::from_secs(seconds).min(LONGEST_WAIT)
    }

    fn over(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(
                "the mailbox can be reached again (after {} s)",
                since.elapsed().as_secs()
            );
        }
        self.tries = 0;
    }
}
