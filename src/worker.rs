//! Reading returns where a crash costs one file: a small, reused pool of worker processes under limits.
//!
//! Rust aborts on allocation failure and on stack overflow, and `catch_unwind` cannot catch either; a
//! reader can be made to allocate whatever a file claims. So the collating process never parses a return
//! itself: it hands the bytes to a worker (`collate read-worker`, the same binary) over a pipe and gets the
//! [`Validated`] back in postcard's compact binary form (read in a fraction of JSON's time). Workers are
//! reused, so a return costs a pipe round trip rather than a process start. On Linux each worker runs
//! under an address-space limit and, for each return, a CPU-time limit; a worker that dies is replaced,
//! and its return is rejected with the reason in the department's terms. Elsewhere (Windows, macOS) the
//! worker still contains a crash, without the limits.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Cause, FatalError};
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
            worker
                .await_ready()
                .map_err(|reason| self.cannot_start(reason))?;
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
    pub fn validate_all(&self, files: &[(&str, &[u8])]) -> Vec<Validated> {
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

    fn validate_one(&self, file: &str, bytes: &[u8]) -> Validated {
        self.call(file, bytes, read_reply)
            .unwrap_or_else(|reason| unsafe_to_read(file, reason))
    }

    /// Opens saved emails on every worker at once, results in the order given: each message's
    /// workbooks, or why it could not be opened (its worker's death included).
    pub fn unpack_all(&self, files: &[(&str, &[u8])]) -> Vec<Result<Unpacked, String>> {
        self.on_every_worker(files, |&(file, bytes)| {
            self.call(file, bytes, read_unpacked)
                .and_then(|unpacked| unpacked)
        })
    }

    /// Hands one file to a worker and reads its answer with `read`; `Err` says why the worker died.
    fn call<R>(
        &self,
        file: &str,
        bytes: &[u8],
        read: fn(&mut BufReader<ChildStdout>) -> Result<R, ()>,
    ) -> Result<R, String> {
        let mut worker = self
            .take()
            .map_or_else(|| Worker::spawn(&self.program, &self.schemas), Ok)
            .and_then(|mut worker| worker.await_ready().map(|()| worker))
            .map_err(|reason| format!("no worker could start ({reason})"))?;
        let reply = send(&mut worker.requests, (file, bytes))
            .map_err(|_| ())
            .and_then(|()| read(&mut worker.replies));
        match reply {
            Ok(answer) => {
                self.give_back(worker);
                Ok(answer)
            }
            Err(()) => Err(worker.why_it_died(&self.limits)),
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

/// One worker process and its pipes.
struct Worker {
    child: Child,
    requests: BufWriter<ChildStdin>,
    replies: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_drain: Option<std::thread::JoinHandle<()>>,
    /// Whether it has said it is ready (its schemas loaded).
    ready: bool,
}

impl Worker {
    /// Starts a worker process; it is ready for returns once [`Worker::await_ready`] says so.
    fn spawn(program: &Path, schemas: &Path) -> Result<Worker, String> {
        let mut child = Command::new(program)
            .arg("--schemas")
            .arg(schemas)
            .args(["--log-format", "json", WORKER_COMMAND])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| error.to_string())?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err("its pipes could not be opened".to_owned());
        };
        let kept = Arc::new(Mutex::new(Vec::new()));
        let drain = drain_stderr(stderr, Arc::clone(&kept));
        Ok(Worker {
            child,
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
            _ => match self.last_words() {
                said if said.is_empty() => Err("it stopped without saying why".to_owned()),
                said => Err(said),
            },
        }
    }

    /// What the worker wrote to standard error before it stopped; waits for it to stop.
    fn last_words(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(drain) = self.stderr_drain.take() {
            let _ = drain.join();
        }
        let kept = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&kept).trim().to_owned()
    }

    /// Why the worker stopped on a return, in the department's terms.
    fn why_it_died(&mut self, limits: &ReadLimits) -> String {
        // Already exited, normally: its status says how; otherwise it is stuck, and killed here.
        let status = self.child.try_wait().ok().flatten();
        let said = self.last_words();
        let status = status.or_else(|| self.child.try_wait().ok().flatten());
        explain_death(status, &said, limits)
    }
}

fn send(requests: &mut BufWriter<ChildStdin>, (file, bytes): (&str, &[u8])) -> std::io::Result<()> {
    requests.write_all(&(file.len() as u64).to_le_bytes())?;
    requests.write_all(file.as_bytes())?;
    requests.write_all(&(bytes.len() as u64).to_le_bytes())?;
    requests.write_all(bytes)?;
    requests.flush()
}

fn read_reply(replies: &mut BufReader<ChildStdout>) -> Result<Validated, ()> {
    postcard::from_bytes(&read_frame(replies)?).map_err(|_| ())
}

/// One length-prefixed frame of a worker's reply.
fn read_frame(replies: &mut impl Read) -> Result<Vec<u8>, ()> {
    let mut length = [0u8; 8];
    replies.read_exact(&mut length).map_err(|_| ())?;
    let mut frame = vec![0u8; u64::from_le_bytes(length) as usize];
    replies.read_exact(&mut frame).map_err(|_| ())?;
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

fn read_unpacked(replies: &mut BufReader<ChildStdout>) -> Result<Result<Unpacked, String>, ()> {
    let reply: UnpackReply = postcard::from_bytes(&read_frame(replies)?).map_err(|_| ())?;
    match reply {
        UnpackReply::Unreadable(reason) => Ok(Err(reason)),
        UnpackReply::Opened { workbooks, others } => {
            let mut unpacked = Unpacked {
                workbooks: Vec::new(),
                others,
            };
            for provenance in workbooks {
                let bytes = read_frame(replies)?;
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
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// The reason a worker's death gives its return, from how it ended and what it last said.
fn explain_death(
    status: Option<std::process::ExitStatus>,
    said: &str,
    limits: &ReadLimits,
) -> String {
    if said.contains("memory allocation of") {
        return format!("it needed more than {} MB of memory", limits.memory_mb);
    }
    if said.contains("overflowed its stack") {
        return "its content is nested too deeply".to_owned();
    }
    match status.and_then(signal_of) {
        Some(SIGXCPU) => format!(
            "it needed more than {} seconds of computing time",
            limits.cpu_seconds
        ),
        Some(SIGKILL) => "the reader was stopped while reading it".to_owned(),
        Some(signal) => format!("the reader crashed on it (signal {signal})"),
        None => match status.and_then(|s| s.code()) {
            Some(code) => format!("the reader stopped on it (exit code {code})"),
            None => "the reader stopped on it".to_owned(),
        },
    }
}

const SIGKILL: i32 = 9;
const SIGXCPU: i32 = 24;

#[cfg(unix)]
fn signal_of(status: std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn signal_of(_status: std::process::ExitStatus) -> Option<i32> {
    None
}

/// The worker's side: serves returns on standard input until it closes. Returns `Err` only when the
/// pipes themselves fail (the collating process went away).
pub fn serve(schemas: &Schemas) -> std::io::Result<()> {
    limits::limit_memory(schemas.dashboard.limits.memory_mb);
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
        limits::limit_cpu_for_next(schemas.dashboard.limits.cpu_seconds);
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

#[cfg(target_os = "linux")]
mod limits {
    use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};

    /// The whole worker's address space: an allocation past it fails, and the worker aborts.
    pub fn limit_memory(megabytes: u64) {
        let bytes = megabytes.saturating_mul(1024 * 1024);
        if let Err(error) = setrlimit(Resource::RLIMIT_AS, bytes, bytes) {
            tracing::warn!("could not limit the reader's memory: {error}");
        }
    }

    /// The next return may use `seconds` of CPU time beyond what the worker has used so far; past that
    /// the kernel stops the worker (SIGXCPU).
    pub fn limit_cpu_for_next(seconds: u64) {
        let used = getrusage(UsageWho::RUSAGE_SELF)
            .map(|usage| {
                let (user, system) = (usage.user_time(), usage.system_time());
                (user.tv_sec() + system.tv_sec() + 1).max(0) as u64
            })
            .unwrap_or(0);
        let hard = getrlimit(Resource::RLIMIT_CPU)
            .map(|(_, hard)| hard)
            .unwrap_or(nix::sys::resource::RLIM_INFINITY);
        let soft = used.saturating_add(seconds).min(hard);
        if let Err(error) = setrlimit(Resource::RLIMIT_CPU, soft, hard) {
            tracing::warn!("could not limit the reader's computing time: {error}");
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod limits {
    pub fn limit_memory(_megabytes: u64) {}
    pub fn limit_cpu_for_next(_seconds: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deaths_are_explained_in_the_departments_terms() {
        let limits = ReadLimits::default();
        assert_eq!(
            explain_death(
                None,
                "memory allocation of 96000000000 bytes failed",
                &limits
            ),
            "it needed more than 512 MB of memory"
        );
        assert_eq!(
            explain_death(
                None,
                "thread 'main' has overflowed its stack\nfatal runtime error: stack overflow",
                &limits
            ),
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
}
