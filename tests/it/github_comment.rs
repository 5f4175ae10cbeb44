//! The sticky PR comment against a local server answering like GitHub's REST API with the
//! fixture payloads; the context comes from the real `pull_request.opened` event.

use crate::support::fake_github;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_github::{FakeGithub, Fault, UserEndpoint};
use http::Method;
use loadgate::error::ExitCode;
use loadgate::github::comment::{
    AuthorCheck, COMMENT_MAX_UTF16_UNITS, CommentOutcome, CommentSettings, PublishRequirement,
    RetryPolicy, SkipReason, marker, publish_sticky_comment,
};
use loadgate::github::context::{Context, Env, NoPullRequest};

const PR_OPENED: &str = include_str!("../fixtures/github/events/pull_request.opened.json");
const PUSH: &str = include_str!("../fixtures/github/events/push.branch.json");
const PROFILE: &str = "checkout-api";
const TOKEN: &str = "ghs_test_token";
const PR: u64 = 2;
const LIST_PATH: &str = "/repos/Codertocat/Hello-World/issues/2/comments?per_page=100";

fn context(server: &FakeGithub, event: &str, event_json: &str) -> Context {
    let env = Env::from_pairs([
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", event.to_string()),
        (
            "GITHUB_EVENT_PATH",
            "/github/workflow/event.json".to_string(),
        ),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World".to_string()),
        ("GITHUB_API_URL", server.api_url()),
        ("GITHUB_SERVER_URL", "https://github.com".to_string()),
        ("GITHUB_RUN_ID", "4242".to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ]);
    Context::from_env(&env, Some(event_json)).expect("valid context")
}

/// Settings with a sleeper that records the delays asked for and returns at once.
fn settings() -> (CommentSettings, Arc<Mutex<Vec<Duration>>>) {
    let slept = Arc::new(Mutex::new(Vec::new()));
    let record = slept.clone();
    let retry = RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        max_wait: Duration::from_secs(60),
        sleep: Arc::new(move |d| {
            record.lock().expect("lock").push(d);
            Box::pin(async {})
        }),
    };
    let settings = CommentSettings {
        retry,
        request_timeout: Duration::from_secs(10),
        ..CommentSettings::default()
    };
    (settings, slept)
}

fn body(markdown: &str) -> String {
    format!("{}\n{markdown}", marker(PROFILE))
}

fn ours(server: &FakeGithub) -> Vec<(u64, String, String)> {
    server
        .comments()
        .into_iter()
        .filter(|(_, login, body)| {
            login == "github-actions[bot]" && body.contains(&marker(PROFILE))
        })
        .collect()
}

#[tokio::test]
async fn first_run_creates_the_comment() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "## ✅ pass", &settings).await;

    let CommentOutcome::Created { id, url } = &outcome else {
        panic!("expected a new comment, got {outcome:?}");
    };
    assert_eq!(
        url.as_deref(),
        Some(
            format!("https://github.com/Codertocat/Hello-World/pull/2#issuecomment-{id}").as_str()
        )
    );
    assert_eq!(
        server.request_lines(),
        [
            "GET /user".to_string(),
            format!("GET {LIST_PATH}"),
            "POST /repos/Codertocat/Hello-World/issues/2/comments".to_string(),
        ]
    );
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "every request carries the token: {requests:?}"
    );
    assert_eq!(
        requests[2].body.as_ref().and_then(|b| b["body"].as_str()),
        Some(body("## ✅ pass").as_str())
    );
    assert_eq!(
        ours(&server),
        [(*id, "github-actions[bot]".into(), body("## ✅ pass"))]
    );
    assert!(slept.lock().expect("lock").is_empty());
    assert_eq!(
        outcome.exit_code(ExitCode::Pass, PublishRequirement::Required),
        ExitCode::Pass
    );
}

#[tokio::test]
async fn second_run_updates_the_same_comment() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, _) = settings();

    let first = publish_sticky_comment(&ctx, PROFILE, "run 1", &settings).await;
    let CommentOutcome::Created { id: created, .. } = first else {
        panic!("expected a new comment, got {first:?}");
    };
    let second = publish_sticky_comment(&ctx, PROFILE, "run 2", &settings).await;

    assert!(
        matches!(second, CommentOutcome::Updated { id, .. } if id == created),
        "{second:?}"
    );
    assert_eq!(
        ours(&server),
        [(created, "github-actions[bot]".into(), body("run 2"))]
    );
    let lines = server.request_lines();
    assert_eq!(
        lines[3..],
        [
            "GET /user".to_string(),
            format!("GET {LIST_PATH}"),
            format!("PATCH /repos/Codertocat/Hello-World/issues/comments/{created}"),
        ]
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with("POST")).count(), 1);
}

#[tokio::test]
async fn comments_by_other_authors_with_similar_text_are_ignored() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let fixture_comment = server.seed(PR, "octocat", "Me too");
    let copied = server.seed(PR, "octocat", &body("a quote of the bot's comment"));
    let other_profile = server.seed(
        PR,
        "github-actions[bot]",
        &format!("{}\nother profile", marker("checkout-api-v2")),
    );
    let other_pr = server.seed(3, "github-actions[bot]", &body("another PR"));
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, _) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    let CommentOutcome::Created { id, .. } = outcome else {
        panic!("expected a new comment, got {outcome:?}");
    };
    assert!(![fixture_comment, copied, other_profile, other_pr].contains(&id));
    assert!(
        !server
            .request_lines()
            .iter()
            .any(|l| l.starts_with("PATCH")),
        "nobody else's comment is edited"
    );
    let bodies: Vec<String> = server.comments().into_iter().map(|c| c.2).collect();
    assert_eq!(
        bodies[..4],
        [
            "Me too".to_string(),
            body("a quote of the bot's comment"),
            format!("{}\nother profile", marker("checkout-api-v2")),
            body("another PR"),
        ]
    );
}

#[tokio::test]
async fn the_owner_of_a_personal_token_is_found_with_get_user() {
    let server = FakeGithub::start(UserEndpoint::Login("octocat".into())).await;
    let bots = server.seed(
        PR,
        "github-actions[bot]",
        &body("written with GITHUB_TOKEN"),
    );
    let octocats = server.seed(PR, "octocat", &body("written with octocat's token"));
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, _) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "new", &settings).await;

    assert!(
        matches!(outcome, CommentOutcome::Updated { id, .. } if id == octocats),
        "{outcome:?}"
    );
    assert_ne!(bots, octocats);
    assert!(server.request_lines().contains(&format!(
        "PATCH /repos/Codertocat/Hello-World/issues/comments/{octocats}"
    )));
}

#[tokio::test]
async fn a_configured_author_skips_get_user() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let apps = server.seed(PR, "my-app[bot]", &body("from the app"));
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (mut settings, _) = settings();
    settings.author = AuthorCheck::Login("My-App[bot]".into());

    let outcome = publish_sticky_comment(&ctx, PROFILE, "new", &settings).await;

    assert!(
        matches!(outcome, CommentOutcome::Updated { id, .. } if id == apps),
        "{outcome:?}"
    );
    assert!(!server.request_lines().contains(&"GET /user".to_string()));
}

#[tokio::test]
async fn page_two_of_the_listing_is_followed() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    for i in 0..150 {
        server.seed(PR, "octocat", &format!("comment {i}"));
    }
    let existing = server.seed(PR, "github-actions[bot]", &body("old report"));
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, _) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "new report", &settings).await;

    assert!(
        matches!(outcome, CommentOutcome::Updated { id, .. } if id == existing),
        "{outcome:?}"
    );
    let lines = server.request_lines();
    assert_eq!(
        lines,
        [
            "GET /user".to_string(),
            format!("GET {LIST_PATH}"),
            "GET /repositories/186853002/issues/2/comments?per_page=100&page=2".to_string(),
            format!("PATCH /repos/Codertocat/Hello-World/issues/comments/{existing}"),
        ]
    );
    assert_eq!(
        ours(&server),
        [(existing, "github-actions[bot]".into(), body("new report"))]
    );
}

#[tokio::test]
async fn forbidden_is_a_warning_and_exit_code_4_only_when_required() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    server.fault(Fault::new(
        Method::POST,
        "/issues/2/comments",
        403,
        "Resource not accessible by integration",
    ));
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    let CommentOutcome::Failed { warning, status } = &outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(*status, Some(403));
    insta::assert_snapshot!("forbidden_warning", outcome.to_string());
    assert!(warning.contains("Resource not accessible by integration"));
    assert_eq!(
        server
            .request_lines()
            .iter()
            .filter(|l| l.starts_with("POST"))
            .count(),
        1,
        "a refusal is not retried"
    );
    assert!(slept.lock().expect("lock").is_empty());
    assert!(server.comments().is_empty());
    assert_eq!(
        outcome.exit_code(ExitCode::Pass, PublishRequirement::BestEffort),
        ExitCode::Pass
    );
    assert_eq!(
        outcome.exit_code(ExitCode::Pass, PublishRequirement::Required),
        ExitCode::Publish
    );
    assert_eq!(
        outcome.exit_code(ExitCode::Regression, PublishRequirement::Required),
        ExitCode::Regression
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    server.fault(Fault::new(
        Method::GET,
        "/issues/2/comments",
        500,
        "Server Error",
    ));
    server.fault(Fault::new(
        Method::GET,
        "/issues/2/comments",
        502,
        "Bad Gateway",
    ));
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    assert!(
        matches!(outcome, CommentOutcome::Created { .. }),
        "{outcome:?}"
    );
    let lists = server
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("GET /repos"))
        .count();
    assert_eq!(lists, 3);
    assert_eq!(
        *slept.lock().expect("lock"),
        [Duration::from_millis(1), Duration::from_millis(2)]
    );
    assert_eq!(ours(&server).len(), 1);
}

#[tokio::test]
async fn a_create_that_failed_after_storing_is_not_duplicated() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let mut fault = Fault::new(Method::POST, "/issues/2/comments", 502, "Bad Gateway");
    fault.apply_anyway = true;
    server.fault(fault);
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    let stored = ours(&server);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        matches!(outcome, CommentOutcome::Updated { id, .. } if id == stored[0].0),
        "{outcome:?}"
    );
    assert_eq!(
        server
            .request_lines()
            .iter()
            .filter(|l| l.starts_with("POST"))
            .count(),
        1
    );
    assert_eq!(slept.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_bounded_retries() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    for _ in 0..10 {
        server.fault(Fault::new(
            Method::GET,
            "/issues/2/comments",
            503,
            "Unavailable",
        ));
    }
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    assert!(
        matches!(
            &outcome,
            CommentOutcome::Failed {
                status: Some(503),
                ..
            }
        ),
        "{outcome:?}"
    );
    insta::assert_snapshot!("server_error_warning", outcome.to_string());
    assert_eq!(
        server.request_lines().len(),
        1 + 4,
        "GET /user, then 1 + 3 retries"
    );
    assert_eq!(
        *slept.lock().expect("lock"),
        [
            Duration::from_millis(1),
            Duration::from_millis(2),
            Duration::from_millis(4)
        ]
    );
}

#[tokio::test]
async fn rate_limit_retry_after_is_honoured() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    server.fault(
        Fault::new(
            Method::GET,
            "/issues/2/comments",
            429,
            "You have exceeded a secondary rate limit",
        )
        .header("retry-after", "7"),
    );
    server.fault(
        Fault::new(
            Method::POST,
            "/issues/2/comments",
            403,
            "API rate limit exceeded",
        )
        .header("retry-after", "3")
        .header("x-ratelimit-remaining", "0"),
    );
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    assert!(
        matches!(outcome, CommentOutcome::Created { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        *slept.lock().expect("lock"),
        [Duration::from_secs(7), Duration::from_secs(3)],
        "the delays GitHub asked for"
    );
    assert_eq!(ours(&server).len(), 1);
}

#[tokio::test]
async fn an_exhausted_primary_rate_limit_waits_for_the_reset() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    server.fault(
        Fault::new(
            Method::GET,
            "/issues/2/comments",
            403,
            "API rate limit exceeded",
        )
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", (now + 20).to_string()),
    );
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    assert!(
        matches!(outcome, CommentOutcome::Created { .. }),
        "{outcome:?}"
    );
    let slept = slept.lock().expect("lock").clone();
    assert_eq!(slept.len(), 1);
    assert!(
        (Duration::from_secs(18)..=Duration::from_secs(20)).contains(&slept[0]),
        "{slept:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_bound_gives_up_without_waiting() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    server.fault(
        Fault::new(
            Method::GET,
            "/issues/2/comments",
            429,
            "secondary rate limit",
        )
        .header("retry-after", "3600"),
    );
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    assert!(
        matches!(
            &outcome,
            CommentOutcome::Failed {
                status: Some(429),
                ..
            }
        ),
        "{outcome:?}"
    );
    insta::assert_snapshot!("rate_limit_warning", outcome.to_string());
    assert!(slept.lock().expect("lock").is_empty());
    assert_eq!(
        outcome.exit_code(ExitCode::Pass, PublishRequirement::BestEffort),
        ExitCode::Pass
    );
}

#[tokio::test]
async fn an_unreachable_api_is_a_warning() {
    // Bind a port, then close it: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let env = Env::from_pairs([
        ("GITHUB_EVENT_NAME", "pull_request".to_string()),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World".to_string()),
        ("GITHUB_API_URL", format!("http://{addr}")),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ]);
    let ctx = Context::from_env(&env, Some(PR_OPENED)).expect("valid context");
    let (settings, slept) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    let CommentOutcome::Failed { warning, status } = &outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(*status, None);
    assert!(warning.contains("cannot reach GitHub"), "{warning}");
    assert_eq!(slept.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn push_events_post_nothing() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let ctx = context(&server, "push", PUSH);
    let (settings, _) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    assert_eq!(
        outcome,
        CommentOutcome::Skipped(SkipReason::NoPullRequest(
            NoPullRequest::NotAPullRequestEvent {
                event: "push".into()
            }
        ))
    );
    assert_eq!(
        outcome.to_string(),
        "no PR comment: `push` events have no pull request"
    );
    assert!(server.requests().is_empty());
    assert_eq!(
        outcome.exit_code(ExitCode::Pass, PublishRequirement::Required),
        ExitCode::Pass
    );
}

#[tokio::test]
async fn no_token_is_a_skip_that_fails_required_publishing() {
    let env = Env::from_pairs([
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
    ]);
    let ctx = Context::from_env(&env, Some(PR_OPENED)).expect("valid context");
    let (settings, _) = settings();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    assert_eq!(outcome, CommentOutcome::Skipped(SkipReason::NoToken));
    assert_eq!(
        outcome.exit_code(ExitCode::Pass, PublishRequirement::Required),
        ExitCode::Publish
    );
    assert_eq!(
        outcome.exit_code(ExitCode::Pass, PublishRequirement::BestEffort),
        ExitCode::Pass
    );
}

#[tokio::test]
async fn a_long_report_is_cut_with_a_pointer_to_the_job_summary() {
    let server = FakeGithub::start(UserEndpoint::InstallationToken).await;
    let ctx = context(&server, "pull_request", PR_OPENED);
    let (settings, _) = settings();
    let row = "| GET /customerdata/{id} | 12.3ms | 13.1ms | +6.5% (±2.1%) | 10% | ✅ pass |\n";
    let markdown = format!(
        "## ✅ pass\n\n| endpoint | base | now | change | tol | verdict |\n| --- | --- | --- | --- | --- | --- |\n{}",
        row.repeat(2_000)
    );
    assert!(markdown.chars().count() > 100_000);

    let outcome = publish_sticky_comment(&ctx, PROFILE, &markdown, &settings).await;

    assert!(
        matches!(outcome, CommentOutcome::Created { .. }),
        "{outcome:?}"
    );
    let posted = server.comments().remove(0).2;
    let units = posted.encode_utf16().count();
    assert!(units <= COMMENT_MAX_UTF16_UNITS, "{units} UTF-16 units");
    assert!(
        units > COMMENT_MAX_UTF16_UNITS - row.len(),
        "cut close to the limit: {units}"
    );
    assert!(posted.starts_with(&body("## ✅ pass\n")));
    // Cut after a whole row, then the notice.
    let (kept, notice) = posted.split_once("\n\n---\n\n").expect("notice");
    assert!(
        kept.ends_with("✅ pass |\n"),
        "{}",
        &kept[kept.len() - 40..]
    );
    insta::assert_snapshot!("comment_truncation_notice", notice);
}

#[tokio::test]
async fn an_api_that_never_answers_is_given_up_within_the_total_bound() {
    // Accepts connections and reads, never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten().take(16) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let env = Env::from_pairs([
        ("GITHUB_EVENT_NAME", "pull_request".to_string()),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World".to_string()),
        ("GITHUB_API_URL", format!("http://{addr}")),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ]);
    let ctx = Context::from_env(&env, Some(PR_OPENED)).expect("valid context");
    let (mut settings, _) = settings();
    settings.total_timeout = Duration::from_secs(2);
    let started = std::time::Instant::now();

    let outcome = publish_sticky_comment(&ctx, PROFILE, "report", &settings).await;

    let CommentOutcome::Failed { warning, .. } = &outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(
        warning.contains("did not finish answering within 2 s"),
        "{warning}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}
