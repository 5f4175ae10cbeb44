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
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::compare::verdict::{BaselineUse, GateSettings, LimitKind};
    use crate::results::ProfileRef;

    /// A metric of `endpoint` with a status and a ratio (latency p50).
    fn metric(endpoint: &str, status: MetricStatus, ratio: f64) -> MetricVerdict {
        MetricVerdict {
            endpoint: endpoint.into(),
            metric: Metric::Latency { quantile: 0.5 },
            label: "p50".into(),
            status,
            unit: Unit::Us,
            baseline: Some(20_000.0),
            current: Some(20_000.0 * ratio),
            ratio: Some(ratio),
            ci90: None,
            p_value: None,
            p_adjusted: None,
            q_value: None,
            tolerance: 0.08,
            mdc: None,
            reason: format!("{} from the test", change(ratio)),
            detail: None,
        }
    }

    fn threshold(status: ThresholdStatus, actual_us: f64) -> ThresholdCheck {
        ThresholdCheck {
            scope: "all".into(),
            limit: LimitKind::Latency { quantile: 0.99 },
            label: "p99".into(),
            unit: Unit::Us,
            limit_value: 250_000.0,
            actual: Some(actual_us),
            status,
        }
    }

    /// A comparison whose overall verdict follows its metrics and thresholds the way the
    /// gate's does (regression if any regressed or any threshold failed).
    fn comparison(metrics: Vec<MetricVerdict>, thresholds: Vec<ThresholdCheck>) -> Comparison {
        let mut reasons: Vec<String> = metrics
            .iter()
            .filter(|m| m.status == MetricStatus::Regression)
            .map(|m| format!("{} {}: {}", m.endpoint, m.label, m.reason))
            .collect();
        reasons.extend(
            thresholds
                .iter()
                .filter(|t| t.status != ThresholdStatus::Ok)
                .map(|t| format!("threshold {} {}", t.scope, t.label)),
        );
        let verdict = if reasons.is_empty() {
            if metrics
                .iter()
                .any(|m| m.status == MetricStatus::Inconclusive)
            {
                Verdict::Inconclusive
            } else {
                Verdict::Pass
            }
        } else {
            Verdict::Regression
        };
        Comparison {
            format_version: 1,
            overall: Overall {
                verdict,
                summary: format!("{} from the test", verdict.as_str()),
                reasons,
            },
            profile: ProfileRef {
                name: "checkout".into(),
                hash: "sha256:00".into(),
                path: None,
            },
            runner_class: "test".into(),
            baseline: BaselineUse::default(),
            settings: GateSettings {
                alpha: 0.01,
                metrics: Vec::new(),
                error_rate_tolerance: 0.001,
                block_ms: 10_000,
                family_size: metrics.len() as u32,
                prior_weight: 20.0,
            },
            validity: Vec::new(),
            metrics,
            thresholds,
            bands: Vec::new(),
            notable: Vec::new(),
            notes: Vec::new(),
            service_shifts: Vec::new(),
            confirmation: None,
            paired: None,
            levels: None,
        }
    }

    use MetricStatus::{Inconclusive, Pass, Regression, ReportOnly};

    /// Three endpoints' p50 moved by `ratio` together: inconclusive on one run, with the
    /// shift naming them as following it (as `gate` reports a uniform service-wide shift).
    fn swung(ratio: f64) -> Comparison {
        let names = ["a", "b", "c"];
        let mut c = comparison(
            names
                .iter()
                .map(|n| metric(n, Inconclusive, ratio))
                .collect(),
            Vec::new(),
        );
        c.service_shifts = vec![crate::compare::verdict::ServiceShift {
            quantile: 0.5,
            label: "p50".into(),
            ratio,
            range: crate::compare::verdict::Range {
                low: ratio - 0.02,
                high: ratio + 0.02,
            },
            endpoints: 3,
            status: crate::compare::verdict::ShiftStatus::Uniform,
            following: names
                .iter()
                .map(|n| crate::compare::verdict::MetricRef {
                    endpoint: (*n).into(),
                    label: "p50".into(),
                })
                .collect(),
            baseline_range: None,
        }];
        c
    }

    #[test]
    fn a_service_wide_shift_is_not_confirmed_into_a_block() {
        // On a real service a swing often lasts the whole job: two runs that both show every
        // endpoint slower are not evidence of a change, so no confirmation run is made and
        // the shift stays inconclusive.
        let first = swung(1.3);
        assert_eq!(first.overall.verdict, Verdict::Inconclusive);
        assert!(!needs_confirmation(&first));
        let both = confirm(&first, &swung(1.25));
        assert_eq!(
            both.overall.verdict,
            Verdict::Inconclusive,
            "{:#?}",
            both.overall
        );
        assert!(both.metrics.iter().all(|m| m.status == Inconclusive));
        assert!(both.confirmation.is_none());
        assert_eq!(
            confirm_judgements(&judgement(&first), &judgement(&swung(1.25))),
            Verdict::Inconclusive
        );
    }

    fn two(a: (MetricStatus, f64), b: (MetricStatus, f64)) -> Comparison {
        comparison(
            vec![
                metric("get customer", a.0, a.1),
                metric("add json", b.0, b.1),
            ],
            Vec::new(),
        )
    }

    #[test]
    fn the_rule_over_pairs() {
        let p = |first, second| Pairing { first, second };
        let cases: [(&[Pairing], Option<Verdict>); 6] = [
            (&[], None),
            (&[p(true, true)], Some(Verdict::Regression)),
            (&[p(true, false)], Some(Verdict::Inconclusive)),
            (&[p(false, true)], Some(Verdict::Inconclusive)),
            (
                &[p(true, false), p(false, true)],
                Some(Verdict::Inconclusive),
            ),
            (&[p(true, false), p(true, true)], Some(Verdict::Regression)),
        ];
        for (pairs, expected) in cases {
            assert_eq!(rule(pairs.iter().copied()), expected, "{pairs:?}");
        }
    }

    #[test]
    fn metrics_block_only_when_they_regress_in_both_runs() {
        // (first run, second run) → final verdict, outcome, statuses of the two metrics.
        let cases = [
            (
                "held",
                two((Regression, 1.3), (Pass, 1.0)),
                two((Regression, 1.28), (Pass, 1.01)),
                Verdict::Regression,
                ConfirmationOutcome::Held,
                [Regression, Pass],
            ),
            (
                "did not hold",
                two((Regression, 1.23), (Pass, 1.0)),
                two((Pass, 1.01), (Pass, 1.0)),
                Verdict::Inconclusive,
                ConfirmationOutcome::DidNotHold,
                [Inconclusive, Pass],
            ),
            (
                "moved to another metric",
                two((Regression, 1.23), (Pass, 1.0)),
                two((Pass, 1.0), (Regression, 1.2)),
                Verdict::Inconclusive,
                ConfirmationOutcome::DidNotHold,
                [Inconclusive, Inconclusive],
            ),
            (
                "one of two held",
                two((Regression, 1.3), (Regression, 1.2)),
                two((Regression, 1.3), (Inconclusive, 1.05)),
                Verdict::Regression,
                ConfirmationOutcome::Held,
                [Regression, Inconclusive],
            ),
            (
                "second run could not gate it",
                two((Regression, 1.3), (Pass, 1.0)),
                two((ReportOnly, 1.3), (Pass, 1.0)),
                Verdict::Inconclusive,
                ConfirmationOutcome::DidNotHold,
                [Inconclusive, Pass],
            ),
        ];
        for (name, first, second, verdict, outcome, statuses) in cases {
            let c = confirm(&first, &second);
            assert_eq!(c.overall.verdict, verdict, "{name}: {:#?}", c.overall);
            let conf = c.confirmation.as_ref().expect("a confirmation section");
            assert_eq!(conf.outcome, outcome, "{name}");
            assert_eq!(conf.first_verdict, Verdict::Regression, "{name}");
            assert_eq!(conf.second, second.overall, "{name}");
            let got: Vec<MetricStatus> = c.metrics.iter().map(|m| m.status).collect();
            assert_eq!(got, statuses, "{name}");
            // The body keeps the first run's numbers.
            for (a, b) in c.metrics.iter().zip(&first.metrics) {
                assert_eq!(a.ratio, b.ratio, "{name}");
            }
            // Only what held is a regression of the final comparison.
            assert_eq!(
                c.regressions().count(),
                conf.metrics.iter().filter(|m| m.held).count(),
                "{name}"
            );
        }
    }

    #[test]
    fn the_headline_names_both_runs() {
        let c = confirm(
            &two((Regression, 1.23), (Pass, 1.0)),
            &two((Pass, 1.01), (Pass, 1.0)),
        );
        assert_eq!(
            c.overall.summary,
            "the regression did not hold on re-measurement (get customer p50: first run +23.0%, second +1.0%): not blocking"
        );
        assert_eq!(
            c.metrics[0].reason,
            "regressed in the first run (+23.0%) but not on re-measurement (+1.0%, pass): the regression did not hold, not blocking"
        );
        let c = confirm(
            &two((Regression, 1.3), (Pass, 1.0)),
            &two((Regression, 1.28), (Inconclusive, 1.05)),
        );
        assert_eq!(
            c.overall.summary,
            "the regression held on re-measurement (get customer p50: first run +30.0%, second +28.0%)"
        );
        assert_eq!(
            c.overall.reasons,
            ["get customer p50: +30.0% from the test; re-measured: +28.0%"]
        );
        let c = confirm(
            &two((Regression, 1.23), (Pass, 1.0)),
            &two((Pass, 1.0), (Regression, 1.2)),
        );
        assert_eq!(
            c.overall.reasons,
            [
                "get customer p50: first run +23.0%, second +0.0%: did not hold on re-measurement, not blocking",
                "add json p50: first run +0.0%, second +20.0%: failed only on re-measurement, not confirmed, not blocking"
            ]
        );
        assert_eq!(
            c.metrics[1].reason,
            "regressed only on re-measurement (+20.0%), not in the first run (+0.0%, pass): not confirmed, not blocking"
        );
    }

    #[test]
    fn thresholds_block_only_when_breached_in_both_runs() {
        let ok = || vec![metric("get customer", Pass, 1.0)];
        let first = comparison(ok(), vec![threshold(ThresholdStatus::Breached, 300_000.0)]);
        let held = confirm(
            &first,
            &comparison(ok(), vec![threshold(ThresholdStatus::Breached, 280_000.0)]),
        );
        assert_eq!(held.overall.verdict, Verdict::Regression);
        assert_eq!(held.blocking_thresholds().count(), 1);
        assert_eq!(
            held.overall.reasons,
            ["threshold all p99 ≤ 250ms: first run 300ms, second 280ms: breached in both runs"]
        );
        let not = confirm(
            &first,
            &comparison(ok(), vec![threshold(ThresholdStatus::Ok, 120_000.0)]),
        );
        assert_eq!(not.overall.verdict, Verdict::Inconclusive);
        assert_eq!(
            not.overall.summary,
            "the regression did not hold on re-measurement (threshold all p99 ≤ 250ms: first run 300ms, second 120ms): not blocking"
        );
        // The first run's check is a fact and stays; it no longer blocks.
        assert_eq!(not.failed_thresholds().count(), 1);
        assert_eq!(not.blocking_thresholds().count(), 0);
        // Nothing measured counts as failed, like a breach.
        let nodata = confirm(
            &first,
            &comparison(ok(), vec![threshold(ThresholdStatus::NoData, 0.0)]),
        );
        assert_eq!(nodata.overall.verdict, Verdict::Regression);
    }

    #[test]
    fn an_unjudged_confirmation_leaves_the_first_verdict_standing() {
        let first = two((Regression, 1.3), (Pass, 1.0));
        let mut second = comparison(Vec::new(), Vec::new());
        second.overall = Overall {
            verdict: Verdict::Untrusted,
            summary: "the run cannot be trusted: no verdict on the service".into(),
            reasons: vec!["the generator dropped 250 arrivals".into()],
        };
        let c = confirm(&first, &second);
        assert_eq!(c.overall.verdict, Verdict::Regression);
        assert_eq!(c.metrics[0].status, Regression);
        assert_eq!(c.overall.summary, first.overall.summary);
        assert_eq!(
            c.overall.reasons.last().map(String::as_str),
            Some(
                "the confirmation run could not be judged (the run cannot be trusted: no verdict on the service: the generator dropped 250 arrivals): the first run's verdict stands"
            )
        );
        let conf = c.confirmation.expect("a confirmation section");
        assert_eq!(conf.outcome, ConfirmationOutcome::NotJudged);
        assert_eq!(conf.metrics[0].second, None);
    }

    #[test]
    fn a_comparison_that_would_not_block_is_returned_unchanged() {
        let pass = two((Pass, 1.0), (Pass, 1.0));
        assert!(!needs_confirmation(&pass));
        assert_eq!(confirm(&pass, &two((Regression, 1.5), (Pass, 1.0))), pass);
        assert!(needs_confirmation(&two((Regression, 1.5), (Pass, 1.0))));
    }

    #[test]
    fn metrics_only_in_the_second_run_are_named() {
        let first = two((Regression, 1.3), (Pass, 1.0));
        let mut second = two((Pass, 1.0), (Pass, 1.0));
        let mut errors = metric("add json", Regression, 1.0);
        errors.metric = Metric::ErrorRate {
            class: crate::metrics::ErrorClass::Http5xx,
        };
        errors.label = "errors http_5xx".into();
        errors.unit = Unit::Ratio;
        errors.current = Some(0.02);
        errors.ratio = None;
        second.metrics.push(errors);
        let c = confirm(&first, &second);
        assert_eq!(c.overall.verdict, Verdict::Inconclusive);
        assert_eq!(c.metrics.len(), 2, "the body stays the first run's");
        assert!(
            c.overall
                .reasons
                .contains(&"add json errors http_5xx: first run not measured, second 2.00%: failed only on re-measurement, not confirmed, not blocking".to_string()),
            "{:#?}",
            c.overall.reasons
        );
    }

    #[test]
    fn the_confirmation_section_round_trips_and_old_files_have_none() {
        let c = confirm(
            &two((Regression, 1.23), (Pass, 1.0)),
            &two((Pass, 1.01), (Pass, 1.0)),
        );
        let back: Comparison = serde_json::from_str(&c.to_json()).expect("reads back");
        assert_eq!(back, c);
        let plain = two((Pass, 1.0), (Pass, 1.0)).to_json();
        assert!(!plain.contains("confirmation"), "{plain}");
        let back: Comparison = serde_json::from_str(&plain).expect("reads back");
        assert_eq!(back.confirmation, None);
    }

    fn status() -> impl Strategy<Value = MetricStatus> {
        prop_oneof![
            Just(Pass),
            Just(Regression),
            Just(Inconclusive),
            Just(ReportOnly),
            Just(MetricStatus::Improvement)
        ]
    }

    fn judgement(c: &Comparison) -> Judgement {
        Judgement {
            metrics: c.metrics.clone(),
            family_size: c.metrics.len() as u32,
            notable: Vec::new(),
            verdict: c.overall.verdict,
            reasons: c.overall.reasons.clone(),
            shifts: c.service_shifts.clone(),
        }
    }

    proptest! {
        /// Confirming a comparison with itself keeps a blocking verdict, and the per-metric
        /// statuses; the judgement-level rule agrees with the comparison-level one.
        #[test]
        fn a_run_confirmed_by_itself_keeps_its_verdict(
            statuses in proptest::collection::vec((status(), 0.7f64..1.6), 1..6),
            breached in proptest::bool::ANY,
        ) {
            let metrics: Vec<MetricVerdict> = statuses
                .iter()
                .enumerate()
                .map(|(i, &(s, r))| metric(&format!("endpoint {i}"), s, r))
                .collect();
            let thresholds = vec![threshold(
                if breached { ThresholdStatus::Breached } else { ThresholdStatus::Ok },
                260_000.0,
            )];
            let x = comparison(metrics, thresholds);
            let c = confirm(&x, &x);
            if x.overall.verdict == Verdict::Regression {
                prop_assert_eq!(c.overall.verdict, Verdict::Regression);
                let conf = c.confirmation.as_ref().expect("confirmed");
                prop_assert_eq!(conf.outcome, ConfirmationOutcome::Held);
                prop_assert!(conf.metrics.iter().all(|m| m.held));
                prop_assert_eq!(c.blocking_thresholds().count(), x.failed_thresholds().count());
            } else {
                prop_assert_eq!(&c, &x);
            }
            let statuses_after: Vec<MetricStatus> = c.metrics.iter().map(|m| m.status).collect();
            let statuses_before: Vec<MetricStatus> = x.metrics.iter().map(|m| m.status).collect();
            prop_assert_eq!(statuses_after, statuses_before);
            if !breached {
                let j = judgement(&x);
                prop_assert_eq!(confirm_judgements(&j, &j), x.overall.verdict);
            }
        }

        /// The two levels agree on any pair of runs without thresholds; the final verdict
        /// blocks only when some metric regressed in both.
        #[test]
        fn judgements_and_comparisons_agree(
            first in proptest::collection::vec(status(), 1..6),
            second in proptest::collection::vec(status(), 1..6),
        ) {
            let build = |list: &[MetricStatus]| comparison(
                list.iter().enumerate().map(|(i, &s)| metric(&format!("endpoint {i}"), s, 1.2)).collect(),
                Vec::new(),
            );
            let (a, b) = (build(&first), build(&second));
            let c = confirm(&a, &b);
            prop_assert_eq!(c.overall.verdict, confirm_judgements(&judgement(&a), &judgement(&b)));
            let both = first.iter().zip(&second).any(|(x, y)| *x == Regression && *y == Regression);
            if a.overall.verdict == Verdict::Regression {
                prop_assert_eq!(c.overall.verdict == Verdict::Regression, both);
            }
        }
    }
}
