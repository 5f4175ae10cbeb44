//! Confirmation of an inconclusive run: a service-wide shift that shows again or not, and
//! metrics the second run decides or leaves open.

use super::tests::{Inconclusive, Pass, Regression, comparison, judgement, metric, two};
use super::*;

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
fn a_service_wide_shift_that_shows_again_stays_inconclusive_and_never_blocks() {
    // A swing that lasts the whole job (a slow node, a cold deployment): measured again, every
    // endpoint is slower again. Two such runs are no evidence of a change: inconclusive.
    let first = swung(1.3);
    assert_eq!(first.overall.verdict, Verdict::Inconclusive);
    assert!(
        needs_confirmation(&first),
        "a uniform shift is measured again"
    );
    let both = confirm(&first, &swung(1.25));
    assert_eq!(
        both.overall.verdict,
        Verdict::Inconclusive,
        "{:#?}",
        both.overall
    );
    assert!(both.metrics.iter().all(|m| m.status == Inconclusive));
    let c = both.confirmation.as_ref().expect("a confirmation section");
    assert_eq!(c.outcome, ConfirmationOutcome::ShiftHeld);
    assert!(
        both.overall.reasons[0].contains("+30.0% at p50 in the first run")
            && both.overall.reasons[0].contains("the shift held"),
        "{:#?}",
        both.overall.reasons
    );
    assert_eq!(
        confirm_judgements(&judgement(&first), &judgement(&swung(1.25))),
        Verdict::Inconclusive
    );
}

#[test]
fn a_service_wide_shift_that_does_not_show_again_was_a_passing_swing() {
    let first = swung(1.3);
    let calm = two((Pass, 1.01), (Pass, 0.99));
    let both = confirm(&first, &calm);
    assert_eq!(both.overall.verdict, Verdict::Pass, "{:#?}", both.overall);
    assert!(both.metrics.iter().all(|m| m.status == Pass));
    assert!(
        both.metrics[0]
            .reason
            .contains("the shift did not hold on re-measurement"),
        "{}",
        both.metrics[0].reason
    );
    let c = both.confirmation.as_ref().expect("a confirmation section");
    assert_eq!(c.outcome, ConfirmationOutcome::ShiftDidNotHold);
    assert_eq!(c.first_verdict, Verdict::Inconclusive);
    assert!(
        both.overall
            .summary
            .starts_with("the service-wide shift did not hold"),
        "{}",
        both.overall.summary
    );
    assert_eq!(
        confirm_judgements(&judgement(&first), &judgement(&calm)),
        Verdict::Pass
    );
    // A metric inconclusive for its own reasons stays so: only what followed the shift passes.
    let mut first = swung(1.3);
    first.metrics.push(metric("d", Inconclusive, 1.06));
    let both = confirm(&first, &calm);
    assert_eq!(both.overall.verdict, Verdict::Inconclusive);
    assert_eq!(both.metrics[3].status, Inconclusive);
    assert!(both.metrics[..3].iter().all(|m| m.status == Pass));
}

#[test]
fn a_regression_seen_only_after_a_swing_is_not_confirmed() {
    let first = swung(1.3);
    let second = two((Regression, 1.4), (Pass, 1.0));
    let both = confirm(&first, &second);
    assert_eq!(both.overall.verdict, Verdict::Inconclusive);
    assert!(
        both.overall
            .reasons
            .iter()
            .any(|r| r.contains("failed only on re-measurement")),
        "{:#?}",
        both.overall.reasons
    );
    assert_eq!(
        confirm_judgements(&judgement(&first), &judgement(&second)),
        Verdict::Inconclusive
    );
    // An unjudged confirmation leaves the first run standing.
    let mut untrusted = two((Pass, 1.0), (Pass, 1.0));
    untrusted.overall.verdict = Verdict::Untrusted;
    let both = confirm(&first, &untrusted);
    assert_eq!(both.overall.verdict, Verdict::Inconclusive);
    assert_eq!(
        both.confirmation.map(|c| c.outcome),
        Some(ConfirmationOutcome::NotJudged)
    );
}

#[test]
fn what_the_second_run_decides_within_the_tolerance_passes() {
    // A first run that could not decide one metric (a stall, a spell of the environment):
    // measured again, the second run decides it within the tolerance.
    let first = two((Inconclusive, 1.06), (Pass, 1.0));
    assert!(
        needs_confirmation(&first),
        "an undecided run is measured again"
    );
    let calm = two((Pass, 1.01), (Pass, 0.99));
    let both = confirm(&first, &calm);
    assert_eq!(both.overall.verdict, Verdict::Pass, "{:#?}", both.overall);
    assert_eq!(both.metrics[0].status, Pass);
    assert_eq!(
        both.metrics[0].reason,
        "undecided in the first run (+6.0%); measured again, +1.0%: within the tolerance, so it passes"
    );
    let c = both.confirmation.as_ref().expect("a confirmation section");
    assert_eq!(c.outcome, ConfirmationOutcome::Settled);
    assert_eq!(c.first_verdict, Verdict::Inconclusive);
    assert!(
        both.overall
            .summary
            .starts_with("measured again, the second run decided"),
        "{}",
        both.overall.summary
    );
    assert_eq!(
        confirm_judgements(&judgement(&first), &judgement(&calm)),
        Verdict::Pass
    );
    // An improvement on re-measurement is within the tolerance too, and passes (not better).
    let faster = two((MetricStatus::Improvement, 0.8), (Pass, 1.0));
    let both = confirm(&first, &faster);
    assert_eq!(both.overall.verdict, Verdict::Pass);
    assert_eq!(both.metrics[0].status, Pass);
}

#[test]
fn what_the_second_run_leaves_open_or_fails_alone_stays_inconclusive() {
    let first = two((Inconclusive, 1.06), (Pass, 1.0));
    let again = two((Inconclusive, 1.07), (Pass, 1.0));
    let both = confirm(&first, &again);
    assert_eq!(both.overall.verdict, Verdict::Inconclusive);
    assert_eq!(both.metrics[0].status, Inconclusive);
    assert_eq!(
        both.confirmation.as_ref().map(|c| c.outcome),
        Some(ConfirmationOutcome::NotSettled)
    );
    assert!(
        both.overall
            .summary
            .starts_with("measured again, some metrics are still undecided"),
        "{}",
        both.overall.summary
    );
    // A regression of the second run alone is not confirmed: inconclusive, never a block.
    let worse = two((Regression, 1.3), (Pass, 1.0));
    let both = confirm(&first, &worse);
    assert_eq!(both.overall.verdict, Verdict::Inconclusive);
    assert!(
        both.metrics[0]
            .reason
            .contains("regressed only on re-measurement"),
        "{}",
        both.metrics[0].reason
    );
    assert_eq!(
        confirm_judgements(&judgement(&first), &judgement(&worse)),
        Verdict::Inconclusive
    );
}

#[test]
fn a_run_undecided_only_where_no_run_can_decide_is_not_measured_again() {
    // A new endpoint has no baseline value: a second run would be as undecided.
    let mut new = metric("new endpoint", Inconclusive, 1.0);
    new.baseline = None;
    new.ratio = None;
    let first = comparison(vec![metric("old", Pass, 1.0), new], Vec::new());
    assert_eq!(first.overall.verdict, Verdict::Inconclusive);
    assert!(!needs_confirmation(&first));
    assert_eq!(confirm(&first, &first), first);
}
