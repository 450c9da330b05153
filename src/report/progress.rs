//! Progress while a stage runs: an indicatif bar on stderr when stderr is a terminal
//! (done/total, the five buckets' counts, elapsed, ETA), else one plain line per finished
//! target on stderr.

use crate::core::outcome::{Outcome, Progress, Seen};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What a progress display counts: the words of its five buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressKind {
    /// created · updated · unchanged · failed · skipped
    Deploy,
    /// create · update · unchanged · blocked · skipped
    Plan,
    /// missing · outdated · current · unreadable · skipped
    Status,
}

impl ProgressKind {
    fn words(self) -> [&'static str; 5] {
        match self {
            ProgressKind::Deploy => ["created", "updated", "unchanged", "failed", "skipped"],
            ProgressKind::Plan => ["create", "update", "unchanged", "blocked", "skipped"],
            ProgressKind::Status => ["missing", "outdated", "current", "unreadable", "skipped"],
        }
    }
}

/// A progress bar on a terminal, else one line per finished target on stderr.
pub fn progress(stage: &str, total: usize, kind: ProgressKind) -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(BarProgress::new(stage, total, kind))
    } else {
        Arc::new(LineProgress {
            stage: stage.to_owned(),
            total,
            done: AtomicUsize::new(0),
        })
    }
}

struct Counts {
    words: [&'static str; 5],
    created: AtomicUsize,
    updated: AtomicUsize,
    unchanged: AtomicUsize,
    failed: AtomicUsize,
    skipped: AtomicUsize,
}

impl Counts {
    fn new(kind: ProgressKind) -> Counts {
        Counts {
            words: kind.words(),
            created: AtomicUsize::new(0),
            updated: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
        }
    }

    fn add(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Created => &self.created,
            Outcome::Updated => &self.updated,
            Outcome::Unchanged => &self.unchanged,
            Outcome::Failed => &self.failed,
            Outcome::Skipped => &self.skipped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The bar's message; the skipped bucket only once a target was skipped.
    fn message(&self) -> String {
        let [created, updated, unchanged, failed, skipped] = self.words;
        let n = |c: &AtomicUsize| c.load(Ordering::Relaxed);
        let mut message = format!(
            "{created} {} · {updated} {} · {unchanged} {} · {failed} {}",
            n(&self.created),
            n(&self.updated),
            n(&self.unchanged),
            n(&self.failed)
        );
        if n(&self.skipped) > 0 {
            message.push_str(&format!(" · {skipped} {}", n(&self.skipped)));
        }
        message
    }
}

struct BarProgress {
    bar: ProgressBar,
    counts: Counts,
}

impl BarProgress {
    fn new(stage: &str, total: usize, kind: ProgressKind) -> BarProgress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>10.bold} [{bar:32.cyan/blue}] {pos}/{len} {msg}  {elapsed_precise} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(stage.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let counts = Counts::new(kind);
        bar.set_message(counts.message());
        BarProgress { bar, counts }
    }
}

impl Progress for BarProgress {
    fn finished(&self, result: &Seen<'_>) {
        self.counts.add(result.outcome);
        self.bar.set_message(self.counts.message());
        self.bar.inc(1);
        if result.outcome == Outcome::Failed {
            self.bar.println(format!(
                "  {} {} {}: {}",
                result.word,
                result.account_id,
                result.region,
                result.reason.unwrap_or("")
            ));
        }
        if self.bar.position() >= self.bar.length().unwrap_or(0) {
            self.bar.finish();
        }
    }
}

struct LineProgress {
    stage: String,
    total: usize,
    done: AtomicUsize,
}

impl Progress for LineProgress {
    fn finished(&self, r: &Seen<'_>) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "[{}] {done}/{} {} {} {}{}{}",
            self.stage,
            self.total,
            r.account_id,
            r.region,
            r.word,
            r.stack_status.map(|s| format!(" {s}")).unwrap_or_default(),
            r.reason.map(|s| format!(": {s}")).unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_counts_skipped_targets_as_skipped_not_failed() {
        let counts = Counts::new(ProgressKind::Deploy);
        counts.add(Outcome::Created);
        counts.add(Outcome::Failed);
        counts.add(Outcome::Skipped);
        counts.add(Outcome::Skipped);
        assert_eq!(
            counts.message(),
            "created 1 · updated 0 · unchanged 0 · failed 1 · skipped 2"
        );
        let plan = Counts::new(ProgressKind::Plan);
        plan.add(Outcome::Failed);
        assert_eq!(
            plan.message(),
            "create 0 · update 0 · unchanged 0 · blocked 1"
        );
    }
}
