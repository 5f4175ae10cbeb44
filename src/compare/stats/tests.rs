use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn holm_and_bh_match_hand_computed_values() {
    let p = [0.01, 0.04, 0.03, 0.005];
    let adjusted = holm(&p);
    for (got, want) in adjusted.iter().zip([0.03, 0.06, 0.06, 0.02]) {
        assert!(close(*got, want, 1e-12), "{adjusted:?}");
    }
    let q = benjamini_hochberg(&p);
    for (got, want) in q.iter().zip([0.02, 0.04, 0.04, 0.02]) {
        assert!(close(*got, want, 1e-12), "{q:?}");
    }
    assert!(holm(&[]).is_empty());
    assert_eq!(holm(&[0.7]), vec![0.7]);
}

#[test]
fn student_t_matches_tables() {
    assert!(close(t_quantile(0.95, 20.0), 1.7247, 1e-4));
    assert!(close(t_quantile(0.975, 29.0), 2.0452, 1e-4));
    assert!(close(t_cdf(0.0, 25.0), 0.5, 1e-12));
    assert!(close(z_quantile(0.95), 1.6449, 1e-4));
}

#[test]
fn blocks_keep_at_least_six_and_double_for_tails() {
    // (span, interval ms, block ms) → base block in intervals
    for (span, interval, block, want) in [
        (30, 1000, 10_000, 5),
        (60, 1000, 10_000, 10),
        (120, 1000, 10_000, 10),
        (4, 1000, 10_000, 10),
        (60, 500, 10_000, 10),
        (600, 10_000, 10_000, 1),
    ] {
        assert_eq!(
            block_intervals(span, interval, block),
            want,
            "{span} {interval} {block}"
        );
    }
    // 100 samples a second: p99 wants 20 tail samples per block → 20 s, if 6 blocks remain.
    assert_eq!(doubled_block(120, 10, 12_000, 0.99), 20);
    assert_eq!(doubled_block(60, 10, 6_000, 0.99), 10);
    assert_eq!(doubled_block(60, 10, 6_000, 0.5), 10);
    assert_eq!(doubled_block(240, 5, 2_400, 0.99), 40);
}

#[test]
fn samples_needed_follows_the_tail_rule() {
    assert_eq!(samples_needed(0.5), 400);
    assert_eq!(samples_needed(0.95), 4000);
    assert_eq!(samples_needed(0.99), 20_000);
}

fn intervals(values: &[u64], per_interval: usize) -> Vec<IntervalData> {
    values
        .chunks(per_interval)
        .enumerate()
        .map(|(i, chunk)| {
            let mut h = Histogram::new();
            for &v in chunk {
                h.record_us(v);
            }
            IntervalData::new(
                i as u32,
                chunk.len() as u64,
                std::collections::BTreeMap::new(),
                &h,
            )
        })
        .collect()
}

#[test]
fn within_run_variance_sees_drift_between_blocks() {
    // 60 one-second intervals of 100 samples; steady versus drifting halves.
    let steady: Vec<u64> = (0..6000).map(|i| 1000 + (i % 100) * 10).collect();
    let drifting: Vec<u64> = (0..6000)
        .map(|i| (1000 + (i % 100) * 10) * if i < 3000 { 1 } else { 2 })
        .collect();
    let a = &quantile_values(&intervals(&steady, 100), 60, 1000, 10_000, &[0.5])[0];
    let b = &quantile_values(&intervals(&drifting, 100), 60, 1000, 10_000, &[0.5])[0];
    let (wa, wb) = (a.within.unwrap(), b.within.unwrap());
    assert_eq!(wa.blocks, 6);
    assert!(wa.variance < 1e-6, "{wa:?}");
    assert!(wb.variance > 0.01, "{wb:?}");
    assert_eq!(a.samples, 6000);
    assert!(a.has_enough_samples());
    // Too short to split.
    let short = &quantile_values(&intervals(&steady[..500], 100), 5, 1000, 10_000, &[0.5])[0];
    assert!(short.within.is_none());
}

fn value(us: u64, within: f64) -> QuantileValue {
    QuantileValue {
        quantile: 0.5,
        samples: 10_000,
        value_us: Some(us),
        within: Some(Within {
            variance: within,
            blocks: 6,
            block_intervals: 10,
        }),
        sampling_variance: 1e-5,
        log_shift: 0.0,
    }
}

#[test]
fn identical_runs_give_no_change() {
    let runs = [value(2000, 1e-5), value(2000, 1e-5), value(2000, 1e-5)];
    let base: Vec<&QuantileValue> = runs.iter().collect();
    let t = latency_test(&runs[0], &base, 1.0).unwrap();
    assert!(close(t.diff, 0.0, 1e-12));
    assert!(close(t.p_up, 0.5, 1e-9));
    assert!(close(t.ci90.0 * t.ci90.1, 1.0, 1e-9), "{:?}", t.ci90);
    assert_eq!(t.df, 2.0 + PRIOR_WEIGHT);
    assert_eq!(t.center, Center::Mean);
}

#[test]
fn shrinkage_follows_the_formula() {
    // N = 3, s_B² = var(ln values), prior = scale × default variance; the current run's
    // within-run variance is far above the baseline's, so its excess counts.
    let runs = [value(1000, 1e-5), value(1100, 1e-5), value(1210, 1e-5)];
    let base: Vec<&QuantileValue> = runs.iter().collect();
    let current = value(1331, 4e-4);
    let t = latency_test(&current, &base, 1.5).unwrap();
    let logs: Vec<f64> = [1000.0f64, 1100.0, 1210.0].iter().map(|v| v.ln()).collect();
    let s_b2 = variance(&logs);
    let prior = 1.5 * default_variance(&runs[0]);
    let s2 = (2.0 * s_b2 + PRIOR_WEIGHT * prior) / (2.0 + PRIOR_WEIGHT);
    let se = (s2 * (1.0 + 1.0 / 3.0) + (4e-4 - 1e-5)).sqrt();
    assert!(close(t.se, se, 1e-12), "{} vs {se}", t.se);
    assert!(close(t.diff, 1331f64.ln() - mean(&logs), 1e-12));
    assert!(close(t.s_prior, prior.sqrt(), 1e-12));
    let mdc = t.mdc(0.01);
    assert!(mdc > 0.0 && mdc.is_finite());
}

#[test]
fn an_outlier_run_moves_the_centre_to_the_median() {
    let runs = [
        value(1000, 1e-5),
        value(1002, 1e-5),
        value(998, 1e-5),
        value(1001, 1e-5),
        value(1500, 1e-5),
    ];
    let base: Vec<&QuantileValue> = runs.iter().collect();
    let t = latency_test(&runs[0], &base, 1.0).unwrap();
    assert_eq!(t.center, Center::Median);
    assert!(close(t.center_log, 1001f64.ln(), 1e-12));
}

#[test]
fn missing_values_give_no_test() {
    let empty = QuantileValue {
        quantile: 0.5,
        samples: 0,
        value_us: None,
        within: None,
        sampling_variance: 0.0,
        log_shift: 0.0,
    };
    let full = value(1000, 1e-5);
    assert!(latency_test(&empty, &[&full], 1.0).is_none());
    assert!(latency_test(&full, &[&empty], 1.0).is_none());
    assert!(latency_test(&full, &[], 1.0).is_none());
}

#[test]
fn prior_scale_pools_history_and_shrinks_to_one() {
    assert!(close(prior_scale(&[]), 1.0, 1e-15));
    // Two endpoints of 3 runs with a spread far above the default: the scale rises.
    let a = [value(1000, 0.0), value(1200, 0.0), value(1440, 0.0)];
    let group: Vec<&QuantileValue> = a.iter().collect();
    let scale = prior_scale(&[group.clone(), group]);
    let logs: Vec<f64> = [1000.0f64, 1200.0, 1440.0].iter().map(|v| v.ln()).collect();
    let ratio = variance(&logs) / default_variance(&a[0]);
    let want = (4.0 * ratio + SCALE_PRIOR_WEIGHT) / (4.0 + SCALE_PRIOR_WEIGHT);
    assert!(close(scale, want, 1e-12));
    assert!(scale > 1.0);
    // Identical runs pull it below 1.
    let b = [value(1000, 0.0), value(1000, 0.0), value(1000, 0.0)];
    let same: Vec<&QuantileValue> = b.iter().collect();
    assert!(prior_scale(&[same]) < 1.0);
}
