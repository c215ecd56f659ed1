//! The independent Python tools the tests and benches cross-check `collate` with
//! (`tests/support/python-requirements.txt`), installed on first use into the target folder, so a fresh
//! machine's bare python3 is all they need.

use std::path::{Path, PathBuf};

/// What a Python tool that is not ours reads from `path`: runs `python3 ARGS… PATH` (a script file, or
/// `-c` and its text) and parses the JSON it prints.
pub fn python_json(args: &[&std::ffi::OsStr], path: &Path) -> serde_json::Value {
    let output = python3()
        .args(args)
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the tool prints JSON")
}

/// `python3` with the Python tools the tests cross-check with (`tests/support/python-requirements.txt`:
/// openpyxl, aiosmtpd, extract-msg) on its path. They are installed from PyPI on first use into the
/// target folder, once per set of requirements, so a fresh machine's bare python3 is all `cargo test`
/// needs.
pub fn python3() -> std::process::Command {
    let mut command = std::process::Command::new("python3");
    command.env("PYTHONPATH", python_tools());
    command
}

fn python_tools() -> &'static Path {
    static TOOLS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TOOLS.get_or_init(|| {
        let requirements =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/python-requirements.txt");
        let listed = std::fs::read(&requirements).expect("the requirements");
        let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "python-tools-{}",
            &collate::pipeline::sha256_hex(&listed)[..12]
        ));
        if folder.join(".complete").exists() {
            return folder;
        }
        // Installed beside it, then moved into place whole: another test run may be doing the same.
        let staging = folder.with_extension(format!("partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let installed = std::process::Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-warn-script-location", "--target"])
            .arg(&staging)
            .arg("-r")
            .arg(&requirements)
            .status()
            .expect("python3 runs");
        assert!(
            installed.success(),
            "pip could not install the tests' Python tools ({})",
            requirements.display()
        );
        std::fs::write(staging.join(".complete"), b"").expect("marked complete");
        if std::fs::rename(&staging, &folder).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
            assert!(folder.join(".complete").exists(), "the tools are in place");
        }
        folder
    })
}

/// [`python_json`] with the script given as text.
pub fn python_script_json(script: &str, path: &Path) -> serde_json::Value {
    python_json(&["-c".as_ref(), script.as_ref()], path)
}
