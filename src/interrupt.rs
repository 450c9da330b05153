//! Ctrl-C (SIGINT) during a run. The first stops new targets from starting: those in flight
//! get [`GRACE`] to finish and be reported, the rest are reported `skipped` ("not started:
//! interrupted"), the partial report is printed and written, and the exit code is 130. The
//! second abandons the run at once (exit 130). After either, the next run converges: a stack
//! left in progress is waited for, as any stack another operation holds.
//!
//! Must not: decide anything about targets; the runner reads [`stopped`].

use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::watch;

/// How long targets in flight may take to finish after the first Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(120);

static STOP: OnceLock<watch::Receiver<bool>> = OnceLock::new();

/// Listens for Ctrl-C for the rest of the process (once; later calls do nothing).
pub fn install() {
    let (tx, rx) = watch::channel(false);
    if STOP.set(rx).is_err() {
        return;
    }
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "\ninterrupted: no new target starts; those in flight get up to {}s to finish (Ctrl-C again to abandon them)",
            GRACE.as_secs()
        );
        let _ = tx.send(true);
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nabandoned: targets in flight are left as they are; the next run waits for them"
            );
            std::process::exit(crate::error::exit::INTERRUPTED);
        }
    });
}

/// A receiver that turns `true` on the first Ctrl-C (never, when [`install`] was not called).
pub fn stopped() -> watch::Receiver<bool> {
    match STOP.get() {
        Some(rx) => rx.clone(),
        None => {
            // Keep the sender alive forever: a dropped sender would wake the runner.
            static NEVER: OnceLock<(watch::Sender<bool>, watch::Receiver<bool>)> = OnceLock::new();
            NEVER.get_or_init(|| watch::channel(false)).1.clone()
        }
    }
}

/// Whether the run was interrupted.
pub fn interrupted() -> bool {
    STOP.get().is_some_and(|rx| *rx.borrow())
}
