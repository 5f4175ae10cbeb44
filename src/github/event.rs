//! The event payload at `GITHUB_EVENT_PATH`: the keys loadgate reads, and the pull request (or
//! why there is none) and head commit they name.
//!
//! Unknown keys are ignored (GitHub adds keys over time, and Actions' copy may lack app-only keys
//! such as `installation`); everything GitHub may omit is optional.

use std::path::Path;

use serde::Deserialize;

use super::GithubError;
use super::context::{EventKind, HeadOrigin, NoPullRequest, PullRequest};

pub(super) fn parse_payload(text: &str, path: &Path) -> Result<Payload, GithubError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let source = e.into_inner();
        if source.is_data() {
            GithubError::EventValue {
                path: path.to_path_buf(),
                at,
                source,
            }
        } else {
            GithubError::EventJson {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// The PR (or why none) and the head commit the event names.
pub(super) type Resolved = (Result<PullRequest, NoPullRequest>, Option<String>);

/// Reads [`Resolved`] from the payload of `event`.
pub(super) fn resolve_pull_request(
    event: &EventKind,
    payload: &Payload,
    path: &Path,
) -> Result<Resolved, GithubError> {
    let missing = |key: &'static str| GithubError::EventShape {
        path: path.to_path_buf(),
        event: event.as_str().to_string(),
        key,
    };
    match event {
        EventKind::PullRequest | EventKind::PullRequestTarget => {
            let pr = payload
                .pull_request
                .as_ref()
                .ok_or_else(|| missing("pull_request"))?;
            let head_repo = pr.head.repo.as_ref();
            let base_repo = pr.base.repo.as_ref();
            let same = match (head_repo, base_repo) {
                (Some(h), Some(b)) => match (h.id, b.id) {
                    (Some(hid), Some(bid)) => hid == bid,
                    _ => h.full_name.is_some() && h.full_name == b.full_name,
                },
                _ => false,
            };
            let number = pr
                .number
                .or(payload.number)
                .ok_or_else(|| missing("pull_request.number"))?;
            let pull = PullRequest {
                number,
                head_sha: pr.head.sha.clone(),
                head_ref: pr.head.ref_name.clone(),
                base_ref: pr.base.ref_name.clone(),
                head_repository: head_repo.and_then(|r| r.full_name.clone()),
                base_repository: base_repo.and_then(|r| r.full_name.clone()),
                origin: if same {
                    HeadOrigin::SameRepository
                } else {
                    HeadOrigin::Fork
                },
            };
            let sha = pull.head_sha.clone();
            Ok((Ok(pull), sha))
        }
        EventKind::Push => {
            // A deleted branch has `after` all zeros: no commit to name.
            let sha = payload
                .after
                .clone()
                .filter(|s| !s.bytes().all(|b| b == b'0'));
            Ok((
                Err(NoPullRequest::NotAPullRequestEvent {
                    event: "push".to_string(),
                }),
                sha,
            ))
        }
        EventKind::WorkflowRun => {
            let run = payload
                .workflow_run
                .as_ref()
                .ok_or_else(|| missing("workflow_run"))?;
            Ok((
                workflow_run_pull_request(payload, run),
                run.head_sha.clone(),
            ))
        }
        EventKind::Other(name) => Ok((
            Err(NoPullRequest::NotAPullRequestEvent {
                event: name.clone(),
            }),
            None,
        )),
    }
}

/// The PR of a `workflow_run`: the first entry of `pull_requests` whose base is this
/// repository, preferring one whose head is the run's commit. GitHub also lists PRs of other
/// repositories there (a branch of the same name elsewhere); those are never commented on.
fn workflow_run_pull_request(
    payload: &Payload,
    run: &RawWorkflowRun,
) -> Result<PullRequest, NoPullRequest> {
    let repo = run.repository.as_ref().or(payload.repository.as_ref());
    let repo_id = repo.and_then(|r| r.id);
    let repo_api_url = repo.and_then(|r| r.url.as_deref());
    let in_this_repo = |p: &&RawRunPull| match (p.base.repo.id, repo_id) {
        (Some(a), Some(b)) => a == b,
        _ => matches!((p.base.repo.url.as_deref(), repo_api_url), (Some(a), Some(b)) if a == b),
    };
    let ours: Vec<&RawRunPull> = run.pull_requests.iter().filter(in_this_repo).collect();
    let chosen = ours
        .iter()
        .find(|p| p.head.sha.is_some() && p.head.sha == run.head_sha)
        .or_else(|| ours.first());
    let head_repository = run
        .head_repository
        .as_ref()
        .and_then(|r| r.full_name.clone());
    let fork = match (&run.head_repository, repo) {
        (Some(h), Some(r)) => match (h.id, r.id) {
            (Some(a), Some(b)) => a != b,
            _ => h.full_name != r.full_name,
        },
        _ => false,
    };
    if let Some(p) = chosen {
        return Ok(PullRequest {
            number: p.number,
            head_sha: p.head.sha.clone(),
            head_ref: p.head.ref_name.clone(),
            base_ref: p.base.ref_name.clone(),
            head_repository,
            base_repository: repo.and_then(|r| r.full_name.clone()),
            origin: if p.head.repo.id == p.base.repo.id && !fork {
                HeadOrigin::SameRepository
            } else {
                HeadOrigin::Fork
            },
        });
    }
    if !run.pull_requests.is_empty() {
        return Err(NoPullRequest::OtherRepositories {
            numbers: run.pull_requests.iter().map(|p| p.number).collect(),
        });
    }
    match run.event.as_deref() {
        Some("pull_request" | "pull_request_target") => {
            Err(NoPullRequest::ForkWorkflowRun { head_repository })
        }
        other => Err(NoPullRequest::WorkflowRunOfNonPullRequest {
            event: other.unwrap_or("unknown").to_string(),
        }),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Payload {
    pub(super) action: Option<String>,
    number: Option<u64>,
    pull_request: Option<RawPull>,
    pub(super) repository: Option<RawRepo>,
    /// The pushed ref (`refs/heads/main`), on push events.
    #[serde(rename = "ref")]
    pub(super) ref_name: Option<String>,
    after: Option<String>,
    workflow_run: Option<RawWorkflowRun>,
}

#[derive(Debug, Deserialize)]
struct RawPull {
    number: Option<u64>,
    head: RawBranch,
    base: RawBranch,
}

#[derive(Debug, Deserialize)]
struct RawBranch {
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    sha: Option<String>,
    repo: Option<RawRepo>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRepo {
    id: Option<u64>,
    pub(super) full_name: Option<String>,
    url: Option<String>,
    /// The repository's default branch (`main`).
    pub(super) default_branch: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawWorkflowRun {
    event: Option<String>,
    head_sha: Option<String>,
    #[serde(default)]
    pull_requests: Vec<RawRunPull>,
    head_repository: Option<RawRepo>,
    repository: Option<RawRepo>,
}

#[derive(Debug, Deserialize)]
struct RawRunPull {
    number: u64,
    head: RawRunBranch,
    base: RawRunBranch,
}

#[derive(Debug, Deserialize)]
struct RawRunBranch {
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    sha: Option<String>,
    repo: RawRepo,
}
