//! What a re-measurement of an inconclusive run decides: the metrics the first run left open
//! that the second run decides within the tolerance pass, and so do the followers of a
//! service-wide shift that does not show again.

use super::record::{RunMetric, metric_value};
use crate::compare::verdict::{
    Detail, Metric, MetricStatus, MetricVerdict, ServiceShift, ShiftStatus,
};
use crate::format::change;

/// A metric a comparison measured (a baseline and a current value) and left inconclusive:
/// another run can decide it. One with no baseline value (a new endpoint) cannot be, so a run
/// that is inconclusive only for such metrics is not measured again.
pub(super) fn open(m: &MetricVerdict) -> bool {
    m.status == MetricStatus::Inconclusive && m.baseline.is_some() && m.current.is_some()
}

/// Applies a confirmation run to an inconclusive first run: the followers of a service-wide
/// shift that did not show again pass first, then every metric the second run decided within
/// its tolerance. Returns whether some shift held, and a reason line per shift.
pub(super) fn settle(
    metrics: &mut [MetricVerdict],
    first_shifts: &[ServiceShift],
    second_shifts: &[ServiceShift],
    second_metrics: &[MetricVerdict],
) -> (bool, Vec<String>) {
    let shifts = settle_swings(metrics, first_shifts, second_shifts);
    settle_open(metrics, second_metrics);
    shifts
}

/// A confirmation run's metric that settles the first run's doubt: a pass or an improvement,
/// or a tail too thinly sampled to gate whose share test found no regression (it stays report
/// only, as every thin tail does unless its share grew).
fn decided_within_tolerance(m: &MetricVerdict) -> bool {
    match m.status {
        MetricStatus::Pass | MetricStatus::Improvement => true,
        MetricStatus::ReportOnly => matches!(m.detail, Some(Detail::TailShare(_))),
        MetricStatus::Regression | MetricStatus::Inconclusive => false,
    }
}

/// Applies a confirmation run to the metrics a first run left open: one the confirmation run
/// decided within its tolerance passes, saying both runs' values; one it left open again, or
/// that regressed only there, stays inconclusive. Followers of a shift that did not hold have
/// passed already ([`settle_swings`]).
fn settle_open(metrics: &mut [MetricVerdict], second: &[MetricVerdict]) {
    for m in metrics.iter_mut().filter(|m| open(m)) {
        let Some(again) = second
            .iter()
            .find(|s| s.endpoint == m.endpoint && s.label == m.label)
        else {
            continue;
        };
        if !decided_within_tolerance(again) {
            continue;
        }
        let value = |v: &MetricVerdict| metric_value(v.metric, v.unit, Some(&RunMetric::of(v)));
        let interval = |v: &MetricVerdict| match (v.metric, v.ci90) {
            (Metric::Latency { .. }, Some(ci)) => {
                format!(", 90% CI [{}, {}]", change(ci.low), change(ci.high))
            }
            _ => String::new(),
        };
        let why = if again.status == MetricStatus::ReportOnly {
            "its slow responses not significantly more than the baseline's"
        } else {
            "within the tolerance"
        };
        m.reason = format!(
            "undecided in the first run ({}{}); measured again, {}{}: {why}, so it passes",
            value(m),
            interval(m),
            value(again),
            interval(again)
        );
        m.status = MetricStatus::Pass;
    }
}

/// The uniform service-wide shifts that left metrics inconclusive: what a confirmation run
/// re-measures when nothing regressed.
pub(super) fn swings(shifts: &[ServiceShift]) -> impl Iterator<Item = &ServiceShift> {
    shifts
        .iter()
        .filter(|s| s.status == ShiftStatus::Uniform && !s.following.is_empty())
}

/// The confirmation run's shift at the same quantile as `first`'s, when it shows the shift
/// again: every endpoint slower beyond the tolerance and beyond the baseline runs' swings
/// (uniformly, beyond a restarted service's swings, or for most endpoints).
fn shift_again<'a>(first: &ServiceShift, second: &'a [ServiceShift]) -> Option<&'a ServiceShift> {
    second.iter().find(|t| {
        t.label == first.label
            && matches!(
                t.status,
                ShiftStatus::Uniform | ShiftStatus::BeyondSwings | ShiftStatus::Partial
            )
    })
}

/// Applies a confirmation run to a first run that was inconclusive because of uniform
/// service-wide shifts: the metrics that only followed a shift the confirmation run did not
/// show again pass (it was a passing swing of the environment); those of a shift that showed
/// again stay inconclusive. Returns whether some shift held, and a reason line per shift.
fn settle_swings(
    metrics: &mut [MetricVerdict],
    first: &[ServiceShift],
    second: &[ServiceShift],
) -> (bool, Vec<String>) {
    let mut held = false;
    let mut lines = Vec::new();
    for s in swings(first) {
        let what = format!("{}: a service-wide shift", s.moved(" in the first run"));
        if let Some(again) = shift_again(s, second) {
            held = true;
            lines.push(format!(
                "{what}; measured again, every endpoint {} ({} to {}): the shift held, so this deployment (or the change) slows every endpoint, which one job cannot tell apart; not blocking, and a paired comparison against the base branch's deployment (`baseline-target`) tells",
                change(again.ratio),
                change(again.range.low),
                change(again.range.high)
            ));
            continue;
        }
        let now = second.iter().find(|t| t.label == s.label).map_or_else(
            || "within the tolerance".to_string(),
            |t| format!("{}, within the baseline runs' own swings", change(t.ratio)),
        );
        lines.push(format!(
            "{what}; measured again, the shift did not hold ({now}): a passing swing of the environment, so what only followed it passes"
        ));
        for r in &s.following {
            if let Some(m) = metrics.iter_mut().find(|m| {
                m.endpoint == r.endpoint
                    && m.label == r.label
                    && m.status == MetricStatus::Inconclusive
            }) {
                m.status = MetricStatus::Pass;
                m.reason = format!(
                    "{} in the first run, with every endpoint ({} at {}); the shift did not hold on re-measurement ({now}): a passing swing, not counted",
                    m.ratio.map_or_else(|| "—".to_string(), change),
                    change(s.ratio),
                    s.label
                );
            }
        }
    }
    (held, lines)
}
