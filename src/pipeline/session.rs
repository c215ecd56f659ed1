//! The processing session ([`Collator`]): each new file validated on the workers, its outcome and
//! report, the batch stored as one segment; and the one pass `run`, `rebuild` and the watcher make.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::inbox::{
    DEFAULT_SETTLE, NotRead, Received, file_name, receive, scan_inbox, set_aside,
    set_aside_because, sha256_hex, wait_for_young_files, write_inbox_status,
};
use super::outputs::{Written, render_outputs, write_outputs};
use super::restated::{ShownFigures, far_cover_period};
use super::{Folders, Outcome, RunSummary};
use crate::consolidate;
use crate::error::{Cause, FatalError};
use crate::exception::Exception;
use crate::outfile::{fit_file_name, flush_filesystem, write_atomically_deferred};
use crate::period::{Period, PeriodChoice};
use crate::read::message::{Unpacked, is_message_name};
use crate::render;
use crate::schema::{Schemas, Severity};
use crate::store::{History, ProcessedReturn, ReturnKey, Store, return_key, tables_for};
use crate::validate::{BuiltinCheck, Validated, check_sender};
use crate::worker::{Interrupted, WorkerPool};

/// Validates received files on the workers, all at once, results in the order given. A file that cannot
/// be read from disk, or that a worker dies on, is a rejected return; one whose reader was stopped from
/// outside twice is [`LeftForLater`].
pub fn validate_received(
    schemas: &Schemas,
    workers: &WorkerPool,
    received: Vec<Received>,
) -> Vec<Result<ProcessedReturn, LeftForLater>> {
    let readable: Vec<(&str, &[u8])> = received
        .iter()
        .filter_map(|r| Some((r.file.as_str(), r.bytes.as_deref().ok()?)))
        .collect();
    let mut validated = workers.validate_all(&readable).into_iter();
    received
        .into_iter()
        .map(|received| {
            let validated = match &received.bytes {
                Ok(_) => validated.next().unwrap_or_else(|| Ok(Validated::default())),
                Err(not_read) => Ok(not_read_return(schemas, &received.file, not_read)),
            };
            let mut validated = match validated {
                Ok(validated) => validated,
                Err(interrupted) => return Err(LeftForLater::of(&received, interrupted)),
            };
            if let Some(message) = &received.message {
                check_sender(schemas, &mut validated, message);
            }
            Ok(ProcessedReturn {
                sha256: received.sha256,
                source_file: received.file,
                received_at: received.received_at,
                validated,
                message: received.message,
            })
        })
        .collect()
}

/// A return whose reading was not finished, because its reader was stopped from outside: no verdict is
/// stored, and the file stays in the inbox to be read again by the next pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftForLater {
    /// The return, as the outputs would name it.
    pub file: String,
    /// The inbox file it is in (the email, for a workbook attached to one).
    pub inbox_file: String,
    pub sha256: String,
    pub reason: String,
}

impl LeftForLater {
    fn of(received: &Received, interrupted: Interrupted) -> LeftForLater {
        LeftForLater {
            file: received.file.clone(),
            inbox_file: received
                .message
                .as_ref()
                .map_or_else(|| received.file.clone(), |m| m.email_file.clone()),
            sha256: received.sha256.clone(),
            reason: interrupted.reason,
        }
    }
}

/// A workbook that was not read from the inbox, rejected with the reason.
fn not_read_return(schemas: &Schemas, file: &str, not_read: &NotRead) -> Validated {
    let reason = not_read.reason(file, &schemas.dashboard.limits);
    match not_read {
        NotRead::Failed(_) => Validated::rejected(
            file,
            BuiltinCheck::UnreadableFile,
            reason,
            "Check the file is not open elsewhere and save it into the inbox again.",
        ),
        // What the worker would have said, had the file been handed to it.
        NotRead::TooBig(_) => Validated::rejected(
            file,
            BuiltinCheck::UnreadableWorkbook,
            reason,
            "Open the file in Excel, check it shows your return, save it as .xlsx and send it again.",
        ),
    }
}

/// Reads, hashes and validates one file (in a worker): a workbook is one return; a saved email is one
/// return per workbook attached, or one rejected return saying why it holds none.
pub fn process_file(
    schemas: &Schemas,
    workers: &WorkerPool,
    path: &Path,
) -> Vec<Result<ProcessedReturn, LeftForLater>> {
    let received = receive(path, &schemas.dashboard.limits);
    if !is_message_name(&received.file) {
        return validate_received(schemas, workers, vec![received]);
    }
    match open_message(schemas, workers, &received) {
        Ok(Ok(attachments)) => validate_received(schemas, workers, attachments),
        Ok(Err(reason)) => vec![Ok(ProcessedReturn {
            sha256: received.sha256,
            source_file: received.file.clone(),
            received_at: received.received_at,
            validated: Validated::rejected(
                &received.file,
                BuiltinCheck::UnsupportedFile,
                reason,
                "Save the return attached to the email into the inbox instead.",
            ),
            message: None,
        })],
        Err(interrupted) => vec![Err(LeftForLater::of(&received, interrupted))],
    }
}

/// A saved email's workbooks as returns received (opened in a worker), or why it holds none.
fn open_message(
    schemas: &Schemas,
    workers: &WorkerPool,
    email: &Received,
) -> Result<Result<Vec<Received>, String>, Interrupted> {
    let bytes = match email.bytes.as_deref() {
        Ok(bytes) => bytes,
        Err(not_read) => return Ok(Err(not_read.reason(&email.file, &schemas.dashboard.limits))),
    };
    let mut opened = workers.unpack_all(&[(email.file.as_str(), bytes)]);
    let unpacked = match opened
        .pop()
        .unwrap_or_else(|| Ok(Err("it was not read".into())))?
    {
        Ok(unpacked) => unpacked,
        Err(reason) => return Ok(Err(reason)),
    };
    if unpacked.workbooks.is_empty() {
        return Ok(Err(no_workbook_reason(&email.file, &unpacked)));
    }
    Ok(Ok(attachments_received(email, unpacked)))
}

/// Why an email that opened holds no return.
fn no_workbook_reason(file: &str, unpacked: &Unpacked) -> String {
    if unpacked.others.is_empty() {
        format!("{file} carries no attachment, so no return")
    } else {
        format!(
            "{file} carries no spreadsheet return (its attachments: {})",
            unpacked.others.join(", ")
        )
    }
}

/// A saved email's workbooks as returns received with it: each named after the email and the attachment
/// ("Q2 return.eml › PSD Q2.xlsx"), hashed on its own bytes (so the same workbook saved separately too
/// counts once), with the message it came in.
fn attachments_received(email: &Received, unpacked: Unpacked) -> Vec<Received> {
    unpacked
        .workbooks
        .into_iter()
        .map(|attachment| Received {
            file: format!("{} › {}", email.file, attachment.provenance.attachment),
            received_at: email.received_at.clone(),
            sha256: sha256_hex(&attachment.bytes),
            bytes: Ok(attachment.bytes),
            message: Some(attachment.provenance),
        })
        .collect()
}

/// Files are read, hashed and validated in parallel this many at a time; results keep inbox order, and
/// memory stays bounded however full the inbox.
const FILES_AT_A_TIME: usize = 64;

/// The returns of a batch read so far, and what reporting on them has found.
#[derive(Default)]
struct Batch {
    processed: Vec<ProcessedReturn>,
    reports_written: bool,
    /// Whether a report from before could be there to remove (a clean return replacing a return of the
    /// same name): spares a look on disk per return when there are none.
    old_reports_possible: bool,
    /// The return in use for each department and period, as this batch changes it.
    in_use: HashMap<ReturnKey, String>,
    /// The inbox files holding a return whose reading was not finished: the pass is not done with them.
    not_finished: HashSet<String>,
}

/// A processing session: the schemas, the store with its history in memory, and the content already seen.
/// `collate run` opens one for a single pass; the watcher keeps one for its lifetime.
pub struct Collator<'s> {
    schemas: &'s Schemas,
    workers: &'s WorkerPool,
    folders: Folders,
    store: Store,
    history: History,
    /// Content hash → the name it was first processed under.
    known: HashMap<String, String>,
    /// The store's newest segment when `history` was last in step with it.
    segment_seen: Option<u32>,
    /// The quarterly figures accepted so far, which a later return may restate.
    shown: ShownFigures,
    /// Each department's latest accepted quarter, for the quarter being collected: a return a year or
    /// more from it is queried.
    latest_quarters: HashMap<String, Period>,
}

impl<'s> Collator<'s> {
    /// Opens the store (compacting it when it has grown many segments) and loads its history. Call it
    /// holding the batch lock.
    pub fn open(
        schemas: &'s Schemas,
        workers: &'s WorkerPool,
        folders: &Folders,
    ) -> Result<Collator<'s>, FatalError> {
        let store = Store::open(&folders.store)?;
        // Callers hold the batch lock, so this is the moment to fold many small segments into one.
        store.compact()?;
        let history = store.load()?;
        let mut known: HashMap<String, String> = HashMap::new();
        {
            let returns = &history.returns;
            let hashes = returns
                .column("sha256")
                .map_err(FatalError::History)?
                .str()
                .map_err(FatalError::History)?;
            let names = returns
                .column("source_file")
                .map_err(FatalError::History)?
                .str()
                .map_err(FatalError::History)?;
            for i in 0..returns.height() {
                if let (Some(hash), Some(name)) = (hashes.get(i), names.get(i)) {
                    known
                        .entry(hash.to_owned())
                        .or_insert_with(|| name.to_owned());
                }
            }
        }
        let segment_seen = store.latest_segment()?;
        let latest_quarters =
            consolidate::latest_by_department(&history).map_err(FatalError::History)?;
        Ok(Collator {
            schemas,
            workers,
            folders: folders.clone(),
            store,
            history,
            known,
            segment_seen,
            shown: ShownFigures::default(),
            latest_quarters,
        })
    }

    /// Reloads the history if another process (a `collate run` while the watcher waited) added to the
    /// store; call it holding the batch lock.
    pub fn refresh(&mut self) -> Result<(), FatalError> {
        if self.store.latest_segment()? != self.segment_seen {
            tracing::debug!("the store changed under us; reloading it");
            *self = Collator::open(self.schemas, self.workers, &self.folders)?;
        }
        Ok(())
    }

    pub fn folders(&self) -> &Folders {
        &self.folders
    }

    /// How many distinct files the store holds.
    pub fn processed_count(&self) -> usize {
        self.known.len()
    }

    /// Processes these files: each new content once, in the order given; the batch becomes one store
    /// segment. `stop` is checked between groups of files, so a stop finishes the returns in hand.
    pub fn process(
        &mut self,
        paths: &[PathBuf],
        stop: &dyn Fn() -> bool,
    ) -> Result<RunSummary, FatalError> {
        let (summary, added) = self.read_batch(paths, stop)?;
        if let Some(added) = added {
            self.commit(&added)?;
            self.history.extend(&added).map_err(FatalError::History)?;
        }
        Ok(summary)
    }

    /// Reads, validates and reports on these files; the new returns' tables, numbered to follow the
    /// history, are handed back to be stored (none when nothing new was read).
    fn read_batch(
        &mut self,
        paths: &[PathBuf],
        stop: &dyn Fn() -> bool,
    ) -> Result<(RunSummary, Option<History>), FatalError> {
        let mut summary = RunSummary::default();
        let mut batch = Batch {
            old_reports_possible: self.folders.return_reports().exists()
                || self.folders.replies().exists(),
            ..Batch::default()
        };
        let chunks: Vec<&[PathBuf]> = paths.chunks(FILES_AT_A_TIME).collect();
        let (schemas, workers) = (self.schemas, self.workers);
        let limits = &schemas.dashboard.limits;
        std::thread::scope(|scope| -> Result<(), FatalError> {
            // The next group of files is read and hashed on a thread of its own while the workers read
            // the group in hand (on one thread: the pool's threads are waiting on the workers); and the
            // group before it is reported on here meanwhile, so the workers never wait for that.
            let receive_all =
                |chunk: &[PathBuf]| chunk.iter().map(|p| receive(p, limits)).collect::<Vec<_>>();
            let mut next = chunks
                .first()
                .map(|chunk| scope.spawn(move || receive_all(chunk)));
            if next.is_some() {
                workers.confirm_started()?;
            }
            let mut validated = Vec::new();
            let following_chunks = chunks.iter().skip(1).map(Some).chain([None]);
            for (paths_in_hand, following) in chunks.iter().zip(following_chunks) {
                let Some(in_hand) = next.take() else { break };
                let received = in_hand
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                if stop() {
                    break;
                }
                summary.done_with.extend(paths_in_hand.iter().cloned());
                next = following.map(|chunk| scope.spawn(move || receive_all(chunk)));
                // Emails are opened on the workers, which are idle here. What this group's emails and
                // duplicates come to is told after the group before it, as the files came.
                let mut told_first = RunSummary::default();
                let received = self.open_messages(received, &mut batch, &mut told_first)?;
                let new = self.only_new(received, &mut told_first);
                let validating = scope.spawn(move || validate_received(schemas, workers, new));
                self.report_on(std::mem::take(&mut validated), &mut batch, &mut summary)?;
                summary.outcomes.append(&mut told_first.outcomes);
                validated = validating
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
            }
            self.report_on(validated, &mut batch, &mut summary)
        })?;
        let Batch {
            processed: batch,
            reports_written,
            not_finished,
            ..
        } = batch;
        summary
            .done_with
            .retain(|path| !not_finished.contains(&file_name(path)));
        if batch.is_empty() {
            return Ok((summary, None));
        }
        // The reports reach the disk before the store records their returns as processed.
        if reports_written {
            flush_filesystem(&self.folders.outbox)?;
        }
        let added = tables_for(&batch)?
            .numbered_from(self.history.next_arrival().map_err(FatalError::History)?)
            .map_err(FatalError::History)?;
        Ok((summary, Some(added)))
    }

    /// Records each validated return's outcome and writes its report, in order. A return whose reading
    /// was not finished is forgotten, so that it is read again.
    fn report_on(
        &mut self,
        validated: Vec<Result<ProcessedReturn, LeftForLater>>,
        batch: &mut Batch,
        summary: &mut RunSummary,
    ) -> Result<(), FatalError> {
        for processed in validated {
            let mut processed = match processed {
                Ok(processed) => processed,
                Err(left) => {
                    self.leave_for_later(left, batch, summary);
                    continue;
                }
            };
            let replaces = self.replaces(&processed, &mut batch.in_use)?;
            if processed.validated.accepted() {
                self.shown
                    .check_and_take(
                        self.schemas,
                        &self.history,
                        &processed.source_file,
                        &mut processed.validated,
                    )
                    .map_err(FatalError::History)?;
                self.query_far_cover(&mut processed);
            }
            let old_reports_possible = batch.old_reports_possible || batch.reports_written;
            batch.reports_written |= write_return_report(
                self.schemas,
                &self.folders,
                &mut processed,
                replaces.as_deref(),
                old_reports_possible,
            );
            report_outcome(&processed, replaces.as_deref(), summary);
            self.tell_if_after_sign_off(&processed);
            batch.processed.push(processed);
        }
        Ok(())
    }

    /// Queries an accepted return whose cover is a year or more from the quarter being collected, then
    /// counts its quarter as its department's latest.
    fn query_far_cover(&mut self, processed: &mut ProcessedReturn) {
        let collected =
            consolidate::quarter_being_collected(&self.latest_quarters, &self.history.sign_offs);
        let file = &processed.source_file;
        if let Some(query) = far_cover_period(self.schemas, file, &processed.validated, collected) {
            processed.validated.push_exception(query);
        }
        if let Validated::Figures { identity, .. } = &processed.validated
            && identity.period.quarter.is_some()
        {
            let latest = (self.latest_quarters)
                .entry(identity.department.clone())
                .or_insert(identity.period);
            *latest = (*latest).max(identity.period);
        }
    }

    /// Says in the log when a return is for a quarter already signed off: it is stored, and the next
    /// version takes it in; the version signed off is left as it was.
    fn tell_if_after_sign_off(&self, processed: &ProcessedReturn) {
        let Validated::Figures { identity, .. } = &processed.validated else {
            return;
        };
        let Some(signed) = super::signoff::latest_version(&self.history, identity.period) else {
            return;
        };
        tracing::warn!(
            file = %processed.source_file,
            "this return for {} arrived after version {} was signed off ({} by {}); it is stored and \
             listed in exceptions.xlsx, and `collate close {}` would write version {} with it",
            identity.period,
            signed.version,
            super::super::render::uk_time(&signed.closed_at),
            signed.closed_by,
            identity.period.to_string().replace(' ', "-"),
            signed.version + 1
        );
    }

    /// A return whose reading was not finished: no outcome is stored, and its content is no longer known,
    /// so the next pass reads it again.
    fn leave_for_later(&mut self, left: LeftForLater, batch: &mut Batch, summary: &mut RunSummary) {
        tracing::warn!(file = %left.file, "not read: {}; it will be read again on the next pass", left.reason);
        if !left.sha256.is_empty() {
            self.known.remove(&left.sha256);
        }
        batch.not_finished.insert(left.inbox_file);
        summary.outcomes.push(Outcome::NotFinished {
            file: left.file,
            reason: left.reason,
        });
    }

    /// Stores a batch's tables as a new segment.
    fn commit(&mut self, added: &History) -> Result<(), FatalError> {
        self.store.append(added)?;
        self.segment_seen = self.store.latest_segment()?;
        Ok(())
    }

    /// Stores a batch and rewrites the outputs with it: the outputs are made while the segment is
    /// written, and replace the old ones only once the segment is committed (so they never show a return
    /// the store does not hold).
    fn commit_and_write_outputs(
        &mut self,
        added: &History,
        period: PeriodChoice,
    ) -> Result<Written, FatalError> {
        let mut extended = self.history.clone();
        extended.extend(added).map_err(FatalError::History)?;
        let (committed, rendered) = std::thread::scope(|scope| {
            let store = &self.store;
            let committing = scope.spawn(move || store.append(added));
            let rendered = render_outputs(self.schemas, &extended, period);
            let committed = committing
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (committed, rendered)
        });
        committed?;
        self.segment_seen = self.store.latest_segment()?;
        self.history = extended;
        rendered?.replace(&self.folders)
    }

    /// The accepted return that `processed` replaces as the one in use for its department and period.
    fn replaces(
        &self,
        processed: &ProcessedReturn,
        in_use: &mut HashMap<ReturnKey, String>,
    ) -> Result<Option<String>, FatalError> {
        let validated = &processed.validated;
        let Some(key) = return_key(validated).filter(|_| validated.accepted()) else {
            return Ok(None);
        };
        let earlier = match in_use.get(&key) {
            Some(file) => Some(file.clone()),
            None => self
                .history
                .in_use_for(validated)
                .map_err(FatalError::History)?,
        };
        in_use.insert(key, processed.source_file.clone());
        Ok(earlier.filter(|file| *file != processed.source_file))
    }

    /// Each saved email replaced by the workbooks attached to it (opened on the workers), in order; an
    /// email carrying no workbook, or that cannot be opened, is set aside with the reason, and one whose
    /// reader was stopped from outside is left for later.
    fn open_messages(
        &mut self,
        received: Vec<Received>,
        batch: &mut Batch,
        summary: &mut RunSummary,
    ) -> Result<Vec<Received>, FatalError> {
        if !received.iter().any(|r| is_message_name(&r.file)) {
            return Ok(received);
        }
        let messages: Vec<(&str, &[u8])> = received
            .iter()
            .filter(|r| is_message_name(&r.file))
            .filter_map(|r| Some((r.file.as_str(), r.bytes.as_deref().ok()?)))
            .collect();
        let mut opened = self.workers.unpack_all(&messages).into_iter();
        let mut expanded = Vec::new();
        for received in received {
            if !is_message_name(&received.file) {
                expanded.push(received);
                continue;
            }
            let unpacked = match &received.bytes {
                Ok(_) => opened
                    .next()
                    .unwrap_or_else(|| Ok(Err("it was not read".into()))),
                Err(not_read) => Ok(Err(
                    not_read.reason(&received.file, &self.schemas.dashboard.limits)
                )),
            };
            match unpacked {
                Ok(Ok(unpacked)) if !unpacked.workbooks.is_empty() => {
                    expanded.extend(attachments_received(&received, unpacked));
                }
                Ok(outcome) => self.set_email_aside(&received.file, outcome, summary)?,
                Err(interrupted) => {
                    let left = LeftForLater::of(&received, interrupted);
                    self.leave_for_later(left, batch, summary);
                }
            }
        }
        Ok(expanded)
    }

    /// Sets aside an email that holds no return, saying why.
    fn set_email_aside(
        &self,
        file: &str,
        outcome: Result<Unpacked, String>,
        summary: &mut RunSummary,
    ) -> Result<(), FatalError> {
        let reason = match outcome {
            Ok(unpacked) => format!(
                "{}, so collate set it aside.\n\
                 If a return was meant to be attached, ask for it as .xlsx.\n",
                no_workbook_reason(file, &unpacked)
            ),
            Err(reason) => format!(
                "{file} could not be read as an email ({reason}), so collate set it aside.\n\
                 Save the return attached to it into the inbox instead.\n"
            ),
        };
        set_aside_because(&self.folders.inbox, &self.folders.inbox.join(file), &reason)?;
        summary.outcomes.push(Outcome::SetAside {
            file: file.to_owned(),
        });
        Ok(())
    }

    /// The files whose content is new, in order: the same bytes twice in one batch count once.
    fn only_new(&mut self, received: Vec<Received>, summary: &mut RunSummary) -> Vec<Received> {
        let mut new = Vec::new();
        for received in received {
            if !received.sha256.is_empty() {
                if let Some(same_as) = self.known.get(&received.sha256) {
                    tracing::debug!(file = %received.file, same_as = %same_as, "already processed");
                    summary.outcomes.push(Outcome::AlreadyProcessed {
                        file: received.file,
                        same_as: same_as.clone(),
                    });
                    continue;
                }
                self.known
                    .insert(received.sha256.clone(), received.file.clone());
            }
            new.push(received);
        }
        new
    }

    /// One pass over files found ready, as `run`, `rebuild` and the watcher make it: the returns processed
    /// in the order given, the files that are not returns set aside, then the outputs rewritten. `stop`
    /// is checked between groups of returns; the outcomes say which were read.
    pub fn pass(
        &mut self,
        returns: &[PathBuf],
        not_returns: &[PathBuf],
        stop: &dyn Fn() -> bool,
        period: PeriodChoice,
    ) -> Result<RunSummary, FatalError> {
        let (mut summary, added) = self.read_batch(returns, stop)?;
        for path in not_returns {
            set_aside(&self.folders.inbox, path)?;
            summary.outcomes.push(Outcome::SetAside {
                file: file_name(path),
            });
            summary.done_with.push(path.clone());
        }
        let written = match added {
            Some(added) => self.commit_and_write_outputs(&added, period)?,
            None => self.write_outputs(period)?,
        };
        summary.period = Some(written.period);
        summary.dashboard = Some(written.dashboard);
        // The drafts follow the store; a draft that cannot be judged or moved is left, and said.
        if let Err(error) = super::drafts::bring_in_line(self.schemas, &self.folders, &self.history)
        {
            tracing::warn!("the drafts could not be brought in line with the store: {error}");
        }
        Ok(summary)
    }

    /// Consolidates everything processed so far and rewrites the dashboard and exceptions workbooks.
    pub fn write_outputs(&self, period: PeriodChoice) -> Result<Written, FatalError> {
        write_outputs(self.schemas, &self.folders, &self.history, period)
    }
}

/// Runs one pass: every new, settled return in the inbox is processed once, anything that is not a
/// return is set aside, then the outputs and the inbox status are rewritten.
pub fn process_inbox(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    period: PeriodChoice,
) -> Result<RunSummary, FatalError> {
    process_inbox_in_order(schemas, workers, folders, period, &HashMap::new())
}

/// [`process_inbox`], reading the files whose content has a `recorded` arrival number in that order
/// first (what `rebuild` keeps from the store it replaces), then the others by file time.
pub fn process_inbox_in_order(
    schemas: &Schemas,
    workers: &WorkerPool,
    folders: &Folders,
    period: PeriodChoice,
    recorded: &HashMap<String, i64>,
) -> Result<RunSummary, FatalError> {
    let mut collator = Collator::open(schemas, workers, folders)?;
    let mut scan = scan_inbox(&folders.inbox)?;
    let (mut ready, waiting) =
        wait_for_young_files(scan.split_settled(DEFAULT_SETTLE), DEFAULT_SETTLE);
    if !recorded.is_empty() {
        // Read within the limits, as for processing: a file too big to read has no recorded place.
        let arrival = |path: &PathBuf| {
            let received = receive(path, &schemas.dashboard.limits);
            recorded.get(&received.sha256).copied().unwrap_or(i64::MAX)
        };
        // A stable sort: files never seen keep their file-time order, after those that were.
        ready.sort_by_cached_key(arrival);
    }
    let mut summary = collator.pass(&ready, &scan.not_returns, &|| false, period)?;
    for path in &waiting {
        tracing::warn!(file = %file_name(path), "still being written after waiting {} s; not read this time", DEFAULT_SETTLE.as_secs());
        summary.outcomes.push(Outcome::Waiting {
            file: file_name(path),
        });
    }
    write_inbox_status(folders, collator.processed_count(), &waiting, &[])?;
    Ok(summary)
}

fn report_outcome(processed: &ProcessedReturn, replaces: Option<&str>, summary: &mut RunSummary) {
    let validated = &processed.validated;
    let file = processed.source_file.clone();
    if validated.accepted() {
        let warnings = validated.count(Severity::Warning);
        let identity = match validated {
            Validated::Figures { identity: i, .. } => format!("{} {}", i.department, i.period),
            Validated::PlanUpdate { identity: u, .. } => {
                format!("{} update to {}, {}", u.department, u.plan, u.period)
            }
            Validated::Unidentified { .. } => String::new(),
        };
        let in_use = replaces
            .map(|earlier| format!("; in use in place of \"{earlier}\""))
            .unwrap_or_default();
        tracing::info!(file = %file, "accepted ({identity}) with {warnings} quer{}{in_use}", if warnings == 1 { "y" } else { "ies" });
        summary.outcomes.push(Outcome::Accepted { file, warnings });
    } else {
        let first = validated
            .exceptions()
            .iter()
            .find(|e| e.severity == Severity::Error)
            .map(|e| e.one_line())
            .unwrap_or_else(|| format!("{file}: could not be identified"));
        tracing::warn!(file = %file, "rejected: {first}");
        summary.outcomes.push(Outcome::Rejected {
            file,
            reason: first,
        });
    }
}

/// The report a department can be sent back, xlsx for people and JSON for machines, for every return with
/// something to send back, and its draft reply. A clean return has none: its outcome is in the store's
/// returns table, and an old report of the same name is removed when there may be one. A report that
/// cannot be written is a warning on the return (in the log and in `exceptions.xlsx`), never the end of
/// the run. Returns whether anything may have been written.
fn write_return_report(
    schemas: &Schemas,
    folders: &Folders,
    processed: &mut ProcessedReturn,
    replaces: Option<&str>,
    old_reports_possible: bool,
) -> bool {
    if processed.validated.exceptions().is_empty() && !old_reports_possible {
        return false;
    }
    let paths = ReportPaths::of(folders, &processed.source_file);
    let written = match processed.validated.exceptions().is_empty() {
        true => paths.remove_stale().map(|()| false),
        false => paths.write(schemas, processed, replaces).map(|()| true),
    };
    match written {
        Ok(written) => written,
        Err(error) => {
            tracing::warn!(file = %processed.source_file, "its report could not be written: {error}");
            processed
                .validated
                .push_exception(report_not_written(processed, &error));
            true
        }
    }
}

/// Where a return's report and draft reply go: named after the return, cut to fit the file system.
struct ReportPaths {
    xlsx: PathBuf,
    json: PathBuf,
    reply: PathBuf,
}

impl ReportPaths {
    fn of(folders: &Folders, source_file: &str) -> ReportPaths {
        let report = |suffix: &str| {
            folders
                .return_reports()
                .join(fit_file_name(source_file, suffix))
        };
        ReportPaths {
            xlsx: report(".exceptions.xlsx"),
            json: report(".exceptions.json"),
            reply: folders.replies().join(fit_file_name(source_file, ".eml")),
        }
    }

    /// A clean return replacing one of the same name must not leave the old report behind.
    fn remove_stale(&self) -> Result<(), FatalError> {
        for stale in [&self.xlsx, &self.json, &self.reply] {
            if stale.exists() {
                std::fs::remove_file(stale).map_err(|error| FatalError::output(stale, error))?;
            }
        }
        Ok(())
    }

    fn write(
        &self,
        schemas: &Schemas,
        processed: &ProcessedReturn,
        replaces: Option<&str>,
    ) -> Result<(), FatalError> {
        let fail = |path: &Path, error: render::RenderError| {
            FatalError::output(path, Cause::Other(Box::new(error)))
        };
        let json = render::return_report_json(processed).map_err(|e| fail(&self.json, e))?;
        write_atomically_deferred(&self.json, &json)?;
        let workbook =
            render::return_report_workbook(processed, replaces).map_err(|e| fail(&self.xlsx, e))?;
        write_atomically_deferred(&self.xlsx, &workbook)?;
        let draft = render::reply_draft(schemas, processed, &workbook)
            .map_err(|error| FatalError::output(&self.reply, error))?;
        if let Some(draft) = draft {
            write_atomically_deferred(&self.reply, &draft)?;
        } else if let Some(why) = render::reply_withheld(schemas, processed) {
            tracing::warn!(
                file = %processed.source_file,
                "no reply drafted: {why}; answer the sender yourself if they may send it (or set \
                 reply_to_other_senders = true under [mail] in dashboard.toml)"
            );
        }
        Ok(())
    }
}

/// The warning a return carries when its report could not be written.
fn report_not_written(processed: &ProcessedReturn, error: &FatalError) -> Exception {
    Exception {
        file: processed.source_file.clone(),
        sheet: String::new(),
        cell: String::new(),
        value_found: String::new(),
        rule_id: BuiltinCheck::ReportNotWritten.id().to_owned(),
        severity: Severity::Warning,
        message: format!("collate could not write this return's report or draft reply: {error}"),
        guidance: "Check that the outbox can be written to (space on the disk, permissions); the \
                   return's exceptions are listed here all the same."
            .to_owned(),
    }
}
