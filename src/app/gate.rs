//! `loadgate gate`: run, compare, report and publish in one step — the GitHub Action's
//! entrypoint. Settings come from flags, action inputs (`INPUT_*`) or `LOADGATE_*`.
//!
//! Order (the action contract): results and reports are written, then the job summary, step
//! outputs and annotations, then the PR comment, then the process exits with the verdict's code.

mod confirm;
mod paired;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::confirm::{Confirming, confirm_before_blocking, publish_confirmation_output};
use super::console::{errln, out};
use super::record::{
    GateBaseline, Location, Push, Recording, read_for_gate, record_and_push, record_in_worktree,
};
use super::report::{render, renderer};
use super::run::{execute_run, load_profile, load_profile_settings};
use crate::baseline::BaselineRun;
use clap::ValueEnum;

use crate::cli::{
    CommentMode, ConfirmChoice, FailOn, GateArgs, GateMode as Mode, ProgressMode, RunFlags,
    parse_max_skew, parse_shard_in, parse_start_at,
};
use crate::compare::{Comparison, Verdict};
use crate::error::{Error, ExitCode};
use crate::github::comment::{CommentSettings, PublishRequirement, publish_sticky_comment};
use crate::github::context::Token;
use crate::github::inputs::{in_workspace, input, resolve, workspace_relative};
use crate::github::workflow::{self, Annotation, Level};
use crate::github::{CommentOutcome, Context, Env};
use crate::report::{Format, Renderer, terminal, verdict};
use crate::results::RunResult;

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Auto => "auto",
            Mode::Gate => "gate",
            Mode::Record => "record",
            Mode::Run => "run",
            Mode::Report => "report",
        })
    }
}

/// The resolved settings of one `gate` step.
#[derive(Debug)]
struct Settings {
    profile: PathBuf,
    target: Option<String>,
    /// Where `target` comes from, for errors about it.
    target_origin: &'static str,
    baseline: Option<PathBuf>,
    mode: Mode,
    comment: CommentMode,
    fail_on: FailOn,
    template: Option<PathBuf>,
    results: String,
    shard: Option<(u32, u32)>,
    /// The synchronized start of the load (the first run only).
    start_at: Option<std::time::SystemTime>,
    /// `mode: report`: how far apart shards may have started.
    max_skew: Option<std::time::Duration>,
    pr_number: Option<u64>,
    token: Option<String>,
    /// `None`: neither flag nor input (the profile's `gate.confirm`, else off).
    confirm: Option<ConfirmChoice>,
    /// `mode: report`: the results of a confirmation run made elsewhere.
    confirmation: Option<String>,
    /// A paired A/B comparison's base target.
    baseline_target: Option<String>,
    /// `mode: record`: commit and push the run (`None`: under GitHub Actions, yes).
    push: Option<bool>,
}

/// Results go here unless `results` says otherwise; the reports go beside them.
const DEFAULT_RESULTS: &str = "loadgate-results/results.json";

/// A setting from its flag (parsed by clap), else the action input or `LOADGATE_<NAME>`
/// parsed with `parse`, whose message is prefixed with the setting's name.
fn parsed<T>(
    env: &Env,
    flag: Option<T>,
    name: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, Error> {
    if flag.is_some() {
        return Ok(flag);
    }
    resolve(env, None, name)
        .map(|value| parse(&value).map_err(|m| Error::Usage(format!("`{name}`: {m}"))))
        .transpose()
}

/// A choice among the names of `T` (any case; aliases such as `true` too): the flag (parsed by
/// clap), else the action input or `LOADGATE_<NAME>`.
fn choice<T: ValueEnum + Copy>(env: &Env, flag: Option<T>, name: &str) -> Result<Option<T>, Error> {
    if flag.is_some() {
        return Ok(flag);
    }
    resolve(env, None, name)
        .map(|value| {
            T::from_str(&value, true).map_err(|_| {
                let names: Vec<String> = T::value_variants()
                    .iter()
                    .filter_map(ValueEnum::to_possible_value)
                    .map(|v| format!("`{}`", v.get_name()))
                    .collect();
                Error::Usage(format!(
                    "invalid {name} `{value}` (flag `--{name}`, action input `{name}`): expected one of {}",
                    names.join(", ")
                ))
            })
        })
        .transpose()
}

impl Settings {
    fn resolve(args: GateArgs, env: &Env) -> Result<Settings, Error> {
        let path = |flag: Option<PathBuf>, name: &str| {
            resolve(env, flag.map(|p| p.display().to_string()), name)
                .map(|p| in_workspace(env, Path::new(&p)))
        };
        let profile = path(args.profile, "profile").ok_or_else(|| {
            Error::Usage(
                "no profile: pass it as the first argument, set the action input `profile`, or LOADGATE_PROFILE"
                    .into(),
            )
        })?;
        let shard = parsed(env, args.shard, "shard", |s| {
            parse_shard_in(s, |name| env.var(name).map(str::to_string))
        })?;
        let start_at = parsed(env, args.start_at, "start-at", parse_start_at)?;
        let max_skew = parsed(env, args.max_skew, "max-skew", parse_max_skew)?;
        let pr_number = parsed(env, args.pr_number, "pr-number", |n| {
            n.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("invalid pr-number `{n}`: expected the pull request's number, like `42`")
            })
        })?;
        let results = resolve(env, args.results, "results")
            .unwrap_or_else(|| DEFAULT_RESULTS.to_string())
            .lines()
            .map(|l| in_workspace(env, Path::new(l.trim())).display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let target_origin = match (&args.target, input(env, "target")) {
            (Some(flag), _) if !flag.trim().is_empty() => "the flag `--target`",
            (_, Some(_)) => "the action input `target`",
            _ if env.var("LOADGATE_TARGET").is_some() => "`LOADGATE_TARGET`",
            _ => "the profile's `target:` (the action input `target` overrides it)",
        };
        Ok(Settings {
            profile,
            target: resolve(env, args.target, "target"),
            target_origin,
            baseline: path(args.baseline, "baseline"),
            mode: choice(env, args.mode, "mode")?.unwrap_or(Mode::Auto),
            comment: choice(env, args.comment, "comment")?.unwrap_or(CommentMode::Auto),
            fail_on: choice(env, args.fail_on, "fail-on")?.unwrap_or(FailOn::Regression),
            template: path(args.template, "template"),
            results,
            shard,
            start_at,
            max_skew,
            pr_number,
            token: resolve(env, args.github_token, "github-token"),
            confirm: choice(env, args.confirm, "confirm")?,
            push: parsed(env, args.push, "push", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(format!(
                        "invalid push `{v}` (flag `--push`, action input `push`): expected one of `true`, `false`"
                    )),
                }
            })?,
            confirmation: resolve(env, args.confirmation, "confirmation").map(|spec| {
                spec.lines()
                    .map(|l| in_workspace(env, Path::new(l.trim())).display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            baseline_target: resolve(env, args.baseline_target, "baseline-target"),
        })
    }
}

impl Settings {
    /// An error about the target, naming where the target was set (under the action: the input
    /// `target`); other errors unchanged.
    fn about_target(&self, error: Error) -> Error {
        let origin = self.target_origin;
        match error {
            Error::NotReady(m) => Error::NotReady(format!("{m}; the target is {origin}")),
            Error::Usage(m) => Error::Usage(format!("{m}; the target is {origin}")),
            other => other,
        }
    }
}

impl Mode {
    fn resolve(self, ctx: Option<&Context>) -> Mode {
        match self {
            Mode::Auto if ctx.is_some_and(Context::is_push_to_default_branch) => Mode::Record,
            Mode::Auto => Mode::Gate,
            other => other,
        }
    }
}

pub(super) async fn gate(args: GateArgs) -> Result<ExitCode, Error> {
    let env = Env::from_process();
    let settings = Settings::resolve(args, &env)?;
    let mut ctx = Context::from_process()?;
    if let Some(ctx) = &mut ctx {
        if let Some(token) = &settings.token {
            ctx.token = Some(Token::new(token.clone()));
        }
        if let Some(n) = settings.pr_number {
            ctx.set_pull_request_number(n);
        }
    }
    let mode = settings.mode.resolve(ctx.as_ref());
    let mut progress = Progress::default();
    match judge(&env, &settings, ctx.clone(), mode, &mut progress).await {
        Err(error) if !progress.published => {
            if let Some(ctx) = &ctx {
                publish_failure(ctx, &env, &settings, mode, progress.profile, &error).await;
            }
            Err(error)
        }
        outcome => outcome,
    }
}

/// How far [`judge`] got, for [`publish_failure`].
#[derive(Debug, Default)]
struct Progress {
    /// The profile's name, once the profile loaded.
    profile: Option<String>,
    /// The verdict's summary and outputs are written: a later error does not replace them.
    published: bool,
}

/// Everything after the settings: load the profile, run (or read saved results), judge,
/// write the reports, publish.
async fn judge(
    env: &Env,
    settings: &Settings,
    ctx: Option<Context>,
    mode: Mode,
    progress: &mut Progress,
) -> Result<ExitCode, Error> {
    // Report mode renders saved results: the run's secrets may be absent (the fork-safe
    // comment workflow), and nothing is sent, so only the profile's settings are read.
    let profile = Arc::new(if mode == Mode::Report {
        load_profile_settings(&settings.profile)?
    } else {
        load_profile(&settings.profile)?
    });
    progress.profile = Some(profile.name.clone());
    errln!(
        "loadgate gate: profile `{}`, mode {mode}",
        settings.profile.display()
    );
    let mut results_path =
        PathBuf::from(settings.results.lines().next().unwrap_or(DEFAULT_RESULTS));
    let mut paired_comparison = None;
    if mode != Mode::Report {
        // Before any load: a run whose results cannot be written is a run lost.
        super::check_writable(&results_path, "results")?;
    }
    let result = if mode == Mode::Report {
        let (result, files) = read_saved_results(&settings.results, settings.max_skew)?;
        if files > 1 {
            // The merged run is the one judged: keep it beside the shards.
            results_path = results_path.with_file_name("merged-results.json");
            super::write_results(&results_path, &result)?;
            errln!(
                "merged {files} shard results into {}",
                workspace_relative(env, &results_path)
            );
        }
        result
    } else if let Some(base) = &settings.baseline_target {
        if mode != Mode::Gate {
            return Err(Error::Usage(format!(
                "`baseline-target` compares two targets, which only `mode: gate` does (mode is {mode}): set it on pull requests only"
            )));
        }
        let (result, comparison) =
            paired::measure_paired(env, settings, &profile, ctx.as_ref(), &results_path, base)
                .await?;
        paired_comparison = Some(comparison);
        result
    } else {
        let flags = run_flags(settings, ctx.as_ref(), &results_path);
        super::run::resolve_target(&profile, settings.target.as_deref())
            .map_err(|e| settings.about_target(e))?;
        let result = execute_run(profile.clone(), &flags, Some(&settings.profile))
            .await
            .map_err(|e| match e {
                Error::NotReady(_) => settings.about_target(e),
                other => other,
            })?;
        // The reports go beside the results, wherever they had to go.
        results_path = super::save_results(&results_path, &result)?;
        errln!(
            "results written to {}",
            workspace_relative(env, &results_path)
        );
        result
    };
    out!("{}", terminal::summary(&result));
    if let Some(c) = &result.capacity {
        out!("{}", crate::report::capacity::terminal(c));
    }
    let outputs_dir = results_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();

    if result.shard.count > 1 && !result.shard.is_complete() {
        // One shard says nothing about the service: it is judged after the merge.
        errln!(
            "shard {} of {}: merge all shards' results, then run with `mode: report`",
            result
                .shard
                .indices
                .iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(","),
            result.shard.count
        );
        if let Some(path) = ctx.as_ref().and_then(|c| c.output_path.clone()) {
            workflow::write_outputs(
                &path,
                &[("results", &workspace_relative(env, &results_path))],
            )?;
        }
        return Ok(if result.partial {
            ExitCode::Untrusted
        } else {
            ExitCode::Pass
        });
    }

    let baseline_path = settings
        .baseline
        .clone()
        .unwrap_or_else(|| in_workspace(env, &Path::new("baselines").join(&profile.name)));
    let location = Location::of(&baseline_path);
    let gate_baseline = match mode {
        Mode::Run => None,
        _ if paired_comparison.is_some() => None,
        _ => Some(read_for_gate(
            ctx.as_ref(),
            &location,
            profile.gate.baseline_runs,
            &settings.profile,
        )?),
    };
    let baseline = gate_baseline.as_ref().and_then(|g| g.baseline.clone());
    let paired = paired_comparison.is_some();
    let mut comparison = match paired_comparison {
        Some(c) => c,
        None => super::compare::gate_run(&result, baseline.as_ref(), &profile)?,
    };
    if let Some(g) = &gate_baseline {
        explain_baseline(&mut comparison, g);
    }
    if mode != Mode::Run && baseline.is_none() && !paired {
        comparison.notes.push(format!(
            "baseline `{}` does not exist yet: a push to the default branch records it (`mode: record`)",
            workspace_relative(env, &baseline_path)
        ));
    }
    super::print_verdict(&verdict::comparison(&comparison));
    let (mut comparison, confirmation_results) = confirm_before_blocking(
        &Confirming {
            settings,
            mode,
            profile: &profile,
            result: &result,
            baseline: baseline.as_ref(),
            results_path: &results_path,
            ctx: ctx.as_ref(),
            env,
        },
        comparison,
    )
    .await?;

    let mut refused_record = None;
    let mut push_failed = false;
    if mode == Mode::Record {
        let push = Push {
            branch: ctx
                .as_ref()
                .and_then(|c| c.git_ref.as_deref())
                .and_then(|r| r.strip_prefix("refs/heads/"))
                .map(str::to_string),
            ctx: ctx.as_ref(),
        };
        let push = settings.push.unwrap_or(ctx.is_some()).then_some(push);
        let shown = workspace_relative(env, &baseline_path);
        match record(
            &result,
            (&location, &shown),
            push.as_ref(),
            &profile,
            &comparison,
        ) {
            Ok(message) => {
                errln!("{message}");
                comparison.notes.push(message);
            }
            Err(error) => {
                let why = error.to_string();
                errln!("not recorded: {why}");
                comparison
                    .notes
                    .push(format!("not recorded in the baseline: {why}"));
                push_failed = matches!(error, Error::Push(_));
                refused_record = Some(why);
            }
        }
    }

    let renderer = renderer(settings.template.as_deref())?;
    let reports = Reports::write(&renderer, &outputs_dir, &result, &comparison)?;
    let mut exit = exit_code(
        mode,
        settings.fail_on,
        comparison.overall.verdict,
        refused_record.is_some(),
    );
    if push_failed {
        exit = ExitCode::Publish;
    }

    let Some(ctx) = ctx else {
        errln!(
            "reports written to {} (not under GitHub Actions: no job summary or comment)",
            reports.paths()
        );
        return Ok(exit);
    };
    publish_workflow_files(
        &ctx,
        env,
        &reports,
        &result,
        &comparison,
        &results_path,
        (mode == Mode::Record).then_some(baseline_path.as_path()),
    )?;
    publish_confirmation_output(&ctx, env, confirmation_results.as_deref())?;
    progress.published = true;
    if let Some(outcome) =
        publish_comment(&ctx, settings, mode, &profile.name, &reports.markdown).await
    {
        let requirement = if settings.comment == CommentMode::Always {
            PublishRequirement::Required
        } else {
            PublishRequirement::BestEffort
        };
        exit = outcome.exit_code(exit, requirement);
    }
    Ok(exit)
}

/// The sticky PR comment, when the settings want one (`None` when not): a failure to post is a
/// warning annotation, and the comment's address becomes the `comment-url` output.
async fn publish_comment(
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
async fn publish_failure(
    ctx: &Context,
    env: &Env,
    settings: &Settings,
    mode: Mode,
    profile: Option<String>,
    error: &Error,
) {
    let profile = profile.or_else(|| {
        super::read_bounded(&settings.profile, super::Input::Profile)
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

/// The step's exit code. Recording on main fails only when the run could not be recorded (a
/// regression there is reported, not blocked: main is what it is, and the commit step must
/// run); otherwise the verdict's code under `fail-on`.
fn exit_code(mode: Mode, fail_on: FailOn, verdict: Verdict, refused_record: bool) -> ExitCode {
    match (mode, fail_on, verdict) {
        (Mode::Record, ..) if refused_record => ExitCode::Untrusted,
        (Mode::Record, ..) | (_, FailOn::Never, _) => ExitCode::Pass,
        (_, FailOn::Inconclusive, Verdict::Inconclusive) => ExitCode::Regression,
        _ => ExitCode::of_verdict(verdict),
    }
}

/// `results.json` → `results.<tag>.json`, beside it (the confirmation run's and the paired base
/// target's results).
fn beside(results: &Path, tag: &str) -> PathBuf {
    let stem = results
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("results");
    let ext = results
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("json");
    results.with_file_name(format!("{stem}.{tag}.{ext}"))
}

/// The flags of a run the step makes (the run itself, and a confirmation run).
fn run_flags(settings: &Settings, ctx: Option<&Context>, out: &Path) -> RunFlags {
    RunFlags {
        target: settings.target.clone(),
        out: out.to_path_buf(),
        shard: settings.shard,
        start_at: settings.start_at,
        threads: None,
        no_wait: false,
        git_sha: ctx.and_then(|c| c.head_sha.clone()),
        runner_class: None,
        progress: ProgressMode::Auto,
    }
}

/// Records a trusted, complete run at `location`: committed and pushed (`push`), or only
/// written for the workflow to commit. An `Error::Push` means the run was good but did not
/// reach the branch.
fn record(
    result: &RunResult,
    (location, shown): (&Location, &str),
    push: Option<&Push<'_>>,
    profile: &crate::profile::Profile,
    comparison: &Comparison,
) -> Result<String, Error> {
    if comparison.overall.verdict == Verdict::Untrusted {
        return Err(Error::Usage(comparison.overall.reasons.join("; ")));
    }
    let run = BaselineRun::from_result(result).map_err(|e| Error::Usage(e.to_string()))?;
    let recording = Recording {
        location,
        shown,
        profile: &result.profile,
        run,
        keep: profile.gate.baseline_runs,
    };
    match push {
        Some(push) => record_and_push(&recording, push),
        None => record_in_worktree(&recording),
    }
}

/// Says where the baseline was read from, and plainly when the pull request's own change to
/// the profile is why the comparison is impossible (the step then fails like any incompatible
/// baseline: a PR must not escape the gate by touching its profile).
fn explain_baseline(comparison: &mut Comparison, read: &GateBaseline) {
    if let Some(note) = &read.note {
        comparison.notes.push(note.clone());
    }
    let Some(path) = &read.pr_changed_profile else {
        return;
    };
    if comparison.overall.verdict != Verdict::Incompatible {
        return;
    }
    let plain = format!(
        "this pull request changes the profile (`{path}`): the comparison is impossible until main records a baseline with it; review the change, merge it past this check, and the next push to main records the new baseline"
    );
    for check in &mut comparison.validity {
        if check.check == crate::compare::CheckKind::Profile
            && check.status == crate::compare::CheckStatus::Failed
        {
            let old = std::mem::replace(&mut check.detail, plain.clone());
            for reason in &mut comparison.overall.reasons {
                if *reason == old {
                    reason.clone_from(&plain);
                }
            }
        }
    }
    if !comparison.overall.reasons.contains(&plain) {
        comparison.overall.reasons.insert(0, plain);
    }
    comparison.overall.summary =
        "this pull request changes the profile: no comparison is possible".into();
}

/// The reports written beside the results.
struct Reports {
    markdown: String,
    markdown_path: PathBuf,
    html_path: PathBuf,
    junit_path: PathBuf,
    comparison_path: PathBuf,
}

impl Reports {
    /// The files written, as given (`report.md` beside a results file in the working
    /// directory, which has no parent to name).
    fn paths(&self) -> String {
        [
            &self.markdown_path,
            &self.html_path,
            &self.junit_path,
            &self.comparison_path,
        ]
        .map(|p| format!("`{}`", p.display()))
        .join(", ")
    }

    fn write(
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
        super::write_file(&reports.markdown_path, &reports.markdown)?;
        super::write_file(
            &reports.html_path,
            &render(renderer, Format::Html, result, comparison)?,
        )?;
        super::write_file(
            &reports.junit_path,
            &render(renderer, Format::Junit, result, comparison)?,
        )?;
        super::write_file(&reports.comparison_path, &comparison.to_json())?;
        Ok(reports)
    }
}

/// Job summary, step outputs and annotations.
fn publish_workflow_files(
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
    super::console::commands(&text);
}

/// Saved results for `mode: report`: one file, or several (lines, or a `*` pattern in the file
/// name) that are shards of one run and get merged; with the number of files read.
fn read_saved_results(
    spec: &str,
    max_skew: Option<std::time::Duration>,
) -> Result<(RunResult, usize), Error> {
    let mut paths = Vec::new();
    for line in spec.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = Path::new(line);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.contains(['*', '?', '[', '{']) {
            let pattern = file_pattern(name).map_err(|e| {
                Error::Usage(format!(
                    "`results`: `{line}` is not a valid pattern ({e}): expected a file name with `*` or `?`, like `shards/shard-*.json`"
                ))
            })?;
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|source| Error::Read {
                    path: dir.to_path_buf(),
                    source,
                })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| pattern.is_match(n))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::Usage(format!(
                    "no results file matches `{line}`: check the `results` input and the downloaded artifacts"
                )));
            }
            paths.extend(found);
        } else {
            paths.push(path.to_path_buf());
        }
    }
    let mut parts = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), super::read_results(p)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let files = parts.len();
    if files == 1 {
        return Ok((parts.remove(0).1, 1));
    }
    let (merged, _) = crate::results::merge_files_within(parts, max_skew)
        .map_err(|e| Error::Merge(e.to_string()))?;
    Ok((merged, files))
}

/// A file-name pattern of the `results` input: `*` any run of characters, `?` one, `[…]` a
/// class, `{a,b}` alternatives (globset's syntax, within one folder).
fn file_pattern(name: &str) -> Result<globset::GlobMatcher, globset::Error> {
    Ok(globset::GlobBuilder::new(name)
        .literal_separator(true)
        .build()?
        .compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_patterns() {
        let matches = |p: &str, n: &str| file_pattern(p).expect("valid").is_match(n);
        assert!(matches("shard-*.json", "shard-1.json"));
        assert!(matches("shard-?.json", "shard-2.json"));
        assert!(!matches("shard-?.json", "shard-10.json"));
        assert!(matches("*", "x"));
        assert!(!matches("*.json", "x.yaml"));
        assert!(matches("shard-[12].json", "shard-2.json"));
        assert!(matches("{a,b}.json", "b.json"));
        assert!(file_pattern("shard-[.json").is_err());
    }

    #[test]
    fn settings_from_inputs_with_workspace_paths() {
        let env = Env::from_pairs([
            ("INPUT_PROFILE", "perf/api.yaml"),
            ("INPUT_MODE", "Record"),
            ("INPUT_FAIL-ON", "never"),
            ("INPUT_COMMENT", ""),
            ("INPUT_SHARD", "2/4"),
            ("GITHUB_WORKSPACE", "/ws"),
        ]);
        let s = Settings::resolve(GateArgs::default(), &env).expect("valid");
        assert_eq!(s.profile, Path::new("/ws/perf/api.yaml"));
        assert_eq!(s.mode, Mode::Record);
        assert_eq!(s.fail_on, FailOn::Never);
        assert_eq!(s.comment, CommentMode::Auto);
        assert_eq!(s.shard, Some((1, 4)));
        assert_eq!(s.results, "/ws/loadgate-results/results.json");

        let bad = Env::from_pairs([("INPUT_PROFILE", "p.yaml"), ("INPUT_MODE", "gat")]);
        let err = Settings::resolve(GateArgs::default(), &bad).expect_err("invalid");
        assert!(err.to_string().contains("invalid mode `gat`"), "{err}");
        assert!(
            Settings::resolve(GateArgs::default(), &Env::from_pairs::<&str, &str>([])).is_err()
        );
    }

    #[test]
    fn fail_on_maps_verdicts_and_recording_fails_only_when_refused() {
        let code = |mode, fail_on, verdict| exit_code(mode, fail_on, verdict, false);
        let (g, r) = (Mode::Gate, FailOn::Regression);
        assert_eq!(code(g, r, Verdict::Regression), ExitCode::Regression);
        assert_eq!(code(g, r, Verdict::Inconclusive), ExitCode::Pass);
        assert_eq!(
            code(g, FailOn::Inconclusive, Verdict::Inconclusive),
            ExitCode::Regression
        );
        assert_eq!(code(g, FailOn::Never, Verdict::Untrusted), ExitCode::Pass);
        assert_eq!(code(g, r, Verdict::Untrusted), ExitCode::Untrusted);
        assert_eq!(code(g, r, Verdict::Incompatible), ExitCode::Untrusted);
        assert_eq!(code(Mode::Record, r, Verdict::Regression), ExitCode::Pass);
        assert_eq!(code(Mode::Record, r, Verdict::Incompatible), ExitCode::Pass);
        assert_eq!(
            exit_code(Mode::Record, FailOn::Never, Verdict::Untrusted, true),
            ExitCode::Untrusted
        );
    }
}
