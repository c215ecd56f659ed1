//! The real quirks of departments' workbooks: float noise, numbers as text, dates as serials, merged and
//! hidden sheets, files saved by LibreOffice, and text that looks like a formula.

use calamine::{Data, Reader, open_workbook_auto};
use collate::template::Entry;

use crate::support::{Installation, data_rows, figure, repo, seed_draft, sheet_rows, stdout};

#[test]
fn float_noise_text_numbers_and_date_serials_are_read_as_meant() {
    let installation = Installation::new();
    let psd = seed_draft(&installation, "psd-quarterly")
        .total_formulas(false)
        .figure("PSD 1", "complaints", 0, "QTR 1", 39.000_000_000_000_01)
        .figure("PSD 1", "allegations", 0, "QTR 2", " 47 ")
        .field("date_completed", 44119.0);
    installation.receive("psd.xlsx", &psd.to_bytes().expect("workbook"), 1);
    let fin = seed_draft(&installation, "fin-quarterly").figure(
        "FIN 1",
        "compliant_cards",
        0,
        "QTR 2",
        "1,979",
    );
    installation.receive("fin.xlsx", &fin.to_bytes().expect("workbook"), 2);
    assert_eq!(installation.run(), 0);
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q1").as_deref(),
        Some("39")
    );
    assert_eq!(
        figure(&rows, "PSD 1", "allegations", "2020/21", "Q2").as_deref(),
        Some("47")
    );
    assert_eq!(
        figure(&rows, "FIN 1", "compliant_cards", "2020/21", "Q2").as_deref(),
        Some("1979")
    );
}

#[test]
fn a_date_that_cannot_be_read_is_named() {
    let installation = Installation::new();
    let psd =
        seed_draft(&installation, "psd-quarterly").field("date_completed", "after the meeting");
    let path = installation.receive("psd.xlsx", &psd.to_bytes().expect("workbook"), 1);
    let output = installation.collate(&["check", &path.to_string_lossy()]);
    let text = stdout(&output);
    assert!(
        text.contains("[Cover!C10]: error field-type: Date completed: a date"),
        "{text}"
    );
}

#[test]
fn figures_on_a_hidden_sheet_are_read_and_queried() {
    let installation = Installation::new();
    let psd = seed_draft(&installation, "psd-quarterly").hide_sheet("PSD");
    installation.receive("psd.xlsx", &psd.to_bytes().expect("workbook"), 1);
    assert_eq!(installation.run(), 0, "accepted, with a query");
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    assert!(
        warnings
            .iter()
            .any(|row| row[7] == "hidden-sheet" && row[4] == "PSD")
    );
}

#[test]
fn a_value_inside_merged_cells_reads_the_merged_areas_value() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let format = rust_xlsxwriter::Format::new();
    sheet
        .merge_range(1, 1, 1, 4, "merged text", &format)
        .expect("merge");
    let bytes = workbook.save_to_buffer().expect("save");
    let mut source =
        collate::read::SourceWorkbook::open(bytes, "xlsx", &collate::schema::ReadLimits::default())
            .expect("open");
    let blank = source.cell("Sheet1", 1, 3).expect("cell");
    assert_eq!(
        blank.value,
        Data::Empty,
        "as stored, only the area's first cell holds the value"
    );
    let cell = source.explain_blank(blank);
    assert_eq!(cell.value, Data::String("merged text".into()));
    assert_eq!(
        cell.address(),
        "B2",
        "the merged area's own cell is reported"
    );
}

#[test]
fn returns_saved_by_libreoffice_give_the_same_figures() {
    for fixture in [
        "libreoffice_psd_return.ods",
        "libreoffice_psd_return.xls",
        "libreoffice_psd_return.xlsx",
    ] {
        let installation = Installation::new();
        let bytes = std::fs::read(repo().join("tests/fixtures").join(fixture)).expect("fixture");
        installation.receive(fixture, &bytes, 1);
        assert_eq!(installation.run(), 0, "{fixture} accepted");
        let rows = data_rows(&installation.dashboard());
        assert_eq!(
            figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
            Some("24"),
            "{fixture}"
        );
        assert_eq!(
            figure(&rows, "PSD 1", "allegations", "2020/21", "").as_deref(),
            Some("105"),
            "{fixture}"
        );
        let warnings = sheet_rows(&installation.exceptions(), "Warnings");
        assert!(
            warnings
                .iter()
                .any(|row| row[5] == "E8" && row[7] == "no-future-quarters"),
            "{fixture}: the QTR 3 figure is found in every format"
        );
    }
}

#[test]
fn text_from_a_return_is_written_as_text_never_as_a_formula() {
    let installation = Installation::new();
    let sneaky = "=HYPERLINK(\"http://example.invalid\",\"click\")";
    let psd = seed_draft(&installation, "psd-quarterly").analysis("PSD 1", sneaky);
    installation.receive("psd.xlsx", &psd.to_bytes().expect("workbook"), 1);
    installation.run();
    let mut workbook = open_workbook_auto(installation.dashboard()).expect("dashboard");
    let formulas = workbook.worksheet_formula("PSD").expect("formulas");
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula on the PSD sheet"
    );
    let values = workbook.worksheet_range("PSD").expect("values");
    assert!(
        values
            .used_cells()
            .any(|(_, _, v)| matches!(v, Data::String(s) if s.contains(sneaky))),
        "the text is there, as text"
    );
}

#[test]
fn not_applicable_is_not_a_missing_figure() {
    let installation = Installation::new();
    let sd = crate::seed_returns::survey_draft(&installation.schemas, 2).figure(
        "PC 1",
        "street_neither",
        0,
        "",
        Entry::Text("n/a".into()),
    );
    let path = installation.receive("sd.xlsx", &sd.to_bytes().expect("workbook"), 1);
    let output = installation.collate(&["check", &path.to_string_lossy()]);
    assert_eq!(
        stdout(&output).trim(),
        "sd.xlsx: accepted",
        "N/A raises no query"
    );
}
