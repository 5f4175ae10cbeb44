//! Joining runs made one after another against the same target (the blocks of a paired
//! comparison) into one results file: the first run keeps its warm-up, every later run's
//! warm-up intervals are dropped and its measured intervals follow on, renumbered. Nothing
//! measured is lost and the result is an ordinary results file (`compare`, `report`,
//! `merge` and `baseline update` read it). Unlike shard merging ([`super::merge`]), which adds
//! runs that ran at the same time interval by interval, this puts them end to end.

use std::collections::BTreeMap;

use super::MergeError;
use crate::metrics::ErrorSamples;
use crate::results::{GeneratorRecord, Interval, LoadPlan, RunResult, Segment};

/// Joins runs end to end (see the module docs). They must come from one profile (name and
/// hash), recording interval and runner class, with the same endpoints, and be whole runs.
pub fn concat(runs: Vec<RunResult>) -> Result<RunResult, MergeError> {
    let mut iter = runs.into_iter();
    let mut joined = iter.next().ok_or(MergeError::Empty)?;
    if joined.shard.count > 1 {
        return Err(MergeError::Mismatch(
            "a shard cannot be joined end to end: merge the shards first".into(),
        ));
    }
    let level = joined
        .load
        .segments
        .iter()
        .map(|s| s.to)
        .fold(0.0, f64::max);
    let warmup_ms = joined.load.warmup_ms;
    // The plan's length, apart from the actual (elapsed) `duration_ms`, which includes each
    // run's drain of requests in flight: rates and validity read the plan.
    let mut planned_ms = joined.load.duration_ms;
    // Where the next run's first measured interval goes.
    let mut next = next_index(&joined);
    let mut samples = ErrorSamples::from_results(
        joined
            .endpoints
            .iter_mut()
            .map(|e| std::mem::take(&mut e.error_samples)),
    );
    for run in iter {
        check_same(&joined, &run)?;
        let skip = run.warmup_intervals();
        let shift = |index: u32| index - skip + next;
        for (mine, theirs) in joined.endpoints.iter_mut().zip(&run.endpoints) {
            mine.intervals
                .extend(measured(&theirs.intervals, skip, shift));
        }
        for (mine, theirs) in joined.scenarios.iter_mut().zip(&run.scenarios) {
            mine.intervals
                .extend(measured(&theirs.intervals, skip, shift));
        }
        joined.generator.intervals.extend(
            run.generator
                .intervals
                .iter()
                .filter(|g| g.index >= skip)
                .map(|g| GeneratorRecord {
                    index: shift(g.index),
                    ..*g
                }),
        );
        let mut lag = run.generator.schedule_lag.decode().map_err(histogram)?;
        lag.add(&joined.generator.schedule_lag.decode().map_err(histogram)?);
        joined.generator.schedule_lag = super::EncodedHistogram::encode(&lag);
        joined.generator.peak_in_flight = joined
            .generator
            .peak_in_flight
            .max(run.generator.peak_in_flight);
        joined.duration_ms += run.duration_ms.saturating_sub(run.load.warmup_ms);
        planned_ms += run.load.duration_ms.saturating_sub(run.load.warmup_ms);
        joined.partial |= run.partial;
        if joined.partial_reason.is_none() {
            joined.partial_reason.clone_from(&run.partial_reason);
        }
        samples.merge(ErrorSamples::from_results(
            run.endpoints.iter().map(|e| e.error_samples.clone()),
        ));
        next += next_index(&run) - skip;
    }
    for (i, e) in joined.endpoints.iter_mut().enumerate() {
        e.error_samples = samples.take(i);
    }
    // One constant piece at the blocks' level over the joined plan.
    joined.load = LoadPlan {
        warmup_ms,
        duration_ms: planned_ms,
        segments: vec![Segment {
            start_ms: 0,
            duration_ms: planned_ms,
            from: level,
            to: level,
        }],
        ..joined.load
    };
    joined.refresh_summaries()?;
    Ok(joined)
}

/// One past the last interval a run planned or recorded.
fn next_index(run: &RunResult) -> u32 {
    let planned = run.load.duration_ms.div_ceil(run.interval_ms.max(1)) as u32;
    let recorded = run
        .endpoints
        .iter()
        .filter_map(|e| e.intervals.last())
        .map(|i| i.index + 1)
        .max()
        .unwrap_or(0);
    planned.max(recorded).max(run.warmup_intervals())
}

fn measured<'a>(
    intervals: &'a [Interval],
    skip: u32,
    shift: impl Fn(u32) -> u32 + 'a,
) -> impl Iterator<Item = Interval> + 'a {
    intervals
        .iter()
        .filter(move |i| i.index >= skip)
        .map(move |i| Interval {
            index: shift(i.index),
            ..i.clone()
        })
}

fn histogram(source: super::HistogramError) -> MergeError {
    MergeError::Results(crate::results::ResultsError::Histogram {
        path: "generator.schedule_lag".into(),
        source,
    })
}

fn check_same(a: &RunResult, b: &RunResult) -> Result<(), MergeError> {
    let differ = |what: &str| Err(MergeError::Mismatch(format!("{what} differs")));
    if a.profile.name != b.profile.name || a.profile.hash != b.profile.hash {
        return differ("the profile");
    }
    if a.interval_ms != b.interval_ms {
        return differ("the recording interval");
    }
    if a.runner.class != b.runner.class {
        return differ("the runner class");
    }
    if b.shard.count > 1 {
        return Err(MergeError::Mismatch(
            "a shard cannot be joined end to end: merge the shards first".into(),
        ));
    }
    let names = |r: &RunResult| -> BTreeMap<usize, String> {
        r.endpoints
            .iter()
            .map(|e| e.name.clone())
            .chain(r.scenarios.iter().map(|s| s.name.clone()))
            .enumerate()
            .collect()
    };
    if names(a) != names(b) {
        return differ("the list of endpoints");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{EncodedHistogram, ErrorClass, Histogram, Summary};
    use crate::results::{EndpointResult, Generator, LoadModel, ProfileRef, Runner, Shard, Tool};

    /// A run of `warmup + measured` one-second intervals, `per_interval` responses of
    /// `latency_us` each, one 5xx per measured interval.
    fn run(warmup: u32, measured: u32, per_interval: u64, latency_us: u64) -> RunResult {
        let intervals = (0..warmup + measured)
            .map(|index| {
                let mut h = Histogram::new();
                h.record_n_us(latency_us, per_interval);
                Interval {
                    index,
                    requests: per_interval,
                    errors: BTreeMap::from([(ErrorClass::Http5xx, 1)]),
                    status: BTreeMap::from([(200, per_interval - 1), (500, 1)]),
                    latency: EncodedHistogram::encode(&h),
                }
            })
            .collect();
        let mut lag = Histogram::new();
        lag.record_n_us(100, per_interval);
        let total_ms = u64::from(warmup + measured) * 1000;
        RunResult {
            format_version: crate::results::FORMAT_VERSION,
            tool: Tool::current(),
            profile: ProfileRef {
                name: "p".into(),
                hash: "sha256:00".into(),
                path: None,
            },
            target: "http://127.0.0.1:9".into(),
            git: None,
            runner: Runner {
                class: "local".into(),
                cpus: 2,
            },
            started_at: "2025-01-01T00:00:00Z".into(),
            duration_ms: total_ms,
            partial: false,
            partial_reason: None,
            shard: Shard::whole(),
            load: LoadPlan {
                model: LoadModel::Open,
                warmup_ms: u64::from(warmup) * 1000,
                duration_ms: total_ms,
                segments: vec![Segment {
                    start_ms: 0,
                    duration_ms: total_ms,
                    from: per_interval as f64,
                    to: per_interval as f64,
                }],
                max_in_flight: Some(100),
            },
            interval_ms: 1000,
            endpoints: vec![EndpointResult {
                name: "get".into(),
                method: "GET".into(),
                url: "/".into(),
                summary: Summary::default(),
                warmup: Summary::default(),
                intervals,
                error_samples: Vec::new(),
            }],
            scenarios: Vec::new(),
            generator: Generator {
                schedule_lag: EncodedHistogram::encode(&lag),
                peak_in_flight: 3,
                intervals: (0..warmup + measured)
                    .map(|index| GeneratorRecord {
                        index,
                        planned: per_interval,
                        sent: per_interval,
                        dropped: 0,
                        max_lag_us: 100,
                        users: 0,
                        target_users: 0,
                    })
                    .collect(),
            },
            capacity: None,
        }
    }

    #[test]
    fn blocks_join_end_to_end_keeping_the_first_warm_up_only() {
        let joined = concat(vec![
            run(2, 3, 10, 1000),
            run(1, 3, 10, 3000),
            run(1, 2, 10, 2000),
        ])
        .expect("same profile");
        let e = &joined.endpoints[0];
        let indices: Vec<u32> = e.intervals.iter().map(|i| i.index).collect();
        assert_eq!(
            indices,
            (0..10).collect::<Vec<_>>(),
            "2 warm-up + 3 + 3 + 2"
        );
        assert_eq!(joined.warmup_intervals(), 2);
        assert_eq!(joined.duration_ms, 10_000);
        assert_eq!(joined.load.duration_ms, 10_000);
        // A run's elapsed time includes draining its requests in flight; the plan does not.
        let mut late = run(1, 2, 10, 1000);
        late.duration_ms += 40;
        let j = concat(vec![run(1, 2, 10, 1000), late]).expect("joins");
        assert_eq!((j.duration_ms, j.load.duration_ms), (5_040, 5_000));
        // Every measured response of every block, no later warm-up.
        assert_eq!(e.summary.requests, 80);
        let h = joined.measured_histogram(e).expect("decodes");
        assert_eq!(h.len(), 80);
        assert!(
            h.quantile_us(0.0)
                .is_some_and(|v| (990..=1010).contains(&v)),
            "1 ms of the first block"
        );
        assert!(
            h.quantile_us(1.0).is_some_and(|v| v >= 2990),
            "3 ms of the second"
        );
        let generator_indices: Vec<u32> =
            joined.generator.intervals.iter().map(|g| g.index).collect();
        assert_eq!(generator_indices, indices);
        let totals = joined.generator_totals();
        assert_eq!((totals.planned, totals.sent), (80, 80));
        // The joined file is an ordinary results file.
        let text = joined.to_json();
        assert_eq!(RunResult::from_json(&text).expect("loads"), joined);
    }

    #[test]
    fn blocks_of_different_profiles_do_not_join() {
        let mut other = run(1, 2, 10, 1000);
        other.profile.hash = "sha256:11".into();
        let err = concat(vec![run(1, 2, 10, 1000), other]).expect_err("differ");
        assert!(err.to_string().contains("the profile differs"), "{err}");
        assert!(matches!(concat(Vec::new()), Err(MergeError::Empty)));
    }
}
