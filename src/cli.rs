//! The command line (clap derive only; no logic). Every flag has a `LOADGATE_*` environment
//! fallback; the GitHub Action's inputs map to the same names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod parse;

pub use parse::{
    JOB_INDEX_VAR, START_AT_HORIZON, parse_max_skew, parse_shard, parse_shard_in, parse_start_at,
};

/// loadgate: a CI-native HTTP load tester and statistical performance-regression gate.
#[derive(Debug, Parser)]
#[command(name = "loadgate", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More log output (`-v` info, `-vv` debug); `RUST_LOG` also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a profile's load against a target and write results.json.
    Run(RunArgs),
    /// Check a profile and print the resolved plan, without sending load.
    Validate(ValidateArgs),
    /// Merge the results of shards into one results file (histograms add exactly).
    Merge(MergeArgs),
    /// Compare a run's results with a baseline: the statistical gate (exit code = verdict).
    Compare(CompareArgs),
    /// Manage baseline files.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Run, compare, report and publish in one step: what the GitHub Action runs.
    Gate(GateArgs),
    /// Render a report from saved results (and a baseline): Markdown, HTML, JUnit, JSON, text.
    Report(ReportArgs),
    /// Start the built-in demo service and run the example profile against it.
    Demo(DemoArgs),
    /// Write a starter profile and the GitHub workflows into a repository.
    Init(InitArgs),
    /// Print the JSON Schema of the profile format (or of results files).
    Schema(SchemaArgs),
}

/// `loadgate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The profile (YAML).
    #[arg(env = "LOADGATE_PROFILE")]
    pub profile: PathBuf,
    /// Target, output, sharding and progress.
    #[command(flatten)]
    pub run: RunFlags,
    /// Live metrics.
    #[command(flatten)]
    pub metrics: MetricsFlags,
    /// Locust-compatible CSV files.
    #[command(flatten)]
    pub csv: CsvFlags,
}

/// Flags shared by every command that sends load.
#[derive(Debug, Args, Clone)]
pub struct RunFlags {
    /// Base URL of the service; overrides the profile's `target`.
    #[arg(long, env = "LOADGATE_TARGET")]
    pub target: Option<String>,
    /// Where to write the results.
    #[arg(long, short, env = "LOADGATE_OUT", default_value = "results.json")]
    pub out: PathBuf,
    /// Run share I of N of the load (`1/4` … `4/4`; `auto/4` in a Kubernetes Indexed Job takes
    /// I from `JOB_COMPLETION_INDEX`); merge the shards with `loadgate merge`.
    #[arg(long, env = "LOADGATE_SHARD", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Start the load at this wall-clock time, after the readiness probe and setup, so that
    /// shards started apart send together and their intervals line up: UTC like
    /// `2026-12-03T14:05:00Z`, or Unix seconds like `@1796306700`. A shard ready later than one
    /// interval past it fails rather than send out of step.
    #[arg(long, env = "LOADGATE_START_AT", value_parser = parse_start_at, value_name = "TIME")]
    pub start_at: Option<std::time::SystemTime>,
    /// Engine threads (default: from the load, at most the CPUs).
    #[arg(long, env = "LOADGATE_THREADS")]
    pub threads: Option<usize>,
    /// Skip the profile's `wait_for` readiness probe.
    #[arg(long, env = "LOADGATE_NO_WAIT")]
    pub no_wait: bool,
    /// Commit being measured (default: `GITHUB_SHA`).
    #[arg(long, env = "LOADGATE_GIT_SHA")]
    pub git_sha: Option<String>,
    /// Machine class compared against baselines (default: `RUNNER_OS-RUNNER_ARCH` on GitHub).
    #[arg(long, env = "LOADGATE_RUNNER_CLASS")]
    pub runner_class: Option<String>,
    /// Live progress: a rewritten line on a terminal, periodic lines otherwise.
    #[arg(long, env = "LOADGATE_PROGRESS", value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// Live metrics of a run, for Prometheus.
#[derive(Debug, Args, Clone, Default)]
pub struct MetricsFlags {
    /// Serve live Prometheus/OpenMetrics metrics on `http://ADDR/metrics` while the run goes on
    /// (like `127.0.0.1:9464`; port 0 picks a free one, printed on stderr).
    #[arg(long, env = "LOADGATE_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Write the final metrics snapshot (OpenMetrics text) to this file.
    #[arg(long, env = "LOADGATE_METRICS_OUT", value_name = "FILE")]
    pub metrics_out: Option<PathBuf>,
}

/// CSV files in Locust's `--csv` layout, for spreadsheets and scripts written for Locust.
#[derive(Debug, Args, Clone, Default)]
pub struct CsvFlags {
    /// Also write `PREFIX_stats.csv`, `PREFIX_stats_history.csv`, `PREFIX_failures.csv` and
    /// `PREFIX_exceptions.csv` with Locust's columns (folders in the prefix are created).
    #[arg(long, env = "LOADGATE_CSV", value_name = "PREFIX")]
    pub csv: Option<PathBuf>,
    /// With `--csv`: a history row per endpoint and interval, not only the `Aggregated` row
    /// (Locust's `--csv-full-history`).
    #[arg(long, env = "LOADGATE_CSV_FULL_HISTORY", requires = "csv")]
    pub csv_full_history: bool,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A live line on a terminal, a line every 10 s otherwise.
    Auto,
    /// A line every interval.
    Lines,
    /// Nothing until the summary.
    Off,
}

/// `loadgate validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The profile (YAML).
    #[arg(env = "LOADGATE_PROFILE")]
    pub profile: PathBuf,
    /// Show the plan for share I of N (`2/4`).
    #[arg(long, env = "LOADGATE_SHARD", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
}

/// `loadgate merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard results files.
    #[arg(required = true, num_args = 1..)]
    pub shards: Vec<PathBuf>,
    /// Where to write the merged results.
    #[arg(long, short, env = "LOADGATE_OUT", default_value = "results.json")]
    pub out: PathBuf,
    /// Accept shards whose starts lie up to this far apart (default: one recording interval),
    /// like `10s`; their intervals are then added by index, out of step by up to that much.
    #[arg(long, env = "LOADGATE_MAX_SKEW", value_parser = parse_max_skew, value_name = "DURATION")]
    pub max_skew: Option<std::time::Duration>,
}

/// `loadgate compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The results of the run under test.
    pub results: PathBuf,
    /// The baseline file (a missing file means no baseline yet; a results file also works).
    #[arg(long, env = "LOADGATE_BASELINE")]
    pub baseline: PathBuf,
    /// Profile whose `gate` settings and `thresholds` apply (default: the profile path recorded
    /// in the results, when that file exists).
    #[arg(long, env = "LOADGATE_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Results of a confirmation run (the same profile, measured again): when the run would
    /// block, it blocks only on what also failed in this one.
    #[arg(long, env = "LOADGATE_CONFIRMATION", value_name = "RESULTS")]
    pub confirmation: Option<PathBuf>,
}

/// `loadgate gate`. Every flag may also come from the action input of the same name
/// (`INPUT_<NAME>`) or from `LOADGATE_<NAME>`, in that order after the flag; an empty value is
/// unset. Relative paths are resolved against `GITHUB_WORKSPACE` when it is set.
#[derive(Debug, Args, Default)]
pub struct GateArgs {
    /// The profile (YAML). Input `profile`.
    pub profile: Option<PathBuf>,
    /// Base URL of the service; overrides the profile's `target`. Input `target`.
    #[arg(long)]
    pub target: Option<String>,
    /// The baseline: a folder of run files (default `baselines/<profile name>`; the older
    /// single file `baselines/<profile name>.json` is read too), or a file ending in `.json`.
    /// On a pull request it is read as the base branch holds it. Input `baseline`.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// With `--mode record`: `true` commits the run file and pushes it to the branch, `false`
    /// only writes it (default: `true` under GitHub Actions, else `false`). Input `push`.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "true|false", value_parser = clap::value_parser!(bool))]
    pub push: Option<bool>,
    /// What the step does (default `auto`). Input `mode`.
    #[arg(long, value_enum, ignore_case = true)]
    pub mode: Option<GateMode>,
    /// Token for the PR comment (prefer the environment: `INPUT_GITHUB-TOKEN`,
    /// `LOADGATE_GITHUB_TOKEN`, `GITHUB_TOKEN`). Input `github-token`.
    #[arg(long, hide_env_values = true)]
    pub github_token: Option<String>,
    /// Whether to comment on the pull request (default `auto`). Input `comment`.
    #[arg(long, value_enum, ignore_case = true)]
    pub comment: Option<CommentMode>,
    /// Which verdicts fail the step (default `regression`). Input `fail-on`.
    #[arg(long, value_enum, ignore_case = true)]
    pub fail_on: Option<FailOn>,
    /// A minijinja template replacing the built-in Markdown report. Input `template`.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Results file to write (default `loadgate-results/results.json`; the reports go beside
    /// it). With `--mode report`, the results to read: a file, or a glob of shard files that
    /// are merged. Input `results`.
    #[arg(long)]
    pub results: Option<String>,
    /// Run share I of N of the load (`1/4`, or `auto/4` in a Kubernetes Indexed Job); judge
    /// after merging all shards. Input `shard`.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Start the load at this wall-clock time (UTC like `2026-12-03T14:05:00Z`, or Unix seconds
    /// like `@1796306700`), the same for every shard, so their intervals line up. Input
    /// `start-at`.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,
    /// With `--mode report`: accept shards whose starts lie up to this far apart (default: one
    /// recording interval), like `10s`. Input `max-skew`.
    #[arg(long, value_name = "DURATION", value_parser = parse_max_skew)]
    pub max_skew: Option<std::time::Duration>,
    /// The pull request to comment on, when the event does not say (the `workflow_run`
    /// pattern for fork PRs). Input `pr-number`.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub pr_number: Option<u64>,
    /// Confirmation before blocking (`--confirm` alone: `on`). Unset: the profile's
    /// `gate.confirm`, else off. Input `confirm`.
    #[arg(long, value_enum, ignore_case = true, num_args = 0..=1, default_missing_value = "on")]
    pub confirm: Option<ConfirmChoice>,
    /// With `--mode report`: the results of a confirmation run made elsewhere (a file, or a
    /// glob of shard files that are merged), combined with `--results` when they would block or
    /// are inconclusive.
    /// Input `confirmation`.
    #[arg(long)]
    pub confirmation: Option<String>,
    /// Paired A/B comparison: measure this second target (the base branch's deployment, or
    /// staging) in blocks alternating with the target under test (ABBA…, `gate.paired`), and
    /// judge the target under test against it block by block; no baseline file is read.
    /// Input `baseline-target`.
    #[arg(long, value_name = "URL")]
    pub baseline_target: Option<String>,
}

/// What a `gate` step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateMode {
    /// `record` on a push to the default branch, else `gate`.
    Auto,
    /// Run and compare with the baseline; comment on the PR; fail on a regression.
    Gate,
    /// Run and add the run to the baseline.
    Record,
    /// Run and report, without a baseline.
    Run,
    /// No load: judge and publish saved `--results` (merging shard files).
    Report,
}

/// Whether a `gate` step comments on the pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CommentMode {
    /// On pull requests; a failure to comment is a warning.
    #[value(alias = "true")]
    Auto,
    /// On pull requests; a failure (or no PR to comment on) is exit code 4.
    Always,
    /// Never.
    #[value(alias = "false")]
    Never,
}

/// Which verdicts fail a `gate` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Regressions, breached thresholds, untrusted or incompatible runs.
    Regression,
    /// Also inconclusive comparisons.
    Inconclusive,
    /// Nothing: the step reports only.
    Never,
}

/// Confirmation before blocking, as the flag or input asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfirmChoice {
    /// A run that would block is measured again, and blocks only on what fails in both runs; an
    /// inconclusive run is measured again too, and what the second run decides passes.
    #[value(alias = "true")]
    On,
    /// Never measured again.
    #[value(alias = "false")]
    Off,
    /// The profile's `gate.confirm`, else on (the action's default).
    Auto,
}

/// `loadgate report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The results of a run.
    pub results: PathBuf,
    /// Compare with this baseline file (without it, the report shows the run and its
    /// thresholds: verdict `no baseline`).
    #[arg(long, env = "LOADGATE_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Profile whose `gate` settings and `thresholds` apply (default: the profile path recorded
    /// in the results, when that file exists).
    #[arg(long, env = "LOADGATE_PROFILE")]
    pub profile: Option<PathBuf>,
    /// What to render.
    #[arg(long, short, value_enum, env = "LOADGATE_FORMAT", default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// A minijinja template replacing the built-in Markdown report (same variables; it may
    /// `{% include "report.md.j2" %}`).
    #[arg(long, env = "LOADGATE_TEMPLATE")]
    pub template: Option<PathBuf>,
    /// Write here instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Results of a confirmation run, combined with the run's when it would block or is
    /// inconclusive (needs `--baseline` to judge both).
    #[arg(long, env = "LOADGATE_CONFIRMATION", value_name = "RESULTS")]
    pub confirmation: Option<PathBuf>,
    /// Locust-compatible CSV files of the run.
    #[command(flatten)]
    pub csv: CsvFlags,
}

/// Formats of `loadgate report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// GitHub-flavoured Markdown (the PR comment and job summary).
    #[value(alias = "markdown")]
    Md,
    /// A self-contained HTML page with charts.
    Html,
    /// JUnit XML: a test case per gated metric, threshold and check.
    Junit,
    /// The comparison as JSON (`loadgate schema comparison`).
    Json,
    /// Plain text, as printed after a run.
    Text,
}

/// `loadgate baseline …`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Append a run to a baseline file, dropping the oldest beyond `--keep` (creates the file).
    Update(BaselineUpdateArgs),
}

/// `loadgate baseline update`.
#[derive(Debug, Args)]
pub struct BaselineUpdateArgs {
    /// The results of a complete, trusted run.
    pub results: PathBuf,
    /// The baseline: a file (`.json`), or a folder of run files (one file per run; the older
    /// single file `<folder>.json` beside it is moved into the folder).
    #[arg(long, env = "LOADGATE_BASELINE")]
    pub baseline: PathBuf,
    /// Commit the change and push it to the checkout's branch on `origin`, rebuilt on the
    /// new tip and retried when another push came first.
    #[arg(long)]
    pub push: bool,
    /// Runs to keep (default: the profile's `gate.baseline_runs`, else 10).
    #[arg(long, env = "LOADGATE_KEEP", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub keep: Option<u32>,
    /// Profile whose `gate.baseline_runs` applies (default: the profile path recorded in the
    /// results, when that file exists).
    #[arg(long, env = "LOADGATE_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Discard the runs already in the baseline (after a runner change, say).
    #[arg(long)]
    pub reset: bool,
}

/// `loadgate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run for this long instead of the example profile's duration (like `10s`); the shipped
    /// baseline measured the full demo, so the run is then not compared (only `--baseline`
    /// compares it).
    #[arg(long, env = "LOADGATE_DEMO_DURATION")]
    pub duration: Option<String>,
    /// Only serve the demo service (on `--port`) until Ctrl-C; send no load.
    #[arg(long)]
    pub serve: bool,
    /// Port for `--serve` (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Base latency the demo service adds to every response (like `5ms`). The default is long
    /// enough that the service's timer, not the machine, sets the latency, so the shipped
    /// baseline applies on other machines too.
    #[arg(long, default_value = "20ms")]
    pub latency: String,
    /// Extra latency for one endpoint, as `ENDPOINT=FACTOR` (`customer=1.3` makes it 30% slower).
    #[arg(long = "slow")]
    pub slow: Vec<String>,
    /// Share of requests answered with 500 (like `1%`).
    #[arg(long, default_value = "0%")]
    pub error_rate: String,
    /// Requests the service handles at once; more wait in a queue (0: unlimited).
    #[arg(long, default_value_t = 0)]
    pub capacity: usize,
    /// Where to write the results.
    #[arg(long, short, default_value = "results.json")]
    pub out: PathBuf,
    /// Compare with this baseline instead of the one shipped with loadgate (`baselines/demo.json`).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

/// `loadgate init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository's root.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The profile's name (names the baseline file; default: the directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// The service's base URL for local runs.
    #[arg(long)]
    pub target: Option<String>,
    /// Also write the fork-safe pair and the sharded workflow.
    #[arg(long)]
    pub all_workflows: bool,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
}

/// `loadgate schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum, default_value_t = SchemaKind::Profile)]
    pub kind: SchemaKind,
}

/// Schemas loadgate can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// The profile format.
    Profile,
    /// The results file format.
    Results,
    /// The baseline file format.
    Baseline,
    /// The comparison (verdict) format.
    Comparison,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
