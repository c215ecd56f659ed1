//! The checked schema types the pipeline works with; every reference in them is known to resolve.

use crate::excel::normalise_label;
use crate::period::{FinancialYear, Quarter};

#[derive(Debug, Clone)]
pub struct Schemas {
    pub dashboard: DashboardSettings,
    pub departments: Vec<Department>,
    pub catalogue: Catalogue,
    pub templates: Vec<Template>,
    pub rules: Vec<Rule>,
    /// Action plan trackers, from `schemas/plans/`.
    pub plans: Vec<super::Plan>,
}

impl Schemas {
    /// The day a quarter's returns are due: `returns_due_days` after it ends (`None` for a whole year).
    pub fn returns_due(&self, period: crate::period::Period) -> Option<chrono::NaiveDate> {
        let end = period.quarter?.last_day(period.year)?;
        end.checked_add_days(chrono::Days::new(u64::from(
            self.dashboard.returns_due_days,
        )))
    }

    /// What the mail settings leave undone, in the owner's words (empty when nothing): without `[mail]`
    /// nothing is sent; a department with no contacts gets replies and reminders with no recipient.
    pub fn mail_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        let mail = &self.dashboard.mail;
        if mail.from.is_none() || mail.smtp.is_none() {
            gaps.push(
                "dashboard.toml has no [mail] (from) and [mail.smtp] (host, port): `collate send` \
                 sends nothing, and the drafts in outbox/ are yours to send from your mail program"
                    .to_owned(),
            );
        }
        let without: Vec<&str> = (self.departments.iter())
            .filter(|d| d.contact_addresses().is_empty())
            .filter(|d| self.templates.iter().any(|t| t.department == d.id))
            .map(|d| d.name.as_str())
            .collect();
        if !without.is_empty() {
            gaps.push(format!(
                "no contacts in departments.toml for {}: their replies and reminders will have no \
                 recipient; add contacts = [\"name@force.police.uk\"] under each",
                without.join(", ")
            ));
        }
        gaps
    }

    /// Whether any return template collects this measure's figures.
    pub fn collects(&self, indicator: &str, measure: &str) -> bool {
        self.templates.iter().any(|template| {
            template
                .sources
                .iter()
                .any(|source| source.indicator_and_measure() == (indicator, measure))
        })
    }

    /// Whether a return template carries the measure's figures of the year before its own (Finance's
    /// "2019" row): the dashboard then shows that year by quarter too.
    pub fn collects_last_year(&self, indicator: &str, measure: &str) -> bool {
        self.templates.iter().any(|template| {
            template.sources.iter().any(|source| {
                source.year_offset() < 0 && source.indicator_and_measure() == (indicator, measure)
            })
        })
    }

    /// Whether any return template collects the indicator: a figure of one of its measures, or its
    /// analysis.
    pub fn collects_indicator(&self, indicator: &Indicator) -> bool {
        indicator
            .measures
            .iter()
            .any(|measure| self.collects(&indicator.code, &measure.id))
            || self.templates.iter().any(|template| {
                template
                    .analysis
                    .iter()
                    .any(|analysis| analysis.indicator == indicator.code)
            })
    }

    /// Finds a department by its id, name or an alias, forgiving case and spacing.
    pub fn department_named(&self, text: &str) -> Option<&Department> {
        let wanted = normalise_label(text);
        self.departments.iter().find(|department| {
            std::iter::once(&department.id)
                .chain(std::iter::once(&department.name))
                .chain(department.aliases.iter())
                .any(|name| normalise_label(name) == wanted)
        })
    }

    pub fn template(&self, id: &str) -> Option<&Template> {
        let wanted = normalise_label(id);
        self.templates
            .iter()
            .find(|template| normalise_label(&template.id) == wanted)
    }

    /// The ids a workbook's cover may name: every return template and every plan.
    pub fn return_ids(&self) -> Vec<&str> {
        self.templates
            .iter()
            .map(|t| t.id.as_str())
            .chain(self.plans.iter().map(|p| p.id.as_str()))
            .collect()
    }

    pub fn plan(&self, id: &str) -> Option<&super::Plan> {
        let wanted = normalise_label(id);
        self.plans
            .iter()
            .find(|plan| normalise_label(&plan.id) == wanted)
    }

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments
            .iter()
            .find(|department| department.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct DashboardSettings {
    pub force: String,
    pub title: String,
    pub far_above_ratio: f64,
    pub far_above_min_excess: f64,
    /// Days after a quarter ends that its returns are due.
    pub returns_due_days: u32,
    /// What one return may make `collate` do (`[limits]` in `dashboard.toml`).
    pub limits: ReadLimits,
    /// How the templates sent to departments are guarded (`[templates]` in `dashboard.toml`).
    pub templates: TemplateSettings,
    /// Sending the drafts (`[mail]` in `dashboard.toml`): without a server named there, nothing is sent.
    pub mail: MailSettings,
    /// What the dashboard does with an indicator no return template collects.
    pub indicators_not_collected: NotCollected,
    /// The board paper's opening pages (`[board_paper]` in `dashboard.toml`).
    pub board_paper: BoardPaperText,
}

/// `[board_paper]` in `dashboard.toml`: the text the board paper opens with, the owner's to edit.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoardPaperText {
    /// "Rationale for Integrity Dashboard": why the dashboard exists.
    pub rationale: String,
    /// The heading the principles are listed under ("Police Code of Ethics").
    pub principles_title: String,
    pub principles: Vec<Principle>,
    /// Indicators no return template collects: listed once ("list", the default: in the Data Owners
    /// table and one headline line, as the seed paper does), or given sections of their own
    /// ("sections", each saying it is not collected).
    pub not_collected: NotCollectedInPaper,
}

/// `[board_paper] not_collected`: how the paper shows indicators no return template collects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum NotCollectedInPaper {
    #[default]
    #[serde(rename = "list")]
    List,
    #[serde(rename = "sections")]
    Sections,
}

/// One principle of the Code of Ethics: its title and what each officer undertakes.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principle {
    pub title: String,
    pub statements: Vec<String>,
}

/// `indicators_not_collected` in `dashboard.toml`: an indicator in the catalogue that no return template
/// collects is shown as not collected (the default), or left out of the dashboard. Never is it shown as a
/// department that failed to supply it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum NotCollected {
    #[default]
    #[serde(rename = "show")]
    Show,
    #[serde(rename = "leave out")]
    LeaveOut,
}

/// `[mail]` in `dashboard.toml`: the owner's address and the SMTP server `collate send` uses.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// The address the drafts are sent from: the owner's.
    pub from: Option<String>,
    /// The name the departments see beside that address ("Integrity Dashboard, City of London Police").
    pub from_name: Option<String>,
    /// Whether a return emailed by someone who is not one of its department's contacts is answered
    /// (false: no reply is drafted for it, and the owner is told).
    pub reply_to_other_senders: bool,
    /// Whether the watcher, `run` and `fetch` send the replies themselves after each batch ("automatic"),
    /// or leave every draft for the owner (`collate send`, or their mail program): "manual", the default.
    pub send_replies: SendReplies,
    pub smtp: Option<SmtpSettings>,
    pub imap: Option<ImapSettings>,
}

/// Who sends the department's reply: the owner (the default), or `collate` after each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendReplies {
    #[default]
    Manual,
    Automatic,
}

/// `[mail.imap]`: the shared mailbox the departments email their returns to. The secret is never in the
/// file: an environment variable's name, a file's path, or a command that prints an OAuth 2.0 token.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub host: String,
    #[serde(default = "default_imap_port")]
    pub port: u16,
    /// "tls" (the default, port 993), "starttls" (port 143), or "none" (only to this machine).
    #[serde(default = "default_imap_security")]
    pub security: String,
    pub user: String,
    pub password_env: Option<String>,
    pub password_file: Option<std::path::PathBuf>,
    /// A command printing an OAuth 2.0 access token (Microsoft 365), used with XOAUTH2.
    pub token_command: Option<String>,
    /// Read only to refuse it with the reason: a password is never written in `dashboard.toml`.
    #[serde(default)]
    pub password: Option<toml::Value>,
    #[serde(default = "default_imap_folder")]
    pub folder: String,
    #[serde(default = "default_processed_folder")]
    pub processed_folder: String,
    pub ca_file: Option<std::path::PathBuf>,
    /// How often the watcher looks at a server that cannot tell it of new mail (no IDLE).
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u64,
}

fn default_imap_port() -> u16 {
    993
}

fn default_imap_security() -> String {
    "tls".to_owned()
}

fn default_imap_folder() -> String {
    "INBOX".to_owned()
}

fn default_processed_folder() -> String {
    "collate/processed".to_owned()
}

fn default_poll_seconds() -> u64 {
    60
}

/// `[mail.smtp]`: where to send. Credentials are never in the file: only the names of the environment
/// variables that hold them.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// "starttls" (the default), "tls" (implicit TLS, port 465) or "none" (a relay on the same network).
    #[serde(default = "default_security")]
    pub security: String,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    /// A certificate authority to trust besides the machine's own (PEM): a force's own authority,
    /// where the machine does not trust it already. Relative to the installation folder.
    pub ca_file: Option<std::path::PathBuf>,
}

fn default_security() -> String {
    "starttls".to_owned()
}

/// How the templates `collate` writes are guarded. By default the sheets and the workbook's structure are
/// protected without a password: a department cannot overtype a label or rename a sheet by accident, and
/// anyone who must change the layout can still unprotect it from the Review tab.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSettings {
    /// Protect the sheets (labels and headings locked, input cells open) and the workbook's structure.
    pub protect: bool,
    /// A password needed to unprotect them; none by default.
    pub password: Option<String>,
}

impl Default for TemplateSettings {
    fn default() -> Self {
        TemplateSettings {
            protect: true,
            password: None,
        }
    }
}

/// Limits on what reading one return may take. A return is small; these keep an untrusted file from
/// exhausting the machine, whatever it claims about itself. Each is a setting under `[limits]`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadLimits {
    /// The file as it arrived, in MB.
    pub file_mb: u64,
    /// Everything the reader unpacks from it, in MB (also the text its cells may repeat).
    pub uncompressed_mb: u64,
    /// How many times its packed size a part (over 1 MB) may unpack to.
    pub compression_ratio: u64,
    /// Parts inside the file (zip entries, compound-file streams).
    pub parts: usize,
    pub sheets: usize,
    /// Cells, counted as held and as the rectangle a sheet spans.
    pub cells: u64,
    /// How deep the XML may nest.
    pub nesting: usize,
    /// The address space of the worker that reads a return, in MB.
    pub memory_mb: u64,
    /// CPU time the worker may spend on one return, in seconds.
    pub cpu_seconds: u64,
    /// Wall-clock time one return's read may take, in seconds, on every platform (a reader blocked
    /// without using the CPU, or any reader where no CPU limit can be set, is stopped then).
    pub read_seconds: u64,
}

impl ReadLimits {
    /// The largest file, in bytes, that is read at all (workbook or saved email).
    pub fn file_bytes(&self) -> u64 {
        self.file_mb.saturating_mul(1024 * 1024)
    }

    /// How long one read in a worker may take, from handing it the file to its answer.
    pub fn read_deadline(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.read_seconds)
    }

    /// The longest frame a worker's answer can hold: a workbook attached to an email (at most the
    /// email's size), or a return's figures, texts and exceptions (the texts at most what the workbook
    /// unpacks to; the rest bounded by the schema, well within the margin). A longer claim is a fault of
    /// the worker, never an allocation.
    pub fn largest_reply_bytes(&self) -> u64 {
        self.file_bytes()
            .max(self.uncompressed_mb.saturating_mul(1024 * 1024))
            .saturating_mul(2)
            .saturating_add(16 * 1024 * 1024)
    }
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            file_mb: 64,
            uncompressed_mb: 64,
            compression_ratio: 100,
            parts: 1000,
            sheets: 255,
            cells: 1_000_000,
            nesting: 100,
            memory_mb: 512,
            cpu_seconds: 20,
            read_seconds: 60,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// Who may send the department's returns by email (addresses, or domains as "@example.uk"); empty
    /// when the schema names none, and then anyone may.
    pub contacts: Vec<String>,
    /// How a return emailed by someone who is not a contact is raised.
    pub sender_not_a_contact: Severity,
    /// Who the board paper says supplied the department's analysis ("the Head of HR").
    pub analysis_by: String,
}

impl Department {
    /// The contacts that are addresses (not whole domains): whom a draft to the department goes to.
    pub fn contact_addresses(&self) -> Vec<String> {
        self.contacts
            .iter()
            .filter(|c| !c.starts_with('@'))
            .cloned()
            .collect()
    }

    /// Whether `address` is one of the department's contacts (or the department names none).
    pub fn is_contact(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        self.contacts.is_empty()
            || self.contacts.iter().any(|contact| {
                let contact = contact.trim().to_ascii_lowercase();
                match contact.strip_prefix('@') {
                    Some(domain) => address.rsplit_once('@').is_some_and(|(_, d)| d == domain),
                    None => address == contact,
                }
            })
    }
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    pub groups: Vec<Group>,
    pub indicators: Vec<Indicator>,
}

impl Catalogue {
    pub fn indicator(&self, code: &str) -> Option<&Indicator> {
        self.indicators
            .iter()
            .find(|indicator| indicator.code == code)
    }

    pub fn measure(&self, indicator: &str, measure: &str) -> Option<&Measure> {
        self.indicator(indicator)?
            .measures
            .iter()
            .find(|candidate| candidate.id == measure)
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Indicator {
    pub code: String,
    pub group: String,
    pub title: String,
    pub owner: String,
    pub source: String,
    pub rationale: String,
    pub chart: bool,
    pub measures: Vec<Measure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Quarterly,
    Annual,
}

#[derive(Debug, Clone)]
pub struct Measure {
    pub id: String,
    pub label: String,
    pub kind: ValueKind,
    pub frequency: Frequency,
    pub summable: bool,
    pub integrity: bool,
    pub limits: Limits,
    pub sum_of: Option<Vec<String>>,
    /// Whether "n/a" is a proper answer (otherwise it raises a query).
    pub not_applicable: bool,
}

/// The type a cell must hold.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A whole number, zero or more.
    Count,
    /// 0 to 100.
    Percentage,
    Number,
    Date,
    Text,
    /// One of a fixed list of values (statuses).
    Choice(Vec<String>),
}

impl ValueKind {
    pub fn describe(&self) -> String {
        match self {
            ValueKind::Count => "a whole number of 0 or more".to_owned(),
            ValueKind::Percentage => "a percentage from 0 to 100".to_owned(),
            ValueKind::Number => "a number".to_owned(),
            ValueKind::Date => "a date".to_owned(),
            ValueKind::Text => "text".to_owned(),
            ValueKind::Choice(allowed) => format!("one of {}", allowed.join(", ")),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// A department's quarterly return: the financial year and quarter it reports on.
    Quarterly,
    /// Annual figures for past years, stated once.
    Historical,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub id: String,
    pub version: u32,
    /// The first 16 hex digits of the SHA-256 of the template's schema file: written into every template,
    /// so that a return says which exact layout it was made from.
    pub fingerprint: String,
    pub department: String,
    pub kind: TemplateKind,
    pub title: String,
    pub identity: Identity,
    pub columns: Columns,
    pub sources: Vec<ValueSource>,
    pub analysis: Vec<AnalysisSpec>,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub template: Locator,
    pub version: Option<Locator>,
    pub department: Locator,
    pub financial_year: Locator,
    pub quarter: Option<Locator>,
}

/// How the headings above a figure row map to the period a figure belongs to.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub by_heading: Vec<(String, SlotKind)>,
    pub year_headings: bool,
    /// `by_heading`'s headings as [`normalise_label`] reads them, in the same order: every heading cell
    /// of every return is compared with them.
    normalised: Vec<String>,
}

impl Columns {
    pub fn new(by_heading: Vec<(String, SlotKind)>, year_headings: bool) -> Columns {
        let normalised = by_heading
            .iter()
            .map(|(heading, _)| normalise_label(heading))
            .collect();
        Columns {
            by_heading,
            year_headings,
            normalised,
        }
    }

    pub fn slot_for_heading(&self, heading: &str) -> Option<Slot> {
        let wanted = normalise_label(heading);
        if let Some((_, kind)) = self
            .normalised
            .iter()
            .zip(&self.by_heading)
            .find(|(candidate, _)| **candidate == wanted)
            .map(|(_, heading)| heading)
        {
            return Some(Slot::Relative(*kind));
        }
        if self.year_headings {
            return FinancialYear::parse(heading).map(Slot::Year);
        }
        None
    }
}

/// What a figure's column means relative to the return's own period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    Quarter(Quarter),
    Total,
    Annual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Relative(SlotKind),
    Year(FinancialYear),
}

#[derive(Debug, Clone)]
pub enum ValueSource {
    /// One cell holding one figure.
    Cell {
        indicator: String,
        measure: String,
        slot: SlotKind,
        year_offset: i32,
        locator: Locator,
    },
    /// A labelled row whose columns are read through the template's `Columns`.
    Row {
        indicator: String,
        measure: String,
        sheet: String,
        within: Option<String>,
        row: String,
        year_offset: i32,
    },
}

impl ValueSource {
    /// Which year the figures belong to, relative to the return's own (-1: the year before).
    pub fn year_offset(&self) -> i32 {
        match self {
            ValueSource::Cell { year_offset, .. } | ValueSource::Row { year_offset, .. } => {
                *year_offset
            }
        }
    }

    pub fn indicator_and_measure(&self) -> (&str, &str) {
        match self {
            ValueSource::Cell {
                indicator, measure, ..
            }
            | ValueSource::Row {
                indicator, measure, ..
            } => (indicator, measure),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AnalysisSpec {
    pub indicator: String,
    pub locator: Locator,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub id: String,
    pub label: String,
    pub kind: ValueKind,
    pub required: bool,
    pub limits: Limits,
    pub locator: Locator,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Locator {
    /// A fixed address, zero-based.
    Cell { sheet: String, row: u32, col: u32 },
    /// An Excel defined name.
    Name(String),
    /// The cell in the row labelled `row` under the heading `column`, below `within` when given.
    Label {
        sheet: String,
        within: Option<String>,
        row: String,
        column: String,
    },
}

impl Locator {
    /// How a person would describe this place when the workbook does not have it.
    pub fn describe(&self) -> String {
        match self {
            Locator::Cell { sheet, row, col } => {
                format!("{sheet}!{}", crate::excel::a1(*row, *col))
            }
            Locator::Name(name) => format!("the defined name {name}"),
            Locator::Label {
                sheet,
                within,
                row,
                column,
            } => match within {
                Some(within) => {
                    format!("sheet {sheet}, row \"{row}\" under \"{within}\", column \"{column}\"")
                }
                None => format!("sheet {sheet}, row \"{row}\", column \"{column}\""),
            },
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// The severity a stored exception row records (anything but "error" is a query).
    pub fn from_stored(text: &str) -> Severity {
        match text {
            "error" => Severity::Error,
            _ => Severity::Warning,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeasureRef {
    pub indicator: String,
    pub measure: String,
}

impl std::fmt::Display for MeasureRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.indicator, self.measure)
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub message: String,
    pub guidance: String,
    pub check: Check,
}

/// The typed rule kinds; each names what it compares.
#[derive(Debug, Clone)]
pub enum Check {
    /// In every period, `part` may not exceed `whole`.
    PartWithinWhole { part: MeasureRef, whole: MeasureRef },
    /// A stated total equals the sum of the stated quarters.
    TotalMatchesQuarters,
    /// These figures of one period add up to `target`, give or take `tolerance`.
    SumsTo {
        measures: Vec<MeasureRef>,
        target: f64,
        tolerance: f64,
    },
    /// When `when` is above zero, `needs` must be above zero too.
    NeedsWhenPositive { when: MeasureRef, needs: MeasureRef },
    /// No figure for a quarter after the return's own.
    NoFutureQuarters,
    /// Every quarterly figure up to the return's quarter is filled in.
    FiguresComplete,
}

#[cfg(test)]
mod contact_tests {
    use super::*;

    fn psd(contacts: &[&str]) -> Department {
        Department {
            id: "PSD".into(),
            name: "Professional Standards".into(),
            aliases: Vec::new(),
            contacts: contacts.iter().map(|c| c.to_string()).collect(),
            sender_not_a_contact: Severity::Warning,
            analysis_by: "Professional Standards".into(),
        }
    }

    #[test]
    fn a_contact_is_an_address_or_anyone_at_a_domain() {
        let department = psd(&["Analyst@PSD.example.uk", "@standards.example.uk"]);
        assert!(department.is_contact("analyst@psd.example.uk"));
        assert!(department.is_contact("anyone@standards.example.uk"));
        assert!(!department.is_contact("deputy@psd.example.uk"));
        assert!(!department.is_contact("x@evil-standards.example.uk"));
        assert!(
            psd(&[]).is_contact("anyone@anywhere.uk"),
            "no contacts: anyone"
        );
    }
}
