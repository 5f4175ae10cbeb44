//! Service-wide shifts: the factor every endpoint moved by, the metrics judged relative to it,
//! and tails that widen on every endpoint together.

use crate::compare::run::RunSummary;
use crate::compare::shift::{self, Decomposition};
use crate::compare::stats::{self, LatencyOutcome, QuantileValue};
use crate::compare::tail;
use crate::compare::verdict::{
    Detail, Metric, MetricRef, MetricStatus, MetricVerdict, Range, ServiceShift, ShiftStatus,
};
use crate::format::{change, p_value, percent};

use super::{Pending, Test, latency_detail};

/// One quantile's service-wide factor and the metrics judged relative to it.
pub(super) struct Split {
    /// The metrics (indices into the pending list) it was measured over.
    pub(super) indices: Vec<usize>,
    /// The baseline runs (indices) that have every one of them, in the decomposition's order.
    pub(super) runs: Vec<usize>,
    pub(super) decomposition: Decomposition,
    /// Metrics of other quantiles, too few there for a factor of their own, judged relative
    /// to this one.
    pub(super) borrowers: Vec<usize>,
}

/// The current run's value of one endpoint's quantile.
pub(super) fn current_value<'a>(
    current: &'a RunSummary,
    endpoint: &str,
    qi: usize,
) -> &'a QuantileValue {
    current
        .endpoint(endpoint)
        .map(|e| &e.quantiles[qi])
        .expect("gateable metrics come from the current run's endpoints")
}

/// Makes `relative` (the test of the value less the run's service-wide factor `factor`) the
/// metric's test, keeping the test of the value as measured beside it.
pub(super) fn judge_relative(
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
pub(super) fn quantile_row<'a>(
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
pub(super) fn relative_to_service(v: &mut MetricVerdict, factor: f64, own: &LatencyOutcome) {
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
pub(super) const RELATIVE_NOTE: f64 = 0.01;

/// A uniform shift this likely or more under the baseline runs' own factors is within their
/// swings (one-sided prediction p-value).
pub const WITHIN_SWINGS_P: f64 = 0.05;

/// True when the value as measured regressed: beyond the tolerance and significant at the
/// Bonferroni level of the family (`m` hypotheses).
pub(super) fn own_regressed(own: &LatencyOutcome, tolerance: f64, alpha: f64, m: f64) -> bool {
    own.ratio() >= 1.0 + tolerance && own.p_up * m <= alpha
}

/// One-sided p-value of the current run's service-wide factor under the baseline runs' own
/// factors (a Student-t prediction test); `None` with fewer than two baseline runs.
pub(super) fn factor_p_up(d: &Decomposition) -> Option<f64> {
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
pub(super) fn apply_shifts(
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
pub(super) struct TailEstimate {
    pub(super) label: String,
    pub(super) quantile: f64,
    pub(super) ratio: f64,
}

/// The tail-share tests of one quantile: how much their shares grew.
pub(super) struct TailGroup {
    /// The quantile's label (`p95`).
    pub(super) label: String,
    /// The quantile, 0–1.
    pub(super) quantile: f64,
    /// The median share ratio.
    pub(super) typical: f64,
    /// The smallest and the largest.
    pub(super) low: f64,
    pub(super) high: f64,
    /// Tests in the group.
    pub(super) count: usize,
    /// Of them, share ratios of tails too thin to test.
    pub(super) estimated: usize,
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
pub(super) fn tail_swing(
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
pub(super) fn baseline_range(d: &Decomposition) -> Option<Range> {
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

pub(super) fn ci_text((low, high): (f64, f64)) -> String {
    format!("[{}, {}]", change(low), change(high))
}

/// The headline line of a service-wide shift.
pub(super) fn shift_reason(s: &ServiceShift) -> String {
    let what = format!("{}: a service-wide shift", s.moved(""));
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
