//! Printing the board paper to PDF with LibreOffice, when it is installed: the one program here that
//! lays out a Word document as Word would. Run headless, with a profile folder of its own (so an office
//! the owner has open is left alone), held to a deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::platform;

/// What became of a request for a PDF.
#[derive(Debug, Clone, PartialEq)]
pub enum Printed {
    /// The PDF, where it was written.
    Made(PathBuf),
    /// No LibreOffice was found: nothing was printed.
    NoOffice,
    /// LibreOffice was there but made no PDF, and why.
    Failed(String),
}

/// How long LibreOffice may take over one document (its first start on a machine is the slow part).
pub const DEADLINE: Duration = Duration::from_secs(180);

/// What the owner is told when LibreOffice is missing: how to make this PDF, and the next one.
pub fn install_office(paper: &Path) -> String {
    format!(
        "LibreOffice is not installed, so no PDF was made: open {} in Word and save it as PDF; for the \
         next version, install LibreOffice (Debian/Ubuntu: apt install libreoffice-writer-nogui; \
         Windows: libreoffice.org) or set COLLATE_SOFFICE to its soffice program",
        paper.display()
    )
}

/// Prints `docx` to a PDF of the same name in `folder`.
pub fn print_to_pdf(docx: &Path, folder: &Path) -> Printed {
    let programs = match std::env::var_os("COLLATE_SOFFICE") {
        Some(program) => vec![PathBuf::from(program)],
        None => platform::office_programs(),
    };
    let profile = match tempfile::tempdir() {
        Ok(profile) => profile,
        Err(error) => {
            return Printed::Failed(format!("no folder for LibreOffice's profile: {error}"));
        }
    };
    for program in programs {
        let mut command = Command::new(&program);
        command
            .arg(format!(
                "-env:UserInstallation={}",
                platform::file_url(profile.path())
            ))
            .args([
                "--headless",
                "--norestore",
                "--convert-to",
                "pdf",
                "--outdir",
            ])
            .arg(folder)
            .arg(docx)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = match platform::in_own_process_group(&mut command).spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                return Printed::Failed(format!("{} could not start: {error}", program.display()));
            }
        };
        return finish(child, docx, folder);
    }
    Printed::NoOffice
}

/// Waits for LibreOffice within the deadline, then finds its PDF.
fn finish(mut child: std::process::Child, docx: &Path, folder: &Path) -> Printed {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Printed::Failed(format!(
                    "LibreOffice took more than {} seconds and was stopped",
                    DEADLINE.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(error) => return Printed::Failed(error.to_string()),
        }
    }
    let mut said = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut said);
    }
    let pdf = folder.join(docx.with_extension("pdf").file_name().unwrap_or_default());
    match pdf.is_file() {
        true => Printed::Made(pdf),
        false => Printed::Failed(format!(
            "LibreOffice made no PDF: {}",
            crate::excel::fit_cell(said.trim())
        )),
    }
}
