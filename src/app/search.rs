//! `loadgate run` of a capacity search (`load.model: search`): every step is one engine run at
//! one rate; the pure [`Searcher`] picks the next rate from the verdicts so far, and the steps
//! are stitched into one results file with its `capacity` section.
//!
//! A step whose error rate passes the collapse point is stopped as soon as an interval shows
//! it, so a fragile service is not hammered for the rest of the hold. No step is started that
//! could not end within the duration cap; Ctrl-C stops the step in progress and the search.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::live::Live;
use super::run::ProgressView;
use crate::capacity::{
    self, Capacity, Next, Placement, SearchSettings, Searcher, StepEnd, StepRun,
};
use crate::engine::{self, RunExtras, RunOptions, Stop};
use crate::error::Error;
use crate::profile::{Load, Profile, Segment};
use crate::report::capacity as render;
use crate::results::RunResult;

/// An engine run starts its schedule this long after it is called (see `engine::run`), and
/// preparing it takes a moment more: allowed for when checking the duration cap.
const START_ALLOWANCE: Duration = Duration::from_millis(100);

/// Requests a step must have finished before its error rate can call a collapse.
const COLLAPSE_MIN_REQUESTS: u64 = 20;

/// Runs the search and returns its stitched results.
pub(super) async fn search(
    profile: &Arc<Profile>,
    options: &RunOptions,
    interrupt: &Arc<Stop>,
    view: &ProgressView,
    live: Option<&Live>,
) -> Result<RunResult, Error> {
    let Some(search) = profile.load.search() else {
        return Err(Error::Usage(format!(
            "profile `{}` is not a capacity search",
            profile.name
        )));
    };
    let interval_ms = profile.load.interval.as_millis() as u64;
    let mut searcher = Searcher::new(search);
    let started = Instant::now();
    let mut runs: Vec<StepRun> = Vec::new();
    let mut steps = Vec::new();
    let (mut first_interval, mut first_arrival) = (0u32, 0u64);
    let reason = loop {
        if interrupt.is_triggered() {
            break capacity::StopReason::Interrupted;
        }
        let warmup = if runs.is_empty() {
            profile.load.warmup
        } else {
            Duration::ZERO
        };
        let length = warmup + search.hold;
        let (rate, phase) = match searcher.next(started.elapsed() + START_ALLOWANCE, length) {
            Next::Stop(reason) => break reason,
            Next::Step { rate, phase } => (rate, phase),
        };
        let load = step_load(&profile.load, rate, warmup, search.hold);
        let planned = load.total_arrivals();
        let step_stop = Arc::new(Stop::default());
        let forward = {
            let (outer, inner) = (interrupt.clone(), step_stop.clone());
            tokio::spawn(async move {
                outer.wait().await;
                inner.trigger();
            })
        };
        let mut show = view.for_schedule(&load);
        if let Some(l) = live {
            l.begin_step(steps.len(), rate);
        }
        let (mut requests, mut errors, mut collapsed) = (0u64, 0u64, false);
        let collapse = search.collapse_error_ratio;
        let result = engine::run_with(
            profile.clone(),
            options.clone(),
            RunExtras {
                load: Some(load),
                first_arrival,
                gauges: live.map(Live::gauges),
            },
            step_stop.clone(),
            |p| {
                show(p);
                if let Some(l) = live {
                    l.observe(p);
                }
                requests += p.requests;
                errors += p.errors;
                if !collapsed
                    && requests >= COLLAPSE_MIN_REQUESTS
                    && errors as f64 / requests as f64 >= collapse
                {
                    collapsed = true;
                    step_stop.trigger_because(format!(
                        "the error rate passed the collapse point ({} at {})",
                        crate::format::percent(errors as f64 / requests as f64),
                        crate::format::rate(rate)
                    ));
                }
            },
        )
        .await;
        forward.abort();
        let result = result?;
        let end = if interrupt.is_triggered() {
            StepEnd::Cut
        } else if collapsed {
            StepEnd::Collapsed
        } else if result.partial {
            StepEnd::Cut
        } else {
            StepEnd::Ran
        };
        let warmup_intervals =
            capacity::stitch::intervals_of(warmup.as_millis() as u64, interval_ms);
        let schedule_ms = length.as_millis() as u64;
        let placement = Placement {
            first_interval: first_interval + warmup_intervals,
            intervals: capacity::stitch::intervals_of(schedule_ms, interval_ms)
                .saturating_sub(warmup_intervals),
        };
        let step = capacity::judge_step(
            &result,
            rate,
            phase,
            search,
            &profile.thresholds,
            end,
            placement,
        )
        .map_err(|source| Error::Results {
            path: "(capacity search step)".into(),
            source,
        })?;
        searcher.record(rate, phase, step.status);
        view.line(&render::step_line(steps.len(), &step));
        first_interval += capacity::stitch::intervals_of(schedule_ms, interval_ms);
        first_arrival += planned;
        runs.push(StepRun {
            result,
            schedule_ms,
            rate_per_sec: rate,
        });
        steps.push(step);
    };
    let capacity = Capacity {
        settings: SearchSettings::of(search),
        sustainable_per_sec: searcher.sustainable(),
        breaking_per_sec: searcher.breaking(),
        stop: reason,
        steps,
    };
    capacity::stitch(runs, capacity)
        .map_err(|source| Error::Results {
            path: "(capacity search)".into(),
            source,
        })?
        .ok_or_else(|| {
            Error::Usage(format!(
                "the capacity search of `{}` ran no step: `max_duration` leaves no time for one",
                profile.name
            ))
        })
}

/// The plan of one step: the warm-up (first step only) and the hold, at `rate`.
fn step_load(load: &Load, rate: f64, warmup: Duration, hold: Duration) -> Load {
    let mut segments = Vec::with_capacity(2);
    if !warmup.is_zero() {
        segments.push(Segment {
            start: Duration::ZERO,
            duration: warmup,
            from: rate,
            to: rate,
        });
    }
    segments.push(Segment {
        start: warmup,
        duration: hold,
        from: rate,
        to: rate,
    });
    Load {
        warmup,
        segments,
        ..load.clone()
    }
}
