//! The bundled inbox produces the seed dashboard: its figures, its layout, its faults.

use std::io::Read;

use crate::support::{Installation, data_rows, figure, sheet_rows};

#[test]
fn the_sample_inbox_reproduces_the_seed_dashboards_figures() {
    let installation = Installation::with_sample_inbox();
    assert_eq!(
        installation.run(),
        0,
        "the sample returns are all accepted (with queries)"
    );
    let rows = data_rows(&installation.dashboard());
    let expect = |indicator, measure, year, quarter, value: &str| {
        assert_eq!(
            figure(&rows, indicator, measure, year, quarter).as_deref(),
            Some(value),
            "{indicator} {measure} {year} {quarter}"
        );
    };
    expect("PSD 1", "complaints", "2020/21", "Q1", "39");
    expect("PSD 1", "complaints", "2020/21", "Q2", "24");
    expect("PSD 1", "complaints", "2020/21", "", "63");
    expect("PSD 1", "allegations", "2020/21", "Q1", "58");
    expect("PSD 1", "allegations", "2020/21", "Q2", "47");
    expect("PSD 1", "allegations", "2020/21", "", "105");
    expect("HR 3", "officer_leavers", "2020/21", "Q1", "8");
    expect("HR 3", "officer_leavers", "2020/21", "Q2", "20");
    expect("HR 3", "officer_leavers", "2020/21", "", "28");
    expect("HR 3", "staff_leavers", "2020/21", "Q1", "11");
    expect("HR 3", "staff_leavers", "2020/21", "Q2", "11");
    expect("HR 3", "staff_leavers", "2020/21", "", "22");
    for (quarter, value) in [
        ("Q1", "2775"),
        ("Q2", "3021"),
        ("Q3", "3681"),
        ("Q4", "3249"),
    ] {
        expect("FIN 1", "compliant_cards", "2019/20", quarter, value);
    }
    expect("FIN 1", "compliant_cards", "2020/21", "Q1", "1077");
    expect("FIN 1", "compliant_cards", "2020/21", "Q2", "1979");
    expect("PSD 1", "complaints", "2019/20", "", "78");
    expect("PSD 1", "complaints", "2015/16", "", "105");
    expect("PC 1", "online_agree", "2020/21", "", "86");
    expect("PC 1", "street_agree", "2019/20", "", "93");

    // The seed's blanks stay blank: no figure is invented for them.
    assert_eq!(
        figure(&rows, "PSD 1", "allegations_upheld", "2020/21", "Q2"),
        None
    );
    assert_eq!(
        figure(&rows, "L&D 1", "stop_search_trained", "2020/21", "Q2"),
        None
    );
    // The QTR 3 figure in the Q2 report is not taken.
    assert_eq!(
        figure(
            &rows,
            "PSD 1",
            "allegations_upheld_integrity",
            "2020/21",
            "Q3"
        ),
        None
    );
    // Compliant cards are not summed into a year total; the FIN 1 referrals are.
    assert_eq!(
        figure(&rows, "FIN 1", "compliant_cards", "2020/21", ""),
        None
    );
    assert_eq!(
        figure(&rows, "FIN 1", "referrals", "2019/20", "").as_deref(),
        Some("0")
    );

    // Provenance: each figure names the file and cell it came from.
    let q2 = rows
        .iter()
        .find(|row| row[0] == "PSD 1" && row[1] == "complaints" && row[3] == "Q2")
        .expect("PSD 1 Q2 complaints");
    assert_eq!(q2[5], "2020-21 Q2 PSD return.xlsx");
    assert_eq!(q2[6], "PSD!D3");
}

#[test]
fn group_sheets_are_laid_out_as_the_seed_dashboard() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let psd = sheet_rows(&installation.dashboard(), "PSD");
    let header = psd
        .iter()
        .find(|row| row.first().is_some_and(|c| c == "Number"))
        .expect("header row");
    assert_eq!(
        header[..7],
        [
            "Number",
            "Measure",
            "QTR 1",
            "QTR 2",
            "QTR 3",
            "QTR 4",
            "Total 2020/21"
        ]
    );
    assert!(header.contains(&"2015/16".to_owned()) && header.contains(&"2019/20".to_owned()));
    let complaints = psd
        .iter()
        .find(|row| {
            row.get(1)
                .is_some_and(|c| c == "Number of complaints made per quarter")
        })
        .expect("complaints row");
    assert_eq!(complaints[2..7], ["39", "24", "", "", "63"]);
    let year_col = header
        .iter()
        .position(|c| c == "2019/20")
        .expect("2019/20 column");
    assert_eq!(complaints[year_col], "78");
    let analysis = psd
        .iter()
        .find(|row| row.first().is_some_and(|c| c == "Analysis"))
        .expect("analysis row");
    assert!(
        analysis[1].contains("increase in the number of complaints"),
        "{}",
        analysis[1]
    );

    let summary = sheet_rows(&installation.dashboard(), "Summary");
    assert!(
        summary[0][0].contains("Integrity Dashboard 2020/21, Quarter 2"),
        "{}",
        summary[0][0]
    );
    let psd_line = summary
        .iter()
        .find(|row| row.first().is_some_and(|c| c == "Professional Standards"))
        .expect("PSD line");
    assert_eq!(
        psd_line[1..4],
        ["1", "1", "0"],
        "expected, received, missing"
    );

    let owners = sheet_rows(&installation.dashboard(), "Data Owners and Sources");
    let l_and_d = owners
        .iter()
        .find(|row| row.first().is_some_and(|c| c == "L&D 1"))
        .expect("L&D 1");
    assert_eq!(
        l_and_d[2..4],
        ["Learning & Development", "L&D Monthly Dashboard"]
    );
}

#[test]
fn the_dashboard_has_native_charts_for_psd1_hr3_and_fin1() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let file = std::fs::File::open(installation.dashboard()).expect("dashboard");
    let mut archive = zip::ZipArchive::new(file).expect("xlsx is a zip");
    let mut titles = String::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("entry");
        if entry
            .name()
            .expect("entry name")
            .starts_with("xl/charts/chart")
        {
            entry.read_to_string(&mut titles).expect("chart xml");
        }
    }
    for code in ["PSD 1", "HR 3", "FIN 1"] {
        assert!(
            titles.contains(&format!("{code}: this year by quarter")),
            "no quarterly chart for {code}"
        );
    }
    assert!(
        titles.contains("PSD 1: previous years"),
        "no historical chart for PSD 1"
    );
    assert!(
        titles.contains("PSD!$C$"),
        "the PSD chart refers to the PSD sheet's figures"
    );
}

#[test]
fn the_exceptions_workbook_names_the_seed_faults_with_their_cells() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    let has = |file: &str, cell: &str, rule: &str| {
        warnings
            .iter()
            .any(|row| row[3] == file && row[5] == cell && row[7] == rule)
    };
    assert!(
        has("2020-21 Q2 PSD return.xlsx", "E8", "no-future-quarters"),
        "QTR 3 figure in a Q2 report"
    );
    assert!(
        has(
            "2020-21 Q2 L&D return.ods",
            "D4",
            "ld1-disclosure-trained-needs-courses"
        ),
        "22 trained in Disclosure with 0 courses"
    );
    assert!(
        has("2020-21 Q2 PSD return.xlsx", "D6", "figures-complete"),
        "PSD 1 blank upheld allegations"
    );
    assert!(
        has("2020-21 Q2 L&D return.ods", "D6", "figures-complete"),
        "L&D 1 blank stop & search trained"
    );
    let disclosure = warnings
        .iter()
        .find(|row| row[5] == "D4")
        .expect("disclosure row");
    assert_eq!(
        disclosure[6], "22 with 0 (L&D!D3)",
        "value found names the courses cell"
    );
    assert!(
        disclosure[9].contains("22 officers trained in Disclosure"),
        "{}",
        disclosure[9]
    );

    // Each return has its own report to send back, in xlsx and JSON.
    let report = installation
        .outbox()
        .join("returns/2020-21 Q2 PSD return.xlsx.exceptions.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("json report")).expect("valid json");
    assert_eq!(json["accepted"], true);
    assert_eq!(json["exceptions"][0]["cell"], "E8");
    let xlsx = installation
        .outbox()
        .join("returns/2020-21 Q2 PSD return.xlsx.exceptions.xlsx");
    let rows = sheet_rows(&xlsx, "Exceptions");
    assert!(
        rows.iter()
            .any(|row| row.first().is_some_and(|c| c == "PSD!E8")),
        "xlsx report lists E8"
    );
}

#[test]
fn only_returns_with_exceptions_get_a_report_to_send_back() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let reports = installation.outbox().join("returns");
    assert!(
        !reports
            .join("2020-21 Q2 HR return.xlsx.exceptions.json")
            .exists()
    );
    assert!(
        !reports
            .join("2020-21 Q2 HR return.xlsx.exceptions.xlsx")
            .exists()
    );
    assert!(
        reports
            .join("2020-21 Q2 PSD return.xlsx.exceptions.json")
            .exists()
    );
    assert!(
        reports
            .join("2020-21 Q2 PSD return.xlsx.exceptions.xlsx")
            .exists()
    );
}
