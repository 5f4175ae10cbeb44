use super::*;
use crate::compare::verdict::{Detail, ShiftStatus, Verdict};
use crate::profile::Quantile;

/// `n` log-normal latencies around `median_us` (σ 0.4), with `errors` 5xx among them.
fn block_endpoint(
    rng: &mut fastrand::Rng,
    name: &str,
    n: u64,
    median_us: f64,
    errors: u64,
) -> BlockEndpoint {
    let mut latency = Histogram::new();
    for _ in 0..n {
        let u = rng.f64().max(1e-12);
        let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos();
        latency.record_us((median_us * (0.4 * z).exp()).round() as u64);
    }
    BlockEndpoint {
        name: name.into(),
        latency,
        requests: n,
        errors: if errors > 0 {
            BTreeMap::from([(ErrorClass::Http5xx, errors)])
        } else {
            BTreeMap::new()
        },
    }
}

/// A block of two endpoints, `n` responses each; `scale` multiplies every latency (the
/// environment), `slow` only `search`'s (the code).
fn block(rng: &mut fastrand::Rng, n: u64, scale: f64, slow: f64, errors: u64) -> Block {
    Block {
        endpoints: vec![
            block_endpoint(rng, "get", n, 3000.0 * scale, 0),
            block_endpoint(rng, "search", n, 8000.0 * scale * slow, errors),
        ],
    }
}

/// `pairs` pairs of blocks; `swing(k)` is the environment's factor during pair `k`, hitting
/// both of its blocks alike.
fn blocks(
    seed: u64,
    pairs: usize,
    n: u64,
    swing: impl Fn(usize) -> f64,
    slow: f64,
    errors: u64,
) -> (Vec<Block>, Vec<Block>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..pairs)
        .map(|k| {
            let s = swing(k);
            (
                block(&mut rng, n, s, 1.0, 0),
                block(&mut rng, n, s, slow, errors),
            )
        })
        .unzip()
}

fn gate() -> GateConfig {
    GateConfig {
        metrics: vec![(Quantile(0.5), 0.08), (Quantile(0.95), 0.10)],
        ..GateConfig::default()
    }
}

fn metric<'a>(j: &'a Judgement, endpoint: &str, label: &str) -> &'a MetricVerdict {
    j.metrics
        .iter()
        .find(|m| m.endpoint == endpoint && m.label == label)
        .expect("metric present")
}

#[test]
fn a_swing_hitting_both_targets_cancels() {
    // Every block of both targets 30% slower in half the pairs (a slower node, a busy
    // datastore): unpaired runs of 30 s would see swings like this as regressions.
    let (a, b) = blocks(1, 6, 400, |k| if k % 2 == 0 { 1.3 } else { 1.0 }, 1.0, 0);
    let j = judge_paired(&a, &b, &gate());
    assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    let p50 = metric(&j, "search", "p50");
    assert_eq!(p50.status, MetricStatus::Pass, "{}", p50.reason);
    assert!(
        p50.ratio.is_some_and(|r| (0.95..1.05).contains(&r)),
        "{p50:?}"
    );
    // A drift through the job (each pair 8% slower than the one before) cancels too.
    let (a, b) = blocks(2, 6, 400, |k| 1.08f64.powf(k as f64), 1.0, 0);
    let j = judge_paired(&a, &b, &gate());
    assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
}

#[test]
fn a_twenty_percent_slowdown_of_one_endpoint_is_caught_under_swings() {
    let (a, b) = blocks(3, 6, 400, |k| if k % 3 == 1 { 1.4 } else { 1.0 }, 1.2, 0);
    let j = judge_paired(&a, &b, &gate());
    assert_eq!(j.verdict, Verdict::Regression);
    let p50 = metric(&j, "search", "p50");
    assert_eq!(p50.status, MetricStatus::Regression, "{}", p50.reason);
    assert!(
        p50.ratio.is_some_and(|r| (1.12..1.28).contains(&r)),
        "{p50:?}"
    );
    assert!(
        p50.reason.contains("against the base target"),
        "{}",
        p50.reason
    );
    let ci = p50.ci90.expect("an interval");
    assert!(ci.low < 1.2 && ci.high > 1.2, "{ci:?}");
    assert!(matches!(&p50.detail, Some(Detail::Paired(d)) if d.pairs == 6 && d.merged_pairs == 1));
    assert!(
        j.reasons.iter().any(|r| r.starts_with("search p50:")),
        "{:?}",
        j.reasons
    );
    assert_ne!(metric(&j, "get", "p50").status, MetricStatus::Regression);
}

#[test]
fn p_values_are_calibrated_on_identical_targets() {
    // A/A: the one-sided p-value is uniform, so about 5% fall below 0.05.
    let runs = 300;
    let mut below = 0;
    for seed in 0..runs {
        let (a, b) = blocks(100 + seed, 6, 200, |_| 1.0, 1.0, 0);
        let la: Vec<&Histogram> = a.iter().map(|x| &x.endpoints[1].latency).collect();
        let lb: Vec<&Histogram> = b.iter().map(|x| &x.endpoints[1].latency).collect();
        let t = paired_test(0.5, &la, &lb).expect("enough responses");
        assert!((t.p_up + t.p_down - 1.0).abs() < 1e-9);
        assert_eq!(t.diffs.len(), 6, "6 pairs, 5 degrees of freedom");
        assert!((t.df - 5.0).abs() < 1e-12);
        if t.p_up < 0.05 {
            below += 1;
        }
    }
    let share = f64::from(below) / runs as f64;
    assert!(
        (0.02..0.09).contains(&share),
        "{below} of {runs} below 0.05"
    );
}

#[test]
fn thin_blocks_are_merged_then_left_to_the_tail_test() {
    // 60 responses a block: 3 above p95 — pairs are merged 4 at a time (12 blocks → 3 units
    // of 240 responses, 12 above p95).
    let (a, b) = blocks(5, 12, 60, |_| 1.0, 1.0, 0);
    let la: Vec<&Histogram> = a.iter().map(|x| &x.endpoints[0].latency).collect();
    let lb: Vec<&Histogram> = b.iter().map(|x| &x.endpoints[0].latency).collect();
    assert!(
        paired_test(0.95, &la, &lb).is_none(),
        "12 above p95 per unit are too few"
    );
    let t = paired_test(0.5, &la, &lb).expect("p50 pairs");
    assert_eq!((t.merged, t.diffs.len()), (1, 12));
    let (a, b) = blocks(6, 12, 100, |_| 1.0, 1.0, 0);
    let la: Vec<&Histogram> = a.iter().map(|x| &x.endpoints[0].latency).collect();
    let lb: Vec<&Histogram> = b.iter().map(|x| &x.endpoints[0].latency).collect();
    let t = paired_test(0.95, &la, &lb).expect("merged");
    assert_eq!((t.merged, t.diffs.len()), (4, 3));
    // Too few even merged: report-only with the reason, never a silent pass.
    let (a, b) = blocks(7, 4, 30, |_| 1.0, 1.0, 0);
    let j = judge_paired(&a, &b, &gate());
    let p95 = metric(&j, "get", "p95");
    assert_eq!(p95.status, MetricStatus::ReportOnly);
    assert!(
        p95.reason.contains("too few responses per block"),
        "{}",
        p95.reason
    );
}

#[test]
fn more_errors_on_the_target_under_test_are_caught() {
    let (a, b) = blocks(8, 6, 400, |_| 1.0, 1.0, 8);
    let j = judge_paired(&a, &b, &gate());
    let errors = metric(&j, "search", "errors http_5xx");
    assert_eq!(errors.status, MetricStatus::Regression, "{}", errors.reason);
    assert!(
        errors.reason.contains("on the base target"),
        "{}",
        errors.reason
    );
    assert_eq!(j.verdict, Verdict::Regression);
}

/// One quantile's paired tests of three endpoints on identical targets, moderated: `get`
/// (400 responses a block), `search` (100) and `slow` (100, whose blocks also vary by 8%
/// each, noise that does not cancel between the targets).
fn moderated_a_a(seed: u64) -> Vec<PairedOutcome> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let noisy = |rng: &mut fastrand::Rng| {
        let u = rng.f64().max(1e-12);
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos() * 0.08).exp()
    };
    let mut tests = Vec::new();
    for (name, n, median, extra) in [
        ("get", 400, 3000.0, false),
        ("search", 100, 8000.0, false),
        ("slow", 100, 5000.0, true),
    ] {
        let side = |rng: &mut fastrand::Rng| -> Vec<BlockEndpoint> {
            (0..6)
                .map(|_| {
                    let m = if extra { median * noisy(rng) } else { median };
                    block_endpoint(rng, name, n, m, 0)
                })
                .collect()
        };
        let (a, b) = (side(&mut rng), side(&mut rng));
        let la: Vec<&Histogram> = a.iter().map(|x| &x.latency).collect();
        let lb: Vec<&Histogram> = b.iter().map(|x| &x.latency).collect();
        let t = paired_test(0.5, &la, &lb).expect("enough responses");
        tests.push((t, n as f64));
    }
    moderate(&mut tests);
    tests.into_iter().map(|(t, _)| t).collect()
}

#[test]
fn moderated_tests_gain_degrees_of_freedom_and_stay_calibrated() {
    let runs = 400;
    let mut below = [0u32; 3];
    let mut extreme = [0u32; 3];
    let mut borrowed = [0u32; 3];
    for seed in 0..runs {
        let tests = moderated_a_a(7000 + seed);
        for (k, t) in tests.iter().enumerate() {
            // 5 of its own + 10 lent, or its own alone when clearly noisier than the others.
            let lent = (t.df - 15.0).abs() < 1e-9;
            assert!(lent || (t.df - 5.0).abs() < 1e-9, "{}", t.df);
            borrowed[k] += u32::from(lent);
            below[k] += u32::from(t.p_up < 0.05);
            extreme[k] += u32::from(t.p_up < 0.005);
        }
    }
    // Endpoints alike borrow nearly always; the noisy one mostly not.
    assert!(borrowed[0] >= 340 && borrowed[1] >= 340, "{borrowed:?}");
    assert!(borrowed[2] <= 250, "{borrowed:?}");
    for (k, name) in ["get", "search", "slow"].iter().enumerate() {
        let share = f64::from(below[k]) / f64::from(runs as u32);
        // The noisier endpoint borrows a smaller variance and runs hotter, but within bounds;
        // the others borrow some of its noise and run cooler.
        let limit = if k == 2 { 0.11 } else { 0.08 };
        assert!(
            (0.01..limit).contains(&share),
            "{name}: {} of {runs} below 0.05 ({below:?} in all)",
            below[k]
        );
        assert!(
            extreme[k] <= 8,
            "{name}: {} of {runs} below 0.005",
            extreme[k]
        );
    }
}

#[test]
fn a_single_test_is_left_alone() {
    let (a, b) = blocks(11, 6, 200, |_| 1.0, 1.0, 0);
    let la: Vec<&Histogram> = a.iter().map(|x| &x.endpoints[1].latency).collect();
    let lb: Vec<&Histogram> = b.iter().map(|x| &x.endpoints[1].latency).collect();
    let t = paired_test(0.5, &la, &lb).expect("enough responses");
    let mut one = vec![(t.clone(), 200.0)];
    moderate(&mut one);
    assert_eq!(one[0].0, t);
}

/// `pairs` pairs of blocks of five endpoints (`n` responses each); `swing(k)` hits both
/// blocks of pair `k`, `whole` every endpoint of B (a difference between the deployments or a
/// change that slows everything), `slow` only B's `e2`.
fn five_blocks(
    seed: u64,
    pairs: usize,
    swing: impl Fn(usize) -> f64,
    whole: f64,
    slow: f64,
) -> (Vec<Block>, Vec<Block>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let side = |rng: &mut fastrand::Rng, scale: f64, slow: f64| Block {
        endpoints: (0..5)
            .map(|e| {
                let extra = if e == 2 { slow } else { 1.0 };
                let median = 2000.0 * f64::from(e + 1) * scale * extra;
                block_endpoint(rng, &format!("e{e}"), 300, median, 0)
            })
            .collect(),
    };
    (0..pairs)
        .map(|k| {
            let s = swing(k);
            (side(&mut rng, s, 1.0), side(&mut rng, s * whole, slow))
        })
        .unzip()
}

#[test]
fn a_difference_between_the_two_deployments_as_a_whole_does_not_block() {
    // Every endpoint of B 15% slower in every pair: two deployments of the same code differ
    // like this; so would a change that slows everything. One paired run cannot tell.
    let (a, b) = five_blocks(21, 6, |k| if k % 2 == 0 { 1.2 } else { 1.0 }, 1.15, 1.0);
    let j = judge_paired(&a, &b, &gate());
    assert_eq!(j.verdict, Verdict::Inconclusive, "{:#?}", j.reasons);
    let shift = j
        .shifts
        .iter()
        .find(|s| s.label == "p50")
        .expect("a p50 shift");
    assert_eq!(shift.status, ShiftStatus::Uniform, "{shift:?}");
    assert!((shift.ratio - 1.15).abs() < 0.04, "{shift:?}");
    assert_eq!(shift.endpoints, 5);
    assert!(!shift.following.is_empty(), "{shift:?}");
    assert!(
        j.reasons[0].starts_with("every endpoint +1") && j.reasons[0].contains("cannot tell"),
        "{:#?}",
        j.reasons
    );
    let p50 = metric(&j, "e2", "p50");
    assert!(matches!(&p50.detail, Some(Detail::Paired(d)) if d.service_factor.is_some()));
    assert!(
        p50.ratio.is_some_and(|r| (1.1..1.2).contains(&r)),
        "the whole change is shown: {p50:?}"
    );
}

#[test]
fn one_endpoint_slower_than_the_others_is_caught_against_them() {
    // B 10% slower as a whole and `e2` 25% more: `e2` regresses against the other endpoints,
    // which only follow the whole.
    let (a, b) = five_blocks(22, 6, |k| if k % 3 == 1 { 1.3 } else { 1.0 }, 1.1, 1.25);
    let j = judge_paired(&a, &b, &gate());
    assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    assert_eq!(metric(&j, "e2", "p50").status, MetricStatus::Regression);
    for e in ["e0", "e1", "e3", "e4"] {
        assert_ne!(metric(&j, e, "p50").status, MetricStatus::Regression, "{e}");
    }
}

#[test]
fn a_whole_service_more_than_half_slower_blocks() {
    let (a, b) = five_blocks(23, 6, |_| 1.0, 1.6, 1.0);
    let j = judge_paired(&a, &b, &gate());
    assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    let shift = j.shifts.iter().find(|s| s.label == "p50").expect("shift");
    assert_eq!(shift.status, ShiftStatus::BeyondSwings);
    assert_eq!(metric(&j, "e0", "p50").status, MetricStatus::Regression);
}

#[test]
fn endpoints_of_different_volumes_are_split_on_the_same_units() {
    // `e0` has five times the others' responses per block: unmerged it would have 12 units
    // where the others have 6 (merged by two), and no common factor could be taken. Its units
    // are aligned with theirs, and B's whole-service difference is judged once.
    let mut rng = fastrand::Rng::with_seed(31);
    let side = |rng: &mut fastrand::Rng, scale: f64| Block {
        endpoints: (0..4)
            .map(|e| {
                let n = if e == 0 { 160 } else { 30 };
                block_endpoint(
                    rng,
                    &format!("e{e}"),
                    n,
                    2000.0 * f64::from(e + 1) * scale,
                    0,
                )
            })
            .collect(),
    };
    let (a, b): (Vec<Block>, Vec<Block>) = (0..12)
        .map(|_| (side(&mut rng, 1.0), side(&mut rng, 1.2)))
        .unzip();
    let j = judge_paired(&a, &b, &gate());
    let shift = j
        .shifts
        .iter()
        .find(|s| s.label == "p50")
        .expect("a p50 shift");
    assert_eq!(shift.endpoints, 4, "{shift:?}");
    assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
    let e0 = metric(&j, "e0", "p50");
    assert!(
        matches!(&e0.detail, Some(Detail::Paired(d)) if d.merged_pairs == 2 && d.pairs == 6 && d.service_factor.is_some()),
        "{e0:?}"
    );
}
