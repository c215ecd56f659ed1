//! Checks one opened return against its template and the rules: figures it accepts, exceptions it raises.

mod builtin;
mod cells;
mod checker;
mod figures;
mod identify;
mod plan;
mod rules;
mod sender;

use serde::{Deserialize, Serialize};

use crate::exception::Exception;
use crate::period::{FinancialYear, Period, Quarter};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::read::{SourceWorkbook, WORKBOOK_EXTENSIONS};
use crate::schema::{Schemas, Severity};

pub use builtin::BuiltinCheck;
pub use cells::{CellNumber, check_number, read_date, read_number};
use checker::Checker;
pub use plan::{COVER_ROWS, COVER_SHEET, PlanUpdateIdentity, StatusUpdate};
pub use sender::check_sender;

/// Which return this is, as the workbook itself states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnIdentity {
    pub department: String,
    pub template: String,
    pub template_version: u32,
    pub period: Period,
}

/// Where a figure belongs in time: a quarter, the stated total of a year, or a whole-year figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FigureSlot {
    Quarter(Quarter),
    Total,
    Annual,
}

impl FigureSlot {
    /// Whether a return for `period` must give the figure for this slot of `year`.
    fn is_due(self, year: FinancialYear, period: Period) -> bool {
        match self {
            FigureSlot::Quarter(quarter) => {
                year < period.year
                    || (year == period.year && period.quarter.is_none_or(|own| quarter <= own))
            }
            FigureSlot::Annual => year <= period.year,
            FigureSlot::Total => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FigureSlot::Quarter(_) => "quarter",
            FigureSlot::Total => "total",
            FigureSlot::Annual => "annual",
        }
    }

    pub fn describe(self, year: FinancialYear) -> String {
        match self {
            FigureSlot::Quarter(quarter) => format!("{} {year}", quarter.heading()),
            FigureSlot::Total => format!("the {year} total"),
            FigureSlot::Annual => year.to_string(),
        }
    }
}

/// A figure cell left blank: whether that matters is for the rules to say.
struct Blank {
    pub indicator: String,
    pub measure: String,
    pub year: FinancialYear,
    pub slot: FigureSlot,
    pub sheet: String,
    pub cell: String,
}

/// An accepted figure with the cell it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub indicator: String,
    pub measure: String,
    pub year: FinancialYear,
    pub slot: FigureSlot,
    /// The figure; 0 and meaningless when `not_applicable`.
    pub value: f64,
    /// The cell says N/A where the schema allows it (a survey not run that year): stored and shown as
    /// "N/A", never as a figure nor as missing. Rules never see such a figure.
    pub not_applicable: bool,
    pub sheet: String,
    pub cell: String,
}

/// The owner's analysis text for an indicator, as the department wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commentary {
    pub indicator: String,
    pub text: String,
    pub sheet: String,
    pub cell: String,
}

/// Everything validation found in one return, by what the return turned out to be; it crosses from the
/// worker that read it in postcard's binary form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Validated {
    /// Not identified as any return `collate` knows (or not readable at all): its exceptions say why.
    Unidentified { exceptions: Vec<Exception> },
    /// A figures return, with the figures and the analysis it gives.
    Figures {
        identity: ReturnIdentity,
        figures: Vec<Figure>,
        commentary: Vec<Commentary>,
        exceptions: Vec<Exception>,
    },
    /// An action plan update, with the statuses it reports.
    PlanUpdate {
        identity: PlanUpdateIdentity,
        statuses: Vec<StatusUpdate>,
        exceptions: Vec<Exception>,
    },
}

impl Default for Validated {
    fn default() -> Self {
        Validated::Unidentified {
            exceptions: Vec::new(),
        }
    }
}

impl Validated {
    /// A return rejected before validation could start, with its one-line reason.
    pub fn rejected(file: &str, check: BuiltinCheck, reason: String, guidance: &str) -> Validated {
        Validated::Unidentified {
            exceptions: vec![Exception {
                file: file.to_owned(),
                sheet: String::new(),
                cell: String::new(),
                value_found: String::new(),
                rule_id: check.id().to_owned(),
                severity: Severity::Error,
                message: reason,
                guidance: guidance.to_owned(),
            }],
        }
    }

    /// Adds an exception found outside the workbook (who sent it, say).
    pub fn push_exception(&mut self, exception: Exception) {
        match self {
            Validated::Unidentified { exceptions }
            | Validated::Figures { exceptions, .. }
            | Validated::PlanUpdate { exceptions, .. } => exceptions.push(exception),
        }
    }

    pub fn exceptions(&self) -> &[Exception] {
        match self {
            Validated::Unidentified { exceptions }
            | Validated::Figures { exceptions, .. }
            | Validated::PlanUpdate { exceptions, .. } => exceptions,
        }
    }

    /// A return is accepted when it could be identified and no error was found; warnings are queries.
    pub fn accepted(&self) -> bool {
        !matches!(self, Validated::Unidentified { .. })
            && !self
                .exceptions()
                .iter()
                .any(|e| e.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.exceptions()
            .iter()
            .filter(|e| e.severity == severity)
            .count()
    }

    /// The department the return states it is from.
    pub fn department(&self) -> Option<&str> {
        match self {
            Validated::Figures { identity, .. } => Some(&identity.department),
            Validated::PlanUpdate { identity, .. } => Some(&identity.department),
            Validated::Unidentified { .. } => None,
        }
    }

    /// The period the return states it is for, as the department would write it.
    pub fn period_label(&self) -> Option<String> {
        match self {
            Validated::Figures { identity, .. } => Some(identity.period.to_string()),
            Validated::PlanUpdate { identity, .. } => Some(identity.period.to_string()),
            Validated::Unidentified { .. } => None,
        }
    }

    /// A figures return's identity.
    pub fn figures_identity(&self) -> Option<&ReturnIdentity> {
        match self {
            Validated::Figures { identity, .. } => Some(identity),
            _ => None,
        }
    }
}

/// Validates the bytes of one file. Never fails and never panics outward: a file that breaks the reader
/// is a rejected return with a reason, and the run goes on.
pub fn validate_bytes(schemas: &Schemas, file: &str, bytes: Vec<u8>) -> Validated {
    let extension = Path::new(file)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !WORKBOOK_EXTENSIONS.contains(&extension.as_str()) {
        return Validated::rejected(
            file,
            BuiltinCheck::UnsupportedFile,
            format!("\"{file}\" is not a spreadsheet return (.xlsx, .xlsm, .xls or .ods)"),
            "Save the return from Excel as .xlsx and send it again.",
        );
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        match SourceWorkbook::open(bytes, &extension, &schemas.dashboard.limits) {
            Ok(mut workbook) => validate(schemas, file, &mut workbook),
            Err(unreadable) => Validated::rejected(
                file,
                BuiltinCheck::UnreadableWorkbook,
                unreadable.0,
                "Open the file in Excel, check it shows your return, save it as .xlsx and send it again.",
            ),
        }
    }));
    outcome.unwrap_or_else(|_| {
        Validated::rejected(
            file,
            BuiltinCheck::UnreadableWorkbook,
            "the workbook could not be read (the reader failed on its content)".to_owned(),
            "Open the file in Excel, save it as a new .xlsx and send it again.",
        )
    })
}

/// Validates one opened workbook. Never fails: everything wrong is an exception in the result.
pub fn validate(schemas: &Schemas, file: &str, workbook: &mut SourceWorkbook) -> Validated {
    let mut checker = Checker {
        schemas,
        file: file.to_owned(),
        exceptions: Vec::new(),
    };
    let plan = plan::which_plan(&schemas.plans, workbook)
        .map(|(plan, _)| plan)
        .or_else(|| identify::plan_from_identity_sheet(&mut checker, workbook));
    if let Some(plan) = plan {
        let update = plan::validate_update(&mut checker, plan, workbook);
        let exceptions = checker.exceptions;
        return match update {
            Some((identity, statuses)) => Validated::PlanUpdate {
                identity,
                statuses,
                exceptions,
            },
            None => Validated::Unidentified { exceptions },
        };
    }
    let Some((template, identity)) = identify::identify(&mut checker, workbook) else {
        return Validated::Unidentified {
            exceptions: checker.exceptions,
        };
    };

    figures::validate_figures_return(checker, template, identity, workbook)
}
