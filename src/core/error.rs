//! The tool's error type and its mapping to exit codes (README.md, "Run it").
//!
//! Per-target failures are *not* errors: the engines return them as results so that one
//! account's failure never hides another's. An [`Error`] ends the command.

use std::fmt;

/// The exit codes the README lists.
pub(crate) mod exit {
    pub(crate) const OK: i32 = 0;
    pub(crate) const FAILED: i32 = 1;
    pub(crate) const INVALID_INPUT: i32 = 2;
    pub(crate) const AWAITING_APPROVAL: i32 = 3;
    /// Declined at a confirmation prompt: nothing deployed, nothing failed.
    pub(crate) const DECLINED: i32 = 4;
    /// Stopped by Ctrl-C (128 + SIGINT).
    pub(crate) const INTERRUPTED: i32 = 130;
}

#[derive(Debug)]
pub enum Error {
    /// Invalid input (CLI, config, event): exit 2, reported before any AWS call where it can
    /// be known without one.
    Input(String),
    /// Something the command needed failed (AWS, the file system): exit 1.
    Failed(String),
    /// Stopped by Ctrl-C before anything was deployed: exit 130.
    Interrupted(String),
}

impl Error {
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => exit::INVALID_INPUT,
            Error::Failed(_) => exit::FAILED,
            Error::Interrupted(_) => exit::INTERRUPTED,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(m) | Error::Failed(m) | Error::Interrupted(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
