//! Absolute limits (the profile's `thresholds`): plain checks on the current run's measured
//! phase, separate from the statistical test. A breach fails the gate on its own; a limit that
//! cannot be measured (no responses) fails too, so a broken run never passes an SLO.

use super::verdict::{LimitKind, ThresholdCheck, ThresholdStatus, Unit};
use crate::metrics::Histogram;
use crate::profile::{Limit, Threshold, ThresholdScope};
use crate::results::{EndpointResult, ResultsError, RunResult};

/// One line per failed check, for the verdict's reasons: `threshold all p99: 37.5ms against
/// a limit of 30.0ms`.
pub fn breaches<'a>(failed: impl Iterator<Item = &'a ThresholdCheck>) -> Vec<String> {
    failed
        .map(|t| match t.status {
            ThresholdStatus::Breached if t.label == CEILING_LABEL => format!(
                "{} of requests failed, above the ceiling `gate.max_error_rate` of {} (a run with that many failures never passes; raise `gate.max_error_rate` in the profile if this is expected)",
                t.unit.format(t.actual),
                t.unit.format(Some(t.limit_value))
            ),
            ThresholdStatus::NoData => {
                format!("threshold {} {}: nothing measured", t.scope, t.label)
            }
            _ => format!(
                "threshold {} {}: {} against a limit of {}",
                t.scope,
                t.label,
                t.unit.format(t.actual),
                t.unit.format(Some(t.limit_value))
            ),
        })
        .collect()
}

/// The label of the error-rate ceiling's check ([`error_ceiling`]).
pub const CEILING_LABEL: &str = "max_error_rate";

/// The error-rate ceiling every run is held to, baseline or not (`gate.max_error_rate`, 5% by
/// default): a run in which more requests failed, and in any case one in which every request
/// failed, never passes. It is reported among the thresholds, scope `all`, label
/// [`CEILING_LABEL`]. Nothing measured (no requests after the warm-up) is left to the validity
/// check that makes such a run untrusted.
pub fn error_ceiling(result: &RunResult, max_ratio: f64) -> ThresholdCheck {
    let (requests, errors) = measured_counts(result, &result.endpoints.iter().collect::<Vec<_>>());
    let actual = (requests > 0).then(|| errors as f64 / requests as f64);
    ThresholdCheck {
        scope: "all".into(),
        limit: LimitKind::ErrorRate,
        label: CEILING_LABEL.into(),
        unit: Unit::Ratio,
        limit_value: max_ratio,
        actual,
        status: match actual {
            None => ThresholdStatus::NoData,
            Some(r) if r > max_ratio || (errors == requests) => ThresholdStatus::Breached,
            Some(_) => ThresholdStatus::Ok,
        },
    }
}

/// Requests and failures of `endpoints` in the measured phase (after the warm-up).
fn measured_counts(result: &RunResult, endpoints: &[&EndpointResult]) -> (u64, u64) {
    let mut counts = (0u64, 0u64);
    for e in endpoints {
        for i in e.intervals.iter().filter(|i| !result.is_warmup(i.index)) {
            counts.0 += i.requests;
            counts.1 += i.error_total();
        }
    }
    counts
}

/// Checks every limit of every threshold on the run's measured phase.
pub fn check(
    result: &RunResult,
    thresholds: &[Threshold],
) -> Result<Vec<ThresholdCheck>, ResultsError> {
    let mut out = Vec::new();
    for threshold in thresholds {
        let (scope, endpoints): (String, Vec<_>) = match &threshold.scope {
            ThresholdScope::All => ("all".into(), result.endpoints.iter().collect()),
            ThresholdScope::Endpoint(name) => (
                name.clone(),
                result
                    .endpoints
                    .iter()
                    .filter(|e| &e.name == name)
                    .collect(),
            ),
        };
        let mut latency = Histogram::new();
        for e in &endpoints {
            latency.add(&result.measured_histogram(e)?);
        }
        let (requests, errors) = measured_counts(result, &endpoints);
        let secs = result.measured_secs();
        for limit in &threshold.limits {
            let (kind, label, unit, limit_value, actual, breached) = match limit {
                Limit::Latency { quantile, max } => {
                    let actual = if quantile.0 >= 1.0 {
                        latency.max_us()
                    } else {
                        latency.quantile_us(quantile.0)
                    };
                    let max_us = max.as_micros() as f64;
                    (
                        LimitKind::Latency {
                            quantile: quantile.0,
                        },
                        if quantile.0 >= 1.0 {
                            "max".to_string()
                        } else {
                            quantile.label()
                        },
                        Unit::Us,
                        max_us,
                        actual.map(|v| v as f64),
                        actual.is_some_and(|v| v as f64 > max_us),
                    )
                }
                Limit::ErrorRate { max_ratio } => {
                    let actual = (requests > 0).then(|| errors as f64 / requests as f64);
                    (
                        LimitKind::ErrorRate,
                        "error_rate".into(),
                        Unit::Ratio,
                        *max_ratio,
                        actual,
                        actual.is_some_and(|r| r > *max_ratio),
                    )
                }
                Limit::MinRate { per_sec } => {
                    let actual = (secs > 0.0).then(|| requests as f64 / secs);
                    (
                        LimitKind::MinRate,
                        "min_rate".into(),
                        Unit::PerSec,
                        *per_sec,
                        actual,
                        actual.is_some_and(|r| r < *per_sec),
                    )
                }
            };
            out.push(ThresholdCheck {
                scope: scope.clone(),
                limit: kind,
                label,
                unit,
                limit_value,
                actual,
                status: match (actual, breached) {
                    (None, _) => ThresholdStatus::NoData,
                    (Some(_), true) => ThresholdStatus::Breached,
                    (Some(_), false) => ThresholdStatus::Ok,
                },
            });
        }
    }
    Ok(out)
}
