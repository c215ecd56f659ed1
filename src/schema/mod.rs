//! Loads `schemas/` once at start-up and compiles it into checked types; a bad schema names file, key and reason.

mod checked;
mod plan;
mod raw;
mod template;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use checked::*;
pub use plan::*;
use raw::*;
use template::compile_template;

use crate::error::FatalError;
use crate::excel::{normalise_label, parse_a1};

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
    if let Some(imap) = mail.imap.as_mut() {
        check_imap(file, root, imap)?;
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

/// `[mail.imap]` as given, once its security, its secret and its CA file are known to be usable.
fn check_imap(file: &Path, root: &Path, imap: &mut ImapSettings) -> Result<(), FatalError> {
    let refuse = |key: &str, reason: String| Err(FatalError::schema(file, key, reason));
    if imap.password.is_some() {
        return refuse(
            "mail.imap.password",
            "a password is never written in dashboard.toml, where anyone who can read the \
             installation can read it: name an environment variable that holds it (password_env), a \
             file only the service account can read (password_file), or a command that prints an \
             OAuth 2.0 token (token_command)"
                .to_owned(),
        );
    }
    let secrets = [
        imap.password_env.is_some(),
        imap.password_file.is_some(),
        imap.token_command.is_some(),
    ];
    if secrets.iter().filter(|&&given| given).count() != 1 {
        return refuse(
            "mail.imap",
            "give exactly one of password_env, password_file and token_command".to_owned(),
        );
    }
    match imap.security.as_str() {
        "tls" | "starttls" => {}
        "none" if is_loopback(&imap.host) => {}
        "none" => {
            return refuse(
                "mail.imap.security",
                format!(
                    "`none` sends the password unencrypted, so it is allowed only to this machine \
                     (127.0.0.1), not to {}: use tls or starttls",
                    imap.host
                ),
            );
        }
        other => {
            return refuse(
                "mail.imap.security",
                format!("`{other}`: use tls, starttls or none"),
            );
        }
    }
    for (key, path) in [
        ("mail.imap.ca_file", imap.ca_file.as_mut()),
        ("mail.imap.password_file", imap.password_file.as_mut()),
    ] {
        if let Some(path) = path {
            *path = root.join(&*path);
            if !path.is_file() {
                return refuse(key, format!("{} is not a file", path.display()));
            }
        }
    }
    if imap.poll_seconds == 0 {
        return refuse(
            "mail.imap.poll_seconds",
            "0: give the seconds between looks at the mailbox".to_owned(),
        );
    }
    Ok(())
}

/// Whether `host` names this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// The first 16 hex digits of a schema file's SHA-256.
fn fingerprint(file: &Path) -> Result<String, FatalError> {
    let bytes = std::fs::read(file)
        .map_err(|error| FatalError::schema(file, "(file)", format!("cannot read: {error}")))?;
    Ok(crate::digest::sha256_prefix(&bytes, 8))
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
