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
    /// Shard results that cannot be merged.
    #[error("{0}")]
    Merge(String),
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
            | Error::Engine(_) => ExitCode::Untrusted,
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

/// A file format's word for a mapping: JSON's `object`, YAML's `mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Results and baseline files.
    Json,
    /// Profiles.
    Yaml,
}

/// Rewrites serde's type errors (`invalid type: sequence, expected struct Probe`, `invalid
/// value: integer `-1`, expected u64`, a custom `expected …` after serde's own `expected`) in
/// plain words: the problem, and what was expected. `None` for other messages.
pub(crate) fn plain_serde(message: &str, format: Format) -> Option<(String, String)> {
    let (kind, rest) = [
        ("invalid type: ", "wrong type"),
        ("invalid value: ", "invalid value"),
        ("invalid length ", "wrong number of items"),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| message.strip_prefix(prefix).map(|rest| (kind, rest)))?;
    let (found, expected) = rest.split_once(", expected ")?;
    let found = match found {
        "sequence" => "a list".to_string(),
        "map" => format.mapping().to_string(),
        "unit value" | "null" => "nothing (null)".to_string(),
        other => other
            .strip_prefix("string ")
            .map(|s| format!("text {s}"))
            .or_else(|| {
                other
                    .strip_prefix("integer ")
                    .map(|n| format!("the number {n}"))
            })
            .or_else(|| {
                other
                    .strip_prefix("floating point ")
                    .map(|n| format!("the number {n}"))
            })
            .unwrap_or_else(|| other.to_string()),
    };
    Some((
        format!("{kind}: found {found}"),
        format!("expected {}", plain_expected(expected, format)),
    ))
}

impl Format {
    fn mapping(self) -> &'static str {
        match self {
            Format::Json => "an object",
            Format::Yaml => "a mapping (keys and values)",
        }
    }
}

/// What serde says it expected, in plain words (`u64` → `a whole number`).
fn plain_expected(expected: &str, format: Format) -> String {
    let e = expected.trim();
    // A custom `expecting` text may say `expected …` itself.
    if let Some(own) = e.strip_prefix("expected ") {
        return own.to_string();
    }
    if e.starts_with("struct ") || e == "a map" || e == "map" {
        return format.mapping().to_string();
    }
    match e {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more".to_string(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a string" | "a borrowed string" => "text".to_string(),
        "a boolean" => "`true` or `false`".to_string(),
        "a sequence" => "a list".to_string(),
        other if other.starts_with("enum ") => "one of the names this field takes".to_string(),
        other => other.to_string(),
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

    #[test]
    fn serde_type_errors_in_plain_words() {
        let cases = [
            (
                "invalid type: sequence, expected struct Probe",
                Format::Json,
                ("wrong type: found a list", "expected an object"),
            ),
            (
                "invalid type: string \"1\", expected u64",
                Format::Json,
                (
                    "wrong type: found text \"1\"",
                    "expected a whole number, 0 or more",
                ),
            ),
            (
                "invalid value: integer `-3`, expected u64",
                Format::Yaml,
                (
                    "invalid value: found the number `-3`",
                    "expected a whole number, 0 or more",
                ),
            ),
            (
                "invalid type: map, expected expected a number with a unit",
                Format::Yaml,
                (
                    "wrong type: found a mapping (keys and values)",
                    "expected a number with a unit",
                ),
            ),
            (
                "invalid length 0, expected struct Probe with 1 element",
                Format::Json,
                ("wrong number of items: found 0", "expected an object"),
            ),
        ];
        for (message, format, (problem, expected)) in cases {
            let (p, e) = plain_serde(message, format).unwrap();
            assert_eq!((p.as_str(), e.as_str()), (problem, expected), "{message}");
            assert!(!p.contains("struct") && !e.contains("expected expected"));
        }
        assert_eq!(plain_serde("EOF while parsing a value", Format::Json), None);
    }
}
