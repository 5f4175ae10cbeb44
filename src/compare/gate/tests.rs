//! The gate's policy on seeded synthetic runs: A/A passes, single-endpoint changes, errors,
//! sample sizes, and (in `swings`) service-wide swings and tails.

mod swings;

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::compare::{IntervalData, RunData, ShiftStatus};
use crate::metrics::Histogram;

/// A synthetic run: per endpoint `(name, median µs)`, `per_second` requests a second for
/// `seconds`, log-normal latencies with a per-run offset, times `scale`, with `errors`
/// failures of class 5xx per second.
#[derive(Clone, Copy)]
struct Spec {
    seed: u64,
    per_second: u64,
    seconds: u32,
    scale: f64,
    errors: u64,
}

fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u = rng.f64().max(1e-12);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos()
}

fn run(spec: Spec, endpoints: &[(&str, f64)]) -> RunData {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let offset = 0.01 * normal(&mut rng);
    let data = endpoints
        .iter()
        .map(|&(name, median)| {
            let intervals = (0..spec.seconds)
                .map(|s| {
                    let mut h = Histogram::new();
                    for _ in 0..spec.per_second {
                        let v = median * spec.scale * (offset + 0.3 * normal(&mut rng)).exp();
                        h.record_us(v.round() as u64);
                    }
                    let mut errors = BTreeMap::new();
                    if spec.errors > 0 {
                        errors.insert(ErrorClass::Http5xx, spec.errors);
                    }
                    IntervalData::new(s, spec.per_second, errors, &h)
                })
                .collect();
            (name.to_string(), intervals)
        })
        .collect::<Vec<_>>();
    RunData::new(1000, 0, data)
}

const TWO: [(&str, f64); 2] = [("get customer", 20_000.0), ("add json", 5_000.0)];

fn spec(seed: u64) -> Spec {
    Spec {
        seed,
        per_second: 400,
        seconds: 60,
        scale: 1.0,
        errors: 0,
    }
}

fn judge_specs(current: Spec, baseline: &[Spec], endpoints: &[(&str, f64)]) -> Judgement {
    let gate = GateConfig::default();
    let b: Vec<RunSummary> = baseline
        .iter()
        .map(|s| run(*s, endpoints).summarize(&gate))
        .collect();
    judge(&run(current, endpoints).summarize(&gate), &b, &gate)
}

fn status(j: &Judgement, endpoint: &str, label: &str) -> MetricStatus {
    let Some(m) = j
        .metrics
        .iter()
        .find(|m| m.endpoint == endpoint && m.label == label)
    else {
        panic!("no metric {endpoint} {label}: {:#?}", j.metrics)
    };
    m.status
}

fn baseline(n: u64) -> Vec<Spec> {
    (1..=n).map(spec).collect()
}

const FIVE: [(&str, f64); 5] = [
    ("a", 3_000.0),
    ("b", 4_000.0),
    ("c", 5_000.0),
    ("d", 6_000.0),
    ("e", 8_000.0),
];

/// Like [`run`], with endpoint `slow.0` scaled by `slow.1` and, of its requests, a share
/// `tail.0` getting `tail.1` µs added.
fn run_changed(spec: Spec, slow: (usize, f64), tail: (f64, f64)) -> RunData {
    let mut endpoints = FIVE;
    endpoints[slow.0].1 *= slow.1;
    let mut data = run(spec, &endpoints);
    if tail.0 > 0.0 {
        let mut rng = fastrand::Rng::with_seed(spec.seed ^ 0x5eed);
        slow_down(&mut data.endpoints[slow.0].intervals, &mut rng, tail);
    }
    data
}

/// Of `intervals`' responses, a share `tail.0` gets `tail.1` µs added.
fn slow_down(intervals: &mut [IntervalData], rng: &mut fastrand::Rng, tail: (f64, f64)) {
    for i in intervals {
        let mut h = Histogram::new();
        for &(v, n) in &i.latency {
            for _ in 0..n {
                let extra = if rng.f64() < tail.0 { tail.1 } else { 0.0 };
                h.record_us(v + extra as u64);
            }
        }
        *i = IntervalData::new(i.index, i.requests, i.errors.clone(), &h);
    }
}

fn judge_five(current: &RunData, per_second: u64) -> Judgement {
    let gate = GateConfig::default();
    let b: Vec<RunSummary> = (1..=5)
        .map(|seed| {
            let mut s = spec(seed);
            s.per_second = per_second;
            run(s, &FIVE).summarize(&gate)
        })
        .collect();
    judge(&current.summarize(&gate), &b, &gate)
}

fn five(seed: u64, per_second: u64, scale: f64) -> Spec {
    Spec {
        per_second,
        scale,
        ..spec(seed)
    }
}

#[test]
fn an_a_a_comparison_passes() {
    let j = judge_specs(spec(100), &baseline(5), &TWO);
    assert_eq!(j.verdict, Verdict::Pass, "{:#?}", j.metrics);
    assert_eq!(j.family_size, 6);
    for m in &j.metrics {
        assert_eq!(m.status, MetricStatus::Pass, "{m:#?}");
        let ci = m.ci90.expect("gated metrics have an interval");
        assert!(ci.low < 1.0 && 1.0 < ci.high, "{m:#?}");
    }
}

#[test]
fn a_slower_endpoint_is_a_regression_naming_it() {
    let mut current = spec(100);
    current.scale = 1.3;
    let j = judge_specs(current, &baseline(5), &[TWO[0]]);
    assert_eq!(j.verdict, Verdict::Regression);
    for label in ["p50", "p95"] {
        assert_eq!(status(&j, "get customer", label), MetricStatus::Regression);
    }
    assert!(
        j.reasons.iter().any(|r| r.starts_with("get customer p50:")),
        "{:?}",
        j.reasons
    );
    let m = &j.metrics[0];
    let ratio = m.ratio.expect("a ratio");
    assert!((1.2..1.4).contains(&ratio), "{ratio}");
    assert!(m.p_adjusted.is_some_and(|p| p <= 0.01));
}

#[test]
fn a_faster_endpoint_is_an_improvement() {
    let mut current = spec(100);
    current.scale = 0.7;
    let j = judge_specs(current, &baseline(5), &[TWO[0]]);
    assert_eq!(j.verdict, Verdict::Improvement);
    assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Improvement);
}

#[test]
fn a_small_change_within_tolerance_passes() {
    let mut current = spec(100);
    current.scale = 1.02;
    let j = judge_specs(current, &baseline(10), &[TWO[0]]);
    assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Pass);
    assert_eq!(status(&j, "get customer", "p95"), MetricStatus::Pass);
}

#[test]
fn too_few_samples_are_report_only_and_never_pass_alone() {
    // 3,000 responses: p50 gated; p95 and p99 short of their 4,000 and 20,000.
    let small = |seed| Spec {
        per_second: 100,
        seconds: 30,
        ..spec(seed)
    };
    let j = judge_specs(small(100), &[small(1), small(2), small(3)], &[TWO[0]]);
    assert_eq!(status(&j, "get customer", "p95"), MetricStatus::ReportOnly);
    assert_eq!(status(&j, "get customer", "p99"), MetricStatus::ReportOnly);
    assert_ne!(status(&j, "get customer", "p50"), MetricStatus::ReportOnly);
    // Nothing gateable at all: the overall verdict is inconclusive, never a pass.
    let tiny = |seed| Spec {
        per_second: 5,
        seconds: 30,
        ..spec(seed)
    };
    let j = judge_specs(tiny(100), &[tiny(1), tiny(2)], &[TWO[0]]);
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert!(
        j.reasons[0].contains("no latency metric"),
        "{:?}",
        j.reasons
    );
}

#[test]
fn a_current_run_short_of_samples_is_inconclusive() {
    let short = Spec {
        seconds: 5,
        ..spec(100)
    };
    let j = judge_specs(short, &baseline(3), &[TWO[0]]);
    assert_eq!(
        status(&j, "get customer", "p95"),
        MetricStatus::Inconclusive
    );
    assert_eq!(j.verdict, Verdict::Inconclusive);
}

#[test]
fn an_endpoint_missing_from_the_baseline_is_inconclusive() {
    let gate = GateConfig::default();
    let b = vec![run(spec(1), &[TWO[0]]).summarize(&gate)];
    let j = judge(&run(spec(100), &TWO).summarize(&gate), &b, &gate);
    assert_eq!(status(&j, "add json", "p50"), MetricStatus::Inconclusive);
    assert_eq!(j.verdict, Verdict::Inconclusive);
}

#[test]
fn ungated_endpoints_are_report_only() {
    let gate = GateConfig {
        endpoints: Some(vec!["get customer".into()]),
        ..GateConfig::default()
    };
    let b: Vec<RunSummary> = (1..=3)
        .map(|s| run(spec(s), &TWO).summarize(&gate))
        .collect();
    let mut current = spec(100);
    current.scale = 2.0;
    let j = judge(&run(current, &TWO).summarize(&gate), &b, &gate);
    assert_eq!(status(&j, "add json", "p50"), MetricStatus::ReportOnly);
    assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Regression);
}

#[test]
fn new_errors_beyond_the_tolerance_are_a_regression() {
    let mut current = spec(100);
    current.errors = 2; // 0.5% of 400 a second, none in the baseline
    let j = judge_specs(current, &baseline(5), &[TWO[0]]);
    assert_eq!(
        status(&j, "get customer", "errors http_5xx"),
        MetricStatus::Regression
    );
    assert_eq!(j.verdict, Verdict::Regression);
    // The same rate in the baseline: no change.
    let mut base = baseline(5);
    for b in &mut base {
        b.errors = 2;
    }
    let j = judge_specs(current, &base, &[TWO[0]]);
    assert_eq!(
        status(&j, "get customer", "errors http_5xx"),
        MetricStatus::Pass
    );
}

#[test]
fn rare_errors_are_no_regression() {
    // 3 errors in a minute where the baseline had none: below the tolerance.
    let mut current = spec(100);
    current.errors = 1;
    current.seconds = 60;
    let gate = GateConfig::default();
    let b: Vec<RunSummary> = baseline(5)
        .iter()
        .map(|s| run(*s, &[TWO[0]]).summarize(&gate))
        .collect();
    let mut data = run(current, &[TWO[0]]);
    for (i, interval) in data.endpoints[0].intervals.iter_mut().enumerate() {
        if i >= 3 {
            interval.errors.clear();
        }
    }
    let j = judge(&data.summarize(&gate), &b, &gate);
    assert_eq!(
        status(&j, "get customer", "errors http_5xx"),
        MetricStatus::Pass
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Comparing a run with itself (as one or several baseline runs) is never a regression.
    #[test]
    fn a_run_compared_with_itself_never_regresses(
        seed in any::<u64>(),
        per_second in 5u64..300,
        seconds in 3u32..40,
        copies in 1usize..4,
        errors in 0u64..3,
    ) {
        let gate = GateConfig::default();
        let s = Spec { seed, per_second, seconds, scale: 1.0, errors: errors.min(per_second) };
        let summary = run(s, &TWO).summarize(&gate);
        let j = judge(&summary, &vec![summary.clone(); copies], &gate);
        prop_assert_ne!(j.verdict, Verdict::Regression);
        for m in &j.metrics {
            prop_assert_ne!(m.status, MetricStatus::Regression);
        }
    }

    /// Every latency 50% higher, with ample data, is always a regression.
    #[test]
    fn fifty_percent_slower_with_ample_data_always_regresses(
        seed in any::<u64>(),
        runs in 1u64..6,
    ) {
        let base: Vec<Spec> = (0..runs).map(|i| spec(seed.wrapping_add(i))).collect();
        let mut current = spec(seed.wrapping_add(1000));
        current.scale = 1.5;
        let j = judge_specs(current, &base, &[TWO[0]]);
        prop_assert_eq!(j.verdict, Verdict::Regression);
        prop_assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Regression);
    }
}

/// A latency test of a change `diff` (log scale) with standard error `se`, a baseline spread
/// `s_used` and within-run variances (current, baseline), its p-values from a normal
/// approximation (enough for the decision's branches).
fn outcome(diff: f64, se: f64, s_used: f64, within: (f64, f64)) -> LatencyOutcome {
    let z = diff / se;
    let p_up = 1.0 - stats::t_cdf(z, 1e6);
    LatencyOutcome {
        center: crate::compare::verdict::Center::Mean,
        center_log: 1000f64.ln(),
        diff,
        se,
        df: 24.0,
        s_between: Some(s_used),
        s_prior: s_used,
        s_used,
        w_current: Some(within.0),
        w_baseline: Some(within.1),
        p_up,
        p_down: 1.0 - p_up,
        ci90: ((diff - 1.711 * se).exp(), (diff + 1.711 * se).exp()),
    }
}

fn decided(t: &LatencyOutcome, holm_up: f64) -> MetricVerdict {
    let v = metric::undecided(
        "search",
        Metric::Latency { quantile: 0.5 },
        crate::compare::verdict::Unit::Us,
        0.08,
    );
    decision::decide_latency(v, t, Some((holm_up, 1.0, 0.5)), 0.01, 0.001, 5)
}

#[test]
fn a_change_within_a_coarse_comparisons_noise_passes_and_says_how_coarse() {
    // The relative p50 of a noisy endpoint on a real service: SE 6.5%, +4% measured.
    let t = outcome(0.04, 0.065, 0.06, (0.0001, 0.0001));
    assert!(t.ci90.1 > 1.08, "the interval reaches past the tolerance");
    let v = decided(&t, 1.0);
    assert_eq!(v.status, MetricStatus::Pass, "{}", v.reason);
    assert!(v.reason.starts_with("within noise: +4.1%"), "{}", v.reason);
    assert!(
        v.reason.contains("only detects changes of +"),
        "{}",
        v.reason
    );
}

#[test]
fn a_slowdown_significant_alone_but_not_over_the_family_stays_inconclusive() {
    // +17% at SE 6.5%: p ≈ 0.008 alone, not significant after Holm.
    let t = outcome(0.155, 0.065, 0.06, (0.0001, 0.0001));
    assert!(t.p_up < 0.01);
    let v = decided(&t, 0.08);
    assert_eq!(v.status, MetricStatus::Inconclusive, "{}", v.reason);
    // Significant over the family too, and beyond the tolerance: a regression.
    let v = decided(&t, 0.005);
    assert_eq!(v.status, MetricStatus::Regression, "{}", v.reason);
}

#[test]
fn a_run_noisier_inside_than_its_baseline_does_not_pass_on_its_own_noise() {
    // The same +4%, but the interval is wide because the current run stalled: its within-run
    // variance exceeds the baseline runs' by more than their run-to-run variance.
    let t = outcome(0.04, 0.065, 0.02, (0.004, 0.0002));
    let v = decided(&t, 1.0);
    assert_eq!(v.status, MetricStatus::Inconclusive, "{}", v.reason);
}

#[test]
fn a_baseline_recorded_in_one_sitting_is_told_apart_from_one_kept_by_merges() {
    use super::evaluate::one_sitting;
    use std::time::Duration;
    // bench/gate-real's baseline: five runs in a row, minutes apart.
    let sitting = [
        "2026-12-04T01:01:00.226Z",
        "2026-12-04T01:01:36.844Z",
        "2026-12-04T01:02:13.566Z",
        "2026-12-04T01:02:50.421Z",
        "2026-12-04T01:03:26.880Z",
    ];
    assert_eq!(
        one_sitting(sitting.into_iter()),
        Some(Duration::from_millis(146_654))
    );
    // Runs recorded by merges, hours apart, in any order.
    let merges = [
        "2026-12-02T14:00:00Z",
        "2026-12-01T09:00:00Z",
        "2026-12-03T10:30:00Z",
    ];
    assert_eq!(one_sitting(merges.into_iter()), None);
    // Two runs say nothing of a sitting; a time that does not parse says nothing either.
    assert_eq!(one_sitting(sitting[..2].iter().copied()), None);
    assert_eq!(
        one_sitting(["yesterday", sitting[0], sitting[1]].into_iter()),
        None
    );
}
