//! Capacity search (`load.model: search`): step the arrival rate up until the profile's SLO
//! (its thresholds, and the achieved rate) breaks, refine between the last good and the first
//! bad step, and report the highest sustainable rate with its margin and where the service
//! broke.
//!
//! Pure: [`search`] decides which rate runs next, [`judge`] gives a step its verdict from that
//! step's results, [`stitch`] joins the steps into one results file, [`record`] is the
//! `capacity` section stored in it. The app layer runs each step through the engine.

pub mod judge;
pub mod record;
pub mod search;
pub mod stitch;

pub use judge::{Placement, StepEnd, judge_step};
pub use record::{Capacity, Estimate, Phase, SearchSettings, Step, StepStatus, StopReason};
pub use search::{Next, Searcher};
pub use stitch::{StepRun, stitch};

use crate::profile::Search;
use crate::results::RunResult;

/// The results of one step alone: the run with only the step's intervals (for checking the
/// thresholds on it as on a whole run).
pub fn step_results(result: &RunResult, step: &Step) -> RunResult {
    result.window(step.first_interval..step.first_interval.saturating_add(step.intervals))
}

impl SearchSettings {
    /// The settings of a validated search.
    pub fn of(search: &Search) -> Self {
        Self {
            start_per_sec: search.start_per_sec,
            growth: search.growth.to_string(),
            hold_ms: search.hold.as_millis() as u64,
            refine: search.refine,
            min_achieved_ratio: search.min_achieved_ratio,
            collapse_error_ratio: search.collapse_error_ratio,
            max_rate_per_sec: search.max_rate_per_sec,
            max_duration_ms: search.max_duration.as_millis() as u64,
        }
    }
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
