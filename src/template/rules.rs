//! The schema's rules shown in the template as the department types: where a rule can be written as
//! conditional formatting (a part above its whole, a typed total that is not its quarters' sum, shares
//! that do not add up, a figure missing where another calls for it), the cells it concerns turn red (an
//! error) or amber (a query). `collate`'s own check of the return stays the authority.

use std::collections::HashMap;

use rust_xlsxwriter::{ConditionalFormatFormula, Format, Workbook, XlsxError};

use super::layout::{FigureKey, Written, absolute};
use crate::schema::{Catalogue, Check, MeasureRef, Rule, Severity, SlotKind, Template};

/// Whether a rule's check concerns this measure.
pub(super) fn involves(check: &Check, indicator: &str, measure: &str) -> bool {
    let is = |m: &MeasureRef| m.indicator == indicator && m.measure == measure;
    match check {
        Check::PartWithinWhole { part, whole } => is(part) || is(whole),
        Check::SumsTo { measures, .. } => measures.iter().any(is),
        Check::NeedsWhenPositive { when, needs } => is(when) || is(needs),
        Check::TotalMatchesQuarters | Check::NoFutureQuarters | Check::FiguresComplete => false,
    }
}

/// A rule's guidance with the measures it names filled in ({part}, {whole}, {when}, {needs}).
pub(super) fn fill_labels(guidance: &str, check: &Check, catalogue: &Catalogue) -> String {
    let label = |m: &MeasureRef| {
        catalogue
            .measure(&m.indicator, &m.measure)
            .map_or_else(|| m.to_string(), |known| known.label.clone())
    };
    let named: Vec<(&str, String)> = match check {
        Check::PartWithinWhole { part, whole } => {
            vec![("{part}", label(part)), ("{whole}", label(whole))]
        }
        Check::NeedsWhenPositive { when, needs } => {
            vec![("{when}", label(when)), ("{needs}", label(needs))]
        }
        _ => Vec::new(),
    };
    named
        .into_iter()
        .fold(guidance.to_owned(), |text, (placeholder, value)| {
            text.replace(placeholder, &value)
        })
}

/// A cell of the template, as conditional formats address it.
#[derive(Debug, Clone)]
struct Place {
    sheet: String,
    row: u32,
    col: u16,
}

impl Place {
    fn reference(&self) -> String {
        absolute(self.row, self.col)
    }
}

/// Adds the conditional formats for every rule the template's cells allow.
pub(super) fn show_rules(
    workbook: &mut Workbook,
    template: &Template,
    rules: &[Rule],
    written: &Written,
) -> Result<(), XlsxError> {
    let places: HashMap<&FigureKey, Place> = written
        .figures
        .iter()
        .map(|(key, (sheet, row, col))| {
            let place = Place {
                sheet: sheet.clone(),
                row: *row,
                col: *col,
            };
            (key, place)
        })
        .collect();
    for rule in rules {
        let format = rule_format(rule.severity);
        for (cell, formula) in rule_formulas(&rule.check, template, &places) {
            let conditional = ConditionalFormatFormula::new()
                .set_rule(formula.as_str())
                .set_format(&format);
            workbook
                .worksheet_from_name(&cell.sheet)?
                .add_conditional_format(cell.row, cell.col, cell.row, cell.col, &conditional)?;
        }
    }
    Ok(())
}

/// Highlights a prefilled figure once it differs from the one accepted: a restatement the department
/// makes on purpose is then plain to them and to the owner.
pub(super) fn show_restatements(
    workbook: &mut Workbook,
    prefilled: &[(String, String, String, f64)],
    written: &Written,
) -> Result<(), XlsxError> {
    let format = Format::new()
        .set_background_color("DDEBF7")
        .set_font_color("1F4E79")
        .set_bold();
    for (indicator, measure, heading, value) in prefilled {
        let key = (indicator.clone(), measure.clone(), 0, heading.clone());
        let Some((sheet, row, col)) = written.figures.get(&key) else {
            continue;
        };
        let cell = absolute(*row, *col);
        let conditional = ConditionalFormatFormula::new()
            .set_rule(format!("=AND(ISNUMBER({cell}),{cell}<>{value})").as_str())
            .set_format(&format);
        workbook
            .worksheet_from_name(sheet)?
            .add_conditional_format(*row, *col, *row, *col, &conditional)?;
    }
    Ok(())
}

/// Red for what `collate` rejects, amber for what it queries, as Excel's own "bad" and "neutral" styles.
fn rule_format(severity: Severity) -> Format {
    match severity {
        Severity::Error => Format::new()
            .set_background_color("FFC7CE")
            .set_font_color("9C0006"),
        Severity::Warning => Format::new()
            .set_background_color("FFEB9C")
            .set_font_color("9C5700"),
    }
}

/// Each cell a rule marks, with the formula that is true when the rule is broken there.
fn rule_formulas(
    check: &Check,
    template: &Template,
    places: &HashMap<&FigureKey, Place>,
) -> Vec<(Place, String)> {
    let columns = figure_columns(places);
    let at = |m: &MeasureRef, (offset, heading): &(i32, String)| {
        places
            .get(&(
                m.indicator.clone(),
                m.measure.clone(),
                *offset,
                heading.clone(),
            ))
            .cloned()
    };
    match check {
        Check::PartWithinWhole { part, whole } => columns
            .iter()
            .filter_map(|column| Some((at(part, column)?, at(whole, column)?)))
            .filter(|(p, w)| p.sheet == w.sheet)
            .map(|(p, w)| {
                let (p_ref, w_ref) = (p.reference(), w.reference());
                let formula = format!("=AND(ISNUMBER({p_ref}),ISNUMBER({w_ref}),{p_ref}>{w_ref})");
                (p, formula)
            })
            .collect(),
        Check::NeedsWhenPositive { when, needs } => columns
            .iter()
            .filter_map(|column| Some((at(when, column)?, at(needs, column)?)))
            .filter(|(w, n)| w.sheet == n.sheet)
            .map(|(w, n)| {
                let (w_ref, n_ref) = (w.reference(), n.reference());
                let formula = format!(
                    "=AND(ISNUMBER({w_ref}),{w_ref}>0,OR(NOT(ISNUMBER({n_ref})),{n_ref}<=0))"
                );
                (n, formula)
            })
            .collect(),
        Check::SumsTo {
            measures,
            target,
            tolerance,
        } => columns
            .iter()
            .filter_map(|column| {
                measures
                    .iter()
                    .map(|m| at(m, column))
                    .collect::<Option<Vec<_>>>()
            })
            .filter(|cells| cells.iter().all(|c| c.sheet == cells[0].sheet))
            .flat_map(|cells| {
                let refs: Vec<String> = cells.iter().map(Place::reference).collect();
                let list = refs.join(",");
                let formula = format!(
                    "=AND(COUNT({list})={},ABS(SUM({list})-{target})>{tolerance})",
                    refs.len()
                );
                cells.into_iter().map(move |cell| (cell, formula.clone()))
            })
            .collect(),
        Check::TotalMatchesQuarters => typed_totals(template, places),
        Check::NoFutureQuarters | Check::FiguresComplete => Vec::new(),
    }
}

/// Every (year offset, heading) a figure cell is under.
fn figure_columns(places: &HashMap<&FigureKey, Place>) -> Vec<(i32, String)> {
    let mut columns: Vec<(i32, String)> = places
        .keys()
        .map(|(_, _, offset, heading)| (*offset, heading.clone()))
        .collect();
    columns.sort();
    columns.dedup();
    columns
}

/// A total typed over (rather than left as the template's formula) that is not its quarters' sum.
fn typed_totals(template: &Template, places: &HashMap<&FigureKey, Place>) -> Vec<(Place, String)> {
    let heading_of = |wanted: &dyn Fn(SlotKind) -> bool| -> Vec<&String> {
        template
            .columns
            .by_heading
            .iter()
            .filter(|(_, kind)| wanted(*kind))
            .map(|(heading, _)| heading)
            .collect()
    };
    let totals = heading_of(&|kind| kind == SlotKind::Total);
    let quarters = heading_of(&|kind| matches!(kind, SlotKind::Quarter(_)));
    let mut marked = Vec::new();
    for ((indicator, measure, offset, heading), total) in places {
        if !totals.contains(&heading) {
            continue;
        }
        let quarter_refs: Vec<String> = quarters
            .iter()
            .filter_map(|q| {
                places.get(&(indicator.clone(), measure.clone(), *offset, (*q).clone()))
            })
            .filter(|q| q.sheet == total.sheet)
            .map(Place::reference)
            .collect();
        if quarter_refs.is_empty() {
            continue;
        }
        let (t, list) = (total.reference(), quarter_refs.join(","));
        let formula = format!("=AND(ISNUMBER({t}),COUNT({list})>0,ABS({t}-SUM({list}))>0.000001)");
        marked.push((total.clone(), formula));
    }
    // The map's order is not fixed; the workbook's bytes must be.
    marked.sort_by_key(|(place, _)| (place.sheet.clone(), place.row, place.col));
    marked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_involves_the_measures_it_names() {
        let check = Check::PartWithinWhole {
            part: MeasureRef {
                indicator: "PSD 1".into(),
                measure: "upheld".into(),
            },
            whole: MeasureRef {
                indicator: "PSD 1".into(),
                measure: "complaints".into(),
            },
        };
        assert!(involves(&check, "PSD 1", "upheld"));
        assert!(involves(&check, "PSD 1", "complaints"));
        assert!(!involves(&check, "PSD 2", "complaints"));
    }
}
