//! The comparison's rows: one per endpoint × metric (gated and report-only) and one per
//! absolute threshold, formatted for people with the raw values beside.

use serde::Serialize;

use crate::compare::{
    Comparison, Metric, MetricStatus, MetricVerdict, ThresholdCheck, ThresholdStatus, Unit,
};
use crate::format::{change, p_value};

/// One endpoint × metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// The endpoint.
    pub endpoint: String,
    /// `p95`, `errors http_5xx`.
    pub metric: String,
    /// `latency`, `error_rate` or `capacity`.
    pub kind: &'static str,
    /// `pass`, `regression`, `improvement`, `inconclusive`, `report_only`.
    pub status: &'static str,
    /// For people: `report only`, `pass (within noise)`.
    pub status_text: String,
    /// A pass too coarse to resolve the tolerance ([`MetricVerdict::within_noise`]).
    pub within_noise: bool,
    /// An emoji for the status.
    pub icon: &'static str,
    /// Baseline value, formatted.
    pub baseline: String,
    /// Current value, formatted.
    pub current: String,
    /// Change, formatted (`+4.1%`, `new`, `—`).
    pub change: String,
    /// 90% confidence interval of the change, formatted (`[-1.2%, +9.8%]`; `—` when none).
    pub ci: String,
    /// p-value (Holm-adjusted when gated), formatted.
    pub p: String,
    /// Tolerance, formatted (`+10%`, `+0.10pt`).
    pub tolerance: String,
    /// Smallest change the data could have caught, formatted.
    pub detectable: String,
    /// Why, in plain words.
    pub reason: String,
    /// Current ÷ baseline.
    pub ratio: Option<f64>,
    /// The p-value used for the decision.
    pub p_value: Option<f64>,
}

/// One threshold.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdRow {
    /// `all` or the endpoint.
    pub scope: String,
    /// `p95`, `error_rate`, `min_rate`.
    pub metric: String,
    /// `≤` or `≥`.
    pub relation: &'static str,
    /// The limit, formatted.
    pub limit: String,
    /// The measured value, formatted.
    pub actual: String,
    /// `ok`, `breached`, `no_data`.
    pub status: &'static str,
    /// An emoji for the status (❔ for a failure a confirmation run did not reproduce).
    pub icon: &'static str,
    /// True when it holds.
    pub ok: bool,
    /// True when it failed and blocks (false for a failure a confirmation run did not
    /// reproduce).
    pub blocking: bool,
}

/// `ok`, `breached`, `no_data`.
pub(super) fn threshold_status_name(s: ThresholdStatus) -> &'static str {
    match s {
        ThresholdStatus::Ok => "ok",
        ThresholdStatus::Breached => "breached",
        ThresholdStatus::NoData => "no_data",
    }
}

fn status_icon(s: MetricStatus) -> &'static str {
    match s {
        MetricStatus::Pass => "✅",
        MetricStatus::Improvement => "🚀",
        MetricStatus::Regression => "❌",
        MetricStatus::Inconclusive => "❔",
        MetricStatus::ReportOnly => "➖",
    }
}

impl MetricRow {
    /// The row of one metric verdict (also the terminal table's cells).
    pub fn of(m: &MetricVerdict) -> MetricRow {
        let dash = || "—".to_string();
        let (kind, tolerance, detectable) = match m.metric {
            Metric::Latency { .. } => (
                "latency",
                format!("+{:.0}%", m.tolerance * 100.0),
                m.mdc.map_or_else(dash, |d| change(1.0 + d)),
            ),
            Metric::ErrorRate { .. } => (
                "error_rate",
                format!("+{}", points(m.tolerance)),
                m.mdc.map_or_else(dash, |d| format!("+{}", points(d))),
            ),
            Metric::Capacity => (
                "capacity",
                format!("-{:.0}%", m.tolerance * 100.0),
                m.mdc.map_or_else(dash, |d| change(1.0 - d)),
            ),
        };
        MetricRow {
            endpoint: m.endpoint.clone(),
            metric: m.label.clone(),
            kind,
            status: m.status.as_str(),
            status_text: if m.within_noise() {
                "pass (within noise)".to_string()
            } else {
                m.status.as_str().replace('_', " ")
            },
            within_noise: m.within_noise(),
            icon: status_icon(m.status),
            baseline: m.unit.format(m.baseline),
            current: m.unit.format(m.current),
            change: match (m.metric, m.ratio) {
                (_, Some(r)) => change(r),
                (Metric::ErrorRate { .. }, None) if m.current.is_some_and(|c| c > 0.0) => {
                    "new".into()
                }
                _ => dash(),
            },
            // Against a baseline without errors, a ratio has no scale: the errors are new.
            ci: if matches!(m.metric, Metric::ErrorRate { .. })
                && m.ratio.is_none()
                && m.current.is_some_and(|c| c > 0.0)
            {
                "new".into()
            } else {
                m.ci90.map_or_else(dash, |ci| {
                    let high = if ci.high.is_finite() && ci.high < 1e6 {
                        change(ci.high)
                    } else {
                        "∞".into()
                    };
                    format!("[{}, {high}]", change(ci.low))
                })
            },
            p: m.p_adjusted.or(m.p_value).map_or_else(dash, p_value),
            tolerance,
            detectable,
            reason: m.reason.clone(),
            ratio: m.ratio,
            p_value: m.p_adjusted.or(m.p_value),
        }
    }
}

/// An error-rate difference in percentage points (`0.10pt`).
fn points(ratio: f64) -> String {
    format!("{:.2}pt", ratio * 100.0)
}

impl ThresholdRow {
    pub(super) fn of(t: &ThresholdCheck, c: &Comparison) -> ThresholdRow {
        ThresholdRow {
            blocking: t.status != ThresholdStatus::Ok && !c.threshold_did_not_hold(t),
            scope: t.scope.clone(),
            metric: t.label.clone(),
            relation: if t.unit == Unit::PerSec { "≥" } else { "≤" },
            limit: t.unit.format(Some(t.limit_value)),
            actual: t.unit.format(t.actual),
            status: threshold_status_name(t.status),
            icon: if t.status == ThresholdStatus::Ok {
                "✅"
            } else if c.threshold_did_not_hold(t) {
                "❔"
            } else {
                "❌"
            },
            ok: t.status == ThresholdStatus::Ok,
        }
    }
}
