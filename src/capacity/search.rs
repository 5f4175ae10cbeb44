//! The search as a pure state machine: which rate to run next, given the steps so far.
//!
//! Climb the ladder (start, then grown step by step up to the rate cap) until a step breaks;
//! then halve the gap between the last good and the first bad rate `refine` times (on the
//! growth's scale: geometric for a factor, arithmetic for an increment). A collapse or a cut
//! step ends the search at once; so does the duration cap, checked before every step so no step
//! is started that cannot finish within it. A step during which the generator fell behind (a
//! busy machine) runs again once; a second time ends the search.

use std::time::Duration;

use crate::profile::Search;
use crate::results::capacity::{Phase, StepStatus, StopReason};

/// Refining stops early once the bracket is this narrow (bad ÷ good), finer than any SLO can
/// tell apart.
pub const FINEST_BRACKET: f64 = 1.01;

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Run a step at this rate.
    Step {
        /// Arrivals per second.
        rate: f64,
        /// Climbing or refining.
        phase: Phase,
    },
    /// The search is over.
    Stop(StopReason),
}

/// The search's state (see the module docs).
#[derive(Debug, Clone)]
pub struct Searcher {
    search: Search,
    climb: Vec<f64>,
    /// Index into `climb` of the next climbing step.
    rung: usize,
    /// Highest rate that held.
    good: Option<f64>,
    /// Lowest rate that broke.
    bad: Option<f64>,
    refines_left: u32,
    /// A step to run again because the generator fell behind during it.
    repeat: Option<(f64, Phase)>,
    stopped: Option<StopReason>,
}

impl Searcher {
    /// A search that has run nothing yet.
    pub fn new(search: &Search) -> Self {
        Self {
            climb: search.climb(),
            search: search.clone(),
            rung: 0,
            good: None,
            bad: None,
            refines_left: search.refine,
            repeat: None,
            stopped: None,
        }
    }

    /// The next step, given the time spent so far and how long the next step would take.
    pub fn next(&self, elapsed: Duration, step_length: Duration) -> Next {
        if let Some(reason) = self.stopped {
            return Next::Stop(reason);
        }
        let (rate, phase) = match (self.repeat, self.good, self.bad) {
            (Some(again), _, _) => again,
            (None, _, None) => match self.climb.get(self.rung) {
                Some(&rate) => (rate, Phase::Climb),
                None => return Next::Stop(StopReason::RateCap),
            },
            (None, None, Some(_)) => return Next::Stop(StopReason::FirstStep),
            (None, Some(good), Some(bad)) => {
                if self.refines_left == 0 || bad / good <= FINEST_BRACKET {
                    return Next::Stop(StopReason::Refined);
                }
                (self.search.growth.between(good, bad), Phase::Refine)
            }
        };
        if elapsed + step_length > self.search.max_duration {
            return Next::Stop(StopReason::DurationCap);
        }
        Next::Step { rate, phase }
    }

    /// Records the verdict on the step run at `rate`.
    pub fn record(&mut self, rate: f64, phase: Phase, status: StepStatus) {
        let repeated = self.repeat.take().is_some();
        if status == StepStatus::Generator && !repeated {
            self.repeat = Some((rate, phase));
            return;
        }
        match status {
            StepStatus::Held => {
                self.good = Some(self.good.map_or(rate, |g| g.max(rate)));
            }
            StepStatus::Broke | StepStatus::Collapse => {
                self.bad = Some(self.bad.map_or(rate, |b| b.min(rate)));
            }
            StepStatus::Generator | StepStatus::Cut => {}
        }
        match phase {
            Phase::Climb => self.rung += 1,
            Phase::Refine => self.refines_left = self.refines_left.saturating_sub(1),
        }
        self.stopped = match status {
            StepStatus::Collapse => Some(StopReason::Collapse),
            StepStatus::Generator => Some(StopReason::Generator),
            StepStatus::Cut => Some(StopReason::Interrupted),
            // A rate at or above the cap that held ends the climb: there is nothing higher.
            StepStatus::Held if phase == Phase::Climb && self.rung >= self.climb.len() => {
                Some(StopReason::RateCap)
            }
            _ => None,
        };
    }

    /// The highest rate that held.
    pub fn sustainable(&self) -> Option<f64> {
        self.good
    }

    /// The lowest rate that broke.
    pub fn breaking(&self) -> Option<f64> {
        self.bad
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // rates are computed exactly here
mod tests {
    use super::*;
    use crate::profile::Growth;

    fn search(growth: Growth, refine: u32) -> Search {
        Search {
            start_per_sec: 100.0,
            growth,
            hold: Duration::from_secs(10),
            refine,
            min_achieved_ratio: 0.95,
            collapse_error_ratio: 0.1,
            max_rate_per_sec: 1000.0,
            max_duration: Duration::from_secs(600),
        }
    }

    /// Drives a search against a service that holds every rate up to `capacity` and breaks
    /// above it (collapsing above `collapse`), returning the rates run and the stop reason.
    fn drive(search: &Search, capacity: f64, collapse: f64) -> (Vec<(f64, Phase)>, Next) {
        let mut s = Searcher::new(search);
        let mut ran = Vec::new();
        let hold = search.hold;
        loop {
            let elapsed = hold * u32::try_from(ran.len()).unwrap_or(u32::MAX);
            match s.next(elapsed, hold) {
                Next::Step { rate, phase } => {
                    ran.push((rate, phase));
                    let status = if rate > collapse {
                        StepStatus::Collapse
                    } else if rate > capacity {
                        StepStatus::Broke
                    } else {
                        StepStatus::Held
                    };
                    s.record(rate, phase, status);
                }
                end @ Next::Stop(_) => return (ran, end),
            }
        }
    }

    fn rates(ran: &[(f64, Phase)]) -> Vec<f64> {
        ran.iter().map(|r| (r.0 * 100.0).round() / 100.0).collect()
    }

    #[test]
    fn climbs_geometrically_then_bisects_on_the_log_scale() {
        let s = search(Growth::Factor(2.0), 2);
        let (ran, stop) = drive(&s, 300.0, f64::INFINITY);
        // 100, 200 hold; 400 breaks; √(200·400) = 282.84 holds; √(282.84·400) = 336.36 breaks.
        assert_eq!(rates(&ran), vec![100.0, 200.0, 400.0, 282.84, 336.36]);
        assert_eq!(
            ran.iter().map(|r| r.1).collect::<Vec<_>>(),
            [
                Phase::Climb,
                Phase::Climb,
                Phase::Climb,
                Phase::Refine,
                Phase::Refine
            ]
        );
        assert_eq!(stop, Next::Stop(StopReason::Refined));
        let mut searcher = Searcher::new(&s);
        for (rate, phase) in &ran {
            let status = if *rate > 300.0 {
                StepStatus::Broke
            } else {
                StepStatus::Held
            };
            searcher.record(*rate, *phase, status);
        }
        let (good, bad) = (
            searcher.sustainable().unwrap_or_default(),
            searcher.breaking().unwrap_or_default(),
        );
        assert!((good - 282.84).abs() < 0.01 && (bad - 336.36).abs() < 0.01);
        assert!(
            good <= 300.0 && 300.0 < bad,
            "the bracket holds the capacity"
        );
    }

    #[test]
    fn linear_steps_bisect_arithmetically() {
        let (ran, stop) = drive(&search(Growth::Add(100.0), 3), 250.0, f64::INFINITY);
        assert_eq!(rates(&ran), vec![100.0, 200.0, 300.0, 250.0, 275.0, 262.5]);
        assert_eq!(stop, Next::Stop(StopReason::Refined));
    }

    #[test]
    fn the_found_rate_is_within_one_step_of_any_capacity() {
        for growth in [Growth::Factor(1.5), Growth::Factor(2.0), Growth::Add(75.0)] {
            for capacity in [120.0, 180.0, 333.0, 512.0, 777.0, 990.0] {
                let s = search(growth, 2);
                let mut searcher = Searcher::new(&s);
                let (ran, _) = drive(&s, capacity, f64::INFINITY);
                for (rate, phase) in &ran {
                    let held = *rate <= capacity;
                    let status = if held {
                        StepStatus::Held
                    } else {
                        StepStatus::Broke
                    };
                    searcher.record(*rate, *phase, status);
                }
                let good = searcher.sustainable().unwrap_or_default();
                let bad = searcher.breaking().unwrap_or(f64::INFINITY);
                assert!(good <= capacity && capacity < bad, "{growth:?} {capacity}");
                assert!(
                    growth.next(good) >= capacity,
                    "{growth:?} {capacity}: found {good}, more than a step below"
                );
            }
        }
    }

    #[test]
    fn a_collapse_stops_at_once_without_refining() {
        let (ran, stop) = drive(&search(Growth::Factor(2.0), 3), 300.0, 350.0);
        assert_eq!(rates(&ran), vec![100.0, 200.0, 400.0]);
        assert_eq!(stop, Next::Stop(StopReason::Collapse));
    }

    #[test]
    fn the_rate_cap_is_never_exceeded() {
        let (ran, stop) = drive(
            &search(Growth::Factor(3.0), 2),
            f64::INFINITY,
            f64::INFINITY,
        );
        assert_eq!(rates(&ran), vec![100.0, 300.0, 900.0, 1000.0]);
        assert_eq!(stop, Next::Stop(StopReason::RateCap));
    }

    #[test]
    fn the_duration_cap_is_checked_before_each_step() {
        let s = Search {
            max_duration: Duration::from_secs(35),
            ..search(Growth::Factor(1.5), 2)
        };
        let (ran, stop) = drive(&s, f64::INFINITY, f64::INFINITY);
        assert_eq!(
            ran.len(),
            3,
            "three 10 s steps fit in 35 s, a fourth does not"
        );
        assert_eq!(stop, Next::Stop(StopReason::DurationCap));
    }

    #[test]
    fn a_first_step_that_breaks_ends_the_search() {
        let (ran, stop) = drive(&search(Growth::Factor(1.5), 2), 50.0, f64::INFINITY);
        assert_eq!(rates(&ran), vec![100.0]);
        assert_eq!(stop, Next::Stop(StopReason::FirstStep));
    }

    #[test]
    fn a_step_the_generator_fell_behind_in_runs_again_once() {
        let s = search(Growth::Factor(2.0), 2);
        let mut a = Searcher::new(&s);
        a.record(100.0, Phase::Climb, StepStatus::Held);
        a.record(200.0, Phase::Climb, StepStatus::Generator);
        let again = Next::Step {
            rate: 200.0,
            phase: Phase::Climb,
        };
        assert_eq!(a.next(Duration::ZERO, s.hold), again);
        a.record(200.0, Phase::Climb, StepStatus::Held);
        assert_eq!(
            a.next(Duration::ZERO, s.hold),
            Next::Step {
                rate: 400.0,
                phase: Phase::Climb
            },
            "the repeat held: the climb goes on"
        );
        a.record(400.0, Phase::Climb, StepStatus::Generator);
        assert_eq!(
            a.next(Duration::ZERO, s.hold),
            Next::Step {
                rate: 400.0,
                phase: Phase::Climb
            }
        );
        a.record(400.0, Phase::Climb, StepStatus::Generator);
        assert_eq!(
            a.next(Duration::ZERO, s.hold),
            Next::Stop(StopReason::Generator),
            "twice in a row ends the search"
        );
        assert_eq!(a.sustainable(), Some(200.0));
    }

    #[test]
    fn cut_steps_end_the_search() {
        let s = search(Growth::Factor(2.0), 2);
        let mut b = Searcher::new(&s);
        b.record(100.0, Phase::Climb, StepStatus::Held);
        b.record(200.0, Phase::Climb, StepStatus::Cut);
        assert_eq!(
            b.next(Duration::ZERO, s.hold),
            Next::Stop(StopReason::Interrupted)
        );
        assert_eq!(b.sustainable(), Some(100.0));
    }
}
