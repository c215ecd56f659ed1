//! A bad schema stops start-up with file, key and reason; exit codes tell the outcomes apart.

use crate::support::{Installation, stderr, stdout};

fn break_schema(installation: &Installation, file: &str, from: &str, to: &str) {
    let path = installation.root.join("schemas").join(file);
    let text = std::fs::read_to_string(&path).expect("schema");
    assert!(text.contains(from), "{file} has {from}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write schema");
}

#[test]
fn an_unknown_key_stops_start_up_naming_file_line_and_key() {
    let installation = Installation::new();
    break_schema(
        &installation,
        "templates/psd.toml",
        "version = 1",
        "version = 1\ncolour = \"blue\"",
    );
    let output = installation.collate(&["run"]);
    assert_eq!(output.status.code(), Some(2), "could not run");
    let message = stderr(&output);
    assert!(
        message.contains("templates/psd.toml: line 6: unknown field `colour`"),
        "{message}"
    );
    assert!(
        !installation.root.join("outbox/dashboard.xlsx").exists(),
        "nothing written"
    );
}

#[test]
fn a_rule_naming_an_unknown_measure_stops_start_up() {
    let installation = Installation::new();
    break_schema(
        &installation,
        "rules.toml",
        "whole = \"PSD 1/complaints\"",
        "whole = \"PSD 1/complaint\"",
    );
    let output = installation.collate(&["lint"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("rules.toml: rules[0] (psd1-upheld-complaints-within-complaints).whole: indicator PSD 1 has no measure `complaint`"),
        "{message}"
    );
}

#[test]
fn a_template_locator_must_say_where_to_look() {
    let installation = Installation::new();
    break_schema(
        &installation,
        "templates/piu.toml",
        "template = { sheet = \"Cover\", cell = \"C4\" }",
        "template = { sheet = \"Cover\", cell = \"4C\" }",
    );
    let message = stderr(&installation.collate(&["lint"]));
    assert!(
        message
            .contains("templates/piu.toml: identity.template.cell: `4C` is not an A1 cell address"),
        "{message}"
    );
}

#[test]
fn lint_reports_what_the_schemas_declare() {
    let installation = Installation::new();
    let output = installation.collate(&["lint"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output)
            .contains("8 departments, 16 indicators, 8 return templates, 18 rules: all valid")
    );
    // The ids `collate template` takes, as its help says lint lists them.
    assert!(
        stdout(&output).contains(
            "template psd-quarterly: Professional Standards quarterly integrity return (PSD, version 1)"
        ),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("template improvement-plan: update to"));
}

#[test]
fn a_missing_schemas_folder_cannot_run() {
    let installation = Installation::new();
    std::fs::remove_dir_all(installation.root.join("schemas")).expect("remove");
    let output = installation.collate(&["run"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "the schemas folder does not exist: is this an installation folder? `collate init` sets one up"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn collate_init_in_an_empty_folder_then_run_works_and_says_what_to_do_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("Integrity dashboard");
    std::fs::create_dir(&folder).expect("empty folder");
    let collate = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_collate"))
            .current_dir(&folder)
            .args(args)
            .output()
            .expect("run collate")
    };
    let init = collate(&["init"]);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    assert!(
        stdout(&init).contains("Next: save the departments' returns into"),
        "{}",
        stdout(&init)
    );
    // Mail is not set up yet: said plainly, with what to add.
    for said in [
        "Before sending mail: dashboard.toml has no [mail] (from) and [mail.smtp] (host, port)",
        "Before sending mail: no contacts in departments.toml for Strategic Development, PIU, HR,",
        "add contacts = [\"name@force.police.uk\"] under each",
    ] {
        assert!(
            stdout(&init).contains(said),
            "{said:?} not in {}",
            stdout(&init)
        );
    }
    for made in [
        "schemas/dashboard.toml",
        "schemas/templates/psd.toml",
        "schemas/plans/improvement-plan.toml",
        "README.txt",
    ] {
        assert!(folder.join(made).is_file(), "{made}");
    }
    assert!(folder.join("inbox").is_dir() && folder.join("outbox").is_dir());

    let run = collate(&["run"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains(
            "no returns in ./inbox yet: save the departments' returns there and run again"
        ),
        "{}",
        stderr(&run)
    );
    assert!(
        stderr(&run).contains("their replies and reminders will have no recipient"),
        "{}",
        stderr(&run)
    );
    assert!(folder.join("outbox/dashboard.xlsx").is_file());

    // A department's return saved into the new installation is read as in any other.
    let schemas = collate::schema::load(&folder.join("schemas")).expect("schemas");
    let bytes = crate::seed_returns::department_draft(
        &schemas,
        &crate::seed_returns::seed_departments()[0],
        2,
    )
    .to_bytes()
    .expect("workbook");
    std::fs::write(folder.join("inbox/PSD.xlsx"), bytes).expect("save return");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(folder.join("inbox/PSD.xlsx"))
        .and_then(|f| f.set_modified(old))
        .expect("settled");
    let run = collate(&["run"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stderr(&run).contains("1 accepted"), "{}", stderr(&run));

    let again = collate(&["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists: this folder is an installation already"));
}

#[test]
fn a_blank_template_written_from_its_schema_is_recognised_as_that_template() {
    let installation = Installation::new();
    let out = installation.root.join("blank psd.xlsx");
    let output =
        installation.collate(&["template", "psd-quarterly", "--out", &out.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let rows = crate::support::sheet_rows(&out, "PSD");
    assert!(rows.iter().any(|row| {
        row.get(1)
            .is_some_and(|c| c == "Number of Complaints Made Per Quarter")
    }));
    // Blank, it is recognised but its period is missing: the department must fill in the cover.
    let check = stdout(&installation.collate(&["check", &out.to_string_lossy()]));
    assert!(
        check.contains("error unreadable-period: the financial year is blank"),
        "{check}"
    );
    assert!(
        check.contains("      what to do: "),
        "each exception comes with what to do: {check}"
    );
    let help = stdout(&installation.collate(&["template", "--help"]));
    let (own, folders) = help
        .split_once("Installation folders:")
        .unwrap_or_else(|| panic!("folders apart: {help}"));
    assert!(own.contains("--out") && !own.contains("--root"), "{help}");
    assert!(
        folders.contains("--root") && help.contains("Logging:"),
        "{help}"
    );
}
