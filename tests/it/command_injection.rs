//! Under GitHub Actions, stdout and stderr are a command channel: the runner reads a command
//! from any line starting with `::` (after blanks) and, in the legacy form, from `##[` anywhere
//! in a line. Every command runs here with a hostile profile, hostile results files (endpoint
//! names, target) and a target whose answers carry commands, and no line of their output may
//! be a command other than loadgate's own, properly escaped annotations and masks.

use crate::support;

use std::path::Path;

use support::Target;

/// An endpoint name that tries every way to start a command: a line feed, a lone carriage
/// return (the runner splits lines on it), leading blanks, and the legacy form mid-line.
const NAME: &str =
    "x\n::error title=INJ::endpoint\r::warning::INJ-cr\n  ::add-mask::INJ ##[error]INJ-legacy";

/// What the target answers is hostile too: the check failure quotes it.
const BODY: &str = "INJ-body\n::error title=INJ::body ##[error]INJ-body";

fn profile(name: &str) -> String {
    let quoted = serde_json::to_string(name).expect("a JSON string is a YAML string");
    let body = serde_json::to_string(BODY).expect("string");
    format!(
        r#"version: 1
name: hostile
wait_for: {{ path: /ok, timeout: 10s }}
load:
  stages:
    - {{ duration: 1s, rate: 40/s }}
requests:
  - name: {quoted}
    post: /echo
    body: {body}
    check: {{ json: {{ "/body": "something else" }} }}
  - name: {quoted_500}
    get: /status/500
thresholds:
  {quoted}: {{ p95: 1us }}
"#,
        quoted_500 = serde_json::to_string(&format!("{name} 500")).expect("string"),
    )
}

/// One command's output, both streams.
struct Output {
    what: String,
    code: Option<i32>,
    text: String,
}

fn loadgate(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out = assert_cmd::Command::cargo_bin("loadgate")
        .expect("binary")
        .current_dir(dir)
        .env_clear()
        .env("GITHUB_ACTIONS", "true")
        .envs(envs.iter().copied())
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    Output {
        what: args.join(" "),
        code: out.status.code(),
        text: format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// What the runner would read as the start of a `::command::` line (it trims leading blanks;
/// invisible characters are skipped too).
fn command_at_start(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches(|c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
            )
    });
    rest.starts_with("::").then_some(rest)
}

/// loadgate's own commands: an annotation titled `loadgate…` whose properties hold no raw `:`
/// or `,` (escaped as `%3A`, `%2C`), or a mask.
fn own_command(command: &str) -> bool {
    if command.starts_with("::add-mask::") {
        return true;
    }
    let Some(rest) = ["::error ", "::warning ", "::notice "]
        .iter()
        .find_map(|p| command.strip_prefix(p))
    else {
        return false;
    };
    let Some((properties, _data)) = rest.split_once("::") else {
        return false;
    };
    let title_is_ours = properties
        .split(',')
        .any(|p| p.starts_with("title=loadgate"));
    title_is_ours
        && properties.split(',').all(|p| {
            let (key, value) = p.split_once('=').unwrap_or((p, ""));
            matches!(key, "file" | "line" | "col" | "title") && !value.contains(':')
        })
}

fn assert_no_injection(out: &Output, expect_hostile_text: bool) {
    let context = || {
        format!(
            "`loadgate {}` (exit {:?}):\n{}",
            out.what, out.code, out.text
        )
    };
    assert!(!out.text.contains('\r'), "a carriage return: {}", context());
    for line in out.text.lines() {
        assert!(
            !line.contains("##["),
            "legacy command in {line:?}: {}",
            context()
        );
        if let Some(command) = command_at_start(line) {
            assert!(
                own_command(command),
                "injected command {line:?}: {}",
                context()
            );
        }
    }
    if expect_hostile_text {
        assert!(
            out.text.contains("INJ"),
            "the hostile text was printed (neutralized): {}",
            context()
        );
    }
}

#[test]
fn no_command_prints_a_workflow_command_from_untrusted_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    std::fs::write(ws.join("hostile.yaml"), profile(NAME)).expect("profile");
    let target = Target::start();
    let url = target.url();
    let mut outputs = Vec::new();
    let mut run = |args: &[&str], envs: &[(&str, &str)], hostile: bool| {
        let out = loadgate(ws, args, envs);
        assert_no_injection(&out, hostile);
        outputs.push(out);
    };

    run(&["validate", "hostile.yaml"], &[], true);
    run(
        &["run", "hostile.yaml", "--target", &url, "--out", "run.json"],
        &[],
        true,
    );
    for (i, shard) in ["1/2", "2/2"].iter().enumerate() {
        let out = format!("shard-{i}.json");
        run(
            &[
                "run",
                "hostile.yaml",
                "--target",
                &url,
                "--shard",
                shard,
                "--out",
                &out,
            ],
            &[],
            true,
        );
    }
    run(
        &[
            "merge",
            "shard-0.json",
            "shard-1.json",
            "--max-skew",
            "1h",
            "--out",
            "merged.json",
        ],
        &[],
        true,
    );
    // A target that is no URL is quoted in the error.
    run(
        &[
            "run",
            "hostile.yaml",
            "--target",
            "http://127.0.0.1:1/\n::error title=INJ::target ##[error]INJ",
        ],
        &[],
        true,
    );

    // A results file edited by hand (a fork's artifact): the target and names are anything.
    let mut results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("run.json")).expect("results"))
            .expect("JSON");
    results["target"] = serde_json::json!("http://t\n::error title=INJ::target\r##[error]INJ");
    std::fs::write(ws.join("hostile.json"), results.to_string()).expect("write");
    run(
        &[
            "baseline",
            "update",
            "hostile.json",
            "--baseline",
            "base.json",
        ],
        &[],
        false,
    );
    run(
        &["compare", "hostile.json", "--baseline", "base.json"],
        &[],
        true,
    );
    for format in ["md", "text", "json", "junit", "html"] {
        run(
            &[
                "report",
                "hostile.json",
                "--baseline",
                "base.json",
                "--format",
                format,
            ],
            &[],
            true,
        );
    }
    // The action: a load run with annotations (the threshold is breached), and the fork-safe
    // comment job's report mode over the hostile results file.
    let runner = |mode: &'static str| {
        vec![
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REPOSITORY", "octo/repo"),
            ("GITHUB_OUTPUT", "github-output"),
            ("GITHUB_STEP_SUMMARY", "github-summary"),
            ("INPUT_MODE", mode),
            ("INPUT_PROFILE", "hostile.yaml"),
        ]
    };
    let mut live = runner("gate");
    live.push(("INPUT_TARGET", &url));
    live.push(("INPUT_RESULTS", "gate/results.json"));
    run(&["gate"], &live, true);
    let mut saved = runner("report");
    saved.push(("INPUT_RESULTS", "hostile.json"));
    run(&["gate"], &saved, true);
    let mut never_ready = runner("gate");
    never_ready.push(("INPUT_TARGET", "http://127.0.0.1:1"));
    std::fs::write(
        ws.join("slow.yaml"),
        profile(NAME).replace("timeout: 10s", "timeout: 1s, interval: 200ms"),
    )
    .expect("profile");
    never_ready.push(("INPUT_PROFILE", "slow.yaml"));
    run(&["gate"], &never_ready, false);

    // The runs did happen, and loadgate's own annotations carried the hostile name escaped.
    let gate = &outputs[outputs.len() - 3];
    assert_eq!(gate.code, Some(1), "{}", gate.text);
    assert!(
        gate.text.contains(
            "::error title=loadgate%3A threshold x%0A%3A%3Aerror title=INJ%3A%3Aendpoint%0D"
        ),
        "{}",
        gate.text
    );
    assert!(ws.join("gate/results.json").is_file());
}
