//! The report view model: everything a rendering shows, built once from a run's results and its
//! [`Comparison`] (which always exists: without a baseline it says `no_baseline` and still
//! carries the thresholds). Every template — built in or the user's — gets this model; its
//! fields are documented in the README ("Template variables").
//!
//! Values come twice where it helps templates: formatted for people (`"12.3ms"`, `"+4.1%"`) and
//! raw (`_us`, `_ratio`, plain counts) for templates that do their own formatting.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compare::confirm::{RunMetric, RunThreshold, metric_value, threshold_value};
use crate::compare::{
    CheckStatus, Comparison, Confirmation, ConfirmationOutcome, Metric, MetricStatus,
    MetricVerdict, ThresholdCheck, ThresholdStatus, Unit, Verdict,
};
use crate::exit::ExitCode;
use crate::format::{change, count, latency_opt, latency_us, p_value, percent, rate};
use crate::metrics::ErrorClass;
use crate::results::{LoadModel, RunResult};

/// Where the report will be read, for links back to the run.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The workflow run's page (the job summary lives there).
    pub run_url: Option<String>,
}

/// The view model of one report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `loadgate` and its version.
    pub tool: ToolView,
    /// The overall verdict.
    pub verdict: VerdictView,
    /// Facts of the run.
    pub run: RunView,
    /// The baseline runs compared against.
    pub baseline: BaselineView,
    /// Every endpoint × metric of the comparison (gated and report-only), in endpoint order.
    pub metrics: Vec<MetricRow>,
    /// The metrics that block the merge (regressions).
    pub blocking: Vec<MetricRow>,
    /// Non-blocking changes worth a look, most significant first.
    pub notable: Vec<MetricRow>,
    /// Absolute limits of the profile.
    pub thresholds: Vec<ThresholdRow>,
    /// The run's per-endpoint summary (measured phase), with `all` last when there are several.
    pub endpoints: Vec<EndpointRow>,
    /// Scenario totals (journeys), when the profile has scenarios.
    pub scenarios: Vec<EndpointRow>,
    /// Errors per endpoint and class, with sample messages (measured phase).
    pub errors: Vec<ErrorRow>,
    /// The generator's own health.
    pub generator: GeneratorView,
    /// Checks made before any verdict.
    pub validity: Vec<CheckRow>,
    /// Plain-word remarks of the comparison.
    pub notes: Vec<String>,
    /// Links back to the run.
    pub links: LinksView,
    /// How many of each (for JUnit's totals and for templates).
    pub counts: Counts,
    /// What a capacity search found (`load.model: search`), when the run was one.
    pub capacity: Option<CapacityView>,
    /// The confirmation run, when the run would have blocked and was measured again.
    pub confirmation: Option<ConfirmationView>,
    /// A stepped or staged run's results per load level, with the knee.
    pub levels: Option<LevelsView>,
}

/// A stepped run's levels, for people.
#[derive(Debug, Clone, Serialize)]
pub struct LevelsView {
    /// The knee in words (or that there was none).
    pub knee: String,
    /// Column names of the table.
    pub header: Vec<String>,
    /// One row per level, plain text.
    pub rows: Vec<Vec<String>>,
    /// The knee's row, when there is one.
    pub knee_row: Option<usize>,
}

/// A confirmation run (confirmation before blocking), for people.
#[derive(Debug, Clone, Serialize)]
pub struct ConfirmationView {
    /// `held`, `did_not_hold` or `not_judged`.
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

/// A capacity search, for people.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityView {
    /// What it found and why it stopped, one fact per line.
    pub headline: Vec<String>,
    /// The step table as plain text.
    pub table: String,
}

/// Totals of the report's lists.
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    /// Endpoint × metric entries.
    pub metrics: usize,
    /// Of those, regressions.
    pub regressions: usize,
    /// Inconclusive.
    pub inconclusive: usize,
    /// Improvements.
    pub improvements: usize,
    /// Report-only (too few samples to gate).
    pub report_only: usize,
    /// Thresholds.
    pub thresholds: usize,
    /// Thresholds breached or not measured.
    pub thresholds_failed: usize,
    /// Of those, the ones a confirmation run found did not hold (they do not block).
    pub thresholds_not_held: usize,
    /// Validity checks that failed.
    pub checks_failed: usize,
}

/// The tool.
#[derive(Debug, Clone, Serialize)]
pub struct ToolView {
    /// `loadgate`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The overall verdict.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    /// `pass`, `improvement`, `regression`, `inconclusive`, `no_baseline`, `untrusted`,
    /// `incompatible`.
    pub name: &'static str,
    /// For people: `Pass`, `No baseline` …
    pub title: &'static str,
    /// An emoji for the verdict line.
    pub icon: &'static str,
    /// One line saying what it means.
    pub summary: String,
    /// Why (failed checks, regressed metrics, breached thresholds).
    pub reasons: Vec<String>,
    /// The process exit code this verdict maps to.
    pub exit_code: u8,
    /// True when the verdict fails the check (exit code 1 or 3).
    pub failed: bool,
}

/// Facts of the run.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Profile name.
    pub profile: String,
    /// Profile hash.
    pub profile_hash: String,
    /// The target.
    pub target: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// `open` or `closed`.
    pub model: &'static str,
    /// Measured phase, formatted (`30s`).
    pub measured: String,
    /// Measured phase in seconds.
    pub measured_secs: f64,
    /// Warm-up, formatted (`5s`, empty when none).
    pub warmup: String,
    /// Requests of the measured phase, all endpoints.
    pub requests: u64,
    /// The same, formatted.
    pub requests_text: String,
    /// Completed requests per second, formatted.
    pub rate: String,
    /// Failed requests.
    pub errors: u64,
    /// Failed share, formatted.
    pub error_rate: String,
    /// Failed share, 0–1.
    pub error_ratio: f64,
    /// p95 of all responses, formatted.
    pub p95: String,
    /// p95 of all responses, µs.
    pub p95_us: Option<u64>,
    /// The commit measured.
    pub git_sha: Option<String>,
    /// Its first 7 characters.
    pub git_short: Option<String>,
    /// The branch or tag.
    pub git_ref: Option<String>,
    /// Machine class.
    pub runner_class: String,
    /// Stopped early.
    pub partial: bool,
    /// Why it stopped early.
    pub partial_reason: Option<String>,
    /// `2 of 4` for an incomplete merge, `4` shards for a complete one, none when not sharded.
    pub shards: Option<String>,
}

/// The baseline runs used.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineView {
    /// Runs compared against.
    pub runs_used: usize,
    /// Runs in the file.
    pub runs_in_file: u32,
    /// Commits of the runs used (short), oldest first.
    pub commits: Vec<String>,
    /// Date of the oldest run used (`YYYY-MM-DD`).
    pub first_date: Option<String>,
    /// Date of the newest.
    pub last_date: Option<String>,
}

/// One endpoint × metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// The endpoint.
    pub endpoint: String,
    /// `p95`, `errors http_5xx`.
    pub metric: String,
    /// `latency`, `error_rate` or `capacity`.
    pub kind: &'static str,
    /// `pass`, `regression`, `improvement`, `inconclusive`, `report_only`.
    pub status: &'static str,
    /// For people: `report only`.
    pub status_text: String,
    /// An emoji for the status.
    pub icon: &'static str,
    /// Baseline value, formatted.
    pub baseline: String,
    /// Current value, formatted.
    pub current: String,
    /// Change, formatted (`+4.1%`, `new`, `—`).
    pub change: String,
    /// 90% confidence interval of the change, formatted (`[-1.2%, +9.8%]`; `—` when none).
    pub ci: String,
    /// p-value (Holm-adjusted when gated), formatted.
    pub p: String,
    /// Tolerance, formatted (`+10%`, `+0.10pt`).
    pub tolerance: String,
    /// Smallest change the data could have caught, formatted.
    pub detectable: String,
    /// Why, in plain words.
    pub reason: String,
    /// Current ÷ baseline.
    pub ratio: Option<f64>,
    /// The p-value used for the decision.
    pub p_value: Option<f64>,
}

/// One threshold.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdRow {
    /// `all` or the endpoint.
    pub scope: String,
    /// `p95`, `error_rate`, `min_rate`.
    pub metric: String,
    /// `≤` or `≥`.
    pub relation: &'static str,
    /// The limit, formatted.
    pub limit: String,
    /// The measured value, formatted.
    pub actual: String,
    /// `ok`, `breached`, `no_data`.
    pub status: &'static str,
    /// An emoji for the status (❔ for a failure a confirmation run did not reproduce).
    pub icon: &'static str,
    /// True when it holds.
    pub ok: bool,
    /// True when it failed and blocks (false for a failure a confirmation run did not
    /// reproduce).
    pub blocking: bool,
}

/// One row of the run summary.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Endpoint (or scenario) name; `all` for the total.
    pub name: String,
    /// Requests (or iterations) that finished.
    pub requests: String,
    /// Per second.
    pub rate: String,
    /// Failures (`12 (0.40%)`, or `0`).
    pub errors: String,
    /// Percentiles, formatted.
    pub p50: String,
    /// 90th.
    pub p90: String,
    /// 95th.
    pub p95: String,
    /// 99th.
    pub p99: String,
    /// Slowest.
    pub max: String,
    /// 95th, µs.
    pub p95_us: Option<u64>,
}

/// Errors of one endpoint and class.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    /// The endpoint.
    pub endpoint: String,
    /// The error class (`http_5xx`, `timeout` …).
    pub class: &'static str,
    /// How many (measured phase).
    pub count: String,
    /// Share of the endpoint's requests.
    pub share: String,
    /// A few distinct messages, with how often each was seen (secrets already masked).
    pub samples: Vec<ErrorSampleView>,
}

/// One distinct error message.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorSampleView {
    /// The message (from the target: templates must escape it; the built-in ones do).
    pub message: String,
    /// Times seen.
    pub count: String,
}

/// The generator's health.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorView {
    /// One line for people.
    pub line: String,
    /// True when the generator kept to its schedule (the validity check).
    pub ok: bool,
    /// Arrivals planned (open model).
    pub planned: u64,
    /// Arrivals sent.
    pub sent: u64,
    /// Arrivals dropped at the in-flight cap.
    pub dropped: u64,
    /// Sent over planned, formatted.
    pub achieved: String,
    /// Schedule lag p99, formatted.
    pub lag_p99: String,
    /// Most requests in flight at once.
    pub peak_in_flight: u64,
}

/// A validity check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    /// `complete`, `shards`, `generator`, `requests`, `profile`, `runner_class`.
    pub check: String,
    /// True when it held.
    pub ok: bool,
    /// The numbers, in plain words.
    pub detail: String,
}

/// Links.
#[derive(Debug, Clone, Serialize)]
pub struct LinksView {
    /// The workflow run's page, when known.
    pub run_url: Option<String>,
}

impl Report {
    /// Builds the view of `result` judged by `comparison`.
    pub fn build(result: &RunResult, comparison: &Comparison, links: &Links) -> Report {
        let metrics: Vec<MetricRow> = comparison.metrics.iter().map(MetricRow::of).collect();
        let blocking = comparison
            .metrics
            .iter()
            .filter(|m| m.status == MetricStatus::Regression)
            .map(MetricRow::of)
            .collect();
        let notable = comparison
            .notable
            .iter()
            .filter_map(|&i| comparison.metrics.get(i))
            .map(MetricRow::of)
            .collect();
        let generator_ok = comparison
            .validity
            .iter()
            .filter(|v| v.check == crate::compare::CheckKind::Generator)
            .all(|v| v.status == CheckStatus::Ok);
        Report {
            tool: ToolView {
                name: result.tool.name.clone(),
                version: result.tool.version.clone(),
            },
            verdict: VerdictView::of(comparison),
            run: RunView::of(result),
            baseline: BaselineView::of(comparison),
            metrics,
            blocking,
            notable,
            thresholds: comparison
                .thresholds
                .iter()
                .map(|t| ThresholdRow::of(t, comparison))
                .collect(),
            endpoints: endpoint_rows(result),
            scenarios: result
                .scenarios
                .iter()
                .map(|s| EndpointRow::of(&s.name, &s.summary))
                .collect(),
            errors: error_rows(result),
            generator: GeneratorView::of(result, generator_ok),
            validity: comparison
                .validity
                .iter()
                .map(|v| CheckRow {
                    check: serde_json::to_value(v.check)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    ok: v.status == CheckStatus::Ok,
                    detail: v.detail.clone(),
                })
                .collect(),
            notes: comparison.notes.clone(),
            links: LinksView {
                run_url: links.run_url.clone(),
            },
            counts: Counts::of(comparison),
            capacity: result.capacity.as_ref().map(|c| CapacityView {
                headline: super::capacity::headline(c),
                table: super::capacity::terminal(c),
            }),
            confirmation: comparison.confirmation.as_ref().map(ConfirmationView::of),
            levels: comparison.levels.as_ref().map(|l| {
                let (header, rows) = super::levels::table(l, result.interval_ms);
                LevelsView {
                    knee: super::levels::knee_text(l),
                    header,
                    rows,
                    knee_row: l.knee.as_ref().map(|k| k.index),
                }
            }),
        }
    }
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
                "the run was measured again before blocking, but the confirmation run could not be judged: the first run's verdict stands"
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

/// `ok`, `breached`, `no_data`.
fn threshold_status_name(s: ThresholdStatus) -> &'static str {
    match s {
        ThresholdStatus::Ok => "ok",
        ThresholdStatus::Breached => "breached",
        ThresholdStatus::NoData => "no_data",
    }
}

impl Counts {
    fn of(c: &Comparison) -> Counts {
        let status = |s: MetricStatus| c.metrics.iter().filter(|m| m.status == s).count();
        Counts {
            metrics: c.metrics.len(),
            regressions: status(MetricStatus::Regression),
            inconclusive: status(MetricStatus::Inconclusive),
            improvements: status(MetricStatus::Improvement),
            report_only: status(MetricStatus::ReportOnly),
            thresholds: c.thresholds.len(),
            thresholds_failed: c.failed_thresholds().count(),
            thresholds_not_held: c
                .failed_thresholds()
                .filter(|t| c.threshold_did_not_hold(t))
                .count(),
            checks_failed: c
                .validity
                .iter()
                .filter(|v| v.status == CheckStatus::Failed)
                .count(),
        }
    }
}

impl VerdictView {
    fn of(c: &Comparison) -> VerdictView {
        let v = c.overall.verdict;
        let exit_code = ExitCode::of_verdict(v).code();
        VerdictView {
            name: v.as_str(),
            title: title(v),
            icon: icon(v),
            summary: c.overall.summary.clone(),
            reasons: c.overall.reasons.clone(),
            exit_code,
            failed: exit_code != 0,
        }
    }
}

/// The verdict for people.
pub fn title(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "Pass",
        Verdict::Improvement => "Improvement",
        Verdict::Regression => "Regression",
        Verdict::Inconclusive => "Inconclusive",
        Verdict::NoBaseline => "No baseline",
        Verdict::Untrusted => "Untrusted",
        Verdict::Incompatible => "Incompatible",
    }
}

/// An emoji for the verdict.
pub fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Improvement => "🚀",
        Verdict::Regression => "❌",
        Verdict::Inconclusive => "❔",
        Verdict::NoBaseline => "🆕",
        Verdict::Untrusted | Verdict::Incompatible => "⚠️",
    }
}

fn status_icon(s: MetricStatus) -> &'static str {
    match s {
        MetricStatus::Pass => "✅",
        MetricStatus::Improvement => "🚀",
        MetricStatus::Regression => "❌",
        MetricStatus::Inconclusive => "❔",
        MetricStatus::ReportOnly => "➖",
    }
}

impl RunView {
    fn of(r: &RunResult) -> RunView {
        let requests: u64 = r.endpoints.iter().map(|e| e.summary.requests).sum();
        let errors: u64 = r.endpoints.iter().map(|e| e.summary.errors).sum();
        let secs = r.measured_secs();
        let ratio = if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        };
        let p95_us = all_latency(r).p95_us;
        let shards = (r.shard.count > 1).then(|| {
            if r.shard.is_complete() {
                format!("{} shards", r.shard.count)
            } else {
                format!("{} of {} shards", r.shard.indices.len(), r.shard.count)
            }
        });
        RunView {
            profile: r.profile.name.clone(),
            profile_hash: r.profile.hash.clone(),
            target: r.target.clone(),
            started_at: r.started_at.clone(),
            model: match r.load.model {
                LoadModel::Open => "open",
                LoadModel::Closed => "closed",
            },
            measured: secs_text(secs),
            measured_secs: secs,
            warmup: if r.load.warmup_ms == 0 {
                String::new()
            } else {
                secs_text(r.warmup_secs())
            },
            requests,
            requests_text: count(requests),
            rate: rate(if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            }),
            errors,
            error_rate: percent(ratio),
            error_ratio: ratio,
            p95: latency_opt(p95_us),
            p95_us,
            git_sha: r.git.as_ref().map(|g| g.sha.clone()),
            git_short: r.git.as_ref().map(|g| short_sha(&g.sha)),
            git_ref: r.git.as_ref().and_then(|g| g.ref_name.clone()),
            runner_class: r.runner.class.clone(),
            partial: r.partial,
            partial_reason: r.partial_reason.clone(),
            shards,
        }
    }
}

fn short_sha(sha: &str) -> String {
    sha.get(..7).unwrap_or(sha).to_string()
}

/// Seconds for people: `30s`, `12.5s`.
fn secs_text(s: f64) -> String {
    if (s - s.round()).abs() < 0.05 {
        format!("{:.0}s", s.round())
    } else {
        format!("{s:.1}s")
    }
}

impl BaselineView {
    fn of(c: &Comparison) -> BaselineView {
        let runs = &c.baseline.runs;
        let day = |s: &str| s.get(..10).unwrap_or(s).to_string();
        BaselineView {
            runs_used: runs.len(),
            runs_in_file: c.baseline.runs_in_file,
            commits: runs
                .iter()
                .filter_map(|r| r.git_sha.as_deref())
                .map(short_sha)
                .collect(),
            first_date: runs.first().map(|r| day(&r.started_at)),
            last_date: runs.last().map(|r| day(&r.started_at)),
        }
    }
}

impl MetricRow {
    /// The row of one metric verdict (also the terminal table's cells).
    pub fn of(m: &MetricVerdict) -> MetricRow {
        let dash = || "—".to_string();
        let (kind, tolerance, detectable) = match m.metric {
            Metric::Latency { .. } => (
                "latency",
                format!("+{:.0}%", m.tolerance * 100.0),
                m.mdc.map_or_else(dash, |d| change(1.0 + d)),
            ),
            Metric::ErrorRate { .. } => (
                "error_rate",
                format!("+{}", points(m.tolerance)),
                m.mdc.map_or_else(dash, |d| format!("+{}", points(d))),
            ),
            Metric::Capacity => (
                "capacity",
                format!("-{:.0}%", m.tolerance * 100.0),
                m.mdc.map_or_else(dash, |d| change(1.0 - d)),
            ),
        };
        MetricRow {
            endpoint: m.endpoint.clone(),
            metric: m.label.clone(),
            kind,
            status: m.status.as_str(),
            status_text: m.status.as_str().replace('_', " "),
            icon: status_icon(m.status),
            baseline: m.unit.format(m.baseline),
            current: m.unit.format(m.current),
            change: match (m.metric, m.ratio) {
                (_, Some(r)) => change(r),
                (Metric::ErrorRate { .. }, None) if m.current.is_some_and(|c| c > 0.0) => {
                    "new".into()
                }
                _ => dash(),
            },
            // Against a baseline without errors, a ratio has no scale: the errors are new.
            ci: if matches!(m.metric, Metric::ErrorRate { .. })
                && m.ratio.is_none()
                && m.current.is_some_and(|c| c > 0.0)
            {
                "new".into()
            } else {
                m.ci90.map_or_else(dash, |ci| {
                    let high = if ci.high.is_finite() && ci.high < 1e6 {
                        change(ci.high)
                    } else {
                        "∞".into()
                    };
                    format!("[{}, {high}]", change(ci.low))
                })
            },
            p: m.p_adjusted.or(m.p_value).map_or_else(dash, p_value),
            tolerance,
            detectable,
            reason: m.reason.clone(),
            ratio: m.ratio,
            p_value: m.p_adjusted.or(m.p_value),
        }
    }
}

/// An error-rate difference in percentage points (`0.10pt`).
fn points(ratio: f64) -> String {
    format!("{:.2}pt", ratio * 100.0)
}

impl ThresholdRow {
    fn of(t: &ThresholdCheck, c: &Comparison) -> ThresholdRow {
        ThresholdRow {
            blocking: t.status != ThresholdStatus::Ok && !c.threshold_did_not_hold(t),
            scope: t.scope.clone(),
            metric: t.label.clone(),
            relation: if t.unit == Unit::PerSec { "≥" } else { "≤" },
            limit: t.unit.format(Some(t.limit_value)),
            actual: t.unit.format(t.actual),
            status: threshold_status_name(t.status),
            icon: if t.status == ThresholdStatus::Ok {
                "✅"
            } else if c.threshold_did_not_hold(t) {
                "❔"
            } else {
                "❌"
            },
            ok: t.status == ThresholdStatus::Ok,
        }
    }
}

impl EndpointRow {
    fn of(name: &str, s: &crate::metrics::Summary) -> EndpointRow {
        let l = &s.latency;
        EndpointRow {
            name: name.to_string(),
            requests: count(s.requests),
            rate: rate(s.rate_per_sec),
            errors: if s.errors == 0 {
                "0".into()
            } else {
                format!("{} ({})", count(s.errors), percent(s.error_ratio))
            },
            p50: latency_opt(l.p50_us),
            p90: latency_opt(l.p90_us),
            p95: latency_opt(l.p95_us),
            p99: latency_opt(l.p99_us),
            max: latency_opt(l.max_us),
            p95_us: l.p95_us,
        }
    }
}

/// The latency of every response of the measured phase, all endpoints together.
fn all_latency(r: &RunResult) -> crate::metrics::LatencySummary {
    let mut all = crate::metrics::Histogram::new();
    for e in &r.endpoints {
        if let Ok(h) = r.measured_histogram(e) {
            all.add(&h);
        }
    }
    crate::metrics::LatencySummary::of(&all)
}

fn endpoint_rows(r: &RunResult) -> Vec<EndpointRow> {
    let mut rows: Vec<EndpointRow> = r
        .endpoints
        .iter()
        .map(|e| EndpointRow::of(&e.name, &e.summary))
        .collect();
    if r.endpoints.len() > 1 {
        let mut all = crate::metrics::SummaryBuilder::default();
        for e in &r.endpoints {
            let histogram = r.measured_histogram(e).unwrap_or_default();
            all.add_counts(e.summary.requests, e.summary.errors, &histogram);
        }
        let total = all.finish(r.measured_secs());
        rows.push(EndpointRow::of("all", &total));
    }
    rows
}

fn error_rows(r: &RunResult) -> Vec<ErrorRow> {
    let mut rows = Vec::new();
    for e in &r.endpoints {
        let mut by_class: BTreeMap<ErrorClass, u64> = BTreeMap::new();
        for i in e.intervals.iter().filter(|i| !r.is_warmup(i.index)) {
            for (&class, &n) in &i.errors {
                *by_class.entry(class).or_default() += n;
            }
        }
        for (class, n) in by_class.into_iter().filter(|&(_, n)| n > 0) {
            let share = if e.summary.requests == 0 {
                0.0
            } else {
                n as f64 / e.summary.requests as f64
            };
            rows.push(ErrorRow {
                endpoint: e.name.clone(),
                class: class.as_str(),
                count: count(n),
                share: percent(share),
                samples: e
                    .error_samples
                    .iter()
                    .filter(|s| s.class == class)
                    .map(|s| ErrorSampleView {
                        message: s.message.clone(),
                        count: count(s.count),
                    })
                    .collect(),
            });
        }
    }
    rows
}

impl GeneratorView {
    fn of(r: &RunResult, ok: bool) -> GeneratorView {
        let g = r.generator_totals();
        GeneratorView {
            line: super::terminal::generator_line(r)
                .trim_start_matches("generator: ")
                .to_string(),
            ok,
            planned: g.planned,
            sent: g.sent,
            dropped: g.dropped,
            achieved: percent(g.achieved_ratio()),
            lag_p99: r
                .generator
                .schedule_lag
                .decode()
                .ok()
                .and_then(|h| h.quantile_us(0.99))
                .map_or_else(|| "—".into(), latency_us),
            peak_in_flight: r.generator.peak_in_flight,
        }
    }
}
