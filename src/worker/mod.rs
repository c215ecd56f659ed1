//! Reading returns where a crash costs one file: a small, reused pool of worker processes under limits.
//!
//! Rust aborts on allocation failure and on stack overflow, and `catch_unwind` cannot catch either; a
//! reader can be made to allocate whatever a file claims. So the collating process never parses a return
//! itself: it hands the bytes to a worker (`collate read-worker`, the same binary) over a pipe and gets the
//! [`Validated`] back in postcard's compact binary form (read in a fraction of JSON's time). Workers are
//! reused, so a return costs a pipe round trip rather than a process start. Every read has a wall-clock
//! deadline, on every platform; on Linux each worker also runs under an address-space limit and, for each
//! return, a CPU-time limit. A worker that dies is replaced, and its return is rejected with the reason in
//! the department's terms, unless something outside `collate` stopped it (a terminal's Ctrl-C, a service
//! manager, the out-of-memory killer): stopping is not a verdict, so the return is read once more in a
//! fresh worker, and if that is stopped too it is left for the next run. Workers run in a process group of
//! their own, so the signals meant for `collate` reach `collate` alone.

mod pool;
mod process;
mod protocol;
mod serve;
mod supervisor;

pub use pool::{Interrupted, WorkerPool};
pub use serve::serve;

/// The hidden subcommand a worker is started with.
pub const WORKER_COMMAND: &str = "read-worker";

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use super::process::{Death, explain_death};
    use super::protocol::{Fault, Request, read_frame, read_request, send};
    use super::*;
    use crate::schema::ReadLimits;

    #[test]
    fn a_request_crosses_as_its_tag_then_its_bytes_and_a_claim_past_the_limit_is_refused() {
        let mut pipe = Vec::new();
        let request = Request::Unpack {
            file: "Q2 return.eml".into(),
        };
        send(&mut pipe, &request, &[b"From: psd"]).expect("written");
        let (read, files) = read_request(&mut pipe.as_slice(), 1 << 20)
            .expect("read")
            .expect("a request");
        assert!(matches!(read, Request::Unpack { file } if file == "Q2 return.eml"));
        assert_eq!(files, [b"From: psd"]);
        assert!(
            read_request(&mut pipe.as_slice(), 4).is_err(),
            "9 bytes > 4"
        );
        assert!(
            read_request(&mut [].as_slice(), 4)
                .expect("closed")
                .is_none()
        );
    }

    #[cfg(unix)]
    #[test]
    fn deaths_are_told_by_how_the_worker_ended_in_the_departments_terms() {
        use std::os::unix::process::ExitStatusExt;
        let limits = ReadLimits::default();
        let reason = |raw: i32| match explain_death(
            Some(std::process::ExitStatus::from_raw(raw)),
            &limits,
        ) {
            Death::Verdict(reason) => reason,
            Death::StoppedFromOutside(how) => panic!("a verdict, not a stop: {how}"),
        };
        assert_eq!(reason(6), "it needed more than 512 MB of memory");
        assert_eq!(
            reason(24),
            "it needed more than 20 seconds of computing time"
        );
        assert_eq!(reason(11), "the reader crashed on it (signal 11)");
        assert_eq!(reason(3 << 8), "the reader stopped on it (exit code 3)");
    }

    #[cfg(unix)]
    #[test]
    fn a_reader_that_aborts_as_rust_does_when_memory_runs_out_costs_its_return_that_reason() {
        let folder = tempfile::tempdir().expect("a folder");
        // It says it is out of memory, and is believed only by its ending: a reader that merely says so
        // and exits is not.
        let verdict = |ending: &str| {
            let then = format!(
                "head -c 1 >/dev/null\necho 'memory allocation of 96000000000 bytes failed' >&2\n{ending}"
            );
            let program = stand_in(folder.path(), &then);
            let pool = WorkerPool::start(&program, folder.path(), ReadLimits::default())
                .expect("the processes start");
            let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
            validated[0].as_ref().expect("a verdict").exceptions()[0]
                .message
                .clone()
        };
        assert_eq!(
            verdict("kill -ABRT $$"),
            "the workbook could not be read safely: it needed more than 512 MB of memory"
        );
        assert_eq!(
            verdict("exit 3"),
            "the workbook could not be read safely: the reader stopped on it (exit code 3)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn workers_that_never_say_they_are_ready_stop_the_program_but_cost_a_return_once_running() {
        let schemas = tempfile::tempdir().expect("a folder");
        // A program that starts and exits at once, saying nothing: as a worker would that cannot load
        // its schemas.
        let pool = WorkerPool::start(Path::new("false"), schemas.path(), ReadLimits::default())
            .expect("the processes start");
        let error = pool.confirm_started().expect_err("none said it was ready");
        assert!(
            error
                .to_string()
                .ends_with("cannot start a worker to read returns"),
            "{error}"
        );
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("it stopped without saying why"));
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        let reasons: Vec<String> = validated[0]
            .as_ref()
            .expect("a verdict")
            .exceptions()
            .iter()
            .map(|e| e.message.clone())
            .collect();
        assert_eq!(
            reasons,
            [
                "the workbook could not be read safely: no worker could start (it stopped without saying why)"
            ]
        );
    }

    /// A stand-in worker: a shell script that says it is ready, then does `then`.
    #[cfg(unix)]
    fn stand_in(folder: &Path, then: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = folder.join("worker.sh");
        std::fs::write(&script, format!("#!/bin/sh\nprintf R\n{then}\n")).expect("written");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("mode");
        script
    }

    #[cfg(unix)]
    fn limits_with_deadline(seconds: u64) -> ReadLimits {
        ReadLimits {
            read_seconds: seconds,
            ..ReadLimits::default()
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_reader_that_never_answers_is_stopped_at_its_deadline() {
        let folder = tempfile::tempdir().expect("a folder");
        // Blocked without using the CPU: no CPU limit would ever stop it.
        let program = stand_in(folder.path(), "exec sleep 600");
        let pool = WorkerPool::start(&program, folder.path(), limits_with_deadline(1))
            .expect("the processes start");
        let started = Instant::now();
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        assert!(started.elapsed() < Duration::from_secs(60));
        let validated = validated[0].as_ref().expect("a verdict on the file");
        assert_eq!(
            validated.exceptions()[0].message,
            "the workbook could not be read safely: reading it took more than 1 seconds"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_reader_stopped_from_outside_is_tried_again_in_a_fresh_one_then_left_for_later() {
        let folder = tempfile::tempdir().expect("a folder");
        // The reader handed the file is stopped as systemd stops a whole unit; the one it is handed to
        // next just does not answer. Each waits for its request first, so only a reader given the file
        // can be the one stopped: the deadline's answer proves the file was handed on.
        let marker = folder.path().join("stopped once");
        let then = format!(
            "head -c 1 >/dev/null\nif [ ! -e '{0}' ]; then touch '{0}'; kill -TERM $$; fi\nexec sleep 600",
            marker.display()
        );
        let program = stand_in(folder.path(), &then);
        let pool = WorkerPool::start(&program, folder.path(), limits_with_deadline(1))
            .expect("the processes start");
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        let message = &validated[0].as_ref().expect("read again").exceptions()[0].message;
        assert!(message.ends_with("more than 1 seconds"), "{message}");
        assert!(
            marker.exists(),
            "the first reader given the file was the one stopped"
        );

        // Stopped every time: not a verdict on the file.
        let program = stand_in(folder.path(), "kill -INT $$");
        let pool = WorkerPool::start(&program, folder.path(), limits_with_deadline(5))
            .expect("the processes start");
        let validated = pool.validate_all(&[("psd.xlsx", b"PK".as_slice())]);
        let interrupted = validated[0].as_ref().expect_err("left for later");
        assert_eq!(
            interrupted.reason,
            "its reader was stopped from outside twice (signal 2: an interrupt, as Ctrl-C sends; \
             then signal 2: an interrupt, as Ctrl-C sends)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_reader_that_dies_on_files_handed_over_together_costs_each_only_its_own_verdict() {
        let folder = tempfile::tempdir().expect("a folder");
        // The request's tag is the ninth byte (after its frame's length): 1 is several files at once. A
        // reader handed several crashes; handed one, it stops with that file's own exit code, told by
        // the bytes it was given.
        let program = stand_in(
            folder.path(),
            "tag=$(head -c 9 | tail -c 1 | od -An -tu1 | tr -d ' ')\n\
             if [ \"$tag\" = 1 ]; then kill -SEGV $$; fi\n\
             head -c 23 >/dev/null\nexit $(head -c 1 | od -An -tu1 | tr -d ' ')",
        );
        let pool = WorkerPool::start(&program, folder.path(), limits_with_deadline(5))
            .expect("the processes start");
        let files: Vec<(String, [u8; 1])> = (0..12u8)
            .map(|n| (format!("return {n:02}.xlsx"), [n + 1]))
            .collect();
        let requests: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
            .collect();
        let validated = pool.validate_all(&requests);
        let reasons: Vec<String> = validated
            .iter()
            .map(|v| {
                v.as_ref().expect("a verdict").exceptions()[0]
                    .message
                    .clone()
            })
            .collect();
        let expected: Vec<String> = (1..=12)
            .map(|code| {
                format!("the workbook could not be read safely: the reader stopped on it (exit code {code})")
            })
            .collect();
        assert_eq!(reasons, expected);
    }

    #[test]
    fn a_reply_longer_than_any_can_be_is_refused_before_anything_is_allocated() {
        let mut claim = Vec::from(u64::MAX.to_le_bytes());
        claim.extend_from_slice(b"short");
        let refused = read_frame(&mut claim.as_slice(), 1 << 20);
        assert!(
            matches!(refused, Err(Fault::TooLong(u64::MAX))),
            "{refused:?}"
        );
        let mut cut_short = Vec::from(100u64.to_le_bytes());
        cut_short.extend_from_slice(b"only eleven");
        assert!(matches!(
            read_frame(&mut cut_short.as_slice(), 1 << 20),
            Err(Fault::Closed)
        ));
        let mut whole = Vec::from(5u64.to_le_bytes());
        whole.extend_from_slice(b"whole");
        assert_eq!(
            read_frame(&mut whole.as_slice(), 1 << 20).expect("read"),
            b"whole"
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_signals_from_outside_are_not_verdicts() {
        use std::os::unix::process::ExitStatusExt;
        let limits = ReadLimits::default();
        let death =
            |signal: i32| explain_death(Some(std::process::ExitStatus::from_raw(signal)), &limits);
        for outside in [1, 2, 3, 9, 15] {
            assert!(
                matches!(death(outside), Death::StoppedFromOutside(_)),
                "signal {outside}"
            );
        }
        for verdict in [6, 11, 24] {
            assert!(
                matches!(death(verdict), Death::Verdict(_)),
                "signal {verdict}"
            );
        }
    }
}
