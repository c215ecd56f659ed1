//! Runs polars' work on one thread. `collate`'s tables are small (a few thousand rows per return
//! table, a few hundred thousand figures at most), and polars' pool hands each operator's parts to its
//! threads and waits for them: on two cores, with the workers, the store and the renders wanting the same
//! processors, those hand-offs cost more than the parallel work saves (consolidating 16 returns took
//! 17–23 ms on the pool and 8–12 ms on one thread).

use polars_async::executor::ALLOW_RAYON_THREADS;

/// `work`, with every polars operation it makes run on one thread of its own. Polars' switch for this
/// (the one its own executor threads set) makes the thread it is set on a worker of a one-thread rayon
/// pool for good, and a `rayon::join` there would then run both halves one after the other: so the work
/// gets a short-lived thread rather than the caller's. A panic in it is the caller's.
pub fn on_one_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                ALLOW_RAYON_THREADS.set(false);
                work()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `first` and `second` side by side, each on one thread of its own as [`on_one_thread`] runs it.
pub fn on_two_threads<A: Send, B: Send>(
    first: impl FnOnce() -> A + Send,
    second: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            ALLOW_RAYON_THREADS.set(false);
            second()
        });
        let first = on_one_thread(first);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use polars::prelude::*;

    use super::*;

    #[test]
    fn the_work_runs_with_polars_threads_off_and_the_caller_keeps_them() {
        assert!(!on_one_thread(|| ALLOW_RAYON_THREADS.get()));
        assert!(ALLOW_RAYON_THREADS.get());
        let panicked = std::panic::catch_unwind(|| on_one_thread(|| panic!("inside")));
        assert!(panicked.is_err());
    }

    /// Whether the two halves of a `rayon::join` made on this thread run side by side: the first waits
    /// (`patience` at most) for the second to start.
    fn join_runs_side_by_side(patience: Duration) -> bool {
        let second_started = AtomicBool::new(false);
        let (met, ()) = rayon::join(
            || {
                let deadline = Instant::now() + patience;
                while !second_started.load(Ordering::Acquire) {
                    if Instant::now() > deadline {
                        return false;
                    }
                    std::thread::yield_now();
                }
                true
            },
            || second_started.store(true, Ordering::Release),
        );
        met
    }

    fn a_query() -> i64 {
        let frame = polars::df!("a" => [1i64, 2, 3]).expect("a frame");
        let summed = frame.lazy().select([col("a").sum()]).collect();
        let summed = summed.expect("summed");
        summed
            .column("a")
            .expect("a")
            .i64()
            .expect("i64")
            .get(0)
            .expect("a sum")
    }

    #[test]
    fn two_pieces_of_work_each_run_with_polars_threads_off_on_threads_of_their_own() {
        let caller = std::thread::current().id();
        let on = || (ALLOW_RAYON_THREADS.get(), std::thread::current().id());
        let ((first_allowed, first), (second_allowed, second)) = on_two_threads(on, on);
        assert!(!first_allowed && !second_allowed);
        assert!(first != caller && second != caller && first != second);
        assert_eq!(on_two_threads(a_query, a_query), (6, 6));
        assert!(ALLOW_RAYON_THREADS.get());
    }

    #[test]
    fn a_join_after_polars_work_still_runs_its_halves_side_by_side() {
        assert_eq!(on_one_thread(a_query), 6);
        assert!(join_runs_side_by_side(Duration::from_secs(10)));
    }

    #[test]
    fn polars_threads_switched_off_on_the_callers_thread_would_run_a_join_one_half_after_the_other()
    {
        // Why the work gets a thread of its own: this is what the switch does to the thread it is set on.
        let own_thread = std::thread::spawn(|| {
            ALLOW_RAYON_THREADS.set(false);
            assert_eq!(a_query(), 6);
            join_runs_side_by_side(Duration::from_secs(1))
        });
        assert!(!own_thread.join().expect("joined"));
    }
}
