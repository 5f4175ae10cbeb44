//! The baseline side of a `gate` step: saying where it was read from, and recording a run in it.

use crate::app::record::{
    GateBaseline, Location, Push, Recording, record_and_push, record_in_worktree,
};
use crate::baseline::BaselineRun;
use crate::compare::{Comparison, Verdict};
use crate::error::Error;
use crate::results::RunResult;

/// Records a trusted, complete run at `location`: committed and pushed (`push`), or only
/// written for the workflow to commit. An `Error::Push` means the run was good but did not
/// reach the branch.
pub(super) fn record(
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
pub(super) fn explain_baseline(comparison: &mut Comparison, read: &GateBaseline) {
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
