//! Writing the outputs: the periods they are for, consolidation and rendering with stored returns that
//! break them quarantined, and each workbook replaced atomically.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use super::Folders;
use crate::consolidate::{self, AsAt, Consolidated, FlagSettings, Quarantined};
use crate::error::FatalError;
use crate::outfile::write_atomically;
use crate::period::{Period, PeriodChoice};
use crate::phase::timed;
use crate::render;
use crate::schema::Schemas;
use crate::store::{History, SignOff};

use super::signoff::Signing;

/// The quarter just ended, for a dashboard with no accepted returns yet to say which period it is.
fn quarter_just_ended() -> Period {
    Period::most_recently_ended(chrono::Local::now().date_naive())
}

/// What a rewrite of the outputs produced: the reporting period, and where the dashboard went (beside
/// `dashboard.xlsx` when that could not be replaced).
#[derive(Debug, Clone)]
pub struct Written {
    pub period: Period,
    pub dashboard: PathBuf,
    /// The whole history consolidated as the outputs were made (none when a stored return had to be
    /// left out): what the drafts are judged against, when it is as at the quarter they are for.
    pub consolidated: Option<(AsAt, Consolidated)>,
}

/// Consolidates the history and rewrites the dashboard and exceptions workbooks atomically. A stored
/// return whose content can no longer be consolidated or rendered is quarantined (left out and reported
/// in the exceptions workbook): no store content can stop the outputs being written.
pub fn write_outputs(
    schemas: &Schemas,
    folders: &Folders,
    history: &History,
    choice: PeriodChoice,
) -> Result<Written, FatalError> {
    render_outputs(schemas, folders, history, choice)?.replace(folders)
}

/// The two output workbooks made in memory, for the period they are for; nothing written yet.
pub struct RenderedOutputs {
    period: Period,
    rendered: Rendered,
}

/// Consolidates the history and renders the outputs, quarantining any stored return that breaks them.
pub fn render_outputs(
    schemas: &Schemas,
    folders: &Folders,
    history: &History,
    choice: PeriodChoice,
) -> Result<RenderedOutputs, FatalError> {
    render_edition(schemas, folders, history, choice, None)
}

/// As [`render_outputs`], with the board paper signed off by `signing` when given.
pub fn render_edition(
    schemas: &Schemas,
    folders: &Folders,
    history: &History,
    choice: PeriodChoice,
    signing: Option<Signing>,
) -> Result<RenderedOutputs, FatalError> {
    let periods = crate::polars_local::on_one_thread(|| resolve_periods(history, choice))?;
    let signed = signing.as_ref().map(Signing::day);
    let catalogue = crate::polars_local::on_one_thread(|| consolidate::catalogue_frames(schemas));
    let outputs = Outputs {
        schemas,
        catalogue: catalogue.map_err(FatalError::Consolidation)?,
        as_at: AsAt::quarter(schemas, periods, signed),
        settings: FlagSettings::of(schemas),
        signing,
        set_aside: super::inbox::set_aside_files(&folders.inbox),
    };
    let period = periods.0;
    let rendered = outputs.render_quarantining(history)?;
    Ok(RenderedOutputs { period, rendered })
}

impl RenderedOutputs {
    /// Replaces the dashboard and exceptions workbooks and the draft board paper, each atomically.
    pub fn replace(self, folders: &Folders) -> Result<Written, FatalError> {
        self.replace_alongside(folders, |_| ()).0
    }

    /// As [`RenderedOutputs::replace`], with `alongside` run while the files are written (each is
    /// flushed to disk, and the processor is free meanwhile), given what the outputs were made from.
    pub fn replace_alongside<T: Send>(
        self,
        folders: &Folders,
        alongside: impl FnOnce(Option<&(AsAt, Consolidated)>) -> T + Send,
    ) -> (Result<Written, FatalError>, T) {
        let consolidated = self.rendered.consolidated.as_ref();
        let (dashboard, beside) =
            rayon::join(|| self.replace_files(folders), || alongside(consolidated));
        free_aside(self.rendered.workbooks);
        let written = dashboard.map(|dashboard| Written {
            period: self.period,
            dashboard,
            consolidated: self.rendered.consolidated,
        });
        (written, beside)
    }

    /// The three files, one after the other; where the dashboard went. (Written side by side, their
    /// flushes to disk took longer in all.)
    fn replace_files(&self, folders: &Folders) -> Result<PathBuf, FatalError> {
        let _phase = crate::phase::Phase::start("write outputs");
        let dashboard = replace_output(&folders.dashboard(), &self.rendered.dashboard)?;
        replace_output(&folders.exceptions(), &self.rendered.exceptions)?;
        replace_output(&folders.draft_board_paper(), &self.rendered.board)?;
        Ok(dashboard)
    }

    /// The quarter they are for.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The dashboard workbook's bytes.
    pub fn dashboard(&self) -> &[u8] {
        &self.rendered.dashboard
    }

    /// The board paper's bytes.
    pub fn board_paper(&self) -> &[u8] {
        &self.rendered.board
    }

    /// The manifest the board paper is signed off with.
    pub fn sign_off(&self) -> &SignOff {
        &self.rendered.sign_off
    }
}

/// Frees the workbooks the files were saved from on a thread of their own, now that the files are
/// written: freeing their cells (about 30 ms in all at 12,000 returns) need not delay the pass. Should
/// no thread start, they are freed here.
fn free_aside(workbooks: [rust_xlsxwriter::Workbook; 2]) {
    let freeing = std::thread::Builder::new()
        .name("freeing workbooks".to_owned())
        .spawn(move || drop(workbooks));
    drop(freeing);
}

/// How far (in quarters) a period the owner names may be from every stored return: further, and it is
/// more likely a mistyped year than a wish.
const FAR_QUARTERS: i64 = 8;

/// The periods the outputs are for: the dashboard's and the chase list's.
fn resolve_periods(
    history: &History,
    choice: PeriodChoice,
) -> Result<(Period, Period), FatalError> {
    let stored = consolidate::stored_periods(history).map_err(FatalError::History)?;
    let latest = stored.iter().max().copied();
    let collected = consolidate::collected_quarter(history).map_err(FatalError::History)?;
    Ok(match choice {
        PeriodChoice::Latest => {
            let period = collected.unwrap_or_else(quarter_just_ended);
            (period, period)
        }
        PeriodChoice::Due(due) => (collected.unwrap_or(due), due),
        PeriodChoice::Named(named) => {
            let nearest = stored
                .iter()
                .map(|p| (p.quarter_index() - named.quarter_index()).abs())
                .min();
            if let (Some(distance), Some(latest)) = (nearest, latest)
                && distance > FAR_QUARTERS
            {
                return Err(FatalError::Period {
                    period: named.to_string(),
                    reason: format!(
                        "no return is stored within two years of it (the latest is {latest}); is the year mistyped?"
                    ),
                });
            }
            (named, named)
        }
    })
}

/// The most returns a rewrite quarantines before it gives up and reports the failure itself.
const MAX_QUARANTINED: usize = 8;

/// What the outputs are built from, besides the history.
struct Outputs<'s> {
    schemas: &'s Schemas,
    catalogue: consolidate::CatalogueFrames,
    as_at: AsAt,
    settings: FlagSettings,
    /// Set when the board paper is being signed off; otherwise it is a draft.
    signing: Option<Signing>,
    /// What the inbox set aside, for the owner's exceptions workbook.
    set_aside: Vec<consolidate::SetAside>,
}

/// The outputs' bytes, and the manifest the board paper would be signed off with.
struct Rendered {
    dashboard: Vec<u8>,
    exceptions: Vec<u8>,
    board: Vec<u8>,
    /// The dashboard and exceptions workbooks the bytes were saved from, freed once the files are written.
    workbooks: [rust_xlsxwriter::Workbook; 2],
    sign_off: SignOff,
    /// What they were made from, when it is the whole history's.
    consolidated: Option<(AsAt, Consolidated)>,
}

impl Outputs<'_> {
    /// Consolidates and renders; `Err` is why it failed, in words (a panic included).
    fn render(&self, history: &History, quarantined: &[Quarantined]) -> Result<Rendered, String> {
        let attempt = catch_unwind(AssertUnwindSafe(|| -> Result<Rendered, String> {
            let mut consolidated = crate::phase::timed("consolidate", || {
                crate::polars_local::on_one_thread(|| {
                    consolidate::consolidate(history, &self.catalogue, self.as_at, self.settings)
                })
            })
            .map_err(|error| format!("it could not be consolidated: {error}"))?;
            consolidated.quarantined = quarantined.to_vec();
            consolidated.set_aside = self.set_aside.clone();
            let (edition, sign_off) =
                super::signoff::edition(history, &consolidated, self.signing.as_ref())
                    .map_err(|error| format!("its versions could not be told: {error}"))?;
            let (dashboard, (exceptions, board)) = rayon::join(
                || {
                    timed("render: dashboard", || {
                        render::dashboard_workbook(self.schemas, &consolidated)
                    })
                },
                || {
                    rayon::join(
                        || {
                            timed("render: exceptions", || {
                                render::exceptions_workbook(self.schemas, &consolidated)
                            })
                        },
                        || {
                            timed("render: board paper", || {
                                render::board_paper_docx(self.schemas, &consolidated, &edition)
                            })
                        },
                    )
                },
            );
            let dashboard = dashboard
                .map_err(|error| format!("the dashboard could not be written: {error}"))?;
            let exceptions = exceptions.map_err(|error| {
                format!("the exceptions workbook could not be written: {error}")
            })?;
            let board =
                board.map_err(|error| format!("the board paper could not be written: {error}"))?;
            Ok(Rendered {
                dashboard: dashboard.bytes,
                exceptions: exceptions.bytes,
                board,
                workbooks: [dashboard.workbook, exceptions.workbook],
                sign_off,
                consolidated: quarantined.is_empty().then_some((self.as_at, consolidated)),
            })
        }));
        attempt.unwrap_or_else(|_| Err("building the outputs failed on its content".to_owned()))
    }

    /// Renders everything; while that fails, finds the stored return that breaks it, leaves it out and
    /// tries again.
    fn render_quarantining(&self, history: &History) -> Result<Rendered, FatalError> {
        let mut kept = history.clone();
        let mut quarantined: Vec<Quarantined> = Vec::new();
        loop {
            let reason = match self.render(&kept, &quarantined) {
                Ok(rendered) => return Ok(rendered),
                Err(reason) => reason,
            };
            let culprit = match quarantined.len() < MAX_QUARANTINED {
                true => self.first_breaking_return(&kept)?,
                false => None,
            };
            let Some((hash, file, received_at)) = culprit else {
                return Err(FatalError::Outputs(reason));
            };
            tracing::error!(file = %file, "quarantined: this stored return can no longer be put on the dashboard ({reason}); every other figure is still written");
            quarantined.push(Quarantined {
                file,
                // Read once at the hand-off: the renderers lay out a time, never parse one.
                received_at: chrono::DateTime::parse_from_rfc3339(&received_at).ok(),
                reason,
            });
            kept = kept
                .only(&|stored| stored != hash)
                .map_err(FatalError::History)?;
        }
    }

    /// The return whose arrival first breaks the outputs: the shortest run of stored returns, in the order
    /// stored, that cannot be rendered ends with it. `None` when nothing stored is to blame.
    fn first_breaking_return(
        &self,
        history: &History,
    ) -> Result<Option<(String, String, String)>, FatalError> {
        let stored = history.stored_returns().map_err(FatalError::History)?;
        let renders = |count: usize| -> Result<bool, FatalError> {
            let first: HashSet<&str> = stored[..count].iter().map(|r| r.0.as_str()).collect();
            Ok(self
                .render(
                    &history
                        .only(&|hash| first.contains(hash))
                        .map_err(FatalError::History)?,
                    &[],
                )
                .is_ok())
        };
        Ok(shortest_failing_run(stored.len(), renders)?.map(|count| stored[count - 1].clone()))
    }
}

/// The length of the shortest run of the first `count` items for which `works` fails, by bisection
/// (log2(count) tries); `None` when all of them work, or when none does (nothing to blame).
pub(super) fn shortest_failing_run<E>(
    count: usize,
    mut works: impl FnMut(usize) -> Result<bool, E>,
) -> Result<Option<usize>, E> {
    if count == 0 || !works(0)? || works(count)? {
        return Ok(None);
    }
    // works(good) holds and works(bad) does not.
    let (mut good, mut bad) = (0, count);
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        if works(middle)? {
            good = middle;
        } else {
            bad = middle;
        }
    }
    Ok(Some(bad))
}

/// Replaces an output the owner may have open: Excel on Windows refuses the replacement while it has the
/// file open. Retries with back-off (about 3 s in all), then writes a timestamped copy beside it and says
/// so in the log: the update is never lost. An output that already holds exactly these bytes is left as
/// it is (no write, no flush, nothing for an open Excel to refuse). Returns where the output went.
pub fn replace_output(path: &Path, bytes: &[u8]) -> Result<PathBuf, FatalError> {
    if holds(path, bytes) {
        return Ok(path.to_path_buf());
    }
    let mut delay = std::time::Duration::from_millis(100);
    let mut refused = String::new();
    for _ in 0..5 {
        match write_atomically(path, bytes) {
            Ok(()) => return Ok(path.to_path_buf()),
            Err(error) => {
                refused = error.to_string();
                std::thread::sleep(delay);
                delay *= 2;
            }
        }
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stamp = chrono::Local::now().format("%Y-%m-%d %H%M%S");
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let copy = path.with_file_name(format!("{stem} {stamp}.{extension}"));
    write_atomically(&copy, bytes)?;
    tracing::warn!(
        "{} could not be replaced (is it open in Excel?): {refused}; this update was written to {} instead",
        path.display(),
        copy.display()
    );
    Ok(copy)
}

/// Whether the file at `path` holds exactly `bytes` (its size is looked at first).
fn holds(path: &Path, bytes: &[u8]) -> bool {
    let same_size = std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64);
    same_size && std::fs::read(path).is_ok_and(|held| held == bytes)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    #[test]
    fn an_output_already_holding_the_same_bytes_is_not_written_again() {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("dashboard.xlsx");
        std::fs::write(&path, b"the same bytes").expect("written");
        let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800);
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_modified(long_ago).expect("dated");
        drop(file);
        let modified = || std::fs::metadata(&path).and_then(|m| m.modified()).ok();

        super::replace_output(&path, b"the same bytes").expect("replaced");
        assert_eq!(modified(), Some(long_ago), "left as it was");
        super::replace_output(&path, b"other bytes").expect("replaced");
        assert_ne!(modified(), Some(long_ago), "written");
        assert_eq!(
            std::fs::read(&path).ok().as_deref(),
            Some(&b"other bytes"[..])
        );
    }
}
