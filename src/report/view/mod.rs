//! The report view model: everything a rendering shows, built once from a run's results and its
//! [`Comparison`] (which always exists: without a baseline it says `no_baseline` and still
//! carries the thresholds). Every template — built in or the user's — gets this model; its
//! fields are documented in the README ("Template variables").
//!
//! Values come twice where it helps templates: formatted for people (`"12.3ms"`, `"+4.1%"`) and
//! raw (`_us`, `_ratio`, plain counts) for templates that do their own formatting.
//!
//! One file per part of the report: the verdict and the baseline (`verdict`), the metric and
//! threshold rows (`metrics`), the confirmation run (`confirmation`), the run's facts and
//! per-endpoint summary (`run`), and the generator's health and validity checks (`health`).

use serde::Serialize;

use crate::compare::{CheckStatus, Comparison, MetricStatus};
use crate::results::RunResult;

mod confirmation;
mod health;
mod metrics;
mod run;
mod verdict;

pub use confirmation::{ConfirmationRow, ConfirmationView};
pub use health::{CheckRow, GeneratorView};
pub use metrics::{MetricRow, ThresholdRow};
pub use run::{EndpointRow, ErrorRow, ErrorSampleView, RunView};
pub use verdict::{BaselineView, VerdictView, icon, title};

use run::{endpoint_rows, error_rows};

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
