//! The dashboard as the board reads it: a Summary with every column totalled, counts that agree with
//! exceptions.xlsx and each number under its own heading; totals over a blank quarter marked as partial.

use crate::support::{Installation, cell_format, sheet_rows};

#[test]
fn every_column_is_totalled_and_the_counts_agree_with_the_exceptions_workbook() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let summary = sheet_rows(&installation.dashboard(), "Summary");
    let header = &summary[4];
    assert_eq!(
        header[..6],
        [
            "Department",
            "Returns expected",
            "Returns received",
            "Returns missing",
            "Exceptions in its rejected returns for the quarter",
            "Queries in its returns for the quarter"
        ]
    );
    let total_row = summary
        .iter()
        .position(|row| row[0] == "All departments")
        .expect("a total row");
    let number = |cell: &str| {
        cell.parse::<f64>()
            .unwrap_or_else(|_| panic!("a number: {cell:?}"))
    };
    for col in 1..6 {
        let sum: f64 = summary[5..total_row]
            .iter()
            .map(|row| number(&row[col]))
            .sum();
        assert_eq!(
            number(&summary[total_row][col]),
            sum,
            "{} totalled",
            header[col]
        );
    }
    // An exception's row names its file (an empty list says so in a line of its own) and its period: the
    // Summary counts the quarter's own.
    let listed = |sheet: &str| {
        sheet_rows(&installation.exceptions(), sheet)[1..]
            .iter()
            .filter(|row| !row[3].is_empty() && row[1] == "2020/21 Q2")
            .count()
    };
    let (rejected_rows, warning_rows) = (listed("Rejected"), listed("Warnings"));
    assert_eq!(number(&summary[total_row][4]), rejected_rows as f64);
    assert_eq!(number(&summary[total_row][5]), warning_rows as f64);
    assert!(warning_rows > 0, "the sample has queries");
    // Numbers are right-aligned, so their headings must be too, or each reads as the next column's.
    for (heading, first_number) in [("B5", "B6"), ("D5", "D6"), ("F5", "F6")] {
        assert!(
            cell_format(&installation.dashboard(), "Summary", heading)
                .contains("horizontal=\"right\""),
            "{heading} right-aligned over {first_number}"
        );
    }
}

#[test]
fn a_total_over_a_blank_quarter_is_marked_partial_on_the_sheet_and_in_the_data_table() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let dashboard = installation.dashboard();
    // The seed's Q2 PSD return leaves upheld allegations blank for QTR 2 (PSD!D6).
    let data = sheet_rows(&dashboard, "Data");
    let header = &data[0];
    let column = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (measure, figure, complete, year) = (
        column("measure"),
        column("figure"),
        column("complete"),
        column("financial_year"),
    );
    let total = |id: &str| {
        data.iter()
            .find(|row| {
                row[measure] == id && row[year] == "2020/21" && row[figure] == "year_to_date"
            })
            .unwrap_or_else(|| panic!("a 2020/21 total for {id}"))
            .clone()
    };
    assert_eq!(
        total("allegations_upheld")[complete],
        "false",
        "Q1 only: partial"
    );
    assert_eq!(
        total("complaints")[complete],
        "true",
        "Q1 and Q2 both given"
    );
    assert!(
        data[1..]
            .iter()
            .filter(|row| row[complete] == "false")
            .count()
            >= 1
            && data[1..]
                .iter()
                .all(|row| row[complete] == "true" || row[complete] == "false")
    );

    let sheet = sheet_rows(&dashboard, "PSD");
    let row = 1 + sheet
        .iter()
        .position(|r| r[0] == "PSD 1" && r[1] == "Number of allegations upheld per quarter")
        .expect("the upheld allegations row");
    let cell = format!("G{row}");
    // Read back with openpyxl: italic on grey, the reason in the cell's note.
    let look = crate::support::cell_look(&dashboard, "PSD", &cell);
    assert!(look.italic && look.fill == "E7E6E6", "{cell} styled apart");
    let note = look.note;
    assert!(
        note.contains(
            "Partial total: QTR 2 is blank in the return, so not counted (a blank is not 0)."
        ),
        "{note}"
    );
}

#[test]
fn n_a_in_a_count_is_a_query_unless_the_measure_allows_it() {
    let installation = Installation::with_sample_inbox();
    let bytes = crate::support::seed_draft(&installation, "psd-quarterly")
        .figure("PSD 1", "complaints", 0, "QTR 2", "n/a")
        .to_bytes()
        .expect("workbook");
    installation.age_inbox();
    installation.receive("PSD Q2 corrected.xlsx", &bytes, 3000);
    installation.run();
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    let queries: Vec<&Vec<String>> = warnings
        .iter()
        .filter(|row| row.iter().any(|c| c == "not-applicable"))
        .collect();
    assert_eq!(
        queries.len(),
        1,
        "only the PSD count, not the street survey's allowed N/A: {queries:?}"
    );
    assert!(
        queries[0].iter().any(|c| c.contains(
            "QTR 2 2020/21 says \"n/a\" where a count is expected: the dashboard shows it as a gap"
        )),
        "{:?}",
        queries[0]
    );
    assert!(queries[0].iter().any(|c| c == "PSD"), "{:?}", queries[0]);
}

#[test]
fn every_sheet_a_person_reads_prints_on_a4_landscape_and_the_tables_for_machines_are_not_printed() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let report = installation
        .outbox()
        .join("returns/2020-21 Q2 PSD return.xlsx.exceptions.xlsx");
    let dashboard = installation.dashboard();
    for (workbook, sheet) in [
        (&dashboard, "Summary"),
        (&dashboard, "PSD"),
        (&dashboard, "Delivery Plan 2018-19"),
        (&installation.exceptions(), "Warnings"),
        (&report, "Exceptions"),
    ] {
        let number = crate::support::sheet_number(workbook, sheet);
        let xml = crate::support::xlsx_part(workbook, &format!("xl/worksheets/sheet{number}.xml"));
        assert!(
            xml.contains("fitToPage=\"1\"")
                && xml.contains("paperSize=\"9\"")
                && xml.contains("orientation=\"landscape\"")
                && xml.contains("fitToHeight=\"0\""),
            "{sheet}: A4 landscape, one page wide"
        );
    }
    // The tables for machines, and the owner's log of returns, are left out of the printout.
    for table in ["Data", "PlanStatus", "Returns"] {
        assert_not_printed(&dashboard, table);
    }
    // So are the sample's empty lists: the Summary's 0 says it, without a page of headings.
    for list in ["Rejected", "Chase list", "Board flags"] {
        assert_not_printed(&installation.exceptions(), list);
    }
    // The report a department gets back: place, kind, what is wrong and what to do on one line.
    let rows = sheet_rows(&report, "Exceptions");
    let header = rows
        .iter()
        .position(|row| row[0] == "Where")
        .expect("heading row");
    assert_eq!(
        rows[header][..5],
        [
            "Where",
            "Kind",
            "Value found",
            "What is wrong",
            "What to do"
        ]
    );
    let line = &rows[header + 1];
    assert_eq!(line[0], "PSD!E8");
    assert_eq!(line[1], "Query: please answer");
    assert!(
        line[3].contains("QTR 3") && line[4].starts_with("Report only the quarters"),
        "{line:?}"
    );
}

#[test]
fn a_cover_left_at_an_earlier_quarter_than_the_sheet_is_one_error_that_keeps_the_figures() {
    let installation = Installation::new();
    // HR types its Q3 figures into last quarter's file and leaves the cover at QTR 2.
    let bytes = crate::support::edited_seed_draft(&installation, "hr-quarterly", |hr| {
        for row in &mut hr.rows {
            if row.2 == 0 && row.3[1].is_some() {
                row.3[2] = Some(row.3[1].unwrap_or(0.0) + 2.0);
            }
        }
    })
    .to_bytes()
    .expect("workbook");
    let path = installation.receive("HR Q3 return.xlsx", &bytes, 0);
    let output = installation.collate(&["check", "--json", &path.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    let reports: serde_json::Value =
        serde_json::from_str(&crate::support::stdout(&output)).expect("JSON");
    let exceptions = reports[0]["exceptions"].as_array().expect("exceptions");
    let rules: Vec<&str> = exceptions
        .iter()
        .map(|e| e["rule_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        rules,
        ["cover-period-mismatch"],
        "one error, no advice to clear cells: {exceptions:?}"
    );
    let message = exceptions[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the cover says QTR 2 but the sheet holds QTR 3 figures for")
            && message.ends_with("measures: is this the Q3 return?"),
        "{message}"
    );
    assert!(
        exceptions[0]["guidance"]
            .as_str()
            .is_some_and(|g| g.contains("correct the quarter on the cover to QTR 3")
                && g.contains("keep the figures")),
        "{exceptions:?}"
    );
    // As the owner meets it after a run: one row on the Rejected sheet.
    installation.run();
    let rejected = sheet_rows(&installation.exceptions(), "Rejected");
    let rows: Vec<&Vec<String>> = rejected
        .iter()
        .filter(|row| row.iter().any(|c| c == "HR Q3 return.xlsx"))
        .collect();
    assert_eq!(rows.len(), 1, "{rejected:?}");
    assert!(
        rows[0].iter().any(|c| c == "cover-period-mismatch"),
        "{:?}",
        rows[0]
    );
}

/// The text of every row of the PSD sheet, one line each.
fn psd_sheet_lines(installation: &Installation) -> Vec<String> {
    sheet_rows(&installation.dashboard(), "PSD")
        .into_iter()
        .map(|row| row.join(" ").trim().to_owned())
        .collect()
}

#[test]
fn an_indicator_no_template_collects_is_shown_as_not_collected_never_as_a_department_failing() {
    let installation = Installation::with_sample_inbox();
    let lint = installation.collate(&["lint"]);
    assert!(
        crate::support::stdout(&lint)
            .contains("note: PSD 3 cases is collected by no return template"),
        "the sample's templates collect no PSD 3"
    );
    installation.run();
    let lines = psd_sheet_lines(&installation);
    let text = lines.join("\n");
    for code in ["PSD 3", "PSD 4", "PSD 5", "PSD 6"] {
        assert!(
            lines.iter().any(|l| l.starts_with(code)),
            "{code} is shown: {text}"
        );
    }
    let not_collected = lines
        .iter()
        .filter(|l| l.contains("Not collected - no return template asks for this indicator yet"))
        .count();
    assert_eq!(not_collected, 4, "{text}");
    let failing = lines
        .iter()
        .filter(|l| l.contains("no analysis has been supplied by Professional Standards"))
        .count();
    assert_eq!(
        failing, 0,
        "PSD supplies PSD 1 and 2; 3 to 6 are not asked for: {text}"
    );
}

#[test]
fn the_schema_may_leave_indicators_no_template_collects_out_of_the_dashboard() {
    let installation = Installation::with_sample_inbox();
    let settings = installation.root.join("schemas/dashboard.toml");
    let text = std::fs::read_to_string(&settings).expect("dashboard.toml");
    let changed = text.replace(
        "indicators_not_collected = \"show\"",
        "indicators_not_collected = \"leave out\"",
    );
    assert_ne!(changed, text, "the sample schema shows them");
    std::fs::write(&settings, changed).expect("written");
    installation.run();
    let lines = psd_sheet_lines(&installation);
    assert!(lines.iter().any(|l| l.starts_with("PSD 1")), "{lines:?}");
    for code in ["PSD 3", "PSD 4", "PSD 5", "PSD 6"] {
        assert!(
            !lines.iter().any(|l| l.starts_with(code)),
            "{code} left out: {lines:?}"
        );
    }
}

#[test]
fn the_exceptions_summary_and_chase_list_name_the_quarter_they_count() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let summary = sheet_rows(&installation.exceptions(), "Summary");
    let labels: Vec<&str> = summary.iter().map(|row| row[0].as_str()).collect();
    assert!(
        labels.contains(&"Returns missing for 2020/21 Q2 (due by 30/10/2020)"),
        "{labels:?}"
    );
    assert!(labels.contains(&"Board flags on 2020/21 Q2"), "{labels:?}");
    // Nothing rejected, no flag: each empty list says so, rather than print as headings alone.
    let rejected = sheet_rows(&installation.exceptions(), "Rejected");
    assert_eq!(
        rejected[1][0],
        "No rejected return is waiting for a correction."
    );
    let flags = sheet_rows(&installation.exceptions(), "Board flags");
    assert_eq!(flags[1][0], "No board flag for 2020/21 Q2.");
    // Every return for the quarter is in: the list says so, for that quarter, rather than print headings.
    let chase = sheet_rows(&installation.exceptions(), "Chase list");
    assert_eq!(
        chase[1][0],
        "Every return expected for 2020/21 Q2 has been received and accepted."
    );
    // Times are written one way, as the board and the owner write them: 15/10/2020 10:00.
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    assert_eq!(warnings[0][2], "Received");
    for row in &warnings[1..] {
        let time = row[2].as_bytes();
        let shape = time.len() == 16
            && time.iter().enumerate().all(|(i, b)| match i {
                2 | 5 => *b == b'/',
                10 => *b == b' ',
                13 => *b == b':',
                _ => b.is_ascii_digit(),
            });
        assert!(shape, "{:?}", row[2]);
    }
}

#[test]
fn a_departments_report_leaves_the_files_hash_to_the_json() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let report = installation
        .outbox()
        .join("returns/2020-21 Q2 PSD return.xlsx.exceptions.xlsx");
    let text = sheet_rows(&report, "Exceptions").concat().join(" ");
    let psd = crate::support::sha256(&installation.inbox().join("2020-21 Q2 PSD return.xlsx"));
    assert!(!text.contains("SHA-256") && !text.contains(&psd), "{text}");
    let json = std::fs::read_to_string(
        installation
            .outbox()
            .join("returns/2020-21 Q2 PSD return.xlsx.exceptions.json"),
    )
    .expect("json report");
    assert!(json.contains(&psd), "the JSON keeps it for machines");
}

#[test]
fn the_change_column_sets_the_year_to_date_against_the_same_quarters_of_the_year_before() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    // PSD's return for 2019/20 Q2, with its Q1 and Q2 complaints (30 and 20) and no allegations.
    let last_year = crate::support::edited_seed_draft(&installation, "psd-quarterly", |psd| {
        for row in &mut psd.rows {
            match row.1 {
                "complaints" => row.3 = [Some(30.0), Some(20.0), None, None],
                "allegations" => row.3 = [None; 4],
                _ => {}
            }
        }
    })
    .period("2019/20", "QTR 2")
    .to_bytes()
    .expect("workbook");
    installation.receive("2019-20 Q2 PSD return.xlsx", &last_year, 0);
    installation.run();
    let rows = sheet_rows(&installation.dashboard(), "PSD");
    let header = rows.iter().find(|row| row[0] == "Number").expect("headers");
    let change_col = header
        .iter()
        .position(|h| h == "Change on 2019/20 QTR 1–2")
        .unwrap_or_else(|| panic!("{header:?}"));
    let complaints = rows
        .iter()
        .find(|row| row[0] == "PSD 1" && row[1] == "Number of complaints made per quarter")
        .expect("complaints row");
    // 39 + 24 this year to date against 30 + 20.
    assert_eq!(complaints[change_col], "13", "{complaints:?}");
    // Allegations have no figures for last year's quarters: no change is made up.
    let allegations = rows
        .iter()
        .find(|row| row[0] == "PSD 1" && row[1] == "Number of allegations made per quarter")
        .expect("allegations row");
    assert_eq!(allegations[change_col], "", "{allegations:?}");
}

#[test]
fn an_indicator_keeps_the_rows_its_return_has_finances_last_year_by_quarter() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    // The seed's FIN 1: a "2019" row by quarter above the 2020 one.
    let finance = sheet_rows(&installation.dashboard(), "Finance");
    let last_year = finance
        .iter()
        .find(|row| row[1] == "2019/20: Number of procurement cards that are compliant")
        .unwrap_or_else(|| panic!("{finance:?}"));
    assert_eq!(last_year[0], "FIN 1");
    assert_eq!(last_year[2..6], ["2775", "3021", "3681", "3249"]);
    // Only where a return carries last year's row: PSD's does not.
    let psd = sheet_rows(&installation.dashboard(), "PSD");
    assert!(
        !psd.iter().any(|row| row[1].starts_with("2019/20: ")),
        "{psd:?}"
    );
}

/// A sheet left out of the printout: its print area is one empty cell beside its table, which office
/// suites leave out.
fn assert_not_printed(workbook: &std::path::Path, sheet: &str) {
    let names = crate::support::xlsx_part(workbook, "xl/workbook.xml");
    let local = crate::support::sheet_number(workbook, sheet) - 1;
    let area = names
        .split(&format!(
            "<definedName name=\"_xlnm.Print_Area\" localSheetId=\"{local}\">"
        ))
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("{sheet} has a print area: {names}"));
    let cell = area.rsplit('!').next().unwrap_or_default().replace('$', "");
    let number = crate::support::sheet_number(workbook, sheet);
    let xml = crate::support::xlsx_part(workbook, &format!("xl/worksheets/sheet{number}.xml"));
    assert!(
        !cell.contains(':') && !xml.contains(&format!("r=\"{cell}\"")),
        "{sheet}: the print area {area} is one empty cell"
    );
}
