//! The gate on real runs: the built-in demo service on loopback, driven by the real engine.
//! Two baseline runs, then an A/A run (same service) that must pass and an A/B run with the
//! customer endpoint's service time 30% longer that must be a regression naming that endpoint and
//! metric. Each run is 2 s of warm-up and 12 s measured at 400 requests a second, to 127.0.0.1
//! only.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use loadgate::baseline::{Baseline, BaselineRun};
use loadgate::compare::{Comparison, GateInput, Verdict, evaluate};
use loadgate::demo::{self, DemoConfig};
use loadgate::engine::{self, RunMeta, RunOptions, ShardSpec, Stop};
use loadgate::profile::Profile;
use loadgate::results::{RunResult, Runner};

const PROFILE: &str = r#"
version: 1
name: real-check
load:
  warmup: 2s
  stages:
    - { duration: 14s, rate: 400/s }
  max_in_flight: 500
requests:
  - name: customer
    weight: 3
    get: "/customerdata/{{ random_int(1, 4500) }}"
    check: { status: 200 }
  - name: address
    weight: 1
    get: "/customerdata/{{ random_int(1, 4500) }}/address"
    check: { status: 200 }
"#;

/// One run against a fresh demo service. A run the gate calls untrusted (the generator was
/// starved of CPU by a busy machine) is repeated once; a second failure fails the test.
fn measure(profile: &Arc<Profile>, slow: &[(&str, f64)]) -> RunResult {
    for attempt in 0..2 {
        let result = once(profile, slow);
        let checks = loadgate::compare::validity::run_checks(&result);
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| c.status == loadgate::compare::CheckStatus::Failed)
            .collect();
        if failed.is_empty() {
            return result;
        }
        eprintln!("attempt {attempt}: run untrusted: {failed:?}");
    }
    panic!("two runs in a row were untrusted: the machine is too busy for this test");
}

fn once(profile: &Arc<Profile>, slow: &[(&str, f64)]) -> RunResult {
    // 10 ms of service time, not the demo's 2 ms: tokio's timers tick by the millisecond and a
    // busy 2-core CI runner adds about as much again, so at 2 ms a 30% longer service time came
    // out as +7% at the client once (CI, stop 25) and the A/B half failed. At 10 ms the slowdown
    // is ~+25% end to end, well past what two baseline runs can resolve (~8%).
    let config = DemoConfig {
        latency: std::time::Duration::from_millis(10),
        slow: slow.iter().map(|(e, f)| ((*e).to_string(), *f)).collect(),
        ..DemoConfig::default()
    };
    let server = demo::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .expect("the demo service starts");
    let options = RunOptions {
        target: server.url(),
        shard: ShardSpec::WHOLE,
        threads: Some(1),
        meta: RunMeta {
            profile_path: None,
            git: None,
            runner: Runner {
                class: "test".into(),
                cpus: 1,
            },
        },
        session: loadgate::engine::setup::Session::default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime
        .block_on(engine::run(
            profile.clone(),
            options,
            Arc::new(Stop::default()),
            |_| {},
        ))
        .expect("the engine runs");
    server.stop();
    result
}

fn compare(current: &RunResult, baseline: &Baseline, profile: &Profile) -> Comparison {
    evaluate(GateInput {
        current,
        baseline: Some(baseline),
        gate: &profile.gate,
        thresholds: &profile.thresholds,
    })
    .expect("histograms decode")
}

#[test]
fn a_a_passes_and_a_slower_endpoint_is_a_regression() {
    let profile = Arc::new(Profile::from_yaml(PROFILE, "real-check.yaml").expect("valid"));
    let first = measure(&profile, &[]);
    let mut baseline = Baseline::new(&first.profile);
    for r in [first, measure(&profile, &[])] {
        let run = BaselineRun::from_result(&r).expect("a trusted run");
        baseline
            .append(run, &r.profile, 10, false)
            .expect("appends");
    }

    let same = compare(&measure(&profile, &[]), &baseline, &profile);
    let text = loadgate::report::verdict::comparison(&same);
    // A/A never blocks the merge. With two baseline runs the intervals are wide, so a noisy
    // machine may leave p50 "inconclusive" (exit 0, non-blocking) instead of "pass"; the rate of
    // that is measured properly by bench/gate-sim, not here.
    assert!(
        matches!(same.overall.verdict, Verdict::Pass | Verdict::Inconclusive)
            && same.regressions().next().is_none(),
        "A/A:\n{text}"
    );
    assert_eq!(
        loadgate::error::ExitCode::of_verdict(same.overall.verdict),
        loadgate::error::ExitCode::Pass,
        "A/A:\n{text}"
    );

    let slower = compare(
        &measure(&profile, &[("customer", 1.3)]),
        &baseline,
        &profile,
    );
    let text = loadgate::report::verdict::comparison(&slower);
    assert_eq!(slower.overall.verdict, Verdict::Regression, "A/B:\n{text}");
    let regressed: Vec<(&str, &str)> = slower
        .regressions()
        .map(|m| (m.endpoint.as_str(), m.label.as_str()))
        .collect();
    assert!(regressed.contains(&("customer", "p50")), "A/B:\n{text}");
    assert!(
        regressed.iter().all(|(e, _)| *e == "customer"),
        "only the slowed endpoint regresses:\n{text}"
    );
    assert!(
        slower
            .overall
            .reasons
            .iter()
            .any(|r| r.starts_with("customer p50: +")),
        "{text}"
    );
}
