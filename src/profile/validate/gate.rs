//! Absolute limits (`thresholds`) and the statistical comparison with the baseline (`gate`).

use std::time::Duration;

use serde_saphyr::Spanned;

use crate::profile::error::{ProfileError, did_you_mean};
use crate::profile::model::{
    Confirm, GateConfig, Limit, PairedSchedule, Quantile, Threshold, ThresholdScope,
};
use crate::profile::raw::{Pairs, RawConfirm, RawGate, RawPairedSchedule, RawThreshold};
use crate::profile::units::format_duration;

use super::Ctx;

pub(super) fn validate_thresholds(
    cx: &Ctx<'_>,
    raw: &Pairs<Spanned<String>, RawThreshold>,
    names: &[&str],
) -> Result<Vec<Threshold>, ProfileError> {
    let mut out = Vec::new();
    for (scope, t) in raw.iter() {
        let key = format!("thresholds.{}", scope.value);
        let scope_value = if scope.value == "all" {
            ThresholdScope::All
        } else if names.contains(&scope.value.as_str()) {
            ThresholdScope::Endpoint(scope.value.clone())
        } else {
            let mut e = cx.err(
                "thresholds",
                Some(scope.referenced),
                &format!(
                    "unknown endpoint `{}`: expected `all` or a request name ({})",
                    scope.value,
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            if let Some(m) = did_you_mean(&scope.value, names.iter().copied()) {
                e = e.hint(format!("did you mean `{m}`?"));
            }
            return Err(e);
        };
        let mut limits = Vec::new();
        for (q, d) in [
            (0.50, t.p50),
            (0.90, t.p90),
            (0.95, t.p95),
            (0.99, t.p99),
            (0.999, t.p999),
            (1.0, t.max),
        ] {
            if let Some(d) = d {
                limits.push(Limit::Latency {
                    quantile: Quantile(q),
                    max: d.0,
                });
            }
        }
        if let Some(p) = t.error_rate {
            limits.push(Limit::ErrorRate { max_ratio: p.0 });
        }
        if let Some(r) = t.min_rate {
            limits.push(Limit::MinRate { per_sec: r.0 });
        }
        if limits.is_empty() {
            return Err(cx.err(
                key,
                Some(scope.referenced),
                "threshold sets no limit: expected one of `p50`, `p90`, `p95`, `p99`, `p999`, `max`, `error_rate`, `min_rate`",
            ));
        }
        out.push(Threshold {
            scope: scope_value,
            limits,
        });
    }
    Ok(out)
}

pub(super) fn validate_gate(
    cx: &Ctx<'_>,
    raw: &RawGate,
    names: &[&str],
    interval: Duration,
) -> Result<GateConfig, ProfileError> {
    let mut gate = GateConfig::default();
    if let Some(endpoints) = &raw.endpoints {
        for (i, e) in endpoints.iter().enumerate() {
            if !names.contains(&e.value.as_str()) {
                let mut err = cx.err(
                    format!("gate.endpoints[{i}]"),
                    Some(e.referenced),
                    &format!(
                        "unknown endpoint `{}`: expected a request name ({})",
                        e.value,
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                if let Some(m) = did_you_mean(&e.value, names.iter().copied()) {
                    err = err.hint(format!("did you mean `{m}`?"));
                }
                return Err(err);
            }
        }
        gate.endpoints = Some(endpoints.iter().map(|e| e.value.clone()).collect());
    }
    if let Some(metrics) = &raw.metrics {
        gate.metrics = Vec::new();
        for (label, tolerance) in metrics.iter() {
            let q = Quantile::parse(&label.value).ok_or_else(|| {
                cx.err(
                    "gate.metrics",
                    Some(label.referenced),
                    &format!(
                        "unknown metric `{}`: expected a percentile like `p50`, `p95`, `p99` or `p999`",
                        label.value
                    ),
                )
            })?;
            gate.metrics.push((q, tolerance.0));
        }
        if gate.metrics.is_empty() {
            return Err(cx.err(
                "gate.metrics",
                None,
                "no gated metrics: expected at least one, like `{ p95: 10% }`",
            ));
        }
    }
    if let Some(e) = raw.error_rate {
        gate.error_rate = e.0;
    }
    if let Some(m) = &raw.max_error_rate {
        if !(0.0..1.0).contains(&m.value.0) {
            return Err(cx.err(
                "gate.max_error_rate",
                Some(m.referenced),
                &format!(
                    "`{}%`: expected a share from 0% to below 100%, like `5%` (a run in which every request failed never passes)",
                    m.value.0 * 100.0
                ),
            ));
        }
        gate.max_error_rate = m.value.0;
    }
    if let Some(a) = &raw.alpha {
        if !(a.value > 0.0 && a.value <= 0.5) {
            return Err(cx.err(
                "gate.alpha",
                Some(a.referenced),
                &format!(
                    "alpha `{}` out of range: expected a probability above 0 and at most 0.5, like `0.01`",
                    a.value
                ),
            ));
        }
        gate.alpha = a.value;
    }
    if let Some(n) = &raw.baseline_runs {
        if !(1..=100).contains(&n.value) {
            return Err(cx.err(
                "gate.baseline_runs",
                Some(n.referenced),
                &format!("`{}` baseline runs: expected 1 to 100", n.value),
            ));
        }
        gate.baseline_runs = n.value;
    }
    if let Some(b) = &raw.block {
        let block = b.value.0;
        if block < interval || !block.as_nanos().is_multiple_of(interval.as_nanos()) {
            return Err(cx.err(
                "gate.block",
                Some(b.referenced),
                &format!(
                    "block `{}` is not a whole number of intervals: expected a multiple of `load.interval` ({})",
                    format_duration(block),
                    format_duration(interval)
                ),
            ));
        }
        gate.block = block;
    }
    if let Some(c) = raw.capacity {
        gate.capacity = c.0;
    }
    gate.confirm = raw.confirm.map(|c| match c {
        RawConfirm::On => Confirm::On,
        RawConfirm::Off => Confirm::Off,
    });
    if let Some(paired) = &raw.paired {
        if let Some(n) = &paired.blocks {
            if n.value < 4 || n.value > 100 || n.value % 2 == 1 {
                return Err(cx.err(
                    "gate.paired.blocks",
                    Some(n.referenced),
                    &format!(
                        "`{}` blocks: expected an even number from 4 to 100 (blocks run in the order ABBA, two per target in each round)",
                        n.value
                    ),
                ));
            }
            gate.paired.blocks = n.value;
        }
        if let Some(b) = &paired.block {
            let block = b.value.0;
            if block < interval || !block.as_nanos().is_multiple_of(interval.as_nanos()) {
                return Err(cx.err(
                    "gate.paired.block",
                    Some(b.referenced),
                    &format!(
                        "block `{}` is not a whole number of intervals: expected a multiple of `load.interval` ({})",
                        format_duration(block),
                        format_duration(interval)
                    ),
                ));
            }
            gate.paired.block = Some(block);
        }
        if let Some(schedule) = paired.schedule {
            gate.paired.schedule = match schedule {
                RawPairedSchedule::Alternating => PairedSchedule::Alternating,
                RawPairedSchedule::Simultaneous => PairedSchedule::Simultaneous,
            };
        }
    }
    Ok(gate)
}
