//! The one processing path: inbox files → read → validate → store → consolidate → render. Every pass is
//! [`Collator::pass`]: `collate run` and `rebuild` make one over the whole inbox ([`process_inbox`]), the
//! watcher one per batch of files found ready.

mod drafts;
mod inbox;
mod outputs;
mod reading;
mod reports;
mod restated;
mod run;
mod session;
mod signoff;
mod versions;

use std::path::{Path, PathBuf};

use crate::period::Period;

pub use crate::digest::sha256_hex;
pub use drafts::WITHDRAWN_FOLDER;
pub use inbox::{
    DEFAULT_SETTLE, InboxScan, NotRead, Received, SET_ASIDE_FOLDER, STATUS_FILE, has_settled,
    is_ignored, is_return_or_message, is_workbook_name, receive, scan_inbox, set_aside,
    write_inbox_status,
};
pub use outputs::{
    RenderedOutputs, Written, render_edition, render_outputs, replace_output, write_outputs,
};
pub use reading::{LeftForLater, process_file, validate_received};
pub use run::{process_inbox, process_inbox_in_order};
pub use session::Collator;
pub use signoff::{Signing, changes_since, edition, latest_version, unchanged_since};
pub use versions::{CloseRequest, Closing, Refused, Withdrawn, close_quarter, withdraw_version};

/// The folders of one installation.
#[derive(Debug, Clone)]
pub struct Folders {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub store: PathBuf,
}

impl Folders {
    pub fn under(root: &Path) -> Folders {
        Folders {
            inbox: root.join("inbox"),
            outbox: root.join("outbox"),
            store: root.join("store"),
        }
    }

    pub fn dashboard(&self) -> PathBuf {
        self.outbox.join("dashboard.xlsx")
    }

    pub fn exceptions(&self) -> PathBuf {
        self.outbox.join("exceptions.xlsx")
    }

    /// The board paper of the quarter being collected, as a draft (rewritten with the dashboard).
    pub fn draft_board_paper(&self) -> PathBuf {
        self.outbox.join("board paper (draft).docx")
    }

    /// Where the signed-off versions of each quarter's board paper are kept.
    pub fn board(&self) -> PathBuf {
        self.outbox.join("board")
    }

    pub fn return_reports(&self) -> PathBuf {
        self.outbox.join("returns")
    }

    /// Where the draft replies to departments are written, one per return with exceptions.
    pub fn replies(&self) -> PathBuf {
        self.outbox.join("replies")
    }
}

/// What became of one file in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accepted {
        file: String,
        warnings: usize,
    },
    Rejected {
        file: String,
        reason: String,
    },
    /// The same bytes were processed before, under this name.
    AlreadyProcessed {
        file: String,
        same_as: String,
    },
    /// Still being written: left for the next pass.
    Waiting {
        file: String,
    },
    /// Not a spreadsheet return: moved to `inbox/set aside/` with its reason.
    SetAside {
        file: String,
    },
    /// Its reader was stopped from outside twice: not a verdict, so nothing is stored and the file is
    /// read again by the next pass.
    NotFinished {
        file: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub outcomes: Vec<Outcome>,
    pub period: Option<Period>,
    pub dashboard: Option<PathBuf>,
    /// The inbox files the pass is done with (read and stored, or set aside), in the order given: a stop
    /// may leave the rest, and a file whose reading was not finished is not among them.
    pub done_with: Vec<PathBuf>,
}

impl RunSummary {
    pub fn rejected(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Rejected { .. }))
            .count()
    }

    pub fn accepted(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Accepted { .. }))
            .count()
    }

    pub fn waiting(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Waiting { .. }))
            .count()
    }

    /// The files still being written, by name.
    pub fn waiting_files(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Waiting { file } => Some(file.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The returns whose reading was not finished (left for the next pass), with why.
    pub fn not_finished(&self) -> Vec<(&str, &str)> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::NotFinished { file, reason } => Some((file.as_str(), reason.as_str())),
                _ => None,
            })
            .collect()
    }

    pub fn already_processed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::AlreadyProcessed { .. }))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::inbox::file_name;
    use super::outputs::shortest_failing_run;
    use super::*;

    #[test]
    fn the_return_that_first_breaks_the_outputs_is_found_by_bisection() {
        // Returns 0..100 in store order; the one at index 37 breaks rendering whenever it is included.
        let mut tries = 0;
        let found = shortest_failing_run(100, |count| {
            tries += 1;
            Ok::<_, ()>(count <= 37)
        });
        assert_eq!(found, Ok(Some(38)), "the run of 38 ends with index 37");
        assert!(tries <= 9, "{tries} renders");
        assert_eq!(shortest_failing_run(100, |_| Ok::<_, ()>(true)), Ok(None));
        assert_eq!(
            shortest_failing_run(100, |_| Ok::<_, ()>(false)),
            Ok(None),
            "nothing stored to blame when even an empty store fails"
        );
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn owner_temporary_and_hidden_files_are_not_returns() {
        let dir = tempfile::tempdir().expect("temp dir");
        let names = [
            "psd.xlsx",
            "~$psd.xlsx",
            ".hidden.xlsx",
            "notes.pdf",
            "8A3B1C00",
            "psd.tmp",
            STATUS_FILE,
        ];
        for name in names {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        std::fs::create_dir(dir.path().join("archive")).expect("dir");
        let scan = scan_inbox(dir.path()).expect("scan");
        let returns: Vec<String> = scan.returns.iter().map(|p| file_name(p)).collect();
        let others: Vec<String> = scan.not_returns.iter().map(|p| file_name(p)).collect();
        assert_eq!(returns, ["psd.xlsx"]);
        assert_eq!(others, ["notes.pdf"]);
    }
}
