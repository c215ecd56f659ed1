//! Unpacks a zip workbook's parts one after another with one decompressor, within a budget that no size
//! stated in the file can raise.
//!
//! The zip crate's reader makes a new decompressor for every part, and zlib-rs zeroes a new one's state
//! and 32 KB window; with the zeroing of flate2's reader that was about a tenth of a worker's work on a
//! small return. Here the packed bytes are read raw, inflated by one decompressor reset between parts, and
//! checked against the part's CRC-32 as the zip crate would.

use std::io::Read;

use flate2::{Decompress, FlushDecompress, Status};
use zip::CompressionMethod;
use zip::read::ZipFile;

use super::{damaged, too_big};
use crate::read::Unreadable;
use crate::schema::ReadLimits;

/// Grows an unpacked part at least this much at a time once past its stated size.
const GROWTH: usize = 64 * 1024;

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

    /// The part unpacked, taken from what is left of `budget`. Its stated size only sizes the first
    /// allocation (within the budget); a false claim costs nothing more.
    pub(super) fn unpack(
        &mut self,
        entry: &mut ZipFile<'_, impl Read>,
        budget: &mut u64,
        limits: &ReadLimits,
    ) -> Result<Vec<u8>, Unreadable> {
        if entry.encrypted() {
            return Err(damaged(
                "a part of it is encrypted (is it protected with a password?)",
            ));
        }
        self.packed.clear();
        // The packed bytes are within the file, which is within its own limit.
        entry.read_to_end(&mut self.packed).map_err(damaged)?;
        let content = match entry.compression() {
            CompressionMethod::Stored => std::mem::take(&mut self.packed),
            CompressionMethod::Deflated => self.inflate(entry.size(), *budget)?,
            other => {
                return Err(damaged(format!(
                    "a part of it is packed in a way spreadsheet programs do not use ({other})"
                )));
            }
        };
        if content.len() as u64 > *budget {
            return Err(over_budget(limits));
        }
        if crc32fast::hash(&content) != entry.crc32() {
            return Err(damaged("a part of it does not match its checksum"));
        }
        *budget -= content.len() as u64;
        Ok(content)
    }

    /// Inflates the packed part, stopping as soon as it comes to more than `budget`.
    fn inflate(&mut self, claimed: u64, budget: u64) -> Result<Vec<u8>, Unreadable> {
        self.decompress.reset(false);
        let first = claimed.min(budget).saturating_add(1);
        let mut content = Vec::with_capacity(usize::try_from(first).unwrap_or(0));
        loop {
            if content.len() as u64 > budget {
                // Over the budget: the caller says so.
                return Ok(content);
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
                return Ok(content);
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
                unpacker.unpack(
                    &mut archive.by_index_raw(i).expect("entry"),
                    &mut budget,
                    &limits,
                )
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
}
