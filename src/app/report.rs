//! `loadgate report`: render any output from saved files — the run's results, optionally a
//! baseline — without sending load.

use std::path::Path;

use super::compare::{GateSettings, read_baseline};
use super::console::errln;
use crate::cli::{CsvFlags, ReportArgs, ReportFormat};
use crate::compare::{self, Comparison, GateInput};
use crate::error::{Error, ExitCode};
use crate::report::{Format, Links, Renderer, ReportInput};
use crate::results::RunResult;

pub(super) fn report(args: &ReportArgs) -> Result<ExitCode, Error> {
    let result = super::read_results(&args.results)?;
    let baseline = match &args.baseline {
        Some(path) => read_baseline(path)?,
        None => None,
    };
    let settings = GateSettings::resolve(&result, args.profile.as_deref())?;
    let mut comparison = compare::evaluate(GateInput {
        current: &result,
        baseline: baseline.as_ref(),
        gate: &settings.gate,
        thresholds: &settings.thresholds,
    })?;
    if let (Some(path), None) = (&args.baseline, &baseline) {
        comparison.notes.push(format!(
            "baseline file `{}` does not exist yet: record one with `loadgate baseline update`",
            path.display()
        ));
    }
    comparison.notes.extend(settings.note);
    if let Some(path) = &args.confirmation {
        let second = super::read_results(path)?;
        comparison = super::compare::combine_confirmation(
            comparison,
            &result,
            &second,
            baseline.as_ref(),
            &settings.gate,
            &settings.thresholds,
            &path.display().to_string(),
        )?;
    }
    write_csv(&args.csv, &result, &args.results)?;
    let renderer = renderer(args.template.as_deref())?;
    let text = render(&renderer, format(args.format), &result, &comparison)?;
    match &args.out {
        Some(path) => {
            super::write_file(path, &text)?;
            errln!("report written to {}", path.display());
        }
        None => super::console::out_document(&text),
    }
    Ok(ExitCode::Pass)
}

/// Writes the Locust-compatible CSV files when `--csv` asks for them.
/// `results` names the results file in an error.
pub(crate) fn write_csv(flags: &CsvFlags, result: &RunResult, results: &Path) -> Result<(), Error> {
    let Some(prefix) = &flags.csv else {
        return Ok(());
    };
    let files =
        crate::report::csv::locust_csv(result, flags.csv_full_history).map_err(|source| {
            Error::Results {
                path: results.to_path_buf(),
                source,
            }
        })?;
    let mut written = Vec::new();
    for (suffix, contents) in files.files() {
        let path = csv_path(prefix, suffix);
        super::write_file(&path, contents)?;
        written.push(path.display().to_string());
    }
    errln!("CSV (Locust's columns) written to {}", written.join(", "));
    Ok(())
}

/// `PREFIX` + `suffix` (`out/api` + `_stats.csv`), as Locust names its CSV files.
pub(crate) fn csv_path(prefix: &Path, suffix: &str) -> std::path::PathBuf {
    let mut path = prefix.as_os_str().to_owned();
    path.push(suffix);
    path.into()
}

/// The renderer, with the user's Markdown template when one is given.
pub(crate) fn renderer(template: Option<&Path>) -> Result<Renderer, Error> {
    match template {
        None => Ok(Renderer::new()),
        Some(path) => {
            Renderer::with_markdown_template(&path.display().to_string(), super::read_file(path)?)
                .map_err(|source| Error::Template {
                    path: Some(path.to_path_buf()),
                    source,
                })
        }
    }
}

/// Renders one format of a judged run, with links to the workflow run when under GitHub Actions.
pub(crate) fn render(
    renderer: &Renderer,
    format: Format,
    result: &RunResult,
    comparison: &Comparison,
) -> Result<String, Error> {
    let links = Links {
        run_url: run_url_from_env(),
    };
    renderer
        .render(
            format,
            ReportInput {
                result,
                comparison,
                links: &links,
            },
        )
        .map_err(|source| Error::Template { path: None, source })
}

fn format(f: ReportFormat) -> Format {
    match f {
        ReportFormat::Md => Format::Markdown,
        ReportFormat::Html => Format::Html,
        ReportFormat::Junit => Format::Junit,
        ReportFormat::Json => Format::Json,
        ReportFormat::Text => Format::Terminal,
    }
}

/// `GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`, when all are set.
fn run_url_from_env() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    Some(format!(
        "{}/{}/actions/runs/{}",
        var("GITHUB_SERVER_URL")?.trim_end_matches('/'),
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?
    ))
}
