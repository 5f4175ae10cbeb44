//! Paired A/B comparison, end to end: the real binary runs `loadgate gate --baseline-target`
//! against two in-process targets on loopback, the base (A) and the one under test (B), in
//! alternating blocks (ABBA ABBA, 4 blocks of 0.5 s per target at 100 requests a second, each
//! after a 0.5 s warm-up: about 8 s per step). B 1.3× slower than A blocks naming the endpoint;
//! A and B alike pass. No baseline file exists: none is needed. B's extra delay is set before
//! the step and never changes, so nothing depends on timing.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use support::Target;

/// One endpoint that takes 40 ms on A; p50 gated at +15%.
const PROFILE: &str = r"
version: 1
name: paired-e2e
wait_for: { path: /ready, timeout: 10s }
load:
  interval: 500ms
  warmup: 500ms
  stages:
    - { duration: 2500ms, rate: 100/s }
requests:
  - name: slow endpoint
    get: /delay/40
gate:
  metrics: { p50: 15% }
  paired: { blocks: 4, block: 500ms }
";

/// The same load and gate, both targets measured at once, interval by interval.
fn simultaneous_profile() -> String {
    PROFILE.replace(
        "paired: { blocks: 4, block: 500ms }",
        "paired: { schedule: simultaneous }",
    )
}

/// Tests that send load run one at a time, so one's load does not slow down another's target.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `loadgate gate` of B against A, with a clean environment; repeated once on fresh targets
/// when a run was untrusted (the generator starved of CPU on a busy machine).
fn paired_step(
    dir: &std::path::Path,
    out: &str,
    b_extra: Option<Duration>,
) -> (Output, Target, Target) {
    for attempt in 0..2 {
        let (a, b) = (Target::start(), Target::start());
        if let Some(extra) = b_extra {
            // Slow for every run: the probe count never reaches u64::MAX.
            b.slow_for_runs(u64::MAX, extra);
        }
        let o = assert_cmd::Command::cargo_bin("loadgate")
            .unwrap()
            .env_clear()
            .arg("gate")
            .arg(dir.join("profile.yaml"))
            .arg("--target")
            .arg(b.url())
            .arg("--baseline-target")
            .arg(a.url())
            .arg("--results")
            .arg(dir.join(out))
            .args(["--comment", "never", "--mode", "gate"])
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        if !String::from_utf8_lossy(&o.stdout).contains("UNTRUSTED") || attempt == 1 {
            return (o, a, b);
        }
        eprintln!("attempt {attempt}: untrusted, trying again\n{}", text(&o));
    }
    unreachable!("the loop returns")
}

fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_target_under_test_is_judged_block_by_block_against_the_base_target() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("profile.yaml"), PROFILE).unwrap();

    // B 1.3× slower than A (40 ms + 12 ms): a regression, exit 1, naming the endpoint.
    let (o, a, b) = paired_step(
        dir.path(),
        "slow/results.json",
        Some(Duration::from_millis(12)),
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("REGRESSION"), "{all}");
    assert!(all.contains("slow endpoint p50"), "{all}");
    assert!(
        all.contains("against the base target, block by block"),
        "{all}"
    );
    assert!(all.contains("order ABBAABBA"), "{all}");
    // Each target was probed once (its first block) and loaded in 4 blocks.
    assert_eq!((a.count("/ready"), b.count("/ready")), (1, 1), "{all}");
    let (to_a, to_b) = (a.count("/delay/40"), b.count("/delay/40"));
    assert!(to_a > 300 && to_b > 300, "A {to_a}, B {to_b}: {all}");
    let c = json(dir.path().join("slow/comparison.json"));
    assert_eq!(c["overall"]["verdict"], "regression");
    assert_eq!(c["paired"]["order"], "ABBAABBA");
    assert_eq!(c["paired"]["blocks"], 4);
    assert_eq!(c["paired"]["block_ms"], 500);
    let p50 = &c["metrics"][0];
    assert_eq!(p50["status"], "regression", "{p50}");
    assert_eq!(p50["detail"]["kind"], "paired", "{p50}");
    assert_eq!(p50["detail"]["pairs"], 4, "{p50}");
    let ratio = p50["ratio"].as_f64().unwrap();
    assert!(ratio > 1.15 && ratio < 1.6, "{ratio}");
    // Both targets' joined results, every block's results, and the reports are written.
    let results = json(dir.path().join("slow/results.json"));
    let base = json(dir.path().join("slow/results.base.json"));
    assert_eq!(results["target"], b.url());
    assert_eq!(base["target"], a.url());
    let blocks = std::fs::read_dir(dir.path().join("slow/paired-blocks"))
        .unwrap()
        .count();
    assert_eq!(blocks, 8);
    for report in ["report.md", "report.html", "junit.xml"] {
        assert!(dir.path().join("slow").join(report).exists(), "{report}");
    }
    let md = std::fs::read_to_string(dir.path().join("slow/report.md")).unwrap();
    assert!(md.contains("paired comparison"), "{md}");
    // The joined results are ordinary results: `compare` and `report` read them.
    let report = assert_cmd::Command::cargo_bin("loadgate")
        .unwrap()
        .env_clear()
        .arg("report")
        .arg(dir.path().join("slow/results.base.json"))
        .args(["--format", "md"])
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", text(&report));

    // A and B alike: no regression, exit 0.
    let (o, _, _) = paired_step(dir.path(), "same/results.json", None);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(!all.contains("REGRESSION"), "{all}");
    let c = json(dir.path().join("same/comparison.json"));
    assert_ne!(c["overall"]["verdict"], "regression", "{c}");
    assert_eq!(c["metrics"][0]["detail"]["kind"], "paired", "{c}");
}

#[test]
fn both_targets_measured_at_once_are_judged_interval_by_interval() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("profile.yaml"), simultaneous_profile()).unwrap();

    // B 1.3× slower than A: a regression, exit 1, naming the endpoint.
    let (o, a, b) = paired_step(
        dir.path(),
        "slow/results.json",
        Some(Duration::from_millis(12)),
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("slow endpoint p50"), "{all}");
    assert!(all.contains("both targets at once"), "{all}");
    // Each target was probed once and got the whole load (2.5 s at 100/s), at the same time.
    assert_eq!((a.count("/ready"), b.count("/ready")), (1, 1), "{all}");
    let (to_a, to_b) = (a.count("/delay/40"), b.count("/delay/40"));
    assert!(to_a > 200 && to_b > 200, "A {to_a}, B {to_b}: {all}");
    // The loads ran together: their last requests arrived together (alternating blocks would
    // end seconds apart).
    let (last_a, last_b) = (
        a.arrivals().into_iter().fold(0.0, f64::max),
        b.arrivals().into_iter().fold(0.0, f64::max),
    );
    assert!(
        (last_a - last_b).abs() < 0.25,
        "both loads end together: A {last_a}, B {last_b}"
    );
    let c = json(dir.path().join("slow/comparison.json"));
    assert_eq!(c["overall"]["verdict"], "regression");
    assert_eq!(c["paired"]["order"], "simultaneous");
    assert_eq!(c["paired"]["blocks"], 4, "four measured intervals");
    assert_eq!(c["paired"]["block_ms"], 500);
    let p50 = &c["metrics"][0];
    assert_eq!(p50["status"], "regression", "{p50}");
    assert_eq!(p50["detail"]["kind"], "paired", "{p50}");
    let ratio = p50["ratio"].as_f64().unwrap();
    assert!(ratio > 1.15 && ratio < 1.6, "{ratio}");
    assert_eq!(
        json(dir.path().join("slow/results.base.json"))["target"],
        a.url()
    );
    assert!(!dir.path().join("slow/paired-blocks").exists());

    // A and B alike: no regression, exit 0.
    let (o, _, _) = paired_step(dir.path(), "same/results.json", None);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    let c = json(dir.path().join("same/comparison.json"));
    assert_ne!(c["overall"]["verdict"], "regression", "{c}");
}

#[test]
fn a_paired_comparison_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("profile.yaml"), PROFILE).unwrap();
    let run = |extra: &[&str]| {
        assert_cmd::Command::cargo_bin("loadgate")
            .unwrap()
            .env_clear()
            .arg("gate")
            .arg(dir.path().join("profile.yaml"))
            .args(["--target", "http://127.0.0.1:9", "--comment", "never"])
            .arg("--results")
            .arg(dir.path().join("r/results.json"))
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--baseline-target", "http://127.0.0.1:9", "--mode", "gate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("is the target under test itself"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "--baseline-target",
        "http://127.0.0.1:8",
        "--mode",
        "record",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("only `mode: gate` does"), "{}", text(&o));
    let bad = PROFILE.replace("blocks: 4", "blocks: 5");
    std::fs::write(dir.path().join("profile.yaml"), bad).unwrap();
    let o = run(&["--baseline-target", "http://127.0.0.1:8", "--mode", "gate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("gate.paired.blocks"), "{}", text(&o));
    assert!(
        text(&o).contains("expected an even number from 4 to 100"),
        "{}",
        text(&o)
    );
}
