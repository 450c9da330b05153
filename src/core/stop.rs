//! Ctrl-C as a value: the interrupt level a scheduler and the engines follow, and the grace
//! targets in flight get after the first interrupt. The command hands it in (the listener
//! is the interrupt module's, at the top); tests drive it by hand through [`Stop::channel`].
//!
//! Must not: listen for signals.

use std::time::Duration;
use tokio::sync::watch;

/// How long targets in flight may take to finish after the first Ctrl-C.
pub(crate) const GRACE: Duration = Duration::from_secs(120);

/// The interrupt level a scheduler follows, and the grace it gives targets in flight after
/// the first interrupt: handed in by the command, not read from a global.
#[derive(Debug, Clone)]
pub struct Stop {
    level: watch::Receiver<u8>,
    grace: Duration,
}

impl Stop {
    /// A stop following `level` (0 none, 1 stop starting, 2 abandon), with `grace`.
    pub(crate) fn from_level(level: watch::Receiver<u8>, grace: Duration) -> Stop {
        Stop { level, grace }
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
    #[cfg(test)]
    pub(crate) fn channel(grace: Duration) -> (watch::Sender<u8>, Stop) {
        let (tx, level) = watch::channel(0u8);
        (tx, Stop { level, grace })
    }

    /// Whether the first interrupt has come.
    pub(crate) fn interrupted(&self) -> bool {
        *self.level.borrow() >= 1
    }

    /// Whether the second interrupt has come: abandon what is in flight.
    pub(crate) fn abandoned(&self) -> bool {
        *self.level.borrow() >= 2
    }

    /// How long targets in flight may take to finish after the first interrupt.
    pub(crate) fn grace(&self) -> Duration {
        self.grace
    }

    /// The level's receiver, for the scheduler's select loop.
    pub(crate) fn receiver(&self) -> watch::Receiver<u8> {
        self.level.clone()
    }

    /// Resolves at the first interrupt (never, when none comes or nobody can send one).
    pub(crate) async fn first(&self) {
        let mut rx = self.level.clone();
        loop {
            if *rx.borrow() >= 1 {
                return;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}
