//! A sheet as the reader reads it: its cells, and its merged areas. After a sheet's cells (`</sheetData>`)
//! Excel and LibreOffice save its conditional formats, data validations, protection, page set-up and
//! such: often most of the sheet's bytes, and never read by the reader, which stops at the end of the
//! cells and looks further only for merged areas. Only what it reads is scanned and handed on.

use std::ops::Range;

use memchr::memmem;

const CELLS_END: &[u8] = b"</sheetData>";
const MERGED_START: &[u8] = b"<mergeCells";
const MERGED_END: &[u8] = b"</mergeCells>";

/// The sheet up to the end of its cells, then its merged areas, then the sheet's end. A sheet whose cells
/// do not end so (no cells, or names with a namespace prefix) is handed on whole, as it came.
pub fn as_read(mut sheet: Vec<u8>) -> Vec<u8> {
    let Some(cells_end) = memmem::find(&sheet, CELLS_END).map(|at| at + CELLS_END.len()) else {
        return sheet;
    };
    let merged = merged_areas(&sheet[cells_end..]);
    let kept = match merged {
        Some(Range { start, end }) => {
            sheet.copy_within(cells_end + start..cells_end + end, cells_end);
            cells_end + (end - start)
        }
        None => cells_end,
    };
    sheet.truncate(kept);
    sheet.extend_from_slice(b"</worksheet>");
    sheet
}

/// Where the list of merged areas lies in what follows the cells, if it is there whole.
fn merged_areas(rest: &[u8]) -> Option<Range<usize>> {
    let start = memmem::find(rest, MERGED_START)?;
    let end = memmem::find(&rest[start..], MERGED_END)? + start + MERGED_END.len();
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_of(sheet: &str) -> String {
        String::from_utf8(as_read(sheet.as_bytes().to_vec())).expect("utf-8")
    }

    #[test]
    fn a_sheet_is_handed_on_as_its_cells_and_merged_areas() {
        let cells = r#"<worksheet><dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>"#;
        let merged = r#"<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>"#;
        let sheet = format!(
            r#"{cells}<sheetProtection sheet="1"/>{merged}<conditionalFormatting sqref="A1"><cfRule type="expression"><formula>A1&gt;1</formula></cfRule></conditionalFormatting><pageMargins left="0.7"/></worksheet>"#
        );
        assert_eq!(read_of(&sheet), format!("{cells}{merged}</worksheet>"));
        let unmerged = format!("{cells}<pageMargins left=\"0.7\"/></worksheet>");
        assert_eq!(read_of(&unmerged), format!("{cells}</worksheet>"));
    }

    #[test]
    fn a_sheet_whose_cells_do_not_end_as_expected_is_handed_on_whole() {
        for sheet in [
            "<worksheet><sheetData/><pageMargins/></worksheet>",
            "<x:worksheet><x:sheetData></x:sheetData><x:pageMargins/></x:worksheet>",
            "<worksheet><sheetData><row/>",
        ] {
            assert_eq!(read_of(sheet), sheet);
        }
    }

    #[test]
    fn merged_areas_cut_short_are_left_out() {
        let sheet = "<worksheet><sheetData></sheetData><mergeCells><mergeCell ref=\"A1:B1\"/>";
        assert_eq!(
            read_of(sheet),
            "<worksheet><sheetData></sheetData></worksheet>"
        );
    }

    #[test]
    fn nesting_after_the_cells_is_never_read_and_so_never_refused_but_among_them_it_is() {
        let scanned = |sheet: String| {
            let mut found = crate::read::inspect::xml::Findings::default();
            crate::read::inspect::xml::scan(
                &as_read(sheet.into_bytes()),
                "xl/worksheets/sheet1.xml",
                crate::read::inspect::Part::Worksheet,
                &crate::schema::ReadLimits::default(),
                &mut found,
            )
        };
        let deep = format!("{}{}", "<extLst>".repeat(200), "</extLst>".repeat(200));
        let after = format!("<worksheet><sheetData></sheetData>{deep}</worksheet>");
        assert!(scanned(after).is_ok());
        let among = format!("<worksheet><sheetData>{deep}</sheetData></worksheet>");
        let refused = scanned(among).expect_err("nested among the cells");
        assert!(refused.0.contains("levels deep"), "{refused}");
    }
}
