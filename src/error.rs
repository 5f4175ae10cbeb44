//! The top-level error, and the exit codes, in one place.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | pass (or improvement): the run is fine |
//! | 1 | regression, or an absolute threshold breached |
//! | 2 | usage or profile error: nothing was run |
//! | 3 | the run could not be trusted or completed (target never ready, interrupted, generator overloaded, no comparable baseline data) |
//! | 4 | publishing failed where publishing was required |
//!
//! A regression is a result, not an error: commands return `Ok(ExitCode::Regression)`.

use std::path::PathBuf;

use crate::profile::ProfileError;
use crate::results::ResultsError;

/// How the process ends (see the module docs for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: pass or improvement.
    Pass,
    /// 1: regression or threshold breach.
    Regression,
    /// 2: usage or profile error.
    Usage,
    /// 3: untrusted or incomplete run.
    Untrusted,
    /// 4: publishing failed where required.
    Publish,
}

impl ExitCode {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Pass => 0,
            ExitCode::Regression => 1,
            ExitCode::Usage => 2,
            ExitCode::Untrusted => 3,
            ExitCode::Publish => 4,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
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
    /// A results file is invalid.
    #[error("`{}`: {source}", path.display())]
    Results {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ResultsError,
    },
    /// Shard results that cannot be merged.
    #[error("{0}")]
    Merge(String),
    /// The target never became ready.
    #[error("target not ready: {0}")]
    NotReady(String),
    /// The engine could not start.
    #[error("{0}")]
    Engine(#[from] crate::engine::EngineError),
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Profile(_)
            | Error::Usage(_)
            | Error::Read { .. }
            | Error::Results { .. }
            | Error::Merge(_) => ExitCode::Usage,
            Error::Write { .. } | Error::NotReady(_) | Error::Engine(_) => ExitCode::Untrusted,
        }
    }

    /// Where the problem is, for `::error file=…,line=…::` annotations.
    pub fn location(&self) -> Option<(String, Option<u64>, Option<u64>)> {
        match self {
            Error::Profile(p) => Some((p.file.clone(), p.line, p.column)),
            Error::Read { path, .. } | Error::Results { path, .. } => {
                Some((path.display().to_string(), None, None))
            }
            _ => None,
        }
    }
}
