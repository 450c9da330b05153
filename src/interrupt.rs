//! Ctrl-C (SIGINT) during a run, as a level the runner follows ([`level`]):
//!
//! 1. The first stops new targets from starting: those in flight get [`GRACE`] to finish and
//!    be reported, the rest are reported `skipped` ("not started: interrupted"), the partial
//!    report is printed and written, and the exit code is 130. A question on the terminal
//!    is answered "no" and the command ends with 130.
//! 2. The second abandons the targets in flight at once (reported failed, "interrupted in
//!    flight"); the report is still printed and written.
//! 3. The third exits at once, with no report.
//!
//! After any of them, or a SIGKILL, the next run converges: a stack left in progress is
//! waited for, as any stack another operation holds.
//!
//! The scheduler does not read this listener: the command hands it a [`Stop`] (from
//! [`stop`], or [`Stop::never`]), so tests drive interrupts without signals.
//!
//! Must not: decide anything about targets.

use crate::core::stop::{Stop, GRACE};
use std::sync::OnceLock;
use tokio::sync::watch;

static LEVEL: OnceLock<watch::Receiver<u8>> = OnceLock::new();

/// Listens for Ctrl-C for the rest of the process (once; later calls do nothing).
pub fn install() {
    let (tx, rx) = watch::channel(0u8);
    if LEVEL.set(rx).is_err() {
        return;
    }
    tokio::spawn(async move {
        let mut level = 0u8;
        while tokio::signal::ctrl_c().await.is_ok() {
            level += 1;
            match level {
                1 => eprintln!(
                    "\ninterrupted: no new target starts; those in flight get up to {}s to finish (Ctrl-C again to abandon them)",
                    GRACE.as_secs()
                ),
                2 => eprintln!(
                    "\nabandoning the targets in flight (their stacks may still change; the next run waits for them); Ctrl-C again to exit without a report"
                ),
                _ => {
                    eprintln!("\nexiting without a report");
                    std::process::exit(crate::core::error::exit::INTERRUPTED);
                }
            }
            let _ = tx.send(level);
        }
    });
}

/// The interrupt level: 0 until the first Ctrl-C (and for ever when [`install`] was not
/// called).
pub fn level() -> watch::Receiver<u8> {
    match LEVEL.get() {
        Some(rx) => rx.clone(),
        None => {
            // Keep a sender alive for ever: a closed channel is read as "never".
            static NEVER: OnceLock<(watch::Sender<u8>, watch::Receiver<u8>)> = OnceLock::new();
            NEVER.get_or_init(|| watch::channel(0)).1.clone()
        }
    }
}

/// Ctrl-C as [`install`] hears it (never, when it was not installed), with [`GRACE`].
pub fn stop() -> Stop {
    Stop::from_level(level(), GRACE)
}
