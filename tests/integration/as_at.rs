//! Everything made for a quarter is as at that quarter, and every sign-off is deliberate: a later quarter's
//! figures wait for their quarter, plans are as the board had them, a cover for a period not begun is
//! refused, and `close` refuses what would mean nothing (read back with python-docx, openpyxl and calamine).

use std::path::Path;

use crate::quarter::{office_installed, pdf_text, read_paper, version_folder};
use crate::support::{
    Installation, edited_seed_draft, python_script_json, sheet_rows, stderr, stdout, xlsx_part,
};

/// The sample's Q1 and Q2 returns, processed, with the files dated before anything a test adds.
fn sample() -> Installation {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    installation
}

/// PSD's return for 2020/21 Q3, sent early: the seed's Q1 and Q2 figures and 2 in every QTR 3 cell.
fn early_psd_q3(installation: &Installation) -> Vec<u8> {
    edited_seed_draft(installation, "psd-quarterly", |psd| {
        for (_, _, _, values) in &mut psd.rows {
            values[2] = Some(2.0);
        }
    })
    .period("2020/21", "QTR 3")
    .to_bytes()
    .expect("a workbook")
}

fn close_q2(installation: &Installation, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["close", "2020/21-Q2", "--by", "Jo Bloggs"];
    args.extend(extra);
    installation.collate(&args)
}

/// `collate ARGS` refuses, saying `why`, and writes no version.
fn refused(installation: &Installation, args: &[&str], why: &str) {
    let output = installation.collate(args);
    assert_ne!(output.status.code(), Some(0), "{args:?}");
    assert!(stderr(&output).contains(why), "{}", stderr(&output));
    let board = installation.outbox().join("board");
    assert!(!board.exists(), "nothing written for {args:?}");
}

/// A group sheet's row for a measure: its cells from QTR 1 to the total, as text.
fn sheet_figures(dashboard: &Path, sheet: &str, label: &str) -> Vec<String> {
    let rows = sheet_rows(dashboard, sheet);
    let row = (rows.iter())
        .find(|row| row.get(1).is_some_and(|cell| cell == label))
        .unwrap_or_else(|| panic!("{label} on {sheet}"));
    row[2..7].to_vec()
}

#[test]
fn a_return_for_a_later_quarter_waits_for_its_quarter_and_plans_are_as_the_board_had_them() {
    let installation = sample();
    installation.receive(
        "2020-21 Q3 PSD return.xlsx",
        &early_psd_q3(&installation),
        0,
    );
    assert_eq!(installation.run(), 0);
    let output = close_q2(&installation, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let v1 = version_folder(&installation, 1);
    let paper = read_paper(&v1.join("board paper.docx"));
    let psd1 = &paper.figures["PSD 1"];
    assert_eq!(
        psd1["Number of complaints made per quarter"],
        ["39", "24", "", "", "63"]
    );
    assert_eq!(
        psd1["Number of allegations made per quarter"],
        ["58", "47", "", "", "105"]
    );
    let psd2 = &paper.figures["PSD 2"];
    assert!(
        psd2.values().all(|row| row[2].is_empty()),
        "PSD 2 has no Q3 figure: {psd2:?}"
    );
    // The chart's "2020/21 to date" bar is the total the version's dashboard charts.
    assert_eq!(
        sheet_figures(
            &v1.join("dashboard.xlsx"),
            "PSD",
            "Number of complaints made per quarter"
        ),
        ["39", "24", "", "", "63"]
    );
    // Plans as at the quarter: the 2022 plan had not begun, and no update is after the paper's date.
    let text = paper.text();
    assert!(
        !paper
            .headings("Heading 2")
            .iter()
            .any(|h| h.contains("2022")),
        "{:?}",
        paper.headings("Heading 2")
    );
    let tables = format!("{:?}", paper.tables);
    assert!(!tables.contains("after this paper's date"), "{tables}");
    assert!(!tables.contains("Jan 22"), "{tables}");
    assert!(text.contains("Police Integrity Development and Delivery Plan 2018-19"));
    // The PDF the board is sent says the same.
    if office_installed() {
        let printed = pdf_text(&v1.join("board paper.pdf"));
        let complaints = (printed.lines())
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|words| words.starts_with(&["39", "24"]))
            .unwrap_or_else(|| panic!("PSD 1's figures in the PDF: {printed}"));
        assert_eq!(complaints, ["39", "24", "63", "58", "47", "105"]);
        assert!(!printed.contains("Delivery Plan 2022"));
        assert!(!printed.contains("after this paper's date"));
    }

    // Once Q2 is signed off, the dashboard is for Q3 and shows PSD's Q3 figures.
    let dashboard = installation.dashboard();
    assert_eq!(
        sheet_rows(&dashboard, "Summary")[2][..2],
        ["Reporting period", "2020/21 Q3"]
    );
    assert_eq!(
        sheet_figures(&dashboard, "PSD", "Number of complaints made per quarter")[..3],
        ["39", "24", "2"]
    );
}

#[test]
fn a_cover_for_a_period_not_begun_is_rejected_and_such_a_quarter_cannot_be_signed_off() {
    let installation = sample();
    let typo = edited_seed_draft(&installation, "cc-quarterly", |_| {})
        .period("2027/28", "QTR 2")
        .to_bytes()
        .expect("a workbook");
    installation.receive("2020-21 Q2 CC return typo.xlsx", &typo, 0);
    assert_eq!(installation.run(), 1, "the return is rejected");
    let rejected = sheet_rows(&installation.exceptions(), "Rejected");
    let row = (rejected.iter())
        .find(|row| row.iter().any(|cell| cell == "future-cover-period"))
        .unwrap_or_else(|| panic!("a future-cover-period error: {rejected:?}"));
    let said = row.join(" | ");
    assert!(said.contains("Cover"), "names the cover sheet: {said}");
    assert!(
        said.contains("the cover says 2027/28 Q2, which has not begun"),
        "{said}"
    );

    let close = |quarter| ["close", quarter, "--by", "Jo"];
    refused(&installation, &close("2027/28-Q2"), "it has not ended");
    refused(
        &installation,
        &close("2020/21-Q3"),
        "it is after 2020/21 Q2, the quarter being collected",
    );
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q2"]);
}

#[test]
fn signing_off_again_with_nothing_changed_writes_nothing_and_a_withdrawn_version_is_as_if_never_signed()
 {
    let installation = sample();
    assert_eq!(close_q2(&installation, &[]).status.code(), Some(0));
    let again = close_q2(&installation, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let said = stdout(&again);
    assert!(
        said.contains(
            "Nothing has changed since version 1 of 2020/21 Q2 (signed off by Jo Bloggs on"
        ),
        "{said}"
    );
    assert!(said.contains("Version 1 stays the current one"), "{said}");
    assert!(!version_folder(&installation, 2).exists());

    // A dry run says what a version would hold, and writes nothing.
    let dry = installation.collate(&["close", "2020/21-Q2", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let said = stdout(&dry);
    assert!(
        said.contains("Version 2 of 2020/21 Q2 would be signed off"),
        "{said}"
    );
    // The sample's 21 returns less the 2022 plan's update, dated after the quarter's returns were due.
    assert!(said.contains("20 returns in use"), "{said}");
    assert!(
        said.contains("Nothing has changed since version 1"),
        "{said}"
    );
    assert!(!version_folder(&installation, 2).exists());

    let withdraw = installation.collate(&[
        "close",
        "2020/21-Q2",
        "--withdraw",
        "1",
        "--by",
        "Jo Bloggs",
        "--reason",
        "signed off before the HR figures were checked",
    ]);
    assert_eq!(withdraw.status.code(), Some(0), "{}", stderr(&withdraw));
    let note = std::fs::read_to_string(version_folder(&installation, 1).join("WITHDRAWN.txt"))
        .expect("the withdrawn version keeps its folder, with a note");
    assert!(note.contains("Version 1 of the 2020/21 Q2 board paper was withdrawn by Jo Bloggs"));
    assert!(note.contains("signed off before the HR figures were checked"));
    assert!(
        version_folder(&installation, 1)
            .join("board paper.docx")
            .exists()
    );
    // The quarter being collected goes back, and a rebuild keeps the withdrawal.
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q2"]);
    assert_eq!(installation.collate(&["rebuild"]).status.code(), Some(0));
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q2"]);
    // The next sign-off is version 2, and it says nothing changed since a version that does not stand.
    assert_eq!(close_q2(&installation, &[]).status.code(), Some(0));
    let paper = read_paper(&version_folder(&installation, 2).join("board paper.docx"));
    assert!(
        !paper.text().contains("Changed since version"),
        "{}",
        paper.text()
    );
}

#[test]
fn a_quarter_with_a_return_missing_is_signed_off_only_when_the_owner_says_so() {
    let installation = Installation::with_sample_inbox();
    std::fs::remove_file(installation.inbox().join("2020-21 Q2 HR return.xlsx")).expect("remove");
    installation.age_inbox();
    assert_eq!(installation.run(), 0);
    let close = ["close", "2020/21-Q2", "--by", "Jo Bloggs"];
    refused(&installation, &close, "no return for it is in use from HR");

    let output = close_q2(&installation, &["--with-missing"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let paper = read_paper(&version_folder(&installation, 1).join("board paper.docx"));
    let text = paper.text();
    assert!(text.contains("Missing returns: 1"), "{text}");
    assert!(text.contains("HR: not received"), "{text}");
}

/// The core properties python-docx reads: author, created and modified.
const READ_PROPERTIES: &str = r#"
import json, sys, docx
p = docx.Document(sys.argv[1]).core_properties
print(json.dumps([p.author, p.last_modified_by, p.created.isoformat(), p.modified.isoformat()]))
"#;

#[test]
fn n_a_reads_n_a_and_the_paper_is_as_the_seed_is() {
    let installation = sample();
    // The street survey was not run in 2020/21: N/A on the dashboard and in the paper.
    let street = sheet_figures(
        &installation.dashboard(),
        "Public Confidence",
        "Street survey: respondents",
    );
    assert_eq!(street[4], "N/A", "{street:?}");
    let agree = sheet_figures(
        &installation.dashboard(),
        "Public Confidence",
        "Street survey: agree, strongly or tend to (%)",
    );
    assert_eq!(agree[4], "N/A", "{agree:?}");
    let draft = installation.outbox().join("board paper (draft).docx");
    let paper = read_paper(&draft);
    let pc1 = (paper.tables.iter())
        .find(|t| t[0] == ["Measure", "2019/20", "2020/21"])
        .expect("PC 1's table by year");
    for row in &pc1[1..8] {
        assert_eq!(row[2], "N/A", "{row:?}");
    }
    assert_eq!(pc1[8][..3], ["Online survey: respondents", "103", "580"]);

    // Indicators no template collects are listed once, not given sections; analysis names its supplier.
    assert!(
        !paper
            .headings("Heading 2")
            .iter()
            .any(|h| h.starts_with("PSD 3")),
        "{:?}",
        paper.headings("Heading 2")
    );
    let text = paper.text();
    assert!(text.contains("Not yet collected"), "{text}");
    assert!(text.contains("PSD 3 Cases of Abuse of Authority for Sexual Gain"));
    assert!(text.contains("the following information has been supplied by the Head of HR:"));
    assert!(text.contains(
        "the following information has been supplied by the Finance Business Transformation & Performance Manager:"
    ));
    // The Improvement Plan keeps its parts' headings.
    let tables = format!("{:?}", paper.tables);
    assert!(tables.contains("National Recommendations"), "{tables}");

    // A signed version's properties name its signer and its time.
    assert_eq!(close_q2(&installation, &[]).status.code(), Some(0));
    let properties = python_script_json(
        READ_PROPERTIES,
        &version_folder(&installation, 1).join("board paper.docx"),
    );
    assert_eq!(properties[0], "Jo Bloggs");
    assert_eq!(properties[1], "Jo Bloggs");
    let created = properties[2].as_str().unwrap_or_default();
    assert!(
        created.starts_with("20") && !created.starts_with("2000"),
        "{created}"
    );
    assert_eq!(properties[2], properties[3]);
    if office_installed() {
        let printed = pdf_text(&version_folder(&installation, 1).join("board paper.pdf"));
        let street = (printed.lines())
            .find(|line| line.contains("Street survey: respondents"))
            .unwrap_or_else(|| panic!("PC 1 in the PDF: {printed}"));
        assert!(street.trim_end().ends_with("N/A"), "{street}");
        assert!(!printed.contains("PSD 3  Cases"), "no section for PSD 3");
    }
}

/// The parts of an xlsx that hold cell notes.
fn comment_parts(path: &Path) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::fs::File::open(path).expect("workbook")).expect("a zip");
    (zip.file_names())
        .filter_map(Result::ok)
        .filter(|name| name.starts_with("xl/comments"))
        .map(|name| name.into_owned())
        .collect()
}

#[test]
fn the_next_quarter_starts_clean() {
    let installation = sample();
    assert_eq!(close_q2(&installation, &[]).status.code(), Some(0));
    let dashboard = installation.dashboard();
    let summary = sheet_rows(&dashboard, "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q3"]);
    assert!(
        summary[3][1].starts_with("Awaits returns: 0 of 7 received; due by 30/01/2021"),
        "{:?}",
        summary[3]
    );
    // Each department's counts are its Q3 returns': none received, no queries, nothing restated.
    let all = (summary.iter())
        .find(|row| row[0] == "All departments")
        .expect("the totals row");
    assert_eq!(all[1..6], ["7", "0", "7", "0", "0"], "{summary:?}");
    assert!(
        summary
            .iter()
            .any(|row| row[0] == "Restated figures for 2020/21 Q3: 0"),
        "{summary:?}"
    );
    // No total is shaded partial: Q3's returns are awaited, and a total is judged by its department's
    // return for the quarter (at Q2, PSD's upheld allegations were: QTR 2 blank).
    let partial_notes = |dashboard: &Path| -> String {
        comment_parts(dashboard)
            .iter()
            .map(|part| xlsx_part(dashboard, part))
            .collect()
    };
    let comments = partial_notes(&dashboard);
    assert!(!comments.contains("Partial total"), "{comments}");
    let data = sheet_rows(&dashboard, "Data");
    let complete = (data[0].iter())
        .position(|h| h == "complete")
        .expect("a complete column");
    assert!(
        data[1..].iter().all(|row| row[complete] != "false"),
        "no total partial in the Data table"
    );
    assert_eq!(
        sheet_figures(&dashboard, "PSD", "Number of complaints made per quarter"),
        ["39", "24", "", "", "63"]
    );
    // PSD's Q3 return comes with QTR 2 still blank: its total is partial again, for QTR 2 alone.
    installation.receive(
        "2020-21 Q3 PSD return.xlsx",
        &early_psd_q3(&installation),
        0,
    );
    assert_eq!(installation.run(), 0);
    let comments = partial_notes(&installation.dashboard());
    assert!(
        comments.contains("Partial total: QTR 2 is blank"),
        "{comments}"
    );
}

/// How the dashboard prints, as openpyxl reads it: the Charts sheet's page breaks, each chart's title,
/// the Data Owners rows' heights, and whether a group sheet's measure labels wrap.
const READ_PRINTING: &str = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
charts = wb["Charts"]
owners = wb["Data Owners and Sources"]
psd = wb["PSD"]
titles = []
for chart in charts._charts:
    runs = chart.title.tx.rich.p[0].r if chart.title and chart.title.tx and chart.title.tx.rich else []
    titles.append("".join(r.t for r in runs))
print(json.dumps({
    "breaks": [b.id for b in charts.row_breaks.brk],
    "chart_rows": [c.anchor._from.row for c in charts._charts],
    "titles": titles,
    "owner_heights": {owners.cell(r, 1).value: owners.row_dimensions[r].height for r in range(4, owners.max_row + 1)},
    "label_wraps": [psd.cell(r, 2).alignment.wrap_text for r in range(1, psd.max_row + 1) if psd.cell(r, 1).value == "PSD 1"],
}))
"#;

#[test]
fn the_workbook_prints_as_well_as_the_paper() {
    let installation = sample();
    let printing = python_script_json(READ_PRINTING, &installation.dashboard());
    // No chart is split across printed pages: two indicators' charts to a page, a break before the rest.
    let breaks: Vec<u64> = serde_json::from_value(printing["breaks"].clone()).expect("breaks");
    let rows: Vec<u64> = serde_json::from_value(printing["chart_rows"].clone()).expect("rows");
    for &row in &rows {
        let next = (breaks.iter())
            .find(|b| **b > row)
            .copied()
            .unwrap_or(u64::MAX);
        assert!(
            row + 20 < next,
            "the chart at row {row} ends before the break at {next}"
        );
    }
    assert!(!breaks.is_empty(), "{printing}");
    // No empty chart: FIN 1 has no earlier years to draw, so no "previous years" chart.
    let titles: Vec<String> = serde_json::from_value(printing["titles"].clone()).expect("titles");
    assert!(
        titles.contains(&"FIN 1: this year by quarter".to_owned()),
        "{titles:?}"
    );
    assert!(
        !titles.contains(&"FIN 1: previous years".to_owned()),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"PSD 1: previous years".to_owned()),
        "{titles:?}"
    );
    // Data Owners: a title of two lines has a row tall enough for them.
    let heights = &printing["owner_heights"];
    assert!(heights["PC 1"].as_f64().unwrap_or(0.0) >= 30.0, "{heights}");
    // Long measure labels wrap rather than being cut by the figure beside them (the first row is the
    // indicator's title).
    let wraps = &printing["label_wraps"].as_array().expect("labels")[1..];
    assert!(
        wraps.len() == 6 && wraps.iter().all(|w| w == true),
        "{wraps:?}"
    );
}

#[test]
fn the_owner_may_ask_for_sections_for_indicators_not_collected() {
    let installation = Installation::with_sample_inbox();
    let settings = installation.root.join("schemas/dashboard.toml");
    let text = std::fs::read_to_string(&settings).expect("dashboard.toml");
    let asked = text.replace("not_collected = \"list\"", "not_collected = \"sections\"");
    assert_ne!(
        asked, text,
        "the setting is in the installed dashboard.toml"
    );
    std::fs::write(&settings, asked).expect("write");
    assert_eq!(installation.run(), 0);
    let paper = read_paper(&installation.outbox().join("board paper (draft).docx"));
    assert!(
        (paper.headings("Heading 2").iter()).any(|h| h.starts_with("PSD 3")),
        "{:?}",
        paper.headings("Heading 2")
    );
    assert!(!paper.text().contains("Not yet collected"));
}
