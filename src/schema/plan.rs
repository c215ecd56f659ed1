//! Action plan trackers as checked types: periods, status vocabulary (and how a combined status such as
//! "GREEN /COMPLETE" reads), sections, measures and who may update them.

use std::path::Path;

use chrono::NaiveDate;

use super::Department;
use super::raw::{
    RawPlan, RawPlanHeader, RawPlanMeasure, RawPlanPeriod, RawStatus, RawUpdateReturn,
};
use crate::error::FatalError;
use crate::excel::normalise_label;

#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub version: u32,
    /// As a template's: which exact schema file an update was made from.
    pub fingerprint: String,
    pub title: String,
    pub sheet: String,
    pub owner: String,
    pub stale_update_days: Option<u32>,
    pub periods: Vec<PlanPeriod>,
    pub statuses: Vec<StatusDef>,
    pub update: UpdateLayout,
    pub sections: Vec<PlanSection>,
    pub measures: Vec<PlanMeasure>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanPeriod {
    pub label: String,
    pub as_at: NaiveDate,
}

impl PlanPeriod {
    /// The period as a return's statuses and identity name it.
    pub fn id(&self) -> PlanPeriodLabel {
        PlanPeriodLabel(self.label.clone())
    }
}

/// Declares a name of something an action plan defines: made from the plan's own definition (or read back
/// from the store), so that a period and a status cannot be taken for one another or for free text.
macro_rules! plan_name {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

plan_name! {
    /// A reporting period of an action plan, by the plan's label for it ("Q2 2020/21", "Jan 22").
    PlanPeriodLabel
}

plan_name! {
    /// A status of an action plan, by the plan's own name for it ("GREEN", "COMPLETE").
    StatusName
}

/// What a status says about a measure, whatever the plan calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Finished: nothing more is due.
    Complete,
    /// Achieved or on course.
    OnTrack,
    /// The due date has not been reached (the 2018-19 plan's WHITE).
    NotDue,
    /// At risk unless more is done (AMBER).
    AtRisk,
    /// No progress, or missed (RED).
    OffTrack,
}

impl StatusKind {
    /// The kind as the schema (and consolidation's tables) write it: "on_track".
    pub fn parse(text: &str) -> Option<StatusKind> {
        Some(match text {
            "complete" => StatusKind::Complete,
            "on_track" => StatusKind::OnTrack,
            "not_due" => StatusKind::NotDue,
            "at_risk" => StatusKind::AtRisk,
            "off_track" => StatusKind::OffTrack,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Complete => "complete",
            StatusKind::OnTrack => "on_track",
            StatusKind::NotDue => "not_due",
            StatusKind::AtRisk => "at_risk",
            StatusKind::OffTrack => "off_track",
        }
    }

    /// How bad a status is; a rise from one period to the next is a deterioration. A measure whose due
    /// date has not come ranks with one on track, so WHITE → AMBER and WHITE → RED are deteriorations.
    pub fn rank(self) -> i32 {
        match self {
            StatusKind::Complete => 0,
            StatusKind::OnTrack | StatusKind::NotDue => 1,
            StatusKind::AtRisk => 2,
            StatusKind::OffTrack => 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StatusDef {
    pub name: String,
    pub meaning: String,
    pub kind: StatusKind,
    /// "#RRGGBB"
    pub colour: String,
}

impl StatusDef {
    /// The status as a return's statuses name it.
    pub fn id(&self) -> StatusName {
        StatusName(self.name.clone())
    }

    /// The fill as a number for the workbook writer.
    pub fn rgb(&self) -> u32 {
        u32::from_str_radix(self.colour.trim_start_matches('#'), 16).unwrap_or(0xFF_FF_FF)
    }
}

/// What an update return holds besides the status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collects {
    pub current_position: bool,
    pub latest_update: bool,
    pub date_of_update: bool,
    pub complete: bool,
}

/// Column headings of the fields an owner returns.
pub const CURRENT_POSITION_HEADING: &str = "Current Position";
pub const LATEST_UPDATE_HEADING: &str = "Latest Update";
pub const DATE_OF_UPDATE_HEADING: &str = "Date of Update";
pub const COMPLETE_HEADING: &str = "Complete Yes/No";
pub const REF_HEADING: &str = "Ref";
pub const DUE_HEADING: &str = "Due Date";
pub const INITIAL_RESPONSE_HEADING: &str = "Initial Response";

#[derive(Debug, Clone)]
pub struct UpdateLayout {
    pub sheet: String,
    pub title_heading: String,
    pub owner_heading: String,
    /// One status column under this heading; `None`: one status column per reporting period.
    pub status_heading: Option<String>,
    pub collects: Collects,
}

#[derive(Debug, Clone)]
pub struct PlanSection {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct PlanMeasure {
    pub reference: String,
    pub section: String,
    pub title: String,
    pub owner: String,
    /// Departments that may update it.
    pub departments: Vec<String>,
    pub aim: String,
    pub measurement: String,
    pub due: Option<NaiveDate>,
    pub due_text: String,
    pub criteria: String,
    pub initial_response: String,
}

/// Completion as the improvement plan records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Completion {
    Yes,
    No,
    NotApplicable,
}

impl Completion {
    pub fn parse(text: &str) -> Option<Completion> {
        match normalise_label(text).as_str() {
            "yes" | "y" => Some(Completion::Yes),
            "no" | "n" => Some(Completion::No),
            "n/a" | "na" | "not applicable" => Some(Completion::NotApplicable),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Completion::Yes => "Yes",
            Completion::No => "No",
            Completion::NotApplicable => "N/A",
        }
    }
}

impl Plan {
    pub fn period(&self, label: &str) -> Option<(usize, &PlanPeriod)> {
        let wanted = normalise_label(label);
        self.periods
            .iter()
            .enumerate()
            .find(|(_, period)| normalise_label(&period.label) == wanted)
    }

    pub fn section(&self, id: &str) -> Option<&PlanSection> {
        self.sections.iter().find(|section| section.id == id)
    }

    pub fn measure(&self, section: &str, reference: &str) -> Option<&PlanMeasure> {
        self.measures
            .iter()
            .find(|m| m.section == section && m.reference == reference)
    }

    pub fn measures_of<'p>(&'p self, department: &'p str) -> impl Iterator<Item = &'p PlanMeasure> {
        self.measures
            .iter()
            .filter(move |m| m.departments.iter().any(|d| d == department))
    }

    /// How a person names a measure: its ref, with its section's title in a plan whose refs repeat
    /// across sections (the improvement plan's national 1–14 and force areas 1–4).
    pub fn measure_label(&self, section: &str, reference: &str) -> String {
        let repeated = self.measures.iter().any(|m| {
            self.measures
                .iter()
                .any(|other| other.reference == m.reference && other.section != m.section)
        });
        match self.section(section) {
            Some(section) if repeated => format!("{} {reference}", section.title),
            _ => reference.to_owned(),
        }
    }

    pub fn status(&self, name: &str) -> Option<&StatusDef> {
        self.statuses.iter().find(|status| status.name == name)
    }

    /// Reads a status as an owner typed it. Case and stray spaces are forgiven. A value combining
    /// statuses with "/" (the seed's "GREEN /COMPLETE") reads as the completion status it contains:
    /// the aim was achieved and the measure is now finished. Any other combination ("GREEN/AMBER") is
    /// ambiguous and refused.
    pub fn parse_status(&self, text: &str) -> Result<&StatusDef, String> {
        let known = |part: &str| {
            let wanted = normalise_label(part);
            self.statuses
                .iter()
                .find(|status| normalise_label(&status.name) == wanted)
        };
        let parts: Vec<&str> = text
            .split('/')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        let names = || {
            self.statuses
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut found = Vec::new();
        for part in &parts {
            match known(part) {
                Some(status) => found.push(status),
                None => {
                    return Err(format!(
                        "\"{}\" is not a status of this plan (use one of {})",
                        part,
                        names()
                    ));
                }
            }
        }
        match found.as_slice() {
            [] => Err("the status is blank".to_owned()),
            [one] => Ok(one),
            several => several
                .iter()
                .find(|status| status.kind == StatusKind::Complete)
                .copied()
                .ok_or_else(|| {
                    format!(
                        "\"{}\" gives more than one status; give one of {}",
                        text.trim(),
                        names()
                    )
                }),
        }
    }
}

fn date(file: &Path, key: &str, value: &toml::value::Datetime) -> Result<NaiveDate, FatalError> {
    let is_plain_date = value.date.is_some() && value.time.is_none() && value.offset.is_none();
    let parsed = value.date.filter(|_| is_plain_date).and_then(|d| {
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    parsed.ok_or_else(|| {
        FatalError::schema(
            file,
            key,
            format!("`{value}` is not a date such as 2018-05-31"),
        )
    })
}

fn compile_update(file: &Path, raw: RawUpdateReturn) -> Result<UpdateLayout, FatalError> {
    let mut collects = Collects::default();
    for item in &raw.collects {
        let flag = match item.as_str() {
            "current_position" => &mut collects.current_position,
            "latest_update" => &mut collects.latest_update,
            "date_of_update" => &mut collects.date_of_update,
            "complete" => &mut collects.complete,
            other => {
                return Err(FatalError::schema(
                    file,
                    "update_return.collects",
                    format!(
                        "`{other}` is not something an update returns; use current_position, \
                         latest_update, date_of_update or complete"
                    ),
                ));
            }
        };
        *flag = true;
    }
    Ok(UpdateLayout {
        sheet: raw.sheet,
        title_heading: raw.title_heading,
        owner_heading: raw.owner_heading,
        status_heading: raw.status_heading,
        collects,
    })
}

/// Checks one plan file; `load_plans` then checks it against the other plans and the dashboard sheets.
pub fn compile_plan(
    file: &Path,
    raw: RawPlan,
    departments: &[Department],
) -> Result<Plan, FatalError> {
    let header = raw.plan;
    for (index, id) in header.departments.iter().enumerate() {
        check_department(file, &format!("plan.departments[{index}]"), id, departments)?;
    }
    let sheet = plan_sheet_name(file, &header.sheet)?;
    let periods = compile_periods(file, &raw.periods)?;
    let mut statuses: Vec<StatusDef> = Vec::new();
    for (index, status) in raw.statuses.into_iter().enumerate() {
        let status = compile_status(file, index, status, &statuses)?;
        statuses.push(status);
    }
    if statuses.is_empty() {
        return Err(FatalError::schema(
            file,
            "statuses",
            "a plan needs its status vocabulary",
        ));
    }

    let mut sections: Vec<PlanSection> = Vec::new();
    for (index, section) in raw.sections.into_iter().enumerate() {
        if sections.iter().any(|known| known.id == section.id) {
            return Err(FatalError::schema(
                file,
                format!("sections[{index}] ({})", section.id),
                "the section id is used twice",
            ));
        }
        sections.push(PlanSection {
            id: section.id,
            title: section.title,
        });
    }

    let mut measures: Vec<PlanMeasure> = Vec::new();
    for (index, measure) in raw.measures.into_iter().enumerate() {
        let context = (&header, &sections[..], departments);
        let measure = compile_measure(file, index, measure, context, &measures)?;
        measures.push(measure);
    }
    Ok(Plan {
        id: header.id,
        version: header.version,
        fingerprint: String::new(),
        title: header.title,
        sheet,
        owner: header.owner.unwrap_or_default(),
        stale_update_days: header.stale_update_days,
        periods,
        statuses,
        update: compile_update(file, raw.update_return)?,
        sections,
        measures,
    })
}

fn check_department(
    file: &Path,
    key: &str,
    id: &str,
    departments: &[Department],
) -> Result<(), FatalError> {
    if departments.iter().any(|d| d.id == id) {
        return Ok(());
    }
    Err(FatalError::schema(
        file,
        key,
        format!("unknown department `{id}`"),
    ))
}

/// The plan's dashboard sheet name, as Excel allows it.
fn plan_sheet_name(file: &Path, sheet: &str) -> Result<String, FatalError> {
    let sheet = sheet.trim().to_owned();
    if sheet.is_empty()
        || sheet.chars().count() > 31
        || sheet.contains(['[', ']', ':', '*', '?', '/', '\\'])
    {
        return Err(FatalError::schema(
            file,
            "plan.sheet",
            format!(
                "`{sheet}` cannot be a sheet name: Excel allows 1 to 31 characters and none of []:*?/\\"
            ),
        ));
    }
    Ok(sheet)
}

/// The reporting periods, in date order, each once.
fn compile_periods(file: &Path, raw: &[RawPlanPeriod]) -> Result<Vec<PlanPeriod>, FatalError> {
    if raw.is_empty() {
        return Err(FatalError::schema(
            file,
            "periods",
            "a plan needs at least one reporting period",
        ));
    }
    let mut periods: Vec<PlanPeriod> = Vec::new();
    for (index, period) in raw.iter().enumerate() {
        let key = format!("periods[{index}] ({})", period.label);
        let as_at = date(file, &format!("{key}.as_at"), &period.as_at)?;
        if periods
            .iter()
            .any(|known| normalise_label(&known.label) == normalise_label(&period.label))
        {
            return Err(FatalError::schema(file, key, "the period is listed twice"));
        }
        if periods.last().is_some_and(|last| last.as_at >= as_at) {
            return Err(FatalError::schema(
                file,
                format!("{key}.as_at"),
                "periods must be listed in date order",
            ));
        }
        periods.push(PlanPeriod {
            label: period.label.trim().to_owned(),
            as_at,
        });
    }
    Ok(periods)
}

/// One status of the plan's vocabulary.
fn compile_status(
    file: &Path,
    index: usize,
    status: RawStatus,
    earlier: &[StatusDef],
) -> Result<StatusDef, FatalError> {
    let key = format!("statuses[{index}] ({})", status.name);
    let kind = StatusKind::parse(&status.kind).ok_or_else(|| {
        FatalError::schema(
            file,
            format!("{key}.kind"),
            format!(
                "`{}` is not a status kind; use complete, on_track, not_due, at_risk or off_track",
                status.kind
            ),
        )
    })?;
    let hex = status.colour.trim_start_matches('#');
    if !status.colour.starts_with('#') || hex.len() != 6 || u32::from_str_radix(hex, 16).is_err() {
        return Err(FatalError::schema(
            file,
            format!("{key}.colour"),
            format!("`{}` is not a colour such as \"#00B050\"", status.colour),
        ));
    }
    let name = status.name.trim().to_owned();
    if name.is_empty() || name.contains('/') {
        return Err(FatalError::schema(
            file,
            format!("{key}.name"),
            "a status name is needed, without \"/\" (it joins combined statuses)",
        ));
    }
    if earlier
        .iter()
        .any(|known| normalise_label(&known.name) == normalise_label(&name))
    {
        return Err(FatalError::schema(file, key, "the status is listed twice"));
    }
    Ok(StatusDef {
        name,
        meaning: status.meaning,
        kind,
        colour: status.colour.to_ascii_uppercase(),
    })
}

/// One measure: its section known, its ref unique there, the departments that may update it known.
fn compile_measure(
    file: &Path,
    index: usize,
    measure: RawPlanMeasure,
    (header, sections, departments): (&RawPlanHeader, &[PlanSection], &[Department]),
    earlier: &[PlanMeasure],
) -> Result<PlanMeasure, FatalError> {
    let key = format!("measures[{index}] ({})", measure.reference);
    if !sections.iter().any(|s| s.id == measure.section) {
        return Err(FatalError::schema(
            file,
            format!("{key}.section"),
            format!("unknown section `{}`", measure.section),
        ));
    }
    let reference = measure.reference.trim().to_owned();
    if reference.is_empty() {
        return Err(FatalError::schema(
            file,
            format!("{key}.ref"),
            "a measure needs its ref",
        ));
    }
    if earlier
        .iter()
        .any(|known| known.section == measure.section && known.reference == reference)
    {
        return Err(FatalError::schema(
            file,
            key,
            "the ref is used twice in its section",
        ));
    }
    let updaters = measure
        .departments
        .clone()
        .unwrap_or_else(|| header.departments.clone());
    if updaters.is_empty() {
        return Err(FatalError::schema(
            file,
            format!("{key}.departments"),
            "no department may update this measure; name them here or in plan.departments",
        ));
    }
    for id in &updaters {
        check_department(file, &format!("{key}.departments"), id, departments)?;
    }
    let due = measure
        .due
        .as_ref()
        .map(|due| date(file, &format!("{key}.due"), due))
        .transpose()?;
    let due_text = measure.due_text.clone().unwrap_or_else(|| {
        due.map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default()
    });
    Ok(PlanMeasure {
        reference,
        section: measure.section,
        title: measure.title,
        owner: measure
            .owner
            .or_else(|| header.owner.clone())
            .unwrap_or_default(),
        departments: updaters,
        aim: measure.aim.unwrap_or_default(),
        measurement: measure.measurement.unwrap_or_default(),
        due,
        due_text,
        criteria: measure.criteria.unwrap_or_default(),
        initial_response: measure.initial_response.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let text = r##"
[plan]
id = "p"
version = 1
title = "A plan"
sheet = "A plan"
departments = ["SD"]

[[periods]]
label = "May 18"
as_at = 2018-05-31

[[statuses]]
name = "GREEN"
meaning = "achieved"
kind = "on_track"
colour = "#00B050"

[[statuses]]
name = "AMBER"
meaning = "at risk"
kind = "at_risk"
colour = "#FFC000"

[[statuses]]
name = "COMPLETE"
meaning = "done"
kind = "complete"
colour = "#0070C0"

[[sections]]
id = "1"
title = "Commit"

[[measures]]
ref = "1.1"
section = "1"
title = "A measure"
"##;
        let raw: RawPlan = toml::from_str(text).expect("plan parses");
        let departments = [Department {
            id: "SD".into(),
            name: "Strategic Development".into(),
            aliases: vec![],
            contacts: vec![],
            sender_not_a_contact: crate::schema::Severity::Warning,
            analysis_by: "Strategic Development".into(),
        }];
        compile_plan(Path::new("p.toml"), raw, &departments).expect("plan compiles")
    }

    #[test]
    fn statuses_forgive_case_and_spaces() {
        let plan = plan();
        assert_eq!(
            plan.parse_status(" green ").map(|s| s.name.as_str()),
            Ok("GREEN")
        );
        assert_eq!(
            plan.parse_status("Amber").map(|s| s.name.as_str()),
            Ok("AMBER")
        );
    }

    #[test]
    fn a_combined_status_reads_as_its_completion() {
        let plan = plan();
        assert_eq!(
            plan.parse_status("GREEN /COMPLETE")
                .map(|s| s.name.as_str()),
            Ok("COMPLETE")
        );
        assert!(plan.parse_status("GREEN/AMBER").is_err());
    }

    #[test]
    fn a_status_outside_the_vocabulary_is_refused_with_the_vocabulary() {
        let error = plan().parse_status("BLUE").expect_err("not a status");
        assert!(error.contains("GREEN, AMBER, COMPLETE"), "{error}");
        assert!(plan().parse_status("  ").is_err());
    }

    #[test]
    fn completion_reads_yes_no_and_not_applicable() {
        assert_eq!(Completion::parse(" yes"), Some(Completion::Yes));
        assert_eq!(Completion::parse("N/A"), Some(Completion::NotApplicable));
        assert_eq!(Completion::parse("maybe"), None);
    }
}
