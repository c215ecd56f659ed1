//! The history store: every processed return, accepted figure, analysis text and exception, with provenance,
//! kept as append-only Parquet segments under `store/` that any Parquet reader can open.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};
use rayon::prelude::*;

mod returns;
mod signoff;
mod tables;

pub use returns::{AcceptedReturn, ReturnKey, return_key};
pub use signoff::{
    FigureChange, SignOff, SignedFigure, SignedReturn, SignedStatus, Withdrawal, folder_name,
    latest_versions, load_sign_offs, manifest_bytes, next_version, record_sign_off,
    record_withdrawal,
};
pub use tables::{BatchTables, tables_for};

use crate::error::FatalError;
use crate::outfile::{flush_filesystem, write_atomically, write_atomically_deferred};
use crate::read::message::MessageProvenance;
use crate::validate::{BuiltinCheck, Validated};

/// One file as processed: where it came from, its content hash, and what validation made of it.
#[derive(Debug, Clone)]
pub struct ProcessedReturn {
    pub sha256: String,
    pub source_file: String,
    /// When the file reached the inbox (its modification time), so a rebuild orders returns as a run did.
    pub received_at: String,
    pub validated: Validated,
    /// For a return that came attached to a saved email: who sent it, when, and in which message.
    pub message: Option<MessageProvenance>,
}

/// Everything the store holds, as polars frames.
#[derive(Debug, Clone)]
pub struct History {
    pub returns: DataFrame,
    pub figures: DataFrame,
    pub commentary: DataFrame,
    pub exceptions: DataFrame,
    /// Action plan statuses, one row per measure and reporting period an update gave.
    pub statuses: DataFrame,
    /// The quarters the owner has signed off, every version, oldest first.
    pub sign_offs: Vec<SignOff>,
}

/// The tables of a segment, in writing order: `returns` last, as it commits the segment.
const TABLES: [&str; 5] = ["figures", "commentary", "exceptions", "statuses", "returns"];

/// A store with more segments than this is compacted when it is next opened for processing.
pub const COMPACT_AFTER: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    number: u32,
    /// A base holds everything up to its number.
    base: bool,
}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, FatalError> {
        std::fs::create_dir_all(dir)
            .map_err(|error| FatalError::store(dir, "cannot create the store folder", error))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Committed segments: those whose returns table exists. The returns table is written last, so a
    /// segment without it was cut short by a crash and is ignored (its returns are processed again).
    fn committed(&self) -> Result<Vec<Segment>, FatalError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| FatalError::store(&self.dir, "cannot list it", e))?;
        let mut segments: Vec<Segment> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let stem = name.strip_suffix("-returns.parquet")?;
                let (number, base) = match stem.strip_suffix("-base") {
                    Some(number) => (number, true),
                    None => (stem, false),
                };
                Some(Segment {
                    number: number.parse().ok()?,
                    base,
                })
            })
            .collect();
        segments.sort_unstable_by_key(|segment| segment.number);
        Ok(segments)
    }

    /// The segments a load reads: the newest base (everything up to it, compacted) and every segment
    /// after it. Older segments may linger after a crash mid-compaction; they are never read twice.
    fn live(&self) -> Result<Vec<Segment>, FatalError> {
        let committed = self.committed()?;
        let base = committed.iter().filter(|s| s.base).map(|s| s.number).max();
        Ok(committed
            .into_iter()
            .filter(|s| match base {
                Some(base) => s.number > base || (s.base && s.number == base),
                None => !s.base,
            })
            .collect())
    }

    /// The newest committed segment, to tell whether another process has added to the store.
    pub fn latest_segment(&self) -> Result<Option<u32>, FatalError> {
        Ok(self.committed()?.last().map(|s| s.number))
    }

    fn segment_path(&self, segment: Segment, table: &str) -> PathBuf {
        let kind = if segment.base { "-base" } else { "" };
        self.dir
            .join(format!("{:06}{kind}-{table}.parquet", segment.number))
    }

    /// Reads every live segment. Segments written before a table or column existed (a store from an
    /// earlier version) read as having none: the missing parts are empty or null.
    pub fn load(&self) -> Result<History, FatalError> {
        let empty = tables_for(&[])?;
        let mut frames: [Vec<DataFrame>; 5] = Default::default();
        for segment in self.live()? {
            for (slot, table) in TABLES.iter().enumerate() {
                let path = self.segment_path(segment, table);
                if !path.exists() && *table == "statuses" {
                    continue;
                }
                let file = std::fs::File::open(&path)
                    .map_err(|e| FatalError::store(&path, "cannot open it", e))?;
                let frame = ParquetReader::new(file)
                    .finish()
                    .map_err(|e| FatalError::store(&path, "unreadable Parquet", e))?;
                let frame = conform(frame, empty.table(table))
                    .map_err(|e| FatalError::store(&path, "unexpected columns", e))?;
                frames[slot].push(frame);
            }
        }
        let [figures, commentary, exceptions, statuses, returns] = frames;
        History {
            figures: stack(figures, empty.figures)?,
            commentary: stack(commentary, empty.commentary)?,
            exceptions: stack(exceptions, empty.exceptions)?,
            statuses: stack(statuses, empty.statuses)?,
            returns: stack(returns, empty.returns)?,
            sign_offs: load_sign_offs(&self.dir)?,
        }
        .without_interrupted_reads()
        .map_err(FatalError::History)
    }

    /// Writes one segment's tables, the returns table last: it commits the segment.
    fn write_segment(&self, segment: Segment, tables: &History) -> Result<(), FatalError> {
        let (commit, rest) = TABLES.split_last().unwrap_or((&"returns", &[]));
        // The other tables are encoded side by side and reach the disk with one flush; only then is the
        // returns table, the segment's commit, written and flushed. A crash before it leaves a segment
        // without a returns table, which is ignored and its files read again.
        rest.par_iter().try_for_each(|table| {
            let (path, bytes) = self.encode_table(segment, tables, table)?;
            write_atomically_deferred(&path, &bytes)
        })?;
        flush_filesystem(&self.dir)?;
        let (path, bytes) = self.encode_table(segment, tables, commit)?;
        write_atomically(&path, &bytes)
    }

    fn encode_table(
        &self,
        segment: Segment,
        tables: &History,
        table: &str,
    ) -> Result<(PathBuf, Vec<u8>), FatalError> {
        let path = self.segment_path(segment, table);
        let mut frame = tables.table(table).clone();
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut frame)
            .map_err(|e| FatalError::store(&path, "cannot encode a segment", e))?;
        Ok((path, bytes))
    }

    fn next_segment(&self, base: bool) -> Result<Segment, FatalError> {
        Ok(Segment {
            number: self.latest_segment()?.map_or(1, |last| last + 1),
            base,
        })
    }

    /// Appends one batch of processed returns (as [`tables_for`] builds them) as a new segment.
    pub fn append(&self, tables: &History) -> Result<(), FatalError> {
        if tables.returns.height() > 0 {
            self.write_segment(self.next_segment(false)?, tables)?;
        }
        Ok(())
    }

    /// Folds the store into one base segment once it has more than [`COMPACT_AFTER`] segments (a watcher
    /// adds one per batch), so that loading stays quick. Safe at any moment: the base counts only once it
    /// is committed, and from then on the segments it replaces are never read, deleted or not. Call it
    /// holding the batch lock. Returns whether it compacted.
    pub fn compact(&self) -> Result<bool, FatalError> {
        let live = self.live()?;
        if live.len() <= COMPACT_AFTER {
            return Ok(false);
        }
        let everything = self.load()?;
        let base = self.next_segment(true)?;
        self.write_segment(base, &everything)?;
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| FatalError::store(&self.dir, "cannot list it", e))?;
        for entry in entries.filter_map(|entry| entry.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let number: Option<u32> = name.get(..6).and_then(|digits| digits.parse().ok());
            if name.ends_with(".parquet") && number.is_some_and(|n| n < base.number) {
                std::fs::remove_file(entry.path()).map_err(|e| {
                    FatalError::store(&entry.path(), "cannot remove a folded segment", e)
                })?;
            }
        }
        tracing::info!("history store compacted: {} segments into one", live.len());
        Ok(true)
    }

    /// Empties the store, for `collate rebuild`. The originals in the inbox are untouched.
    pub fn clear(&self) -> Result<(), FatalError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| FatalError::store(&self.dir, "cannot list it", e))?;
        for entry in entries.filter_map(|entry| entry.ok()) {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "parquet") {
                std::fs::remove_file(&path)
                    .map_err(|e| FatalError::store(&path, "cannot remove a segment", e))?;
            }
        }
        Ok(())
    }
}

impl History {
    fn table(&self, name: &str) -> &DataFrame {
        match name {
            "figures" => &self.figures,
            "commentary" => &self.commentary,
            "exceptions" => &self.exceptions,
            "statuses" => &self.statuses,
            _ => &self.returns,
        }
    }

    /// The rows of the returns whose content hash `keep` accepts, in every table.
    pub fn only(&self, keep: &dyn Fn(&str) -> bool) -> PolarsResult<History> {
        let filter = |frame: &DataFrame| -> PolarsResult<DataFrame> {
            let hashes = frame.column("sha256")?.str()?;
            let mask = BooleanChunked::from_iter_values(
                "keep".into(),
                (0..hashes.len()).map(|i| keep(hashes.get(i).unwrap_or_default())),
            );
            frame.filter(&mask)
        };
        Ok(History {
            returns: filter(&self.returns)?,
            figures: filter(&self.figures)?,
            commentary: filter(&self.commentary)?,
            exceptions: filter(&self.exceptions)?,
            statuses: filter(&self.statuses)?,
            sign_offs: self.sign_offs.clone(),
        })
    }

    /// The history without the verdicts a stop passed on returns before `collate` told a stop from a
    /// verdict: a return rejected only because its reader was stopped from outside (a Ctrl-C, a SIGTERM
    /// to the whole service, a kill) is left out, its exception with it, so that it is read again as if
    /// it had never been; and once such a return has been read again, the old exception no longer
    /// stands beside the new outcome. Stores written since hold no such verdict.
    pub fn without_interrupted_reads(self) -> PolarsResult<History> {
        let exceptions = &self.exceptions;
        let (hashes, rules, messages) = (
            exceptions.column("sha256")?.str()?,
            exceptions.column("rule_id")?.str()?,
            exceptions.column("message")?.str()?,
        );
        let stopped: Vec<bool> = (0..exceptions.height())
            .map(|i| {
                rules.get(i) == Some(BuiltinCheck::UnsafeWorkbook.id())
                    && messages.get(i).is_some_and(was_stopped_from_outside)
            })
            .collect();
        if !stopped.contains(&true) {
            return Ok(self);
        }
        let stopped_hashes: HashSet<&str> = (0..exceptions.height())
            .filter(|&i| stopped[i])
            .filter_map(|i| hashes.get(i))
            .collect();
        // A return read again since has a second row; one with a single row was never read again.
        let mut rows: HashMap<&str, usize> = HashMap::new();
        let returned = self.returns.column("sha256")?.str()?;
        for hash in returned.iter().flatten() {
            if stopped_hashes.contains(hash) {
                *rows.entry(hash).or_default() += 1;
            }
        }
        let never_read_again: HashSet<String> = rows
            .into_iter()
            .filter(|&(_, count)| count == 1)
            .map(|(hash, _)| hash.to_owned())
            .collect();
        let keep_exception =
            BooleanChunked::from_iter_values("keep".into(), stopped.iter().map(|stopped| !stopped));
        let exceptions = self.exceptions.filter(&keep_exception)?;
        History { exceptions, ..self }.only(&|hash| !never_read_again.contains(hash))
    }

    /// The next arrival number: one after the highest stored (a store from before arrival numbers counts
    /// its returns).
    pub fn next_arrival(&self) -> PolarsResult<i64> {
        let highest = self.returns.column("arrival")?.i64()?.max();
        Ok(highest.unwrap_or(self.returns.height() as i64) + 1)
    }

    /// The same tables with the returns numbered in arrival order from `first`.
    pub fn numbered_from(mut self, first: i64) -> PolarsResult<History> {
        let numbers: Vec<i64> = (first..first + self.returns.height() as i64).collect();
        self.returns
            .with_column(Column::new("arrival".into(), numbers))?;
        Ok(self)
    }

    /// Each stored content's latest arrival number: the order `collate` received them in (a `collate use`
    /// counts as an arrival).
    pub fn arrivals(&self) -> PolarsResult<HashMap<String, i64>> {
        let (hashes, arrivals) = (
            self.returns.column("sha256")?.str()?,
            self.returns.column("arrival")?.i64()?,
        );
        let mut latest = HashMap::new();
        for i in 0..self.returns.height() {
            if let (Some(hash), Some(arrival)) = (hashes.get(i), arrivals.get(i)) {
                let entry = latest.entry(hash.to_owned()).or_insert(arrival);
                *entry = (*entry).max(arrival);
            }
        }
        Ok(latest)
    }

    /// A returns table of one row: the accepted return with this content, arriving again as `arrival` (what
    /// `collate use` stores to make it the one in use). `None` if no accepted return has this content.
    pub fn arrive_again(&self, sha256: &str, arrival: i64) -> Result<Option<History>, FatalError> {
        let accepted = self
            .returns
            .column("accepted")
            .map_err(FatalError::History)?
            .bool()
            .map_err(FatalError::History)?;
        let hashes = self
            .returns
            .column("sha256")
            .map_err(FatalError::History)?
            .str()
            .map_err(FatalError::History)?;
        let Some(row) = (0..self.returns.height())
            .rev()
            .find(|&i| hashes.get(i) == Some(sha256) && accepted.get(i) == Some(true))
        else {
            return Ok(None);
        };
        let mut returns = self.returns.slice(row as i64, 1);
        returns
            .with_column(Column::new("arrival".into(), [arrival]))
            .map_err(FatalError::History)?;
        let empty = tables_for(&[])?;
        Ok(Some(History { returns, ..empty }))
    }

    /// Appends another history's rows (a batch just stored) to this one.
    pub fn extend(&mut self, added: &History) -> PolarsResult<()> {
        self.returns.vstack_mut(&added.returns)?;
        self.figures.vstack_mut(&added.figures)?;
        self.commentary.vstack_mut(&added.commentary)?;
        self.exceptions.vstack_mut(&added.exceptions)?;
        self.statuses.vstack_mut(&added.statuses)?;
        Ok(())
    }
}

/// Gives a stored frame the current table's columns, in order: a column added since it was written reads
/// as nulls.
fn conform(frame: DataFrame, current: &DataFrame) -> PolarsResult<DataFrame> {
    let height = frame.height();
    let mut columns = Vec::with_capacity(current.width());
    for wanted in current.columns() {
        columns.push(match frame.column(wanted.name()) {
            Ok(found) => found.clone(),
            Err(_) => Column::full_null(wanted.name().clone(), height, wanted.dtype()),
        });
    }
    DataFrame::new(height, columns)
}

fn stack(frames: Vec<DataFrame>, empty: DataFrame) -> Result<DataFrame, FatalError> {
    let mut frames = frames.into_iter();
    let Some(mut all) = frames.next() else {
        return Ok(empty);
    };
    for frame in frames {
        all.vstack_mut(&frame).map_err(FatalError::History)?;
    }
    all.rechunk_mut();
    Ok(all)
}

/// Whether a stored rejection says only that the reader was stopped from outside while reading the
/// return: how earlier versions of `collate` worded a worker stopped by SIGHUP, SIGINT, SIGQUIT, SIGTERM or
/// a kill, which they stored as a rejection.
fn was_stopped_from_outside(message: &str) -> bool {
    const STOPPED: [&str; 5] = [
        "the reader crashed on it (signal 1)",
        "the reader crashed on it (signal 2)",
        "the reader crashed on it (signal 3)",
        "the reader crashed on it (signal 15)",
        "the reader was stopped while reading it",
    ];
    message
        .strip_prefix("the workbook could not be read safely: ")
        .is_some_and(|reason| STOPPED.contains(&reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processed(name: &str) -> ProcessedReturn {
        ProcessedReturn {
            sha256: format!("sha-{name}"),
            source_file: name.to_owned(),
            received_at: "2020-10-01T10:00:00Z".to_owned(),
            validated: Validated::default(),
            message: None,
        }
    }

    fn files(store: &Store) -> Vec<String> {
        let returns = store.load().expect("load").returns;
        let names = returns
            .column("source_file")
            .expect("column")
            .str()
            .expect("text")
            .clone();
        let mut files: Vec<String> = (0..returns.height())
            .filter_map(|i| names.get(i).map(str::to_owned))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn many_segments_fold_into_one_base_holding_every_return() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let expected: Vec<String> = (0..=COMPACT_AFTER)
            .map(|i| format!("{i:03}.xlsx"))
            .collect();
        for name in &expected {
            store
                .append(&tables_for(&[processed(name)]).expect("tables"))
                .expect("append");
        }
        assert!(
            store.compact().expect("compact"),
            "more than COMPACT_AFTER segments"
        );
        assert_eq!(store.live().expect("live").len(), 1);
        assert_eq!(files(&store), expected);
        store
            .append(&tables_for(&[processed("later.xlsx")]).expect("tables"))
            .expect("append after the base");
        assert_eq!(files(&store).len(), expected.len() + 1);
        assert!(!store.compact().expect("compact"), "two segments are few");
    }

    #[test]
    fn a_store_written_before_plan_statuses_existed_still_loads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        store
            .append(&tables_for(&[processed("old.xlsx")]).expect("tables"))
            .expect("append");
        // As an earlier version wrote it: no statuses table, no plan_period column.
        let segment = Segment {
            number: 1,
            base: false,
        };
        std::fs::remove_file(store.segment_path(segment, "statuses")).expect("remove");
        let mut returns = store
            .load()
            .expect("load")
            .returns
            .drop("plan_period")
            .expect("drop");
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .finish(&mut returns)
            .expect("write");
        std::fs::write(store.segment_path(segment, "returns"), bytes).expect("replace");

        let history = store.load().expect("an old store loads");
        assert_eq!(files(&store), ["old.xlsx"]);
        assert_eq!(history.statuses.height(), 0);
        assert_eq!(
            history
                .returns
                .column("plan_period")
                .expect("column")
                .null_count(),
            1
        );
    }

    #[test]
    fn segments_a_crash_left_behind_a_base_are_never_read_twice() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        store
            .append(&tables_for(&[processed("a.xlsx")]).expect("tables"))
            .expect("append");
        store
            .append(&tables_for(&[processed("b.xlsx")]).expect("tables"))
            .expect("append");
        // A compaction that wrote its base and died before deleting what it replaced.
        let everything = store.load().expect("load");
        store
            .write_segment(store.next_segment(true).expect("next"), &everything)
            .expect("base");
        assert_eq!(files(&store), ["a.xlsx", "b.xlsx"]);
    }

    fn stopped_by(name: &str, reason: &str) -> ProcessedReturn {
        ProcessedReturn {
            validated: Validated::rejected(
                name,
                BuiltinCheck::UnsafeWorkbook,
                format!("the workbook could not be read safely: {reason}"),
                "Send it again.",
            ),
            ..processed(name)
        }
    }

    #[test]
    fn returns_an_earlier_version_rejected_because_a_stop_killed_their_reader_are_read_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        let stored = [
            stopped_by("interrupted.xlsx", "the reader crashed on it (signal 2)"),
            stopped_by("terminated.xlsx", "the reader crashed on it (signal 15)"),
            stopped_by("killed.xlsx", "the reader was stopped while reading it"),
            stopped_by("crashed.xlsx", "the reader crashed on it (signal 11)"),
            processed("good.xlsx"),
        ];
        store
            .append(&tables_for(&stored).expect("tables"))
            .expect("append");
        assert_eq!(files(&store), ["crashed.xlsx", "good.xlsx"]);
        let history = store.load().expect("load");
        assert_eq!(
            history.exceptions.height(),
            1,
            "only the crash's verdict stands"
        );

        // Read again (and accepted this time): the old verdict no longer stands beside it.
        let read_again = processed("interrupted.xlsx");
        store
            .append(&tables_for(&[read_again]).expect("tables"))
            .expect("append");
        assert_eq!(
            files(&store),
            [
                "crashed.xlsx",
                "good.xlsx",
                "interrupted.xlsx",
                "interrupted.xlsx"
            ]
        );
        assert_eq!(store.load().expect("load").exceptions.height(), 1);
    }
}
