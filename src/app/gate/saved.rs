//! Saved results for `mode: report`: one results file, or the shards of one run, merged.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::results::RunResult;

/// Saved results for `mode: report`: one file, or several (lines, or a `*` pattern in the file
/// name) that are shards of one run and get merged; with the number of files read.
pub(super) fn read_saved_results(
    spec: &str,
    max_skew: Option<std::time::Duration>,
) -> Result<(RunResult, usize), Error> {
    let mut paths = Vec::new();
    for line in spec.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = Path::new(line);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.contains(['*', '?', '[', '{']) {
            let pattern = file_pattern(name).map_err(|e| {
                Error::Usage(format!(
                    "`results`: `{line}` is not a valid pattern ({e}): expected a file name with `*` or `?`, like `shards/shard-*.json`"
                ))
            })?;
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|source| Error::Read {
                    path: dir.to_path_buf(),
                    source,
                })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| pattern.is_match(n))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::Usage(format!(
                    "no results file matches `{line}`: check the `results` input and the downloaded artifacts"
                )));
            }
            paths.extend(found);
        } else {
            paths.push(path.to_path_buf());
        }
    }
    let mut parts = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), crate::app::read_results(p)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let files = parts.len();
    if files == 1 {
        return Ok((parts.remove(0).1, 1));
    }
    let (merged, _) = crate::results::merge_files_within(parts, max_skew).map_err(Error::Merge)?;
    Ok((merged, files))
}

/// A file-name pattern of the `results` input: `*` any run of characters, `?` one, `[…]` a
/// class, `{a,b}` alternatives (globset's syntax, within one folder).
fn file_pattern(name: &str) -> Result<globset::GlobMatcher, globset::Error> {
    Ok(globset::GlobBuilder::new(name)
        .literal_separator(true)
        .build()?
        .compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_patterns() {
        let matches = |p: &str, n: &str| file_pattern(p).expect("valid").is_match(n);
        assert!(matches("shard-*.json", "shard-1.json"));
        assert!(matches("shard-?.json", "shard-2.json"));
        assert!(!matches("shard-?.json", "shard-10.json"));
        assert!(matches("*", "x"));
        assert!(!matches("*.json", "x.yaml"));
        assert!(matches("shard-[12].json", "shard-2.json"));
        assert!(matches("{a,b}.json", "b.json"));
        assert!(file_pattern("shard-[.json").is_err());
    }
}
