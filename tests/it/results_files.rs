//! Results files no run could have written are refused with the file and the field named, and
//! what a results file quotes (endpoint names) reaches the terminal escaped.
#![allow(clippy::unwrap_used)]

use crate::support::synthetic as common;

use std::path::{Path, PathBuf};

use loadgate::results::RunResult;

use crate::support::loadgate;

fn write(dir: &Path, name: &str, result: &RunResult) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, result.to_json()).unwrap();
    p
}

/// A hand edit of a results file.
type Edit = fn(&mut RunResult);

/// `loadgate merge` of `files`: the exit code and stderr.
fn merge(dir: &Path, files: &[&Path]) -> (Option<i32>, String) {
    let out = loadgate()
        .arg("merge")
        .args(files)
        .arg("--out")
        .arg(dir.join("merged.json"))
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn impossible_values_are_refused_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = common::run(&common::Spec::new(1));
    let cases: [(&str, Edit, &str); 7] = [
        (
            "version0.json",
            |r| r.format_version = 0,
            "`format_version` is 0: expected 1 or later",
        ),
        (
            "zero.json",
            |r| r.duration_ms = 0,
            "`duration_ms` is 0 in a complete run",
        ),
        (
            "forever.json",
            |r| r.duration_ms = u64::MAX,
            "`duration_ms` is 18446744073709551615: expected at most 2592000000",
        ),
        (
            "plan.json",
            |r| r.load.duration_ms = u64::MAX,
            "`load.duration_ms` is 18446744073709551615",
        ),
        (
            "counts.json",
            |r| {
                for i in &mut r.endpoints[0].intervals[..2] {
                    i.requests = 1 << 63;
                }
            },
            "endpoint `get customer` interval 0: `requests` is 9223372036854775808: expected at most 9007199254740992",
        ),
        (
            "arrivals.json",
            |r| r.generator.intervals[0].planned = 1 << 63,
            "has `planned` 9223372036854775808",
        ),
        (
            "twice.json",
            |r| r.endpoints[1].name = r.endpoints[0].name.clone(),
            "`endpoints[0]` and `endpoints[1]` are both named `get customer`",
        ),
    ];
    for (name, edit, wanted) in cases {
        let mut bad = good.clone();
        edit(&mut bad);
        let file = write(dir.path(), name, &bad);
        let (code, stderr) = merge(dir.path(), &[&file]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("`{}`", file.display())) && stderr.contains(wanted),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    // A run stopped at once may have taken no time at all: it still loads.
    let mut stopped = good.clone();
    stopped.duration_ms = 0;
    stopped.partial = true;
    stopped.partial_reason = Some("interrupted".into());
    let file = write(dir.path(), "stopped.json", &stopped);
    assert!(RunResult::from_json(&std::fs::read_to_string(file).unwrap()).is_ok());
}

#[test]
fn the_wrong_shape_is_described_in_words() {
    let dir = tempfile::tempdir().unwrap();
    for (text, wanted) in [
        ("[]", "not a JSON object: expected a loadgate file"),
        (
            "{\"format_version\": 1, \"duration_ms\": \"long\"}",
            "wrong type: found text \"long\", expected a whole number",
        ),
    ] {
        let file = dir.path().join("shape.json");
        std::fs::write(&file, text).unwrap();
        let (code, stderr) = merge(dir.path(), &[&file]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(wanted), "{stderr}");
        assert!(
            !stderr.contains("struct") && !stderr.contains("u64"),
            "{stderr}"
        );
    }
}

#[test]
fn shards_of_runs_of_different_lengths_are_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let shard = |index: u32| {
        let mut r = common::run(&common::Spec::new(u64::from(index) + 1));
        r.shard = loadgate::results::Shard {
            count: 2,
            indices: vec![index],
        };
        // Started together, as `--start-at` makes shards do.
        r.started_at = "2025-01-02T10:01:00.000Z".into();
        r
    };
    let first = write(dir.path(), "first.json", &shard(0));
    let mut longer = shard(1);
    longer.load.duration_ms *= 2;
    let longer = write(dir.path(), "longer.json", &longer);
    let (code, stderr) = merge(dir.path(), &[&first, &longer]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot merge: `")
            && stderr.contains("first.json` and `")
            && stderr.contains("longer.json`: the planned length of the run (`load.duration_ms`) differs: 70.0s and 140.0s"),
        "{stderr}"
    );

    let mut slower = shard(1);
    slower.duration_ms += 3_600_000;
    let slower = write(dir.path(), "slower.json", &slower);
    let (code, stderr) = merge(dir.path(), &[&first, &slower]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("the time the shards took (`duration_ms`) differs"),
        "{stderr}"
    );

    let second = write(dir.path(), "second.json", &shard(1));
    let (code, stderr) = merge(dir.path(), &[&first, &second]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn shards_started_apart_are_merged_only_when_the_skew_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let shard = |index: u32, started_at: &str| {
        let mut r = common::run(&common::Spec::new(1));
        r.shard = loadgate::results::Shard {
            count: 2,
            indices: vec![index],
        };
        r.started_at = started_at.into();
        r
    };
    let first = write(dir.path(), "a.json", &shard(0, "2025-01-02T10:01:00.000Z"));
    let within = write(dir.path(), "b.json", &shard(1, "2025-01-02T10:01:00.900Z"));
    let (code, stderr) = merge(dir.path(), &[&first, &within]);
    assert_eq!(code, Some(0), "within one interval (1 s): {stderr}");
    assert!(stderr.contains("their starts lay 900 ms apart"), "{stderr}");

    let late = write(dir.path(), "c.json", &shard(1, "2025-01-02T10:01:04.200Z"));
    let (code, stderr) = merge(dir.path(), &[&late, &first]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr
            .contains("the shards started 4.2s apart (shard 1/2 at 2025-01-02T10:01:00.000Z in `")
            && stderr.contains("a.json`; shard 2/2 at 2025-01-02T10:01:04.200Z in `")
            && stderr.contains("`--max-skew 5s`"),
        "{stderr}"
    );
    let accepted = |skew: &str| {
        loadgate()
            .arg("merge")
            .args([&first, &late])
            .args(["--max-skew", skew, "--out"])
            .arg(dir.path().join("merged.json"))
            .output()
            .unwrap()
    };
    let out = accepted("5s");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = accepted("3s");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("more than `--max-skew` 3.0s"), "{stderr}");

    let hostile = write(dir.path(), "d.json", &shard(1, "\u{1b}[31myesterday"));
    let (code, stderr) = merge(dir.path(), &[&first, &hostile]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("d.json`: `started_at` is `\\x1b[31myesterday`"),
        "{stderr}"
    );
}

#[test]
fn names_from_a_results_file_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = common::run(&common::Spec::new(1));
    r.endpoints[0].name = format!("evil\u{1b}]0;owned\u{7}\r\n\0{}", "n".repeat(10_000));
    let file = write(dir.path(), "evil.json", &r);
    let out = loadgate()
        .arg("merge")
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("merged.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("evil\\x1b]0;owned\\x07\\r\\n\\0nnn"),
        "{stdout}"
    );
    assert!(stdout.contains("… (9937 more bytes)"), "{stdout}");
}
