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
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use http_body_util::BodyExt as _;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;

use super::context::{Context, NoPullRequest};
use super::truncate::{Limit, truncate_markdown};
use crate::error::ExitCode;

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

/// Sleeps for a duration; injectable so tests need not wait.
pub type SleepFn = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How failed requests are retried.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt of a request.
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Upper bound of the backoff delay.
    pub max_backoff: Duration,
    /// Longest wait a rate limit may ask for; a longer one gives up.
    pub max_wait: Duration,
    /// How to wait.
    pub sleep: SleepFn,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(16),
            max_wait: Duration::from_secs(60),
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_retries", &self.max_retries)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// The exponential backoff before retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff)
    }
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
}

impl Default for CommentSettings {
    fn default() -> Self {
        CommentSettings {
            author: AuthorCheck::TokenOwner,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
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
/// (a finished report; the marker is added here). Never fails: see [`CommentOutcome`].
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
    let api = match Api::new(ctx, token.expose(), settings) {
        Ok(api) => api,
        Err(failure) => return failure.into_outcome(),
    };
    let marker = marker(profile);
    let repo = format!("/repos/{}/{}", ctx.repository.owner, ctx.repository.name);
    match upsert(&api, &repo, number, &marker, &body, &settings.author).await {
        Ok(outcome) => outcome,
        Err(failure) => failure.into_outcome(),
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
        AuthorCheck::TokenOwner => api.token_owner().await?,
    };
    let payload = serde_json::json!({ "body": body });
    let mut retry = 0;
    loop {
        let existing = api.find(repo, number, marker, &login).await?;
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
                (api.retry.sleep)(delay).await;
                retry += 1;
            }
        }
    }
}

/// A failed request: the status when there was an answer, and what happened.
#[derive(Debug, Clone)]
struct Failure {
    status: Option<StatusCode>,
    text: String,
    /// A rate limit, not a refusal: a 403 then says nothing about permissions.
    rate_limited: bool,
}

impl Failure {
    fn new(status: Option<StatusCode>, text: String) -> Failure {
        Failure {
            status,
            text,
            rate_limited: false,
        }
    }

    fn context(mut self, doing: &str) -> Failure {
        self.text = format!("{doing}: {}", self.text);
        self
    }

    fn into_outcome(self) -> CommentOutcome {
        let hint = match self.status.map(|s| s.as_u16()) {
            _ if self.rate_limited => "",
            Some(403) => {
                "; the token cannot write here: pull requests from forks get a read-only \
                 `GITHUB_TOKEN`, and other jobs need `permissions: pull-requests: write` \
                 (for forks, comment from a `workflow_run` workflow)"
            }
            Some(401) => "; the token is invalid or expired",
            Some(404) => {
                "; check the repository and the PR number, and that the token can see them"
            }
            _ => "",
        };
        CommentOutcome::Failed {
            warning: format!("{}{hint}", self.text),
            status: self.status.map(|s| s.as_u16()),
        }
    }
}

/// One request to the API, relative to its base.
struct Request {
    method: http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl Request {
    fn get(path: String) -> Request {
        Request {
            method: http::Method::GET,
            path,
            body: None,
        }
    }

    fn post(path: String, body: &serde_json::Value) -> Request {
        Request {
            method: http::Method::POST,
            path,
            body: Some(body.clone()),
        }
    }

    fn patch(path: String, body: &serde_json::Value) -> Request {
        Request {
            method: http::Method::PATCH,
            path,
            body: Some(body.clone()),
        }
    }
}

/// A whole answer.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// What to do after one attempt.
enum Attempt {
    Done(Reply),
    /// Worth another try, after `wait` when the server asked for one.
    Retry {
        wait: Option<Duration>,
        failure: Failure,
    },
    Fatal(Failure),
}

fn classify(result: Result<Reply, Failure>) -> Attempt {
    let reply = match result {
        Ok(reply) => reply,
        Err(failure) => {
            return Attempt::Retry {
                wait: None,
                failure,
            };
        }
    };
    let status = reply.status;
    if status.is_success() {
        return Attempt::Done(reply);
    }
    let failure = Failure::new(
        Some(status),
        format!(
            "GitHub answered {}{}",
            status_text(status),
            message_of(&reply.body)
        ),
    );
    let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
    let exhausted = header("x-ratelimit-remaining").is_some_and(|v| v.trim() == "0");
    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (retry_after.is_some() || exhausted));
    if rate_limited {
        let reset = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
        let wait = match (retry_after, exhausted, reset) {
            (Some(secs), _, _) => Duration::from_secs(secs),
            (None, true, Some(reset)) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                Duration::from_secs(reset.saturating_sub(now).max(1))
            }
            // GitHub's advice for a rate limit without timing headers: wait a minute.
            _ => Duration::from_secs(60),
        };
        return Attempt::Retry {
            wait: Some(wait),
            failure: Failure {
                text: format!("rate limited: {}", failure.text),
                rate_limited: true,
                ..failure
            },
        };
    }
    if status.is_server_error() {
        return Attempt::Retry {
            wait: None,
            failure,
        };
    }
    Attempt::Fatal(failure)
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// ``: `message` `` from GitHub's JSON error body, when there is one (cut to one short line).
fn message_of(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: Option<String>,
    }
    let message = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.message)
        .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "));
    match message {
        Some(m) if !m.is_empty() => {
            let short: String = m.chars().take(200).collect();
            format!(" (`{}`)", short.replace('`', "'"))
        }
        _ => String::new(),
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

fn parse<T: serde::de::DeserializeOwned>(reply: &Reply) -> Result<T, Failure> {
    serde_json::from_slice(&reply.body).map_err(|e| {
        Failure::new(
            Some(reply.status),
            format!("GitHub's answer is not the expected JSON: {e}"),
        )
    })
}

/// The client and the retry policy.
struct Api<'a> {
    octo: Octocrab,
    base: Uri,
    retry: &'a RetryPolicy,
    timeout: Duration,
}

impl<'a> Api<'a> {
    fn new(ctx: &Context, token: &str, settings: &'a CommentSettings) -> Result<Api<'a>, Failure> {
        crate::engine::client::install_crypto_provider();
        let fail = |e: &dyn std::error::Error| {
            Failure::new(
                None,
                format!(
                    "cannot set up the GitHub client for `{}`: {}",
                    ctx.api_url,
                    chain(e)
                ),
            )
        };
        // octocrab panics on a token that is not a valid header value; refuse it here.
        if http::HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(Failure::new(
                None,
                "the GitHub token contains characters not allowed in an HTTP header".to_string(),
            ));
        }
        let base: Uri = ctx.api_url.parse().map_err(|e| fail(&e))?;
        let octo = Octocrab::builder()
            .base_uri(base.clone())
            .map_err(|e| fail(&e))?
            .personal_token(token.to_string())
            // Retries are ours: they see the headers and never repeat a POST blindly.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(settings.request_timeout))
            .build()
            .map_err(|e| fail(&e))?;
        Ok(Api {
            octo,
            base,
            retry: &settings.retry,
            timeout: settings.request_timeout,
        })
    }

    /// One attempt; `Err` only when no answer arrived.
    async fn send_once(&self, request: &Request) -> Result<Reply, Failure> {
        let transport = |e: &dyn std::error::Error| {
            Failure::new(
                None,
                format!(
                    "cannot reach GitHub for `{} {}`: {}",
                    request.method,
                    request.path,
                    chain(e)
                ),
            )
        };
        let exchange = async {
            let response = match request.method {
                http::Method::POST => {
                    self.octo
                        ._post(request.path.as_str(), request.body.as_ref())
                        .await
                }
                http::Method::PATCH => {
                    self.octo
                        ._patch(request.path.as_str(), request.body.as_ref())
                        .await
                }
                _ => self.octo._get(request.path.as_str()).await,
            }
            .map_err(|e| transport(&e))?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| transport(&e))?.to_bytes();
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Failure::new(
                None,
                format!(
                    "no answer from GitHub for `{} {}` within {:?}",
                    request.method, request.path, self.timeout
                ),
            )),
        }
    }

    /// Sends an idempotent request, retrying what is worth retrying.
    async fn send_retrying(&self, request: Request) -> Result<Reply, Failure> {
        let mut retry = 0;
        loop {
            match classify(self.send_once(&request).await) {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Fatal(failure) => return Err(failure),
                Attempt::Retry { wait, failure } => {
                    let delay = self.delay(retry, wait, failure)?;
                    (self.retry.sleep)(delay).await;
                    retry += 1;
                }
            }
        }
    }

    /// The delay before retry number `retry`, or the failure when retrying is over.
    fn delay(
        &self,
        retry: u32,
        wait: Option<Duration>,
        mut failure: Failure,
    ) -> Result<Duration, Failure> {
        if retry >= self.retry.max_retries {
            failure.text = format!("{} (gave up after {} attempts)", failure.text, retry + 1);
            return Err(failure);
        }
        match wait {
            Some(wait) if wait > self.retry.max_wait => {
                failure.text = format!(
                    "{}; GitHub asks to wait {}s, longer than the {}s loadgate waits",
                    failure.text,
                    wait.as_secs(),
                    self.retry.max_wait.as_secs()
                );
                Err(failure)
            }
            Some(wait) => Ok(wait),
            None => Ok(self.retry.backoff(retry)),
        }
    }

    /// The login of the token's owner (see the module docs).
    async fn token_owner(&self) -> Result<String, Failure> {
        match self.send_retrying(Request::get("/user".to_string())).await {
            Ok(reply) => Ok(parse::<ApiUser>(&reply)?.login),
            Err(Failure {
                status:
                    Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                rate_limited: false,
                ..
            }) => Ok(ACTIONS_BOT_LOGIN.to_string()),
            Err(failure) => Err(failure.context("finding out who the token belongs to")),
        }
    }

    /// The id of the oldest comment on PR `number` with `marker` written by `login`, reading
    /// every page.
    async fn find(
        &self,
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
            let reply = self
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
                .map(|url| self.same_origin_path(&url))
                .transpose()?;
        }
        Ok(None)
    }

    /// The path and query of a pagination link, which must point at the API's own origin (the
    /// token is only ever sent there).
    fn same_origin_path(&self, url: &str) -> Result<String, Failure> {
        let uri: Uri = url.parse().map_err(|_| {
            Failure::new(
                None,
                format!("listing the comments: invalid `Link` URL `{url}`"),
            )
        })?;
        let same = uri.scheme() == self.base.scheme() && uri.authority() == self.base.authority();
        match uri.path_and_query() {
            Some(pq) if same => Ok(pq.as_str().to_string()),
            _ => Err(Failure::new(
                None,
                format!(
                    "listing the comments: the next page `{url}` is not on `{}`",
                    self.base
                ),
            )),
        }
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (url, params) = part.trim().split_once(';')?;
            let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
            params
                .split(';')
                .any(|p| {
                    let p = p.trim().replace(' ', "");
                    p == "rel=\"next\"" || p == "rel=next"
                })
                .then(|| url.to_string())
        })
}

/// An error with its sources, `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
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
    fn link_header_next() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            http::HeaderValue::from_static(
                "<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel=\"next\", \
                 <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=5>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
        headers.insert(
            http::header::LINK,
            http::HeaderValue::from_static("<https://x/?page=1>; rel=\"prev\""),
        );
        assert_eq!(next_link(&headers), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_bound() {
        let policy = RetryPolicy::default();
        let secs: Vec<u64> = (0..7).map(|r| policy.backoff(r).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 16, 16]);
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
