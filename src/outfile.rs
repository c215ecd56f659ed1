//! Writes output files atomically: readers see the old file or the new one, never half of either.

use std::io::Write;
use std::path::Path;

use atomic_write_file::AtomicWriteFile;

use crate::error::FatalError;

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

/// Writes a file that the store can always make again (a per-return report): atomically, through a temporary
/// file renamed over `path`, but without flushing it to disk on its own. Call [`flush_filesystem`] once after
/// a batch of them, before the batch is committed to the store.
pub fn write_atomically_deferred(path: &Path, bytes: &[u8]) -> Result<(), FatalError> {
    let fail = |error: std::io::Error| FatalError::output(path, error);
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(fail)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&temporary, bytes).and_then(|()| {
        // Without syncfs (not Linux) each file is flushed itself.
        #[cfg(not(target_os = "linux"))]
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(&temporary, path)
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail(error));
    }
    Ok(())
}

/// Flushes everything written to the filesystem holding `dir`: one call makes a batch of deferred writes
/// durable, where a flush per file would cost more than reading the returns.
pub fn flush_filesystem(dir: &Path) -> Result<(), FatalError> {
    #[cfg(target_os = "linux")]
    {
        let folder = std::fs::File::open(dir).map_err(|e| FatalError::output(dir, e))?;
        nix::unistd::syncfs(&folder).map_err(|e| {
            FatalError::folder_failed(dir, "cannot flush to disk", std::io::Error::from(e))
        })?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
    Ok(())
}
