//! Reading returns where a crash costs one file: a small, reused pool of worker processes under limits.
//!
//! Rust aborts on allocation failure and on stack overflow, and `catch_unwind` cannot catch either; a
//! reader can be made to allocate whatever a file claims. So the collating process never parses a return
//! itself: it hands the bytes to a worker (`collate read-worker`, the same binary) over a pipe and gets the
//! [`Validated`] back in postcard's compact binary form (read in a fraction of JSON's time). Workers are
//! reused, so a return costs a pipe round trip rather than a process start. Every read has a wall-clock
//! deadline, on every platform; on Linux each worker also runs under an address-space limit and, for each
//! return, a CPU-time limit. A worker that dies is replaced, and its return is rejected with the reason in
//! the department's terms, unless something outside `collate` stopped it (a terminal's Ctrl-C, a service
//! manager, the out-of-memory killer): stopping is not a verdict, so the return is read once more in a
//! fresh worker, and if that is stopped too it is left for the next run. Workers run in a process group of
//! their own, so the signals meant for `collate` reach `collate` alone.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Cause, FatalError};
use crate::platform::{self, Ending};
use crate::read::message::{Attachment, MessageProvenance, Unpacked, is_message_name, unpack};
use crate::schema::{ReadLimits, Schemas};
use crate::validate::{BuiltinCheck, Validated, validate_bytes};

/// The hidden subcommand a worker is started with.
pub const WORKER_COMMAND: &str = "read-worker";

/// What a worker says once its schemas are loaded and it is ready for returns.
const READY: u8 = b'R';

/// How much of a worker's standard error is kept to explain its death.
const STDERR_KEPT: usize = 8 * 1024;

/// The workers, idle ones kept for the next return.
pub struct WorkerPool {
    program: PathBuf,
    schemas: PathBuf,
    limits: ReadLimits,
    idle: Mutex<Vec<Worker>>,
    /// How many workers run at once.
    size: usize,
}

impl WorkerPool {
    /// A pool of workers running `program read-worker` on the schemas in `schemas`, one per core, started
    /// at once. They load their schemas while the caller opens the store and scans the inbox;
    /// [`WorkerPool::confirm_started`] waits for their word.
    pub fn start(program: &Path, schemas: &Path, limits: ReadLimits) -> Result<Self, FatalError> {
        let schemas = std::fs::canonicalize(schemas).map_err(|error| {
            FatalError::folder_failed(schemas, "cannot find the schemas folder", error)
        })?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = WorkerPool {
            program: program.to_path_buf(),
            schemas,
            limits,
            idle: Mutex::new(Vec::new()),
            size: cores,
        };
        for _ in 0..cores {
            let worker = Worker::spawn(&pool.program, &pool.schemas)
                .map_err(|reason| pool.cannot_start(reason))?;
            pool.give_back(worker);
        }
        Ok(pool)
    }

    /// Waits until every worker started has said it is ready: a worker that cannot start at all stops
    /// the program rather than rejecting every return.
    pub fn confirm_started(&self) -> Result<(), FatalError> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        for worker in idle.iter_mut() {
            worker.supervisor.arm(self.limits.read_deadline());
            worker
                .await_ready()
                .map_err(|reason| self.cannot_start(reason))?;
            if !worker.supervisor.disarm() {
                return Err(self.cannot_start("it took too long to start".to_owned()));
            }
        }
        Ok(())
    }

    fn cannot_start(&self, reason: String) -> FatalError {
        FatalError::folder_failed(
            &self.program,
            "cannot start a worker to read returns",
            Cause::Described(reason),
        )
    }

    /// A pool of workers of this very program (what `collate` itself uses).
    pub fn of_this_program(schemas: &Path, limits: ReadLimits) -> Result<Self, FatalError> {
        let program = std::env::current_exe().map_err(|error| {
            FatalError::folder_failed(
                Path::new("collate"),
                "cannot find this program to start its workers",
                error,
            )
        })?;
        WorkerPool::start(&program, schemas, limits)
    }

    fn take(&self) -> Option<Worker> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn give_back(&self, worker: Worker) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(worker);
    }

    /// Reads and validates files on every worker at once (a thread of this process for each, waiting on
    /// its worker); the results are in the order given. Never fails: a worker that dies costs the file it
    /// was reading, and a new one takes its place.
    pub fn validate_all(&self, files: &[(&str, &[u8])]) -> Vec<Result<Validated, Interrupted>> {
        self.on_every_worker(files, |&(file, bytes)| self.validate_one(file, bytes))
    }

    /// `each` of `items`, on a thread per worker taking the next item as it finishes one; the results
    /// are in the order given. Threads of their own, because each spends its time blocked on its
    /// worker's pipe: rayon's pool is left to the work that computes (rendering, the store).
    fn on_every_worker<T: Sync, R: Send>(
        &self,
        items: &[T],
        each: impl Fn(&T) -> R + Sync,
    ) -> Vec<R> {
        let next = AtomicUsize::new(0);
        let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..self.size.min(items.len()))
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            let Some(item) = items.get(index) else {
                                break done;
                            };
                            done.push((index, each(item)));
                        }
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p))
                })
                .collect()
        });
        done.sort_unstable_by_key(|(index, _)| *index);
        done.into_iter().map(|(_, result)| result).collect()
    }

    fn validate_one(&self, file: &str, bytes: &[u8]) -> Result<Validated, Interrupted> {
        Ok(self
            .call(file, bytes, read_reply)?
            .unwrap_or_else(|reason| unsafe_to_read(file, reason)))
    }

    /// Opens saved emails on every worker at once, results in the order given: each message's
    /// workbooks, or why it could not be opened (its worker's death included).
    pub fn unpack_all(
        &self,
        files: &[(&str, &[u8])],
    ) -> Vec<Result<Result<Unpacked, String>, Interrupted>> {
        self.on_every_worker(files, |&(file, bytes)| {
            Ok(self
                .call(file, bytes, read_unpacked)?
                .and_then(|unpacked| unpacked))
        })
    }

    /// Hands one file to a worker and reads its answer with `read`. A worker stopped from outside (not by
    /// `collate`: a terminal, a service manager, the out-of-memory killer) is not the file's doing, so the
    /// file is read once more in a fresh worker; stopped again, it is [`Interrupted`] and left for the next
    /// run. `Ok(Err(reason))` is the file's verdict: why the reader could not finish it.
    fn call<R>(&self, file: &str, bytes: &[u8], read: ReadAnswer<R>) -> Called<R> {
        let first = match self.call_once(self.take(), file, bytes, read) {
            Err(Death::StoppedFromOutside(how)) => how,
            settled => return Ok(settled.map_err(Death::into_reason)),
        };
        tracing::info!(
            file,
            "its reader was stopped from outside ({first}); reading it again in a new one"
        );
        match self.call_once(None, file, bytes, read) {
            Err(Death::StoppedFromOutside(how)) => Err(Interrupted {
                reason: format!("its reader was stopped from outside twice ({first}; then {how})"),
            }),
            settled => Ok(settled.map_err(Death::into_reason)),
        }
    }

    /// One attempt on `worker` (or a fresh one), within the deadline.
    fn call_once<R>(
        &self,
        worker: Option<Worker>,
        file: &str,
        bytes: &[u8],
        read: ReadAnswer<R>,
    ) -> Result<R, Death> {
        let mut worker = worker
            .map_or_else(|| Worker::spawn(&self.program, &self.schemas), Ok)
            .map_err(|reason| Death::Verdict(format!("no worker could start ({reason})")))?;
        worker.supervisor.arm(self.limits.read_deadline());
        let reply = worker
            .await_ready()
            .map_err(Fault::NotReady)
            .and_then(|()| send(&mut worker.requests, (file, bytes)).map_err(|_| Fault::Closed))
            .and_then(|()| read(&mut worker.replies, self.limits.largest_reply_bytes()));
        match reply {
            Ok(answer) => {
                // Answered, but stopped at the deadline as the answer came: it is not kept.
                if worker.supervisor.disarm() {
                    self.give_back(worker);
                }
                Ok(answer)
            }
            Err(fault) => Err(worker.death(fault, &self.limits)),
        }
    }
}

/// What [`WorkerPool::call`] comes to: the answer or the file's verdict, or a read left unfinished.
type Called<R> = Result<Result<R, String>, Interrupted>;

/// Reads a worker's answer, no frame longer than the bytes given.
type ReadAnswer<R> = fn(&mut BufReader<ChildStdout>, u64) -> Result<R, Fault>;

/// A read a worker could not finish because something outside `collate` stopped it, twice: not a verdict
/// on the file, which is left in the inbox to be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub reason: String,
}

/// Why no answer came from a worker.
#[derive(Debug)]
enum Fault {
    /// It did not say it was ready; what it said instead.
    NotReady(String),
    /// Its pipes closed: it stopped.
    Closed,
    /// It claimed an answer longer than any answer can be.
    TooLong(u64),
    /// Its answer could not be decoded.
    Garbled,
}

/// How a worker's read ended without an answer.
#[derive(Debug)]
enum Death {
    /// The file's doing, or the limits': the reason rejects the return.
    Verdict(String),
    /// Something outside `collate` stopped the worker: not the file's doing.
    StoppedFromOutside(String),
}

impl Death {
    fn into_reason(self) -> String {
        match self {
            Death::Verdict(reason) | Death::StoppedFromOutside(reason) => reason,
        }
    }
}

fn unsafe_to_read(file: &str, reason: String) -> Validated {
    Validated::rejected(
        file,
        BuiltinCheck::UnsafeWorkbook,
        format!("the workbook could not be read safely: {reason}"),
        "Open the file in Excel, check it shows only your return, save it as a new .xlsx and send it again.",
    )
}

/// One worker process, its pipes, and the supervisor that holds it to its deadline.
struct Worker {
    supervisor: Arc<Supervisor>,
    requests: BufWriter<ChildStdin>,
    replies: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_drain: Option<std::thread::JoinHandle<()>>,
    /// Whether it has said it is ready (its schemas loaded).
    ready: bool,
}

impl Worker {
    /// Starts a worker process in a process group of its own (so that a Ctrl-C or a SIGTERM meant for
    /// `collate` is not delivered to it mid-read); it is ready once [`Worker::await_ready`] says so.
    fn spawn(program: &Path, schemas: &Path) -> Result<Worker, String> {
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
    fn await_ready(&mut self) -> Result<(), String> {
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
    fn death(&mut self, fault: Fault, limits: &ReadLimits) -> Death {
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
        match ending {
            Ended::AtDeadline => Death::Verdict(format!(
                "reading it took more than {} seconds",
                limits.read_seconds
            )),
            Ended::Status(status) => explain_death(status, &said, limits),
        }
    }
}

/// How a supervised worker ended.
enum Ended {
    /// `collate` stopped it at its deadline.
    AtDeadline,
    /// It ended by itself (or from outside): how, where the platform says.
    Status(Option<std::process::ExitStatus>),
}

/// Holds a worker to a wall-clock deadline for each read, on every platform: a thread of its own stops
/// the worker when a read has gone on too long (a reader blocked without using the CPU, or any reader
/// where no CPU limit can be set). The worker's process lives here, so that stopping it at the deadline
/// and the read's end cannot cross.
struct Supervisor {
    state: Mutex<Supervised>,
    changed: Condvar,
}

struct Supervised {
    child: Child,
    /// When the read in hand must have been answered by.
    deadline: Option<Instant>,
    /// Whether the worker was stopped at its deadline.
    stopped_at_deadline: bool,
    /// Whether the worker is done with: the supervising thread ends.
    finished: bool,
}

impl Supervisor {
    fn start(child: Child) -> Arc<Supervisor> {
        let supervisor = Arc::new(Supervisor {
            state: Mutex::new(Supervised {
                child,
                deadline: None,
                stopped_at_deadline: false,
                finished: false,
            }),
            changed: Condvar::new(),
        });
        let watching = Arc::clone(&supervisor);
        std::thread::spawn(move || watching.keep_to_deadlines());
        supervisor
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Supervised> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The supervising thread: sleeps until the deadline in force, and stops the worker if it passes.
    fn keep_to_deadlines(&self) {
        let mut state = self.lock();
        while !state.finished {
            state = match state.deadline {
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        let (state, _) = self
                            .changed
                            .wait_timeout(state, left)
                            .unwrap_or_else(PoisonError::into_inner);
                        state
                    }
                    _ => {
                        let _ = state.child.kill();
                        state.stopped_at_deadline = true;
                        state.deadline = None;
                        state
                    }
                },
            };
        }
    }

    /// The read starting now must be answered within `allowed`.
    fn arm(&self, allowed: Duration) {
        let mut state = self.lock();
        state.deadline = Some(Instant::now() + allowed);
        state.stopped_at_deadline = false;
        self.changed.notify_one();
    }

    /// The read was answered: no deadline until the next. Whether the worker is still running (it was not
    /// stopped at the deadline just as the answer came).
    fn disarm(&self) -> bool {
        let mut state = self.lock();
        state.deadline = None;
        !state.stopped_at_deadline
    }

    /// Stops the worker now.
    fn stop(&self) {
        let mut state = self.lock();
        state.deadline = None;
        let _ = state.child.kill();
        let _ = state.child.wait();
    }

    /// Waits for a worker whose pipes closed to end, its deadline still in force (a worker that closed
    /// them and went on running is stopped there), then says how it ended.
    fn wait(&self) -> Ended {
        loop {
            {
                let mut state = self.lock();
                if let Ok(Some(status)) = state.child.try_wait() {
                    state.deadline = None;
                    return match state.stopped_at_deadline {
                        true => Ended::AtDeadline,
                        false => Ended::Status(Some(status)),
                    };
                }
                if state.deadline.is_none() && !state.stopped_at_deadline {
                    // No deadline to wait for (it was stopped already, or never armed): stop it here.
                    let _ = state.child.kill();
                    return Ended::Status(state.child.wait().ok());
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The worker is done with: stops it and ends the supervising thread.
    fn finish(&self) {
        let mut state = self.lock();
        state.finished = true;
        state.deadline = None;
        let _ = state.child.kill();
        let _ = state.child.wait();
        self.changed.notify_one();
    }
}

fn send(requests: &mut BufWriter<ChildStdin>, (file, bytes): (&str, &[u8])) -> std::io::Result<()> {
    requests.write_all(&(file.len() as u64).to_le_bytes())?;
    requests.write_all(file.as_bytes())?;
    requests.write_all(&(bytes.len() as u64).to_le_bytes())?;
    requests.write_all(bytes)?;
    requests.flush()
}

fn read_reply(replies: &mut BufReader<ChildStdout>, largest: u64) -> Result<Validated, Fault> {
    postcard::from_bytes(&read_frame(replies, largest)?).map_err(|_| Fault::Garbled)
}

/// One length-prefixed frame of a worker's reply, refused when it claims more than `largest` bytes: the
/// length is not trusted with an allocation.
fn read_frame(replies: &mut impl Read, largest: u64) -> Result<Vec<u8>, Fault> {
    let mut length = [0u8; 8];
    replies.read_exact(&mut length).map_err(|_| Fault::Closed)?;
    let claimed = u64::from_le_bytes(length);
    if claimed > largest {
        return Err(Fault::TooLong(claimed));
    }
    // Sized once for the usual answer; a long one grows only as its bytes really arrive.
    let mut frame = Vec::with_capacity(claimed.min(1 << 20) as usize);
    replies
        .take(claimed)
        .read_to_end(&mut frame)
        .map_err(|_| Fault::Closed)?;
    if frame.len() as u64 != claimed {
        return Err(Fault::Closed);
    }
    Ok(frame)
}

fn write_frame(replies: &mut impl Write, frame: &[u8]) -> std::io::Result<()> {
    replies.write_all(&(frame.len() as u64).to_le_bytes())?;
    replies.write_all(frame)
}

/// What a worker says of a saved email: its workbooks' provenance and the other attachments' names (as
/// postcard), then each workbook's bytes in a frame of its own; or why the email could not be opened.
#[derive(serde::Serialize, serde::Deserialize)]
enum UnpackReply {
    Opened {
        workbooks: Vec<MessageProvenance>,
        others: Vec<String>,
    },
    Unreadable(String),
}

fn read_unpacked(
    replies: &mut BufReader<ChildStdout>,
    largest: u64,
) -> Result<Result<Unpacked, String>, Fault> {
    let reply: UnpackReply =
        postcard::from_bytes(&read_frame(replies, largest)?).map_err(|_| Fault::Garbled)?;
    match reply {
        UnpackReply::Unreadable(reason) => Ok(Err(reason)),
        UnpackReply::Opened { workbooks, others } => {
            let mut unpacked = Unpacked {
                workbooks: Vec::new(),
                others,
            };
            for provenance in workbooks {
                let bytes = read_frame(replies, largest)?;
                unpacked.workbooks.push(Attachment { provenance, bytes });
            }
            Ok(Ok(unpacked))
        }
    }
}

/// The worker's answer for a saved email.
fn write_unpacked(
    replies: &mut impl Write,
    unpacked: Result<Unpacked, crate::read::Unreadable>,
) -> std::io::Result<()> {
    let (reply, blobs) = match unpacked {
        Ok(unpacked) => {
            let (workbooks, blobs): (Vec<_>, Vec<_>) = unpacked
                .workbooks
                .into_iter()
                .map(|a| (a.provenance, a.bytes))
                .unzip();
            let others = unpacked.others;
            (UnpackReply::Opened { workbooks, others }, blobs)
        }
        Err(unreadable) => (UnpackReply::Unreadable(unreadable.0), Vec::new()),
    };
    write_frame(
        replies,
        &postcard::to_allocvec(&reply).map_err(std::io::Error::other)?,
    )?;
    for blob in blobs {
        write_frame(replies, &blob)?;
    }
    Ok(())
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

/// How a worker's death reads, from how it ended and what it last said: a verdict on the file, or a stop
/// from outside that is not.
fn explain_death(
    status: Option<std::process::ExitStatus>,
    said: &str,
    limits: &ReadLimits,
) -> Death {
    if said.contains("memory allocation of") {
        return Death::Verdict(format!(
            "it needed more than {} MB of memory",
            limits.memory_mb
        ));
    }
    if said.contains("overflowed its stack") {
        return Death::Verdict("its content is nested too deeply".to_owned());
    }
    Death::Verdict(match status.map(platform::ending) {
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

/// The worker's side: serves returns on standard input until it closes. Returns `Err` only when the
/// pipes themselves fail (the collating process went away).
pub fn serve(schemas: &Schemas) -> std::io::Result<()> {
    platform::limits::limit_memory(schemas.dashboard.limits.memory_mb);
    let mut requests = BufReader::new(std::io::stdin().lock());
    let mut replies = BufWriter::new(std::io::stdout().lock());
    replies.write_all(&[READY])?;
    replies.flush()?;
    loop {
        let mut length = [0u8; 8];
        match requests.read_exact(&mut length) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(error),
        }
        let mut file = vec![0u8; u64::from_le_bytes(length) as usize];
        requests.read_exact(&mut file)?;
        requests.read_exact(&mut length)?;
        let mut bytes = vec![0u8; u64::from_le_bytes(length) as usize];
        requests.read_exact(&mut bytes)?;
        let file = String::from_utf8_lossy(&file).into_owned();
        platform::limits::limit_cpu_for_next(schemas.dashboard.limits.cpu_seconds);
        if is_message_name(&file) {
            write_unpacked(
                &mut replies,
                unpack(&file, &bytes, &schemas.dashboard.limits),
            )?;
        } else {
            let validated = validate_bytes(schemas, &file, bytes);
            let reply = postcard::to_allocvec(&validated).map_err(std::io::Error::other)?;
            write_frame(&mut replies, &reply)?;
        }
        replies.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deaths_are_explained_in_the_departments_terms() {
        let limits = ReadLimits::default();
        let reason = |said: &str| match explain_death(None, said, &limits) {
            Death::Verdict(reason) => reason,
            Death::StoppedFromOutside(how) => panic!("a verdict, not a stop: {how}"),
        };
        assert_eq!(
            reason("memory allocation of 96000000000 bytes failed"),
            "it needed more than 512 MB of memory"
        );
        assert_eq!(
            reason("thread 'main' has overflowed its stack\nfatal runtime error: stack overflow"),
            "its content is nested too deeply"
        );
    }

    #[cfg(unix)]
    #[test]
    fn workers_that_never_say_they_are_ready_stop_the_program_but_cost_a_return_once_running() {
        let schemas = tempfile::tempdir().expect("a folder");
        // A program that starts and exits at once, saying nothing: as a worker would that cannot load
        // its schemas.
        let pool = WorkerPool::start(Path::new("false"), schemas.path(), ReadLimits::default())
            .expect("the processes start");
        let error = pool.confirm_started().expect_err("none said it was ready");
        assert!(
            error
                .to_string()
                .ends_with("cannot start a worker to read returns"),
            "{error}"
        );
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("it stopped without saying why"));
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        let reasons: Vec<String> = validated[0]
            .as_ref()
            .expect("a verdict")
            .exceptions()
            .iter()
            .map(|e| e.message.clone())
            .collect();
        assert_eq!(
            reasons,
            [
                "the workbook could not be read safely: no worker could start (it stopped without saying why)"
            ]
        );
    }

    /// A stand-in worker: a shell script that says it is ready, then does `then`.
    #[cfg(unix)]
    fn stand_in(folder: &Path, then: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = folder.join("worker.sh");
        std::fs::write(&script, format!("#!/bin/sh\nprintf R\n{then}\n")).expect("written");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("mode");
        script
    }

    #[cfg(unix)]
    fn limits_with_deadline(seconds: u64) -> ReadLimits {
        ReadLimits {
            read_seconds: seconds,
            ..ReadLimits::default()
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_reader_that_never_answers_is_stopped_at_its_deadline() {
        let folder = tempfile::tempdir().expect("a folder");
        // Blocked without using the CPU: no CPU limit would ever stop it.
        let program = stand_in(folder.path(), "exec sleep 600");
        let pool = WorkerPool::start(&program, folder.path(), limits_with_deadline(1))
            .expect("the processes start");
        let started = Instant::now();
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        assert!(started.elapsed() < Duration::from_secs(60));
        let validated = validated[0].as_ref().expect("a verdict on the file");
        assert_eq!(
            validated.exceptions()[0].message,
            "the workbook could not be read safely: reading it took more than 1 seconds"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_reader_stopped_from_outside_is_tried_again_in_a_fresh_one_then_left_for_later() {
        let folder = tempfile::tempdir().expect("a folder");
        // The first reader is stopped as systemd stops a whole unit; the second just does not answer.
        let marker = folder.path().join("stopped once");
        let then = format!(
            "if [ ! -e '{0}' ]; then touch '{0}'; kill -TERM $$; fi\nexec sleep 600",
            marker.display()
        );
        let program = stand_in(folder.path(), &then);
        let pool = WorkerPool::start(&program, folder.path(), limits_with_deadline(1))
            .expect("the processes start");
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        let message = &validated[0].as_ref().expect("read again").exceptions()[0].message;
        assert!(message.ends_with("more than 1 seconds"), "{message}");

        // Stopped every time: not a verdict on the file.
        let program = stand_in(folder.path(), "kill -INT $$");
        let pool = WorkerPool::start(&program, folder.path(), limits_with_deadline(5))
            .expect("the processes start");
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        let interrupted = validated[0].as_ref().expect_err("left for later");
        assert_eq!(
            interrupted.reason,
            "its reader was stopped from outside twice (signal 2: an interrupt, as Ctrl-C sends; \
             then signal 2: an interrupt, as Ctrl-C sends)"
        );
    }

    #[test]
    fn a_reply_longer_than_any_can_be_is_refused_before_anything_is_allocated() {
        let mut claim = Vec::from(u64::MAX.to_le_bytes());
        claim.extend_from_slice(b"short");
        let refused = read_frame(&mut claim.as_slice(), 1 << 20);
        assert!(
            matches!(refused, Err(Fault::TooLong(u64::MAX))),
            "{refused:?}"
        );
        let mut cut_short = Vec::from(100u64.to_le_bytes());
        cut_short.extend_from_slice(b"only eleven");
        assert!(matches!(
            read_frame(&mut cut_short.as_slice(), 1 << 20),
            Err(Fault::Closed)
        ));
        let mut whole = Vec::from(5u64.to_le_bytes());
        whole.extend_from_slice(b"whole");
        assert_eq!(
            read_frame(&mut whole.as_slice(), 1 << 20).expect("read"),
            b"whole"
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_signals_from_outside_are_not_verdicts() {
        use std::os::unix::process::ExitStatusExt;
        let limits = ReadLimits::default();
        let death = |signal: i32| {
            explain_death(
                Some(std::process::ExitStatus::from_raw(signal)),
                "",
                &limits,
            )
        };
        for outside in [1, 2, 3, 9, 15] {
            assert!(
                matches!(death(outside), Death::StoppedFromOutside(_)),
                "signal {outside}"
            );
        }
        for verdict in [6, 11, 24] {
            assert!(
                matches!(death(verdict), Death::Verdict(_)),
                "signal {verdict}"
            );
        }
    }
}
