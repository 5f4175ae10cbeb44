//! The committed JSON Schemas of the baseline and comparison formats are the generated ones,
//! and real files validate against them.

use crate::support::synthetic as common;

use std::time::Duration;

use loadgate::baseline::{Baseline, BaselineRun};
use loadgate::compare::{Comparison, GateInput, evaluate};
use loadgate::profile::{GateConfig, Limit, Threshold, ThresholdScope};

fn committed(name: &str) -> serde_json::Value {
    let path = format!("{}/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn committed_schemas_are_the_generated_ones() {
    for (file, kind, generated) in [
        (
            "baseline.v1.schema.json",
            "baseline",
            Baseline::json_schema(),
        ),
        (
            "comparison.v1.schema.json",
            "comparison",
            Comparison::json_schema(),
        ),
    ] {
        assert!(
            committed(file) == generated,
            "schemas/{file} is stale: regenerate it with `cargo run -- schema {kind} > schemas/{file}`"
        );
    }
}

fn validate(schema: &serde_json::Value, text: &str) {
    let instance: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    let validator = jsonschema::validator_for(schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn baselines_and_comparisons_validate_against_their_schemas() {
    let results = common::runs(3);
    let mut baseline = Baseline::new(&results[0].profile);
    for r in &results {
        baseline
            .append(BaselineRun::from_result(r).unwrap(), &r.profile, 10, false)
            .unwrap();
    }
    validate(&committed("baseline.v1.schema.json"), &baseline.to_json());

    let mut spec = common::Spec::new(50);
    spec.slow = vec![("get customer", 1.4)];
    spec.errors_per_second = 3;
    let current = common::run(&spec);
    let comparison = evaluate(GateInput {
        current: &current,
        baseline: Some(&baseline),
        gate: &GateConfig::default(),
        thresholds: &[Threshold {
            scope: ThresholdScope::Endpoint("add json".into()),
            limits: vec![
                Limit::MinRate { per_sec: 150.0 },
                Limit::Latency {
                    quantile: loadgate::profile::Quantile(1.0),
                    max: Duration::from_millis(100),
                },
            ],
        }],
    })
    .unwrap();
    assert!(!comparison.metrics.is_empty());
    validate(
        &committed("comparison.v1.schema.json"),
        &comparison.to_json(),
    );
}

#[test]
fn the_shipped_demo_baseline_is_valid() {
    let text = std::fs::read_to_string(format!(
        "{}/baselines/demo.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("baselines/demo.json exists");
    validate(&committed("baseline.v1.schema.json"), &text);
    let baseline = Baseline::from_json(&text).expect("the demo baseline loads");
    assert_eq!(baseline.profile.name, "demo");
    // Recorded with the shipped demo profile (tests/demo_baseline.rs checks the rest).
    let profile =
        std::fs::read_to_string(format!("{}/examples/demo.yaml", env!("CARGO_MANIFEST_DIR")))
            .expect("examples/demo.yaml exists");
    let profile = loadgate::profile::Profile::from_yaml(&profile, "examples/demo.yaml")
        .expect("the demo profile is valid");
    assert_eq!(baseline.profile.hash, profile.hash);
    assert!(!baseline.runs.is_empty());
}
