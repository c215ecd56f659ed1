//! An `.xls` compound file's structure, walked with every chain checked: a sector chain that loops or
//! points past the end of the file, or a stream that claims more than its chain holds, is refused before
//! the reader follows it.

use std::collections::HashSet;

use super::{MB, damaged, too_big};
use crate::read::Unreadable;
use crate::schema::ReadLimits;

const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const FREE: u32 = 0xFFFF_FFFF;
const HEADER_DIFAT_ENTRIES: usize = 109;
const DIRECTORY_ENTRY: usize = 128;

struct CompoundFile<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    sectors: u32,
    fat: Vec<u32>,
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let slice = bytes.get(offset..offset + 4)?;
    Some(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
}

fn broken(what: &str) -> Unreadable {
    damaged(format!("its internal structure is broken ({what})"))
}

pub fn inspect(bytes: &[u8], limits: &ReadLimits) -> Result<(), Unreadable> {
    let file = CompoundFile::open(bytes)?;
    let directory = file.chain(u32_at(bytes, 0x30).unwrap_or(END_OF_CHAIN))?;
    let entries = directory.len() * file.sector_size / DIRECTORY_ENTRY;
    if entries > limits.parts {
        return Err(too_big(format!(
            "it holds {entries} parts; a workbook may hold at most {}",
            limits.parts
        )));
    }
    let cutoff = u64::from(u32_at(bytes, 0x38).unwrap_or(4096));
    let mini_fat = file.table(u32_at(bytes, 0x3C).unwrap_or(END_OF_CHAIN))?;
    let mut total = 0u64;
    for sector in directory {
        for slot in 0..file.sector_size / DIRECTORY_ENTRY {
            let offset = file.offset(sector) + slot * DIRECTORY_ENTRY;
            let entry = bytes
                .get(offset..offset + DIRECTORY_ENTRY)
                .ok_or_else(|| broken("a directory entry lies past the end of the file"))?;
            // Type 2 is a stream, 5 the root (whose chain holds the mini stream of small streams).
            let start = u32_at(entry, 0x74).unwrap_or(END_OF_CHAIN);
            let size = u64::from(u32_at(entry, 0x78).unwrap_or(0));
            let held = match entry[0x42] {
                2 if size == 0 => continue,
                5 => file.chain(start)?.len() as u64 * file.sector_size as u64,
                2 if size >= cutoff => file.chain(start)?.len() as u64 * file.sector_size as u64,
                2 => walk(&mini_fat, start, mini_fat.len() as u32)?.len() as u64 * 64,
                _ => continue,
            };
            if size > held {
                return Err(broken("a stream claims more than its sectors hold"));
            }
            total = total.saturating_add(size);
        }
    }
    if total > limits.uncompressed_mb * MB {
        return Err(too_big(format!(
            "its contents come to more than {} MB",
            limits.uncompressed_mb
        )));
    }
    Ok(())
}

impl<'a> CompoundFile<'a> {
    fn open(bytes: &'a [u8]) -> Result<CompoundFile<'a>, Unreadable> {
        let shift = bytes
            .get(0x1E..0x20)
            .map(|s| u16::from_le_bytes([s[0], s[1]]))
            .ok_or_else(|| broken("its header is cut short"))?;
        if shift != 9 && shift != 12 {
            return Err(broken("its sector size is not one Excel writes"));
        }
        let sector_size = 1usize << shift;
        // Sector n starts at (n + 1) * sector_size: the header takes the first.
        let sectors = (bytes.len().saturating_sub(sector_size)).div_ceil(sector_size) as u32;
        let mut file = CompoundFile {
            bytes,
            sector_size,
            sectors,
            fat: Vec::new(),
        };
        let fat_sectors = file.fat_sector_list()?;
        let mut fat = Vec::with_capacity(fat_sectors.len() * sector_size / 4);
        for sector in fat_sectors {
            let start = file.offset(sector);
            let data = bytes
                .get(start..start + sector_size)
                .ok_or_else(|| broken("a table of sectors lies past the end of the file"))?;
            fat.extend(
                data.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        file.fat = fat;
        Ok(file)
    }

    fn offset(&self, sector: u32) -> usize {
        (sector as usize + 1) * self.sector_size
    }

    fn in_file(&self, sector: u32) -> Result<u32, Unreadable> {
        if sector < self.sectors {
            Ok(sector)
        } else {
            Err(broken("a chain of sectors points past the end of the file"))
        }
    }

    /// The sectors of the table of sectors: 109 in the header, the rest in a chain of its own.
    fn fat_sector_list(&self) -> Result<Vec<u32>, Unreadable> {
        let claimed = u32_at(self.bytes, 0x2C).unwrap_or(0);
        if claimed > self.sectors {
            return Err(broken(
                "it claims more tables of sectors than the file holds",
            ));
        }
        let mut list = Vec::with_capacity(claimed as usize);
        for slot in 0..HEADER_DIFAT_ENTRIES.min(claimed as usize) {
            list.push(self.in_file(u32_at(self.bytes, 0x4C + slot * 4).unwrap_or(FREE))?);
        }
        let mut next = u32_at(self.bytes, 0x44).unwrap_or(END_OF_CHAIN);
        let mut seen = HashSet::new();
        let per_sector = self.sector_size / 4 - 1;
        while list.len() < claimed as usize && next != END_OF_CHAIN && next != FREE {
            let sector = self.in_file(next)?;
            if !seen.insert(sector) {
                return Err(broken("a chain of sectors loops back on itself"));
            }
            let start = self.offset(sector);
            for slot in 0..per_sector {
                if list.len() == claimed as usize {
                    break;
                }
                let entry = u32_at(self.bytes, start + slot * 4).unwrap_or(FREE);
                list.push(self.in_file(entry)?);
            }
            next = u32_at(self.bytes, start + per_sector * 4).unwrap_or(END_OF_CHAIN);
        }
        Ok(list)
    }

    /// The sectors of the chain starting at `start`, each checked to be in the file and seen once.
    fn chain(&self, start: u32) -> Result<Vec<u32>, Unreadable> {
        walk(&self.fat, start, self.sectors)
    }

    /// A table of sector numbers (the mini stream's) held in the chain starting at `start`.
    fn table(&self, start: u32) -> Result<Vec<u32>, Unreadable> {
        let mut table = Vec::new();
        for sector in self.chain(start)? {
            let offset = self.offset(sector);
            let data = self
                .bytes
                .get(offset..offset + self.sector_size)
                .ok_or_else(|| broken("a table of sectors lies past the end of the file"))?;
            table.extend(
                data.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        Ok(table)
    }
}

/// Follows a chain through `table` from `start`: every sector below `sectors`, none seen twice.
fn walk(table: &[u32], start: u32, sectors: u32) -> Result<Vec<u32>, Unreadable> {
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut sector = start;
    while sector != END_OF_CHAIN {
        if sector >= sectors {
            return Err(broken("a chain of sectors points past the end of the file"));
        }
        if !seen.insert(sector) {
            return Err(broken("a chain of sectors loops back on itself"));
        }
        chain.push(sector);
        sector = *table
            .get(sector as usize)
            .ok_or_else(|| broken("a chain of sectors points past its table"))?;
    }
    Ok(chain)
}
