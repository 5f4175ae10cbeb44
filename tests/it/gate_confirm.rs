//! Confirmation before blocking, end to end: the real binary runs `loadgate gate` against an
//! in-process target on loopback whose latency depends on the run (it counts the readiness
//! probe each run sends first, so no timing is involved). Slow in the first run only: the run
//! is measured again, the regression does not hold, exit 0. Slow in both: it holds, exit 1.
//! Without `--confirm` the command line blocks on the first run (the default is off there).
//! Each run is 6 s at 100 requests a second to 127.0.0.1, the first second a warm-up.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use support::Target;

/// One endpoint that takes 40 ms; the slow runs add 60 ms (2.5×). p50 alone is gated, with a
/// tolerance wide enough for a busy test machine: the contract is under test, not the noise.
const PROFILE: &str = r"
version: 1
name: confirm-e2e
wait_for: { path: /ready, timeout: 10s }
load:
  warmup: 1s
  stages:
    - { duration: 6s, rate: 100/s }
requests:
  - name: slow endpoint
    get: /delay/40
gate:
  metrics: { p50: 25% }
";

const EXTRA: Duration = Duration::from_millis(60);

/// Tests that send load run one at a time, so one's load does not slow down another's target.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("profile.yaml"), PROFILE).unwrap();
        Files { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// `loadgate gate` with a clean environment (no GitHub Actions context, no inputs).
fn gate(files: &Files, target: &Target, out: &str, extra: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("loadgate")
        .unwrap()
        .env_clear()
        .arg("gate")
        .arg(files.path("profile.yaml"))
        .arg("--target")
        .arg(target.url())
        .arg("--baseline")
        .arg(files.path("baseline.json"))
        .arg("--results")
        .arg(files.path(out))
        .args(["--comment", "never"])
        .args(extra)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A step, repeated once on a fresh target when a run was untrusted (the generator starved of
/// CPU on a busy machine): `setup` prepares each target.
fn step(files: &Files, out: &str, extra: &[&str], setup: impl Fn(&Target)) -> (Output, Target) {
    for attempt in 0..2 {
        let target = Target::start();
        setup(&target);
        let o = gate(files, &target, out, extra);
        let untrusted = String::from_utf8_lossy(&o.stdout).contains("UNTRUSTED")
            || String::from_utf8_lossy(&o.stderr).contains("not recorded");
        if !untrusted || attempt == 1 {
            return (o, target);
        }
        eprintln!(
            "attempt {attempt}: a run was untrusted, trying again\n{}",
            text(&o)
        );
    }
    unreachable!("the loop returns")
}

fn comparison(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_regression_blocks_only_when_it_holds_on_re_measurement() {
    let _serial = serial();
    let f = Files::new();
    // The baseline: two runs of the target at its normal speed.
    for i in 0..2 {
        let (o, _) = step(
            &f,
            &format!("base-{i}/results.json"),
            &["--mode", "record"],
            |_| {},
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }

    // Slow in the first run only: measured again, the regression does not hold.
    let (o, target) = step(
        &f,
        "once/results.json",
        &["--mode", "gate", "--confirm"],
        |t| t.slow_for_runs(1, EXTRA),
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert_eq!(target.count("/ready"), 2, "two runs: {all}");
    assert!(
        all.contains("regression in 1 metric: measuring again to confirm before blocking"),
        "{all}"
    );
    assert!(
        all.contains(
            "verdict: INCONCLUSIVE — the regression did not hold on re-measurement (slow endpoint p50: first run +"
        ),
        "{all}"
    );
    assert!(
        f.path("once/results.confirm.json").is_file(),
        "the confirmation results are kept: {all}"
    );
    let c = comparison(&f.path("once/comparison.json"));
    assert_eq!(c["overall"]["verdict"], "inconclusive", "{c:#}");
    assert_eq!(c["confirmation"]["outcome"], "did_not_hold", "{c:#}");
    assert_eq!(
        c["confirmation"]["metrics"][0]["first"]["status"],
        "regression"
    );
    assert_ne!(
        c["confirmation"]["metrics"][0]["second"]["status"],
        "regression"
    );
    // The results file stays the first run's: its p50 is the slow one.
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path("once/results.json")).unwrap())
            .unwrap();
    let second: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.path("once/results.confirm.json")).unwrap(),
    )
    .unwrap();
    let p50 = |r: &serde_json::Value| {
        r["endpoints"][0]["summary"]["latency"]["p50_us"]
            .as_u64()
            .unwrap()
    };
    assert!(
        p50(&first) > p50(&second) + 30_000,
        "{} vs {}",
        p50(&first),
        p50(&second)
    );
    let md = std::fs::read_to_string(f.path("once/report.md")).unwrap();
    assert!(md.contains("**Confirmation:**"), "{md}");

    // Slow in both runs: the regression holds and blocks.
    let (o, target) = step(
        &f,
        "twice/results.json",
        &["--mode", "gate", "--confirm", "on"],
        |t| t.slow_for_runs(2, EXTRA),
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert_eq!(target.count("/ready"), 2, "two runs: {all}");
    assert!(
        all.contains("verdict: REGRESSION — the regression held on re-measurement (slow endpoint p50: first run +"),
        "{all}"
    );
    let c = comparison(&f.path("twice/comparison.json"));
    assert_eq!(c["confirmation"]["outcome"], "held", "{c:#}");
    assert_eq!(c["metrics"][0]["status"], "regression", "{c:#}");

    // The command line's default is off: the first run blocks, and nothing is measured again.
    let (o, target) = step(&f, "off/results.json", &["--mode", "gate"], |t| {
        t.slow_for_runs(1, EXTRA);
    });
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert_eq!(target.count("/ready"), 1, "one run: {all}");
    assert!(!f.path("off/results.confirm.json").exists(), "{all}");
    assert!(
        comparison(&f.path("off/comparison.json"))
            .get("confirmation")
            .is_none()
    );

    // The saved runs combine the same way without any load: `compare --confirmation`.
    let o = assert_cmd::Command::cargo_bin("loadgate")
        .unwrap()
        .env_clear()
        .arg("compare")
        .arg(f.path("once/results.json"))
        .arg("--baseline")
        .arg(f.path("baseline.json"))
        .arg("--profile")
        .arg(f.path("profile.yaml"))
        .arg("--confirmation")
        .arg(f.path("once/results.confirm.json"))
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("did not hold on re-measurement"), "{all}");

    // And in the gate's report mode (the sharded workflow's final job), given the confirmation
    // run's results; without them it cannot measure again, says so, and blocks.
    let report = |results: &str, extra: &[&str]| {
        assert_cmd::Command::cargo_bin("loadgate")
            .unwrap()
            .env_clear()
            .arg("gate")
            .arg(f.path("profile.yaml"))
            .args(["--mode", "report", "--comment", "never"])
            .arg("--baseline")
            .arg(f.path("baseline.json"))
            .arg("--results")
            .arg(f.path(results))
            .args(extra)
            .output()
            .unwrap()
    };
    let confirmation = f.path("once/results.confirm.json");
    let o = report(
        "once/results.json",
        &["--confirmation", confirmation.to_str().unwrap()],
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("did not hold on re-measurement"), "{all}");
    let o = report("twice/results.json", &["--confirm", "on"]);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains("`mode: report` cannot measure again: pass a confirmation run's results"),
        "{all}"
    );
}
