//! End-to-end tests: the real `collate` binary on a temporary installation, outputs read back with calamine.

// A harness: a failed expectation is the test failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/hostile.rs"]
mod hostile;
#[path = "../support/install.rs"]
mod install;
#[path = "../support/python.rs"]
mod python;
#[path = "../support/seed_returns.rs"]
mod seed_returns;
#[path = "../support/servers.rs"]
mod servers;

mod support;

mod as_at;
mod bad_files;
mod board;
mod collation;
mod consistency;
mod emails;
mod flags;
mod layout;
mod mailbox;
mod names;
mod plans;
mod quarter;
mod quirks;
mod restated;
mod schemas;
mod sending;
mod templates;
mod untrusted;
mod watch;
