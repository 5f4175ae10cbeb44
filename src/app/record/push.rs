//! Recording a run with a commit pushed to `origin`, retried on the new tip when another push
//! came first.

use std::time::{Duration, Instant};

use super::plan::{Recording, apply_to_worktree, plan};
use super::{Source, existing_ancestor, fetch, one_line, repo_relative, with_token};
use crate::app::console::errln;
use crate::app::git::{Change, Git, GitError, Identity};
use crate::error::Error;
use crate::github::Context;

/// Push attempts before giving up, and the time they may take together.
const PUSH_ATTEMPTS: u32 = 6;
const PUSH_DEADLINE: Duration = Duration::from_secs(120);

/// Where and how to push.
pub(crate) struct Push<'a> {
    /// The branch (default: `GITHUB_REF_NAME`'s branch, else the checkout's).
    pub branch: Option<String>,
    /// For the token and the commit's author.
    pub ctx: Option<&'a Context>,
}

/// Records the run with a commit pushed to `origin`: re-planned on the branch's tip at every
/// attempt, retried with jittered backoff when another push came first. The working tree gets
/// the same files. Returns what it did.
pub(crate) fn record_and_push(rec: &Recording<'_>, push: &Push<'_>) -> Result<String, Error> {
    let shown = rec.shown;
    let fail = |why: String| Error::Push(format!("the run was not recorded in `{shown}`: {why}"));
    let git = with_token(Git::new(&existing_ancestor(rec.location.path())), push.ctx);
    let (git, top) = git
        .at_top()
        .and_then(|g| g.toplevel().map(|t| (g, t)))
        .map_err(|e| {
            fail(format!(
                "{}; record inside a git checkout, or without pushing (`push: false`, `--push false`)",
                one_line(&e.to_string())
            ))
        })?;
    let branch = match &push.branch {
        Some(b) => b.clone(),
        None => git
            .run(&["symbolic-ref", "--quiet", "--short", "HEAD"])
            .map(|b| b.trim().to_string())
            .map_err(|_| {
                fail("the checkout is on no branch: say which branch to push to".into())
            })?,
    };
    let identity = identity(&git, push.ctx.is_some());
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        fetch(&git, &branch).map_err(|e| fail(push_hint(&branch, &e)))?;
        let tip = git
            .resolve(&format!("refs/remotes/origin/{branch}"))
            .map_err(|e| fail(one_line(&e.to_string())))?;
        let source = Source::Commit {
            git: &git,
            rev: tip.clone(),
            top: top.clone(),
        };
        let (changes, words) = plan(&source, rec)?;
        let mut git_changes = Vec::new();
        for (path, text) in &changes {
            let rel = repo_relative(&top, path)?;
            match text {
                Some(text) if source.read(path)?.as_deref() == Some(text.as_str()) => {}
                Some(text) => git_changes.push(Change::Write(rel, text.clone())),
                None if source.read(path)?.is_some() => git_changes.push(Change::Delete(rel)),
                None => {}
            }
        }
        if git_changes.is_empty() {
            apply_to_worktree(&changes)?;
            return Ok(format!(
                "the run is already in `{shown}` on `{branch}`: nothing to push"
            ));
        }
        let message = format!(
            "loadgate: record a baseline run of `{}`{} [skip ci]\n\n{}\n",
            rec.profile.name,
            rec.run
                .git
                .as_ref()
                .map(|g| format!(" ({})", &g.sha[..g.sha.len().min(7)]))
                .unwrap_or_default(),
            words
        );
        let commit = git
            .commit(&tip, &git_changes, &message, &identity)
            .map_err(|e| fail(one_line(&e.to_string())))?;
        match git.run(&[
            "push",
            "--quiet",
            "origin",
            &format!("{commit}:refs/heads/{branch}"),
        ]) {
            Ok(_) => {
                apply_to_worktree(&changes)?;
                return Ok(format!(
                    "recorded the run in `{shown}` as {words}; pushed to `{branch}` (commit {}, attempt {attempt} of {PUSH_ATTEMPTS})",
                    &commit[..7]
                ));
            }
            Err(e) if is_rejection(e.stderr()) => {
                let elapsed = started.elapsed();
                if attempt >= PUSH_ATTEMPTS || elapsed >= PUSH_DEADLINE {
                    return Err(fail(format!(
                        "the push to `{branch}` was rejected {attempt} times in {}s (other pushes kept landing first); run the job again",
                        elapsed.as_secs()
                    )));
                }
                let wait = backoff(attempt).min(PUSH_DEADLINE.saturating_sub(elapsed));
                errln!(
                    "push to `{branch}` rejected (another push came first): trying again on the new tip in {} ms",
                    wait.as_millis()
                );
                std::thread::sleep(wait);
            }
            Err(e) => return Err(fail(push_hint(&branch, &e))),
        }
    }
}

/// Jittered exponential backoff: 0.25–0.5 s doubling per attempt, at most 8 s.
fn backoff(attempt: u32) -> Duration {
    let base_ms = (250u64 << attempt.min(5).saturating_sub(1)).min(8_000);
    Duration::from_millis(base_ms + fastrand::u64(0..=base_ms))
}

/// Another push landed first (or won the race for the ref): worth trying again on the new tip.
fn is_rejection(stderr: &str) -> bool {
    [
        "non-fast-forward",
        "fetch first",
        "[rejected]",
        "failed to update ref",
        "cannot lock ref",
        "[remote rejected]",
    ]
    .iter()
    .any(|s| stderr.contains(s))
}

/// git's error, with what to do when it is about credentials or permissions.
fn push_hint(branch: &str, e: &GitError) -> String {
    let text = e.stderr().to_ascii_lowercase();
    let credentials = [
        "authentication failed",
        "could not read username",
        "terminal prompts disabled",
        "permission to",
        "403",
        "denied",
        "write access",
    ]
    .iter()
    .any(|s| text.contains(s));
    let first = one_line(&e.to_string());
    if credentials {
        format!(
            "{first}; no write access to `{branch}`: give the recording job `permissions: contents: write` (loadgate pushes with the action's `github-token`; with `persist-credentials: true` the checkout's credentials are used instead), or set `push: false` and commit the folder yourself"
        )
    } else {
        first
    }
}

fn identity(git: &Git, under_actions: bool) -> Identity {
    if under_actions {
        return Identity {
            name: "github-actions[bot]".into(),
            email: "41898282+github-actions[bot]@users.noreply.github.com".into(),
        };
    }
    let config = |key: &str| {
        git.run(&["config", key])
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Identity {
        name: config("user.name").unwrap_or_else(|| "loadgate".into()),
        email: config("user.email").unwrap_or_else(|| "loadgate@localhost".into()),
    }
}
