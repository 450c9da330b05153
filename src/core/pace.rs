//! When to look at a stack again, and how long stack operations took: plain decisions and
//! figures, no clock and no I/O (the `aws::cfn` waits sleep what [`Schedule`] says; the
//! report and the progress ETA show [`Figures`]).
//!
//! The schedule of one wait. Its first look is immediate (the emulator and a tags-only
//! update are done at once, and the look says which operation runs). Then:
//! - until the run has seen [`LEARN_AFTER`] operations of the same kind settle
//!   (`CREATE_IN_PROGRESS`, `UPDATE_IN_PROGRESS` …): a backoff that starts at 2 s, doubles,
//!   is capped at 20 s and starts over at 2 s whenever the status changes (an update's
//!   `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` says the end is near). A 90-second stack is seen
//!   done at the 8th look: 0, 2, 6, 14, 30, 50, 70, 90 s.
//! - once it has: looks placed at the [`QUANTILES`] of the durations seen so far (an
//!   operation of this template in this run takes about as long as the others), then the
//!   backoff again past the last of them. A 90-second stack among 60–120-second ones is
//!   seen done at the 7th look, 3 s late (~3 s on average over them, against ~10 s for
//!   the backoff alone), at the price of a look or two more for the slowest.
//!
//! Observed durations are estimates: each is the midpoint between the last look that saw
//! the operation running and the look that saw it done (unbiased by the look interval).

use std::time::Duration;

/// The backoff's first wait and its cap (before scaling).
pub const FIRST: Duration = Duration::from_secs(2);
pub const CAP: Duration = Duration::from_secs(20);
/// Observed operations of a kind before the looks follow them.
pub const LEARN_AFTER: usize = 5;
/// Where the learned looks go, as quantiles of the observed durations.
pub const QUANTILES: [f64; 10] = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95];
/// Learned looks closer together than this (before scaling) are merged.
const MIN_GAP: Duration = Duration::from_secs(1);
/// At most this many observations are kept per kind (the latest), so a long run's memory
/// stays flat and the looks follow the template as it is now.
pub const KEEP: usize = 512;

/// The value at quantile `q` (0..=1) of sorted durations, nearest rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The median and the 95th percentile of some durations, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub operations: usize,
    pub median: Duration,
    pub p95: Duration,
}

pub fn figures(samples: &[Duration]) -> Option<Figures> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    Some(Figures {
        operations: sorted.len(),
        median: quantile(&sorted, 0.5)?,
        p95: quantile(&sorted, 0.95)?,
    })
}

/// A stack of the median duration is seen done by this look at the latest (the immediate
/// one counted), learned or not.
pub const MEDIAN_LOOKS: usize = 8;

/// What a wait learns from the operations of its kind seen so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// Where to look (offsets from the start of the wait).
    pub looks: Vec<Duration>,
    /// Their median duration.
    pub median: Duration,
}

/// The learned looks from what `observed` operations of the same kind took; `None` before
/// [`LEARN_AFTER`] of them.
pub fn learned_looks(observed: &[Duration], scale: f64) -> Option<Learned> {
    if observed.len() < LEARN_AFTER {
        return None;
    }
    let mut sorted = observed.to_vec();
    sorted.sort_unstable();
    let median = quantile(&sorted, 0.5)?;
    let gap = MIN_GAP.mul_f64(scale);
    let mut looks: Vec<Duration> = Vec::new();
    for q in QUANTILES {
        let Some(at) = quantile(&sorted, q) else {
            continue;
        };
        match looks.last() {
            Some(last) if at < *last + gap => {}
            _ => looks.push(at),
        }
    }
    Some(Learned { looks, median })
}

/// The waits of one stack wait (see the module's doc).
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Learned looks not yet passed, as offsets from the start.
    looks: Vec<Duration>,
    backoff: Duration,
    first: Duration,
    cap: Duration,
}

impl Schedule {
    /// `learned`: from [`learned_looks`]; `scale` shrinks the backoff's constants (the
    /// latency benchmark compresses time; 1 otherwise).
    pub fn new(learned: Option<Learned>, scale: f64) -> Schedule {
        let first = FIRST.mul_f64(scale);
        let mut looks = learned.map(|l| l.looks).unwrap_or_default();
        looks.reverse();
        Schedule {
            looks,
            backoff: first,
            first,
            cap: CAP.mul_f64(scale),
        }
    }

    /// Takes learned looks in the middle of a wait that began without them, after `looks`
    /// looks at `elapsed`: those still ahead, the ones up to the median's thinned so that
    /// a stack of the median duration is still seen by the [`MEDIAN_LOOKS`]th look.
    pub fn adopt(&mut self, learned: Learned, elapsed: Duration, looks: usize) {
        let ahead: Vec<Duration> = learned
            .looks
            .into_iter()
            .filter(|at| *at > elapsed)
            .collect();
        // The looks up to the first at or past the median, and the rest.
        let split = ahead
            .iter()
            .position(|at| *at >= learned.median)
            .map_or(ahead.len(), |i| i + 1);
        let (before, after) = ahead.split_at(split);
        // At least the median's own look, even past the budget (the backoff would look
        // later still).
        let budget = MEDIAN_LOOKS.saturating_sub(looks).max(1);
        let mut kept: Vec<Duration> = if before.len() <= budget {
            before.to_vec()
        } else {
            // `budget` of them, evenly, the last always kept.
            (1..=budget)
                .map(|i| before[i * before.len() / budget - 1])
                .collect()
        };
        kept.extend_from_slice(after);
        kept.reverse();
        self.looks = kept;
        // Past the learned looks, the backoff starts over, as in a learned wait.
        self.backoff = self.first;
    }

    /// How long to wait before the next look, `elapsed` after the start, when the last look
    /// saw the status change from the one before it (`changed`).
    pub fn next(&mut self, elapsed: Duration, changed: bool) -> Duration {
        if changed {
            // A new phase: its length is not what was learned.
            self.looks.clear();
            self.backoff = self.first;
        }
        while let Some(at) = self.looks.pop() {
            if at > elapsed {
                return at - elapsed;
            }
        }
        let wait = self.backoff;
        self.backoff = (self.backoff * 2).min(self.cap);
        wait
    }
}

/// The look (counted from 1, the immediate one included) at which a wait following `schedule` sees
/// an operation of `length` done, and how late: a model of the waits, without jitter.
pub fn looks_until(mut schedule: Schedule, length: Duration) -> (usize, Duration) {
    let mut at = Duration::ZERO;
    let mut looks = 1;
    while at < length {
        at += schedule.next(at, false);
        looks += 1;
    }
    (looks, at - length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Stack times spread evenly over 60–120 s (the latency model's creates).
    fn spread() -> Vec<Duration> {
        (0..=60).map(|i| secs(60.0 + f64::from(i))).collect()
    }

    #[test]
    fn the_backoff_sees_a_90_second_stack_done_at_the_8th_look() {
        let (looks, late) = looks_until(Schedule::new(None, 1.0), secs(90.0));
        assert_eq!(looks, 8, "0, 2, 6, 14, 30, 50, 70, 90");
        assert_eq!(late, Duration::ZERO);
        let (looks, late) = looks_until(Schedule::new(None, 1.0), secs(91.0));
        assert_eq!((looks, late), (9, secs(19.0)));
    }

    #[test]
    fn the_backoff_starts_over_when_the_status_changes() {
        let mut s = Schedule::new(None, 1.0);
        assert_eq!(s.next(secs(0.0), false), secs(2.0));
        assert_eq!(s.next(secs(2.0), false), secs(4.0));
        assert_eq!(s.next(secs(6.0), false), secs(8.0));
        assert_eq!(s.next(secs(14.0), true), secs(2.0));
        assert_eq!(s.next(secs(16.0), false), secs(4.0));
        for _ in 0..10 {
            s.next(secs(100.0), false);
        }
        assert_eq!(s.next(secs(300.0), false), secs(20.0), "capped");
    }

    #[test]
    fn learned_looks_follow_the_observed_durations() {
        let learned = learned_looks(&spread(), 1.0).unwrap_or_else(|| panic!("learned"));
        assert_eq!(learned.median, secs(90.0));
        let looks = learned.looks;
        assert_eq!(
            looks,
            [63.0, 69.0, 75.0, 81.0, 87.0, 93.0, 99.0, 105.0, 111.0, 117.0]
                .map(secs)
                .to_vec()
        );
        assert_eq!(learned_looks(&spread()[..4], 1.0), None, "too few yet");
        // Every operation of the spread up to 95 s: at most 8 looks; the slowest, 13; on
        // average under 3.5 s late.
        let mut late_sum = Duration::ZERO;
        for length in spread() {
            let learned = Learned {
                looks: looks.clone(),
                median: secs(90.0),
            };
            let (n, late) = looks_until(Schedule::new(Some(learned), 1.0), length);
            let most = if length <= secs(95.0) { 8 } else { 13 };
            assert!(n <= most, "{length:?}: {n} looks");
            late_sum += late;
        }
        let mean = late_sum / spread().len() as u32;
        assert!(mean < secs(3.5), "{mean:?}");
        // The backoff alone is three times as late on the same stacks.
        let backoff: Duration = spread()
            .into_iter()
            .map(|length| looks_until(Schedule::new(None, 1.0), length).1)
            .sum();
        assert!(backoff / spread().len() as u32 > mean * 3, "{backoff:?}");
    }

    #[test]
    fn a_90_second_stack_is_seen_at_the_7th_learned_look() {
        let looks = learned_looks(&spread(), 1.0);
        let (n, late) = looks_until(Schedule::new(looks, 1.0), secs(90.0));
        assert_eq!((n, late), (7, secs(3.0)));
    }

    #[test]
    fn past_the_learned_looks_the_backoff_takes_over() {
        let looks = learned_looks(&spread(), 1.0);
        let mut s = Schedule::new(looks, 1.0);
        assert_eq!(s.next(secs(0.0), false), secs(63.0));
        assert_eq!(s.next(secs(117.5), false), secs(2.0), "past them all");
        // A status change drops what is left of the learned looks.
        let mut s = Schedule::new(learned_looks(&spread(), 1.0), 1.0);
        assert_eq!(s.next(secs(0.5), true), secs(2.0));
        assert_eq!(s.next(secs(2.5), false), secs(4.0));
    }

    #[test]
    fn close_quantiles_are_merged_and_scale_shrinks_the_backoff() {
        let same = vec![secs(0.05); 10];
        assert_eq!(
            learned_looks(&same, 1.0).map(|l| l.looks),
            Some(vec![secs(0.05)])
        );
        let mut s = Schedule::new(None, 0.1);
        assert_eq!(s.next(secs(0.0), false), secs(0.2));
    }

    #[test]
    fn learned_looks_taken_mid_wait_keep_a_median_stack_within_8_looks() {
        // The backoff looked at 0, 2, 6, 14, 30 and 50 s (6 looks) when the first stacks of
        // the run had settled: 2 looks left for a 90-second stack, the tail as learned.
        let mut s = Schedule::new(None, 1.0);
        let mut at = Duration::ZERO;
        for _ in 0..5 {
            at += s.next(at, false);
        }
        assert_eq!(at, secs(50.0));
        s.adopt(
            learned_looks(&spread(), 1.0).unwrap_or_else(|| panic!("learned")),
            at,
            6,
        );
        let mut seen = Vec::new();
        for _ in 0..6 {
            at += s.next(at, false);
            seen.push(at);
        }
        assert_eq!(
            seen,
            [75.0, 93.0, 99.0, 105.0, 111.0, 117.0].map(secs).to_vec()
        );
        assert_eq!(
            s.next(at, false),
            secs(2.0),
            "past them, the backoff from its start"
        );
        // Early enough, nothing is thinned: 2 looks so far, 6 left up to the median.
        let mut s = Schedule::new(None, 1.0);
        s.adopt(
            learned_looks(&spread(), 1.0).unwrap_or_else(|| panic!("learned")),
            secs(2.0),
            2,
        );
        assert_eq!(s.next(secs(2.0), false), secs(61.0));
        // 8 looks spent: only the looks past the median are left.
        let mut s = Schedule::new(None, 1.0);
        s.adopt(
            learned_looks(&spread(), 1.0).unwrap_or_else(|| panic!("learned")),
            secs(90.0),
            8,
        );
        assert_eq!(
            s.next(secs(90.0), false),
            secs(3.0),
            "93 is the median's look"
        );
    }

    #[test]
    fn figures_are_nearest_rank() {
        let f = figures(&spread()).unwrap_or(Figures {
            operations: 0,
            median: Duration::ZERO,
            p95: Duration::ZERO,
        });
        assert_eq!(f.operations, 61);
        assert_eq!(f.median, secs(90.0));
        assert_eq!(f.p95, secs(117.0));
        assert_eq!(figures(&[]), None);
        assert_eq!(quantile(&[secs(1.0)], 0.95), Some(secs(1.0)));
    }
}
