//! Confirmation before blocking: when a run would block, the gate measures again and blocks
//! only on what failed in both runs (and when a run is inconclusive because every endpoint
//! moved together, it measures again to tell a passing swing from one that lasts). Pure: [`confirm`] combines two comparisons of one profile
//! against one baseline; [`confirm_judgements`] applies the same rule to two [`Judgement`]s
//! (the simulator calls it). A metric or threshold that failed in one run only does not block,
//! and is never a silent pass either: it becomes inconclusive, and the report says which run
//! saw what. The rule lives once, in [`rule`], over lists of (key, failed) pairs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::gate::Judgement;
use super::metric::{self, Against};
use super::verdict::{
    Comparison, Metric, MetricStatus, MetricVerdict, Overall, ServiceShift, ShiftStatus,
    ThresholdCheck, ThresholdStatus, Unit, Verdict,
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

/// True when a comparison deserves a second measurement: it would block (a statistical
/// regression or a breached threshold), or it is inconclusive because every endpoint moved
/// together beyond the baseline runs' own swings ([`ShiftStatus::Uniform`]), which one run
/// cannot tell from a change that slows everything. On the real service of bench/gate-real
/// such a swing mostly passed within minutes: of four first runs whose shared factor was +16%
/// to +26%, three had +2% to +7% in the run measured right after. A swing that lasts the
/// whole job (a slow node, a cold deployment) shows again and stays inconclusive, never a
/// block ([`confirm`]); only a paired comparison judges it.
pub fn needs_confirmation(first: &Comparison) -> bool {
    verdict_needs_confirmation(first.overall.verdict, &first.service_shifts)
}

/// [`needs_confirmation`] for a [`Judgement`] (the simulator's).
pub fn judgement_needs_confirmation(first: &Judgement) -> bool {
    verdict_needs_confirmation(first.verdict, &first.shifts)
}

fn verdict_needs_confirmation(verdict: Verdict, shifts: &[ServiceShift]) -> bool {
    verdict == Verdict::Regression
        || (verdict == Verdict::Inconclusive && swings(shifts).next().is_some())
}

/// The uniform service-wide shifts that left metrics inconclusive: what a confirmation run
/// re-measures when nothing regressed.
fn swings(shifts: &[ServiceShift]) -> impl Iterator<Item = &ServiceShift> {
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
    if !judgement_needs_confirmation(first) {
        return first.verdict;
    }
    let pairs = pair(&metric_keys(&first.metrics), &metric_keys(&second.metrics));
    let ruled = rule(pairs.into_iter().map(|(_, p)| p));
    if first.verdict == Verdict::Regression {
        return ruled.unwrap_or(first.verdict);
    }
    let mut metrics = first.metrics.clone();
    settle_swings(&mut metrics, &first.shifts, &second.shifts);
    let (verdict, _) = metric::overall(&metrics, Against::Baseline);
    // A regression of the confirmation run alone is not confirmed: inconclusive.
    if ruled.is_some() {
        Verdict::Inconclusive
    } else {
        verdict
    }
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
    let swing = first.overall.verdict != Verdict::Regression;
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
    let mut outcome = match (judged, verdict) {
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
        // Followers of a shift that did not hold pass first: one that regressed in the
        // confirmation run is then made inconclusive like any other metric below.
        let (held, lines) = if swing {
            settle_swings(
                &mut combined.metrics,
                &first.service_shifts,
                &second.service_shifts,
            )
        } else {
            (false, Vec::new())
        };
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
        if swing {
            outcome = if held {
                ConfirmationOutcome::ShiftHeld
            } else {
                ConfirmationOutcome::ShiftDidNotHold
            };
            combined.overall = swing_overall(held, lines, &combined.metrics, &metrics, &thresholds);
        } else {
            combined.overall = confirmed_overall(outcome, &metrics, &thresholds, first);
        }
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

/// The reason suffix of what failed in the confirmation run alone.
const SECOND_ONLY: &str = "failed only on re-measurement, not confirmed, not blocking";

/// The overall verdict after re-measuring a service-wide shift: the first run's metrics with
/// the shift settled (`settle_swings`), inconclusive when something failed in the
/// confirmation run alone.
fn swing_overall(
    held: bool,
    lines: Vec<String>,
    body: &[MetricVerdict],
    metrics: &[ConfirmedMetric],
    thresholds: &[ConfirmedThreshold],
) -> Overall {
    let (mut verdict, reasons) = metric::overall(body, Against::Baseline);
    let second_only: Vec<String> = metrics
        .iter()
        .map(ConfirmedMetric::both_runs)
        .chain(thresholds.iter().map(ConfirmedThreshold::both_runs))
        .map(|r| format!("{r}: {SECOND_ONLY}"))
        .collect();
    if !second_only.is_empty() && verdict != Verdict::Regression {
        verdict = Verdict::Inconclusive;
    }
    Overall {
        verdict,
        summary: if held {
            "every endpoint moved together in both runs: no regression found, but the shift cannot be judged in one job".to_string()
        } else {
            format!(
                "the service-wide shift did not hold on re-measurement: {}",
                verdict.judged_summary()
            )
        },
        reasons: lines
            .into_iter()
            .chain(reasons)
            .chain(second_only)
            .collect(),
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
        reasons.push(format!("{r}: {SECOND_ONLY}"));
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
