//! Unpacks a zip workbook's parts one after another with one decompressor, within a budget that no size
//! stated in the file can raise.
//!
//! The zip crate's reader makes a new decompressor for every part, and zlib-rs zeroes a new one's state
//! and 32 KB window; with the zeroing of flate2's reader that was about a tenth of a worker's work on a
//! small return. Here the packed bytes are read raw, inflated by one decompressor reset between parts, and
//! checked against the part's CRC-32 as the zip crate would.
//!
//! A sheet is unpacked only as far as the reader reads it (its cells and merged areas): what follows,
//! conditional formats and data validations, is often most of a template's sheet. Its checksum covers
//! the whole part, so a sheet cut short so is not checked against it; a fault in what is never unpacked
//! cannot reach what is read.

use std::io::Read;

use flate2::{Decompress, FlushDecompress, Status};
use zip::CompressionMethod;
use zip::read::ZipFile;

use super::{damaged, too_big};
use crate::read::Unreadable;
use crate::schema::ReadLimits;

/// Grows an unpacked part at least this much at a time once past its stated size.
const GROWTH: usize = 64 * 1024;

/// What a part unpacked as far as it is read first takes: a template's cells are often in its first
/// few kilobytes, its conditional formats in the rest.
const FIRST_STEP: u64 = 8 * 1024;

/// Whether a part unpacked so far holds all that is read of it.
pub(super) type ReadThrough = fn(&[u8]) -> bool;

/// A part unpacked: whole, or as far as it is read.
#[derive(Debug)]
pub(super) struct Unpacked {
    pub content: Vec<u8>,
    /// How many packed bytes it came from: the part's, or those inflated before it was read through.
    pub packed: u64,
}

pub(super) struct Unpacker {
    decompress: Decompress,
    /// The part being unpacked, as packed in the file.
    packed: Vec<u8>,
}

impl Unpacker {
    pub(super) fn new() -> Unpacker {
        Unpacker {
            // Raw deflate: a zip part has no zlib header.
            decompress: Decompress::new(false),
            packed: Vec::new(),
        }
    }

    /// The part unpacked, taken from what is left of `budget`: whole, or with `read_through`, only until
    /// it holds what is read. Its stated size only sizes the first allocation (within the budget); a
    /// false claim costs nothing more.
    pub(super) fn unpack(
        &mut self,
        entry: &mut ZipFile<'_, impl Read>,
        budget: &mut u64,
        limits: &ReadLimits,
        read_through: Option<ReadThrough>,
    ) -> Result<Unpacked, Unreadable> {
        if entry.encrypted() {
            return Err(damaged(
                "a part of it is encrypted (is it protected with a password?)",
            ));
        }
        self.packed.clear();
        // The packed bytes are within the file, which is within its own limit.
        entry.read_to_end(&mut self.packed).map_err(damaged)?;
        let (content, whole) = match entry.compression() {
            CompressionMethod::Stored => (std::mem::take(&mut self.packed), true),
            CompressionMethod::Deflated => self.inflate(entry.size(), *budget, read_through)?,
            other => {
                return Err(damaged(format!(
                    "a part of it is packed in a way spreadsheet programs do not use ({other})"
                )));
            }
        };
        if content.len() as u64 > *budget {
            return Err(over_budget(limits));
        }
        if whole && crc32fast::hash(&content) != entry.crc32() {
            return Err(damaged("a part of it does not match its checksum"));
        }
        *budget -= content.len() as u64;
        let packed = match whole {
            true => entry.compressed_size(),
            false => self.decompress.total_in(),
        };
        Ok(Unpacked { content, packed })
    }

    /// Inflates the packed part, stopping as soon as it comes to more than `budget`, or once it holds
    /// what is read of it; whether it was inflated whole.
    fn inflate(
        &mut self,
        claimed: u64,
        budget: u64,
        read_through: Option<ReadThrough>,
    ) -> Result<(Vec<u8>, bool), Unreadable> {
        self.decompress.reset(false);
        let first = match read_through {
            Some(_) => claimed.min(FIRST_STEP),
            None => claimed,
        };
        let first = first.min(budget).saturating_add(1);
        let mut content = Vec::with_capacity(usize::try_from(first).unwrap_or(0));
        loop {
            if content.len() as u64 > budget {
                // Over the budget: the caller says so.
                return Ok((content, true));
            }
            if content.len() == content.capacity() {
                let room = (budget + 1).saturating_sub(content.len() as u64);
                let more = content
                    .len()
                    .max(GROWTH)
                    .min(usize::try_from(room).unwrap_or(GROWTH));
                content.reserve(more.max(1));
            }
            let (read, written) = (self.decompress.total_in(), content.len());
            let input = &self.packed[usize::try_from(read)
                .unwrap_or(usize::MAX)
                .min(self.packed.len())..];
            let status = self
                .decompress
                .decompress_vec(input, &mut content, FlushDecompress::None)
                .map_err(damaged)?;
            if status == Status::StreamEnd {
                return Ok((content, true));
            }
            if read_through.is_some_and(|read_through| read_through(&content)) {
                return Ok((content, false));
            }
            let stuck = self.decompress.total_in() == read && content.len() == written;
            if stuck && input.is_empty() {
                return Err(damaged("a part of it is cut short"));
            }
            if stuck && content.len() < content.capacity() {
                return Err(damaged("a part of it cannot be unpacked"));
            }
        }
    }
}

fn over_budget(limits: &ReadLimits) -> Unreadable {
    too_big(format!(
        "its contents come to more than {} MB once unpacked",
        limits.uncompressed_mb
    ))
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::read::inspect::MB;

    fn zip_of(parts: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content, method) in parts {
            let options = zip::write::SimpleFileOptions::default().compression_method(*method);
            writer.start_file(*name, options).expect("start");
            writer.write_all(content).expect("write");
        }
        writer.finish().expect("finish").into_inner()
    }

    fn unpack_all(bytes: &[u8], budget: u64) -> Result<Vec<Vec<u8>>, Unreadable> {
        let limits = ReadLimits::default();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
        let mut unpacker = Unpacker::new();
        let mut budget = budget;
        (0..archive.len())
            .map(|i| {
                unpacker
                    .unpack(
                        &mut archive.by_index_raw(i).expect("entry"),
                        &mut budget,
                        &limits,
                        None,
                    )
                    .map(|unpacked| unpacked.content)
            })
            .collect()
    }

    #[test]
    fn parts_unpack_to_what_was_packed_with_one_decompressor() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 97) as u8).collect();
        let bytes = zip_of(&[
            ("a.xml", b"<a>first</a>", CompressionMethod::Deflated),
            ("big.xml", &big, CompressionMethod::Deflated),
            ("mimetype", b"stored as it is", CompressionMethod::Stored),
            ("empty.xml", b"", CompressionMethod::Deflated),
        ]);
        let parts = unpack_all(&bytes, 64 * MB).expect("unpacks");
        assert_eq!(parts[0], b"<a>first</a>");
        assert_eq!(parts[1], big);
        assert_eq!(parts[2], b"stored as it is");
        assert!(parts[3].is_empty());
    }

    #[test]
    fn a_part_over_the_budget_is_refused_whatever_its_header_says() {
        let big = vec![b'x'; 2 * MB as usize];
        let bytes = zip_of(&[("big.xml", &big, CompressionMethod::Deflated)]);
        let refused = unpack_all(&bytes, MB).expect_err("over the budget");
        assert!(refused.0.contains("more than"), "{}", refused.0);
    }

    #[test]
    fn a_damaged_part_is_refused_in_words() {
        let content: Vec<u8> = (0..50_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut bytes = zip_of(&[("a.xml", &content, CompressionMethod::Deflated)]);
        // Flip bits in the middle of the packed data (after the 30-byte local header and the name).
        for byte in &mut bytes[200..260] {
            *byte ^= 0x5a;
        }
        let refused = unpack_all(&bytes, 64 * MB).expect_err("damaged");
        assert!(refused.0.contains("damaged"), "{}", refused.0);
    }

    /// A sheet whose cells are followed by 200 KB of conditional formats, as templates' are.
    fn sheet_with_long_tail() -> Vec<u8> {
        let mut sheet = br#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>"#.to_vec();
        for rule in 0..4_000u32 {
            let formula = format!(
                r#"<conditionalFormatting sqref="C{rule}"><cfRule type="expression" priority="{rule}"><formula>AND($C${rule}&gt;{})</formula></cfRule></conditionalFormatting>"#,
                rule.wrapping_mul(2_654_435_761)
            );
            sheet.extend_from_slice(formula.as_bytes());
        }
        sheet.extend_from_slice(b"</worksheet>");
        sheet
    }

    fn unpack_sheet(bytes: &[u8]) -> Result<Unpacked, Unreadable> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
        Unpacker::new().unpack(
            &mut archive.by_index_raw(0).expect("entry"),
            &mut (64 * MB),
            &ReadLimits::default(),
            Some(super::super::sheet::read_through),
        )
    }

    #[test]
    fn a_sheet_is_unpacked_only_as_far_as_it_is_read() {
        let sheet = sheet_with_long_tail();
        let bytes = zip_of(&[("sheet1.xml", &sheet, CompressionMethod::Deflated)]);
        let unpacked = unpack_sheet(&bytes).expect("unpacks");
        assert!(
            unpacked.content.len() < sheet.len() / 10,
            "{} of {} bytes unpacked",
            unpacked.content.len(),
            sheet.len()
        );
        let as_read = super::super::sheet::as_read;
        assert_eq!(as_read(unpacked.content), as_read(sheet));
    }

    #[test]
    fn damage_after_what_is_read_of_a_sheet_is_never_unpacked_but_damage_in_it_is_refused() {
        let sheet = sheet_with_long_tail();
        let bytes = zip_of(&[("sheet1.xml", &sheet, CompressionMethod::Deflated)]);
        let damaged_at = |range: std::ops::Range<usize>| {
            let mut damaged = bytes.clone();
            for byte in &mut damaged[range] {
                *byte ^= 0x5a;
            }
            damaged
        };
        // The last packed bytes before the zip's directory (98 bytes for one part of this name).
        let end = bytes.len() - 98;
        assert!(unpack_sheet(&damaged_at(end - 40..end)).is_ok());
        // The first packed bytes, just after the local header and the name.
        let refused = unpack_sheet(&damaged_at(45..60)).expect_err("damaged cells");
        assert!(refused.0.contains("damaged"), "{}", refused.0);
    }
}
