//! What recording a run changes in the baseline, and making those changes in the working tree.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Location, Source, load_directory, parse};
use crate::baseline::store;
use crate::baseline::{Baseline, BaselineRun};
use crate::error::Error;
use crate::results::ProfileRef;

/// A run to record.
pub(crate) struct Recording<'a> {
    pub location: &'a Location,
    /// The location as messages name it (workspace-relative under the action).
    pub shown: &'a str,
    pub profile: &'a ProfileRef,
    pub run: BaselineRun,
    pub keep: u32,
}

/// The changes recording makes, as `source` holds the baseline (absolute paths), and what they
/// amount to in words.
pub(super) fn plan(
    source: &Source<'_>,
    rec: &Recording<'_>,
) -> Result<(Vec<FileChange>, String), Error> {
    let baseline_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Baseline { path, source }
    };
    match rec.location {
        Location::File(path) => {
            let mut baseline = match source.read(path)? {
                Some(text) => parse(path, &text)?,
                None => Baseline::new(rec.profile),
            };
            let appended = baseline
                .append(rec.run.clone(), rec.profile, rec.keep, false)
                .map_err(baseline_error(path))?;
            let restarted = if appended.restarted.is_some() {
                " (the profile changed: started afresh)"
            } else {
                ""
            };
            Ok((
                vec![(path.clone(), Some(baseline.to_json()))],
                format!("{} of at most {} runs{restarted}", appended.runs, rec.keep),
            ))
        }
        Location::Directory { dir, legacy } => {
            let (files, old) = load_directory(source, dir, legacy)?;
            let plan =
                store::plan_record(&files, old.as_ref(), rec.profile, rec.run.clone(), rec.keep)
                    .map_err(baseline_error(dir))?;
            let mut changes: Vec<FileChange> = plan
                .write
                .into_iter()
                .map(|(name, text)| (dir.join(name), Some(text)))
                .collect();
            changes.extend(plan.delete.iter().map(|name| (dir.join(name), None)));
            if plan.delete_legacy {
                changes.push((legacy.clone(), None));
            }
            let mut words = format!(
                "`{}`: {} of at most {} runs of runner class `{}`",
                plan.name, plan.runs, rec.keep, rec.run.runner.class
            );
            if !plan.delete.is_empty() {
                let _ = write!(words, ", {} older removed", plan.delete.len());
            }
            if plan.discarded_other_profile > 0 {
                let _ = write!(
                    words,
                    " (the profile changed: {} runs of the earlier profile dropped)",
                    plan.discarded_other_profile
                );
            }
            if plan.delete_legacy {
                words.push_str("; the runs of the single baseline file moved into the folder");
            }
            Ok((changes, words))
        }
    }
}

/// A file to write (`Some`) or delete (`None`).
type FileChange = (PathBuf, Option<String>);

pub(super) fn apply_to_worktree(changes: &[FileChange]) -> Result<(), Error> {
    for (path, text) in changes {
        match text {
            Some(text) => crate::app::write_file(path, text)?,
            None => match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Write {
                        path: path.clone(),
                        source,
                    });
                }
            },
        }
    }
    Ok(())
}

/// Records the run in the working tree only (the user commits it). Returns what it did.
pub(crate) fn record_in_worktree(rec: &Recording<'_>) -> Result<String, Error> {
    let (changes, words) = plan(&Source::WorkTree, rec)?;
    apply_to_worktree(&changes)?;
    Ok(format!(
        "recorded the run in `{}` as {words}; commit `{}`",
        rec.shown, rec.shown
    ))
}
