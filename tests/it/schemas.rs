//! The committed JSON Schemas match the formats, and real files validate against them.
//! Regenerate the committed files with `LOADGATE_UPDATE_SCHEMAS=1 cargo test --test it schemas::`.
#![allow(clippy::unwrap_used)]

use crate::support;

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
        "schemas/{file} is out of date: run `LOADGATE_UPDATE_SCHEMAS=1 cargo test --test it schemas::` and commit it"
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

/// Validates a results file against the schema and checks it loads back unchanged.
fn assert_valid_results(what: &str, result: &RunResult) {
    let text = result.to_json();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&RunResult::json_schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
    assert_eq!(&RunResult::from_json(&text).unwrap(), result, "{what}");
}

#[test]
fn every_kind_of_results_file_matches_the_schema() {
    use loadgate::engine::ShardSpec;
    use loadgate::metrics::ErrorClass;
    let target = support::Target::start();
    let url = target.url();

    let closed = support::run_yaml(
        "name: s\nload:\n  model: closed\n  think_time: 50ms\n  stages: [ { duration: 1s, users: 2 } ]\nrequests:\n  - { name: ok, get: /ok }\n",
        &url,
    );
    assert!(closed.generator.intervals.iter().any(|g| g.users == 2));
    assert_valid_results("closed model", &closed);

    let journey = support::run_yaml(
        r#"
name: s
load:
  warmup: 1s
  stages: [ { duration: 2s, rate: 10/s } ]
scenarios:
  - name: store and read
    steps:
      - { name: store, post: /items, json: { a: 1 }, extract: { id: { json: /id } } }
      - { name: read, get: "/items/{{ vars.id }}" }
      - { name: missing, get: /json, extract: { x: { json: /nope } } }
"#,
        &url,
    );
    assert_eq!(journey.scenarios.len(), 1);
    assert!(support::errors_of(&journey.endpoints[2], ErrorClass::Extract) > 0);
    assert_valid_results("journey", &journey);

    let errors = support::run_yaml(
        r"
name: s
defaults: { timeout: 200ms }
load:
  stages: [ { duration: 1s, rate: 60/s } ]
requests:
  - { name: slow, get: /delay/1000 }
  - { name: dropped, get: /close }
  - { name: cut body, get: /partial }
  - { name: missing, get: /status/404 }
  - { name: failing, get: /status/503 }
  - { name: wrong, get: /ok, check: { body_contains: nope } }
",
        &url,
    );
    for (name, class) in [
        ("slow", ErrorClass::Timeout),
        ("dropped", ErrorClass::Closed),
        ("cut body", ErrorClass::Body),
        ("missing", ErrorClass::Http4xx),
        ("failing", ErrorClass::Http5xx),
        ("wrong", ErrorClass::Check),
    ] {
        let e = errors.endpoints.iter().find(|e| e.name == name).unwrap();
        assert!(
            support::errors_of(e, class) > 0,
            "{name}: {:?}",
            e.error_samples
        );
    }
    assert_valid_results("timeout, closed, body, HTTP and check errors", &errors);

    let refused = support::run_yaml(
        "name: s\nload:\n  stages: [ { duration: 1s, rate: 10/s } ]\nrequests:\n  - { name: ok, get: /ok }\n",
        &format!("http://127.0.0.1:{}", support::closed_port()),
    );
    assert!(support::errors_of(&refused.endpoints[0], ErrorClass::Connect) > 0);
    assert_valid_results("connect errors", &refused);

    let partial = support::run_yaml_with(
        "name: s\nload:\n  stages: [ { duration: 30s, rate: 20/s } ]\nrequests:\n  - { name: ok, get: /ok }\n",
        &url,
        ShardSpec::WHOLE,
        Some(std::time::Duration::from_millis(700)),
    );
    assert!(partial.partial);
    assert_valid_results("partial (interrupted)", &partial);

    let yaml = "name: s\nload:\n  stages: [ { duration: 1s, rate: 20/s } ]\nrequests:\n  - { name: ok, get: /ok }\n";
    let shards: Vec<RunResult> = (0..2)
        .map(|index| support::run_yaml_with(yaml, &url, ShardSpec { index, count: 2 }, None))
        .collect();
    for (i, shard) in shards.iter().enumerate() {
        assert_valid_results(&format!("shard {}", i + 1), shard);
    }
    let merged = loadgate::results::merge(shards.clone()).unwrap();
    assert!(merged.shard.is_complete());
    assert_valid_results("merged", &merged);
    let incomplete = loadgate::results::merge(vec![shards[1].clone()]).unwrap();
    assert!(!incomplete.shard.is_complete());
    assert_valid_results("incomplete merge", &incomplete);
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
