//! Runs the real binary the way GitHub's runner runs the action's container: `loadgate gate`
//! with `INPUT_*` variables (hyphens kept), an event payload at `GITHUB_EVENT_PATH`, temp files
//! for `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`, and `GITHUB_WORKSPACE` as the working folder.
#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The runner's side of one step: event, output and summary files.
pub struct Runner {
    dir: tempfile::TempDir,
}

/// What one step produced.
#[derive(Debug)]
pub struct Step {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
}

impl Step {
    /// stdout and stderr, for assertion messages.
    pub fn log(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// The environment of one step.
pub struct StepEnv<'a> {
    pub workspace: &'a Path,
    pub event: &'a str,
    pub payload: &'a str,
    pub api_url: &'a str,
    pub inputs: Vec<(&'a str, String)>,
    pub env: Vec<(&'a str, String)>,
}

impl<'a> StepEnv<'a> {
    pub fn new(workspace: &'a Path, event: &'a str, payload: &'a str, api_url: &'a str) -> Self {
        StepEnv {
            workspace,
            event,
            payload,
            api_url,
            inputs: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Sets action input `name` (`fail-on`).
    pub fn input(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.inputs.push((name, value.into()));
        self
    }

    /// Sets an environment variable.
    pub fn var(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }

    /// Runs `loadgate gate` as the runner runs the container.
    pub fn run(&self) -> Step {
        let runner = Runner {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let event_path = runner.path("event.json");
        std::fs::write(&event_path, self.payload).expect("event");
        let (output, summary) = (runner.path("output"), runner.path("summary"));
        std::fs::write(&output, "").expect("output");
        std::fs::write(&summary, "").expect("summary");
        let git_ref = if self.event == "push" {
            "refs/heads/master"
        } else {
            "refs/pull/2/merge"
        };
        let mut cmd = assert_cmd::Command::cargo_bin("loadgate").expect("binary");
        cmd.env_clear()
            .current_dir(self.workspace)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("INPUT_GITHUB-TOKEN", "ghs_step_token")
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_EVENT_NAME", self.event)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
            .env("GITHUB_REF", git_ref)
            .env("GITHUB_SHA", "6113728f27ae82c7b1a177c8d03f9e96e0adf246")
            .env("GITHUB_RUN_ID", "1234")
            .env("GITHUB_API_URL", self.api_url)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_WORKSPACE", self.workspace)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", runner.dir.path());
        for (name, value) in &self.inputs {
            cmd.env(format!("INPUT_{}", name.to_uppercase()), value);
        }
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        let out = cmd
            .arg("gate")
            .timeout(std::time::Duration::from_secs(90))
            .output()
            .expect("runs");
        Step {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: parse_outputs(&std::fs::read_to_string(&output).expect("output file")),
            summary: std::fs::read_to_string(&summary).expect("summary file"),
        }
    }
}

impl Runner {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Reads a `GITHUB_OUTPUT` file as the runner does: `name=value` and heredocs.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}
