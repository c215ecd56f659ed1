//! Everything that differs between Linux, the other Unixes and Windows, in one place: how a worker is kept
//! out of the terminal's (or the service manager's) signals, how its limits are set, what a signal that
//! ended it means, and how a written file reaches the disk.
//!
//! Only Linux is built and tested here. The Windows code is kept small and right by construction: a file
//! is flushed through the very handle it was written with (Windows' `FlushFileBuffers` refuses a handle
//! opened for reading), and a worker is started in a process group of its own so that Ctrl-C in the
//! owner's console does not reach it.

use std::process::Command;

/// Starts `command` in a process group of its own: Ctrl-C in a terminal, or a SIGTERM sent to the
/// collating process's group, then reaches `collate` alone, which finishes the returns in hand instead of
/// having its readers killed under them.
pub fn in_own_process_group(command: &mut Command) -> &mut Command {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0)
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        // CREATE_NEW_PROCESS_GROUP: the console's Ctrl-C is not delivered to the new process.
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP)
    }
    #[cfg(not(any(unix, windows)))]
    {
        command
    }
}

/// How a worker's process ended, as far as the platform tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It ran out of the CPU time it was given (Linux: SIGXCPU).
    CpuLimit,
    /// It aborted, as Rust does when an allocation fails (Unix: SIGABRT; Windows: the fail-fast status).
    Aborted,
    /// Something outside `collate` stopped it: a terminal, a service manager, an administrator, the
    /// kernel's out-of-memory killer. Not the file's doing.
    StoppedFromOutside(&'static str),
    /// Any other signal: it crashed.
    Crashed(i32),
    /// It exited, with this code.
    Exited(Option<i32>),
}

/// What `status` says of how a worker ended.
pub fn ending(status: std::process::ExitStatus) -> Ending {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return match signal {
                6 => Ending::Aborted,
                24 => Ending::CpuLimit,
                1 => Ending::StoppedFromOutside("signal 1: its terminal hung up"),
                2 => Ending::StoppedFromOutside("signal 2: an interrupt, as Ctrl-C sends"),
                3 => Ending::StoppedFromOutside("signal 3: a request to quit"),
                9 => Ending::StoppedFromOutside(
                    "signal 9: killed, as the system does when its memory runs short",
                ),
                15 => Ending::StoppedFromOutside("signal 15: a request to stop"),
                other => Ending::Crashed(other),
            };
        }
    }
    // Rust's abort on Windows is a fail-fast, which ends the process with STATUS_STACK_BUFFER_OVERRUN.
    #[cfg(windows)]
    if status.code() == Some(0xC000_0409_u32 as i32) {
        return Ending::Aborted;
    }
    Ending::Exited(status.code())
}

/// Blocks until the child process `pid` has ended, leaving it to be reaped by its `Child` (so that whoever
/// holds it may still stop it by its handle meanwhile: the process id is not freed for reuse until then).
/// `false` where the platform cannot wait so (then the caller looks again now and then).
pub fn wait_for_end(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::wait::{Id, WaitPidFlag, waitid};
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
        waitid(Id::Pid(nix::unistd::Pid::from_raw(pid)), flags).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        false
    }
}

/// Whether the output files written in batches reach the disk by one flush of the whole filesystem
/// ([`flush_filesystem`]) rather than each by its own. Linux only: elsewhere each file is flushed through
/// the handle it was written with.
pub const FLUSH_BY_FILESYSTEM: bool = cfg!(target_os = "linux");

/// Flushes everything written to the filesystem holding `dir` (Linux's `syncfs`); elsewhere nothing is
/// left to flush, since each file was flushed as it was written.
pub fn flush_filesystem(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let folder = std::fs::File::open(dir)?;
        nix::unistd::syncfs(&folder).map_err(std::io::Error::from)?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
    Ok(())
}

/// A reading worker's limits: an address space (an allocation past it fails and the worker aborts) and,
/// for each return, CPU time (past it the kernel stops the worker). Linux only; elsewhere the wall-clock
/// deadline the collating process keeps is the only limit on time.
#[cfg(target_os = "linux")]
pub mod limits {
    use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};

    pub fn limit_memory(megabytes: u64) {
        let bytes = megabytes.saturating_mul(1024 * 1024);
        if let Err(error) = setrlimit(Resource::RLIMIT_AS, bytes, bytes) {
            tracing::warn!("could not limit the reader's memory: {error}");
        }
    }

    /// The next return may use `seconds` of CPU time beyond what the worker has used so far.
    pub fn limit_cpu_for_next(seconds: u64) {
        let used = getrusage(UsageWho::RUSAGE_SELF)
            .map(|usage| {
                let (user, system) = (usage.user_time(), usage.system_time());
                (user.tv_sec() + system.tv_sec() + 1).max(0) as u64
            })
            .unwrap_or(0);
        let hard = getrlimit(Resource::RLIMIT_CPU)
            .map(|(_, hard)| hard)
            .unwrap_or(nix::sys::resource::RLIM_INFINITY);
        let soft = used.saturating_add(seconds).min(hard);
        if let Err(error) = setrlimit(Resource::RLIMIT_CPU, soft, hard) {
            tracing::warn!("could not limit the reader's computing time: {error}");
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub mod limits {
    pub fn limit_memory(_megabytes: u64) {}
    pub fn limit_cpu_for_next(_seconds: u64) {}
}

/// Where LibreOffice's program may be, in the order tried: on the `PATH` first, then where its installer
/// puts it (Windows, macOS).
pub fn office_programs() -> Vec<std::path::PathBuf> {
    let mut programs: Vec<std::path::PathBuf> = vec!["soffice".into(), "libreoffice".into()];
    if cfg!(windows) {
        programs.push(r"C:\Program Files\LibreOffice\program\soffice.exe".into());
    }
    if cfg!(target_os = "macos") {
        programs.push("/Applications/LibreOffice.app/Contents/MacOS/soffice".into());
    }
    programs
}

/// A folder as a `file:` URL, as LibreOffice takes its profile folder (`-env:UserInstallation`).
pub fn file_url(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    match text.starts_with('/') {
        true => format!("file://{text}"),
        // C:/Users/… → file:///C:/Users/…
        false => format!("file:///{text}"),
    }
}

/// A command line the owner wrote (a token command), run as their shell runs it: `sh -c` on Unix,
/// `cmd /C` on Windows.
pub fn shell(command_line: &str) -> Command {
    #[cfg(windows)]
    {
        let mut command = Command::new("cmd");
        command.args(["/C", command_line]);
        command
    }
    #[cfg(not(windows))]
    {
        let mut command = Command::new("sh");
        command.args(["-c", command_line]);
        command
    }
}
