//! The baseline shipped for `loadgate demo` (`baselines/demo.json`, built into the binary):
//! it is real, belongs to the shipped demo profile, stays small, and the gate judges with it
//! as `loadgate demo` does: each recorded run against the others is never a regression, and
//! one endpoint 30% slower is a regression naming that endpoint and metric.

use loadgate::baseline::Baseline;
use loadgate::compare::{Judgement, MetricStatus, RunData, RunSummary, Verdict, judge};
use loadgate::metrics::Histogram;
use loadgate::profile::Profile;

fn file(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn shipped() -> (Baseline, Profile) {
    let baseline = Baseline::from_json(&file("baselines/demo.json")).expect("the baseline loads");
    let profile =
        Profile::from_yaml(&file("examples/demo.yaml"), "examples/demo.yaml").expect("valid");
    (baseline, profile)
}

fn summaries(baseline: &Baseline, profile: &Profile) -> Vec<RunSummary> {
    baseline
        .runs
        .iter()
        .map(|r| {
            RunData::from_baseline_run(r)
                .expect("histograms decode")
                .summarize(&profile.gate)
        })
        .collect()
}

fn describe(j: &Judgement) -> String {
    j.metrics
        .iter()
        .map(|m| {
            format!(
                "{} {} {:?} ratio {:?} ci {:?}: {}",
                m.endpoint, m.label, m.status, m.ratio, m.ci90, m.reason
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_shipped_baseline_matches_the_demo_profile() {
    let text = file("baselines/demo.json");
    // It is compiled into the binary: keep it small (a few runs of 30 one-second intervals).
    assert!(
        text.len() < 600_000,
        "baselines/demo.json is {} bytes",
        text.len()
    );
    let (baseline, profile) = shipped();
    assert_eq!(baseline.profile.name, profile.name);
    assert_eq!(
        baseline.profile.hash, profile.hash,
        "the demo profile changed since the baseline was recorded: record it again (see baselines/)"
    );
    assert!(
        (5..=10).contains(&baseline.runs.len()),
        "{} runs",
        baseline.runs.len()
    );
    let names: Vec<&str> = profile.endpoints.iter().map(|e| e.name.as_str()).collect();
    for run in &baseline.runs {
        assert_eq!(run.runner.class, "demo");
        let recorded: Vec<&str> = run.endpoints.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(recorded, names);
        let responses: u64 = run
            .endpoints
            .iter()
            .flat_map(|e| &e.intervals)
            .map(|i| i.requests)
            .sum();
        // 30 s at 100 requests a second.
        assert!((2_900..=3_100).contains(&responses), "{responses}");
    }
}

#[test]
fn each_shipped_run_against_the_others_is_no_regression() {
    let (baseline, profile) = shipped();
    let runs = summaries(&baseline, &profile);
    for i in 0..runs.len() {
        let others: Vec<RunSummary> = runs
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != i)
            .map(|(_, r)| r.clone())
            .collect();
        let j = judge(&runs[i], &others, &profile.gate);
        assert_ne!(j.verdict, Verdict::Regression, "run {i}:\n{}", describe(&j));
        // The gated metrics are decided: the demo's baseline is usable as shipped.
        assert!(
            j.metrics
                .iter()
                .any(|m| m.label == "p50" && m.status == MetricStatus::Pass),
            "run {i}:\n{}",
            describe(&j)
        );
    }
}

#[test]
fn a_slower_endpoint_against_the_shipped_baseline_is_a_regression() {
    let (baseline, profile) = shipped();
    let (last, rest) = baseline.runs.split_last().expect("runs");
    let mut data = RunData::from_baseline_run(last).expect("histograms decode");
    // `--slow customer=1.3`: every response of `get customer` takes 30% longer.
    let endpoint = data
        .endpoints
        .iter_mut()
        .find(|e| e.name == "get customer")
        .expect("the demo profile has `get customer`");
    for interval in &mut endpoint.intervals {
        let mut h = Histogram::new();
        for &(value_us, count) in &interval.latency {
            h.record_n_us((value_us as f64 * 1.3).round() as u64, count);
        }
        interval.latency = h.buckets().collect();
    }
    let base: Vec<RunSummary> = rest
        .iter()
        .map(|r| {
            RunData::from_baseline_run(r)
                .expect("histograms decode")
                .summarize(&profile.gate)
        })
        .collect();
    let j = judge(&data.summarize(&profile.gate), &base, &profile.gate);
    assert_eq!(j.verdict, Verdict::Regression, "{}", describe(&j));
    let regressed: Vec<(&str, &str)> = j
        .metrics
        .iter()
        .filter(|m| m.status == MetricStatus::Regression)
        .map(|m| (m.endpoint.as_str(), m.label.as_str()))
        .collect();
    assert_eq!(regressed, [("get customer", "p50")], "{}", describe(&j));
}
