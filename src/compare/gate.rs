//! The gate's policy: which metrics are gated, the Holm family, and the verdict per metric and
//! overall (see `stats-gate.md`). [`judge`] decides from run summaries alone (the simulator
//! drives it directly); [`evaluate`] adds the validity checks, the baseline's compatibility and
//! the thresholds, and builds the [`Comparison`].

use super::errors::{self, ErrorOutcome};
use super::metric::{self, Against, ErrorCount};
use super::run::{EndpointSummary, RunData, RunSummary};
use super::shift::{self, Decomposition};
use super::stats::{self, LatencyOutcome, QuantileValue};
use super::tail::{self, TailOutcome, TailRun};
use super::verdict::{
    BaselineRunRef, BaselineUse, CheckKind, CheckStatus, Comparison, Detail, LatencyDetail, Metric,
    MetricRef, MetricStatus, MetricVerdict, Overall, Range, ServiceShift, ShiftStatus, Unit,
    ValidityCheck, Verdict,
};
use super::{COMPARISON_FORMAT_VERSION, thresholds, validity};
use crate::baseline::Baseline;
use crate::format::{change, count, p_value, percent};
use crate::metrics::{ErrorClass, HistogramError};
use crate::profile::{GateConfig, Threshold};
use crate::results::{ResultsError, RunResult};

/// Ratio an error rate must at least reach (or fall to the inverse of) to count as a change.
pub const ERROR_RATIO: f64 = 2.0;
/// Benjamini–Hochberg level of the non-blocking "notable changes" list.
pub const NOTABLE_Q: f64 = 0.10;

/// The decisions on the metrics of one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// One entry per endpoint × metric.
    pub metrics: Vec<MetricVerdict>,
    /// Hypotheses in the Holm family.
    pub family_size: u32,
    /// Notable non-blocking changes (indices into `metrics`), most significant first.
    pub notable: Vec<usize>,
    /// Pass, improvement, regression or inconclusive.
    pub verdict: Verdict,
    /// Why.
    pub reasons: Vec<String>,
    /// Quantiles at which every endpoint moved together beyond the tolerance.
    pub shifts: Vec<ServiceShift>,
}

/// A metric with its test, before the family is adjusted.
struct Pending {
    verdict: MetricVerdict,
    test: Option<Test>,
    /// For a latency metric judged relative to its run's service-wide factor
    /// (`compare::shift`): the factor (log scale) and the test of the value as measured,
    /// which only a shift beyond the swings or one that is not service-wide turns into a
    /// regression. `test` then holds the relative test.
    as_measured: Option<(f64, LatencyOutcome)>,
}

enum Test {
    Latency(LatencyOutcome),
    Error(ErrorOutcome),
    Tail(TailOutcome),
}

impl Test {
    fn p_up(&self) -> f64 {
        match self {
            Test::Latency(t) => t.p_up,
            Test::Error(t) => t.p_up,
            Test::Tail(t) => t.p_up,
        }
    }

    fn p_down(&self) -> f64 {
        match self {
            Test::Latency(t) => t.p_down,
            Test::Error(t) => t.p_down,
            Test::Tail(t) => t.p_down,
        }
    }

    fn in_family(&self, alpha: f64) -> bool {
        match self {
            Test::Latency(_) | Test::Tail(_) => true,
            Test::Error(t) => t.min_p <= alpha,
        }
    }
}

/// Holm-adjusted p-values of an increase and a decrease, and the BH q-value.
type Adjusted = (f64, f64, f64);

/// Decides every metric of the current run against the baseline runs (`N ≥ 1`), all
/// summarized with the same `gate` settings.
pub fn judge(current: &RunSummary, baseline: &[RunSummary], gate: &GateConfig) -> Judgement {
    let gated = |name: &str| {
        gate.endpoints
            .as_ref()
            .is_none_or(|list| list.iter().any(|e| e == name))
    };
    let mut pending = Vec::new();
    // Latency: classify first, then pool the prior over the gateable endpoints of each quantile.
    let mut gateable: Vec<Vec<(usize, Vec<&QuantileValue>)>> = vec![Vec::new(); gate.metrics.len()];
    // Tail quantiles with too few samples for their value: candidates for the tail-share test.
    let mut tail_candidates: Vec<(usize, usize)> = Vec::new();
    for e in &current.endpoints {
        let runs: Vec<&EndpointSummary> = baseline
            .iter()
            .filter_map(|b| b.endpoint(&e.name))
            .collect();
        for (qi, &(q, tolerance)) in gate.metrics.iter().enumerate() {
            let cur = &e.quantiles[qi];
            let base: Vec<&QuantileValue> = runs.iter().map(|r| &r.quantiles[qi]).collect();
            let mut v = latency_verdict(&e.name, q.0, tolerance, cur, &base);
            let status = if !gated(&e.name) {
                Some((
                    MetricStatus::ReportOnly,
                    "endpoint not gated (`gate.endpoints`)".to_string(),
                ))
            } else if base.is_empty() {
                Some((
                    MetricStatus::Inconclusive,
                    "the endpoint is not in the baseline runs".to_string(),
                ))
            } else {
                let status = sample_status(q.0, cur, &base);
                if status.is_some() && q.0 >= TAIL_TEST_FROM {
                    tail_candidates.push((pending.len(), qi));
                }
                status
            };
            match status {
                Some((status, reason)) => {
                    v.status = status;
                    v.reason = reason;
                }
                None => gateable[qi].push((pending.len(), base)),
            }
            pending.push(Pending {
                verdict: v,
                test: None,
                as_measured: None,
            });
        }
    }
    let mut splits: Vec<Split> = Vec::new();
    // Quantiles whose gateable endpoints are too few for a factor of their own.
    let mut without: Vec<(usize, Vec<usize>)> = Vec::new();
    for (qi, list) in gateable.iter().enumerate() {
        let groups: Vec<Vec<&QuantileValue>> = list.iter().map(|(_, b)| b.clone()).collect();
        let scale = stats::prior_scale(&groups);
        for (i, base) in list {
            let cur = current_value(current, &pending[*i].verdict.endpoint, qi);
            let outcome = stats::latency_test(cur, base, scale);
            if let Some(t) = &outcome {
                pending[*i].verdict.detail = Some(Detail::Latency(latency_detail(
                    t,
                    cur,
                    base.len(),
                    current.interval_ms,
                )));
            }
            pending[*i].test = outcome.map(Test::Latency);
        }
        // The service-wide factor of this quantile, over the baseline runs that have every
        // gateable endpoint.
        let indices: Vec<usize> = list.iter().map(|(i, _)| *i).collect();
        let names: Vec<&str> = indices
            .iter()
            .map(|&i| pending[i].verdict.endpoint.as_str())
            .collect();
        let rows: Vec<(usize, Vec<&QuantileValue>)> = baseline
            .iter()
            .enumerate()
            .filter_map(|(k, run)| quantile_row(run, &names, qi).map(|row| (k, row)))
            .collect();
        let runs: Vec<Vec<&QuantileValue>> = rows.iter().map(|(_, row)| row.clone()).collect();
        let d = quantile_row(current, &names, qi).and_then(|now| shift::decompose(&now, &runs));
        let Some(d) = d else {
            if !indices.is_empty() {
                without.push((qi, indices));
            }
            continue;
        };
        // Each endpoint is judged against the others of its run: the shared part of the
        // run-to-run noise is counted once, as the shift, not in every endpoint's interval.
        for (&i, t) in indices.iter().zip(&d.relative) {
            if let Some(t) = t {
                let cur = current_value(current, &pending[i].verdict.endpoint, qi);
                judge_relative(
                    &mut pending[i],
                    t,
                    d.current,
                    cur,
                    runs.len(),
                    current.interval_ms,
                );
            }
        }
        splits.push(Split {
            indices,
            runs: rows.iter().map(|(k, _)| *k).collect(),
            decomposition: d,
            borrowers: Vec::new(),
        });
    }
    // A quantile without a factor of its own borrows the lowest quantile's: a service-wide
    // swing multiplies every quantile of every endpoint alike.
    if let Some(split) = splits.first_mut() {
        let d = &split.decomposition;
        for (qi, indices) in without {
            let names: Vec<&str> = indices
                .iter()
                .map(|&i| pending[i].verdict.endpoint.as_str())
                .collect();
            let groups: Vec<Vec<QuantileValue>> = names
                .iter()
                .map(|name| {
                    split
                        .runs
                        .iter()
                        .zip(&d.baseline)
                        .filter_map(|(&k, f)| {
                            baseline[k]
                                .endpoint(name)
                                .map(|e| e.quantiles[qi].shifted(*f))
                        })
                        .collect()
                })
                .collect();
            let refs: Vec<Vec<&QuantileValue>> =
                groups.iter().map(|g| g.iter().collect()).collect();
            let scale = stats::prior_scale(&refs);
            for (&i, base) in indices.iter().zip(&refs) {
                let cur = current_value(current, &pending[i].verdict.endpoint, qi);
                if let Some(t) = stats::latency_test(&cur.shifted(d.current), base, scale) {
                    judge_relative(
                        &mut pending[i],
                        &t,
                        d.current,
                        cur,
                        base.len(),
                        current.interval_ms,
                    );
                    split.borrowers.push(i);
                }
            }
        }
    }
    // Share ratios of the tails too thin to test, for how the tails moved together.
    let mut estimates: Vec<TailEstimate> = Vec::new();
    for &(i, qi) in &tail_candidates {
        let endpoint = &pending[i].verdict.endpoint;
        let Some(cur) = current.endpoint(endpoint) else {
            continue;
        };
        let base: Vec<TailRun> = baseline
            .iter()
            .filter_map(|b| b.endpoint(endpoint))
            .map(EndpointSummary::tail_run)
            .collect();
        let p = gate.metrics[qi].0.0;
        if let Some(t) = tail::tail_test(p, &cur.tail_run(), &base) {
            pending[i].test = Some(Test::Tail(t));
        } else if let Some(ratio) = tail::share_ratio(p, &cur.tail_run(), &base) {
            estimates.push(TailEstimate {
                label: pending[i].verdict.label.clone(),
                quantile: p,
                ratio,
            });
        }
    }
    // Errors: per gated endpoint and class seen in either run.
    for e in current.endpoints.iter().filter(|e| gated(&e.name)) {
        let runs: Vec<&EndpointSummary> = baseline
            .iter()
            .filter_map(|b| b.endpoint(&e.name))
            .collect();
        if runs.is_empty() {
            continue;
        }
        let mut classes: Vec<ErrorClass> = e
            .error_classes()
            .chain(runs.iter().flat_map(|r| r.error_classes()))
            .collect();
        classes.sort();
        classes.dedup();
        for class in classes {
            pending.push(error_pending(e, &runs, class, gate.error_rate));
        }
    }
    // The family: Holm over increases (regressions) and, mirrored, over decreases.
    let family: Vec<usize> = (0..pending.len())
        .filter(|&i| {
            pending[i]
                .test
                .as_ref()
                .is_some_and(|t| t.in_family(gate.alpha))
        })
        .collect();
    let m = family.len().max(1) as f64;
    let (ups, downs): (Vec<f64>, Vec<f64>) = family
        .iter()
        .map(|&i| {
            let t = test_of(&pending[i]);
            (t.p_up(), t.p_down())
        })
        .unzip();
    let (holm_up, holm_down) = (stats::holm(&ups), stats::holm(&downs));
    let directional: Vec<f64> = ups.iter().zip(&downs).map(|(u, d)| u.min(*d)).collect();
    let q = stats::benjamini_hochberg(&directional);
    let mut adjusted: Vec<Option<Adjusted>> = vec![None; pending.len()];
    for (k, &i) in family.iter().enumerate() {
        adjusted[i] = Some((holm_up[k], holm_down[k], q[k]));
    }
    let alpha_each = gate.alpha / m;
    let own: Vec<Option<(f64, LatencyOutcome)>> =
        pending.iter_mut().map(|p| p.as_measured.take()).collect();
    let mut metrics: Vec<MetricVerdict> = pending
        .into_iter()
        .zip(adjusted)
        .map(|(p, adj)| decide(p, adj, gate.alpha, alpha_each, baseline.len()))
        .collect();
    for (v, own) in metrics.iter_mut().zip(&own) {
        if let Some((factor, own)) = own {
            relative_to_service(v, *factor, own);
        }
    }
    let mut shifts = apply_shifts(&mut metrics, &splits, &own, gate.alpha, m);
    let tails = tail_swing(&mut metrics, &mut shifts, &estimates);
    let mut notable = metric::notable(&metrics);
    // Large changes no test could judge are named, never hidden behind a bare pass.
    let untested: Vec<usize> = (0..metrics.len())
        .filter(|&i| {
            let m = &metrics[i];
            m.status == MetricStatus::ReportOnly
                && m.q_value.is_none()
                && matches!(m.metric, Metric::Latency { .. })
                && m.ratio
                    .is_some_and(|r| r >= UNTESTED_NOTABLE || r <= 1.0 / UNTESTED_NOTABLE)
        })
        .collect();
    notable.extend(&untested);
    let (verdict, mut reasons) = metric::overall(&metrics, Against::Baseline);
    reasons.splice(0..0, shifts.iter().map(shift_reason).chain(tails));
    reasons.extend(untested.iter().map(|&i| {
        let m = &metrics[i];
        format!(
            "{} {}: {} could not be tested (too few responses above it, even for the tail-share test): not part of the verdict",
            m.endpoint,
            m.label,
            change(m.ratio.unwrap_or(1.0))
        )
    }));
    Judgement {
        metrics,
        family_size: family.len() as u32,
        notable,
        verdict,
        reasons,
        shifts,
    }
}

/// One quantile's service-wide factor and the metrics judged relative to it.
struct Split {
    /// The metrics (indices into the pending list) it was measured over.
    indices: Vec<usize>,
    /// The baseline runs (indices) that have every one of them, in the decomposition's order.
    runs: Vec<usize>,
    decomposition: Decomposition,
    /// Metrics of other quantiles, too few there for a factor of their own, judged relative
    /// to this one.
    borrowers: Vec<usize>,
}

/// The current run's value of one endpoint's quantile.
fn current_value<'a>(current: &'a RunSummary, endpoint: &str, qi: usize) -> &'a QuantileValue {
    current
        .endpoint(endpoint)
        .map(|e| &e.quantiles[qi])
        .expect("gateable metrics come from the current run's endpoints")
}

/// Makes `relative` (the test of the value less the run's service-wide factor `factor`) the
/// metric's test, keeping the test of the value as measured beside it.
fn judge_relative(
    p: &mut Pending,
    relative: &LatencyOutcome,
    factor: f64,
    current: &QuantileValue,
    runs: usize,
    interval_ms: u64,
) {
    if let Some(Test::Latency(own)) = p.test.take() {
        p.as_measured = Some((factor, own));
    }
    let mut detail = latency_detail(relative, current, runs, interval_ms);
    detail.service_factor = Some(factor.exp());
    p.verdict.detail = Some(Detail::Latency(detail));
    p.test = Some(Test::Latency(relative.clone()));
}

/// One quantile of the named endpoints of a run, `None` when one is missing.
fn quantile_row<'a>(
    run: &'a RunSummary,
    names: &[&str],
    qi: usize,
) -> Option<Vec<&'a QuantileValue>> {
    names
        .iter()
        .map(|n| run.endpoint(n).map(|e| &e.quantiles[qi]))
        .collect()
}

/// A report-only latency metric that moved at least this much (ratio, either way) without any
/// test to judge it is named in the notable list and the reasons.
pub const UNTESTED_NOTABLE: f64 = 1.5;

/// Tail quantiles from this one up get the tail-share test when their value cannot be gated.
pub const TAIL_TEST_FROM: f64 = 0.75;

/// A latency metric decided by its test relative to the service-wide factor: the baseline
/// shown is the baseline runs' own centre, the ratio, interval and p-values are relative,
/// and the reason says so.
fn relative_to_service(v: &mut MetricVerdict, factor: f64, own: &LatencyOutcome) {
    v.baseline = Some(own.center_log.exp());
    if factor.abs() >= RELATIVE_NOTE {
        v.reason = format!(
            "{}; judged against the other endpoints, which moved {} together ({} as measured)",
            v.reason,
            change(factor.exp()),
            change(own.ratio())
        );
    }
}

/// A service-wide factor at least this far from 0 (log scale) is named in the reason of a
/// metric judged relative to it.
const RELATIVE_NOTE: f64 = 0.01;

/// A uniform shift this likely or more under the baseline runs' own factors is within their
/// swings (one-sided prediction p-value).
pub const WITHIN_SWINGS_P: f64 = 0.05;

/// True when the value as measured regressed: beyond the tolerance and significant at the
/// Bonferroni level of the family (`m` hypotheses).
fn own_regressed(own: &LatencyOutcome, tolerance: f64, alpha: f64, m: f64) -> bool {
    own.ratio() >= 1.0 + tolerance && own.p_up * m <= alpha
}

/// One-sided p-value of the current run's service-wide factor under the baseline runs' own
/// factors (a Student-t prediction test); `None` with fewer than two baseline runs.
fn factor_p_up(d: &Decomposition) -> Option<f64> {
    let n = d.baseline.len();
    if n < 2 {
        return None;
    }
    let sd = stats::variance(&d.baseline).sqrt().max(stats::SD_FLOOR);
    let se = sd * (1.0 + 1.0 / n as f64).sqrt();
    let t = (d.current - stats::mean(&d.baseline)) / se;
    Some(1.0 - stats::t_cdf(t, (n - 1) as f64))
}

/// Applies the service-wide factors to the decisions (see `compare::shift`). Endpoints were
/// decided relative to their run's factor; the factor itself, where it is beyond the
/// tolerance, is judged once: within the swings the baseline runs' own factors show, it does
/// not count; beyond them but below [`shift::SWING_CEILING`], slowdowns as measured that only
/// follow it are inconclusive, because one run cannot tell an environment swing from a change
/// that slows everything; beyond the ceiling, or when some endpoints stayed behind it (not
/// service-wide), they are regressions. Returns the shifts beyond tolerance.
fn apply_shifts(
    metrics: &mut [MetricVerdict],
    splits: &[Split],
    own: &[Option<(f64, LatencyOutcome)>],
    alpha: f64,
    m: f64,
) -> Vec<ServiceShift> {
    let mut shifts = Vec::new();
    for split in splits {
        let (indices, d) = (&split.indices, &split.decomposition);
        let tolerance = metrics[indices[0]].tolerance;
        let limit = (1.0 + tolerance).ln();
        if d.current.abs() < limit {
            continue;
        }
        let raw: Vec<f64> = indices
            .iter()
            .filter_map(|&i| own[i].as_ref().map(|(_, t)| t.ratio()))
            .collect();
        let range = Range {
            low: raw.iter().copied().fold(f64::INFINITY, f64::min),
            high: raw.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        };
        // Not service-wide: an endpoint stayed significantly behind the shift.
        let behind = indices.iter().any(|&i| {
            let v = &metrics[i];
            let r = v.ratio.unwrap_or(1.0);
            if d.current > 0.0 {
                v.status == MetricStatus::Improvement && r <= 1.0 / (1.0 + tolerance)
            } else {
                v.status == MetricStatus::Regression && r >= 1.0 + tolerance
            }
        });
        let status = if d.current < 0.0 {
            ShiftStatus::Faster
        } else if behind {
            ShiftStatus::Partial
        } else if d.current >= (1.0 + shift::SWING_CEILING).ln() {
            ShiftStatus::BeyondSwings
        } else if factor_p_up(d).is_some_and(|p| p > WITHIN_SWINGS_P) {
            ShiftStatus::WithinSwings
        } else {
            ShiftStatus::Uniform
        };
        let label = metrics[indices[0]].label.clone();
        if status == ShiftStatus::Partial {
            // Those that stayed behind did not improve: the others moved.
            for &i in indices {
                let (Some((_, t)), v) = (&own[i], &mut metrics[i]) else {
                    continue;
                };
                if v.status == MetricStatus::Improvement && t.ratio() > 1.0 / (1.0 + tolerance) {
                    v.status = MetricStatus::Pass;
                    v.reason = format!(
                        "{} as measured, while most endpoints moved {} together (not service-wide)",
                        change(t.ratio()),
                        change(d.current.exp())
                    );
                }
            }
        }
        let mut following = Vec::new();
        for &i in indices.iter().chain(&split.borrowers) {
            let Some((_, t)) = &own[i] else {
                continue;
            };
            let v = &mut metrics[i];
            let tolerance = v.tolerance;
            if v.status == MetricStatus::Regression || !own_regressed(t, tolerance, alpha, m) {
                continue;
            }
            let (lo, hi) = t.ci90;
            match status {
                ShiftStatus::Uniform => {
                    following.push(MetricRef {
                        endpoint: v.endpoint.clone(),
                        label: v.label.clone(),
                    });
                    v.status = MetricStatus::Inconclusive;
                    v.reason = format!(
                        "{} with every endpoint ({} to {} at {label}): a service-wide shift beyond the baseline runs' own swings, which a run alone cannot tell from an environment swing; another run on a fresh deployment tells, and a paired comparison against the base branch's deployment (`baseline-target`) removes the environment's swings",
                        change(t.ratio()),
                        change(range.low),
                        change(range.high)
                    );
                }
                ShiftStatus::BeyondSwings | ShiftStatus::Partial => {
                    v.status = MetricStatus::Regression;
                    v.ratio = Some(t.ratio());
                    v.ci90 = Some(Range { low: lo, high: hi });
                    v.p_adjusted = Some((t.p_up * m).min(1.0));
                    v.reason = format!(
                        "{} as measured, with {}: beyond the +{:.0}% tolerance and unlikely to be noise (Bonferroni-adjusted p = {}, 90% CI {})",
                        change(t.ratio()),
                        if status == ShiftStatus::Partial {
                            "most endpoints but not all (not service-wide)"
                        } else {
                            "every endpoint, beyond the swings of a restarted service"
                        },
                        tolerance * 100.0,
                        p_value((t.p_up * m).min(1.0)),
                        ci_text(t.ci90)
                    );
                }
                ShiftStatus::WithinSwings | ShiftStatus::Faster => following.push(MetricRef {
                    endpoint: v.endpoint.clone(),
                    label: v.label.clone(),
                }),
            }
        }
        shifts.push(ServiceShift {
            quantile: match metrics[indices[0]].metric {
                Metric::Latency { quantile } => quantile,
                _ => 0.0,
            },
            label,
            ratio: d.current.exp(),
            range,
            endpoints: indices.len() as u32,
            status,
            following,
            baseline_range: baseline_range(d),
        });
    }
    shifts
}

/// The share ratio of a tail too thin for the tail-share test ([`tail::share_ratio`]).
struct TailEstimate {
    label: String,
    quantile: f64,
    ratio: f64,
}

/// The tail-share tests of one quantile: how much their shares grew.
struct TailGroup {
    /// The quantile's label (`p95`).
    label: String,
    /// The quantile, 0–1.
    quantile: f64,
    /// The median share ratio.
    typical: f64,
    /// The smallest and the largest.
    low: f64,
    high: f64,
    /// Tests in the group.
    count: usize,
    /// Of them, share ratios of tails too thin to test.
    estimated: usize,
}

/// Tails that grew on most endpoints together. On a busy or swinging host every endpoint's
/// distribution widens at once (seen on a real service with a CPU-bound neighbour: the share
/// beyond the tail ×3 to ×4 on all five endpoints while the medians stayed put), which no
/// change to one endpoint does. Per quantile with at least [`shift::MIN_ENDPOINTS`]
/// tail-share tests or share ratios of tails too thin to test ([`tail::share_ratio`]: on a
/// real service judged against a baseline kept over an hour, every endpoint's p99 grew
/// +230% to +510% in one unchanged run while only `get doc` had responses enough to test
/// its own, ×10.6), a tail-share regression whose share grew less than [`tail::SHARE_RATIO`]
/// times the typical (median) growth of them all only follows the others; at a quantile with
/// fewer tests, a service-wide change of the tails seen at another quantile (a typical growth
/// of at least [`tail::SHARE_RATIO`]) is extrapolated by depth: a deeper tail grows more in
/// such a change (p99's share about `typical^1.54` of p95's), and a lone p99 that grew less
/// than twice that follows it (on a real service on a busy host: p95 ×3.4 typically, one p99
/// ×7.8; with 10% of one endpoint's requests 40 ms slower: p95 ×2.1, its p99 ×12.7). What follows is inconclusive,
/// and listed under a uniform shift of the medians when there is one. Returns the headline
/// line when something followed or the typical growth is itself a regression's.
fn tail_swing(
    metrics: &mut [MetricVerdict],
    shifts: &mut [ServiceShift],
    estimates: &[TailEstimate],
) -> Option<String> {
    // Per quantile label, the log share ratios of its tail-share tests, then of the tails too
    // thin to test (counted apart).
    let mut groups: Vec<(String, f64, Vec<f64>, usize)> = Vec::new();
    let mut add = |label: &str, quantile: f64, ratio: f64, estimated: bool| {
        let i = match groups.iter().position(|(l, ..)| l == label) {
            Some(i) => i,
            None => {
                groups.push((label.to_string(), quantile, Vec::new(), 0));
                groups.len() - 1
            }
        };
        groups[i].2.push(ratio.ln());
        groups[i].3 += usize::from(estimated);
    };
    for m in metrics.iter() {
        if let (Some(Detail::TailShare(t)), Metric::Latency { quantile }) = (&m.detail, m.metric) {
            add(&m.label, quantile, t.share_ratio, false);
        }
    }
    for e in estimates {
        add(&e.label, e.quantile, e.ratio, true);
    }
    let typical: Vec<TailGroup> = groups
        .iter()
        .filter(|(_, _, list, _)| list.len() >= shift::MIN_ENDPOINTS)
        .map(|(label, quantile, list, estimated)| TailGroup {
            label: label.clone(),
            quantile: *quantile,
            typical: stats::median(list).exp(),
            low: list.iter().copied().fold(f64::INFINITY, f64::min).exp(),
            high: list.iter().copied().fold(f64::NEG_INFINITY, f64::max).exp(),
            count: list.len(),
            estimated: *estimated,
        })
        .collect();
    let widened = typical.iter().any(|g| g.typical >= tail::SHARE_RATIO);
    let follows =
        |s: &ServiceShift| matches!(s.status, ShiftStatus::Uniform | ShiftStatus::WithinSwings);
    let mut followed = 0;
    for v in metrics.iter_mut() {
        let Some(Detail::TailShare(t)) = &v.detail else {
            continue;
        };
        if v.status != MetricStatus::Regression {
            continue;
        }
        // The growth this metric's share would show in the service-wide change: its group's,
        // or a deeper (or shallower) group's extrapolated by depth, `typical^(ln(1−p)/ln(1−p_g))`.
        let Metric::Latency { quantile } = v.metric else {
            continue;
        };
        let like = match typical.iter().find(|g| g.label == v.label) {
            Some(g) => g.typical,
            None if widened => typical
                .iter()
                .map(|g| {
                    g.typical
                        .powf((1.0 - quantile).ln() / (1.0 - g.quantile).ln())
                })
                .fold(1.0, f64::max),
            None => continue,
        };
        if t.share_ratio >= tail::SHARE_RATIO * like {
            continue;
        }
        if let Some(s) = shifts.iter_mut().find(|s| follows(s)) {
            s.following.push(MetricRef {
                endpoint: v.endpoint.clone(),
                label: v.label.clone(),
            });
        }
        followed += 1;
        v.status = MetricStatus::Inconclusive;
        v.reason = format!(
            "{} of responses beyond the baseline's tail, ×{:.1} its share, while the endpoints' tails grew together (typically ×{like:.1}): a service-wide change of the tails; a paired comparison against the base branch's deployment (`baseline-target`) settles it",
            percent(t.share_current),
            t.share_ratio
        );
    }
    if followed == 0 && !widened {
        return None;
    }
    let groups: Vec<String> = typical
        .iter()
        .map(|g| {
            let thin = match g.estimated {
                0 => String::new(),
                n => format!(" ({n} of them too thin to test, estimated)"),
            };
            format!(
                "{} of {} endpoints{thin} ×{:.1} typically, ×{:.1} to ×{:.1}",
                g.label, g.count, g.typical, g.low, g.high
            )
        })
        .collect();
    Some(format!(
        "the endpoints' tails grew together (the share of responses beyond the baseline's tail shape: {}): a service-wide change of the tails, as a busy or swinging host makes; a tail that only follows it does not block, and a paired comparison against the base branch's deployment (`baseline-target`) settles it",
        groups.join("; ")
    ))
}

/// The baseline runs' own service-wide factors, lowest to highest (ratios).
fn baseline_range(d: &Decomposition) -> Option<Range> {
    (d.baseline.len() >= 2).then(|| Range {
        low: d
            .baseline
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .exp(),
        high: d
            .baseline
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .exp(),
    })
}

fn ci_text((low, high): (f64, f64)) -> String {
    format!("[{}, {}]", change(low), change(high))
}

/// The headline line of a service-wide shift.
fn shift_reason(s: &ServiceShift) -> String {
    let what = format!(
        "every endpoint {} at {} ({} to {}): a service-wide shift",
        change(s.ratio),
        s.label,
        change(s.range.low),
        change(s.range.high)
    );
    match s.status {
        ShiftStatus::Uniform => format!(
            "{what}. One run cannot tell an environment swing from a change that slows everything: slowdowns that only follow it do not block; another run on a fresh deployment tells, and a paired comparison against the base branch's deployment (`baseline-target`) removes the environment's swings"
        ),
        ShiftStatus::BeyondSwings => format!(
            "{what}, larger than the +{:.0}% a restarted service swings between runs: it blocks",
            shift::SWING_CEILING * 100.0
        ),
        ShiftStatus::Partial => format!(
            "{what} for most endpoints, but some stayed behind it: not service-wide, so regressions stand"
        ),
        ShiftStatus::WithinSwings => match s.baseline_range {
            Some(r) => format!(
                "{what}, within the swings of the baseline runs themselves ({} to {}): endpoints are judged against each other, and the shift does not count",
                change(r.low),
                change(r.high)
            ),
            None => format!("{what}, within the baseline runs' own swings: it does not count"),
        },
        ShiftStatus::Faster => format!("{what}, faster: does not block"),
    }
}

fn latency_detail(
    t: &LatencyOutcome,
    current: &QuantileValue,
    runs: usize,
    interval_ms: u64,
) -> LatencyDetail {
    LatencyDetail {
        baseline_runs: runs as u32,
        center: t.center,
        log_change: t.diff,
        standard_error: t.se,
        degrees_of_freedom: t.df,
        between_runs_sd: t.s_between,
        prior_sd: t.s_prior,
        shrunk_sd: t.s_used,
        within_current: t.w_current,
        within_baseline: t.w_baseline,
        block_ms: current
            .within
            .map(|w| u64::from(w.block_intervals) * interval_ms),
        blocks: current.within.map(|w| w.blocks),
        samples: current.samples,
        samples_needed: stats::samples_needed(current.quantile),
        service_factor: None,
    }
}

fn test_of(p: &Pending) -> &Test {
    p.test.as_ref().expect("family members have a test")
}

/// Why a latency metric cannot be gated, or `None` when it can.
fn sample_status(
    p: f64,
    current: &QuantileValue,
    baseline: &[&QuantileValue],
) -> Option<(MetricStatus, String)> {
    let needed = stats::samples_needed(p);
    let label = crate::profile::Quantile(p).label();
    let base_ok = baseline.iter().all(|b| b.has_enough_samples());
    match (current.has_enough_samples(), base_ok) {
        (true, true) => None,
        (true, false) => Some((
            MetricStatus::ReportOnly,
            format!(
                "baseline runs have fewer than the {} responses needed to gate {label}",
                count(needed)
            ),
        )),
        (false, true) => Some((
            MetricStatus::Inconclusive,
            format!(
                "the current run has {} responses, fewer than the {} needed to gate {label} (the baseline runs had enough)",
                count(current.samples),
                count(needed)
            ),
        )),
        (false, false) => Some((
            MetricStatus::ReportOnly,
            format!(
                "too few samples to gate: {} responses leave {} above {label}, 200 are needed ({} responses): run longer or at a higher rate",
                count(current.samples),
                count((current.samples as f64 * (1.0 - p)).floor() as u64),
                count(needed)
            ),
        )),
    }
}

/// A latency verdict with its values filled in and no decision yet.
fn latency_verdict(
    endpoint: &str,
    p: f64,
    tolerance: f64,
    current: &QuantileValue,
    baseline: &[&QuantileValue],
) -> MetricVerdict {
    let logs: Vec<f64> = baseline.iter().filter_map(|b| b.log_value()).collect();
    let base = (!logs.is_empty()).then(|| stats::mean(&logs).exp());
    let cur = current.value_us.map(|v| v as f64);
    MetricVerdict {
        baseline: base,
        current: cur,
        ratio: base.zip(cur).map(|(b, c)| c / b),
        ..metric::undecided(
            endpoint,
            Metric::Latency { quantile: p },
            Unit::Us,
            tolerance,
        )
    }
}

fn error_pending(
    current: &EndpointSummary,
    runs: &[&EndpointSummary],
    class: ErrorClass,
    tolerance: f64,
) -> Pending {
    let blocks = |e: &EndpointSummary| -> Vec<(u64, u64)> {
        e.blocks
            .iter()
            .map(|b| (b.requests, b.errors.get(&class).copied().unwrap_or(0)))
            .collect()
    };
    let mut all_blocks = vec![blocks(current)];
    all_blocks.extend(runs.iter().map(|r| blocks(r)));
    let phi = errors::dispersion(&all_blocks);
    let (e_c, n_c) = (current.errors(class), current.requests);
    let e_b: u64 = runs.iter().map(|r| r.errors(class)).sum();
    let n_b: u64 = runs.iter().map(|r| r.requests).sum();
    let t = errors::error_test(e_c, n_c, e_b, n_b, phi);
    let verdict = metric::error_verdict(
        &current.name,
        class,
        tolerance,
        &t,
        ErrorCount {
            errors: e_c,
            requests: n_c,
        },
        ErrorCount {
            errors: e_b,
            requests: n_b,
        },
        phi,
    );
    Pending {
        verdict,
        test: Some(Test::Error(t)),
        as_measured: None,
    }
}

/// The decision on one metric, given its Holm-adjusted p-values (up, down) and q-value when
/// it is in the family.
fn decide(
    pending: Pending,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
    alpha_each: f64,
    runs: usize,
) -> MetricVerdict {
    let Pending {
        verdict: mut v,
        test,
        ..
    } = pending;
    match test {
        None => {
            if v.reason.is_empty() {
                v.status = MetricStatus::Inconclusive;
                v.reason = "no value to compare (no responses in a run)".into();
            }
            v
        }
        Some(Test::Latency(t)) => decide_latency(v, &t, adjusted, alpha, alpha_each, runs),
        Some(Test::Error(t)) => decide_error(v, &t, adjusted, alpha, alpha_each),
        Some(Test::Tail(t)) => decide_tail(v, &t, adjusted, alpha),
    }
}

/// A tail quantile too thinly sampled to gate its value, judged by the share of responses
/// beyond the baseline's tail shape: a regression when that share at least doubled
/// ([`tail::SHARE_RATIO`]) and the increase is unlikely to be noise; otherwise the metric keeps
/// its report-only (or inconclusive) status, with the share in its reason.
fn decide_tail(
    mut v: MetricVerdict,
    t: &TailOutcome,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
) -> MetricVerdict {
    let (up, down, q) = adjusted.expect("tail tests are always in the family");
    if let Some(note) = metric::tail_share(&mut v, t, up, q, alpha, Against::Baseline) {
        let ratio = t.ratio();
        let what = if up <= alpha && ratio >= tail::SHARE_RATIO {
            "no tail regression"
        } else if down <= alpha && ratio <= 1.0 / tail::SHARE_RATIO {
            "fewer slow responses"
        } else if ratio >= tail::SHARE_RATIO {
            "more, but not significantly"
        } else {
            "no tail regression"
        };
        v.reason = format!("{}; {note}, {what}", v.reason);
    }
    v
}

fn decide_latency(
    mut v: MetricVerdict,
    t: &LatencyOutcome,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
    alpha_each: f64,
    runs: usize,
) -> MetricVerdict {
    let (up, down, q) = adjusted.expect("latency tests are always in the family");
    let ratio = t.ratio();
    let limit = 1.0 + v.tolerance;
    let (lo, hi) = t.ci90;
    v.baseline = Some(t.center_log.exp());
    v.ratio = Some(ratio);
    v.ci90 = Some(Range { low: lo, high: hi });
    v.p_value = Some(if t.diff >= 0.0 { t.p_up } else { t.p_down });
    v.p_adjusted = Some(up);
    v.q_value = Some(q);
    v.mdc = Some(t.mdc(alpha_each));
    let tol = format!("+{:.0}%", v.tolerance * 100.0);
    let ci = format!("[{}, {}]", change(lo), change(hi));
    (v.status, v.reason) = if up <= alpha && ratio >= limit {
        (
            MetricStatus::Regression,
            format!(
                "{} is beyond the {tol} tolerance and unlikely to be noise (Holm-adjusted p = {}, 90% CI {ci})",
                change(ratio),
                p_value(up)
            ),
        )
    } else if down <= alpha && ratio <= 1.0 / limit {
        (
            MetricStatus::Improvement,
            format!(
                "{} is beyond the tolerance and unlikely to be noise (Holm-adjusted p = {}, 90% CI {ci})",
                change(ratio),
                p_value(down)
            ),
        )
    } else if hi < limit {
        let changed = if up <= alpha || down <= alpha {
            "changed, within tolerance"
        } else {
            "within tolerance"
        };
        (
            MetricStatus::Pass,
            format!(
                "{changed}: {}, and the 90% CI {ci} stays below {tol}",
                change(ratio)
            ),
        )
    } else {
        (
            MetricStatus::Inconclusive,
            format!(
                "{} with 90% CI {ci} reaching past the {tol} tolerance; this comparison only detects changes of {} or more: {}",
                change(ratio),
                change(1.0 + t.mdc(alpha_each)),
                advice(t, runs)
            ),
        )
    };
    v
}

/// What would settle an inconclusive latency metric, from where its variance comes from: the
/// baseline runs' within-run variance (which a longer run or a higher rate shrinks) against
/// the run-to-run variance the interval uses (which only more runs, a re-measurement or
/// pairing address).
fn advice(t: &LatencyOutcome, runs: usize) -> String {
    let total = t.s_used * t.s_used;
    let within = t.w_baseline.unwrap_or(0.0).min(total);
    let share = if total > 0.0 { within / total } else { 0.0 };
    let share_text = format!("{:.0}%", share * 100.0);
    let more_runs = (runs < 5).then(|| format!("more baseline runs ({runs} now)"));
    if share >= 0.5 {
        let longer = "a longer run or a higher rate";
        match more_runs {
            Some(m) => format!(
                "{m} or {longer} would narrow it (noise within a run is {share_text} of the run-to-run variance)"
            ),
            None => format!(
                "{longer} would narrow it (noise within a run is {share_text} of the run-to-run variance)"
            ),
        }
    } else {
        let runs_text = more_runs.unwrap_or_else(|| "more baseline runs".to_string());
        format!(
            "most of the variance is between runs (noise within a run is only {share_text} of it), so a longer run would not narrow it; {runs_text} or a paired comparison against the base branch's deployment would"
        )
    }
}

/// The error-rate decision (`metric::decide_error`), naming the increase a test of this
/// size would have caught.
fn decide_error(
    mut v: MetricVerdict,
    t: &ErrorOutcome,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
    alpha_each: f64,
) -> MetricVerdict {
    if let Some(Detail::ErrorRate(d)) = &v.detail {
        v.mdc = t.mdc(
            d.requests_current,
            d.errors_baseline,
            d.requests_baseline,
            alpha_each,
            v.tolerance,
        );
    }
    metric::decide_error(v, t, adjusted, alpha, Against::Baseline)
}

/// What [`evaluate`] compares.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// The run under test.
    pub current: &'a RunResult,
    /// The baseline, if there is one.
    pub baseline: Option<&'a Baseline>,
    /// The profile's `gate` settings.
    pub gate: &'a GateConfig,
    /// The profile's absolute limits.
    pub thresholds: &'a [Threshold],
}

/// A comparison could not be computed (a histogram failed to decode).
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// In the current run.
    #[error("results: {0}")]
    Results(#[from] ResultsError),
    /// In the baseline.
    #[error("baseline run {run}: {source}")]
    Baseline {
        /// Index of the run in the baseline file.
        run: usize,
        /// Why.
        #[source]
        source: HistogramError,
    },
}

/// The whole gate: validity, compatibility, the statistical comparison and the thresholds.
pub fn evaluate(input: GateInput<'_>) -> Result<Comparison, CompareError> {
    let GateInput {
        current,
        baseline,
        gate,
        thresholds: limits,
    } = input;
    let mut validity = validity::run_checks(current);
    let trusted = validity.iter().all(|c| c.status == CheckStatus::Ok);
    let thresholds = match &current.capacity {
        // A search drives the service past its capacity on purpose; its failures are judged
        // per step.
        Some(c) => super::capacity::thresholds_at_sustained(current, c, limits)?,
        None => {
            let mut checks = thresholds::check(current, limits)?;
            checks.push(thresholds::error_ceiling(current, gate.max_error_rate));
            checks
        }
    };
    let mut notes = Vec::new();
    let mut runs_in_file = 0;
    let mut used = Vec::new();
    let mut base_verdict = None;
    match baseline {
        None => base_verdict = Some(Verdict::NoBaseline),
        Some(b) if b.runs.is_empty() => {
            base_verdict = Some(Verdict::NoBaseline);
        }
        Some(b) => {
            runs_in_file = b.runs.len() as u32;
            let same_profile =
                b.profile.name == current.profile.name && b.profile.hash == current.profile.hash;
            validity.push(ValidityCheck {
                check: CheckKind::Profile,
                status: if same_profile { CheckStatus::Ok } else { CheckStatus::Failed },
                detail: if same_profile {
                    format!("baseline recorded with the same profile `{}` ({})", b.profile.name, short_hash(&b.profile.hash))
                } else if b.profile.name != current.profile.name {
                    format!("the baseline is for profile `{}`, the run is of `{}`", b.profile.name, current.profile.name)
                } else {
                    format!(
                        "the profile changed since the baseline was recorded (hash {} then, {} now): record a new baseline from main",
                        short_hash(&b.profile.hash),
                        short_hash(&current.profile.hash)
                    )
                },
            });
            let same_class = b
                .runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.runner.class == current.runner.class)
                .collect::<Vec<_>>();
            let others = b.runs.len() - same_class.len();
            // The window: the newest `gate.baseline_runs` of them (runs are oldest first). A
            // file holding more (written by hand, or before a smaller window) is not read
            // whole into the statistics.
            let window = (gate.baseline_runs as usize).max(1);
            let beyond = same_class.len().saturating_sub(window);
            used = same_class[beyond..].to_vec();
            if beyond > 0 {
                notes.push(format!(
                    "the baseline holds {} runs of this runner class: the newest {window} were used (`gate.baseline_runs`)",
                    same_class.len()
                ));
            }
            validity.push(ValidityCheck {
                check: CheckKind::RunnerClass,
                status: if used.is_empty() {
                    CheckStatus::Failed
                } else {
                    CheckStatus::Ok
                },
                detail: if used.is_empty() {
                    format!(
                        "no baseline run is of runner class `{}` (the baseline has `{}`)",
                        current.runner.class,
                        b.runs.last().map_or("", |r| r.runner.class.as_str())
                    )
                } else {
                    format!(
                        "{} baseline runs of runner class `{}`",
                        used.len(),
                        current.runner.class
                    )
                },
            });
            if others > 0 && !used.is_empty() {
                notes.push(format!(
                    "{others} baseline runs of other runner classes were left out"
                ));
            }
            if !same_profile || used.is_empty() {
                base_verdict = Some(Verdict::Incompatible);
            }
        }
    }
    let settings = metric::settings(
        gate,
        u64::try_from(gate.block.as_millis()).unwrap_or(u64::MAX),
        stats::PRIOR_WEIGHT,
    );
    let mut comparison = Comparison {
        format_version: COMPARISON_FORMAT_VERSION,
        overall: Overall {
            verdict: Verdict::Pass,
            summary: String::new(),
            reasons: Vec::new(),
        },
        profile: current.profile.clone(),
        runner_class: current.runner.class.clone(),
        baseline: BaselineUse {
            runs_in_file,
            runs: used
                .iter()
                .map(|(_, r)| BaselineRunRef {
                    git_sha: r.git.as_ref().map(|g| g.sha.clone()),
                    started_at: r.started_at.clone(),
                    runner_class: r.runner.class.clone(),
                })
                .collect(),
        },
        settings,
        validity,
        metrics: Vec::new(),
        thresholds,
        bands: Vec::new(),
        notable: Vec::new(),
        notes,
        service_shifts: Vec::new(),
        confirmation: None,
        paired: None,
        levels: super::levels::of(current, limits, gate.max_error_rate)?,
    };
    let mut judged = None;
    if let (Some(c), true, None) = (&current.capacity, trusted, base_verdict) {
        // A search gates its sustainable rate; its latencies mix steps of different rates.
        let estimates: Vec<_> = used.iter().map(|(_, r)| r.capacity).collect();
        let j = super::capacity::judge(c, &estimates, gate);
        comparison.settings.family_size = j.family_size;
        comparison.metrics = j.metrics;
        judged = Some((j.verdict, j.reasons));
    } else if trusted && base_verdict.is_none() {
        let data = RunData::from_result(current).map_err(|source| ResultsError::Histogram {
            path: "endpoints".into(),
            source,
        })?;
        let mut base_data = Vec::with_capacity(used.len());
        for (i, run) in &used {
            base_data.push(
                RunData::from_baseline_run(run)
                    .map_err(|source| CompareError::Baseline { run: *i, source })?,
            );
        }
        let summary = data.summarize(gate);
        let base_summaries: Vec<RunSummary> = base_data.iter().map(|d| d.summarize(gate)).collect();
        let j = judge(&summary, &base_summaries, gate);
        comparison.settings.family_size = j.family_size;
        comparison.bands = super::run::bands(&base_data, gate);
        if used.len() <= 2 {
            comparison.notes.push(format!(
                "only {} baseline run{}: the run-to-run variance comes mostly from the calibrated prior, so intervals are wide; recording more runs on main sharpens them",
                used.len(),
                if used.len() == 1 { "" } else { "s" }
            ));
        }
        comparison.metrics = j.metrics;
        comparison.notable = j.notable;
        comparison.service_shifts = j.shifts;
        judged = Some((j.verdict, j.reasons));
    }
    comparison.overall = overall_verdict(&comparison, trusted, base_verdict, judged);
    Ok(comparison)
}

fn overall_verdict(
    c: &Comparison,
    trusted: bool,
    base_verdict: Option<Verdict>,
    judged: Option<(Verdict, Vec<String>)>,
) -> Overall {
    let failed_checks: Vec<String> = c
        .validity
        .iter()
        .filter(|v| v.status == CheckStatus::Failed)
        .map(|v| v.detail.clone())
        .collect();
    let breaches = thresholds::breaches(c.failed_thresholds());
    let (verdict, summary, mut reasons) = if !trusted {
        (
            Verdict::Untrusted,
            "the run cannot be trusted: no verdict on the service".to_string(),
            failed_checks,
        )
    } else if !breaches.is_empty() {
        let mut reasons = breaches.clone();
        if let Some((Verdict::Regression, r)) = &judged {
            reasons.extend(r.iter().cloned());
        }
        let failing = c
            .failed_thresholds()
            .any(|t| t.label == thresholds::CEILING_LABEL);
        (
            Verdict::Regression,
            if failing {
                "too many requests failed: the service is failing".to_string()
            } else {
                "an absolute threshold was breached".to_string()
            },
            reasons,
        )
    } else if let Some(v) = base_verdict {
        match v {
            Verdict::NoBaseline => (
                v,
                "no baseline yet: thresholds checked, nothing to compare with".to_string(),
                Vec::new(),
            ),
            _ => (
                v,
                "the baseline cannot be compared with this run".to_string(),
                failed_checks,
            ),
        }
    } else {
        let (v, r) = judged.unwrap_or((Verdict::Inconclusive, Vec::new()));
        let summary = match v {
            Verdict::Regression => "a gated metric got worse beyond its tolerance",
            Verdict::Improvement => "better beyond tolerance somewhere, worse nowhere",
            Verdict::Inconclusive => "no regression found, but some metrics cannot be decided",
            _ => "every gated metric is within its tolerance",
        };
        (v, summary.to_string(), r)
    };
    if verdict == Verdict::Untrusted && !breaches.is_empty() {
        reasons.extend(breaches);
    }
    Overall {
        verdict,
        summary,
        reasons,
    }
}

fn short_hash(hash: &str) -> &str {
    let h = hash.strip_prefix("sha256:").unwrap_or(hash);
    h.get(..12).unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::compare::IntervalData;
    use crate::metrics::Histogram;

    /// A synthetic run: per endpoint `(name, median µs)`, `per_second` requests a second for
    /// `seconds`, log-normal latencies with a per-run offset, times `scale`, with `errors`
    /// failures of class 5xx per second.
    #[derive(Clone, Copy)]
    struct Spec {
        seed: u64,
        per_second: u64,
        seconds: u32,
        scale: f64,
        errors: u64,
    }

    fn normal(rng: &mut fastrand::Rng) -> f64 {
        let u = rng.f64().max(1e-12);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos()
    }

    fn run(spec: Spec, endpoints: &[(&str, f64)]) -> RunData {
        let mut rng = fastrand::Rng::with_seed(spec.seed);
        let offset = 0.01 * normal(&mut rng);
        let data = endpoints
            .iter()
            .map(|&(name, median)| {
                let intervals = (0..spec.seconds)
                    .map(|s| {
                        let mut h = Histogram::new();
                        for _ in 0..spec.per_second {
                            let v = median * spec.scale * (offset + 0.3 * normal(&mut rng)).exp();
                            h.record_us(v.round() as u64);
                        }
                        let mut errors = BTreeMap::new();
                        if spec.errors > 0 {
                            errors.insert(ErrorClass::Http5xx, spec.errors);
                        }
                        IntervalData::new(s, spec.per_second, errors, &h)
                    })
                    .collect();
                (name.to_string(), intervals)
            })
            .collect::<Vec<_>>();
        RunData::new(1000, 0, data)
    }

    const TWO: [(&str, f64); 2] = [("get customer", 20_000.0), ("add json", 5_000.0)];

    fn spec(seed: u64) -> Spec {
        Spec {
            seed,
            per_second: 400,
            seconds: 60,
            scale: 1.0,
            errors: 0,
        }
    }

    fn judge_specs(current: Spec, baseline: &[Spec], endpoints: &[(&str, f64)]) -> Judgement {
        let gate = GateConfig::default();
        let b: Vec<RunSummary> = baseline
            .iter()
            .map(|s| run(*s, endpoints).summarize(&gate))
            .collect();
        judge(&run(current, endpoints).summarize(&gate), &b, &gate)
    }

    fn status(j: &Judgement, endpoint: &str, label: &str) -> MetricStatus {
        let Some(m) = j
            .metrics
            .iter()
            .find(|m| m.endpoint == endpoint && m.label == label)
        else {
            panic!("no metric {endpoint} {label}: {:#?}", j.metrics)
        };
        m.status
    }

    fn baseline(n: u64) -> Vec<Spec> {
        (1..=n).map(spec).collect()
    }

    const FIVE: [(&str, f64); 5] = [
        ("a", 3_000.0),
        ("b", 4_000.0),
        ("c", 5_000.0),
        ("d", 6_000.0),
        ("e", 8_000.0),
    ];

    /// Like [`run`], with endpoint `slow.0` scaled by `slow.1` and, of its requests, a share
    /// `tail.0` getting `tail.1` µs added.
    fn run_changed(spec: Spec, slow: (usize, f64), tail: (f64, f64)) -> RunData {
        let mut endpoints = FIVE;
        endpoints[slow.0].1 *= slow.1;
        let mut data = run(spec, &endpoints);
        if tail.0 > 0.0 {
            let mut rng = fastrand::Rng::with_seed(spec.seed ^ 0x5eed);
            slow_down(&mut data.endpoints[slow.0].intervals, &mut rng, tail);
        }
        data
    }

    /// Of `intervals`' responses, a share `tail.0` gets `tail.1` µs added.
    fn slow_down(intervals: &mut [IntervalData], rng: &mut fastrand::Rng, tail: (f64, f64)) {
        for i in intervals {
            let mut h = Histogram::new();
            for &(v, n) in &i.latency {
                for _ in 0..n {
                    let extra = if rng.f64() < tail.0 { tail.1 } else { 0.0 };
                    h.record_us(v + extra as u64);
                }
            }
            *i = IntervalData::new(i.index, i.requests, i.errors.clone(), &h);
        }
    }

    fn judge_five(current: &RunData, per_second: u64) -> Judgement {
        let gate = GateConfig::default();
        let b: Vec<RunSummary> = (1..=5)
            .map(|seed| {
                let mut s = spec(seed);
                s.per_second = per_second;
                run(s, &FIVE).summarize(&gate)
            })
            .collect();
        judge(&current.summarize(&gate), &b, &gate)
    }

    fn five(seed: u64, per_second: u64, scale: f64) -> Spec {
        Spec {
            per_second,
            scale,
            ..spec(seed)
        }
    }

    #[test]
    fn a_service_wide_swing_is_named_and_does_not_block() {
        let j = judge_five(&run_changed(five(100, 400, 1.3), (0, 1.0), (0.0, 0.0)), 400);
        assert_eq!(j.verdict, Verdict::Inconclusive, "{:#?}", j.reasons);
        assert!(
            j.metrics
                .iter()
                .all(|m| m.status != MetricStatus::Regression)
        );
        let p50 = j
            .shifts
            .iter()
            .find(|s| s.label == "p50")
            .expect("a p50 shift");
        assert_eq!(p50.status, ShiftStatus::Uniform);
        assert!((p50.ratio - 1.3).abs() < 0.03, "{p50:?}");
        assert_eq!(p50.endpoints, 5);
        assert!(
            j.reasons[0].starts_with("every endpoint +3"),
            "{:#?}",
            j.reasons
        );
        assert!(
            j.reasons[0].contains("service-wide shift"),
            "{}",
            j.reasons[0]
        );
    }

    #[test]
    fn one_endpoint_slower_inside_a_swing_still_regresses() {
        for swing in [0.8, 1.0, 1.3] {
            let j = judge_five(
                &run_changed(five(100, 400, swing), (2, 1.25), (0.0, 0.0)),
                400,
            );
            assert_eq!(
                j.verdict,
                Verdict::Regression,
                "swing {swing}: {:#?}",
                j.reasons
            );
            assert_eq!(
                status(&j, "c", "p50"),
                MetricStatus::Regression,
                "swing {swing}"
            );
            for other in ["a", "b", "d", "e"] {
                assert_ne!(
                    status(&j, other, "p50"),
                    MetricStatus::Regression,
                    "{other}"
                );
            }
        }
    }

    #[test]
    fn a_shift_beyond_the_swings_blocks() {
        let j = judge_five(&run_changed(five(100, 400, 1.7), (0, 1.0), (0.0, 0.0)), 400);
        assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        assert!(
            j.shifts
                .iter()
                .all(|s| s.status == ShiftStatus::BeyondSwings),
            "{:#?}",
            j.shifts
        );
    }

    /// Five baseline runs at 400/s, the last `shifted` as a whole (a service-wide swing).
    fn judge_five_shifted(current: &RunData, shifted: f64) -> Judgement {
        let gate = GateConfig::default();
        let b: Vec<RunSummary> = (1..=5)
            .map(|seed| {
                let scale = if seed == 5 { shifted } else { 1.0 };
                run(five(seed, 400, scale), &FIVE).summarize(&gate)
            })
            .collect();
        judge(&current.summarize(&gate), &b, &gate)
    }

    #[test]
    fn a_swing_within_the_baseline_runs_own_swings_passes() {
        let j = judge_five_shifted(
            &run_changed(five(100, 400, 1.25), (0, 1.0), (0.0, 0.0)),
            1.3,
        );
        assert_eq!(j.verdict, Verdict::Pass, "{:#?}", j.reasons);
        let p50 = j
            .shifts
            .iter()
            .find(|s| s.label == "p50")
            .expect("a p50 shift");
        assert_eq!(p50.status, ShiftStatus::WithinSwings);
        let range = p50.baseline_range.expect("five baseline runs have a range");
        assert!(range.high > 1.2, "{range:?}");
        assert!(
            j.reasons[0].contains("within the swings of the baseline runs"),
            "{}",
            j.reasons[0]
        );
        // The same swing against a baseline without one is beyond its swings: inconclusive.
        let j = judge_five_shifted(
            &run_changed(five(100, 400, 1.25), (0, 1.0), (0.0, 0.0)),
            1.0,
        );
        assert_eq!(j.verdict, Verdict::Inconclusive, "{:#?}", j.reasons);
    }

    #[test]
    fn a_shifted_baseline_run_does_not_widen_every_interval() {
        // Judged as measured, the shifted baseline run makes every p50's interval ±15% or
        // more; judged against the other endpoints, it cancels.
        let j = judge_five_shifted(&run_changed(five(100, 400, 1.0), (0, 1.0), (0.0, 0.0)), 1.3);
        assert_eq!(j.verdict, Verdict::Pass, "{:#?}", j.reasons);
        for m in j.metrics.iter().filter(|m| m.label == "p50") {
            let Some(Detail::Latency(d)) = &m.detail else {
                panic!("{m:?}")
            };
            assert!(d.service_factor.is_some(), "{m:?}");
            let ci = m.ci90.expect("a tested metric has an interval");
            assert!(ci.high < 1.08, "{}: {ci:?}", m.endpoint);
        }
        // A +25% change on one endpoint is still caught with that baseline.
        let j = judge_five_shifted(
            &run_changed(five(100, 400, 1.0), (3, 1.25), (0.0, 0.0)),
            1.3,
        );
        assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        assert_eq!(status(&j, "d", "p50"), MetricStatus::Regression);
    }

    /// Endpoints `a` and `b` at 400/s, `c`, `d`, `e` at 40/s for 60 s, all × `scale`, and
    /// endpoint `slow.0` × `slow.1`: only `a` and `b` have the 4,000 responses p95 needs.
    fn mixed(seed: u64, scale: f64, slow: (usize, f64)) -> RunData {
        let mut endpoints = FIVE;
        endpoints[slow.0].1 *= slow.1;
        let busy = run(five(seed, 400, scale), &endpoints[..2]);
        let quiet = run(five(seed ^ 0xabc, 40, scale), &endpoints[2..]);
        RunData::new(
            1000,
            0,
            busy.endpoints
                .into_iter()
                .chain(quiet.endpoints)
                .map(|e| (e.name, e.intervals)),
        )
    }

    #[test]
    fn a_quantile_too_thin_for_its_own_factor_borrows_the_medians() {
        let gate = GateConfig::default();
        let b: Vec<RunSummary> = (1..=5)
            .map(|seed| mixed(seed, 1.0, (0, 1.0)).summarize(&gate))
            .collect();
        let judge_run = |scale: f64, slow: (usize, f64)| {
            judge(&mixed(100, scale, slow).summarize(&gate), &b, &gate)
        };
        // A swing of the whole service: the two gateable p95s follow the medians' factor.
        let j = judge_run(1.3, (0, 1.0));
        assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        for e in ["a", "b"] {
            assert_ne!(status(&j, e, "p95"), MetricStatus::Regression, "{e}");
            let m = j
                .metrics
                .iter()
                .find(|m| m.endpoint == e && m.label == "p95")
                .expect("p95 of a busy endpoint");
            let Some(Detail::Latency(d)) = &m.detail else {
                panic!("{m:?}")
            };
            assert!(
                d.service_factor.is_some_and(|f| (f - 1.3).abs() < 0.05),
                "{d:?}"
            );
        }
        // One busy endpoint 25% slower throughout: its p95 regresses too.
        let j = judge_run(1.0, (0, 1.25));
        assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        assert_eq!(status(&j, "a", "p95"), MetricStatus::Regression);
    }

    #[test]
    fn a_tail_regression_is_caught_below_the_samples_a_tail_quantile_needs() {
        // 30/s for 60 s: 1,800 responses, too few to gate p95 (4,000) or p99 (20,000).
        let j = judge_five(
            &run_changed(five(100, 30, 1.0), (2, 1.0), (0.1, 40_000.0)),
            30,
        );
        assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        let m = j
            .metrics
            .iter()
            .find(|m| m.endpoint == "c" && m.label == "p95")
            .expect("c p95");
        assert_eq!(m.status, MetricStatus::Regression, "{m:#?}");
        let Some(Detail::TailShare(t)) = &m.detail else {
            panic!("judged by its tail share: {m:#?}")
        };
        assert!(t.share_ratio > 2.0, "{t:?}");
        // The same volume unchanged: no tail regression anywhere.
        let j = judge_five(&run_changed(five(100, 30, 1.0), (2, 1.0), (0.0, 0.0)), 30);
        assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        assert!(
            j.metrics
                .iter()
                .any(|m| matches!(m.detail, Some(Detail::TailShare(_)))),
            "tail tests ran"
        );
    }

    #[test]
    fn tails_that_grow_on_every_endpoint_together_do_not_block() {
        // A busy host: 10% of every endpoint's requests 40 ms slower, the medians nearly put.
        let mut data = run_changed(five(100, 30, 1.0), (0, 1.0), (0.0, 0.0));
        let mut rng = fastrand::Rng::with_seed(77);
        for e in &mut data.endpoints {
            slow_down(&mut e.intervals, &mut rng, (0.1, 40_000.0));
        }
        let j = judge_five(&data, 30);
        assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        assert!(
            j.reasons
                .iter()
                .any(|r| r.starts_with("the endpoints' tails grew together")),
            "{:#?}",
            j.reasons
        );
        let followed = j
            .metrics
            .iter()
            .filter(|m| {
                matches!(m.detail, Some(Detail::TailShare(_)))
                    && m.status == MetricStatus::Inconclusive
                    && m.reason.contains("tails grew together")
            })
            .count();
        assert!(followed >= 3, "{:#?}", j.metrics);
    }

    /// Five endpoints at 10/s for 60 s, all but `a` answered in every other second only (300
    /// responses: p99 expects 3 above it, too few to test, enough to estimate; `a`'s 600 expect
    /// 6); a share `tail.0` of the responses of the endpoints in `slowed` gets `tail.1` µs added.
    fn thin_run(seed: u64, slowed: &[usize], tail: (f64, f64)) -> RunData {
        let mut data = run(five(seed, 10, 1.0), &FIVE);
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x7a11);
        for (e, endpoint) in data.endpoints.iter_mut().enumerate() {
            if e > 0 {
                for i in endpoint.intervals.iter_mut().filter(|i| i.index % 2 == 1) {
                    *i = IntervalData::new(i.index, 0, BTreeMap::new(), &Histogram::new());
                }
            }
            if slowed.contains(&e) {
                slow_down(&mut endpoint.intervals, &mut rng, tail);
            }
        }
        data
    }

    fn judge_thin(current: &RunData) -> Judgement {
        let gate = GateConfig::default();
        let b: Vec<RunSummary> = (1..=5)
            .map(|seed| thin_run(seed, &[], (0.0, 0.0)).summarize(&gate))
            .collect();
        judge(&current.summarize(&gate), &b, &gate)
    }

    #[test]
    fn a_lone_tested_p99_follows_the_thin_tails_that_grew_with_it() {
        // A busy host slows 10% of every endpoint's requests by 40 ms: only `a` has responses
        // enough to test its p99, the others' p99 shares are estimated, and they grew alike.
        let j = judge_thin(&thin_run(100, &[0, 1, 2, 3, 4], (0.1, 40_000.0)));
        assert_ne!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        let m = j
            .metrics
            .iter()
            .find(|m| m.endpoint == "a" && m.label == "p99")
            .expect("a p99");
        assert!(matches!(m.detail, Some(Detail::TailShare(_))), "{m:#?}");
        assert_eq!(m.status, MetricStatus::Inconclusive, "{m:#?}");
        assert!(m.reason.contains("tails grew together"), "{}", m.reason);
        assert!(
            j.reasons
                .iter()
                .any(|r| r.contains("p99 of 5 endpoints (4 of them too thin to test, estimated)")),
            "{:#?}",
            j.reasons
        );
        // The same change to `a` alone: the thin tails stayed put, and `a`'s p99 blocks.
        let j = judge_thin(&thin_run(100, &[0], (0.1, 40_000.0)));
        assert_eq!(j.verdict, Verdict::Regression, "{:#?}", j.reasons);
        assert_eq!(status(&j, "a", "p99"), MetricStatus::Regression);
    }

    #[test]
    fn a_large_change_no_test_can_judge_is_named() {
        // 5/s for 60 s: p99 expects 3 responses above it, too few even for the tail test.
        let j = judge_five(
            &run_changed(five(100, 5, 1.0), (2, 1.0), (0.03, 40_000.0)),
            5,
        );
        let i = j
            .metrics
            .iter()
            .position(|m| m.endpoint == "c" && m.label == "p99")
            .expect("c p99");
        assert_eq!(j.metrics[i].status, MetricStatus::ReportOnly);
        assert!(j.notable.contains(&i), "{:?}", j.notable);
        assert!(
            j.reasons
                .iter()
                .any(|r| r.starts_with("c p99: +") && r.contains("could not be tested")),
            "{:#?}",
            j.reasons
        );
    }

    #[test]
    fn an_a_a_comparison_passes() {
        let j = judge_specs(spec(100), &baseline(5), &TWO);
        assert_eq!(j.verdict, Verdict::Pass, "{:#?}", j.metrics);
        assert_eq!(j.family_size, 6);
        for m in &j.metrics {
            assert_eq!(m.status, MetricStatus::Pass, "{m:#?}");
            let ci = m.ci90.expect("gated metrics have an interval");
            assert!(ci.low < 1.0 && 1.0 < ci.high, "{m:#?}");
        }
    }

    #[test]
    fn a_slower_endpoint_is_a_regression_naming_it() {
        let mut current = spec(100);
        current.scale = 1.3;
        let j = judge_specs(current, &baseline(5), &[TWO[0]]);
        assert_eq!(j.verdict, Verdict::Regression);
        for label in ["p50", "p95"] {
            assert_eq!(status(&j, "get customer", label), MetricStatus::Regression);
        }
        assert!(
            j.reasons.iter().any(|r| r.starts_with("get customer p50:")),
            "{:?}",
            j.reasons
        );
        let m = &j.metrics[0];
        let ratio = m.ratio.expect("a ratio");
        assert!((1.2..1.4).contains(&ratio), "{ratio}");
        assert!(m.p_adjusted.is_some_and(|p| p <= 0.01));
    }

    #[test]
    fn a_faster_endpoint_is_an_improvement() {
        let mut current = spec(100);
        current.scale = 0.7;
        let j = judge_specs(current, &baseline(5), &[TWO[0]]);
        assert_eq!(j.verdict, Verdict::Improvement);
        assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Improvement);
    }

    #[test]
    fn a_small_change_within_tolerance_passes() {
        let mut current = spec(100);
        current.scale = 1.02;
        let j = judge_specs(current, &baseline(10), &[TWO[0]]);
        assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Pass);
        assert_eq!(status(&j, "get customer", "p95"), MetricStatus::Pass);
    }

    #[test]
    fn too_few_samples_are_report_only_and_never_pass_alone() {
        // 3,000 responses: p50 gated; p95 and p99 short of their 4,000 and 20,000.
        let small = |seed| Spec {
            per_second: 100,
            seconds: 30,
            ..spec(seed)
        };
        let j = judge_specs(small(100), &[small(1), small(2), small(3)], &[TWO[0]]);
        assert_eq!(status(&j, "get customer", "p95"), MetricStatus::ReportOnly);
        assert_eq!(status(&j, "get customer", "p99"), MetricStatus::ReportOnly);
        assert_ne!(status(&j, "get customer", "p50"), MetricStatus::ReportOnly);
        // Nothing gateable at all: the overall verdict is inconclusive, never a pass.
        let tiny = |seed| Spec {
            per_second: 5,
            seconds: 30,
            ..spec(seed)
        };
        let j = judge_specs(tiny(100), &[tiny(1), tiny(2)], &[TWO[0]]);
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert!(
            j.reasons[0].contains("no latency metric"),
            "{:?}",
            j.reasons
        );
    }

    #[test]
    fn a_current_run_short_of_samples_is_inconclusive() {
        let short = Spec {
            seconds: 5,
            ..spec(100)
        };
        let j = judge_specs(short, &baseline(3), &[TWO[0]]);
        assert_eq!(
            status(&j, "get customer", "p95"),
            MetricStatus::Inconclusive
        );
        assert_eq!(j.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn an_endpoint_missing_from_the_baseline_is_inconclusive() {
        let gate = GateConfig::default();
        let b = vec![run(spec(1), &[TWO[0]]).summarize(&gate)];
        let j = judge(&run(spec(100), &TWO).summarize(&gate), &b, &gate);
        assert_eq!(status(&j, "add json", "p50"), MetricStatus::Inconclusive);
        assert_eq!(j.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn ungated_endpoints_are_report_only() {
        let gate = GateConfig {
            endpoints: Some(vec!["get customer".into()]),
            ..GateConfig::default()
        };
        let b: Vec<RunSummary> = (1..=3)
            .map(|s| run(spec(s), &TWO).summarize(&gate))
            .collect();
        let mut current = spec(100);
        current.scale = 2.0;
        let j = judge(&run(current, &TWO).summarize(&gate), &b, &gate);
        assert_eq!(status(&j, "add json", "p50"), MetricStatus::ReportOnly);
        assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Regression);
    }

    #[test]
    fn new_errors_beyond_the_tolerance_are_a_regression() {
        let mut current = spec(100);
        current.errors = 2; // 0.5% of 400 a second, none in the baseline
        let j = judge_specs(current, &baseline(5), &[TWO[0]]);
        assert_eq!(
            status(&j, "get customer", "errors http_5xx"),
            MetricStatus::Regression
        );
        assert_eq!(j.verdict, Verdict::Regression);
        // The same rate in the baseline: no change.
        let mut base = baseline(5);
        for b in &mut base {
            b.errors = 2;
        }
        let j = judge_specs(current, &base, &[TWO[0]]);
        assert_eq!(
            status(&j, "get customer", "errors http_5xx"),
            MetricStatus::Pass
        );
    }

    #[test]
    fn rare_errors_are_no_regression() {
        // 3 errors in a minute where the baseline had none: below the tolerance.
        let mut current = spec(100);
        current.errors = 1;
        current.seconds = 60;
        let gate = GateConfig::default();
        let b: Vec<RunSummary> = baseline(5)
            .iter()
            .map(|s| run(*s, &[TWO[0]]).summarize(&gate))
            .collect();
        let mut data = run(current, &[TWO[0]]);
        for (i, interval) in data.endpoints[0].intervals.iter_mut().enumerate() {
            if i >= 3 {
                interval.errors.clear();
            }
        }
        let j = judge(&data.summarize(&gate), &b, &gate);
        assert_eq!(
            status(&j, "get customer", "errors http_5xx"),
            MetricStatus::Pass
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Comparing a run with itself (as one or several baseline runs) is never a regression.
        #[test]
        fn a_run_compared_with_itself_never_regresses(
            seed in any::<u64>(),
            per_second in 5u64..300,
            seconds in 3u32..40,
            copies in 1usize..4,
            errors in 0u64..3,
        ) {
            let gate = GateConfig::default();
            let s = Spec { seed, per_second, seconds, scale: 1.0, errors: errors.min(per_second) };
            let summary = run(s, &TWO).summarize(&gate);
            let j = judge(&summary, &vec![summary.clone(); copies], &gate);
            prop_assert_ne!(j.verdict, Verdict::Regression);
            for m in &j.metrics {
                prop_assert_ne!(m.status, MetricStatus::Regression);
            }
        }

        /// Every latency 50% higher, with ample data, is always a regression.
        #[test]
        fn fifty_percent_slower_with_ample_data_always_regresses(
            seed in any::<u64>(),
            runs in 1u64..6,
        ) {
            let base: Vec<Spec> = (0..runs).map(|i| spec(seed.wrapping_add(i))).collect();
            let mut current = spec(seed.wrapping_add(1000));
            current.scale = 1.5;
            let j = judge_specs(current, &base, &[TWO[0]]);
            prop_assert_eq!(j.verdict, Verdict::Regression);
            prop_assert_eq!(status(&j, "get customer", "p50"), MetricStatus::Regression);
        }
    }
}
