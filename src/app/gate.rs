//! `loadgate gate`: run, compare, report and publish in one step — the GitHub Action's
//! entrypoint. Settings come from flags, action inputs (`INPUT_*`) or `LOADGATE_*`.
//!
//! Order (the action contract): results and reports are written, then the job summary, step
//! outputs and annotations, then the PR comment, then the process exits with the verdict's code.

mod baseline;
mod confirm;
mod paired;
mod publish;
mod saved;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::baseline::{explain_baseline, record};
use self::confirm::{Confirming, confirm_before_blocking, publish_confirmation_output};
use self::publish::{Reports, publish_comment, publish_failure, publish_workflow_files};
use self::saved::read_saved_results;
use self::settings::{DEFAULT_RESULTS, Settings};
use super::console::{errln, out};
use super::record::{Location, Push, read_for_gate};
use super::report::renderer;
use super::run::{execute_run, load_profile, load_profile_settings};

use crate::cli::{CommentMode, FailOn, GateArgs, GateMode as Mode, ProgressMode, RunFlags};
use crate::compare::Verdict;
use crate::error::{Error, ExitCode};
use crate::github::comment::PublishRequirement;
use crate::github::context::Token;
use crate::github::inputs::{in_workspace, workspace_relative};
use crate::github::workflow;
use crate::github::{Context, Env};
use crate::report::{terminal, verdict};

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

#[cfg(test)]
mod tests {
    use super::*;

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
