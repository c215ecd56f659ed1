//! No single return can stop, stall or exhaust the collation: hostile files made from the seed's own
//! returns are each refused (or queried) with a reason, a worker killed mid-read costs one return, and a
//! run over all of them beside the sample returns still writes the full dashboard.

use std::time::Duration;

use crate::hostile::{Expect, corpus};
use crate::support::{
    Installation, data_rows, figure, repo, sha256, sheet_rows, stderr, stdout, wait_until,
};

#[test]
fn every_hostile_file_is_refused_or_queried_with_its_reason() {
    let installation = Installation::new();
    for hostile in corpus(&installation.schemas, &repo().join("tests/fixtures")) {
        let path = installation.receive(hostile.name, &hostile.bytes, 0);
        let output = installation.collate(&["check", "--json", &path.to_string_lossy()]);
        let code = output.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{}: check ended with {:?}: {}",
            hostile.name,
            output.status,
            stderr(&output)
        );
        let reports: serde_json::Value =
            serde_json::from_str(&stdout(&output)).expect("check prints JSON");
        let report = &reports[0];
        let messages: Vec<String> = report["exceptions"]
            .as_array()
            .expect("exceptions")
            .iter()
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect();
        let (accepted, says) = match hostile.expect {
            Expect::Refused(says) => (false, says),
            Expect::Queried(says) => (true, says),
        };
        assert_eq!(
            report["accepted"].as_bool(),
            Some(accepted),
            "{}: {messages:?}",
            hostile.name
        );
        assert!(
            messages.iter().any(|m| m.contains(says)),
            "{}: no message says \"{says}\": {messages:?}",
            hostile.name
        );
    }
}

#[test]
fn a_run_over_hostile_files_beside_the_sample_returns_writes_every_seed_figure_and_exits_1() {
    let installation = Installation::with_sample_inbox();
    // The sample returns were saved long before the hostile ones arrive (a later return wins).
    installation.age_inbox();
    let hostile = corpus(&installation.schemas, &repo().join("tests/fixtures"));
    let mut kept = Vec::new();
    for (i, file) in hostile.iter().enumerate() {
        let path = installation.receive(file.name, &file.bytes, 600 + i as u64);
        kept.push((path.clone(), sha256(&path)));
    }
    let output = installation.collate(&["run"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    assert_eq!(seed_psd_figure(&installation).as_deref(), Some("24"));
    let rows = data_rows(&installation.dashboard());
    // Every seed figure, as a run over the sample returns alone gives it (the figures, not their files:
    // the accepted hostile PSD return carries the seed's PSD figures).
    let sample_only = Installation::with_sample_inbox();
    sample_only.run();
    let figures = |rows: &[[String; 7]]| {
        let mut figures: Vec<[String; 5]> = rows
            .iter()
            .map(|row| std::array::from_fn(|i| row[i].clone()))
            .collect();
        figures.sort();
        figures
    };
    assert_eq!(
        figures(&rows),
        figures(&data_rows(&sample_only.dashboard())),
        "every seed figure is on the dashboard"
    );
    let accepted_files: std::collections::HashSet<&str> =
        rows.iter().map(|row| row[5].as_str()).collect();
    assert!(
        accepted_files.contains("long analysis PSD return.xlsx"),
        "the over-long analysis is accepted with a query"
    );
    let psd = sheet_rows(&installation.dashboard(), "PSD");
    assert!(
        psd.iter()
            .flatten()
            .any(|cell| cell.contains("[…cut: the return's text is")
                && cell.chars().count() == collate::excel::CELL_TEXT_LIMIT),
        "the analysis is shown cut at Excel's limit, with a marker"
    );
    let rejected = sheet_rows(&installation.exceptions(), "Rejected");
    let log = stderr(&output);
    for file in hostile
        .iter()
        .filter(|f| matches!(f.expect, Expect::Refused(_)))
    {
        assert!(
            log.lines()
                .any(|line| line.contains("rejected") && line.contains(file.name)),
            "{} rejected in the log: {log}",
            file.name
        );
        // A PSD Q2 return rejected for its figures is since replaced by a later good one; the files
        // refused before they could be read stay listed.
        if file.name != "long figure PSD return.xlsx" {
            assert!(
                rejected
                    .iter()
                    .any(|row| row.iter().any(|cell| cell == file.name)),
                "{} listed as rejected",
                file.name
            );
        }
    }
    for (path, before) in kept {
        assert_eq!(
            sha256(&path),
            before,
            "{} kept as it arrived",
            path.display()
        );
    }
}

#[test]
fn a_file_larger_than_any_return_is_refused_without_being_read() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    // 200 GB each on paper and nothing on disk (sparse): read whole, either would exhaust the machine.
    let huge: u64 = 200 * 1024 * 1024 * 1024;
    for name in ["huge PSD return.xlsx", "huge return email.eml"] {
        let file = std::fs::File::create(installation.inbox().join(name)).expect("create");
        file.set_len(huge).expect("a sparse file");
    }
    let output = installation.collate(&["run"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    let rejected = sheet_rows(&installation.exceptions(), "Rejected");
    let row = rejected
        .iter()
        .find(|row| row.iter().any(|cell| cell == "huge PSD return.xlsx"))
        .unwrap_or_else(|| panic!("the huge workbook is listed as rejected: {rejected:?}"));
    assert!(
        row.iter().any(|cell| cell.contains(
            "too large or too complex to read safely: the file is 204800 MB; a return may be at most 64 MB"
        )),
        "the reason says how big it is and may be: {row:?}"
    );
    let set_aside = installation.inbox().join("set aside");
    let note = std::fs::read_to_string(set_aside.join("huge return email.eml.reason.txt"))
        .expect("the huge email is set aside with a note");
    assert!(
        note.contains("the email is larger than the 64 MB a return may be"),
        "{note}"
    );
    // Kept as they came (the workbook in the inbox, the email beside its note), and every other return
    // is on the dashboard.
    for kept in [
        installation.inbox().join("huge PSD return.xlsx"),
        set_aside.join("huge return email.eml"),
    ] {
        let size = std::fs::metadata(&kept).map(|m| m.len()).ok();
        assert_eq!(size, Some(huge), "{} kept", kept.display());
    }
    assert_eq!(seed_psd_figure(&installation).as_deref(), Some("24"));
    // Rebuilding the store reads the inbox again, in the order recorded: still without reading it.
    let output = installation.collate(&["rebuild"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(seed_psd_figure(&installation).as_deref(), Some("24"));
}

#[test]
fn a_return_of_60_mb_with_twelve_5_mb_pictures_is_read_within_the_workers_limits() {
    let installation = Installation::new();
    // The seed PSD return with twelve phone photos in it (random bytes: they do not pack smaller).
    let bytes = crate::support::seed_draft(&installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    let mut parts = crate::hostile::entries(&bytes);
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    for picture in 1..=12 {
        let photo: Vec<u8> = (0..5 * 1024 * 1024 / 8)
            .flat_map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                noise.to_le_bytes()
            })
            .collect();
        parts.push((format!("xl/media/image{picture}.jpeg"), photo));
    }
    let path = installation.inbox().join("PSD return with photos.xlsx");
    std::fs::write(&path, crate::hostile::rezip(&parts)).expect("written");
    let size = std::fs::metadata(&path).expect("written").len();
    assert!(
        size > 60 * 1024 * 1024 && size < 64 * 1024 * 1024,
        "{size} bytes: over 60 MB, under the 64 MB limit"
    );
    let output = installation.collate(&["run"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(seed_psd_figure(&installation).as_deref(), Some("24"));
}

/// A seed figure as the dashboard shows it: PSD's complaints in 2020/21 Q2 (24 in the seed).
fn seed_psd_figure(installation: &Installation) -> Option<String> {
    let rows = data_rows(&installation.dashboard());
    figure(&rows, "PSD 1", "complaints", "2020/21", "Q2")
}

/// The pids of this installation's `collate read-worker` processes.
fn workers() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline.split(|&b| b == 0).any(|arg| arg == b"read-worker")
                && cmdline
                    .windows(b"Integrity dashboard".len())
                    .any(|w| w == b"Integrity dashboard")
        })
        .collect()
}

/// How many bytes a process has read so far (`rchar` of `/proc/PID/io`).
fn bytes_read(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("rchar:"))
        .and_then(|n| n.trim().parse::<u64>().ok())
}

/// Freezes the worker handed the large return (`size` bytes: a worker that has read over half of that is
/// reading it, the sample returns coming to some 250 KB together) and gives its pid. Reading that return
/// takes it seconds, and it is frozen within a look of starting to: the log the test reads afterwards
/// says whether it still owed its answer.
fn freeze_the_worker_reading_the_large_return(size: u64) -> u32 {
    let started = std::time::Instant::now();
    loop {
        let reading = workers()
            .into_iter()
            .find(|&pid| bytes_read(pid).is_some_and(|read| read > size / 2));
        if let Some(pid) = reading {
            signal(pid, "-STOP");
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no worker got the large return"
        );
        std::thread::yield_now();
    }
}

fn signal(pid: u32, which: &str) {
    let status = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {which} {pid}");
}

/// A large but allowed PSD return: the seed's, with 600,000 more cells of figures beside them.
fn slow_return(installation: &Installation) -> Vec<u8> {
    let bytes = crate::support::seed_draft(installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    let names: Vec<String> = crate::hostile::entries(&bytes)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("xl/worksheets/sheet"))
        .collect();
    let sheet = names.get(1).or(names.first()).expect("a sheet").clone();
    crate::hostile::with_entry(&bytes, &sheet, |xml| {
        let rows: String = (0..6000)
            .map(|r| {
                let cells: String = (0..100)
                    .map(|c| format!("<c r=\"{}{}\"><v>{c}</v></c>", column_name(30 + c), 300 + r))
                    .collect();
                format!("<row r=\"{}\">{cells}</row>", 300 + r)
            })
            .collect();
        xml.replacen("</sheetData>", &format!("{rows}</sheetData>"), 1)
    })
}

fn column_name(mut index: u32) -> String {
    let mut name = Vec::new();
    index += 1;
    while index > 0 {
        index -= 1;
        name.push(b'A' + (index % 26) as u8);
        index /= 26;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

#[test]
fn a_worker_killed_from_outside_mid_read_costs_nothing_its_return_is_read_again() {
    let installation = Installation::with_sample_inbox();
    let large = slow_return(&installation);
    installation.receive("slow PSD return.xlsx", &large, 600);
    let run = installation
        .command()
        .arg("run")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start collate run");
    let pid = freeze_the_worker_reading_the_large_return(large.len() as u64);
    // As the out-of-memory killer or an administrator would.
    signal(pid, "-KILL");
    let output = run.wait_with_output().expect("run finishes");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{log}");
    let read_again = log
        .lines()
        .find(|line| line.contains("reading it again in a new one"));
    assert!(
        read_again
            .is_some_and(|line| line.contains("signal 9") && line.contains("slow PSD return.xlsx")),
        "the kill was not taken for a verdict: {log}"
    );
    assert!(log.contains("22 accepted, 0 rejected"), "{log}");
    assert!(!log.contains("could not be read safely"), "{log}");
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24"),
        "every return reaches the dashboard"
    );
}

#[test]
fn a_run_straight_after_copying_the_inbox_waits_for_the_young_files_and_reads_them_all() {
    let installation = Installation::new();
    // Copied a moment ago, as `cp` without -a does: every file is seconds old.
    for entry in std::fs::read_dir(repo().join("inbox")).expect("sample inbox") {
        let path = entry.expect("entry").path();
        if collate::pipeline::is_workbook_name(&path) {
            std::fs::copy(
                &path,
                installation.inbox().join(path.file_name().expect("name")),
            )
            .expect("copy");
        }
    }
    let output = installation.collate(&["run"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("21 accepted, 0 rejected, 0 already processed, 0 still being written"),
        "{}",
        stderr(&output)
    );
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24")
    );
}

#[test]
fn a_watcher_survives_every_hostile_file_and_logs_each_refusal_once() {
    let installation = Installation::new();
    let watcher = installation.spawn_watch(&["-v", "--settle", "0.3", "--rescan", "1"]);
    let hostile = corpus(&installation.schemas, &repo().join("tests/fixtures"));
    for file in &hostile {
        std::fs::write(installation.inbox().join(file.name), &file.bytes).expect("drop");
    }
    wait_until(120, "every hostile file processed", || {
        installation.stored_returns().len() >= hostile.len()
    });
    // Several rescans later, none finding a file left to read, a good return still gets through the
    // same watcher.
    installation.wait_for_rescans(3, 0);
    let good = crate::support::seed_draft(&installation, "hr-quarterly")
        .to_bytes()
        .expect("workbook");
    std::fs::write(installation.inbox().join("HR Q2 return.xlsx"), good).expect("drop");
    wait_until(60, "the good return on the dashboard", || {
        installation.dashboard().exists()
            && data_rows(&installation.dashboard())
                .iter()
                .any(|row| row[5] == "HR Q2 return.xlsx")
    });
    assert!(
        watcher.terminate().success(),
        "the watcher ran throughout and stops cleanly"
    );
    let log = installation.watch_log();
    for file in hostile
        .iter()
        .filter(|f| matches!(f.expect, Expect::Refused(_)))
    {
        let refusals = log
            .lines()
            .filter(|line| line.contains("rejected:") && line.contains(file.name))
            .count();
        assert_eq!(refusals, 1, "{} refused once: {log}", file.name);
    }
}
