//! Where a run happens on GitHub: the `GITHUB_*` environment and the event payload at
//! `GITHUB_EVENT_PATH`, parsed into a [`Context`].
//!
//! Parsing is pure ([`Context::from_env`] takes an [`Env`] and the event text, read by
//! `github::event`); only [`Context::from_process`] reads the real environment and file.

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use super::GithubError;
use super::event::{parse_payload, resolve_pull_request};

mod env;
mod pull_request;

pub use env::Env;
pub use pull_request::{HeadOrigin, NoPullRequest, PrNumberSource, PullRequest};

/// The default REST API base, when `GITHUB_API_URL` is unset.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The default web base, when `GITHUB_SERVER_URL` is unset.
pub const DEFAULT_SERVER_URL: &str = "https://github.com";

/// The event that triggered the workflow (`GITHUB_EVENT_NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `pull_request`: the PR's own code; a read-only token for fork PRs.
    PullRequest,
    /// `pull_request_target`: the base branch's code, a write token even for fork PRs.
    PullRequestTarget,
    /// `push`: no pull request, no comment.
    Push,
    /// `workflow_run`: a second workflow after the first one finished (the fork-safe pattern).
    WorkflowRun,
    /// Any other event (`schedule`, `workflow_dispatch`, …).
    Other(String),
}

impl EventKind {
    fn parse(name: &str) -> EventKind {
        match name {
            "pull_request" => EventKind::PullRequest,
            "pull_request_target" => EventKind::PullRequestTarget,
            "push" => EventKind::Push,
            "workflow_run" => EventKind::WorkflowRun,
            other => EventKind::Other(other.to_string()),
        }
    }

    /// The name GitHub uses.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::PullRequest => "pull_request",
            EventKind::PullRequestTarget => "pull_request_target",
            EventKind::Push => "push",
            EventKind::WorkflowRun => "workflow_run",
            EventKind::Other(name) => name,
        }
    }
}

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// User or organisation.
    pub owner: String,
    /// Repository name.
    pub name: String,
}

impl Repository {
    /// Parses `owner/name`, accepting only the characters GitHub allows (so the parts are safe
    /// in a URL path).
    pub fn parse(full_name: &str) -> Option<Repository> {
        let (owner, name) = full_name.trim().split_once('/')?;
        let valid = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| Repository {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The workflow run, for links to its summary page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRef {
    /// `GITHUB_RUN_ID`.
    pub id: u64,
    /// `GITHUB_RUN_ATTEMPT` (1 for the first attempt).
    pub attempt: u32,
}

/// An API token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into())
    }

    /// The secret value, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Everything loadgate needs to know about the GitHub run it is part of.
#[derive(Debug, Clone)]
pub struct Context {
    /// `GITHUB_EVENT_NAME`.
    pub event: EventKind,
    /// The payload's `action` (`opened`, `synchronize`, `completed`, …).
    pub action: Option<String>,
    /// The repository the workflow runs in (`GITHUB_REPOSITORY`): where comments go.
    pub repository: Repository,
    /// The pull request, or why there is none.
    pub pull_request: Result<PullRequest, NoPullRequest>,
    /// Where the pull request's number comes from.
    pub pr_number_source: PrNumberSource,
    /// The commit under test: the PR head for PR events, `after` for pushes, `head_sha` for
    /// `workflow_run`; else `GITHUB_SHA`.
    pub head_sha: Option<String>,
    /// `GITHUB_ACTOR`.
    pub actor: Option<String>,
    /// The ref the workflow runs on (`GITHUB_REF`, else the push payload's `ref`).
    pub git_ref: Option<String>,
    /// The repository's default branch, from the event payload.
    pub default_branch: Option<String>,
    /// REST API base (`GITHUB_API_URL`), without a trailing slash.
    pub api_url: String,
    /// Web base (`GITHUB_SERVER_URL`), without a trailing slash.
    pub server_url: String,
    /// The run, when `GITHUB_RUN_ID` is set.
    pub run: Option<RunRef>,
    /// The token: action input `github-token`, else `LOADGATE_GITHUB_TOKEN`, else `GITHUB_TOKEN`.
    pub token: Option<Token>,
    /// `GITHUB_STEP_SUMMARY`.
    pub step_summary_path: Option<PathBuf>,
    /// `GITHUB_OUTPUT`.
    pub output_path: Option<PathBuf>,
}

impl Context {
    /// Reads the context of this process. `Ok(None)` outside GitHub Actions (`GITHUB_ACTIONS` is
    /// not `true`).
    pub fn from_process() -> Result<Option<Context>, GithubError> {
        let env = Env::from_process();
        if env.var("GITHUB_ACTIONS") != Some("true") {
            return Ok(None);
        }
        let event =
            match env.var("GITHUB_EVENT_PATH") {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
                    GithubError::ReadEvent {
                        path: PathBuf::from(path),
                        source,
                    }
                })?),
                None => None,
            };
        Context::from_env(&env, event.as_deref()).map(Some)
    }

    /// Parses the context from environment variables and the text of the event file.
    pub fn from_env(env: &Env, event_json: Option<&str>) -> Result<Context, GithubError> {
        let event_name = env
            .var("GITHUB_EVENT_NAME")
            .ok_or(GithubError::MissingVar {
                name: "GITHUB_EVENT_NAME",
            })?;
        let event = EventKind::parse(event_name);
        let event_path = PathBuf::from(env.var("GITHUB_EVENT_PATH").unwrap_or("(event payload)"));
        let payload = match event_json {
            Some(text) => Some(parse_payload(text, &event_path)?),
            None => None,
        };

        let repository = match env.var("GITHUB_REPOSITORY") {
            Some(full) => Repository::parse(full).ok_or_else(|| GithubError::InvalidVar {
                name: "GITHUB_REPOSITORY",
                value: full.to_string(),
                expected: "`owner/name`",
            })?,
            None => payload
                .as_ref()
                .and_then(|p| p.repository.as_ref()?.full_name.as_deref())
                .and_then(Repository::parse)
                .ok_or(GithubError::MissingVar {
                    name: "GITHUB_REPOSITORY",
                })?,
        };

        let (pull_request, event_sha) = match &payload {
            None => {
                let none = match event {
                    EventKind::PullRequest
                    | EventKind::PullRequestTarget
                    | EventKind::WorkflowRun => NoPullRequest::NoEventPayload,
                    _ => NoPullRequest::NotAPullRequestEvent {
                        event: event.as_str().to_string(),
                    },
                };
                (Err(none), None)
            }
            Some(p) => resolve_pull_request(&event, p, &event_path)?,
        };

        let run = match env.var("GITHUB_RUN_ID") {
            Some(id) => Some(RunRef {
                id: parse_number(id, "GITHUB_RUN_ID")?,
                attempt: match env.var("GITHUB_RUN_ATTEMPT") {
                    Some(a) => parse_number(a, "GITHUB_RUN_ATTEMPT")?,
                    None => 1,
                },
            }),
            None => None,
        };

        let token = [
            "INPUT_GITHUB-TOKEN",
            "LOADGATE_GITHUB_TOKEN",
            "GITHUB_TOKEN",
        ]
        .iter()
        .find_map(|name| env.var(name))
        .map(Token::new);

        Ok(Context {
            action: payload.as_ref().and_then(|p| p.action.clone()),
            event,
            repository,
            pull_request,
            pr_number_source: PrNumberSource::Event,
            head_sha: event_sha.or_else(|| env.var("GITHUB_SHA").map(str::to_string)),
            actor: env.var("GITHUB_ACTOR").map(str::to_string),
            git_ref: env
                .var("GITHUB_REF")
                .map(str::to_string)
                .or_else(|| payload.as_ref().and_then(|p| p.ref_name.clone())),
            default_branch: payload
                .as_ref()
                .and_then(|p| p.repository.as_ref()?.default_branch.clone()),
            api_url: base_url(env, "GITHUB_API_URL", DEFAULT_API_URL)?,
            server_url: base_url(env, "GITHUB_SERVER_URL", DEFAULT_SERVER_URL)?,
            run,
            token,
            step_summary_path: env.var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output_path: env.var("GITHUB_OUTPUT").map(PathBuf::from),
        })
    }

    /// True for a push to the repository's default branch: where baselines are recorded.
    pub fn is_push_to_default_branch(&self) -> bool {
        self.event == EventKind::Push
            && matches!(
                (&self.git_ref, &self.default_branch),
                (Some(r), Some(b)) if r.strip_prefix("refs/heads/") == Some(b.as_str())
            )
    }

    /// The PR number, when there is one.
    pub fn pull_request_number(&self) -> Option<u64> {
        self.pull_request.as_ref().ok().map(|pr| pr.number)
    }

    /// Sets the PR number from outside the event, for the `workflow_run` pattern where the first
    /// workflow hands the number over (fork PRs arrive with an empty `pull_requests` list). The
    /// event's own pull request stays when it has that number; any other number is
    /// [`PrNumberSource::HandedOver`], with the run's head commit as the PR's expected head.
    pub fn set_pull_request_number(&mut self, number: u64) {
        if self.pull_request_number() == Some(number) {
            return;
        }
        self.pull_request = Ok(PullRequest {
            number,
            head_sha: self.head_sha.clone(),
            head_ref: None,
            base_ref: None,
            head_repository: None,
            base_repository: Some(self.repository.to_string()),
            // Unknown; a handed-over number is the fork pattern's case.
            origin: HeadOrigin::Fork,
        });
        self.pr_number_source = PrNumberSource::HandedOver;
    }

    /// The run's summary page, where the job summary is shown; `None` without `GITHUB_RUN_ID`.
    pub fn summary_url(&self) -> Option<String> {
        let run = self.run?;
        let mut url = format!(
            "{}/{}/actions/runs/{}",
            self.server_url, self.repository, run.id
        );
        if run.attempt > 1 {
            let _ = write!(url, "/attempts/{}", run.attempt);
        }
        Some(url)
    }
}

fn parse_number<T: std::str::FromStr>(value: &str, name: &'static str) -> Result<T, GithubError> {
    value.parse().map_err(|_| GithubError::InvalidVar {
        name,
        value: value.to_string(),
        expected: "a positive integer",
    })
}

fn base_url(env: &Env, name: &'static str, default: &str) -> Result<String, GithubError> {
    let url = env.var(name).unwrap_or(default).trim_end_matches('/');
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.parse::<http::Uri>().is_err()
    {
        return Err(GithubError::InvalidVar {
            name,
            value: url.to_string(),
            expected: "an `https://` URL",
        });
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&str, &str)]) -> Env {
        let mut pairs = vec![
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REPOSITORY", "octo/repo"),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    #[test]
    fn repository_names_are_validated() {
        assert_eq!(
            Repository::parse("octo-org/octo.repo_1"),
            Some(Repository {
                owner: "octo-org".into(),
                name: "octo.repo_1".into()
            })
        );
        for bad in [
            "", "octo", "octo/", "/repo", "a/b/c", "a/..", "a/b?x", "a b/c",
        ] {
            assert_eq!(Repository::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_and_summary_url() {
        let ctx = Context::from_env(
            &env(&[
                ("GITHUB_RUN_ID", "42"),
                ("GITHUB_SERVER_URL", "https://ghe.example/"),
            ]),
            None,
        )
        .expect("valid");
        assert_eq!(ctx.api_url, DEFAULT_API_URL);
        assert_eq!(
            ctx.summary_url().as_deref(),
            Some("https://ghe.example/octo/repo/actions/runs/42")
        );
        assert_eq!(ctx.token, None);
        let retried = Context::from_env(
            &env(&[("GITHUB_RUN_ID", "42"), ("GITHUB_RUN_ATTEMPT", "3")]),
            None,
        )
        .expect("valid");
        assert_eq!(
            retried.summary_url().as_deref(),
            Some("https://github.com/octo/repo/actions/runs/42/attempts/3")
        );
    }

    #[test]
    fn token_sources_in_order_and_never_printed() {
        let ctx = Context::from_env(
            &env(&[
                ("GITHUB_TOKEN", "ghs_env"),
                ("INPUT_GITHUB-TOKEN", "ghs_input"),
            ]),
            None,
        )
        .expect("valid");
        assert_eq!(ctx.token.as_ref().map(Token::expose), Some("ghs_input"));
        assert!(!format!("{ctx:?}").contains("ghs_"));
    }

    #[test]
    fn bad_variables_are_clear_errors() {
        let cases = [
            (
                Env::from_pairs([("GITHUB_REPOSITORY", "o/r")]),
                "`GITHUB_EVENT_NAME` is not set",
            ),
            (
                env(&[("GITHUB_REPOSITORY", "nope")]),
                "`GITHUB_REPOSITORY` is `nope`",
            ),
            (env(&[("GITHUB_RUN_ID", "12x")]), "`GITHUB_RUN_ID` is `12x`"),
            (
                env(&[("GITHUB_API_URL", "ftp://x")]),
                "`GITHUB_API_URL` is `ftp://x`",
            ),
        ];
        for (env, expected) in cases {
            let err = Context::from_env(&env, None)
                .expect_err("invalid")
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn a_pr_event_without_payload_has_an_unresolved_pr() {
        let ctx =
            Context::from_env(&env(&[("GITHUB_EVENT_NAME", "pull_request")]), None).expect("valid");
        assert_eq!(ctx.pull_request, Err(NoPullRequest::NoEventPayload));
        assert!(NoPullRequest::NoEventPayload.is_unresolved());
    }

    #[test]
    fn a_handed_over_number_fills_in_the_pr() {
        let mut ctx = Context::from_env(&env(&[("GITHUB_SHA", "abc")]), None).expect("valid");
        assert_eq!(ctx.pull_request_number(), None);
        ctx.set_pull_request_number(7);
        assert_eq!(ctx.pull_request_number(), Some(7));
        assert_eq!(ctx.pr_number_source, PrNumberSource::HandedOver);
        assert_eq!(
            ctx.pull_request.as_ref().map(|p| p.head_sha.clone()),
            Ok(Some("abc".into()))
        );
    }
}
