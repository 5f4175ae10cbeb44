//! The module layers of [`crate::LAYERS`], checked on the source: every path to another
//! top-level module (`crate::x`, `crate::{x, y::z}` over several lines, `super::super::x` that
//! climbs to the crate root) in a module, its tests included, names a module below it.

use std::collections::BTreeSet;
use std::path::Path;

/// Rank of each top-level module: its position in [`crate::LAYERS`], flattened.
fn rank(module: &str) -> Option<usize> {
    crate::LAYERS
        .iter()
        .flat_map(|layer| layer.iter())
        .position(|m| *m == module)
}

/// The code of a Rust file without comments, string and character literals, with every run of
/// whitespace made one space and none around `::` (so paths split over lines read as one).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !out.ends_with(|p: char| p.is_alphanumeric() || p == '_')
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some(_) => j += 1,
                }
            }
            i = j;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'), not a lifetime ('a).
            let close = match next {
                Some('\\') => (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\''),
                Some(_) if chars.get(i + 2) == Some(&'\'') => Some(i + 2),
                _ => None,
            };
            match close {
                Some(k) => {
                    out.push_str("' '");
                    i = k + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            if c.is_whitespace() {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
            i += 1;
        }
    }
    out.replace(" ::", "::").replace(":: ", "::")
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules a file names: by `crate::` paths, and by `super::` chains of at least
/// `depth` links (the file's module depth: `src/a.rs` is 1, `src/a/b.rs` 2), which reach the
/// crate root. `*` stands for a glob import of the crate root.
fn imports(source: &str, depth: usize) -> BTreeSet<String> {
    let code = code_only(source);
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let starts_word =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        // `super::*` is how an inline test module reads its parent: only `crate::*` is a glob of
        // the crate root.
        let mut from_crate = false;
        let after_root = if !starts_word {
            None
        } else if let Some(after) = rest.strip_prefix("crate::") {
            from_crate = true;
            Some(after)
        } else if rest.starts_with("super::") {
            let mut after = rest;
            let mut links = 0;
            while let Some(next) = after.strip_prefix("super::") {
                after = next;
                links += 1;
            }
            (links >= depth).then_some(after)
        } else {
            None
        };
        let Some(after) = after_root else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        at = code.len() - after.len();
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a, b::{c, d}}`: the first segment of each top-level entry.
            let mut depth = 0;
            let mut entry_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => entry_start = true,
                    '*' if depth == 0 && entry_start && from_crate => {
                        found.insert("*".to_string());
                        entry_start = false;
                    }
                    c if entry_start && (c.is_alphanumeric() || c == '_') => {
                        found.insert(ident_at(&group[i..]));
                        entry_start = false;
                    }
                    _ => {}
                }
            }
        } else if after.starts_with('*') {
            if from_crate {
                found.insert("*".to_string());
            }
        } else {
            let name = ident_at(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_has_a_layer_and_modules_import_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    let layered: BTreeSet<&str> = crate::LAYERS
        .iter()
        .flat_map(|l| l.iter().copied())
        .collect();
    assert_eq!(
        declared, layered,
        "every module in lib.rs is in exactly one layer of LAYERS"
    );
    assert_eq!(
        layered.len(),
        crate::LAYERS.iter().map(|l| l.len()).sum::<usize>()
    );

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upwards = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let module = parts[0].as_str();
        if matches!(module, "lib" | "main" | "tests") {
            continue;
        }
        // `a/b/mod.rs` is the module `a::b`, like `a/b.rs`.
        let depth = parts.len() - usize::from(parts.last().is_some_and(|p| p == "mod"));
        let own = rank(module).unwrap_or_else(|| panic!("{} is in no layer", relative.display()));
        let source = std::fs::read_to_string(file).expect("a source file");
        for import in imports(&source, depth) {
            if import == module {
                continue;
            }
            match rank(&import) {
                Some(r) if r < own => {}
                Some(_) => upwards.push(format!("{} uses crate::{import}", relative.display())),
                // Past the crate root a `super::` chain may name an item of an inline module;
                // only `crate::` paths must name a module.
                None if import == "*" => {
                    upwards.push(format!(
                        "{} imports the whole crate root",
                        relative.display()
                    ));
                }
                None => {}
            }
        }
    }
    assert!(
        upwards.is_empty(),
        "imports against the layers of LAYERS:\n{}",
        upwards.join("\n")
    );
}

#[test]
fn the_scanner_finds_paths_over_lines_and_groups_and_skips_comments_and_strings() {
    let found = imports(
        "use crate::report::format;\nuse crate::{\n    app,\n    metrics::{a, b},\n    error,\n};\n\
         // crate::github in a comment\nlet x = crate::exit::ExitCode::Pass; // crate::tls\n\
         let url = format!(\"http://{}\", crate::profile::x()); /* crate::untrusted */\n\
         let s = \"crate::secrets\"; let r = r#\"crate::baseline\"#; let c = '\"'; let l: &'a str;\n\
         let y = crate::\n    capacity::z; use mycrate::cli;",
        1,
    );
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(
        found,
        [
            "app", "capacity", "error", "exit", "metrics", "profile", "report"
        ]
    );
    // `super::` reaches the crate root from `src/a/b.rs` (depth 2) after two links.
    let up = imports(
        "use super::sibling; use super::super::app::x; use crate::*; use super::super::*;",
        2,
    );
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    assert_eq!(up, ["*", "app"]);
}

/// Longest a source file in `src/` may be: a file past it does more than one job, and is split
/// along its reasons to change (tests in their own file count as a file of their own).
const MAX_FILE_LINES: usize = 600;

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file)
                .expect("a source file")
                .lines()
                .count();
            (lines > MAX_FILE_LINES).then(|| {
                format!(
                    "{}: {lines} lines",
                    file.strip_prefix(&src).expect("under src/").display()
                )
            })
        })
        .collect();
    assert!(
        files.len() > 100 && long.is_empty(),
        "split these files (at most {MAX_FILE_LINES} lines each, {} files read):\n{}",
        files.len(),
        long.join("\n")
    );
}
