//! The baseline file: format, rolling window, refusals, and bad input.

use crate::support::synthetic as common;

use loadgate::baseline::{Baseline, BaselineError, BaselineRun, FORMAT_VERSION, Restart};
use loadgate::results::RunResult;

fn baseline_of(results: &[RunResult], keep: u32) -> Baseline {
    let mut b = Baseline::new(&results[0].profile);
    for r in results {
        let run = BaselineRun::from_result(r).expect("a trusted run");
        b.append(run, &r.profile, keep, false).expect("appends");
    }
    b
}

#[test]
fn round_trips_through_json() {
    let b = baseline_of(&common::runs(3), 10);
    let back = Baseline::from_json(&b.to_json()).expect("reads back");
    assert_eq!(back, b);
    assert_eq!(back.format_version, FORMAT_VERSION);
    assert_eq!(back.runs.len(), 3);
}

#[test]
fn keeps_only_the_measured_intervals() {
    let r = common::run(&common::Spec::new(1));
    let run = BaselineRun::from_result(&r).expect("a trusted run");
    for e in &run.endpoints {
        assert_eq!(e.intervals.len(), 60);
        assert!(e.intervals.iter().all(|i| i.index >= 10));
    }
    assert_eq!(run.git.as_ref().map(|g| g.sha.len()), Some(40));
    assert_eq!(run.runner.class, "Linux-X64");
}

#[test]
fn the_window_drops_the_oldest_runs() {
    let results = common::runs(5);
    let mut b = Baseline::new(&results[0].profile);
    let mut dropped = Vec::new();
    for r in &results {
        let appended = b
            .append(BaselineRun::from_result(r).unwrap(), &r.profile, 3, false)
            .unwrap();
        dropped.push(appended.dropped);
    }
    assert_eq!(dropped, [0, 0, 0, 1, 1]);
    let starts: Vec<&str> = b.runs.iter().map(|r| r.started_at.as_str()).collect();
    let want: Vec<&str> = results[2..].iter().map(|r| r.started_at.as_str()).collect();
    assert_eq!(starts, want);
}

#[test]
fn a_results_file_reads_as_a_one_run_baseline() {
    let r = common::run(&common::Spec::new(7));
    let b = Baseline::from_json(&r.to_json()).expect("results read as a baseline");
    assert_eq!(b.runs.len(), 1);
    assert_eq!(b.profile.hash, r.profile.hash);
    assert_eq!(b.runs[0], BaselineRun::from_result(&r).unwrap());
}

#[test]
fn refuses_partial_incomplete_and_untrusted_runs() {
    let mut partial = common::run(&common::Spec::new(1));
    partial.partial = true;
    partial.partial_reason = Some("interrupted".into());
    let e = BaselineRun::from_result(&partial).unwrap_err();
    assert!(matches!(e, BaselineError::Partial { .. }), "{e}");
    assert!(e.to_string().contains("partial run (interrupted)"), "{e}");

    let mut shard = common::run(&common::Spec::new(1));
    shard.shard.count = 2;
    let e = BaselineRun::from_result(&shard).unwrap_err();
    assert_eq!(
        e.to_string(),
        "refusing incomplete shard results (1 of 2 shards): merge every shard with `loadgate merge` first"
    );

    let mut dropped = common::run(&common::Spec::new(1));
    for g in &mut dropped.generator.intervals {
        g.dropped = 5;
        g.sent -= 5;
    }
    let e = BaselineRun::from_result(&dropped).unwrap_err();
    assert!(matches!(e, BaselineError::Untrusted(_)), "{e}");
    assert!(
        e.to_string().contains("dropped at the in-flight cap"),
        "{e}"
    );

    let mut empty = common::run(&common::Spec::new(1));
    for e in &mut empty.endpoints {
        e.intervals.clear();
    }
    let e = BaselineRun::from_result(&empty).unwrap_err();
    assert!(e.to_string().contains("no requests"), "{e}");
}

#[test]
fn a_new_profile_hash_starts_afresh_and_another_profile_is_refused() {
    let mut b = baseline_of(&common::runs(3), 10);
    let mut changed = common::run(&common::Spec::new(9));
    changed.profile.hash = "sha256:2222".into();
    let appended = b
        .append(
            BaselineRun::from_result(&changed).unwrap(),
            &changed.profile,
            10,
            false,
        )
        .unwrap();
    assert!(matches!(
        appended.restarted,
        Some(Restart::ProfileChanged { discarded: 3, .. })
    ));
    assert_eq!(b.runs.len(), 1);
    assert_eq!(b.profile.hash, "sha256:2222");

    let mut other = common::run(&common::Spec::new(10));
    other.profile.name = "payments".into();
    let e = b
        .append(
            BaselineRun::from_result(&other).unwrap(),
            &other.profile,
            10,
            false,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the baseline is for profile `checkout` but the run is of `payments`: use `baselines/payments.json`"
    );
}

#[test]
fn another_runner_class_is_refused_unless_reset() {
    let mut b = baseline_of(&common::runs(2), 10);
    let mut spec = common::Spec::new(11);
    spec.runner = "macOS-ARM64";
    let r = common::run(&spec);
    let e = b
        .append(BaselineRun::from_result(&r).unwrap(), &r.profile, 10, false)
        .unwrap_err();
    assert!(matches!(e, BaselineError::OtherRunnerClass { .. }), "{e}");
    let appended = b
        .append(BaselineRun::from_result(&r).unwrap(), &r.profile, 10, true)
        .unwrap();
    assert_eq!(appended.restarted, Some(Restart::Reset { discarded: 2 }));
    assert_eq!(b.runs.len(), 1);
}

#[test]
fn the_same_run_is_not_recorded_twice() {
    let r = common::run(&common::Spec::new(1));
    let mut b = baseline_of(std::slice::from_ref(&r), 10);
    let e = b
        .append(BaselineRun::from_result(&r).unwrap(), &r.profile, 10, false)
        .unwrap_err();
    assert!(matches!(e, BaselineError::AlreadyRecorded { .. }), "{e}");
}

#[test]
fn bad_files_give_clear_errors() {
    let good = baseline_of(&common::runs(1), 10).to_json();
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "EOF while parsing"),
        ("not json", "hello".into(), "expected value"),
        (
            "truncated",
            good[..good.len() / 2].to_string(),
            "EOF while parsing",
        ),
        (
            "no version",
            r#"{"runs": []}"#.into(),
            "not a loadgate baseline",
        ),
        (
            "future version",
            good.replacen("\"format_version\": 1", "\"format_version\": 7", 1),
            "baseline `format_version` 7 is newer than this loadgate reads (1): upgrade loadgate",
        ),
        (
            "version not a number",
            good.replacen("\"format_version\": 1", "\"format_version\": \"1\"", 1),
            "expected a whole number",
        ),
        (
            "unknown key",
            good.replacen("\"runs\":", "\"rusn\": [], \"runs\":", 1),
            "unknown field `rusn`",
        ),
        (
            "NaN",
            good.replacen("\"interval_ms\": 1000", "\"interval_ms\": NaN", 1),
            "expected value",
        ),
        (
            "zero interval",
            good.replacen("\"interval_ms\": 1000", "\"interval_ms\": 0", 1),
            "`runs[0].interval_ms` is 0",
        ),
    ];
    for (name, text, want) in cases {
        let e = Baseline::from_json(&text).expect_err(name);
        assert!(e.to_string().contains(want), "{name}: {e}");
    }
}

#[test]
fn hand_edited_intervals_are_caught() {
    let b = baseline_of(&common::runs(1), 10);
    let mut broken = b.clone();
    let first = broken.runs[0].endpoints[0].intervals[0]
        .latency
        .as_str()
        .to_string();
    let text = broken.to_json().replacen(&first, "AAAA", 1);
    let e = Baseline::from_json(&text).unwrap_err();
    assert!(
        e.to_string().starts_with("baseline has a broken histogram at `runs[0].endpoints[get customer].intervals[0].latency`"),
        "{e}"
    );

    broken.runs[0].endpoints[0].intervals.swap(0, 1);
    let e = Baseline::from_json(&broken.to_json()).unwrap_err();
    assert!(e.to_string().contains("not in ascending order"), "{e}");

    let mut more_errors = b.clone();
    more_errors.runs[0].endpoints[0].intervals[0]
        .errors
        .insert(loadgate::metrics::ErrorClass::Timeout, 1_000_000);
    let e = Baseline::from_json(&more_errors.to_json()).unwrap_err();
    assert!(
        e.to_string()
            .contains("more latencies or errors than requests"),
        "{e}"
    );

    let mut warmup = b;
    warmup.runs[0].endpoints[0].intervals[0].index = 0;
    let e = Baseline::from_json(&warmup.to_json()).unwrap_err();
    assert!(e.to_string().contains("holds warm-up intervals"), "{e}");
}
