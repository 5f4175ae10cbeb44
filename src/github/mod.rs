//! GitHub integration: the run's context (environment and event payload), the workflow files and
//! commands (job summary, step outputs, annotations, masks) and the sticky PR comment.
//!
//! Publishing never changes a verdict: a comment that cannot be posted is a
//! [`comment::CommentOutcome::Failed`] with a warning, and maps to exit code 4 only when the
//! caller requires publishing. Errors here are about reading the context or writing the
//! workflow files.

mod api;
pub mod comment;
pub mod context;
mod event;
mod handover;
pub mod inputs;
pub mod truncate;
pub mod workflow;

use std::path::PathBuf;

pub use comment::{CommentOutcome, CommentSettings, PublishRequirement, publish_sticky_comment};
pub use context::{Context, Env, EventKind, NoPullRequest, PrNumberSource, PullRequest};
pub use workflow::{Annotation, Level};

/// Reading the GitHub context or writing the workflow files failed.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// A variable GitHub Actions always sets is missing.
    #[error("`{name}` is not set: is this running under GitHub Actions?")]
    MissingVar {
        /// The variable.
        name: &'static str,
    },
    /// A variable has a value loadgate cannot use.
    #[error("`{name}` is `{value}`: expected {expected}")]
    InvalidVar {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The event file could not be read.
    #[error("cannot read the event file `{}` (`GITHUB_EVENT_PATH`): {source}", path.display())]
    ReadEvent {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The event file is not JSON.
    #[error("the event file `{}` is not valid JSON: {source}", path.display())]
    EventJson {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The event file is JSON, but a key loadgate reads has an unexpected value.
    #[error("the event file `{}` has an unexpected value at `{at}`: {source}", path.display())]
    EventValue {
        /// The file.
        path: PathBuf,
        /// Key path of the value (`pull_request.number`).
        at: String,
        /// The parser's message (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The event payload lacks a key its event always has.
    #[error("the `{event}` event in `{}` has no `{key}`", path.display())]
    EventShape {
        /// The file.
        path: PathBuf,
        /// `GITHUB_EVENT_NAME`.
        event: String,
        /// The missing key.
        key: &'static str,
    },
    /// A step output name the runner would misparse.
    #[error("invalid output name `{name}`: use letters, digits, `-` and `_`")]
    InvalidOutputName {
        /// The name.
        name: String,
    },
    /// A workflow file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
