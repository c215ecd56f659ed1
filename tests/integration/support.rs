//! A temporary installation (schemas, inbox, outbox, store) and helpers to run `collate` and read what it
//! wrote, as a user would: by opening the workbooks.

use std::path::{Path, PathBuf};
use std::process::Output;

use calamine::{Data, Reader, open_workbook_auto};
use collate::schema::Schemas;
use collate::template::ReturnDraft;

pub use crate::python::{python_json, python_script_json, python3};
pub use crate::servers::wait_until;

use crate::install::{copy_tree, install_schemas};
use crate::seed_returns::{DepartmentReturn, department_draft, seed_departments};

pub struct Installation {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub schemas: Schemas,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Installation {
    /// The project's schemas and an empty inbox, in a folder whose name has a space, as an owner's may.
    pub fn new() -> Installation {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("Integrity dashboard");
        install_schemas(&root).expect("install the schemas");
        std::fs::create_dir_all(root.join("inbox")).expect("inbox");
        let schemas = collate::schema::load(&root.join("schemas")).expect("schemas load");
        Installation {
            _dir: dir,
            root,
            schemas,
        }
    }

    /// The project's schemas and the bundled sample inbox (its returns only, not what a local run left).
    pub fn with_sample_inbox() -> Installation {
        let installation = Installation::new();
        copy_tree(&repo().join("inbox"), &installation.inbox()).expect("copy the sample inbox");
        let _ = std::fs::remove_file(installation.inbox().join(collate::pipeline::STATUS_FILE));
        let _ = std::fs::remove_dir_all(
            installation
                .inbox()
                .join(collate::pipeline::SET_ASIDE_FOLDER),
        );
        installation
    }

    /// Dates every file in the inbox back a day, keeping their order: returns received now are then later
    /// than the sample's, whenever the clone was made (precedence follows the files' times).
    pub fn age_inbox(&self) {
        for entry in std::fs::read_dir(self.inbox()).expect("inbox") {
            let path = entry.expect("entry").path();
            if !path.is_file() {
                continue;
            }
            let file = std::fs::File::options()
                .write(true)
                .open(&path)
                .expect("open");
            let modified = file.metadata().and_then(|m| m.modified()).expect("mtime");
            file.set_modified(modified - std::time::Duration::from_secs(86_400))
                .expect("set mtime");
        }
    }

    pub fn inbox(&self) -> PathBuf {
        self.root.join("inbox")
    }

    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    /// Saves a file into the inbox as if saved `seconds_later` seconds into the last hour: settled, and in
    /// a certain order (after the sample files, whose times are older).
    pub fn receive(&self, name: &str, bytes: &[u8], seconds_later: u64) -> PathBuf {
        let path = self.inbox().join(name);
        std::fs::write(&path, bytes).expect("write return");
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let when = hour_ago + std::time::Duration::from_secs(seconds_later);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_modified(when))
            .expect("set modified time");
        path
    }

    /// The folder the installation sits in, private to this test (for folders beside the installation).
    pub fn beside(&self) -> PathBuf {
        self.root.parent().expect("a parent folder").to_path_buf()
    }

    /// `collate` as its users start it: from the installation folder, with the default relative paths.
    pub fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_collate"));
        command.current_dir(&self.root);
        command
    }

    pub fn collate(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run collate")
    }

    /// Runs `collate run` and returns its exit code.
    pub fn run(&self) -> i32 {
        let output = self.collate(&["run"]);
        assert!(
            output.status.code().is_some_and(|code| code <= 1),
            "collate run could not run: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.status.code().unwrap_or(-1)
    }

    /// Sets a department's contacts in the installation's departments.toml.
    pub fn set_contacts(&self, department: &str, contacts: &[&str]) {
        let path = self.root.join("schemas/departments.toml");
        let text = std::fs::read_to_string(&path).expect("departments.toml");
        let id = format!("id = \"{department}\"\n");
        assert!(text.contains(&id), "{department} in departments.toml");
        let listed: Vec<String> = contacts.iter().map(|c| format!("\"{c}\"")).collect();
        let with = format!("{id}contacts = [{}]\n", listed.join(", "));
        std::fs::write(&path, text.replacen(&id, &with, 1)).expect("write");
    }

    pub fn dashboard(&self) -> PathBuf {
        self.outbox().join("dashboard.xlsx")
    }

    pub fn exceptions(&self) -> PathBuf {
        self.outbox().join("exceptions.xlsx")
    }
}

/// Every row of a sheet as text cells (numbers printed as Excel shows them, blanks as "").
pub fn sheet_rows(path: &Path, sheet: &str) -> Vec<Vec<String>> {
    let mut workbook = open_workbook_auto(path).expect("open workbook");
    let range = workbook.worksheet_range(sheet).expect("sheet");
    range
        .rows()
        .map(|row| row.iter().map(cell_text).collect())
        .collect()
}

pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Float(n) if n.fract() == 0.0 => format!("{n:.0}"),
        Data::Float(n) => n.to_string(),
        Data::Int(n) => n.to_string(),
        Data::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `Data` sheet as a list of (indicator, measure, financial_year, quarter, value, source_file, source_cell).
pub fn data_rows(dashboard: &Path) -> Vec<[String; 7]> {
    let rows = sheet_rows(dashboard, "Data");
    assert_eq!(
        rows[0][..7],
        [
            "indicator",
            "measure",
            "financial_year",
            "quarter",
            "value",
            "source_file",
            "source_cell"
        ],
        "the Data sheet's first headers are the documented contract"
    );
    rows[1..]
        .iter()
        .map(|row| std::array::from_fn(|i| row.get(i).cloned().unwrap_or_default()))
        .collect()
}

/// The value of one figure on the Data sheet, if it is there.
pub fn figure(
    rows: &[[String; 7]],
    indicator: &str,
    measure: &str,
    year: &str,
    quarter: &str,
) -> Option<String> {
    let found: Vec<&[String; 7]> = rows
        .iter()
        .filter(|row| {
            row[0] == indicator && row[1] == measure && row[2] == year && row[3] == quarter
        })
        .collect();
    assert!(
        found.len() <= 1,
        "{indicator} {measure} {year} {quarter} appears {} times",
        found.len()
    );
    found.first().map(|row| row[4].clone())
}

pub fn sha256(path: &Path) -> String {
    collate::pipeline::sha256_hex(&std::fs::read(path).expect("read"))
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The seed's quarter-2 return on `template`, its rows first changed by `edit`.
pub fn edited_seed_draft<'s>(
    installation: &'s Installation,
    template: &str,
    edit: impl FnOnce(&mut DepartmentReturn),
) -> ReturnDraft<'s> {
    let mut department = seed_departments()
        .into_iter()
        .find(|d| d.template == template)
        .expect("a seed return on that template");
    edit(&mut department);
    department_draft(&installation.schemas, &department, 2)
}

/// The seed's quarter-2 return on `template`, ready to be changed by a test.
pub fn seed_draft<'s>(installation: &'s Installation, template: &str) -> ReturnDraft<'s> {
    edited_seed_draft(installation, template, |_| {})
}

/// A `collate watch` process of this installation's; its log goes to `watch.log` in the root.
pub struct Watcher {
    pub child: std::process::Child,
}

impl Installation {
    /// `collate watch ARGS`, started from the installation folder as the README says.
    pub fn spawn_watch(&self, args: &[&str]) -> Watcher {
        let mut command = self.command();
        command.arg("watch").args(args);
        self.spawn_watcher(command, &self.inbox())
    }

    /// Starts a watcher from `command` (its folder and arguments set); waits until it watches `inbox`.
    pub fn spawn_watcher(&self, mut command: std::process::Command, inbox: &Path) -> Watcher {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.beside().join("watch.log"))
            .expect("log file");
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start collate watch");
        // Started once its first look at the inbox is written down.
        let status = inbox.join(collate::pipeline::STATUS_FILE);
        wait_until(30, "the watcher to start", || status.exists());
        Watcher { child }
    }

    pub fn watch_log(&self) -> String {
        std::fs::read_to_string(self.beside().join("watch.log")).unwrap_or_default()
    }

    /// How often a watcher started with `-v` has looked over the whole inbox and had `waiting` files
    /// waiting to be read once it dealt with what was ready.
    pub fn rescans(&self, waiting: usize) -> usize {
        let said = format!("looked over the whole inbox: {waiting} file(s) waiting to be read");
        self.watch_log().matches(&said).count()
    }

    /// Waits until the watcher (started with `-v`) has looked over the whole inbox `times` times more,
    /// each time with `waiting` files waiting: whatever it was going to read by then, it has read.
    pub fn wait_for_rescans(&self, times: usize, waiting: usize) {
        let before = self.rescans(waiting);
        let what = format!("{times} more rescans with {waiting} file(s) waiting");
        wait_until(60, &what, || self.rescans(waiting) >= before + times);
    }

    /// The store's returns: (sha256, source_file, accepted), read with the library as any tool would.
    pub fn stored_returns(&self) -> Vec<(String, String, bool)> {
        let store = collate::store::Store::open(&self.root.join("store")).expect("store");
        let returns = store.load().expect("load store").returns;
        let sha = returns
            .column("sha256")
            .expect("sha256")
            .str()
            .expect("text")
            .clone();
        let file = returns
            .column("source_file")
            .expect("file")
            .str()
            .expect("text")
            .clone();
        let accepted = returns
            .column("accepted")
            .expect("accepted")
            .bool()
            .expect("bool")
            .clone();
        (0..returns.height())
            .map(|i| {
                (
                    sha.get(i).unwrap_or_default().to_owned(),
                    file.get(i).unwrap_or_default().to_owned(),
                    accepted.get(i).unwrap_or(false),
                )
            })
            .collect()
    }
}

impl Watcher {
    /// SIGTERM, as a service manager stops it; waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        self.child.wait().expect("watcher exits")
    }

    /// SIGKILL: no chance to tidy up.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Data sheet's rows, sorted, for comparing two dashboards figure by figure.
pub fn sorted_data(dashboard: &Path) -> Vec<[String; 7]> {
    let mut rows = data_rows(dashboard);
    rows.sort();
    rows
}

/// One part of an xlsx, as text.
pub fn xlsx_part(path: &Path, name: &str) -> String {
    let file = std::fs::File::open(path).expect("workbook");
    let mut zip = zip::ZipArchive::new(file).expect("xlsx is a zip");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name(name).expect("part"), &mut text)
        .expect("read part");
    text
}

/// The number (1-based) of the sheet named `sheet`, as our writer numbers its worksheet parts.
pub fn sheet_number(path: &Path, sheet: &str) -> usize {
    let workbook = xlsx_part(path, "xl/workbook.xml");
    workbook
        .split("<sheet ")
        .skip(1)
        .position(|tag| tag.contains(&format!("name=\"{}\"", sheet.replace('&', "&amp;"))))
        .unwrap_or_else(|| panic!("no sheet {sheet}"))
        + 1
}

/// The `<xf>` record (cell format) of one cell of a sheet, read from the xlsx's own XML as Excel would.
pub fn cell_format(path: &Path, sheet: &str, cell: &str) -> String {
    let number = sheet_number(path, sheet);
    let worksheet = xlsx_part(path, &format!("xl/worksheets/sheet{number}.xml"));
    let styles = xlsx_part(path, "xl/styles.xml");
    let at = worksheet
        .find(&format!("<c r=\"{cell}\""))
        .unwrap_or_else(|| panic!("no cell {cell}"));
    let tag = &worksheet[at..at + worksheet[at..].find('>').expect("tag end")];
    let index: usize = tag
        .split(" s=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let xfs = &styles[styles.find("<cellXfs").expect("cellXfs")..];
    let xfs = &xfs[..xfs.find("</cellXfs>").expect("cellXfs end")];
    xfs.split("<xf ").nth(index + 1).expect("xf").to_owned()
}

/// How a cell looks, as openpyxl reads it: its fill colour ("FFC7CE"), whether its font is bold and
/// italic, its font colour, and its note's text.
pub struct CellLook {
    pub fill: String,
    pub bold: bool,
    pub italic: bool,
    pub font_colour: String,
    pub note: String,
}

const READ_CELL_LOOK: &str = r#"
import json, sys, openpyxl
sheet, ref = sys.argv[1], sys.argv[2]
cell = openpyxl.load_workbook(sys.argv[3])[sheet][ref]
rgb = lambda colour: (colour.rgb if colour is not None and isinstance(colour.rgb, str) else "")[-6:]
fill = rgb(cell.fill.fgColor) if cell.fill is not None and cell.fill.fill_type else ""
print(json.dumps([fill, bool(cell.font.b), bool(cell.font.i), rgb(cell.font.color), cell.comment.text if cell.comment else ""]))
"#;

/// A cell's look (see [`CellLook`]), read back with openpyxl.
pub fn cell_look(path: &Path, sheet: &str, cell: &str) -> CellLook {
    let args = ["-c", READ_CELL_LOOK, sheet, cell].map(std::ffi::OsStr::new);
    let json = python_json(&args, path);
    let text = |i: usize| json[i].as_str().unwrap_or_default().to_owned();
    CellLook {
        fill: text(0),
        bold: json[1] == true,
        italic: json[2] == true,
        font_colour: text(3),
        note: text(4),
    }
}

/// Each table cell of a Word document whose text is `text`, with its shading (fill colour, empty when
/// none), as python-docx reads it: table by table, row by row.
pub fn docx_cell_shading(path: &Path) -> Vec<(String, String)> {
    const READ: &str = r#"
import json, sys, docx
from docx.oxml.ns import qn
found = []
for table in docx.Document(sys.argv[1]).tables:
    for row in table.rows:
        for cell in row.cells:
            shading = cell._tc.tcPr.find(qn("w:shd")) if cell._tc.tcPr is not None else None
            fill = shading.get(qn("w:fill")) if shading is not None else ""
            found.append([cell.text, fill or ""])
print(json.dumps(found))
"#;
    serde_json::from_value(python_script_json(READ, path)).expect("cells")
}

/// The text of the note (comment) on one cell of a sheet, read from the xlsx's own XML.
pub fn cell_note(path: &Path, sheet: &str, cell: &str) -> String {
    let number = sheet_number(path, sheet);
    let rels = xlsx_part(path, &format!("xl/worksheets/_rels/sheet{number}.xml.rels"));
    let comments = rels
        .split("Target=\"../")
        .filter_map(|rest| rest.split('"').next())
        .find(|target| target.starts_with("comments"))
        .unwrap_or_else(|| panic!("{sheet} has no notes: {rels}"));
    let notes = xlsx_part(path, &format!("xl/{comments}"));
    let at = notes
        .find(&format!("<comment ref=\"{cell}\""))
        .unwrap_or_else(|| panic!("no note on {sheet}!{cell}: {notes}"));
    let note = &notes[at..];
    note[..note.find("</comment>").unwrap_or(note.len())].to_owned()
}

/// The workbook with the XML parts `edit` is given (by part name) changed as it says; the other parts as
/// they were.
pub fn rewrite_xlsx_parts(bytes: &[u8], edit: impl Fn(&str, &mut String)) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("entry");
        let name = entry.name().expect("entry name").into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("read entry");
        if name.ends_with(".xml") {
            let mut text = String::from_utf8(content).expect("xml");
            edit(&name, &mut text);
            content = text.into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("start");
        out.write_all(&content).expect("write");
    }
    out.finish().expect("finish").into_inner()
}

/// The first draft (`.eml`) in a folder of the outbox.
pub fn first_draft(folder: &Path) -> PathBuf {
    std::fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "eml"))
        .unwrap_or_else(|| panic!("a draft in {}", folder.display()))
}
