//! Writes output files atomically: readers see the old file or the new one, never half of either.

use std::io::Write;
use std::path::Path;

use atomic_write_file::AtomicWriteFile;

use crate::error::FatalError;

/// Writes `bytes` to a temporary file beside `path`, flushes it and the folder to disk, then renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FatalError> {
    let fail = |reason: std::io::Error| FatalError::Output {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut file = AtomicWriteFile::options().open(path).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.commit().map_err(fail)?;
    Ok(())
}
