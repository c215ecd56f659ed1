//! Holding a worker to its wall-clock deadline: a thread of its own per worker, which owns its process.

use std::process::Child;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::platform;

/// How a supervised worker ended.
pub(super) enum Ended {
    /// `collate` stopped it at its deadline.
    AtDeadline,
    /// It ended by itself (or from outside): how, where the platform says.
    Status(Option<std::process::ExitStatus>),
}

/// Holds a worker to a wall-clock deadline for each read, on every platform: a thread of its own stops
/// the worker when a read has gone on too long (a reader blocked without using the CPU, or any reader
/// where no CPU limit can be set). The worker's process lives here, so that stopping it at the deadline
/// and the read's end cannot cross.
pub(super) struct Supervisor {
    state: Mutex<Supervised>,
    changed: Condvar,
}

struct Supervised {
    child: Child,
    /// When the read in hand must have been answered by.
    deadline: Option<Instant>,
    /// Whether the worker was stopped at its deadline.
    stopped_at_deadline: bool,
    /// Whether the worker is done with: the supervising thread ends.
    finished: bool,
    /// Whether the supervising thread is asleep with no deadline to wake for: only then does a new
    /// deadline need to wake it (one further off than the one it sleeps until is seen when it wakes, and a
    /// wake-up for every file costs the readers a processor switch on a small machine).
    asleep_without_deadline: bool,
}

impl Supervisor {
    pub(super) fn start(child: Child) -> Arc<Supervisor> {
        let supervisor = Arc::new(Supervisor {
            state: Mutex::new(Supervised {
                child,
                deadline: None,
                stopped_at_deadline: false,
                finished: false,
                asleep_without_deadline: false,
            }),
            changed: Condvar::new(),
        });
        let watching = Arc::clone(&supervisor);
        std::thread::spawn(move || watching.keep_to_deadlines());
        supervisor
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Supervised> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The supervising thread: sleeps until the deadline in force, and stops the worker if it passes.
    fn keep_to_deadlines(&self) {
        let mut state = self.lock();
        while !state.finished {
            state = match state.deadline {
                None => {
                    state.asleep_without_deadline = true;
                    let mut state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                    state.asleep_without_deadline = false;
                    state
                }
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        let (state, _) = self
                            .changed
                            .wait_timeout(state, left)
                            .unwrap_or_else(PoisonError::into_inner);
                        state
                    }
                    _ => {
                        let _ = state.child.kill();
                        state.stopped_at_deadline = true;
                        state.deadline = None;
                        state
                    }
                },
            };
        }
    }

    /// The read starting now must be answered within `allowed`.
    pub(super) fn arm(&self, allowed: Duration) {
        let mut state = self.lock();
        state.deadline = Some(Instant::now() + allowed);
        state.stopped_at_deadline = false;
        // Deadlines only move later: a thread asleep until an earlier one wakes then and sees this one.
        if state.asleep_without_deadline {
            self.changed.notify_one();
        }
    }

    /// The read was answered: no deadline until the next. Whether the worker is still running (it was not
    /// stopped at the deadline just as the answer came).
    pub(super) fn disarm(&self) -> bool {
        let mut state = self.lock();
        state.deadline = None;
        !state.stopped_at_deadline
    }

    /// Stops the worker now.
    pub(super) fn stop(&self) {
        let mut state = self.lock();
        state.deadline = None;
        let _ = state.child.kill();
        let _ = state.child.wait();
    }

    /// Waits for a worker whose pipes closed to end, its deadline still in force (a worker that closed
    /// them and went on running is stopped there), then says how it ended. The wait blocks (Linux) rather
    /// than looking again every few milliseconds, and leaves the worker for its `Child` to reap, so the
    /// deadline thread can still stop it by its handle meanwhile.
    pub(super) fn wait(&self) -> Ended {
        let armed = {
            let state = self.lock();
            (state.deadline.is_some() || state.stopped_at_deadline).then(|| state.child.id())
        };
        // With a deadline in force the worker ends by itself or is stopped there: waiting cannot hang.
        let mut waited = armed.is_some_and(platform::wait_for_end);
        loop {
            {
                let mut state = self.lock();
                if let Ok(Some(status)) = state.child.try_wait() {
                    state.deadline = None;
                    return match state.stopped_at_deadline {
                        true => Ended::AtDeadline,
                        false => Ended::Status(Some(status)),
                    };
                }
                if state.deadline.is_none() && !state.stopped_at_deadline {
                    // No deadline to wait for (it was stopped already, or never armed): stop it here.
                    let _ = state.child.kill();
                    return Ended::Status(state.child.wait().ok());
                }
            }
            // Once it has ended, the first look finds it; should it not, look again now and then.
            if !std::mem::take(&mut waited) {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// The worker is done with: stops it and ends the supervising thread.
    pub(super) fn finish(&self) {
        let mut state = self.lock();
        state.finished = true;
        state.deadline = None;
        let _ = state.child.kill();
        let _ = state.child.wait();
        self.changed.notify_one();
    }
}
