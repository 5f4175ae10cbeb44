//! The PR number handed over to a `workflow_run` job (input `pr-number`, read by the fork-safe
//! comment workflow from the first workflow's artifact). That artifact was written by the pull
//! request's own run, which a fork controls, while the `workflow_run` job holds a token that can
//! write to every pull request: before anything is posted, the number must name a pull request
//! of this repository whose head is the commit the triggering run measured
//! (`workflow_run.head_sha`). Otherwise a fork could aim the comment at any other pull request.

use serde::Deserialize;

use super::api::{Api, Failure, Request, parse};
use super::context::{Context, EventKind, PrNumberSource};

/// Why a comment is refused, or the API failure that prevented the check.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The number does not belong to the triggering run: a warning, nothing is posted.
    Mismatch(String),
    /// The check itself failed (network, permissions).
    Unchecked(Failure),
}

#[derive(Debug, Deserialize)]
struct ApiPull {
    head: ApiHead,
}

#[derive(Debug, Deserialize)]
struct ApiHead {
    sha: String,
}

/// `true` when `ctx`'s PR number was handed over to a `workflow_run` job and must be checked.
pub(super) fn needs_check(ctx: &Context) -> bool {
    ctx.event == EventKind::WorkflowRun && ctx.pr_number_source == PrNumberSource::HandedOver
}

/// Checks that pull request `number` of `repo` (`/repos/owner/name`) has the triggering run's
/// head commit as its head.
pub(super) async fn check(
    ctx: &Context,
    api: &Api<'_>,
    repo: &str,
    number: u64,
) -> Result<(), Refusal> {
    let refuse = |why: String| {
        Refusal::Mismatch(format!(
            "refusing to comment on pull request #{number}, the number handed over in `pr-number`: {why}. The number comes from the triggering run's artifact, which the pull request's own code can write"
        ))
    };
    let Some(run_sha) = ctx.head_sha.as_deref() else {
        return Err(refuse(
            "the `workflow_run` event names no head commit to check it against".to_string(),
        ));
    };
    let reply = match api
        .send_retrying(Request::get(format!("{repo}/pulls/{number}")))
        .await
    {
        Ok(reply) => reply,
        Err(f) if f.status == Some(http::StatusCode::NOT_FOUND) => {
            return Err(refuse(
                "this repository has no such pull request".to_string(),
            ));
        }
        Err(f) => {
            return Err(Refusal::Unchecked(
                f.context("checking the handed-over PR number"),
            ));
        }
    };
    let pull: ApiPull = parse(&reply).map_err(Refusal::Unchecked)?;
    if pull.head.sha.eq_ignore_ascii_case(run_sha) {
        Ok(())
    } else {
        Err(refuse(format!(
            "its head is `{}`, but the triggering run measured `{run_sha}` (a newer push to the pull request gets its own comment)",
            pull.head.sha
        )))
    }
}
