//! Running the `git` binary (the action's image has it; so do CI runners): reading files as a
//! branch holds them, and writing a commit without touching the working tree or its index.
//!
//! Every call passes `safe.directory=*` (the action's container runs as root in a workspace
//! the runner's user owns, which git otherwise refuses). A token for GitHub's server goes in
//! through `GIT_CONFIG_*` environment variables, never in arguments or in `.git/config`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A git command failed, or git is not there.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    /// The binary could not be started.
    #[error("cannot run `git` ({0}): install git, or record without pushing (`push: false`)")]
    Missing(#[source] std::io::Error),
    /// It ran and failed.
    #[error("`git {args}` failed: {stderr}")]
    Failed {
        /// The arguments, for the message.
        args: String,
        /// What git said (trimmed).
        stderr: String,
    },
}

impl GitError {
    /// What git printed, empty when it could not start.
    pub(crate) fn stderr(&self) -> &str {
        match self {
            GitError::Missing(_) => "",
            GitError::Failed { stderr, .. } => stderr,
        }
    }
}

/// git in one repository (any folder of its working tree).
#[derive(Debug, Clone)]
pub(crate) struct Git {
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Git {
    /// git run in `dir`.
    pub(crate) fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
            env: Vec::new(),
        }
    }

    /// The same, with a variable set for every later command.
    pub(crate) fn with_env(mut self, name: &str, value: &str) -> Git {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a configuration value for every later command, through the environment
    /// (`GIT_CONFIG_COUNT`), so it shows neither in the process list nor in `.git/config`.
    pub(crate) fn with_config(self, key: &str, value: &str) -> Git {
        let n = self
            .env
            .iter()
            .filter(|(k, _)| k.starts_with("GIT_CONFIG_KEY_"))
            .count();
        let mut git = self
            .with_env(&format!("GIT_CONFIG_KEY_{n}"), key)
            .with_env(&format!("GIT_CONFIG_VALUE_{n}"), value);
        git.env.retain(|(k, _)| k != "GIT_CONFIG_COUNT");
        git.with_env("GIT_CONFIG_COUNT", &(n + 1).to_string())
    }

    /// Runs `git ARGS`, returning its standard output.
    pub(crate) fn run(&self, args: &[&str]) -> Result<String, GitError> {
        self.run_with(args, None, &[])
    }

    /// Runs `git ARGS` with `input` on its standard input and `env` set for this call.
    pub(crate) fn run_with(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<String, GitError> {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.dir)
            .args(["-c", "safe.directory=*"])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(GitError::Missing)?;
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            stdin.write_all(input).map_err(GitError::Missing)?;
        }
        let output = child.wait_with_output().map_err(GitError::Missing)?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(GitError::Failed {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    /// The top folder of the working tree.
    pub(crate) fn toplevel(&self) -> Result<PathBuf, GitError> {
        self.run(&["rev-parse", "--show-toplevel"])
            .map(|s| PathBuf::from(s.trim()))
    }

    /// The same git, run in the top folder (paths of `update-index` and others are relative to
    /// where git runs).
    pub(crate) fn at_top(mut self) -> Result<Git, GitError> {
        self.dir = self.toplevel()?;
        Ok(self)
    }

    /// The commit `rev` names.
    pub(crate) fn resolve(&self, rev: &str) -> Result<String, GitError> {
        self.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .map(|s| s.trim().to_string())
    }

    /// Names of the files directly in folder `dir` (repository-relative, `/`-separated) at
    /// commit `rev`.
    pub(crate) fn list(&self, rev: &str, dir: &str) -> Result<Vec<String>, GitError> {
        let listing = self.run(&[
            "ls-tree",
            "--full-tree",
            "--name-only",
            rev,
            "--",
            &format!("{dir}/"),
        ])?;
        Ok(listing
            .lines()
            .filter_map(|p| p.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// A file's text at commit `rev`; `None` when the commit has no such file.
    pub(crate) fn read(&self, rev: &str, path: &str) -> Result<Option<String>, GitError> {
        if self
            .run(&["ls-tree", "--full-tree", "--name-only", rev, "--", path])?
            .trim()
            != path
        {
            return Ok(None);
        }
        self.run(&["cat-file", "blob", &format!("{rev}:{path}")])
            .map(Some)
    }
}

/// A change to a file of a commit.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// Write this text at this repository-relative path.
    Write(String, String),
    /// Delete this path.
    Delete(String),
}

/// Who a commit is by.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub name: String,
    pub email: String,
}

impl Git {
    /// A commit on top of `parent` with `changes`, built in a private index: neither the
    /// working tree nor the repository's index changes. Returns its id.
    pub(crate) fn commit(
        &self,
        parent: &str,
        changes: &[Change],
        message: &str,
        by: &Identity,
    ) -> Result<String, GitError> {
        let git_dir = PathBuf::from(self.run(&["rev-parse", "--absolute-git-dir"])?.trim());
        let index = git_dir.join(format!("loadgate-index-{}", std::process::id()));
        let index_env = index.display().to_string();
        let env = [("GIT_INDEX_FILE", index_env.as_str())];
        let result = (|| {
            self.run_with(&["read-tree", parent], None, &env)?;
            for change in changes {
                match change {
                    Change::Write(path, text) => {
                        let blob = self.run_with(
                            &["hash-object", "-w", "--stdin"],
                            Some(text.as_bytes()),
                            &env,
                        )?;
                        let info = format!("100644,{},{path}", blob.trim());
                        self.run_with(
                            &["update-index", "--add", "--cacheinfo", &info],
                            None,
                            &env,
                        )?;
                    }
                    Change::Delete(path) => {
                        self.run_with(&["update-index", "--force-remove", "--", path], None, &env)?;
                    }
                }
            }
            let tree = self.run_with(&["write-tree"], None, &env)?;
            let who = [
                ("GIT_AUTHOR_NAME", by.name.as_str()),
                ("GIT_AUTHOR_EMAIL", by.email.as_str()),
                ("GIT_COMMITTER_NAME", by.name.as_str()),
                ("GIT_COMMITTER_EMAIL", by.email.as_str()),
            ];
            self.run_with(
                &["commit-tree", tree.trim(), "-p", parent, "-F", "-"],
                Some(message.as_bytes()),
                &who,
            )
            .map(|c| c.trim().to_string())
        })();
        let _ = std::fs::remove_file(&index);
        result
    }
}
