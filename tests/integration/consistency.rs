//! Running again, resubmissions, duplicates and rebuilds: nothing counted twice, the last good return wins.

use crate::seed_returns::DepartmentReturn;
use crate::support::{
    Installation, data_rows, edited_seed_draft, figure, sha256, sheet_rows, stderr,
};

/// The seed's PSD return for 2020/21 Q2, changed by `edit`.
pub fn psd_q2(installation: &Installation, edit: impl FnOnce(&mut DepartmentReturn)) -> Vec<u8> {
    edited_seed_draft(installation, "psd-quarterly", edit)
        .to_bytes()
        .expect("workbook")
}

pub fn set_q2(psd: &mut DepartmentReturn, measure: &str, value: f64) {
    let row = psd
        .rows
        .iter_mut()
        .find(|row| row.1 == measure)
        .expect("measure row");
    row.3[1] = Some(value);
}

#[test]
fn running_twice_counts_nothing_twice() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let first = std::fs::read(installation.dashboard()).expect("dashboard");
    let output = installation.collate(&["run"]);
    assert!(
        stderr(&output).contains("0 accepted, 0 rejected, 21 already processed"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read(installation.dashboard()).expect("dashboard"),
        first,
        "same inputs, same workbook"
    );
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "").as_deref(),
        Some("63")
    );
}

#[test]
fn the_identical_file_sent_twice_counts_once() {
    let installation = Installation::new();
    let bytes = psd_q2(&installation, |_| {});
    installation.receive("psd.xlsx", &bytes, 1);
    installation.receive("psd (copy).xlsx", &bytes, 2);
    let output = installation.collate(&["run"]);
    assert!(
        stderr(&output).contains("1 accepted, 0 rejected, 1 already processed"),
        "{}",
        stderr(&output)
    );
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "").as_deref(),
        Some("63")
    );
}

#[test]
fn a_resubmission_replaces_its_predecessor_which_stays_in_the_history() {
    let installation = Installation::new();
    installation.receive("psd.xlsx", &psd_q2(&installation, |_| {}), 1);
    installation.run();
    let corrected = psd_q2(&installation, |psd| set_q2(psd, "complaints", 25.0));
    installation.receive("psd corrected.xlsx", &corrected, 5);
    installation.run();
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("25")
    );
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "").as_deref(),
        Some("64")
    );
    let q2 = rows
        .iter()
        .find(|r| r[1] == "complaints" && r[3] == "Q2")
        .expect("row");
    assert_eq!(q2[5], "psd corrected.xlsx");

    // Both returns are in the store, which any Parquet reader can open.
    let ledger = std::fs::read_dir(installation.root.join("store"))
        .expect("store")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("-returns.parquet")
        })
        .count();
    assert_eq!(ledger, 2, "one segment per run, both kept");
}

#[test]
fn a_rejected_resubmission_does_not_displace_the_last_good_return() {
    let installation = Installation::new();
    installation.receive("psd.xlsx", &psd_q2(&installation, |_| {}), 1);
    // More upheld complaints than complaints: an error, so the return is rejected.
    let broken = psd_q2(&installation, |psd| set_q2(psd, "complaints_upheld", 99.0));
    installation.receive("psd resubmitted.xlsx", &broken, 5);
    assert_eq!(
        installation.run(),
        1,
        "a rejected return makes the exit code 1"
    );
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints_upheld", "2020/21", "Q2").as_deref(),
        Some("0")
    );
    let rejected = sheet_rows(&installation.exceptions(), "Rejected");
    let line = rejected
        .iter()
        .find(|row| row[3] == "psd resubmitted.xlsx")
        .expect("the rejected resubmission is listed");
    assert_eq!(line[5], "D5");
    assert_eq!(line[7], "psd1-upheld-complaints-within-complaints");
    assert_eq!(line[8], "error");
}

#[test]
fn rebuild_gives_the_same_dashboard_and_never_touches_the_originals() {
    let installation = Installation::with_sample_inbox();
    let originals: Vec<(std::path::PathBuf, String)> = std::fs::read_dir(installation.inbox())
        .expect("inbox")
        .map(|e| e.expect("entry").path())
        .map(|p| (p.clone(), sha256(&p)))
        .collect();
    installation.run();
    let before = std::fs::read(installation.dashboard()).expect("dashboard");
    let output = installation.collate(&["rebuild"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(installation.dashboard()).expect("dashboard"),
        before
    );
    for (path, hash) in originals {
        assert_eq!(sha256(&path), hash, "{} was modified", path.display());
    }
}

#[test]
fn the_last_return_received_is_in_use_whatever_its_file_time_and_the_owner_can_choose_another() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    installation.run();
    // A correction copied with its times kept (cp -a, robocopy, a zip): its file is older than the sample's.
    let path = installation.inbox().join("PSD Q2 corrected.xlsx");
    std::fs::write(
        &path,
        psd_q2(&installation, |psd| set_q2(psd, "complaints", 30.0)),
    )
    .expect("save the correction");
    let three_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_modified(three_days_ago))
        .expect("an old file time");
    let second = installation.collate(&["run"]);
    assert!(
        stderr(&second).contains("in use in place of \"2020-21 Q2 PSD return.xlsx\""),
        "the log says which return it replaces: {}",
        stderr(&second)
    );
    let report = sheet_rows(
        &installation
            .outbox()
            .join("returns/PSD Q2 corrected.xlsx.exceptions.xlsx"),
        "Exceptions",
    );
    assert!(
        report.iter().any(|row| row[0] == "In use"
            && row[1] == "Yes, in place of 2020-21 Q2 PSD return.xlsx (the last return received is used)"),
        "the report sent back says so too: {report:?}"
    );
    let q2 = || {
        figure(
            &data_rows(&installation.dashboard()),
            "PSD 1",
            "complaints",
            "2020/21",
            "Q2",
        )
    };
    assert_eq!(
        q2().as_deref(),
        Some("30"),
        "the correction, received last, is in use"
    );
    let not_in_use = sheet_rows(&installation.exceptions(), "Not in use");
    let row = not_in_use
        .iter()
        .find(|row| {
            row.get(2)
                .is_some_and(|f| f == "2020-21 Q2 PSD return.xlsx")
        })
        .unwrap_or_else(|| panic!("the replaced return is listed: {not_in_use:?}"));
    assert_eq!(row[4], "PSD Q2 corrected.xlsx");
    assert!(
        row[5].contains("collate use \"inbox/2020-21 Q2 PSD return.xlsx\""),
        "{row:?}"
    );

    // A rebuild keeps the order `collate` received them in, not the files' times.
    let rebuild = installation.collate(&["rebuild"]);
    assert!(
        rebuild.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&rebuild)
    );
    assert_eq!(
        q2().as_deref(),
        Some("30"),
        "rebuild keeps the correction in use"
    );

    // The owner makes the earlier return the one in use, with one command.
    let chosen = installation.collate(&["use", "inbox/2020-21 Q2 PSD return.xlsx"]);
    assert_eq!(chosen.status.code(), Some(0), "{}", stderr(&chosen));
    assert!(
        crate::support::stdout(&chosen).contains("is now the one in use"),
        "{}",
        crate::support::stdout(&chosen)
    );
    assert_eq!(q2().as_deref(), Some("24"));
    let not_in_use = sheet_rows(&installation.exceptions(), "Not in use");
    assert!(
        not_in_use
            .iter()
            .any(|row| row.get(2).is_some_and(|f| f == "PSD Q2 corrected.xlsx")),
        "{not_in_use:?}"
    );
    let rebuild = installation.collate(&["rebuild"]);
    assert!(rebuild.status.code().is_some_and(|c| c <= 1));
    assert_eq!(q2().as_deref(), Some("24"), "the choice outlives a rebuild");

    // Only a return that was read and accepted can be chosen.
    std::fs::write(installation.root.join("never read.xlsx"), b"nothing").expect("file");
    let refused = installation.collate(&["use", "never read.xlsx"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("has not been read yet, or was rejected"));
}
