//! The real binary: exit codes, error text, the run → results → merge flow, Ctrl-C.
#![allow(clippy::unwrap_used)]

use crate::support;
use crate::support::synthetic as common;

use std::path::Path;
use std::time::Duration;

use predicates::prelude::*;

use crate::support::loadgate;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SHORT: &str = "name: cli\nload:\n  stages:\n    - { duration: 2s, rate: 50/s }\nrequests:\n  - { name: ok, get: /ok }\n  - { name: json, get: /json }\n";

#[test]
fn validate_prints_the_plan() {
    let out = loadgate()
        .args(["validate", "examples/demo.yaml"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let text = text.replace(&loadgate_hash(&text), "sha256:<hash>");
    insta::assert_snapshot!(text);
}

#[test]
fn validate_shows_scenarios_with_their_steps() {
    let out = loadgate()
        .args(["validate", "examples/journey.yaml"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let text = text.replace(&loadgate_hash(&text), "sha256:<hash>");
    insta::assert_snapshot!(text);
}

#[test]
fn validate_shows_setup_auth_data_and_a_mixed_mix() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "users.csv", "email,id\na@x.io,1\nb@x.io,2\n");
    let p = write(
        dir.path(),
        "p.yaml",
        r#"name: mixed
setup:
  - name: login
    post: /login
    json: { user: admin, password: "{{ env.HOME }}" }
    extract: { token: { json: /token } }
auth: { bearer: "{{ vars.token }}" }
data:
  users: { file: users.csv, mode: random }
load:
  model: closed
  think_time: 1s
  stages: [ { duration: 1m, users: 10 } ]
requests:
  - { name: health, get: /health, weight: 2 }
scenarios:
  - name: browse
    weight: 6
    steps:
      - { name: home, get: "/u/{{ data.users.id }}", think_time: 1s..2s }
      - { name: cart, post: /cart, form: { id: "{{ data.users.id }}" }, extract: { cart: { json: /id } } }
"#,
    );
    let out = loadgate()
        .args(["validate", p.to_str().unwrap()])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let text = text
        .replace(&loadgate_hash(&text), "sha256:<hash>")
        .replace(p.to_str().unwrap(), "<dir>/p.yaml");
    insta::assert_snapshot!(text);
}

fn loadgate_hash(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("hash: "))
        .unwrap()
        .to_string()
}

#[test]
fn validate_shows_a_shards_share() {
    loadgate()
        .args(["validate", "examples/demo.yaml", "--shard", "2/4"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3,250 requests in all; shard 2/4 sends 813",
        ));
}

#[test]
fn a_broken_profile_exits_2_with_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &SHORT.replace("rate: 50/s", "rate: 50/m"),
    );
    loadgate()
        .args(["validate", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: invalid rate `50/m` at `load.stages[0].rate`",
        ))
        .stderr(predicate::str::contains("p.yaml:4:29"));
}

#[test]
fn a_data_path_that_is_a_directory_says_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("users.csv")).unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &format!("data:\n  users: users.csv\n{SHORT}"),
    );
    loadgate()
        .args(["validate", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "users.csv` is a directory at `data.users`",
        ))
        .stderr(predicate::str::contains(
            "expected a `.csv` or `.jsonl` file, its path relative to the profile",
        ));
}

#[test]
fn a_missing_file_exits_2() {
    loadgate()
        .args(["run", "nope.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read `nope.yaml`"));
}

#[test]
fn a_missing_target_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", SHORT);
    loadgate()
        .args(["run", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no target for profile `cli`"))
        .stderr(predicate::str::contains("LOADGATE_TARGET"));
    loadgate()
        .args(["run", p.to_str().unwrap(), "--target", "ftp://x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unsupported scheme `ftp`"));
    loadgate()
        .args(["run", p.to_str().unwrap(), "--target", "http://127.0.0.1:99999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid port `99999` in target `http://127.0.0.1:99999`: expected a number from 1 to 65535",
        ));
    loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            "http://admin:hunter2pass@127.0.0.1:8080",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "target `http://***@127.0.0.1:8080` contains credentials",
        ))
        .stderr(predicate::str::contains("auth: { basic:"))
        .stderr(predicate::str::contains("hunter2pass").not());
    // `validate` checks a target from the environment the same way.
    loadgate()
        .args(["validate", p.to_str().unwrap()])
        .env("LOADGATE_TARGET", "http://127.0.0.1:0")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid port `0`"));
}

#[test]
fn a_target_that_never_gets_ready_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &format!("wait_for: {{ path: /health, timeout: 1s, interval: 200ms }}\n{SHORT}"),
    );
    let url = format!("http://127.0.0.1:{}", support::closed_port());
    loadgate()
        .args(["run", p.to_str().unwrap(), "--target", &url])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("target not ready"))
        .stderr(predicate::str::contains("/health` was not ready after 1s"));
}

#[test]
fn a_template_failing_at_run_time_ends_the_run_with_exit_code_3() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        "name: cli\nload:\n  stages: [ { duration: 5s, rate: 20/s } ]\nscenarios:\n  - name: read\n    steps:\n      - { name: fetch, get: /json, extract: { name: { json: /name } } }\n      - { name: use, get: \"/seen/{{ vars.name + 1 }}\" }\n",
    );
    let out = dir.path().join("r.json");
    loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
            out.to_str().unwrap(),
        ])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "the template of request `use` failed to render at run time",
        ));
    let r =
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(r.partial);
}

#[test]
fn run_writes_results_and_prints_the_summary_then_merge_adds_shards() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", SHORT);
    let out = dir.path().join("r.json");
    loadgate()
        .args(["run", p.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .env("LOADGATE_TARGET", target.url())
        .env("GITHUB_SHA", "0123456789abcdef")
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .assert()
        .success()
        .stdout(predicate::str::contains("endpoint"))
        .stdout(predicate::str::contains("json"))
        .stdout(predicate::str::contains(
            "generator: 100 of 100 planned arrivals sent",
        ));
    let text = std::fs::read_to_string(&out).unwrap();
    let result = loadgate::results::RunResult::from_json(&text).unwrap();
    // The file is written as it serializes; it is the whole canonical text, newline included.
    assert_eq!(result.to_json(), text);
    assert_eq!(result.git.unwrap().sha, "0123456789abcdef");
    assert_eq!(result.runner.class, "Linux-X64");
    assert_eq!(
        result
            .endpoints
            .iter()
            .map(|e| e.summary.requests)
            .sum::<u64>(),
        100
    );

    let shards: Vec<_> = (1..=2)
        .map(|i| {
            let o = dir.path().join(format!("s{i}.json"));
            loadgate()
                .args([
                    "run",
                    p.to_str().unwrap(),
                    "--target",
                    &target.url(),
                    "--shard",
                    &format!("{i}/2"),
                    "-o",
                    o.to_str().unwrap(),
                ])
                .assert()
                .success();
            o
        })
        .collect();
    // Run one after the other, the shards started seconds apart: adding their intervals by
    // index would add different moments of the load, so the merge refuses, naming the fix.
    let merged = dir.path().join("merged.json");
    loadgate()
        .args([
            "merge",
            shards[0].to_str().unwrap(),
            shards[1].to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("the shards started 2.").and(
                predicate::str::contains("more than one recording interval (1.0s)")
                    .and(predicate::str::contains("`--start-at`"))
                    .and(predicate::str::contains("`--max-skew 3s`")),
            ),
        );
    assert!(!merged.exists(), "nothing is written");
    loadgate()
        .args([
            "merge",
            shards[0].to_str().unwrap(),
            shards[1].to_str().unwrap(),
            "--max-skew",
            "1m",
            "--out",
            merged.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("shard 1,2 of 2"));
    let m = loadgate::results::RunResult::from_json(&std::fs::read_to_string(&merged).unwrap())
        .unwrap();
    assert!(m.shard.is_complete());
    assert_eq!(m.generator_totals().planned, 100);
    loadgate()
        .args([
            "merge",
            shards[0].to_str().unwrap(),
            shards[0].to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard 1/2 appears twice"));
}

/// Both shards at once, as a Kubernetes Indexed Job starts them: the index from
/// `JOB_COMPLETION_INDEX`, one start time for both, and intervals that line up.
#[test]
fn shards_started_together_merge_in_step() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", SHORT);
    // Whole seconds, as `date -u +%Y-%m-%dT%H:%M:%SZ` prints it: 3 to 4 s from now.
    let start = std::time::SystemTime::now() + Duration::from_secs(4);
    let at = humantime::format_rfc3339_seconds(start).to_string();
    let children: Vec<_> = (0..2)
        .map(|index| {
            let out = dir.path().join(format!("shard-{index}.json"));
            let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
                .args(["run", p.to_str().unwrap(), "--shard", "auto/2"])
                .args(["--target", &target.url(), "--start-at", &at, "--out"])
                .arg(&out)
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .env_remove("GITHUB_ACTIONS")
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (out, child)
        })
        .collect();
    let mut outs = Vec::new();
    for (out, child) in children {
        let done = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{stderr}");
        assert!(stderr.contains("for the synchronized start at"), "{stderr}");
        outs.push(out);
    }
    let read = |p: &Path| {
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let (a, b) = (read(&outs[0]), read(&outs[1]));
    assert_eq!(
        (a.shard.indices.clone(), b.shard.indices.clone()),
        (vec![0], vec![1])
    );
    for r in [&a, &b] {
        let began = humantime::parse_rfc3339_weak(&r.started_at).unwrap();
        assert!(
            began >= humantime::parse_rfc3339_weak(&at).unwrap(),
            "no load before the start time: {} < {at}",
            r.started_at
        );
    }
    let merged = dir.path().join("merged.json");
    loadgate()
        .args([
            "merge",
            outs[0].to_str().unwrap(),
            outs[1].to_str().unwrap(),
        ])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success()
        .stderr(predicate::str::contains("their starts lay"));
    assert!(read(&merged).shard.is_complete());
}

#[test]
fn a_start_time_a_shard_cannot_keep_is_refused() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", SHORT);
    let run = |at: &str| {
        loadgate()
            .args(["run", p.to_str().unwrap(), "--target", &target.url()])
            .args(["--start-at", at, "--out"])
            .arg(dir.path().join("r.json"))
            .timeout(Duration::from_secs(30))
            .assert()
            .code(2)
    };
    let past = std::time::SystemTime::now() - Duration::from_secs(30);
    run(&humantime::format_rfc3339_seconds(past).to_string()).stderr(
        predicate::str::contains("this shard was ready 3")
            .and(predicate::str::contains("more than one interval (1s)"))
            .and(predicate::str::contains(
                "Give every shard a later start time",
            )),
    );
    let far = std::time::SystemTime::now() + Duration::from_secs(3 * 24 * 3600);
    run(&humantime::format_rfc3339_seconds(far).to_string())
        .stderr(predicate::str::contains("more than a day: check the date"));
    run("2026-12-03T14:05:00+01:00").stderr(predicate::str::contains("give it in UTC"));
    loadgate()
        .args(["run", p.to_str().unwrap(), "--shard", "auto/2"])
        .env_remove("JOB_COMPLETION_INDEX")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`JOB_COMPLETION_INDEX`, which is not set",
        ));
    assert!(!dir.path().join("r.json").exists());
}

#[test]
fn gate_outside_actions_names_the_reports_it_wrote() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.yaml", SHORT);
    // Results in the working directory: their folder has no name to print.
    let out = loadgate()
        .current_dir(dir.path())
        .args([
            "gate",
            "p.yaml",
            "--mode",
            "run",
            "--results",
            "results.json",
        ])
        .args(["--target", &target.url(), "--comment", "never"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains(
            "reports written to `report.md`, `report.html`, `junit.xml`, `comparison.json` (not under GitHub Actions"
        ),
        "{stderr}"
    );
    assert!(dir.path().join("report.md").exists());
}

#[test]
fn a_header_no_request_could_send_is_refused_when_the_profile_loads() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "users.csv", "name\nJo\u{7f}e\nAnn\n");
    let from_env = write(
        dir.path(),
        "env.yaml",
        &SHORT.replace(
            "{ name: ok, get: /ok }",
            "{ name: ok, get: /ok, headers: { x-token: \"t {{ env.LOADGATE_TEST_TOKEN }}\" } }",
        ),
    );
    loadgate()
        .args(["validate", from_env.to_str().unwrap()])
        .env("LOADGATE_TEST_TOKEN", "line one\nline two")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "header `x-token` of request `ok` renders to an invalid value",
        ))
        .stderr(predicate::str::contains("at `requests[0].headers.x-token`"))
        .stderr(predicate::str::contains("line one").not());
    loadgate()
        .args(["validate", from_env.to_str().unwrap()])
        .env("LOADGATE_TEST_TOKEN", "fine-token")
        .assert()
        .success();
    let from_data = write(
        dir.path(),
        "data.yaml",
        &format!(
            "data:\n  users: {{ file: users.csv }}\ndefaults:\n  headers: {{ x-user: \"{{{{ data.users.name }}}}\" }}\n{SHORT}"
        ),
    );
    loadgate()
        .args(["validate", from_data.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "header `x-user` of request `ok` renders to an invalid value",
        ))
        .stderr(predicate::str::contains("at `defaults.headers.x-user`"));
}

#[test]
fn bad_shards_are_refused() {
    for bad in ["0/2", "3/2", "x"] {
        loadgate()
            .args(["run", "examples/demo.yaml", "--shard", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("expected `I/N` with 1 ≤ I ≤ N"));
    }
}

#[test]
fn an_in_flight_cap_below_the_shard_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &SHORT.replace("  stages:", "  max_in_flight: 2\n  stages:"),
    );
    loadgate()
        .args(["validate", p.to_str().unwrap(), "--shard", "3/4"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`load.max_in_flight` 2 cannot be split across 4 shards",
        ));
    loadgate()
        .args(["validate", p.to_str().unwrap(), "--shard", "2/2"])
        .assert()
        .success();
}

#[test]
fn a_corrupt_results_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "r.json", "{\"format_version\": 1, \"tool\": ");
    loadgate()
        .args(["merge", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("r.json"))
        .stderr(predicate::str::contains("EOF while parsing"));
    let future = write(dir.path(), "f.json", "{\"format_version\": 9}");
    loadgate()
        .args(["merge", future.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "newer than this loadgate reads (1): upgrade loadgate",
        ));
}

#[test]
fn schema_prints_json() {
    for kind in ["profile", "results"] {
        let out = loadgate().args(["schema", kind]).assert().success();
        let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        assert!(v.get("$schema").is_some());
    }
}

#[test]
fn demo_runs_the_example_against_the_built_in_service() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.json");
    // A shorter run is another load than the shipped baseline measured: it is not compared
    // with it (only thresholds are checked), and the demo says why.
    loadgate()
        .args(["demo", "--duration", "2s", "--out", out.to_str().unwrap()])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("get customer"))
        .stdout(predicate::str::contains("customer address"))
        .stdout(predicate::str::contains("add json"))
        .stdout(predicate::str::contains("all error_rate ≤ 1.00%"))
        .stdout(predicate::str::contains("verdict:").not())
        .stderr(predicate::str::contains("this run is not compared"));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("loadgate · demo"));
    // With an explicit baseline of the full demo, a shorter run is incompatible (exit 3).
    loadgate()
        .args(["demo", "--duration", "2s", "--out", out.to_str().unwrap()])
        .args([
            "--baseline",
            concat!(env!("CARGO_MANIFEST_DIR"), "/baselines/demo.json"),
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("verdict: INCOMPATIBLE"))
        .stdout(predicate::str::contains(
            "the profile changed since the baseline was recorded",
        ));
    let r =
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for e in &r.endpoints {
        assert!(e.summary.requests > 0, "{}", e.name);
        assert_eq!(e.summary.errors, 0, "{}: {:?}", e.name, e.error_samples);
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_partial_results() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &SHORT.replace("duration: 2s", "duration: 60s"),
    );
    let out = dir.path().join("r.json");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until load is flowing, then interrupt like a terminal would.
    let started = std::time::Instant::now();
    while target.total() < 50 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("writing partial results"), "{stderr}");
    let r =
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(r.partial);
    let n: u64 = r
        .endpoints
        .iter()
        .map(|e| e.summary.requests + e.warmup.requests)
        .sum();
    assert!(n >= 50, "the requests before Ctrl-C were kept: {n}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("PARTIAL (interrupted)"));
}

#[test]
fn secrets_never_reach_results_or_the_terminal() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    // The password comes from the environment, the token from setup; both are echoed back by
    // the target into failing checks, so their messages would contain them.
    let p = write(
        dir.path(),
        "p.yaml",
        r#"
name: secrets
setup:
  - name: login
    post: /login
    json: { user: alice, password: "{{ env.JOURNEY_PASSWORD }}" }
    extract: { token: { json: /token } }
auth: { bearer: "{{ vars.token }}" }
load:
  stages: [ { duration: 1s, rate: 60/s } ]
requests:
  - name: password echo
    get: /echo
    headers: { x-pass: "{{ env.JOURNEY_PASSWORD }}" }
    check: { json: { "/headers/x-pass": "something else" } }
  - name: token echo
    get: /echo
    check: { json: { "/headers/authorization": "something else" } }
  - name: special echo
    get: /echo
    headers: { x-special: "{{ env.SEC_A }}", x-page: "{{ env.SHORT_PAGE }}" }
    check: { json: { "/headers/x-special": "something else" } }
  - name: special query
    get: /echo
    query: { q: "{{ env.SEC_A }}" }
    check: { json: { "/query": "something else" } }
"#,
    );
    let out = dir.path().join("r.json");
    let output = loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
            out.to_str().unwrap(),
        ])
        .env("JOURNEY_PASSWORD", "secret-pass")
        .env("SEC_A", r#"quote"secret\x"#)
        .env("SHORT_PAGE", "ab")
        .assert()
        // Every check fails on purpose (the target echoes the secrets into them): a run in
        // which every request failed blocks.
        .code(1);
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    let results = std::fs::read_to_string(&out).unwrap();
    // Every report rendered from the results: Markdown (PR comment, job summary), HTML, JUnit.
    let report = |format: &str, with_secrets: bool| {
        let mut cmd = loadgate();
        cmd.args(["report", out.to_str().unwrap(), "--format", format]);
        if with_secrets {
            cmd.env("JOURNEY_PASSWORD", "secret-pass")
                .env("SEC_A", r#"quote"secret\x"#)
                .env("SHORT_PAGE", "ab");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let (markdown, html, junit) = (
        report("md", true),
        report("html", true),
        report("junit", true),
    );
    // A job without the run's secrets (the fork-safe comment workflow) renders the same report:
    // the profile is read for its gate settings only.
    assert_eq!(report("md", false), markdown);
    assert!(
        markdown.contains("JSON field `/headers/x-special` is `\\\"\\*\\*\\*\\\"`")
            || markdown.contains("\\*\\*\\*"),
        "the Markdown shows the masked error samples:\n{markdown}"
    );
    for (what, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("results.json", &results),
        ("the Markdown report", &markdown),
        ("the HTML report", &html),
        ("the JUnit report", &junit),
    ] {
        assert!(
            !text.contains("secret-pass"),
            "the password leaked into {what}:\n{text}"
        );
        assert!(
            !text.contains("tok-alice"),
            "the token leaked into {what}:\n{text}"
        );
        // As written, JSON-escaped (in a check's message) or percent-encoded (in the query).
        assert!(
            !text.contains("quote"),
            "the special-character secret leaked into {what}:\n{text}"
        );
    }
    let special = |name: &str| {
        let r = loadgate::results::RunResult::from_json(&results).unwrap();
        let e = r.endpoints.into_iter().find(|e| e.name == name).unwrap();
        e.error_samples[0].message.clone()
    };
    assert_eq!(
        special("special echo"),
        "JSON field `/headers/x-special` is `\"***\"`, expected `\"something else\"`"
    );
    assert_eq!(
        special("special query"),
        "JSON field `/query` is `\"q=***\"`, expected `\"something else\"`"
    );
    assert!(
        stderr.contains("warning: environment variable `SHORT_PAGE` is shorter than 4 characters and is not masked"),
        "{stderr}"
    );
    assert!(results.contains(r#"is `\"***\"`, expected"#), "{results}");
    assert!(results.contains("Bearer ***"), "{results}");
    assert!(
        stdout.contains("***"),
        "the summary shows the masked messages: {stdout}"
    );

    // Under GitHub Actions the runner is told to mask them, before anything else is printed.
    let output = loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
            out.to_str().unwrap(),
        ])
        .env("JOURNEY_PASSWORD", "secret-pass")
        .env("SEC_A", r#"quote"secret\x"#)
        .env("SHORT_PAGE", "ab")
        .env("GITHUB_ACTIONS", "true")
        .assert()
        // Every check fails on purpose: the run blocks (see above).
        .code(1);
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).into_owned();
    let first: Vec<&str> = stdout.lines().take(3).collect();
    assert!(first.contains(&"::add-mask::secret-pass"), "{stdout}");
    assert!(first.contains(&"::add-mask::tok-alice"), "{stdout}");
    assert!(first.contains(&r#"::add-mask::quote"secret\x"#), "{stdout}");
    // The percent-encoded form, itself escaped for the workflow command (`%` is `%25`).
    assert!(
        stdout.contains("::add-mask::quote%2522secret%255Cx"),
        "the encoded forms are masked too: {stdout}"
    );
    assert_eq!(
        stdout.matches("secret-pass").count(),
        1,
        "only in the mask command: {stdout}"
    );
}

/// Runs `loadgate args` with stdout a pipe that is closed after its first byte (as
/// `loadgate … | head -c1` does); returns the exit code and stderr.
fn close_stdout_after_one_byte(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    use std::io::Read as _;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
        .args(args)
        .env_remove("LOADGATE_TARGET")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reader_that_goes_away_stops_stdout_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    let mut spec = common::Spec::new(3);
    // Enough endpoints for reports larger than a pipe's buffer (64 KiB).
    spec.endpoints = (0..20)
        .map(|i| (&*format!("endpoint {i}").leak(), 10_000.0))
        .collect();
    spec.per_second = 5;
    spec.measured_s = 10;
    std::fs::write(&results, common::run(&spec).to_json()).unwrap();
    let results = results.as_os_str();
    let commands: [Vec<&std::ffi::OsStr>; 3] = [
        vec!["schema".as_ref(), "profile".as_ref()],
        vec![
            "report".as_ref(),
            results,
            "--baseline".as_ref(),
            results,
            "--format".as_ref(),
            "json".as_ref(),
        ],
        vec![
            "report".as_ref(),
            results,
            "--format".as_ref(),
            "html".as_ref(),
        ],
    ];
    for args in &commands {
        let whole = loadgate().args(args).output().unwrap();
        assert_eq!(whole.status.code(), Some(0), "{args:?}");
        let big = whole.stdout.len() > 64 * 1024;
        if args[0] == "report" {
            // Larger than a pipe's buffer: the write after the close fails every time.
            assert!(big, "{args:?}: {} bytes", whole.stdout.len());
        }
        for _ in 0..5 {
            let (code, stderr) = close_stdout_after_one_byte(args);
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert_eq!(code, Some(0), "{args:?}: the command's own code: {stderr}");
            assert!(
                !stderr.contains("error"),
                "a closed pipe is not an error: {args:?}: {stderr}"
            );
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_stdout_that_cannot_be_written_fails_the_command() {
    // `/dev/full`: every write fails with "no space left on device". The report is lost, so
    // the command must not pass silently.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
        .args(["schema", "profile"])
        .env_remove("GITHUB_ACTIONS")
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error: cannot write to stdout: No space left on device"),
        "{stderr}"
    );
}

/// The Kubernetes example without a cluster: the Indexed Job's container arguments and
/// environment, with `$(VAR)` expanded as the kubelet expands them and the mounts moved into a
/// temporary folder, run by the real binary (every index at once), then the report job's.
#[test]
fn the_kubernetes_example_runs_its_shards_and_merges_them() {
    let manifest = |name: &str| -> serde_json::Value {
        let path = format!("{}/examples/kubernetes/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let shards = manifest("shards-job.yaml");
    let report = manifest("report-job.yaml");
    let spec = &shards["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert_eq!(spec["parallelism"].as_u64(), Some(n), "every shard at once");
    let container =
        |job: &serde_json::Value| job["spec"]["template"]["spec"]["containers"][0].clone();
    let (shard, judge) = (container(&shards), container(&report));
    let env_names = |c: &serde_json::Value| -> Vec<String> {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(env_names(&shard).contains(&"LOADGATE_START_AT".to_string()));
    let shard_args: Vec<String> = shard["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(shard_args.contains(&format!("auto/{n}")), "{shard_args:?}");

    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let (profile_dir, results) = (dir.path().join("profile"), dir.path().join("results"));
    std::fs::create_dir_all(&profile_dir).unwrap();
    write(&profile_dir, "loadgate.yaml", SHORT);
    let expand = |arg: &str, vars: &[(&str, String)]| {
        let mut arg = arg
            .replace("/profile/", &format!("{}/", profile_dir.display()))
            .replace("/results/", &format!("{}/", results.display()));
        for (name, value) in vars {
            arg = arg.replace(&format!("$({name})"), value);
        }
        assert!(!arg.contains("$("), "every variable is defined: {arg}");
        arg
    };
    let at =
        humantime::format_rfc3339_seconds(std::time::SystemTime::now() + Duration::from_secs(4))
            .to_string();
    let children: Vec<_> = (0..n)
        .map(|index| {
            let vars = [
                ("LOADGATE_RUN", "run-1".to_string()),
                ("JOB_COMPLETION_INDEX", index.to_string()),
            ];
            std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
                .args(shard_args.iter().map(|a| expand(a, &vars)))
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .env("LOADGATE_START_AT", &at)
                .env("LOADGATE_RUN", "run-1")
                .env("LOADGATE_TARGET", target.url())
                .env_remove("GITHUB_ACTIONS")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let done = child.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let vars = [("LOADGATE_RUN", "run-1".to_string())];
    let out = loadgate()
        .current_dir(&results)
        .args(
            judge["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| expand(a.as_str().unwrap(), &vars)),
        )
        .env("LOADGATE_RUN", "run-1")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!("merged {n} shard results")),
        "{stderr}"
    );
    let merged = results.join("run-1/merged-results.json");
    let merged =
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(merged).unwrap()).unwrap();
    assert_eq!(merged.shard.indices, (0..n as u32).collect::<Vec<_>>());
    assert_eq!(
        merged.generator_totals().planned,
        100,
        "the whole load, once"
    );
}

/// Out of open files, the generator stops the run with one error naming what to change, not a
/// storm of connect failures counted against the service.
#[test]
fn running_out_of_open_files_stops_the_run_naming_the_limit() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    // 300 users waiting on slow responses need 300 connections at once; 100 files are allowed.
    let p = write(
        dir.path(),
        "p.yaml",
        "name: fds\nload:\n  model: closed\n  stages:\n    - { users: 300, duration: 3s }\nrequests:\n  - get: /delay/500\n",
    );
    let out = dir.path().join("r.json");
    let bin = assert_cmd::cargo::cargo_bin("loadgate");
    let output = std::process::Command::new("sh")
        .args(["-c", "ulimit -n 100 && exec \"$0\" \"$@\""])
        .arg(&bin)
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--progress",
            "off",
            "--out",
        ])
        .arg(&out)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the generator ran out of open files (limit 100)")
            && stderr.contains("`--shard`")
            && stderr.contains("`ulimit -n`"),
        "{stderr}"
    );
    let r =
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(r.partial, "the results up to the stop are kept");
}
