//! Confirmation before blocking, for `loadgate gate`: a run that would block is measured once
//! more, in the same step, with the same settings, and blocks only on what fails in both runs
//! (the rule is `compare::confirm`). The final results file stays the first run's; the
//! confirmation run's is kept beside it (`results.confirm.json`) and is the output
//! `confirmation-results`. `record` never confirms; `report` cannot measure, so it combines a
//! confirmation run made elsewhere (input `confirmation`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Mode, Settings, read_saved_results, run_flags};
use crate::app::console::{errln, out};
use crate::app::run::execute_run;
use crate::baseline::Baseline;
use crate::cli::ConfirmChoice;
use crate::compare::{self, Comparison, MetricStatus, ShiftStatus};
use crate::error::Error;
use crate::format::change;
use crate::github::inputs::workspace_relative;
use crate::github::workflow;
use crate::github::{Context, Env};
use crate::profile::Confirm;
use crate::report::{terminal, verdict};
use crate::results::RunResult;

/// What confirmation before blocking needs from the step.
pub(super) struct Confirming<'a> {
    pub(super) settings: &'a Settings,
    pub(super) mode: Mode,
    pub(super) profile: &'a Arc<crate::profile::Profile>,
    pub(super) result: &'a RunResult,
    pub(super) baseline: Option<&'a Baseline>,
    pub(super) results_path: &'a Path,
    pub(super) ctx: Option<&'a Context>,
    pub(super) env: &'a Env,
}

/// Whether a run that would block is measured again: an explicit `on`/`off` (flag, input,
/// `LOADGATE_CONFIRM`) wins, then the profile's `gate.confirm`; otherwise on for `auto` (the
/// action's default) and off when nothing asks (the command line).
fn confirm_enabled(choice: Option<ConfirmChoice>, profile: Option<Confirm>) -> bool {
    match (choice, profile) {
        (Some(ConfirmChoice::On), _) | (Some(ConfirmChoice::Auto), None) => true,
        (Some(ConfirmChoice::Off), _) | (None, None) => false,
        (_, Some(p)) => p == Confirm::On,
    }
}

/// `results.json` → `results.confirm.json`, beside it.
fn confirmation_path(results: &Path) -> PathBuf {
    super::beside(results, "confirm")
}

/// The line announcing a confirmation run (fixed words first: it is printed under Actions).
fn announce(first: &Comparison) -> String {
    let regressions = first.regressions().count();
    let breaches = first.failed_thresholds().count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut what = Vec::new();
    if regressions > 0 {
        what.push(format!(
            "regression in {}",
            plural(regressions, "metric", "metrics")
        ));
    }
    if breaches > 0 {
        what.push(format!(
            "{} breached",
            plural(breaches, "threshold", "thresholds")
        ));
    }
    if what.is_empty() {
        let shifts: Vec<String> = first
            .service_shifts
            .iter()
            .filter(|s| s.status == ShiftStatus::Uniform)
            .map(|s| format!("{} at {}", change(s.ratio), s.label))
            .collect();
        if shifts.is_empty() {
            let open = first
                .metrics
                .iter()
                .filter(|m| m.status == MetricStatus::Inconclusive)
                .count();
            return format!(
                "{} undecided: measuring again to decide (gate.confirm)…",
                plural(open, "metric", "metrics")
            );
        }
        return format!(
            "every endpoint moved together ({}): measuring again to tell a passing swing from one that lasts (gate.confirm)…",
            shifts.join(", ")
        );
    }
    format!(
        "{}: measuring again to confirm before blocking (gate.confirm)…",
        what.join(" and ")
    )
}

/// Confirmation before blocking (see above): the final comparison, and the path of the
/// confirmation run's results when there was one.
pub(super) async fn confirm_before_blocking(
    c: &Confirming<'_>,
    first: Comparison,
) -> Result<(Comparison, Option<PathBuf>), Error> {
    let enabled = confirm_enabled(c.settings.confirm, c.profile.gate.confirm);
    let combine = |first: Comparison, second: &RunResult, path: &Path| {
        crate::app::compare::combine_confirmation(
            first,
            c.result,
            second,
            c.baseline,
            &c.profile.gate,
            &c.profile.thresholds,
            &workspace_relative(c.env, path),
        )
    };
    match c.mode {
        Mode::Record => Ok((first, None)),
        Mode::Report => {
            let Some(spec) = &c.settings.confirmation else {
                let mut first = first;
                if enabled && compare::needs_confirmation(&first) {
                    let note = "confirmation is on, but `mode: report` cannot measure again: pass a confirmation run's results as `confirmation` (with shards: run the matrix again and pass its results); the first run's verdict stands";
                    errln!("note: {note}");
                    first.notes.push(note.into());
                }
                return Ok((first, None));
            };
            let (second, files) = read_saved_results(spec, c.settings.max_skew)?;
            let path = if files > 1 {
                let path = confirmation_path(&c.results_path.with_file_name("merged-results.json"));
                crate::app::write_results(&path, &second)?;
                errln!(
                    "merged {files} confirmation shard results into {}",
                    workspace_relative(c.env, &path)
                );
                path
            } else {
                PathBuf::from(spec.lines().next().unwrap_or_default().trim())
            };
            let combined = combine(first, &second, &path)?;
            if combined.confirmation.is_some() {
                errln!(
                    "confirmation results read from {}",
                    workspace_relative(c.env, &path)
                );
                out!("confirmation run:\n");
                out!("{}", terminal::summary(&second));
                crate::app::print_verdict(&verdict::comparison(&combined));
            }
            Ok((combined, Some(path)))
        }
        Mode::Auto | Mode::Gate | Mode::Run => {
            // A paired comparison is not measured again: what swings both targets cancels.
            if first.paired.is_some() || !(enabled && compare::needs_confirmation(&first)) {
                return Ok((first, None));
            }
            errln!("{}", announce(&first));
            let path = confirmation_path(c.results_path);
            let mut flags = run_flags(c.settings, c.ctx, &path);
            // Measured right after the first run: the synchronized start is behind it.
            flags.start_at = None;
            let second =
                match execute_run(c.profile.clone(), &flags, Some(&c.settings.profile)).await {
                    Ok(second) => second,
                    Err(e) => {
                        errln!("the confirmation run failed: {e}; the first run's verdict stands");
                        let mut first = first;
                        first.overall.reasons.push(format!(
                            "the confirmation run failed ({e}): the first run's verdict stands"
                        ));
                        return Ok((first, None));
                    }
                };
            crate::app::write_results(&path, &second)?;
            errln!(
                "confirmation results written to {}",
                workspace_relative(c.env, &path)
            );
            out!("confirmation run:\n");
            out!("{}", terminal::summary(&second));
            let combined = combine(first, &second, &path)?;
            crate::app::print_verdict(&verdict::comparison(&combined));
            Ok((combined, Some(path)))
        }
    }
}

/// The output `confirmation-results`: the confirmation run's results file, empty when there
/// was none (every declared output is written on every run).
pub(super) fn publish_confirmation_output(
    ctx: &Context,
    env: &Env,
    path: Option<&Path>,
) -> Result<(), Error> {
    let Some(output) = &ctx.output_path else {
        return Ok(());
    };
    let value = path.map(|p| workspace_relative(env, p)).unwrap_or_default();
    Ok(workflow::write_outputs(
        output,
        &[("confirmation-results", &value)],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::GateArgs;

    #[test]
    fn confirmation_is_on_in_the_action_and_off_on_the_command_line_unless_asked() {
        use ConfirmChoice::{Auto, Off, On};
        let cases = [
            // (flag or input, profile's gate.confirm) → confirm?
            (None, None, false),
            (Some(Auto), None, true),
            (Some(Auto), Some(Confirm::Off), false),
            (None, Some(Confirm::On), true),
            (Some(Off), Some(Confirm::On), false),
            (Some(On), Some(Confirm::Off), true),
            (Some(On), None, true),
        ];
        for (choice, profile, expected) in cases {
            assert_eq!(
                confirm_enabled(choice, profile),
                expected,
                "{choice:?} {profile:?}"
            );
        }
        let env = Env::from_pairs([
            ("INPUT_PROFILE", "p.yaml"),
            ("INPUT_CONFIRM", "auto"),
            ("INPUT_CONFIRMATION", "confirm/*.json"),
            ("GITHUB_WORKSPACE", "/ws"),
        ]);
        let s = Settings::resolve(GateArgs::default(), &env).expect("valid");
        assert_eq!(s.confirm, Some(Auto));
        assert_eq!(s.confirmation.as_deref(), Some("/ws/confirm/*.json"));
        let flag = GateArgs {
            confirm: Some(Off),
            ..GateArgs::default()
        };
        assert_eq!(
            Settings::resolve(flag, &env).expect("valid").confirm,
            Some(Off),
            "the flag wins"
        );
        let bad = Env::from_pairs([("INPUT_PROFILE", "p.yaml"), ("INPUT_CONFIRM", "twice")]);
        let err = Settings::resolve(GateArgs::default(), &bad).expect_err("invalid");
        assert!(
            err.to_string().contains(
                "invalid confirm `twice` (flag `--confirm`, action input `confirm`): expected one of `on`, `off`, `auto`"
            ),
            "{err}"
        );
        assert_eq!(
            Settings::resolve(
                GateArgs::default(),
                &Env::from_pairs([("INPUT_PROFILE", "p.yaml")])
            )
            .expect("valid")
            .confirm,
            None
        );
    }

    #[test]
    fn the_confirmation_results_sit_beside_the_results() {
        assert_eq!(
            confirmation_path(Path::new("/ws/loadgate-results/results.json")),
            Path::new("/ws/loadgate-results/results.confirm.json")
        );
        assert_eq!(
            confirmation_path(Path::new("out/run-7.json")),
            Path::new("out/run-7.confirm.json")
        );
    }
}
