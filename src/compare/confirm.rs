//! Confirmation before blocking: when a run would block, the gate measures again and blocks
//! only on what failed in both runs. When a run is inconclusive, it measures again too: what
//! the second run decides within its tolerance passes, and a service-wide shift that does not
//! show again was a passing swing. Pure: [`confirm`] combines two comparisons of one profile
//! against one baseline; [`confirm_judgements`] applies the same rule to two [`Judgement`]s
//! (the simulator calls it). A metric or threshold that failed in one run only does not block,
//! and is never a silent pass either: it becomes inconclusive, and the report says which run
//! saw what. The rule lives once, in [`rule`], over lists of (key, failed) pairs.

mod record;
mod settle;

pub use record::{
    Confirmation, ConfirmationOutcome, ConfirmedMetric, ConfirmedThreshold, RunMetric,
    RunThreshold, metric_value, threshold_value,
};

use self::record::status_text;
use self::settle::{open, settle, swings};
use super::gate::Judgement;
use super::metric::{self, Against};
use super::verdict::{
    Comparison, MetricStatus, MetricVerdict, Overall, ThresholdCheck, ThresholdStatus, Verdict,
};

/// True when a comparison deserves a second measurement: it would block (a statistical
/// regression or a breached threshold), or it is inconclusive with a metric another run can
/// decide (`settle::open`). On a real service most undecided runs are a spell of the
/// environment: a run that stalled, or every endpoint moving together beyond the baseline
/// runs' own swings ([`ShiftStatus::Uniform`](super::verdict::ShiftStatus::Uniform)), which one
/// run cannot tell from a change that slows everything.
/// On the service of bench/gate-real such a swing mostly passed within minutes: of four first
/// runs whose shared factor was +16% to +26%, three had +2% to +7% in the run measured right
/// after. What the second run leaves open, or a swing that lasts the whole job (a slow node, a
/// cold deployment), stays inconclusive, never a block ([`confirm`]).
pub fn needs_confirmation(first: &Comparison) -> bool {
    verdict_needs_confirmation(first.overall.verdict, &first.metrics)
}

/// [`needs_confirmation`] for a [`Judgement`] (the simulator's).
pub fn judgement_needs_confirmation(first: &Judgement) -> bool {
    verdict_needs_confirmation(first.verdict, &first.metrics)
}

fn verdict_needs_confirmation(verdict: Verdict, metrics: &[MetricVerdict]) -> bool {
    verdict == Verdict::Regression || (verdict == Verdict::Inconclusive && metrics.iter().any(open))
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
/// (no thresholds, no validity checks). A first judgement that needed no confirmation keeps
/// its verdict.
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
    settle(&mut metrics, &first.shifts, &second.shifts, &second.metrics);
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
    // A first run that was inconclusive (not blocking) is re-measured to decide what it left
    // open; one that would block, to confirm the block.
    let reopened = first.overall.verdict != Verdict::Regression;
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
        let (held, lines) = if reopened {
            settle(
                &mut combined.metrics,
                &first.service_shifts,
                &second.service_shifts,
                &second.metrics,
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
        if reopened {
            let shifted = swings(&first.service_shifts).next().is_some();
            combined.overall = reopened_overall(
                shifted.then_some(held),
                lines,
                &combined.metrics,
                &metrics,
                &thresholds,
            );
            outcome = match (shifted, held) {
                (true, true) => ConfirmationOutcome::ShiftHeld,
                (true, false) => ConfirmationOutcome::ShiftDidNotHold,
                (false, _) if combined.overall.verdict == Verdict::Inconclusive => {
                    ConfirmationOutcome::NotSettled
                }
                (false, _) => ConfirmationOutcome::Settled,
            };
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
    ConfirmedMetric {
        endpoint: some.endpoint.clone(),
        label: some.label.clone(),
        metric: some.metric,
        unit: some.unit,
        first: first.map(RunMetric::of),
        second: second.map(RunMetric::of),
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

/// The overall verdict after re-measuring an inconclusive run: the first run's metrics with
/// what the second run decided settled (`settle::settle`), inconclusive when
/// something is still open or failed in the confirmation run alone. `shift` says whether a
/// service-wide shift of the first run held, when there was one.
fn reopened_overall(
    shift: Option<bool>,
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
        summary: match shift {
            Some(true) => "every endpoint moved together in both runs: no regression found, but the shift cannot be judged in one job".to_string(),
            Some(false) => format!(
                "the service-wide shift did not hold on re-measurement: {}",
                verdict.judged_summary()
            ),
            None if verdict == Verdict::Inconclusive => format!(
                "measured again, some metrics are still undecided: {}",
                verdict.judged_summary()
            ),
            None => format!(
                "measured again, the second run decided what the first left open: {}",
                verdict.judged_summary()
            ),
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

#[cfg(test)]
mod reopened_tests;
#[cfg(test)]
mod tests;
