//! The capacity renderings as people see them: the terminal table and the Markdown fragment
//! with its Mermaid chart, from a literal search (snapshots in tests/snapshots/).
#![allow(clippy::unwrap_used)]

use crate::support::synthetic as common;

use loadgate::capacity::{Capacity, Phase, SearchSettings, Step, StepStatus, StopReason};
use loadgate::compare::{LimitKind, ThresholdCheck, ThresholdStatus, Unit};
use loadgate::report::capacity::{markdown, step_line, terminal};

fn check(scope: &str, label: &str, limit: f64, actual: f64) -> ThresholdCheck {
    let (kind, unit) = match label {
        "error_rate" => (LimitKind::ErrorRate, Unit::Ratio),
        "achieved" => (LimitKind::MinRate, Unit::PerSec),
        _ => (LimitKind::Latency { quantile: 0.95 }, Unit::Us),
    };
    let breached = if kind == LimitKind::MinRate {
        actual < limit
    } else {
        actual > limit
    };
    ThresholdCheck {
        scope: scope.into(),
        limit: kind,
        label: label.into(),
        unit,
        limit_value: limit,
        actual: Some(actual),
        status: if breached {
            ThresholdStatus::Breached
        } else {
            ThresholdStatus::Ok
        },
    }
}

/// A step at `rate`: p50/p95/p99 in ms, the error ratio, and the p95 of `endpoint` against a
/// 200 ms limit.
fn step(phase: Phase, rate: f64, ms: [f64; 3], errors: f64, endpoint_p95_ms: f64) -> Step {
    let us = |v: f64| Some((v * 1000.0) as u64);
    let requests = (rate * 10.0) as u64;
    let checks = vec![
        check(
            "get <b>customer</b> | v2",
            "p95",
            200_000.0,
            endpoint_p95_ms * 1000.0,
        ),
        check("all", "error_rate", 0.01, errors),
        check("all", "achieved", rate * 0.95, rate),
    ];
    let broke = checks.iter().any(|c| c.status != ThresholdStatus::Ok);
    Step {
        phase,
        target_per_sec: rate,
        achieved_per_sec: rate,
        requests,
        errors: (requests as f64 * errors) as u64,
        error_ratio: errors,
        p50_us: us(ms[0]),
        p95_us: us(ms[1]),
        p99_us: us(ms[2]),
        dropped: 0,
        lag_p95_us: 900,
        first_interval: 0,
        intervals: 10,
        duration_ms: 10_050,
        status: if broke {
            StepStatus::Broke
        } else {
            StepStatus::Held
        },
        checks,
    }
}

fn search() -> Capacity {
    Capacity {
        settings: SearchSettings {
            start_per_sec: 100.0,
            growth: "×1.5".into(),
            hold_ms: 10_000,
            refine: 2,
            min_achieved_ratio: 0.95,
            collapse_error_ratio: 0.10,
            max_rate_per_sec: 2000.0,
            max_duration_ms: 600_000,
        },
        sustainable_per_sec: Some(183.71),
        breaking_per_sec: Some(203.3),
        stop: StopReason::Refined,
        steps: vec![
            step(Phase::Climb, 100.0, [11.2, 14.0, 16.1], 0.0, 13.5),
            step(Phase::Climb, 150.0, [11.9, 16.8, 20.2], 0.0, 16.0),
            step(Phase::Climb, 225.0, [141.0, 250.0, 266.0], 0.002, 251.0),
            step(Phase::Refine, 183.71, [12.4, 58.7, 63.8], 0.0, 41.0),
            step(Phase::Refine, 203.3, [36.4, 210.0, 230.0], 0.0, 212.0),
        ],
    }
}

#[test]
fn terminal_table() {
    insta::assert_snapshot!(terminal(&search()));
}

#[test]
fn markdown_fragment_with_a_mermaid_chart() {
    let md = markdown(&search());
    assert!(!md.contains("<b>"), "endpoint names are escaped:\n{md}");
    insta::assert_snapshot!(md);
}

#[test]
fn step_lines() {
    let s = search();
    let lines: Vec<String> = s
        .steps
        .iter()
        .enumerate()
        .map(|(i, st)| step_line(i, st))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn a_collapse_and_a_rate_cap_in_words() {
    let mut collapsed = search();
    collapsed.steps.truncate(3);
    collapsed.steps[2].status = StepStatus::Collapse;
    collapsed.steps[2].error_ratio = 0.42;
    collapsed.steps[2].checks[1] = check("all", "error_rate", 0.01, 0.42);
    collapsed.sustainable_per_sec = Some(150.0);
    collapsed.breaking_per_sec = Some(225.0);
    collapsed.stop = StopReason::Collapse;
    let mut capped = search();
    capped.steps.truncate(2);
    capped.sustainable_per_sec = Some(150.0);
    capped.breaking_per_sec = None;
    capped.stop = StopReason::RateCap;
    capped.settings.max_rate_per_sec = 150.0;
    insta::assert_snapshot!(format!(
        "{}\n---\n{}",
        terminal(&collapsed),
        terminal(&capped)
    ));
}

#[test]
fn the_full_reports_carry_the_search() {
    let mut result = common::run(&common::Spec::new(3));
    result.capacity = Some(search());
    let comparison = loadgate::compare::evaluate(loadgate::compare::GateInput {
        current: &result,
        baseline: None,
        gate: &loadgate::profile::GateConfig::default(),
        thresholds: &[],
    })
    .unwrap();
    let renderer = loadgate::report::Renderer::new();
    let input = loadgate::report::ReportInput {
        result: &result,
        comparison: &comparison,
        links: &loadgate::report::Links::default(),
    };
    let md = renderer
        .render(loadgate::report::Format::Markdown, input)
        .unwrap();
    let fragment = markdown(&search());
    assert!(md.contains(&fragment), "the fragment, unescaped:\n{md}");
    let html = renderer
        .render(loadgate::report::Format::Html, input)
        .unwrap();
    assert!(
        html.contains("<pre id=\"capacity\">sustainable rate: 184&#x2f;s"),
        "{html}"
    );
}
