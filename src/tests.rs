//! The module layers of [`crate::LAYERS`], checked on the source: every `crate::…` path in a
//! module (its tests included) names a module below it.

use std::collections::BTreeSet;
use std::path::Path;

/// Rank of each top-level module: its position in [`crate::LAYERS`], flattened.
fn rank(module: &str) -> Option<usize> {
    crate::LAYERS
        .iter()
        .flat_map(|layer| layer.iter())
        .position(|m| *m == module)
}

/// Top-level modules named by `crate::` paths in `source`, comments left out.
fn imports(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `mycrate::`, not `crate::`
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::{c, d}}`: the first segment of each top-level entry.
                let mut depth = 0;
                let mut entry_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => entry_start = true,
                        c if entry_start && (c.is_alphanumeric() || c == '_') => {
                            let name: String = group[i..]
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_')
                                .collect();
                            found.insert(name);
                            entry_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
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
        let first = relative
            .iter()
            .next()
            .expect("a file name")
            .to_string_lossy();
        let module = first.trim_end_matches(".rs");
        if matches!(module, "lib" | "main" | "tests") {
            continue;
        }
        let own = rank(module).unwrap_or_else(|| panic!("{} is in no layer", relative.display()));
        let source = std::fs::read_to_string(file).expect("a source file");
        for import in imports(&source) {
            if import == module {
                continue;
            }
            match rank(&import) {
                Some(r) if r < own => {}
                Some(_) => upwards.push(format!("{} uses crate::{import}", relative.display())),
                None => upwards.push(format!(
                    "{} uses unknown crate::{import}",
                    relative.display()
                )),
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
fn the_scanner_finds_paths_and_groups_and_skips_comments() {
    let found = imports(
        "use crate::report::format;\nuse crate::{app, metrics::{a, b}, error};\n\
         // crate::github in a comment\nlet x = crate::exit::ExitCode::Pass; // crate::tls\n\
         use mycrate::profile;",
    );
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, ["app", "error", "exit", "metrics", "report"]);
}
