//! Figures the board can trust: a return that changes a figure already accepted for an earlier quarter is a
//! query naming the cell, the old value, the new value and the return the old value came from.

use crate::support::{Installation, data_rows, edited_seed_draft, figure, sheet_rows, stderr};

/// HR's Q2 return with its Q1 police officer leavers given as `leavers`.
fn hr_return_with_q1_leavers(installation: &Installation, leavers: f64) -> Vec<u8> {
    edited_seed_draft(installation, "hr-quarterly", |hr| {
        for row in &mut hr.rows {
            if row.0 == "HR 3" && row.1 == "officer_leavers" {
                row.3[0] = Some(leavers);
            }
        }
    })
    .to_bytes()
    .expect("workbook")
}

#[test]
fn a_resent_return_that_changes_an_earlier_quarter_is_queried_with_both_values() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "HR 3", "officer_leavers", "2020/21", "Q1").as_deref(),
        Some("8")
    );

    installation.receive(
        "2020-21 Q2 HR return corrected.xlsx",
        &hr_return_with_q1_leavers(&installation, 12.0),
        0,
    );
    let output = installation.collate(&["run"]);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(log.contains("1 accepted, 0 rejected"), "{log}");
    assert!(log.contains("with 1 query"), "{log}");

    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    let restated: Vec<&Vec<String>> = warnings
        .iter()
        .filter(|row| row.iter().any(|cell| cell == "restated-figure"))
        .collect();
    assert_eq!(restated.len(), 1, "{warnings:?}");
    let row = restated[0].join(" | ");
    for expected in [
        "2020-21 Q2 HR return corrected.xlsx",
        "this return gives 12, but 8 was accepted from \"2020-21 Q2 HR return.xlsx\"",
        "QTR 1 2020/21",
    ] {
        assert!(row.contains(expected), "{expected:?} not in {row}");
    }
    // Sheet, cell and the value found, in the Warnings sheet's columns.
    assert_eq!(warnings[0][4..7], ["Sheet", "Cell", "Value found"]);
    let (sheet, cell, found) = (&restated[0][4], &restated[0][5], &restated[0][6]);
    assert_eq!((sheet.as_str(), found.as_str()), ("HR", "12"), "{row}");
    assert!(
        cell.starts_with(|c: char| c.is_ascii_uppercase())
            && cell.ends_with(|c: char| c.is_ascii_digit()),
        "the query names the cell: {row}"
    );
    // The return is accepted: the dashboard shows the restated figure, marked, with the query in its note.
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "HR 3", "officer_leavers", "2020/21", "Q1").as_deref(),
        Some("12")
    );
    let dashboard = std::fs::read(installation.dashboard()).expect("dashboard");
    let notes: Vec<String> = crate::hostile::entries(&dashboard)
        .into_iter()
        .filter(|(name, _)| name.starts_with("xl/comments"))
        .map(|(_, text)| String::from_utf8_lossy(&text).into_owned())
        .collect();
    let restated_notes: Vec<&String> = notes
        .iter()
        .filter(|text| {
            text.contains("Restated: HR 3 Police officer leavers per quarter, QTR 1 2020/21")
        })
        .collect();
    assert_eq!(restated_notes.len(), 1, "{notes:?}");
    assert!(restated_notes[0].contains("this return gives 12, but 8 was accepted from"));
    // Notes do not print: the sheet says it in words beneath the figures.
    let printed: Vec<Vec<String>> = sheet_rows(&installation.dashboard(), "HR")
        .into_iter()
        .filter(|row| row[0] == "Restated")
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(
        printed[0][1].starts_with(
            "HR 3 Police officer leavers per quarter, QTR 1 2020/21: this return gives 12, but 8 was accepted"
        ),
        "{printed:?}"
    );
    // The figure's cell, read back with openpyxl: dark blue on light blue.
    let hr = sheet_rows(&installation.dashboard(), "HR");
    let row = 1
        + (hr.iter())
            .position(|r| r[0] == "HR 3" && r[1] == "Police officer leavers per quarter")
            .expect("HR 3's row");
    let look = crate::support::cell_look(&installation.dashboard(), "HR", &format!("C{row}"));
    assert_eq!(
        (look.fill.as_str(), look.font_colour.as_str(), look.bold),
        ("DDEBF7", "1F4E78", true)
    );
    // The paper marks the same figure, and only it, in its restated colour.
    let paper = installation.outbox().join("board paper (draft).docx");
    let restated: Vec<String> = crate::support::docx_cell_shading(&paper)
        .into_iter()
        .filter(|(_, fill)| fill == "DDEBF7")
        .map(|(text, _)| text)
        .collect();
    assert_eq!(restated, ["12"]);
}

#[test]
fn a_later_quarter_that_repeats_the_earlier_figures_raises_nothing() {
    let installation = Installation::new();
    let q1 = crate::seed_returns::seed_departments()
        .into_iter()
        .find(|d| d.template == "hr-quarterly")
        .expect("HR");
    let first = crate::seed_returns::department_draft(&installation.schemas, &q1, 1)
        .to_bytes()
        .expect("workbook");
    installation.receive("HR Q1.xlsx", &first, 0);
    assert_eq!(installation.run(), 0);
    installation.receive(
        "HR Q2.xlsx",
        &hr_return_with_q1_leavers(&installation, 8.0),
        10,
    );
    let output = installation.collate(&["run"]);
    assert!(
        stderr(&output).contains("with 0 queries"),
        "{}",
        stderr(&output)
    );
}
