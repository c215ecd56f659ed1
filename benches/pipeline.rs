//! Benchmark: the whole pipeline over generated returns, beside merely reading the same files with calamine.
//!
//! Run: cargo bench --bench pipeline            (1,000 returns; COLLATE_BENCH_RETURNS=N for another count)
//! Each phase runs in its own child process so that its peak memory (VmHWM) is its own.

// A harness: a failed expectation is the test failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/install.rs"]
mod install;
#[path = "../tests/support/seed_returns.rs"]
mod seed_returns;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use std::collections::BTreeMap;
use std::sync::Mutex;

use calamine::Reader;
use collate::period::PeriodChoice;
use collate::pipeline::{Folders, process_inbox};
use collate::worker::WorkerPool;
use tracing_subscriber::layer::SubscriberExt;

/// CPU seconds (user and system) this process and its reaped children (the workers that read returns)
/// have used, from /proc/self/stat (in clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |field: usize| -> Option<f64> { fields.get(field)?.parse().ok() };
            Some((ticks(11)? + ticks(12)? + ticks(13)? + ticks(14)?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// The machine's CPU ticks so far, all and stolen (time the hypervisor gave this virtual machine's
/// processors to someone else), from the first line of /proc/stat.
fn machine_ticks() -> (u64, u64) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| {
            let fields: Vec<u64> = stat
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|field| field.parse().ok())
                .collect();
            Some((fields.iter().sum(), *fields.get(7)?))
        })
        .unwrap_or((0, 0))
}

fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Opens every file with calamine and reads every sheet: the least any collation must do.
fn bare_read(inbox: &Path) -> anyhow::Result<usize> {
    let mut cells = 0;
    for entry in std::fs::read_dir(inbox)? {
        let path = entry?.path();
        // The workbooks only: a pipeline run leaves its status file beside them.
        if !collate::pipeline::is_workbook_name(&path) {
            continue;
        }
        let bytes = std::fs::read(path)?;
        let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))?;
        for name in workbook.sheet_names() {
            cells += workbook.worksheet_range(&name)?.used_cells().count();
        }
    }
    Ok(cells)
}

/// The stages of a pass as the pipeline times them (`collate::phase`): each stage's total microseconds.
static STAGES: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Adds up each `collate::phase` event's time under its stage.
struct Stages;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Stages {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != collate::phase::TARGET {
            return;
        }
        struct Fields(String, u64);
        impl tracing::field::Visit for Fields {
            fn record_str(&mut self, _: &tracing::field::Field, value: &str) {
                self.0 = value.to_owned();
            }
            fn record_u64(&mut self, _: &tracing::field::Field, value: u64) {
                self.1 = value;
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut fields = Fields(String::new(), 0);
        event.record(&mut fields);
        *STAGES.lock().unwrap().entry(fields.0).or_default() += fields.1;
    }
}

/// The stages as one word for the parent: `stage=micros;stage=micros`, spaces as underscores.
fn stages_said() -> String {
    let stages = STAGES.lock().unwrap();
    stages
        .iter()
        .map(|(stage, micros)| format!("{}={micros}", stage.replace(' ', "_")))
        .collect::<Vec<_>>()
        .join(";")
}

fn phase(kind: &str, root: &Path) -> anyhow::Result<()> {
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Stages))?;
    let (ticks_before, stolen_before) = machine_ticks();
    let started = Instant::now();
    let detail = match kind {
        "read" => format!("{} cells", bare_read(&root.join("inbox"))?),
        "pipeline" => {
            let schemas = collate::schema::load(&root.join("schemas"))?;
            // Returns are read in workers of the real binary, as `collate run` reads them.
            let workers = WorkerPool::start(
                Path::new(env!("CARGO_BIN_EXE_collate")),
                &root.join("schemas"),
                schemas.dashboard.limits.clone(),
            )?;
            let summary = process_inbox(
                &schemas,
                &workers,
                &Folders::under(root),
                PeriodChoice::Latest,
            )?;
            // Stops and reaps the workers, so that their CPU time is counted.
            drop(workers);
            format!(
                "{} accepted, {} rejected",
                summary.accepted(),
                summary.rejected()
            )
        }
        other => anyhow::bail!("unknown phase {other}"),
    };
    let elapsed = started.elapsed().as_secs_f64();
    let (ticks_after, stolen_after) = machine_ticks();
    let stolen = (stolen_after - stolen_before) as f64 / (ticks_after - ticks_before).max(1) as f64;
    println!(
        "{elapsed} {} {} {stolen} {} {detail}",
        peak_memory_kib(),
        cpu_seconds(),
        match stages_said() {
            said if said.is_empty() => "-".to_owned(),
            said => said,
        }
    );
    Ok(())
}

/// One timed phase: wall seconds, peak memory (KiB), CPU seconds, the share of the machine's time stolen
/// by the hypervisor meanwhile, and each stage's seconds.
type Measured = (f64, u64, f64, f64, Vec<(String, f64)>);

fn run_phase(kind: &str, root: &Path) -> anyhow::Result<Measured> {
    let output = Command::new(std::env::current_exe()?)
        .args(["--phase", kind])
        .arg(root)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "{kind}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8(output.stdout)?;
    let mut parts = line.split_whitespace();
    let seconds: f64 = parts.next().unwrap_or("0").parse()?;
    let kib: u64 = parts.next().unwrap_or("0").parse()?;
    let cpu: f64 = parts.next().unwrap_or("0").parse()?;
    let stolen: f64 = parts.next().unwrap_or("0").parse()?;
    let stages = (parts.next().unwrap_or("-").split(';'))
        .filter_map(|stage| stage.split_once('='))
        .filter_map(|(name, micros)| {
            Some((name.replace('_', " "), micros.parse::<f64>().ok()? / 1e6))
        })
        .collect();
    Ok((seconds, kib, cpu, stolen, stages))
}

/// How many times each phase is timed, alternately (COLLATE_BENCH_RUNS=N for another count).
const RUNS: usize = 9;

/// Median wall seconds, best wall seconds, the largest peak memory, and the median CPU seconds of the runs.
fn summarise(runs: &mut [Measured]) -> (f64, f64, u64, f64) {
    let peak = runs.iter().map(|run| run.1).max().unwrap_or(0);
    let mut cpu: Vec<f64> = runs.iter().map(|run| run.2).collect();
    cpu.sort_by(f64::total_cmp);
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    (runs[runs.len() / 2].0, runs[0].0, peak, cpu[cpu.len() / 2])
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--phase") {
        let kind = args
            .get(position + 1)
            .map(String::as_str)
            .unwrap_or_default();
        let root = PathBuf::from(args.get(position + 2).map(String::as_str).unwrap_or("."));
        return phase(kind, &root);
    }
    let count: usize = std::env::var("COLLATE_BENCH_RETURNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    // COLLATE_BENCH_DIR keeps the generated installation, to profile a phase on its own.
    let dir = tempfile::tempdir()?;
    let kept = std::env::var_os("COLLATE_BENCH_DIR").map(PathBuf::from);
    let root = kept.as_deref().unwrap_or(dir.path());
    install::install_schemas(root)?;
    seed_returns::write_generated_inbox(
        &collate::schema::load(&root.join("schemas"))?,
        &root.join("inbox"),
        count,
    )?;
    // The returns are on disk before a run starts, as saved attachments would be.
    Command::new("sync").status()?;
    // Warm the page cache so that both phases read from memory, then time each phase several times from
    // the same state (no store, no outputs, nothing waiting to be written) and keep the median.
    run_phase("read", root)?;
    let runs: usize = std::env::var("COLLATE_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(RUNS);
    let mut reads = Vec::new();
    let mut pipelines = Vec::new();
    for _ in 0..runs {
        for leftover in ["store", "outbox"] {
            let _ = std::fs::remove_dir_all(root.join(leftover));
        }
        Command::new("sync").status()?;
        reads.push(run_phase("read", root)?);
        pipelines.push(run_phase("pipeline", root)?);
    }
    // This shared machine's speed drifts by more than the difference measured, over minutes: each
    // pipeline run is set against the bare read run just before it, and the median of those ratios kept.
    // The share stolen is shown beside each ratio: a pipeline run on both cores suffers more from it than
    // a read on one.
    let mut paired: Vec<(f64, f64)> = reads
        .iter()
        .zip(&pipelines)
        .map(|(read, pipeline)| (pipeline.0 / read.0, read.3.max(pipeline.3)))
        .collect();
    paired.sort_by(|a, b| a.0.total_cmp(&b.0));
    let paired_median = paired[paired.len() / 2].0;
    let (read_seconds, read_best, read_kib, read_cpu) = summarise(&mut reads);
    let (pipeline_seconds, pipeline_best, pipeline_kib, pipeline_cpu) = summarise(&mut pipelines);
    println!("returns: {count}, each phase run {runs} times, alternately (median, best)");
    println!(
        "calamine bare read: {read_seconds:.3} s, best {read_best:.3} s ({:.0} returns/s), CPU {read_cpu:.2} s, peak memory {} MiB",
        count as f64 / read_seconds,
        read_kib / 1024
    );
    println!(
        "collate pipeline:   {pipeline_seconds:.3} s, best {pipeline_best:.3} s ({:.0} returns/s), CPU {pipeline_cpu:.2} s, peak memory {} MiB",
        count as f64 / pipeline_seconds,
        pipeline_kib / 1024
    );
    println!(
        "pipeline / bare read: {paired_median:.2}x wall (median of the {runs} runs' ratios, each against the read just before), {:.2}x (medians), {:.2}x (bests), {:.2}x CPU",
        pipeline_seconds / read_seconds,
        pipeline_best / read_best,
        pipeline_cpu / read_cpu.max(0.01)
    );
    print_stages(&pipelines);
    println!(
        "the runs' ratios, lowest first: {}",
        paired
            .iter()
            .map(|(ratio, stolen)| format!("{ratio:.2} ({:.0}% stolen)", stolen * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Where a pipeline run's time goes, stage by stage (each the median over the runs of its wall time in
/// the run; stages overlap, so they add up to more than the run).
fn print_stages(pipelines: &[Measured]) {
    let mut by_stage: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for run in pipelines {
        for (stage, seconds) in &run.4 {
            by_stage.entry(stage.as_str()).or_default().push(*seconds);
        }
    }
    let total = {
        let mut walls: Vec<f64> = pipelines.iter().map(|run| run.0).collect();
        walls.sort_by(f64::total_cmp);
        walls[walls.len() / 2]
    };
    println!("where the pipeline's time goes (median wall time of each stage; stages overlap):");
    for (stage, mut seconds) in by_stage {
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        println!(
            "  {stage:<34} {:>8.1} ms  {:>5.1} % of the run",
            median * 1000.0,
            100.0 * median / total
        );
    }
}
