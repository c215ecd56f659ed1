//! `collate watch`: returns are processed within seconds of landing, through the same path as `collate run`.
//!
//! A thin notify callback (debounced by notify-debouncer-full) only feeds a channel; this loop decides. On
//! start it catches up with everything already in the inbox; after that, events name candidates, and a
//! periodic full rescan catches whatever events were dropped (inotify overflow) or never sent (network
//! shares; `--poll` relies on the rescan alone). A candidate is read only once its size and modification
//! time have stood still for the settle window, counted from the change an event reports (not from when
//! the debouncer passes it on), and the loop wakes when a window ends; files whose windows end within a
//! tenth of a second of each other are read as one batch. Every batch is processed under the batch lock,
//! appended to the store, and the outputs rewritten atomically.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::RecommendedWatcher;
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::error::{Cause, FatalError};
use crate::lock;
use crate::mailbox::{FetchError, MailWaiting, fetch_into};
use crate::period::PeriodChoice;
use crate::pipeline::{
    Collator, Folders, RunSummary, has_settled, is_ignored, is_return_or_message, scan_inbox,
    write_inbox_status,
};
use crate::read::looks_complete;
use crate::schema::{ImapSettings, Schemas};
use crate::worker::WorkerPool;

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How long a file must stand still before it is read.
    pub settle: Duration,
    /// How often the whole inbox is rescanned, as a safety net for dropped events.
    pub rescan: Duration,
    /// Poll only (no notifications): rescan at this interval.
    pub poll: Option<Duration>,
    /// A file still changing after this long is reported in the log and the inbox status.
    pub never_settles_after: Duration,
    pub period: PeriodChoice,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            settle: crate::pipeline::DEFAULT_SETTLE,
            rescan: Duration::from_secs(60),
            poll: None,
            never_settles_after: Duration::from_secs(600),
            period: PeriodChoice::Latest,
        }
    }
}

/// A file seen in the inbox and not yet read.
struct Candidate {
    size: u64,
    modified: SystemTime,
    unchanged_since: Instant,
    first_seen: Instant,
    reported: bool,
}

impl Candidate {
    /// When its settle window ends, if it does not change again.
    fn settles_at(&self, settle: Duration) -> Instant {
        self.unchanged_since + settle
    }
}

/// The inbox as it was given and as the file system resolves it.
///
/// notify reports each event's path joined to the *absolute* form of the folder it watches (`./inbox`
/// becomes `/home/owner/./inbox/x.xlsx`), and a symbolic link or a `..` spells the same folder another way
/// again; so an event is matched by where its folder resolves to, then named as the inbox was given, the
/// form in which the scans name the same file and the store records it.
struct WatchedInbox {
    given: PathBuf,
    resolved: PathBuf,
}

impl WatchedInbox {
    fn resolve(given: &Path) -> Result<WatchedInbox, FatalError> {
        let resolved = std::fs::canonicalize(given).map_err(|error| match given.exists() {
            true => {
                FatalError::folder_failed(given, "cannot find where the inbox folder is", error)
            }
            false => FatalError::folder(given, "the inbox folder does not exist"),
        })?;
        if !resolved.is_dir() {
            return Err(FatalError::folder(given, "the inbox is not a folder"));
        }
        Ok(WatchedInbox {
            given: given.to_path_buf(),
            resolved,
        })
    }

    /// The inbox file an event (or a scan) names, spelt as the inbox was given; `None` for anything not
    /// directly inside the inbox (the inbox itself, `set aside/`, the other side of a rename).
    fn file_named_by(&self, path: &Path) -> Option<PathBuf> {
        let (folder, name) = (path.parent()?, path.file_name()?);
        let inside = folder == self.given
            || folder == self.resolved
            || std::fs::canonicalize(folder).is_ok_and(|folder| folder == self.resolved);
        inside.then(|| self.given.join(name))
    }
}

fn fingerprint(path: &Path) -> Option<(u64, SystemTime)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

/// Watches until `stop` is set; `on_batch` is told about every batch once its outputs are written.
pub fn watch(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    options: &WatchOptions,
    stop: &AtomicBool,
    on_batch: &mut dyn FnMut(&RunSummary),
) -> Result<(), FatalError> {
    let _only_watcher = only_watcher(folders)?;
    let watched = WatchedInbox::resolve(&folders.inbox)?;
    let (events, received_events) = mpsc::channel::<DebounceEventResult>();
    let _debouncer = match options.poll {
        Some(_) => None,
        None => Some(notifications(&watched, events)?),
    };
    let mut collator = {
        let _batch = lock::acquire(&lock::batch_lock_path(&folders.store), "collate watch")?;
        Collator::open(schemas, workers, folders)?
    };
    let mut watcher = Watcher::new(watched, options);
    let mailbox = schemas.dashboard.mail.imap.as_ref();
    let mail = mailbox.map(|settings| MailWaiting::start(settings.clone()));
    tracing::info!(
        "watching {} ({}); {} returns already in the store",
        watcher.watched.given.display(),
        match options.poll {
            Some(every) => format!("polling every {:.1} s", every.as_secs_f64()),
            None => format!(
                "with a full rescan every {:.0} s",
                watcher.rescan_every.as_secs_f64()
            ),
        },
        collator.processed_count()
    );
    while !stop.load(Ordering::SeqCst) {
        let noticed = watcher.noticed(&received_events)?;
        let now = Instant::now();
        watcher.note_candidates(noticed, now);
        let ready = watcher.ready_files(now);
        if !ready.is_empty() {
            let summary = watcher.process(&mut collator, ready, stop)?;
            on_batch(&summary);
        }
        if let (Some(settings), Some(mail)) = (mailbox, &mail)
            && mail.take()
            && let Some(summary) = watcher.fetch_mail(&mut collator, settings, stop)?
        {
            on_batch(&summary);
        }
        if watcher.status_due {
            write_inbox_status(
                folders,
                collator.processed_count(),
                &watcher.settling(),
                &watcher.stuck(),
            )?;
            watcher.status_due = false;
        }
        if std::mem::take(&mut watcher.rescanned) {
            // What a person (or a test) waits for to know the watcher has looked again and read what it
            // was going to: said once a whole rescan's files are dealt with.
            tracing::debug!(
                "looked over the whole inbox: {} file(s) waiting to be read",
                watcher.candidates.len()
            );
        }
    }
    tracing::info!("stopped; every return read so far is stored and in the outputs");
    Ok(())
}

/// Files whose settle windows end this close together are read in one batch (one rewrite of the outputs):
/// the first waits for the others, this long at most.
const GATHER: Duration = Duration::from_millis(100);

/// The watch lock: one watcher per installation.
fn only_watcher(folders: &Folders) -> Result<lock::Lock, FatalError> {
    match lock::try_acquire(&lock::watch_lock_path(&folders.store), "collate watch")? {
        lock::Attempt::Taken(lock) => Ok(lock),
        lock::Attempt::HeldBy(holder) => Err(FatalError::folder(
            &folders.inbox,
            format!("another watcher is already running on it: {holder}"),
        )),
    }
}

/// File-system notifications for the inbox, fed into `events` by notify's thin debounced callback.
fn notifications(
    watched: &WatchedInbox,
    events: mpsc::Sender<DebounceEventResult>,
) -> Result<Debouncer<RecommendedWatcher, RecommendedCache>, FatalError> {
    let fail = |error: notify::Error| {
        FatalError::folder_failed(
            &watched.given,
            "cannot watch for new files",
            Cause::Other(Box::new(error)),
        )
    };
    // Short: the settle window, not the debouncer, is what waits for a file to be complete.
    let mut debouncer = new_debouncer(Duration::from_millis(50), None, events).map_err(fail)?;
    debouncer
        .watch(&watched.resolved, RecursiveMode::NonRecursive)
        .map_err(fail)?;
    Ok(debouncer)
}

/// The watch loop's state: files seen and not yet read, files read, when to rescan.
struct Watcher<'o> {
    watched: WatchedInbox,
    options: &'o WatchOptions,
    rescan_every: Duration,
    next_rescan: Instant,
    /// How long to wait for events before looking at the candidates again.
    tick: Duration,
    candidates: HashMap<PathBuf, Candidate>,
    /// Files already read, with the size and time they had: unchanged, they are not read again.
    done: HashMap<PathBuf, (u64, SystemTime)>,
    status_due: bool,
    /// Whether this tick looked over the whole inbox.
    rescanned: bool,
}

impl<'o> Watcher<'o> {
    fn new(watched: WatchedInbox, options: &'o WatchOptions) -> Watcher<'o> {
        Watcher {
            watched,
            options,
            rescan_every: options.poll.unwrap_or(options.rescan),
            // On start, catch up with everything already in the inbox.
            next_rescan: Instant::now(),
            tick: options
                .settle
                .min(Duration::from_millis(250))
                .max(Duration::from_millis(20)),
            candidates: HashMap::new(),
            done: HashMap::new(),
            status_due: true,
            rescanned: false,
        }
    }

    /// The paths a rescan (when due) and the events of one tick name; an event's with when the change it
    /// reports happened (the debouncer passes it on a little later).
    fn noticed(
        &mut self,
        received_events: &mpsc::Receiver<DebounceEventResult>,
    ) -> Result<Vec<(PathBuf, Option<Instant>)>, FatalError> {
        let mut noticed: Vec<(PathBuf, Option<Instant>)> = Vec::new();
        if Instant::now() >= self.next_rescan {
            let scan = scan_inbox(&self.watched.given)?;
            noticed.extend(scan.returns.into_iter().map(|path| (path, None)));
            noticed.extend(scan.not_returns.into_iter().map(|path| (path, None)));
            self.next_rescan = Instant::now() + self.rescan_every;
            self.rescanned = true;
        }
        // Wait for events until a candidate's settle window ends, a tick at most, then take all that
        // queued.
        let first = received_events.recv_timeout(self.wait()).ok();
        let queued = std::iter::from_fn(|| received_events.try_recv().ok());
        for result in first.into_iter().chain(queued) {
            match result {
                Ok(found) => {
                    for event in found {
                        if event.need_rescan() {
                            tracing::warn!("file-system events were lost; rescanning the inbox");
                            self.next_rescan = Instant::now();
                        }
                        let changed = Some(event.time);
                        noticed.extend(event.paths.iter().map(|path| (path.clone(), changed)));
                    }
                }
                Err(errors) => {
                    for error in errors {
                        tracing::warn!("file-system watch error ({error}); rescanning the inbox");
                    }
                    self.next_rescan = Instant::now();
                }
            }
        }
        Ok(noticed)
    }

    /// How long to wait for events: a tick, or less when a candidate's settle window ends sooner, so a
    /// settled file is read when its window ends rather than at the tick after.
    fn wait(&self) -> Duration {
        let now = Instant::now();
        self.candidates
            .values()
            .map(|candidate| candidate.settles_at(self.options.settle))
            .filter(|&settles| settles > now)
            .map(|settles| settles - now)
            .fold(self.tick, Duration::min)
    }

    /// Files of the inbox not read in their present state become candidates, unchanged since the last
    /// change an event reported (since now, for a file a rescan found).
    fn note_candidates(&mut self, noticed: Vec<(PathBuf, Option<Instant>)>, now: Instant) {
        for (path, changed) in noticed {
            let Some(path) = self.watched.file_named_by(&path) else {
                continue;
            };
            if is_ignored(&path) || !path.is_file() {
                continue;
            }
            let Some((size, modified)) = fingerprint(&path) else {
                continue;
            };
            if self.done.get(&path) == Some(&(size, modified)) {
                continue;
            }
            let changed = changed.map(|changed| changed.min(now));
            let candidate = self.candidates.entry(path).or_insert(Candidate {
                size,
                modified,
                unchanged_since: changed.unwrap_or(now),
                first_seen: now,
                reported: false,
            });
            // A file's last write, not its creation, starts its window; a rescan moves nothing.
            if let Some(changed) = changed {
                candidate.unchanged_since = candidate.unchanged_since.max(changed);
            }
        }
    }

    /// The candidates ready to read, oldest first: settled, and complete (or given up on). Candidates
    /// that vanished are forgotten; one still changing after the limit is reported once.
    fn ready_files(&mut self, now: Instant) -> Vec<PathBuf> {
        let options = self.options;
        let mut ready: Vec<(SystemTime, PathBuf)> = Vec::new();
        // When the first of the ready files' windows ended.
        let mut first_due: Option<Instant> = None;
        let mut gone = Vec::new();
        for (path, candidate) in self.candidates.iter_mut() {
            let Some((size, modified)) = fingerprint(path) else {
                gone.push(path.clone());
                continue;
            };
            if (size, modified) != (candidate.size, candidate.modified) {
                candidate.size = size;
                candidate.modified = modified;
                candidate.unchanged_since = now;
                self.status_due = true;
            } else if now.duration_since(candidate.unchanged_since) >= options.settle
                && has_settled(path, options.settle)
            {
                // Settled is not enough: a copy may pause longer than the window. A workbook is read once
                // it is complete, or once it has been given up on (then the reader says what is wrong).
                let given_up =
                    now.duration_since(candidate.first_seen) >= options.never_settles_after;
                if looks_complete(path) || given_up {
                    ready.push((modified, path.clone()));
                    let due = candidate.settles_at(options.settle);
                    first_due = Some(first_due.map_or(due, |first| first.min(due)));
                }
            }
            if !candidate.reported
                && now.duration_since(candidate.first_seen) >= options.never_settles_after
            {
                tracing::warn!(file = %path.display(), "still changing after {:.0} s; not read yet",
                    options.never_settles_after.as_secs_f64());
                candidate.reported = true;
                self.status_due = true;
            }
        }
        for path in gone {
            self.candidates.remove(&path);
            self.status_due = true;
        }
        if first_due.is_some_and(|due| now < due + GATHER) && self.window_ends_within(now, GATHER) {
            return Vec::new();
        }
        ready.sort();
        ready.into_iter().map(|(_, path)| path).collect()
    }

    /// Whether a candidate's settle window ends after `now` but within `span` of it.
    fn window_ends_within(&self, now: Instant, span: Duration) -> bool {
        self.candidates.values().any(|candidate| {
            let due = candidate.settles_at(self.options.settle);
            due > now && due <= now + span
        })
    }

    /// One batch, under the batch lock, through the same pass as `collate run`.
    fn process(
        &mut self,
        collator: &mut Collator<'_>,
        ready: Vec<PathBuf>,
        stop: &AtomicBool,
    ) -> Result<RunSummary, FatalError> {
        let (returns, others): (Vec<PathBuf>, Vec<PathBuf>) =
            ready.into_iter().partition(|p| is_return_or_message(p));
        let store = &collator.folders().store;
        let _batch = lock::acquire(&lock::batch_lock_path(store), "collate watch")?;
        collator.refresh()?;
        let stopped = || stop.load(Ordering::SeqCst);
        let summary = collator.pass(&returns, &others, &stopped, self.options.period)?;
        // The pass says which files it is done with. A file it left (a stop came first, or its reading
        // was not finished) is no longer a candidate either: the next rescan finds it again, so a return
        // whose reader keeps being stopped is tried once a rescan, not on every tick.
        let done_with: HashSet<&PathBuf> = summary.done_with.iter().collect();
        for path in returns.iter().chain(others.iter()) {
            if let Some(candidate) = self.candidates.remove(path)
                && done_with.contains(path)
            {
                self.done
                    .insert(path.clone(), (candidate.size, candidate.modified));
            }
        }
        let not_finished = match summary.not_finished().len() {
            0 => String::new(),
            n => format!(", {n} not read through (read again at the next rescan)"),
        };
        tracing::info!(
            "batch: {} accepted, {} rejected, {} already processed{not_finished}; outputs rewritten",
            summary.accepted(),
            summary.rejected(),
            summary.already_processed()
        );
        self.status_due = true;
        Ok(summary)
    }

    /// Takes the mail waiting in the shared mailbox through the same pass, under the batch lock. The
    /// messages saved into the inbox are marked done, so their file events start no second pass. A
    /// mailbox that cannot be read is said, and the folder is watched on.
    fn fetch_mail(
        &mut self,
        collator: &mut Collator<'_>,
        settings: &ImapSettings,
        stop: &AtomicBool,
    ) -> Result<Option<RunSummary>, FatalError> {
        let store = &collator.folders().store;
        let _batch = lock::acquire(&lock::batch_lock_path(store), "collate watch")?;
        collator.refresh()?;
        let stopped = || stop.load(Ordering::SeqCst);
        let fetched = match fetch_into(collator, settings, self.options.period, &stopped) {
            Ok(fetched) => fetched,
            Err(FetchError::Mailbox(error)) => {
                tracing::warn!("{error}; the watcher goes on watching the inbox folder");
                return Ok(None);
            }
            Err(FetchError::Fatal(error)) => return Err(error),
        };
        for path in &fetched.saved {
            self.candidates.remove(path);
            if let Some((size, modified)) = fingerprint(path) {
                self.done.insert(path.clone(), (size, modified));
            }
        }
        if fetched.moved + fetched.left > 0 {
            tracing::info!(
                "mailbox: {} message(s) taken and moved to {}, {} left in {}",
                fetched.moved,
                settings.processed_folder,
                fetched.left,
                settings.folder
            );
        }
        self.status_due = true;
        Ok(fetched.summary)
    }

    /// Files seen and not read yet.
    fn settling(&self) -> Vec<PathBuf> {
        self.candidates.keys().cloned().collect()
    }

    /// Files still changing after the limit.
    fn stuck(&self) -> Vec<PathBuf> {
        self.candidates
            .iter()
            .filter(|(_, c)| c.reported)
            .map(|(p, _)| p.clone())
            .collect()
    }
}
