//! The board's quarter: open while returns come in, signed off by the owner into numbered versions that
//! later returns never change; the board paper read back as the board reads it (python-docx for the Word
//! document, pdftotext for its PDF).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::seed_returns::seed_departments;
use crate::support::{
    Installation, edited_seed_draft, python_script_json, seed_draft, sha256, sheet_rows, stderr,
    stdout,
};

/// What python-docx reads from a board paper: every paragraph with its style, and each indicator's
/// figures as its table gives them (measure label → QTR 1–4 and Total, as printed).
const READ_PAPER: &str = r#"
import json, sys, docx
from docx.table import Table
from docx.text.paragraph import Paragraph
document = docx.Document(sys.argv[1])
paragraphs, figures, tables, current = [], {}, [], None
for block in document.element.body.iterchildren():
    tag = block.tag.split('}')[1]
    if tag == 'p':
        p = Paragraph(block, document)
        paragraphs.append([p.style.name, p.text])
        if p.style.name == 'Heading 2':
            current = p.text.split('  ')[0]
    elif tag == 'tbl':
        table = Table(block, document)
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        tables.append(rows)
        if current and len(rows[0]) == 10:
            for i in range(0, len(rows) - 2, 3):
                for col in (0, 5):
                    label = rows[i][col]
                    if label:
                        figures.setdefault(current, {})[label] = rows[i + 2][col:col + 5]
print(json.dumps({"paragraphs": paragraphs, "figures": figures, "tables": tables}))
"#;

pub struct Paper {
    pub paragraphs: Vec<(String, String)>,
    pub figures: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    pub tables: Vec<Vec<Vec<String>>>,
}

pub fn read_paper(path: &Path) -> Paper {
    let json = python_script_json(READ_PAPER, path);
    let paragraphs = json["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or_default().to_owned(),
                p[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let figures = serde_json::from_value(json["figures"].clone()).expect("figures");
    let tables = serde_json::from_value(json["tables"].clone()).expect("tables");
    Paper {
        paragraphs,
        figures,
        tables,
    }
}

impl Paper {
    pub fn headings(&self, style: &str) -> Vec<&str> {
        self.paragraphs
            .iter()
            .filter(|(s, _)| s == style)
            .map(|(_, text)| text.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        let paragraphs = self.paragraphs.iter().map(|(_, text)| text.as_str());
        paragraphs.collect::<Vec<_>>().join("\n")
    }
}

pub fn version_folder(installation: &Installation, version: u32) -> PathBuf {
    installation
        .outbox()
        .join("board/2020-21-Q2")
        .join(format!("v{version}"))
}

fn close(installation: &Installation) -> std::process::Output {
    let output = installation.collate(&["close", "2020/21-Q2", "--by", "Jo Bloggs"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    output
}

/// The text pdftotext reads from a PDF, with its layout kept.
pub fn pdf_text(pdf: &Path) -> String {
    let output = std::process::Command::new("pdftotext")
        .args(["-layout".as_ref(), pdf.as_os_str(), "-".as_ref()])
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn office_installed() -> bool {
    std::process::Command::new("soffice")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A figure as the paper prints it.
fn printed(value: f64) -> String {
    format!("{value}")
}

#[test]
fn a_signed_off_quarter_is_a_version_with_the_seed_papers_structure_and_figures() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    let output = close(&installation);
    let said = stdout(&output);
    assert!(
        said.contains("signed off by Jo Bloggs as version 1"),
        "{said}"
    );
    assert!(said.contains("now for 2020/21 Q3"), "{said}");

    let folder = version_folder(&installation, 1);
    let paper = read_paper(&folder.join("board paper.docx"));
    // The seed's order: rationale and Code of Ethics, the headline, one section per area, then the
    // plans and the data owners.
    assert_eq!(
        paper.headings("Heading 1"),
        [
            "Rationale for Integrity Dashboard",
            "Headline for 2020/21 Q2",
            "Public Confidence Indicators",
            "HR Indicators",
            "Finance Indicators",
            "L&D Indicators",
            "PSD Indicators",
            "Corporate Communications Indicators",
            "Action Plans",
            "Data Owners and Sources",
        ]
    );
    let text = paper.text();
    for expected in [
        "CITY OF LONDON POLICE",
        "Integrity Dashboard 2020/21",
        "Quarter 2",
        "Version 1.0",
        "Signed off by Jo Bloggs on ",
        "Police Code of Ethics:",
        "1. Honesty and integrity",
        "10. Challenging and reporting improper behaviour",
    ] {
        assert!(text.contains(expected), "{expected:?} not in the paper");
    }
    assert!(!text.contains("DRAFT"), "a signed-off version is no draft");

    // Every seed figure in its indicator's table, under its measure.
    let schemas = &installation.schemas;
    for department in seed_departments() {
        for (indicator, measure, year_offset, values) in &department.rows {
            if *year_offset != 0 {
                continue;
            }
            let label = &schemas
                .catalogue
                .measure(indicator, measure)
                .expect("a measure of the catalogue")
                .label;
            let row = &paper.figures[*indicator][label];
            for (quarter, value) in values.iter().enumerate().take(2) {
                if let Some(value) = value {
                    assert_eq!(
                        row[quarter],
                        printed(*value),
                        "{indicator} {label} QTR {}",
                        quarter + 1
                    );
                }
            }
        }
        // The analysis as supplied.
        for (_, analysis) in &department.analysis {
            assert!(
                text.contains(analysis),
                "the analysis {analysis:?} is in the paper"
            );
        }
    }
    // FIN 1 keeps its 2019 row, and HR 3's total is the seed's 28.
    assert_eq!(
        paper.figures["FIN 1"]["2019/20: Number of procurement cards that are compliant"][..4],
        ["2775", "3021", "3681", "3249"]
    );
    assert_eq!(
        paper.figures["HR 3"]["Police officer leavers per quarter"][4],
        "28"
    );
    // Indicators nobody collects are listed once, as the seed does, never as PSD failing to supply them.
    assert!(text.contains("Not yet collected (no return template asks for them"));
    assert!(text.contains("PSD 3 Cases of Abuse of Authority for Sexual Gain"));
    assert!(!text.contains("no analysis has been supplied by Professional Standards"));
    // Plans with the age of each update; the owners table last.
    assert!(text.contains("Police Integrity Development and Delivery Plan 2018-19"));
    let owners = paper.tables.last().expect("the owners table");
    assert_eq!(owners[0], ["No.", "Indicator", "Owner", "Data Source"]);
    assert!(
        owners
            .iter()
            .any(|row| row[0] == "PSD 3" && row[2] == "Professional Standards")
    );
    let plan_table = paper
        .tables
        .iter()
        .find(|t| t[0][0] == "Ref")
        .expect("a plan tracker");
    assert_eq!(plan_table[0][4], "Age at 30/10/2020");
    // Each part of the plan under its heading.
    assert_eq!(plan_table[1][0], "1. Commit Measures");
    assert!(plan_table[2][3].contains("/"), "{:?}", plan_table[2]);
    assert!(plan_table[2][4].ends_with("months") || plan_table[2][4].ends_with("years"));

    // The manifest: every return in use, with the SHA-256 of the file in the inbox; who and when.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).expect("a manifest"))
            .expect("JSON");
    assert_eq!(manifest["closed_by"], "Jo Bloggs");
    assert_eq!(manifest["version"], 1);
    let returns = manifest["returns"].as_array().expect("returns");
    // Every sample return but the 2022 plan's update, which came after the quarter's returns were due.
    assert_eq!(returns.iter().filter(|r| r["in_use"] == true).count(), 20);
    for listed in returns {
        let file = installation
            .inbox()
            .join(listed["file"].as_str().expect("a file"));
        assert_eq!(
            listed["sha256"].as_str(),
            Some(sha256(&file).as_str()),
            "{file:?}"
        );
    }
    // The dashboard as it was, for the quarter signed off.
    let summary = sheet_rows(&folder.join("dashboard.xlsx"), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q2"]);

    // The PDF, made by LibreOffice where it is installed, has the same figures; where it is not, the
    // owner is told plainly.
    let pdf = folder.join("board paper.pdf");
    if office_installed() {
        let text = pdf_text(&pdf);
        for expected in [
            "Integrity Dashboard 2020/21",
            "Version 1.0",
            "HR Indicators",
            "Data Owners and Sources",
        ] {
            assert!(text.contains(expected), "{expected:?} not in the PDF");
        }
        for figures in [
            "8       20",
            "1077      1979",
            "2775      3021      3681      3249",
        ] {
            let squeezed = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                squeezed(&text).contains(&squeezed(figures)),
                "{figures:?} not in the PDF"
            );
        }
    } else {
        assert!(!pdf.exists());
        assert!(
            stderr(&output).contains("LibreOffice is not installed, so no PDF was made: open ")
        );
    }
}

#[test]
fn without_libreoffice_the_version_has_its_word_document_and_the_owner_is_told_how_to_make_the_pdf()
{
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    let output = installation
        .command()
        .args(["close", "2020/21-Q2", "--by", "Jo Bloggs"])
        .env("COLLATE_SOFFICE", installation.root.join("no such program"))
        .output()
        .expect("collate runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let folder = version_folder(&installation, 1);
    assert!(folder.join("board paper.docx").is_file());
    assert!(!folder.join("board paper.pdf").exists());
    let said = stderr(&output);
    assert!(
        said.contains("LibreOffice is not installed, so no PDF was made: open ")
            && said.contains("v1/board paper.docx in Word and save it as PDF"),
        "{said}"
    );
}

#[test]
fn the_board_paper_is_the_same_bytes_for_the_same_store_and_sign_off() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    let draft = installation.outbox().join("board paper (draft).docx");
    let first = std::fs::read(&draft).expect("a draft board paper");
    assert_eq!(installation.collate(&["run"]).status.code(), Some(0));
    assert_eq!(first, std::fs::read(&draft).expect("the draft again"));
    let paper = read_paper(&draft);
    assert!(
        paper.text().contains("DRAFT"),
        "a paper not signed off says DRAFT"
    );

    let history = collate::store::Store::open(&installation.root.join("store"))
        .and_then(|store| store.load())
        .expect("the store");
    let signing = collate::pipeline::Signing {
        by: "Jo Bloggs".into(),
        at: chrono::DateTime::parse_from_rfc3339("2020-11-20T10:00:00Z")
            .expect("a time")
            .to_utc(),
    };
    let quarter = collate::period::Period::parse("2020/21 Q2").expect("a quarter");
    let render = || {
        collate::pipeline::render_edition(
            &installation.schemas,
            &collate::pipeline::Folders::under(&installation.root),
            &history,
            collate::period::PeriodChoice::Named(quarter),
            Some(signing.clone()),
        )
        .expect("rendered")
        .board_paper()
        .to_vec()
    };
    let (first, second) = (render(), render());
    if first != second {
        std::fs::write("/tmp/render1.docx", &first).ok();
        std::fs::write("/tmp/render2.docx", &second).ok();
    }
    assert!(first == second, "the same sign-off gives the same bytes");
}

#[test]
fn a_late_return_leaves_version_1_as_it_was_and_version_2_opens_with_what_changed() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    close(&installation);
    let v1 = version_folder(&installation, 1);
    let before: Vec<(String, String)> = files_with_hashes(&v1);

    // HR re-sends Q2 with Q1's police officer leavers changed from 8 to 12.
    let corrected = edited_seed_draft(&installation, "hr-quarterly", |hr| {
        for row in &mut hr.rows {
            if row.0 == "HR 3" && row.1 == "officer_leavers" {
                row.3[0] = Some(12.0);
            }
        }
    });
    let name = "2020-21 Q2 HR return corrected.xlsx";
    installation.receive(name, &corrected.to_bytes().expect("workbook"), 0);
    let output = installation.collate(&["run"]);
    let log = stderr(&output);
    assert!(
        log.contains("arrived after version 1 was signed off"),
        "{log}"
    );
    assert_eq!(
        files_with_hashes(&v1),
        before,
        "version 1 is never rewritten"
    );
    let late = sheet_rows(&installation.exceptions(), "After sign-off");
    assert_eq!(late.len(), 2, "{late:?}");
    assert_eq!(late[1][..3], ["HR", "2020/21 Q2", name]);
    // The board's quarter moved on when Q2 was signed off.
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q3"]);

    let output = installation.collate(&["close", "2020/21-Q2", "--by", "Jo Bloggs"]);
    assert!(
        stdout(&output).contains("as version 2"),
        "{}",
        stdout(&output)
    );
    assert_eq!(files_with_hashes(&v1), before);
    let paper = read_paper(&version_folder(&installation, 2).join("board paper.docx"));
    let headings = paper.headings("Heading 2");
    assert_eq!(
        headings[1..3],
        [
            "Changed since version 1.0: 1",
            "Returns that arrived after version 1.0: 1"
        ]
    );
    let text = paper.text();
    assert!(
        text.contains(
            "HR 3 Police officer leavers per quarter, 2020/21 QTR 1: was 8, now 12 (from \"2020-21 Q2 HR return corrected.xlsx\")"
        ),
        "{text}"
    );
    assert!(text.contains("Version 2.0"));
    assert_eq!(
        paper.figures["HR 3"]["Police officer leavers per quarter"][..2],
        ["12", "20"]
    );
    // Taken into version 2, the return is no longer listed as after the sign-off.
    assert!(!sheet_names(&installation.exceptions()).contains(&"After sign-off".to_owned()));
}

#[test]
fn an_early_return_for_the_next_quarter_leaves_the_board_on_the_quarter_being_collected() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    let early = seed_draft(&installation, "psd-quarterly").period("2020/21", "QTR 3");
    installation.receive(
        "2020-21 Q3 PSD return.xlsx",
        &early.to_bytes().expect("workbook"),
        0,
    );
    assert_eq!(installation.collate(&["run"]).status.code(), Some(0));
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q2"]);
    let exceptions = sheet_rows(&installation.exceptions(), "Summary");
    assert!(
        exceptions.iter().any(
            |row| row[0] == "Returns missing for 2020/21 Q2 (due by 30/10/2020)" && row[1] == "0"
        ),
        "{exceptions:?}"
    );
}

#[test]
fn a_return_whose_cover_is_a_year_from_the_quarter_being_collected_is_queried() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    let far = seed_draft(&installation, "cc-quarterly").period("2019/20", "QTR 2");
    installation.receive("CC return.xlsx", &far.to_bytes().expect("workbook"), 0);
    let output = installation.collate(&["run"]);
    assert!(
        stderr(&output).contains("with 1 query"),
        "{}",
        stderr(&output)
    );
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    let far = warnings
        .iter()
        .find(|row| row.iter().any(|cell| cell == "far-cover-period"))
        .expect("a far-cover-period query");
    let said = far.join(" | ");
    assert!(
        said.contains(
            "the cover says 2019/20 Q2, 4 quarters before 2020/21 Q2, the quarter being collected"
        ),
        "{said}"
    );
}

fn files_with_hashes(folder: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(folder)
        .expect("the version folder")
        .map(|entry| {
            let path = entry.expect("an entry").path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, sha256(&path))
        })
        .collect();
    files.sort();
    files
}

fn sheet_names(path: &Path) -> Vec<String> {
    use calamine::Reader;
    calamine::open_workbook_auto(path)
        .expect("a workbook")
        .sheet_names()
        .to_vec()
}
