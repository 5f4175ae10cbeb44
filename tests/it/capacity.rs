//! Capacity searches with the real binary against services of known capacity on loopback: the
//! built-in demo service with a concurrency limit (latency rises sharply past `capacity ÷
//! service time` requests a second) and the test target (no knee at all). Assertions are on
//! the rates found, the steps run, counts and bounds; never on exact timings.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use loadgate::capacity::{Capacity, Phase, StepStatus, StopReason};
use loadgate::demo::{self, DemoConfig};
use loadgate::results::RunResult;

/// Searches run one at a time: two at once on a 2-core machine would measure each other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A demo service serving `capacity` requests at once, each taking about `latency`.
fn demo_service(capacity: usize, latency: Duration) -> demo::DemoServer {
    let config = DemoConfig {
        latency,
        capacity,
        ..DemoConfig::default()
    };
    demo::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap()
}

/// Runs `loadgate run` on the profile against `target`; returns the results and the exit code.
/// A search that the generator's own lag ended (the machine was too busy to measure anything,
/// even after repeating the step) is run once more, as the gate's real-system test does.
fn search(dir: &Path, profile: &str, target: &str) -> (RunResult, i32) {
    let first = search_once(dir, profile, target);
    if capacity(&first.0).stop != StopReason::Generator {
        return first;
    }
    eprintln!("the generator fell behind (a busy machine): searching again");
    search_once(dir, profile, target)
}

fn search_once(dir: &Path, profile: &str, target: &str) -> (RunResult, i32) {
    let path = dir.join("search.yaml");
    std::fs::write(&path, profile).unwrap();
    let out_path = dir.join("results.json");
    let out = Command::cargo_bin("loadgate")
        .unwrap()
        .env_remove("LOADGATE_TARGET")
        .env_remove("GITHUB_ACTIONS")
        .args(["run", "--progress", "off", "--target", target, "--out"])
        .arg(&out_path)
        .arg("--metrics-out")
        .arg(dir.join("metrics.txt"))
        .arg(&path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&out_path).unwrap_or_else(|e| {
        panic!(
            "no results ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        RunResult::from_json(&text).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn capacity(result: &RunResult) -> &Capacity {
    result
        .capacity
        .as_ref()
        .expect("a search has a capacity section")
}

/// The search's profile: p95 under 50 ms and errors under 1%, steps of `hold` from `start`.
fn profile(start: &str, step: &str, hold: &str, extra: &str) -> String {
    format!(
        "name: knee
load:
  model: search
  interval: 250ms
  search:
    start: {start}
    step: {step}
    hold: {hold}
{extra}requests:
  - name: customer
    get: \"/customerdata/{{{{ random_int(1, 4500) }}}}\"
    timeout: 500ms
    check: {{ status: 200 }}
thresholds:
  all: {{ p95: 50ms, error_rate: 1% }}
"
    )
}

#[test]
fn the_search_finds_the_knee_within_one_step() {
    let _serial = serial();
    // Two requests at once, 10 ms each: at most 200 requests a second, whatever the load.
    let service = demo_service(2, Duration::from_millis(10));
    let known = 2.0 / 0.010;
    let dir = tempfile::tempdir().unwrap();
    let yaml = profile(
        "100/s",
        "1.5x",
        "1s",
        "    refine: 2\n    max_rate: 600/s\n    max_duration: 30s\n",
    );
    let (result, code) = search(dir.path(), &yaml, &service.url());
    let c = capacity(&result);
    let summary: Vec<(f64, StepStatus)> = c
        .steps
        .iter()
        .map(|s| (s.target_per_sec, s.status))
        .collect();
    assert_eq!(c.stop, StopReason::Refined, "{summary:?}");
    let good = c.sustainable_per_sec.unwrap();
    let bad = c.breaking_per_sec.unwrap();
    // The knee is bracketed within one 1.5× step of the service's capacity: no more than it
    // can serve was called sustainable, and the search broke no later than one step past it.
    assert!(
        good <= known * 1.05,
        "sustained {good}/s of {known}/s: {summary:?}"
    );
    assert!(
        good >= known / 1.5,
        "sustained only {good}/s of {known}/s: {summary:?}"
    );
    assert!(bad <= known * 1.5, "broke only at {bad}/s: {summary:?}");
    assert!(good < bad);
    // Climbing 100, 150, 225 (broke), then two refining steps between 150 and 225.
    assert_eq!(
        c.steps.iter().filter(|s| s.phase == Phase::Refine).count(),
        2,
        "{summary:?}"
    );
    let breaking = c.breaking_step().unwrap();
    let worst = breaking.breaches()[0];
    assert_eq!((worst.scope.as_str(), worst.label.as_str()), ("all", "p95"));
    let held = c.sustained_step().unwrap();
    assert!(held.p95_us.unwrap() <= 50_000);
    assert!(held.tightest_margin().is_some_and(|(_, m)| m >= 0.0));
    // The results file is an ordinary run: every request is in it, step by step.
    let requests: u64 = result.endpoints[0]
        .intervals
        .iter()
        .map(|i| i.requests)
        .sum();
    assert_eq!(requests, c.steps.iter().map(|s| s.requests).sum::<u64>());
    for s in &c.steps {
        let planned = s.target_per_sec.round() as u64;
        assert!(
            s.requests.abs_diff(planned) <= 1,
            "a 1 s step at {}/s finished {} requests",
            s.target_per_sec,
            s.requests
        );
    }
    // Its thresholds hold where the search sustained: the run passes (no baseline yet).
    assert_eq!(code, 0, "{summary:?}");
    // And the file matches the committed results schema.
    let value: serde_json::Value = serde_json::from_str(&result.to_json()).unwrap();
    let validator = jsonschema::validator_for(&RunResult::json_schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_collapse_stops_the_search_at_once() {
    let _serial = serial();
    // One request at a time, 10 ms each: about 100 a second. 150/s times out in a queue.
    let service = demo_service(1, Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    let yaml = profile(
        "50/s",
        "3x",
        "2s",
        "    refine: 3\n    max_rate: 1000/s\n    max_duration: 30s\n",
    )
    .replace("timeout: 500ms", "timeout: 100ms");
    let (result, code) = search(dir.path(), &yaml, &service.url());
    let c = capacity(&result);
    let summary: Vec<(f64, StepStatus, u64)> = c
        .steps
        .iter()
        .map(|s| (s.target_per_sec, s.status, s.requests))
        .collect();
    assert_eq!(c.stop, StopReason::Collapse, "{summary:?}");
    assert_eq!(
        c.steps.len(),
        2,
        "no refining after a collapse: {summary:?}"
    );
    assert_eq!(c.steps[0].status, StepStatus::Held, "{summary:?}");
    let last = &c.steps[1];
    assert_eq!(last.status, StepStatus::Collapse);
    assert!(last.error_ratio >= c.settings.collapse_error_ratio);
    // Stopped as soon as an interval showed it: well before its 2 s hold at 150/s ran out.
    assert!(
        last.requests < 300 * 3 / 4,
        "the collapsing step sent {} of 300",
        last.requests
    );
    assert_eq!(c.sustainable_per_sec, Some(50.0));
    assert_eq!(c.breaking_per_sec, Some(150.0));
    assert_eq!(code, 0, "the SLO held at the sustained step: {summary:?}");
}

#[test]
fn the_rate_cap_is_never_exceeded() {
    let _serial = serial();
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = profile(
        "100/s",
        "2x",
        "1s",
        "    max_rate: 300/s\n    max_duration: 30s\n",
    )
    .replace("/customerdata/{{ random_int(1, 4500) }}", "/ok");
    let (result, _) = search(dir.path(), &yaml, &target.url());
    let c = capacity(&result);
    let rates: Vec<f64> = c.steps.iter().map(|s| s.target_per_sec).collect();
    assert_eq!(
        rates,
        [100.0, 200.0, 300.0],
        "2x from 100/s, capped at 300/s"
    );
    assert_eq!(c.stop, StopReason::RateCap);
    assert_eq!(
        (c.sustainable_per_sec, c.breaking_per_sec),
        (Some(300.0), None)
    );
    // The service saw exactly what the steps planned: 100 + 200 + 300 in 1 s steps.
    assert_eq!(target.count("/ok"), 600);
    assert!(result.load.segments.iter().all(|s| s.to <= 300.0));
}

#[test]
fn the_duration_cap_is_never_exceeded() {
    let _serial = serial();
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = profile(
        "50/s",
        "1.2x",
        "1s",
        "    max_rate: 10000/s\n    max_duration: 3500ms\n",
    )
    .replace("/customerdata/{{ random_int(1, 4500) }}", "/ok");
    let started = std::time::Instant::now();
    let (result, _) = search(dir.path(), &yaml, &target.url());
    let c = capacity(&result);
    assert_eq!(c.stop, StopReason::DurationCap);
    // At most three 1 s steps fit in 3.5 s; a busy machine may fit only two.
    assert!((2..=3).contains(&c.steps.len()), "{} steps", c.steps.len());
    assert!(c.steps.iter().all(|s| s.status == StepStatus::Held));
    assert!(result.load.duration_ms <= 3500);
    assert!(
        result.duration_ms <= 3500,
        "load was sent for {} ms",
        result.duration_ms
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// `loadgate` with a clean environment.
fn loadgate() -> Command {
    let mut cmd = crate::support::loadgate();
    cmd.timeout(Duration::from_secs(60));
    cmd
}

#[test]
fn a_fall_in_capacity_is_a_throughput_regression_in_ci() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // 2x steps from 50/s with one refining step, half-second holds: a service of about
    // 340/s sustains 283/s, one of about 170/s sustains 141/s.
    let yaml = profile(
        "50/s",
        "2x",
        "500ms",
        "    refine: 1\n    max_rate: 1000/s\n    max_duration: 30s\n",
    )
    .replace("interval: 250ms", "interval: 100ms");
    let fast = demo_service(4, Duration::from_millis(10));
    let (before, code) = search(dir.path(), &yaml, &fast.url());
    drop(fast);
    assert_eq!(code, 0);
    let estimate = capacity(&before).estimate().unwrap();
    // Three baseline runs recorded from main: the same search, as `baseline update` records it.
    let baseline = dir.path().join("baseline.json");
    for k in 0..3 {
        let mut run = before.clone();
        run.started_at = format!("2026-01-0{}T00:00:00.000Z", k + 1);
        let file = dir.path().join(format!("main-{k}.json"));
        std::fs::write(&file, run.to_json()).unwrap();
        loadgate()
            .args(["baseline", "update"])
            .arg(&file)
            .arg("--baseline")
            .arg(&baseline)
            .assert()
            .success();
    }
    let profile_path = dir.path().join("search.yaml");
    let compare = |results: &Path| {
        let out = loadgate()
            .arg("compare")
            .arg(results)
            .arg("--baseline")
            .arg(&baseline)
            .arg("--profile")
            .arg(&profile_path)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, text) = compare(&dir.path().join("results.json"));
    assert_ne!(code, 1, "the same search is no regression:\n{text}");
    assert!(text.contains("capacity"), "{text}");
    // Half the concurrency: half the capacity.
    let slow = demo_service(2, Duration::from_millis(10));
    let (after, _) = search(dir.path(), &yaml, &slow.url());
    drop(slow);
    let fallen = capacity(&after).estimate().unwrap();
    assert!(
        fallen.sustainable_per_sec < estimate.sustainable_per_sec * 0.8,
        "{fallen:?} against {estimate:?}"
    );
    let (code, text) = compare(&dir.path().join("results.json"));
    assert_eq!(code, 1, "a halved capacity blocks:\n{text}");
    assert!(text.contains("all capacity: sustainable rate"), "{text}");
}

#[test]
fn validate_prints_the_search_plan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search.yaml");
    let yaml = profile(
        "100/s",
        "1.5x",
        "10s",
        "    max_rate: 400/s\n    max_duration: 2m\n",
    )
    .replace("  interval: 250ms\n", "  warmup: 5s\n");
    std::fs::write(&path, yaml).unwrap();
    let out = loadgate().arg("validate").arg(&path).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("hash: ") {
                "hash: sha256:<hash>".to_string()
            } else if l.starts_with("profile `knee`") {
                "profile `knee` (search.yaml) is valid".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(text);
}
