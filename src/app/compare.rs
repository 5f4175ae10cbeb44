//! `loadgate compare` and `loadgate baseline update`: read the files, find the profile whose
//! `gate` settings and thresholds apply, run the gate, print the verdict.

use std::path::{Path, PathBuf};

use super::console::errln;
use super::run::load_profile_settings;
use crate::baseline::{Baseline, BaselineRun, DEFAULT_KEEP, Restart};
use crate::cli::{BaselineUpdateArgs, CompareArgs};
use crate::compare::{self, Comparison, GateInput};
use crate::error::{Error, ExitCode};
use crate::profile::{GateConfig, Profile, Threshold};
use crate::report;
use crate::results::RunResult;

pub(super) fn compare(args: &CompareArgs) -> Result<ExitCode, Error> {
    let current = super::read_results(&args.results)?;
    let baseline = read_baseline(&args.baseline)?;
    let settings = GateSettings::resolve(&current, args.profile.as_deref())?;
    let mut comparison = compare::evaluate(GateInput {
        current: &current,
        baseline: baseline.as_ref(),
        gate: &settings.gate,
        thresholds: &settings.thresholds,
    })?;
    if baseline.is_none() {
        comparison.notes.push(format!(
            "baseline file `{}` does not exist yet: record one with `loadgate baseline update`",
            args.baseline.display()
        ));
    }
    comparison.notes.extend(settings.note);
    if let Some(path) = &args.confirmation {
        let second = super::read_results(path)?;
        comparison = combine_confirmation(
            comparison,
            &current,
            &second,
            baseline.as_ref(),
            &settings.gate,
            &settings.thresholds,
            &path.display().to_string(),
        )?;
    }
    super::print_verdict(&report::verdict::comparison(&comparison));
    Ok(ExitCode::of_verdict(comparison.overall.verdict))
}

/// Combines `first`, a comparison of `first_result`, with a confirmation run's results judged
/// against the same baseline and settings (confirmation before blocking). A first comparison
/// that would not block is kept as it is, with a note that the confirmation was not needed.
/// `source` names the confirmation results in notes.
pub(crate) fn combine_confirmation(
    mut first: Comparison,
    first_result: &RunResult,
    second_result: &RunResult,
    baseline: Option<&Baseline>,
    gate: &GateConfig,
    thresholds: &[Threshold],
    source: &str,
) -> Result<Comparison, Error> {
    let (a, b) = (&first_result.profile, &second_result.profile);
    if a.name != b.name || a.hash != b.hash {
        return Err(Error::Usage(format!(
            "the confirmation results `{source}` measured profile `{}` ({}), not the run's `{}` ({}): pass the results of the same profile measured again",
            b.name,
            short(&b.hash),
            a.name,
            short(&a.hash)
        )));
    }
    if !compare::needs_confirmation(&first) {
        first.notes.push(format!(
            "confirmation results `{source}` not used: the run neither blocked nor left a metric undecided"
        ));
        return Ok(first);
    }
    let second = compare::evaluate(GateInput {
        current: second_result,
        baseline,
        gate,
        thresholds,
    })?;
    let mut combined = compare::confirm(&first, &second);
    combined
        .notes
        .push(format!("the confirmation run's results: `{source}`"));
    Ok(combined)
}

fn short(hash: &str) -> &str {
    let h = hash.strip_prefix("sha256:").unwrap_or(hash);
    h.get(..12).unwrap_or(h)
}

pub(super) fn baseline_update(args: &BaselineUpdateArgs) -> Result<ExitCode, Error> {
    let result = super::read_results(&args.results)?;
    let keep = match args.keep {
        Some(k) => k,
        None => GateSettings::resolve(&result, args.profile.as_deref())?
            .profile_keep
            .unwrap_or(DEFAULT_KEEP),
    };
    let baseline_error = |source| Error::Baseline {
        path: args.baseline.clone(),
        source,
    };
    let run = BaselineRun::from_result(&result).map_err(|source| Error::Baseline {
        path: args.results.clone(),
        source,
    })?;
    let location = super::record::Location::of(&args.baseline);
    if args.push || matches!(location, super::record::Location::Directory { .. }) {
        if args.reset {
            return Err(Error::Usage(
                "`--reset` applies to a single baseline file; in a folder of run files, delete the files instead"
                    .into(),
            ));
        }
        let shown = args.baseline.display().to_string();
        let recording = super::record::Recording {
            location: &location,
            shown: &shown,
            profile: &result.profile,
            run,
            keep,
        };
        let message = if args.push {
            let push = super::record::Push {
                branch: None,
                ctx: None,
            };
            super::record::record_and_push(&recording, &push)?
        } else {
            super::record::record_in_worktree(&recording)?
        };
        errln!("{message}");
        return Ok(ExitCode::Pass);
    }
    let mut baseline =
        read_baseline(&args.baseline)?.unwrap_or_else(|| Baseline::new(&result.profile));
    let appended = baseline
        .append(run, &result.profile, keep, args.reset)
        .map_err(baseline_error)?;
    super::write_file(&args.baseline, &baseline.to_json())?;
    match appended.restarted {
        Some(Restart::ProfileChanged {
            old,
            new,
            discarded,
        }) => errln!(
            "the profile changed ({old} → {new}): started the baseline afresh, discarding {discarded} old runs"
        ),
        Some(Restart::Reset { discarded }) if discarded > 0 => {
            errln!("--reset: discarded {discarded} old runs");
        }
        _ => {}
    }
    errln!(
        "recorded the run in {} ({} of at most {keep} runs{})",
        args.baseline.display(),
        appended.runs,
        if appended.dropped > 0 {
            format!(", dropped the oldest {}", appended.dropped)
        } else {
            String::new()
        }
    );
    Ok(ExitCode::Pass)
}

/// Reads a baseline: a file, or a folder of run files (a path without `.json`, with the older
/// single file `<path>.json` beside it read too); `None` when neither exists (no baseline yet).
/// A folder's runs are all read (up to 100 per runner class): the recorder prunes the window.
pub(crate) fn read_baseline(path: &Path) -> Result<Option<Baseline>, Error> {
    let location = super::record::Location::of(path);
    if !matches!(location, super::record::Location::File(_)) {
        return super::record::read(&super::record::Source::WorkTree, &location, 100);
    }
    let text = match super::read_bounded(path, super::Input::Results) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    Baseline::from_json(&text)
        .map(Some)
        .map_err(|source| Error::Baseline {
            path: path.to_path_buf(),
            source,
        })
}

/// The gate settings and thresholds that apply to saved results, and where they came from.
pub(crate) struct GateSettings {
    /// The profile's `gate` section (defaults without a profile).
    pub gate: GateConfig,
    /// The profile's thresholds (none without a profile).
    pub thresholds: Vec<Threshold>,
    /// `gate.baseline_runs` of the profile, when one was found.
    pub profile_keep: Option<u32>,
    /// A remark for the report about the source of the settings.
    pub note: Option<String>,
}

impl GateSettings {
    /// From `--profile`, else the profile path recorded in the results when that file exists,
    /// else the defaults (and no thresholds, which the report says).
    pub(crate) fn resolve(result: &RunResult, flag: Option<&Path>) -> Result<Self, Error> {
        let recorded = result
            .profile
            .path
            .as_ref()
            .map(PathBuf::from)
            .filter(|p| p.is_file());
        let Some(path) = flag.map(Path::to_path_buf).or(recorded) else {
            return Ok(Self {
                gate: GateConfig::default(),
                thresholds: Vec::new(),
                profile_keep: None,
                note: Some(
                    "profile not found: default gate settings, thresholds not checked (pass `--profile`)"
                        .into(),
                ),
            });
        };
        let profile = load_profile_settings(&path)?;
        if profile.name != result.profile.name {
            return Err(Error::Usage(format!(
                "profile `{}` ({}) is not the profile of the results (`{}`): pass the right `--profile`",
                profile.name,
                path.display(),
                result.profile.name
            )));
        }
        let note = (profile.hash != result.profile.hash).then(|| {
            format!(
                "`{}` has changed since the run; its gate settings and thresholds were used",
                path.display()
            )
        });
        Ok(Self::of_profile(profile, note))
    }

    /// The settings of a profile in hand.
    pub(crate) fn of_profile(profile: Profile, note: Option<String>) -> Self {
        Self {
            profile_keep: Some(profile.gate.baseline_runs),
            gate: profile.gate,
            thresholds: profile.thresholds,
            note,
        }
    }
}

/// Gates a run against a baseline with a profile in hand, prints the verdict, and returns it.
pub(crate) fn gate_run(
    result: &RunResult,
    baseline: Option<&Baseline>,
    profile: &Profile,
) -> Result<Comparison, Error> {
    Ok(compare::evaluate(GateInput {
        current: result,
        baseline,
        gate: &profile.gate,
        thresholds: &profile.thresholds,
    })?)
}
