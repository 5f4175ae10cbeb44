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
use std::path::{Path, PathBuf};

use crate::baseline::Baseline;
use crate::cli::{BaselineCommand, Cli, Command, MergeArgs, SchemaArgs, SchemaKind};
use crate::compare::Comparison;
use crate::error::{Error, ExitCode};
use crate::profile::Profile;
use crate::results::RunResult;

pub use run::{execute_run, execute_run_with, load_profile, resolve_target};

/// Runs the parsed command line. A failure to write stdout (other than a closed pipe, which
/// is quiet: see [`console`]) fails a command that would have passed; a command that fails
/// anyway keeps its code and warns about it.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    let outcome = dispatch(cli);
    match (outcome, console::stdout_failure()) {
        (Ok(ExitCode::Pass), Some(source)) => Err(Error::Stdout(source)),
        (outcome, Some(source)) => {
            errln!("warning: cannot write to stdout: {source}");
            outcome
        }
        (outcome, None) => outcome,
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
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

/// The kinds of file loadgate reads, each with the largest size it accepts: a file beyond it
/// (a runaway generator, `/dev/zero`, a wrong path) is refused with the limit named, instead of
/// filling the memory. Only regular files are read: a FIFO without a writer would block forever,
/// and a device never ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input {
    /// A profile, or a report template: 4 MiB.
    Profile,
    /// A data feed (`data:`): 256 MiB.
    Data,
    /// A results file, or one baseline file: 1 GiB (an hour at 1 s intervals and a hundred
    /// endpoints is about 200 MiB).
    Results,
}

impl Input {
    /// The largest accepted size, in bytes.
    pub(crate) const fn limit(self) -> u64 {
        match self {
            Input::Profile => 4 << 20,
            Input::Data => 256 << 20,
            Input::Results => 1 << 30,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Input::Profile => "a profile or template",
            Input::Data => "a data file",
            Input::Results => "a results or baseline file",
        }
    }
}

/// Reads a whole file of `kind`, bounded by its limit (see [`Input`]); the error says why.
pub(crate) fn read_bounded(path: &Path, kind: Input) -> std::io::Result<String> {
    use std::io::Read as _;
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    // Looked at before opening: opening a FIFO blocks until a writer comes.
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(invalid("it is a directory: give the path of a file".into()));
    }
    if !meta.is_file() {
        return Err(invalid(
            "it is not a regular file (a FIFO, a device or a socket): give the path of a file"
                .into(),
        ));
    }
    let limit = kind.limit();
    let too_big = || {
        invalid(format!(
            "it is larger than the {} MiB {} may be",
            limit >> 20,
            kind.what()
        ))
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(text)
}

/// Reads a whole file of `kind`, naming it on failure.
pub(crate) fn read_input(path: &Path, kind: Input) -> Result<String, Error> {
    read_bounded(path, kind).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a profile or template file, naming it on failure.
pub(crate) fn read_file(path: &Path) -> Result<String, Error> {
    read_input(path, Input::Profile)
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

/// Checks, before any load is sent, that results can be written to `path`: not a directory,
/// not a special file (a device, a FIFO, a socket: the write goes through a temporary file and
/// a rename, which would replace it), in a folder that can be created and written to.
pub(crate) fn check_writable(path: &Path, flag: &str) -> Result<(), Error> {
    let usage = |why: String| Error::Usage(format!("{flag} `{}`: {why}", path.display()));
    if let Some(why) = unwritable_destination(path) {
        return Err(usage(why.into()));
    }
    let fail =
        |e: std::io::Error| usage(format!("cannot be written ({e}): choose a writable path"));
    let owner = ownership::Owner::for_path(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ownership::Owner::create_dirs(owner, parent).map_err(fail)?;
    }
    let probe = temporary_path(path);
    std::fs::File::create(&probe).map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes measured results to `path`; when that fails, to a file in the system's temporary
/// folder instead, so a finished run is never lost. Returns where they went.
pub(crate) fn save_results(path: &Path, result: &RunResult) -> Result<PathBuf, Error> {
    let Err(first) = write_results(path, result) else {
        return Ok(path.to_path_buf());
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let fallback = std::env::temp_dir().join(format!(
        "loadgate-results-{stamp}-{}.json",
        std::process::id()
    ));
    match write_results(&fallback, result) {
        Ok(()) => {
            errln!(
                "warning: {first}; the results were written to {} instead",
                fallback.display()
            );
            Ok(fallback)
        }
        Err(second) => {
            errln!("warning: {first}; writing the results to the temporary folder failed too");
            Err(second)
        }
    }
}

/// Why `path` cannot be written through a temporary file and a rename: a directory, or a special
/// file (a device, a FIFO, a socket) that the rename would replace. `None` when it is a regular
/// file or does not exist.
fn unwritable_destination(path: &Path) -> Option<&'static str> {
    let m = std::fs::metadata(path).ok()?;
    if m.is_dir() {
        Some("is a directory: give a file path, like `results.json` inside it")
    } else if !m.is_file() {
        Some(
            "is not a regular file (a device, a FIFO or a socket): give the path of a regular file; loadgate writes through a temporary file and a rename, and does not replace special files",
        )
    } else {
        None
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
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
    if let Some(why) = unwritable_destination(path) {
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            why,
        )));
    }
    let tmp = temporary_path(path);
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
    let text = read_input(path, Input::Results)?;
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
    let (merged, skew) =
        crate::results::merge_files_within(parts, args.max_skew).map_err(Error::Merge)?;
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
        "merged {} shard results into {} (their starts lay {} ms apart)",
        args.shards.len(),
        args.out.display(),
        skew.as_millis()
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
