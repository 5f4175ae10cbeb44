//! The GitHub context parsed from the real event payloads in `tests/fixtures/github/events/`
//! (octokit/webhooks examples), with the environment injected.

use loadgate::github::GithubError;
use loadgate::github::context::{Context, Env, EventKind, HeadOrigin, NoPullRequest};
use serde_json::{Value, json};

const PR_OPENED: &str = include_str!("../fixtures/github/events/pull_request.opened.json");
const PR_SYNCHRONIZE: &str =
    include_str!("../fixtures/github/events/pull_request.synchronize.json");
const PUSH: &str = include_str!("../fixtures/github/events/push.branch.json");
const WORKFLOW_RUN: &str =
    include_str!("../fixtures/github/events/workflow_run.completed.with-pull-requests.json");

fn env(event: &str, repository: &str) -> Env {
    Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", event),
        ("GITHUB_EVENT_PATH", "/github/workflow/event.json"),
        ("GITHUB_REPOSITORY", repository),
        ("GITHUB_SHA", "0000000000000000000000000000000000000001"),
        ("GITHUB_ACTOR", "Codertocat"),
        ("GITHUB_RUN_ID", "1234"),
        ("GITHUB_STEP_SUMMARY", "/github/file_commands/summary"),
        ("GITHUB_OUTPUT", "/github/file_commands/output"),
    ])
}

fn parse(event: &str, repository: &str, payload: &str) -> Context {
    Context::from_env(&env(event, repository), Some(payload)).expect("valid context")
}

fn edited(payload: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(payload).expect("fixture is JSON");
    edit(&mut value);
    value.to_string()
}

#[test]
fn pull_request_opened() {
    let ctx = parse("pull_request", "Codertocat/Hello-World", PR_OPENED);
    assert_eq!(ctx.event, EventKind::PullRequest);
    assert_eq!(ctx.action.as_deref(), Some("opened"));
    assert_eq!(ctx.repository.to_string(), "Codertocat/Hello-World");
    let pr = ctx.pull_request.as_ref().expect("a pull request");
    assert_eq!(pr.number, 2);
    assert_eq!(
        pr.head_sha.as_deref(),
        Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821")
    );
    assert_eq!(pr.head_ref.as_deref(), Some("changes"));
    assert_eq!(pr.base_ref.as_deref(), Some("master"));
    assert_eq!(
        pr.head_repository.as_deref(),
        Some("Codertocat/Hello-World")
    );
    assert_eq!(
        pr.base_repository.as_deref(),
        Some("Codertocat/Hello-World")
    );
    assert_eq!(pr.origin, HeadOrigin::SameRepository);
    // The PR head, not GITHUB_SHA (a merge commit for pull_request runs).
    assert_eq!(
        ctx.head_sha.as_deref(),
        Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821")
    );
    assert_eq!(ctx.actor.as_deref(), Some("Codertocat"));
    assert_eq!(ctx.api_url, "https://api.github.com");
    assert_eq!(
        ctx.summary_url().as_deref(),
        Some("https://github.com/Codertocat/Hello-World/actions/runs/1234")
    );
    assert_eq!(
        ctx.step_summary_path.as_deref(),
        Some(std::path::Path::new("/github/file_commands/summary"))
    );
    assert!(ctx.token.is_none());
}

#[test]
fn pull_request_synchronize() {
    let ctx = parse("pull_request", "Codertocat/Hello-World", PR_SYNCHRONIZE);
    assert_eq!(ctx.action.as_deref(), Some("synchronize"));
    assert_eq!(ctx.pull_request_number(), Some(2));
    let payload: Value = serde_json::from_str(PR_SYNCHRONIZE).expect("json");
    assert_eq!(
        ctx.head_sha.as_deref(),
        payload["pull_request"]["head"]["sha"].as_str(),
        "the PR head"
    );
}

#[test]
fn pull_request_target_reads_the_same_payload() {
    let ctx = parse("pull_request_target", "Codertocat/Hello-World", PR_OPENED);
    assert_eq!(ctx.event, EventKind::PullRequestTarget);
    assert_eq!(ctx.pull_request_number(), Some(2));
}

#[test]
fn pull_requests_from_forks_are_recognised() {
    let fork = edited(PR_OPENED, |v| {
        v["pull_request"]["head"]["repo"]["id"] = json!(999);
        v["pull_request"]["head"]["repo"]["full_name"] = json!("someone/Hello-World");
        v["pull_request"]["head"]["repo"]["fork"] = json!(true);
    });
    let ctx = parse("pull_request", "Codertocat/Hello-World", &fork);
    let pr = ctx.pull_request.as_ref().expect("a pull request");
    assert_eq!(pr.origin, HeadOrigin::Fork);
    assert_eq!(pr.head_repository.as_deref(), Some("someone/Hello-World"));

    // A deleted fork: `head.repo` is null.
    let deleted = edited(PR_OPENED, |v| {
        v["pull_request"]["head"]["repo"] = Value::Null;
    });
    let ctx = parse("pull_request", "Codertocat/Hello-World", &deleted);
    let pr = ctx.pull_request.as_ref().expect("a pull request");
    assert_eq!(pr.origin, HeadOrigin::Fork);
    assert_eq!(pr.head_repository, None);
}

#[test]
fn actions_copies_without_installation_parse() {
    let without = edited(PR_OPENED, |v| {
        v.as_object_mut().expect("object").remove("installation");
    });
    let ctx = parse("pull_request", "Codertocat/Hello-World", &without);
    assert_eq!(ctx.pull_request_number(), Some(2));
}

#[test]
fn push_has_no_pull_request() {
    let ctx = parse("push", "Codertocat/Hello-World", PUSH);
    assert_eq!(ctx.event, EventKind::Push);
    assert_eq!(
        ctx.pull_request,
        Err(NoPullRequest::NotAPullRequestEvent {
            event: "push".into()
        })
    );
    assert_eq!(
        ctx.head_sha.as_deref(),
        Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
    );
    assert_eq!(ctx.action, None);
}

#[test]
fn a_deleted_branch_push_falls_back_to_github_sha() {
    let deleted = edited(PUSH, |v| {
        v["after"] = json!("0000000000000000000000000000000000000000");
        v["deleted"] = json!(true);
    });
    let ctx = parse("push", "Codertocat/Hello-World", &deleted);
    assert_eq!(
        ctx.head_sha.as_deref(),
        Some("0000000000000000000000000000000000000001")
    );
}

#[test]
fn workflow_run_listing_only_another_repositorys_pr_is_not_used() {
    // The recorded example runs in octo-org/octo-repo, but its `pull_requests` entry is PR #2 of
    // repository 186853002 (Codertocat/Hello-World): commenting on octo-repo's #2 would be wrong.
    let ctx = parse("workflow_run", "octo-org/octo-repo", WORKFLOW_RUN);
    assert_eq!(ctx.event, EventKind::WorkflowRun);
    assert_eq!(ctx.action.as_deref(), Some("completed"));
    assert_eq!(
        ctx.pull_request,
        Err(NoPullRequest::OtherRepositories { numbers: vec![2] })
    );
    assert_eq!(
        ctx.head_sha.as_deref(),
        Some("3484a3fb816e0859fd6e1cea078d76385ff50625")
    );
    insta::assert_snapshot!(
        "workflow_run_other_repository",
        ctx.pull_request.expect_err("no PR").to_string()
    );
}

#[test]
fn workflow_run_takes_the_pr_of_its_own_repository() {
    let own = edited(WORKFLOW_RUN, |v| {
        let pr = &mut v["workflow_run"]["pull_requests"][0];
        pr["base"]["repo"]["id"] = json!(300_029_405);
        pr["head"]["repo"]["id"] = json!(300_029_405);
        pr["head"]["sha"] = json!("3484a3fb816e0859fd6e1cea078d76385ff50625");
        v["workflow_run"]["event"] = json!("pull_request");
    });
    let ctx = parse("workflow_run", "octo-org/octo-repo", &own);
    let pr = ctx.pull_request.as_ref().expect("a pull request");
    assert_eq!(pr.number, 2);
    assert_eq!(pr.origin, HeadOrigin::SameRepository);
    assert_eq!(pr.head_ref.as_deref(), Some("changes"));
    assert_eq!(pr.base_repository.as_deref(), Some("octo-org/octo-repo"));
}

#[test]
fn workflow_run_of_a_fork_pr_says_why_there_is_no_comment() {
    let fork = edited(WORKFLOW_RUN, |v| {
        let run = &mut v["workflow_run"];
        run["pull_requests"] = json!([]);
        run["event"] = json!("pull_request");
        run["head_repository"]["id"] = json!(1);
        run["head_repository"]["full_name"] = json!("someone/octo-repo");
    });
    let ctx = parse("workflow_run", "octo-org/octo-repo", &fork);
    let why = ctx.pull_request.clone().expect_err("no PR");
    assert_eq!(
        why,
        NoPullRequest::ForkWorkflowRun {
            head_repository: Some("someone/octo-repo".into())
        }
    );
    assert!(why.is_unresolved());
    insta::assert_snapshot!("workflow_run_fork", why.to_string());

    // The first workflow can hand the number over.
    let mut ctx = ctx;
    ctx.set_pull_request_number(17);
    assert_eq!(ctx.pull_request_number(), Some(17));
}

#[test]
fn workflow_run_of_a_push_is_not_about_a_pr() {
    let push = edited(WORKFLOW_RUN, |v| {
        v["workflow_run"]["pull_requests"] = json!([]);
        v["workflow_run"]["event"] = json!("push");
    });
    let ctx = parse("workflow_run", "octo-org/octo-repo", &push);
    let why = ctx.pull_request.expect_err("no PR");
    assert!(!why.is_unresolved());
    assert_eq!(
        why.to_string(),
        "the `workflow_run` event follows a `push` run, which has no pull request"
    );
}

#[test]
fn malformed_event_files_are_clear_errors() {
    let cases = [
        (
            "pull_request",
            "{ not json",
            "is not valid JSON: key must be a string at line 1",
        ),
        ("pull_request", PUSH, "has no `pull_request`"),
        ("workflow_run", PR_OPENED, "has no `workflow_run`"),
        (
            "pull_request",
            r#"{"pull_request": {"number": "two"}}"#,
            "at `pull_request.number`",
        ),
    ];
    let mut messages = Vec::new();
    for (event, payload, expected) in cases {
        let err = Context::from_env(&env(event, "Codertocat/Hello-World"), Some(payload))
            .expect_err("invalid");
        let message = err.to_string();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("/github/workflow/event.json"), "{message}");
        messages.push(message);
    }
    insta::assert_snapshot!("malformed_event_errors", messages.join("\n"));
}

#[test]
fn the_repository_falls_back_to_the_payload() {
    let env = Env::from_pairs([("GITHUB_EVENT_NAME", "push")]);
    let ctx = Context::from_env(&env, Some(PUSH)).expect("valid");
    assert_eq!(ctx.repository.to_string(), "Codertocat/Hello-World");
    let err = Context::from_env(&env, None).expect_err("no repository");
    assert!(
        matches!(
            err,
            GithubError::MissingVar {
                name: "GITHUB_REPOSITORY"
            }
        ),
        "{err}"
    );
}
