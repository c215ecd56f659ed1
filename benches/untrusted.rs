//! Benchmark: how long `collate check` takes on each hostile file, and the peak memory of its processes.
//!
//! Run: cargo bench --bench untrusted
//! Each file is checked by the real binary, from its own measuring process, so that the peak read back
//! (`getrusage(RUSAGE_CHILDREN)`: the largest of `collate` and the worker it reaped) is that file's alone.
//! The process tree is `collate` and one worker, so its peak is at most the two added together.

// A harness: a failed expectation is the test failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/hostile.rs"]
mod hostile;
#[path = "../tests/support/install.rs"]
mod install;
#[path = "../tests/support/seed_returns.rs"]
mod seed_returns;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const COLLATE: &str = env!("CARGO_BIN_EXE_collate");

/// Checks one file; prints wall seconds, the largest process peak (KiB) and the verdict.
#[cfg(target_os = "linux")]
fn measure_one(root: &Path, file: &Path) -> anyhow::Result<()> {
    use nix::sys::resource::{UsageWho, getrusage};
    let started = Instant::now();
    let output = Command::new(COLLATE)
        .current_dir(root)
        .args(["check", "--json"])
        .arg(file)
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_kib = getrusage(UsageWho::RUSAGE_CHILDREN)?.max_rss();
    let verdict = match output.status.code() {
        Some(0) => "accepted",
        Some(1) => "refused",
        _ => "FAILED",
    };
    println!("{seconds:.3} {peak_kib} {verdict}");
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn measure_one(_root: &Path, _file: &Path) -> anyhow::Result<()> {
    anyhow::bail!("peak memory is read with getrusage, on Linux")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--one") {
        let (root, file) = (&args[at + 1], &args[at + 2]);
        return measure_one(Path::new(root), Path::new(file));
    }
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("Integrity dashboard");
    install::install_schemas(&root)?;
    std::fs::create_dir_all(root.join("inbox"))?;
    let schemas = collate::schema::load(&root.join("schemas"))?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    println!(
        "{:<34} {:>9} {:>16}  outcome",
        "file", "wall (s)", "largest peak (MiB)"
    );
    for file in hostile::corpus(&schemas, &fixtures) {
        let path = root.join("inbox").join(file.name);
        std::fs::write(&path, &file.bytes)?;
        let output = Command::new(std::env::current_exe()?)
            .arg("--one")
            .arg(&root)
            .arg(&path)
            .output()?;
        let line = String::from_utf8_lossy(&output.stdout);
        let mut parts = line.split_whitespace();
        let seconds: f64 = parts.next().unwrap_or("0").parse()?;
        let kib: f64 = parts.next().unwrap_or("0").parse()?;
        let verdict = parts.next().unwrap_or("?");
        println!(
            "{:<34} {seconds:>9.3} {:>16.1}  {verdict}",
            file.name,
            kib / 1024.0
        );
    }
    Ok(())
}
