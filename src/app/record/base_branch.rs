//! The baseline a gate compares with: on a pull request, as the base branch holds it.

use std::path::Path;

use super::{
    Location, Source, existing_ancestor, fetch, one_line, read, repo_relative, with_token,
};
use crate::app::console::errln;
use crate::app::git::Git;
use crate::baseline::Baseline;
use crate::error::Error;
use crate::github::Context;

/// The baseline a gate compares with, and where it came from.
pub(crate) struct GateBaseline {
    pub baseline: Option<Baseline>,
    /// Where it was read from, or why not from the base branch (for the report).
    pub note: Option<String>,
    /// The pull request's own profile file differs from the base branch's (repository-relative
    /// path): with a changed hash, no comparison is possible until main records one.
    pub pr_changed_profile: Option<String>,
}

/// On a pull request: the baseline as the base branch holds it (fetched from `origin`), so a
/// PR cannot edit what it is judged against; elsewhere, or when git or the branch cannot be
/// reached, the working tree's (with a note saying so).
pub(crate) fn read_for_gate(
    ctx: Option<&Context>,
    location: &Location,
    keep: u32,
    profile_path: &Path,
) -> Result<GateBaseline, Error> {
    let base = ctx
        .and_then(|c| c.pull_request.as_ref().ok())
        .and_then(|pr| pr.base_ref.clone());
    let worktree = |note: Option<String>| -> Result<GateBaseline, Error> {
        Ok(GateBaseline {
            baseline: read(&Source::WorkTree, location, keep)?,
            note,
            pr_changed_profile: None,
        })
    };
    let Some(base) = base else {
        return worktree(None);
    };
    let dir = existing_ancestor(profile_path);
    let git = with_token(Git::new(&dir), ctx);
    let (git, top) = match git.at_top().and_then(|g| g.toplevel().map(|t| (g, t))) {
        Ok(found) => found,
        Err(e) => {
            return worktree(Some(format!(
                "the baseline was read from the working tree, not from the base branch `{base}`: {}",
                one_line(&e.to_string())
            )));
        }
    };
    let tracking = format!("refs/remotes/origin/{base}");
    let fetched = fetch(&git, &base);
    let rev = match (git.resolve(&tracking), fetched) {
        (Ok(rev), Ok(())) => rev,
        (Ok(rev), Err(e)) => {
            errln!(
                "warning: cannot fetch `{base}` ({}); using the local `origin/{base}`",
                one_line(&e.to_string())
            );
            rev
        }
        (Err(_), fetched) => {
            let why = fetched.err().map_or_else(
                || format!("`origin/{base}` is unknown"),
                |e| one_line(&e.to_string()),
            );
            return worktree(Some(format!(
                "the baseline was read from this pull request's files, not from the base branch `{base}` (cannot fetch it: {why}): a change to `baselines/` in this PR would go unnoticed"
            )));
        }
    };
    let source = Source::Commit {
        git: &git,
        rev: rev.clone(),
        top: top.clone(),
    };
    let baseline = read(&source, location, keep)?;
    let profile_rel = repo_relative(&top, profile_path)?;
    let base_profile = git.read(&rev, &profile_rel).ok().flatten();
    let own_profile = crate::app::read_bounded(profile_path, crate::app::Input::Profile).ok();
    let pr_changed_profile = match (base_profile, own_profile, &baseline) {
        (Some(base_text), Some(own), Some(b)) if base_text != own => {
            // The base branch's profile, when it loads, must be the baseline's: otherwise main
            // changed it without recording yet, which is not this pull request's doing.
            let base_hash = crate::profile::Profile::settings_from_yaml_with_files(
                &base_text,
                &profile_rel,
                &crate::profile::NoDataFiles,
                &crate::app::run::process_env,
            )
            .ok()
            .map(|p| p.hash);
            base_hash
                .is_none_or(|h| h == b.profile.hash)
                .then(|| profile_rel.clone())
        }
        _ => None,
    };
    Ok(GateBaseline {
        baseline,
        note: Some(format!(
            "baseline read from the base branch `{base}` (commit {}), not from this pull request's files",
            &rev[..rev.len().min(7)]
        )),
        pr_changed_profile,
    })
}
