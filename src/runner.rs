//! Running one stage's targets: bounded concurrency and failure tolerance.
//!
//! Targets (account × region) start in order, at most `concurrency` at once, each on its
//! own tokio task. Once more than `failure_tolerance` have failed, no new target starts:
//! the rest are `skipped` with that reason, while those in flight finish and are reported.
//! Every target ends with exactly one [`TargetResult`], in target order, whatever happened
//! to the others (a panicking task becomes a `failed` result, not a lost one).
//!
//! Must not: know how a target is deployed (that is the engine passed in), or how results
//! are shown (that is [`crate::report`], through the [`Progress`] observer).

use crate::targets::TargetAccount;
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// One account in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account: TargetAccount,
    pub region: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed,
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResult {
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub outcome: Outcome,
    pub stack_status: Option<String>,
    pub reason: Option<String>,
}

impl TargetResult {
    pub fn new(
        target: &Target,
        outcome: Outcome,
        stack_status: Option<String>,
        reason: Option<String>,
    ) -> Self {
        TargetResult {
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            outcome,
            stack_status,
            reason,
        }
    }
}

/// Observes a stage while it runs (progress bars, log lines).
pub trait Progress: Send + Sync {
    fn finished(&self, result: &TargetResult);
}

/// The results of a stage, in target order.
#[derive(Debug, Clone)]
pub struct StageRun {
    pub results: Vec<TargetResult>,
    /// More targets failed than the stage tolerates.
    pub tolerance_exceeded: bool,
}

impl StageRun {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// Runs `deploy` for every target under the stage's limits.
pub async fn run_stage<F, Fut>(
    targets: Vec<Target>,
    concurrency: usize,
    failure_tolerance: usize,
    progress: Arc<dyn Progress>,
    deploy: F,
) -> StageRun
where
    F: Fn(Target) -> Fut,
    Fut: Future<Output = TargetResult> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    let mut results: Vec<Option<TargetResult>> = vec![None; targets.len()];
    let mut pending = targets.clone();
    pending.reverse();

    let mut index = 0;
    while let Some(target) = pending.pop() {
        // Wait for a slot, collecting finished tasks meanwhile so failures are counted
        // before the next target is allowed to start.
        let permit = loop {
            tokio::select! {
                biased;
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    store(joined, &mut results, &failures, &*progress);
                }
                permit = permits.clone().acquire_owned() => {
                    break permit;
                }
            }
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
        let run = deploy(target.clone());
        let i = index;
        tasks.spawn(async move {
            // A panicking engine is a bug, but it must not lose the target's result.
            let result = AssertUnwindSafe(run)
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    let reason = "internal error: the engine panicked (see the log)".to_owned();
                    TargetResult::new(&target, Outcome::Failed, None, Some(reason))
                });
            // The permit goes back with the result: it is released only once the runner has
            // counted this result, so no target can start in between.
            (i, result, permit)
        });
        index += 1;
    }
    while let Some(joined) = tasks.join_next().await {
        store(joined, &mut results, &failures, &*progress);
    }

    let failed = failures.load(Ordering::SeqCst);
    let tolerance_exceeded = failed > failure_tolerance;
    let not_started_reason = format!(
        "not started: the stage stopped after {failed} failure(s) (failure_tolerance {failure_tolerance})"
    );
    let results = results
        .into_iter()
        .zip(&targets)
        .map(|(result, target)| {
            result.unwrap_or_else(|| {
                let skipped = TargetResult::new(
                    target,
                    Outcome::Skipped,
                    None,
                    Some(not_started_reason.clone()),
                );
                progress.finished(&skipped);
                skipped
            })
        })
        .collect();
    StageRun {
        results,
        tolerance_exceeded,
    }
}

fn store(
    joined: Result<
        (usize, TargetResult, tokio::sync::OwnedSemaphorePermit),
        tokio::task::JoinError,
    >,
    results: &mut [Option<TargetResult>],
    failures: &AtomicUsize,
    progress: &dyn Progress,
) {
    // Tasks catch their own panics and are never aborted, so a JoinError cannot carry a
    // result; the target then stays without one and is reported below as not started.
    let Ok((i, result, permit)) = joined else {
        return;
    };
    if result.outcome == Outcome::Failed {
        failures.fetch_add(1, Ordering::SeqCst);
    }
    progress.finished(&result);
    results[i] = Some(result);
    drop(permit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<String>>);
    impl Progress for Recorder {
        fn finished(&self, r: &TargetResult) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{}:{}", r.account_id, r.outcome.as_str()));
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
        let run = run_stage(targets(n), concurrency, tolerance, progress.clone(), |t| {
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
        assert_eq!(
            progress.0.lock().unwrap().len(),
            n,
            "every target reported once"
        );
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
}
