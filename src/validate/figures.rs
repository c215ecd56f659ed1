//! Reading a figures return: each measure's cells as figures (or blanks, or exceptions), the analysis
//! texts, the cover's fields, and sheets read that are hidden.

use calamine::Data;

use super::cells::{CellNumber, cell_text, check_number, locate_explained, read_date, read_number};
use super::checker::{Checker, Problem, not_applicable_query, too_long};
use super::rules::{apply_rules, cover_disagrees_with_sheet};
use super::{Blank, BuiltinCheck, Commentary, Figure, FigureSlot, ReturnIdentity, Validated};
use crate::excel::{figure_name, normalise_label, over_cell_limit};
use crate::period::{FinancialYear, Period};
use crate::read::{FoundCell, SourceWorkbook};
use crate::schema::{Locator, Measure, Severity, Slot, SlotKind, Template, ValueKind, ValueSource};

/// Reads and checks a figures return once it is identified: its figures, analysis and cover fields, then
/// the schema's rules over the figures.
pub(super) fn validate_figures_return(
    mut checker: Checker<'_>,
    template: &Template,
    identity: ReturnIdentity,
    workbook: &mut SourceWorkbook,
) -> Validated {
    let read = read_figures(&mut checker, template, &identity, workbook);
    let commentary = read_analysis(&mut checker, template, workbook);
    check_fields(&mut checker, template, workbook);
    flag_hidden_sheets(&mut checker, workbook, &read.sheets_used);
    // A sheet filled in for a later quarter than its cover says is one mistake, on the cover: said once,
    // instead of a total that does not add up and a query on every later figure.
    let cover_mismatch = cover_disagrees_with_sheet(template, &identity, &read.figures);
    let mismatched = cover_mismatch.is_some();
    if let Some(problem) = cover_mismatch {
        checker.raise(problem);
    }
    let mut figures = apply_rules(
        &mut checker,
        template,
        &identity,
        read.figures,
        &read.blanks,
        mismatched,
    );
    figures.extend(read.not_applicable);
    Validated::Figures {
        identity,
        figures,
        commentary,
        exceptions: checker.exceptions,
    }
}

/// What the figure cells held: figures, blanks, and the sheets they are on.
#[derive(Default)]
struct ReadFigures {
    figures: Vec<Figure>,
    /// Cells that say N/A where the schema allows it: kept beside the figures, never seen by the rules.
    not_applicable: Vec<Figure>,
    blanks: Vec<Blank>,
    sheets_used: Vec<String>,
    /// Totals saved as a formula with no calculated value, settled once every quarter has been read.
    uncalculated_totals: Vec<UncalculatedTotal>,
}

/// A Total cell holding a formula whose value was never calculated (a file saved by a program that does
/// not calculate, such as one that filled the template in).
struct UncalculatedTotal {
    /// "PSD1 Number of complaints, 2020/21 total".
    what: String,
    formula: String,
    cell: FoundCell,
}

/// A measure the template has cells for, as its figures are described to the department.
struct MeasureCells<'s> {
    indicator: &'s str,
    measure_id: &'s str,
    measure: &'s Measure,
    /// "PSD1 Number of complaints".
    label: String,
}

fn read_figures(
    checker: &mut Checker<'_>,
    template: &Template,
    identity: &ReturnIdentity,
    workbook: &mut SourceWorkbook,
) -> ReadFigures {
    let mut read = ReadFigures::default();
    for source in &template.sources {
        let (indicator, measure_id) = source.indicator_and_measure();
        let Some(measure) = checker.schemas.catalogue.measure(indicator, measure_id) else {
            continue;
        };
        let spec = MeasureCells {
            indicator,
            measure_id,
            measure,
            label: format!("{indicator} {}", measure.label),
        };
        let cells = source_cells(checker, template, identity, workbook, source, &spec);
        for (slot, figure_year, cell) in cells {
            if !read.sheets_used.contains(&cell.sheet) {
                read.sheets_used.push(cell.sheet.clone());
            }
            let at = (slot, figure_year, identity.period);
            read_figure_cell(checker, workbook, &spec, at, cell, &mut read);
        }
    }
    settle_uncalculated_totals(checker, &mut read);
    read
}

/// A total with no calculated value is no reason to send a return back: the dashboard adds up the
/// quarters itself (a total over a blank quarter shows as partial). One query says so for the return,
/// naming every such cell, rather than one per row.
fn settle_uncalculated_totals(checker: &mut Checker<'_>, read: &mut ReadFigures) {
    let totals = std::mem::take(&mut read.uncalculated_totals);
    let Some(first) = totals.first() else {
        return;
    };
    let cells: Vec<String> = totals.iter().map(|t| t.cell.address()).collect();
    let (what, value_found) = match totals.len() {
        1 => (first.what.clone(), format!("={}", first.formula)),
        n => (
            format!("{n} totals ({})", cells.join(", ")),
            format!("={} and {} more", first.formula, n - 1),
        ),
    };
    let verb = if totals.len() == 1 {
        "is a formula"
    } else {
        "are formulas"
    };
    checker.raise(Problem {
        check: BuiltinCheck::TotalNotCalculated,
        severity: Severity::Warning,
        sheet: first.cell.sheet.clone(),
        cell: first.cell.address(),
        value_found,
        message: format!(
            "{what} {verb} with no calculated value saved; the dashboard adds up the quarters itself"
        ),
        guidance: "Nothing to resend for this. Next time, let the spreadsheet recalculate (F9 in Excel) before saving.".into(),
    });
}

/// The cells a source of the template names, each with the slot and year it gives.
fn source_cells(
    checker: &mut Checker<'_>,
    template: &Template,
    identity: &ReturnIdentity,
    workbook: &mut SourceWorkbook,
    source: &ValueSource,
    spec: &MeasureCells<'_>,
) -> Vec<(FigureSlot, FinancialYear, FoundCell)> {
    let (label, measure, year) = (&spec.label, spec.measure, identity.period.year);
    match source {
        ValueSource::Cell {
            slot,
            year_offset,
            locator,
            ..
        } => match workbook.locate(locator) {
            Ok(cell) => vec![(figure_slot(*slot), year.offset(*year_offset), cell)],
            Err(missing) => {
                checker.not_found(label, missing);
                Vec::new()
            }
        },
        ValueSource::Row {
            sheet,
            within,
            row,
            year_offset,
            ..
        } => match workbook.locate_row(sheet, within.as_deref(), row, &template.columns) {
            Ok(cells) => cells
                .into_iter()
                .map(|(slot, cell)| match slot {
                    Slot::Relative(kind) => (figure_slot(kind), year.offset(*year_offset), cell),
                    Slot::Year(year) => (FigureSlot::Annual, year, cell),
                })
                .filter(|(slot, _, _)| measure.summable || *slot != FigureSlot::Total)
                .collect(),
            Err(missing) => {
                let named = named_row_cells(workbook, template, spec, *year_offset, year);
                match named.first() {
                    Some((_, _, cell)) => checker.raise(row_found_by_name(spec, row, cell)),
                    None => checker.not_found(label, missing),
                }
                named
            }
        },
    }
}

/// A row whose label is not found, read from the defined names the templates `collate` writes give each
/// figure cell: a label overtyped or changed does not lose the figures.
fn named_row_cells(
    workbook: &mut SourceWorkbook,
    template: &Template,
    spec: &MeasureCells<'_>,
    year_offset: i32,
    year: FinancialYear,
) -> Vec<(FigureSlot, FinancialYear, FoundCell)> {
    template
        .columns
        .by_heading
        .iter()
        .filter(|(_, kind)| spec.measure.summable || *kind != SlotKind::Total)
        .filter_map(|(heading, kind)| {
            let name = figure_name(spec.indicator, spec.measure_id, year_offset, heading);
            let cell = workbook.locate(&Locator::Name(name)).ok()?;
            Some((figure_slot(*kind), year.offset(year_offset), cell))
        })
        .collect()
}

/// A query: the row's label was not found, so its figures were read from the template's named cells.
fn row_found_by_name(spec: &MeasureCells<'_>, row: &str, cell: &FoundCell) -> Problem {
    Problem {
        check: BuiltinCheck::RowFoundByName,
        severity: Severity::Warning,
        sheet: cell.sheet.clone(),
        cell: cell.address(),
        value_found: String::new(),
        message: format!(
            "{}: no row labelled \"{row}\" was found; its figures were read from the template's named cells",
            spec.label
        ),
        guidance: "Keep the template's labels as they were sent; check these figures are on the right row.".into(),
    }
}

/// One figure cell: a figure, a blank, or an exception saying why it is neither.
fn read_figure_cell(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    spec: &MeasureCells<'_>,
    (slot, figure_year, period): (FigureSlot, FinancialYear, Period),
    cell: FoundCell,
    read: &mut ReadFigures,
) {
    // Said only in an exception: most figure cells raise none.
    let what = || format!("{}, {}", spec.label, slot.describe(figure_year));
    // Explaining a blank costs a further pass over the sheet: only blanks that matter are explained.
    let cell = if cell.value == Data::Empty && slot.is_due(figure_year, period) {
        workbook.explain_blank(cell)
    } else {
        cell
    };
    if let Some(formula) = cell.uncalculated_formula.clone() {
        uncalculated_formula(checker, (slot, what(), formula), cell, read);
        return;
    }
    let number = match read_number(&cell.value) {
        Ok(CellNumber::Number(number)) => number,
        Ok(CellNumber::NotApplicable) => {
            // Where the schema allows it, N/A is an answer; elsewhere a count of "n/a" reads as a gap on
            // the dashboard (none is 0).
            if spec.measure.not_applicable {
                read.not_applicable.push(Figure {
                    indicator: spec.indicator.to_owned(),
                    measure: spec.measure_id.to_owned(),
                    year: figure_year,
                    slot,
                    value: 0.0,
                    not_applicable: true,
                    sheet: cell.sheet.clone(),
                    cell: cell.address(),
                });
            } else if spec.measure.kind == ValueKind::Count {
                checker.raise(not_applicable_query(&cell, &what()));
            }
            return;
        }
        Ok(CellNumber::Blank) => {
            read.blanks.push(Blank {
                indicator: spec.indicator.to_owned(),
                measure: spec.measure_id.to_owned(),
                year: figure_year,
                slot,
                sheet: cell.sheet.clone(),
                cell: cell.address(),
            });
            return;
        }
        Err(found) => {
            checker.cell_problem(
                BuiltinCheck::FigureType,
                &cell,
                format!(
                    "{}: found {found}; expected {}",
                    what(),
                    spec.measure.kind.describe()
                ),
                "Type the figure as a plain number, or leave the cell blank if there is none.",
            );
            return;
        }
    };
    match check_number(&spec.measure.kind, spec.measure.limits, number) {
        Ok(value) => read.figures.push(Figure {
            indicator: spec.indicator.to_owned(),
            measure: spec.measure_id.to_owned(),
            year: figure_year,
            slot,
            value,
            not_applicable: false,
            sheet: cell.sheet.clone(),
            cell: cell.address(),
        }),
        Err(expected) => checker.cell_problem(
            BuiltinCheck::FigureRange,
            &cell,
            format!("{}: {expected}", what()),
            "Correct the figure; a count is a whole number of 0 or more, a percentage is from 0 to 100.",
        ),
    }
}

/// A figure cell saved as a formula with no calculated value: a total is settled once every quarter is
/// read (it is worked out from them); any other figure cannot be read, and is an error.
fn uncalculated_formula(
    checker: &mut Checker<'_>,
    (slot, what, formula): (FigureSlot, String, String),
    cell: FoundCell,
    read: &mut ReadFigures,
) {
    if slot == FigureSlot::Total {
        read.uncalculated_totals.push(UncalculatedTotal {
            formula,
            what,
            cell,
        });
        return;
    }
    checker.cell_problem(
        BuiltinCheck::FormulaNotCalculated,
        &cell,
        format!("{what} is a formula (={formula}) with no calculated value saved"),
        "Open the file in Excel, let it recalculate (F9), save it and send it again.",
    );
}

/// The analysis texts the template asks for.
fn read_analysis(
    checker: &mut Checker<'_>,
    template: &Template,
    workbook: &mut SourceWorkbook,
) -> Vec<Commentary> {
    let mut commentary = Vec::new();
    for spec in &template.analysis {
        match locate_explained(workbook, &spec.locator) {
            Ok(cell) => {
                let text = cell_text(&cell.value);
                if text.is_empty() && spec.required {
                    checker.raise(Problem {
                        check: BuiltinCheck::AnalysisMissing,
                        severity: Severity::Warning,
                        sheet: cell.sheet.clone(),
                        cell: cell.address(),
                        value_found: "(blank)".into(),
                        message: format!("{} has no analysis text", spec.indicator),
                        guidance: "Add a short analysis of this quarter's figures for the integrity board.".into(),
                    });
                }
                if let Some(length) = over_cell_limit(&text) {
                    checker.raise(too_long(
                        &cell,
                        &format!("the {} analysis", spec.indicator),
                        length,
                    ));
                }
                if !text.is_empty() {
                    commentary.push(Commentary {
                        indicator: spec.indicator.clone(),
                        text,
                        sheet: cell.sheet.clone(),
                        cell: cell.address(),
                    });
                }
            }
            Err(missing) => checker.not_found(&format!("the {} analysis", spec.indicator), missing),
        }
    }
    commentary
}

/// Figures read from a hidden sheet are a query: the department may not know what it sent.
fn flag_hidden_sheets(
    checker: &mut Checker<'_>,
    workbook: &mut SourceWorkbook,
    sheets_used: &[String],
) {
    for sheet in sheets_used {
        if workbook.sheet_is_hidden(sheet) {
            checker.raise(Problem {
                check: BuiltinCheck::HiddenSheet,
                severity: Severity::Warning,
                sheet: sheet.clone(),
                cell: String::new(),
                value_found: "hidden".into(),
                message: format!("figures were read from the hidden sheet {sheet}"),
                guidance: "Unhide the sheet and check it holds this quarter's figures.".into(),
            });
        }
    }
}

fn figure_slot(kind: SlotKind) -> FigureSlot {
    match kind {
        SlotKind::Quarter(quarter) => FigureSlot::Quarter(quarter),
        SlotKind::Total => FigureSlot::Total,
        SlotKind::Annual => FigureSlot::Annual,
    }
}

fn check_fields(checker: &mut Checker<'_>, template: &Template, workbook: &mut SourceWorkbook) {
    for field in &template.fields {
        let cell = match locate_explained(workbook, &field.locator) {
            Ok(cell) => cell,
            Err(missing) => {
                checker.not_found(&field.label, missing);
                continue;
            }
        };
        let blank = matches!(&cell.value, Data::Empty) || cell_text(&cell.value).is_empty();
        if blank {
            if field.required {
                checker.cell_problem(
                    BuiltinCheck::Required,
                    &cell,
                    format!("{} is required", field.label),
                    "Fill in every field on the cover sheet.",
                );
            }
            continue;
        }
        let problem = match &field.kind {
            ValueKind::Date => read_date(&cell.value)
                .is_none()
                .then(|| "a date (such as 30/09/2020) is expected".to_owned()),
            ValueKind::Text => None,
            ValueKind::Choice(allowed) => {
                let stated = normalise_label(&cell_text(&cell.value));
                (!allowed.iter().any(|a| normalise_label(a) == stated))
                    .then(|| format!("expected {}", field.kind.describe()))
            }
            kind => match read_number(&cell.value) {
                Ok(CellNumber::Number(number)) => check_number(kind, field.limits, number).err(),
                Ok(_) => None,
                Err(found) => Some(format!("found {found}; expected {}", kind.describe())),
            },
        };
        if let Some(problem) = problem {
            checker.cell_problem(
                BuiltinCheck::FieldType,
                &cell,
                format!("{}: {problem}", field.label),
                "Correct the cover sheet.",
            );
        }
    }
}
