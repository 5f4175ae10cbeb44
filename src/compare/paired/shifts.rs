//! Service-wide shifts between the two targets: the factor every endpoint moved by, named in
//! the verdict, and the metrics judged relative to it.

use crate::compare::shift;
use crate::compare::stats;
use crate::compare::verdict::{
    Metric, MetricRef, MetricStatus, MetricVerdict, Range, ServiceShift, ShiftStatus,
};
use crate::format::change;

/// One quantile's paired tests split by their service-wide factor ([`split_service`]).
pub(super) struct Split {
    /// The quantile's metrics (indices into the decisions).
    pub(super) indices: Vec<usize>,
    /// The factor per unit.
    pub(super) common: Vec<f64>,
    /// Other quantiles' metrics judged relative to this factor (too few to split their own).
    pub(super) borrowers: Vec<usize>,
}

/// Judges each split quantile's service-wide factor once (see [`split_service`]). Endpoints
/// were decided relative to it; where the factor is beyond the tolerance, an endpoint whose
/// whole change passed the tolerance without a relative regression only follows it: below
/// [`shift::SWING_CEILING`] it stays inconclusive, with the reason saying so, beyond it it
/// blocks. Returns the factors beyond the tolerance.
pub(super) fn apply_shifts(metrics: &mut [MetricVerdict], splits: &[Split]) -> Vec<ServiceShift> {
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
pub(super) fn shift_reason(s: &ServiceShift) -> String {
    let what = s.moved(" against the base target");
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
