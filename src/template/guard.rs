//! Guards a written template: validation and a defined name on every input, the template's identity in a
//! very hidden sheet, and protection of the sheets (inputs open) and of the workbook's structure.

use std::io::{Cursor, Read, Write};

use rust_xlsxwriter::{ProtectionOptions, Workbook, XlsxError};

use super::layout::{Written, absolute};
use crate::schema::TemplateSettings;

/// The very hidden sheet that says which template a workbook was made from, should its cover be damaged.
/// Excel shows it in no menu; only a macro could unhide it.
pub use crate::schema::IDENTITY_SHEET;

/// Adds each input's data validation, and a defined name for it and for the schema's own named items.
pub(super) fn validate_and_name(
    workbook: &mut Workbook,
    written: &Written,
) -> Result<(), XlsxError> {
    let mut names: Vec<(String, String)> = written.names.clone();
    for (sheet_name, row, col, input) in &written.inputs {
        let sheet = workbook.worksheet_from_name(sheet_name)?;
        sheet.add_data_validation(*row, *col, *row, *col, &input.validation((*row, *col))?)?;
        let target = format!(
            "='{}'!{}",
            sheet_name.replace('\'', "''"),
            absolute(*row, *col)
        );
        if !names
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(&input.name))
        {
            names.push((input.name.clone(), target));
        }
    }
    // Sorted, so that the same template gives the same bytes whatever order its cells were placed in.
    names.sort();
    for (name, target) in names {
        workbook.define_name(name, &target)?;
    }
    Ok(())
}

/// The very hidden identity sheet: each item's label in column A, its value in column B.
pub(super) fn identity_sheet(
    workbook: &mut Workbook,
    items: &[(&str, String)],
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(IDENTITY_SHEET)?;
    for (row, (label, value)) in items.iter().enumerate() {
        sheet.write_string(row as u32, 0, *label)?;
        sheet.write_string(row as u32, 1, value)?;
    }
    sheet.set_very_hidden(true);
    Ok(())
}

/// Protects every sheet (locked cells cannot be changed; inputs are unlocked) and, by rewriting the saved
/// workbook, its structure (sheets cannot be renamed, moved, added or removed). Returns the bytes.
pub(super) fn protect(
    mut workbook: Workbook,
    settings: &TemplateSettings,
) -> Result<Vec<u8>, XlsxError> {
    if !settings.protect {
        return workbook.save_to_buffer();
    }
    let options = ProtectionOptions {
        // Column widths may be changed, so that long figures and texts can be read.
        format_columns: true,
        ..ProtectionOptions::default()
    };
    for sheet in workbook.worksheets_mut() {
        match settings.password.as_deref().filter(|p| !p.is_empty()) {
            Some(password) => {
                sheet.protect_with_password(password);
                sheet.protect_with_options(&options);
            }
            None => {
                sheet.protect_with_options(&options);
            }
        }
    }
    let bytes = workbook.save_to_buffer()?;
    lock_structure(
        &bytes,
        settings.password.as_deref().filter(|p| !p.is_empty()),
    )
    .map_err(|error| XlsxError::ParameterError(format!("cannot protect the workbook: {error}")))
}

/// Adds `<workbookProtection lockStructure="1"/>` to the saved workbook (rust_xlsxwriter writes sheet
/// protection only). The zip is written again with the same fixed times, so the bytes stay deterministic.
fn lock_structure(bytes: &[u8], password: Option<&str>) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let name = entry.name()?.into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        if name == "xl/workbook.xml" {
            content = with_structure_locked(&content, password);
        }
        out.start_file(name, options)?;
        out.write_all(&content)?;
    }
    Ok(out.finish()?.into_inner())
}

/// workbook.xml with the protection element where the schema puts it: before `<bookViews>`.
fn with_structure_locked(workbook_xml: &[u8], password: Option<&str>) -> Vec<u8> {
    let text = String::from_utf8_lossy(workbook_xml);
    let element = match password {
        Some(password) => format!(
            "<workbookProtection workbookPassword=\"{:04X}\" lockStructure=\"1\"/>",
            legacy_password_hash(password)
        ),
        None => "<workbookProtection lockStructure=\"1\"/>".to_owned(),
    };
    match text.find("<bookViews") {
        Some(at) => {
            let mut locked = text.into_owned();
            locked.insert_str(at, &element);
            locked.into_bytes()
        }
        None => workbook_xml.to_vec(),
    }
}

/// The legacy password hash Excel keeps for sheet and workbook protection (ECMA-376 Part 4, §14.7.1):
/// a deterrent, not security, as Excel itself says.
fn legacy_password_hash(password: &str) -> u16 {
    let bytes = password.as_bytes();
    let mut hash: u16 = 0;
    for byte in bytes.iter().rev() {
        hash = ((hash >> 14) & 0x01) | ((hash << 1) & 0x7FFF);
        hash ^= u16::from(*byte);
    }
    hash = ((hash >> 14) & 0x01) | ((hash << 1) & 0x7FFF);
    hash ^= bytes.len() as u16;
    hash ^ 0xCE4B
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_hash_matches_excels() {
        // Excel's own hash of "password", as openpyxl and rust_xlsxwriter compute it.
        assert_eq!(legacy_password_hash("password"), 0x83AF);
    }

    #[test]
    fn the_protection_goes_before_the_book_views() {
        let xml = b"<workbook><workbookPr/><bookViews><workbookView/></bookViews></workbook>";
        let locked = String::from_utf8(with_structure_locked(xml, None)).unwrap_or_default();
        assert_eq!(
            locked,
            "<workbook><workbookPr/><workbookProtection lockStructure=\"1\"/><bookViews><workbookView/></bookViews></workbook>"
        );
    }
}
