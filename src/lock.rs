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
        std::fs::create_dir_all(parent).map_err(|error| FatalError::Folder {
            path: parent.to_path_buf(),
            reason: error.to_string(),
        })?;
    }
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|error| FatalError::Folder {
            path: path.to_path_buf(),
            reason: format!("cannot open the lock file: {error}"),
        })
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

/// Takes the lock, or says who holds it.
pub fn try_acquire(path: &Path, purpose: &str) -> Result<Result<Lock, String>, FatalError> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            stamp(&mut file, purpose);
            Ok(Ok(Lock { _file: file }))
        }
        Err(TryLockError::WouldBlock) => Ok(Err(holder(path))),
        Err(TryLockError::Error(error)) => Err(FatalError::Folder {
            path: path.to_path_buf(),
            reason: format!("cannot lock: {error}"),
        }),
    }
}

/// Takes the lock, waiting for its holder to finish; says once, in the log, whom it waits for.
pub fn acquire(path: &Path, purpose: &str) -> Result<Lock, FatalError> {
    let mut told = false;
    loop {
        match try_acquire(path, purpose)? {
            Ok(lock) => return Ok(lock),
            Err(holder) => {
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
        let first = try_acquire(&path, "collate watch")
            .expect("lock file")
            .expect("free");
        let refused = try_acquire(&path, "collate run")
            .expect("lock file")
            .expect_err("held");
        assert_eq!(
            refused,
            format!("pid {} (collate watch)", std::process::id())
        );
        drop(first);
        assert!(
            try_acquire(&path, "collate run")
                .expect("lock file")
                .is_ok(),
            "released on drop"
        );
    }
}
