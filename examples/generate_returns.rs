//! Writes generated returns (six departments over ten years of quarters, with resubmissions: what the
//! pipeline benchmark reads) into a folder, for comparing the outputs of two builds on a large inbox.
//!
//! Run: cargo run --example generate_returns -- FOLDER [COUNT]   (COUNT defaults to 1,000)

// A harness: a failed expectation is the test failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/seed_returns.rs"]
mod seed_returns;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let folder = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: generate_returns FOLDER [COUNT]"))?;
    let count = match args.next() {
        Some(count) => count.parse()?,
        None => 1000,
    };
    let schemas = collate::schema::load(std::path::Path::new("schemas"))?;
    seed_returns::write_generated_inbox(&schemas, std::path::Path::new(&folder), count)?;
    println!("{count} returns written to {folder}");
    Ok(())
}
