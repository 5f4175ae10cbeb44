//! Service-wide swings, shifted baselines and tail regressions.

use super::*;

#[test]
fn a_service_wide_swing_is_named_and_does_not_block() {
    let j = judge_five(&run_changed(five(100, 400, 1.3), (0, 1.0), (0.0, 0.0)), 400);
    assert_eq!(j.verdict, Verdict::Inconclusive, "{:#?}", j.reasons);
    assert!(
        j.metrics
            .iter()
            .all(|m| m.status != MetricStatus::Regression)
    );
    let p50 = j
        .shifts
        .iter()
        .find(|s| s.label == "p50")
        .expect("a p50 shift");
    assert_eq!(p50.status, ShiftStatus::Uniform);
    assert!((p50.ratio - 1.3).abs() < 0.03, "{p50:?}");
    assert_eq!(p50.endpoints, 5);
    assert!(
        j.reasons[0].starts_with("every endpoint +3"),
        "{:#?}",
        j.reasons
    );
    assert!(
        j.reasons[0].contains("service-wide shift"),
        "{}",
        j.reasons[0]
    );
}

#[test]
fn one_endpoint_slower_inside_a_swing_still_regresses() {
    for swing in [0.8, 1.0, 1.3] {
        let j = judge_five(
            &run_changed(five(100, 400, swing), (2, 1.25), (0.0, 0.0)),
            400,
        );
        assert_eq!(
            j.verdict,
            Verdict::Regression,
            "swing {swing}: {:#?}",
            j.reasons
        );
        assert_eq!(
            status(&j, "c", "p50"),
            MetricStatus::Regression,
            "swing {swing}"
        );
        for other in ["a", "b", "d", "e"] {
            assert_ne!(
                status(&j, other, "p50"),
                MetricStatus::Regression,
                "{other}"
            );
        }
    }
}

#[test]
fn a_shift_beyond_the_swings_blocks() {
    let j = judge_five(&run_changed(five(100, 400, 1.7), (0, 1.0), (0.0, 0.0)), 400);
    assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    assert!(
        j.shifts
            .iter()
            .all(|s| s.status == ShiftStatus::BeyondSwings),
        "{:#?}",
        j.shifts
    );
}

/// Five baseline runs at 400/s, the last `shifted` as a whole (a service-wide swing).
fn judge_five_shifted(current: &RunData, shifted: f64) -> Judgement {
    let gate = GateConfig::default();
    let b: Vec<RunSummary> = (1..=5)
        .map(|seed| {
            let scale = if seed == 5 { shifted } else { 1.0 };
            run(five(seed, 400, scale), &FIVE).summarize(&gate)
        })
        .collect();
    judge(&current.summarize(&gate), &b, &gate)
}

#[test]
fn a_swing_within_the_baseline_runs_own_swings_passes() {
    let j = judge_five_shifted(
        &run_changed(five(100, 400, 1.25), (0, 1.0), (0.0, 0.0)),
        1.3,
    );
    assert_eq!(j.verdict, Verdict::Pass, "{:#?}", j.reasons);
    let p50 = j
        .shifts
        .iter()
        .find(|s| s.label == "p50")
        .expect("a p50 shift");
    assert_eq!(p50.status, ShiftStatus::WithinSwings);
    let range = p50.baseline_range.expect("five baseline runs have a range");
    assert!(range.high > 1.2, "{range:?}");
    assert!(
        j.reasons[0].contains("within the swings of the baseline runs"),
        "{}",
        j.reasons[0]
    );
    // The same swing against a baseline without one is beyond its swings: inconclusive.
    let j = judge_five_shifted(
        &run_changed(five(100, 400, 1.25), (0, 1.0), (0.0, 0.0)),
        1.0,
    );
    assert_eq!(j.verdict, Verdict::Inconclusive, "{:#?}", j.reasons);
}

#[test]
fn a_shifted_baseline_run_does_not_widen_every_interval() {
    // Judged as measured, the shifted baseline run makes every p50's interval ±15% or
    // more; judged against the other endpoints, it cancels.
    let j = judge_five_shifted(&run_changed(five(100, 400, 1.0), (0, 1.0), (0.0, 0.0)), 1.3);
    assert_eq!(j.verdict, Verdict::Pass, "{:#?}", j.reasons);
    for m in j.metrics.iter().filter(|m| m.label == "p50") {
        let Some(Detail::Latency(d)) = &m.detail else {
            panic!("{m:?}")
        };
        assert!(d.service_factor.is_some(), "{m:?}");
        let ci = m.ci90.expect("a tested metric has an interval");
        assert!(ci.high < 1.08, "{}: {ci:?}", m.endpoint);
    }
    // A +25% change on one endpoint is still caught with that baseline.
    let j = judge_five_shifted(
        &run_changed(five(100, 400, 1.0), (3, 1.25), (0.0, 0.0)),
        1.3,
    );
    assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    assert_eq!(status(&j, "d", "p50"), MetricStatus::Regression);
}

/// Endpoints `a` and `b` at 400/s, `c`, `d`, `e` at 40/s for 60 s, all × `scale`, and
/// endpoint `slow.0` × `slow.1`: only `a` and `b` have the 4,000 responses p95 needs.
fn mixed(seed: u64, scale: f64, slow: (usize, f64)) -> RunData {
    let mut endpoints = FIVE;
    endpoints[slow.0].1 *= slow.1;
    let busy = run(five(seed, 400, scale), &endpoints[..2]);
    let quiet = run(five(seed ^ 0xabc, 40, scale), &endpoints[2..]);
    RunData::new(
        1000,
        0,
        busy.endpoints
            .into_iter()
            .chain(quiet.endpoints)
            .map(|e| (e.name, e.intervals)),
    )
}

#[test]
fn a_quantile_too_thin_for_its_own_factor_borrows_the_medians() {
    let gate = GateConfig::default();
    let b: Vec<RunSummary> = (1..=5)
        .map(|seed| mixed(seed, 1.0, (0, 1.0)).summarize(&gate))
        .collect();
    let judge_run = |scale: f64, slow: (usize, f64)| {
        judge(&mixed(100, scale, slow).summarize(&gate), &b, &gate)
    };
    // A swing of the whole service: the two gateable p95s follow the medians' factor.
    let j = judge_run(1.3, (0, 1.0));
    assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    for e in ["a", "b"] {
        assert_ne!(status(&j, e, "p95"), MetricStatus::Regression, "{e}");
        let m = j
            .metrics
            .iter()
            .find(|m| m.endpoint == e && m.label == "p95")
            .expect("p95 of a busy endpoint");
        let Some(Detail::Latency(d)) = &m.detail else {
            panic!("{m:?}")
        };
        assert!(
            d.service_factor.is_some_and(|f| (f - 1.3).abs() < 0.05),
            "{d:?}"
        );
    }
    // One busy endpoint 25% slower throughout: its p95 regresses too.
    let j = judge_run(1.0, (0, 1.25));
    assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    assert_eq!(status(&j, "a", "p95"), MetricStatus::Regression);
}

#[test]
fn a_tail_regression_is_caught_below_the_samples_a_tail_quantile_needs() {
    // 30/s for 60 s: 1,800 responses, too few to gate p95 (4,000) or p99 (20,000).
    let j = judge_five(
        &run_changed(five(100, 30, 1.0), (2, 1.0), (0.1, 40_000.0)),
        30,
    );
    assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    let m = j
        .metrics
        .iter()
        .find(|m| m.endpoint == "c" && m.label == "p95")
        .expect("c p95");
    assert_eq!(m.status, MetricStatus::Regression, "{m:#?}");
    let Some(Detail::TailShare(t)) = &m.detail else {
        panic!("judged by its tail share: {m:#?}")
    };
    assert!(t.share_ratio > 2.0, "{t:?}");
    // The same volume unchanged: no tail regression anywhere.
    let j = judge_five(&run_changed(five(100, 30, 1.0), (2, 1.0), (0.0, 0.0)), 30);
    assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    assert!(
        j.metrics
            .iter()
            .any(|m| matches!(m.detail, Some(Detail::TailShare(_)))),
        "tail tests ran"
    );
}

#[test]
fn tails_that_grow_on_every_endpoint_together_do_not_block() {
    // A busy host: 10% of every endpoint's requests 40 ms slower, the medians nearly put.
    let mut data = run_changed(five(100, 30, 1.0), (0, 1.0), (0.0, 0.0));
    let mut rng = fastrand::Rng::with_seed(77);
    for e in &mut data.endpoints {
        slow_down(&mut e.intervals, &mut rng, (0.1, 40_000.0));
    }
    let j = judge_five(&data, 30);
    assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    assert!(
        j.reasons
            .iter()
            .any(|r| r.starts_with("the endpoints' tails grew together")),
        "{:#?}",
        j.reasons
    );
    let followed = j
        .metrics
        .iter()
        .filter(|m| {
            matches!(m.detail, Some(Detail::TailShare(_)))
                && m.status == MetricStatus::Inconclusive
                && m.reason.contains("tails grew together")
        })
        .count();
    assert!(followed >= 3, "{:#?}", j.metrics);
}

/// Five endpoints at 10/s for 60 s, all but `a` answered in every other second only (300
/// responses: p99 expects 3 above it, too few to test, enough to estimate; `a`'s 600 expect
/// 6); a share `tail.0` of the responses of the endpoints in `slowed` gets `tail.1` µs added.
fn thin_run(seed: u64, slowed: &[usize], tail: (f64, f64)) -> RunData {
    let mut data = run(five(seed, 10, 1.0), &FIVE);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x7a11);
    for (e, endpoint) in data.endpoints.iter_mut().enumerate() {
        if e > 0 {
            for i in endpoint.intervals.iter_mut().filter(|i| i.index % 2 == 1) {
                *i = IntervalData::new(i.index, 0, BTreeMap::new(), &Histogram::new());
            }
        }
        if slowed.contains(&e) {
            slow_down(&mut endpoint.intervals, &mut rng, tail);
        }
    }
    data
}

fn judge_thin(current: &RunData) -> Judgement {
    let gate = GateConfig::default();
    let b: Vec<RunSummary> = (1..=5)
        .map(|seed| thin_run(seed, &[], (0.0, 0.0)).summarize(&gate))
        .collect();
    judge(&current.summarize(&gate), &b, &gate)
}

#[test]
fn a_lone_tested_p99_follows_the_thin_tails_that_grew_with_it() {
    // A busy host slows 10% of every endpoint's requests by 40 ms: only `a` has responses
    // enough to test its p99, the others' p99 shares are estimated, and they grew alike.
    let j = judge_thin(&thin_run(100, &[0, 1, 2, 3, 4], (0.1, 40_000.0)));
    assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    let m = j
        .metrics
        .iter()
        .find(|m| m.endpoint == "a" && m.label == "p99")
        .expect("a p99");
    assert!(matches!(m.detail, Some(Detail::TailShare(_))), "{m:#?}");
    assert_eq!(m.status, MetricStatus::Inconclusive, "{m:#?}");
    assert!(m.reason.contains("tails grew together"), "{}", m.reason);
    assert!(
        j.reasons
            .iter()
            .any(|r| r.contains("p99 of 5 endpoints (4 of them too thin to test, estimated)")),
        "{:#?}",
        j.reasons
    );
    // The same change to `a` alone: the thin tails stayed put, and `a`'s p99 blocks.
    let j = judge_thin(&thin_run(100, &[0], (0.1, 40_000.0)));
    assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    assert_eq!(status(&j, "a", "p99"), MetricStatus::Regression);
}

#[test]
fn a_large_change_no_test_can_judge_is_named() {
    // 5/s for 60 s: p99 expects 3 responses above it, too few even for the tail test.
    let j = judge_five(
        &run_changed(five(100, 5, 1.0), (2, 1.0), (0.03, 40_000.0)),
        5,
    );
    let i = j
        .metrics
        .iter()
        .position(|m| m.endpoint == "c" && m.label == "p99")
        .expect("c p99");
    assert_eq!(j.metrics[i].status, MetricStatus::ReportOnly);
    assert!(j.notable.contains(&i), "{:?}", j.notable);
    assert!(
        j.reasons
            .iter()
            .any(|r| r.starts_with("c p99: +") && r.contains("could not be tested")),
        "{:#?}",
        j.reasons
    );
}
