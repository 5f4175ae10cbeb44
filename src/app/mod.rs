//! One function per subcommand, wiring the stages together; the only module that uses all the
//! others. Files, the environment, signals and the terminal are touched here (and in `engine`,
//! `github` and `demo`), never in the pure modules.

mod compare;
mod console;
mod demo;
mod gate;
mod git;
mod init;
pub mod live;
mod ownership;
mod record;
mod report;
mod run;
mod search;
mod validate;

use std::io::{IsTerminal as _, Write as _};

use console::{errln, out};
use std::path::Path;

use crate::baseline::Baseline;
use crate::cli::{BaselineCommand, Cli, Command, MergeArgs, SchemaArgs, SchemaKind};
use crate::compare::Comparison;
use crate::error::{Error, ExitCode};
use crate::profile::Profile;
use crate::results::RunResult;

pub use run::{execute_run, execute_run_with, load_profile, resolve_target};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Run(args) => runtime()?.block_on(run::run(args)),
        Command::Validate(args) => validate::validate(&args),
        Command::Merge(args) => merge(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Baseline(BaselineCommand::Update(args)) => compare::baseline_update(&args),
        Command::Report(args) => report::report(&args),
        Command::Gate(args) => runtime()?.block_on(gate::gate(args)),
        Command::Init(args) => init::init(&args),
        Command::Demo(args) => runtime()?.block_on(demo::demo(args)),
        Command::Schema(args) => {
            schema(&args);
            Ok(ExitCode::Pass)
        }
    }
}

/// The runtime of the app layer: the collector, probes and signals. Engine threads run their
/// own runtimes.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// Logs to stderr; `-v`/`-vv` or `RUST_LOG` raise the level. Under GitHub Actions, log lines
/// and panic messages go through the same guard as everything printed (see [`console`]).
pub fn init_tracing(verbose: u8) {
    console::neutralize_panics();
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(console::LogWriter::default)
        .with_target(false)
        .try_init();
}

/// Prints an error once, to stderr; under GitHub Actions also as an `::error` annotation that
/// points at the file and line (a profile error shows on the profile's line in the PR).
pub fn report_error(error: &Error) {
    // Messages quote profiles, results files and the target: what they quote is escaped and
    // cut (a profile error has done so already; the rest is done here).
    errln!("error: {}", crate::untrusted::lines(&error.to_string()));
    if console::under_actions() {
        let mut annotation =
            crate::github::Annotation::new(crate::github::Level::Error, error.to_string())
                .with_title("loadgate");
        if let Some((file, line, col)) = error.location() {
            let workspace = std::env::var("GITHUB_WORKSPACE").unwrap_or_default();
            let file = file
                .strip_prefix(&workspace)
                .map_or(file.as_str(), |f| f.trim_start_matches('/'))
                .to_string();
            annotation = annotation.at(file, line, col);
        }
        console::commands(&format!(
            "{}\n",
            crate::github::workflow::format_annotation(&annotation)
        ));
    }
}

/// Reads a whole file, naming it on failure.
pub(crate) fn read_file(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a file atomically (temporary file, then rename), creating parent directories.
pub(crate) fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    write_file_with(path, |w| w.write_all(contents.as_bytes()))
}

/// Writes a results file as it serializes, without holding its whole text in memory (a long
/// run's file is megabytes of interval histograms); the same bytes as
/// [`RunResult::to_json`].
pub(crate) fn write_results(path: &Path, result: &RunResult) -> Result<(), Error> {
    write_file_with(path, |w| result.write_json(w))
}

/// Writes a file through `write`, atomically: into a temporary file beside it, then renamed.
/// Inside the GitHub workspace, the file and the folders created for it get the workspace's
/// owner (see [`ownership`]).
fn write_file_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let fail = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let owner = ownership::Owner::for_path(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ownership::Owner::create_dirs(owner, parent).map_err(fail)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut w)?;
        let file = w
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        if let Some(owner) = owner {
            owner.give_file(&file, path);
        }
        Ok(())
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// Reads and checks a results file.
pub(crate) fn read_results(path: &Path) -> Result<RunResult, Error> {
    let text = read_file(path)?;
    RunResult::from_json(&text).map_err(|source| Error::Results {
        path: path.to_path_buf(),
        source,
    })
}

/// Prints a verdict text to stdout, coloured when stdout is a terminal and `NO_COLOR` is unset.
pub(crate) fn print_verdict(text: &str) {
    // Endpoint names and reasons quote profiles and results files.
    let text = &crate::untrusted::lines(text);
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    if colour {
        out!("{}", crate::report::verdict::colorize(text));
    } else {
        out!("{text}");
    }
}

/// True when stderr is a terminal (live progress, colour).
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn merge(args: &MergeArgs) -> Result<ExitCode, Error> {
    let parts = args
        .shards
        .iter()
        .map(|p| Ok((p.display().to_string(), read_results(p)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let merged = crate::metrics::merge_files(parts).map_err(|e| Error::Merge(e.to_string()))?;
    write_results(&args.out, &merged)?;
    out!("{}", crate::report::terminal::summary(&merged));
    if !merged.shard.is_complete() {
        errln!(
            "warning: merged {} of {} shards; the results are incomplete and cannot be gated",
            merged.shard.indices.len(),
            merged.shard.count
        );
    }
    errln!(
        "merged {} shard results into {}",
        args.shards.len(),
        args.out.display()
    );
    Ok(ExitCode::Pass)
}

fn schema(args: &SchemaArgs) {
    let schema = match args.kind {
        SchemaKind::Profile => Profile::json_schema(),
        SchemaKind::Results => RunResult::json_schema(),
        SchemaKind::Baseline => Baseline::json_schema(),
        SchemaKind::Comparison => Comparison::json_schema(),
    };
    console::out_document(&format!(
        "{}\n",
        serde_json::to_string_pretty(&schema).expect("schemas serialize")
    ));
}
