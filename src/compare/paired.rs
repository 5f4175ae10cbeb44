//! Paired A/B comparison: the base target (A, e.g. the base branch's preview) and the target
//! under test (B, the pull request's) measured in alternating short blocks in one job (ABBA
//! repeated), and judged from the *paired differences* `d_k = ln Q_p(B_k) − ln Q_p(A_k)` of
//! the k-th block of each. Whatever moves both targets alike — a slower runner, a busy shared
//! cluster or datastore, the time of day, a drift through the job — cancels in `d_k`, so no
//! stored baseline and no prior for the run-to-run variance is needed: the spread of the `d_k`
//! themselves gives the standard error (Student-t with K − 1 degrees of freedom). ABBA order
//! also cancels a linear drift in the mean of the `d_k`. Pure math; latencies in µs.
//!
//! Here: the blocks and [`judge_paired`]; `differences.rs` the paired test, `shifts.rs` the
//! service-wide factor, `decide.rs` one metric's decision, `evaluate.rs` a whole comparison.

mod decide;
mod differences;
mod evaluate;
mod shifts;

use std::collections::BTreeMap;

use super::errors::ErrorOutcome;
use super::gate::{Judgement, TAIL_TEST_FROM};
use super::metric::{self, Against};
use super::run::RunData;
use super::shift;
use super::stats;
use super::tail::{self, TailOutcome, TailRun};
use super::verdict::{Metric, MetricStatus, MetricVerdict, Unit};
use crate::format::count;
use crate::metrics::{ErrorClass, Histogram};
use crate::profile::GateConfig;

use differences::with_sd;
pub use differences::{
    POOL_CONSISTENT, POOL_WEIGHT, PairedOutcome, moderate, paired_test, paired_test_from,
    split_service,
};
pub use evaluate::{PairedInput, evaluate_paired};
use shifts::{Split, apply_shifts, shift_reason};

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

pub(super) enum Test {
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

#[cfg(test)]
mod tests;
