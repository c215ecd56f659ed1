//! Compiling a return template's schema (`schemas/templates/*.toml`): its identity cells, columns, figure
//! sources by row or by cell, analysis and fields, each locator checked; a mistake names file, key and reason.

use std::path::Path;

use super::checked::*;
use super::raw::*;
use super::{FatalError, check_measure, parse_a1};
use crate::period::Quarter;

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

pub(super) fn compile_template(
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
