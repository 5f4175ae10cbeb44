//! The record of a confirmation (the `confirmation` section of a comparison: what each run
//! decided on every metric and threshold that failed in either) and how it reads for people.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compare::verdict::{
    Comparison, Metric, MetricStatus, MetricVerdict, Overall, ThresholdCheck, ThresholdStatus,
    Unit, Verdict,
};
use crate::format::{change, percent};

/// What a confirmation run found: the `confirmation` section of a comparison, present only
/// when a confirmation run was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// What the re-measurement decided.
    pub outcome: ConfirmationOutcome,
    /// The first run's overall verdict, before the confirmation.
    pub first_verdict: Verdict,
    /// The confirmation run's own overall verdict, summary and reasons.
    pub second: Overall,
    /// Every metric that regressed in either run, with both runs' values.
    pub metrics: Vec<ConfirmedMetric>,
    /// Every threshold that failed in either run, with both runs' values.
    pub thresholds: Vec<ConfirmedThreshold>,
}

/// What the re-measurement decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationOutcome {
    /// Some regression or breached threshold failed in both runs: it blocks.
    Held,
    /// Nothing failed in both runs: not blocking; what failed in one run is inconclusive.
    DidNotHold,
    /// The confirmation run could not be judged (untrusted, incompatible): the first run's
    /// verdict stands.
    NotJudged,
    /// The first run was inconclusive because every endpoint moved together (a uniform
    /// service-wide shift), and the confirmation run showed the shift again: still
    /// inconclusive, never blocking.
    ShiftHeld,
    /// The first run was inconclusive because every endpoint moved together, and the
    /// confirmation run did not show the shift again: a passing swing of the environment, so
    /// what only followed it passes.
    ShiftDidNotHold,
    /// The first run was inconclusive (with no service-wide shift), and the confirmation run
    /// decided every metric it left open within its tolerance: not blocking.
    Settled,
    /// The first run was inconclusive (with no service-wide shift), and some metric stayed
    /// undecided, or failed in the confirmation run alone: inconclusive, not blocking.
    NotSettled,
}

impl ConfirmationOutcome {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationOutcome::Held => "held",
            ConfirmationOutcome::DidNotHold => "did_not_hold",
            ConfirmationOutcome::NotJudged => "not_judged",
            ConfirmationOutcome::ShiftHeld => "shift_held",
            ConfirmationOutcome::ShiftDidNotHold => "shift_did_not_hold",
            ConfirmationOutcome::Settled => "settled",
            ConfirmationOutcome::NotSettled => "not_settled",
        }
    }
}

/// A metric that regressed in at least one of the two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmedMetric {
    /// The endpoint.
    pub endpoint: String,
    /// Short label: `p95`, `errors http_5xx`.
    pub label: String,
    /// Which metric.
    pub metric: Metric,
    /// Unit of the values.
    pub unit: Unit,
    /// The first run's decision and values (none when the metric was not in it).
    pub first: Option<RunMetric>,
    /// The confirmation run's (none when the metric was not in it).
    pub second: Option<RunMetric>,
    /// True when it regressed in both runs.
    pub held: bool,
}

/// One run's decision on a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunMetric {
    /// The decision.
    pub status: MetricStatus,
    /// The run's value.
    pub current: Option<f64>,
    /// Current ÷ baseline.
    pub ratio: Option<f64>,
}

/// A threshold that failed in at least one of the two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmedThreshold {
    /// `all` or an endpoint name.
    pub scope: String,
    /// Short label: `p95`, `error_rate`.
    pub label: String,
    /// Unit of the limit and the values.
    pub unit: Unit,
    /// The limit.
    pub limit_value: f64,
    /// The first run's check (none when it was not in it).
    pub first: Option<RunThreshold>,
    /// The confirmation run's.
    pub second: Option<RunThreshold>,
    /// True when it failed in both runs.
    pub held: bool,
}

/// One run's check of a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunThreshold {
    /// The result.
    pub status: ThresholdStatus,
    /// The measured value.
    pub actual: Option<f64>,
}

impl RunMetric {
    /// One run's decision and values of `m`.
    pub fn of(m: &MetricVerdict) -> RunMetric {
        RunMetric {
            status: m.status,
            current: m.current,
            ratio: m.ratio,
        }
    }
}

/// A run's value of a metric for people: the change for latency and capacity (`+23.0%`), the
/// rate for errors (`2.00%`); `not measured` when the run does not have the metric.
pub fn metric_value(metric: Metric, unit: Unit, run: Option<&RunMetric>) -> String {
    let Some(r) = run else {
        return "not measured".into();
    };
    match (metric, r.ratio) {
        (Metric::ErrorRate { .. }, _) => r.current.map_or_else(|| "—".into(), percent),
        (_, Some(ratio)) => change(ratio),
        (_, None) => unit.format(r.current),
    }
}

/// A run's value of a threshold for people (`312ms`); `not measured` when absent.
pub fn threshold_value(t: &ConfirmedThreshold, run: Option<&RunThreshold>) -> String {
    run.map_or_else(|| "not measured".into(), |r| t.unit.format(r.actual))
}

pub(super) fn status_text(run: Option<&RunMetric>) -> String {
    run.map_or_else(
        || "not measured".into(),
        |r| r.status.as_str().replace('_', " "),
    )
}

impl ConfirmedMetric {
    /// `get customer p50: first run +23.0%, second +1.0%`.
    pub fn both_runs(&self) -> String {
        format!(
            "{} {}: first run {}, second {}",
            self.endpoint,
            self.label,
            metric_value(self.metric, self.unit, self.first.as_ref()),
            metric_value(self.metric, self.unit, self.second.as_ref())
        )
    }
}

impl ConfirmedThreshold {
    /// `threshold all p99 ≤ 250ms: first run 312ms, second 120ms`.
    pub fn both_runs(&self) -> String {
        let relation = if self.unit == Unit::PerSec {
            "≥"
        } else {
            "≤"
        };
        format!(
            "threshold {} {} {relation} {}: first run {}, second {}",
            self.scope,
            self.label,
            self.unit.format(Some(self.limit_value)),
            threshold_value(self, self.first.as_ref()),
            threshold_value(self, self.second.as_ref())
        )
    }
}

impl Comparison {
    /// The failed thresholds that block: every failed one, except those a judged confirmation
    /// run found did not hold.
    pub fn blocking_thresholds(&self) -> impl Iterator<Item = &ThresholdCheck> {
        self.failed_thresholds()
            .filter(move |t| !self.threshold_did_not_hold(t))
    }

    /// True when `t` failed in the first run only, according to a judged confirmation.
    pub fn threshold_did_not_hold(&self, t: &ThresholdCheck) -> bool {
        self.confirmation.as_ref().is_some_and(|c| {
            c.outcome != ConfirmationOutcome::NotJudged
                && c.thresholds
                    .iter()
                    .any(|ct| !ct.held && ct.scope == t.scope && ct.label == t.label)
        })
    }
}
