//! Installations for tests and benchmarks: the project's schemas (templates and plans) copied into a folder.

use std::path::Path;

/// Copies a folder tree, keeping each file's modification time: a copy made a moment ago would otherwise
/// still be settling when `collate` looks at it.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            let modified = entry.metadata()?.modified()?;
            std::fs::File::options()
                .write(true)
                .open(&target)?
                .set_modified(modified)?;
        }
    }
    Ok(())
}

/// The project's `schemas/` (every template and plan) as `root/schemas`.
pub fn install_schemas(root: &Path) -> std::io::Result<()> {
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"),
        &root.join("schemas"),
    )
}
