//! The statistics of error rates (see `stats-gate.md`): the exact conditional binomial test.
//!
//! Given `k = e_C + e_B` errors in all, under no change `e_C ~ Bin(k, n_C / (n_C + n_B))`.
//! Errors come in bursts, so counts are first divided by the over-dispersion `φ` estimated
//! from per-block counts (when `φ > 1`); the binomial tails use the regularized incomplete beta
//! function, which extends them smoothly to the resulting fractional counts. Wilson intervals
//! describe each rate. Pure math.

use statrs::function::beta::checked_beta_reg;

use super::stats::z_quantile;

/// An error class's counts in one run, per time block: `(requests, errors)`.
pub type Blocks<'a> = &'a [(u64, u64)];

/// Weight, in degrees of freedom, of binomial noise (`φ = 1`) in the over-dispersion estimate:
/// a run of six blocks gives χ² five degrees of freedom, and alone it reads `φ` of 2 or more
/// about one time in ten when the errors are not bursty at all.
pub const DISPERSION_PRIOR_WEIGHT: f64 = 5.0;

/// Over-dispersion `φ`: Pearson's χ² of the per-block error counts around each run's own rate,
/// pooled over runs, divided by its degrees of freedom after adding
/// [`DISPERSION_PRIOR_WEIGHT`] of binomial noise. At least 1 (binomial noise).
pub fn dispersion(runs: &[Vec<(u64, u64)>]) -> f64 {
    let (chi2, dof) = pearson(runs);
    ((chi2 + DISPERSION_PRIOR_WEIGHT) / (dof + DISPERSION_PRIOR_WEIGHT)).max(1.0)
}

/// Pearson's χ² of per-block counts `(trials, events)` around each run's own rate, summed over
/// runs, and its degrees of freedom (blocks with trials less one, per run with any event).
pub fn pearson(runs: &[Vec<(u64, u64)>]) -> (f64, f64) {
    let (mut chi2, mut dof) = (0.0, 0.0);
    for blocks in runs {
        let n: u64 = blocks.iter().map(|b| b.0).sum();
        let e: u64 = blocks.iter().map(|b| b.1).sum();
        let used = blocks.iter().filter(|b| b.0 > 0).count();
        if n == 0 || e == 0 || used < 2 {
            continue;
        }
        let rate = e as f64 / n as f64;
        for &(requests, errors) in blocks.iter().filter(|b| b.0 > 0) {
            let expected = requests as f64 * rate;
            let var = expected * (1.0 - rate);
            if var > 0.0 {
                chi2 += (errors as f64 - expected).powi(2) / var;
            }
        }
        dof += (used - 1) as f64;
    }
    (chi2, dof)
}

/// `P(X ≥ x)` for `X ~ Bin(k, π)`, extended to real `x` and `k`.
pub fn binomial_upper_tail(x: f64, k: f64, pi: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x > k {
        return 0.0;
    }
    checked_beta_reg(x, k - x + 1.0, pi.clamp(0.0, 1.0)).unwrap_or(1.0)
}

/// `P(X ≤ x)` for `X ~ Bin(k, π)`, extended to real `x` and `k`.
pub fn binomial_lower_tail(x: f64, k: f64, pi: f64) -> f64 {
    if x >= k {
        return 1.0;
    }
    if x < 0.0 {
        return 0.0;
    }
    checked_beta_reg(k - x, x + 1.0, (1.0 - pi).clamp(0.0, 1.0)).unwrap_or(1.0)
}

/// Wilson score interval for `x` successes in `n` trials at normal quantile `z`.
pub fn wilson(x: f64, n: f64, z: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 1.0);
    }
    let p = (x / n).clamp(0.0, 1.0);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// One error class compared.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorOutcome {
    /// Errors ÷ requests of the current run.
    pub rate_current: f64,
    /// Errors ÷ requests of the baseline runs together.
    pub rate_baseline: f64,
    /// Over-dispersion used (≥ 1).
    pub dispersion: f64,
    /// p-value of an increase.
    pub p_up: f64,
    /// p-value of a decrease.
    pub p_down: f64,
    /// Smallest p-value of an increase the test could give with these totals (Tarone's rule:
    /// a test that can never be significant is left out of the family).
    pub min_p: f64,
    /// Rate ratio current ÷ baseline (none when the baseline rate is 0 and the current is too).
    pub ratio: Option<f64>,
    /// 90% interval of the rate ratio (none without any error).
    pub ratio_ci90: Option<(f64, f64)>,
    /// 90% Wilson interval of the current rate (dispersion-adjusted).
    pub current_ci90: (f64, f64),
    /// 90% Wilson interval of the baseline rate (dispersion-adjusted).
    pub baseline_ci90: (f64, f64),
}

/// Compares the current run's errors of one class with the baseline runs' (see module docs).
pub fn error_test(
    errors_current: u64,
    requests_current: u64,
    errors_baseline: u64,
    requests_baseline: u64,
    dispersion: f64,
) -> ErrorOutcome {
    let phi = dispersion.max(1.0);
    let (n_c, n_b) = (requests_current as f64, requests_baseline as f64);
    let (e_c, e_b) = (errors_current as f64 / phi, errors_baseline as f64 / phi);
    let k = e_c + e_b;
    let pi = if n_c + n_b > 0.0 {
        n_c / (n_c + n_b)
    } else {
        0.5
    };
    let rate = |e: u64, n: u64| if n == 0 { 0.0 } else { e as f64 / n as f64 };
    let (rate_current, rate_baseline) = (
        rate(errors_current, requests_current),
        rate(errors_baseline, requests_baseline),
    );
    let z = z_quantile(0.95);
    let ratio = if rate_baseline > 0.0 {
        Some(rate_current / rate_baseline)
    } else if rate_current > 0.0 {
        Some(f64::INFINITY)
    } else {
        None
    };
    let ratio_ci90 = (k > 0.0 && n_c > 0.0 && n_b > 0.0).then(|| {
        let (lo, hi) = wilson(e_c, k, z);
        let odds = |p: f64| {
            if p >= 1.0 {
                f64::INFINITY
            } else {
                p / (1.0 - p) * n_b / n_c
            }
        };
        (odds(lo), odds(hi))
    });
    ErrorOutcome {
        rate_current,
        rate_baseline,
        dispersion: phi,
        p_up: binomial_upper_tail(e_c, k, pi),
        p_down: binomial_lower_tail(e_c, k, pi),
        min_p: if k > 0.0 { pi.powf(k) } else { 1.0 },
        ratio,
        ratio_ci90,
        current_ci90: wilson(e_c, n_c / phi, z),
        baseline_ci90: wilson(e_b, n_b / phi, z),
    }
}

impl ErrorOutcome {
    /// Smallest increase of the error rate (absolute, 0–1) that this comparison would flag
    /// with about 95% power at a one-sided level `alpha_each`, given the tolerance `tolerance`
    /// and the rule that the rate must at least double.
    pub fn mdc(
        &self,
        requests_current: u64,
        errors_baseline: u64,
        requests_baseline: u64,
        alpha_each: f64,
        tolerance: f64,
    ) -> Option<f64> {
        let phi = self.dispersion;
        let (n_c, n_b) = (
            requests_current as f64 / phi,
            requests_baseline as f64 / phi,
        );
        if n_c <= 0.0 || n_b <= 0.0 {
            return None;
        }
        let e_b = errors_baseline as f64 / phi;
        let pi = n_c / (n_c + n_b);
        let flagged = |e: f64| binomial_upper_tail(e, e + e_b, pi) <= alpha_each;
        let (mut lo, mut hi) = (0.0, n_c);
        if !flagged(hi) {
            return None;
        }
        for _ in 0..60 {
            let mid = f64::midpoint(lo, hi);
            if flagged(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        // Enough expected errors that the count clears the critical value 95% of the time.
        let needed = hi + z_quantile(0.95) * hi.sqrt();
        let increase = needed / n_c - self.rate_baseline;
        Some(increase.max(tolerance).max(self.rate_baseline))
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are expected where compared exactly
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn zero_versus_three_errors_is_not_significant() {
        // The example of stats-gate.md: 0 vs 3 errors at equal counts gives p = 0.125.
        let t = error_test(3, 1000, 0, 1000, 1.0);
        assert!(close(t.p_up, 0.125, 1e-9), "{}", t.p_up);
        assert_eq!(t.ratio, Some(f64::INFINITY));
    }

    #[test]
    fn binomial_tails_are_exact_on_integers() {
        // Bin(10, 0.3): P(X ≥ 4) = 0.3503892, P(X ≤ 3) = 0.6496107.
        assert!(close(
            binomial_upper_tail(4.0, 10.0, 0.3),
            0.350_389_2,
            1e-6
        ));
        assert!(close(
            binomial_lower_tail(3.0, 10.0, 0.3),
            0.649_610_8,
            1e-6
        ));
        for x in 1..=10 {
            let x = f64::from(x);
            let sum = binomial_upper_tail(x, 10.0, 0.3) + binomial_lower_tail(x - 1.0, 10.0, 0.3);
            assert!(close(sum, 1.0, 1e-9));
        }
        assert_eq!(binomial_upper_tail(0.0, 5.0, 0.5), 1.0);
        assert_eq!(binomial_lower_tail(5.0, 5.0, 0.5), 1.0);
    }

    #[test]
    fn wilson_intervals_match_references() {
        let (lo, hi) = wilson(0.0, 100.0, 1.644_853_6);
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.026_340, 1e-5), "{hi}");
        let (lo, hi) = wilson(50.0, 100.0, 1.959_964);
        assert!(close(lo, 0.403_831, 1e-5) && close(hi, 0.596_169, 1e-5));
        assert_eq!(wilson(0.0, 0.0, 1.96), (0.0, 1.0));
    }

    #[test]
    fn dispersion_is_one_for_steady_errors_and_larger_for_bursts() {
        let steady = vec![vec![(1000, 1); 10]];
        assert!(close(dispersion(&steady), 1.0, 1e-12));
        let mut bursty = vec![(1000, 0); 10];
        bursty[3].1 = 10;
        assert!(dispersion(&[bursty]) > 5.0);
        assert_eq!(dispersion(&[]), 1.0);
        assert_eq!(dispersion(&[vec![(1000, 0); 5]]), 1.0);
    }

    #[test]
    fn over_dispersion_weakens_the_test() {
        let plain = error_test(30, 10_000, 50, 50_000, 1.0);
        let bursty = error_test(30, 10_000, 50, 50_000, 4.0);
        assert!(plain.p_up < 0.001, "{}", plain.p_up);
        assert!(bursty.p_up > plain.p_up);
        let (pl, ph) = plain.current_ci90;
        let (bl, bh) = bursty.current_ci90;
        assert!(bh - bl > ph - pl);
    }

    #[test]
    fn ratio_interval_covers_the_rate_ratio() {
        let t = error_test(20, 10_000, 50, 50_000, 1.0);
        let (lo, hi) = t.ratio_ci90.unwrap();
        assert!(close(t.ratio.unwrap(), 2.0, 1e-12));
        assert!(lo < 2.0 && 2.0 < hi, "{lo} {hi}");
        assert!(error_test(0, 100, 0, 100, 1.0).ratio_ci90.is_none());
    }

    #[test]
    fn detectable_change_shrinks_with_more_requests() {
        let small = error_test(1, 2_000, 10, 10_000, 1.0);
        let large = error_test(10, 20_000, 100, 100_000, 1.0);
        let a = small.mdc(2_000, 10, 10_000, 0.001, 0.001).unwrap();
        let b = large.mdc(20_000, 100, 100_000, 0.001, 0.001).unwrap();
        assert!(a > b, "{a} {b}");
        assert!(b >= 0.001);
    }
}
