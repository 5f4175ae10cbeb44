//! The `capacity` section of a results file: what a capacity search found, why it stopped, and
//! every step it ran with the numbers it was judged on.
//!
//! Optional in results format 1: files without it are ordinary runs, and readers that predate it
//! are never given one by a run that is not a search. Rates are requests per second, latencies µs,
//! ratios 0–1.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::RunResult;
use super::checks::{LimitKind, ThresholdCheck, ThresholdStatus};

/// Label of the achieved-rate check.
pub const ACHIEVED: &str = "achieved";

/// What a capacity search found (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// The search's settings, as resolved from the profile.
    pub settings: SearchSettings,
    /// The highest rate whose step held the SLO; none when the first step already broke it.
    pub sustainable_per_sec: Option<f64>,
    /// The lowest rate above it whose step broke the SLO; none when no step broke it (the
    /// search reached a cap, so the capacity is at least `sustainable_per_sec`).
    pub breaking_per_sec: Option<f64>,
    /// Why the search stopped.
    pub stop: StopReason,
    /// Every step, in the order it ran.
    pub steps: Vec<Step>,
}

/// A search's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// The first step's rate.
    pub start_per_sec: f64,
    /// How the rate grew between climbing steps: `×1.5` or `+50/s`.
    pub growth: String,
    /// Length of each step, in ms.
    pub hold_ms: u64,
    /// Refining steps allowed.
    pub refine: u32,
    /// Share of its rate a step had to achieve.
    pub min_achieved_ratio: f64,
    /// Error ratio at which the search stopped at once.
    pub collapse_error_ratio: f64,
    /// Hard cap on the rate.
    pub max_rate_per_sec: f64,
    /// Hard cap on the time spent sending load, in ms.
    pub max_duration_ms: u64,
}

/// Why a search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A step broke the SLO and the gap to the last good step was refined as asked.
    Refined,
    /// The first step already broke the SLO: the capacity is below the start rate.
    FirstStep,
    /// The error rate passed the collapse point: the search stopped at once, without refining.
    Collapse,
    /// A step at the rate cap held: the capacity is at least the cap.
    RateCap,
    /// The duration cap left no time for another step.
    DurationCap,
    /// The generator fell behind its schedule: the search measured the generator, not the
    /// service.
    Generator,
    /// Stopped from outside (Ctrl-C) or by the engine itself (a data feed ran out).
    Interrupted,
}

impl StopReason {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Refined => "refined",
            StopReason::FirstStep => "first_step",
            StopReason::Collapse => "collapse",
            StopReason::RateCap => "rate_cap",
            StopReason::DurationCap => "duration_cap",
            StopReason::Generator => "generator",
            StopReason::Interrupted => "interrupted",
        }
    }
}

/// One step of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Climbing (the ladder) or refining (between the last good and the first bad rate).
    pub phase: Phase,
    /// The arrival rate the step scheduled.
    pub target_per_sec: f64,
    /// Requests finished (any outcome) per second of the hold.
    pub achieved_per_sec: f64,
    /// Requests finished.
    pub requests: u64,
    /// Requests failed (any class).
    pub errors: u64,
    /// `errors / requests`.
    pub error_ratio: f64,
    /// Median latency of every endpoint together.
    pub p50_us: Option<u64>,
    /// 95th percentile of every endpoint together.
    pub p95_us: Option<u64>,
    /// 99th percentile of every endpoint together.
    pub p99_us: Option<u64>,
    /// Arrivals dropped at the in-flight cap.
    pub dropped: u64,
    /// 95th percentile of the schedule lag, µs.
    pub lag_p95_us: u64,
    /// The step's first measured interval in the results file's intervals.
    pub first_interval: u32,
    /// Measured intervals the step spans.
    pub intervals: u32,
    /// Wall time of the step, its drain included, in ms.
    pub duration_ms: u64,
    /// The verdict on the step.
    pub status: StepStatus,
    /// Every SLO limit checked on the step (the profile's thresholds, then the achieved rate).
    pub checks: Vec<ThresholdCheck>,
}

/// Which part of the search a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Stepping up the ladder.
    Climb,
    /// Between the last good and the first bad rate.
    Refine,
}

/// The verdict on one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Every SLO limit held.
    Held,
    /// An SLO limit broke.
    Broke,
    /// The error rate passed the collapse point (the step may have been cut short).
    Collapse,
    /// The generator fell behind: the step says nothing about the service.
    Generator,
    /// Cut short from outside (Ctrl-C, the duration cap): not judged.
    Cut,
}

impl StepStatus {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Held => "held",
            StepStatus::Broke => "broke",
            StepStatus::Collapse => "collapse",
            StepStatus::Generator => "generator",
            StepStatus::Cut => "cut",
        }
    }

    /// True for a step that broke the SLO (collapse included).
    pub fn broke(self) -> bool {
        matches!(self, StepStatus::Broke | StepStatus::Collapse)
    }
}

/// What the gate compares of a search, kept in baselines: the sustainable rate and the
/// bracket above it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// The highest rate that held the SLO.
    pub sustainable_per_sec: f64,
    /// The lowest rate above it that broke the SLO; none when no step broke (the capacity is
    /// at least `sustainable_per_sec`).
    pub breaking_per_sec: Option<f64>,
}

impl Capacity {
    /// The estimate the gate compares; none when no step held.
    pub fn estimate(&self) -> Option<Estimate> {
        Some(Estimate {
            sustainable_per_sec: self.sustainable_per_sec?,
            breaking_per_sec: self.breaking_per_sec,
        })
    }

    /// The step run at the sustainable rate (the last, when one rate ran twice).
    pub fn sustained_step(&self) -> Option<&Step> {
        let rate = self.sustainable_per_sec?;
        self.steps
            .iter()
            .rev()
            .find(|s| s.status == StepStatus::Held && same_rate(s.target_per_sec, rate))
    }

    /// The step run at the breaking rate: where the service broke.
    pub fn breaking_step(&self) -> Option<&Step> {
        let rate = self.breaking_per_sec?;
        self.steps
            .iter()
            .rev()
            .find(|s| s.status.broke() && same_rate(s.target_per_sec, rate))
    }

    /// The steps in rising order of rate (for tables and charts), each with its run order.
    pub fn by_rate(&self) -> Vec<(usize, &Step)> {
        let mut steps: Vec<(usize, &Step)> = self.steps.iter().enumerate().collect();
        steps.sort_by(|a, b| {
            a.1.target_per_sec
                .total_cmp(&b.1.target_per_sec)
                .then(a.0.cmp(&b.0))
        });
        steps
    }
}

impl Step {
    /// The limits that failed, worst first (largest overshoot of its limit).
    pub fn breaches(&self) -> Vec<&ThresholdCheck> {
        let mut out: Vec<&ThresholdCheck> = self
            .checks
            .iter()
            .filter(|c| c.status != ThresholdStatus::Ok)
            .collect();
        out.sort_by(|a, b| overshoot(b).total_cmp(&overshoot(a)));
        out
    }

    /// The SLO limit (a threshold of the profile) with the least headroom, and that headroom
    /// as a ratio of the limit (0.29: 29% below it), for a step that held.
    pub fn tightest_margin(&self) -> Option<(&ThresholdCheck, f64)> {
        self.checks
            .iter()
            .filter(|c| c.status == ThresholdStatus::Ok && c.label != ACHIEVED)
            .filter_map(|c| margin(c).map(|m| (c, m)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// How far a check is inside its limit, as a ratio of the limit.
pub fn margin(check: &ThresholdCheck) -> Option<f64> {
    let actual = check.actual?;
    if check.limit_value <= 0.0 {
        return None;
    }
    Some(match check.limit {
        LimitKind::MinRate => actual / check.limit_value - 1.0,
        _ => 1.0 - actual / check.limit_value,
    })
}

/// How far past its limit a failed check is (infinite with nothing measured).
fn overshoot(check: &ThresholdCheck) -> f64 {
    margin(check).map_or(f64::INFINITY, |m| -m)
}

/// Rates are stored as computed; a step's rate and the search's reported rate are the same
/// number, but compare with a tolerance so a rounded file still matches.
fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

/// The results of one step alone: the run with only the step's intervals (for checking the
/// thresholds on it as on a whole run).
pub fn step_results(result: &RunResult, step: &Step) -> RunResult {
    result.window(step.first_interval..step.first_interval.saturating_add(step.intervals))
}

/// Literal results of one step for the unit tests: per interval `(requests, errors, latency
/// µs of every response)`, the first `warmup` intervals being warm-up, every arrival sent with
/// a schedule lag of `lag_us`.
#[cfg(test)]
pub(crate) fn test_step(intervals: &[(u64, u64, u64)], warmup: u32, lag_us: u64) -> RunResult {
    use std::collections::BTreeMap;

    use crate::metrics::{EncodedHistogram, ErrorClass, Histogram, Summary};
    use crate::results::{
        EndpointResult, Generator, GeneratorRecord, Interval, LoadModel, LoadPlan, ProfileRef,
        Runner, Shard, Tool,
    };
    let interval_ms = 1000;
    let records: Vec<Interval> = intervals
        .iter()
        .enumerate()
        .map(|(i, &(requests, errors, latency_us))| {
            let mut h = Histogram::new();
            h.record_n_us(latency_us, requests - errors);
            Interval {
                index: i as u32,
                requests,
                errors: if errors > 0 {
                    BTreeMap::from([(ErrorClass::Http5xx, errors)])
                } else {
                    BTreeMap::new()
                },
                status: BTreeMap::from([(200, requests - errors), (503, errors)]),
                latency: EncodedHistogram::encode(&h),
            }
        })
        .collect();
    let mut lag = Histogram::new();
    lag.record_n_us(lag_us, 100);
    let mut result = RunResult {
        format_version: crate::results::FORMAT_VERSION,
        tool: Tool::current(),
        profile: ProfileRef {
            name: "t".into(),
            hash: "sha256:00".into(),
            path: None,
        },
        target: "http://127.0.0.1:9".into(),
        git: None,
        runner: Runner {
            class: "test".into(),
            cpus: 1,
        },
        started_at: "2026-01-01T00:00:00.000Z".into(),
        duration_ms: intervals.len() as u64 * interval_ms,
        partial: false,
        partial_reason: None,
        shard: Shard::whole(),
        load: LoadPlan {
            model: LoadModel::Open,
            warmup_ms: u64::from(warmup) * interval_ms,
            duration_ms: intervals.len() as u64 * interval_ms,
            segments: Vec::new(),
            max_in_flight: Some(100),
        },
        interval_ms,
        endpoints: vec![EndpointResult {
            name: "home".into(),
            method: "GET".into(),
            url: "/".into(),
            summary: Summary::default(),
            warmup: Summary::default(),
            intervals: records,
            error_samples: Vec::new(),
        }],
        scenarios: Vec::new(),
        generator: Generator {
            schedule_lag: EncodedHistogram::encode(&lag),
            peak_in_flight: 3,
            intervals: intervals
                .iter()
                .enumerate()
                .map(|(i, &(requests, _, _))| GeneratorRecord {
                    index: i as u32,
                    planned: requests,
                    sent: requests,
                    dropped: 0,
                    max_lag_us: lag_us,
                    users: 0,
                    target_users: 0,
                })
                .collect(),
        },
        capacity: None,
    };
    result
        .refresh_summaries()
        .expect("literal histograms decode");
    result
}
