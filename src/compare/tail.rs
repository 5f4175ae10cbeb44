//! Tail regressions at CI volumes. Gating a tail quantile from its own value needs
//! `n·(1−p) ≥ 200` samples above it (4,000 responses for p95), more than a pull-request run of a
//! lightly used endpoint has. A tail regression (some requests much slower) instead shows as
//! *more requests above the baseline's tail*: with `K` the baseline runs' typical ratio of
//! `Q_p` to the median, each run's share `h` of responses above `K ×` its own median is near
//! `1 − p`, whatever multiplies the whole distribution (a slower runner moves the median and
//! the tail alike), and rises when the tail grows.
//!
//! The share is compared on the variance-stabilised scale `g = asin √h`, where counting noise
//! is `φ / 4n` whatever the share (on `ln h` it is `φ(1−h)/(n h)`: a share that triples moves
//! `ln h` by 1.1 but `g`, in units of its noise, almost twice as far). `φ`, the
//! over-dispersion of responses beyond the tail (neighbouring requests are correlated: a slow
//! moment slows several), is estimated from the runs' own time blocks and shrunk toward
//! [`DISPERSION_PRIOR`]. The current run's `g` is compared with the baseline runs' on the
//! Student-t scale, their run-to-run variance learned from them and shrunk toward a prior of
//! counting noise plus [`MACHINE_SD`]. Pure math.

use super::{errors, stats};
use crate::metrics::Histogram;

/// Fewest expected responses above the tail in every run (`n·(1−p)`): below that a share is
/// mostly counting noise. Five lets p99 be tested from 500 responses: a tail regression that
/// slows a tenth of the requests by much puts ten times as many beyond p99's shape, the
/// clearest sign there is (measured on a real service: ×14 at p99 where p95's share was ×3.4).
pub const MIN_EXPECTED: f64 = 5.0;
/// The share above the baseline's tail must at least double to count as a regression (for
/// p95: from 5% of responses to 10%). A tail quantile's tolerance (10–15%) moves the share by
/// far less, so this only flags tails that grew by much more than the tolerance.
pub const SHARE_RATIO: f64 = 2.0;
/// Prior of the over-dispersion `φ` of the responses beyond the tail: their binomial variance
/// is multiplied by it. The runs' blocks update it ([`DISPERSION_PRIOR_WEIGHT`]).
pub const DISPERSION_PRIOR: f64 = 2.0;
/// Weight of [`DISPERSION_PRIOR`] against the blocks' Pearson χ², in degrees of freedom (a run
/// of six blocks has five).
pub const DISPERSION_PRIOR_WEIGHT: f64 = 10.0;
/// Fewest expected responses above the tail in every run for a share ratio that only tells how
/// the endpoints' tails grew together ([`share_ratio`], not a test): a p99 from 200 responses.
pub const ESTIMATE_MIN_EXPECTED: f64 = 2.0;
/// Run-to-run standard deviation of `ln h` beyond counting noise that the prior assumes.
pub const MACHINE_SD: f64 = 0.10;
/// Prior weight of the variance shrinkage, in degrees of freedom.
pub const PRIOR_WEIGHT: f64 = 8.0;

/// One run's responses as the tail-share test sees them.
#[derive(Debug, Clone)]
pub struct TailRun<'a> {
    /// Every response of the measured phase.
    pub all: &'a Histogram,
    /// The same responses per time block: non-empty buckets `(value µs, count)`, for the
    /// over-dispersion. Without blocks (or with one) the run adds nothing to its estimate.
    pub blocks: Vec<&'a [(u64, u64)]>,
}

impl<'a> TailRun<'a> {
    /// A run without time blocks.
    pub fn whole(all: &'a Histogram) -> Self {
        Self {
            all,
            blocks: Vec::new(),
        }
    }

    /// A run whose blocks are held as lists of buckets.
    pub fn with_blocks(all: &'a Histogram, blocks: &'a [Vec<(u64, u64)>]) -> Self {
        Self {
            all,
            blocks: blocks.iter().map(Vec::as_slice).collect(),
        }
    }

    /// The share above `K ×` the run's median, with a half-count continuity correction so that
    /// no run has a share of 0, and the count above.
    fn share(&self, k: f64) -> Option<(u64, f64)> {
        let threshold = self.all.quantile_us(0.5)? as f64 * k;
        let above = count_above(self.all.buckets(), threshold);
        Some((above, (above as f64 + 0.5) / (self.all.len() as f64 + 1.0)))
    }

    /// Per block: responses, and responses above `K ×` the run's median.
    fn block_counts(&self, k: f64) -> Vec<(u64, u64)> {
        let Some(median) = self.all.quantile_us(0.5) else {
            return Vec::new();
        };
        let threshold = median as f64 * k;
        self.blocks
            .iter()
            .map(|b| {
                (
                    b.iter().map(|&(_, n)| n).sum(),
                    count_above(b.iter().copied(), threshold),
                )
            })
            .collect()
    }
}

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
    /// The baseline runs' share (back-transformed mean of `asin √h`).
    pub share_baseline: f64,
    /// `ln(share_current ÷ share_baseline)`.
    pub diff: f64,
    /// Standard error of `diff` (from that of the test's `asin √h` by the delta method).
    pub se: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Over-dispersion `φ` of the responses beyond the tail used (≥ 1).
    pub dispersion: f64,
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

/// Responses among `buckets` above `threshold_us`.
fn count_above(buckets: impl Iterator<Item = (u64, u64)>, threshold_us: f64) -> u64 {
    buckets
        .filter(|&(v, _)| v as f64 > threshold_us)
        .map(|(_, n)| n)
        .sum()
}

/// The variance-stabilised share.
fn stabilised(h: f64) -> f64 {
    h.clamp(0.0, 1.0).sqrt().asin()
}

/// Back from [`stabilised`], clamped to a share.
fn share_of(g: f64) -> f64 {
    g.clamp(0.0, std::f64::consts::FRAC_PI_2).sin().powi(2)
}

/// The over-dispersion of the responses above the tail in `runs`' blocks, shrunk toward
/// [`DISPERSION_PRIOR`]; at least 1.
fn dispersion(runs: &[&TailRun], k: f64) -> f64 {
    let blocks: Vec<Vec<(u64, u64)>> = runs.iter().map(|r| r.block_counts(k)).collect();
    let (chi2, dof) = errors::pearson(&blocks);
    ((chi2 + DISPERSION_PRIOR_WEIGHT * DISPERSION_PRIOR) / (dof + DISPERSION_PRIOR_WEIGHT)).max(1.0)
}

/// The baseline's tail shape at `p` and every run's share beyond it: `K`, the baseline runs'
/// `asin √h`, and the current run's count and share above. `None` when a run is empty or any
/// run expects fewer than `min_expected` responses above the tail.
fn shares(
    p: f64,
    current: &TailRun,
    baseline: &[TailRun],
    min_expected: f64,
) -> Option<(f64, Vec<f64>, u64, f64)> {
    let expected = |h: &Histogram| h.len() as f64 * (1.0 - p);
    if baseline.is_empty()
        || expected(current.all) < min_expected
        || baseline.iter().any(|r| expected(r.all) < min_expected)
    {
        return None;
    }
    let ratios: Vec<f64> = baseline
        .iter()
        .map(|r| {
            let (median, tail) = (r.all.quantile_us(0.5)?, r.all.quantile_us(p)?);
            Some((tail.max(1) as f64 / median.max(1) as f64).ln())
        })
        .collect::<Option<_>>()?;
    let k = stats::mean(&ratios).exp();
    let gs: Vec<f64> = baseline
        .iter()
        .map(|r| r.share(k).map(|(_, h)| stabilised(h)))
        .collect::<Option<_>>()?;
    let (above_current, share_current) = current.share(k)?;
    Some((k, gs, above_current, share_current))
}

/// The current run's share beyond the baseline's tail shape at `p` ÷ the baseline runs'
/// (back-transformed mean of `asin √h`), from as few as [`ESTIMATE_MIN_EXPECTED`] expected
/// responses above the tail: a point estimate, never a test. It tells how an endpoint's tail
/// moved when there were too few responses to test it, so that tails growing on every endpoint
/// together are seen as such.
pub fn share_ratio(p: f64, current: &TailRun, baseline: &[TailRun]) -> Option<f64> {
    let (_, gs, _, share_current) = shares(p, current, baseline, ESTIMATE_MIN_EXPECTED)?;
    Some(share_current / share_of(stats::mean(&gs)).max(1e-12))
}

/// Compares the share of the current run's responses beyond the baseline's tail shape at
/// quantile `p` with the baseline runs' (`N ≥ 1`). `None` when a run is empty or any run
/// expects fewer than [`MIN_EXPECTED`] responses above the tail.
pub fn tail_test(p: f64, current: &TailRun, baseline: &[TailRun]) -> Option<TailOutcome> {
    let (k, gs, above_current, share_current) = shares(p, current, baseline, MIN_EXPECTED)?;
    let runs: Vec<&TailRun> = std::iter::once(current).chain(baseline).collect();
    let phi = dispersion(&runs, k);
    let n = gs.len() as f64;
    let centre = stats::mean(&gs);
    let share_baseline = share_of(centre);
    // Counting noise of `asin √h` is φ / 4n whatever the share; the machine's, a relative
    // spread of the share, is `MACHINE_SD² · h / 4(1 − h)` there.
    let counting = |h: &Histogram| phi / (4.0 * h.len() as f64);
    let counting_baseline =
        stats::mean(&baseline.iter().map(|r| counting(r.all)).collect::<Vec<_>>());
    let h0 = share_baseline.clamp(1e-6, 1.0 - 1e-6);
    let machine = MACHINE_SD * MACHINE_SD * h0 / (4.0 * (1.0 - h0));
    let prior = counting_baseline + machine;
    let s2 = ((n - 1.0) * stats::variance(&gs) + PRIOR_WEIGHT * prior) / (n - 1.0 + PRIOR_WEIGHT);
    // A current run with fewer responses than the baseline's counts more noise.
    let excess = (counting(current.all) - counting_baseline).max(0.0);
    let se_g = (s2 * (1.0 + 1.0 / n) + excess).sqrt();
    let df = n - 1.0 + PRIOR_WEIGHT;
    let g_current = stabilised(share_current);
    let t = (g_current - centre) / se_g;
    let t95 = stats::t_quantile(0.95, df);
    let ratio_at = |g: f64| share_of(g).max(1e-12) / share_baseline.max(1e-12);
    Some(TailOutcome {
        quantile: p,
        tail_to_median: k,
        above_current,
        responses_current: current.all.len(),
        share_current,
        share_baseline,
        diff: (share_current / share_baseline.max(1e-12)).ln(),
        se: se_g * 2.0 * ((1.0 - h0) / h0).sqrt(),
        df,
        dispersion: phi,
        p_up: 1.0 - stats::t_cdf(t, df),
        p_down: stats::t_cdf(t, df),
        ci90: (
            ratio_at(g_current - t95 * se_g),
            ratio_at(g_current + t95 * se_g),
        ),
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
        let runs: Vec<TailRun> = base.iter().map(TailRun::whole).collect();
        tail_test(0.95, &TailRun::whole(current), &runs).expect("enough responses above p95")
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
        let small = run(3, 90, 1.0, 0.0, 0.0);
        let base = run(4, 1000, 1.0, 0.0, 0.0);
        let (small, base) = (TailRun::whole(&small), TailRun::whole(&base));
        assert!(tail_test(0.95, &small, std::slice::from_ref(&base)).is_none());
        assert!(tail_test(0.99, &base, std::slice::from_ref(&base)).is_some());
        assert!(tail_test(0.999, &base, std::slice::from_ref(&base)).is_none());
        assert!(tail_test(0.95, &base, &[]).is_none());
    }

    /// A run's responses, and the same per block as buckets.
    type Blocked = (Histogram, Vec<Vec<(u64, u64)>>);

    /// A run in six blocks of `responses / 6`, each block as `run` makes it; with `burst`, every
    /// block but the first is calm and the first holds the slow share six times over (the
    /// same share of slow responses in the run, in one burst).
    fn blocked(
        seed: u64,
        responses: u64,
        slow: f64,
        burst: bool,
    ) -> (Histogram, Vec<Vec<(u64, u64)>>) {
        let per = responses / 6;
        let blocks: Vec<Histogram> = (0..6)
            .map(|b| {
                let share = match (burst, b) {
                    (true, 0) => slow * 6.0,
                    (true, _) => 0.0,
                    (false, _) => slow,
                };
                run(seed * 10 + b, per, 1.0, share, 40_000.0)
            })
            .collect();
        let mut all = Histogram::new();
        for b in &blocks {
            all.add(b);
        }
        (all, blocks.iter().map(|b| b.buckets().collect()).collect())
    }

    fn compare_blocked(seed: u64, responses: u64, slow: f64, burst: bool) -> TailOutcome {
        let base: Vec<Blocked> = (0..5)
            .map(|s| blocked(200 + s, responses, 0.0, false))
            .collect();
        let runs: Vec<TailRun> = base
            .iter()
            .map(|(h, b)| TailRun::with_blocks(h, b))
            .collect();
        let (h, b) = blocked(seed, responses, slow, burst);
        tail_test(0.95, &TailRun::with_blocks(&h, &b), &runs).expect("enough responses")
    }

    #[test]
    fn ten_percent_forty_ms_slower_is_caught_at_five_hundred_responses() {
        // 25 responses expected above p95: significant at a Holm threshold of 1% over a dozen
        // metrics in most runs (the real-service case of issue 15).
        let caught = (0..40)
            .filter(|&seed| {
                let t = compare_blocked(seed, 504, 0.10, false);
                t.ratio() > SHARE_RATIO && t.p_up < 0.01 / 12.0
            })
            .count();
        assert!(caught >= 36, "{caught} of 40");
        // Unchanged runs at that volume are not.
        let flagged = (0..40)
            .filter(|&seed| compare_blocked(seed, 504, 0.0, false).p_up < 0.01 / 12.0)
            .count();
        assert!(flagged <= 1, "{flagged} of 40 A/A");
    }

    #[test]
    fn responses_beyond_the_tail_in_one_burst_count_for_less() {
        let spread = compare_blocked(3, 1200, 0.03, false);
        let burst = compare_blocked(3, 1200, 0.03, true);
        assert!(
            burst.dispersion > spread.dispersion + 0.5,
            "{burst:?} {spread:?}"
        );
        assert!(burst.p_up > spread.p_up, "{burst:?} {spread:?}");
        // Without blocks, the prior alone.
        let h = run(5, 1000, 1.0, 0.0, 0.0);
        let t = tail_test(0.95, &TailRun::whole(&h), &[TailRun::whole(&h)]).expect("enough");
        assert!((t.dispersion - DISPERSION_PRIOR).abs() < 1e-12, "{t:?}");
    }
}
