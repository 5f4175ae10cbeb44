//! Paired A/B comparison: the base target (A, e.g. the base branch's preview) and the target
//! under test (B, the pull request's) measured in alternating short blocks in one job (ABBA
//! repeated), and judged from the *paired differences* `d_k = ln Q_p(B_k) − ln Q_p(A_k)` of
//! the k-th block of each. Whatever moves both targets alike — a slower runner, a busy shared
//! cluster or datastore, the time of day, a drift through the job — cancels in `d_k`, so no
//! stored baseline and no prior for the run-to-run variance is needed: the spread of the `d_k`
//! themselves gives the standard error (Student-t with K − 1 degrees of freedom). ABBA order
//! also cancels a linear drift in the mean of the `d_k`. Pure math; latencies in µs.

mod decide;
mod evaluate;

use std::collections::BTreeMap;

use super::errors::ErrorOutcome;
use super::gate::{Judgement, TAIL_TEST_FROM};
use super::metric::{self, Against};
use super::run::RunData;
use super::shift;
use super::stats;
use super::tail::{self, TailOutcome, TailRun};
use super::verdict::{
    Metric, MetricRef, MetricStatus, MetricVerdict, Range, ServiceShift, ShiftStatus, Unit,
};
use crate::format::{change, count};
use crate::metrics::{ErrorClass, Histogram};
use crate::profile::GateConfig;

pub use evaluate::{PairedInput, evaluate_paired};

use decide::{decide_paired, decide_tail, error_pending};

/// [`PairedRun::order`](super::verdict::PairedRun) of a comparison whose targets were measured
/// at the same time, interval by interval.
pub const SIMULTANEOUS: &str = "simultaneous";
/// Fewest pairs (or pairs of merged blocks) a latency test needs.
pub const MIN_PAIRS: usize = 3;
/// Fewest expected responses above the quantile in every block of a pair (`n·(1−p)`); with
/// fewer, neighbouring pairs are merged (their blocks' histograms added) until there are.
pub const MIN_TAIL_PER_BLOCK: f64 = 20.0;
/// Smallest standard deviation of the paired differences used (1%): a few identical
/// differences must not make a test infinitely sure.
pub const SD_FLOOR: f64 = 0.01;

/// One block's measured phase, per endpoint: what the paired test needs from it.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Per endpoint, in the run's order.
    pub endpoints: Vec<BlockEndpoint>,
}

/// One endpoint within one block.
#[derive(Debug, Clone, Default)]
pub struct BlockEndpoint {
    /// The request's name.
    pub name: String,
    /// Latency of the block's responses.
    pub latency: Histogram,
    /// Requests that finished.
    pub requests: u64,
    /// Failures by class.
    pub errors: BTreeMap<ErrorClass, u64>,
}

impl Block {
    /// The measured phase of one block's results.
    pub fn from_data(data: &RunData) -> Self {
        Self::of_intervals(data, |_| true)
    }

    /// The intervals of `data` that `keep` selects, per endpoint, as one block.
    fn of_intervals(data: &RunData, keep: impl Fn(u32) -> bool) -> Self {
        Self {
            endpoints: data
                .endpoints
                .iter()
                .map(|e| {
                    let mut b = BlockEndpoint {
                        name: e.name.clone(),
                        ..BlockEndpoint::default()
                    };
                    for i in e.intervals.iter().filter(|i| keep(i.index)) {
                        i.add_latency_to(&mut b.latency);
                        b.requests += i.requests;
                        for (class, n) in &i.errors {
                            *b.errors.entry(*class).or_default() += n;
                        }
                    }
                    b
                })
                .collect(),
        }
    }

    /// The measured intervals `indices` of a run, each as a block of its own (an interval
    /// without responses of an endpoint gives that endpoint an empty block): the blocks of a
    /// simultaneous paired comparison, the k-th against each target measured at the same
    /// time. The test merges neighbouring intervals where they are too thin.
    pub fn per_interval(data: &RunData, indices: std::ops::Range<u32>) -> Vec<Self> {
        indices
            .map(|k| Self::of_intervals(data, |i| i == k))
            .collect()
    }

    fn endpoint(&self, name: &str) -> Option<&BlockEndpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }
}

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

fn outcome(p: f64, merged: usize, diffs: Vec<f64>, service: f64) -> PairedOutcome {
    let k = diffs.len() as f64;
    let sd = stats::variance(&diffs).sqrt().max(SD_FLOOR);
    with_sd(p, merged, diffs, sd, k - 1.0, service)
}

/// The outcome of the differences `diffs` given their standard deviation `sd` with `df`
/// degrees of freedom, relative to the service-wide factor `service` (0: none).
fn with_sd(
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

enum Test {
    Paired(PairedOutcome),
    Tail(TailOutcome),
    Error(ErrorOutcome),
}

impl Test {
    fn p(&self) -> (f64, f64) {
        match self {
            Test::Paired(t) => (t.p_up, t.p_down),
            Test::Tail(t) => (t.p_up, t.p_down),
            Test::Error(t) => (t.p_up, t.p_down),
        }
    }
}

/// Decides every metric of target B against target A from their blocks (`a[k]`, `b[k]` the
/// k-th block against each), with the profile's `gate` settings: latency quantiles by the
/// paired test, thinly sampled tails by the tail-share test on the joined blocks, error rates
/// by the conditional binomial test on the totals; Holm over all of them.
pub fn judge_paired(a: &[Block], b: &[Block], gate: &GateConfig) -> Judgement {
    let gated = |name: &str| {
        gate.endpoints
            .as_ref()
            .is_none_or(|list| list.iter().any(|e| e == name))
    };
    let names: Vec<&str> = b
        .first()
        .map(|blk| blk.endpoints.iter().map(|e| e.name.as_str()).collect())
        .unwrap_or_default();
    let mut pending: Vec<(MetricVerdict, Option<Test>)> = Vec::new();
    // The paired latency tests (index into `pending`, quantile) with their responses per unit.
    let mut volumes: Vec<(usize, usize, f64)> = Vec::new();
    // Their blocks (A's, B's), to test them again with coarser units.
    let mut latencies: Vec<(Vec<&Histogram>, Vec<&Histogram>)> = Vec::new();
    for name in names {
        let ea: Vec<&BlockEndpoint> = a.iter().filter_map(|blk| blk.endpoint(name)).collect();
        let eb: Vec<&BlockEndpoint> = b.iter().filter_map(|blk| blk.endpoint(name)).collect();
        let joined = |list: &[&BlockEndpoint]| {
            let mut h = Histogram::new();
            for e in list {
                h.add(&e.latency);
            }
            h
        };
        let (ha, hb) = (joined(&ea), joined(&eb));
        for (qi, &(q, tolerance)) in gate.metrics.iter().enumerate() {
            let p = q.0;
            let (base, cur) = (ha.quantile_us(p), hb.quantile_us(p));
            let mut v = MetricVerdict {
                status: MetricStatus::ReportOnly,
                baseline: base.map(|v| v as f64),
                current: cur.map(|v| v as f64),
                ratio: base.zip(cur).map(|(a, b)| b as f64 / a.max(1) as f64),
                ..metric::undecided(name, Metric::Latency { quantile: p }, Unit::Us, tolerance)
            };
            if !gated(name) {
                v.reason = "endpoint not gated (`gate.endpoints`)".into();
                pending.push((v, None));
                continue;
            }
            let la: Vec<&Histogram> = ea.iter().map(|e| &e.latency).collect();
            let lb: Vec<&Histogram> = eb.iter().map(|e| &e.latency).collect();
            if let Some(t) = paired_test(p, &la, &lb) {
                let per_unit = (ha.len() + hb.len()) as f64 / 2.0 / t.diffs.len().max(1) as f64;
                volumes.push((pending.len(), qi, per_unit));
                latencies.push((la.clone(), lb.clone()));
                pending.push((v, Some(Test::Paired(t))));
                continue;
            }
            let per_block = hb.len() / lb.len().max(1) as u64;
            v.reason = format!(
                "too few responses per block to pair {}: about {} per block leave {} above it, {} are needed in each of {MIN_PAIRS} pairs: longer blocks (`gate.paired.block`), more of them, or a higher rate",
                v.label,
                count(per_block),
                count((per_block as f64 * (1.0 - p)).floor() as u64),
                MIN_TAIL_PER_BLOCK
            );
            let sparse = |blocks: &[&Histogram]| -> Vec<Vec<(u64, u64)>> {
                blocks.iter().map(|h| h.buckets().collect()).collect()
            };
            let (sa, sb) = (sparse(&la), sparse(&lb));
            let tail = (p >= TAIL_TEST_FROM)
                .then(|| {
                    tail::tail_test(
                        p,
                        &TailRun::with_blocks(&hb, &sb),
                        &[TailRun::with_blocks(&ha, &sa)],
                    )
                })
                .flatten();
            pending.push((v, tail.map(Test::Tail)));
        }
        if !gated(name) {
            continue;
        }
        // Errors: each class seen against either target.
        let mut classes: Vec<ErrorClass> = ea
            .iter()
            .chain(&eb)
            .flat_map(|e| e.errors.keys().copied())
            .collect();
        classes.sort();
        classes.dedup();
        for class in classes {
            pending.push(error_pending(name, &ea, &eb, class, gate.error_rate));
        }
    }
    // Each quantile's endpoints are split into a service-wide factor and changes relative to
    // it, and lend each other degrees of freedom.
    let mut splits: Vec<Split> = Vec::new();
    // Quantiles with paired tests too few to split: their tests' indices.
    let mut lone: Vec<Vec<usize>> = Vec::new();
    for qi in 0..gate.metrics.len() {
        let mine: Vec<(usize, f64, usize)> = volumes
            .iter()
            .enumerate()
            .filter(|(_, v)| v.1 == qi)
            .map(|(k, &(i, _, n))| (i, n, k))
            .collect();
        let mut tests: Vec<(PairedOutcome, f64)> = mine
            .iter()
            .filter_map(|&(i, n, _)| match pending[i].1.take() {
                Some(Test::Paired(t)) => Some((t, n)),
                _ => None,
            })
            .collect();
        // Units aligned: an endpoint with more responses per block is tested again with the
        // thinnest one's merging, so every endpoint's units cover the same time.
        let coarsest = tests.iter().map(|(t, _)| t.merged).max().unwrap_or(1);
        if tests.len() >= shift::MIN_ENDPOINTS {
            for ((t, n), &(.., k)) in tests.iter_mut().zip(&mine) {
                if t.merged == coarsest {
                    continue;
                }
                let (la, lb) = &latencies[k];
                if let Some(aligned) =
                    paired_test_from(t.quantile, la, lb, coarsest).filter(|a| a.merged == coarsest)
                {
                    *n *= t.diffs.len() as f64 / aligned.diffs.len().max(1) as f64;
                    *t = aligned;
                }
            }
        }
        let indices: Vec<usize> = mine.iter().map(|&(i, ..)| i).collect();
        match split_service(&mut tests) {
            Some(common) => splits.push(Split {
                indices,
                common,
                borrowers: Vec::new(),
            }),
            None if !indices.is_empty() => lone.push(indices),
            None => {}
        }
        moderate(&mut tests);
        for (&(i, ..), (t, _)) in mine.iter().zip(tests) {
            pending[i].1 = Some(Test::Paired(t));
        }
    }
    // A quantile with too few paired endpoints of its own (a tail only the busiest endpoint
    // has responses enough to pair) is judged relative to the first split quantile's factor:
    // a difference between the deployments moves every quantile alike.
    if let Some(first) = splits.first_mut() {
        let factor = stats::mean(&first.common);
        for &i in lone.iter().flatten() {
            if let Some(Test::Paired(t)) = &pending[i].1 {
                let diffs = t.diffs.iter().map(|d| d - factor).collect();
                let shifted = with_sd(t.quantile, t.merged, diffs, t.sd, t.df, factor);
                pending[i].1 = Some(Test::Paired(shifted));
                first.borrowers.push(i);
            }
        }
    }
    // Holm over increases and, mirrored, over decreases; BH for the notable list.
    let family: Vec<usize> = (0..pending.len())
        .filter(|&i| match &pending[i].1 {
            Some(Test::Error(t)) => t.min_p <= gate.alpha,
            Some(_) => true,
            None => false,
        })
        .collect();
    let (ups, downs): (Vec<f64>, Vec<f64>) = family
        .iter()
        .map(|&i| pending[i].1.as_ref().map_or((1.0, 1.0), Test::p))
        .unzip();
    let (holm_up, holm_down) = (stats::holm(&ups), stats::holm(&downs));
    let directional: Vec<f64> = ups.iter().zip(&downs).map(|(u, d)| u.min(*d)).collect();
    let q = stats::benjamini_hochberg(&directional);
    let mut adjusted = vec![None; pending.len()];
    for (k, &i) in family.iter().enumerate() {
        adjusted[i] = Some((holm_up[k], holm_down[k], q[k]));
    }
    let alpha_each = gate.alpha / family.len().max(1) as f64;
    let mut metrics: Vec<MetricVerdict> = pending
        .into_iter()
        .zip(adjusted)
        .map(|((v, test), adj)| match test {
            None => v,
            Some(Test::Paired(t)) => decide_paired(v, &t, adj, gate.alpha, alpha_each),
            Some(Test::Tail(t)) => decide_tail(v, &t, adj, gate.alpha),
            Some(Test::Error(t)) => {
                metric::decide_error(v, &t, adj, gate.alpha, Against::BaseTarget)
            }
        })
        .collect();
    let shifts = apply_shifts(&mut metrics, &splits);
    let notable = metric::notable(&metrics);
    let (verdict, mut reasons) = metric::overall(&metrics, Against::BaseTarget);
    reasons.splice(0..0, shifts.iter().map(shift_reason));
    Judgement {
        metrics,
        family_size: family.len() as u32,
        notable,
        verdict,
        reasons,
        shifts,
    }
}

/// One quantile's paired tests split by their service-wide factor ([`split_service`]).
struct Split {
    /// The quantile's metrics (indices into the decisions).
    indices: Vec<usize>,
    /// The factor per unit.
    common: Vec<f64>,
    /// Other quantiles' metrics judged relative to this factor (too few to split their own).
    borrowers: Vec<usize>,
}

/// Judges each split quantile's service-wide factor once (see [`split_service`]). Endpoints
/// were decided relative to it; where the factor is beyond the tolerance, an endpoint whose
/// whole change passed the tolerance without a relative regression only follows it: below
/// [`shift::SWING_CEILING`] it stays inconclusive, with the reason saying so, beyond it it
/// blocks. Returns the factors beyond the tolerance.
fn apply_shifts(metrics: &mut [MetricVerdict], splits: &[Split]) -> Vec<ServiceShift> {
    let mut shifts = Vec::new();
    for Split {
        indices,
        common,
        borrowers,
    } in splits
    {
        let first = &metrics[indices[0]];
        let (tolerance, label) = (first.tolerance, first.label.clone());
        let Metric::Latency { quantile } = first.metric else {
            continue;
        };
        let factor = stats::mean(common);
        if factor.abs() < (1.0 + tolerance).ln() {
            continue;
        }
        let ratios: Vec<f64> = indices.iter().filter_map(|&i| metrics[i].ratio).collect();
        let range = Range {
            low: ratios.iter().copied().fold(f64::INFINITY, f64::min),
            high: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        };
        let beyond = factor >= (1.0 + shift::SWING_CEILING).ln();
        let status = if factor < 0.0 {
            ShiftStatus::Faster
        } else if beyond {
            ShiftStatus::BeyondSwings
        } else {
            ShiftStatus::Uniform
        };
        let mut following = Vec::new();
        for &i in indices.iter().chain(borrowers) {
            let v = &mut metrics[i];
            if factor < 0.0
                || v.status != MetricStatus::Inconclusive
                || v.ratio.is_none_or(|r| r < 1.0 + v.tolerance)
            {
                continue;
            }
            following.push(MetricRef {
                endpoint: v.endpoint.clone(),
                label: v.label.clone(),
            });
            let whole = change(v.ratio.unwrap_or(1.0));
            if beyond {
                v.status = MetricStatus::Regression;
                v.reason = format!(
                    "{whole} against the base target, with every endpoint ({} together): more than the +{:.0}% two deployments of the same code differ by, so it blocks",
                    change(factor.exp()),
                    shift::SWING_CEILING * 100.0
                );
            } else {
                v.reason = format!(
                    "{whole} against the base target, with every endpoint ({} together): against the other endpoints it did not move beyond its noise; a slowdown that only follows the whole service does not block",
                    change(factor.exp())
                );
            }
        }
        shifts.push(ServiceShift {
            quantile,
            label,
            ratio: factor.exp(),
            range,
            endpoints: indices.len() as u32,
            status,
            following,
            baseline_range: None,
        });
    }
    shifts
}

/// The headline line of a service-wide difference between the two targets.
fn shift_reason(s: &ServiceShift) -> String {
    let what = format!(
        "every endpoint {} at {} against the base target ({} to {})",
        change(s.ratio),
        s.label,
        change(s.range.low),
        change(s.range.high)
    );
    match s.status {
        ShiftStatus::BeyondSwings => format!(
            "{what}, more than the +{:.0}% two deployments of the same code differ by: it blocks",
            shift::SWING_CEILING * 100.0
        ),
        ShiftStatus::Faster => format!("{what}: the whole service is faster than the base target"),
        _ => format!(
            "{what}: the two deployments differ as a whole (their instances, nodes or data), or a change slows everything; one paired run cannot tell these apart (two deployments of the same code differed by up to 14% on a real service), so slowdowns that only follow it do not block: deploying the base or the change again, or a comparison against a stored baseline, settles it"
        ),
    }
}

#[cfg(test)]
mod tests;
