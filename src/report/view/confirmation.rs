//! The confirmation section: a run that would have blocked, measured again, and what failed in
//! either run.

use serde::Serialize;

use super::metrics::threshold_status_name;
use super::verdict::title;
use crate::compare::confirm::{RunMetric, RunThreshold, metric_value, threshold_value};
use crate::compare::{Confirmation, ConfirmationOutcome, MetricStatus, ThresholdStatus, Unit};

/// A confirmation run (confirmation before blocking), for people.
#[derive(Debug, Clone, Serialize)]
pub struct ConfirmationView {
    /// `held`, `did_not_hold`, `not_judged`, `shift_held` or `shift_did_not_hold`.
    pub outcome: &'static str,
    /// One line saying what the re-measurement decided.
    pub headline: String,
    /// The first run's verdict before the confirmation (`regression`).
    pub first_verdict: &'static str,
    /// The confirmation run's own verdict: name, title and summary.
    pub second_verdict: &'static str,
    /// For people: `Pass`.
    pub second_title: &'static str,
    /// Its one-line summary.
    pub second_summary: String,
    /// Every metric and threshold that failed in either run.
    pub rows: Vec<ConfirmationRow>,
}

/// A metric or threshold that failed in at least one of the two runs.
#[derive(Debug, Clone, Serialize)]
pub struct ConfirmationRow {
    /// The endpoint (`all` or the endpoint for a threshold).
    pub endpoint: String,
    /// `p50`, `errors http_5xx`, or `threshold p99 ≤ 250ms`.
    pub metric: String,
    /// The first run's value: the change (`+23.0%`) for latency, the rate for errors, the
    /// measured value for thresholds.
    pub first: String,
    /// The first run's decision (`regression`, `breached`, `pass` …).
    pub first_status: String,
    /// The confirmation run's value.
    pub second: String,
    /// The confirmation run's decision.
    pub second_status: String,
    /// True when it failed in both runs (it blocks).
    pub held: bool,
    /// `held`, `did not hold` or `only on re-measurement`.
    pub outcome: &'static str,
    /// An emoji: ❌ held, ❔ otherwise.
    pub icon: &'static str,
}

impl ConfirmationView {
    /// The view of a comparison's confirmation section.
    pub fn of(c: &Confirmation) -> ConfirmationView {
        let headline = match c.outcome {
            ConfirmationOutcome::Held => {
                "the run was measured again before blocking, and the regression held"
            }
            ConfirmationOutcome::DidNotHold => {
                "the run was measured again before blocking, and the regression did not hold: it does not block"
            }
            ConfirmationOutcome::NotJudged => {
                "the run was measured again, but the confirmation run could not be judged: the first run's verdict stands"
            }
            ConfirmationOutcome::ShiftHeld => {
                "every endpoint moved together in the first run, so it was measured again, and the service-wide shift held: inconclusive, not blocking"
            }
            ConfirmationOutcome::ShiftDidNotHold => {
                "every endpoint moved together in the first run, so it was measured again, and the service-wide shift did not hold: a passing swing, not counted"
            }
            ConfirmationOutcome::Settled => {
                "the first run left metrics undecided, so it was measured again, and the second run decided them within the tolerance"
            }
            ConfirmationOutcome::NotSettled => {
                "the first run left metrics undecided, so it was measured again, and some are still undecided: inconclusive, not blocking"
            }
        };
        let outcome = |held: bool, first_failed: bool| match (held, first_failed) {
            (true, _) => "held",
            (false, true) => "did not hold",
            (false, false) => "only on re-measurement",
        };
        let icon = |held: bool| if held { "❌" } else { "❔" };
        let metric_status = |r: Option<&RunMetric>| {
            r.map_or_else(
                || "not measured".to_string(),
                |r| r.status.as_str().replace('_', " "),
            )
        };
        let threshold_status = |r: Option<&RunThreshold>| {
            r.map_or_else(
                || "not measured".to_string(),
                |r| threshold_status_name(r.status).replace('_', " "),
            )
        };
        let mut rows: Vec<ConfirmationRow> = c
            .metrics
            .iter()
            .map(|m| ConfirmationRow {
                endpoint: m.endpoint.clone(),
                metric: m.label.clone(),
                first: metric_value(m.metric, m.unit, m.first.as_ref()),
                first_status: metric_status(m.first.as_ref()),
                second: metric_value(m.metric, m.unit, m.second.as_ref()),
                second_status: metric_status(m.second.as_ref()),
                held: m.held,
                outcome: outcome(
                    m.held,
                    m.first
                        .is_some_and(|r| r.status == MetricStatus::Regression),
                ),
                icon: icon(m.held),
            })
            .collect();
        rows.extend(c.thresholds.iter().map(|t| {
            let relation = if t.unit == Unit::PerSec { "≥" } else { "≤" };
            ConfirmationRow {
                endpoint: t.scope.clone(),
                metric: format!(
                    "threshold {} {relation} {}",
                    t.label,
                    t.unit.format(Some(t.limit_value))
                ),
                first: threshold_value(t, t.first.as_ref()),
                first_status: threshold_status(t.first.as_ref()),
                second: threshold_value(t, t.second.as_ref()),
                second_status: threshold_status(t.second.as_ref()),
                held: t.held,
                outcome: outcome(
                    t.held,
                    t.first.is_some_and(|r| r.status != ThresholdStatus::Ok),
                ),
                icon: icon(t.held),
            }
        }));
        ConfirmationView {
            outcome: c.outcome.as_str(),
            headline: headline.to_string(),
            first_verdict: c.first_verdict.as_str(),
            second_verdict: c.second.verdict.as_str(),
            second_title: title(c.second.verdict),
            second_summary: c.second.summary.clone(),
            rows,
        }
    }
}
