//! The committed JSON Schemas match the formats, and real files validate against them.
//! Regenerate the committed files with `LOADGATE_UPDATE_SCHEMAS=1 cargo test --test schemas`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use loadgate::profile::Profile;
use loadgate::results::RunResult;

fn check_committed(file: &str, generated: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file);
    let text = format!("{}\n", serde_json::to_string_pretty(generated).unwrap());
    if std::env::var_os("LOADGATE_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "schemas/{file} is out of date: run `LOADGATE_UPDATE_SCHEMAS=1 cargo test --test schemas` and commit it"
    );
}

fn assert_valid(schema: &serde_json::Value, instance: &serde_json::Value) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn committed_schemas_are_current() {
    check_committed("profile.v1.schema.json", &Profile::json_schema());
    check_committed("results.v1.schema.json", &RunResult::json_schema());
}

#[test]
fn a_real_results_file_matches_its_schema_and_loads_back() {
    let target = support::Target::start();
    let yaml = "name: s\nload:\n  warmup: 1s\n  stages:\n    - { duration: 2s, rate: 50/s }\nrequests:\n  - { name: ok, get: /ok }\n  - { name: missing, get: /status/404 }\n";
    let result = support::run_yaml(yaml, &target.url());
    let text = result.to_json();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_valid(&RunResult::json_schema(), &value);
    let back = RunResult::from_json(&text).unwrap();
    assert_eq!(back, result);
    assert_eq!(back.format_version, 1);
    // HTTP error classes are named as README and the terminal name them; files that spelled
    // them `http4xx` still load as the same class.
    assert!(text.contains("\"http_4xx\""), "{text}");
    let old_spelling = text.replace("\"http_4xx\"", "\"http4xx\"");
    assert_eq!(RunResult::from_json(&old_spelling).unwrap(), result);
}

#[test]
fn the_example_profiles_match_the_profile_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
            assert_valid(&Profile::json_schema(), &value);
            Profile::from_yaml(&text, &path.display().to_string()).unwrap();
            checked += 1;
        }
    }
    assert!(checked >= 1);
}
