//! Running one stage's targets: bounded concurrency and failure tolerance.
//!
//! Targets (one per account, in its home region: [`crate::core::targets::at_home`]) start in
//! order, at most `concurrency` at once, each on its own tokio task. Once more than `failure_tolerance` have
//! failed, no new target starts: the rest are `skipped` with that reason, while those in
//! flight finish and are reported. Every target ends with exactly one [`TargetResult`], in
//! target order, whatever happened to the others (a panicking task becomes a `failed`
//! result, not a lost one).
//!
//! Must not: know how a target is deployed (that is the engine passed in), or how results
//! are shown (that is `report`'s, through the [`Progress`] observer).

use crate::core::outcome::{Outcome, Progress, Run, Seen, TargetResult};
use crate::core::stop::Stop;
use crate::core::targets::Target;
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A stage's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Targets in flight at once (at least 1).
    pub concurrency: usize,
    /// Failures allowed before no new target starts.
    pub failure_tolerance: usize,
}

impl Limits {
    /// A stage's limits for what writes (deploy, onboard).
    pub fn of_stage(stage: &crate::core::config::Stage) -> Limits {
        Limits {
            concurrency: stage.concurrency.0,
            failure_tolerance: stage.failure_tolerance,
        }
    }

    /// A stage's limits for what only reads (plan, status, a gate's preview): the same
    /// concurrency, and no failure tolerance, since a target that cannot
    /// be read harms nothing and the operator wants to see every one.
    pub fn reads_of(stage: &crate::core::config::Stage) -> Limits {
        Limits {
            failure_tolerance: usize::MAX,
            ..Limits::of_stage(stage)
        }
    }
}

/// What the scheduler needs of the result of one target, for every command that runs
/// targets (deploy's [`TargetResult`], plan's and status's rows).
pub trait Scheduled: Send + 'static {
    /// Counts against the stage's failure tolerance.
    fn counts_as_failure(&self) -> bool;
    /// What progress shows of it.
    fn seen(&self) -> Seen<'_>;
    /// The result of a target that did not finish: `Skipped` (never started) or `Failed`
    /// (abandoned in flight, or its task panicked), with the reason.
    fn unfinished(target: &Target, outcome: Outcome, reason: String) -> Self;
}

impl Scheduled for TargetResult {
    fn counts_as_failure(&self) -> bool {
        self.outcome == Outcome::Failed
    }

    fn seen(&self) -> Seen<'_> {
        Seen {
            account_id: &self.account_id,
            region: &self.region,
            outcome: self.outcome,
            word: self.outcome.as_str(),
            stack_status: self.stack_status.as_deref(),
            reason: self.reason.as_deref(),
            stack_time: self.stack_time,
        }
    }

    fn unfinished(target: &Target, outcome: Outcome, reason: String) -> Self {
        match outcome {
            Outcome::Skipped => TargetResult::not_started(target, reason),
            _ => TargetResult::new(target, outcome, None, Some(reason)),
        }
    }
}

/// The one scheduler: runs `work` for every target under `limits`, following `stop` (see
/// `core::stop`): at the first interrupt no new target starts and those in flight
/// get the stop's grace to finish; at the second (or after the grace) they are abandoned and
/// reported failed, as interrupted in flight. Deploy, plan, status and the rollout gate's
/// preview all run through here, so concurrency, tolerance and Ctrl-C
/// mean the same everywhere.
pub async fn run_each<R, F, Fut>(
    targets: Vec<Target>,
    limits: Limits,
    progress: Arc<dyn Progress>,
    stop: &Stop,
    work: F,
) -> Run<R>
where
    R: Scheduled,
    F: Fn(Target) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let grace = stop.grace();
    let mut stop = stop.receiver();
    let failure_tolerance = limits.failure_tolerance;
    let permits = Arc::new(Semaphore::new(limits.concurrency.max(1)));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    let mut results: Vec<Option<R>> = targets.iter().map(|_| None).collect();
    let mut pending = targets.clone();
    pending.reverse();

    let mut index = 0;
    let mut watch = StopWatch::new(&mut stop);
    let mut started = vec![false; targets.len()];
    while let Some(target) = pending.pop() {
        if watch.interrupted() {
            pending.push(target);
            break;
        }
        // Wait for a slot, collecting finished tasks meanwhile so failures are counted
        // before the next target is allowed to start.
        let permit = loop {
            tokio::select! {
                biased;
                () = watch.stopped(), if !watch.interrupted() => {
                    break None;
                }
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    store(joined, &mut results, &failures, &*progress);
                }
                permit = permits.clone().acquire_owned() => {
                    break Some(permit);
                }
            }
        };
        let Some(permit) = permit else {
            pending.push(target);
            break;
        };
        // The semaphore is never closed, so acquiring cannot fail; if it did, starting no
        // more targets (they are reported as not started) is the safe answer.
        let Ok(permit) = permit else {
            pending.push(target);
            break;
        };
        if failures.load(Ordering::SeqCst) > failure_tolerance {
            drop(permit);
            pending.push(target);
            break;
        }
        progress.started(&target);
        let run = work(target.clone());
        let i = index;
        started[i] = true;
        tasks.spawn(async move {
            // A panicking engine is a bug, but it must not lose the target's result.
            let result = AssertUnwindSafe(run)
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    let reason = "internal error: the engine panicked (see the log)".to_owned();
                    R::unfinished(&target, Outcome::Failed, reason)
                });
            // The permit goes back with the result: it is released only once the runner has
            // counted this result, so no target can start in between.
            (i, result, permit)
        });
        index += 1;
    }
    // Those in flight finish; after an interrupt they get the grace period, and a second
    // interrupt (or the end of the grace) abandons them to CloudFormation.
    let mut grace_ends: Option<tokio::time::Instant> = watch
        .interrupted()
        .then(|| tokio::time::Instant::now() + grace);
    loop {
        let deadline = grace_ends.unwrap_or_else(|| tokio::time::Instant::now() + FAR);
        tokio::select! {
            biased;
            () = watch.stopped(), if !watch.abandoned() => {
                if grace_ends.is_none() {
                    grace_ends = Some(tokio::time::Instant::now() + grace);
                }
                if watch.abandoned() {
                    tasks.abort_all();
                }
            }
            () = tokio::time::sleep_until(deadline), if grace_ends.is_some() => {
                tasks.abort_all();
                grace_ends = None;
            }
            joined = tasks.join_next() => match joined {
                Some(joined) => store(joined, &mut results, &failures, &*progress),
                None => break,
            },
        }
    }
    let interrupted = watch.interrupted();

    let failed = failures.load(Ordering::SeqCst);
    let tolerance_exceeded = failed > failure_tolerance;
    let not_started_reason = if interrupted {
        "not started: the run was interrupted (Ctrl-C)".to_owned()
    } else {
        format!(
            "not started: the stage stopped after {failed} failure(s) (failure_tolerance {failure_tolerance})"
        )
    };
    let results = results
        .into_iter()
        .zip(&targets)
        .zip(started)
        .map(|((result, target), started)| {
            result.unwrap_or_else(|| {
                let unfinished = if started {
                    R::unfinished(
                        target,
                        Outcome::Failed,
                        format!(
                            "interrupted in flight: abandoned after Ctrl-C (a second one, or {}s of grace); its stack may still be changing (the next run waits for it)",
                            grace.as_secs()
                        ),
                    )
                } else {
                    R::unfinished(target, Outcome::Skipped, not_started_reason.clone())
                };
                progress.finished(&unfinished.seen());
                unfinished
            })
        })
        .collect();
    Run {
        results,
        tolerance_exceeded,
        interrupted,
    }
}

/// Far enough to mean "no deadline" in a select.
const FAR: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// The interrupt level as the scheduler follows it. A closed channel (no listener) reads as
/// "never interrupted" and is not polled again.
struct StopWatch<'a> {
    rx: &'a mut tokio::sync::watch::Receiver<u8>,
    level: u8,
    closed: bool,
}

impl<'a> StopWatch<'a> {
    fn new(rx: &'a mut tokio::sync::watch::Receiver<u8>) -> StopWatch<'a> {
        let level = *rx.borrow();
        StopWatch {
            rx,
            level,
            closed: false,
        }
    }

    fn interrupted(&self) -> bool {
        self.level >= 1
    }

    fn abandoned(&self) -> bool {
        self.level >= 2
    }

    /// Resolves when the level changes; never, once the channel is closed.
    async fn stopped(&mut self) {
        if self.closed {
            return std::future::pending().await;
        }
        match self.rx.changed().await {
            Ok(()) => self.level = *self.rx.borrow(),
            Err(_) => {
                self.closed = true;
                std::future::pending::<()>().await
            }
        }
    }
}

fn store<R: Scheduled>(
    joined: Result<(usize, R, tokio::sync::OwnedSemaphorePermit), tokio::task::JoinError>,
    results: &mut [Option<R>],
    failures: &AtomicUsize,
    progress: &dyn Progress,
) {
    // Tasks catch their own panics and are aborted only after an interrupt's grace period, so
    // a JoinError carries no result; the target is then reported below from what is known.
    let Ok((i, result, permit)) = joined else {
        return;
    };
    if result.counts_as_failure() {
        failures.fetch_add(1, Ordering::SeqCst);
    }
    progress.finished(&result.seen());
    results[i] = Some(result);
    drop(permit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outcome::StageRun;
    use crate::core::targets::TargetAccount;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<String>>);
    impl Progress for Recorder {
        fn started(&self, t: &Target) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{}:started", t.account.id));
        }

        fn finished(&self, r: &Seen<'_>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{}:{}", r.account_id, r.word));
        }
    }

    fn targets(n: usize) -> Vec<Target> {
        (0..n)
            .map(|i| Target {
                account: TargetAccount {
                    id: format!("{i:012}"),
                    name: format!("a{i}"),
                    ou_path: "/".into(),
                },
                region: "us-east-1".into(),
            })
            .collect()
    }

    async fn run(
        n: usize,
        concurrency: usize,
        tolerance: usize,
        failing: &'static [usize],
    ) -> (StageRun, usize) {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let progress = Arc::new(Recorder(Mutex::new(Vec::new())));
        let limits = Limits {
            concurrency,
            failure_tolerance: tolerance,
        };
        let run = run_each(targets(n), limits, progress.clone(), &Stop::never(), |t| {
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let i: usize = t.account.id.parse().unwrap();
                let outcome = if failing.contains(&i) {
                    Outcome::Failed
                } else {
                    Outcome::Created
                };
                TargetResult::new(&t, outcome, None, None)
            }
        })
        .await;
        let seen = progress.0.lock().unwrap();
        let finished = seen.iter().filter(|s| !s.ends_with(":started")).count();
        assert_eq!(finished, n, "every target reported once");
        // Every target that ran was started before it finished; none started twice.
        for r in &run.results {
            let started = seen
                .iter()
                .position(|s| *s == format!("{}:started", r.account_id));
            let done = seen
                .iter()
                .position(|s| *s == format!("{}:{}", r.account_id, r.outcome.as_str()));
            match r.outcome {
                Outcome::Skipped => assert_eq!(started, None, "{r:?} never ran"),
                _ => assert!(started.is_some() && started < done, "{r:?}: {seen:?}"),
            }
            assert_eq!(r.not_started, r.outcome == Outcome::Skipped);
        }
        drop(seen);
        (run, peak.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn all_targets_run_within_concurrency() {
        let (run, peak) = run(20, 4, 0, &[]).await;
        assert_eq!(run.count(Outcome::Created), 20);
        assert!((2..=4).contains(&peak), "peak {peak}");
        assert!(!run.tolerance_exceeded);
        let ids: Vec<usize> = run
            .results
            .iter()
            .map(|r| r.account_id.parse().unwrap())
            .collect();
        assert_eq!(ids, (0..20).collect::<Vec<_>>(), "results in target order");
    }

    #[tokio::test]
    async fn failures_past_tolerance_stop_new_targets() {
        let (run, _) = run(20, 1, 0, &[2]).await;
        assert!(run.tolerance_exceeded);
        assert_eq!(run.count(Outcome::Created), 2);
        assert_eq!(run.count(Outcome::Failed), 1);
        assert_eq!(run.count(Outcome::Skipped), 17);
        assert!(run.results[3]
            .reason
            .as_deref()
            .unwrap()
            .contains("failure_tolerance 0"));
    }

    #[tokio::test]
    async fn failures_within_tolerance_let_the_stage_finish() {
        let (run, _) = run(10, 2, 2, &[1, 5]).await;
        assert!(!run.tolerance_exceeded);
        assert_eq!(run.count(Outcome::Failed), 2);
        assert_eq!(run.count(Outcome::Created), 8);
    }

    #[tokio::test]
    async fn an_interrupt_starts_nothing_new_and_lets_those_in_flight_finish() {
        let (tx, stop) = Stop::channel(std::time::Duration::from_millis(200));
        let limits = Limits {
            concurrency: 2,
            failure_tolerance: 0,
        };
        let progress = Arc::new(Recorder(Mutex::new(Vec::new())));
        let tx = Arc::new(tx);
        let run: StageRun = run_each(targets(10), limits, progress.clone(), &stop, |t| {
            let tx = tx.clone();
            async move {
                let i: usize = t.account.id.parse().unwrap();
                if i == 2 {
                    let _ = tx.send(1); // Ctrl-C while targets 2 and 3 are in flight
                }
                // Target 3 outlives the grace period.
                let ms = if i == 3 { 2_000 } else { 20 };
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                TargetResult::new(&t, Outcome::Created, None, None)
            }
        })
        .await;
        assert!(run.interrupted);
        let seen = progress.0.lock().unwrap().clone();
        let (started, finished): (Vec<&String>, Vec<&String>) =
            seen.iter().partition(|s| s.ends_with(":started"));
        assert_eq!(finished.len(), 10, "every target reported once: {seen:?}");
        assert_eq!(started.len(), 4, "targets 0 to 3 ran: {seen:?}");
        assert!(run.results[4..].iter().all(|r| r.not_started));
        assert!(run.results[..4].iter().all(|r| !r.not_started));
        let outcomes: Vec<Outcome> = run.results.iter().map(|r| r.outcome).collect();
        assert_eq!(&outcomes[..3], [Outcome::Created; 3]);
        assert_eq!(outcomes[3], Outcome::Failed, "{:?}", run.results[3]);
        assert!(run.results[3]
            .reason
            .as_deref()
            .unwrap()
            .contains("interrupted in flight"));
        assert!(outcomes[4..].iter().all(|o| *o == Outcome::Skipped));
        assert!(run.results[9]
            .reason
            .as_deref()
            .unwrap()
            .contains("interrupted (Ctrl-C)"));
    }

    #[tokio::test]
    async fn an_interrupt_after_every_target_started_abandons_them_after_the_grace() {
        let (tx, stop) = Stop::channel(std::time::Duration::from_millis(200));
        let limits = Limits {
            concurrency: 8,
            failure_tolerance: 0,
        };
        let progress = Arc::new(Recorder(Mutex::new(Vec::new())));
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let _ = tx.send(1);
            tx
        });
        let started = std::time::Instant::now();
        let run: StageRun = run_each(
            targets(4),
            limits,
            progress.clone(),
            &stop,
            |t| async move {
                // All four are in flight when Ctrl-C comes, and would run for 10 s.
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                TargetResult::new(&t, Outcome::Created, None, None)
            },
        )
        .await;
        let _tx = stopper.await.unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the grace bounded it"
        );
        assert!(run.interrupted);
        assert!(run.results.iter().all(|r| r.outcome == Outcome::Failed));
        assert_eq!(progress.0.lock().unwrap().len(), 8, "4 started, 4 finished");
    }
}
