//! The action's inputs: the runner passes each input of `action.yml` as `INPUT_<NAME>` (upper
//! case, hyphens kept). An empty value means unset (GitHub passes every declared input, empty
//! when the workflow does not set it). Relative paths are the workspace's.

use std::path::{Path, PathBuf};

use super::Env;

/// Every input `action.yml` declares, which `loadgate gate` reads (a test keeps the two lists
/// equal).
pub const INPUTS: &[&str] = &[
    "profile",
    "target",
    "baseline",
    "mode",
    "github-token",
    "comment",
    "fail-on",
    "template",
    "results",
    "shard",
    "start-at",
    "max-skew",
    "pr-number",
    "confirm",
    "confirmation",
    "baseline-target",
    "push",
];

/// Every output `loadgate gate` writes to `GITHUB_OUTPUT` (a test keeps `action.yml` equal).
pub const OUTPUTS: &[&str] = &[
    "verdict",
    "exit-code",
    "results",
    "report",
    "report-html",
    "junit",
    "comparison",
    "requests",
    "p95-ms",
    "error-rate",
    "baseline",
    "comment-url",
    "confirmation-results",
];

/// The variable of an input: `fail-on` → `INPUT_FAIL-ON`.
pub fn variable(name: &str) -> String {
    format!("INPUT_{}", name.to_ascii_uppercase())
}

/// An input's value: trimmed, `None` when unset or empty.
pub fn input(env: &Env, name: &str) -> Option<String> {
    env.var(&variable(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// `flag`, else input `name`, else `LOADGATE_<NAME>` (hyphens as underscores); empty is unset.
pub fn resolve(env: &Env, flag: Option<String>, name: &str) -> Option<String> {
    let loadgate = format!("LOADGATE_{}", name.to_ascii_uppercase().replace('-', "_"));
    flag.map(|f| f.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| input(env, name))
        .or_else(|| {
            env.var(&loadgate)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        })
}

/// `path` against `GITHUB_WORKSPACE` when it is relative and the workspace is set.
pub fn in_workspace(env: &Env, path: &Path) -> PathBuf {
    match env.var("GITHUB_WORKSPACE").filter(|w| !w.is_empty()) {
        Some(workspace) if path.is_relative() => Path::new(workspace).join(path),
        _ => path.to_path_buf(),
    }
}

/// `path` as the next step of the job can use it: relative to `GITHUB_WORKSPACE` when inside
/// it (the container sees the workspace at `/github/workspace`, the runner's host elsewhere, and
/// both start steps in it), else as given.
pub fn workspace_relative(env: &Env, path: &Path) -> String {
    env.var("GITHUB_WORKSPACE")
        .and_then(|w| path.strip_prefix(w).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_keep_hyphens_and_empty_is_unset() {
        let env = Env::from_pairs([
            ("INPUT_FAIL-ON", "never"),
            ("INPUT_TARGET", "  "),
            ("LOADGATE_TARGET", "http://127.0.0.1:1"),
            ("LOADGATE_PR_NUMBER", "7"),
            ("GITHUB_WORKSPACE", "/github/workspace"),
        ]);
        assert_eq!(variable("fail-on"), "INPUT_FAIL-ON");
        assert_eq!(resolve(&env, None, "fail-on").as_deref(), Some("never"));
        assert_eq!(
            resolve(&env, Some("regression".into()), "fail-on").as_deref(),
            Some("regression"),
            "the flag wins"
        );
        assert_eq!(
            resolve(&env, None, "target").as_deref(),
            Some("http://127.0.0.1:1"),
            "an empty input falls through"
        );
        assert_eq!(resolve(&env, None, "pr-number").as_deref(), Some("7"));
        assert_eq!(resolve(&env, None, "mode"), None);
        assert_eq!(
            in_workspace(&env, Path::new("perf/api.yaml")),
            Path::new("/github/workspace/perf/api.yaml")
        );
        assert_eq!(
            in_workspace(&env, Path::new("/abs.yaml")),
            Path::new("/abs.yaml")
        );
    }

    #[test]
    fn paths_for_the_next_step_are_workspace_relative() {
        let env = Env::from_pairs([("GITHUB_WORKSPACE", "/github/workspace/")]);
        let rel = |p: &str| workspace_relative(&env, Path::new(p));
        assert_eq!(
            rel("/github/workspace/loadgate-results/results.json"),
            "loadgate-results/results.json"
        );
        assert_eq!(rel("/github/workspace"), "/github/workspace");
        assert_eq!(rel("/github/workspaces/x"), "/github/workspaces/x");
        assert_eq!(rel("/tmp/results.json"), "/tmp/results.json");
        assert_eq!(rel("already/relative.json"), "already/relative.json");
        let outside = Env::from_pairs::<&str, &str>([]);
        assert_eq!(workspace_relative(&outside, Path::new("/a/b")), "/a/b");
    }
}
