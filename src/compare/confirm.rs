//! Confirmation before blocking: when a run would block, the gate measures again and blocks
//! only on what failed in both runs. Pure: [`confirm`] combines two comparisons of one profile
//! against one baseline; [`confirm_judgements`] applies the same rule to two [`Judgement`]s
//! (the simulator calls it). A metric or threshold that failed in one run only does not block,
//! and is never a silent pass either: it becomes inconclusive, and the report says which run
//! saw what. The rule lives once, in [`rule`], over lists of (key, failed) pairs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::gate::Judgement;
use super::verdict::{
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
}

impl ConfirmationOutcome {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationOutcome::Held => "held",
            ConfirmationOutcome::DidNotHold => "did_not_hold",
            ConfirmationOutcome::NotJudged => "not_judged",
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

/// True when a comparison would block and so deserves a second measurement: a statistical
/// regression or a breached threshold. A slowdown that only followed a uniform service-wide
/// shift is not one: on a real service such a swing often lasts the whole job (a slow node, a
/// cold deployment), so a second run would confirm the environment, not the change; only a
/// paired comparison judges it.
pub fn needs_confirmation(first: &Comparison) -> bool {
    first.overall.verdict == Verdict::Regression
}

/// Whether one item (a metric, a threshold) failed in each of the two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pairing {
    first: bool,
    second: bool,
}

impl Pairing {
    fn held(self) -> bool {
        self.first && self.second
    }
}

/// Pairs the items of two runs by key: every key that failed in either run, in the first
/// run's order, then the keys only the second run has.
fn pair<K: PartialEq + Copy>(first: &[(K, bool)], second: &[(K, bool)]) -> Vec<(K, Pairing)> {
    let failed_in = |list: &[(K, bool)], key: K| list.iter().any(|(k, f)| *k == key && *f);
    let mut out: Vec<(K, Pairing)> = Vec::new();
    for &(key, _) in first.iter().chain(second) {
        if out.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let p = Pairing {
            first: failed_in(first, key),
            second: failed_in(second, key),
        };
        if p.first || p.second {
            out.push((key, p));
        }
    }
    out
}

/// The rule: block when some item failed in both runs; otherwise inconclusive when an item
/// failed in one run only; `None` when nothing failed in either.
fn rule(pairs: impl IntoIterator<Item = Pairing>) -> Option<Verdict> {
    let mut any = false;
    for p in pairs {
        if p.held() {
            return Some(Verdict::Regression);
        }
        any |= p.first || p.second;
    }
    any.then_some(Verdict::Inconclusive)
}

fn metric_keys(metrics: &[MetricVerdict]) -> Vec<((&str, &str), bool)> {
    metrics
        .iter()
        .map(|m| {
            (
                (m.endpoint.as_str(), m.label.as_str()),
                m.status == MetricStatus::Regression,
            )
        })
        .collect()
}

fn threshold_keys(thresholds: &[ThresholdCheck]) -> Vec<((&str, &str), bool)> {
    thresholds
        .iter()
        .map(|t| {
            (
                (t.scope.as_str(), t.label.as_str()),
                t.status != ThresholdStatus::Ok,
            )
        })
        .collect()
}

/// The verdict after a confirmation, for the simulator: two judgements of the same metrics
/// (no thresholds, no validity checks). A first judgement that is not a regression needed no
/// confirmation and keeps its verdict.
pub fn confirm_judgements(first: &Judgement, second: &Judgement) -> Verdict {
    if first.verdict != Verdict::Regression {
        return first.verdict;
    }
    let pairs = pair(&metric_keys(&first.metrics), &metric_keys(&second.metrics));
    rule(pairs.into_iter().map(|(_, p)| p)).unwrap_or(first.verdict)
}

/// The final comparison after a confirmation run: `first` and `second` judge two runs of the
/// same profile against the same baseline. A metric or threshold blocks only when it failed
/// in both; one that failed in one run only becomes inconclusive, with a reason naming both
/// runs' values. The body (metrics, thresholds, bands) stays the first run's; the
/// [`Confirmation`] section holds the second run's side. A confirmation run that cannot be
/// judged (untrusted, incompatible) leaves the first run's verdict standing. A `first` that
/// would not block is returned as it is.
pub fn confirm(first: &Comparison, second: &Comparison) -> Comparison {
    let mut combined = first.clone();
    if !needs_confirmation(first) {
        return combined;
    }
    let metric_pairs = pair(&metric_keys(&first.metrics), &metric_keys(&second.metrics));
    let threshold_pairs = pair(
        &threshold_keys(&first.thresholds),
        &threshold_keys(&second.thresholds),
    );
    let find_metric = |c: &'_ Comparison, (e, l): (&str, &str)| {
        c.metrics
            .iter()
            .find(|m| m.endpoint == e && m.label == l)
            .cloned()
    };
    let find_threshold = |c: &'_ Comparison, (s, l): (&str, &str)| {
        c.thresholds
            .iter()
            .find(|t| t.scope == s && t.label == l)
            .cloned()
    };
    let metrics: Vec<ConfirmedMetric> = metric_pairs
        .iter()
        .map(|&(key, p)| {
            confirmed_metric(
                find_metric(first, key).as_ref(),
                find_metric(second, key).as_ref(),
                p.held(),
            )
        })
        .collect();
    let thresholds: Vec<ConfirmedThreshold> = threshold_pairs
        .iter()
        .map(|&(key, p)| {
            confirmed_threshold(
                find_threshold(first, key).as_ref(),
                find_threshold(second, key).as_ref(),
                p.held(),
            )
        })
        .collect();
    let judged = !matches!(
        second.overall.verdict,
        Verdict::Untrusted | Verdict::Incompatible
    );
    let verdict = rule(metric_pairs.iter().chain(&threshold_pairs).map(|(_, p)| *p))
        .unwrap_or(first.overall.verdict);
    let outcome = match (judged, verdict) {
        (false, _) => ConfirmationOutcome::NotJudged,
        (true, Verdict::Regression) => ConfirmationOutcome::Held,
        (true, _) => ConfirmationOutcome::DidNotHold,
    };
    if outcome == ConfirmationOutcome::NotJudged {
        let why = if second.overall.reasons.is_empty() {
            second.overall.summary.clone()
        } else {
            format!(
                "{}: {}",
                second.overall.summary,
                second.overall.reasons.join("; ")
            )
        };
        combined.overall.reasons.push(format!(
            "the confirmation run could not be judged ({why}): the first run's verdict stands"
        ));
    } else {
        // Metrics that failed in one run only do not block: inconclusive, saying why.
        for m in &mut combined.metrics {
            if let Some(c) = metrics
                .iter()
                .find(|c| !c.held && c.endpoint == m.endpoint && c.label == m.label)
            {
                m.status = MetricStatus::Inconclusive;
                m.reason = disputed_reason(c);
            }
        }
        combined.overall = confirmed_overall(outcome, &metrics, &thresholds, first);
    }
    combined.confirmation = Some(Confirmation {
        outcome,
        first_verdict: first.overall.verdict,
        second: second.overall.clone(),
        metrics,
        thresholds,
    });
    combined
}

fn confirmed_metric(
    first: Option<&MetricVerdict>,
    second: Option<&MetricVerdict>,
    held: bool,
) -> ConfirmedMetric {
    let some = first
        .or(second)
        .expect("a paired metric is in at least one run");
    let run = |m: &MetricVerdict| RunMetric {
        status: m.status,
        current: m.current,
        ratio: m.ratio,
    };
    ConfirmedMetric {
        endpoint: some.endpoint.clone(),
        label: some.label.clone(),
        metric: some.metric,
        unit: some.unit,
        first: first.map(run),
        second: second.map(run),
        held,
    }
}

fn confirmed_threshold(
    first: Option<&ThresholdCheck>,
    second: Option<&ThresholdCheck>,
    held: bool,
) -> ConfirmedThreshold {
    let some = first
        .or(second)
        .expect("a paired threshold is in at least one run");
    let run = |t: &ThresholdCheck| RunThreshold {
        status: t.status,
        actual: t.actual,
    };
    ConfirmedThreshold {
        scope: some.scope.clone(),
        label: some.label.clone(),
        unit: some.unit,
        limit_value: some.limit_value,
        first: first.map(run),
        second: second.map(run),
        held,
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

fn status_text(run: Option<&RunMetric>) -> String {
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

/// Why a metric that regressed in one run only does not block.
fn disputed_reason(c: &ConfirmedMetric) -> String {
    let first = metric_value(c.metric, c.unit, c.first.as_ref());
    let second = metric_value(c.metric, c.unit, c.second.as_ref());
    let first_regressed = c
        .first
        .is_some_and(|r| r.status == MetricStatus::Regression);
    if first_regressed {
        format!(
            "regressed in the first run ({first}) but not on re-measurement ({second}, {}): the regression did not hold, not blocking",
            status_text(c.second.as_ref())
        )
    } else {
        format!(
            "regressed only on re-measurement ({second}), not in the first run ({first}, {}): not confirmed, not blocking",
            status_text(c.first.as_ref())
        )
    }
}

fn confirmed_overall(
    outcome: ConfirmationOutcome,
    metrics: &[ConfirmedMetric],
    thresholds: &[ConfirmedThreshold],
    first: &Comparison,
) -> Overall {
    let held: Vec<String> = metrics
        .iter()
        .filter(|m| m.held)
        .map(ConfirmedMetric::both_runs)
        .chain(
            thresholds
                .iter()
                .filter(|t| t.held)
                .map(ConfirmedThreshold::both_runs),
        )
        .collect();
    let first_only = |held: bool, first_failed: bool| !held && first_failed;
    let not_held: Vec<String> = metrics
        .iter()
        .filter(|m| {
            first_only(
                m.held,
                m.first
                    .is_some_and(|r| r.status == MetricStatus::Regression),
            )
        })
        .map(ConfirmedMetric::both_runs)
        .chain(
            thresholds
                .iter()
                .filter(|t| {
                    first_only(
                        t.held,
                        t.first.is_some_and(|r| r.status != ThresholdStatus::Ok),
                    )
                })
                .map(ConfirmedThreshold::both_runs),
        )
        .collect();
    let second_only: Vec<String> = metrics
        .iter()
        .filter(|m| !m.held && m.first.is_none_or(|r| r.status != MetricStatus::Regression))
        .map(ConfirmedMetric::both_runs)
        .chain(
            thresholds
                .iter()
                .filter(|t| !t.held && t.first.is_none_or(|r| r.status == ThresholdStatus::Ok))
                .map(ConfirmedThreshold::both_runs),
        )
        .collect();
    let mut reasons = Vec::new();
    let summary = if outcome == ConfirmationOutcome::Held {
        // The first run's own reasons for what held (the test behind each), then both runs.
        for m in metrics.iter().filter(|m| m.held) {
            let prefix = format!("{} {}: ", m.endpoint, m.label);
            if let Some(r) = first
                .overall
                .reasons
                .iter()
                .find(|r| r.starts_with(&prefix))
            {
                reasons.push(format!(
                    "{r}; re-measured: {}",
                    metric_value(m.metric, m.unit, m.second.as_ref())
                ));
            } else {
                reasons.push(format!("{}: regressed in both runs", m.both_runs()));
            }
        }
        for t in thresholds.iter().filter(|t| t.held) {
            reasons.push(format!("{}: breached in both runs", t.both_runs()));
        }
        format!("the regression held on re-measurement ({})", list(&held))
    } else {
        format!(
            "the regression did not hold on re-measurement ({}): not blocking",
            list(&not_held)
        )
    };
    for r in &not_held {
        reasons.push(format!("{r}: did not hold on re-measurement, not blocking"));
    }
    for r in &second_only {
        reasons.push(format!(
            "{r}: failed only on re-measurement, not confirmed, not blocking"
        ));
    }
    Overall {
        verdict: if outcome == ConfirmationOutcome::Held {
            Verdict::Regression
        } else {
            Verdict::Inconclusive
        },
        summary,
        reasons,
    }
}

/// The first item, and how many more (`a; and 2 more`).
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [one, rest @ ..] => format!("{one}; and {} more", rest.len()),
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

#[cfg(test)]
mod tests;
