//! The templates `collate template` writes: guarded (validation, protection, names) as a tool that is not
//! ours reads them back, and accepted when another program fills them in. `scripts/template-fixtures.sh`
//! made the fixtures with openpyxl and LibreOffice; the first test checks today's template is theirs.

use std::path::{Path, PathBuf};

use crate::support::{Installation, data_rows, figure, repo, stdout};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/templates").join(name)
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("fixture");
    serde_json::from_str(&text).expect("JSON")
}

/// `collate template ID` run from the installation folder as its owner would, with no options but the
/// id; returns the file it wrote there.
fn template_as_the_owner_makes_it(installation: &Installation, id: &str) -> PathBuf {
    let output = installation.collate(&["template", id]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let written = stdout(&output).trim().to_owned();
    assert_eq!(written, format!("{id}.xlsx"));
    installation.inbox().parent().expect("root").join(written)
}

#[test]
fn todays_template_is_byte_for_byte_the_one_the_fixtures_prove() {
    let installation = Installation::new();
    let made = template_as_the_owner_makes_it(&installation, "psd-quarterly");
    assert!(
        std::fs::read(&made).expect("template")
            == std::fs::read(fixture("psd-quarterly.xlsx")).expect("fixture"),
        "the template changed: run scripts/template-fixtures.sh and check what it reads back"
    );
}

#[test]
fn openpyxl_reads_back_validation_protection_and_names() {
    let summary = json(&fixture("psd-quarterly.openpyxl.json"));
    assert_eq!(
        summary["structure_locked"], true,
        "sheets cannot be renamed"
    );
    let sheets = summary["sheets"].as_array().expect("sheets");
    let sheet = |name: &str| {
        sheets
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("sheet {name}"))
    };
    assert_eq!(sheet("collate")["state"], "veryHidden");
    let psd = sheet("PSD");
    assert_eq!(psd["protected"], true);
    let validations = psd["validations"].as_array().expect("validations");
    let complaints_q2 = validations
        .iter()
        .find(|v| v["cells"] == "D3")
        .expect("a validation on PSD 1 complaints, QTR 2");
    assert_eq!(complaints_q2["type"], "custom");
    assert_eq!(complaints_q2["alert"], "stop");
    assert_eq!(complaints_q2["input_title"], "PSD 1, QTR 2");
    let message = complaints_q2["input_message"].as_str().expect("message");
    assert!(
        message.starts_with("Number of complaints made per quarter: a whole number of 0 or more."),
        "{message}"
    );
    assert!(psd["conditional_formats"].as_u64().unwrap_or(0) > 0);
    let unlocked: Vec<&str> = psd["unlocked_cells"]
        .as_array()
        .expect("unlocked")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(unlocked.contains(&"D3"), "inputs are open");
    assert!(
        !unlocked.contains(&"B3") && !unlocked.contains(&"G3"),
        "labels and totals are locked"
    );
    let names = &summary["defined_names"];
    assert_eq!(names["PSD1_complaints_QTR2"], "'PSD'!$D$3");
    assert_eq!(names["collate_quarter"], "'Cover'!$C$8");
    let cover = sheet("Cover")["validations"]
        .as_array()
        .expect("cover validations")
        .clone();
    assert!(
        cover.iter().any(|v| v["cells"] == "C8"
            && v["type"] == "list"
            && v["formula"] == "\"QTR 1,QTR 2,QTR 3,QTR 4\""),
        "{cover:?}"
    );
}

#[test]
fn libreoffice_keeps_the_validations_names_and_sheet_protection() {
    let summary = json(&fixture("psd-quarterly.libreoffice.json"));
    assert!(
        summary["validations"].as_u64().unwrap_or(0) >= 30,
        "{summary}"
    );
    let names = summary["defined_names"].as_array().expect("names");
    assert!(names.iter().any(|n| n == "PSD1_complaints_QTR2"));
    let protected = summary["sheets"]
        .as_array()
        .expect("sheets")
        .iter()
        .all(|s| s["protected"] == true);
    assert!(protected, "{summary}");
}

#[test]
fn a_plan_update_template_offers_the_plans_own_statuses() {
    let summary = json(&fixture("delivery-plan-2018-19.openpyxl.json"));
    assert_eq!(summary["structure_locked"], true);
    let sheets = summary["sheets"].as_array().expect("sheets");
    let lists: Vec<&serde_json::Value> = sheets
        .iter()
        .flat_map(|s| s["validations"].as_array().into_iter().flatten())
        .filter(|v| v["type"] == "list")
        .collect();
    let status = lists
        .iter()
        .find(|v| v["input_title"] == "1.7, Aug 18")
        .expect("the Aug 18 status of measure 1.7");
    assert_eq!(status["formula"], "\"GREEN,AMBER,RED,WHITE,COMPLETE\"");
    assert_eq!(status["alert"], "stop");
    let message = status["input_message"].as_str().expect("message");
    assert!(
        message.starts_with(
            "The status of measure 1.7: one of GREEN, AMBER, RED, WHITE, COMPLETE. GREEN: "
        ),
        "{message}"
    );
}

/// Figures the Data sheet must show from a filled-in fixture: those of the values file for Q1 and Q2.
fn assert_figures_typed(installation: &Installation) {
    let values = json(&fixture("psd-2020-21-q2-values.json"));
    let rows = data_rows(&installation.dashboard());
    for (name, indicator, measure, quarter) in [
        ("PSD1_complaints_QTR1", "PSD 1", "complaints", "Q1"),
        ("PSD1_complaints_QTR2", "PSD 1", "complaints", "Q2"),
        ("PSD1_allegations_QTR2", "PSD 1", "allegations", "Q2"),
        ("PSD2_cases_QTR2", "PSD 2", "cases", "Q2"),
    ] {
        let typed = values[name].as_f64().expect("a typed figure");
        let shown = figure(&rows, indicator, measure, "2020/21", quarter);
        assert_eq!(shown, Some(typed.to_string()), "{name}");
    }
}

#[test]
fn a_template_filled_in_by_openpyxl_is_accepted_with_the_figures_typed() {
    let installation = Installation::new();
    let bytes = std::fs::read(fixture("psd-q2-filled-by-openpyxl.xlsx")).expect("fixture");
    installation.receive("psd-q2.xlsx", &bytes, 0);
    assert_eq!(installation.run(), 0, "accepted");
    assert_figures_typed(&installation);
}

#[test]
fn a_template_filled_in_then_saved_by_libreoffice_is_accepted_with_the_figures_typed() {
    let installation = Installation::new();
    let name = "psd-q2-filled-by-openpyxl-saved-by-libreoffice.xlsx";
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    installation.receive("psd-q2.xlsx", &bytes, 0);
    assert_eq!(installation.run(), 0, "accepted");
    assert_figures_typed(&installation);
}

#[test]
fn a_figure_typed_past_the_validation_is_still_caught() {
    let installation = Installation::new();
    let bytes =
        std::fs::read(fixture("psd-q2-typed-past-validation-by-openpyxl.xlsx")).expect("fixture");
    installation.receive("psd-q2.xlsx", &bytes, 0);
    assert_eq!(installation.run(), 1, "rejected");
    let output = installation.collate(&["check", "inbox/psd-q2.xlsx"]);
    let report = stdout(&output);
    assert!(
        report.contains("[PSD!D3]: error figure-range") && report.contains("found -3"),
        "{report}"
    );
}

#[test]
fn a_return_whose_cover_lost_its_template_id_is_identified_from_its_hidden_record() {
    let installation = Installation::new();
    let draft = crate::support::seed_draft(&installation, "psd-quarterly").identity("template", "");
    let bytes = draft.to_bytes().expect("workbook");
    installation.receive("psd.xlsx", &bytes, 0);
    let output = installation.collate(&["check", "inbox/psd.xlsx"]);
    let report = stdout(&output);
    assert!(report.contains("psd.xlsx: accepted"), "{report}");
    assert!(
        report.contains("cover-template-missing") && report.contains("identified as psd-quarterly"),
        "{report}"
    );
}

/// openpyxl, run now on a template written now: the same guards as the fixtures show, read live.
#[test]
fn openpyxl_reads_the_guards_of_a_template_written_now() {
    let installation = Installation::new();
    let made = template_as_the_owner_makes_it(&installation, "hr-quarterly");
    let script = repo().join("scripts/template_readback.py");
    let summary = crate::support::python_json(&[script.as_os_str()], &made);
    assert_eq!(summary["structure_locked"], true);
    let inputs: usize = summary["sheets"]
        .as_array()
        .expect("sheets")
        .iter()
        .filter(|s| s["state"] == "visible")
        .map(|s| {
            assert_eq!(s["protected"], true, "{}", s["name"]);
            s["validations"].as_array().map_or(0, Vec::len)
        })
        .sum();
    let names = summary["defined_names"].as_object().expect("names").len();
    assert!(
        inputs > 10 && names >= inputs,
        "{inputs} validations, {names} names"
    );
}

/// The sample installation with every return read but the Q2 Professional Standards one: PSD owes Q2.
fn sample_without_psd_q2() -> Installation {
    let installation = Installation::with_sample_inbox();
    std::fs::remove_file(installation.inbox().join("2020-21 Q2 PSD return.xlsx")).expect("remove");
    assert_eq!(installation.run(), 0);
    installation
}

fn cell(path: &Path, sheet: &str, address: &str) -> String {
    let (row, col) = collate::excel::parse_a1(address).expect("address");
    crate::support::sheet_rows(path, sheet)
        .get(row as usize)
        .and_then(|cells| cells.get(col as usize))
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_template_made_for_a_quarter_is_prefilled_and_closes_the_later_quarters() {
    let installation = sample_without_psd_q2();
    let output = installation.collate(&["template", "psd-quarterly", "--period", "2020/21-Q2"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output).trim(), "psd-quarterly 2020-21 Q2.xlsx");
    let made = installation
        .inbox()
        .with_file_name("psd-quarterly 2020-21 Q2.xlsx");
    assert_eq!(cell(&made, "Cover", "C7"), "2020/21");
    assert_eq!(cell(&made, "Cover", "C8"), "QTR 2");
    assert_eq!(cell(&made, "PSD", "C3"), "39", "Q1 as accepted");
    assert_eq!(
        cell(&made, "PSD", "D3"),
        "",
        "Q2 for the department to give"
    );
    let open = crate::support::cell_format(&made, "PSD", "C3");
    assert!(
        open.contains("locked=\"0\""),
        "a prefilled quarter stays open: {open}"
    );
    let closed = crate::support::cell_format(&made, "PSD", "E3");
    assert!(
        !closed.contains("locked=\"0\""),
        "QTR 3 is closed: {closed}"
    );
}

#[test]
fn the_pack_holds_a_prefilled_template_for_each_return_still_owed_and_who_owes_what() {
    let installation = sample_without_psd_q2();
    let output = installation.collate(&["pack", "--period", "2020/21-Q2"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let folder = installation.outbox().join("pack/2020-21 Q2");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .expect("pack folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "2020-21 Q2 Professional Standards return.xlsx",
            "Reminder - 2020-21 Q2 Professional Standards return.eml",
            "Who owes what.xlsx"
        ]
    );
    let template = folder.join("2020-21 Q2 Professional Standards return.xlsx");
    assert_eq!(cell(&template, "PSD", "C3"), "39");
    let cover = crate::support::sheet_rows(&folder.join("Who owes what.xlsx"), "Who owes what");
    assert_eq!(
        cover[4][..4],
        [
            "Professional Standards",
            "Professional Standards quarterly integrity return",
            "2020-21 Q2 Professional Standards return.xlsx",
            "30/10/2020"
        ]
    );
    // Once PSD's return is in, its template leaves the pack.
    let psd = std::fs::read(crate::support::repo().join("inbox/2020-21 Q2 PSD return.xlsx"))
        .expect("sample");
    installation.receive("2020-21 Q2 PSD return.xlsx", &psd, 0);
    assert_eq!(installation.run(), 0);
    let output = installation.collate(&["pack", "--period", "2020/21-Q2"]);
    assert!(
        stdout(&output).contains("0 templates for 2020/21 Q2"),
        "{output:?}"
    );
    assert!(!template.exists());
    assert!(
        !folder
            .join("Reminder - 2020-21 Q2 Professional Standards return.eml")
            .exists(),
        "nor its reminder"
    );
}

#[test]
fn the_pack_for_the_quarter_due_covers_every_department_with_a_quarterly_return() {
    let installation = Installation::new();
    let output = installation.collate(&["pack"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let quarterly = installation
        .schemas
        .templates
        .iter()
        .filter(|t| t.kind == collate::schema::TemplateKind::Quarterly)
        .count();
    let listed = stdout(&output)
        .lines()
        .filter(|l| l.ends_with(".xlsx"))
        .count();
    assert_eq!(listed, quarterly, "{}", stdout(&output));
}

#[test]
fn a_plan_update_template_comes_with_the_statuses_already_given_for_earlier_periods() {
    let installation = Installation::with_sample_inbox();
    assert_eq!(installation.run(), 0);
    let args = [
        "template",
        "delivery-plan-2018-19",
        "--department",
        "SD",
        "--period",
        "Aug 18",
    ];
    let output = installation.collate(&args);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let made = installation.inbox().with_file_name(stdout(&output).trim());
    let plan = installation
        .schemas
        .plan("delivery-plan-2018-19")
        .expect("plan");
    let rows = crate::support::sheet_rows(&made, &plan.update.sheet);
    let header = rows
        .iter()
        .find(|row| row.first().is_some_and(|c| c == "Ref"))
        .expect("a table header");
    let column = |heading: &str| header.iter().position(|h| h == heading).expect(heading);
    let measure = rows
        .iter()
        .find(|row| row.first().is_some_and(|c| c == "2.2"))
        .expect("measure 2.2");
    assert_eq!(measure[column("May 18")], "WHITE", "as accepted for May 18");
    assert_eq!(measure[column("Aug 18")], "", "the period's own, to give");
}

/// The workbook with `from` replaced by `to` in its shared strings (the text of its cells).
fn retyped(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    crate::support::rewrite_xlsx_parts(bytes, |name, text| {
        if name == "xl/sharedStrings.xml" {
            assert!(text.contains(from), "{from} is in the workbook");
            *text = text.replace(from, to);
        }
    })
}

#[test]
fn a_row_whose_label_was_overtyped_is_still_read_from_its_named_cells() {
    let installation = Installation::new();
    let bytes = crate::support::seed_draft(&installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    let bytes = retyped(
        &bytes,
        "Number of Complaints Made Per Quarter",
        "Complaints (all)",
    );
    installation.receive("psd.xlsx", &bytes, 0);
    let output = installation.collate(&["check", "inbox/psd.xlsx"]);
    let report = stdout(&output);
    assert!(report.contains("psd.xlsx: accepted"), "{report}");
    assert!(
        report.contains("[PSD!C3]: warning row-found-by-name")
            && report.contains("no row labelled \"Number of Complaints Made Per Quarter\""),
        "{report}"
    );
    assert_eq!(installation.run(), 0);
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q2"),
        Some("24".to_owned())
    );
}
