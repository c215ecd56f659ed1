//! Names `collate` is given and makes files from: a return saved under a very long, multibyte or odd name,
//! an attachment with a long name, a report that cannot be written, sheets that would collide, and a
//! store an earlier version left holding verdicts that were only stops.

use std::path::Path;

use crate::support::{Installation, data_rows, figure, python3, seed_draft, sheet_rows, stderr};

/// The seed's PSD return (which has queries, so it gets a report), made distinct by its analysis text.
fn psd_return(installation: &Installation, version: &str) -> Vec<u8> {
    seed_draft(installation, "psd-quarterly")
        .analysis(
            "PSD 1",
            &format!("Complaints were steady this quarter ({version})."),
        )
        .to_bytes()
        .expect("workbook")
}

/// The names of the files in a folder.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn returns_with_very_long_multibyte_or_odd_names_get_reports_under_names_that_fit() {
    let installation = Installation::with_sample_inbox();
    installation.age_inbox();
    let long = format!(
        "2020-21 Q2 PSD return {}final.xlsx",
        "corrected ".repeat(22)
    );
    let multibyte = format!("{}.xlsx", "é".repeat(122));
    let odd = "2020-21 Q2 PSD return\nsecond try.xlsx".to_owned();
    assert!(long.len() >= 240 && long.len() <= 255, "{}", long.len());
    assert!(multibyte.len() >= 240 && multibyte.len() <= 255);
    for (i, name) in [&long, &multibyte, &odd].into_iter().enumerate() {
        installation.receive(name, &psd_return(&installation, name), 100 + i as u64);
    }
    let output = installation.collate(&["run"]);
    let log = stderr(&output);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{log}");
    assert!(log.contains("24 accepted, 0 rejected"), "{log}");
    assert!(installation.dashboard().exists() && installation.exceptions().exists());

    let reports = names_in(&installation.outbox().join("returns"));
    for name in [&long, &multibyte, &odd] {
        let kept = reports
            .iter()
            .filter(|report| {
                let stem: String = name.chars().take(12).collect::<String>().replace('\n', "-");
                report.starts_with(&stem) && report.ends_with(".xlsx.exceptions.xlsx")
            })
            .count();
        assert!(kept >= 1, "no report for {name:?} among {reports:?}");
    }
    for report in &reports {
        assert!(report.len() <= 255, "{report} is {} bytes", report.len());
        assert!(!report.contains('\n'), "{report:?}");
    }
    // Each long return's report is its own, and says which return it is.
    let long_reports: Vec<&String> = reports
        .iter()
        .filter(|r| r.starts_with("2020-21 Q2 PSD return corrected") && r.ends_with(".xlsx"))
        .collect();
    assert_eq!(long_reports.len(), 1, "{reports:?}");
    let report = installation.outbox().join("returns").join(long_reports[0]);
    let text: String = sheet_rows(&report, "Exceptions").concat().join(" ");
    assert!(text.contains(&long), "the report names the return in full");
    // The latest of the three is the PSD return in use.
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24")
    );
    // And a second run reads nothing again and still writes every output.
    let again = installation.collate(&["run"]);
    assert!(
        stderr(&again).contains("0 accepted, 0 rejected, 24 already processed"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn two_long_names_that_share_a_beginning_keep_reports_of_their_own() {
    let installation = Installation::new();
    let common = "2020-21 Q2 PSD return as corrected by the department ".repeat(4);
    let first = format!("{common}first.xlsx");
    let second = format!("{common}second.xlsx");
    installation.receive(&first, &psd_return(&installation, "first"), 1);
    installation.receive(&second, &psd_return(&installation, "second"), 2);
    let output = installation.collate(&["run"]);
    assert!(
        stderr(&output).contains("2 accepted"),
        "{}",
        stderr(&output)
    );
    let reports = names_in(&installation.outbox().join("returns"));
    let workbooks: Vec<&String> = reports.iter().filter(|r| r.ends_with(".xlsx")).collect();
    assert_eq!(workbooks.len(), 2, "{reports:?}");
    // The second replaces the first, so the reply to the first is withdrawn, kept aside under a name of
    // its own: the two never collide.
    let replies = names_in(&installation.outbox().join("replies"));
    let withdrawn = names_in(&installation.outbox().join("withdrawn"));
    let withdrawn: Vec<&String> = withdrawn.iter().filter(|w| w.ends_with(".eml")).collect();
    assert_eq!(
        (replies.len(), withdrawn.len()),
        (1, 1),
        "{replies:?} {withdrawn:?}"
    );
    assert_ne!(&replies[0], withdrawn[0]);
}

/// An email, written by Python's own email package, carrying `workbook` under `attachment`.
fn email_with_attachment(folder: &Path, attachment: &str, workbook: &[u8]) -> std::path::PathBuf {
    let workbook_path = folder.join("attached.xlsx");
    std::fs::write(&workbook_path, workbook).expect("workbook");
    let email = folder.join("PSD return.eml");
    let script = r#"
import sys
from email.message import EmailMessage
message = EmailMessage()
message["From"] = "PSD Performance <psd.performance@example.police.uk>"
message["To"] = "integrity.dashboard@example.police.uk"
message["Subject"] = "Q2 return"
message["Date"] = "Thu, 15 Oct 2020 10:00:00 +0100"
message["Message-ID"] = "<q2-long-name@example.police.uk>"
message.set_content("Please find our return attached.")
with open(sys.argv[1], "rb") as attached:
    message.add_attachment(attached.read(), maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=sys.argv[2])
with open(sys.argv[3], "wb") as out:
    out.write(bytes(message))
"#;
    let status = python3()
        .args(["-c", script])
        .arg(&workbook_path)
        .arg(attachment)
        .arg(&email)
        .status()
        .expect("python3 runs");
    assert!(status.success());
    email
}

#[test]
fn a_return_attached_under_a_200_character_name_is_accepted() {
    let installation = Installation::new();
    let attachment = format!("PSD quarterly return {}.xlsx", "x".repeat(174));
    assert_eq!(attachment.chars().count(), 200);
    let email = email_with_attachment(
        &installation.beside(),
        &attachment,
        &psd_return(&installation, "emailed"),
    );
    std::fs::copy(&email, installation.inbox().join("PSD return.eml")).expect("saved");
    let output = installation.collate(&["run"]);
    let log = stderr(&output);
    assert!(log.contains("1 accepted, 0 rejected"), "{log}");
    assert!(!log.contains("set aside"), "{log}");
    let rows = data_rows(&installation.dashboard());
    let source = rows
        .iter()
        .find(|row| row[0] == "PSD 1" && row[3] == "Q2")
        .map(|row| row[5].clone())
        .unwrap_or_default();
    assert!(
        source.starts_with("PSD return.eml › PSD quarterly return xxx"),
        "{source}"
    );
    assert!(source.ends_with(".xlsx"), "{source}");
}

#[test]
fn a_report_that_cannot_be_written_is_a_warning_on_its_return_not_the_end_of_the_run() {
    let installation = Installation::with_sample_inbox();
    // Something in the way of the PSD return's report: a folder where its JSON file would go.
    let blocked = installation
        .outbox()
        .join("returns")
        .join("2020-21 Q2 PSD return.xlsx.exceptions.json");
    std::fs::create_dir_all(blocked.join("in the way")).expect("a folder in the way");
    let output = installation.collate(&["run"]);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(log.contains("its report could not be written"), "{log}");
    assert!(installation.dashboard().exists());
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    assert!(
        warnings.iter().any(|row| {
            row.iter().any(|cell| cell == "2020-21 Q2 PSD return.xlsx")
                && row
                    .iter()
                    .any(|cell| cell.contains("could not write this return's report"))
        }),
        "{warnings:?}"
    );
}

#[test]
fn a_plan_or_group_sheet_named_like_one_collate_writes_is_refused_at_start() {
    let installation = Installation::with_sample_inbox();
    let plan = installation
        .root
        .join("schemas/plans/delivery-plan-2018-19.toml");
    let text = std::fs::read_to_string(&plan).expect("plan schema");
    let (before, after) = text
        .split_once("sheet = ")
        .expect("the plan names its sheet");
    let rest = after.split_once('\n').map_or("", |(_, rest)| rest);
    std::fs::write(&plan, format!("{before}sheet = \"RETURNS\"\n{rest}")).expect("renamed");
    for command in [&["lint"][..], &["run"][..]] {
        let output = installation.collate(command);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let said = stderr(&output);
        assert!(
            said.contains("delivery-plan-2018-19.toml")
                && said.contains("plan.sheet")
                && said.contains("the dashboard already has a sheet named `Returns`"),
            "{said}"
        );
    }
    assert!(
        !installation.dashboard().exists(),
        "nothing was stored or written"
    );
}

#[test]
fn an_indicator_group_titled_like_a_dashboard_sheet_is_refused_at_start() {
    let installation = Installation::new();
    let indicators = installation.root.join("schemas/indicators.toml");
    let text = std::fs::read_to_string(&indicators).expect("indicators");
    let changed = text.replacen("title = \"HR\"", "title = \"summary\"", 1);
    assert_ne!(text, changed, "the HR group is titled HR");
    std::fs::write(&indicators, changed).expect("retitled");
    let output = installation.collate(&["lint"]);
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(
        said.contains("indicators.toml")
            && said.contains(".title")
            && said.contains("the dashboard already has a sheet named `Summary`"),
        "{said}"
    );
}

#[test]
fn a_return_an_earlier_version_rejected_because_a_stop_killed_its_reader_is_read_again() {
    let installation = Installation::with_sample_inbox();
    // What an earlier version stored for the PSD return after a Ctrl-C reached its reader.
    let psd = installation.inbox().join("2020-21 Q2 PSD return.xlsx");
    let stopped = collate::store::ProcessedReturn {
        sha256: crate::support::sha256(&psd),
        source_file: "2020-21 Q2 PSD return.xlsx".to_owned(),
        received_at: "2020-10-20T09:00:00Z".to_owned(),
        validated: collate::validate::Validated::rejected(
            "2020-21 Q2 PSD return.xlsx",
            collate::validate::BuiltinCheck::UnsafeWorkbook,
            "the workbook could not be read safely: the reader crashed on it (signal 2)".to_owned(),
            "Open the file in Excel, check it shows only your return, save it as a new .xlsx and send it again.",
        ),
        message: None,
    };
    let store = collate::store::Store::open(&installation.root.join("store")).expect("store");
    let tables = collate::store::tables_for(&[stopped])
        .and_then(|t| {
            t.numbered_from(1)
                .map_err(collate::error::FatalError::History)
        })
        .expect("tables");
    store
        .append(&tables)
        .expect("stored as an earlier version would");

    let output = installation.collate(&["run"]);
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(
        log.contains("21 accepted, 0 rejected, 0 already processed"),
        "{log}"
    );
    let rows = data_rows(&installation.dashboard());
    assert_eq!(
        figure(&rows, "PSD 1", "complaints", "2020/21", "Q2").as_deref(),
        Some("24")
    );
    let rejected = sheet_rows(&installation.exceptions(), "Rejected");
    assert!(
        !rejected
            .concat()
            .iter()
            .any(|cell| cell.contains("signal 2")),
        "{rejected:?}"
    );
}
