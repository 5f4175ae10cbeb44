//! `loadgate report` and `loadgate init` through the real binary: formats from saved files,
//! a user template and its errors, and a starter that validates.

use crate::support::synthetic as common;

use std::path::Path;

use crate::support::loadgate;

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

/// A step-load study in one command, on a real service with a capacity: the demo service
/// serving 4 requests at once, 20 ms each (at most about 200 responses a second), and users
/// stepped 5, 20, 40 with 80 ms of think time. Throughput rises with the users until the
/// service is full, then stays flat: the run names 40 users as the knee, in every rendering.
#[test]
fn a_step_load_study_names_the_knee_in_every_rendering() {
    use std::net::{Ipv4Addr, SocketAddr};
    let service = loadgate::demo::start(
        loadgate::demo::DemoConfig {
            latency: std::time::Duration::from_millis(20),
            slow: Vec::new(),
            error_ratio: 0.0,
            capacity: 4,
        },
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .expect("demo service starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("study.yaml");
    std::fs::write(
        &profile,
        format!(
            "name: study\ntarget: {}\nload:\n  model: closed\n  think_time: 80ms\n  stages:\n    - {{ steps: [5, 20, 40], hold: 2s }}\nrequests:\n  - {{ name: customer, get: /customerdata/7 }}\n",
            service.url()
        ),
    )
    .expect("write");
    let results = dir.path().join("results.json");
    let out = loadgate()
        .arg("run")
        .arg(&profile)
        .arg("--out")
        .arg(&results)
        .args(["--progress", "off"])
        .output()
        .expect("runs");
    service.stop();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("per level:\nusers  measured"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("knee: 40 users: throughput stopped rising with the load")
            && stdout.contains("the last level that held: 20 users"),
        "{stdout}"
    );
    let render = |format: &str| {
        let out = loadgate()
            .arg("report")
            .arg(&results)
            .args(["--profile"])
            .arg(&profile)
            .args(["--format", format])
            .output()
            .expect("report");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let json: serde_json::Value = serde_json::from_str(&render("json")).expect("JSON");
    let levels = &json["levels"];
    assert_eq!(levels["unit"], "users");
    let loads: Vec<f64> = levels["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| l["level"].as_f64().expect("level"))
        .collect();
    assert_eq!(loads, [5.0, 20.0, 40.0]);
    assert_eq!(levels["knee"]["level"], 40.0);
    assert_eq!(levels["knee"]["status"], "flat");
    let ok: Vec<f64> = levels["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| l["ok_per_sec"].as_f64().expect("ok/s"))
        .collect();
    assert!(ok[1] > 2.0 * ok[0] && ok[2] < 1.2 * ok[1], "{ok:?}");
    let md = render("md");
    assert!(
        md.contains("#### Per load level") && md.contains("| 40 |"),
        "{md}"
    );
    let html = render("html");
    assert!(html.contains("<table id=\"levels\">") && html.contains("Throughput by load level"));
    assert!(render("text").contains("throughput flat ← knee"));
}
