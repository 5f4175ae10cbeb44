//! Every rendering (Markdown, JUnit, HTML, JSON, text) of every kind of outcome: pass,
//! regression, improvement, inconclusive, no baseline, threshold breach, untrusted run, and a
//! report with many endpoints cut to GitHub's limits. Snapshots for the text; independent
//! readers (a JUnit parser, the JSON Schema) for the machine formats.

use crate::support::synthetic as common;

use std::fmt::Write as _;
use std::time::Duration;

use loadgate::baseline::Baseline;
use loadgate::compare::{Comparison, GateInput, Verdict, evaluate};
use loadgate::profile::{GateConfig, Limit, Quantile, Threshold, ThresholdScope};
use loadgate::report::{Format, Links, Renderer, ReportInput};
use loadgate::results::RunResult;

fn baseline(n: u64) -> Baseline {
    common::baseline_of(&common::runs(n))
}

fn thresholds(p99_ms: u64) -> Vec<Threshold> {
    vec![Threshold {
        scope: ThresholdScope::All,
        limits: vec![
            Limit::Latency {
                quantile: Quantile(0.99),
                max: Duration::from_millis(p99_ms),
            },
            Limit::ErrorRate { max_ratio: 0.01 },
        ],
    }]
}

/// A judged run.
struct Case {
    result: RunResult,
    comparison: Comparison,
}

fn judge(result: RunResult, baseline: Option<&Baseline>, p99_limit_ms: u64) -> Case {
    let comparison = evaluate(GateInput {
        current: &result,
        baseline,
        gate: &GateConfig::default(),
        thresholds: &thresholds(p99_limit_ms),
    })
    .expect("histograms decode");
    Case { result, comparison }
}

fn slowed(seed: u64, endpoint: &'static str, factor: f64) -> RunResult {
    let mut spec = common::Spec::new(seed);
    spec.slow = vec![(endpoint, factor)];
    common::run(&spec)
}

/// The judged run of a state, computed once for all tests.
fn case(name: &str) -> &'static Case {
    static CASES: std::sync::LazyLock<Vec<(&'static str, Case)>> = std::sync::LazyLock::new(|| {
        STATES
            .iter()
            .map(|&(name, _)| (name, build_case(name)))
            .collect()
    });
    &CASES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no case {name}"))
        .1
}

fn build_case(name: &str) -> Case {
    match name {
        "pass" => judge(
            common::run(&common::Spec::new(100)),
            Some(&baseline(5)),
            500,
        ),
        "regression" => judge(slowed(100, "get customer", 1.3), Some(&baseline(5)), 500),
        "improvement" => judge(slowed(100, "add json", 0.7), Some(&baseline(5)), 500),
        "inconclusive" => judge(slowed(100, "get customer", 1.06), Some(&baseline(2)), 500),
        "no_baseline" => judge(common::run(&common::Spec::new(100)), None, 500),
        "threshold_breach" => judge(common::run(&common::Spec::new(100)), Some(&baseline(5)), 30),
        "untrusted" => {
            let mut r = common::run(&common::Spec::new(100));
            for g in r.generator.intervals.iter_mut().skip(20).take(10) {
                g.dropped = 25;
                g.sent = g.planned - 25;
            }
            judge(r, Some(&baseline(5)), 500)
        }
        other => panic!("no case {other}"),
    }
}

fn render(c: &Case, format: Format) -> String {
    Renderer::new()
        .render(
            format,
            ReportInput {
                result: &c.result,
                comparison: &c.comparison,
                links: &Links {
                    run_url: Some("https://github.com/octo/shop/actions/runs/42".into()),
                },
            },
        )
        .expect("built-in templates render")
}

const STATES: [(&str, Verdict); 7] = [
    ("pass", Verdict::Pass),
    ("regression", Verdict::Regression),
    ("improvement", Verdict::Improvement),
    ("inconclusive", Verdict::Inconclusive),
    ("no_baseline", Verdict::NoBaseline),
    ("threshold_breach", Verdict::Regression),
    ("untrusted", Verdict::Untrusted),
];

#[test]
fn states_have_the_expected_verdicts() {
    for (name, verdict) in STATES {
        let c = case(name);
        assert_eq!(
            c.comparison.overall.verdict,
            verdict,
            "{name}: {}",
            render(c, Format::Terminal)
        );
    }
}

/// HTML with the generated SVG reduced to its element count (the charts are checked apart).
fn html_without_svg(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("</svg>").expect("svg closes") + start + 6;
        let paths = rest[start..end].matches("<path").count();
        let rects = rest[start..end].matches("<rect").count();
        let _ = write!(out, "<svg paths={paths} rects={rects}/>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_rendering_of_every_state() {
    for (name, _) in STATES {
        let c = case(name);
        insta::assert_snapshot!(format!("{name}.md"), render(c, Format::Markdown));
        insta::assert_snapshot!(format!("{name}.junit.xml"), render(c, Format::Junit));
        insta::assert_snapshot!(format!("{name}.txt"), render(c, Format::Terminal));
        insta::assert_snapshot!(
            format!("{name}.html"),
            html_without_svg(&render(c, Format::Html))
        );
        let json: serde_json::Value = serde_json::from_str(&render(c, Format::Json)).expect("JSON");
        insta::assert_snapshot!(
            format!("{name}.json.overall"),
            serde_json::to_string_pretty(&json["overall"]).expect("JSON")
        );
    }
}

#[test]
fn junit_reads_back_with_one_case_per_metric_threshold_and_check() {
    for (name, _) in STATES {
        let c = case(name);
        let xml = render(c, Format::Junit);
        let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes()))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        assert_eq!(suites.suites.len(), 1, "{name}");
        let suite = &suites.suites[0];
        let cmp = &c.comparison;
        assert_eq!(
            suite.cases.len(),
            cmp.metrics.len() + cmp.thresholds.len() + cmp.validity.len(),
            "{name}"
        );
        let failures = suite.cases.iter().filter(|t| t.status.is_failure()).count();
        let expected = cmp.regressions().count()
            + cmp.failed_thresholds().count()
            + cmp
                .validity
                .iter()
                .filter(|v| v.status == loadgate::compare::CheckStatus::Failed)
                .count();
        assert_eq!(failures, expected, "{name}");
        assert_eq!(
            suite.failures as usize, expected,
            "{name}: the totals agree"
        );
        assert_eq!(
            suite.tests as usize,
            suite.cases.len(),
            "{name}: the totals agree"
        );
        // A failing verdict always shows as a failing test, and a passing one never does.
        let fails = loadgate::error::ExitCode::of_verdict(cmp.overall.verdict).code() != 0;
        assert_eq!(failures > 0, fails, "{name}");
        if name == "regression" {
            let failed = suite
                .cases
                .iter()
                .find(|t| t.status.is_failure())
                .expect("a failure");
            assert_eq!(
                failed.classname.as_deref(),
                Some("loadgate.checkout.get customer")
            );
            let TestStatusFailure { message } = failure(&failed.status);
            assert!(
                message.contains("p50") && message.contains("tolerance +8%"),
                "{message}"
            );
        }
    }
}

struct TestStatusFailure {
    message: String,
}

fn failure(status: &junit_parser::TestStatus) -> TestStatusFailure {
    match status {
        junit_parser::TestStatus::Failure(f) => TestStatusFailure {
            message: f.message.clone(),
        },
        other => panic!("not a failure: {other:?}"),
    }
}

#[test]
fn json_is_the_comparison_and_valid_against_its_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/comparison.v1.schema.json"
        ))
        .expect("committed schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    for (name, _) in STATES {
        let c = case(name);
        let text = render(c, Format::Json);
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let back: Comparison = serde_json::from_value(value).expect("reads back");
        assert_eq!(back, c.comparison, "{name}");
    }
}

#[test]
fn markdown_shows_the_regression_and_its_chart() {
    let md = render(case("regression"), Format::Markdown);
    assert!(
        md.starts_with("### ❌ loadgate · checkout: Regression"),
        "{md}"
    );
    assert!(md.contains("| ❌ | get customer | p50 |"), "{md}");
    let chart = md
        .split("```mermaid\n")
        .nth(1)
        .expect("a Mermaid chart")
        .split("```")
        .next()
        .expect("closed");
    assert!(chart.contains("xychart-beta"), "{chart}");
    assert!(
        chart.contains("title \"get customer · p95 per 1s (ms)\""),
        "{chart}"
    );
    // Baseline high, median and low, then the current run: four series of 60 points.
    let lines: Vec<&str> = chart
        .lines()
        .filter(|l| l.trim_start().starts_with("line ["))
        .collect();
    assert_eq!(lines.len(), 4, "{chart}");
    for l in lines {
        assert_eq!(l.matches(',').count(), 59, "{l}");
    }
}

#[test]
fn html_charts_have_a_line_per_percentile_and_a_histogram_per_endpoint() {
    let html = render(case("regression"), Format::Html);
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no remote resources"
    );
    let svgs: Vec<&str> = html.split("<svg").skip(1).collect();
    // The request rate, then per endpoint: latency over time and the distribution.
    assert_eq!(svgs.len(), 1 + 2 * 2);
    assert_eq!(
        svgs[1].matches("<path").count(),
        4,
        "p50, p95, p99, baseline p95"
    );
    assert!(
        svgs[2].matches("<rect").count() >= 10,
        "a histogram with bars"
    );
}

#[test]
fn untrusted_text_cannot_break_any_format() {
    let nasty: &'static str =
        "<img src=x onerror=alert(1)> | @octocat #1 `x` [l](http://e.vil)\nnext";
    let mut spec = common::Spec::new(7);
    spec.endpoints = vec![(nasty, 20_000.0)];
    spec.errors_per_second = 1;
    let mut result = common::run(&spec);
    result.endpoints[0].error_samples = vec![loadgate::results::ErrorSample {
        class: loadgate::metrics::ErrorClass::Http5xx,
        message: "</details><script>alert(2)</script> ::error::x".into(),
        count: 3,
    }];
    let mut b_spec = common::Spec::new(1);
    b_spec.endpoints = vec![(nasty, 20_000.0)];
    let base = common::run(&b_spec);
    let b = common::baseline_of([&base]);
    let c = judge(result, Some(&b), 500);

    let md = render(&c, Format::Markdown);
    assert!(md.contains("alert(2)"), "the error sample is shown: {md}");
    assert!(
        !md.contains("<img") && !md.contains("<script") && !md.contains("</details><"),
        "{md}"
    );
    assert!(
        !md.contains("@octocat") && !md.contains("#1 "),
        "no mentions or references: {md}"
    );
    // Every row of a table has as many cell separators as its header: the name stays in one cell.
    let mut header_pipes = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            header_pipes = None;
            continue;
        }
        let pipes = line.replace("\\|", "").matches('|').count();
        let expected = *header_pipes.get_or_insert(pipes);
        assert_eq!(pipes, expected, "{line}");
    }
    let html = render(&c, Format::Html);
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "HTML escapes"
    );
    let xml = render(&c, Format::Junit);
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes()))
        .expect("XML stays well-formed");
    assert!(suites.suites[0].cases.iter().any(|t| {
        t.classname
            .as_deref()
            .is_some_and(|n| n.contains("<img src=x"))
    }));
}

#[test]
fn many_endpoints_are_cut_to_github_limits() {
    let names: Vec<&'static str> = (0..150)
        .map(|i| {
            &*Box::leak(
                format!("endpoint number {i:03} with a long descriptive name").into_boxed_str(),
            )
        })
        .collect();
    let mut spec = common::Spec::new(100);
    spec.endpoints = names.iter().map(|n| (*n, 20_000.0)).collect();
    spec.per_second = 20;
    spec.measured_s = 10;
    spec.warmup_s = 0;
    let result = common::run(&spec);
    let mut b_spec = spec.clone();
    b_spec.seed = 1;
    let base = common::run(&b_spec);
    let b = common::baseline_of([&base]);
    let c = judge(result, Some(&b), 500);
    let md = render(&c, Format::Markdown);
    assert!(
        md.chars().count() > 65_000,
        "the report is long: {}",
        md.len()
    );
    let body = loadgate::github::comment::comment_body(
        "checkout",
        &md,
        Some("https://github.com/octo/shop/actions/runs/42"),
    );
    assert!(body.encode_utf16().count() <= 65_000, "{}", body.len());
    assert!(body.starts_with("<!-- loadgate: checkout -->\n### "));
    let tail: String = body
        .chars()
        .rev()
        .take(400)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    insta::assert_snapshot!("many_endpoints.comment_tail", tail);
    // Only four charts however many endpoints.
    assert_eq!(md.matches("```mermaid").count(), 4);
}

#[test]
fn a_user_template_replaces_the_markdown_and_can_include_the_built_in_one() {
    let c = case("regression");
    let input = ReportInput {
        result: &c.result,
        comparison: &c.comparison,
        links: &Links::default(),
    };
    let custom = Renderer::with_markdown_template(
        "mine.md",
        "Perf check for {{ run.profile }}: {{ verdict.name }} ({{ counts.regressions }} regressed)\n\
         {% for m in blocking %}* {{ m.endpoint }} {{ m.metric }} {{ m.change }}\n{% endfor %}"
            .into(),
    )
    .expect("compiles");
    let text = custom.render(Format::Markdown, input).expect("renders");
    insta::assert_snapshot!("user_template", text);

    let wrapped = Renderer::with_markdown_template(
        "mine.md",
        "Our team's header\n\n{% include \"report.md.j2\" %}".into(),
    )
    .expect("compiles")
    .render(Format::Markdown, input)
    .expect("renders");
    assert!(
        wrapped.starts_with("Our team's header\n\n### ❌ loadgate"),
        "{wrapped}"
    );

    // Mistakes are errors with the line, not blanks.
    let err = Renderer::with_markdown_template("mine.md", "ok\n{{ verdict.nmae }}\n".into())
        .expect("compiles")
        .render(Format::Markdown, input)
        .expect_err("an unknown variable fails");
    assert_eq!(err.line, Some(2), "{err}");
    let err =
        Renderer::with_markdown_template("mine.md", "{% if %}".into()).expect_err("syntax error");
    assert!(err.to_string().contains("mine.md"), "{err}");
}

/// A run that would block, measured again (confirmation before blocking): `confirmed` when the
/// confirmation run is 30% slower too, `not_confirmed` when it is normal. The `all` p99 limit
/// of 45ms is breached by the slow runs only, so a threshold is confirmed (or not) as well.
fn confirmation_case(name: &str) -> &'static Case {
    static CASES: std::sync::LazyLock<Vec<(&'static str, Case)>> = std::sync::LazyLock::new(|| {
        let b = baseline(5);
        let first = judge(slowed(100, "get customer", 1.3), Some(&b), 45);
        ["confirmed", "not_confirmed"]
            .into_iter()
            .map(|name| {
                let second = if name == "confirmed" {
                    slowed(101, "get customer", 1.3)
                } else {
                    common::run(&common::Spec::new(101))
                };
                let second = judge(second, Some(&b), 45);
                let comparison = loadgate::compare::confirm(&first.comparison, &second.comparison);
                (
                    name,
                    Case {
                        result: first.result.clone(),
                        comparison,
                    },
                )
            })
            .collect()
    });
    &CASES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no case {name}"))
        .1
}

#[test]
fn a_confirmation_run_shows_in_every_rendering() {
    use loadgate::compare::{ConfirmationOutcome, MetricStatus};
    for (name, verdict, outcome) in [
        ("confirmed", Verdict::Regression, ConfirmationOutcome::Held),
        (
            "not_confirmed",
            Verdict::Inconclusive,
            ConfirmationOutcome::DidNotHold,
        ),
    ] {
        let c = confirmation_case(name);
        let conf = c.comparison.confirmation.as_ref().expect("confirmed");
        assert_eq!(c.comparison.overall.verdict, verdict, "{name}");
        assert_eq!(conf.outcome, outcome, "{name}");
        assert_eq!(conf.first_verdict, Verdict::Regression, "{name}");
        // The slowed endpoint's p50 and the `all` p99 limit failed in the first run.
        assert!(
            conf.metrics
                .iter()
                .any(|m| m.endpoint == "get customer" && m.label == "p50"),
            "{name}: {conf:#?}"
        );
        assert_eq!(conf.thresholds.len(), 1, "{name}: {conf:#?}");
        if name == "not_confirmed" {
            assert!(
                c.comparison
                    .metrics
                    .iter()
                    .all(|m| m.status != MetricStatus::Regression)
            );
            assert!(
                c.comparison.overall.summary.starts_with(
                    "the regression did not hold on re-measurement (get customer p50: first run +"
                ),
                "{}",
                c.comparison.overall.summary
            );
        }
        insta::assert_snapshot!(format!("{name}.md"), render(c, Format::Markdown));
        insta::assert_snapshot!(format!("{name}.junit.xml"), render(c, Format::Junit));
        insta::assert_snapshot!(format!("{name}.txt"), render(c, Format::Terminal));
        insta::assert_snapshot!(
            format!("{name}.html"),
            html_without_svg(&render(c, Format::Html))
        );
        // The JSON's confirmation section, its numbers rounded (the snapshot is about the shape
        // and the decisions; the schema test checks the rest).
        let mut json: serde_json::Value =
            serde_json::from_str(&render(c, Format::Json)).expect("JSON");
        round_numbers(&mut json["confirmation"]);
        insta::assert_snapshot!(
            format!("{name}.json.confirmation"),
            serde_json::to_string_pretty(&json["confirmation"]).expect("JSON")
        );
    }
}

/// Rounds every number in `v` to three decimals.
fn round_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                *v = serde_json::json!((f * 1000.0).round() / 1000.0);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(round_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(round_numbers),
        _ => {}
    }
}

#[test]
fn a_confirmed_comparison_reads_back_and_its_junit_fails_only_when_it_blocks() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/comparison.v1.schema.json"
        ))
        .expect("committed schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    for name in ["confirmed", "not_confirmed"] {
        let c = confirmation_case(name);
        let value: serde_json::Value =
            serde_json::from_str(&render(c, Format::Json)).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let back: Comparison = serde_json::from_value(value).expect("reads back");
        assert_eq!(back, c.comparison, "{name}");

        let xml = render(c, Format::Junit);
        let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes()))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        let suite = &suites.suites[0];
        let failures = suite.cases.iter().filter(|t| t.status.is_failure()).count();
        let skipped = suite.cases.iter().filter(|t| t.status.is_skipped()).count();
        assert_eq!(
            suite.failures as usize, failures,
            "{name}: the totals agree"
        );
        assert_eq!(suite.skipped as usize, skipped, "{name}: the totals agree");
        let cmp = &c.comparison;
        assert_eq!(
            failures,
            cmp.regressions().count() + cmp.blocking_thresholds().count(),
            "{name}"
        );
        let fails = loadgate::error::ExitCode::of_verdict(cmp.overall.verdict).code() != 0;
        assert_eq!(failures > 0, fails, "{name}: {xml}");
    }
}
