//! Every kind of bad file is rejected with a one-line reason, the original is kept unchanged, and the run
//! goes on.

use crate::consistency::psd_q2;
use crate::support::{Installation, data_rows, figure, repo, seed_draft, sha256, stdout};

/// `collate check --json` on one file: (accepted, [(rule_id, sheet, cell, message)]).
fn check(
    installation: &Installation,
    path: &std::path::Path,
) -> (bool, Vec<(String, String, String, String)>) {
    let output = installation.collate(&["check", "--json", &path.to_string_lossy()]);
    let reports: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("check prints JSON");
    let report = &reports[0];
    let exceptions = report["exceptions"]
        .as_array()
        .expect("exceptions")
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
            (
                field("rule_id"),
                field("sheet"),
                field("cell"),
                field("message"),
            )
        })
        .collect();
    let accepted = report["accepted"].as_bool().expect("accepted");
    assert_eq!(
        output.status.code(),
        Some(if accepted { 0 } else { 1 }),
        "check's exit code"
    );
    (accepted, exceptions)
}

/// Saves `bytes` as `name`, checks it is rejected under `rule` with a message containing `says`, and that
/// the file is left exactly as it arrived.
fn assert_rejected(
    name: &str,
    bytes: &[u8],
    rule: &str,
    says: &str,
) -> Vec<(String, String, String, String)> {
    let installation = Installation::new();
    let path = installation.receive(name, bytes, 0);
    let before = sha256(&path);
    let (accepted, exceptions) = check(&installation, &path);
    assert!(!accepted, "{name} should be rejected");
    let found = exceptions.iter().find(|(id, ..)| id == rule);
    let Some((_, _, _, message)) = found else {
        panic!("{name}: no {rule} exception in {exceptions:?}");
    };
    assert!(
        message.contains(says),
        "{name}: \"{message}\" should say \"{says}\""
    );
    assert!(!message.contains('\n'), "one line: {message}");
    assert_eq!(sha256(&path), before, "{name} was modified");
    exceptions
}

#[test]
fn an_empty_file_is_rejected() {
    assert_rejected("empty.xlsx", b"", "unreadable-workbook", "empty");
}

#[test]
fn a_truncated_workbook_is_rejected() {
    let installation = Installation::new();
    let bytes = psd_q2(&installation, |_| {});
    assert_rejected(
        "truncated.xlsx",
        &bytes[..bytes.len() / 2],
        "unreadable-workbook",
        "damaged or incomplete",
    );
}

#[test]
fn a_corrupt_workbook_is_rejected() {
    let installation = Installation::new();
    let mut bytes = psd_q2(&installation, |_| {});
    // Keep the zip signature, scramble the rest.
    for (i, byte) in bytes.iter_mut().enumerate().skip(40) {
        *byte = byte.wrapping_mul(31).wrapping_add(i as u8);
    }
    assert_rejected(
        "corrupt.xlsx",
        &bytes,
        "unreadable-workbook",
        "damaged or incomplete",
    );
    let binary: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_rejected(
        "binary.xlsx",
        &binary,
        "unreadable-workbook",
        "not a spreadsheet",
    );
}

#[test]
fn a_csv_renamed_to_xlsx_is_rejected() {
    assert_rejected(
        "psd.xlsx",
        b"indicator,measure,QTR 1,QTR 2\nPSD 1,complaints,39,24\n",
        "unreadable-workbook",
        "CSV",
    );
}

#[test]
fn a_password_protected_workbook_is_rejected() {
    let bytes = std::fs::read(repo().join("tests/fixtures/password_protected_return.xlsx"))
        .expect("fixture");
    assert_rejected(
        "psd.xlsx",
        &bytes,
        "unreadable-workbook",
        "password-protected",
    );
}

#[test]
fn a_file_that_is_not_a_spreadsheet_return_is_rejected() {
    assert_rejected(
        "minutes.pdf",
        b"%PDF-1.4 minutes",
        "unsupported-file",
        "not a spreadsheet return",
    );
}

/// Removes the cached results of every formula, as a file saved by a tool that never calculates does.
fn strip_formula_results(bytes: &[u8]) -> Vec<u8> {
    rewrite_sheets(bytes, |text| {
        while let Some(start) = text.find("</f><v>") {
            let end = text[start..].find("</v>").expect("end of value") + start + 4;
            text.replace_range(start + 4..end, "");
        }
    })
}

/// The workbook with each worksheet's XML edited by `edit`.
fn rewrite_sheets(bytes: &[u8], edit: impl Fn(&mut String)) -> Vec<u8> {
    crate::support::rewrite_xlsx_parts(bytes, |name, text| {
        if name.starts_with("xl/worksheets/") {
            edit(text);
        }
    })
}

#[test]
fn a_total_saved_with_no_calculated_value_is_worked_out_from_its_quarters_and_queried() {
    // As a program that fills templates in without calculating (openpyxl) saves them.
    let installation = Installation::new();
    let bytes = strip_formula_results(&psd_q2(&installation, |_| {}));
    let path = installation.receive("psd.xlsx", &bytes, 0);
    let (accepted, exceptions) = check(&installation, &path);
    assert!(accepted, "every quarter is there: {exceptions:?}");
    assert!(
        !exceptions
            .iter()
            .any(|(id, ..)| id == "formula-not-calculated"),
        "{exceptions:?}"
    );
    let (_, sheet, cell, message) = exceptions
        .iter()
        .find(|(id, ..)| id == "total-not-calculated")
        .expect("a query on the total");
    assert_eq!((sheet.as_str(), cell.as_str()), ("PSD", "G3"));
    assert_eq!(installation.run(), 0);
    let rows = data_rows(&installation.dashboard());
    let value = |quarter: &str| -> f64 {
        figure(&rows, "PSD 1", "complaints", "2020/21", quarter)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("PSD 1 complaints {quarter} on the Data sheet"))
    };
    assert_eq!(value(""), value("Q1") + value("Q2"));
    assert!(
        message.contains("8 totals (G3, G4, G5, G6, G7, G8, G13, G14)")
            && message.contains("the dashboard adds up the quarters itself"),
        "one query names every such total: {message}"
    );
    assert_eq!(
        exceptions
            .iter()
            .filter(|(id, ..)| id == "total-not-calculated")
            .count(),
        1
    );
}

/// Puts a formula with no calculated value into `cell` of each sheet that has it (only PSD has D3 here),
/// as a program that writes formulas without calculating them leaves it.
fn uncalculated_formula_in(bytes: &[u8], cell: &str, formula: &str) -> Vec<u8> {
    rewrite_sheets(bytes, |text| {
        let Some(start) = text.find(&format!("<c r=\"{cell}\"")) else {
            return;
        };
        let end = text[start..].find("</c>").expect("end of cell") + start + 4;
        text.replace_range(start..end, &format!("<c r=\"{cell}\"><f>{formula}</f></c>"));
    })
}

#[test]
fn a_figure_saved_as_a_formula_with_no_calculated_value_asks_for_a_recalculation() {
    let installation = Installation::new();
    let bytes = uncalculated_formula_in(&psd_q2(&installation, |_| {}), "D3", "C3*2");
    let exceptions = assert_rejected(
        "psd.xlsx",
        &bytes,
        "formula-not-calculated",
        "no calculated value",
    );
    let (_, sheet, cell, message) = exceptions
        .iter()
        .find(|(id, ..)| id == "formula-not-calculated")
        .expect("exception");
    assert_eq!(
        (sheet.as_str(), cell.as_str()),
        ("PSD", "D3"),
        "the first row's QTR 2"
    );
    assert!(message.contains("=C3*2"), "{message}");
}

#[test]
fn a_return_on_another_departments_template_is_rejected() {
    let installation = Installation::new();
    let bytes = seed_draft(&installation, "psd-quarterly")
        .identity("department", "HR")
        .to_bytes()
        .expect("workbook");
    let exceptions = assert_rejected("psd.xlsx", &bytes, "wrong-template", "belongs to PSD");
    assert!(
        exceptions
            .iter()
            .any(|(_, sheet, cell, _)| sheet == "Cover" && cell == "C6")
    );
}

#[test]
fn a_return_from_an_unknown_department_is_rejected() {
    let installation = Installation::new();
    let bytes = seed_draft(&installation, "psd-quarterly")
        .identity("department", "Parks & Gardens")
        .to_bytes()
        .expect("workbook");
    assert_rejected(
        "psd.xlsx",
        &bytes,
        "unknown-department",
        "\"Parks & Gardens\" is not a known department",
    );
}

#[test]
fn a_return_whose_period_cannot_be_read_is_rejected() {
    let installation = Installation::new();
    let draft = || seed_draft(&installation, "psd-quarterly");
    let bytes = draft()
        .period("next year", "QTR 2")
        .to_bytes()
        .expect("workbook");
    assert_rejected(
        "psd.xlsx",
        &bytes,
        "unreadable-period",
        "financial year cannot be read",
    );
    let bytes = draft()
        .period("2020/21", "QTR 5")
        .to_bytes()
        .expect("workbook");
    assert_rejected(
        "psd.xlsx",
        &bytes,
        "unreadable-period",
        "quarter cannot be read",
    );
}

#[test]
fn a_workbook_that_is_no_return_template_is_rejected() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "PSD figures").expect("write");
    sheet.write_number(1, 0, 39.0).expect("write");
    let bytes = workbook.save_to_buffer().expect("save");
    assert_rejected(
        "my own sheet.xlsx",
        &bytes,
        "unknown-template",
        "not a return template",
    );
}

#[test]
fn an_old_template_version_is_rejected() {
    let installation = Installation::new();
    let bytes = seed_draft(&installation, "psd-quarterly")
        .identity("version", 0.0)
        .to_bytes()
        .expect("workbook");
    assert_rejected(
        "psd.xlsx",
        &bytes,
        "template-version",
        "version 1 is current",
    );
}

#[test]
fn figures_of_the_wrong_type_are_rejected_with_their_cells() {
    let installation = Installation::new();
    let draft = || seed_draft(&installation, "psd-quarterly").total_formulas(false);
    let bytes = draft()
        .figure("PSD 1", "complaints", 0, "QTR 2", "twenty")
        .to_bytes()
        .expect("workbook");
    let exceptions = assert_rejected(
        "psd.xlsx",
        &bytes,
        "figure-type",
        "text that is not a number",
    );
    assert!(
        exceptions
            .iter()
            .any(|(_, sheet, cell, _)| sheet == "PSD" && cell == "D3")
    );
    let bytes = draft()
        .figure("PSD 1", "complaints", 0, "QTR 2", 7.5)
        .to_bytes()
        .expect("workbook");
    assert_rejected("psd.xlsx", &bytes, "figure-range", "whole number");
    let bytes = draft()
        .figure("PSD 1", "complaints", 0, "QTR 2", -3.0)
        .to_bytes()
        .expect("workbook");
    assert_rejected("psd.xlsx", &bytes, "figure-range", "cannot be negative");
}

#[test]
fn a_run_with_bad_files_reports_them_and_goes_on() {
    let installation = Installation::new();
    installation.receive("empty.xlsx", b"", 1);
    installation.receive("psd.csv.xlsx", b"a,b\n1,2\n", 2);
    installation.receive("psd.xlsx", &psd_q2(&installation, |_| {}), 3);
    assert_eq!(installation.run(), 1, "some returns were rejected");
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24")
    );
    let rejected = crate::support::sheet_rows(&installation.exceptions(), "Rejected");
    for name in ["empty.xlsx", "psd.csv.xlsx"] {
        assert!(
            rejected.iter().any(|row| row[3] == name),
            "{name} listed as rejected"
        );
    }
    assert!(
        installation
            .outbox()
            .join("returns/empty.xlsx.exceptions.xlsx")
            .exists()
    );
    assert!(
        installation.inbox().join("empty.xlsx").exists(),
        "the original is kept"
    );
}
