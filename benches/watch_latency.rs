//! Benchmark: from a return's last byte in the inbox to the rewritten dashboard, with `collate watch` started
//! as its users start it (from the installation folder, no `--root`, default relative paths) and a history
//! already in the store: ten years (480 returns), then 12,000 returns (resubmissions included).
//!
//! Run: cargo bench --bench watch_latency            (COLLATE_BENCH_HISTORY=480,12000 to choose the sizes)
//! The rescan is set to ten minutes, so every latency measured is that of a file-system event.

// A harness: a failed expectation is the test failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/install.rs"]
mod install;
#[path = "../tests/support/seed_returns.rs"]
mod seed_returns;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

const SETTLE: Duration = Duration::from_millis(500);
const SAMPLES: usize = 10;
const COLLATE: &str = env!("CARGO_BIN_EXE_collate");

/// Writes `count` generated returns into the inbox, saved a day ago, and stores them with `collate run`.
fn store_history(root: &Path, count: usize) -> anyhow::Result<()> {
    let schemas = collate::schema::load(&root.join("schemas"))?;
    let inbox = root.join("inbox");
    std::fs::create_dir_all(&inbox)?;
    let day_ago = SystemTime::now() - Duration::from_secs(86_400);
    for (name, bytes) in seed_returns::generated_returns(&schemas, count, 40, false) {
        let path = inbox.join(name);
        std::fs::write(&path, bytes)?;
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(day_ago)?;
    }
    let run = Command::new(COLLATE)
        .current_dir(root)
        .args(["--quiet", "run"])
        .status()?;
    anyhow::ensure!(run.success(), "collate run on the history failed: {run}");
    Ok(())
}

/// `collate watch --settle 0.5 --rescan 600` in `root`; the channel gets the moment of each batch's
/// "outputs rewritten" log line, which is logged once the dashboard has been replaced.
fn start_watcher(root: &Path) -> anyhow::Result<(Child, mpsc::Receiver<Instant>)> {
    let mut child = Command::new(COLLATE)
        .current_dir(root)
        .args(["watch", "--settle", "0.5", "--rescan", "600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let log = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no log"))?;
    let (batches, batch_done) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(log).lines().map_while(Result::ok) {
            if line.contains("outputs rewritten") && batches.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    Ok((child, batch_done))
}

/// Latencies of `SAMPLES` new returns dropped one at a time into a watched installation with `history`
/// returns stored.
fn measure(history: usize) -> anyhow::Result<Vec<Duration>> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("Integrity dashboard");
    install::install_schemas(&root)?;
    store_history(&root, history)?;
    let schemas = collate::schema::load(&root.join("schemas"))?;
    // New returns: distinct from the history (a later bump), for the watcher to take one at a time.
    let arrivals =
        seed_returns::generated_returns(&schemas, history + SAMPLES, 40, false).split_off(history);

    let (mut watcher, batch_done) = start_watcher(&root)?;
    // The catch-up pass looks at the history's files once (all already in the store).
    batch_done.recv_timeout(Duration::from_secs(600))?;
    let mut latencies = Vec::new();
    for (name, bytes) in &arrivals {
        let mut file = std::fs::File::create(root.join("inbox").join(format!("arrival {name}")))?;
        file.write_all(bytes)?;
        file.flush()?;
        drop(file);
        let last_byte = Instant::now();
        let rewritten = batch_done.recv_timeout(Duration::from_secs(120))?;
        latencies.push(rewritten.duration_since(last_byte));
    }
    Command::new("kill")
        .args(["-TERM", &watcher.id().to_string()])
        .status()?;
    watcher.wait()?;
    latencies.sort();
    Ok(latencies)
}

fn report(history: usize, latencies: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let beyond = |d: Duration| ms(d.saturating_sub(SETTLE));
    let (best, median, worst) = (
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
    );
    println!(
        "history {history} returns; settle {} ms; last byte to rewritten dashboard: median {:.0} ms, best {:.0} ms, worst {:.0} ms; beyond the settle window: median {:.0} ms",
        SETTLE.as_millis(),
        ms(median),
        ms(best),
        ms(worst),
        beyond(median)
    );
}

fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::var("COLLATE_BENCH_HISTORY")
        .unwrap_or_else(|_| "480,12000".to_owned())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect();
    for history in sizes {
        let latencies = measure(history)?;
        anyhow::ensure!(!latencies.is_empty(), "no sample");
        report(history, &latencies);
    }
    Ok(())
}
