//! Looks inside a return's container before any reader parses it, with limits that no claim in the file
//! can raise: what each part really unpacks to (read through a bounded reader, headers never trusted), how
//! many parts and sheets, the cells a sheet claims and holds, the shared strings claimed, held and referred
//! to, XML nesting, and an `.xls` compound file's sector chains.
//!
//! Readers trust such claims (calamine reserves what `<dimension>` and `uniqueCount` say, and follows
//! sector chains wherever they point), so a 10 KB file can ask for 500 GB. Everything here is bounded by
//! the file's real size and the limits, and says what was too big in the department's terms.

mod compound;
mod markup;
mod sheet;
mod styles;
mod unpack;
mod xml;

use std::io::{Cursor, Write};

use crate::read::{Format, Unreadable};
use crate::schema::ReadLimits;

const MB: u64 = 1024 * 1024;

/// Below this, a part's compression ratio says nothing (a small, regular part packs very well).
const RATIO_FLOOR: u64 = MB;

/// Checks a workbook against `limits` before it is parsed; `Err` says what was too big. `Ok` holds what
/// the reader is to parse: for a zip workbook, the parts the reader reads, each unpacked once here and
/// stored unpacked (so the reader does not inflate them again), the styles cut down to the number formats
/// that tell dates from numbers; an `.xls` as it came.
pub fn inspect(bytes: Vec<u8>, format: Format, limits: &ReadLimits) -> Result<Vec<u8>, Unreadable> {
    check_file_size(bytes.len() as u64, limits)?;
    match format {
        Format::Xlsx | Format::Ods => inspect_zip(&bytes, format, limits),
        Format::Xls => compound::inspect(&bytes, limits).map(|()| bytes),
    }
}

/// Whether a workbook of `size` bytes may be read at all.
pub fn check_file_size(size: u64, limits: &ReadLimits) -> Result<(), Unreadable> {
    if size > limits.file_bytes() {
        return Err(too_big(format!(
            "the file is {} MB; a return may be at most {} MB",
            size / MB,
            limits.file_mb
        )));
    }
    Ok(())
}

/// A refusal: what was too big, and that the file was not read.
fn too_big(what: String) -> Unreadable {
    Unreadable(format!(
        "the workbook is too large or too complex to read safely: {what}"
    ))
}

fn damaged(detail: impl std::fmt::Display) -> Unreadable {
    Unreadable(format!(
        "the file is damaged or incomplete (was it cut short while saving or copying?): {detail}"
    ))
}

/// What one XML part of a zip workbook is to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Worksheet,
    SharedStrings,
    Workbook,
    /// An xlsx's styles, handed on cut down to its number formats.
    Styles,
    OdsContent,
    OtherXml,
}

impl Part {
    /// The part as the department knows it, with its name inside the file for whoever looks further.
    fn describe(self, name: &str) -> String {
        match self {
            Part::Worksheet => format!("one of its sheets ({name})"),
            Part::OdsContent => format!("its sheets ({name})"),
            Part::SharedStrings => format!("its table of shared text ({name})"),
            Part::Workbook => format!("its list of sheets ({name})"),
            Part::Styles => format!("its styles ({name})"),
            Part::OtherXml => format!("its part {name}"),
        }
    }
}

/// Parts the reader never opens for what `collate` reads (theme colours, document properties, the
/// content-type list, calculation order; an ods's styles and settings): they are neither unpacked here
/// nor handed on, so they cost nothing and can harm nothing.
const NEVER_READ: [&str; 9] = [
    "xl/theme/",
    "docprops/",
    "[content_types].xml",
    "xl/calcchain.xml",
    "customxml/",
    "xl/drawings/",
    "styles.xml",
    "settings.xml",
    "configurations2/",
];

fn classify(name: &str, format: Format) -> Option<Part> {
    let lower = name.to_ascii_lowercase();
    if NEVER_READ.iter().any(|prefix| lower.starts_with(prefix)) {
        return None;
    }
    let part = match format {
        Format::Ods if lower == "content.xml" => Part::OdsContent,
        // The reader checks an ods's declared type here.
        Format::Ods if lower == "mimetype" => Part::OtherXml,
        _ if lower.starts_with("xl/worksheets/") && lower.ends_with(".xml") => Part::Worksheet,
        _ if lower == "xl/sharedstrings.xml" => Part::SharedStrings,
        _ if lower == "xl/workbook.xml" => Part::Workbook,
        Format::Xlsx if lower == "xl/styles.xml" => Part::Styles,
        // Pictures, printer settings and macros are never parsed by the reader.
        _ if lower.ends_with(".xml") || lower.ends_with(".rels") => Part::OtherXml,
        _ => return None,
    };
    Some(part)
}

/// What the parts the reader reads say they unpack to, within `budget`: the room the unpacked workbook
/// is given at once. Pictures and the other parts never read take none of it, however large the file; a
/// false claim costs no more than the budget, and the parts are still unpacked within it.
fn parts_size(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    format: Format,
    budget: u64,
) -> Result<usize, Unreadable> {
    /// A part's header and its entry in the directory, with room for its name.
    const PER_PART: u64 = 256;
    let mut size: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(damaged)?;
        let name = entry.name().map_err(damaged)?;
        if classify(&name, format).is_some() {
            size = size
                .saturating_add(entry.size().min(budget))
                .saturating_add(PER_PART);
        }
    }
    Ok(usize::try_from(size.min(budget)).unwrap_or(usize::MAX))
}

fn inspect_zip(bytes: &[u8], format: Format, limits: &ReadLimits) -> Result<Vec<u8>, Unreadable> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
    if archive.len() > limits.parts {
        return Err(too_big(format!(
            "it holds {} parts; a workbook may hold at most {}",
            archive.len(),
            limits.parts
        )));
    }
    let mut budget = limits.uncompressed_mb * MB;
    let mut found = xml::Findings::default();
    let capacity = parts_size(&mut archive, format, budget)?;
    let mut unpacked_parts = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut unpacker = unpack::Unpacker::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index_raw(index).map_err(damaged)?;
        let name = entry.name().map_err(damaged)?.into_owned();
        let Some(part) = classify(&name, format) else {
            continue;
        };
        let read_through = (part == Part::Worksheet).then_some(sheet::read_through as _);
        let unpack::Unpacked { content, packed } =
            unpacker.unpack(&mut entry, &mut budget, limits, read_through)?;
        let (unpacked, compressed) = (content.len() as u64, packed.max(1));
        if unpacked > RATIO_FLOOR && unpacked / compressed > limits.compression_ratio {
            return Err(too_big(format!(
                "{} unpacks to {} times its packed size (at most {} allowed): it looks like a \"zip bomb\"",
                part.describe(&name),
                unpacked / compressed,
                limits.compression_ratio
            )));
        }
        let content = match part {
            Part::Worksheet => sheet::as_read(content),
            _ => content,
        };
        xml::scan(&content, &name, part, limits, &mut found)?;
        let content = match part {
            Part::Styles => styles::number_formats_only(&content),
            _ => content,
        };
        unpacked_parts
            .start_file(name.as_str(), stored)
            .and_then(|()| unpacked_parts.write_all(&content).map_err(Into::into))
            .map_err(damaged)?;
    }
    found.check(limits)?;
    Ok(unpacked_parts.finish().map_err(damaged)?.into_inner())
}
