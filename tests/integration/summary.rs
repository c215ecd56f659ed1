//! The dashboard's Summary as the board reads it: every column totalled, counts that agree with
//! exceptions.xlsx, and each number under its own heading.

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
            "Exceptions in rejected returns",
            "Queries in accepted returns"
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
    let rejected_rows = sheet_rows(&installation.exceptions(), "Rejected").len() - 1;
    let warning_rows = sheet_rows(&installation.exceptions(), "Warnings").len() - 1;
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
