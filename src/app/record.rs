//! Baselines as the repository holds them (layout: [`crate::baseline::store`]). The gate on a
//! pull request reads them from the base branch, never from the PR's files; `mode: record`
//! writes the run and pushes a commit of it, rebuilt on the branch's new tip when another job
//! pushed first, so concurrent recordings never lose a run.
//!
//! The commit is made from the branch's tip in a private index (not with `git pull --rebase`
//! on the checkout): each attempt re-reads the directory as the tip holds it, adds the run and
//! prunes the window again, so there is nothing to conflict and nothing to resolve.

mod base_branch;
mod plan;
mod push;

use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::git::{Git, GitError};
use crate::baseline::Baseline;
use crate::baseline::store::{self, RunFile};
use crate::error::Error;
use crate::github::Context;

pub(crate) use base_branch::{GateBaseline, read_for_gate};
pub(crate) use plan::{Recording, record_in_worktree};
pub(crate) use push::{Push, record_and_push};

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
