//! The baseline directory (`baselines/<profile>/`): one file per recorded run, each a
//! [`Baseline`] of that one run (`format_version` 1), named `<started-at>-<short sha>.json`.
//!
//! Two jobs recording at once add different files, so their commits never conflict; the rolling
//! window is applied when reading (the newest runs of the newest profile hash, `keep` per runner
//! class), and the recorder deletes the files outside it in its own commit. The older single
//! file (`baselines/<profile>.json`) is read as more runs and split into run files by the next
//! recording. Pure: files come in as names and parsed baselines, changes go out as a plan.

use std::collections::BTreeMap;

use super::{Baseline, BaselineError, BaselineRun};
use crate::results::ProfileRef;

/// A run file of the directory: its name and its contents.
#[derive(Debug, Clone)]
pub struct RunFile {
    /// File name inside the directory (`20250102T030405.678Z-abc1234.json`).
    pub name: String,
    /// Its runs (one, as loadgate writes them).
    pub baseline: Baseline,
}

/// Where a run came from, to know what to delete when it falls out of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    File(String),
    Legacy,
}

/// The runs of a directory (and of a legacy single file) after the window.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// The runs in the window, as one baseline (oldest first); `None` when there are none.
    pub baseline: Option<Baseline>,
    /// Files of the directory outside the window (older runs, or of an older profile hash).
    pub stale: Vec<String>,
    /// Runs left out because their profile hash is not the newest run's.
    pub other_profile: usize,
}

/// What a recording changes in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPlan {
    /// Files to write: name and JSON text (the new run; the legacy file's runs still in the
    /// window, moved into run files).
    pub write: Vec<(String, String)>,
    /// Files of the directory to delete (outside the window).
    pub delete: Vec<String>,
    /// The legacy single file is to be deleted (its runs now live in run files).
    pub delete_legacy: bool,
    /// Runs in the window after the recording, of the new run's runner class.
    pub runs: usize,
    /// Runs of an older profile hash dropped (the profile changed: the baseline starts afresh).
    pub discarded_other_profile: usize,
    /// The new run's file name.
    pub name: String,
}

/// The file name of a run: its start time without separators a file system may refuse (`:`),
/// then the commit's first 7 hex digits (`nosha` when unknown).
pub fn run_file_name(run: &BaselineRun) -> String {
    let time: String = run
        .started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let sha: String = run
        .git
        .as_ref()
        .map(|g| {
            g.sha
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(7)
                .collect()
        })
        .filter(|s: &String| !s.is_empty())
        .unwrap_or_else(|| "nosha".into());
    format!("{time}-{sha}.json")
}

/// A baseline file holding one run.
pub fn run_file(profile: &ProfileRef, run: BaselineRun) -> Baseline {
    let mut baseline = Baseline::new(profile);
    baseline.runs.push(run);
    baseline
}

/// The runs of the directory's files and of the legacy file, with the window applied: only the
/// newest run's profile hash counts, and of it the newest `keep` runs of each runner class.
pub fn assemble(
    files: &[RunFile],
    legacy: Option<&Baseline>,
    keep: u32,
) -> Result<Assembled, BaselineError> {
    let mut entries: Vec<(&BaselineRun, &ProfileRef, Origin)> = Vec::new();
    for file in files {
        for run in &file.baseline.runs {
            entries.push((run, &file.baseline.profile, Origin::File(file.name.clone())));
        }
    }
    if let Some(legacy) = legacy {
        for run in &legacy.runs {
            entries.push((run, &legacy.profile, Origin::Legacy));
        }
    }
    // Oldest first; RFC 3339 UTC times as loadgate writes them sort as text.
    entries.sort_by(|a, b| a.0.started_at.cmp(&b.0.started_at));
    let Some(&(_, newest, _)) = entries.last() else {
        return Ok(Assembled {
            baseline: None,
            stale: Vec::new(),
            other_profile: 0,
        });
    };
    let newest = newest.clone();
    if let Some((_, other, origin)) = entries.iter().find(|e| e.1.name != newest.name) {
        let file = match origin {
            Origin::File(name) => name.clone(),
            Origin::Legacy => "the single baseline file".into(),
        };
        return Err(BaselineError::Invalid(format!(
            "`{file}` holds a run of profile `{}`, the others are of `{}`: move it to `baselines/{}/`",
            other.name, newest.name, other.name
        )));
    }
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kept = vec![false; entries.len()];
    let mut other_profile = 0;
    for (i, (run, profile, _)) in entries.iter().enumerate().rev() {
        if profile.hash != newest.hash {
            other_profile += 1;
            continue;
        }
        let count = per_class.entry(run.runner.class.as_str()).or_default();
        if *count < keep.max(1) as usize {
            *count += 1;
            kept[i] = true;
        }
    }
    let mut baseline = Baseline::new(&newest);
    let mut live_files: Vec<&str> = Vec::new();
    for (i, (run, _, origin)) in entries.iter().enumerate() {
        if kept[i] {
            baseline.runs.push((*run).clone());
            if let Origin::File(name) = origin {
                live_files.push(name);
            }
        }
    }
    let stale = files
        .iter()
        .filter(|f| !live_files.contains(&f.name.as_str()))
        .map(|f| f.name.clone())
        .collect();
    Ok(Assembled {
        baseline: Some(baseline),
        stale,
        other_profile,
    })
}

/// What recording `run` of `profile` changes in a directory holding `files` (and beside it,
/// maybe, the legacy single file): the new run file, the legacy file's runs moved into run
/// files, and the files outside the window deleted. Recording the same run again writes the
/// same file (nothing changes).
pub fn plan_record(
    files: &[RunFile],
    legacy: Option<&Baseline>,
    profile: &ProfileRef,
    run: BaselineRun,
    keep: u32,
) -> Result<RecordPlan, BaselineError> {
    let name = run_file_name(&run);
    let class = run.runner.class.clone();
    let mut all: Vec<RunFile> = files.iter().filter(|f| f.name != name).cloned().collect();
    let mut written = vec![name.clone()];
    all.push(RunFile {
        name: name.clone(),
        baseline: run_file(profile, run),
    });
    if let Some(legacy) = legacy {
        for run in &legacy.runs {
            let moved = run_file_name(run);
            if all.iter().any(|f| f.name == moved) {
                continue;
            }
            written.push(moved.clone());
            all.push(RunFile {
                name: moved,
                baseline: run_file(&legacy.profile, run.clone()),
            });
        }
    }
    let assembled = assemble(&all, None, keep)?;
    let runs = assembled.baseline.as_ref().map_or(0, |b| {
        b.runs.iter().filter(|r| r.runner.class == class).count()
    });
    let write = all
        .iter()
        .filter(|f| written.contains(&f.name) && !assembled.stale.contains(&f.name))
        .map(|f| (f.name.clone(), f.baseline.to_json()))
        .collect();
    let delete = files
        .iter()
        .filter(|f| assembled.stale.contains(&f.name))
        .map(|f| f.name.clone())
        .collect();
    Ok(RecordPlan {
        write,
        delete,
        delete_legacy: legacy.is_some(),
        runs,
        discarded_other_profile: assembled.other_profile,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{GitRef, Runner, Tool};

    fn profile(hash: &str) -> ProfileRef {
        ProfileRef {
            name: "api".into(),
            hash: hash.into(),
            path: None,
        }
    }

    fn run(second: u32, class: &str) -> BaselineRun {
        BaselineRun {
            git: Some(GitRef {
                sha: format!("{second:07x}aaaaaaaa"),
                ref_name: None,
            }),
            started_at: format!("2025-01-01T00:00:{second:02}.000Z"),
            runner: Runner {
                class: class.into(),
                cpus: 2,
            },
            tool: Tool::current(),
            interval_ms: 1000,
            warmup_ms: 0,
            duration_ms: 1000,
            endpoints: Vec::new(),
            capacity: None,
        }
    }

    fn file(second: u32, class: &str, hash: &str) -> RunFile {
        let r = run(second, class);
        RunFile {
            name: run_file_name(&r),
            baseline: run_file(&profile(hash), r),
        }
    }

    #[test]
    fn names_sort_by_time_and_hold_no_colon() {
        let name = run_file_name(&run(5, "Linux-X64"));
        assert_eq!(name, "20250101T000005.000Z-0000005.json");
        let mut no_sha = run(6, "Linux-X64");
        no_sha.git = None;
        assert_eq!(run_file_name(&no_sha), "20250101T000006.000Z-nosha.json");
        assert!(run_file_name(&run(5, "x")) < run_file_name(&run(6, "x")));
    }

    #[test]
    fn window_keeps_the_newest_runs_of_each_class_and_of_the_newest_hash() {
        let files: Vec<RunFile> = (1..=5)
            .map(|s| file(s, "Linux-X64", "h1"))
            .chain([file(6, "macOS-ARM64", "h1"), file(0, "Linux-X64", "h0")])
            .collect();
        let a = assemble(&files, None, 3).expect("assembles");
        let b = a.baseline.expect("runs");
        let seconds: Vec<&str> = b.runs.iter().map(|r| &r.started_at[17..19]).collect();
        assert_eq!(seconds, ["03", "04", "05", "06"]);
        assert_eq!(b.profile.hash, "h1");
        assert_eq!(a.other_profile, 1);
        let mut stale = a.stale.clone();
        stale.sort();
        assert_eq!(
            stale,
            [
                "20250101T000000.000Z-0000000.json",
                "20250101T000001.000Z-0000001.json",
                "20250101T000002.000Z-0000002.json"
            ]
        );
    }

    #[test]
    fn a_newer_hash_starts_afresh_and_the_legacy_file_moves_into_run_files() {
        let mut legacy = Baseline::new(&profile("h1"));
        legacy.runs = vec![run(1, "Linux-X64"), run(2, "Linux-X64")];
        let plan = plan_record(&[], Some(&legacy), &profile("h1"), run(3, "Linux-X64"), 10)
            .expect("plans");
        assert_eq!(plan.write.len(), 3);
        assert!(plan.delete_legacy);
        assert_eq!(plan.runs, 3);
        let files = [file(1, "Linux-X64", "h1"), file(2, "Linux-X64", "h1")];
        let plan =
            plan_record(&files, None, &profile("h2"), run(3, "Linux-X64"), 10).expect("plans");
        assert_eq!(plan.write.len(), 1);
        assert_eq!(plan.delete.len(), 2);
        assert_eq!(plan.discarded_other_profile, 2);
        assert_eq!(plan.runs, 1);
    }

    #[test]
    fn recording_prunes_beyond_the_window_and_the_same_run_twice_changes_nothing() {
        let files: Vec<RunFile> = (1..=3).map(|s| file(s, "Linux-X64", "h1")).collect();
        let plan =
            plan_record(&files, None, &profile("h1"), run(4, "Linux-X64"), 3).expect("plans");
        assert_eq!(plan.delete, ["20250101T000001.000Z-0000001.json"]);
        assert_eq!(plan.runs, 3);
        let again =
            plan_record(&files, None, &profile("h1"), run(3, "Linux-X64"), 3).expect("plans");
        assert!(again.delete.is_empty());
        assert_eq!(again.write[0].1, files[2].baseline.to_json());
    }
}
