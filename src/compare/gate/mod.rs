//! The gate's policy: which metrics are gated, the Holm family, and the verdict per metric and
//! overall (see `stats-gate.md`). [`judge`] decides from run summaries alone (the simulator
//! drives it directly); [`evaluate`] adds the validity checks, the baseline's compatibility and
//! the thresholds, and builds the [`Comparison`](super::Comparison) (`evaluate.rs`). `shifts.rs` holds the
//! service-wide factor and the metrics judged relative to it, `decision.rs` the decision on one
//! metric from its test.

use super::errors::ErrorOutcome;
use super::metric::{self, Against};
use super::run::{EndpointSummary, RunSummary};
use super::shift;
use super::stats::{self, LatencyOutcome, QuantileValue};
use super::tail::{self, TailOutcome, TailRun};
use super::verdict::{Detail, Metric, MetricStatus, MetricVerdict, ServiceShift, Verdict};
use crate::format::change;
use crate::metrics::ErrorClass;
use crate::profile::GateConfig;

mod decision;
mod evaluate;
mod shifts;

use decision::{decide, error_pending, latency_detail, latency_verdict, sample_status, test_of};
pub use evaluate::{CompareError, GateInput, evaluate};
use shifts::{
    Split, TailEstimate, apply_shifts, current_value, judge_relative, quantile_row,
    relative_to_service, shift_reason, tail_swing,
};
pub use shifts::{TAIL_TEST_FROM, UNTESTED_NOTABLE, WITHIN_SWINGS_P};

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
pub(super) struct Pending {
    pub(super) verdict: MetricVerdict,
    pub(super) test: Option<Test>,
    /// For a latency metric judged relative to its run's service-wide factor
    /// (`compare::shift`): the factor (log scale) and the test of the value as measured,
    /// which only a shift beyond the swings or one that is not service-wide turns into a
    /// regression. `test` then holds the relative test.
    pub(super) as_measured: Option<(f64, LatencyOutcome)>,
}

pub(super) enum Test {
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
pub(super) type Adjusted = (f64, f64, f64);

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

#[cfg(test)]
mod tests;
