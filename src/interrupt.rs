//! Ctrl-C (SIGINT) during a run, as the level of the [`Stop`] that [`install`] returns:
//!
//! 1. The first stops new targets from starting: those in flight get [`GRACE`] to finish and
//!    be reported, except a target only waiting for another operation's stack, which stops
//!    waiting at once (reported `skipped`: nothing of ours was started on it); the rest are
//!    reported `skipped` ("not started: interrupted"), the partial report is printed and
//!    written (status `interrupted` when no target failed), and the exit code is 130. A question on the terminal
//!    is answered "no" and the command ends with 130.
//! 2. The second abandons the targets in flight at once (reported failed, "interrupted in
//!    flight"); the report is still printed and written.
//! 3. The third exits at once, with no report.
//!
//! After any of them, or a SIGKILL, the next run converges: a stack left in progress is
//! waited for, as any stack another operation holds.
//!
//! Nothing reads this listener directly: `cli::main` installs it and hands the [`Stop`] it
//! returns to the command (the others get [`Stop::never`]), which hands it on to the session,
//! the scheduler and the engines; tests drive interrupts without signals. No global holds
//! the level.
//!
//! Must not: decide anything about targets.

use crate::core::stop::{Stop, GRACE};
use tokio::sync::watch;

/// Listens for Ctrl-C for the rest of the process; the returned [`Stop`] follows it. Each
/// interrupt is said through `note` (the caller's: above a progress bar while one is live).
/// Call once, inside the runtime (the listener is a task).
pub(crate) fn install(note: fn(&str)) -> Stop {
    let (tx, rx) = watch::channel(0u8);
    tokio::spawn(async move {
        let mut level = 0u8;
        while tokio::signal::ctrl_c().await.is_ok() {
            level += 1;
            match level {
                1 => note(&format!(
                    "interrupted: no new target starts; those in flight get up to {}s to finish, a target only waiting for another operation's stack stops now (Ctrl-C again to abandon them all)",
                    GRACE.as_secs()
                )),
                2 => note(
                    "abandoning the targets in flight (their stacks may still change; the next run waits for them); Ctrl-C again to exit without a report"
                ),
                _ => {
                    note("exiting without a report");
                    std::process::exit(crate::core::error::exit::INTERRUPTED);
                }
            }
            let _ = tx.send(level);
        }
    });
    Stop::from_level(rx, GRACE)
}
