//! Baselines as the repository holds them (layout: [`crate::baseline::store`]). The gate on a
//! pull request reads them from the base branch, never from the PR's files; `mode: record`
//! writes the run and pushes a commit of it, rebuilt on the branch's new tip when another job
//! pushed first, so concurrent recordings never lose a run.
//!
//! The commit is made from the branch's tip in a private index (not with `git pull --rebase`
//! on the checkout): each attempt re-reads the directory as the tip holds it, adds the run and
//! prunes the window again, so there is nothing to conflict and nothing to resolve.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::console::errln;
use super::git::{Change, Git, GitError, Identity};
use crate::baseline::store::{self, RunFile};
use crate::baseline::{Baseline, BaselineRun};
use crate::error::Error;
use crate::github::Context;
use crate::results::ProfileRef;

/// Push attempts before giving up, and the time they may take together.
const PUSH_ATTEMPTS: u32 = 6;
const PUSH_DEADLINE: Duration = Duration::from_secs(120);

/// Where a profile's baseline lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A folder of run files (`baselines/<name>/`), and beside it the single file of earlier
    /// versions (`baselines/<name>.json`), read too and split up by the next recording.
    Directory { dir: PathBuf, legacy: PathBuf },
    /// One file holding every run (a path ending in `.json`: the earlier layout, still
    /// written when asked for by name).
    File(PathBuf),
}

impl Location {
    /// A path ending in `.json` (or an existing file) is a single file; anything else a
    /// folder of run files.
    pub(crate) fn of(path: &Path) -> Location {
        if path.extension().is_some_and(|e| e == "json") || path.is_file() {
            Location::File(path.to_path_buf())
        } else {
            Location::Directory {
                dir: path.to_path_buf(),
                legacy: PathBuf::from(format!("{}.json", path.display())),
            }
        }
    }

    /// The path the messages name.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Location::Directory { dir, .. } => dir,
            Location::File(file) => file,
        }
    }
}

/// Where files are read from: the working tree, or a commit.
pub(crate) enum Source<'a> {
    WorkTree,
    Commit {
        git: &'a Git,
        rev: String,
        top: PathBuf,
    },
}

impl Source<'_> {
    fn read(&self, path: &Path) -> Result<Option<String>, Error> {
        match self {
            Source::WorkTree => match super::read_bounded(path, super::Input::Results) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(Error::Read {
                    path: path.to_path_buf(),
                    source,
                }),
            },
            Source::Commit { git, rev, top } => git
                .read(rev, &repo_relative(top, path)?)
                .map_err(|e| read_error(path, &e)),
        }
    }

    /// The `.json` files directly in `dir`.
    fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        let mut names = match self {
            Source::WorkTree => match std::fs::read_dir(dir) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(source) => {
                    return Err(Error::Read {
                        path: dir.to_path_buf(),
                        source,
                    });
                }
            },
            Source::Commit { git, rev, top } => git
                .list(rev, &repo_relative(top, dir)?)
                .map_err(|e| read_error(dir, &e))?,
        };
        names.retain(|n| Path::new(n).extension().is_some_and(|e| e == "json"));
        names.sort();
        Ok(names)
    }
}

fn read_error(path: &Path, e: &GitError) -> Error {
    Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn parse(path: &Path, text: &str) -> Result<Baseline, Error> {
    Baseline::from_json(text).map_err(|source| Error::Baseline {
        path: path.to_path_buf(),
        source,
    })
}

/// The run files of a folder and the legacy single file beside it.
fn load_directory(
    source: &Source<'_>,
    dir: &Path,
    legacy: &Path,
) -> Result<(Vec<RunFile>, Option<Baseline>), Error> {
    let mut files = Vec::new();
    for name in source.list(dir)? {
        let path = dir.join(&name);
        if let Some(text) = source.read(&path)? {
            files.push(RunFile {
                baseline: parse(&path, &text)?,
                name,
            });
        }
    }
    let legacy = match source.read(legacy)? {
        Some(text) => Some(parse(legacy, &text)?),
        None => None,
    };
    Ok((files, legacy))
}

/// The baseline at `location` as `source` holds it, the window (`keep` runs per runner class)
/// applied; `None` when there is no run yet.
pub(crate) fn read(
    source: &Source<'_>,
    location: &Location,
    keep: u32,
) -> Result<Option<Baseline>, Error> {
    match location {
        Location::File(path) => source.read(path)?.map(|t| parse(path, &t)).transpose(),
        Location::Directory { dir, legacy } => {
            let (files, old) = load_directory(source, dir, legacy)?;
            store::assemble(&files, old.as_ref(), keep)
                .map(|a| a.baseline)
                .map_err(|source| Error::Baseline {
                    path: dir.clone(),
                    source,
                })
        }
    }
}

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
    let own_profile = super::read_bounded(profile_path, super::Input::Profile).ok();
    let pr_changed_profile = match (base_profile, own_profile, &baseline) {
        (Some(base_text), Some(own), Some(b)) if base_text != own => {
            // The base branch's profile, when it loads, must be the baseline's: otherwise main
            // changed it without recording yet, which is not this pull request's doing.
            let base_hash = crate::profile::Profile::settings_from_yaml_with_files(
                &base_text,
                &profile_rel,
                &crate::profile::NoDataFiles,
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

/// Fetches `origin`'s `branch` into `origin/<branch>` (one commit deep in a shallow clone, as
/// CI checkouts are).
fn fetch(git: &Git, branch: &str) -> Result<(), GitError> {
    let refspec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
    let shallow = git
        .run(&["rev-parse", "--is-shallow-repository"])
        .is_ok_and(|s| s.trim() == "true");
    let mut args = vec!["fetch", "--quiet", "--no-tags"];
    if shallow {
        args.push("--depth=1");
    }
    args.extend(["origin", refspec.as_str()]);
    git.run(&args).map(|_| ())
}

/// The action's token for GitHub's server, unless the checkout left its own credentials
/// (`persist-credentials: true`; two authorization headers are refused).
fn with_token(git: Git, ctx: Option<&Context>) -> Git {
    let Some((ctx, token)) = ctx.and_then(|c| c.token.as_ref().map(|t| (c, t))) else {
        return git;
    };
    let remote = git
        .run(&["remote", "get-url", "origin"])
        .unwrap_or_default();
    let server = ctx.server_url.trim_end_matches('/');
    let has_own = git
        .run(&["config", "--get-regexp", r"^http\..*\.extraheader$"])
        .is_ok_and(|s| !s.trim().is_empty());
    if !remote.trim().starts_with(server) || has_own {
        return git;
    }
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("x-access-token:{}", token.expose()));
    git.with_config(
        &format!("http.{server}/.extraheader"),
        &format!("AUTHORIZATION: basic {basic}"),
    )
}

/// A run to record.
pub(crate) struct Recording<'a> {
    pub location: &'a Location,
    /// The location as messages name it (workspace-relative under the action).
    pub shown: &'a str,
    pub profile: &'a ProfileRef,
    pub run: BaselineRun,
    pub keep: u32,
}

/// The changes recording makes, as `source` holds the baseline (absolute paths), and what they
/// amount to in words.
fn plan(source: &Source<'_>, rec: &Recording<'_>) -> Result<(Vec<FileChange>, String), Error> {
    let baseline_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Baseline { path, source }
    };
    match rec.location {
        Location::File(path) => {
            let mut baseline = match source.read(path)? {
                Some(text) => parse(path, &text)?,
                None => Baseline::new(rec.profile),
            };
            let appended = baseline
                .append(rec.run.clone(), rec.profile, rec.keep, false)
                .map_err(baseline_error(path))?;
            let restarted = if appended.restarted.is_some() {
                " (the profile changed: started afresh)"
            } else {
                ""
            };
            Ok((
                vec![(path.clone(), Some(baseline.to_json()))],
                format!("{} of at most {} runs{restarted}", appended.runs, rec.keep),
            ))
        }
        Location::Directory { dir, legacy } => {
            let (files, old) = load_directory(source, dir, legacy)?;
            let plan =
                store::plan_record(&files, old.as_ref(), rec.profile, rec.run.clone(), rec.keep)
                    .map_err(baseline_error(dir))?;
            let mut changes: Vec<FileChange> = plan
                .write
                .into_iter()
                .map(|(name, text)| (dir.join(name), Some(text)))
                .collect();
            changes.extend(plan.delete.iter().map(|name| (dir.join(name), None)));
            if plan.delete_legacy {
                changes.push((legacy.clone(), None));
            }
            let mut words = format!(
                "`{}`: {} of at most {} runs of runner class `{}`",
                plan.name, plan.runs, rec.keep, rec.run.runner.class
            );
            if !plan.delete.is_empty() {
                let _ = write!(words, ", {} older removed", plan.delete.len());
            }
            if plan.discarded_other_profile > 0 {
                let _ = write!(
                    words,
                    " (the profile changed: {} runs of the earlier profile dropped)",
                    plan.discarded_other_profile
                );
            }
            if plan.delete_legacy {
                words.push_str("; the runs of the single baseline file moved into the folder");
            }
            Ok((changes, words))
        }
    }
}

/// A file to write (`Some`) or delete (`None`).
type FileChange = (PathBuf, Option<String>);

fn apply_to_worktree(changes: &[FileChange]) -> Result<(), Error> {
    for (path, text) in changes {
        match text {
            Some(text) => super::write_file(path, text)?,
            None => match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Write {
                        path: path.clone(),
                        source,
                    });
                }
            },
        }
    }
    Ok(())
}

/// Records the run in the working tree only (the user commits it). Returns what it did.
pub(crate) fn record_in_worktree(rec: &Recording<'_>) -> Result<String, Error> {
    let (changes, words) = plan(&Source::WorkTree, rec)?;
    apply_to_worktree(&changes)?;
    Ok(format!(
        "recorded the run in `{}` as {words}; commit `{}`",
        rec.shown, rec.shown
    ))
}

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

/// `path` relative to the repository's top folder, `/`-separated (it need not exist).
fn repo_relative(top: &Path, path: &Path) -> Result<String, Error> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?
            .join(path)
    };
    let base = existing_ancestor(&absolute);
    let rest = absolute.strip_prefix(&base).unwrap_or(Path::new(""));
    let canonical = base.canonicalize().unwrap_or(base).join(rest);
    let top = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
    let rel = canonical.strip_prefix(&top).map_err(|_| {
        Error::Usage(format!(
            "`{}` is outside the git repository `{}`",
            path.display(),
            top.display()
        ))
    })?;
    Ok(rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/"))
}

/// The nearest folder of `path` (itself included) that exists.
fn existing_ancestor(path: &Path) -> PathBuf {
    let mut current = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    while !current.is_dir() {
        if !current.pop() {
            return PathBuf::from(".");
        }
    }
    current
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect::<Vec<_>>()
        .join(" ")
}
