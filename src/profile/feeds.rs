//! Data feeds: CSV (with a header line) and JSON-lines files whose rows feed templates as
//! `{{ data.NAME.column }}`.
//!
//! The profile module does no I/O: files come through a [`DataFiles`] reader that the app
//! provides (paths relative to the profile). Every problem names the file and line.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_saphyr::Spanned;

use super::error::ProfileError;
use super::model::{Feed, FeedMode, Load, LoadModel};
use super::raw::{Pairs, RawFeed, RawFeedMode};
use super::validate::Ctx;

/// Reads the data files a profile names (paths as written, relative to the profile).
pub trait DataFiles {
    /// The file's text, or why it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;
}

/// For profiles parsed from text alone: any data file is an error.
pub struct NoDataFiles;

impl DataFiles for NoDataFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        Err(format!(
            "cannot read `{path}`: data files are read when loadgate loads the profile from a file"
        ))
    }
}

/// Reads, parses and checks every declared feed.
pub(super) fn validate_feeds(
    cx: &Ctx<'_>,
    raw: &Pairs<Spanned<String>, Spanned<RawFeed>>,
    files: &dyn DataFiles,
    load: &Load,
) -> Result<Vec<Feed>, ProfileError> {
    let mut feeds = Vec::new();
    for (name, spec) in raw.iter() {
        let key = format!("data.{}", name.value);
        let at = Some(spec.referenced);
        let ident = !name.value.is_empty()
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.value.starts_with(|c: char| c.is_ascii_digit());
        if !ident {
            return Err(cx.err(
                "data",
                Some(name.referenced),
                &format!("invalid feed name `{}`: expected letters, digits and `_` (it is used as `{{{{ data.NAME.column }}}}`)", name.value),
            ));
        }
        let (path, mode) = match &spec.value {
            RawFeed::Path(p) => (p.clone(), FeedMode::Sequential),
            RawFeed::Spec(s) => (
                s.file.clone(),
                match s.mode.unwrap_or(RawFeedMode::Sequential) {
                    RawFeedMode::Sequential => FeedMode::Sequential,
                    RawFeedMode::Random => FeedMode::Random,
                    RawFeedMode::Unique => FeedMode::Unique,
                },
            ),
        };
        let text = files.read(&path).map_err(|m| cx.err(&key, at, &m))?;
        let (columns, rows) = parse(&path, &text).map_err(|m| cx.err(&key, at, &m))?;
        if mode == FeedMode::Unique {
            let needed = match load.kind() {
                LoadModel::Open => load.total_arrivals(),
                LoadModel::Closed => load.peak_level().ceil() as u64,
            };
            if needed > rows.len() as u64 {
                let what = match load.kind() {
                    LoadModel::Open => "arrivals",
                    LoadModel::Closed => "users",
                };
                return Err(cx.err(
                    &key,
                    at,
                    &format!(
                        "data feed `{}` (`{path}`) has {} unique rows but the load plans {needed} {what}: expected at least as many rows (add rows, use `mode: sequential`, or shorten the run)",
                        name.value,
                        rows.len()
                    ),
                ));
            }
        }
        feeds.push(Feed {
            name: name.value.clone(),
            path,
            mode,
            columns,
            rows: Arc::new(rows),
        });
    }
    Ok(feeds)
}

/// Parses a data file by its extension into columns and rows.
pub fn parse(path: &str, text: &str) -> Result<(Vec<String>, Vec<minijinja::Value>), String> {
    let extension = std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let parsed = if extension.as_deref() == Some("csv") {
        parse_csv(path, text)?
    } else if matches!(extension.as_deref(), Some("jsonl" | "ndjson")) {
        parse_jsonl(path, text)?
    } else {
        return Err(format!(
            "unsupported data file `{path}`: expected `.csv` (with a header line) or `.jsonl` (one JSON object per line)"
        ));
    };
    if parsed.1.is_empty() {
        return Err(format!(
            "data file `{path}` has no rows: expected at least one"
        ));
    }
    Ok(parsed)
}

fn parse_csv(path: &str, text: &str) -> Result<(Vec<String>, Vec<minijinja::Value>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("`{path}` line 1: {e}: expected a header line of column names"))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() || headers.iter().any(String::is_empty) {
        return Err(format!(
            "`{path}` line 1: empty column name: expected a header line of column names"
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = headers.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(format!(
            "`{path}` line 1: column `{dup}` appears twice: expected distinct column names"
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            format!("`{path}` line {line}: {e}")
        })?;
        let row: std::collections::BTreeMap<String, minijinja::Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.clone(), minijinja::Value::from(v)))
            .collect();
        rows.push(minijinja::Value::from(row));
    }
    Ok((headers, rows))
}

fn parse_jsonl(path: &str, text: &str) -> Result<(Vec<String>, Vec<minijinja::Value>), String> {
    let mut rows = Vec::new();
    let mut columns: Option<BTreeSet<String>> = None;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "`{path}` line {}: {e}: expected one JSON object per line",
                n + 1
            )
        })?;
        let serde_json::Value::Object(map) = &value else {
            return Err(format!(
                "`{path}` line {}: not a JSON object: expected one object per line",
                n + 1
            ));
        };
        let keys: BTreeSet<String> = map.keys().cloned().collect();
        columns = Some(match columns {
            None => keys,
            Some(c) => c.intersection(&keys).cloned().collect(),
        });
        rows.push(minijinja::Value::from(minijinja::value::Serde(&value)));
    }
    Ok((columns.unwrap_or_default().into_iter().collect(), rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header() {
        let (cols, rows) = parse("u.csv", "email, id\na@x.io,1\nb@x.io,2\n").unwrap();
        assert_eq!(cols, ["email", "id"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get_attr("email").unwrap().as_str(), Some("b@x.io"));
    }

    #[test]
    fn csv_errors_name_the_line() {
        let err = parse("u.csv", "a,b\n1,2\n3\n").unwrap_err();
        assert!(err.starts_with("`u.csv` line 3"), "{err}");
        assert!(
            parse("u.csv", "a,a\n1,2\n")
                .unwrap_err()
                .contains("appears twice")
        );
        assert!(parse("u.csv", "a,b\n").unwrap_err().contains("has no rows"));
    }

    #[test]
    fn jsonl_columns_are_shared_keys() {
        let (cols, rows) = parse("u.jsonl", "{\"a\": 1, \"b\": 2}\n\n{\"a\": 3}\n").unwrap();
        assert_eq!(cols, ["a"]);
        assert_eq!(rows.len(), 2);
        let err = parse("u.jsonl", "{\"a\": 1}\n[1]\n").unwrap_err();
        assert_eq!(
            err,
            "`u.jsonl` line 2: not a JSON object: expected one object per line"
        );
        let err = parse("u.jsonl", "{\"a\": 1}\n{oops}\n").unwrap_err();
        assert!(err.starts_with("`u.jsonl` line 2:"), "{err}");
    }

    #[test]
    fn other_formats_are_refused() {
        assert!(
            parse("u.txt", "x")
                .unwrap_err()
                .starts_with("unsupported data file")
        );
    }
}
