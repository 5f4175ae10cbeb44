//! The action on the runner, beyond the happy path of `action_contract.rs`: what it leaves in
//! the workspace (owners), the size of its outputs, what it says and publishes when a run fails
//! before a verdict, and a machine (or image) without CA certificates. The real binary runs as the runner runs the container, against the demo
//! service and a local server answering like GitHub's REST API.

use crate::support::action_step;
use crate::support::fake_github;
use crate::support::synthetic as common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use action_step::StepEnv;
use fake_github::{FakeGithub, UserEndpoint};
use loadgate::demo::{self, DemoConfig};

const PUSH: &str = include_str!("../fixtures/github/events/push.branch.json");
const PR_OPENED: &str = include_str!("../fixtures/github/events/pull_request.opened.json");
const WORKFLOW_RUN: &str =
    include_str!("../fixtures/github/events/workflow_run.completed.with-pull-requests.json");

/// One endpoint, a short run: enough requests for a trusted run that can be recorded.
const PROFILE: &str = r#"
version: 1
name: files
wait_for: { path: /health, timeout: 10s }
load:
  warmup: 1s
  stages:
    - { duration: 2s, rate: 200/s }
requests:
  - name: get customer
    get: "/customerdata/{{ random_int(1, 4500) }}"
    check: { status: 200 }
"#;

/// Tests that send load run one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn demo_service() -> demo::DemoServer {
    demo::start(
        DemoConfig {
            latency: std::time::Duration::from_millis(2),
            slow: Vec::new(),
            error_ratio: 0.0,
            capacity: 0,
        },
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .expect("demo service starts")
}

fn workspace(profile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("perf")).expect("mkdir");
    std::fs::write(dir.path().join("perf/files.yaml"), profile).expect("profile");
    dir
}

#[cfg(unix)]
fn owner(path: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::symlink_metadata(path).expect("metadata");
    (meta.uid(), meta.gid())
}

/// The container runs as root; the workspace belongs to the runner's user. Everything loadgate
/// creates there — the results folder, the results and reports, and on a first recording the
/// `baselines/` folder and file — must belong to that user, or the job's next step cannot write
/// beside them.
#[cfg(unix)]
#[test]
fn files_created_in_the_workspace_get_the_workspace_owner() {
    const RUNNER_USER: u32 = 12_345;
    let ws = workspace(PROFILE);
    if let Err(e) = std::os::unix::fs::chown(ws.path(), Some(RUNNER_USER), Some(RUNNER_USER)) {
        // Only root can give a folder away; the check needs it (CI runs the tests as root).
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
        eprintln!("skipped: not root, cannot chown the workspace ({e})");
        return;
    }
    let _serial = serial();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let github = rt.block_on(FakeGithub::start(UserEndpoint::InstallationToken));
    let service = demo_service();
    let api_url = github.api_url();

    let step = StepEnv::new(ws.path(), "push", PUSH, &api_url)
        .input("push", "false")
        .input("profile", "perf/files.yaml")
        .input("target", service.url())
        .run();
    assert_eq!(step.code, 0, "{}", step.log());
    assert_eq!(step.outputs["baseline"], "baselines/files");

    let created = [
        "loadgate-results",
        "loadgate-results/results.json",
        "loadgate-results/report.md",
        "loadgate-results/report.html",
        "loadgate-results/junit.xml",
        "loadgate-results/comparison.json",
        "baselines",
        "baselines/files",
    ];
    for rel in created {
        let path = ws.path().join(rel);
        assert!(path.exists(), "{rel} was not created: {}", step.log());
        assert_eq!(
            owner(&path),
            (RUNNER_USER, RUNNER_USER),
            "{rel} belongs to the workspace's owner"
        );
    }
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(ws.path().join("loadgate-results"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // What was there before keeps its owner.
    assert_eq!(owner(&ws.path().join("perf")), (0, 0));
    service.stop();
}

/// A profile for `mode: report` over the synthetic results of `common` (profile `checkout`).
const CHECKOUT: &str = r"
version: 1
name: checkout
load:
  stages:
    - { duration: 70s, rate: 400/s }
requests:
  - name: get customer
    get: /x
  - name: add json
    get: /y
";

/// GitHub refuses step outputs above 1 MiB: a large template's report goes into the `report`
/// output cut, with a note naming the full report, as the job summary is.
#[test]
fn the_report_output_is_capped_under_the_output_limit_with_a_note() {
    let ws = workspace(CHECKOUT);
    let results = ws.path().join("loadgate-results/results.json");
    std::fs::create_dir_all(results.parent().expect("parent")).expect("mkdir");
    std::fs::write(&results, common::run(&common::Spec::new(7)).to_json()).expect("results");
    // About 2.2 MB of Markdown: 110,000 table rows.
    std::fs::write(
        ws.path().join("perf/big.md.j2"),
        "### {{ verdict.title }}\n\n| row | text |\n| --- | --- |\n\
         {% for i in range(1000) %}{% for j in range(110) %}| {{ i }}.{{ j }} | xxxxxxxx |\n{% endfor %}{% endfor %}",
    )
    .expect("template");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let github = rt.block_on(FakeGithub::start(UserEndpoint::InstallationToken));
    let api_url = github.api_url();
    let step = StepEnv::new(ws.path(), "push", PUSH, &api_url)
        .input("push", "false")
        .input("profile", "perf/files.yaml")
        .input("mode", "report")
        .input("template", "perf/big.md.j2")
        .run();
    assert_eq!(step.code, 0, "{}", step.log());
    let full =
        std::fs::read_to_string(ws.path().join("loadgate-results/report.md")).expect("full report");
    assert!(full.len() > 2_000_000, "{}", full.len());
    let report = &step.outputs["report"];
    assert!(report.len() < 1024 * 1024, "{} bytes", report.len());
    assert!(report.starts_with("### "), "{}", &report[..100]);
    assert!(
        report.trim_end().ends_with(
            "the full report is `loadgate-results/report.md` (upload it as an artifact)."
        ),
        "{}",
        &report[report.len() - 300..]
    );
    assert!(
        full.starts_with(&report[..report.len() / 2]),
        "a prefix of the report"
    );
    assert!(step.summary.len() < 1024 * 1024);
}

/// An image without CA certificates runs a plain-http target: the readiness probe and setup
/// requests need no roots from the machine (they trust what the load trusts, built in).
#[test]
fn a_plain_http_target_needs_no_ca_certificates() {
    let _serial = serial();
    let ws = workspace(&PROFILE.replace(
        "requests:",
        "setup:\n  - name: warm up\n    get: /health\nrequests:",
    ));
    let certs = ws.path().join("no-certs");
    std::fs::create_dir_all(&certs).expect("mkdir");
    std::fs::write(certs.join("empty.pem"), "").expect("empty bundle");
    let service = demo_service();
    let out = assert_cmd::Command::cargo_bin("loadgate")
        .expect("binary")
        .current_dir(ws.path())
        .env("SSL_CERT_FILE", certs.join("empty.pem"))
        .env("SSL_CERT_DIR", &certs)
        .args(["run", "perf/files.yaml", "--out", "r.json", "--target"])
        .arg(service.url())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("ready after"), "{stderr}");
    assert!(ws.path().join("r.json").is_file());
    service.stop();
}

/// A target that refuses connections: the error keeps its root cause, and under the action it
/// names the input that set the target.
#[test]
fn a_refused_target_is_named_with_its_root_cause_and_input() {
    let ws = workspace(&PROFILE.replace("timeout: 10s", "timeout: 1s, interval: 200ms"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let github = rt.block_on(FakeGithub::start(UserEndpoint::InstallationToken));
    let api_url = github.api_url();
    let step = StepEnv::new(ws.path(), "push", PUSH, &api_url)
        .input("push", "false")
        .input("profile", "perf/files.yaml")
        .input("target", &url)
        .run();
    assert_eq!(step.code, 3, "{}", step.log());
    let error = step
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {}", step.log()));
    assert!(error.contains("target not ready"), "{error}");
    assert!(
        error.to_lowercase().contains("connection refused"),
        "the root cause, not only `client error (Connect)`: {error}"
    );
    assert!(
        error.ends_with("the target is the action input `target`"),
        "{error}"
    );
}

/// A pull request whose sticky comment says ✅ from an earlier run; then a step fails before
/// its verdict. The comment is updated with the failure and its cause (a stale ✅ must not
/// stay), the job summary says the same, and the outputs say `verdict=error`.
#[test]
fn a_failure_before_the_verdict_replaces_the_stale_comment() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let github = rt.block_on(FakeGithub::start(UserEndpoint::InstallationToken));
    let api_url = github.api_url();
    let marker = loadgate::github::comment::marker("files");
    let stale = github.seed(
        2,
        "github-actions[bot]",
        &format!("{marker}\n### ✅ loadgate · files: Pass"),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let refused = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);

    let never_ready = workspace(&PROFILE.replace("timeout: 10s", "timeout: 1s, interval: 200ms"));
    let invalid = workspace(&PROFILE.replace("requests:", "requets:"));
    let unreadable = workspace(PROFILE);
    std::fs::create_dir_all(unreadable.path().join("loadgate-results")).expect("mkdir");
    std::fs::write(
        unreadable.path().join("loadgate-results/results.json"),
        "{ \"format_version\": 1, ",
    )
    .expect("corrupt results");
    let cases = [
        (never_ready.path(), "gate", 3, "target not ready"),
        (invalid.path(), "gate", 2, "requets"),
        (unreadable.path(), "report", 2, "results.json"),
    ];
    for (ws, mode, code, cause) in cases {
        let step = StepEnv::new(ws, "pull_request", PR_OPENED, &api_url)
            .input("profile", "perf/files.yaml")
            .input("target", &refused)
            .input("mode", mode)
            .run();
        assert_eq!(step.code, code, "{mode} {cause}: {}", step.log());
        assert_eq!(
            step.outputs.get("verdict").map(String::as_str),
            Some("error")
        );
        assert_eq!(step.outputs["exit-code"], code.to_string());
        assert!(
            step.summary.contains("no verdict, the step failed"),
            "{}",
            step.summary
        );
        assert!(step.summary.contains(cause), "{}", step.summary);
        let comments = github.comments();
        assert_eq!(
            comments.len(),
            1,
            "the sticky comment is updated, not added"
        );
        let (id, _, body) = &comments[0];
        assert_eq!(*id, stale);
        assert!(
            body.starts_with(&format!("{marker}\n### ⚠️ loadgate · files: no verdict")),
            "{body}"
        );
        assert!(!body.contains("✅"), "{body}");
        assert!(body.contains(cause), "{mode}: {body}");
        if code == 3 {
            assert!(body.to_lowercase().contains("connection refused"), "{body}");
        }
        assert!(step.outputs["comment-url"].contains(&stale.to_string()));
        // The next case starts from the stale ✅ again.
        github.set_body(stale, &format!("{marker}\n### ✅ loadgate · files: Pass"));
    }
}

/// The fork-safe pair's second workflow: a `workflow_run` job with a write token comments from
/// the first run's artifact, PR number included, which the fork's own code could write. The
/// number is checked against the triggering run's head commit before anything is posted.
#[test]
fn a_handed_over_pr_number_must_match_the_triggering_run() {
    const RUN_SHA: &str = "c0ffee0000000000000000000000000000000042";
    let mut event: serde_json::Value = serde_json::from_str(WORKFLOW_RUN).expect("fixture");
    let run = &mut event["workflow_run"];
    run["event"] = serde_json::json!("pull_request");
    run["pull_requests"] = serde_json::json!([]);
    run["head_sha"] = serde_json::json!(RUN_SHA);
    run["head_repository"]["id"] = serde_json::json!(1);
    run["head_repository"]["full_name"] = serde_json::json!("someone/fork");
    let event = event.to_string();

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let github = rt.block_on(FakeGithub::start(UserEndpoint::InstallationToken));
    github.add_pull(2, RUN_SHA);
    github.add_pull(3, "0123456789abcdef0123456789abcdef01234567");
    let api_url = github.api_url();
    let ws = workspace(CHECKOUT);
    let results = ws.path().join("loadgate-results/results.json");
    std::fs::create_dir_all(results.parent().expect("parent")).expect("mkdir");
    std::fs::write(&results, common::run(&common::Spec::new(7)).to_json()).expect("results");
    let step = |number: &str, comment: &str| {
        StepEnv::new(ws.path(), "workflow_run", &event, &api_url)
            .input("profile", "perf/files.yaml")
            .input("mode", "report")
            .input("pr-number", number)
            .input("comment", comment)
            .run()
    };

    // Another pull request's number: refused with a warning, nothing posted.
    let refused = step("3", "auto");
    assert_eq!(
        refused.code,
        0,
        "a warning, not a failure: {}",
        refused.log()
    );
    let warning = refused
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning title=loadgate%3A PR comment not posted::"))
        .unwrap_or_else(|| panic!("no warning: {}", refused.log()));
    assert!(
        warning.contains("refusing to comment on pull request #3")
            && warning.contains(RUN_SHA)
            && warning.contains("0123456789abcdef0123456789abcdef01234567"),
        "{warning}"
    );
    assert!(!refused.outputs.contains_key("comment-url"));
    // A number that is no pull request here; and `comment: always` makes a refusal fail.
    let unknown = step("9", "always");
    assert_eq!(unknown.code, 4, "{}", unknown.log());
    assert!(
        unknown
            .stdout
            .contains("refusing to comment on pull request #9"),
        "{}",
        unknown.log()
    );
    assert!(github.comments().is_empty(), "{:?}", github.request_lines());
    assert!(
        !github
            .request_lines()
            .iter()
            .any(|l| l.starts_with("POST ")),
        "{:?}",
        github.request_lines()
    );

    // The pull request whose head the run measured: the comment is posted.
    let matching = step("2", "auto");
    assert_eq!(matching.code, 0, "{}", matching.log());
    let comments = github.comments();
    assert_eq!(comments.len(), 1, "{:?}", github.request_lines());
    assert!(comments[0].2.starts_with("<!-- loadgate: checkout -->"));
    assert!(
        github
            .request_lines()
            .contains(&"GET /repos/Codertocat/Hello-World/pulls/2".to_string()),
        "{:?}",
        github.request_lines()
    );
    assert!(matching.outputs["comment-url"].contains("/pull/2#"));
}
