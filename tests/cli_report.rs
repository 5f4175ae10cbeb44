//! `loadgate report` and `loadgate init` through the real binary: formats from saved files,
//! a user template and its errors, and a starter that validates.

mod common;

use std::path::Path;

use assert_cmd::Command;

fn loadgate() -> Command {
    let mut cmd = Command::cargo_bin("loadgate").expect("binary");
    cmd.env_remove("GITHUB_ACTIONS").env("NO_COLOR", "1");
    cmd
}

fn saved(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let results = dir.join("results.json");
    let mut slow = common::Spec::new(100);
    slow.slow = vec![("get customer", 1.3)];
    std::fs::write(&results, common::run(&slow).to_json()).expect("write");
    let baseline = dir.join("baseline.json");
    let b = common::baseline_of(&common::runs(3));
    std::fs::write(&baseline, b.to_json()).expect("write");
    (results, baseline)
}

#[test]
fn report_renders_every_format_from_saved_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (results, baseline) = saved(dir.path());
    let run = |format: &str| {
        let out = loadgate()
            .arg("report")
            .arg(&results)
            .arg("--baseline")
            .arg(&baseline)
            .args(["--format", format])
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let md = run("md");
    assert!(
        md.starts_with("### ❌ loadgate · checkout: Regression"),
        "{md}"
    );
    assert!(
        md.contains("profile not found: default gate settings"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).expect("JSON");
    assert_eq!(json["overall"]["verdict"], "regression");
    let junit = run("junit");
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes())).expect("JUnit");
    assert!(suites.suites[0].failures >= 1);
    let html = run("html");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg"),
        "{}",
        &html[..200]
    );
    let text = run("text");
    assert!(text.contains("verdict: REGRESSION"), "{text}");
    assert!(!text.contains('\x1b'), "no colour outside a terminal");

    // Written to a file with `--out`; without a baseline the verdict is `no baseline`.
    let out = dir.path().join("r/report.md");
    loadgate()
        .arg("report")
        .arg(&results)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).expect("written");
    assert!(
        text.starts_with("### 🆕 loadgate · checkout: No baseline"),
        "{text}"
    );
}

#[test]
fn a_user_template_replaces_the_markdown_and_its_errors_name_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (results, baseline) = saved(dir.path());
    let template = dir.path().join("mine.md.j2");
    std::fs::write(
        &template,
        "{{ verdict.icon }} {{ run.profile }}: {{ counts.regressions }} regressions\n",
    )
    .expect("write");
    let out = loadgate()
        .arg("report")
        .arg(&results)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--template")
        .arg(&template)
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "❌ checkout: 2 regressions\n"
    );

    std::fs::write(&template, "line one\n{{ verdict.nope }}\n").expect("write");
    let out = loadgate()
        .arg("report")
        .arg(&results)
        .arg("--template")
        .arg(&template)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("mine.md.j2"),
        "{err}"
    );
}

#[test]
fn init_writes_a_starter_that_validates_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    loadgate()
        .args([
            "init",
            "--name",
            "shop",
            "--target",
            "http://127.0.0.1:9000",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let profile = dir.path().join("perf/loadgate.yaml");
    for file in [
        ".github/workflows/loadgate-pr.yml",
        ".github/workflows/loadgate-main.yml",
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect(file);
        assert!(text.contains("profile: perf/loadgate.yaml"), "{file}");
    }
    assert!(
        !dir.path()
            .join(".github/workflows/loadgate-sharded.yml")
            .exists()
    );
    let out = loadgate()
        .arg("validate")
        .arg(&profile)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("profile `shop`") && text.contains("http://127.0.0.1:9000"),
        "{text}"
    );

    let again = loadgate()
        .arg("init")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exist already"));
}
