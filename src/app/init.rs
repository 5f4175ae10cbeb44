//! `loadgate init`: a commented starter profile and the workflows that gate pull requests and
//! record baselines on main — the same files as `examples/` (built in, so they cannot drift).

use std::path::{Path, PathBuf};

use super::console::errln;
use crate::cli::InitArgs;
use crate::error::{Error, ExitCode};

/// The starter profile.
const STARTER: &str = include_str!("../../examples/starter.yaml");

/// The workflows: file name and text. The first two are always written.
const WORKFLOWS: [(&str, &str); 5] = [
    (
        "loadgate-pr.yml",
        include_str!("../../examples/workflows/loadgate-pr.yml"),
    ),
    (
        "loadgate-main.yml",
        include_str!("../../examples/workflows/loadgate-main.yml"),
    ),
    (
        "loadgate-fork-pr.yml",
        include_str!("../../examples/workflows/loadgate-fork-pr.yml"),
    ),
    (
        "loadgate-fork-comment.yml",
        include_str!("../../examples/workflows/loadgate-fork-comment.yml"),
    ),
    (
        "loadgate-sharded.yml",
        include_str!("../../examples/workflows/loadgate-sharded.yml"),
    ),
];

/// Where the profile goes, relative to the repository (the workflows refer to it).
pub const PROFILE_PATH: &str = "perf/loadgate.yaml";

pub(super) fn init(args: &InitArgs) -> Result<ExitCode, Error> {
    let name = match &args.name {
        Some(n) => n.clone(),
        None => directory_name(&args.dir),
    };
    if name.trim().is_empty() || name.contains(['/', '\\', '\n']) {
        return Err(Error::Usage(format!(
            "invalid profile name `{name}`: it names the baseline file, so use letters, digits, `-` and `_` (`--name api`)"
        )));
    }
    let mut profile = STARTER.replacen("name: api ", &format!("name: {name} "), 1);
    profile = profile.replace("baselines/api.json", &format!("baselines/{name}.json"));
    if let Some(target) = &args.target {
        crate::profile::check_target(target)
            .map_err(|m| Error::Usage(format!("`--target`: {m}")))?;
        profile = profile.replacen(
            "target: http://localhost:8080 ",
            &format!("target: {target} "),
            1,
        );
    }
    let count = if args.all_workflows {
        WORKFLOWS.len()
    } else {
        2
    };
    let mut files: Vec<(PathBuf, &str)> = vec![(args.dir.join(PROFILE_PATH), profile.as_str())];
    for (file, text) in &WORKFLOWS[..count] {
        files.push((args.dir.join(".github/workflows").join(file), text));
    }
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(Error::Usage(format!(
            "{} exist already: nothing was written (`--force` overwrites)",
            existing.join(", ")
        )));
    }
    for (path, text) in &files {
        super::write_file(path, text)?;
        errln!("wrote {}", path.display());
    }
    errln!(
        "\nnext: adjust {PROFILE_PATH} to your API and check it with `loadgate validate {PROFILE_PATH}`;\n\
         set the preview URL in loadgate-pr.yml and the repository variable LOADGATE_MAIN_URL for loadgate-main.yml;\n\
         the first push to main records baselines/{name}/ (loadgate pushes the run file), and pull requests are gated against it"
    );
    Ok(ExitCode::Pass)
}

fn directory_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map_or_else(
            || "api".into(),
            |n| {
                n.chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect()
            },
        )
}
