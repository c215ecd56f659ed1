//! How long each stage of a pass takes: a `tracing` event when a stage ends (target `collate::phase`,
//! fields `phase` and `micros`), at debug level, so `COLLATE_LOG=collate::phase=debug` shows them and the
//! pipeline bench adds them up into its table. Stages can overlap (the store is written while the
//! outputs are made): each is its own wall time.

use std::time::Instant;

/// The target the stage timings are logged under.
pub const TARGET: &str = "collate::phase";

/// A stage being timed; logged when dropped.
pub struct Phase {
    name: &'static str,
    started: Instant,
}

impl Phase {
    pub fn start(name: &'static str) -> Phase {
        Phase {
            name,
            started: Instant::now(),
        }
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        tracing::debug!(target: "collate::phase", phase = self.name, micros);
    }
}

/// Times `work` as the stage `name`.
pub fn timed<T>(name: &'static str, work: impl FnOnce() -> T) -> T {
    let _phase = Phase::start(name);
    work()
}
