//! The pull request a run belongs to, or why there is none, and where its number came from.

use std::fmt;

/// Whether a PR's head branch lives in the base repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadOrigin {
    /// Head and base are the same repository.
    SameRepository,
    /// The head is a fork (or a deleted repository): its `pull_request` runs get a read-only
    /// token and no secrets.
    Fork,
}

/// The pull request a run belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// PR number in the repository of the run.
    pub number: u64,
    /// Head commit, when the event says.
    pub head_sha: Option<String>,
    /// Head branch name.
    pub head_ref: Option<String>,
    /// Base branch name.
    pub base_ref: Option<String>,
    /// Head repository `owner/name`, when known (absent for a deleted fork).
    pub head_repository: Option<String>,
    /// Base repository `owner/name`, when known.
    pub base_repository: Option<String>,
    /// Fork or not.
    pub origin: HeadOrigin,
}

/// Why a run has no pull request to comment on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPullRequest {
    /// The event is not about a pull request (`push`, `schedule`, …).
    NotAPullRequestEvent {
        /// `GITHUB_EVENT_NAME`.
        event: String,
    },
    /// A `workflow_run` following a run of an event without a pull request (`push`, …).
    WorkflowRunOfNonPullRequest {
        /// The triggering run's event (`workflow_run.event`).
        event: String,
    },
    /// A `workflow_run` triggered by a PR from a fork: GitHub leaves `workflow_run.pull_requests`
    /// empty for those.
    ForkWorkflowRun {
        /// The fork, `owner/name`, when the payload names it.
        head_repository: Option<String>,
    },
    /// A `workflow_run` whose `pull_requests` only lists PRs of other repositories.
    OtherRepositories {
        /// The numbers listed (in other repositories).
        numbers: Vec<u64>,
    },
    /// No event payload (`GITHUB_EVENT_PATH` unset) for an event that needs one.
    NoEventPayload,
}

impl NoPullRequest {
    /// `true` when the run is about a pull request that could not be identified (publishing
    /// that was required then failed); `false` when there is simply no pull request.
    pub fn is_unresolved(&self) -> bool {
        !matches!(
            self,
            NoPullRequest::NotAPullRequestEvent { .. }
                | NoPullRequest::WorkflowRunOfNonPullRequest { .. }
        )
    }
}

impl fmt::Display for NoPullRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoPullRequest::NotAPullRequestEvent { event } => {
                write!(f, "`{event}` events have no pull request")
            }
            NoPullRequest::WorkflowRunOfNonPullRequest { event } => write!(
                f,
                "the `workflow_run` event follows a `{event}` run, which has no pull request"
            ),
            NoPullRequest::ForkWorkflowRun { head_repository } => {
                write!(
                    f,
                    "the `workflow_run` event lists no pull request: GitHub leaves \
                     `workflow_run.pull_requests` empty for runs of pull requests from forks"
                )?;
                if let Some(fork) = head_repository {
                    write!(f, " (head repository `{fork}`)")?;
                }
                write!(
                    f,
                    "; pass the PR number from the first workflow (for example in an artifact)"
                )
            }
            NoPullRequest::OtherRepositories { numbers } => {
                let list: Vec<String> = numbers.iter().map(|n| format!("#{n}")).collect();
                write!(
                    f,
                    "`workflow_run.pull_requests` only lists pull requests of other repositories ({})",
                    list.join(", ")
                )
            }
            NoPullRequest::NoEventPayload => write!(
                f,
                "`GITHUB_EVENT_PATH` is not set, so the pull request is unknown"
            ),
        }
    }
}

/// Where the pull request's number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrNumberSource {
    /// The event payload, as GitHub wrote it.
    Event,
    /// From outside the event (input `pr-number`). In the fork-safe `workflow_run` pattern it
    /// comes from an artifact the pull request's own run wrote, so it is checked against the
    /// triggering run's head commit before a comment is posted.
    HandedOver,
}
