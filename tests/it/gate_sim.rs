//! Smoke test of the gate's own benchmark (`bench/gate-sim`): a small, seeded subset of the
//! simulator, with the same code (`sim.rs` is shared, not copied), gated by the real histogram
//! and comparison code. The bounds are loose on purpose: the full grid with thousands of runs
//! and the real targets is `bench/gate-sim.md`; this test catches a gate or simulator change
//! that breaks the benchmark's basic claims, in seconds.

use crate::sim;

use crate::calibrate;

use std::collections::BTreeMap;

use loadgate::compare::RunSummary;
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
    warmup_s: sim::WARMUP_S,
    weights: &[1.0, 1.0],
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
        warmup_s: sim::WARMUP_S,
        weights: &[1.0],
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

/// The CI job: 100 requests/s over five endpoints weighted 2:1:1:1:1, 5 s + 30 s.
const CI_JOB: Config = Config {
    rate_per_sec: 100.0,
    duration_s: 30,
    warmup_s: 5,
    weights: &[2.0, 1.0, 1.0, 1.0, 1.0],
};

/// Seed of the simulated series of unchanged runs.
const SERIES_SEED: u64 = 0x005E_ED15;

fn series(noise: &Noise, seed: u64, runs: usize) -> calibrate::Series {
    let gate = GateConfig::default();
    let mut rng = fastrand::Rng::with_seed(seed);
    let summaries: Vec<RunSummary> = (0..runs)
        .map(|_| sim::simulate_run(&mut rng, CI_JOB, Change::None, noise).summarize(&gate))
        .collect();
    calibrate::Series::of(&summaries, &gate).expect("five endpoints with a p50 in every run")
}

#[test]
fn the_realistic_model_has_service_wide_shifts_and_the_shared_runner_none() {
    // 60 unchanged runs: about one in ten shifted by 15–40% in every endpoint's p50 together.
    let real = series(&Noise::realistic(), SERIES_SEED, 60);
    let (up, down) = real.shifted();
    assert!(
        (2..=15).contains(&(up + down)),
        "{up} runs shifted up and {down} down in 60: {:?}",
        real.shared
    );
    assert!(up >= down, "shifts are mostly upward: {up} up, {down} down");
    // Most runs within a few %, and the endpoints move together: what is left per endpoint
    // once the shared factor is removed is small.
    assert!(real.core_sd() < 0.05, "core SD {}", real.core_sd());
    assert!(
        real.residual_sd < 0.04,
        "per-endpoint residual SD {}",
        real.residual_sd
    );
    // On the busy host the shared factor is broad (the real runs: core SD about 20%) and
    // each endpoint drifts more (about 4%).
    let busy = series(&Noise::realistic_busy(), SERIES_SEED, 60);
    assert!(busy.core_sd() > 0.08, "busy core SD {}", busy.core_sd());
    assert!(
        (0.025..0.07).contains(&busy.residual_sd),
        "busy per-endpoint residual SD {}",
        busy.residual_sd
    );
    // The body: p95 about 2–3× the median, medians of a few ms.
    for (name, ratio) in &real.tail_ratio {
        assert!((1.8..=3.2).contains(ratio), "{name}: p95 / p50 = {ratio}");
    }
    for (name, median) in &real.median_us {
        assert!(
            (1_500.0..=6_000.0).contains(median),
            "{name}: p50 {median} µs"
        );
    }
    // The shared-runner model has no service-wide shifts of 10% (slow runners are ≤ 4%).
    let shared = series(&Noise::default(), SERIES_SEED, 60);
    assert_eq!(shared.shifted(), (0, 0), "{:?}", shared.shared);
}

#[test]
fn confirmation_measures_again_and_keeps_a_large_regression() {
    let gate = GateConfig::default();
    let changes = [Change::None, Change::Uniform(1.5), Change::Swing];
    let mut t: BTreeMap<usize, Tally> = BTreeMap::new();
    for rep in 0..6 {
        for (_, change, tally) in sim::repetition_confirmed(
            0xC0_0000 + rep,
            CI_JOB,
            &[5],
            &changes,
            &gate,
            &Noise::realistic(),
        ) {
            let c = changes.iter().position(|x| *x == change).expect("listed");
            t.entry(c).or_default().merge(&tally);
        }
    }
    for (c, tally) in &t {
        for d in [tally.redrawn, tally.kept] {
            assert_eq!(d.runs, tally.runs, "{:?}", changes[*c]);
            // Every first run that would block is measured again.
            assert!(d.confirmations >= tally.blocked, "{:?}", changes[*c]);
            assert!(d.caught <= d.blocked, "{:?}", changes[*c]);
            assert!(d.blocked <= d.confirmations, "{:?}", changes[*c]);
        }
    }
    // A swing of every endpoint that does not recur in the confirmation run (a passing
    // spell) rarely blocks.
    let swing = &t[&2];
    assert!(
        swing.redrawn.blocked <= 2,
        "swing, factor redrawn: {} of 6 blocked",
        swing.redrawn.blocked
    );
    // A 50% slowdown of one endpoint holds in the confirmation run, whatever the shared
    // factor (a baseline with a shifted run can hide it from the first run: at least half).
    let large = &t[&1];
    for d in [large.redrawn, large.kept] {
        assert!(
            d.caught >= 3,
            "×1.5 caught in {} of 6 with confirmation",
            d.caught
        );
        assert!(
            d.caught + 1 >= large.changed_flagged,
            "×1.5 caught in {} of 6 with confirmation, flagged in {} first runs",
            d.caught,
            large.changed_flagged
        );
    }
}
