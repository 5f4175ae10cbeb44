//! The gate's simulator (see `stats-gate.md`, "Proving it works"): seeded synthetic runs fed
//! through the real histogram ([`Histogram`]) and the real comparison ([`judge`]).
//!
//! Noise model per run, all on the latency of every request (µs):
//! log-normal body per endpoint; a Pareto tail on 2% of requests; a random offset per run
//! (shared by the endpoints, plus a smaller per-endpoint part); occasional slow runners; AR(1)
//! drift over the run's seconds; periodic stalls that delay the requests scheduled during them
//! (queueing); a warm-up transient that the gate must trim; bursty errors. Injected changes
//! hit the first endpoint of the current run only. Shared by `main.rs` (the benchmark) and the
//! smoke test (`tests/gate_sim.rs`).

#![allow(dead_code)] // each includer uses a different part

use std::collections::BTreeMap;

use loadgate::compare::{
    Detail, IntervalData, Metric, MetricStatus, RunData, RunSummary, Verdict, judge,
};
use loadgate::metrics::{ErrorClass, Histogram};
use loadgate::profile::GateConfig;

/// Seconds of warm-up every simulated run starts with (trimmed by the gate).
pub const WARMUP_S: u32 = 10;
/// Baseline runs simulated per repetition (the first N are used for baseline size N).
pub const MAX_BASELINE: usize = 10;

/// The noise model's constants (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    /// Median latency of endpoint `e` is `MEDIANS_US[e % 3]`.
    pub body_sigma: f64,
    /// Share of requests in the Pareto tail.
    pub tail_share: f64,
    /// Pareto shape of the tail multiplier.
    pub tail_alpha: f64,
    /// SD of the log-offset shared by a run's endpoints (runner speed).
    pub run_sd: f64,
    /// SD of the per-endpoint log-offset of a run.
    pub endpoint_sd: f64,
    /// Probability that a run lands on a slow runner.
    pub slow_share: f64,
    /// A slow runner slows every request by a factor drawn uniformly from this range.
    pub slow_factor: (f64, f64),
    /// AR(1) coefficient of the per-second drift.
    pub drift_rho: f64,
    /// Stationary SD of the drift (log scale).
    pub drift_sd: f64,
    /// Seconds between stalls (GC-like pauses), ±10%.
    pub stall_period_s: f64,
    /// Stall length range, ms.
    pub stall_ms: (f64, f64),
    /// Extra latency factor at the start of the warm-up (decays with a 2 s time constant).
    pub warmup_boost: f64,
    /// Share of seconds with an error burst.
    pub burst_share: f64,
    /// Error rate multiplier in a burst.
    pub burst_factor: f64,
}

impl Default for Noise {
    fn default() -> Self {
        Self {
            body_sigma: 0.35,
            tail_share: 0.02,
            tail_alpha: 2.5,
            run_sd: 0.008,
            endpoint_sd: 0.004,
            slow_share: 0.02,
            slow_factor: (1.02, 1.04),
            drift_rho: 0.8,
            drift_sd: 0.02,
            stall_period_s: 20.0,
            stall_ms: (50.0, 150.0),
            warmup_boost: 1.0,
            burst_share: 0.05,
            burst_factor: 8.0,
        }
    }
}

impl Noise {
    /// A quieter machine: a dedicated runner, half the run-to-run offsets and drift.
    pub fn quiet() -> Self {
        Self {
            run_sd: 0.004,
            endpoint_sd: 0.002,
            drift_sd: 0.01,
            ..Self::default()
        }
    }
}

/// Medians of the endpoints' latency bodies, µs.
pub const MEDIANS_US: [f64; 3] = [20_000.0, 5_000.0, 80_000.0];

/// A cell of the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Requests per second over all endpoints.
    pub rate_per_sec: f64,
    /// Measured seconds (after the warm-up).
    pub duration_s: u32,
    /// Endpoints, sharing the rate equally.
    pub endpoints: usize,
}

impl Config {
    /// Requests per run and endpoint in the measured phase.
    pub fn requests_per_endpoint(&self) -> f64 {
        self.rate_per_sec / self.endpoints as f64 * f64::from(self.duration_s)
    }
}

/// What is injected into the current run (first endpoint only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Nothing: an A/A comparison.
    None,
    /// Every latency × factor.
    Uniform(f64),
    /// Three times as many requests in the tail.
    TailOnly,
    /// Tail requests (above about p98) 30% slower: moves p99 only.
    P99Only,
    /// The error rate (0.1% in every run) × factor.
    Errors(f64),
    /// A new error class, absent from the baseline, at 0.3%.
    ErrorsFromZero,
}

impl Change {
    /// Every change the benchmark injects, A/A first.
    pub const ALL: [Change; 9] = [
        Change::None,
        Change::Uniform(1.05),
        Change::Uniform(1.10),
        Change::Uniform(1.20),
        Change::TailOnly,
        Change::P99Only,
        Change::Errors(2.0),
        Change::Errors(5.0),
        Change::ErrorsFromZero,
    ];

    /// Label for tables.
    pub fn label(self) -> String {
        match self {
            Change::None => "A/A".into(),
            Change::Uniform(f) => format!("all ×{f:.2}"),
            Change::TailOnly => "tail ×3 share".into(),
            Change::P99Only => "p99-only ×1.3".into(),
            Change::Errors(f) => format!("errors ×{f:.0}"),
            Change::ErrorsFromZero => "errors 0 → 0.3%".into(),
        }
    }

    /// The true ratio of every latency quantile of the changed endpoint, when known.
    pub fn true_ratio(self) -> Option<f64> {
        match self {
            Change::None | Change::Errors(_) | Change::ErrorsFromZero => Some(1.0),
            Change::Uniform(f) => Some(f),
            Change::TailOnly | Change::P99Only => None,
        }
    }
}

/// Base error rate of every run and endpoint.
pub const ERROR_RATE: f64 = 0.001;
/// Error rate of the new class in [`Change::ErrorsFromZero`].
pub const NEW_ERROR_RATE: f64 = 0.003;

/// A standard normal variate (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// One simulated run, warm-up included, as the gate reads it.
pub fn simulate_run(
    rng: &mut fastrand::Rng,
    cfg: Config,
    change: Change,
    noise: &Noise,
) -> RunData {
    let total_s = WARMUP_S + cfg.duration_s;
    let shared = noise.run_sd * normal(rng)
        + if rng.f64() < noise.slow_share {
            (noise.slow_factor.0 + (noise.slow_factor.1 - noise.slow_factor.0) * rng.f64()).ln()
        } else {
            0.0
        };
    // Stall windows over the whole run, in seconds: periodic (±10% jitter), random phase.
    let mut stalls = Vec::new();
    let mut t = noise.stall_period_s * rng.f64();
    while t < f64::from(total_s) {
        let len = (noise.stall_ms.0 + (noise.stall_ms.1 - noise.stall_ms.0) * rng.f64()) / 1000.0;
        stalls.push((t, t + len));
        t += noise.stall_period_s * (0.9 + 0.2 * rng.f64());
    }
    let mut drift = vec![0.0; total_s as usize];
    let innovation = noise.drift_sd * (1.0 - noise.drift_rho * noise.drift_rho).sqrt();
    let mut a = noise.drift_sd * normal(rng);
    for d in &mut drift {
        *d = a;
        a = noise.drift_rho * a + innovation * normal(rng);
    }
    let per_endpoint = cfg.rate_per_sec / cfg.endpoints as f64;
    let mut histogram = Histogram::new();
    let mut endpoints = Vec::with_capacity(cfg.endpoints);
    for e in 0..cfg.endpoints {
        let changed = e == 0;
        let offset = shared + noise.endpoint_sd * normal(rng);
        let median = MEDIANS_US[e % MEDIANS_US.len()];
        let (tail_share, tail_factor, factor) = match (changed, change) {
            (true, Change::TailOnly) => (noise.tail_share * 3.0, 1.0, 1.0),
            (true, Change::P99Only) => (noise.tail_share, 1.3, 1.0),
            (true, Change::Uniform(f)) => (noise.tail_share, 1.0, f),
            _ => (noise.tail_share, 1.0, 1.0),
        };
        let error_rate = match (changed, change) {
            (true, Change::Errors(f)) => ERROR_RATE * f,
            _ => ERROR_RATE,
        };
        let new_class_rate = if changed && change == Change::ErrorsFromZero {
            NEW_ERROR_RATE
        } else {
            0.0
        };
        let normal_share =
            (1.0 - noise.burst_share * noise.burst_factor) / (1.0 - noise.burst_share);
        let mut intervals = Vec::with_capacity(total_s as usize);
        let mut carry = 0.0;
        let mut stall = 0;
        for s in 0..total_s {
            carry += per_endpoint;
            let n = carry.floor() as u64;
            carry -= n as f64;
            let burst = rng.f64() < noise.burst_share;
            let rate_now = error_rate
                * if burst {
                    noise.burst_factor
                } else {
                    normal_share
                };
            let new_now = new_class_rate
                * if burst {
                    noise.burst_factor
                } else {
                    normal_share
                };
            let warm = 1.0 + noise.warmup_boost * (-f64::from(s) / 2.0).exp();
            let level = (offset + drift[s as usize]).exp() * warm * factor;
            histogram.reset();
            let mut errors = BTreeMap::new();
            for j in 0..n {
                let at = f64::from(s) + j as f64 / n as f64;
                let mut latency = median * (noise.body_sigma * normal(rng)).exp();
                if rng.f64() < tail_share {
                    latency *= rng.f64().max(1e-12).powf(-1.0 / noise.tail_alpha) * tail_factor;
                }
                latency *= level;
                while stall < stalls.len() && stalls[stall].1 <= at {
                    stall += 1;
                }
                if let Some(&(from, to)) = stalls.get(stall)
                    && from <= at
                    && at < to
                {
                    latency += (to - at) * 1e6 * factor;
                }
                histogram.record_us(latency.round() as u64);
                if rng.f64() < rate_now {
                    *errors.entry(ErrorClass::Http5xx).or_insert(0) += 1;
                } else if rng.f64() < new_now {
                    *errors.entry(ErrorClass::Timeout).or_insert(0) += 1;
                }
            }
            intervals.push(IntervalData::new(s, n, errors, &histogram));
        }
        endpoints.push((format!("endpoint {e}"), intervals));
    }
    RunData::new(1000, WARMUP_S, endpoints)
}

/// Tallies of one cell (config × baseline size × change).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Comparisons.
    pub runs: u64,
    /// Overall verdict regression.
    pub blocked: u64,
    /// Overall verdict inconclusive.
    pub inconclusive: u64,
    /// Latency metrics gated (not report-only) over all endpoints.
    pub gated_metrics: u64,
    /// Of those, inconclusive.
    pub inconclusive_metrics: u64,
    /// Per quantile label: (gated, inconclusive), over all endpoints.
    pub inconclusive_by: BTreeMap<String, (u64, u64)>,
    /// Per quantile of the changed endpoint: (gated, flagged regression).
    pub detect: BTreeMap<String, (u64, u64)>,
    /// The changed endpoint's error metric flagged regression (of runs where it was tested).
    pub error_detect: (u64, u64),
    /// CI coverage of the true ratio: (intervals, covering).
    pub coverage: (u64, u64),
    /// Per quantile label: (intervals, covering).
    pub coverage_by: BTreeMap<String, (u64, u64)>,
    /// A/A comparisons only: every gated latency metric's log-change, one list per comparison
    /// (for the oracle floor of the inconclusive rate, see `main.rs`).
    pub aa_changes: Vec<Vec<AaMetric>>,
}

/// One gated latency metric's estimate in an A/A comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct AaMetric {
    /// Endpoint name.
    pub endpoint: String,
    /// Quantile label (`p50` …).
    pub label: String,
    /// The metric's tolerance (ratio − 1).
    pub tolerance: f64,
    /// `ln(current) − ln(baseline centre)`.
    pub log_change: f64,
}

impl Tally {
    /// Adds one comparison.
    pub fn add(
        &mut self,
        current: &RunSummary,
        baseline: &[RunSummary],
        gate: &GateConfig,
        change: Change,
    ) {
        let j = judge(current, baseline, gate);
        if std::env::var_os("GATE_SIM_DEBUG").is_some() {
            debug(&j, baseline.len(), change);
        }
        self.runs += 1;
        match j.verdict {
            Verdict::Regression => self.blocked += 1,
            Verdict::Inconclusive => self.inconclusive += 1,
            _ => {}
        }
        let mut aa_metrics = Vec::new();
        for m in &j.metrics {
            let changed = m.endpoint == "endpoint 0";
            match m.metric {
                Metric::Latency { quantile } => {
                    if m.status == MetricStatus::ReportOnly {
                        continue;
                    }
                    self.gated_metrics += 1;
                    let by = self.inconclusive_by.entry(m.label.clone()).or_default();
                    by.0 += 1;
                    if m.status == MetricStatus::Inconclusive {
                        self.inconclusive_metrics += 1;
                        by.1 += 1;
                    }
                    if changed {
                        let label = loadgate::profile::Quantile(quantile).label();
                        let entry = self.detect.entry(label).or_default();
                        entry.0 += 1;
                        if m.status == MetricStatus::Regression {
                            entry.1 += 1;
                        }
                    }
                    let truth = if changed {
                        change.true_ratio()
                    } else {
                        Some(1.0)
                    };
                    if let (Some(truth), Some(ci)) = (truth, m.ci90) {
                        let covered = u64::from(ci.low <= truth && truth <= ci.high);
                        self.coverage.0 += 1;
                        self.coverage.1 += covered;
                        let by = self.coverage_by.entry(m.label.clone()).or_default();
                        by.0 += 1;
                        by.1 += covered;
                    }
                    if let (Change::None, Some(Detail::Latency(d))) = (change, &m.detail) {
                        aa_metrics.push(AaMetric {
                            endpoint: m.endpoint.clone(),
                            label: m.label.clone(),
                            tolerance: m.tolerance,
                            log_change: d.log_change,
                        });
                    }
                }
                Metric::ErrorRate { class } => {
                    let target = match change {
                        Change::ErrorsFromZero => ErrorClass::Timeout,
                        _ => ErrorClass::Http5xx,
                    };
                    if changed && class == target {
                        self.error_detect.0 += 1;
                        if m.status == MetricStatus::Regression {
                            self.error_detect.1 += 1;
                        }
                    }
                }
                // The simulator runs fixed-rate loads: no capacity searches.
                Metric::Capacity => {}
            }
        }
        if change == Change::None {
            self.aa_changes.push(aa_metrics);
        }
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: &Tally) {
        self.runs += other.runs;
        self.blocked += other.blocked;
        self.inconclusive += other.inconclusive;
        self.gated_metrics += other.gated_metrics;
        self.inconclusive_metrics += other.inconclusive_metrics;
        for (k, v) in &other.inconclusive_by {
            let e = self.inconclusive_by.entry(k.clone()).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        for (k, v) in &other.detect {
            let e = self.detect.entry(k.clone()).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        self.error_detect.0 += other.error_detect.0;
        self.error_detect.1 += other.error_detect.1;
        self.coverage.0 += other.coverage.0;
        self.coverage.1 += other.coverage.1;
        for (k, v) in &other.coverage_by {
            let e = self.coverage_by.entry(k.clone()).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        self.aa_changes.extend(other.aa_changes.iter().cloned());
    }
}

/// One repetition of a config: `MAX_BASELINE` baseline runs and one current run per change,
/// compared for each baseline size. Returns `(baseline size, change, tally)` entries.
pub fn repetition(
    seed: u64,
    cfg: Config,
    sizes: &[usize],
    changes: &[Change],
    gate: &GateConfig,
    noise: &Noise,
) -> Vec<(usize, Change, Tally)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let max = sizes.iter().copied().max().unwrap_or(1);
    let baseline: Vec<RunSummary> = (0..max)
        .map(|_| simulate_run(&mut rng, cfg, Change::None, noise).summarize(gate))
        .collect();
    let mut out = Vec::new();
    for &change in changes {
        let current = simulate_run(&mut rng, cfg, change, noise).summarize(gate);
        for &n in sizes {
            let mut t = Tally::default();
            t.add(&current, &baseline[..n], gate, change);
            out.push((n, change, t));
        }
    }
    out
}

/// Prints the metrics of surprising outcomes (`GATE_SIM_DEBUG=1`): blocked A/A runs and
/// missed error changes.
fn debug(j: &loadgate::compare::Judgement, n: usize, change: Change) {
    let missed_errors = matches!(change, Change::Errors(f) if f > 4.0)
        && !j.metrics.iter().any(|m| {
            m.endpoint == "endpoint 0"
                && matches!(m.metric, Metric::ErrorRate { .. })
                && m.status == MetricStatus::Regression
        });
    if (change == Change::None && j.verdict == Verdict::Regression) || (missed_errors && n >= 5) {
        eprintln!("{change:?} N={n}: {:?}", j.verdict);
        for m in &j.metrics {
            eprintln!(
                "  {} {} {:?} R={:?} ci={:?} p={:?} padj={:?} {}",
                m.endpoint, m.label, m.status, m.ratio, m.ci90, m.p_value, m.p_adjusted, m.reason
            );
        }
    }
}
