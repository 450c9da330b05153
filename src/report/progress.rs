//! Progress while a stage runs: an indicatif bar on stderr when stderr is a terminal, else
//! one plain line per finished target on stderr.
//!
//! The bar's line is drawn from one [`Tally`], read under one lock: `done/total`, a count per
//! outcome (only those that happened), the targets in flight, and an ETA from the observed
//! durations of finished targets ([`eta`]: none before the first one finished). Failed
//! targets, log lines ([`LogWriter`], the process's tracing writer) and notes (the prompt's `note`) are
//! printed above the bar while it is live, never through it.

use crate::core::outcome::{Outcome, Progress, Seen};
use crate::core::targets::Target;
use crate::core::util::humanize;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a progress display counts: the words of its five buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressKind {
    /// created · updated · unchanged · failed · skipped
    Deploy,
    /// create · update · unchanged · blocked · skipped
    Plan,
    /// missing · outdated · current · unreadable · skipped
    Status,
    /// read · (unused) · no log group · unreadable · skipped (`remedy history`: an account
    /// read counts as created, one without the log group as unchanged)
    History,
    /// removed · (unused) · absent · failed · skipped (`remedy remove`)
    Remove,
    /// found · (unused) · absent · unreadable · skipped (`remedy remove` looking first)
    Find,
    /// ready · (unused) · (unused) · fails · skipped (`remedy doctor`)
    Doctor,
    /// connected · updated · unchanged · failed · skipped (`remedy conformity`)
    Conformity,
}

impl ProgressKind {
    fn words(self) -> [&'static str; 5] {
        match self {
            ProgressKind::Deploy => ["created", "updated", "unchanged", "failed", "skipped"],
            ProgressKind::Plan => ["create", "update", "unchanged", "blocked", "skipped"],
            ProgressKind::Status => ["missing", "outdated", "current", "unreadable", "skipped"],
            ProgressKind::History => ["read", "-", "no log group", "unreadable", "skipped"],
            ProgressKind::Remove => ["removed", "-", "absent", "failed", "skipped"],
            ProgressKind::Find => ["found", "-", "absent", "unreadable", "skipped"],
            ProgressKind::Doctor => ["ready", "-", "-", "fails", "skipped"],
            ProgressKind::Conformity => ["connected", "updated", "unchanged", "failed", "skipped"],
        }
    }
}

/// A progress bar on a terminal, else one line per finished target on stderr.
pub fn progress(stage: &str, total: usize, kind: ProgressKind) -> Arc<dyn Progress> {
    progress_of_rollout(stage, total, kind, Vec::new())
}

/// [`progress`] for a stage that `later` stages (targets, concurrency) follow in the same
/// run: the bar also shows the rollout's ETA (gates' waits not counted), as if their targets
/// took what this stage's do (as many stack operations, as long).
pub fn progress_of_rollout(
    stage: &str,
    total: usize,
    kind: ProgressKind,
    later: Vec<(usize, usize)>,
) -> Arc<dyn Progress> {
    if bar_possible() {
        Arc::new(BarProgress::new(stage, total, kind, later))
    } else {
        Arc::new(LineProgress {
            stage: stage.to_owned(),
            total,
            done: AtomicUsize::new(0),
        })
    }
}

/// Whether stderr can show a bar: a terminal that says what it is. indicatif hides bars
/// when `TERM` is unset or `dumb` (and with them what is printed above them): such a
/// terminal gets the lines a pipe gets.
fn bar_possible() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var("TERM").is_ok_and(|term| !term.is_empty() && term != "dumb")
}

/// The bucket an outcome counts in: the index of its word.
fn bucket(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Created => 0,
        Outcome::Updated => 1,
        Outcome::Unchanged => 2,
        Outcome::Failed => 3,
        Outcome::Skipped => 4,
        Outcome::Removed => 0,
        Outcome::Absent => 2,
    }
}

/// Everything a bar shows, kept together so that its numbers always agree.
struct Tally {
    words: [&'static str; 5],
    total: usize,
    counts: [usize; 5],
    /// Targets started and not finished, by account and region, with when they started.
    in_flight: HashMap<(String, String), Instant>,
    /// The most targets in flight at once: the concurrency in use.
    widest: usize,
    /// How long each finished target that had started took besides its stack operation
    /// (all of it without one), sorted.
    overheads: Vec<Duration>,
    /// How long each stack operation took (targets that ran one), sorted.
    stack_times: Vec<Duration>,
    /// The rollout's stages after this one, as (targets, concurrency): the fleet's ETA.
    later: Vec<(usize, usize)>,
}

impl Tally {
    fn new(kind: ProgressKind, total: usize) -> Tally {
        Tally {
            words: kind.words(),
            total,
            counts: [0; 5],
            in_flight: HashMap::new(),
            widest: 0,
            overheads: Vec::new(),
            stack_times: Vec::new(),
            later: Vec::new(),
        }
    }

    fn started(&mut self, account_id: &str, region: &str, now: Instant) {
        self.in_flight
            .insert((account_id.to_owned(), region.to_owned()), now);
        self.widest = self.widest.max(self.in_flight.len());
    }

    fn finished(
        &mut self,
        account_id: &str,
        region: &str,
        outcome: Outcome,
        stack_time: Option<Duration>,
        now: Instant,
    ) {
        self.counts[bucket(outcome)] += 1;
        let key = (account_id.to_owned(), region.to_owned());
        if let Some(since) = self.in_flight.remove(&key) {
            let took = now.saturating_duration_since(since);
            insert_sorted(
                &mut self.overheads,
                took.saturating_sub(stack_time.unwrap_or_default()),
            );
            if let Some(stack_time) = stack_time {
                insert_sorted(&mut self.stack_times, stack_time);
            }
        }
    }

    /// What a target not finished yet is expected to take: the median time besides the
    /// stack operation, plus the median stack time for the share of targets that ran one
    /// (a stage of creates waits for a stack per target; a no-op re-run for none). `None`
    /// before the first target finished.
    fn expected(&self) -> Option<Duration> {
        let overhead = median(&self.overheads)?;
        let stack = median(&self.stack_times).unwrap_or_default();
        let share = self.stack_times.len() as f64 / self.overheads.len().max(1) as f64;
        Some(overhead + stack.mul_f64(share))
    }

    fn done(&self) -> usize {
        self.counts.iter().sum()
    }

    /// "6/16 · created 3 · unchanged 1 · skipped 2 · 4 in flight · ETA 1m20s"
    fn line(&self, now: Instant) -> String {
        let mut parts = vec![format!("{}/{}", self.done(), self.total)];
        for (word, n) in self.words.iter().zip(self.counts) {
            if n > 0 {
                parts.push(format!("{word} {n}"));
            }
        }
        if !self.in_flight.is_empty() {
            parts.push(format!("{} in flight", self.in_flight.len()));
        }
        let running: Vec<Duration> = self
            .in_flight
            .values()
            .map(|since| now.saturating_duration_since(*since))
            .collect();
        let pending = self.total.saturating_sub(self.done() + running.len());
        let expected = self.expected();
        let left = eta(pending, &running, self.widest, expected);
        if let Some(left) = left {
            parts.push(format!("ETA {}", humanize(left)));
        }
        if let (Some(expected), false) = (expected, self.later.is_empty()) {
            let after: Duration = self
                .later
                .iter()
                .map(|(targets, concurrency)| {
                    let waves = targets.div_ceil((*concurrency).max(1));
                    expected * u32::try_from(waves).unwrap_or(u32::MAX)
                })
                .sum();
            parts.push(format!(
                "rollout ETA {}",
                humanize(left.unwrap_or_default() + after)
            ));
        }
        parts.join(" · ")
    }
}

/// The time left: `pending` targets not started, `running` (how long each target in flight
/// has run so far), `width` targets at once (the concurrency in use), each expected to take
/// `expected` ([`Tally::expected`]). In-flight targets end at their expected time (those
/// already past it, at once); pending ones take the next free slot. `None` without data
/// (nothing finished yet), with nothing left, or when only overdue targets are left: no
/// guess is better than `0s`. Rounded up to whole seconds.
pub(crate) fn eta(
    pending: usize,
    running: &[Duration],
    width: usize,
    expected: Option<Duration>,
) -> Option<Duration> {
    let median = expected?;
    // When each slot is free again, seen from now.
    let mut slots: Vec<Duration> = running
        .iter()
        .map(|ran| median.saturating_sub(*ran))
        .collect();
    let width = width.max(running.len()).max(1);
    slots.resize(width, Duration::ZERO);
    for _ in 0..pending {
        let Some(earliest) = slots.iter_mut().min() else {
            break;
        };
        *earliest += median;
    }
    let left = slots.into_iter().max().unwrap_or_default();
    if left.is_zero() {
        return None;
    }
    Some(Duration::from_secs(
        left.as_secs() + u64::from(left.subsec_nanos() > 0),
    ))
}

/// The median of sorted durations, as the report computes it (nearest rank).
fn median(sorted: &[Duration]) -> Option<Duration> {
    crate::core::pace::quantile(sorted, 0.5)
}

/// Adds `value` to `sorted`, keeping it sorted (the bar reads medians on every redraw).
fn insert_sorted(sorted: &mut Vec<Duration>, value: Duration) {
    let at = sorted.partition_point(|d| *d <= value);
    sorted.insert(at, value);
}

fn locked(tally: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    // A panic while holding it leaves plain counts behind: still worth showing.
    tally
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct BarProgress {
    bar: ProgressBar,
    tally: Arc<Mutex<Tally>>,
    /// Its registration as the live bar ([`LIVE`]).
    id: u64,
}

impl BarProgress {
    fn new(
        stage: &str,
        total: usize,
        kind: ProgressKind,
        later: Vec<(usize, usize)>,
    ) -> BarProgress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let tally = Arc::new(Mutex::new(Tally {
            later,
            ..Tally::new(kind, total)
        }));
        // The whole status is drawn from the tally under its lock (never a bar call while
        // holding it: the bar draws under its own lock and then takes this one).
        let shown = tally.clone();
        let status = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
            let line = locked(&shown).line(Instant::now());
            let _ = w.write_str(&line);
        };
        let style =
            ProgressStyle::with_template("{prefix:.bold} [{bar:24.cyan/blue}] {status}  {elapsed}")
                .map(|style| style.with_key("status", status))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(stage.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        let id = live::register(&bar);
        BarProgress { bar, tally, id }
    }
}

impl Progress for BarProgress {
    fn started(&self, target: &Target) {
        locked(&self.tally).started(&target.account.id, &target.region, Instant::now());
        self.bar.tick();
    }

    fn finished(&self, result: &Seen<'_>) {
        let (done, total) = {
            let mut tally = locked(&self.tally);
            tally.finished(
                result.account_id,
                result.region,
                result.outcome,
                result.stack_time,
                Instant::now(),
            );
            (tally.done(), tally.total)
        };
        if result.outcome == Outcome::Failed {
            self.bar.println(format!(
                "  {} {} {}: {}",
                result.word,
                result.account_id,
                result.region,
                result.reason.unwrap_or("")
            ));
        }
        self.bar.set_position(done as u64);
        if done >= total {
            self.bar.finish();
            live::unregister(self.id);
        }
    }
}

impl Drop for BarProgress {
    fn drop(&mut self) {
        live::unregister(self.id);
        if !self.bar.is_finished() {
            // Left as last drawn (a stage that ended early); later output goes below it.
            self.bar.abandon();
        }
    }
}

/// The bar on screen, if any: where log lines and notes go while it is live.
mod live {
    use indicatif::ProgressBar;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, MutexGuard};

    static LIVE: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);
    static NEXT: AtomicU64 = AtomicU64::new(1);

    fn slot() -> MutexGuard<'static, Option<(u64, ProgressBar)>> {
        LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn register(bar: &ProgressBar) -> u64 {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        *slot() = Some((id, bar.clone()));
        id
    }

    pub(super) fn unregister(id: u64) {
        let mut slot = slot();
        if slot.as_ref().is_some_and(|(live, _)| *live == id) {
            *slot = None;
        }
    }

    pub(super) fn bar() -> Option<ProgressBar> {
        slot()
            .as_ref()
            .map(|(_, bar)| bar.clone())
            .filter(|bar| !bar.is_finished())
    }
}

/// Writes `bytes` to stderr: above the live bar (hidden, written, drawn again), or plainly.
/// Notes (the prompt's `note`) and log lines go through here.
pub(super) fn to_stderr(bytes: &[u8]) {
    let write = || {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(bytes);
        let _ = err.flush();
    };
    match live::bar() {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// The process's tracing writer: each event's line goes to stderr whole, above the bar
/// while one is live, so that a WARN never breaks it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

/// One event's bytes, written at once when the event is done.
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            to_stderr(&self.0);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
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

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn each_outcome_counts_in_its_own_bucket_and_the_position_is_their_sum() {
        let now = Instant::now();
        let mut tally = Tally::new(ProgressKind::Deploy, 16);
        for (i, outcome) in [
            Outcome::Created,
            Outcome::Failed,
            Outcome::Skipped,
            Outcome::Skipped,
            Outcome::Unchanged,
        ]
        .into_iter()
        .enumerate()
        {
            tally.finished(&format!("{i:012}"), "us-east-1", outcome, None, now);
        }
        assert_eq!(tally.done(), 5);
        assert_eq!(
            tally.line(now),
            "5/16 · created 1 · unchanged 1 · failed 1 · skipped 2"
        );
        let mut plan = Tally::new(ProgressKind::Plan, 2);
        plan.finished("1", "r", Outcome::Failed, None, now);
        assert_eq!(plan.line(now), "1/2 · blocked 1");
    }

    #[test]
    fn the_line_shows_the_targets_in_flight_and_an_eta_only_once_one_finished() {
        let t0 = Instant::now();
        let mut tally = Tally::new(ProgressKind::Deploy, 6);
        tally.started("a", "r", t0);
        tally.started("b", "r", t0);
        assert_eq!(
            tally.line(t0 + S(3)),
            "0/6 · 2 in flight",
            "no data: no ETA"
        );
        tally.finished("a", "r", Outcome::Created, None, t0 + S(10));
        tally.started("c", "r", t0 + S(10));
        // b has run 10 s of an expected 10: its slot is free now; c's in 10 s. The three
        // pending take the next free slot: d 0-10 s, e 10-20 s, f 10-20 s: 20 s.
        assert_eq!(
            tally.line(t0 + S(10)),
            "1/6 · created 1 · 2 in flight · ETA 20s"
        );
        // A target never started (skipped) is not in flight and has no duration.
        tally.finished("z", "r", Outcome::Skipped, None, t0 + S(11));
        assert_eq!(tally.overheads.len(), 1);
        assert_eq!(tally.in_flight.len(), 2);
    }

    #[test]
    fn the_eta_is_waves_of_the_expected_duration_over_the_concurrency_in_use() {
        // Nothing observed: no ETA.
        assert_eq!(eta(10, &[], 4, None), None);
        // 8 pending, 4 at once, 60 s each, nothing running: 2 waves.
        assert_eq!(eta(8, &[], 4, Some(S(60))), Some(S(120)));
        // ceil(9 / 4) = 3 waves.
        assert_eq!(eta(9, &[], 4, Some(S(60))), Some(S(180)));
        // Running targets count what they have left.
        assert_eq!(eta(0, &[S(20), S(50)], 2, Some(S(60))), Some(S(40)));
        // Sub-second durations round up: never `0s`.
        assert_eq!(eta(1, &[], 1, Some(Duration::from_millis(300))), Some(S(1)));
        // Only overdue targets left: no guess.
        assert_eq!(eta(0, &[S(90)], 1, Some(S(60))), None);
        // Nothing left.
        assert_eq!(eta(0, &[], 4, Some(S(60))), None);
        // A width of 0 (nothing started yet) is one at a time.
        assert_eq!(eta(3, &[], 0, Some(S(5))), Some(S(15)));
    }

    #[test]
    fn a_target_is_expected_to_take_its_overhead_and_the_share_of_stack_time() {
        let t0 = Instant::now();
        let mut tally = Tally::new(ProgressKind::Deploy, 10);
        assert_eq!(tally.expected(), None);
        // Two creates of 92 s (90 s of stack, 2 s around it) and two no-ops of 2 s: half of
        // the targets run a stack: 2 s + 90 s / 2.
        for (id, stack) in [
            ("a", Some(S(90))),
            ("b", Some(S(90))),
            ("c", None),
            ("d", None),
        ] {
            tally.started(id, "r", t0);
            let took = S(2) + stack.unwrap_or_default();
            tally.finished(id, "r", Outcome::Created, stack, t0 + took);
        }
        assert_eq!(tally.expected(), Some(S(47)));
        // The median, not the mean: one slow outlier does not make it 32 years.
        let mut odd = Tally::new(ProgressKind::Deploy, 10);
        for (id, took) in [("a", S(10)), ("b", S(12)), ("c", S(1_000_000_000))] {
            odd.started(id, "r", t0);
            odd.finished(id, "r", Outcome::Unchanged, None, t0 + took);
        }
        assert_eq!(odd.expected(), Some(S(12)));
    }

    #[test]
    fn a_rollout_adds_the_waves_of_the_stages_after_this_one() {
        let t0 = Instant::now();
        let mut tally = Tally {
            later: vec![(100, 16), (10, 64)],
            ..Tally::new(ProgressKind::Deploy, 2)
        };
        tally.started("a", "r", t0);
        tally.started("b", "r", t0);
        tally.finished("a", "r", Outcome::Created, Some(S(58)), t0 + S(60));
        // b has 60 s left of its 60; then ceil(100/16) = 7 waves and 1 wave of 60 s.
        assert_eq!(
            tally.line(t0 + S(60)),
            "1/2 · created 1 · 1 in flight · rollout ETA 8m"
        );
        // Both done (overheads 2 s and 3 s: the median is the lower, as the report takes
        // it; 60 s expected): the later stages' 8 waves.
        tally.finished("b", "r", Outcome::Created, Some(S(58)), t0 + S(61));
        assert_eq!(tally.line(t0 + S(61)), "2/2 · created 2 · rollout ETA 8m");
    }

    #[test]
    fn a_log_line_is_written_whole_when_its_event_ends() {
        use tracing_subscriber::fmt::MakeWriter;
        let mut line = LogWriter.make_writer();
        line.write_all(b"  WARN remedy: ").unwrap();
        line.write_all(b"waiting\n").unwrap();
        assert_eq!(line.0, b"  WARN remedy: waiting\n");
        line.0.clear(); // dropped without writing to the test's stderr
    }
}
