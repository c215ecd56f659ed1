//! Command-line arguments, raw (clap) then checked, and the exit codes every subcommand shares.

mod check;
mod close;
mod close_report;
mod fetch;
mod init;
mod lint;
mod pack;
mod prefer;
mod rebuild;
mod run;
mod send;
mod template;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::FatalError;
use crate::period::{Period, PeriodChoice};
use crate::pipeline::Folders;
use crate::schema::Schemas;
use crate::worker::WorkerPool;

/// Exit codes, as documented in the README.
pub mod exit {
    /// Every return processed was accepted (queries may have been raised).
    pub const ACCEPTED: u8 = 0;
    /// At least one return was rejected, or a file was still being written and not read; the outputs
    /// were still written. For `collate send`: at least one draft could not be sent.
    pub const SOME_REJECTED: u8 = 1;
    /// Could not run: bad schema, unusable folder, bad arguments.
    pub const COULD_NOT_RUN: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "collate",
    version,
    about = "Collates departments' spreadsheet returns into the integrity dashboard"
)]
struct Cli {
    #[command(flatten)]
    locations: Locations,
    /// More log detail (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Logging")]
    verbose: u8,
    /// Only errors in the log.
    #[arg(short, long, global = true, help_heading = "Logging")]
    quiet: bool,
    /// Log lines for people (human) or for log collectors (json).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, help_heading = "Logging")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Locations {
    /// The folder holding inbox/, outbox/, store/ and schemas/.
    #[arg(
        long,
        global = true,
        default_value = ".",
        help_heading = "Installation folders"
    )]
    root: PathBuf,
    /// Where returns arrive (default: ROOT/inbox).
    #[arg(long, global = true, help_heading = "Installation folders")]
    inbox: Option<PathBuf>,
    /// Where the dashboard and reports are written (default: ROOT/outbox).
    #[arg(long, global = true, help_heading = "Installation folders")]
    outbox: Option<PathBuf>,
    /// The history store (default: ROOT/store).
    #[arg(long, global = true, help_heading = "Installation folders")]
    store: Option<PathBuf>,
    /// The schema folder (default: ROOT/schemas).
    #[arg(long, global = true, help_heading = "Installation folders")]
    schemas: Option<PathBuf>,
}

impl Locations {
    fn folders(&self) -> Folders {
        let defaults = Folders::under(&self.root);
        Folders {
            inbox: self.inbox.clone().unwrap_or(defaults.inbox),
            outbox: self.outbox.clone().unwrap_or(defaults.outbox),
            store: self.store.clone().unwrap_or(defaults.store),
        }
    }

    /// The worker processes that read returns for this installation.
    fn workers(&self, schemas: &Schemas) -> Result<WorkerPool, FatalError> {
        WorkerPool::of_this_program(&self.schemas(), schemas.dashboard.limits.clone())
    }

    fn schemas(&self) -> PathBuf {
        self.schemas
            .clone()
            .unwrap_or_else(|| self.root.join("schemas"))
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Set up a new installation folder: schemas, an empty inbox and outbox, and a README for the owner.
    Init(init::InitArgs),
    /// Process every new return in the inbox, consolidate, and write the dashboard and exception reports.
    Run(run::RunArgs),
    /// Validate returns without storing them; print every exception.
    Check(check::CheckArgs),
    /// Rebuild the history store from the originals in the inbox, then write the outputs again.
    Rebuild(run::RunArgs),
    /// Check the schema files and report what they declare.
    Lint,
    /// Make an accepted return the one in use for its department and period (a correction that arrived
    /// before another, say), then write the outputs again.
    #[command(name = "use")]
    Use(prefer::UseArgs),
    /// Write a return template for a department to fill in: blank, or prefilled for a period.
    Template(template::TemplateArgs),
    /// Write the quarter's pack: a prefilled template for every return still owed, and who owes what.
    Pack(pack::PackArgs),
    /// Sign a quarter off: write its board paper (Word and PDF), the dashboard as it was and a manifest
    /// of every return into outbox/board/<quarter>/vN/, and move the dashboard on to the next quarter.
    Close(close::CloseArgs),
    /// Send the draft replies and reminders in the outbox through the mail server dashboard.toml names,
    /// each once.
    Send(send::SendArgs),
    /// Take the returns waiting in the shared mailbox ([mail.imap]) into the inbox, process them, and move
    /// each message to the processed folder on the server.
    Fetch(fetch::FetchArgs),
    /// Watch the inbox (and the shared mailbox, when dashboard.toml names one): process each return
    /// within seconds of it landing, until stopped (Ctrl-C, SIGTERM).
    Watch(watch::WatchArgs),
    /// Reads returns handed over on standard input, for `collate` itself (one worker of its pool).
    #[command(name = "read-worker", hide = true)]
    ReadWorker,
}

/// A period as 2020/21-Q2, `due` (the quarter most recently ended, whose returns are being collected)
/// or `latest`. A period that has not begun is refused: it has no returns to show.
fn parse_period(text: &str) -> Result<PeriodChoice, String> {
    let today = chrono::Local::now().date_naive();
    if text.eq_ignore_ascii_case("due") {
        return Ok(PeriodChoice::Due(Period::most_recently_ended(today)));
    }
    if text.eq_ignore_ascii_case("latest") {
        return Ok(PeriodChoice::Latest);
    }
    let period = Period::parse(text)
        .ok_or_else(|| format!("\"{text}\" is not a period; write it as 2020/21-Q2, or due"))?;
    match period.first_day() {
        Some(first) if first > today => Err(format!(
            "{period} has not begun (it starts on {}); name a quarter that has ended, or use due",
            first.format("%-d %B %Y")
        )),
        _ => Ok(PeriodChoice::Named(period)),
    }
}

fn init_logging(verbose: u8, quiet: bool, format: LogFormat) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("COLLATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour only for a person at a terminal: not in a file, a journal or a collector (NO_COLOR honoured).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false);
    JSON_LOGS.store(
        matches!(format, LogFormat::Json),
        std::sync::atomic::Ordering::Relaxed,
    );
    match format {
        // People read the time from their terminal or journal; collectors want it in the record.
        LogFormat::Human => builder.without_time().init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Whether the log is JSON, so that every line, the closing ones too, is a JSON object.
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A closing line that a schedule's log keeps even with `-q`: plain text for people, a JSON record for
/// log collectors.
fn closing_line(message: &str) {
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        tracing::error!(closing = true, "{message}");
    } else {
        eprintln!("collate: {message}");
    }
}

/// A worker: loads the schemas, then reads returns until its standard input closes.
fn read_worker(locations: &Locations) -> anyhow::Result<u8> {
    let schemas = crate::schema::load(&locations.schemas())?;
    crate::worker::serve(&schemas)?;
    Ok(exit::ACCEPTED)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet, cli.log_format);
    let result = match &cli.command {
        Command::Init(args) => init::init(args),
        Command::Run(args) => run::run(&cli.locations, args),
        Command::Rebuild(args) => rebuild::rebuild(&cli.locations, args),
        Command::Check(args) => check::check(&cli.locations, args),
        Command::Lint => lint::lint(&cli.locations),
        Command::Use(args) => prefer::prefer(&cli.locations, args),
        Command::Template(args) => template::template(&cli.locations, args),
        Command::Pack(args) => pack::pack(&cli.locations, args),
        Command::Send(args) => send::send(&cli.locations, args),
        Command::Close(args) => close::close(&cli.locations, args),
        Command::Fetch(args) => fetch::fetch(&cli.locations, args),
        Command::Watch(args) => watch::watch(&cli.locations, args),
        Command::ReadWorker => read_worker(&cli.locations),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            closing_line(&format!("could not run: {error:#}"));
            ExitCode::from(exit::COULD_NOT_RUN)
        }
    }
}
