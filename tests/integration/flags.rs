//! What the integrity board acts on: integrity counts, quarters far above history, missing analysis, and
//! the chase list of returns not received.

use crate::consistency::{psd_q2, set_q2};
use crate::seed_returns::history_draft;
use crate::support::{Installation, edited_seed_draft, sheet_rows};

fn flags(installation: &Installation) -> Vec<Vec<String>> {
    sheet_rows(&installation.exceptions(), "Board flags")
}

/// An installation whose one return, PSD's Q2, has an upheld complaint relating to integrity.
fn integrity_count_above_zero() -> Installation {
    let installation = Installation::new();
    let bytes = psd_q2(&installation, |psd| {
        set_q2(psd, "complaints_upheld", 1.0);
        set_q2(psd, "complaints_upheld_integrity", 1.0);
    });
    installation.receive("psd.xlsx", &bytes, 1);
    installation.run();
    installation
}

#[test]
fn a_count_relating_to_integrity_above_zero_is_flagged() {
    let installation = integrity_count_above_zero();
    let flags = flags(&installation);
    let flag = flags
        .iter()
        .find(|row| row[0] == "integrity count above zero")
        .expect("integrity flag");
    assert_eq!(flag[1], "PSD 1");
    assert_eq!(flag[2], "Number of upheld complaints relating to integrity");
    assert_eq!(flag[3], "2020/21 Q2");
    assert_eq!(flag[4], "1");
    assert_eq!(flag[7], "PSD!D7");

    // The board sees it where the figure stands: highlighted, the reason in a cell note.
    let dashboard = installation.dashboard();
    let sheet = sheet_rows(&dashboard, "PSD");
    let row = 1 + sheet
        .iter()
        .position(|r| {
            r[0] == "PSD 1" && r[1] == "Number of upheld complaints relating to integrity"
        })
        .expect("the measure's row");
    let cell = format!("D{row}");
    // Read back with openpyxl: the flag's own red fill and font, and the reason in the cell's note.
    let look = crate::support::cell_look(&dashboard, "PSD", &cell);
    assert_eq!(
        (look.fill.as_str(), look.font_colour.as_str()),
        ("FFC7CE", "9C0006"),
        "{cell} highlighted"
    );
    assert!(look.bold, "{cell} in bold");
    assert!(
        look.note
            .contains("Board flag: integrity count above zero; from psd.xlsx PSD!D7"),
        "{}",
        look.note
    );
    // The paper shades the same figure, and only flagged figures, in its flag colour.
    let paper = installation.outbox().join("board paper (draft).docx");
    let flagged: Vec<String> = crate::support::docx_cell_shading(&paper)
        .into_iter()
        .filter(|(_, fill)| fill == "FFC7CE")
        .map(|(text, _)| text)
        .collect();
    assert!(
        !flagged.is_empty() && flagged.iter().all(|text| text == "1"),
        "{flagged:?}"
    );
}

#[test]
fn a_quarter_far_above_its_history_is_flagged() {
    let installation = Installation::new();
    installation.receive(
        "history.xlsx",
        &history_draft(&installation.schemas).to_bytes().expect("wb"),
        1,
    );
    installation.receive(
        "psd.xlsx",
        &psd_q2(&installation, |psd| set_q2(psd, "complaints", 60.0)),
        2,
    );
    installation.run();
    let flags = flags(&installation);
    let flag = flags
        .iter()
        .find(|row| row[0] == "far above its history")
        .expect("far-above flag");
    assert_eq!(
        flag[1..5],
        [
            "PSD 1",
            "Number of complaints made per quarter",
            "2020/21 Q2",
            "60"
        ]
    );
    // 2015/16 to 2019/20: 105, 102, 90, 54, 78 complaints: a typical quarter of 21.45.
    assert_eq!(flag[5], "21.45");
    assert!(
        !flags
            .iter()
            .any(|row| row[0] == "far above its history" && row[2].contains("allegations")),
        "allegations have no history to compare with"
    );
}

#[test]
fn a_return_without_analysis_is_flagged() {
    let installation = Installation::new();
    installation.receive(
        "psd.xlsx",
        &psd_q2(&installation, |psd| psd.analysis.clear()),
        1,
    );
    installation.run();
    let missing: Vec<String> = flags(&installation)
        .iter()
        .filter(|row| row[0] == "analysis text missing")
        .map(|row| row[1].clone())
        .collect();
    assert_eq!(missing, ["PSD 1", "PSD 2"]);
    // The indicator as a whole is marked where the board reads it: its code, with the reason.
    let note = crate::support::cell_note(&installation.dashboard(), "PSD", "A3");
    assert!(
        note.contains("Board flag: analysis text missing"),
        "{note:?}"
    );
}

#[test]
fn the_chase_list_names_departments_whose_return_is_missing_or_rejected() {
    let installation = Installation::new();
    installation.receive("psd.xlsx", &psd_q2(&installation, |_| {}), 1);
    // More leavers citing integrity than leavers: an error, so HR's only return is rejected.
    let bytes = edited_seed_draft(&installation, "hr-quarterly", |hr| {
        let row = hr
            .rows
            .iter_mut()
            .find(|row| row.1 == "officer_leavers_integrity");
        row.expect("row").3[1] = Some(50.0);
    })
    .to_bytes()
    .expect("workbook");
    installation.receive("hr.xlsx", &bytes, 2);
    installation.run();
    let chase = sheet_rows(&installation.exceptions(), "Chase list");
    let departments: Vec<&str> = chase[1..].iter().map(|row| row[0].as_str()).collect();
    assert_eq!(
        departments,
        [
            "Strategic Development",
            "PIU",
            "HR",
            "Finance",
            "Learning & Development",
            "Corporate Communications"
        ]
    );
    assert!(chase[1..].iter().all(|row| row[2] == "2020/21 Q2"));
    let hr_line = chase.iter().find(|row| row[0] == "HR").expect("HR line");
    assert!(
        hr_line[4].contains("received but rejected (hr.xlsx)"),
        "{}",
        hr_line[4]
    );
    let finance = chase
        .iter()
        .find(|row| row[0] == "Finance")
        .expect("Finance line");
    assert_eq!(
        finance[3..5],
        ["30/10/2020", "not received"],
        "due 30 days after 30 September"
    );
}

#[test]
fn the_period_due_chases_every_department_for_the_quarter_most_recently_ended() {
    let installation = Installation::with_sample_inbox();
    let output = installation.collate(&["run", "--period", "due"]);
    assert!(output.status.success());
    let due = collate::period::Period::most_recently_ended(chrono::Local::now().date_naive());
    let chase = sheet_rows(&installation.exceptions(), "Chase list");
    assert_eq!(
        chase.len() - 1,
        7,
        "no department has sent a return for {due}"
    );
    assert!(
        chase[1..]
            .iter()
            .all(|row| row[2] == due.to_string() && row[4] == "not received")
    );
    // The board's dashboard stays the latest period with returns, with every figure in it.
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q2"]);
    let rows = crate::support::data_rows(&installation.dashboard());
    assert_eq!(
        crate::support::figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24")
    );
    // The nightly run keeps a dated copy of the dashboard to compare nights.
    let today = chrono::Local::now().format("%Y-%m-%d");
    assert!(
        installation
            .outbox()
            .join(format!("nightly/dashboard {today}.xlsx"))
            .exists()
    );
}

#[test]
fn a_period_that_has_not_begun_or_is_far_from_every_return_is_refused() {
    let installation = Installation::with_sample_inbox();
    let future = installation.collate(&["run", "--period", "2030/31-Q1"]);
    assert_eq!(future.status.code(), Some(2));
    assert!(
        crate::support::stderr(&future)
            .contains("2030/31 Q1 has not begun (it starts on 1 April 2030)"),
        "{}",
        crate::support::stderr(&future)
    );
    assert!(!installation.dashboard().exists(), "nothing written");

    installation.run();
    let before = crate::support::sha256(&installation.dashboard());
    let typo = installation.collate(&["run", "--period", "2002/03-Q2"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        crate::support::stderr(&typo).contains(
            "--period 2002/03 Q2: no return is stored within two years of it (the latest is 2020/21 Q2); is the year mistyped?"
        ),
        "{}",
        crate::support::stderr(&typo)
    );
    assert_eq!(
        crate::support::sha256(&installation.dashboard()),
        before,
        "the board's dashboard is left as it was"
    );
    // A period near the returns is shown as asked.
    let earlier = installation.collate(&["run", "--period", "2020/21-Q1"]);
    assert_eq!(earlier.status.code(), Some(0));
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert_eq!(summary[2][..2], ["Reporting period", "2020/21 Q1"]);
}

#[test]
fn a_flags_reason_is_printed_beneath_the_flagged_figure() {
    let installation = integrity_count_above_zero();
    // Cell notes do not print: the reason is a row of its own on the sheet the board prints.
    let rows = sheet_rows(&installation.dashboard(), "PSD");
    let flagged: Vec<&Vec<String>> = rows.iter().filter(|row| row[0] == "Flagged").collect();
    assert_eq!(flagged.len(), 1, "{rows:?}");
    let said = &flagged[0][1];
    assert!(
        said.starts_with("QTR 2, Number of upheld complaints relating to integrity: Board flag: integrity count above zero"),
        "{said}"
    );
    // It stands in the PSD 1 block, beneath the measure rows and above the rationale.
    let at = rows
        .iter()
        .position(|row| row[0] == "Flagged")
        .unwrap_or_default();
    assert_eq!(rows[at + 1][0], "Rationale", "{rows:?}");
    assert!(rows[..at].iter().rev().take(6).any(|row| row[0] == "PSD 1"));
    // And on the first page the board reads, the Summary's headline, in the same words.
    let summary: Vec<String> = sheet_rows(&installation.dashboard(), "Summary")
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let flags = summary
        .iter()
        .position(|line| line == "Board flags for 2020/21 Q2: 1")
        .unwrap_or_else(|| panic!("{summary:?}"));
    assert_eq!(summary[flags + 1], format!("PSD 1 {said}"));
    assert!(
        summary.contains(&"Restated figures for 2020/21 Q2: 0".to_owned()),
        "{summary:?}"
    );
}
