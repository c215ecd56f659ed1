//! The schema files exactly as written: serde structs that reject unknown keys, checked later by `compile`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDashboard {
    pub force: String,
    pub title: String,
    #[serde(default)]
    pub flags: RawFlags,
    /// Days after a quarter ends that its returns are due.
    #[serde(default = "default_due_days")]
    pub returns_due_days: u32,
    #[serde(default)]
    pub limits: super::ReadLimits,
    #[serde(default)]
    pub templates: super::TemplateSettings,
    #[serde(default)]
    pub mail: super::MailSettings,
    #[serde(default)]
    pub indicators_not_collected: super::NotCollected,
    /// The board paper's opening pages.
    #[serde(default)]
    pub board_paper: super::BoardPaperText,
}

fn default_due_days() -> u32 {
    30
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlags {
    #[serde(default = "default_far_above_ratio")]
    pub far_above_ratio: f64,
    #[serde(default = "default_far_above_min_excess")]
    pub far_above_min_excess: f64,
}

impl Default for RawFlags {
    fn default() -> Self {
        RawFlags {
            far_above_ratio: default_far_above_ratio(),
            far_above_min_excess: default_far_above_min_excess(),
        }
    }
}

fn default_far_above_ratio() -> f64 {
    1.5
}

fn default_far_above_min_excess() -> f64 {
    5.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDepartments {
    pub departments: Vec<RawDepartment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDepartment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Who may send the department's returns by email: addresses, or domains ("@psd.example.uk").
    #[serde(default)]
    pub contacts: Vec<String>,
    /// What a return emailed by someone else is: "warning" (a query, the default) or "error".
    pub sender_not_a_contact: Option<String>,
    /// Who the board paper says supplied the department's analysis ("the Head of HR"); the
    /// department's name when not given.
    pub analysis_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalogue {
    pub groups: Vec<RawGroup>,
    pub indicators: Vec<RawIndicator>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndicator {
    pub code: String,
    pub group: String,
    pub title: String,
    pub owner: String,
    pub source: String,
    pub rationale: String,
    #[serde(default)]
    pub chart: bool,
    #[serde(default)]
    pub measures: Vec<RawMeasure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeasure {
    pub id: String,
    pub label: String,
    #[serde(rename = "type", default = "default_measure_type")]
    pub kind: String,
    #[serde(default = "default_frequency")]
    pub frequency: String,
    pub summable: Option<bool>,
    #[serde(default)]
    pub integrity: bool,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// A derived measure is the sum of these measures of the same indicator.
    pub sum_of: Option<Vec<String>>,
    /// "n/a" is a proper answer for this measure (otherwise it raises a query).
    #[serde(default)]
    pub not_applicable: bool,
}

fn default_measure_type() -> String {
    "count".to_owned()
}

fn default_frequency() -> String {
    "quarterly".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub message: String,
    pub guidance: String,
    pub part: Option<String>,
    pub whole: Option<String>,
    pub when: Option<String>,
    pub needs: Option<String>,
    pub measures: Option<Vec<String>>,
    pub target: Option<f64>,
    pub tolerance: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemplate {
    pub template: RawTemplateHeader,
    pub identity: RawIdentity,
    /// Column headings of the figure rows, mapped to what they hold: "Q1"…"Q4", "total" or "annual".
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Whether any column headed by a financial year ("2015/16") holds that year's annual figure.
    #[serde(default)]
    pub year_columns: bool,
    #[serde(default)]
    pub rows: Vec<RawRow>,
    #[serde(default)]
    pub values: Vec<RawValue>,
    #[serde(default)]
    pub analysis: Vec<RawAnalysis>,
    #[serde(default)]
    pub fields: Vec<RawField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemplateHeader {
    pub id: String,
    pub version: u32,
    pub department: String,
    pub kind: String,
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentity {
    pub template: RawLocator,
    pub version: Option<RawLocator>,
    pub department: RawLocator,
    pub financial_year: RawLocator,
    pub quarter: Option<RawLocator>,
}

/// Where a value lives: `cell` (A1 address on `sheet`), `name` (an Excel defined name), or
/// `row` (+ `column`): the cell in the row labelled `row` under the heading `column`, searching
/// below the label `within` when given.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLocator {
    pub sheet: Option<String>,
    pub cell: Option<String>,
    pub name: Option<String>,
    pub within: Option<String>,
    pub row: Option<String>,
    pub column: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRow {
    pub indicator: String,
    pub measure: String,
    pub sheet: String,
    pub within: Option<String>,
    pub row: String,
    /// Figures on this row belong to this many years before the return's own (e.g. -1).
    #[serde(default)]
    pub year_offset: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValue {
    pub indicator: String,
    pub measure: String,
    /// "Q1"…"Q4", "total" or "annual" (the default).
    pub slot: Option<String>,
    #[serde(default)]
    pub year_offset: i32,
    pub at: RawLocator,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub indicator: String,
    pub at: RawLocator,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    pub id: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    #[serde(default)]
    pub allowed: Vec<String>,
    pub at: RawLocator,
}

/// An action plan tracker (`schemas/plans/*.toml`): its reporting periods, status vocabulary, sections,
/// measures, and how its update returns are laid out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    pub plan: RawPlanHeader,
    pub periods: Vec<RawPlanPeriod>,
    pub statuses: Vec<RawStatus>,
    #[serde(default)]
    pub update_return: RawUpdateReturn,
    pub sections: Vec<RawSection>,
    pub measures: Vec<RawPlanMeasure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanHeader {
    pub id: String,
    pub version: u32,
    pub title: String,
    /// The dashboard sheet the plan is shown on (Excel allows 31 characters).
    pub sheet: String,
    /// Who owns the plan as a whole, as the plan names them.
    pub owner: Option<String>,
    /// Departments that update a measure naming none of its own.
    #[serde(default)]
    pub departments: Vec<String>,
    /// A latest update older than this many days at the reporting date is flagged.
    pub stale_update_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanPeriod {
    pub label: String,
    /// The reporting date the period's statuses are as at.
    pub as_at: toml::value::Datetime,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatus {
    pub name: String,
    pub meaning: String,
    /// complete, on_track, not_due, at_risk or off_track.
    pub kind: String,
    /// The traffic-light fill, "#RRGGBB".
    pub colour: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpdateReturn {
    #[serde(default = "default_update_sheet")]
    pub sheet: String,
    #[serde(default = "default_title_heading")]
    pub title_heading: String,
    #[serde(default = "default_owner_heading")]
    pub owner_heading: String,
    /// One status column under this heading; without it, one status column per reporting period.
    pub status_heading: Option<String>,
    /// What owners return besides the status: current_position, latest_update, date_of_update, complete.
    #[serde(default = "default_collects")]
    pub collects: Vec<String>,
}

impl Default for RawUpdateReturn {
    fn default() -> Self {
        RawUpdateReturn {
            sheet: default_update_sheet(),
            title_heading: default_title_heading(),
            owner_heading: default_owner_heading(),
            status_heading: None,
            collects: default_collects(),
        }
    }
}

fn default_update_sheet() -> String {
    "Plan Summary".to_owned()
}

fn default_title_heading() -> String {
    "Measure".to_owned()
}

fn default_owner_heading() -> String {
    "Owner".to_owned()
}

fn default_collects() -> Vec<String> {
    vec!["current_position".to_owned()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSection {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanMeasure {
    #[serde(rename = "ref")]
    pub reference: String,
    pub section: String,
    pub title: String,
    pub owner: Option<String>,
    /// The departments that may update this measure (default: the plan's).
    pub departments: Option<Vec<String>>,
    pub aim: Option<String>,
    pub measurement: Option<String>,
    pub due: Option<toml::value::Datetime>,
    /// The due date as the plan words it ("March 2018", "Quarterly updates to ISB").
    pub due_text: Option<String>,
    pub criteria: Option<String>,
    pub initial_response: Option<String>,
}
