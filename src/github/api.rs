//! The REST transport of the GitHub integration: one octocrab client against `GITHUB_API_URL`,
//! with loadgate's own retries (octocrab's are off, so the headers are seen and a `POST` is never
//! repeated blindly).
//!
//! Retried: transport errors, 5xx, and rate limits (`429`, or `403` with `retry-after` or
//! `x-ratelimit-remaining: 0`), with bounded exponential backoff or the wait GitHub asks for, up
//! to [`RetryPolicy::max_wait`]. Pagination links are followed only on the API's own origin.

use std::fmt;
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

use crate::format::error_chain as chain;

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

/// A failed request: the status when there was an answer, and what happened.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    /// The HTTP status, when an answer arrived.
    pub(super) status: Option<StatusCode>,
    /// What happened.
    pub(super) text: String,
    /// A rate limit, not a refusal: a 403 then says nothing about permissions.
    pub(super) rate_limited: bool,
}

impl Failure {
    pub(super) fn new(status: Option<StatusCode>, text: String) -> Failure {
        Failure {
            status,
            text,
            rate_limited: false,
        }
    }

    pub(super) fn context(mut self, doing: &str) -> Failure {
        self.text = format!("{doing}: {}", self.text);
        self
    }
}

/// One request to the API, relative to its base.
pub(super) struct Request {
    method: http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl Request {
    pub(super) fn get(path: String) -> Request {
        Request {
            method: http::Method::GET,
            path,
            body: None,
        }
    }

    pub(super) fn post(path: String, body: &serde_json::Value) -> Request {
        Request {
            method: http::Method::POST,
            path,
            body: Some(body.clone()),
        }
    }

    pub(super) fn patch(path: String, body: &serde_json::Value) -> Request {
        Request {
            method: http::Method::PATCH,
            path,
            body: Some(body.clone()),
        }
    }
}

/// A whole answer.
pub(super) struct Reply {
    status: StatusCode,
    pub(super) headers: HeaderMap,
    body: Bytes,
}

/// What to do after one attempt.
pub(super) enum Attempt {
    Done(Reply),
    /// Worth another try, after `wait` when the server asked for one.
    Retry {
        wait: Option<Duration>,
        failure: Failure,
    },
    Fatal(Failure),
}

pub(super) fn classify(result: Result<Reply, Failure>) -> Attempt {
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

pub(super) fn parse<T: serde::de::DeserializeOwned>(reply: &Reply) -> Result<T, Failure> {
    serde_json::from_slice(&reply.body).map_err(|e| {
        Failure::new(
            Some(reply.status),
            format!("GitHub's answer is not the expected JSON: {e}"),
        )
    })
}

/// The client and the retry policy.
pub(super) struct Api<'a> {
    octo: Octocrab,
    base: Uri,
    retry: &'a RetryPolicy,
    timeout: Duration,
}

impl<'a> Api<'a> {
    /// A client for the REST API at `api_url` with `token`; each request is bounded by
    /// `timeout`.
    pub(super) fn new(
        api_url: &str,
        token: &str,
        retry: &'a RetryPolicy,
        timeout: Duration,
    ) -> Result<Api<'a>, Failure> {
        crate::tls::install_crypto_provider();
        let fail = |e: &dyn std::error::Error| {
            Failure::new(
                None,
                format!(
                    "cannot set up the GitHub client for `{}`: {}",
                    api_url,
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
        let base: Uri = api_url.parse().map_err(|e| fail(&e))?;
        let octo = Octocrab::builder()
            .base_uri(base.clone())
            .map_err(|e| fail(&e))?
            .personal_token(token.to_string())
            // Retries are ours: they see the headers and never repeat a POST blindly.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(timeout))
            .build()
            .map_err(|e| fail(&e))?;
        Ok(Api {
            octo,
            base,
            retry,
            timeout,
        })
    }

    /// One attempt; `Err` only when no answer arrived.
    pub(super) async fn send_once(&self, request: &Request) -> Result<Reply, Failure> {
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
    pub(super) async fn send_retrying(&self, request: Request) -> Result<Reply, Failure> {
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
    pub(super) fn delay(
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

    /// Waits as the retry policy says.
    pub(super) async fn sleep(&self, delay: Duration) {
        (self.retry.sleep)(delay).await;
    }

    /// The path and query of a pagination link, which must point at the API's own origin (the
    /// token is only ever sent there).
    pub(super) fn same_origin_path(&self, url: &str) -> Result<String, Failure> {
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
pub(super) fn next_link(headers: &HeaderMap) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
