//! Baselines in a real git repository (local bare repositories in temporary folders, the real
//! binary, no network): concurrent recordings all land, a pull request is judged against the
//! base branch's baseline whatever it did to `baselines/`, a PR's own profile change is named,
//! and the older single-file baseline still loads. Skipped, saying why, when `git` is missing.

use crate::support::synthetic as common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

/// `true` when git runs; otherwise prints why the test is skipped.
fn git_available() -> bool {
    let ok = Process::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: the `git` binary is not available");
    }
    ok
}

/// git in `dir`, isolated from the user's configuration, with an identity.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Process::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=test", "-c", "user.email=test@localhost"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare `origin.git` whose `main` holds `files`, in a temporary folder.
struct Origin {
    root: tempfile::TempDir,
}

impl Origin {
    fn new(files: &[(&str, String)]) -> Origin {
        let root = tempfile::tempdir().expect("tempdir");
        git(
            root.path(),
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        let seed = root.path().join("seed");
        git(root.path(), &["clone", "--quiet", "origin.git", "seed"]);
        std::fs::write(seed.join("README.md"), "test\n").expect("writes");
        for (path, text) in files {
            let path = seed.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("writes");
        }
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "seed"]);
        git(&seed, &["push", "--quiet", "origin", "HEAD:main"]);
        Origin { root }
    }

    fn url(&self) -> PathBuf {
        self.root.path().join("origin.git")
    }

    /// A fresh clone named `name`.
    fn clone(&self, name: &str) -> PathBuf {
        git(self.root.path(), &["clone", "--quiet", "origin.git", name]);
        self.root.path().join(name)
    }

    /// The file names under `dir` on `main` of the bare repository.
    fn files_on_main(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = git(
            &self.url(),
            &["ls-tree", "--name-only", "main", "--", &format!("{dir}/")],
        )
        .lines()
        .map(|l| l.rsplit('/').next().unwrap_or(l).to_string())
        .collect();
        names.sort();
        names
    }
}

/// The binary, with nothing of the caller's CI or git environment.
fn loadgate(dir: &Path) -> Command {
    Command::from_std(loadgate_process(dir))
}

/// The same as a plain process (to run several at once).
fn loadgate_process(dir: &Path) -> Process {
    let mut cmd = Process::new(assert_cmd::cargo::cargo_bin("loadgate"));
    cmd.env_clear()
        .current_dir(dir)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

/// The file name loadgate gives a run: `<started-at without : and ->-<sha7>.json`.
fn run_file_name(result: &loadgate::results::RunResult) -> String {
    let run = loadgate::baseline::BaselineRun::from_result(result).expect("trusted run");
    loadgate::baseline::store::run_file_name(&run)
}

/// Four clones record at once and push to one bare repository: every run is on `main`
/// afterwards, and so are the runs of the single file they all moved into the folder.
#[test]
fn concurrent_recordings_from_four_clones_all_land() {
    if !git_available() {
        return;
    }
    let old: Vec<_> = (1..=2)
        .map(|s| common::run(&common::Spec::new(s)))
        .collect();
    let mut single = loadgate::baseline::Baseline::new(&old[0].profile);
    for r in &old {
        single
            .runs
            .push(loadgate::baseline::BaselineRun::from_result(r).expect("trusted"));
    }
    let origin = Origin::new(&[("baselines/checkout.json", single.to_json())]);
    let runs: Vec<_> = (11..=14)
        .map(|s| common::run(&common::Spec::new(s)))
        .collect();
    let children: Vec<_> = runs
        .iter()
        .enumerate()
        .map(|(i, result)| {
            let clone = origin.clone(&format!("clone{i}"));
            let results = clone.join("results.json");
            std::fs::write(&results, result.to_json()).expect("writes");
            loadgate_process(&clone)
                .args(["baseline", "update", "results.json"])
                .args(["--baseline", "baselines/checkout", "--push", "--keep", "10"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("ends");
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            out.status.success(),
            "a recording failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut expected: Vec<String> = old.iter().chain(&runs).map(run_file_name).collect();
    expected.sort();
    assert_eq!(origin.files_on_main("baselines/checkout"), expected);
    assert!(
        origin
            .files_on_main("baselines")
            .iter()
            .all(|n| n != "checkout.json"),
        "the single file is gone: {:?}",
        origin.files_on_main("baselines")
    );
    // What main holds reads back as one baseline of all six runs.
    let check = origin.clone("check");
    let results = check.join("r.json");
    std::fs::write(&results, runs[0].to_json()).expect("writes");
    let out = loadgate(&check)
        .args(["compare", "r.json", "--baseline", "baselines/checkout"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("6 baseline runs") || text.contains("6 runs"),
        "{text}"
    );
}

/// A profile for `mode: report` over `common`'s synthetic runs (profile `checkout`).
const PROFILE: &str = "version: 1
name: checkout
load:
  stages:
    - { duration: 70s, rate: 400/s }
requests:
  - name: get customer
    get: /x
  - name: add json
    get: /y
";

/// A pull-request step of the action in `workspace` (`mode: report`, no comment), with
/// `extra` variables.
fn pr_step(workspace: &Path, results: &str, extra: &[(&str, &str)]) -> std::process::Output {
    let event = workspace.join("../event.json");
    std::fs::write(
        &event,
        r#"{"number": 7, "pull_request": {"number": 7, "head": {"sha": "aaaaaaa", "ref": "pr", "repo": {"full_name": "o/r"}}, "base": {"ref": "main", "repo": {"full_name": "o/r"}}}}"#,
    )
    .expect("event");
    let mut cmd = loadgate(workspace);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_REF", "refs/pull/7/merge")
        .env("GITHUB_WORKSPACE", workspace)
        .env("INPUT_PROFILE", "perf/checkout.yaml")
        .env("INPUT_MODE", "report")
        .env("INPUT_COMMENT", "never")
        .env("INPUT_CONFIRM", "off")
        .env("INPUT_RESULTS", results)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.arg("gate").output().expect("runs")
}

/// Five runs of main, one file each, with `hash` as their profile hash.
fn main_runs(hash: &str) -> Vec<(String, String)> {
    (1..=5)
        .map(|s| {
            let mut r = common::run(&common::Spec::new(s));
            r.profile.hash = hash.to_string();
            let run = loadgate::baseline::BaselineRun::from_result(&r).expect("trusted");
            let name = loadgate::baseline::store::run_file_name(&run);
            let file = loadgate::baseline::store::run_file(&r.profile, run);
            (format!("baselines/checkout/{name}"), file.to_json())
        })
        .collect()
}

/// A PR that replaces `baselines/` with runs as slow as itself still regresses: the gate reads
/// main's baseline. Read from the working tree (no pull request), the PR's edit would pass.
#[test]
fn a_pull_request_is_judged_against_the_base_branchs_baseline() {
    if !git_available() {
        return;
    }
    let mut files: Vec<(&str, String)> = vec![("perf/checkout.yaml", PROFILE.to_string())];
    let runs = main_runs(common::HASH);
    files.extend(runs.iter().map(|(p, t)| (p.as_str(), t.clone())));
    let origin = Origin::new(&files);
    let pr = origin.clone("pr");
    git(&pr, &["checkout", "--quiet", "-b", "pr"]);
    // The PR slows "get customer" by 60% and records slow runs over main's baseline.
    let slow = |seed| {
        let mut spec = common::Spec::new(seed);
        spec.slow = vec![("get customer", 1.6)];
        common::run(&spec)
    };
    std::fs::remove_dir_all(pr.join("baselines/checkout")).expect("removes");
    for seed in 21..=25 {
        let run = loadgate::baseline::BaselineRun::from_result(&slow(seed)).expect("trusted");
        let name = loadgate::baseline::store::run_file_name(&run);
        let file = loadgate::baseline::store::run_file(&slow(seed).profile, run);
        std::fs::create_dir_all(pr.join("baselines/checkout")).expect("mkdir");
        std::fs::write(pr.join("baselines/checkout").join(name), file.to_json()).expect("writes");
    }
    git(&pr, &["add", "-A"]);
    git(&pr, &["commit", "--quiet", "-m", "faster baseline, honest"]);
    std::fs::write(pr.join("current.json"), slow(30).to_json()).expect("writes");

    let judged = pr_step(&pr, "current.json", &[]);
    let stderr = String::from_utf8_lossy(&judged.stderr);
    let stdout = String::from_utf8_lossy(&judged.stdout);
    assert_eq!(judged.status.code(), Some(1), "{stdout}\n{stderr}");
    let report = std::fs::read_to_string(pr.join("comparison.json")).expect("comparison");
    assert!(
        report.contains("baseline read from the base branch `main`"),
        "{report}"
    );

    // Control: the same step outside a pull request reads the PR's edited files and passes.
    let unguarded = pr_step(
        &pr,
        "current.json",
        &[("GITHUB_EVENT_NAME", "workflow_dispatch")],
    );
    assert_eq!(
        unguarded.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&unguarded.stderr)
    );
}

/// A PR that changes the profile's load gets an incompatible verdict that says so plainly, and
/// the step fails (a PR must not leave the gate by touching its profile).
#[test]
fn a_pull_requests_own_profile_change_is_named() {
    if !git_available() {
        return;
    }
    let hash = loadgate::profile::Profile::from_yaml(PROFILE, "perf/checkout.yaml")
        .expect("valid profile")
        .hash;
    let mut files: Vec<(&str, String)> = vec![("perf/checkout.yaml", PROFILE.to_string())];
    let runs = main_runs(&hash);
    files.extend(runs.iter().map(|(p, t)| (p.as_str(), t.clone())));
    let origin = Origin::new(&files);
    let pr = origin.clone("pr");
    let changed = PROFILE.replace("400/s", "500/s");
    std::fs::write(pr.join("perf/checkout.yaml"), &changed).expect("writes");
    let mut current = common::run(&common::Spec::new(40));
    current.profile.hash = loadgate::profile::Profile::from_yaml(&changed, "p.yaml")
        .expect("valid")
        .hash;
    std::fs::write(pr.join("current.json"), current.to_json()).expect("writes");

    let step = pr_step(&pr, "current.json", &[]);
    assert_eq!(
        step.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&step.stderr)
    );
    let report = std::fs::read_to_string(pr.join("comparison.json")).expect("comparison");
    assert!(
        report.contains(
            "this pull request changes the profile (`perf/checkout.yaml`): the comparison is impossible until main records a baseline with it"
        ),
        "{report}"
    );
}

/// The single file of earlier versions (`baselines/<name>.json`) still loads, by its own name
/// and as the folder's neighbour; a new recording without `--push` splits it into run files.
#[test]
fn the_single_file_baseline_still_loads_and_moves_into_the_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old: Vec<_> = (1..=3)
        .map(|s| common::run(&common::Spec::new(s)))
        .collect();
    let mut single = loadgate::baseline::Baseline::new(&old[0].profile);
    for r in &old {
        single
            .runs
            .push(loadgate::baseline::BaselineRun::from_result(r).expect("trusted"));
    }
    std::fs::create_dir_all(dir.path().join("baselines")).expect("mkdir");
    std::fs::write(dir.path().join("baselines/checkout.json"), single.to_json()).expect("writes");
    let same = common::run(&common::Spec::new(9));
    std::fs::write(dir.path().join("r.json"), same.to_json()).expect("writes");
    for baseline in ["baselines/checkout.json", "baselines/checkout"] {
        let out = loadgate(dir.path())
            .args(["compare", "r.json", "--baseline", baseline])
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{baseline}: {text}");
        assert!(
            text.contains("3 baseline runs") || text.contains("3 runs"),
            "{text}"
        );
    }
    let out = loadgate(dir.path())
        .args([
            "baseline",
            "update",
            "r.json",
            "--baseline",
            "baselines/checkout",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("baselines/checkout.json").exists());
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("baselines/checkout"))
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = old.iter().chain([&same]).map(run_file_name).collect();
    expected.sort();
    assert_eq!(names, expected);
}
