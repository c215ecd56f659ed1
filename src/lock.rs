//! One writer at a time: advisory locks in the store folder, naming the process that holds them.
//!
//! `collate.lock` is held while a batch is processed and the outputs rewritten, by `run`, `rebuild` and the
//! watcher alike; `watch.lock` is held by a watcher for its whole life, so that a second watcher is refused.
//! The operating system releases both when a process ends, however it ends (`kill -9` included).

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::FatalError;

pub const BATCH_LOCK: &str = "collate.lock";
pub const WATCH_LOCK: &str = "watch.lock";

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

fn open(path: &Path) -> Result<File, FatalError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| FatalError::folder_failed(parent, "cannot create it", error))?;
    }
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|error| FatalError::folder_failed(path, "cannot open the lock file", error))
}

/// Who holds a lock, as its holder wrote it.
fn holder(path: &Path) -> String {
    let mut text = String::new();
    let _ = File::open(path).and_then(|mut file| file.read_to_string(&mut text));
    let text = text.trim();
    if text.is_empty() {
        "another collate process".to_owned()
    } else {
        text.to_owned()
    }
}

fn stamp(file: &mut File, purpose: &str) {
    let line = format!("pid {} ({purpose})\n", std::process::id());
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(line.as_bytes()))
        .and_then(|()| file.flush());
}

/// What trying a lock found.
#[derive(Debug)]
pub enum Attempt {
    Taken(Lock),
    /// Another process holds it: its own description ("pid 123 (collate watch)").
    HeldBy(String),
}

/// Takes the lock, or says who holds it.
pub fn try_acquire(path: &Path, purpose: &str) -> Result<Attempt, FatalError> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            stamp(&mut file, purpose);
            Ok(Attempt::Taken(Lock { _file: file }))
        }
        Err(TryLockError::WouldBlock) => Ok(Attempt::HeldBy(holder(path))),
        Err(TryLockError::Error(error)) => {
            Err(FatalError::folder_failed(path, "cannot lock", error))
        }
    }
}

/// Takes the lock, waiting for its holder to finish; says once, in the log, whom it waits for.
pub fn acquire(path: &Path, purpose: &str) -> Result<Lock, FatalError> {
    let mut told = false;
    loop {
        match try_acquire(path, purpose)? {
            Attempt::Taken(lock) => return Ok(lock),
            Attempt::HeldBy(holder) => {
                if !told {
                    tracing::info!(
                        "waiting for {holder} to finish its batch ({})",
                        path.display()
                    );
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

pub fn batch_lock_path(store: &Path) -> PathBuf {
    store.join(BATCH_LOCK)
}

pub fn watch_lock_path(store: &Path) -> PathBuf {
    store.join(WATCH_LOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_has_the_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(BATCH_LOCK);
        let first = try_acquire(&path, "collate watch").expect("lock file");
        assert!(matches!(first, Attempt::Taken(_)), "free");
        match try_acquire(&path, "collate run").expect("lock file") {
            Attempt::HeldBy(holder) => assert_eq!(
                holder,
                format!("pid {} (collate watch)", std::process::id())
            ),
            Attempt::Taken(_) => panic!("taken twice"),
        }
        drop(first);
        assert!(
            matches!(
                try_acquire(&path, "collate run").expect("lock file"),
                Attempt::Taken(_)
            ),
            "released on drop"
        );
    }
}
