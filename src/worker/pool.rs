//! The pool of workers: idle ones kept for the next return, a thread of this process per worker waiting on
//! its pipe, and each file handed to one within its deadline (read once more in a fresh worker when the
//! first was stopped from outside).

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ChildStdout;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::process::{Death, Worker};
use super::protocol::{Fault, Request, read_reply, read_unpacked, send};
use crate::error::{Cause, FatalError};
use crate::read::message::Unpacked;
use crate::schema::ReadLimits;
use crate::validate::{BuiltinCheck, Validated};

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
        self.on_every_worker(files, LONGEST_RUN, |run| self.validate_run(run))
    }

    /// `each` run of consecutive `items` (at most `longest` long), on a thread per worker taking the next
    /// run as it finishes one; the results are in the order given. Threads of their own, because each
    /// spends its time blocked on its worker's pipe: rayon's pool is left to the work that computes
    /// (rendering, the store).
    fn on_every_worker<T: Sync, R: Send>(
        &self,
        items: &[T],
        longest: usize,
        each: impl Fn(&[T]) -> Vec<R> + Sync,
    ) -> Vec<R> {
        let next = AtomicUsize::new(0);
        let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..self.size.min(items.len()))
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        while let Some(run) = claim_run(&next, items.len(), self.size, longest) {
                            let first = run.start;
                            let results = each(items.get(run).unwrap_or_default());
                            done.extend((first..).zip(results));
                        }
                        done
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

    /// A run of small files goes to one worker in one request, their answers back together: a pipe
    /// round trip, and the processor switches on both sides of it, for several returns instead of each.
    /// Should its worker die on one of them, each is read again alone, so that its death costs that file
    /// alone, as for any other.
    fn validate_run(&self, run: &[(&str, &[u8])]) -> Vec<Result<Validated, Interrupted>> {
        let small = |&(_, bytes): &(&str, &[u8])| bytes.len() as u64 <= TOGETHER_UP_TO;
        if run.len() > 1
            && run.iter().all(small)
            && let Some(validated) = self.validate_together(run)
        {
            return validated.into_iter().map(Ok).collect();
        }
        run.iter()
            .map(|&(file, bytes)| self.validate_one(file, bytes))
            .collect()
    }

    /// The answers for every file of `run`, read by one worker within one read's deadline; `None` when
    /// that worker did not answer for all of them.
    fn validate_together(&self, run: &[(&str, &[u8])]) -> Option<Vec<Validated>> {
        let (files, bytes): (Vec<String>, Vec<&[u8]>) = run
            .iter()
            .map(|&(file, bytes)| (file.to_owned(), bytes))
            .unzip();
        let largest = self.limits.largest_reply_bytes();
        let answers = self.exchange(self.take(), |worker| {
            let request = Request::ValidateEach { files };
            send(&mut worker.requests, &request, &bytes).map_err(|_| Fault::Closed)?;
            run.iter()
                .map(|_| read_reply(&mut worker.replies, largest))
                .collect()
        });
        match answers {
            Ok(answers) => Some(answers),
            Err(Death::StoppedFromOutside(how)) => {
                tracing::info!(
                    "the reader given {} returns together was stopped from outside ({how}); reading each again in a new one",
                    run.len()
                );
                None
            }
            // Each read alone says which one it was, and why.
            Err(Death::Verdict(reason)) => {
                tracing::debug!(
                    "the reader given {} returns together stopped ({reason}); reading each alone",
                    run.len()
                );
                None
            }
        }
    }

    fn validate_one(&self, file: &str, bytes: &[u8]) -> Result<Validated, Interrupted> {
        Ok(self
            .call(file, bytes, VALIDATE)?
            .unwrap_or_else(|reason| unsafe_to_read(file, reason)))
    }

    /// Opens saved emails on every worker at once, results in the order given: each message's
    /// workbooks, or why it could not be opened (its worker's death included).
    pub fn unpack_all(
        &self,
        files: &[(&str, &[u8])],
    ) -> Vec<Result<Result<Unpacked, String>, Interrupted>> {
        self.on_every_worker(files, 1, |run| {
            run.iter()
                .map(|&(file, bytes)| {
                    Ok(self
                        .call(file, bytes, UNPACK)?
                        .and_then(|unpacked| unpacked))
                })
                .collect()
        })
    }

    /// Hands one file to a worker and reads its answer with `read`. A worker stopped from outside (not by
    /// `collate`: a terminal, a service manager, the out-of-memory killer) is not the file's doing, so the
    /// file is read once more in a fresh worker; stopped again, it is [`Interrupted`] and left for the next
    /// run. `Ok(Err(reason))` is the file's verdict: why the reader could not finish it.
    fn call<R>(&self, file: &str, bytes: &[u8], ask: Ask<R>) -> Called<R> {
        let first = match self.call_once(self.take(), file, bytes, ask) {
            Err(Death::StoppedFromOutside(how)) => how,
            settled => return Ok(settled.map_err(Death::into_reason)),
        };
        tracing::info!(
            file,
            "its reader was stopped from outside ({first}); reading it again in a new one"
        );
        match self.call_once(None, file, bytes, ask) {
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
        ask: Ask<R>,
    ) -> Result<R, Death> {
        self.exchange(worker, |worker| {
            let request = (ask.request)(file.to_owned());
            send(&mut worker.requests, &request, &[bytes]).map_err(|_| Fault::Closed)?;
            (ask.read)(&mut worker.replies, self.limits.largest_reply_bytes())
        })
    }

    /// One request on `worker` (or a fresh one) within one read's deadline: `talk` sends it and reads
    /// the answer. A worker that answered is kept for the next; one that did not says why it died.
    fn exchange<R>(
        &self,
        worker: Option<Worker>,
        talk: impl FnOnce(&mut Worker) -> Result<R, Fault>,
    ) -> Result<R, Death> {
        let mut worker = worker
            .map_or_else(|| Worker::spawn(&self.program, &self.schemas), Ok)
            .map_err(|reason| Death::Verdict(format!("no worker could start ({reason})")))?;
        worker.supervisor.arm(self.limits.read_deadline());
        let reply = worker
            .await_ready()
            .map_err(Fault::NotReady)
            .and_then(|()| talk(&mut worker));
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

/// The most files handed to a worker in one request.
const LONGEST_RUN: usize = 8;

/// Files up to this size are read together; a larger one is read alone, so that a run's deadline, one
/// read's, is always ample.
const TOGETHER_UP_TO: u64 = 1024 * 1024;

/// The next run of items for a worker to take, from `next` on: shorter towards the end, so that the
/// workers finish together rather than one waiting on another's last run.
fn claim_run(
    next: &AtomicUsize,
    items: usize,
    workers: usize,
    longest: usize,
) -> Option<std::ops::Range<usize>> {
    let mut start = next.load(Ordering::Relaxed);
    loop {
        let left = items.checked_sub(start).filter(|&left| left > 0)?;
        let length = (left / (2 * workers.max(1))).clamp(1, longest.max(1));
        match next.compare_exchange_weak(
            start,
            start + length,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Some(start..start + length),
            Err(now) => start = now,
        }
    }
}

/// What [`WorkerPool::call`] comes to: the answer or the file's verdict, or a read left unfinished.
type Called<R> = Result<Result<R, String>, Interrupted>;

/// What a worker is asked, and how its answer is read (no frame longer than the bytes given).
struct Ask<R> {
    request: fn(String) -> Request,
    read: fn(&mut BufReader<ChildStdout>, u64) -> Result<R, Fault>,
}

impl<R> Clone for Ask<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Ask<R> {}

const VALIDATE: Ask<Validated> = Ask {
    request: |file| Request::Validate { file },
    read: read_reply,
};

const UNPACK: Ask<Result<Unpacked, String>> = Ask {
    request: |file| Request::Unpack { file },
    read: read_unpacked,
};

/// A read a worker could not finish because something outside `collate` stopped it, twice: not a verdict
/// on the file, which is left in the inbox to be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub reason: String,
}

fn unsafe_to_read(file: &str, reason: String) -> Validated {
    Validated::rejected(
        file,
        BuiltinCheck::UnsafeWorkbook,
        format!("the workbook could not be read safely: {reason}"),
        "Open the file in Excel, check it shows only your return, save it as a new .xlsx and send it again.",
    )
}
