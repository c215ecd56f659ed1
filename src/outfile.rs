//! Writes output files atomically: readers see the old file or the new one, never half of either.

use std::io::Write;
use std::path::Path;

use atomic_write_file::AtomicWriteFile;

use crate::error::FatalError;
use crate::platform;

/// Writes `bytes` to a temporary file beside `path`, flushes it and the folder to disk, then renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FatalError> {
    let fail = |error: std::io::Error| FatalError::output(path, error);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut file = AtomicWriteFile::options().open(path).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.commit().map_err(fail)?;
    Ok(())
}

/// Writes a file that the store can always make again (a per-return report) or that a later flush commits
/// (a store segment's tables): atomically, through a temporary file renamed over `path`. On Linux it is not
/// flushed on its own: call [`flush_filesystem`] once after a batch of them. Elsewhere it is flushed
/// through the handle it was written with before the rename.
pub fn write_atomically_deferred(path: &Path, bytes: &[u8]) -> Result<(), FatalError> {
    write_through_temporary(path, bytes, !platform::FLUSH_BY_FILESYSTEM)
}

/// The one way a deferred file is written, on every platform: created and written through one handle,
/// flushed through that same handle when `flush` (Windows' `FlushFileBuffers` needs a handle opened for
/// writing), then renamed over `path`.
fn write_through_temporary(path: &Path, bytes: &[u8], flush: bool) -> Result<(), FatalError> {
    let fail = |error: std::io::Error| FatalError::output(path, error);
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(fail)?;
    let temporary = parent.join(temporary_name(path));
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            if flush {
                file.sync_all()?;
            }
            Ok(())
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail(error));
    }
    Ok(())
}

/// A hidden temporary name beside `path`'s, short enough for any file system however long `path`'s is.
fn temporary_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = format!(".{}.tmp", std::process::id());
    format!(".{}", fit_file_name(&name, &suffix))
}

/// Flushes everything written to the filesystem holding `dir`: one call makes a batch of deferred writes
/// durable, where a flush per file would cost more than reading the returns.
pub fn flush_filesystem(dir: &Path) -> Result<(), FatalError> {
    platform::flush_filesystem(dir)
        .map_err(|error| FatalError::folder_failed(dir, "cannot flush to disk", error))
}

/// The longest file name, in bytes, that every file system `collate` writes to takes (ext4, APFS; NTFS
/// counts 255 UTF-16 units, which 255 bytes of UTF-8 never exceed).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// What the atomic writer adds to a name for its temporary file beside it (`.NAME.XXXXXX`).
const TEMPORARY_NAME_EXTRA: usize = 8;

/// A file name made from `name` (a return's, an attachment's) followed by `suffix`, that fits the file
/// system with room for the temporary file it is written through: see [`fit_name`].
pub fn fit_file_name(name: &str, suffix: &str) -> String {
    fit_name(name, suffix, MAX_FILE_NAME_BYTES - TEMPORARY_NAME_EXTRA)
}

/// `name` followed by `suffix` in at most `max_bytes`: a name that fits and holds nothing a file name
/// cannot is kept as it is; any other is cleaned (folder separators and control characters become `-`),
/// cut on a character boundary before its extension, and marked with a short hash of the whole name, so
/// that two long names sharing a beginning never come out the same. The extension is always kept.
pub fn fit_name(name: &str, suffix: &str, max_bytes: usize) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' => '-',
            c if c.is_control() => '-',
            c => c,
        })
        .collect();
    if cleaned == name && name.len() + suffix.len() <= max_bytes {
        return format!("{name}{suffix}");
    }
    let (stem, extension) = split_extension(&cleaned);
    let mark = format!("~{}", crate::digest::sha256_prefix(name.as_bytes(), 4));
    let room = max_bytes.saturating_sub(mark.len() + extension.len() + suffix.len());
    format!("{}{mark}{extension}{suffix}", cut_to_bytes(stem, room))
}

/// `name` as stem and extension (`.xlsx`: a dot then one to ten letters or digits), the extension empty
/// when it has none.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot)
            if dot > 0
                && (2..=11).contains(&(name.len() - dot))
                && name[dot + 1..].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            name.split_at(dot)
        }
        _ => (name, ""),
    }
}

/// The longest beginning of `text` of at most `bytes` bytes that ends on a character boundary.
pub fn cut_to_bytes(text: &str, bytes: usize) -> &str {
    if text.len() <= bytes {
        return text;
    }
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit_are_kept_as_they_are() {
        assert_eq!(
            fit_file_name("2020-21 Q2 PSD return.xlsx", ".exceptions.xlsx"),
            "2020-21 Q2 PSD return.xlsx.exceptions.xlsx"
        );
        assert_eq!(
            fit_file_name("PSD returns.eml › Q2.xlsx", ".eml"),
            "PSD returns.eml › Q2.xlsx.eml"
        );
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary_keeping_their_extension() {
        for unit in ["x", "é", "日本", "😀"] {
            let name = format!("{}.xlsx", unit.repeat(250));
            let fitted = fit_file_name(&name, ".exceptions.xlsx");
            assert!(fitted.len() <= MAX_FILE_NAME_BYTES, "{}", fitted.len());
            assert!(fitted.len() > MAX_FILE_NAME_BYTES - 12, "{}", fitted.len());
            assert!(fitted.ends_with(".xlsx.exceptions.xlsx"), "{fitted}");
            assert!(fitted.starts_with(unit), "{fitted}");
        }
    }

    #[test]
    fn long_names_that_share_a_beginning_do_not_collide() {
        let common = "2020-21 Q2 PSD return corrected ".repeat(8);
        let first = fit_file_name(&format!("{common}final.xlsx"), ".exceptions.xlsx");
        let second = fit_file_name(&format!("{common}final final.xlsx"), ".exceptions.xlsx");
        assert_ne!(first, second);
        assert_eq!(first.len(), second.len());
    }

    #[test]
    fn separators_and_control_characters_never_reach_a_file_name() {
        let fitted = fit_file_name("HR\nreturn/Q2.xlsx", ".json");
        assert!(fitted.starts_with("HR-return-Q2~"), "{fitted}");
        assert!(fitted.ends_with(".xlsx.json"), "{fitted}");
        assert_ne!(fitted, fit_file_name("HR-return-Q2.xlsx", ".json"));
    }

    #[test]
    fn a_name_without_an_extension_is_cut_all_the_same() {
        let fitted = fit_name(&"a".repeat(300), "", 120);
        assert_eq!(fitted.len(), 120);
        assert!(!fitted.contains('.'));
    }

    #[test]
    fn the_atomic_writer_takes_the_longest_fitted_name() {
        let folder = tempfile::tempdir().expect("a folder");
        let name = fit_file_name(&format!("{}.xlsx", "é".repeat(200)), ".reason.txt");
        write_atomically(&folder.path().join(&name), b"why").expect("written");
        assert_eq!(
            std::fs::read(folder.path().join(&name)).expect("there"),
            b"why"
        );
    }

    #[test]
    fn a_deferred_file_written_with_its_own_flush_is_whole() {
        // The path every platform but Linux takes, run here too: written and flushed through one handle.
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join(format!("{}.xlsx.json", "r".repeat(250)));
        let fitted = folder
            .path()
            .join(fit_file_name(&format!("{}.xlsx", "r".repeat(250)), ".json"));
        write_through_temporary(&fitted, b"{}", true).expect("written and flushed");
        assert_eq!(std::fs::read(&fitted).expect("there"), b"{}");
        assert!(!path.exists());
        let left: Vec<_> = std::fs::read_dir(folder.path())
            .expect("listed")
            .filter_map(Result::ok)
            .collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }
}
