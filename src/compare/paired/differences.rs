//! The paired test itself: per-block differences of log quantiles between the two targets,
//! their standard error, the service-wide factor split off across endpoints, and pooling.

use crate::compare::shift;
use crate::compare::stats;
use crate::metrics::Histogram;

use super::{MIN_PAIRS, MIN_TAIL_PER_BLOCK, SD_FLOOR};

/// The paired test of one endpoint and quantile.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedOutcome {
    /// The quantile, 0–1.
    pub quantile: f64,
    /// Neighbouring pairs merged into each unit of the test (1: every pair on its own).
    pub merged: usize,
    /// `ln Q_p(B) − ln Q_p(A)` per unit, in time order.
    pub diffs: Vec<f64>,
    /// Their mean.
    pub diff: f64,
    /// Standard deviation used (the differences' own, at least [`SD_FLOOR`]).
    pub sd: f64,
    /// Standard error of `diff`.
    pub se: f64,
    /// Degrees of freedom (units − 1).
    pub df: f64,
    /// One-sided p-value of an increase.
    pub p_up: f64,
    /// One-sided p-value of a decrease.
    pub p_down: f64,
    /// 90% confidence interval of the ratio B ÷ A.
    pub ci90: (f64, f64),
    /// The service-wide factor `C` (log scale) the test is relative to, when the quantile's
    /// endpoints were split ([`split_service`]): `diffs` are then each unit's change less that
    /// unit's median endpoint change, the p-values and the interval's width are theirs, and
    /// `diff` is `C` plus their mean (the endpoint's whole change). 0 for a test of an
    /// endpoint's own changes.
    pub service: f64,
}

impl PairedOutcome {
    /// B ÷ A.
    pub fn ratio(&self) -> f64 {
        self.diff.exp()
    }

    /// Minimum detectable change (ratio − 1) at 95% power, one-sided at `alpha_each`.
    pub fn mdc(&self, alpha_each: f64) -> f64 {
        ((stats::t_quantile(1.0 - alpha_each, self.df) + stats::t_quantile(0.95, self.df))
            * self.se)
            .exp()
            - 1.0
    }
}

/// The paired test of quantile `p` over the blocks of one endpoint, `a[k]` and `b[k]` being
/// the k-th block against each target. Pairs are merged in runs of 1, 2, 4… neighbours until
/// every block of every unit expects [`MIN_TAIL_PER_BLOCK`] responses above the quantile
/// (leftover pairs join the last unit); `None` when that leaves fewer than [`MIN_PAIRS`]
/// units or a block has no responses.
pub fn paired_test(p: f64, a: &[&Histogram], b: &[&Histogram]) -> Option<PairedOutcome> {
    paired_test_from(p, a, b, 1)
}

/// [`paired_test`] with pairs merged at least `merged` at a time (a power of two): the units
/// of an endpoint aligned with a thinner one's, so the two can be split by the same
/// service-wide factor ([`split_service`]).
pub fn paired_test_from(
    p: f64,
    a: &[&Histogram],
    b: &[&Histogram],
    merged: usize,
) -> Option<PairedOutcome> {
    let pairs = a.len().min(b.len());
    let mut merged = merged.max(1);
    while pairs / merged >= MIN_PAIRS {
        let units = pairs / merged;
        let unit = |blocks: &[&Histogram], j: usize| {
            let end = if j + 1 == units {
                pairs
            } else {
                (j + 1) * merged
            };
            let mut h = Histogram::new();
            for block in &blocks[j * merged..end] {
                h.add(block);
            }
            h
        };
        let mut diffs = Vec::with_capacity(units);
        let mut enough = true;
        for j in 0..units {
            let (ua, ub) = (unit(a, j), unit(b, j));
            if [&ua, &ub]
                .iter()
                .any(|h| h.len() as f64 * (1.0 - p) < MIN_TAIL_PER_BLOCK)
            {
                enough = false;
                break;
            }
            let log = |h: &Histogram| h.quantile_us(p).map(|v| (v.max(1) as f64).ln());
            diffs.push(log(&ub)? - log(&ua)?);
        }
        if enough {
            return Some(outcome(p, merged, diffs, 0.0));
        }
        merged *= 2;
    }
    None
}

pub(super) fn outcome(p: f64, merged: usize, diffs: Vec<f64>, service: f64) -> PairedOutcome {
    let k = diffs.len() as f64;
    let sd = stats::variance(&diffs).sqrt().max(SD_FLOOR);
    with_sd(p, merged, diffs, sd, k - 1.0, service)
}

/// The outcome of the differences `diffs` given their standard deviation `sd` with `df`
/// degrees of freedom, relative to the service-wide factor `service` (0: none).
pub(super) fn with_sd(
    p: f64,
    merged: usize,
    diffs: Vec<f64>,
    sd: f64,
    df: f64,
    service: f64,
) -> PairedOutcome {
    let k = diffs.len() as f64;
    let relative = stats::mean(&diffs);
    let se = sd / k.sqrt();
    let t = relative / se;
    let t95 = stats::t_quantile(0.95, df);
    let diff = service + relative;
    PairedOutcome {
        quantile: p,
        merged,
        diffs,
        diff,
        sd,
        se,
        df,
        p_up: 1.0 - stats::t_cdf(t, df),
        p_down: stats::t_cdf(t, df),
        ci90: ((diff - t95 * se).exp(), (diff + t95 * se).exp()),
        service,
    }
}

/// Splits the paired tests of one quantile (at least [`shift::MIN_ENDPOINTS`], with the same
/// units) into a service-wide factor and per-endpoint tests relative to it, and returns the
/// factor per unit (the median endpoint's change in it); `None`, tests untouched, otherwise.
///
/// Two deployments of the same code differ as a whole: measured at once on a real service
/// restarted per job, the endpoints' changes B ÷ A moved together by −7% to +14% from one
/// job to the next (sd 6%), while each job's own blocks put its standard error at 2–3%; a
/// test of an endpoint's own changes counted that difference between the deployments as the
/// code's. Less its unit's median, an endpoint's changes varied from job to job about as
/// much as their standard error said (2–3%). So each endpoint is tested relative to the
/// others, and the factor itself is judged once (`apply_shifts`): like the baseline gate's
/// service-wide shift, a paired run cannot tell it from a change that slows everything.
pub fn split_service(tests: &mut [(PairedOutcome, f64)]) -> Option<Vec<f64>> {
    let first = &tests.first()?.0;
    let (merged, units) = (first.merged, first.diffs.len());
    if tests.len() < shift::MIN_ENDPOINTS
        || tests
            .iter()
            .any(|(t, _)| t.merged != merged || t.diffs.len() != units)
    {
        return None;
    }
    let common: Vec<f64> = (0..units)
        .map(|k| stats::median(&tests.iter().map(|(t, _)| t.diffs[k]).collect::<Vec<_>>()))
        .collect();
    let service = stats::mean(&common);
    for (t, _) in tests.iter_mut() {
        let relative: Vec<f64> = t.diffs.iter().zip(&common).map(|(d, c)| d - c).collect();
        *t = outcome(t.quantile, merged, relative, service);
    }
    Some(common)
}

/// Most degrees of freedom the other endpoints' differences lend one endpoint's variance.
/// Six pairs give an endpoint five of its own, and a Student-t with five degrees of freedom
/// needs `t ≈ 6` to pass a Holm threshold of 1% over a dozen metrics; lending ten brings that
/// to about 4. Capped because endpoints are not alike: one whose differences truly vary more
/// keeps most of its own estimate.
pub const POOL_WEIGHT: f64 = 10.0;

/// An endpoint borrows only while its own variance is below this point of the F distribution
/// of its ratio to the others' (at 0.9 an endpoint as noisy as the others keeps borrowing nine
/// times in ten).
pub const POOL_CONSISTENT: f64 = 0.9;

/// Moderates the paired tests of one quantile (`tests[i]` with its responses per unit and
/// target): each endpoint's variance of the differences is shrunk toward the pooled variance
/// of the others, scaled to its volume (a quantile's sampling variance falls as `1/n`), with
/// weight up to [`POOL_WEIGHT`] degrees of freedom, and its degrees of freedom grow by as much;
/// one whose own variance is too large for the others' ([`POOL_CONSISTENT`]) is left alone.
pub fn moderate(tests: &mut [(PairedOutcome, f64)]) {
    if tests.len() < 2 {
        return;
    }
    // The volume-scaled variance of each, `s² · n`, pooled over the others by their df.
    let scaled: Vec<(f64, f64)> = tests
        .iter()
        .map(|(t, n)| (t.sd * t.sd * n.max(1.0), t.df))
        .collect();
    for (i, (t, n)) in tests.iter_mut().enumerate() {
        let (mut num, mut df) = (0.0, 0.0);
        for (j, &(v, d)) in scaled.iter().enumerate() {
            if j != i {
                num += v * d;
                df += d;
            }
        }
        if df <= 0.0 {
            continue;
        }
        let prior = num / df / n.max(1.0);
        let own = t.sd * t.sd;
        // An endpoint clearly noisier than the others keeps its own estimate alone.
        if own / prior > stats::f_quantile(POOL_CONSISTENT, t.df, df) {
            continue;
        }
        let weight = df.min(POOL_WEIGHT);
        let var = (t.df * own + weight * prior) / (t.df + weight);
        let merged = t.merged;
        let diffs = std::mem::take(&mut t.diffs);
        *t = with_sd(
            t.quantile,
            merged,
            diffs,
            var.sqrt().max(SD_FLOOR),
            t.df + weight,
            t.service,
        );
    }
}
