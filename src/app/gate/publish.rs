//! Publishing a `gate` step: the reports beside the results, the job summary, step outputs and
//! annotations, the sticky PR comment, and the same for a step that failed before its verdict.

use std::path::{Path, PathBuf};

use super::Settings;
use crate::app::console::errln;
use crate::app::report::render;
use crate::cli::{CommentMode, GateMode as Mode};
use crate::compare::{Comparison, Verdict};
use crate::error::{Error, ExitCode};
use crate::github::comment::{CommentSettings, publish_sticky_comment};
use crate::github::inputs::workspace_relative;
use crate::github::workflow::{self, Annotation, Level};
use crate::github::{CommentOutcome, Context, Env};
use crate::report::{Format, Renderer};
use crate::results::RunResult;

/// The sticky PR comment, when the settings want one (`None` when not): a failure to post is a
/// warning annotation, and the comment's address becomes the `comment-url` output.
pub(super) async fn publish_comment(
    ctx: &Context,
    settings: &Settings,
    mode: Mode,
    profile: &str,
    markdown: &str,
) -> Option<CommentOutcome> {
    if settings.comment == CommentMode::Never || mode == Mode::Record {
        return None;
    }
    let outcome = publish_sticky_comment(ctx, profile, markdown, &CommentSettings::default()).await;
    errln!("{outcome}");
    if let CommentOutcome::Failed { warning, .. } = &outcome {
        emit(&[Annotation::new(Level::Warning, warning.clone())
            .with_title("loadgate: PR comment not posted")]);
    }
    if let (
        CommentOutcome::Created { url: Some(url), .. }
        | CommentOutcome::Updated { url: Some(url), .. },
        Some(path),
    ) = (&outcome, &ctx.output_path)
        && let Err(e) = workflow::write_outputs(path, &[("comment-url", url)])
    {
        errln!("warning: {e}");
    }
    Some(outcome)
}

/// A step that failed before its verdict still publishes: the job summary and the sticky
/// comment say that it failed and why (an earlier ✅ must not stay up as if it held), and the
/// outputs say `verdict=error`. Best effort: the step's error is what it ends with.
pub(super) async fn publish_failure(
    ctx: &Context,
    env: &Env,
    settings: &Settings,
    mode: Mode,
    profile: Option<String>,
    error: &Error,
) {
    let profile = profile.or_else(|| {
        crate::app::read_bounded(&settings.profile, crate::app::Input::Profile)
            .ok()
            .and_then(|text| crate::profile::Profile::name_of(&text))
    });
    let name = profile.as_deref().unwrap_or("(profile unreadable)");
    let cause = error.to_string();
    let exit = error.exit_code().code();
    let run_url = ctx.summary_url();
    let markdown = crate::report::failure::markdown(&crate::report::failure::Failure {
        profile: name,
        cause: &cause,
        exit_code: exit,
        run_url: run_url.as_deref(),
    });
    let warn = |e: crate::github::GithubError| errln!("warning: {e}");
    if let Some(path) = &ctx.step_summary_path {
        let notice = "The report was cut to fit GitHub's job summary limit.";
        let _ = workflow::append_step_summary(path, &markdown, notice).map_err(warn);
    }
    if let Some(path) = &ctx.output_path {
        let exit = exit.to_string();
        let report = workflow::markdown_output(
            &markdown,
            "The report was cut to fit GitHub's output limit.",
        );
        let outputs = [
            ("verdict", "error"),
            ("exit-code", exit.as_str()),
            ("report", &report),
        ];
        let _ = workflow::write_outputs(path, &outputs).map_err(warn);
    }
    match profile {
        Some(profile) => {
            publish_comment(ctx, settings, mode, &profile, &markdown).await;
        }
        None => errln!(
            "no PR comment: the profile's name cannot be read from `{}`, and the sticky comment is found by it",
            workspace_relative(env, &settings.profile)
        ),
    }
}

/// The reports written beside the results.
pub(super) struct Reports {
    pub(super) markdown: String,
    markdown_path: PathBuf,
    html_path: PathBuf,
    junit_path: PathBuf,
    comparison_path: PathBuf,
}

impl Reports {
    /// The files written, as given (`report.md` beside a results file in the working
    /// directory, which has no parent to name).
    pub(super) fn paths(&self) -> String {
        [
            &self.markdown_path,
            &self.html_path,
            &self.junit_path,
            &self.comparison_path,
        ]
        .map(|p| format!("`{}`", p.display()))
        .join(", ")
    }

    pub(super) fn write(
        renderer: &Renderer,
        dir: &Path,
        result: &RunResult,
        comparison: &Comparison,
    ) -> Result<Reports, Error> {
        let markdown = render(renderer, Format::Markdown, result, comparison)?;
        let reports = Reports {
            markdown_path: dir.join("report.md"),
            html_path: dir.join("report.html"),
            junit_path: dir.join("junit.xml"),
            comparison_path: dir.join("comparison.json"),
            markdown,
        };
        crate::app::write_file(&reports.markdown_path, &reports.markdown)?;
        crate::app::write_file(
            &reports.html_path,
            &render(renderer, Format::Html, result, comparison)?,
        )?;
        crate::app::write_file(
            &reports.junit_path,
            &render(renderer, Format::Junit, result, comparison)?,
        )?;
        crate::app::write_file(&reports.comparison_path, &comparison.to_json())?;
        Ok(reports)
    }
}

/// Job summary, step outputs and annotations.
pub(super) fn publish_workflow_files(
    ctx: &Context,
    env: &Env,
    reports: &Reports,
    result: &RunResult,
    comparison: &Comparison,
    results_path: &Path,
    recorded_baseline: Option<&Path>,
) -> Result<(), Error> {
    let full_report = workspace_relative(env, &reports.markdown_path);
    if let Some(path) = &ctx.step_summary_path {
        let notice = format!(
            "The report was cut to fit GitHub's job summary limit; the full report is `{full_report}` (upload it as an artifact).",
        );
        workflow::append_step_summary(path, &reports.markdown, &notice)?;
    }
    if let Some(path) = &ctx.output_path {
        let view =
            crate::report::Report::build(result, comparison, &crate::report::Links::default());
        let exit = ExitCode::of_verdict(comparison.overall.verdict)
            .code()
            .to_string();
        let p95_ms = view
            .run
            .p95_us
            .map(|us| format!("{:.3}", us as f64 / 1000.0))
            .unwrap_or_default();
        let error_rate = format!("{:.6}", view.run.error_ratio);
        let requests = view.run.requests.to_string();
        let report = workflow::markdown_output(
            &reports.markdown,
            &format!(
                "The report was cut to fit GitHub's limit on step outputs; the full report is `{full_report}` (upload it as an artifact)."
            ),
        );
        // Paths valid on the runner's host too (the next step does not run in this container).
        let files = [
            workspace_relative(env, results_path),
            workspace_relative(env, &reports.html_path),
            workspace_relative(env, &reports.junit_path),
            workspace_relative(env, &reports.comparison_path),
            recorded_baseline
                .map(|path| workspace_relative(env, path))
                .unwrap_or_default(),
        ];
        workflow::write_outputs(
            path,
            &[
                ("verdict", comparison.overall.verdict.as_str()),
                ("exit-code", &exit),
                ("results", &files[0]),
                ("report", &report),
                ("report-html", &files[1]),
                ("junit", &files[2]),
                ("comparison", &files[3]),
                ("requests", &requests),
                ("p95-ms", &p95_ms),
                ("error-rate", &error_rate),
                ("baseline", &files[4]),
            ],
        )?;
    }
    emit(&annotations(comparison));
    Ok(())
}

/// Annotations for the run: regressions and breached thresholds as errors, an untrusted or
/// incompatible run as a warning, an inconclusive one as a notice.
fn annotations(c: &Comparison) -> Vec<Annotation> {
    let mut list: Vec<Annotation> = c
        .regressions()
        .map(|m| {
            Annotation::new(Level::Error, m.reason.clone())
                .with_title(format!("loadgate: {} {} regressed", m.endpoint, m.label))
        })
        .collect();
    list.extend(c.blocking_thresholds().map(|t| {
        Annotation::new(
            Level::Error,
            format!(
                "{} {}: measured {}, limit {}",
                t.scope,
                t.label,
                t.unit.format(t.actual),
                t.unit.format(Some(t.limit_value))
            ),
        )
        .with_title(format!(
            "loadgate: threshold {} {} breached",
            t.scope, t.label
        ))
    }));
    let o = &c.overall;
    match o.verdict {
        Verdict::Untrusted | Verdict::Incompatible => list.push(
            Annotation::new(
                Level::Warning,
                format!("{}: {}", o.summary, o.reasons.join("; ")),
            )
            .with_title(format!("loadgate: {}", o.verdict.as_str())),
        ),
        Verdict::Inconclusive => list.push(
            Annotation::new(Level::Notice, o.summary.clone()).with_title("loadgate: inconclusive"),
        ),
        _ => {}
    }
    list
}

fn emit(annotations: &[Annotation]) {
    if annotations.is_empty() {
        return;
    }
    let text = workflow::format_annotations(annotations, "see the job summary");
    crate::app::console::commands(&text);
}
