//! The checks a results file and a comparison carry: a run's own validity checks (made before
//! any verdict) and absolute thresholds (also recorded per capacity step), with the units of
//! their values.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One check made before any verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidityCheck {
    /// What was checked.
    pub check: CheckKind,
    /// Whether it held.
    pub status: CheckStatus,
    /// The numbers, in plain words.
    pub detail: String,
}

/// Checks made before any verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The run finished (not stopped early).
    Complete,
    /// Every shard of a sharded load is present.
    Shards,
    /// The generator kept to its schedule (open model: achieved rate within ±2% of the
    /// target, no dropped arrivals, small schedule lag; closed model: users reached).
    Generator,
    /// The run sent requests at all.
    Requests,
    /// The baseline was recorded with the same profile (name and hash).
    Profile,
    /// The baseline has runs of the same runner class.
    RunnerClass,
}

/// Whether a check held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It held.
    Ok,
    /// It failed: see the detail.
    Failed,
}

/// Units of values in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Microseconds.
    Us,
    /// A ratio 0–1.
    Ratio,
    /// Per second.
    PerSec,
}

impl Unit {
    /// A value in this unit for people (`12.3ms`, `0.12%`, `512/s`; `—` when absent).
    pub fn format(self, value: Option<f64>) -> String {
        use crate::format::{latency_us, percent, rate};
        match value {
            None => "—".into(),
            Some(v) => match self {
                Unit::Us => latency_us(v.max(0.0).round() as u64),
                Unit::Ratio => percent(v),
                Unit::PerSec => rate(v),
            },
        }
    }
}

/// An absolute limit checked on the current run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdCheck {
    /// `all` or an endpoint name.
    pub scope: String,
    /// What is limited.
    pub limit: LimitKind,
    /// Short label: `p95`, `max`, `error_rate`, `min_rate`.
    pub label: String,
    /// Unit of `max`/`min` and `actual`.
    pub unit: Unit,
    /// The limit's value (an upper limit, except for `min_rate`).
    pub limit_value: f64,
    /// The measured value (none when nothing was measured).
    pub actual: Option<f64>,
    /// The result.
    pub status: ThresholdStatus,
}

/// What a threshold limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitKind {
    /// A latency quantile must be at most the limit (quantile 1 is the maximum).
    Latency {
        /// 0–1.
        quantile: f64,
    },
    /// The share of failed requests must be at most the limit.
    ErrorRate,
    /// Completed requests per second must be at least the limit.
    MinRate,
}

/// A threshold's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdStatus {
    /// Within the limit.
    Ok,
    /// Beyond the limit: fails the gate on its own.
    Breached,
    /// Nothing was measured (no responses): fails the gate, as the limit cannot be shown to hold.
    NoData,
}
