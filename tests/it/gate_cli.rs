//! The real binary: `compare`, `baseline update` and `run` end with the documented exit codes
//! and say why.

use crate::support::synthetic as common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn loadgate() -> Command {
    let mut cmd = Command::cargo_bin("loadgate").expect("the binary is built");
    for var in [
        "LOADGATE_PROFILE",
        "LOADGATE_BASELINE",
        "LOADGATE_KEEP",
        "RUNNER_OS",
        "RUNNER_ARCH",
        "GITHUB_SHA",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("writes");
        path
    }

    /// Records runs `1..=n` into `baseline.json` with the binary.
    fn baseline(&self, n: u64) -> PathBuf {
        let baseline = self.path("baseline.json");
        for r in common::runs(n) {
            let results = self.write("recorded.json", &r.to_json());
            loadgate()
                .args(["baseline", "update"])
                .arg(&results)
                .arg("--baseline")
                .arg(&baseline)
                .assert()
                .success();
        }
        baseline
    }
}

fn compare(results: &Path, baseline: &Path) -> assert_cmd::assert::Assert {
    loadgate()
        .arg("compare")
        .arg(results)
        .arg("--baseline")
        .arg(baseline)
        .assert()
}

#[test]
fn compare_exit_codes_follow_the_verdict() {
    let f = Files::new();
    let baseline = f.baseline(5);
    let same = f.write("same.json", &common::run(&common::Spec::new(100)).to_json());
    compare(&same, &baseline)
        .code(0)
        .stdout(predicate::str::starts_with("verdict: PASS"));

    let mut spec = common::Spec::new(100);
    spec.slow = vec![("add json", 1.3)];
    let slow = f.write("slow.json", &common::run(&spec).to_json());
    compare(&slow, &baseline)
        .code(1)
        .stdout(predicate::str::starts_with("verdict: REGRESSION"))
        .stdout(predicate::str::contains("  add json p50: +"));

    let mut untrusted = common::run(&common::Spec::new(100));
    untrusted.partial = true;
    let untrusted = f.write("untrusted.json", &untrusted.to_json());
    compare(&untrusted, &baseline)
        .code(3)
        .stdout(predicate::str::contains("the run stopped early"));

    let mut spec = common::Spec::new(100);
    spec.runner = "macOS-ARM64";
    let other = f.write("other.json", &common::run(&spec).to_json());
    compare(&other, &baseline)
        .code(3)
        .stdout(predicate::str::starts_with("verdict: INCOMPATIBLE"));

    compare(&same, &f.path("missing.json"))
        .code(0)
        .stdout(predicate::str::starts_with("verdict: NO BASELINE"))
        .stdout(predicate::str::contains("does not exist yet"));
}

#[test]
fn bad_files_are_usage_errors_with_a_clear_message() {
    let f = Files::new();
    let baseline = f.baseline(1);
    let run = common::run(&common::Spec::new(100));
    let good = run.to_json();
    let results = f.write("good.json", &good);
    // Hand edits: a histogram that is not one, and fewer requests than responses.
    let histogram = run.endpoints[0].intervals[0].latency.as_str().to_string();
    let mut fewer = run.clone();
    fewer.endpoints[0].intervals[3].requests = 1;
    let cases = [
        (
            "broken-histogram.json",
            good.replacen(&histogram, "AAAA", 1),
            "results file has a broken histogram at `endpoints[get customer].intervals[0].latency`",
        ),
        (
            "fewer-requests.json",
            fewer.to_json(),
            "counts more latencies or errors than requests",
        ),
        (
            "truncated.json",
            good[..good.len() / 3].to_string(),
            "EOF while parsing",
        ),
        (
            "future.json",
            good.replacen("\"format_version\": 1", "\"format_version\": 99", 1),
            "results `format_version` 99 is newer than this loadgate reads (1): upgrade loadgate",
        ),
        (
            "nan.json",
            good.replacen("\"duration_ms\": 70000", "\"duration_ms\": NaN", 1),
            "expected value",
        ),
        ("empty.json", String::new(), "EOF while parsing"),
    ];
    for (name, text, message) in &cases {
        let bad = f.write(name, text);
        compare(&bad, &baseline)
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(*message));
        compare(&results, &bad)
            .code(2)
            .stderr(predicate::str::contains(name.to_string()));
    }
}

#[test]
fn baseline_update_keeps_a_window_and_refuses_partial_runs() {
    let f = Files::new();
    let baseline = f.path("b.json");
    for r in common::runs(4) {
        let results = f.write("r.json", &r.to_json());
        loadgate()
            .args(["baseline", "update"])
            .arg(&results)
            .arg("--baseline")
            .arg(&baseline)
            .args(["--keep", "3"])
            .assert()
            .success()
            .stderr(predicate::str::contains("of at most 3 runs"));
    }
    let text = std::fs::read_to_string(&baseline).expect("written");
    let b = loadgate::baseline::Baseline::from_json(&text).expect("valid");
    assert_eq!(b.runs.len(), 3);

    let mut partial = common::run(&common::Spec::new(9));
    partial.partial = true;
    partial.partial_reason = Some("interrupted".into());
    let results = f.write("partial.json", &partial.to_json());
    loadgate()
        .args(["baseline", "update"])
        .arg(&results)
        .arg("--baseline")
        .arg(&baseline)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "refusing a partial run (interrupted): only complete runs enter a baseline",
        ));
    assert_eq!(
        std::fs::read_to_string(&baseline).expect("still there"),
        text
    );

    loadgate()
        .args(["baseline", "update"])
        .arg(&results)
        .arg("--baseline")
        .arg(&baseline)
        .args(["--keep", "0"])
        .assert()
        .code(2);
}

#[test]
fn the_profile_brings_thresholds_and_must_match() {
    let f = Files::new();
    let baseline = f.baseline(3);
    let results = f.write("r.json", &common::run(&common::Spec::new(100)).to_json());
    let profile = |name: &str, p50: &str| {
        format!(
            "version: 1\nname: {name}\nload:\n  stages:\n    - {{ duration: 70s, rate: 400/s }}\nrequests:\n  - name: get customer\n    get: /x\n  - name: add json\n    get: /y\nthresholds:\n  \"get customer\": {{ p50: {p50} }}\n"
        )
    };
    let strict = f.write("strict.yaml", &profile("checkout", "5ms"));
    loadgate()
        .arg("compare")
        .arg(&results)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--profile")
        .arg(&strict)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("get customer p50 ≤ 5.00ms: 20."))
        .stdout(predicate::str::contains("BREACHED"));
    let wrong = f.write("wrong.yaml", &profile("payments", "5ms"));
    loadgate()
        .arg("compare")
        .arg(&results)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--profile")
        .arg(&wrong)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is not the profile of the results (`checkout`)",
        ));
    // Without a profile: default settings, and the report says thresholds were not checked.
    compare(&results, &baseline)
        .code(0)
        .stdout(predicate::str::contains("thresholds not checked"));
}

#[test]
fn run_checks_thresholds_and_exits_1_on_a_breach() {
    let server = loadgate::demo::start(
        loadgate::demo::DemoConfig::default(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .expect("the demo service starts");
    let f = Files::new();
    let profile = |limit: &str| {
        format!(
            "version: 1\nname: tiny\nload:\n  warmup: 1s\n  stages:\n    - {{ duration: 3s, rate: 40/s }}\nrequests:\n  - name: customer\n    get: \"/customerdata/7\"\nthresholds:\n  customer: {{ p50: {limit} }}\n"
        )
    };
    let strict = f.write("strict.yaml", &profile("500us"));
    loadgate()
        .arg("run")
        .arg(&strict)
        .arg("--target")
        .arg(server.url())
        .arg("--out")
        .arg(f.path("strict.json"))
        .args(["--progress", "off"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("customer p50 ≤ 500µs"))
        .stdout(predicate::str::contains("BREACHED"))
        .stderr(predicate::str::contains(
            "an absolute threshold was breached",
        ));
    let generous = f.write("generous.yaml", &profile("5s"));
    loadgate()
        .arg("run")
        .arg(&generous)
        .arg("--target")
        .arg(server.url())
        .arg("--out")
        .arg(f.path("generous.json"))
        .args(["--progress", "off"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("customer p50 ≤ 5.00s"));
    server.stop();
}

#[test]
fn schemas_print() {
    loadgate()
        .args(["schema", "baseline"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"BaselineRun\""));
    loadgate()
        .args(["schema", "comparison"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"MetricVerdict\""));
}
