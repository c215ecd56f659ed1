//! One worker process: started in a process group of its own, its word that it is ready, what it said on
//! standard error, and why it died, in the department's terms.

use std::io::{BufReader, BufWriter, Read};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use super::WORKER_COMMAND;
use super::protocol::{Fault, READY};
use super::supervisor::{Ended, Supervisor};
use crate::platform::{self, Ending};
use crate::schema::ReadLimits;

/// How much of a worker's standard error is kept to explain its death.
const STDERR_KEPT: usize = 8 * 1024;

/// How a worker's read ended without an answer.
#[derive(Debug)]
pub(super) enum Death {
    /// The file's doing, or the limits': the reason rejects the return.
    Verdict(String),
    /// Something outside `collate` stopped the worker: not the file's doing.
    StoppedFromOutside(String),
}

impl Death {
    pub(super) fn into_reason(self) -> String {
        match self {
            Death::Verdict(reason) | Death::StoppedFromOutside(reason) => reason,
        }
    }
}

/// One worker process, its pipes, and the supervisor that holds it to its deadline.
pub(super) struct Worker {
    pub(super) supervisor: Arc<Supervisor>,
    pub(super) requests: BufWriter<ChildStdin>,
    pub(super) replies: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_drain: Option<std::thread::JoinHandle<()>>,
    /// Whether it has said it is ready (its schemas loaded).
    ready: bool,
}

impl Worker {
    /// Starts a worker process in a process group of its own (so that a Ctrl-C or a SIGTERM meant for
    /// `collate` is not delivered to it mid-read); it is ready once [`Worker::await_ready`] says so.
    pub(super) fn spawn(program: &Path, schemas: &Path) -> Result<Worker, String> {
        let mut command = Command::new(program);
        command
            .arg("--schemas")
            .arg(schemas)
            .args(["--log-format", "json", WORKER_COMMAND])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = platform::in_own_process_group(&mut command)
            .spawn()
            .map_err(|error| error.to_string())?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("its pipes could not be opened".to_owned());
        };
        let kept = Arc::new(Mutex::new(Vec::new()));
        let drain = drain_stderr(stderr, Arc::clone(&kept));
        Ok(Worker {
            supervisor: Supervisor::start(child),
            requests: BufWriter::new(stdin),
            replies: BufReader::new(stdout),
            stderr: kept,
            stderr_drain: Some(drain),
            ready: false,
        })
    }

    /// Waits for the worker's word that it is ready; `Err` is what it said instead before it stopped.
    pub(super) fn await_ready(&mut self) -> Result<(), String> {
        if self.ready {
            return Ok(());
        }
        let mut ready = [0u8; 1];
        match self.replies.read_exact(&mut ready) {
            Ok(()) if ready[0] == READY => {
                self.ready = true;
                Ok(())
            }
            _ => {
                self.supervisor.stop();
                match self.last_words() {
                    said if said.is_empty() => Err("it stopped without saying why".to_owned()),
                    said => Err(said),
                }
            }
        }
    }

    /// What the worker wrote to standard error before it stopped (call once it has).
    fn last_words(&mut self) -> String {
        if let Some(drain) = self.stderr_drain.take() {
            let _ = drain.join();
        }
        let kept = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&kept).trim().to_owned()
    }

    /// Why the worker gave no answer, in the department's terms. A worker whose pipes closed is waited
    /// for (its deadline still holds) and judged by how it ended; one that answered wrongly is stopped.
    pub(super) fn death(&mut self, fault: Fault, limits: &ReadLimits) -> Death {
        let ending = match fault {
            Fault::NotReady(said) => {
                return Death::Verdict(format!("no worker could start ({said})"));
            }
            Fault::TooLong(claimed) => {
                self.supervisor.stop();
                return Death::Verdict(format!(
                    "its reader answered with {claimed} bytes, more than any answer can be"
                ));
            }
            Fault::Garbled => {
                self.supervisor.stop();
                return Death::Verdict("its reader's answer could not be understood".to_owned());
            }
            Fault::Closed => self.supervisor.wait(),
        };
        let said = self.last_words();
        if !said.is_empty() {
            // For whoever looks into it: the verdict is told by how the worker ended, not by this.
            tracing::debug!(said = %said, "a reader stopped");
        }
        match ending {
            Ended::AtDeadline => Death::Verdict(format!(
                "reading it took more than {} seconds",
                limits.read_seconds
            )),
            Ended::Status(status) => explain_death(status, limits),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.supervisor.finish();
    }
}

fn drain_stderr(
    mut stderr: std::process::ChildStderr,
    kept: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = stderr.read(&mut buffer) {
            if read == 0 {
                break;
            }
            let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.extend_from_slice(&buffer[..read]);
            if kept.len() > STDERR_KEPT {
                let excess = kept.len() - STDERR_KEPT;
                kept.drain(..excess);
            }
        }
    })
}

/// How a worker's death reads, from how it ended alone: a verdict on the file, or a stop from outside
/// that is not.
pub(super) fn explain_death(
    status: Option<std::process::ExitStatus>,
    limits: &ReadLimits,
) -> Death {
    Death::Verdict(match status.map(platform::ending) {
        // Rust aborts on a failed allocation, which the address-space limit makes of a reader that asks
        // for too much. It aborts on a stack overflow too, but the inspection refuses XML nested deeper
        // than the limit before any reader parses it, so an abort is the memory limit.
        Some(Ending::Aborted) => format!("it needed more than {} MB of memory", limits.memory_mb),
        Some(Ending::CpuLimit) => format!(
            "it needed more than {} seconds of computing time",
            limits.cpu_seconds
        ),
        Some(Ending::StoppedFromOutside(how)) => {
            return Death::StoppedFromOutside(how.to_owned());
        }
        Some(Ending::Crashed(signal)) => format!("the reader crashed on it (signal {signal})"),
        Some(Ending::Exited(Some(code))) => format!("the reader stopped on it (exit code {code})"),
        Some(Ending::Exited(None)) | None => "the reader stopped on it".to_owned(),
    })
}
