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
//! [`Stop::on_ctrl_c`], or [`Stop::never`]), so tests drive interrupts without signals.
//!
//! Must not: decide anything about targets.

use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::watch;

/// How long targets in flight may take to finish after the first Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(120);

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
                    std::process::exit(crate::error::exit::INTERRUPTED);
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

/// Whether the run was interrupted.
pub fn interrupted() -> bool {
    LEVEL.get().is_some_and(|rx| *rx.borrow() >= 1)
}

/// Resolves at the first Ctrl-C (never, when none comes or [`install`] was not called).
pub async fn first() {
    let mut rx = level();
    loop {
        if *rx.borrow() >= 1 {
            return;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// The interrupt level a scheduler follows, and the grace it gives targets in flight after
/// the first interrupt: handed in by the command, not read from a global.
#[derive(Debug, Clone)]
pub struct Stop {
    level: watch::Receiver<u8>,
    grace: Duration,
}

impl Stop {
    /// Ctrl-C as [`install`] hears it (never, when it was not installed), with [`GRACE`].
    pub fn on_ctrl_c() -> Stop {
        Stop {
            level: level(),
            grace: GRACE,
        }
    }

    /// A stop that never comes.
    pub fn never() -> Stop {
        let (tx, level) = watch::channel(0u8);
        // A dropped sender reads as "never interrupted": the scheduler stops polling it.
        drop(tx);
        Stop {
            level,
            grace: GRACE,
        }
    }

    /// A stop driven by hand through the returned sender (tests, embedding), with `grace`.
    pub fn channel(grace: Duration) -> (watch::Sender<u8>, Stop) {
        let (tx, level) = watch::channel(0u8);
        (tx, Stop { level, grace })
    }

    /// Whether the first interrupt has come.
    pub fn interrupted(&self) -> bool {
        *self.level.borrow() >= 1
    }

    /// Whether the second interrupt has come: abandon what is in flight.
    pub fn abandoned(&self) -> bool {
        *self.level.borrow() >= 2
    }

    /// How long targets in flight may take to finish after the first interrupt.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// The level's receiver, for the scheduler's select loop.
    pub(crate) fn receiver(&self) -> watch::Receiver<u8> {
        self.level.clone()
    }
}
