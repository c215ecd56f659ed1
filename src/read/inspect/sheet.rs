//! A sheet as the reader reads it: its cells, and its merged areas. After a sheet's cells (`</sheetData>`)
//! Excel and LibreOffice save its conditional formats, data validations, protection, page set-up and
//! such: often most of the sheet's bytes, and never read by the reader, which stops at the end of the
//! cells and looks further only for merged areas. Only what it reads is scanned and handed on.

use std::ops::Range;

use memchr::memmem;
use quick_xml::events::Event;

const CELLS_END: &[u8] = b"</sheetData>";
const MERGED_START: &[u8] = b"<mergeCells";
const MERGED_END: &[u8] = b"</mergeCells>";

/// What a sheet may hold after its merged areas, by the order the file format sets (and Excel and
/// LibreOffice keep): once one of these begins, no merged areas follow.
const AFTER_MERGED: [&[u8]; 24] = [
    b"phoneticPr",
    b"conditionalFormatting",
    b"dataValidations",
    b"hyperlinks",
    b"printOptions",
    b"pageMargins",
    b"pageSetup",
    b"headerFooter",
    b"rowBreaks",
    b"colBreaks",
    b"customProperties",
    b"cellWatches",
    b"ignoredErrors",
    b"smartTags",
    b"drawing",
    b"legacyDrawing",
    b"legacyDrawingHF",
    b"drawingHF",
    b"picture",
    b"oleObjects",
    b"controls",
    b"webPublishItems",
    b"tableParts",
    b"extLst",
];

/// Whether a sheet unpacked so far holds all that [`as_read`] keeps of it: the end of its cells, then
/// either its merged areas whole or, with none begun, what comes after them (or the sheet's end). Only
/// the sheet's own elements count, not those nested in them (a custom view has its own page set-up).
pub fn read_through(sheet: &[u8]) -> bool {
    let Some(cells_end) = memmem::find(sheet, CELLS_END) else {
        return false;
    };
    let mut events = super::markup::reader(&sheet[cells_end + CELLS_END.len()..]);
    // The sheet's own end closes what began before the cells'.
    events.config_mut().allow_unmatched_ends = true;
    let mut depth = 0usize;
    loop {
        match events.read_event() {
            Ok(Event::Start(element))
                if depth == 0 && element.local_name().as_ref() == b"mergeCells" =>
            {
                return memmem::find(events.into_inner(), MERGED_END).is_some();
            }
            Ok(Event::Start(element) | Event::Empty(element))
                if depth == 0 && AFTER_MERGED.contains(&element.local_name().as_ref()) =>
            {
                return true;
            }
            Ok(Event::Start(_)) => depth += 1,
            // The sheet's own end.
            Ok(Event::End(_)) if depth == 0 => return true,
            Ok(Event::End(_)) => depth -= 1,
            // Not yet unpacked, or never read.
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

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

    #[test]
    fn a_sheet_is_read_through_once_its_cells_and_merged_areas_are_unpacked() {
        let cells = r#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>"#;
        let read_through = |rest: &str| read_through(format!("{cells}{rest}").as_bytes());
        // The cells alone: merged areas may follow.
        assert!(!read_through(""));
        assert!(!read_through(r#"<sheetProtection sheet="1"/>"#));
        assert!(!read_through(
            r#"<mergeCells count="1"><mergeCell ref="A1:B1"/>"#
        ));
        assert!(read_through(
            r#"<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>"#
        ));
        // What always comes after merged areas, or the sheet's end.
        assert!(read_through(
            r#"<sheetProtection sheet="1"/><conditionalFormatting sqref="A1">"#
        ));
        assert!(read_through(r#"<pageMargins left="0.7"/>"#));
        assert!(read_through("</worksheet>"));
        // A custom view's own page set-up is nested: merged areas may still follow it.
        assert!(!read_through(
            r#"<customSheetViews><customSheetView guid="x"><pageMargins left="0.7"/></customSheetView></customSheetViews>"#
        ));
        assert!(!read_through(r#"<pageMarg"#));
        assert!(!read_through(&cells.replace("</sheetData>", "")));
    }
}
