//! Results per load level of a stepped or staged run: a row per level the schedule held (a
//! constant arrival rate, or a constant number of users), with its throughput, latency and
//! errors and the profile's thresholds checked on that level alone, and the *knee*: the first
//! level where the SLO (the thresholds) broke, or where throughput stopped rising with load.
//!
//! A level is the run's intervals inside one constant segment of the plan, past the warm-up;
//! for the closed model, past the intervals in which users were still being spawned towards it
//! (the spawn rate), so each level measures the load it names. Ramps are transitions, not
//! levels. Pure: results in, levels out; the report renders them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ThresholdCheck, ThresholdStatus, thresholds};
use crate::metrics::SummaryBuilder;
use crate::profile::Threshold;
use crate::results::{LoadModel, ResultsError, RunResult};

/// Throughput has stopped rising with load when successful responses per second grew by less
/// than this share of the load's growth (a level with twice the users and 40% more
/// throughput: 0.4 of it). Well below one, so sampling noise between levels does not read as a
/// knee; well above zero, so a service past saturation does.
pub const MIN_THROUGHPUT_RESPONSE: f64 = 0.5;

/// The levels of one run (absent from comparisons of runs with fewer than two levels, and from
/// files written before levels existed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// What a level counts: arrivals per second (open model) or users (closed model).
    pub unit: LevelUnit,
    /// In the order the run went through them.
    pub levels: Vec<Level>,
    /// The first level that broke the SLO or where throughput stopped rising; absent when
    /// every level held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<Knee>,
}

/// What a level counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelUnit {
    /// Arrivals per second (open model).
    Rate,
    /// Concurrent users (closed model).
    Users,
}

/// One level of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// The load: arrivals per second or users.
    pub level: f64,
    /// Its first measured interval.
    pub first_interval: u32,
    /// Measured intervals it spans.
    pub intervals: u32,
    /// Requests that finished (all endpoints).
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// `errors / requests` (0 without requests).
    pub error_ratio: f64,
    /// Successful responses per second.
    pub ok_per_sec: f64,
    /// Latency quantiles of every endpoint together, µs (absent without responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_us: Option<u64>,
    /// 95th percentile, µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_us: Option<u64>,
    /// 99th percentile, µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_us: Option<u64>,
    /// The profile's thresholds checked on this level alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<ThresholdCheck>,
    /// How the level fared.
    pub status: LevelStatus,
}

/// How a level fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelStatus {
    /// Within the SLO, and throughput rose with the load.
    Held,
    /// A threshold broke on this level.
    Broke,
    /// Within the SLO, but throughput rose by less than [`MIN_THROUGHPUT_RESPONSE`] of the
    /// load's growth from the level before.
    Flat,
}

/// The knee of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Knee {
    /// Index into `levels`.
    pub index: usize,
    /// Its load.
    pub level: f64,
    /// Why it is the knee (the level's status: `broke` or `flat`).
    pub status: LevelStatus,
    /// The highest level before it that held, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_held: Option<f64>,
    /// Growth of the load from the level before, as a ratio less one (0.5: 50% more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_growth: Option<f64>,
    /// Growth of the successful responses per second over the same step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_growth: Option<f64>,
}

impl Levels {
    /// The knee's level, when there is one.
    pub fn knee_level(&self) -> Option<&Level> {
        self.knee.as_ref().and_then(|k| self.levels.get(k.index))
    }
}

/// The levels of `result`, with `thresholds` and the error ceiling `max_error_ratio`
/// (`gate.max_error_rate`) checked on each, as on a whole run; `None` for a run with fewer than
/// two measured levels (one constant rate, a pure ramp) and for a capacity search (which has
/// its own steps).
pub fn of(
    result: &RunResult,
    thresholds: &[Threshold],
    max_error_ratio: f64,
) -> Result<Option<Levels>, ResultsError> {
    if result.capacity.is_some() || result.interval_ms == 0 {
        return Ok(None);
    }
    let spans = spans(result);
    if spans.len() < 2 {
        return Ok(None);
    }
    let secs_per_interval = result.interval_ms as f64 / 1000.0;
    let mut levels: Vec<Level> = Vec::with_capacity(spans.len());
    for (level, range) in spans {
        let view = result.window(range.clone());
        let mut totals = SummaryBuilder::default();
        for e in &view.endpoints {
            let (requests, errors) = e
                .intervals
                .iter()
                .fold((0, 0), |(r, f), i| (r + i.requests, f + i.error_total()));
            totals.add_counts(requests, errors, &view.measured_histogram(e)?);
        }
        let intervals = range.end - range.start;
        let secs = f64::from(intervals) * secs_per_interval;
        let summary = totals.finish(secs);
        let mut checks = thresholds::check(&view, thresholds)?;
        checks.push(thresholds::error_ceiling(&view, max_error_ratio));
        let broke = checks.iter().any(|c| c.status != ThresholdStatus::Ok);
        levels.push(Level {
            level,
            first_interval: range.start,
            intervals,
            requests: summary.requests,
            errors: summary.errors,
            error_ratio: summary.error_ratio,
            ok_per_sec: summary.requests.saturating_sub(summary.errors) as f64 / secs,
            p50_us: summary.latency.p50_us,
            p95_us: summary.latency.p95_us,
            p99_us: summary.latency.p99_us,
            checks,
            status: if broke {
                LevelStatus::Broke
            } else {
                LevelStatus::Held
            },
        });
    }
    let mut knee = None;
    for i in 0..levels.len() {
        let growth = i
            .checked_sub(1)
            .map(|p| (&levels[p], &levels[i]))
            .filter(|(before, now)| now.level > before.level && before.ok_per_sec > 0.0)
            .map(|(before, now)| {
                (
                    now.level / before.level - 1.0,
                    now.ok_per_sec / before.ok_per_sec - 1.0,
                )
            });
        if levels[i].status == LevelStatus::Held
            && growth.is_some_and(|(load, ok)| ok < MIN_THROUGHPUT_RESPONSE * load)
        {
            levels[i].status = LevelStatus::Flat;
        }
        if knee.is_none() && levels[i].status != LevelStatus::Held {
            knee = Some(Knee {
                index: i,
                level: levels[i].level,
                status: levels[i].status,
                last_held: levels[..i]
                    .iter()
                    .filter(|l| l.status == LevelStatus::Held)
                    .map(|l| l.level)
                    .reduce(f64::max),
                load_growth: growth.map(|g| g.0),
                throughput_growth: growth.map(|g| g.1),
            });
        }
    }
    Ok(Some(Levels {
        unit: match result.load.model {
            LoadModel::Open => LevelUnit::Rate,
            LoadModel::Closed => LevelUnit::Users,
        },
        levels,
        knee,
    }))
}

/// The measured intervals of every constant segment of the plan, adjacent ones at one level
/// joined: `(level, intervals)`. An interval counts only when it lies wholly inside the
/// segment, past the warm-up, and (closed model) with the schedule's users at the level at
/// both its ends, so the intervals of a spawn towards the level are left out.
fn spans(result: &RunResult) -> Vec<(f64, std::ops::Range<u32>)> {
    let iv = result.interval_ms;
    let warmup = result.warmup_intervals();
    let recorded_end = result
        .generator
        .intervals
        .iter()
        .map(|g| g.index + 1)
        .max()
        .unwrap_or(0);
    let target = |index: u32| {
        result
            .generator
            .intervals
            .iter()
            .find(|g| g.index == index)
            .map(|g| g.target_users as f64)
    };
    let mut holds: Vec<(f64, u64, u64)> = Vec::new();
    for s in &result.load.segments {
        let constant = (s.from - s.to).abs() < 1e-9 && s.to > 0.0 && s.duration_ms > 0;
        let end = s.start_ms + s.duration_ms;
        match holds.last_mut() {
            Some(last) if constant && (last.0 - s.to).abs() < 1e-9 && last.2 == s.start_ms => {
                last.2 = end;
            }
            _ if constant => holds.push((s.to, s.start_ms, end)),
            _ => {}
        }
    }
    let mut spans = Vec::new();
    for (level, start_ms, end_ms) in holds {
        let mut first = (start_ms.div_ceil(iv) as u32).max(warmup);
        let end = ((end_ms / iv) as u32).min(recorded_end);
        if result.load.model == LoadModel::Closed {
            let reached = |i: u32| target(i).is_none_or(|t| t >= level - 0.5);
            while first < end && !(reached(first) && (first == 0 || reached(first - 1))) {
                first += 1;
            }
        }
        if first < end {
            spans.push((level, first..end));
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::profile::{Limit, Quantile, ThresholdScope};
    use crate::results::Segment;

    /// A run of 1 s intervals, `per_level` intervals per level, one `(ok/s, errors/s, latency
    /// µs)` per level, planned as constant segments at `levels`.
    fn stepped(model: LoadModel, levels: &[(f64, (u64, u64, u64))], per_level: u32) -> RunResult {
        let intervals: Vec<(u64, u64, u64)> = levels
            .iter()
            .flat_map(|&(_, (ok, errors, us))| {
                std::iter::repeat_n((ok + errors, errors, us), per_level as usize)
            })
            .collect();
        let mut r = crate::results::capacity::test_step(&intervals, 0, 500);
        r.load.model = model;
        r.load.segments = levels
            .iter()
            .enumerate()
            .map(|(i, &(level, _))| Segment {
                start_ms: i as u64 * u64::from(per_level) * 1000,
                duration_ms: u64::from(per_level) * 1000,
                from: level,
                to: level,
            })
            .collect();
        for g in &mut r.generator.intervals {
            g.target_users = levels[(g.index / per_level) as usize].0 as u64;
            g.users = g.target_users;
        }
        r
    }

    fn slo_p95(ms: u64) -> Vec<Threshold> {
        vec![Threshold {
            scope: ThresholdScope::All,
            limits: vec![Limit::Latency {
                quantile: Quantile(0.95),
                max: Duration::from_millis(ms),
            }],
        }]
    }

    #[test]
    fn the_knee_is_where_throughput_stops_rising_with_the_users() {
        let r = stepped(
            LoadModel::Closed,
            &[
                (10.0, (50, 0, 20_000)),
                (20.0, (99, 0, 21_000)),
                (30.0, (140, 0, 24_000)),
                (40.0, (150, 0, 60_000)),
                (50.0, (151, 0, 95_000)),
            ],
            3,
        );
        let l = of(&r, &[], 0.05).unwrap().unwrap();
        assert_eq!(l.unit, LevelUnit::Users);
        assert_eq!(l.levels.len(), 5);
        // 30 users: +41% throughput for +50% users, held; 40: +7% for +33%, the knee.
        assert_eq!(l.levels[2].status, LevelStatus::Held);
        let knee = l.knee.unwrap();
        assert_eq!((knee.index, knee.level), (3, 40.0));
        assert_eq!(knee.status, LevelStatus::Flat);
        assert_eq!(knee.last_held, Some(30.0));
        assert!((knee.load_growth.unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert!((knee.throughput_growth.unwrap() - 10.0 / 140.0).abs() < 1e-9);
        assert!((l.levels[1].ok_per_sec - 99.0).abs() < 1e-9);
        assert_eq!(l.levels[3].p95_us.map(|us| us / 1000), Some(60));
    }

    #[test]
    fn the_knee_is_where_the_slo_breaks_first() {
        let r = stepped(
            LoadModel::Open,
            &[
                (100.0, (100, 0, 10_000)),
                (200.0, (198, 2, 30_000)),
                (300.0, (299, 1, 80_000)),
            ],
            2,
        );
        let l = of(&r, &slo_p95(50), 0.05).unwrap().unwrap();
        assert_eq!(l.unit, LevelUnit::Rate);
        let statuses: Vec<_> = l.levels.iter().map(|l| l.status).collect();
        assert_eq!(
            statuses,
            [LevelStatus::Held, LevelStatus::Held, LevelStatus::Broke]
        );
        let knee = l.knee.unwrap();
        assert_eq!(
            (knee.level, knee.status, knee.last_held),
            (300.0, LevelStatus::Broke, Some(200.0))
        );
        assert_eq!(l.levels[2].checks[0].status, ThresholdStatus::Breached);
        assert!((l.levels[1].error_ratio - 0.01).abs() < 1e-9);
        // Without a knee, none is named.
        let fine = of(&r, &slo_p95(100), 0.05).unwrap().unwrap();
        assert!(fine.knee.is_none(), "{:?}", fine.knee);
        // The gate's error ceiling is part of every level's SLO, thresholds or not.
        let failing = stepped(
            LoadModel::Open,
            &[(100.0, (100, 0, 10_000)), (200.0, (180, 20, 10_000))],
            2,
        );
        let l = of(&failing, &[], 0.05).unwrap().unwrap();
        let knee = l.knee.unwrap();
        assert_eq!((knee.level, knee.status), (200.0, LevelStatus::Broke));
        let ceiling = &l.levels[1].checks[0];
        assert_eq!(ceiling.label, thresholds::CEILING_LABEL);
        assert_eq!(ceiling.status, ThresholdStatus::Breached);
    }

    #[test]
    fn warm_up_spawning_and_single_levels_are_not_measured_as_levels() {
        // 10 then 20 users, 4 intervals each, the first interval warm-up; the spawn towards
        // 20 users takes the first interval of the second level.
        let mut r = stepped(
            LoadModel::Closed,
            &[(10.0, (50, 0, 20_000)), (20.0, (100, 0, 20_000))],
            4,
        );
        r.load.warmup_ms = 1000;
        for g in &mut r.generator.intervals {
            if g.index == 4 {
                g.target_users = 15;
            }
        }
        let l = of(&r, &[], 0.05).unwrap().unwrap();
        let ranges: Vec<_> = l
            .levels
            .iter()
            .map(|l| (l.first_interval, l.intervals))
            .collect();
        // Interval 4 spawned, interval 5 started at 15 users: level 20 is intervals 6 and 7.
        assert_eq!(ranges, [(1, 3), (6, 2)]);
        // One constant rate is not a stepped run; a capacity search has its own steps.
        let single = stepped(LoadModel::Open, &[(100.0, (100, 0, 10_000))], 5);
        assert!(of(&single, &[], 0.05).unwrap().is_none());
        let mut joined = stepped(
            LoadModel::Open,
            &[(100.0, (100, 0, 10_000)), (100.0, (100, 0, 10_000))],
            2,
        );
        assert!(
            of(&joined, &[], 0.05).unwrap().is_none(),
            "one level, in two stages"
        );
        joined.load.segments[1].from = 150.0;
        joined.load.segments[1].to = 150.0;
        assert_eq!(of(&joined, &[], 0.05).unwrap().unwrap().levels.len(), 2);
    }
}
