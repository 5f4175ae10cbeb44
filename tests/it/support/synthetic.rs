//! Synthetic results files for the gate's tests: seeded, with the shape `loadgate run` writes.

#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeMap;

use loadgate::metrics::{EncodedHistogram, ErrorClass, Histogram, Summary};
use loadgate::results::{
    EndpointResult, FORMAT_VERSION, Generator, GeneratorRecord, GitRef, Interval, LoadModel,
    LoadPlan, ProfileRef, RunResult, Runner, Segment, Shard, Tool,
};

/// The profile hash of every synthetic run unless a test changes it.
pub const HASH: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// What a synthetic run looks like.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Seeds the latencies and the start time.
    pub seed: u64,
    /// Per endpoint: name and median latency in µs.
    pub endpoints: Vec<(&'static str, f64)>,
    /// Requests per second and endpoint.
    pub per_second: u64,
    /// Warm-up seconds (recorded, then excluded by the gate).
    pub warmup_s: u32,
    /// Measured seconds.
    pub measured_s: u32,
    /// Latency factor per endpoint name (1.0 when absent).
    pub slow: Vec<(&'static str, f64)>,
    /// 5xx errors per second per endpoint.
    pub errors_per_second: u64,
    /// Runner class.
    pub runner: &'static str,
}

impl Spec {
    /// Two endpoints, 200 requests a second each, 10 s warm-up and 60 s measured.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            endpoints: vec![("get customer", 20_000.0), ("add json", 8_000.0)],
            per_second: 200,
            warmup_s: 10,
            measured_s: 60,
            slow: Vec::new(),
            errors_per_second: 0,
            runner: "Linux-X64",
        }
    }
}

fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u = rng.f64().max(1e-12);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos()
}

/// A complete, trusted results file following `spec`.
pub fn run(spec: &Spec) -> RunResult {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let offset = 0.01 * normal(&mut rng);
    let seconds = spec.warmup_s + spec.measured_s;
    let endpoints = spec
        .endpoints
        .iter()
        .map(|&(name, median)| {
            let factor = spec
                .slow
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .product::<f64>();
            let intervals = (0..seconds)
                .map(|s| {
                    let mut h = Histogram::new();
                    for _ in 0..spec.per_second {
                        let v = median * factor * (offset + 0.3 * normal(&mut rng)).exp();
                        h.record_us(v.round() as u64);
                    }
                    let mut errors = BTreeMap::new();
                    if spec.errors_per_second > 0 {
                        errors.insert(ErrorClass::Http5xx, spec.errors_per_second);
                    }
                    Interval {
                        index: s,
                        requests: spec.per_second,
                        status: BTreeMap::from([(200, spec.per_second - spec.errors_per_second)]),
                        errors,
                        latency: EncodedHistogram::encode(&h),
                    }
                })
                .collect();
            EndpointResult {
                name: name.to_string(),
                method: "GET".into(),
                url: "/x".into(),
                summary: Summary::default(),
                warmup: Summary::default(),
                intervals,
                error_samples: Vec::new(),
            }
        })
        .collect();
    let total = spec.per_second * spec.endpoints.len() as u64;
    let mut lag = Histogram::new();
    lag.record_n_us(200, 1000);
    let mut result = RunResult {
        format_version: FORMAT_VERSION,
        tool: Tool::current(),
        profile: ProfileRef {
            name: "checkout".into(),
            hash: HASH.into(),
            path: None,
        },
        target: "http://127.0.0.1:9".into(),
        git: Some(GitRef {
            sha: format!(
                "{:032x}{:08x}",
                u128::from(spec.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
                spec.seed
            ),
            ref_name: Some("main".into()),
        }),
        runner: Runner {
            class: spec.runner.into(),
            cpus: 2,
        },
        started_at: format!(
            "2025-01-{:02}T10:{:02}:00.000Z",
            1 + spec.seed % 28,
            spec.seed % 60
        ),
        duration_ms: u64::from(seconds) * 1000,
        partial: false,
        partial_reason: None,
        shard: Shard::whole(),
        load: LoadPlan {
            model: LoadModel::Open,
            warmup_ms: u64::from(spec.warmup_s) * 1000,
            duration_ms: u64::from(seconds) * 1000,
            segments: vec![Segment {
                start_ms: 0,
                duration_ms: u64::from(seconds) * 1000,
                from: total as f64,
                to: total as f64,
            }],
            max_in_flight: Some(500),
        },
        interval_ms: 1000,
        endpoints,
        scenarios: Vec::new(),
        generator: Generator {
            schedule_lag: EncodedHistogram::encode(&lag),
            peak_in_flight: 12,
            intervals: (0..seconds)
                .map(|s| GeneratorRecord {
                    index: s,
                    planned: total,
                    sent: total,
                    dropped: 0,
                    max_lag_us: 400,
                    users: 0,
                    target_users: 0,
                })
                .collect(),
        },
        capacity: None,
    };
    result
        .refresh_summaries()
        .expect("synthetic histograms decode");
    result
}

/// A baseline holding `runs` (each must be a trusted run), oldest first.
pub fn baseline_of<'a>(
    runs: impl IntoIterator<Item = &'a RunResult>,
) -> loadgate::baseline::Baseline {
    let mut runs = runs.into_iter().peekable();
    let first = runs.peek().expect("at least one run");
    let mut b = loadgate::baseline::Baseline::new(&first.profile);
    for r in runs {
        let run = loadgate::baseline::BaselineRun::from_result(r).expect("a trusted run");
        b.append(run, &r.profile, 10, false).expect("appends");
    }
    b
}

/// Runs with seeds `1..=n` of the default spec.
pub fn runs(n: u64) -> Vec<RunResult> {
    (1..=n).map(|s| run(&Spec::new(s))).collect()
}
