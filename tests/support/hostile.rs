//! Hostile returns: files that identify as a real template, department and period (made from the seed's
//! own returns), each changed to make a naive reader exhaust the machine or trip over Excel's limits.

#![allow(dead_code)]

use std::io::{Cursor, Read, Write};

use collate::schema::Schemas;

use crate::seed_returns::{department_draft, seed_departments};

/// What `collate` should make of a hostile file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Rejected, the reason containing this.
    Refused(&'static str),
    /// Accepted, with a query containing this.
    Queried(&'static str),
}

pub struct Hostile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

/// The seed's quarter-2 PSD return, with its PSD 1 analysis, or its Q2 complaints cell, replaced by
/// `text`. The text goes in after writing, as another program would save it: our own writer, like Excel,
/// refuses text over a cell's limit.
fn psd_return(schemas: &Schemas, analysis: Option<&str>, figure_text: Option<&str>) -> Vec<u8> {
    const PLACEHOLDER: &str = "LONG TEXT GOES HERE";
    let department = seed_departments()
        .into_iter()
        .find(|d| d.template == "psd-quarterly")
        .expect("the seed PSD return");
    let mut draft = department_draft(schemas, &department, 2);
    if analysis.is_some() {
        draft = draft.analysis("PSD 1", PLACEHOLDER);
    }
    if figure_text.is_some() {
        draft = draft.figure("PSD 1", "complaints", 0, "QTR 2", PLACEHOLDER);
    }
    let bytes = draft.to_bytes().expect("workbook");
    match analysis.or(figure_text) {
        Some(text) => with_entry(&bytes, "xl/sharedStrings.xml", |xml| {
            xml.replacen(PLACEHOLDER, text, 1)
        }),
        None => bytes,
    }
}

/// The zip entries of a workbook, in order.
pub fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).expect("entry");
            let mut content = Vec::new();
            entry.read_to_end(&mut content).expect("read entry");
            (entry.name().expect("entry name").into_owned(), content)
        })
        .collect()
}

/// Writes entries back into a zip, deflated.
pub fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, content) in entries {
        writer.start_file(name.as_str(), options).expect("entry");
        writer.write_all(content).expect("write entry");
    }
    writer.finish().expect("finish").into_inner()
}

/// The same workbook with one entry's content changed.
pub fn with_entry(bytes: &[u8], name: &str, change: impl FnOnce(&str) -> String) -> Vec<u8> {
    let mut all = entries(bytes);
    let entry = all
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in the workbook"));
    entry.1 = change(&String::from_utf8_lossy(&entry.1)).into_bytes();
    rezip(&all)
}

/// The worksheet part of the PSD sheet (the first sheet after the cover).
fn psd_sheet(bytes: &[u8]) -> String {
    let names: Vec<String> = entries(bytes).into_iter().map(|(n, _)| n).collect();
    let sheets: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
        .collect();
    sheets
        .get(1)
        .or(sheets.first())
        .map(|s| (*s).clone())
        .expect("a worksheet")
}

pub fn decompression_bomb(schemas: &Schemas) -> Vec<u8> {
    let bytes = psd_return(schemas, None, None);
    let sheet = psd_sheet(&bytes);
    // 80 MB of white space between two elements: legal XML, packed a thousand to one.
    with_entry(&bytes, &sheet, |xml| {
        xml.replacen(
            "<sheetData>",
            &format!("{}<sheetData>", " ".repeat(80 << 20)),
            1,
        )
    })
}

pub fn absurd_dimension(schemas: &Schemas) -> Vec<u8> {
    let bytes = psd_return(schemas, None, None);
    let sheet = psd_sheet(&bytes);
    with_entry(&bytes, &sheet, |xml| {
        let xml = match xml.find("<dimension ref=\"") {
            Some(start) => {
                let end = start + xml[start..].find("/>").expect("dimension end") + 2;
                format!(
                    "{}<dimension ref=\"A1:XFD1048576\"/>{}",
                    &xml[..start],
                    &xml[end..]
                )
            }
            None => xml.replacen(
                "<sheetData>",
                "<dimension ref=\"A1:XFD1048576\"/><sheetData>",
                1,
            ),
        };
        xml.replacen(
            "</sheetData>",
            "<row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row></sheetData>",
            1,
        )
    })
}

pub fn absurd_shared_string_count(schemas: &Schemas) -> Vec<u8> {
    let bytes = psd_return(schemas, None, None);
    with_entry(&bytes, "xl/sharedStrings.xml", |xml| {
        let start = xml.find("<sst ").expect("sst");
        let end = start + xml[start..].find('>').expect("sst end");
        format!(
            "{}<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"4000000000\" uniqueCount=\"4000000000\"{}",
            &xml[..start],
            &xml[end..]
        )
    })
}

pub fn one_large_string_in_many_cells(schemas: &Schemas) -> Vec<u8> {
    let bytes = psd_return(schemas, None, None);
    let sheet = psd_sheet(&bytes);
    let mut all = entries(&bytes);
    let index = {
        let (_, strings) = all
            .iter_mut()
            .find(|(n, _)| n == "xl/sharedStrings.xml")
            .expect("shared strings");
        let xml = String::from_utf8_lossy(strings).into_owned();
        let count = xml.matches("<si>").count();
        let big = format!("<si><t>{}</t></si></sst>", "x".repeat(30_000));
        *strings = xml.replacen("</sst>", &big, 1).into_bytes();
        count
    };
    let (_, worksheet) = all.iter_mut().find(|(n, _)| *n == sheet).expect("sheet");
    let cells: String = (0..4000)
        .map(|i| format!("<c r=\"Z{}\" t=\"s\"><v>{index}</v></c>", i + 200))
        .map(|cell| {
            format!(
                "<row r=\"{}\">{cell}</row>",
                &cell[7..cell.find("\" t").unwrap_or(8)]
            )
        })
        .collect();
    let xml = String::from_utf8_lossy(worksheet).replacen(
        "</sheetData>",
        &format!("{cells}</sheetData>"),
        1,
    );
    *worksheet = xml.into_bytes();
    rezip(&all)
}

pub fn deeply_nested(schemas: &Schemas) -> Vec<u8> {
    let bytes = psd_return(schemas, None, None);
    let sheet = psd_sheet(&bytes);
    with_entry(&bytes, &sheet, |xml| {
        let depth = 20_000;
        let nested = format!("{}{}", "<extLst>".repeat(depth), "</extLst>".repeat(depth));
        // Among the cells, which the reader reads (what follows them, it never opens).
        xml.replacen("</sheetData>", &format!("{nested}</sheetData>"), 1)
    })
}

pub fn thousands_of_sheets(schemas: &Schemas) -> Vec<u8> {
    let bytes = psd_return(schemas, None, None);
    with_entry(&bytes, "xl/workbook.xml", |xml| {
        let extra: String = (0..5000)
            .map(|i| {
                format!(
                    "<sheet name=\"Extra {i}\" sheetId=\"{}\" r:id=\"rId{}\"/>",
                    100 + i,
                    100 + i
                )
            })
            .collect();
        xml.replacen("</sheets>", &format!("{extra}</sheets>"), 1)
    })
}

/// An .xls made by LibreOffice, with its directory's sector chain made to loop (`past_end` false) or to
/// point past the end of the file.
pub fn broken_compound_file(xls: &[u8], past_end: bool) -> Vec<u8> {
    let mut bytes = xls.to_vec();
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let sector_size = 1usize << u16::from_le_bytes([bytes[0x1E], bytes[0x1F]]);
    let directory = u32_at(&bytes, 0x30);
    let first_fat = u32_at(&bytes, 0x4C) as usize;
    let entry = (first_fat + 1) * sector_size + directory as usize * 4;
    let next = if past_end { 0x00FF_FFF0 } else { directory };
    bytes[entry..entry + 4].copy_from_slice(&next.to_le_bytes());
    bytes
}

/// An .ods made by LibreOffice whose content.xml unpacks to more than a return may.
pub fn huge_ods_content(ods: &[u8]) -> Vec<u8> {
    with_entry(ods, "content.xml", |xml| {
        xml.replacen(
            "<office:body>",
            &format!("<office:body>{}", " ".repeat(80 << 20)),
            1,
        )
    })
}

/// An .ods made by LibreOffice with a row of figures repeated a million times.
pub fn repeated_ods_rows(ods: &[u8]) -> Vec<u8> {
    with_entry(ods, "content.xml", |xml| {
        xml.replacen(
            "</table:table>",
            "<table:table-row table:number-rows-repeated=\"1000000\"><table:table-cell office:value-type=\"float\" office:value=\"1\" table:number-columns-repeated=\"1000\"/></table:table-row></table:table>",
            1,
        )
    })
}

pub const LONG_TEXT: usize = 40_000;

pub fn over_long_analysis(schemas: &Schemas) -> Vec<u8> {
    psd_return(
        schemas,
        Some(&"The analysis, pasted from a report. ".repeat(LONG_TEXT / 36 + 1)),
        None,
    )
}

pub fn over_long_figure_text(schemas: &Schemas) -> Vec<u8> {
    psd_return(
        schemas,
        None,
        Some(&"Figures to follow. ".repeat(LONG_TEXT / 19 + 1)),
    )
}

/// Every hostile file, named as it would be saved, with what `collate` should make of it.
pub fn corpus(schemas: &Schemas, fixtures: &std::path::Path) -> Vec<Hostile> {
    let xls = std::fs::read(fixtures.join("libreoffice_psd_return.xls")).expect("xls fixture");
    let ods = std::fs::read(fixtures.join("libreoffice_psd_return.ods")).expect("ods fixture");
    let refused = |name, bytes, says| Hostile {
        name,
        bytes,
        expect: Expect::Refused(says),
    };
    vec![
        refused(
            "bomb PSD return.xlsx",
            decompression_bomb(schemas),
            "once unpacked",
        ),
        refused(
            "dimension PSD return.xlsx",
            absurd_dimension(schemas),
            "claims to span",
        ),
        refused(
            "sst count PSD return.xlsx",
            absurd_shared_string_count(schemas),
            "claims 4000000000 entries",
        ),
        refused(
            "shared text PSD return.xlsx",
            one_large_string_in_many_cells(schemas),
            "repeat shared text",
        ),
        refused(
            "nested PSD return.xlsx",
            deeply_nested(schemas),
            "levels deep",
        ),
        refused(
            "sheets PSD return.xlsx",
            thousands_of_sheets(schemas),
            "more than 255 sheets",
        ),
        refused(
            "loop PSD return.xls",
            broken_compound_file(&xls, false),
            "loops back on itself",
        ),
        refused(
            "past end PSD return.xls",
            broken_compound_file(&xls, true),
            "points past the end",
        ),
        refused(
            "huge PSD return.ods",
            huge_ods_content(&ods),
            "once unpacked",
        ),
        refused("repeated PSD return.ods", repeated_ods_rows(&ods), "cells"),
        refused(
            "long figure PSD return.xlsx",
            over_long_figure_text(schemas),
            "not a number",
        ),
        Hostile {
            name: "long analysis PSD return.xlsx",
            bytes: over_long_analysis(schemas),
            expect: Expect::Queried("32,767"),
        },
    ]
}
