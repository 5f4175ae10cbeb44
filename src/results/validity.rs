//! Checks on a run before any verdict: did it finish, are all shards present, did the generator
//! keep to its schedule, did it measure anything. A failed check makes the run untrusted: the
//! generator, not the service, may have shaped the numbers.

use super::checks::{CheckKind, CheckStatus, ValidityCheck};
use crate::format::{count, latency_us, percent};
use crate::results::{LoadModel, RunResult};

/// Largest tolerated deviation of the achieved arrivals from the schedule (open model).
pub const RATE_TOLERANCE: f64 = 0.02;
/// Largest tolerated 95th percentile of the schedule lag, µs. Latency is measured from the
/// intended send time, so lag never hides latency, but when more than 5% of arrivals leave
/// this late the generator itself was short of CPU and its own delays are in the numbers.
/// (The 95th rather than the 99th percentile, so one scheduling hiccup in a short run does not
/// condemn it.)
pub const MAX_LAG_P95_US: u64 = 20_000;
/// Smallest tolerated share of the target users actually running (closed model).
pub const MIN_USERS_RATIO: f64 = 0.98;

/// Every check on one run, passed or failed, in report order.
pub fn run_checks(result: &RunResult) -> Vec<ValidityCheck> {
    let mut checks = Vec::with_capacity(4);
    checks.push(match (&result.partial, &result.partial_reason) {
        (false, _) => ok(CheckKind::Complete, "the run finished".into()),
        (true, reason) => failed(
            CheckKind::Complete,
            format!(
                "the run stopped early ({}): its numbers are incomplete",
                reason.as_deref().unwrap_or("no reason recorded")
            ),
        ),
    });
    if result.shard.count > 1 || !result.shard.is_complete() {
        checks.push(if result.shard.is_complete() {
            ok(
                CheckKind::Shards,
                format!("all {} shards merged", result.shard.count),
            )
        } else {
            failed(
                CheckKind::Shards,
                format!(
                    "only {} of {} shards are present: merge every shard with `loadgate merge`",
                    result.shard.indices.len(),
                    result.shard.count
                ),
            )
        });
    }
    let requests: u64 = result
        .endpoints
        .iter()
        .flat_map(|e| &e.intervals)
        .filter(|i| !result.is_warmup(i.index))
        .map(|i| i.requests)
        .sum();
    checks.push(if requests == 0 {
        failed(
            CheckKind::Requests,
            "the run finished no requests after its warm-up".into(),
        )
    } else {
        ok(
            CheckKind::Requests,
            format!("{} requests measured", count(requests)),
        )
    });
    checks.push(generator_check(result));
    checks
}

fn generator_check(result: &RunResult) -> ValidityCheck {
    if let Some(c) = &result.capacity {
        return search_generator_check(c);
    }
    let totals = result.generator_totals();
    match result.load.model {
        LoadModel::Open => {
            // A run stopped early is held to what its schedule intended until the stop (the
            // stop is its own failed check), not to the whole plan.
            let expected = if result.partial {
                totals.planned as f64
            } else {
                planned_arrivals(result)
            };
            let mut problems = Vec::new();
            let achieved = if expected > 0.0 {
                totals.sent as f64 / expected
            } else {
                1.0
            };
            if (achieved - 1.0).abs() > RATE_TOLERANCE {
                problems.push(format!(
                    "sent {} of {} scheduled arrivals ({}), outside ±{}",
                    count(totals.sent),
                    count(expected.round() as u64),
                    percent(achieved),
                    percent(RATE_TOLERANCE)
                ));
            }
            if totals.dropped > 0 {
                problems.push(format!(
                    "{} arrivals dropped at the in-flight cap",
                    count(totals.dropped)
                ));
            }
            let lag_p95 = result.generator.schedule_lag_p95_us();
            problems.extend(lag_problem(lag_p95, "schedule lag"));
            if problems.is_empty() {
                ok(
                    CheckKind::Generator,
                    format!(
                        "sent {} of {} scheduled arrivals, none dropped, schedule lag p95 {}",
                        count(totals.sent),
                        count(expected.round() as u64),
                        latency_us(lag_p95)
                    ),
                )
            } else {
                failed(
                    CheckKind::Generator,
                    format!(
                        "the generator fell behind its schedule: {}",
                        problems.join(", ")
                    ),
                )
            }
        }
        LoadModel::Closed => {
            let short = result
                .generator
                .intervals
                .iter()
                .filter(|g| !result.is_warmup(g.index) && g.target_users > 0)
                .map(|g| g.users as f64 / g.target_users as f64)
                .fold(1.0, f64::min);
            // Users are compared with the schedule's, the spawn rate included (files written
            // before 2026-12 recorded the stage's level instead, so a run with `spawn_rate`
            // read as short of users after every step). A starved generator wakes its users
            // late from their think time: that lag is checked as the open model's is.
            let mut problems = Vec::new();
            if short < MIN_USERS_RATIO {
                problems.push(format!(
                    "ran only {} of the scheduled users at some point",
                    percent(short)
                ));
            }
            let lag_p95 = result.generator.schedule_lag_p95_us();
            problems.extend(lag_problem(
                lag_p95,
                "users woke from their think time late: lag",
            ));
            if problems.is_empty() {
                ok(
                    CheckKind::Generator,
                    format!(
                        "every scheduled user was running, think-time wake-up lag p95 {}",
                        latency_us(lag_p95)
                    ),
                )
            } else {
                failed(
                    CheckKind::Generator,
                    format!("the generator fell behind: {}", problems.join(", ")),
                )
            }
        }
    }
}

/// The problem with a schedule lag p95 (`what` names it) beyond [`MAX_LAG_P95_US`], if any.
fn lag_problem(lag_p95: u64, what: &str) -> Option<String> {
    (lag_p95 > MAX_LAG_P95_US).then(|| {
        format!(
            "{what} p95 {} exceeds {}",
            latency_us(lag_p95),
            latency_us(MAX_LAG_P95_US)
        )
    })
}

/// A capacity search drives the service past what it sustains: arrivals dropped at the
/// in-flight cap and a falling achieved rate are its findings (the `achieved` check of each
/// step), not the generator's failure. The generator failed only when its own schedule lag
/// was too high in a step, which stops the search.
fn search_generator_check(c: &super::capacity::Capacity) -> ValidityCheck {
    use super::capacity::StepStatus;
    let lag = c.steps.iter().map(|s| s.lag_p95_us).max().unwrap_or(0);
    match c
        .steps
        .iter()
        .position(|s| s.status == StepStatus::Generator)
    {
        Some(i) => failed(
            CheckKind::Generator,
            format!(
                "the generator fell behind its schedule in step {} ({}): schedule lag p95 {} exceeds {}",
                i + 1,
                crate::format::rate(c.steps[i].target_per_sec),
                latency_us(c.steps[i].lag_p95_us),
                latency_us(MAX_LAG_P95_US)
            ),
        ),
        None => ok(
            CheckKind::Generator,
            format!(
                "the generator kept to its schedule in the {} judged steps of the search (schedule lag p95 at most {})",
                c.steps
                    .iter()
                    .filter(|s| s.status != StepStatus::Generator)
                    .count(),
                latency_us(lag)
            ),
        ),
    }
}

/// Arrivals the schedule plans for the measured phase of the shards present.
fn planned_arrivals(result: &RunResult) -> f64 {
    let (from_ms, to_ms) = (result.load.warmup_ms as f64, result.load.duration_ms as f64);
    let mut total = 0.0;
    for s in &result.load.segments {
        let (s0, s1) = (s.start_ms as f64, (s.start_ms + s.duration_ms) as f64);
        let (a, b) = (s0.max(from_ms), s1.min(to_ms));
        if b <= a || s1 <= s0 {
            continue;
        }
        let level = |t: f64| s.from + (s.to - s.from) * (t - s0) / (s1 - s0);
        total += f64::midpoint(level(a), level(b)) * (b - a) / 1000.0;
    }
    let share = if result.shard.count == 0 {
        0.0
    } else {
        result.shard.indices.len() as f64 / f64::from(result.shard.count)
    };
    total * share
}

fn ok(check: CheckKind, detail: String) -> ValidityCheck {
    ValidityCheck {
        check,
        status: CheckStatus::Ok,
        detail,
    }
}

fn failed(check: CheckKind, detail: String) -> ValidityCheck {
    ValidityCheck {
        check,
        status: CheckStatus::Failed,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An open-model run planned for 20 s at 200/s, 1 s intervals, with `sent` of `planned`
    /// arrivals recorded in each of its first `intervals` intervals.
    fn open_run(intervals: u32, planned: u64, sent: u64, partial: bool) -> RunResult {
        let mut r = crate::results::capacity::test_step(
            &vec![(sent, 0, 1000); intervals as usize],
            0,
            1000,
        );
        r.load.duration_ms = 20_000;
        r.load.segments = vec![crate::results::Segment {
            start_ms: 0,
            duration_ms: 20_000,
            from: 200.0,
            to: 200.0,
        }];
        r.partial = partial;
        r.partial_reason = partial.then(|| "interrupted".to_string());
        for g in &mut r.generator.intervals {
            (g.planned, g.sent) = (planned, sent);
        }
        r
    }

    #[test]
    fn a_run_stopped_early_is_held_to_the_arrivals_scheduled_before_the_stop() {
        let generator = |r: &RunResult| {
            run_checks(r)
                .into_iter()
                .find(|c| c.check == CheckKind::Generator)
                .map(|c| (c.status, c.detail))
        };
        // Stopped after 3 of 20 s, every arrival scheduled until then sent: the stop is the
        // only problem, not a generator that "sent 600 of 4,000".
        let stopped = open_run(3, 200, 200, true);
        let (status, detail) = generator(&stopped).unwrap();
        assert_eq!(status, CheckStatus::Ok, "{detail}");
        assert!(detail.contains("sent 600 of 600"), "{detail}");
        // Stopped early with the generator behind as well: still caught.
        let behind = open_run(3, 200, 150, true);
        let (status, detail) = generator(&behind).unwrap();
        assert_eq!(status, CheckStatus::Failed, "{detail}");
        assert!(detail.contains("sent 450 of 600"), "{detail}");
        // A complete run is held to its whole plan, whatever its intervals recorded.
        let short = open_run(3, 200, 200, false);
        let (status, detail) = generator(&short).unwrap();
        assert_eq!(status, CheckStatus::Failed, "{detail}");
    }
}
