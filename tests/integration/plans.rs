//! Action plan trackers end to end: the seeds' updates reproduce the seeds' trackers, the board's exceptions
//! are listed, and each bad update is rejected with its reason and cell.

use crate::seed_returns::{SeedPlanUpdate, plan_update_bytes, seed_plan_update};
use crate::support::{Installation, sheet_rows};

const DELIVERY_2018: &str = "delivery-plan-2018-19";
const IMPROVEMENT: &str = "improvement-plan";

/// The `PlanStatus` table as (plan, section, ref, period) → the row, keyed by its headers.
fn plan_status(installation: &Installation) -> Vec<std::collections::HashMap<String, String>> {
    let rows = sheet_rows(&installation.dashboard(), "PlanStatus");
    let headers = rows[0].clone();
    rows[1..]
        .iter()
        .map(|row| headers.iter().cloned().zip(row.iter().cloned()).collect())
        .collect()
}

fn status_of(
    installation: &Installation,
    plan: &str,
    section: &str,
    reference: &str,
    period: &str,
) -> Option<String> {
    plan_status(installation)
        .into_iter()
        .find(|row| {
            row["plan"] == plan
                && row["section"] == section
                && row["ref"] == reference
                && row["period"] == period
        })
        .map(|row| row["status"].clone())
}

/// Plan exceptions as (plan title, section title, ref, exception, period, date of update).
fn plan_exceptions(installation: &Installation) -> Vec<[String; 6]> {
    sheet_rows(&installation.exceptions(), "Plan exceptions")
        .into_iter()
        .skip(1)
        .map(|r| {
            [
                r[0].clone(),
                r[1].clone(),
                r[2].clone(),
                r[4].clone(),
                r[5].clone(),
                r[9].clone(),
            ]
        })
        .collect()
}

fn refs_with(
    exceptions: &[[String; 6]],
    plan_title: &str,
    section: &str,
    kind: &str,
) -> Vec<String> {
    exceptions
        .iter()
        .filter(|e| e[0] == plan_title && e[1] == section && e[3] == kind)
        .map(|e| e[2].clone())
        .collect()
}

#[test]
fn the_sample_inbox_reproduces_the_seed_trackers() {
    let installation = Installation::with_sample_inbox();
    assert_eq!(installation.run(), 0, "every sample return is accepted");
    let statuses = plan_status(&installation);
    let headers: Vec<String> = sheet_rows(&installation.dashboard(), "PlanStatus")[0].clone();
    assert_eq!(
        headers[..8],
        [
            "plan",
            "section",
            "ref",
            "period",
            "status",
            "owner",
            "source_file",
            "source_cell"
        ]
    );
    // 2018-19: sixteen measures, May 18 and Aug 18.
    let s =
        |section: &str, r: &str, p: &str| status_of(&installation, DELIVERY_2018, section, r, p);
    assert_eq!(
        statuses
            .iter()
            .filter(|r| r["plan"] == DELIVERY_2018)
            .count(),
        32
    );
    assert_eq!(
        (s("2", "2.2", "May 18"), s("2", "2.2", "Aug 18")),
        (Some("WHITE".into()), Some("RED".into()))
    );
    assert_eq!(
        (s("2", "2.6", "May 18"), s("2", "2.6", "Aug 18")),
        (Some("WHITE".into()), Some("RED".into()))
    );
    assert_eq!(
        (s("2", "2.4", "May 18"), s("2", "2.4", "Aug 18")),
        (Some("GREEN".into()), Some("COMPLETE".into()))
    );
    assert_eq!(s("1", "1.10", "Aug 18"), Some("GREEN".into()));
    let two_four = statuses
        .iter()
        .find(|r| r["plan"] == DELIVERY_2018 && r["ref"] == "2.4" && r["period"] == "Aug 18")
        .expect("2.4 at Aug 18");
    assert_eq!(
        two_four["status_as_written"], "GREEN /COMPLETE",
        "the seed's combined status, kept as written"
    );
    assert_eq!(
        two_four["owner"],
        "Head of Strategic Development / Ch. Superintendent I&I"
    );
    assert_eq!(
        two_four["source_file"],
        "Delivery Plan 2018-19 Aug 18 Strategic Development update.xlsx"
    );
    assert!(
        two_four["source_cell"].starts_with("Plan Summary!"),
        "{}",
        two_four["source_cell"]
    );
    let one_five = statuses
        .iter()
        .find(|r| r["plan"] == DELIVERY_2018 && r["ref"] == "1.5" && r["period"] == "Aug 18")
        .expect("1.5 at Aug 18");
    assert_eq!(
        one_five["source_file"], "Delivery Plan 2018-19 Aug 18 PSD update.xlsx",
        "PSD's own measure"
    );

    // 2022: none as at 2020/21 Q2, when the plan had not begun; Jan 22 statuses for 1.1–1.3 only as at
    // 2021/22 Q4.
    assert!(!statuses.iter().any(|r| r["plan"] == "delivery-plan-2022"));
    let later = installation.collate(&["run", "--period", "2021/22-Q4"]);
    assert!(
        later.status.success(),
        "{}",
        String::from_utf8_lossy(&later.stderr)
    );
    let jan: Vec<(String, String)> = plan_status(&installation)
        .iter()
        .filter(|r| r["plan"] == "delivery-plan-2022")
        .map(|r| (r["ref"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        jan,
        [
            ("1.1".into(), "GREEN".into()),
            ("1.2".into(), "AMBER".into()),
            ("1.3".into(), "AMBER".into())
        ]
    );

    // The improvement plan: 18 recommendations with RAG, completion and date of update.
    let improvement: Vec<_> = statuses
        .iter()
        .filter(|r| r["plan"] == IMPROVEMENT)
        .collect();
    assert_eq!(improvement.len(), 18);
    let row = |section: &str, r: &str| {
        improvement
            .iter()
            .find(|row| row["section"] == section && row["ref"] == r)
            .map(|row| {
                (
                    row["status"].clone(),
                    row["complete"].clone(),
                    row["date_of_update"].clone(),
                )
            })
            .expect("recommendation")
    };
    assert_eq!(
        row("national", "3"),
        ("COMPLETE".into(), "Yes".into(), "11/03/2015".into())
    );
    assert_eq!(
        row("national", "11"),
        ("AMBER".into(), "No".into(), "21/08/2015".into())
    );
    assert_eq!(
        row("force", "3"),
        ("AMBER".into(), "No".into(), "09/10/2015".into())
    );
    assert_eq!(
        row("force", "4"),
        ("GREEN".into(), "No".into(), "09/10/2015".into())
    );

    // The plan sheet reads like the seed's Plan Summary, statuses in tracker columns.
    let sheet = sheet_rows(&installation.dashboard(), "Delivery Plan 2018-19");
    let header = sheet
        .iter()
        .find(|r| r[0] == "Ref")
        .expect("tracker heading");
    assert_eq!(header[..4], ["Ref", "Measure", "May 18", "Aug 18"]);
    let two_two = sheet.iter().find(|r| r[0] == "2.2").expect("2.2 row");
    assert_eq!(
        two_two[1],
        "Launch an internal board to advise on and review key decisions and processes"
    );
    assert_eq!(two_two[2..5], ["WHITE", "RED", "WHITE → RED (worse)"]);
    assert!(
        sheet
            .iter()
            .any(|r| r[0] == "WHITE" && r[1] == "Due date not reached"),
        "the vocabulary with definitions"
    );

    // The seed's own fault: a status with no measure, after 1.3 of the 2022 plan.
    let warnings = sheet_rows(&installation.exceptions(), "Warnings");
    assert!(
        warnings
            .iter()
            .any(|r| r.iter().any(|c| c == "status-without-measure")
                && r.iter().any(|c| c.contains("a status (AMBER)"))),
        "{warnings:?}"
    );
}

#[test]
fn traffic_light_fills_are_the_plans_colours() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let file = std::fs::File::open(installation.dashboard()).expect("dashboard");
    let mut zip = zip::ZipArchive::new(file).expect("xlsx is a zip");
    let mut styles = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/styles.xml").expect("styles"),
        &mut styles,
    )
    .expect("read styles");
    for colour in ["FF00B050", "FFFFC000", "FFFF0000", "FF8DB4E2"] {
        assert!(styles.contains(colour), "a {colour} fill");
    }
}

#[test]
fn the_board_sees_deteriorations_overdue_and_green_but_not_complete() {
    let installation = Installation::with_sample_inbox();
    installation.run();
    let exceptions = plan_exceptions(&installation);
    let delivery = "Police Integrity Development and Delivery Plan 2018-19";
    let improvement = "Police Integrity & Corruption Improvement Plan";
    let worsened = refs_with(
        &exceptions,
        delivery,
        "2. Development Measures",
        "status worsened",
    );
    assert_eq!(worsened, ["2.2", "2.6"]);
    assert!(
        exceptions
            .iter()
            .any(|e| e[2] == "2.2" && e[3] == "status worsened" && e[4] == "Aug 18")
    );

    let national = "National Recommendations";
    let force = "Force Areas (Detailed Force Feedback)";
    let overdue = "past due and not complete";
    assert_eq!(
        refs_with(&exceptions, improvement, national, overdue),
        ["4", "7", "9", "10", "11"]
    );
    assert_eq!(
        refs_with(&exceptions, improvement, force, overdue),
        ["3", "4"]
    );
    let last_update = |section: &str, r: &str| {
        exceptions
            .iter()
            .find(|e| e[1] == section && e[2] == r && e[3] == overdue)
            .map(|e| e[5].clone())
    };
    assert_eq!(last_update(national, "7"), Some("24/04/2015".into()));
    assert_eq!(last_update(force, "3"), Some("09/10/2015".into()));

    let green = "on track but not complete past due";
    assert_eq!(
        refs_with(&exceptions, improvement, national, green),
        ["4", "7", "9", "10"]
    );
    assert_eq!(refs_with(&exceptions, improvement, force, green), ["4"]);

    // Updates more than 90 days old at 30/11/2015, of recommendations not complete.
    let stale = "latest update out of date";
    assert_eq!(
        refs_with(&exceptions, improvement, national, stale),
        ["4", "7", "10", "11"]
    );
    assert!(refs_with(&exceptions, improvement, force, stale).is_empty());
}

/// An installation that has received the seed's own update from Strategic Development for Aug 18.
fn with_seed_sd_update() -> Installation {
    let installation = Installation::new();
    let seed = seed_plan_update(DELIVERY_2018, "SD");
    installation.receive(
        &seed.file,
        &plan_update_bytes(&installation.schemas, &seed),
        0,
    );
    installation
}

fn sd_update_2018(edit: impl FnOnce(&mut SeedPlanUpdate)) -> SeedPlanUpdate {
    let mut update = seed_plan_update(DELIVERY_2018, "SD");
    edit(&mut update);
    update
}

fn set_status(update: &mut SeedPlanUpdate, reference: &str, period: &str, status: &str) {
    let row = update
        .rows
        .iter_mut()
        .find(|r| r.reference == reference)
        .expect("row");
    row.statuses.insert(period.into(), status.into());
}

#[test]
fn white_after_its_due_date_and_a_missing_update_are_exceptions() {
    let installation = with_seed_sd_update();
    let update = sd_update_2018(|u| {
        // 2.4 was due March 2018: WHITE ("due date not reached") no longer fits at Aug 18.
        set_status(u, "2.4", "Aug 18", "white");
        u.rows.retain(|r| r.reference != "1.1");
    });
    // The same measures from the same department, received later: it replaces the seed's update.
    installation.receive(
        "SD Aug 18 update (revised).xlsx",
        &plan_update_bytes(&installation.schemas, &update),
        600,
    );
    installation.run();
    let exceptions = plan_exceptions(&installation);
    let delivery = "Police Integrity Development and Delivery Plan 2018-19";
    assert_eq!(
        refs_with(
            &exceptions,
            delivery,
            "2. Development Measures",
            "not-due status after the due date"
        ),
        ["2.4"]
    );
    // 1.1 is left out of the revised update, but the earlier one still gives its Aug 18 status.
    let missing = refs_with(
        &exceptions,
        delivery,
        "1. Commit Measures",
        "no update for the period",
    );
    assert!(!missing.contains(&"1.1".to_owned()), "{missing:?}");
    assert_eq!(
        status_of(&installation, DELIVERY_2018, "2", "2.4", "Aug 18"),
        Some("WHITE".into())
    );

    let no_update = Installation::new();
    let update = sd_update_2018(|u| u.rows.retain(|r| r.reference != "1.1"));
    no_update.receive(
        "SD Aug 18 update.xlsx",
        &plan_update_bytes(&no_update.schemas, &update),
        0,
    );
    no_update.run();
    let exceptions = plan_exceptions(&no_update);
    let missing = refs_with(
        &exceptions,
        delivery,
        "1. Commit Measures",
        "no update for the period",
    );
    // 1.1 was left out; 1.5, 1.6 and 1.9 belong to departments that have not sent theirs.
    assert_eq!(missing, ["1.1", "1.5", "1.6", "1.9"]);
}

#[test]
fn a_later_update_wins() {
    let installation = with_seed_sd_update();
    let update = sd_update_2018(|u| set_status(u, "2.2", "Aug 18", " Amber "));
    installation.receive(
        "SD Aug 18 update v2.xlsx",
        &plan_update_bytes(&installation.schemas, &update),
        600,
    );
    installation.run();
    let row = plan_status(&installation)
        .into_iter()
        .find(|r| r["plan"] == DELIVERY_2018 && r["ref"] == "2.2" && r["period"] == "Aug 18")
        .expect("2.2");
    assert_eq!(
        (row["status"].as_str(), row["source_file"].as_str()),
        ("AMBER", "SD Aug 18 update v2.xlsx")
    );
    // WHITE → AMBER is still a deterioration.
    let exceptions = plan_exceptions(&installation);
    assert!(
        exceptions
            .iter()
            .any(|e| e[2] == "2.2" && e[3] == "status worsened")
    );
}

/// Receives a bad update and returns the Rejected sheet's rows for it, after checking it was rejected.
fn rejected_rows(
    installation: &Installation,
    name: &str,
    update: &SeedPlanUpdate,
) -> Vec<Vec<String>> {
    installation.receive(name, &plan_update_bytes(&installation.schemas, update), 0);
    assert_eq!(installation.run(), 1, "the bad update is rejected");
    sheet_rows(&installation.exceptions(), "Rejected")
        .into_iter()
        .filter(|r| r.iter().any(|c| c == name))
        .collect()
}

fn assert_rejected_for(rows: &[Vec<String>], rule: &str, cell: &str, message: &str) {
    assert!(
        rows.iter().any(|r| r.iter().any(|c| c == rule)
            && r.iter().any(|c| c == cell)
            && r.iter().any(|c| c.contains(message))),
        "{rule} at {cell} saying \"{message}\" in {rows:?}"
    );
}

#[test]
fn an_unknown_ref_is_rejected() {
    let installation = Installation::new();
    let update = sd_update_2018(|u| {
        let row = u
            .rows
            .iter_mut()
            .find(|r| r.reference == "1.4")
            .expect("1.4");
        row.reference = "1.11".into();
    });
    let rows = rejected_rows(&installation, "sd.xlsx", &update);
    assert_rejected_for(
        &rows,
        "unknown-ref",
        "A9",
        "\"1.11\" is not a measure of \"1. Commit Measures\"",
    );
    assert_eq!(
        status_of(&installation, DELIVERY_2018, "1", "1.1", "Aug 18"),
        None,
        "nothing of it is used"
    );
}

#[test]
fn a_status_outside_the_vocabulary_is_rejected() {
    let installation = Installation::new();
    let update = sd_update_2018(|u| set_status(u, "1.2", "Aug 18", "BLUE"));
    let rows = rejected_rows(&installation, "sd.xlsx", &update);
    assert_rejected_for(
        &rows,
        "unknown-status",
        "F7",
        "\"BLUE\" is not a status of this plan",
    );
    // A combination that is not a completion is ambiguous.
    let installation = Installation::new();
    let update = sd_update_2018(|u| set_status(u, "1.2", "Aug 18", "GREEN/AMBER"));
    let rows = rejected_rows(&installation, "sd.xlsx", &update);
    assert_rejected_for(&rows, "unknown-status", "F7", "gives more than one status");
}

#[test]
fn an_update_from_a_department_that_does_not_own_the_measure_is_rejected() {
    let installation = Installation::new();
    let mut update = sd_update_2018(|_| {});
    let mut psd_row = seed_plan_update(DELIVERY_2018, "PSD").rows[0].clone();
    psd_row.statuses.insert("Aug 18".into(), "RED".into());
    update.rows.insert(4, psd_row);
    let rows = rejected_rows(&installation, "sd.xlsx", &update);
    assert_rejected_for(
        &rows,
        "not-owner",
        "A10",
        "Strategic Development may not update 1.5: the plan assigns it to Professional Standards",
    );
}

#[test]
fn a_date_of_update_that_cannot_be_read_is_rejected() {
    let installation = Installation::new();
    let mut update = seed_plan_update(IMPROVEMENT, "PSD");
    update.rows[6].date_of_update = Some("31/31/2015".into());
    let rows = rejected_rows(&installation, "psd.xlsx", &update);
    assert_rejected_for(
        &rows,
        "unreadable-date",
        "G12",
        "the date of update of National Recommendations 7 (\"31/31/2015\") cannot be read as a date",
    );
}

#[test]
fn a_reporting_period_the_plan_does_not_have_is_rejected() {
    let installation = Installation::new();
    let mut update = sd_update_2018(|_| {});
    update.period = "Sep 18".into();
    let rows = rejected_rows(&installation, "sd.xlsx", &update);
    assert_rejected_for(
        &rows,
        "unreadable-period",
        "B7",
        "its periods: May 18, Aug 18",
    );
}

#[test]
fn a_plan_with_a_status_of_unknown_kind_stops_start_up() {
    let installation = Installation::new();
    let path = installation
        .root
        .join("schemas/plans/delivery-plan-2022.toml");
    let text = std::fs::read_to_string(&path).expect("plan");
    std::fs::write(
        &path,
        text.replacen("kind = \"at_risk\"", "kind = \"amber\"", 1),
    )
    .expect("write");
    let output = installation.collate(&["lint"]);
    assert_eq!(output.status.code(), Some(2));
    let message = crate::support::stderr(&output);
    assert!(
        message.contains(
            "plans/delivery-plan-2022.toml: statuses[1] (AMBER).kind: `amber` is not a status kind"
        ),
        "{message}"
    );
}

#[test]
fn collate_template_writes_a_blank_update_of_a_departments_own_measures() {
    let installation = Installation::new();
    let out = installation.root.join("psd update.xlsx");
    let output = installation.collate(&[
        "template",
        DELIVERY_2018,
        "--department",
        "PSD",
        "--period",
        "aug 18",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&output)
    );
    let refs: Vec<String> = sheet_rows(&out, "Plan Summary")
        .into_iter()
        .map(|row| row[0].clone())
        .filter(|first| first.starts_with(|c: char| c.is_ascii_digit()) && !first.contains(' '))
        .collect();
    assert_eq!(refs, ["1.5", "1.6"]);
    let cover = sheet_rows(&out, "Cover");
    assert!(
        cover
            .iter()
            .any(|r| r[0] == "Reporting period" && r[1] == "Aug 18")
    );
    // Sent back blank, it is a valid update that changes nothing.
    installation.receive("psd update.xlsx", &std::fs::read(&out).expect("blank"), 0);
    assert_eq!(installation.run(), 0);
    assert!(plan_status(&installation).is_empty());
}
