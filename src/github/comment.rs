//! The sticky PR comment: one comment per profile and pull request, found again by a hidden
//! marker and updated in place.
//!
//! Flow: resolve the expected author, list all comments of the PR (every page, 100 per page),
//! take the oldest one carrying the marker *and* written by that author, then `PATCH` it or
//! `POST` a new one. Requests go through octocrab to `GITHUB_API_URL`; 5xx answers, transport
//! errors and rate limits are retried with bounded exponential backoff. Nothing here returns an
//! error: every problem becomes [`CommentOutcome::Failed`] with a warning, and the verdict stands.
//!
//! Author check: a marker alone is not enough (anyone can paste it into a comment, and a
//! write token may edit other people's comments). The author is [`AuthorCheck::Login`] when
//! configured; otherwise `GET /user` names the token's owner (personal and user tokens), and
//! when GitHub refuses that call (401/403/404: installation tokens, which include the default
//! `GITHUB_TOKEN`) the author is `github-actions[bot]`, the identity of the default token. A
//! GitHub App's installation token comments as `<app-slug>[bot]`: configure that login.

use std::fmt::{self, Write as _};
use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;

use super::api::{Api, Attempt, Failure, Request, classify, next_link, parse};
pub use super::api::{RetryPolicy, SleepFn};
use super::context::{Context, NoPullRequest, Token};
use super::truncate::{Limit, truncate_markdown};
use crate::exit::ExitCode;

/// Comment bodies are cut to this many UTF-16 code units (GitHub rejects bodies above 65,536
/// characters).
pub const COMMENT_MAX_UTF16_UNITS: usize = 65_000;

/// The login of the default `GITHUB_TOKEN`.
pub const ACTIONS_BOT_LOGIN: &str = "github-actions[bot]";

/// Comments are listed this many per page (GitHub's maximum).
const PER_PAGE: u32 = 100;

/// Pages followed at most (10,000 comments): a bound against a server that never ends.
const MAX_PAGES: usize = 100;

/// Whose comment is ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorCheck {
    /// The token's owner: `GET /user`, or `github-actions[bot]` when the token cannot call it.
    TokenOwner,
    /// This login (case-insensitive), e.g. `my-app[bot]` for a GitHub App token.
    Login(String),
}

/// Settings of [`publish_sticky_comment`].
#[derive(Debug, Clone)]
pub struct CommentSettings {
    /// Whose comment is ours.
    pub author: AuthorCheck,
    /// Retries.
    pub retry: RetryPolicy,
    /// Bound on each single request.
    pub request_timeout: Duration,
    /// Bound on the whole publication, retries and waits included: an API that accepts
    /// connections and never answers must not hold the job.
    pub total_timeout: Duration,
}

impl Default for CommentSettings {
    fn default() -> Self {
        CommentSettings {
            author: AuthorCheck::TokenOwner,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(90),
        }
    }
}

/// Whether a failed publication fails the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishRequirement {
    /// A failure is a warning; the exit code is the verdict's.
    BestEffort,
    /// A failure (or a PR run whose PR cannot be identified) ends with exit code 4.
    Required,
}

/// Why no comment was attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// There is no pull request (push event, fork `workflow_run`, …).
    NoPullRequest(NoPullRequest),
    /// No token: action input `github-token`, `LOADGATE_GITHUB_TOKEN` or `GITHUB_TOKEN`.
    NoToken,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NoPullRequest(why) => write!(f, "{why}"),
            SkipReason::NoToken => write!(
                f,
                "no GitHub token: set the action input `github-token`, `LOADGATE_GITHUB_TOKEN` or `GITHUB_TOKEN`"
            ),
        }
    }
}

/// What [`publish_sticky_comment`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentOutcome {
    /// A new comment.
    Created {
        /// Comment id.
        id: u64,
        /// Its web address, when GitHub said.
        url: Option<String>,
    },
    /// The existing comment, edited in place.
    Updated {
        /// Comment id.
        id: u64,
        /// Its web address, when GitHub said.
        url: Option<String>,
    },
    /// Nothing attempted.
    Skipped(SkipReason),
    /// Publishing failed; the verdict stands.
    Failed {
        /// What went wrong and what to do, for a `::warning`.
        warning: String,
        /// The HTTP status of the failing answer, when there was one.
        status: Option<u16>,
    },
}

impl CommentOutcome {
    /// `true` when publishing was needed and did not happen.
    pub fn is_failure(&self) -> bool {
        match self {
            CommentOutcome::Created { .. } | CommentOutcome::Updated { .. } => false,
            CommentOutcome::Skipped(SkipReason::NoPullRequest(why)) => why.is_unresolved(),
            CommentOutcome::Skipped(SkipReason::NoToken) | CommentOutcome::Failed { .. } => true,
        }
    }

    /// The exit code of the command, given the verdict's: a verdict other than pass is kept (it
    /// says more); a publishing failure turns a pass into 4 only when publishing is required.
    pub fn exit_code(&self, verdict: ExitCode, requirement: PublishRequirement) -> ExitCode {
        if verdict == ExitCode::Pass
            && requirement == PublishRequirement::Required
            && self.is_failure()
        {
            ExitCode::Publish
        } else {
            verdict
        }
    }
}

impl fmt::Display for CommentOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let link = |url: Option<&str>| url.map(|u| format!(": {u}")).unwrap_or_default();
        match self {
            CommentOutcome::Created { url, .. } => {
                write!(f, "created the PR comment{}", link(url.as_deref()))
            }
            CommentOutcome::Updated { url, .. } => {
                write!(f, "updated the PR comment{}", link(url.as_deref()))
            }
            CommentOutcome::Skipped(reason) => write!(f, "no PR comment: {reason}"),
            CommentOutcome::Failed { warning, .. } => {
                write!(f, "could not publish the PR comment: {warning}")
            }
        }
    }
}

/// Characters of the profile name kept in the marker (a longer name is cut: still stable).
const MARKER_NAME_CHARS: usize = 200;

/// The hidden marker that identifies the sticky comment of `profile`. The name is
/// percent-encoded outside `[A-Za-z0-9 ._/-]`, so it cannot end the HTML comment.
pub fn marker(profile: &str) -> String {
    let mut name = String::new();
    for c in profile.trim().chars().take(MARKER_NAME_CHARS) {
        if c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '/' | '-') {
            name.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(name, "%{b:02X}");
            }
        }
    }
    format!("<!-- loadgate: {name} -->")
}

/// The full comment body: the marker line, then `markdown` cut under
/// [`COMMENT_MAX_UTF16_UNITS`] with a pointer to the job summary.
pub fn comment_body(profile: &str, markdown: &str, summary_url: Option<&str>) -> String {
    let marker = marker(profile);
    let notice = match summary_url {
        Some(url) => format!(
            "This comment was cut to fit GitHub's size limit. The full report is in the [job summary]({url})."
        ),
        None => "This comment was cut to fit GitHub's size limit. The full report is in the job summary of this workflow run.".to_string(),
    };
    let room = COMMENT_MAX_UTF16_UNITS.saturating_sub(marker.encode_utf16().count() + 1);
    let cut = truncate_markdown(markdown, Limit::Utf16Units(room), &notice);
    format!("{marker}\n{}", cut.text)
}

/// Creates or updates the sticky comment of `profile` on the run's pull request with `markdown`
/// (a finished report; the marker is added here). Never fails: see [`CommentOutcome`]. A PR
/// number handed over to a `workflow_run` job is checked first (see `handover`): a number
/// that does not belong to the triggering run is refused with a warning.
pub async fn publish_sticky_comment(
    ctx: &Context,
    profile: &str,
    markdown: &str,
    settings: &CommentSettings,
) -> CommentOutcome {
    let number = match &ctx.pull_request {
        Ok(pr) => pr.number,
        Err(why) => return CommentOutcome::Skipped(SkipReason::NoPullRequest(why.clone())),
    };
    let Some(token) = &ctx.token else {
        return CommentOutcome::Skipped(SkipReason::NoToken);
    };
    let body = comment_body(profile, markdown, ctx.summary_url().as_deref());
    let bound = settings.total_timeout;
    tokio::time::timeout(bound, publish(ctx, profile, number, token, &body, settings))
        .await
        .unwrap_or_else(|_| CommentOutcome::Failed {
            warning: format!(
                "GitHub's API did not finish answering within {} s: the PR comment was not posted (the report is in the job summary)",
                bound.as_secs()
            ),
            status: None,
        })
}

async fn publish(
    ctx: &Context,
    profile: &str,
    number: u64,
    token: &Token,
    body: &str,
    settings: &CommentSettings,
) -> CommentOutcome {
    let api = match Api::new(
        &ctx.api_url,
        token.expose(),
        &settings.retry,
        settings.request_timeout,
    ) {
        Ok(api) => api,
        Err(failure) => return failed(failure),
    };
    let marker = marker(profile);
    let repo = format!("/repos/{}/{}", ctx.repository.owner, ctx.repository.name);
    if super::handover::needs_check(ctx) {
        match super::handover::check(ctx, &api, &repo, number).await {
            Ok(()) => {}
            Err(super::handover::Refusal::Mismatch(warning)) => {
                return CommentOutcome::Failed {
                    warning,
                    status: None,
                };
            }
            Err(super::handover::Refusal::Unchecked(failure)) => return failed(failure),
        }
    }
    match upsert(&api, &repo, number, &marker, body, &settings.author).await {
        Ok(outcome) => outcome,
        Err(failure) => failed(failure),
    }
}

async fn upsert(
    api: &Api<'_>,
    repo: &str,
    number: u64,
    marker: &str,
    body: &str,
    author: &AuthorCheck,
) -> Result<CommentOutcome, Failure> {
    let login = match author {
        AuthorCheck::Login(login) => login.clone(),
        AuthorCheck::TokenOwner => token_owner(api).await?,
    };
    let payload = serde_json::json!({ "body": body });
    let mut retry = 0;
    loop {
        let existing = find(api, repo, number, marker, &login).await?;
        if let Some(id) = existing {
            let reply = api
                .send_retrying(Request::patch(
                    format!("{repo}/issues/comments/{id}"),
                    &payload,
                ))
                .await
                .map_err(|f| f.context("updating the comment"))?;
            let written: ApiComment = parse(&reply)?;
            return Ok(CommentOutcome::Updated {
                id: written.id,
                url: written.html_url,
            });
        }
        // Creating is not idempotent: a 5xx or a lost connection may still have stored the
        // comment. Instead of re-sending blindly, go round and look again.
        let post = Request::post(format!("{repo}/issues/{number}/comments"), &payload);
        match classify(api.send_once(&post).await) {
            Attempt::Done(reply) => {
                let written: ApiComment = parse(&reply)?;
                return Ok(CommentOutcome::Created {
                    id: written.id,
                    url: written.html_url,
                });
            }
            Attempt::Fatal(f) => return Err(f.context("creating the comment")),
            Attempt::Retry { wait, failure } => {
                let delay = api
                    .delay(retry, wait, failure)
                    .map_err(|f| f.context("creating the comment"))?;
                api.sleep(delay).await;
                retry += 1;
            }
        }
    }
}

/// The warning for a failed publication, with a hint for the usual statuses.
fn failed(failure: Failure) -> CommentOutcome {
    let hint = match failure.status.map(|s| s.as_u16()) {
        _ if failure.rate_limited => "",
        Some(403) => {
            "; the token cannot write here: pull requests from forks get a read-only \
             `GITHUB_TOKEN`, and other jobs need `permissions: pull-requests: write` \
             (for forks, comment from a `workflow_run` workflow)"
        }
        Some(401) => "; the token is invalid or expired",
        Some(404) => "; check the repository and the PR number, and that the token can see them",
        _ => "",
    };
    let mut warning = failure.text;
    warning.push_str(hint);
    CommentOutcome::Failed {
        warning,
        status: failure.status.map(|s| s.as_u16()),
    }
}

/// A comment as the REST API returns it (only the keys used; others are ignored).
#[derive(Debug, Deserialize)]
struct ApiComment {
    id: u64,
    body: Option<String>,
    user: Option<ApiUser>,
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiUser {
    login: String,
}

/// The login of the token's owner (see the module docs).
async fn token_owner(api: &Api<'_>) -> Result<String, Failure> {
    match api.send_retrying(Request::get("/user".to_string())).await {
        Ok(reply) => Ok(parse::<ApiUser>(&reply)?.login),
        Err(Failure {
            status: Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            rate_limited: false,
            ..
        }) => Ok(ACTIONS_BOT_LOGIN.to_string()),
        Err(failure) => Err(failure.context("finding out who the token belongs to")),
    }
}

/// The id of the oldest comment on PR `number` with `marker` written by `login`, reading
/// every page.
async fn find(
    api: &Api<'_>,
    repo: &str,
    number: u64,
    marker: &str,
    login: &str,
) -> Result<Option<u64>, Failure> {
    let mut next = Some(format!(
        "{repo}/issues/{number}/comments?per_page={PER_PAGE}"
    ));
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(Failure::new(
                None,
                format!("listing the comments: more than {MAX_PAGES} pages"),
            ));
        }
        let reply = api
            .send_retrying(Request::get(path))
            .await
            .map_err(|f| f.context("listing the comments"))?;
        let comments: Vec<ApiComment> = parse(&reply)?;
        // Pages come in ascending id order, so the first match is the oldest.
        if let Some(found) = comments.iter().find(|c| {
            c.body.as_deref().is_some_and(|b| b.contains(marker))
                && c.user
                    .as_ref()
                    .is_some_and(|u| u.login.eq_ignore_ascii_case(login))
        }) {
            return Ok(Some(found.id));
        }
        next = next_link(&reply.headers)
            .map(|url| api.same_origin_path(&url))
            .transpose()?;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_cannot_end_the_html_comment() {
        assert_eq!(marker("checkout-api"), "<!-- loadgate: checkout-api -->");
        assert_eq!(marker("a-->b\n"), "<!-- loadgate: a--%3Eb -->");
        assert_eq!(marker("é"), "<!-- loadgate: %C3%A9 -->");
        let long = "x".repeat(100_000);
        assert_eq!(
            marker(&long).len(),
            MARKER_NAME_CHARS + "<!-- loadgate:  -->".len()
        );
        assert!(
            comment_body(&long, "report", None).encode_utf16().count() <= COMMENT_MAX_UTF16_UNITS
        );
    }

    #[test]
    fn body_starts_with_the_marker_and_fits() {
        let body = comment_body("p", &"| a | b |\n".repeat(10_000), Some("https://x/runs/1"));
        assert!(body.starts_with("<!-- loadgate: p -->\n| a | b |\n"));
        assert!(body.encode_utf16().count() <= COMMENT_MAX_UTF16_UNITS);
        assert!(body.ends_with("The full report is in the [job summary](https://x/runs/1).\n"));
    }

    #[test]
    fn exit_codes_only_change_when_publishing_is_required() {
        use PublishRequirement::{BestEffort, Required};
        let failed = CommentOutcome::Failed {
            warning: "403".into(),
            status: Some(403),
        };
        let created = CommentOutcome::Created { id: 1, url: None };
        let push = CommentOutcome::Skipped(SkipReason::NoPullRequest(
            NoPullRequest::NotAPullRequestEvent {
                event: "push".into(),
            },
        ));
        let fork =
            CommentOutcome::Skipped(SkipReason::NoPullRequest(NoPullRequest::ForkWorkflowRun {
                head_repository: None,
            }));
        let cases = [
            (&failed, ExitCode::Pass, BestEffort, ExitCode::Pass),
            (&failed, ExitCode::Pass, Required, ExitCode::Publish),
            (
                &failed,
                ExitCode::Regression,
                Required,
                ExitCode::Regression,
            ),
            (&created, ExitCode::Pass, Required, ExitCode::Pass),
            (&push, ExitCode::Pass, Required, ExitCode::Pass),
            (&fork, ExitCode::Pass, Required, ExitCode::Publish),
            (&fork, ExitCode::Pass, BestEffort, ExitCode::Pass),
            (
                &CommentOutcome::Skipped(SkipReason::NoToken),
                ExitCode::Pass,
                Required,
                ExitCode::Publish,
            ),
        ];
        for (outcome, verdict, requirement, expected) in cases {
            assert_eq!(
                outcome.exit_code(verdict, requirement),
                expected,
                "{outcome:?}"
            );
        }
    }
}
