//! The GitHub Action's contract, without Docker: the real binary runs as the runner runs the
//! container — `gate` with every input of `action.yml` as `INPUT_*` (defaults from the file),
//! a real event payload at `GITHUB_EVENT_PATH`, temp files for `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY`, `GITHUB_API_URL` at a local server answering like GitHub's REST
//! API, and the demo service as the target. Covers a record run on main, a passing PR and a
//! regressing PR; and checks that every input is read and every output written.

use crate::support::fake_github;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use fake_github::{FakeGithub, UserEndpoint};
use loadgate::demo::{self, DemoConfig};
use loadgate::github::inputs::{INPUTS, OUTPUTS};

const PR_OPENED: &str = include_str!("../fixtures/github/events/pull_request.opened.json");
const PR_SYNC: &str = include_str!("../fixtures/github/events/pull_request.synchronize.json");
const PUSH: &str = include_str!("../fixtures/github/events/push.branch.json");
const TOKEN: &str = "ghs_contract_token";

/// A short profile with one endpoint: 1 s warm-up, 5 s at 300/s, so p50 is gated.
const PROFILE: &str = r#"
version: 1
name: contract
wait_for: { path: /health, timeout: 10s }
load:
  warmup: 1s
  stages:
    - { duration: 1s, rate: 300/s }
    - { duration: 5s, rate: 300/s }
requests:
  - name: get customer
    get: "/customerdata/{{ random_int(1, 4500) }}"
    check: { status: 200 }
thresholds:
  all: { error_rate: 1% }
# The contract is under test here, not the statistics: a wide tolerance keeps a busy test
# machine from looking like a regression, while the slowed-down PR (twice as slow) is one.
gate:
  metrics: { p50: 20%, p95: 25%, p99: 30% }
"#;

/// Tests that send load run one at a time, so one's load does not slow down another's service.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn action() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml"))
        .expect("action.yml");
    serde_saphyr::from_str(&text).expect("action.yml is YAML")
}

/// `INPUT_*` for every input with its default, as the runner sets them (`${{ github.token }}`
/// evaluates to the job's token).
fn default_inputs() -> BTreeMap<String, String> {
    let action = action();
    let inputs = action["inputs"].as_object().expect("inputs");
    inputs
        .iter()
        .map(|(name, spec)| {
            let default = spec["default"].as_str().unwrap_or("");
            let value = if default == "${{ github.token }}" {
                TOKEN.to_string()
            } else {
                default.to_string()
            };
            (format!("INPUT_{}", name.to_uppercase()), value)
        })
        .collect()
}

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("perf")).expect("mkdir");
        std::fs::write(dir.path().join("perf/contract.yaml"), PROFILE).expect("profile");
        Workspace { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A path output as the job's next step (on the runner's host, in the workspace) resolves
    /// it: it must be relative, since the container's `/github/workspace` is not on the host.
    fn output_path(&self, output: &str) -> PathBuf {
        assert!(
            Path::new(output).is_relative(),
            "outputs are workspace-relative paths, not container paths: {output}"
        );
        self.path(output)
    }
}

/// What one step produced.
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    summary: String,
}

/// Runs `loadgate gate` as the runner runs the container.
fn step(ws: &Workspace, github: &FakeGithub, event: &str, payload: &str, target: &str) -> Step {
    step_with(ws, github, event, payload, target, &[])
}

/// [`step`] with more inputs (`("INPUT_SHARD", "1/2")`).
fn step_with(
    ws: &Workspace,
    github: &FakeGithub,
    event: &str,
    payload: &str,
    target: &str,
    extra: &[(&str, &str)],
) -> Step {
    let runner = tempfile::tempdir().expect("tempdir");
    let event_path = runner.path().join("event.json");
    std::fs::write(&event_path, payload).expect("event");
    let output = runner.path().join("output");
    let summary = runner.path().join("summary");
    std::fs::write(&output, "").expect("output");
    std::fs::write(&summary, "").expect("summary");
    let git_ref = if event == "push" {
        "refs/heads/master".to_string()
    } else {
        "refs/pull/2/merge".to_string()
    };
    let mut cmd = assert_cmd::Command::cargo_bin("loadgate").expect("binary");
    cmd.env_clear()
        .current_dir(ws.dir.path())
        .envs(default_inputs())
        .env("INPUT_PROFILE", "perf/contract.yaml")
        .env("INPUT_TARGET", target)
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_REF", git_ref)
        .env("GITHUB_SHA", "6113728f27ae82c7b1a177c8d03f9e96e0adf246")
        .env("GITHUB_RUN_ID", "1234")
        .env("GITHUB_API_URL", github.api_url())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_WORKSPACE", ws.dir.path())
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", runner.path())
        .envs(extra.iter().copied())
        .arg("gate")
        .timeout(std::time::Duration::from_secs(60));
    let out = cmd.output().expect("runs");
    Step {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: parse_outputs(&std::fs::read_to_string(&output).expect("output file")),
        summary: std::fs::read_to_string(&summary).expect("summary file"),
    }
}

/// Reads a `GITHUB_OUTPUT` file as the runner does: `name=value` and heredocs.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

fn demo_service(slow: f64) -> demo::DemoServer {
    demo::start(
        DemoConfig {
            latency: std::time::Duration::from_millis(2),
            slow: vec![("customer".into(), slow)],
            error_ratio: 0.0,
            capacity: 0,
        },
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .expect("demo service starts")
}

/// Runs in a baseline folder (one file per run).
fn baseline_runs(path: &Path) -> usize {
    std::fs::read_dir(path)
        .expect("baseline folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count()
}

#[test]
fn record_on_main_then_a_passing_and_a_regressing_pull_request() {
    let _serial = serial();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let github = rt.block_on(FakeGithub::start(UserEndpoint::InstallationToken));
    let ws = Workspace::new();
    let service = demo_service(1.0);
    let baseline = ws.path("baselines/contract");

    // Two pushes to the default branch record the baseline (mode `auto` → `record`).
    for n in 1..=2 {
        // The workspace is no git checkout: the run file is written, not pushed.
        let s = step_with(
            &ws,
            &github,
            "push",
            PUSH,
            &service.url(),
            &[("INPUT_PUSH", "false")],
        );
        assert_eq!(s.code, 0, "record {n}: {}\n{}", s.stderr, s.stdout);
        assert_eq!(baseline_runs(&baseline), n, "{}", s.stderr);
        assert_eq!(s.outputs["baseline"], "baselines/contract");
        assert_eq!(ws.output_path(&s.outputs["baseline"]), baseline);
        assert!(s.summary.contains("### "), "{}", s.summary);
        assert!(
            s.summary
                .contains("recorded the run in \\`baselines/contract\\`"),
            "{}",
            s.summary
        );
        let container_path = ws.dir.path().display().to_string();
        assert!(
            !s.summary.contains(&container_path),
            "the summary's notes name workspace paths relatively: {}",
            s.summary
        );
    }
    assert!(
        github.requests().is_empty(),
        "a push gets no comment: {:?}",
        github.request_lines()
    );

    // A PR against the same service: not a regression; the sticky comment is created.
    let s = step(&ws, &github, "pull_request", PR_OPENED, &service.url());
    assert_eq!(s.code, 0, "{}\n{}", s.stderr, s.stdout);
    let verdict = s.outputs["verdict"].clone();
    // Not a regression. On a loaded machine the same service can also measure faster than
    // the runs recorded on main (an improvement), which does not block either.
    assert!(
        ["pass", "inconclusive", "improvement"].contains(&verdict.as_str()),
        "{verdict}: {}",
        s.stdout
    );
    assert_eq!(s.outputs["exit-code"], "0");
    for name in OUTPUTS {
        assert!(
            s.outputs.contains_key(*name),
            "output `{name}` not written: {:?}",
            s.outputs.keys()
        );
    }
    assert!(s.outputs["report"].starts_with("### "), "{:?}", s.outputs);
    assert!(s.summary.contains("loadgate · contract"), "{}", s.summary);
    for name in ["results", "report-html", "junit", "comparison"] {
        assert!(
            ws.output_path(&s.outputs[name]).is_file(),
            "{name}: {:?}",
            s.outputs
        );
    }
    assert_eq!(s.outputs["results"], "loadgate-results/results.json");
    assert!(s.outputs["requests"].parse::<u64>().expect("a count") >= 1400);
    assert!(s.outputs["p95-ms"].parse::<f64>().expect("ms") > 1.0);
    let comments = github.comments();
    assert_eq!(comments.len(), 1, "{:?}", github.request_lines());
    let (id, author, body) = &comments[0];
    assert_eq!(author, "github-actions[bot]");
    assert!(
        body.starts_with("<!-- loadgate: contract -->\n### "),
        "{body}"
    );
    assert!(
        s.outputs["comment-url"].contains(&id.to_string()),
        "{:?}",
        s.outputs
    );
    assert!(
        github
            .requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "the token of the `github-token` input is used"
    );

    // The PR gets a commit that makes `get customer` twice as slow: a regression, exit 1,
    // and the same comment is updated.
    drop(service);
    let slow = demo_service(2.0);
    let s = step(&ws, &github, "pull_request", PR_SYNC, &slow.url());
    assert_eq!(s.code, 1, "{}\n{}", s.stderr, s.stdout);
    assert_eq!(s.outputs["verdict"], "regression");
    // The action confirms before blocking by default (input `confirm: auto`): measured twice,
    // the regression held, and the confirmation run's results are an output.
    assert_eq!(
        s.outputs["confirmation-results"],
        "loadgate-results/results.confirm.json"
    );
    assert!(
        ws.output_path(&s.outputs["confirmation-results"]).is_file(),
        "{:?}",
        s.outputs
    );
    assert!(
        s.stderr
            .contains("measuring again to confirm before blocking"),
        "{}",
        s.stderr
    );
    assert!(
        s.stdout
            .contains("::error title=loadgate%3A get customer p50 regressed::"),
        "{}",
        s.stdout
    );
    let comments = github.comments();
    assert_eq!(comments.len(), 1, "updated, not a second comment");
    assert_eq!(comments[0].0, *id);
    assert!(comments[0].2.contains("Regression"), "{}", comments[0].2);
    assert!(
        comments[0]
            .2
            .contains("the regression held on re-measurement"),
        "{}",
        comments[0].2
    );
    assert!(
        github
            .request_lines()
            .iter()
            .any(|l| l.starts_with("PATCH ")),
        "{:?}",
        github.request_lines()
    );
    assert_eq!(baseline_runs(&baseline), 2, "a PR never records");
    slow.stop();
}

#[test]
fn shards_run_apart_then_one_report_step_merges_and_comments() {
    let _serial = serial();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let github = rt.block_on(FakeGithub::start(UserEndpoint::InstallationToken));
    let ws = Workspace::new();
    let service = demo_service(1.0);
    // One start for both, as the sharded workflow's first job hands out.
    let at = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(4),
    )
    .to_string();
    let shards: Vec<Step> = std::thread::scope(|scope| {
        let handles: Vec<_> = ["1", "2"]
            .iter()
            .map(|i| {
                let (ws, github, url, at) = (&ws, &github, service.url(), &at);
                scope.spawn(move || {
                    step_with(
                        ws,
                        github,
                        "pull_request",
                        PR_OPENED,
                        &url,
                        &[
                            ("INPUT_SHARD", &format!("{i}/2")),
                            ("INPUT_START-AT", at),
                            ("INPUT_RESULTS", &format!("shards/shard-{i}.json")),
                        ],
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joins"))
            .collect()
    });
    for s in &shards {
        assert_eq!(s.code, 0, "{}", s.stderr);
        assert!(
            s.stderr.contains("for the synchronized start at"),
            "{}",
            s.stderr
        );
        assert!(
            ws.output_path(&s.outputs["results"]).is_file(),
            "{:?}",
            s.outputs
        );
        assert!(
            !s.outputs.contains_key("verdict"),
            "a shard alone is not judged"
        );
    }
    assert!(github.comments().is_empty(), "shards do not comment");
    service.stop();

    let s = step_with(
        &ws,
        &github,
        "pull_request",
        PR_OPENED,
        "",
        &[
            ("INPUT_MODE", "report"),
            ("INPUT_RESULTS", "shards/shard-*.json"),
        ],
    );
    assert_eq!(s.code, 0, "{}\n{}", s.stderr, s.stdout);
    assert_eq!(s.outputs["verdict"], "no_baseline", "{}", s.stdout);
    assert_eq!(s.outputs["results"], "shards/merged-results.json");
    let merged = ws.output_path(&s.outputs["results"]);
    let text = std::fs::read_to_string(merged).expect("merged results");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(value["shard"]["indices"], serde_json::json!([0, 1]));
    let requests: u64 = s.outputs["requests"].parse().expect("count");
    assert!(
        (1400..=1600).contains(&requests),
        "both shards' requests: {requests}"
    );
    assert_eq!(github.comments().len(), 1, "{:?}", github.request_lines());
}

#[test]
fn every_input_is_read_and_every_output_declared() {
    let action = action();
    let declared: Vec<String> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .cloned()
        .collect();
    let mut read: Vec<String> = INPUTS.iter().map(ToString::to_string).collect();
    let mut declared_sorted = declared.clone();
    declared_sorted.sort();
    read.sort();
    assert_eq!(
        declared_sorted, read,
        "action.yml inputs = what `gate` reads"
    );
    let mut outputs: Vec<String> = action["outputs"]
        .as_object()
        .expect("outputs")
        .keys()
        .cloned()
        .collect();
    let mut written: Vec<String> = OUTPUTS.iter().map(ToString::to_string).collect();
    outputs.sort();
    written.sort();
    assert_eq!(outputs, written, "action.yml outputs = what `gate` writes");
    // Every input maps 1:1 to a flag of `loadgate gate` (the profile is its argument).
    let help = assert_cmd::Command::cargo_bin("loadgate")
        .expect("binary")
        .args(["gate", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for name in declared.iter().filter(|n| *n != "profile") {
        assert!(
            help.contains(&format!("--{name}")),
            "no flag --{name}:\n{help}"
        );
    }
    assert_eq!(action["runs"]["using"], "docker");
    assert_eq!(action["runs"]["args"][0], "gate");
}

#[test]
fn a_bad_input_names_itself_and_exits_2() {
    let github_env_free = assert_cmd::Command::cargo_bin("loadgate")
        .expect("binary")
        .env_clear()
        .env("INPUT_PROFILE", "missing.yaml")
        .env("INPUT_MODE", "gates")
        .arg("gate")
        .output()
        .expect("runs");
    assert_eq!(github_env_free.status.code(), Some(2));
    let err = String::from_utf8_lossy(&github_env_free.stderr);
    assert!(
        err.contains("invalid mode `gates`") && err.contains("`record`"),
        "{err}"
    );
}
