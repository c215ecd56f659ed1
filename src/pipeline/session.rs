//! The processing session ([`Collator`]): each new file validated on the workers, its outcome and
//! report, the batch stored as one segment, and the pass (`Collator::pass`) that `run`, `rebuild` and the
//! watcher all make.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::inbox::{Received, file_name, receive, set_aside};
use super::outputs::{RenderedOutputs, Written, render_outputs, write_outputs};
use super::reading::{LeftForLater, Opened, open_messages, set_email_aside, validate_received};
use super::reports::{report_key, report_outcome, tell_if_after_sign_off, write_return_report};
use super::restated::{ShownFigures, far_cover_period};
use super::{Folders, Outcome, RunSummary};
use crate::consolidate;
use crate::error::FatalError;
use crate::outfile::flush_filesystem;
use crate::period::{Period, PeriodChoice};
use crate::schema::{ReadLimits, Schemas};
use crate::store::{BatchTables, History, ProcessedReturn, ReturnKey, Store, return_key};
use crate::validate::Validated;
use crate::worker::WorkerPool;

/// Files are read, hashed and validated in parallel a group at a time, results in inbox order: a group
/// is at most this many files, and ends once its files come to [`GROUP_BYTES`], so memory stays bounded
/// however full the inbox and however large its files. Each group's end is a pause (the workers wait
/// while the next is handed out), so groups are long.
const GROUP_FILES: usize = 256;

/// The bytes after which a group takes no more files (it holds one file at least; one may be as large as
/// the `file_mb` limit).
const GROUP_BYTES: u64 = 32 * 1024 * 1024;

/// The first group is short, so that the workers start as soon as a run each is read from disk; each
/// group after it may hold up to [`GROUP_GROWTH`] times as many files as the one before (up to
/// [`GROUP_FILES`]): the next group is read while the workers are on the one in hand, and 256 files took
/// longer to read and hash than the workers took over 16 (they waited about 10 ms for them).
const FIRST_GROUP_FILES: usize = 16;

/// How much longer each group may be than the one before.
const GROUP_GROWTH: usize = 4;

/// The returns of a batch read so far (as the store's tables, each return added once reported on), and
/// what reporting on them has found.
#[derive(Default)]
struct Batch {
    tables: BatchTables,
    reports_written: bool,
    /// Whether a report from before this batch could be there to remove (a clean return replacing a
    /// return of the same name): spares a look on disk per return when there are none.
    old_reports_possible: bool,
    /// The reports written in this batch, by [`report_key`]: a later return of the same name removes its
    /// predecessor's, and only those need looking for on disk.
    reported: HashSet<String>,
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
    /// The return in use for each department and period: asked of consolidation at the session's first
    /// accepted return, then kept in step with each (a reload starts a new session).
    in_use: Option<HashMap<ReturnKey, String>>,
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
        let known = history.known_files().map_err(FatalError::History)?;
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
            in_use: None,
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

    /// The limits a file is read within.
    pub fn limits(&self) -> &crate::schema::ReadLimits {
        &self.schemas.dashboard.limits
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
        let (schemas, workers) = (self.schemas, self.workers);
        let limits = &schemas.dashboard.limits;
        std::thread::scope(|scope| -> Result<(), FatalError> {
            // The next group of files is read and hashed on a thread of its own while the workers read
            // the group in hand (on one thread: the pool's threads are waiting on the workers); and the
            // group before it is reported on here meanwhile, so the workers never wait for that.
            let mut rest = paths;
            let mut most_files = FIRST_GROUP_FILES;
            let mut next = (!rest.is_empty())
                .then(|| scope.spawn(move || receive_group(rest, most_files, GROUP_BYTES, limits)));
            if next.is_some() {
                workers.confirm_started()?;
            }
            let mut validated = Vec::new();
            while let Some(in_hand) = next.take() {
                let received = in_hand
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                if stop() {
                    break;
                }
                let (paths_in_hand, following) = rest.split_at(received.len().min(rest.len()));
                rest = following;
                summary.done_with.extend(paths_in_hand.iter().cloned());
                // Emails are opened on the workers, which are idle here. What this group's emails and
                // duplicates come to is told after the group before it, as the files came.
                let mut told_first = RunSummary::default();
                let received = self.open_messages(received, &mut batch, &mut told_first)?;
                let new = self.only_new(received, &mut told_first);
                let validating = scope.spawn(move || validate_received(schemas, workers, new));
                // Only then the next group, so that handing this one out does not wait for a processor.
                most_files = files_after(most_files);
                next = (!rest.is_empty()).then(|| {
                    scope.spawn(move || receive_group(rest, most_files, GROUP_BYTES, limits))
                });
                self.report_on(std::mem::take(&mut validated), &mut batch, &mut summary)?;
                summary.outcomes.append(&mut told_first.outcomes);
                validated = validating
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
            }
            self.report_on(validated, &mut batch, &mut summary)
        })?;
        let Batch {
            tables,
            reports_written,
            not_finished,
            ..
        } = batch;
        summary
            .done_with
            .retain(|path| !not_finished.contains(&file_name(path)));
        if tables.is_empty() {
            return Ok((summary, None));
        }
        // The reports reach the disk before the store records their returns as processed.
        if reports_written {
            flush_filesystem(&self.folders.outbox)?;
        }
        let added = tables
            .finish()?
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
            let replaces = self.replaces(&processed)?;
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
            let key = report_key(&processed.source_file);
            let old_reports_possible = batch.old_reports_possible || batch.reported.contains(&key);
            if write_return_report(
                self.schemas,
                &self.folders,
                &mut processed,
                replaces.as_deref(),
                old_reports_possible,
            ) {
                batch.reports_written = true;
                batch.reported.insert(key);
            }
            report_outcome(&processed, replaces.as_deref(), summary);
            tell_if_after_sign_off(&self.history, &processed);
            batch.tables.push(&processed);
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
        crate::phase::timed("store (segment)", || self.store.append(added))?;
        self.segment_seen = self.store.latest_segment()?;
        Ok(())
    }

    /// Stores a batch and makes the outputs with it, while the segment is written; they are to replace
    /// the old ones only once the segment is committed (so they never show a return the store does not
    /// hold).
    fn commit_and_render(
        &mut self,
        added: &History,
        period: PeriodChoice,
    ) -> Result<RenderedOutputs, FatalError> {
        let mut extended = self.history.clone();
        extended.extend(added).map_err(FatalError::History)?;
        let (committed, rendered) = std::thread::scope(|scope| {
            let store = &self.store;
            let committing =
                scope.spawn(move || crate::phase::timed("store (segment)", || store.append(added)));
            let rendered = render_outputs(self.schemas, &self.folders, &extended, period);
            let committed = committing
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (committed, rendered)
        });
        committed?;
        self.segment_seen = self.store.latest_segment()?;
        self.history = extended;
        rendered
    }

    /// The accepted return that `processed` replaces as the one in use for its department and period.
    fn replaces(&mut self, processed: &ProcessedReturn) -> Result<Option<String>, FatalError> {
        let validated = &processed.validated;
        let Some(key) = return_key(validated).filter(|_| validated.accepted()) else {
            return Ok(None);
        };
        let in_use = match &mut self.in_use {
            Some(in_use) => in_use,
            None => self.in_use.insert(returns_in_use(&self.history)?),
        };
        let earlier = in_use.insert(key, processed.source_file.clone());
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
        let mut returns = Vec::new();
        for opened in open_messages(self.schemas, self.workers, received) {
            match opened {
                Opened::Return(received) => returns.push(received),
                Opened::NoReturn { file, why } => {
                    set_email_aside(&self.folders, &file, why)?;
                    summary.outcomes.push(Outcome::SetAside { file });
                }
                Opened::Left(left) => self.leave_for_later(left, batch, summary),
            }
        }
        Ok(returns)
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
        let rendered = match added {
            Some(added) => self.commit_and_render(&added, period)?,
            None => render_outputs(self.schemas, &self.folders, &self.history, period)?,
        };
        // The drafts follow the store, brought in line while the outputs are written; a draft that
        // cannot be judged or moved is left, and said.
        let (schemas, folders, history) = (self.schemas, &self.folders, &self.history);
        let (written, drafts) = rendered.replace_alongside(folders, |made| {
            crate::phase::timed("drafts in line", || {
                super::drafts::bring_in_line(schemas, folders, history, made)
            })
        });
        let written = written?;
        summary.period = Some(written.period);
        summary.dashboard = Some(written.dashboard);
        if let Err(error) = drafts {
            tracing::warn!("the drafts could not be brought in line with the store: {error}");
        }
        Ok(summary)
    }

    /// Consolidates everything processed so far and rewrites the dashboard and exceptions workbooks.
    pub fn write_outputs(&self, period: PeriodChoice) -> Result<Written, FatalError> {
        write_outputs(self.schemas, &self.folders, &self.history, period)
    }
}

/// The return in use for each department, template and period, as the store has it.
fn returns_in_use(history: &History) -> Result<HashMap<ReturnKey, String>, FatalError> {
    let in_use = crate::polars_local::on_one_thread(|| crate::consolidate::returns_in_use(history))
        .map_err(FatalError::History)?;
    Ok(in_use
        .into_iter()
        .map(|r| {
            let key = ReturnKey {
                department: r.department,
                template: r.template,
                year: r.year.map(|year| year.0),
                quarter: r.quarter.map(|q| i32::from(q.number())),
                plan_period: r.plan_period,
            };
            (key, r.source_file)
        })
        .collect())
}

/// The most files the group after one of `most_files` may hold.
fn files_after(most_files: usize) -> usize {
    most_files.saturating_mul(GROUP_GROWTH).min(GROUP_FILES)
}

/// The next group of `paths` read from disk and hashed: at most `most_files` files, and no more once they
/// come to `enough_bytes`.
fn receive_group(
    paths: &[PathBuf],
    most_files: usize,
    enough_bytes: u64,
    limits: &ReadLimits,
) -> Vec<Received> {
    let mut group = Vec::new();
    let mut bytes: u64 = 0;
    for path in paths.iter().take(most_files) {
        if bytes >= enough_bytes {
            break;
        }
        let received = receive(path, limits);
        bytes += received.bytes.as_ref().map_or(0, |b| b.len() as u64);
        group.push(received);
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of these sizes in a new folder, in order.
    fn files_of(sizes: &[usize]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let paths = (sizes.iter().enumerate())
            .map(|(index, &size)| {
                let path = folder.path().join(format!("{index:02} return.xlsx"));
                std::fs::write(&path, vec![b'x'; size]).expect("written");
                path
            })
            .collect();
        (folder, paths)
    }

    fn names(group: &[Received]) -> Vec<&str> {
        group
            .iter()
            .map(|received| received.file.as_str())
            .collect()
    }

    #[test]
    fn groups_grow_from_the_first_to_their_longest() {
        let mut sizes = vec![FIRST_GROUP_FILES];
        while sizes.len() < 5 {
            sizes.push(files_after(sizes[sizes.len() - 1]));
        }
        assert_eq!(sizes, [16, 64, 256, 256, 256]);
    }

    #[test]
    fn a_group_ends_at_its_count_of_files() {
        let (_folder, paths) = files_of(&[10, 10, 10, 10]);
        let group = receive_group(&paths, 3, 1_000, &ReadLimits::default());
        assert_eq!(
            names(&group),
            ["00 return.xlsx", "01 return.xlsx", "02 return.xlsx"]
        );
        assert!(group.iter().all(|received| received.bytes.is_ok()));
    }

    #[test]
    fn a_group_takes_no_more_files_once_they_come_to_its_bytes() {
        let (_folder, paths) = files_of(&[10, 10, 10, 10, 10]);
        let group = receive_group(&paths, 256, 25, &ReadLimits::default());
        assert_eq!(
            names(&group),
            ["00 return.xlsx", "01 return.xlsx", "02 return.xlsx"]
        );
    }

    #[test]
    fn a_file_larger_than_a_group_is_a_group_of_its_own() {
        let (_folder, paths) = files_of(&[100, 10]);
        let group = receive_group(&paths, 256, 25, &ReadLimits::default());
        assert_eq!(names(&group), ["00 return.xlsx"]);
        let group = receive_group(&paths[1..], 256, 25, &ReadLimits::default());
        assert_eq!(names(&group), ["01 return.xlsx"]);
    }
}
