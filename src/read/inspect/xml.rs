//! The XML parts of a zip workbook (xlsx or ods), scanned once, building nothing from them: what each
//! sheet claims and holds, the shared strings and the cells that refer to them, and how deep it nests.

use std::ops::ControlFlow;

use quick_xml::events::{BytesStart, Event};

use super::markup::{attribute, reader, text_of};
use super::{MB, Part, too_big};
use crate::excel::parse_a1;
use crate::read::Unreadable;
use crate::schema::ReadLimits;

/// What the parts of one workbook hold, gathered across parts.
#[derive(Debug, Default)]
pub struct Findings {
    /// The length in bytes of each shared string, in order.
    string_lengths: Vec<u64>,
    /// Every shared-string index a cell refers to, over all sheets.
    string_refs: Vec<u32>,
    sheets: usize,
    cells: u64,
}

impl Findings {
    /// The checks that need every part: how much text the cells' references to shared strings add up to.
    pub fn check(&self, limits: &ReadLimits) -> Result<(), Unreadable> {
        let referred: u64 = self
            .string_refs
            .iter()
            .filter_map(|&index| self.string_lengths.get(index as usize))
            .sum();
        if referred > limits.uncompressed_mb * MB {
            return Err(too_big(format!(
                "its cells repeat shared text that comes to {} MB when read (at most {} MB)",
                referred / MB,
                limits.uncompressed_mb
            )));
        }
        Ok(())
    }
}

/// Where the scan of one part stands.
#[derive(Debug, Default)]
struct Scan {
    depth: usize,
    row: u64,
    col: u64,
    /// The bounding box of the cells seen: (first row, first column, last row, last column), 1-based.
    bounds: Option<(u64, u64, u64, u64)>,
    shared_cell: bool,
    in_value: bool,
    in_string: Option<u64>,
    /// ods: the repeat of the row in hand, and whether it holds anything.
    row_repeat: u64,
    row_has_content: bool,
}

/// Scans one XML part; `Err` names what is too big.
pub fn scan(
    content: &[u8],
    name: &str,
    part: Part,
    limits: &ReadLimits,
    found: &mut Findings,
) -> Result<(), Unreadable> {
    let mut scan = Scan::default();
    let mut events = reader(content);
    loop {
        match events.read_event() {
            Ok(Event::Start(element)) => {
                scan.depth += 1;
                if scan.depth > limits.nesting {
                    return Err(too_big(format!(
                        "{} nests more than {} levels deep",
                        part.describe(name),
                        limits.nesting
                    )));
                }
                element_started(&element, false, part, &mut scan, found, limits)?;
            }
            Ok(Event::Empty(element)) => {
                element_started(&element, true, part, &mut scan, found, limits)?
            }
            Ok(Event::End(element)) => {
                scan.depth = scan.depth.saturating_sub(1);
                element_ended(
                    element.local_name().into_inner(),
                    part,
                    &mut scan,
                    found,
                    limits,
                )?;
            }
            // Text that is not UTF-8 stops the reader, and so the scan.
            Ok(Event::Text(text)) => {
                if text_found(&text, part, &mut scan, found).is_break() {
                    break;
                }
            }
            Ok(Event::CData(text)) => {
                if text_found(&text, part, &mut scan, found).is_break() {
                    break;
                }
            }
            // An entity (`&amp;`) counts as the text it is written as, as it did before the split.
            Ok(Event::GeneralRef(entity)) => add_string_length(&mut scan, entity.len() as u64 + 2),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    check_extent(&scan, name, part, limits)
}

fn add_string_length(scan: &mut Scan, length: u64) {
    if let Some(total) = scan.in_string.as_mut() {
        *total += length;
    }
}

/// Text as the reader decodes it: `Break` when it is not UTF-8, where calamine stops.
fn text_found(text: &[u8], part: Part, scan: &mut Scan, found: &mut Findings) -> ControlFlow<()> {
    let Ok(text) = std::str::from_utf8(text) else {
        return ControlFlow::Break(());
    };
    match part {
        Part::SharedStrings => add_string_length(scan, text.len() as u64),
        Part::Worksheet if scan.in_value && scan.shared_cell => {
            if let Ok(index) = text.trim().parse() {
                found.string_refs.push(index);
            }
        }
        _ => {}
    }
    ControlFlow::Continue(())
}

fn number_attribute(element: &BytesStart<'_>, name: &str) -> Option<u64> {
    attribute(element, name, |value| value.trim().parse().ok())
}

/// A cell's place, from its reference (`r`) if it has one, and whether it holds shared text (`t="s"`),
/// in one pass over its attributes (every cell of every sheet comes through here).
fn cell_attributes(element: &BytesStart<'_>) -> (Option<(u32, u32)>, bool) {
    let (mut reference, mut kind) = (None, None);
    for attribute in element
        .attributes()
        .with_checks(false)
        .map_while(Result::ok)
    {
        let slot = match attribute.key.as_ref() {
            b"r" => &mut reference,
            b"t" => &mut kind,
            _ => continue,
        };
        // The first of each counts.
        if slot.is_none() {
            *slot = text_of(attribute.value);
        }
    }
    let place = reference.as_deref().and_then(parse_a1);
    (place, kind.as_deref() == Some("s"))
}

fn element_started(
    element: &BytesStart<'_>,
    empty: bool,
    part: Part,
    scan: &mut Scan,
    found: &mut Findings,
    limits: &ReadLimits,
) -> Result<(), Unreadable> {
    match part {
        Part::Worksheet => worksheet_element(element, scan, found, limits),
        Part::SharedStrings => shared_strings_element(element, empty, scan, found, limits),
        Part::Workbook if element.local_name().as_ref() == b"sheet" => count_sheet(found, limits),
        Part::OdsContent => ods_element(element, empty, scan, found, limits),
        _ => Ok(()),
    }
}

fn count_sheet(found: &mut Findings, limits: &ReadLimits) -> Result<(), Unreadable> {
    found.sheets += 1;
    if found.sheets > limits.sheets {
        return Err(too_big(format!(
            "it has more than {} sheets",
            limits.sheets
        )));
    }
    Ok(())
}

fn count_cells(found: &mut Findings, cells: u64, limits: &ReadLimits) -> Result<(), Unreadable> {
    found.cells = found.cells.saturating_add(cells);
    if found.cells > limits.cells {
        return Err(too_big(format!(
            "it holds more than {} cells",
            limits.cells
        )));
    }
    Ok(())
}

fn worksheet_element(
    element: &BytesStart<'_>,
    scan: &mut Scan,
    found: &mut Findings,
    limits: &ReadLimits,
) -> Result<(), Unreadable> {
    match element.local_name().as_ref() {
        b"dimension" => {
            if let Some((first, last)) = attribute(element, "ref", |reference| {
                let (a, b) = reference.split_once(':')?;
                Some((parse_a1(a)?, parse_a1(b)?))
            }) {
                let area = area(first, last);
                if area > limits.cells {
                    return Err(too_big(format!(
                        "a sheet claims to span {area} cells (at most {} allowed)",
                        limits.cells
                    )));
                }
            }
        }
        b"row" => {
            scan.row = number_attribute(element, "r").unwrap_or(scan.row + 1);
            scan.col = 0;
        }
        b"c" => {
            let (place, shared) = cell_attributes(element);
            let (row, col) = match place {
                Some((row, col)) => (u64::from(row) + 1, u64::from(col) + 1),
                None => (scan.row.max(1), scan.col + 1),
            };
            scan.col = col;
            extend_bounds(scan, row, col, row, col);
            scan.shared_cell = shared;
            count_cells(found, 1, limits)?;
        }
        b"v" => scan.in_value = true,
        _ => {}
    }
    Ok(())
}

fn area((r1, c1): (u32, u32), (r2, c2): (u32, u32)) -> u64 {
    (u64::from(r1.abs_diff(r2)) + 1) * (u64::from(c1.abs_diff(c2)) + 1)
}

fn extend_bounds(scan: &mut Scan, first_row: u64, first_col: u64, last_row: u64, last_col: u64) {
    scan.bounds = Some(match scan.bounds {
        None => (first_row, first_col, last_row, last_col),
        Some((r1, c1, r2, c2)) => (
            r1.min(first_row),
            c1.min(first_col),
            r2.max(last_row),
            c2.max(last_col),
        ),
    });
}

fn shared_strings_element(
    element: &BytesStart<'_>,
    empty: bool,
    scan: &mut Scan,
    found: &mut Findings,
    limits: &ReadLimits,
) -> Result<(), Unreadable> {
    match element.local_name().as_ref() {
        b"sst" => {
            for claim in ["uniqueCount", "count"] {
                if let Some(count) = number_attribute(element, claim)
                    && count > limits.cells
                {
                    return Err(too_big(format!(
                        "its table of shared text claims {count} entries (at most {} allowed)",
                        limits.cells
                    )));
                }
            }
        }
        b"si" if empty => found.string_lengths.push(0),
        b"si" => scan.in_string = Some(0),
        _ => {}
    }
    if found.string_lengths.len() as u64 > limits.cells {
        return Err(too_big(format!(
            "its table of shared text holds more than {} entries",
            limits.cells
        )));
    }
    Ok(())
}

/// `local_name`: the element's name without its namespace prefix.
fn element_ended(
    local_name: &[u8],
    part: Part,
    scan: &mut Scan,
    found: &mut Findings,
    limits: &ReadLimits,
) -> Result<(), Unreadable> {
    match (part, local_name) {
        (Part::Worksheet, b"v") => scan.in_value = false,
        (Part::SharedStrings, b"si") => {
            if let Some(length) = scan.in_string.take() {
                found.string_lengths.push(length);
            }
        }
        (Part::OdsContent, b"table-row") => ods_row_ended(scan),
        (Part::OdsContent, b"table") => {
            check_extent(scan, "content.xml", part, limits)?;
            *scan = Scan {
                depth: scan.depth,
                ..Scan::default()
            };
        }
        _ => {}
    }
    Ok(())
}

/// An ods row is read as many times as it repeats; its cells as many times as each repeats.
fn ods_element(
    element: &BytesStart<'_>,
    empty: bool,
    scan: &mut Scan,
    found: &mut Findings,
    limits: &ReadLimits,
) -> Result<(), Unreadable> {
    match element.name().as_ref() {
        b"table:table" => count_sheet(found, limits)?,
        b"table:table-row" => {
            scan.row_repeat = number_attribute(element, "table:number-rows-repeated")
                .unwrap_or(1)
                .max(1);
            scan.row_has_content = false;
            scan.col = 0;
            if empty {
                ods_row_ended(scan);
            }
        }
        b"table:table-cell" | b"table:covered-table-cell" => {
            let repeat = number_attribute(element, "table:number-columns-repeated")
                .unwrap_or(1)
                .max(1);
            let has_content =
                !empty || attribute(element, "office:value-type", |_| Some(())).is_some();
            if has_content {
                let first_col = scan.col + 1;
                let last_col = scan.col.saturating_add(repeat);
                let (first_row, last_row) =
                    (scan.row + 1, scan.row.saturating_add(scan.row_repeat));
                extend_bounds(scan, first_row, first_col, last_row, last_col);
                scan.row_has_content = true;
                count_cells(found, repeat.saturating_mul(scan.row_repeat), limits)?;
            }
            scan.col = scan.col.saturating_add(repeat);
        }
        _ => {}
    }
    Ok(())
}

fn ods_row_ended(scan: &mut Scan) {
    scan.row = scan.row.saturating_add(scan.row_repeat.max(1));
    scan.row_repeat = 1;
}

/// The reader builds a sheet as one rectangle from its first cell to its last: that rectangle must fit.
fn check_extent(
    scan: &Scan,
    name: &str,
    part: Part,
    limits: &ReadLimits,
) -> Result<(), Unreadable> {
    if !matches!(part, Part::Worksheet | Part::OdsContent) {
        return Ok(());
    }
    let Some((r1, c1, r2, c2)) = scan.bounds else {
        return Ok(());
    };
    if r2 > u64::from(EXCEL_ROWS) || c2 > u64::from(EXCEL_COLUMNS) {
        return Err(too_big(format!(
            "{} has a cell beyond Excel's last row ({EXCEL_ROWS}) or column ({EXCEL_COLUMNS})",
            part.describe(name)
        )));
    }
    let area = (r2 - r1 + 1).saturating_mul(c2 - c1 + 1);
    if area > limits.cells {
        return Err(too_big(format!(
            "a sheet's cells spread over {area} cells, from its first to its last (at most {} allowed)",
            limits.cells
        )));
    }
    Ok(())
}

/// Excel's own size of a sheet.
pub const EXCEL_ROWS: u32 = 1_048_576;
pub const EXCEL_COLUMNS: u32 = 16_384;

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(sheet: &[u8]) -> Result<(), Unreadable> {
        let limits = ReadLimits::default();
        let mut found = Findings::default();
        scan(
            sheet,
            "xl/worksheets/sheet1.xml",
            Part::Worksheet,
            &limits,
            &mut found,
        )
    }

    #[test]
    fn text_that_is_not_utf8_ends_the_scan_as_it_ends_the_reader() {
        // The reader stops at the text it cannot decode: the cell after it is never built, so it is no
        // reason to refuse the file; before the text, it is.
        let far = br#"<c r="XFD1048576"><v>1</v></c>"#;
        let bad = b"<c r=\"A1\" t=\"str\"><v>\xff</v></c>";
        let sheet = |first: &[u8], second: &[u8]| -> Vec<u8> {
            [
                b"<worksheet><sheetData><row r=\"1\">".as_slice(),
                first,
                second,
                b"</row></sheetData></worksheet>",
            ]
            .concat()
        };
        assert!(scanned(&sheet(bad, far)).is_ok());
        let refused =
            scanned(&sheet(far, bad)).expect_err("a cell past the limits before the bad text");
        assert!(refused.0.contains("spread over"), "{refused}");
    }
}
