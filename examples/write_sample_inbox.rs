//! Writes the seed dashboard's returns into a folder (default `inbox/`): the bundled sample inbox.
//! `scripts/make-office-files.sh` then has LibreOffice re-save some of them, as departments' own office
//! suites would.
//!
//! Run: cargo run --example write_sample_inbox -- [FOLDER]

// A harness: a failed expectation is the test failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/seed_returns.rs"]
mod seed_returns;

fn main() -> anyhow::Result<()> {
    let folder = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "inbox".to_owned());
    let schemas = collate::schema::load(std::path::Path::new("schemas"))?;
    std::fs::create_dir_all(&folder)?;
    for (name, bytes) in seed_returns::seed_workbooks(&schemas) {
        let path = std::path::Path::new(&folder).join(&name);
        std::fs::write(&path, bytes)?;
        println!("{}", path.display());
    }
    Ok(())
}
