//! A search's steps, each its own engine run, joined into one results file: the intervals of
//! each step follow those of the step before (schedule time, without the drains between steps),
//! so the file is an ordinary open-model run whose plan is the steps that ran, plus the
//! `capacity` section. Counts and histograms are carried over exactly.

use crate::metrics::{EncodedHistogram, ErrorSamples, Histogram};
use crate::results::capacity::Capacity;
use crate::results::{LoadPlan, ResultsError, RunResult, Segment};

/// One step's engine run and the length of its schedule (warm-up included), in ms.
#[derive(Debug, Clone)]
pub struct StepRun {
    /// The step's results.
    pub result: RunResult,
    /// Its schedule's length (the warm-up and the hold), in ms.
    pub schedule_ms: u64,
    /// The rate it scheduled.
    pub rate_per_sec: f64,
}

/// Intervals a schedule of `schedule_ms` spans.
pub fn intervals_of(schedule_ms: u64, interval_ms: u64) -> u32 {
    u32::try_from(schedule_ms.div_ceil(interval_ms.max(1))).unwrap_or(u32::MAX)
}

/// Joins the steps (in the order they ran) into one results file carrying `capacity`. `None`
/// when no step ran.
pub fn stitch(steps: Vec<StepRun>, capacity: Capacity) -> Result<Option<RunResult>, ResultsError> {
    let mut iter = steps.into_iter();
    let Some(first) = iter.next() else {
        return Ok(None);
    };
    let interval_ms = first.result.interval_ms;
    let warmup_ms = first.result.load.warmup_ms;
    let mut out = first.result.clone();
    out.partial = false;
    out.partial_reason = None;
    out.duration_ms = 0;
    for e in &mut out.endpoints {
        e.intervals.clear();
        e.error_samples.clear();
    }
    for s in &mut out.scenarios {
        s.intervals.clear();
    }
    out.generator.intervals.clear();
    out.generator.peak_in_flight = 0;
    let mut lag = Histogram::new();
    let mut samples = ErrorSamples::default();
    let mut segments = Vec::new();
    let mut offset: u32 = 0;
    let mut start_ms: u64 = 0;
    for (k, step) in std::iter::once(first).chain(iter).enumerate() {
        let r = step.result;
        if k == 0 && warmup_ms > 0 {
            segments.push(Segment {
                start_ms: 0,
                duration_ms: warmup_ms,
                from: step.rate_per_sec,
                to: step.rate_per_sec,
            });
        }
        let own_warmup = if k == 0 { warmup_ms } else { 0 };
        segments.push(Segment {
            start_ms: start_ms + own_warmup,
            duration_ms: step.schedule_ms.saturating_sub(own_warmup),
            from: step.rate_per_sec,
            to: step.rate_per_sec,
        });
        for (mine, theirs) in out.endpoints.iter_mut().zip(&r.endpoints) {
            mine.intervals
                .extend(theirs.intervals.iter().cloned().map(|mut i| {
                    i.index += offset;
                    i
                }));
        }
        samples.merge(ErrorSamples::from_results(
            r.endpoints.iter().map(|e| e.error_samples.clone()),
        ));
        for (mine, theirs) in out.scenarios.iter_mut().zip(&r.scenarios) {
            mine.intervals
                .extend(theirs.intervals.iter().cloned().map(|mut i| {
                    i.index += offset;
                    i
                }));
        }
        out.generator
            .intervals
            .extend(r.generator.intervals.iter().copied().map(|mut g| {
                g.index += offset;
                g
            }));
        lag.add(
            &r.generator
                .schedule_lag
                .decode()
                .map_err(|source| ResultsError::Histogram {
                    path: "generator.schedule_lag".into(),
                    source,
                })?,
        );
        out.generator.peak_in_flight = out.generator.peak_in_flight.max(r.generator.peak_in_flight);
        out.duration_ms += r.duration_ms;
        if r.partial && capacity.stop == super::StopReason::Interrupted {
            out.partial = true;
            out.partial_reason.clone_from(&r.partial_reason);
        }
        offset = offset.saturating_add(intervals_of(step.schedule_ms, interval_ms));
        start_ms += step.schedule_ms;
    }
    for (i, e) in out.endpoints.iter_mut().enumerate() {
        e.error_samples = samples.take(i);
    }
    out.generator.schedule_lag = EncodedHistogram::encode(&lag);
    out.load = LoadPlan {
        duration_ms: start_ms,
        segments,
        ..out.load
    };
    out.capacity = Some(capacity);
    out.refresh_summaries()?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{SearchSettings, StopReason};
    use crate::results::capacity::test_step;

    fn capacity() -> Capacity {
        Capacity {
            settings: SearchSettings {
                start_per_sec: 10.0,
                growth: "×2".into(),
                hold_ms: 2000,
                refine: 0,
                min_achieved_ratio: 0.95,
                collapse_error_ratio: 0.1,
                max_rate_per_sec: 100.0,
                max_duration_ms: 60_000,
            },
            sustainable_per_sec: Some(10.0),
            breaking_per_sec: Some(20.0),
            stop: StopReason::Refined,
            steps: Vec::new(),
        }
    }

    #[test]
    fn steps_follow_each_other_and_every_count_is_kept() {
        // The first step has one warm-up interval, then two of hold; the second two of hold.
        let first = test_step(&[(10, 0, 1000), (10, 0, 1000), (10, 1, 1000)], 1, 400);
        let second = test_step(&[(20, 2, 5000), (20, 3, 5000)], 0, 900);
        let runs = vec![
            StepRun {
                result: first,
                schedule_ms: 3000,
                rate_per_sec: 10.0,
            },
            StepRun {
                result: second,
                schedule_ms: 2000,
                rate_per_sec: 20.0,
            },
        ];
        let out = stitch(runs, capacity()).unwrap().unwrap();
        let indices: Vec<u32> = out.endpoints[0].intervals.iter().map(|i| i.index).collect();
        assert_eq!(indices, [0, 1, 2, 3, 4]);
        let g: Vec<u32> = out.generator.intervals.iter().map(|g| g.index).collect();
        assert_eq!(g, [0, 1, 2, 3, 4]);
        assert_eq!(out.load.warmup_ms, 1000);
        assert_eq!(out.load.duration_ms, 5000);
        let segments: Vec<(u64, u64, f64)> = out
            .load
            .segments
            .iter()
            .map(|s| (s.start_ms, s.duration_ms, s.to))
            .collect();
        assert_eq!(
            segments,
            [(0, 1000, 10.0), (1000, 2000, 10.0), (3000, 2000, 20.0)]
        );
        // The measured phase (after the warm-up) holds both steps' requests and errors.
        assert_eq!(out.endpoints[0].summary.requests, 60);
        assert_eq!(out.endpoints[0].summary.errors, 6);
        assert_eq!(out.endpoints[0].warmup.requests, 10);
        let lag = out.generator.schedule_lag.decode().unwrap();
        assert_eq!(lag.len(), 200, "both steps' schedule lag");
        assert!(!out.partial);
        assert_eq!(
            out.capacity.as_ref().map(|c| c.stop),
            Some(StopReason::Refined)
        );
        // The file reads back as any results file does.
        assert_eq!(RunResult::from_json(&out.to_json()).unwrap(), out);
    }

    #[test]
    fn no_steps_no_results() {
        assert!(stitch(Vec::new(), capacity()).unwrap().is_none());
    }
}
