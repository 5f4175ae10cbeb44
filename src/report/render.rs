//! Renders the report view model through minijinja templates embedded in the binary: Markdown
//! (PR comment and job summary), JUnit XML and a self-contained HTML page; JSON is the
//! comparison itself. A user template replaces the Markdown one and sees the same variables.
//!
//! Escaping is automatic: in Markdown templates every value is escaped with
//! [`markdown_inline`](super::escape::markdown_inline) unless marked `|safe`; XML and HTML
//! templates escape for HTML. Undefined variables are errors, so a typo in a template fails
//! loudly instead of rendering blanks.

use std::fmt::Write as _;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Serialize;

use super::chart::{self, Line, PALETTE};
use super::series::Series;
use super::view::{Links, Report};
use crate::compare::Comparison;
use crate::results::RunResult;

/// The built-in Markdown template (PR comment and job summary).
pub const MARKDOWN_TEMPLATE: &str = include_str!("templates/report.md.j2");
/// The built-in JUnit XML template.
pub const JUNIT_TEMPLATE: &str = include_str!("templates/junit.xml.j2");
/// The built-in HTML template.
pub const HTML_TEMPLATE: &str = include_str!("templates/report.html.j2");

/// Name under which a user's Markdown template is compiled.
const USER_TEMPLATE: &str = "user.md";

/// Charts in the Markdown report at most (one per endpoint).
const MARKDOWN_CHARTS: usize = 4;

/// Points per chart at most (neighbouring intervals are merged beyond).
const CHART_POINTS: usize = 60;

/// Output formats of `loadgate report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text for a terminal or CI log.
    Terminal,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// The comparison as JSON (`schemas/comparison.v1.schema.json`).
    Json,
    /// JUnit XML.
    Junit,
    /// A self-contained HTML page.
    Html,
}

/// A template could not be compiled or rendered.
#[derive(Debug, thiserror::Error)]
#[error("template `{name}`{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct TemplateError {
    /// The template (`user.md` for `--template`).
    pub name: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What went wrong.
    pub message: String,
}

impl TemplateError {
    fn of(e: &minijinja::Error) -> TemplateError {
        let mut message = e
            .detail()
            .map_or_else(|| e.kind().to_string(), str::to_string);
        if let Some(source) = std::error::Error::source(e) {
            let _ = write!(message, ": {source}");
        }
        TemplateError {
            name: e.name().unwrap_or("template").to_string(),
            line: e.line(),
            message,
        }
    }
}

/// What a report is made of.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The run.
    pub result: &'a RunResult,
    /// Its comparison (thresholds, and the baseline's verdicts when there was one).
    pub comparison: &'a Comparison,
    /// Links back to the run.
    pub links: &'a Links,
}

/// The template environment: built-in templates, and optionally the user's Markdown template.
pub struct Renderer {
    env: Environment<'static>,
    markdown: &'static str,
    /// The user's template file, named in errors instead of its internal name.
    user_file: Option<String>,
}

impl Renderer {
    /// The built-in templates only.
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            let kind = std::path::Path::new(name.trim_end_matches(".j2"))
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match kind.as_deref() {
                Some("md") => AutoEscape::Custom("markdown".into()),
                Some("html" | "xml") => AutoEscape::Html,
                _ => AutoEscape::None,
            }
        });
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), AutoEscape::Custom(name) if name == "markdown") {
                if value.is_safe() {
                    return out
                        .write_str(value.as_str().unwrap_or_default())
                        .map_err(Into::into);
                }
                if value.is_none() || value.is_undefined() {
                    return Ok(());
                }
                return out
                    .write_str(&super::escape::markdown_inline(&value.to_string()))
                    .map_err(Into::into);
            }
            minijinja::escape_formatter(out, state, value)
        });
        env.add_filter("md", |v: &str| super::escape::markdown_inline(v));
        env.add_filter("code_block", |v: &str, info: Option<&str>| {
            Value::from_safe_string(super::escape::markdown_code_block(v, info.unwrap_or("")))
        });
        for (name, source) in [
            ("report.md.j2", MARKDOWN_TEMPLATE),
            ("junit.xml.j2", JUNIT_TEMPLATE),
            ("report.html.j2", HTML_TEMPLATE),
        ] {
            env.add_template(name, source)
                .expect("built-in templates compile (tested)");
        }
        Renderer {
            env,
            markdown: "report.md.j2",
            user_file: None,
        }
    }

    /// The built-in templates, and `source` (read from `file`, named in errors) replacing the
    /// Markdown one. The user's template can `{% include "report.md.j2" %}` to wrap the
    /// built-in report.
    pub fn with_markdown_template(file: &str, source: String) -> Result<Renderer, TemplateError> {
        let mut renderer = Renderer::new();
        renderer.user_file = Some(file.to_string());
        renderer
            .env
            .add_template_owned(USER_TEMPLATE, source)
            .map_err(|e| renderer.error(&e))?;
        renderer.markdown = USER_TEMPLATE;
        Ok(renderer)
    }

    /// A template error, naming the user's file for the user's template.
    fn error(&self, e: &minijinja::Error) -> TemplateError {
        let mut error = TemplateError::of(e);
        if let (Some(file), USER_TEMPLATE) = (&self.user_file, error.name.as_str()) {
            error.name.clone_from(file);
        }
        error
    }

    /// Renders `format`.
    pub fn render(&self, format: Format, input: ReportInput<'_>) -> Result<String, TemplateError> {
        let report = Report::build(input.result, input.comparison, input.links);
        match format {
            Format::Terminal => {
                let mut text = super::terminal::summary(input.result);
                if let Some(l) = &input.comparison.levels {
                    text.push_str(&super::levels::terminal(l, input.result.interval_ms));
                }
                text.push_str(&super::verdict::comparison(input.comparison));
                Ok(text)
            }
            Format::Json => Ok(input.comparison.to_json()),
            Format::Markdown => {
                let charts = markdown_charts(input.result, input.comparison);
                let capacity_markdown = input
                    .result
                    .capacity
                    .as_ref()
                    .map(|c| Value::from_safe_string(super::capacity::markdown(c)));
                let levels_markdown = input.comparison.levels.as_ref().map(|l| {
                    Value::from_safe_string(super::levels::markdown(l, input.result.interval_ms))
                });
                self.render_template(
                    self.markdown,
                    &report,
                    context! {
                        charts => Value::from(Serde(&charts)),
                        capacity_markdown,
                        levels_markdown,
                    },
                )
            }
            Format::Junit => self.render_template("junit.xml.j2", &report, context! {}),
            Format::Html => {
                let charts = html_charts(input.result, input.comparison);
                let rate = rate_chart(input.result);
                let level_charts: Vec<Value> = input
                    .comparison
                    .levels
                    .as_ref()
                    .map(super::levels::svg_charts)
                    .unwrap_or_default()
                    .into_iter()
                    .map(Value::from_safe_string)
                    .collect();
                self.render_template(
                    "report.html.j2",
                    &report,
                    context! { charts => Value::from(Serde(&charts)), rate, level_charts },
                )
            }
        }
    }

    fn render_template(
        &self,
        name: &str,
        report: &Report,
        extra: Value,
    ) -> Result<String, TemplateError> {
        let template = self.env.get_template(name).map_err(|e| self.error(&e))?;
        let ctx = context! { ..Value::from(Serde(report)), ..extra };
        let mut text = template.render(ctx).map_err(|e| self.error(&e))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("markdown", &self.markdown)
            .finish_non_exhaustive()
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// A chart of one endpoint.
#[derive(Debug, Serialize)]
struct Chart {
    endpoint: String,
    /// Mermaid text (Markdown) or SVG (HTML), safe to embed as is.
    body: Value,
    /// A second SVG (the latency distribution), HTML only.
    histogram: Option<Value>,
}

/// p95 charts for the Markdown report: the regressed endpoints first, then the others, at most
/// [`MARKDOWN_CHARTS`].
fn markdown_charts(result: &RunResult, comparison: &Comparison) -> Vec<Chart> {
    let mut order: Vec<&str> = comparison
        .regressions()
        .map(|m| m.endpoint.as_str())
        .collect();
    order.extend(result.endpoints.iter().map(|e| e.name.as_str()));
    let mut seen = Vec::new();
    let mut charts = Vec::new();
    for name in order {
        if charts.len() == MARKDOWN_CHARTS || seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let Some(endpoint) = result.endpoints.iter().find(|e| e.name == name) else {
            continue;
        };
        let series = Series::of(result, endpoint, CHART_POINTS);
        let band = comparison
            .bands
            .iter()
            .find(|b| b.endpoint == name && (b.quantile - 0.95).abs() < 1e-9);
        if let Some(text) = chart::mermaid_p95(&series, band) {
            charts.push(Chart {
                endpoint: name.to_string(),
                body: Value::from_safe_string(text),
                histogram: None,
            });
        }
    }
    charts
}

/// Per endpoint: p50/p95/p99 over time (with the baseline's p95 median when there is one) and
/// the latency distribution.
fn html_charts(result: &RunResult, comparison: &Comparison) -> Vec<Chart> {
    result
        .endpoints
        .iter()
        .map(|e| {
            let series = Series::of(result, e, 240);
            let x: Vec<f64> = series.points.iter().map(|p| p.t_secs).collect();
            let ms = |v: Option<u64>| v.map(|us| us as f64 / 1000.0);
            let mut lines = vec![
                Line {
                    label: "p50".into(),
                    color: PALETTE[2],
                    dashed: false,
                    values: series.points.iter().map(|p| ms(p.p50_us)).collect(),
                },
                Line {
                    label: "p95".into(),
                    color: PALETTE[0],
                    dashed: false,
                    values: series.points.iter().map(|p| ms(p.p95_us)).collect(),
                },
                Line {
                    label: "p99".into(),
                    color: PALETTE[1],
                    dashed: false,
                    values: series.points.iter().map(|p| ms(p.p99_us)).collect(),
                },
            ];
            if let Some(band) = comparison
                .bands
                .iter()
                .find(|b| b.endpoint == e.name && (b.quantile - 0.95).abs() < 1e-9)
            {
                let merged = super::series::band_points(
                    band,
                    series.intervals_per_point,
                    series.points.len(),
                );
                lines.push(Line {
                    label: "baseline p95 (median run)".into(),
                    color: PALETTE[0],
                    dashed: true,
                    values: merged.iter().map(|b| b.map(|v| v[1] / 1000.0)).collect(),
                });
            }
            let title = format!("{} · latency over time", e.name);
            Chart {
                endpoint: e.name.clone(),
                body: Value::from_safe_string(chart::svg_lines(&title, "ms", &x, &lines)),
                histogram: Some(Value::from_safe_string(chart::svg_histogram(
                    &format!("{} · latency distribution", e.name),
                    &series.histogram,
                ))),
            }
        })
        .collect()
}

/// Completed requests per second of every endpoint, and failures of all together.
fn rate_chart(result: &RunResult) -> Value {
    let mut lines = Vec::new();
    let mut x = Vec::new();
    let mut failures: Vec<f64> = Vec::new();
    for (k, e) in result.endpoints.iter().enumerate() {
        let series = Series::of(result, e, 240);
        if x.is_empty() {
            x = series.points.iter().map(|p| p.t_secs).collect();
            failures = vec![0.0; series.points.len()];
        }
        for (f, p) in failures.iter_mut().zip(&series.points) {
            *f += p.errors as f64 / series.step_secs;
        }
        lines.push(Line {
            label: e.name.clone(),
            color: PALETTE[k % PALETTE.len()],
            dashed: false,
            values: series
                .points
                .iter()
                .map(|p| Some(p.requests as f64 / series.step_secs))
                .collect(),
        });
    }
    if failures.iter().any(|f| *f > 0.0) {
        lines.push(Line {
            label: "failures (all)".into(),
            color: "#000000",
            dashed: true,
            values: failures.into_iter().map(Some).collect(),
        });
    }
    Value::from_safe_string(chart::svg_lines("requests per second", "/s", &x, &lines))
}
