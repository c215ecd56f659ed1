//! Opens a return workbook (xlsx, xlsm, xls, ods) and finds cells in it by address, defined name or label.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{
    Data, Dimensions, Ods, Reader, SheetVisible, Sheets, Xls, Xlsx, open_workbook_from_rs,
};

use crate::excel::{a1, normalise_label, parse_a1};
use crate::schema::{Columns, Locator, ReadLimits, Slot};

/// What counts as a workbook: the extensions a return may have.
pub const WORKBOOK_EXTENSIONS: [&str; 4] = ["xlsx", "xlsm", "xls", "ods"];

pub mod inspect;
pub mod message;

/// Why a file could not be opened as a workbook at all. Each reads as one line for the department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a value could not be found where the template says it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    pub sheet: String,
    pub reason: String,
}

/// A cell as found: its place, what it holds, and whether it is a formula Excel never calculated.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundCell {
    pub sheet: String,
    pub row: u32,
    pub col: u32,
    pub value: Data,
    pub uncalculated_formula: Option<String>,
}

impl FoundCell {
    pub fn address(&self) -> String {
        a1(self.row, self.col)
    }
}

/// Text cells longer than this are not indexed as labels.
const MAX_LABEL_LENGTH: usize = 300;

/// The formats this reads, told apart by content rather than by the file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xls,
    Ods,
}

struct SheetData {
    name: String,
    hidden: bool,
    cells: calamine::Range<Data>,
    /// Merged areas and formulas cost a further pass over the sheet each, so they are read only when a
    /// blank cell needs explaining.
    merged: Option<Vec<Dimensions>>,
    formulas: Option<calamine::Range<String>>,
    /// Normalised text of every text cell, to its places in reading order.
    labels: HashMap<String, Vec<(u32, u32)>>,
}

pub struct SourceWorkbook {
    reader: Sheets<Cursor<Vec<u8>>>,
    sheet_names: Vec<(String, bool)>,
    names: Vec<(String, String)>,
    loaded: HashMap<String, SheetData>,
}

/// Whether a file looks completely written, judged from its ends without parsing it: an xlsx or ods is a
/// zip, whose end-of-central-directory record is written last; an empty file is a save that has only
/// begun. Anything else is taken as complete and left to the reader to judge.
pub fn looks_complete(path: &std::path::Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(length) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut head = [0u8; 4];
    if length == 0 || file.read_exact(&mut head).is_err() {
        return false;
    }
    if &head != b"PK\x03\x04" {
        return true;
    }
    // The record is 22 bytes, after at most a 64 KiB comment.
    let tail_length = length.min(22 + 65_535);
    let mut tail = vec![0u8; tail_length as usize];
    if file.seek(SeekFrom::End(-(tail_length as i64))).is_err()
        || file.read_exact(&mut tail).is_err()
    {
        return false;
    }
    tail.windows(4).any(|window| window == b"PK\x05\x06")
}

/// Tells what the bytes are before any parser sees them, so that a wrong or broken file gets a reason
/// in the department's terms.
pub fn sniff(bytes: &[u8], extension: &str) -> Result<Format, Unreadable> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.is_empty() {
        return Err(Unreadable(
            "the file is empty (0 bytes); please send the completed workbook again".into(),
        ));
    }
    if bytes.starts_with(ZIP) {
        let is_ods = bytes.len() > 80 && bytes[30..80].windows(11).any(|w| w == b"opendocumen");
        return Ok(if is_ods || extension == "ods" {
            Format::Ods
        } else {
            Format::Xlsx
        });
    }
    if bytes.starts_with(OLE) {
        let encrypted: Vec<u8> = "EncryptedPackage"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        if bytes
            .windows(encrypted.len())
            .any(|w| w == encrypted.as_slice())
        {
            return Err(Unreadable(
                "the workbook is password-protected; remove the password (File > Info > Protect Workbook) and send it again"
                    .into(),
            ));
        }
        return Ok(Format::Xls);
    }
    let head = &bytes[..bytes.len().min(4096)];
    let looks_like_text = std::str::from_utf8(head).is_ok() && !head.contains(&0);
    if looks_like_text {
        let kind = if head.contains(&b',') || head.contains(&b';') || head.contains(&b'\t') {
            "a CSV or text file"
        } else {
            "a text file"
        };
        return Err(Unreadable(format!(
            "this is {kind}, not an Excel workbook, although it is named .{extension}; save the return from Excel as .xlsx"
        )));
    }
    Err(Unreadable(format!(
        "this is not a spreadsheet (its content is not xlsx, xlsm, xls or ods), although it is named .{extension}"
    )))
}

impl SourceWorkbook {
    /// Opens a workbook from its bytes once its container is within `limits`. Never panics on a damaged
    /// file; the reason is one line.
    pub fn open(
        bytes: Vec<u8>,
        extension: &str,
        limits: &ReadLimits,
    ) -> Result<SourceWorkbook, Unreadable> {
        let format = sniff(&bytes, extension)?;
        let bytes = inspect::inspect(bytes, format, limits)?;
        let cursor = Cursor::new(bytes);
        let damaged = |kind: &str, error: &dyn std::fmt::Display| {
            let detail = error.to_string();
            if detail.to_ascii_lowercase().contains("password") {
                Unreadable(
                    "the workbook is password-protected; remove the password and send it again"
                        .into(),
                )
            } else {
                Unreadable(format!(
                    "the {kind} file is damaged or incomplete (was it cut short while saving or copying?): {detail}"
                ))
            }
        };
        let reader = match format {
            Format::Xlsx => Sheets::Xlsx(
                open_workbook_from_rs::<Xlsx<_>, _>(cursor).map_err(|e| damaged("xlsx", &e))?,
            ),
            Format::Xls => Sheets::Xls(
                open_workbook_from_rs::<Xls<_>, _>(cursor).map_err(|e| damaged("xls", &e))?,
            ),
            Format::Ods => Sheets::Ods(
                open_workbook_from_rs::<Ods<_>, _>(cursor).map_err(|e| damaged("ods", &e))?,
            ),
        };
        let sheet_names: Vec<(String, bool)> = reader
            .sheets_metadata()
            .iter()
            .map(|sheet| (sheet.name.clone(), sheet.visible != SheetVisible::Visible))
            .collect();
        if sheet_names.is_empty() {
            return Err(Unreadable("the workbook has no worksheets".into()));
        }
        let names = reader.defined_names().to_vec();
        Ok(SourceWorkbook {
            reader,
            sheet_names,
            names,
            loaded: HashMap::new(),
        })
    }

    pub fn sheet_names(&self) -> Vec<String> {
        self.sheet_names
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether the sheet the template names is hidden in this workbook.
    pub fn is_hidden(&self, sheet: &str) -> bool {
        self.actual_sheet_name(sheet)
            .and_then(|actual| self.sheet_names.iter().find(|(name, _)| *name == actual))
            .is_some_and(|(_, hidden)| *hidden)
    }

    /// The workbook's own spelling of a sheet name; "psd " finds "PSD".
    fn actual_sheet_name(&self, wanted: &str) -> Option<String> {
        if let Some((name, _)) = self.sheet_names.iter().find(|(name, _)| name == wanted) {
            return Some(name.clone());
        }
        let wanted = normalise_label(wanted);
        self.sheet_names
            .iter()
            .find(|(name, _)| normalise_label(name) == wanted)
            .map(|(name, _)| name.clone())
    }

    fn sheet(&mut self, wanted: &str) -> Result<&mut SheetData, NotFound> {
        // Asked once per cell read, mostly by the name the sheet was loaded under: found without a copy.
        let actual = match self.loaded.contains_key(wanted) {
            true => std::borrow::Cow::Borrowed(wanted),
            false => std::borrow::Cow::Owned(self.load_sheet(wanted)?),
        };
        self.loaded
            .get_mut(actual.as_ref())
            .ok_or_else(|| NotFound {
                sheet: actual.into_owned(),
                reason: "the sheet could not be loaded".into(),
            })
    }

    /// Reads the sheet the template calls `wanted`, with its labels indexed; its name in the workbook.
    fn load_sheet(&mut self, wanted: &str) -> Result<String, NotFound> {
        let Some(actual) = self.actual_sheet_name(wanted) else {
            return Err(NotFound {
                sheet: wanted.to_owned(),
                reason: format!(
                    "the workbook has no sheet named \"{wanted}\" (it has: {})",
                    self.sheet_names().join(", ")
                ),
            });
        };
        if self.loaded.contains_key(&actual) {
            return Ok(actual);
        }
        let cells = self
            .reader
            .worksheet_range(&actual)
            .map_err(|error| NotFound {
                sheet: actual.clone(),
                reason: format!("the sheet cannot be read: {error}"),
            })?;
        let mut labels: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        for (row, col, value) in cells.used_cells() {
            // Labels are short; long texts (analysis paragraphs) are never looked up by label.
            if let Data::String(text) = value
                && text.len() <= MAX_LABEL_LENGTH
            {
                let start = cells.start().unwrap_or((0, 0));
                labels
                    .entry(normalise_label(text))
                    .or_default()
                    .push((start.0 + row as u32, start.1 + col as u32));
            }
        }
        let hidden = self.is_hidden(&actual);
        let data = SheetData {
            name: actual.clone(),
            hidden,
            cells,
            merged: None,
            formulas: None,
            labels,
        };
        self.loaded.insert(actual.clone(), data);
        Ok(actual)
    }

    /// The cell a locator points at.
    pub fn locate(&mut self, locator: &Locator) -> Result<FoundCell, NotFound> {
        match locator {
            Locator::Cell { sheet, row, col } => self.cell(sheet, *row, *col),
            Locator::Name(name) => {
                let Some((_, target)) = self
                    .names
                    .iter()
                    .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
                    .cloned()
                else {
                    return Err(NotFound {
                        sheet: String::new(),
                        reason: format!("the workbook has no defined name \"{name}\""),
                    });
                };
                let (sheet, row, col) = parse_reference(&target).ok_or_else(|| NotFound {
                    sheet: String::new(),
                    reason: format!(
                        "the defined name \"{name}\" refers to \"{target}\", which is not a cell"
                    ),
                })?;
                self.cell(&sheet, row, col)
            }
            Locator::Label {
                sheet,
                within,
                row,
                column,
            } => {
                let data = self.sheet(sheet)?;
                let (anchor, target_row) = find_row(data, within.as_deref(), row)?;
                let wanted = normalise_label(column);
                let col = (anchor..=target_row)
                    .rev()
                    .find_map(|header_row| {
                        data.labels
                            .get(&wanted)
                            .and_then(|places| places.iter().find(|(r, _)| *r == header_row))
                            .map(|(_, c)| *c)
                    })
                    .ok_or_else(|| NotFound {
                        sheet: data.name.clone(),
                        reason: format!("no column headed \"{column}\" above the row \"{row}\""),
                    })?;
                let name = data.name.clone();
                self.cell(&name, target_row, col)
            }
        }
    }

    /// Every figure cell of a labelled row, with what its column heading says it holds.
    pub fn locate_row(
        &mut self,
        sheet: &str,
        within: Option<&str>,
        row: &str,
        columns: &Columns,
    ) -> Result<Vec<(Slot, FoundCell)>, NotFound> {
        let data = self.sheet(sheet)?;
        let (anchor, target_row) = find_row(data, within, row)?;
        let start = data.cells.start().unwrap_or((0, 0));
        let end = data.cells.end().unwrap_or((0, 0));
        let heading = |r: u32, c: u32| match data.cells.get_value((r, c)) {
            Some(Data::String(text)) => columns.slot_for_heading(text),
            _ => None,
        };
        let header = (anchor.max(start.0)..target_row).rev().find_map(|r| {
            let slots: Vec<(u32, Slot)> = (start.1..=end.1)
                .filter_map(|c| heading(r, c).map(|slot| (c, slot)))
                .collect();
            (!slots.is_empty()).then_some(slots)
        });
        let Some(slots) = header else {
            return Err(NotFound {
                sheet: data.name.clone(),
                reason: format!("no heading row (such as QTR 1 … Total) above the row \"{row}\""),
            });
        };
        let name = data.name.clone();
        slots
            .into_iter()
            .map(|(col, slot)| self.cell(&name, target_row, col).map(|cell| (slot, cell)))
            .collect()
    }

    /// The first cell at or below `from_row` whose text reads `label` (case and spacing forgiven).
    pub fn find_label(
        &mut self,
        sheet: &str,
        label: &str,
        from_row: u32,
    ) -> Result<Option<(u32, u32)>, NotFound> {
        let data = self.sheet(sheet)?;
        Ok(data
            .labels
            .get(&normalise_label(label))
            .and_then(|places| places.iter().filter(|(r, _)| *r >= from_row).min().copied()))
    }

    /// The last row and column of the sheet that hold anything.
    pub fn extent(&mut self, sheet: &str) -> Result<(u32, u32), NotFound> {
        let data = self.sheet(sheet)?;
        Ok(data.cells.end().unwrap_or((0, 0)))
    }

    /// One cell, as stored. A blank may be part of a merged area or an uncalculated formula: see
    /// [`SourceWorkbook::explain_blank`].
    pub fn cell(&mut self, sheet: &str, row: u32, col: u32) -> Result<FoundCell, NotFound> {
        let data = self.sheet(sheet)?;
        let value = data
            .cells
            .get_value((row, col))
            .cloned()
            .unwrap_or(Data::Empty);
        Ok(FoundCell {
            sheet: data.name.clone(),
            row,
            col,
            value,
            uncalculated_formula: None,
        })
    }

    /// Says what a blank cell really is: inside a merged area it reads the area's value, as Excel shows it;
    /// a formula Excel never calculated is named. Any other cell is returned as it is.
    pub fn explain_blank(&mut self, cell: FoundCell) -> FoundCell {
        if cell.value != Data::Empty {
            return cell;
        }
        let (row, col) = (cell.row, cell.col);
        let top_left = self
            .merged_areas(&cell.sheet)
            .iter()
            .find(|area| area.contains(row, col) && area.start != (row, col))
            .map(|area| area.start);
        if let Some((top, left)) = top_left
            && let Ok(merged) = self.cell(&cell.sheet, top, left)
        {
            return self.explain_blank(merged);
        }
        let uncalculated_formula = self.formula_at(&cell.sheet, row, col);
        FoundCell {
            uncalculated_formula,
            ..cell
        }
    }

    fn merged_areas(&mut self, sheet: &str) -> &[Dimensions] {
        let Some(data) = self.loaded.get(sheet) else {
            return &[];
        };
        if data.merged.is_none() {
            let merged = match &mut self.reader {
                Sheets::Xlsx(xlsx) => xlsx.merge_cells_by_sheet_name(sheet).unwrap_or_default(),
                Sheets::Xls(xls) => xls.merge_cells_by_sheet_name(sheet).unwrap_or_default(),
                _ => Vec::new(),
            };
            if let Some(data) = self.loaded.get_mut(sheet) {
                data.merged = Some(merged);
            }
        }
        self.loaded
            .get(sheet)
            .and_then(|data| data.merged.as_deref())
            .unwrap_or(&[])
    }

    pub fn sheet_is_hidden(&mut self, sheet: &str) -> bool {
        self.sheet(sheet).map(|data| data.hidden).unwrap_or(false)
    }

    /// Formulas are read only when a blank cell needs explaining: it costs a second pass over the sheet.
    fn formula_at(&mut self, sheet: &str, row: u32, col: u32) -> Option<String> {
        let loaded = self.loaded.get(sheet)?.formulas.is_some();
        if !loaded {
            let formulas = self.reader.worksheet_formula(sheet).unwrap_or_default();
            if let Some(data) = self.loaded.get_mut(sheet) {
                data.formulas = Some(formulas);
            }
        }
        let formula = self
            .loaded
            .get(sheet)?
            .formulas
            .as_ref()?
            .get_value((row, col))?;
        (!formula.is_empty()).then(|| formula.clone())
    }
}

/// The row labelled `row`, searching below the label `within` when given. Returns (anchor row, row).
fn find_row(data: &SheetData, within: Option<&str>, row: &str) -> Result<(u32, u32), NotFound> {
    let anchor = match within {
        Some(within) => {
            let places = data
                .labels
                .get(&normalise_label(within))
                .ok_or_else(|| NotFound {
                    sheet: data.name.clone(),
                    reason: format!("no cell reads \"{within}\""),
                })?;
            places.iter().map(|(r, _)| *r).min().unwrap_or(0)
        }
        None => 0,
    };
    let target = data
        .labels
        .get(&normalise_label(row))
        .and_then(|places| {
            places
                .iter()
                .map(|(r, _)| *r)
                .filter(|r| *r >= anchor)
                .min()
        })
        .ok_or_else(|| NotFound {
            sheet: data.name.clone(),
            reason: match within {
                Some(within) => format!("no row labelled \"{row}\" under \"{within}\""),
                None => format!("no row labelled \"{row}\""),
            },
        })?;
    Ok((anchor, target))
}

/// "'Cover Sheet'!$C$4" (Excel) or "$Cover.$C$4" (OpenDocument) → sheet and cell; a range gives its first cell.
fn parse_reference(target: &str) -> Option<(String, u32, u32)> {
    let target = target.trim().trim_start_matches('=');
    let (sheet, cell) = match target.rsplit_once('!') {
        Some(split) => split,
        None => target.trim_start_matches('$').rsplit_once('.')?,
    };
    let sheet = sheet
        .trim_start_matches('$')
        .trim_matches('\'')
        .replace("''", "'");
    let cell = cell.split(':').next()?;
    let (row, col) = parse_a1(cell)?;
    Some((sheet, row, col))
}

/// A cell's value as the department would read it in Excel, for messages.
pub fn display_value(value: &Data) -> String {
    match value {
        Data::Empty => "(blank)".to_owned(),
        Data::String(text) => format!("\"{text}\""),
        Data::Float(number) => {
            if number.fract() == 0.0 && number.abs() < 1e15 {
                format!("{number:.0}")
            } else {
                format!("{number}")
            }
        }
        Data::Int(number) => number.to_string(),
        Data::Bool(flag) => if *flag { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(date) => date
            .as_datetime()
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| date.as_f64().to_string()),
        Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Error(error) => format!("{error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_addresses_round_trip() {
        for (text, place) in [
            ("A1", (0, 0)),
            ("C5", (4, 2)),
            ("$AA$10", (9, 26)),
            ("xfd3", (2, 16383)),
        ] {
            assert_eq!(parse_a1(text), Some(place), "{text}");
        }
        assert_eq!(a1(4, 2), "C5");
        assert_eq!(a1(9, 26), "AA10");
        assert_eq!(parse_a1("5C"), None);
        assert_eq!(parse_a1("A0"), None);
    }

    #[test]
    fn defined_name_targets_in_excel_and_opendocument_forms() {
        assert_eq!(parse_reference("Cover!$C$4"), Some(("Cover".into(), 3, 2)));
        assert_eq!(
            parse_reference("'PSD Return'!$C$4:$D$4"),
            Some(("PSD Return".into(), 3, 2))
        );
        assert_eq!(parse_reference("$Cover.$C$4"), Some(("Cover".into(), 3, 2)));
    }

    #[test]
    fn a_zip_cut_short_does_not_look_complete() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut workbook = rust_xlsxwriter::Workbook::new();
        workbook
            .add_worksheet()
            .write_string(0, 0, "x")
            .expect("write");
        let bytes = workbook.save_to_buffer().expect("save");
        let path = dir.path().join("return.xlsx");
        std::fs::write(&path, &bytes).expect("write");
        assert!(looks_complete(&path));
        std::fs::write(&path, &bytes[..bytes.len() - 30]).expect("write");
        assert!(
            !looks_complete(&path),
            "no end-of-central-directory record yet"
        );
        std::fs::write(&path, b"").expect("write");
        assert!(
            !looks_complete(&path),
            "an empty file is a save that has only begun"
        );
        std::fs::write(&path, b"a,b\n1,2\n").expect("write");
        assert!(
            looks_complete(&path),
            "not a zip: the reader will say what it is"
        );
    }

    #[test]
    fn sniffing_names_the_real_content() {
        assert!(sniff(b"", "xlsx").unwrap_err().0.contains("empty"));
        assert!(
            sniff(b"department,quarter\nPSD,Q2\n", "xlsx")
                .unwrap_err()
                .0
                .contains("CSV")
        );
        assert_eq!(sniff(b"PK\x03\x04rest", "xlsx"), Ok(Format::Xlsx));
        assert!(
            sniff(&[0u8, 159, 146, 150, 0, 1], "xlsx")
                .unwrap_err()
                .0
                .contains("not a spreadsheet")
        );
    }
}
