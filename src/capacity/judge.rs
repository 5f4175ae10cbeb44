//! The verdict on one step, from the step's own results: the profile's thresholds checked on
//! its measured phase exactly as the gate checks them on a whole run, plus the achieved rate;
//! a collapse (error rate past the collapse point) and a generator that fell behind take
//! precedence over an ordinary breach.

use crate::compare::validity::MAX_LAG_P95_US;
use crate::compare::{LimitKind, ThresholdCheck, ThresholdStatus, Unit, thresholds};
use crate::metrics::Histogram;
use crate::profile::{Search, Threshold};
use crate::results::capacity::ACHIEVED;
use crate::results::capacity::{Phase, Step, StepStatus};
use crate::results::{ResultsError, RunResult};

/// How a step's engine run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEnd {
    /// The schedule ran to its end.
    Ran,
    /// The search cut it short: its error rate passed the collapse point.
    Collapsed,
    /// Stopped from outside (Ctrl-C, the duration cap) or by the engine itself.
    Cut,
}

/// Where a step sits in the stitched results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Its first measured interval.
    pub first_interval: u32,
    /// Measured intervals it spans.
    pub intervals: u32,
}

/// Judges one step run at `target_per_sec` from its results (its warm-up, if any, excluded).
pub fn judge_step(
    result: &RunResult,
    target_per_sec: f64,
    phase: Phase,
    search: &Search,
    slo: &[Threshold],
    end: StepEnd,
    placement: Placement,
) -> Result<Step, ResultsError> {
    let mut latency = Histogram::new();
    let (mut requests, mut errors) = (0u64, 0u64);
    for e in &result.endpoints {
        latency.add(&result.measured_histogram(e)?);
        for i in e.intervals.iter().filter(|i| !result.is_warmup(i.index)) {
            requests += i.requests;
            errors += i.error_total();
        }
    }
    let hold_secs = search.hold.as_secs_f64();
    let achieved = if hold_secs > 0.0 {
        requests as f64 / hold_secs
    } else {
        0.0
    };
    let error_ratio = if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    };
    let mut checks = thresholds::check(result, slo)?;
    let floor = search.min_achieved_ratio * target_per_sec;
    checks.push(ThresholdCheck {
        scope: "all".into(),
        limit: LimitKind::MinRate,
        label: ACHIEVED.into(),
        unit: Unit::PerSec,
        limit_value: floor,
        actual: Some(achieved),
        status: if achieved < floor {
            ThresholdStatus::Breached
        } else {
            ThresholdStatus::Ok
        },
    });
    let lag_p95_us = result.generator.schedule_lag_p95_us();
    let collapsed =
        end == StepEnd::Collapsed || (requests > 0 && error_ratio >= search.collapse_error_ratio);
    let status = if collapsed {
        // Checked first: a service that fails this much has answered the question, even if the
        // search cut its step short or the generator strained.
        StepStatus::Collapse
    } else if end == StepEnd::Cut {
        StepStatus::Cut
    } else if lag_p95_us > MAX_LAG_P95_US {
        StepStatus::Generator
    } else if checks.iter().any(|c| c.status != ThresholdStatus::Ok) {
        StepStatus::Broke
    } else {
        StepStatus::Held
    };
    Ok(Step {
        phase,
        target_per_sec,
        achieved_per_sec: (achieved * 100.0).round() / 100.0,
        requests,
        errors,
        error_ratio,
        p50_us: latency.quantile_us(0.50),
        p95_us: latency.quantile_us(0.95),
        p99_us: latency.quantile_us(0.99),
        dropped: result.generator_totals().dropped,
        lag_p95_us,
        first_interval: placement.first_interval,
        intervals: placement.intervals,
        duration_ms: result.duration_ms,
        status,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::profile::{Growth, Limit, Quantile, ThresholdScope};
    use crate::results::capacity::test_step;

    fn search() -> Search {
        Search {
            start_per_sec: 100.0,
            growth: Growth::Factor(1.5),
            hold: Duration::from_secs(2),
            refine: 2,
            min_achieved_ratio: 0.95,
            collapse_error_ratio: 0.2,
            max_rate_per_sec: 1000.0,
            max_duration: Duration::from_secs(60),
        }
    }

    /// p95 under 50 ms, errors under 1%.
    fn slo() -> Vec<Threshold> {
        vec![Threshold {
            scope: ThresholdScope::All,
            limits: vec![
                Limit::Latency {
                    quantile: Quantile(0.95),
                    max: Duration::from_millis(50),
                },
                Limit::ErrorRate { max_ratio: 0.01 },
            ],
        }]
    }

    const AT: Placement = Placement {
        first_interval: 0,
        intervals: 2,
    };

    fn judge(intervals: &[(u64, u64, u64)], lag_us: u64, end: StepEnd) -> Step {
        let result = test_step(intervals, 0, lag_us);
        judge_step(&result, 100.0, Phase::Climb, &search(), &slo(), end, AT).unwrap()
    }

    #[test]
    fn a_step_within_the_slo_holds() {
        let s = judge(&[(100, 0, 12_000), (100, 0, 12_000)], 500, StepEnd::Ran);
        assert_eq!(s.status, StepStatus::Held);
        assert_eq!((s.requests, s.errors), (200, 0));
        assert!((s.achieved_per_sec - 100.0).abs() < 1e-9);
        let (check, margin) = s.tightest_margin().unwrap();
        assert_eq!(check.label, "p95");
        assert!((0.75..0.77).contains(&margin), "12 ms of 50 ms: {margin}");
    }

    #[test]
    fn a_slow_step_breaks_naming_the_metric() {
        let s = judge(&[(100, 0, 12_000), (100, 0, 90_000)], 500, StepEnd::Ran);
        assert_eq!(s.status, StepStatus::Broke);
        let b = s.breaches();
        assert_eq!((b[0].scope.as_str(), b[0].label.as_str()), ("all", "p95"));
    }

    #[test]
    fn a_step_short_of_its_rate_breaks_on_the_achieved_rate() {
        // 180 of 200 planned requests finished: 90/s of 100/s, under the 95% floor.
        let s = judge(&[(90, 0, 12_000), (90, 0, 12_000)], 500, StepEnd::Ran);
        assert_eq!(s.status, StepStatus::Broke);
        assert_eq!(s.breaches()[0].label, ACHIEVED);
    }

    #[test]
    fn errors_past_the_collapse_point_are_a_collapse_even_when_cut() {
        let s = judge(&[(100, 30, 12_000), (20, 10, 12_000)], 500, StepEnd::Cut);
        assert_eq!(s.status, StepStatus::Collapse);
        let s = judge(&[(100, 0, 12_000)], 500, StepEnd::Collapsed);
        assert_eq!(s.status, StepStatus::Collapse, "the search saw it collapse");
        let s = judge(&[(100, 5, 12_000), (100, 0, 12_000)], 500, StepEnd::Ran);
        assert_eq!(
            s.status,
            StepStatus::Broke,
            "2.5% errors: a breach, no collapse"
        );
    }

    #[test]
    fn a_lagging_generator_or_a_cut_step_is_not_judged_on_the_service() {
        let slow = [(100, 0, 90_000), (100, 0, 90_000)];
        assert_eq!(
            judge(&slow, 30_000, StepEnd::Ran).status,
            StepStatus::Generator
        );
        assert_eq!(judge(&slow, 500, StepEnd::Cut).status, StepStatus::Cut);
    }
}
