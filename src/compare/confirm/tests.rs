use proptest::prelude::*;

use super::*;
use crate::compare::verdict::{BaselineUse, GateSettings, LimitKind, Metric, Unit};
use crate::format::change;
use crate::results::ProfileRef;

/// A metric of `endpoint` with a status and a ratio (latency p50).
pub(super) fn metric(endpoint: &str, status: MetricStatus, ratio: f64) -> MetricVerdict {
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

pub(super) fn threshold(status: ThresholdStatus, actual_us: f64) -> ThresholdCheck {
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
pub(super) fn comparison(
    metrics: Vec<MetricVerdict>,
    thresholds: Vec<ThresholdCheck>,
) -> Comparison {
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

pub(super) use MetricStatus::{Inconclusive, Pass, Regression, ReportOnly};

pub(super) fn two(a: (MetricStatus, f64), b: (MetricStatus, f64)) -> Comparison {
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

pub(super) fn judgement(c: &Comparison) -> Judgement {
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
        } else if needs_confirmation(&x) {
            // Undecided twice: still undecided, never a block.
            prop_assert_eq!(x.overall.verdict, Verdict::Inconclusive);
            prop_assert_eq!(c.overall.verdict, Verdict::Inconclusive);
            prop_assert_eq!(
                c.confirmation.as_ref().map(|c| c.outcome),
                Some(ConfirmationOutcome::NotSettled)
            );
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
