//! The top-level error, and the exit codes, in one place.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | pass (or improvement): the run is fine; also `inconclusive` and `no baseline` (they do not block) |
//! | 1 | regression, or an absolute threshold breached |
//! | 2 | usage or input error (bad profile, flags, or a corrupt results/baseline file): nothing was decided |
//! | 3 | the run could not be trusted or completed (target never ready, interrupted, generator overloaded), or the baseline is incompatible (other profile or runner class), or an output could not be written (a file, or stdout other than a closed pipe) |
//! | 4 | publishing failed where publishing was required |
//!
//! A closed stdout (`loadgate … | head`) is not an error: the output stops quietly and the
//! command exits with its own code (see `app::console`).
//!
//! A regression is a result, not an error: commands return `Ok(ExitCode::Regression)`;
//! [`ExitCode::of_verdict`] maps every gate verdict.

use std::path::PathBuf;

use crate::baseline::BaselineError;
use crate::compare::{CompareError, Verdict};
use crate::profile::ProfileError;
use crate::results::ResultsError;

pub use crate::exit::ExitCode;

impl ExitCode {
    /// The exit code of a gate verdict (see the module docs).
    pub fn of_verdict(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Pass | Verdict::Improvement | Verdict::Inconclusive | Verdict::NoBaseline => {
                ExitCode::Pass
            }
            Verdict::Regression => ExitCode::Regression,
            Verdict::Untrusted | Verdict::Incompatible => ExitCode::Untrusted,
        }
    }
}

/// Anything that stops a command before it has a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Bad arguments or settings.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Stdout could not be written (other than a closed pipe, which is not an error).
    #[error("cannot write to stdout: {0}: the output is incomplete")]
    Stdout(#[source] std::io::Error),
    /// A results file is invalid.
    #[error("`{}`: {source}", path.display())]
    Results {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ResultsError,
    },
    /// A baseline file is invalid, or a run cannot enter it.
    #[error("`{}`: {source}", path.display())]
    Baseline {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: BaselineError,
    },
    /// A comparison could not be computed.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// Shard results (or a paired job's blocks) that cannot be merged.
    #[error(transparent)]
    Merge(#[from] crate::results::MergeError),
    /// A histogram measured in this process could not be decoded.
    #[error("{what}: {source}")]
    Histogram {
        /// Which one.
        what: &'static str,
        /// Why.
        #[source]
        source: crate::metrics::HistogramError,
    },
    /// A baseline run could not be committed or pushed.
    #[error("{0}")]
    Push(String),
    /// The target never became ready.
    #[error("target not ready: {0}")]
    NotReady(String),
    /// Ctrl-C or SIGTERM before any load was sent.
    #[error("interrupted {0}: no load was sent")]
    Interrupted(String),
    /// The engine could not start.
    #[error("{0}")]
    Engine(#[from] crate::engine::EngineError),
    /// The GitHub Actions context could not be read, or a workflow file (`GITHUB_OUTPUT`, the
    /// job summary) could not be written.
    #[error(transparent)]
    Github(#[from] crate::github::GithubError),
    /// A report template could not be compiled or rendered.
    #[error("{source}")]
    Template {
        /// The user's template file, when it was one.
        path: Option<PathBuf>,
        /// What went wrong, with the line.
        #[source]
        source: crate::report::TemplateError,
    },
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Profile(_)
            | Error::Usage(_)
            | Error::Read { .. }
            | Error::Results { .. }
            | Error::Merge(_)
            | Error::Template { .. }
            | Error::Compare(_) => ExitCode::Usage,
            Error::Baseline { source, .. } => match source {
                BaselineError::Partial { .. }
                | BaselineError::IncompleteShards { .. }
                | BaselineError::Untrusted(_) => ExitCode::Untrusted,
                _ => ExitCode::Usage,
            },
            Error::Write { .. }
            | Error::Stdout(_)
            | Error::NotReady(_)
            | Error::Interrupted(_)
            | Error::Engine(_)
            // Measured by this process and unreadable: the run cannot be judged.
            | Error::Histogram { .. } => ExitCode::Untrusted,
            Error::Push(_) => ExitCode::Publish,
            // A step output or the job summary that cannot be written is publishing that
            // failed; a context that cannot be read is a usage problem.
            Error::Github(e) => match e {
                crate::github::GithubError::Write { .. } => ExitCode::Publish,
                _ => ExitCode::Usage,
            },
        }
    }

    /// Where the problem is, for `::error file=…,line=…::` annotations.
    pub fn location(&self) -> Option<(String, Option<u64>, Option<u64>)> {
        match self {
            Error::Profile(p) => Some((p.file.clone(), p.line, p.column)),
            Error::Read { path, .. }
            | Error::Results { path, .. }
            | Error::Baseline { path, .. } => Some((path.display().to_string(), None, None)),
            Error::Template {
                path: Some(path),
                source,
            } => Some((
                path.display().to_string(),
                source.line.map(|l| l as u64),
                None,
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_file_that_cannot_be_written_is_a_publishing_failure() {
        let write = Error::from(crate::github::GithubError::Write {
            path: PathBuf::from("/github/file_commands/output"),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        assert_eq!(write.exit_code(), ExitCode::Publish);
        assert!(write.to_string().contains("/github/file_commands/output"));
        let missing = Error::from(crate::github::GithubError::MissingVar {
            name: "GITHUB_REPOSITORY",
        });
        assert_eq!(missing.exit_code(), ExitCode::Usage);
    }
}
