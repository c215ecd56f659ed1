//! Benchmark: from a return's last byte in the inbox to the rewritten dashboard, with ten years of returns
//! (six departments, forty quarters, resubmissions included) already in the store.
//!
//! Run: cargo bench --bench watch_latency

#[path = "../tests/support/seed_returns.rs"]
mod seed_returns;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use collate::pipeline::{Folders, process_inbox};
use collate::watch::{WatchOptions, watch};

const SETTLE: Duration = Duration::from_millis(500);
const SAMPLES: usize = 10;

fn copy_schemas(repo: &Path, root: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(root.join("schemas/templates"))?;
    for folder in ["schemas", "schemas/templates"] {
        for entry in std::fs::read_dir(repo.join(folder))? {
            let path = entry?.path();
            if path.is_file() {
                std::fs::copy(
                    &path,
                    root.join(folder).join(path.file_name().unwrap_or_default()),
                )?;
            }
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    copy_schemas(Path::new(env!("CARGO_MANIFEST_DIR")), root)?;
    let schemas = collate::schema::load(&root.join("schemas"))?;
    let folders = Folders::under(root);
    std::fs::create_dir_all(&folders.inbox)?;

    // Ten years of history, in the store before the watcher starts.
    let history = seed_returns::generated_returns(&schemas, 480, 40, false);
    let long_ago = SystemTime::now() - Duration::from_secs(86_400);
    for (name, bytes) in &history {
        let path = folders.inbox.join(name);
        std::fs::write(&path, bytes)?;
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(long_ago)?;
    }
    process_inbox(&schemas, &folders, None)?;
    // New returns: distinct from the history (a later bump), for the watcher to take one at a time.
    let arrivals =
        seed_returns::generated_returns(&schemas, 480 + SAMPLES, 40, false).split_off(480);

    let stop = AtomicBool::new(false);
    let (batches, batch_done) = mpsc::channel::<Instant>();
    let options = WatchOptions {
        settle: SETTLE,
        rescan: Duration::from_secs(600),
        ..WatchOptions::default()
    };
    let mut latencies = Vec::new();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let watcher = scope.spawn(|| {
            watch(&schemas, &folders, &options, &stop, &mut |_| {
                let _ = batches.send(Instant::now());
            })
        });
        // The catch-up pass reads the history's files once (all already in the store).
        batch_done.recv_timeout(Duration::from_secs(120))?;
        for (name, bytes) in &arrivals {
            let path = folders.inbox.join(format!("arrival {name}"));
            let mut file = std::fs::File::create(&path)?;
            file.write_all(bytes)?;
            file.flush()?;
            drop(file);
            let last_byte = Instant::now();
            let rewritten = batch_done.recv_timeout(Duration::from_secs(60))?;
            latencies.push(rewritten.duration_since(last_byte));
        }
        stop.store(true, Ordering::SeqCst);
        watcher
            .join()
            .map_err(|_| anyhow::anyhow!("the watcher panicked"))??;
        Ok(())
    })?;

    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let (best, worst) = (latencies[0], latencies[latencies.len() - 1]);
    let beyond = |d: Duration| d.saturating_sub(SETTLE).as_secs_f64() * 1000.0;
    println!(
        "store: {} returns (ten years, six departments); settle window {} ms",
        history.len(),
        SETTLE.as_millis()
    );
    println!(
        "last byte to rewritten dashboard: median {:.0} ms, best {:.0} ms, worst {:.0} ms",
        median.as_secs_f64() * 1000.0,
        best.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0
    );
    println!(
        "beyond the settle window: median {:.0} ms, best {:.0} ms, worst {:.0} ms",
        beyond(median),
        beyond(best),
        beyond(worst)
    );
    Ok(())
}
