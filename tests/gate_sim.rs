//! Smoke test of the gate's own benchmark (`bench/gate-sim`): a small, seeded subset of the
//! simulator, with the same code (`sim.rs` is shared, not copied), gated by the real histogram
//! and comparison code. The bounds are loose on purpose: the full grid with thousands of runs
//! and the real targets is `bench/gate-sim.md`; this test catches a gate or simulator change
//! that breaks the benchmark's basic claims, in seconds.

#[path = "../bench/gate-sim/sim.rs"]
mod sim;

use std::collections::BTreeMap;

use loadgate::profile::GateConfig;
use sim::{Change, Config, Noise, Tally};

/// Repetitions: each simulates the baseline runs and one current run per change.
const REPS: u64 = 12;
/// Baseline sizes compared.
const SIZES: [usize; 2] = [3, 5];
/// 400 requests a second over two endpoints for 60 s: 12,000 responses per endpoint, enough to
/// gate p50 and p95 (p99 stays report-only) and inside the error targets' scope.
const CONFIG: Config = Config {
    rate_per_sec: 400.0,
    duration_s: 60,
    endpoints: 2,
};
const CHANGES: [Change; 4] = [
    Change::None,
    Change::Uniform(1.20),
    Change::Errors(5.0),
    Change::ErrorsFromZero,
];

fn tallies() -> BTreeMap<(usize, usize), Tally> {
    let gate = GateConfig::default();
    let mut out: BTreeMap<(usize, usize), Tally> = BTreeMap::new();
    for rep in 0..REPS {
        let seed = 0x5EED_0000 + rep;
        for (n, change, t) in
            sim::repetition(seed, CONFIG, &SIZES, &CHANGES, &gate, &Noise::default())
        {
            let c = CHANGES
                .iter()
                .position(|x| *x == change)
                .expect("a change of the list");
            out.entry((n, c)).or_default().merge(&t);
        }
    }
    out
}

fn share(num: u64, den: u64) -> f64 {
    assert!(den > 0, "nothing was counted");
    num as f64 / den as f64
}

#[test]
fn a_seeded_subset_of_the_simulator_meets_loose_bounds() {
    let t = tallies();
    for n in SIZES {
        let aa = &t[&(n, 0)];
        assert_eq!(aa.runs, REPS);
        // A/A: at most one false block in the sample (the target is ≤ 1%).
        assert!(aa.blocked <= 1, "N = {n}: {} A/A runs blocked", aa.blocked);
        // Most A/A metrics are decided (the target for whole runs is ≤ 5% inconclusive; at
        // N = 3 the prior still carries much of the variance, so the bound is loose).
        assert!(
            share(aa.inconclusive_metrics, aa.gated_metrics) <= 0.25,
            "N = {n}: {} of {} A/A metrics inconclusive",
            aa.inconclusive_metrics,
            aa.gated_metrics
        );
        // The 90% intervals cover the true ratio (1) most of the time.
        let coverage = share(aa.coverage.1, aa.coverage.0);
        assert!(
            (0.7..=1.0).contains(&coverage),
            "N = {n}: A/A coverage {coverage}"
        );
        // +20% on the first endpoint: p50 and p95 are caught nearly always.
        let slower = &t[&(n, 1)];
        for q in ["p50", "p95"] {
            let (gated, flagged) = slower.detect.get(q).copied().unwrap_or_default();
            assert_eq!(gated, REPS, "N = {n}: {q} gated in every run");
            assert!(
                flagged + 1 >= gated,
                "N = {n}: +20% at {q} caught in {flagged} of {gated} runs"
            );
        }
        assert!(
            slower.blocked + 1 >= slower.runs,
            "N = {n}: +20% blocked only {} of {} runs",
            slower.blocked,
            slower.runs
        );
        // Errors ×5 from 0.1%, and a new error class at 0.3%: caught nearly always.
        for c in [2, 3] {
            let errors = &t[&(n, c)];
            let (tested, flagged) = errors.error_detect;
            assert_eq!(
                tested, REPS,
                "N = {n}: {:?} tested in every run",
                CHANGES[c]
            );
            assert!(
                flagged + 2 >= tested,
                "N = {n}: {:?} caught in {flagged} of {tested} runs",
                CHANGES[c]
            );
        }
    }
}

#[test]
fn the_simulator_is_deterministic_for_a_seed() {
    let gate = GateConfig::default();
    let small = Config {
        rate_per_sec: 100.0,
        duration_s: 30,
        endpoints: 1,
    };
    let run = |seed| {
        sim::repetition(
            seed,
            small,
            &[1, 3],
            &[Change::None, Change::Uniform(1.5)],
            &gate,
            &Noise::default(),
        )
        .into_iter()
        .map(|(n, change, t)| {
            (
                n,
                change.label(),
                t.runs,
                t.blocked,
                t.inconclusive,
                t.coverage,
            )
        })
        .collect::<Vec<_>>()
    };
    let a = run(7);
    assert_eq!(a, run(7));
    assert_eq!(a.len(), 4);
    // ×1.5 with 3 baseline runs is always a regression.
    assert!(
        a.iter().any(|r| r.0 == 3 && r.1 == "all ×1.50" && r.3 == 1),
        "{a:?}"
    );
}
