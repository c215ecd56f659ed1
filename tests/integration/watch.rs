//! `collate watch`, as a real process with real file-system events: every return once, nothing lost across
//! a `kill -9`, outputs never half-written, files read only when complete, one writer at a time.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use calamine::{Reader, open_workbook_auto};

use crate::seed_returns::generated_returns;
use crate::support::{Installation, data_rows, seed_draft, sorted_data, stderr, wait_until};

/// Writes a file in `pieces` chunks with `pause` between them, as a slow copy onto a share does.
fn write_slowly(path: &std::path::Path, bytes: &[u8], pieces: usize, pause: Duration) {
    let mut file = std::fs::File::create(path).expect("create");
    for chunk in bytes.chunks(bytes.len().div_ceil(pieces)) {
        file.write_all(chunk).expect("write");
        file.flush().expect("flush");
        std::thread::sleep(pause);
    }
}

/// Opens the dashboard over and over while `running`; returns (good opens, failures).
fn read_in_a_tight_loop(
    path: std::path::PathBuf,
    running: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let (mut good, mut failures) = (0, Vec::new());
        while running.load(Ordering::SeqCst) {
            if !path.exists() {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            match open_workbook_auto(&path).map(|mut wb| wb.worksheet_range("Data").is_ok()) {
                Ok(true) => good += 1,
                Ok(false) => failures.push("no Data sheet".to_owned()),
                Err(error) => failures.push(error.to_string()),
            }
        }
        (good, failures)
    })
}

/// Drops returns into the inbox as the issue describes a busy morning: all at once, except the first 100,
/// which ten writers copy in slowly, in chunks, pausing less than the settle window. Returns the writers.
fn drop_returns(
    installation: &Installation,
    files: &[(String, Vec<u8>)],
) -> Vec<std::thread::JoinHandle<()>> {
    let (slow, fast) = files.split_at(100.min(files.len()));
    for (name, bytes) in fast {
        std::fs::write(installation.inbox().join(name), bytes).expect("drop a return");
    }
    slow.chunks(10)
        .map(|group| {
            let group: Vec<(String, Vec<u8>)> = group.to_vec();
            let inbox = installation.inbox();
            std::thread::spawn(move || {
                for (name, bytes) in group {
                    write_slowly(&inbox.join(name), &bytes, 4, Duration::from_millis(150));
                }
            })
        })
        .collect()
}

/// Every file the dashboard's figures cite (a total cites all of its quarters' files).
fn files_on_dashboard(installation: &Installation) -> HashSet<String> {
    if !installation.dashboard().exists() {
        return HashSet::new();
    }
    data_rows(&installation.dashboard())
        .iter()
        .flat_map(|row| row[5].split("; ").map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[test]
fn a_thousand_returns_at_once_some_written_slowly_are_each_processed_exactly_once() {
    let installation = Installation::new();
    let files = generated_returns(&installation.schemas, 1000, usize::MAX, true);
    let watcher = installation.spawn_watch(&["--settle", "0.5", "--rescan", "5"]);

    let running = Arc::new(AtomicBool::new(true));
    let reader = read_in_a_tight_loop(installation.dashboard(), Arc::clone(&running));
    for writer in drop_returns(&installation, &files) {
        writer.join().expect("writer");
    }
    wait_until(300, "all 1,000 returns in the store", || {
        installation.stored_returns().len() >= 1000
    });
    // The outputs are rewritten after the store: wait for the last batch to finish writing them.
    let sent: HashSet<String> = files.iter().map(|(name, _)| name.clone()).collect();
    wait_until(120, "the last batch's outputs", || {
        files_on_dashboard(&installation) == sent
    });
    running.store(false, Ordering::SeqCst);
    let (good, failures) = reader.join().expect("reader");
    assert!(
        watcher.terminate().success(),
        "SIGTERM stops the watcher cleanly"
    );

    let stored = installation.stored_returns();
    assert_eq!(stored.len(), 1000, "each return stored once");
    assert_eq!(
        stored.iter().map(|r| &r.0).collect::<HashSet<_>>().len(),
        1000,
        "no content twice"
    );
    assert!(
        stored.iter().all(|r| r.2),
        "all accepted: no slow file was read before its last byte"
    );
    assert_eq!(
        files_on_dashboard(&installation),
        sent,
        "the dashboard holds figures from every return"
    );
    assert!(good > 0, "the reader opened the dashboard");
    assert!(
        failures.is_empty(),
        "a reader saw a broken dashboard: {failures:?}"
    );
}

#[test]
fn a_watcher_killed_part_way_loses_nothing_and_repeats_nothing() {
    let installation = Installation::new();
    let files = generated_returns(&installation.schemas, 1000, usize::MAX, true);
    let watcher = installation.spawn_watch(&["--settle", "0.5", "--rescan", "5"]);
    let writers = drop_returns(&installation, &files);
    // Part-way: reports are being written, and the batch is not yet committed to the store.
    let reports = installation.outbox().join("returns");
    wait_until(120, "processing under way", || {
        std::fs::read_dir(&reports).is_ok_and(|mut entries| entries.next().is_some())
    });
    watcher.kill_hard();
    let before_restart = installation.stored_returns().len();
    assert!(
        before_restart < 1000,
        "killed part-way, with {before_restart} stored"
    );

    let watcher = installation.spawn_watch(&["--settle", "0.5", "--rescan", "5"]);
    for writer in writers {
        writer.join().expect("writer");
    }
    // What an uninterrupted run over the same files gives.
    let uninterrupted = Installation::new();
    for (name, bytes) in &files {
        uninterrupted.receive(name, bytes, 0);
    }
    uninterrupted.run();
    let expected = sorted_data(&uninterrupted.dashboard());

    wait_until(300, "the restarted watcher to catch up", || {
        installation.stored_returns().len() >= 1000
    });
    wait_until(120, "its outputs to match an uninterrupted run", || {
        installation.dashboard().exists() && sorted_data(&installation.dashboard()) == expected
    });
    assert!(watcher.terminate().success());
    let stored = installation.stored_returns();
    assert_eq!(stored.len(), 1000, "nothing twice");
    assert_eq!(
        stored.iter().map(|r| &r.0).collect::<HashSet<_>>().len(),
        1000
    );
    assert!(stored.iter().all(|r| r.2), "all accepted");
}

#[test]
fn a_slow_copy_is_never_read_before_its_last_byte() {
    let installation = Installation::new();
    let watcher = installation.spawn_watch(&["-v", "--settle", "1", "--rescan", "1"]);
    let bytes = seed_draft(&installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    write_slowly(
        &installation.inbox().join("psd.xlsx"),
        &bytes,
        8,
        Duration::from_millis(400),
    );
    wait_until(60, "the return in the store", || {
        !installation.stored_returns().is_empty()
    });
    // Looked over twice more, nothing left to read: it will not be read again.
    installation.wait_for_rescans(2, 0);
    assert!(watcher.terminate().success());
    let stored = installation.stored_returns();
    assert_eq!(stored.len(), 1, "read once, when complete: {stored:?}");
    assert!(stored[0].2, "accepted, so never read half-written");
}

#[test]
fn excel_owner_files_temporary_files_and_non_returns_never_reach_validation() {
    let installation = Installation::new();
    let watcher = installation.spawn_watch(&["-v", "--settle", "0.3", "--rescan", "1"]);
    let inbox = installation.inbox();
    std::fs::write(inbox.join("~$psd.xlsx"), b"owner file: user name").expect("owner file");
    std::fs::write(inbox.join(".~lock.psd.xlsx#"), b"LibreOffice lock").expect("lock file");
    std::fs::write(inbox.join("psd.tmp"), b"half a save").expect("tmp");
    // Excel saves to an extension-less temporary file, then renames it over the workbook.
    let bytes = seed_draft(&installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    std::fs::write(inbox.join("8A3B1C00"), &bytes).expect("excel temp");
    std::fs::rename(inbox.join("8A3B1C00"), inbox.join("psd.xlsx")).expect("rename");
    std::fs::write(inbox.join("minutes.pdf"), b"%PDF-1.4").expect("pdf");
    wait_until(60, "the return in the store", || {
        !installation.stored_returns().is_empty()
    });
    wait_until(30, "the pdf set aside", || {
        inbox.join("set aside/minutes.pdf").exists()
    });
    // Looked over twice more with nothing waiting: the owner, lock and temporary files are never read.
    installation.wait_for_rescans(2, 0);
    assert!(watcher.terminate().success());
    let stored = installation.stored_returns();
    assert_eq!(
        stored.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["psd.xlsx"]
    );
    for kept in ["~$psd.xlsx", ".~lock.psd.xlsx#", "psd.tmp"] {
        assert!(inbox.join(kept).exists(), "{kept} left alone");
    }
    let reason =
        std::fs::read_to_string(inbox.join("set aside/minutes.pdf.reason.txt")).expect("reason");
    assert!(reason.contains("not a spreadsheet return"), "{reason}");
    assert_eq!(
        std::fs::read(inbox.join("set aside/minutes.pdf")).expect("moved"),
        b"%PDF-1.4"
    );
}

#[test]
fn run_beside_a_watcher_waits_its_turn_and_a_second_watcher_is_refused() {
    let installation = Installation::new();
    let files = generated_returns(&installation.schemas, 150, usize::MAX, true);
    let watcher = installation.spawn_watch(&["-v", "--settle", "0.3", "--rescan", "2"]);

    let second = installation.collate(&["watch"]);
    assert_eq!(second.status.code(), Some(2));
    assert!(
        stderr(&second).contains(&format!(
            "another watcher is already running on it: pid {} (collate watch)",
            watcher.child.id()
        )),
        "{}",
        stderr(&second)
    );

    for (name, bytes) in &files {
        installation.receive(name, bytes, 0);
    }
    let run = installation.collate(&["run"]);
    assert!(run.status.success(), "{}", stderr(&run));
    wait_until(120, "every return stored", || {
        installation.stored_returns().len() >= 150
    });
    // Looked over twice more with nothing waiting: what run took, the watcher does not take again.
    installation.wait_for_rescans(2, 0);
    assert!(watcher.terminate().success());
    let stored = installation.stored_returns();
    assert_eq!(stored.len(), 150, "each once, whichever of the two read it");
    let reference = Installation::new();
    for (name, bytes) in &files {
        reference.receive(name, bytes, 0);
    }
    reference.run();
    // Both wrote the outputs; the last writer's are complete.
    let final_run = installation.collate(&["run"]);
    assert!(final_run.status.success());
    assert_eq!(
        sorted_data(&installation.dashboard()),
        sorted_data(&reference.dashboard())
    );
}

#[test]
fn with_polling_and_no_notifications_every_return_is_still_processed() {
    let installation = Installation::new();
    let files = generated_returns(&installation.schemas, 20, usize::MAX, true);
    let watcher = installation.spawn_watch(&["--poll", "0.5", "--settle", "0.3"]);
    for (name, bytes) in &files {
        std::fs::write(installation.inbox().join(name), bytes).expect("drop");
    }
    wait_until(60, "all 20 stored", || {
        installation.stored_returns().len() >= 20
    });
    assert!(watcher.terminate().success());
    assert!(installation.watch_log().contains("polling every 0.5 s"));
}

#[test]
fn an_output_that_cannot_be_replaced_is_written_beside_it_and_the_update_kept() {
    let installation = Installation::with_sample_inbox();
    // A folder where the dashboard should be: the replacement fails every time, as a file held open in
    // Excel on Windows does.
    std::fs::create_dir_all(installation.dashboard().join("held open")).expect("blocker");
    let output = installation.collate(&["run"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("could not be replaced (is it open in Excel?)"),
        "{}",
        stderr(&output)
    );
    let copies: Vec<_> = std::fs::read_dir(installation.outbox())
        .expect("outbox")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("dashboard 20") && name.ends_with(".xlsx"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let rows = data_rows(&installation.outbox().join(&copies[0]));
    assert!(
        rows.iter()
            .any(|r| r[0] == "PSD 1" && r[1] == "complaints" && r[3] == "Q2" && r[4] == "24")
    );
}

#[test]
fn run_waits_for_the_batch_in_hand_and_says_whose_it_is() {
    let installation = Installation::with_sample_inbox();
    // Hold the batch lock as a watcher in the middle of a batch does.
    let lock_path = collate::lock::batch_lock_path(&installation.root.join("store"));
    let collate::lock::Attempt::Taken(held) =
        collate::lock::try_acquire(&lock_path, "collate watch").expect("lock file")
    else {
        panic!("the batch lock is free");
    };
    let mut run = installation
        .command()
        .arg("run")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start collate run");
    // Its log, line by line as it comes: run says it is waiting, and whose batch it waits for.
    let stderr = run.stderr.take().expect("run's standard error");
    let (lines, said) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let waiting = format!(
        "waiting for pid {} (collate watch) to finish its batch",
        std::process::id()
    );
    let mut log = Vec::new();
    while !log.iter().any(|line: &String| line.contains(&waiting)) {
        match said.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => log.push(line),
            Err(_) => panic!("run never said it was waiting: {log:?}"),
        }
    }
    assert!(
        run.try_wait().expect("status").is_none(),
        "run waits while the batch lock is held"
    );
    assert!(
        !installation.dashboard().exists(),
        "and writes nothing meanwhile"
    );
    drop(held);
    let status = run.wait().expect("run finishes");
    assert!(status.success(), "{log:?}");
    assert!(installation.dashboard().exists());
}

#[test]
fn logs_can_be_json_for_collectors_with_one_line_per_return() {
    let installation = Installation::with_sample_inbox();
    let output = installation.collate(&["--log-format", "json", "run"]);
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each log line is JSON"))
        .collect();
    let per_return = lines
        .iter()
        .filter(|line| {
            line["fields"]["file"]
                .as_str()
                .is_some_and(|f| f.starts_with("2020-21 "))
        })
        .count();
    assert_eq!(
        per_return, 14,
        "one line for each of the 14 quarterly returns"
    );
}

#[test]
fn a_copy_that_pauses_longer_than_the_settle_window_is_still_not_read_half_written() {
    let installation = Installation::new();
    let watcher = installation.spawn_watch(&["-v", "--settle", "0.3", "--rescan", "1"]);
    let bytes = seed_draft(&installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    let path = installation.inbox().join("psd.xlsx");
    let mut file = std::fs::File::create(&path).expect("create");
    file.write_all(&bytes[..bytes.len() / 2])
        .expect("first half");
    file.flush().expect("flush");
    // A pause of several settle windows (two rescans a second apart, the file seen and still waiting):
    // it stands still, but it is not a whole workbook yet.
    installation.wait_for_rescans(2, 1);
    assert!(
        installation.stored_returns().is_empty(),
        "half a workbook was read"
    );
    file.write_all(&bytes[bytes.len() / 2..])
        .expect("second half");
    drop(file);
    wait_until(30, "the complete return in the store", || {
        !installation.stored_returns().is_empty()
    });
    assert!(watcher.terminate().success());
    let stored = installation.stored_returns();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].2, "accepted: it was read whole");
}

/// Starts `collate ARGS watch` from `folder` with a rescan ten minutes away, drops the seed's PSD return into
/// `inbox` and waits for it on the dashboard in `outbox`: only its file-system event can have brought it there.
fn a_drop_reaches_the_dashboard_from_its_event(
    installation: &Installation,
    folder: &std::path::Path,
    args: &[&str],
    inbox: &std::path::Path,
    outbox: &std::path::Path,
) {
    let mut command = installation.command();
    command
        .current_dir(folder)
        .args(args)
        .args(["watch", "--settle", "0.3", "--rescan", "600"]);
    let watcher = installation.spawn_watcher(command, inbox);
    let bytes = seed_draft(installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    std::fs::write(inbox.join("PSD Q2 return.xlsx"), bytes).expect("drop a return");
    let dashboard = outbox.join("dashboard.xlsx");
    // The next rescan is ten minutes away: a return on the dashboard within 30 s was acted on from its
    // event (the wait fails the test otherwise).
    wait_until(
        30,
        "the dropped return on the dashboard, from its event",
        || {
            dashboard.exists()
                && data_rows(&dashboard)
                    .iter()
                    .any(|row| row[5] == "PSD Q2 return.xlsx" && row[4] == "24")
        },
    );
    assert!(watcher.terminate().success());
    let log = installation.watch_log();
    assert!(log.contains("with a full rescan every 600 s"), "{log}");
    assert!(log.contains("batch: 1 accepted"), "{log}");
}

#[test]
fn a_watcher_started_in_the_installation_folder_with_no_options_acts_on_events() {
    let installation = Installation::new();
    a_drop_reaches_the_dashboard_from_its_event(
        &installation,
        &installation.root,
        &[],
        &installation.inbox(),
        &installation.outbox(),
    );
}

#[test]
fn a_watcher_given_root_dot_acts_on_events() {
    let installation = Installation::new();
    a_drop_reaches_the_dashboard_from_its_event(
        &installation,
        &installation.root,
        &["--root", "."],
        &installation.inbox(),
        &installation.outbox(),
    );
}

#[test]
fn a_watcher_given_an_absolute_root_from_elsewhere_acts_on_events() {
    let installation = Installation::new();
    let root = installation.root.to_string_lossy().into_owned();
    a_drop_reaches_the_dashboard_from_its_event(
        &installation,
        &installation.beside(),
        &["--root", &root],
        &installation.inbox(),
        &installation.outbox(),
    );
}

#[test]
fn a_watcher_given_an_inbox_up_and_across_acts_on_events() {
    let installation = Installation::new();
    let elsewhere = installation.beside().join("elsewhere/inbox");
    std::fs::create_dir_all(&elsewhere).expect("inbox elsewhere");
    a_drop_reaches_the_dashboard_from_its_event(
        &installation,
        &installation.root,
        &["--inbox", "../elsewhere/inbox"],
        &elsewhere,
        &installation.outbox(),
    );
}

#[cfg(unix)]
#[test]
fn a_watcher_given_an_inbox_through_a_symbolic_link_acts_on_events() {
    let installation = Installation::new();
    let link = installation.beside().join("link to inbox");
    std::os::unix::fs::symlink(installation.inbox(), &link).expect("symbolic link");
    a_drop_reaches_the_dashboard_from_its_event(
        &installation,
        &installation.beside(),
        &["--root", "Integrity dashboard", "--inbox", "link to inbox"],
        &link,
        &installation.outbox(),
    );
}

#[cfg(unix)]
#[test]
fn a_watcher_given_a_root_through_a_symbolic_link_with_spaces_acts_on_events() {
    let installation = Installation::new();
    let link = installation.beside().join("Shared drive");
    std::os::unix::fs::symlink(&installation.root, &link).expect("symbolic link");
    let root = link.to_string_lossy().into_owned();
    a_drop_reaches_the_dashboard_from_its_event(
        &installation,
        &installation.beside(),
        &["--root", &root],
        &link.join("inbox"),
        &link.join("outbox"),
    );
}

#[test]
fn json_logs_are_json_to_the_last_line_and_logs_in_a_file_carry_no_colour_codes() {
    let installation = Installation::with_sample_inbox();
    installation.receive("notes.xlsx", b"a,b,c\n1,2,3\n", 900);
    let output = installation.collate(&["--log-format", "json", "run"]);
    assert_eq!(output.status.code(), Some(1), "one return rejected");
    let log = stderr(&output);
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("the last line is JSON: {log}"));
    assert_eq!(
        last["fields"]["message"].as_str(),
        Some("1 return(s) rejected; see outbox/exceptions.xlsx")
    );
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
    // Standard error here is a pipe, as a log file or a journal is: no terminal colour codes.
    let plain = stderr(&installation.collate(&["run"]));
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(plain.contains("already processed"), "{plain}");
}

/// Sends `signal` to every process of the process group `group`, as a terminal's Ctrl-C or systemd's
/// default `KillMode=control-group` does.
fn signal_group(signal: &str, group: u32) {
    let sent = std::process::Command::new("kill")
        .args([signal, "--", &format!("-{group}")])
        .status()
        .expect("kill");
    assert!(sent.success(), "{signal} sent to process group {group}");
}

#[test]
fn ctrl_c_then_sigterm_to_the_watchers_whole_process_group_mid_batch_reject_nothing() {
    use std::os::unix::process::CommandExt;
    let installation = Installation::new();
    let files = generated_returns(&installation.schemas, 300, usize::MAX, true);
    // Started as a terminal or systemd starts it: leading a process group of its own.
    let mut command = installation.command();
    command
        .args(["watch", "--settle", "0.3", "--rescan", "5"])
        .process_group(0);
    let watcher = installation.spawn_watcher(command, &installation.inbox());
    let group = watcher.child.id();
    for (name, bytes) in &files {
        std::fs::write(installation.inbox().join(name), bytes).expect("drop a return");
    }
    // Mid-batch: returns are being read and reported on, the batch not yet stored.
    let reports = installation.outbox().join("returns");
    wait_until(120, "the batch under way", || {
        std::fs::read_dir(&reports).is_ok_and(|mut entries| entries.next().is_some())
    });
    signal_group("-INT", group);
    wait_until(30, "the watcher to take the Ctrl-C", || {
        installation
            .watch_log()
            .contains("stopping after the returns in hand")
    });
    signal_group("-TERM", group);
    let mut watcher = watcher;
    let stopped = watcher.child.wait().expect("the watcher stops");
    assert!(
        stopped.code().is_some(),
        "it exited, not killed: {stopped:?}"
    );
    let log = installation.watch_log();
    assert!(log.contains("stopping after the returns in hand"), "{log}");
    let stored = installation.stored_returns();
    assert!(
        stored.iter().all(|(_, _, accepted)| *accepted),
        "a stop was taken for a verdict: {:?}\n{log}",
        stored.iter().filter(|r| !r.2).collect::<Vec<_>>()
    );
    assert!(!log.contains("could not be read safely"), "{log}");
    // The readers run in process groups of their own: the signals meant for the watcher never reach them.
    assert!(!log.contains("stopped from outside"), "{log}");

    // Started again, it reads what the stop left and the dashboard holds every return.
    let watcher = installation.spawn_watch(&["--settle", "0.3", "--rescan", "5"]);
    wait_until(300, "every return in the store", || {
        installation.stored_returns().len() >= files.len()
    });
    let sent: HashSet<String> = files.iter().map(|(name, _)| name.clone()).collect();
    wait_until(120, "every return on the dashboard", || {
        files_on_dashboard(&installation) == sent
    });
    assert!(watcher.terminate().success());
    let stored = installation.stored_returns();
    assert_eq!(stored.len(), files.len(), "each return stored once");
    assert!(stored.iter().all(|r| r.2), "every return accepted");
}

#[test]
fn an_email_without_a_workbook_beside_a_return_makes_one_batch() {
    let installation = Installation::new();
    let bytes = seed_draft(&installation, "psd-quarterly")
        .to_bytes()
        .expect("workbook");
    let email = crate::support::repo().join("tests/fixtures/emails/PDF only.eml");
    std::fs::copy(&email, installation.inbox().join("PDF only.eml")).expect("an email");
    std::fs::write(installation.inbox().join("PSD Q2 return.xlsx"), bytes).expect("a return");
    // Both are waiting when the watcher starts, so its first look finds them together, whatever the
    // machine's load: arriving a moment apart while it watches, two files may rightly be two batches.
    let watcher = installation.spawn_watch(&["-v", "--settle", "0.3", "--rescan", "1"]);
    wait_until(30, "the return on the dashboard", || {
        installation.dashboard().exists()
            && data_rows(&installation.dashboard())
                .iter()
                .any(|row| row[5] == "PSD Q2 return.xlsx")
    });
    // Looked over twice more with nothing waiting: no second batch is to come.
    installation.wait_for_rescans(2, 0);
    assert!(watcher.terminate().success());
    let log = installation.watch_log();
    let batches: Vec<&str> = log.lines().filter(|l| l.contains("batch:")).collect();
    assert_eq!(batches.len(), 1, "{log}");
    assert!(
        batches[0].contains("1 accepted, 0 rejected, 0 already processed"),
        "{log}"
    );
    assert!(log.contains("set aside"), "{log}");
}

#[test]
fn the_shipped_systemd_units_have_the_stop_signal_sent_to_collate_alone() {
    for unit in ["collate-watch.service", "collate-nightly.service"] {
        let text = std::fs::read_to_string(crate::support::repo().join("deploy").join(unit))
            .expect("the unit");
        let service = text
            .split("[Service]")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .unwrap_or_default();
        assert!(
            service.lines().any(|line| line.trim() == "KillMode=mixed"),
            "{unit} must have systemd send its SIGTERM to collate alone, not to its readers mid-read"
        );
    }
}
