//! Loads `schemas/` once at start-up and compiles it into checked types; a bad schema names file, key and reason.

mod checked;
mod plan;
mod raw;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use checked::*;
pub use plan::*;
use raw::*;

use crate::error::FatalError;
use crate::excel::{normalise_label, parse_a1};
use crate::period::Quarter;

/// Reads and checks every schema file under `dir`.
pub fn load(dir: &Path) -> Result<Schemas, FatalError> {
    if !dir.is_dir() {
        return Err(FatalError::folder(
            dir,
            "the schemas folder does not exist: is this an installation folder? \
             `collate init` sets one up",
        ));
    }
    let dashboard_file = dir.join("dashboard.toml");
    let raw_dashboard: RawDashboard = parse_file(&dashboard_file)?;
    let departments_file = dir.join("departments.toml");
    let raw_departments: RawDepartments = parse_file(&departments_file)?;
    let catalogue_file = dir.join("indicators.toml");
    let raw_catalogue: RawCatalogue = parse_file(&catalogue_file)?;
    let rules_file = dir.join("rules.toml");
    let raw_rules: RawRules = parse_file(&rules_file)?;

    let departments = compile_departments(&departments_file, raw_departments)?;
    let catalogue = compile_catalogue(&catalogue_file, raw_catalogue, &departments)?;
    let rules = compile_rules(&rules_file, raw_rules, &catalogue)?;

    let mut templates = Vec::new();
    for file in toml_files(&dir.join("templates"), "return templates")? {
        let raw: RawTemplate = parse_file(&file)?;
        let mut template = compile_template(&file, raw, &departments, &catalogue)?;
        template.fingerprint = fingerprint(&file)?;
        if templates
            .iter()
            .any(|existing: &Template| existing.id == template.id)
        {
            return Err(FatalError::schema(
                &file,
                "template.id",
                format!(
                    "template id `{}` is used by another template file",
                    template.id
                ),
            ));
        }
        templates.push(template);
    }
    if templates.is_empty() {
        return Err(FatalError::folder(
            &dir.join("templates"),
            "no return templates (*.toml) found",
        ));
    }

    let plans = load_plans(&dir.join("plans"), &departments, &catalogue, &templates)?;

    Ok(Schemas {
        dashboard: DashboardSettings {
            force: raw_dashboard.force,
            title: raw_dashboard.title,
            far_above_ratio: raw_dashboard.flags.far_above_ratio,
            far_above_min_excess: raw_dashboard.flags.far_above_min_excess,
            returns_due_days: raw_dashboard.returns_due_days,
            limits: check_limits(&dashboard_file, raw_dashboard.limits)?,
            templates: raw_dashboard.templates,
            mail: check_mail(&dashboard_file, raw_dashboard.mail)?,
            indicators_not_collected: raw_dashboard.indicators_not_collected,
            board_paper: raw_dashboard.board_paper,
        },
        departments,
        catalogue,
        templates,
        rules,
        plans,
    })
}

/// The very hidden sheet of every template `collate` writes: which template it is (row 1), its version
/// (row 2) and its schema's fingerprint (row 3), labels in column A and values in column B, so that a
/// return is identified even if its cover is damaged.
pub const IDENTITY_SHEET: &str = "collate";

/// The sheets `collate` writes into the dashboard itself, which no indicator group's or plan's sheet may
/// take (Excel compares sheet names without regard to case).
pub const DASHBOARD_SHEETS: [&str; 6] = [
    "Summary",
    "Charts",
    "Data Owners and Sources",
    "Returns",
    "Data",
    "PlanStatus",
];

/// The dashboard's own sheet, or the earlier group's, that `title` would collide with.
fn sheet_taken<'t>(title: &str, taken: impl IntoIterator<Item = &'t str>) -> Option<&'t str> {
    let wanted = normalise_label(title);
    taken
        .into_iter()
        .find(|sheet| normalise_label(sheet) == wanted)
}

/// Reads `schemas/plans/*.toml`, if the folder exists: an installation need not track any plan.
fn load_plans(
    dir: &Path,
    departments: &[Department],
    catalogue: &Catalogue,
    templates: &[Template],
) -> Result<Vec<Plan>, FatalError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut taken: Vec<String> = DASHBOARD_SHEETS.iter().map(|s| s.to_string()).collect();
    taken.extend(catalogue.groups.iter().map(|g| g.title.clone()));
    let mut plans: Vec<Plan> = Vec::new();
    for file in toml_files(dir, "plans")? {
        let raw: RawPlan = parse_file(&file)?;
        let mut plan = compile_plan(&file, raw, departments)?;
        plan.fingerprint = fingerprint(&file)?;
        let id = normalise_label(&plan.id);
        if plans.iter().any(|p| normalise_label(&p.id) == id)
            || templates.iter().any(|t| normalise_label(&t.id) == id)
        {
            return Err(FatalError::schema(
                &file,
                "plan.id",
                format!(
                    "`{}` is already the id of another plan or template",
                    plan.id
                ),
            ));
        }
        if let Some(sheet) = sheet_taken(&plan.sheet, taken.iter().map(String::as_str)) {
            return Err(FatalError::schema(
                &file,
                "plan.sheet",
                format!(
                    "the dashboard already has a sheet named `{sheet}`: give the plan's sheet another name"
                ),
            ));
        }
        taken.push(plan.sheet.clone());
        plans.push(plan);
    }
    Ok(plans)
}

fn toml_files(dir: &Path, what: &str) -> Result<Vec<PathBuf>, FatalError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| FatalError::folder_failed(dir, format!("cannot list {what}"), error))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// `[mail]` as given, once its security and its sender are known to be usable.
fn check_mail(file: &Path, mut mail: MailSettings) -> Result<MailSettings, FatalError> {
    // A CA file named relative to the installation folder (the one schemas/ is in).
    let root = file
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    if let Some(ca_file) = mail.smtp.as_mut().and_then(|smtp| smtp.ca_file.as_mut()) {
        *ca_file = root.join(&*ca_file);
        if !ca_file.is_file() {
            return Err(FatalError::schema(
                file,
                "mail.smtp.ca_file",
                format!("{} is not a file", ca_file.display()),
            ));
        }
    }
    if let Some(smtp) = &mail.smtp {
        if !["starttls", "tls", "none"].contains(&smtp.security.as_str()) {
            return Err(FatalError::schema(
                file,
                "mail.smtp.security",
                format!("`{}`: use starttls, tls or none", smtp.security),
            ));
        }
        if mail.from.as_deref().is_none_or(|from| !from.contains('@')) {
            return Err(FatalError::schema(
                file,
                "mail.from",
                "the address the drafts are sent from is needed with [mail.smtp]",
            ));
        }
    }
    Ok(mail)
}

/// The first 16 hex digits of a schema file's SHA-256.
fn fingerprint(file: &Path) -> Result<String, FatalError> {
    use sha2::Digest;
    let bytes = std::fs::read(file)
        .map_err(|error| FatalError::schema(file, "(file)", format!("cannot read: {error}")))?;
    let digest = sha2::Sha256::digest(&bytes);
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn parse_file<T: serde::de::DeserializeOwned>(file: &Path) -> Result<T, FatalError> {
    let text = std::fs::read_to_string(file)
        .map_err(|error| FatalError::schema(file, "(file)", format!("cannot read: {error}")))?;
    toml::from_str(&text).map_err(|error| {
        let position = error
            .span()
            .map(|span| {
                let line = text[..span.start].matches('\n').count() + 1;
                format!("line {line}")
            })
            .unwrap_or_else(|| "(file)".to_owned());
        FatalError::schema(file, position, error.message().trim().to_owned())
    })
}

fn compile_departments(file: &Path, raw: RawDepartments) -> Result<Vec<Department>, FatalError> {
    let mut seen = HashSet::new();
    let mut departments = Vec::new();
    for (index, department) in raw.departments.into_iter().enumerate() {
        if !seen.insert(department.id.clone()) {
            return Err(FatalError::schema(
                file,
                format!("departments[{index}].id"),
                format!("department `{}` is declared twice", department.id),
            ));
        }
        let key = format!("departments[{index}]");
        let sender_not_a_contact = match department.sender_not_a_contact.as_deref() {
            None => Severity::Warning,
            Some(text) => parse_severity(file, &format!("{key}.sender_not_a_contact"), text)?,
        };
        if let Some(bad) = department.contacts.iter().find(|c| !c.contains('@')) {
            return Err(FatalError::schema(
                file,
                format!("{key}.contacts"),
                format!(
                    "`{bad}` is neither an address (name@example.uk) nor a domain (@example.uk)"
                ),
            ));
        }
        departments.push(Department {
            analysis_by: (department.analysis_by)
                .filter(|by| !by.trim().is_empty())
                .unwrap_or_else(|| department.name.clone()),
            id: department.id,
            name: department.name,
            aliases: department.aliases,
            contacts: department.contacts,
            sender_not_a_contact,
        });
    }
    Ok(departments)
}

fn compile_catalogue(
    file: &Path,
    raw: RawCatalogue,
    departments: &[Department],
) -> Result<Catalogue, FatalError> {
    let mut groups: Vec<Group> = Vec::new();
    for (index, group) in raw.groups.into_iter().enumerate() {
        let taken = DASHBOARD_SHEETS
            .into_iter()
            .chain(groups.iter().map(|g| g.title.as_str()));
        if let Some(sheet) = sheet_taken(&group.title, taken) {
            return Err(FatalError::schema(
                file,
                format!("groups[{index}] ({}).title", group.id),
                format!(
                    "the dashboard already has a sheet named `{sheet}`: give the group another title"
                ),
            ));
        }
        groups.push(Group {
            id: group.id,
            title: group.title,
        });
    }
    let mut indicators: Vec<Indicator> = Vec::new();
    for (index, indicator) in raw.indicators.into_iter().enumerate() {
        let key = format!("indicators[{index}] ({})", indicator.code);
        if indicators.iter().any(|known| known.code == indicator.code) {
            return Err(FatalError::schema(
                file,
                key,
                "indicator code is declared twice",
            ));
        }
        if !groups.iter().any(|group| group.id == indicator.group) {
            return Err(FatalError::schema(
                file,
                format!("{key}.group"),
                format!("unknown group `{}`", indicator.group),
            ));
        }
        if !departments.iter().any(|d| d.id == indicator.owner) {
            return Err(FatalError::schema(
                file,
                format!("{key}.owner"),
                format!("unknown department `{}`", indicator.owner),
            ));
        }
        let mut measures: Vec<Measure> = Vec::new();
        for (measure_index, measure) in indicator.measures.into_iter().enumerate() {
            let at = (key.as_str(), indicator.code.as_str(), measure_index);
            let measure = compile_measure(file, at, measure, &measures)?;
            measures.push(measure);
        }
        indicators.push(Indicator {
            code: indicator.code,
            group: indicator.group,
            title: indicator.title,
            owner: indicator.owner,
            source: indicator.source,
            rationale: indicator.rationale,
            chart: indicator.chart,
            measures,
        });
    }
    Ok(Catalogue { groups, indicators })
}

/// One measure of an indicator: its id new in the indicator, its type and frequency known, its parts
/// declared above it.
fn compile_measure(
    file: &Path,
    (key, code, index): (&str, &str, usize),
    measure: RawMeasure,
    earlier: &[Measure],
) -> Result<Measure, FatalError> {
    let measure_key = format!("{key}.measures[{index}] ({})", measure.id);
    if earlier.iter().any(|known| known.id == measure.id) {
        return Err(FatalError::schema(
            file,
            measure_key,
            "measure id is declared twice",
        ));
    }
    let kind = match measure.kind.as_str() {
        "count" => ValueKind::Count,
        "percentage" => ValueKind::Percentage,
        "number" => ValueKind::Number,
        other => {
            return Err(FatalError::schema(
                file,
                format!("{measure_key}.type"),
                format!("`{other}` is not a figure type; use count, percentage or number"),
            ));
        }
    };
    let frequency = match measure.frequency.as_str() {
        "quarterly" => Frequency::Quarterly,
        "annual" => Frequency::Annual,
        other => {
            return Err(FatalError::schema(
                file,
                format!("{measure_key}.frequency"),
                format!("`{other}` is not a frequency; use quarterly or annual"),
            ));
        }
    };
    if let Some(parts) = &measure.sum_of {
        for part in parts {
            if !earlier.iter().any(|known| &known.id == part) {
                return Err(FatalError::schema(
                    file,
                    format!("{measure_key}.sum_of"),
                    format!("`{part}` is not a measure declared above it in {}", code),
                ));
            }
        }
    }
    // Counts add up over a year; shares and rates do not.
    let summable = measure
        .summable
        .unwrap_or(kind == ValueKind::Count && frequency == Frequency::Quarterly);
    Ok(Measure {
        id: measure.id,
        label: measure.label,
        kind,
        frequency,
        summable,
        integrity: measure.integrity,
        limits: Limits {
            minimum: measure.minimum,
            maximum: measure.maximum,
        },
        sum_of: measure.sum_of,
        not_applicable: measure.not_applicable,
    })
}

fn measure_ref(
    file: &Path,
    key: &str,
    text: Option<&String>,
    catalogue: &Catalogue,
) -> Result<MeasureRef, FatalError> {
    let text =
        text.ok_or_else(|| FatalError::schema(file, key, "missing; write it as \"CODE/measure\""))?;
    let (indicator, measure) = text.split_once('/').ok_or_else(|| {
        FatalError::schema(
            file,
            key,
            format!("`{text}` must be written as \"CODE/measure\""),
        )
    })?;
    let (indicator, measure) = (indicator.trim(), measure.trim());
    check_measure(file, key, indicator, measure, catalogue)?;
    Ok(MeasureRef {
        indicator: indicator.to_owned(),
        measure: measure.to_owned(),
    })
}

fn check_measure(
    file: &Path,
    key: &str,
    indicator: &str,
    measure: &str,
    catalogue: &Catalogue,
) -> Result<(), FatalError> {
    let Some(known) = catalogue.indicator(indicator) else {
        return Err(FatalError::schema(
            file,
            key,
            format!("unknown indicator `{indicator}`"),
        ));
    };
    if !known.measures.iter().any(|m| m.id == measure) {
        let names: Vec<&str> = known.measures.iter().map(|m| m.id.as_str()).collect();
        return Err(FatalError::schema(
            file,
            key,
            format!(
                "indicator {indicator} has no measure `{measure}` (it has: {})",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

fn compile_rules(
    file: &Path,
    raw: RawRules,
    catalogue: &Catalogue,
) -> Result<Vec<Rule>, FatalError> {
    let mut rules: Vec<Rule> = Vec::new();
    for (index, rule) in raw.rules.into_iter().enumerate() {
        let key = format!("rules[{index}] ({})", rule.id);
        if rules.iter().any(|known| known.id == rule.id) {
            return Err(FatalError::schema(file, key, "rule id is used twice"));
        }
        let severity = parse_severity(file, &format!("{key}.severity"), &rule.severity)?;
        let check = compile_check(file, &key, &rule, catalogue)?;
        rules.push(Rule {
            id: rule.id,
            severity,
            message: rule.message,
            guidance: rule.guidance,
            check,
        });
    }
    Ok(rules)
}

/// A rule's check, from its kind and the keys that kind needs.
fn compile_check(
    file: &Path,
    key: &str,
    rule: &RawRule,
    catalogue: &Catalogue,
) -> Result<Check, FatalError> {
    Ok(match rule.kind.as_str() {
        "part_within_whole" => Check::PartWithinWhole {
            part: measure_ref(file, &format!("{key}.part"), rule.part.as_ref(), catalogue)?,
            whole: measure_ref(
                file,
                &format!("{key}.whole"),
                rule.whole.as_ref(),
                catalogue,
            )?,
        },
        "total_matches_quarters" => Check::TotalMatchesQuarters,
        "sums_to" => {
            let listed = rule.measures.as_ref().ok_or_else(|| {
                FatalError::schema(
                    file,
                    format!("{key}.measures"),
                    "missing: list the measures that add up",
                )
            })?;
            let measures = listed
                .iter()
                .map(|text| measure_ref(file, &format!("{key}.measures"), Some(text), catalogue))
                .collect::<Result<Vec<_>, _>>()?;
            Check::SumsTo {
                measures,
                target: rule.target.ok_or_else(|| {
                    FatalError::schema(file, format!("{key}.target"), "missing: the sum expected")
                })?,
                tolerance: rule.tolerance.unwrap_or(0.0),
            }
        }
        "needs_when_positive" => Check::NeedsWhenPositive {
            when: measure_ref(file, &format!("{key}.when"), rule.when.as_ref(), catalogue)?,
            needs: measure_ref(
                file,
                &format!("{key}.needs"),
                rule.needs.as_ref(),
                catalogue,
            )?,
        },
        "no_future_quarters" => Check::NoFutureQuarters,
        "figures_complete" => Check::FiguresComplete,
        other => {
            return Err(FatalError::schema(
                file,
                format!("{key}.kind"),
                format!(
                    "unknown rule kind `{other}`; use part_within_whole, total_matches_quarters, \
                     sums_to, needs_when_positive, no_future_quarters or figures_complete"
                ),
            ));
        }
    })
}

fn parse_severity(file: &Path, key: &str, text: &str) -> Result<Severity, FatalError> {
    match text {
        "error" => Ok(Severity::Error),
        "warning" => Ok(Severity::Warning),
        other => Err(FatalError::schema(
            file,
            key,
            format!("`{other}` is not a severity; use error or warning"),
        )),
    }
}

fn compile_locator(file: &Path, key: &str, raw: &RawLocator) -> Result<Locator, FatalError> {
    let forms = [raw.cell.is_some(), raw.name.is_some(), raw.row.is_some()];
    if forms.iter().filter(|given| **given).count() != 1 {
        return Err(FatalError::schema(
            file,
            key,
            "give exactly one of `cell` (with `sheet`), `name`, or `row` and `column` (with `sheet`)",
        ));
    }
    if let Some(name) = &raw.name {
        if raw.sheet.is_some() || raw.column.is_some() || raw.within.is_some() {
            return Err(FatalError::schema(
                file,
                key,
                "a defined `name` takes no sheet, column or within",
            ));
        }
        return Ok(Locator::Name(name.clone()));
    }
    let sheet = raw.sheet.clone().ok_or_else(|| {
        FatalError::schema(
            file,
            format!("{key}.sheet"),
            "missing: the sheet to look in",
        )
    })?;
    if let Some(cell) = &raw.cell {
        let (row, col) = parse_a1(cell).ok_or_else(|| {
            FatalError::schema(
                file,
                format!("{key}.cell"),
                format!("`{cell}` is not an A1 cell address"),
            )
        })?;
        return Ok(Locator::Cell { sheet, row, col });
    }
    let column = raw.column.clone().ok_or_else(|| {
        FatalError::schema(
            file,
            format!("{key}.column"),
            "missing: the heading of the column to read",
        )
    })?;
    Ok(Locator::Label {
        sheet,
        within: raw.within.clone(),
        row: raw.row.clone().unwrap_or_default(),
        column,
    })
}

fn parse_slot_kind(text: &str) -> Option<SlotKind> {
    match text.trim().to_ascii_lowercase().as_str() {
        "total" => Some(SlotKind::Total),
        "annual" => Some(SlotKind::Annual),
        other => Quarter::parse(other).map(SlotKind::Quarter),
    }
}

fn parse_value_kind(text: &str, allowed: &[String]) -> Option<ValueKind> {
    Some(match text {
        "count" => ValueKind::Count,
        "percentage" => ValueKind::Percentage,
        "number" => ValueKind::Number,
        "date" => ValueKind::Date,
        "text" => ValueKind::Text,
        "enum" => ValueKind::Choice(allowed.to_vec()),
        _ => return None,
    })
}

fn compile_template(
    file: &Path,
    raw: RawTemplate,
    departments: &[Department],
    catalogue: &Catalogue,
) -> Result<Template, FatalError> {
    let header = raw.template;
    if !departments.iter().any(|d| d.id == header.department) {
        return Err(FatalError::schema(
            file,
            "template.department",
            format!("unknown department `{}`", header.department),
        ));
    }
    let kind = template_kind(file, &header.kind)?;
    let identity = compile_identity(file, &raw.identity, kind)?;
    let columns = compile_columns(file, &raw.columns, raw.year_columns)?;
    let mut sources = row_sources(file, raw.rows, &columns, catalogue)?;
    sources.extend(cell_sources(file, raw.values, catalogue)?);
    Ok(Template {
        id: header.id,
        version: header.version,
        fingerprint: String::new(),
        department: header.department,
        kind,
        title: header.title,
        identity,
        columns,
        sources,
        analysis: compile_analysis(file, raw.analysis, catalogue)?,
        fields: compile_fields(file, raw.fields)?,
    })
}

fn template_kind(file: &Path, kind: &str) -> Result<TemplateKind, FatalError> {
    Ok(match kind {
        "quarterly" => TemplateKind::Quarterly,
        "historical" => TemplateKind::Historical,
        other => {
            return Err(FatalError::schema(
                file,
                "template.kind",
                format!("`{other}` is not a template kind; use quarterly or historical"),
            ));
        }
    })
}

/// Where the return states which template, version, department and period it is.
fn compile_identity(
    file: &Path,
    raw: &RawIdentity,
    kind: TemplateKind,
) -> Result<Identity, FatalError> {
    let identity = Identity {
        template: compile_locator(file, "identity.template", &raw.template)?,
        version: raw
            .version
            .as_ref()
            .map(|locator| compile_locator(file, "identity.version", locator))
            .transpose()?,
        department: compile_locator(file, "identity.department", &raw.department)?,
        financial_year: compile_locator(file, "identity.financial_year", &raw.financial_year)?,
        quarter: raw
            .quarter
            .as_ref()
            .map(|locator| compile_locator(file, "identity.quarter", locator))
            .transpose()?,
    };
    if kind == TemplateKind::Quarterly && identity.quarter.is_none() {
        return Err(FatalError::schema(
            file,
            "identity.quarter",
            "a quarterly template must say where the return states its quarter",
        ));
    }
    Ok(identity)
}

/// What each column heading of a figures table holds.
fn compile_columns(
    file: &Path,
    raw: &std::collections::BTreeMap<String, String>,
    year_headings: bool,
) -> Result<Columns, FatalError> {
    let mut by_heading = Vec::new();
    for (heading, slot) in raw {
        let slot_kind = parse_slot_kind(slot).ok_or_else(|| {
            FatalError::schema(
                file,
                format!("columns.\"{heading}\""),
                format!("`{slot}` is not Q1–Q4, total or annual"),
            )
        })?;
        by_heading.push((heading.clone(), slot_kind));
    }
    Ok(Columns::new(by_heading, year_headings))
}

/// Figures found by their row label in a table.
fn row_sources(
    file: &Path,
    rows: Vec<RawRow>,
    columns: &Columns,
    catalogue: &Catalogue,
) -> Result<Vec<ValueSource>, FatalError> {
    let mut sources = Vec::new();
    for (index, row) in rows.into_iter().enumerate() {
        let key = format!("rows[{index}]");
        check_measure(
            file,
            &format!("{key}.measure"),
            &row.indicator,
            &row.measure,
            catalogue,
        )?;
        if columns.by_heading.is_empty() && !columns.year_headings {
            return Err(FatalError::schema(
                file,
                key,
                "figure rows need [columns] (or year_columns = true) to say what each column holds",
            ));
        }
        sources.push(ValueSource::Row {
            indicator: row.indicator,
            measure: row.measure,
            sheet: row.sheet,
            within: row.within,
            row: row.row,
            year_offset: row.year_offset,
        });
    }
    Ok(sources)
}

/// Figures found in a cell of their own.
fn cell_sources(
    file: &Path,
    values: Vec<RawValue>,
    catalogue: &Catalogue,
) -> Result<Vec<ValueSource>, FatalError> {
    let mut sources = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        let key = format!("values[{index}]");
        check_measure(
            file,
            &format!("{key}.measure"),
            &value.indicator,
            &value.measure,
            catalogue,
        )?;
        let slot_text = value.slot.as_deref().unwrap_or("annual");
        let slot = parse_slot_kind(slot_text).ok_or_else(|| {
            FatalError::schema(
                file,
                format!("{key}.slot"),
                format!("`{slot_text}` is not Q1–Q4, total or annual"),
            )
        })?;
        sources.push(ValueSource::Cell {
            indicator: value.indicator,
            measure: value.measure,
            slot,
            year_offset: value.year_offset,
            locator: compile_locator(file, &format!("{key}.at"), &value.at)?,
        });
    }
    Ok(sources)
}

/// The analysis texts the template carries, each for a known indicator.
fn compile_analysis(
    file: &Path,
    raw: Vec<RawAnalysis>,
    catalogue: &Catalogue,
) -> Result<Vec<AnalysisSpec>, FatalError> {
    let mut analysis = Vec::new();
    for (index, spec) in raw.into_iter().enumerate() {
        let key = format!("analysis[{index}]");
        if catalogue.indicator(&spec.indicator).is_none() {
            return Err(FatalError::schema(
                file,
                format!("{key}.indicator"),
                format!("unknown indicator `{}`", spec.indicator),
            ));
        }
        analysis.push(AnalysisSpec {
            indicator: spec.indicator,
            locator: compile_locator(file, &format!("{key}.at"), &spec.at)?,
            required: spec.required,
        });
    }
    Ok(analysis)
}

/// The cover's fields and what each may hold.
fn compile_fields(file: &Path, raw: Vec<RawField>) -> Result<Vec<FieldSpec>, FatalError> {
    let mut fields = Vec::new();
    for (index, field) in raw.into_iter().enumerate() {
        let key = format!("fields[{index}] ({})", field.id);
        let kind = parse_value_kind(&field.kind, &field.allowed).ok_or_else(|| {
            FatalError::schema(
                file,
                format!("{key}.type"),
                format!(
                    "`{}` is not a type; use count, percentage, number, date, text or enum",
                    field.kind
                ),
            )
        })?;
        if matches!(&kind, ValueKind::Choice(allowed) if allowed.is_empty()) {
            return Err(FatalError::schema(
                file,
                format!("{key}.allowed"),
                "an enum field needs its allowed values",
            ));
        }
        fields.push(FieldSpec {
            id: field.id,
            label: field.label,
            kind,
            required: field.required,
            limits: Limits {
                minimum: field.minimum,
                maximum: field.maximum,
            },
            locator: compile_locator(file, &format!("{key}.at"), &field.at)?,
        });
    }
    Ok(fields)
}

/// Every limit must allow something; the worker's memory must leave room for the program itself.
fn check_limits(file: &Path, limits: ReadLimits) -> Result<ReadLimits, FatalError> {
    let counts = [
        ("file_mb", limits.file_mb),
        ("uncompressed_mb", limits.uncompressed_mb),
        ("compression_ratio", limits.compression_ratio),
        ("parts", limits.parts as u64),
        ("sheets", limits.sheets as u64),
        ("cells", limits.cells),
        ("nesting", limits.nesting as u64),
        ("cpu_seconds", limits.cpu_seconds),
        ("read_seconds", limits.read_seconds),
    ];
    for (key, value) in counts {
        if value == 0 {
            return Err(FatalError::schema(
                file,
                format!("limits.{key}"),
                "must be more than 0",
            ));
        }
    }
    if limits.memory_mb < 128 {
        return Err(FatalError::schema(
            file,
            "limits.memory_mb",
            "must be at least 128 (the reader itself needs that much)",
        ));
    }
    Ok(limits)
}
