//! The whole gate on results files: validity, compatibility, verdicts, thresholds, and the
//! verdict text (snapshots).

use crate::support::synthetic as common;

use std::time::Duration;

use loadgate::baseline::Baseline;
use loadgate::compare::{
    CheckKind, CheckStatus, Comparison, GateInput, MetricStatus, ThresholdStatus, Verdict, evaluate,
};
use loadgate::error::ExitCode;
use loadgate::profile::{GateConfig, Limit, Quantile, Threshold, ThresholdScope};
use loadgate::results::RunResult;

fn baseline(n: u64) -> Baseline {
    common::baseline_of(&common::runs(n))
}

fn thresholds() -> Vec<Threshold> {
    vec![Threshold {
        scope: ThresholdScope::All,
        limits: vec![
            Limit::Latency {
                quantile: Quantile(0.99),
                max: Duration::from_millis(200),
            },
            Limit::ErrorRate { max_ratio: 0.01 },
        ],
    }]
}

fn gate(current: &RunResult, baseline: Option<&Baseline>) -> Comparison {
    evaluate(GateInput {
        current,
        baseline,
        gate: &GateConfig::default(),
        thresholds: &thresholds(),
    })
    .expect("histograms decode")
}

fn slow(seed: u64, factor: f64) -> RunResult {
    let mut spec = common::Spec::new(seed);
    spec.slow = vec![("get customer", factor)];
    common::run(&spec)
}

fn text(c: &Comparison) -> String {
    loadgate::report::verdict::comparison(c)
}

#[test]
fn an_a_a_run_passes() {
    let c = gate(&common::run(&common::Spec::new(100)), Some(&baseline(5)));
    assert_eq!(c.overall.verdict, Verdict::Pass, "{}", text(&c));
    assert_eq!(ExitCode::of_verdict(c.overall.verdict), ExitCode::Pass);
    assert_eq!(c.baseline.runs.len(), 5);
    assert!(c.validity.iter().all(|v| v.status == CheckStatus::Ok));
    assert!(c.thresholds.iter().all(|t| t.status == ThresholdStatus::Ok));
    // p50 and p95 of both endpoints, and the tail-share tests of their thinly sampled p99s.
    assert_eq!(c.settings.family_size, 6, "{}", text(&c));
    assert_eq!(c.bands.len(), 6);
    assert_eq!(c.bands[0].points.len(), 60);
    insta::assert_snapshot!("pass", text(&c));
}

#[test]
fn a_slower_endpoint_is_a_regression_that_names_it() {
    let c = gate(&slow(100, 1.3), Some(&baseline(5)));
    assert_eq!(c.overall.verdict, Verdict::Regression, "{}", text(&c));
    assert_eq!(
        ExitCode::of_verdict(c.overall.verdict),
        ExitCode::Regression
    );
    let regressed: Vec<(&str, &str)> = c
        .regressions()
        .map(|m| (m.endpoint.as_str(), m.label.as_str()))
        .collect();
    assert!(
        regressed.contains(&("get customer", "p50")),
        "{regressed:?}"
    );
    assert!(
        regressed.iter().all(|(e, _)| *e == "get customer"),
        "{regressed:?}"
    );
    insta::assert_snapshot!("regression", text(&c));
}

#[test]
fn few_baseline_runs_are_said_to_lean_on_the_prior() {
    let c = gate(&common::run(&common::Spec::new(100)), Some(&baseline(1)));
    assert!(
        c.notes.iter().any(|n| n.contains("only 1 baseline run")),
        "{:?}",
        c.notes
    );
    assert_ne!(c.overall.verdict, Verdict::Regression);
}

#[test]
fn an_untrusted_run_gets_no_verdict_on_the_service() {
    let mut r = slow(100, 2.0);
    for g in &mut r.generator.intervals {
        g.dropped = 20;
        g.sent -= 20;
    }
    let c = gate(&r, Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Untrusted);
    assert_eq!(ExitCode::of_verdict(c.overall.verdict), ExitCode::Untrusted);
    assert!(c.metrics.is_empty());
    assert!(
        c.overall.reasons[0].contains("dropped at the in-flight cap"),
        "{:?}",
        c.overall.reasons
    );
    insta::assert_snapshot!("untrusted", text(&c));

    let mut partial = common::run(&common::Spec::new(100));
    partial.partial = true;
    partial.partial_reason = Some("interrupted".into());
    let c = gate(&partial, Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Untrusted);
}

#[test]
fn a_lagging_or_short_generator_is_untrusted() {
    let mut lagging = common::run(&common::Spec::new(100));
    let mut lag = loadgate::metrics::Histogram::new();
    lag.record_n_us(80_000, 100);
    lagging.generator.schedule_lag = loadgate::metrics::EncodedHistogram::encode(&lag);
    let c = gate(&lagging, Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Untrusted);
    assert!(
        c.overall.reasons[0].contains("schedule lag p95 80.1ms"),
        "{:?}",
        c.overall.reasons
    );

    let mut short = common::run(&common::Spec::new(100));
    for g in short.generator.intervals.iter_mut().skip(40) {
        g.sent = 0;
        g.planned = 0;
    }
    let c = gate(&short, Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Untrusted);
    assert!(
        c.overall.reasons[0].contains("scheduled arrivals"),
        "{:?}",
        c.overall.reasons
    );
}

#[test]
fn no_baseline_still_checks_thresholds() {
    let c = gate(&common::run(&common::Spec::new(100)), None);
    assert_eq!(c.overall.verdict, Verdict::NoBaseline);
    assert_eq!(ExitCode::of_verdict(c.overall.verdict), ExitCode::Pass);
    // The profile's two limits and the error-rate ceiling every run is held to.
    assert_eq!(c.thresholds.len(), 3);
    assert_eq!(c.thresholds[2].label, "max_error_rate");

    let empty = Baseline::new(&common::run(&common::Spec::new(1)).profile);
    let c = gate(&slow(100, 20.0), Some(&empty));
    assert_eq!(c.overall.verdict, Verdict::Regression, "{}", text(&c));
    assert_eq!(c.thresholds[0].status, ThresholdStatus::Breached);
    insta::assert_snapshot!("no_baseline_breach", text(&c));
}

#[test]
fn another_profile_or_runner_class_is_incompatible() {
    let mut other = common::run(&common::Spec::new(100));
    other.profile.hash = "sha256:9999".into();
    let c = gate(&other, Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Incompatible);
    assert_eq!(ExitCode::of_verdict(c.overall.verdict), ExitCode::Untrusted);
    let check = c
        .validity
        .iter()
        .find(|v| v.check == CheckKind::Profile)
        .unwrap();
    assert_eq!(check.status, CheckStatus::Failed);
    assert!(
        check.detail.contains("the profile changed"),
        "{}",
        check.detail
    );
    assert!(c.metrics.is_empty());

    let mut spec = common::Spec::new(100);
    spec.runner = "macOS-ARM64";
    let c = gate(&common::run(&spec), Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Incompatible);
    insta::assert_snapshot!("incompatible_runner", text(&c));

    // A breach is a result of the run alone: it fails even without a comparable baseline.
    let mut spec = common::Spec::new(100);
    spec.runner = "macOS-ARM64";
    spec.slow = vec![("get customer", 20.0)];
    let c = gate(&common::run(&spec), Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Regression);
}

#[test]
fn runs_of_another_class_in_the_baseline_are_left_out() {
    let mut b = baseline(3);
    b.runs[0].runner.class = "Windows-X64".into();
    let c = gate(&common::run(&common::Spec::new(100)), Some(&b));
    assert_eq!(c.baseline.runs.len(), 2);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("1 baseline runs of other runner classes")),
        "{:?}",
        c.notes
    );
}

#[test]
fn a_run_without_responses_never_passes() {
    // Every request failed before a response: no latency at all, only errors.
    let mut r = common::run(&common::Spec::new(100));
    for e in &mut r.endpoints {
        for i in &mut e.intervals {
            i.latency =
                loadgate::metrics::EncodedHistogram::encode(&loadgate::metrics::Histogram::new());
            i.status.clear();
            i.errors = [(loadgate::metrics::ErrorClass::Connect, i.requests)].into();
        }
    }
    r.refresh_summaries().unwrap();
    let c = gate(&r, Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Regression, "{}", text(&c));
    assert_eq!(c.thresholds[0].status, ThresholdStatus::NoData);
    assert!(
        c.metrics
            .iter()
            .any(|m| m.label == "errors connect" && m.status == MetricStatus::Regression)
    );
    assert!(
        c.metrics
            .iter()
            .filter(|m| m.label == "p50")
            .all(|m| m.status == MetricStatus::Inconclusive)
    );
}

#[test]
fn a_run_with_zero_requests_is_untrusted() {
    let mut r = common::run(&common::Spec::new(100));
    for e in &mut r.endpoints {
        e.intervals.clear();
    }
    for g in &mut r.generator.intervals {
        g.planned = 0;
        g.sent = 0;
    }
    r.refresh_summaries().unwrap();
    let c = gate(&r, Some(&baseline(3)));
    assert_eq!(c.overall.verdict, Verdict::Untrusted);
    let requests = c
        .validity
        .iter()
        .find(|v| v.check == CheckKind::Requests)
        .unwrap();
    assert_eq!(requests.status, CheckStatus::Failed);
}

#[test]
fn the_comparison_serializes_and_reads_back() {
    let c = gate(&slow(100, 1.3), Some(&baseline(3)));
    let back: Comparison = serde_json::from_str(&c.to_json()).expect("reads back");
    assert_eq!(back.overall, c.overall);
    assert_eq!(back.metrics.len(), c.metrics.len());
}

#[test]
fn a_baseline_without_responses_never_passes() {
    // Hand-edited or recorded while everything failed: the baseline runs hold errors only,
    // with empty latency histograms. Nothing can be compared, so the run never passes.
    let mut b = baseline(3);
    for run in &mut b.runs {
        for e in &mut run.endpoints {
            for i in &mut e.intervals {
                i.latency = loadgate::metrics::EncodedHistogram::encode(
                    &loadgate::metrics::Histogram::new(),
                );
                i.status.clear();
                i.errors = [(loadgate::metrics::ErrorClass::Connect, i.requests)].into();
            }
        }
    }
    let b = Baseline::from_json(&b.to_json()).expect("still a well-formed baseline");
    let c = gate(&common::run(&common::Spec::new(100)), Some(&b));
    assert_eq!(c.overall.verdict, Verdict::Inconclusive, "{}", text(&c));
    assert!(
        c.overall.reasons[0].contains("no latency metric"),
        "{}",
        text(&c)
    );
    assert!(
        c.metrics
            .iter()
            .filter(|m| m.label == "p50")
            .all(|m| m.status == MetricStatus::ReportOnly),
        "{}",
        text(&c)
    );
}

#[test]
fn a_baseline_run_with_zero_requests_never_passes() {
    // A hand-edited baseline whose second run measured nothing: an explicit verdict, no panic.
    let mut b = baseline(3);
    for e in &mut b.runs[1].endpoints {
        e.intervals.clear();
    }
    let b = Baseline::from_json(&b.to_json()).expect("still a well-formed baseline");
    let c = gate(&common::run(&common::Spec::new(100)), Some(&b));
    assert_eq!(c.overall.verdict, Verdict::Inconclusive, "{}", text(&c));
    let p50 = c
        .metrics
        .iter()
        .find(|m| m.label == "p50")
        .expect("p50 is reported");
    assert_eq!(p50.status, MetricStatus::ReportOnly, "{}", text(&c));
    assert!(
        p50.reason.contains("baseline runs have fewer"),
        "{}",
        p50.reason
    );
}

/// A baseline file holding more runs than the window (written by hand, or before the window
/// shrank) is judged on the newest `gate.baseline_runs` of them only.
#[test]
fn only_the_newest_baseline_runs_of_the_window_are_used() {
    let runs = common::runs(25);
    let mut b = Baseline::new(&runs[0].profile);
    for r in &runs {
        let run = loadgate::baseline::BaselineRun::from_result(r).expect("a trusted run");
        b.append(run, &r.profile, 100, false).expect("appends");
    }
    assert_eq!(b.runs.len(), 25);
    let c = gate(&common::run(&common::Spec::new(100)), Some(&b));
    assert_eq!(c.baseline.runs_in_file, 25);
    assert_eq!(c.baseline.runs.len(), 10, "{}", text(&c));
    assert_eq!(c.baseline.runs[0].started_at, b.runs[15].started_at);
    assert_eq!(c.baseline.runs[9].started_at, b.runs[24].started_at);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("the newest 10 were used")),
        "{:?}",
        c.notes
    );
}

/// Errors where the baseline had none: the change and its interval say `new`, not a ratio
/// against zero (`[+2173%, ∞]`).
#[test]
fn errors_against_a_baseline_without_errors_are_new() {
    let mut spec = common::Spec::new(100);
    spec.errors_per_second = 2;
    let c = gate(&common::run(&spec), Some(&baseline(5)));
    let rows: Vec<_> = c
        .metrics
        .iter()
        .filter(|m| matches!(m.metric, loadgate::compare::Metric::ErrorRate { .. }))
        .map(loadgate::report::view::MetricRow::of)
        .collect();
    assert!(!rows.is_empty(), "{}", text(&c));
    for row in rows {
        assert_eq!(row.change, "new", "{row:?}");
        assert_eq!(row.ci, "new", "{row:?}");
    }
}
