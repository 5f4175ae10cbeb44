//! Tail regressions at CI volumes. Gating a tail quantile from its own value needs
//! `n·(1−p) ≥ 200` samples above it (4,000 responses for p95), more than a pull-request run of a
//! lightly used endpoint has. A tail regression (some requests much slower) instead shows as
//! *more requests above the baseline's tail*: with `K` the baseline runs' typical ratio of
//! `Q_p` to the median, each run's share `h` of responses above `K ×` its own median is near
//! `1 − p`, whatever multiplies the whole distribution (a slower runner moves the median and
//! the tail alike), and rises when the tail grows. `ln h` of the current run is compared with
//! the baseline runs' on the Student-t scale, its run-to-run variance learned from them and
//! shrunk toward a prior of binomial noise inflated for correlated requests. Pure math.

use super::stats;
use crate::metrics::Histogram;

/// Fewest expected responses above the tail in every run (`n·(1−p)`): below that a share is
/// mostly counting noise.
pub const MIN_EXPECTED: f64 = 10.0;
/// The share above the baseline's tail must at least double to count as a regression (for
/// p95: from 5% of responses to 10%). A tail quantile's tolerance (10–15%) moves the share by
/// far less, so this only flags tails that grew by much more than the tolerance.
pub const SHARE_RATIO: f64 = 2.0;
/// Neighbouring requests are correlated (a slow moment slows several), so exceedances are
/// over-dispersed: their binomial variance is multiplied by this.
pub const INFLATION: f64 = 2.0;
/// Run-to-run standard deviation of `ln h` beyond counting noise that the prior assumes.
pub const MACHINE_SD: f64 = 0.10;
/// Prior weight of the variance shrinkage, in degrees of freedom.
pub const PRIOR_WEIGHT: f64 = 8.0;

/// The outcome of one tail-share comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct TailOutcome {
    /// The quantile, 0–1.
    pub quantile: f64,
    /// `K`: the baseline runs' typical `Q_p ÷ median` (geometric mean).
    pub tail_to_median: f64,
    /// Responses of the current run above `K ×` its median.
    pub above_current: u64,
    /// Responses of the current run.
    pub responses_current: u64,
    /// The current run's share above.
    pub share_current: f64,
    /// The baseline runs' share above (geometric mean).
    pub share_baseline: f64,
    /// `ln(share_current ÷ share_baseline)`.
    pub diff: f64,
    /// Standard error of `diff`.
    pub se: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// One-sided p-value of an increase.
    pub p_up: f64,
    /// One-sided p-value of a decrease.
    pub p_down: f64,
    /// 90% confidence interval of the share ratio.
    pub ci90: (f64, f64),
}

impl TailOutcome {
    /// Current share ÷ baseline share.
    pub fn ratio(&self) -> f64 {
        self.diff.exp()
    }
}

/// Responses of `histogram` above `threshold_us`.
fn count_above(histogram: &Histogram, threshold_us: f64) -> u64 {
    histogram
        .buckets()
        .filter(|&(v, _)| v as f64 > threshold_us)
        .map(|(_, n)| n)
        .sum()
}

/// The share above `K ×` the run's median, with a half-count continuity correction so that no
/// run has a share of 0.
fn share(histogram: &Histogram, k: f64) -> Option<(u64, f64)> {
    let median = histogram.quantile_us(0.5)? as f64;
    let above = count_above(histogram, median * k);
    Some((above, (above as f64 + 0.5) / (histogram.len() as f64 + 1.0)))
}

/// Compares the share of the current run's responses beyond the baseline's tail shape at
/// quantile `p` with the baseline runs' (`N ≥ 1`). `None` when a run is empty or any run
/// expects fewer than [`MIN_EXPECTED`] responses above the tail.
pub fn tail_test(p: f64, current: &Histogram, baseline: &[&Histogram]) -> Option<TailOutcome> {
    let expected = |h: &Histogram| h.len() as f64 * (1.0 - p);
    if baseline.is_empty()
        || expected(current) < MIN_EXPECTED
        || baseline.iter().any(|h| expected(h) < MIN_EXPECTED)
    {
        return None;
    }
    let ratios: Vec<f64> = baseline
        .iter()
        .map(|h| {
            let (median, tail) = (h.quantile_us(0.5)?, h.quantile_us(p)?);
            Some((tail.max(1) as f64 / median.max(1) as f64).ln())
        })
        .collect::<Option<_>>()?;
    let k = stats::mean(&ratios).exp();
    let logs: Vec<f64> = baseline
        .iter()
        .map(|h| share(h, k).map(|(_, s)| s.ln()))
        .collect::<Option<_>>()?;
    let (above_current, share_current) = share(current, k)?;
    let n = logs.len() as f64;
    let sampling = |h: &Histogram| INFLATION * p / (h.len() as f64 * (1.0 - p));
    let sampling_baseline = stats::mean(&baseline.iter().map(|h| sampling(h)).collect::<Vec<_>>());
    let prior = sampling_baseline + MACHINE_SD * MACHINE_SD;
    let between = stats::variance(&logs);
    let s2 = ((n - 1.0) * between + PRIOR_WEIGHT * prior) / (n - 1.0 + PRIOR_WEIGHT);
    // A current run with fewer responses than the baseline's counts more noise.
    let excess = (sampling(current) - sampling_baseline).max(0.0);
    let se = (s2 * (1.0 + 1.0 / n) + excess).sqrt();
    let df = n - 1.0 + PRIOR_WEIGHT;
    let centre = stats::mean(&logs);
    let diff = share_current.ln() - centre;
    let t = diff / se;
    let t95 = stats::t_quantile(0.95, df);
    Some(TailOutcome {
        quantile: p,
        tail_to_median: k,
        above_current,
        responses_current: current.len(),
        share_current,
        share_baseline: centre.exp(),
        diff,
        se,
        df,
        p_up: 1.0 - stats::t_cdf(t, df),
        p_down: stats::t_cdf(t, df),
        ci90: ((diff - t95 * se).exp(), (diff + t95 * se).exp()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` log-normal latencies around a 3 ms median (σ 0.5: p95 ≈ 2.3× the median), all times
    /// `scale`; a `slow` share of them gets `extra_us` added.
    fn run(seed: u64, responses: u64, scale: f64, slow: f64, extra_us: f64) -> Histogram {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut h = Histogram::new();
        for _ in 0..responses {
            let u = rng.f64().max(1e-12);
            let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos();
            let mut v = 3000.0 * scale * (0.5 * z).exp();
            if rng.f64() < slow {
                v += extra_us;
            }
            h.record_us(v.round() as u64);
        }
        h
    }

    fn compare(current: &Histogram) -> TailOutcome {
        let base: Vec<Histogram> = (0..5).map(|s| run(100 + s, 1000, 1.0, 0.0, 0.0)).collect();
        let refs: Vec<&Histogram> = base.iter().collect();
        tail_test(0.95, current, &refs).expect("enough responses above p95")
    }

    #[test]
    fn ten_percent_of_requests_forty_ms_slower_is_caught_at_a_thousand_responses() {
        let t = compare(&run(7, 1000, 1.0, 0.10, 40_000.0));
        assert!(t.ratio() > SHARE_RATIO, "{t:?}");
        // Significant after Holm over a family of a few dozen metrics at α = 1%.
        assert!(t.p_up < 3e-4, "{t:?}");
    }

    #[test]
    fn a_slower_run_of_the_same_shape_is_not_a_tail_change() {
        for scale in [0.8, 1.0, 1.3] {
            let t = compare(&run(9, 1000, scale, 0.0, 0.0));
            assert!(t.ratio() < 1.5 && t.ratio() > 0.66, "scale {scale}: {t:?}");
            assert!(t.p_up > 0.01, "scale {scale}: {t:?}");
        }
    }

    #[test]
    fn too_few_responses_above_the_tail_give_no_test() {
        let small = run(3, 150, 1.0, 0.0, 0.0);
        let base = run(4, 1000, 1.0, 0.0, 0.0);
        assert!(tail_test(0.95, &small, &[&base]).is_none());
        assert!(tail_test(0.99, &base, &[&base]).is_some());
        assert!(tail_test(0.999, &base, &[&base]).is_none());
        assert!(tail_test(0.95, &base, &[]).is_none());
    }
}
