//! The gate's simulator (see `stats-gate.md`, "Proving it works"): seeded synthetic runs fed
//! through the real histogram ([`Histogram`]) and the real comparison ([`judge`]).
//!
//! Noise model per run, all on the latency of every request (µs):
//! log-normal body per endpoint; a Pareto tail on 2% of requests; a random offset per run
//! (shared by the endpoints, plus a smaller per-endpoint part); occasional slow runners; AR(1)
//! drift over the run's seconds; periodic stalls that delay the requests scheduled during them
//! (queueing); a warm-up transient that the gate must trim; bursty errors. Injected changes
//! hit the first endpoint of the current run only. Shared by `main.rs` (the benchmark) and the
//! smoke test (`tests/it/gate_sim.rs`).

#![allow(dead_code)] // each includer uses a different part

use std::collections::BTreeMap;

use loadgate::compare::{
    Detail, IntervalData, Judgement, Metric, MetricStatus, RunData, RunSummary, Verdict,
    confirm_judgements, judge,
};
use loadgate::metrics::{ErrorClass, Histogram};
use loadgate::profile::GateConfig;

/// Seconds of warm-up every run of the classic grid starts with (trimmed by the gate).
pub const WARMUP_S: u32 = 10;
/// Baseline runs simulated per repetition (the first N are used for baseline size N).
pub const MAX_BASELINE: usize = 10;

/// The noise model's constants (see the module docs). [`Noise::default`] is the shared-runner
/// model, [`Noise::quiet`] a dedicated runner, [`Noise::realistic`] a real web service
/// restarted before every run; each constructor says where its figures come from.
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    /// Medians of the endpoints' latency bodies, µs: endpoint `e` has `medians_us[e % len]`.
    pub medians_us: &'static [f64],
    /// SD of the log-normal body (log scale).
    pub body_sigma: f64,
    /// Share of requests drawn from a second, slower log-normal body instead (0 for none):
    /// a sharp peak with a shoulder, as a small API's work per request varies.
    pub slow_body_share: f64,
    /// Median of the slower body relative to the endpoint's median.
    pub slow_body_factor: f64,
    /// SD of the slower body (log scale).
    pub slow_body_sigma: f64,
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
    /// Probability that a run is shifted as a whole (a service-wide swing: every endpoint by
    /// the same factor); 0 for none.
    pub shift_share: f64,
    /// Size of a shift: a factor drawn log-uniformly from this range.
    pub shift_factor: (f64, f64),
    /// Of the shifted runs, the share shifted up (slower); the rest are faster by the
    /// inverse factor.
    pub shift_up_share: f64,
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
    /// A restarted service's cold start: extra latency factor at its first second, drawn per
    /// run uniformly from this range; `(0, 0)` for none.
    pub cold_boost: (f64, f64),
    /// Time constant of the cold start's decay, s.
    pub cold_tau_s: f64,
    /// Base error rate of every run and endpoint (HTTP 5xx).
    pub error_rate: f64,
    /// Share of seconds with an error burst.
    pub burst_share: f64,
    /// Error rate multiplier in a burst.
    pub burst_factor: f64,
}

impl Default for Noise {
    fn default() -> Self {
        Self {
            medians_us: &[20_000.0, 5_000.0, 80_000.0],
            body_sigma: 0.35,
            slow_body_share: 0.0,
            slow_body_factor: 1.0,
            slow_body_sigma: 0.0,
            tail_share: 0.02,
            tail_alpha: 2.5,
            run_sd: 0.008,
            endpoint_sd: 0.004,
            slow_share: 0.02,
            slow_factor: (1.02, 1.04),
            shift_share: 0.0,
            shift_factor: (1.0, 1.0),
            shift_up_share: 1.0,
            drift_rho: 0.8,
            drift_sd: 0.02,
            stall_period_s: 20.0,
            stall_ms: (50.0, 150.0),
            warmup_boost: 1.0,
            cold_boost: (0.0, 0.0),
            cold_tau_s: 1.0,
            error_rate: 0.001,
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

    /// A real web service restarted before every run, on a quiet host (issue 15: a Python
    /// JSON API under gunicorn with Redis behind it, both restarted before each run, as a CI
    /// job deploying a preview would). The shape of the service (medians, body, warm-up and
    /// cold start) comes from real runs of such a service (`bench/gate-real/`); the run-to-run
    /// spread (the shared factor and the per-endpoint drift) from the quiet-host
    /// figures, because the real runs were measured on a busy machine and their spread is
    /// that machine's ([`Noise::realistic_busy`]). How: `notes.md`, "The realistic model".
    pub fn realistic() -> Self {
        Self {
            // The real service's p50 per endpoint (median over its 70 unchanged runs): `get
            // doc` (weight 2, the changed endpoint) 1.56 ms, `search` 3.04, `create` 2.13,
            // `update` 1.85, `aggregate` 5.48 (the constants, set from its first 30 runs, are
            // within 7% of these).
            medians_us: &[1_450.0, 2_780.0, 1_970.0, 1_730.0, 5_000.0],
            // A sharp peak (most requests do the same work) with a slower shoulder on 15% of
            // requests: p95 / p50 ≈ 2.8, the real endpoints' 2.3–3.6 (mean 3.0).
            body_sigma: 0.2,
            slow_body_share: 0.15,
            slow_body_factor: 2.5,
            slow_body_sigma: 0.35,
            // As the shared runner: a few slow requests per hundred (no separate real figure;
            // the p95 / p50 above includes it).
            tail_share: 0.02,
            tail_alpha: 2.5,
            // "Most runs within a few %": apart from its shifted runs, the quiet series
            // had its runs within a few points of its median run (16–19% below the baseline,
            // the extremes one shifted run each way). With the within-run drift's run mean
            // (about 1.1%) the shared SD of an unshifted run is about 1.9%.
            run_sd: 0.015,
            // Per-endpoint run-to-run drift beyond sampling, on a quiet host: in the issue's
            // median run the five endpoints were within 16–19% of the baseline (a 3-point
            // range, sampling noise included), and its +20% slowdown of one endpoint was caught
            // 10 of 10 times, which needs a per-endpoint spread of about 2.5% or less. The busy
            // host's real runs showed 3.3% ([`Noise::realistic_busy`]).
            endpoint_sd: 0.01,
            // No separate slow runners: the shifts below cover them.
            slow_share: 0.0,
            slow_factor: (1.0, 1.0),
            // 4 of 35 restarted runs (11%) moved every endpoint's p50 by +17–42% together.
            shift_share: 0.10,
            shift_factor: (1.15, 1.40),
            // The issue saw more upward shifts (4 of 35 runs) than downward ones (a −23% run
            // against a baseline of slower runs): most are up.
            shift_up_share: 0.8,
            // Within-run drift and stalls as on the shared runner (no separate real figure).
            drift_rho: 0.8,
            drift_sd: 0.02,
            stall_period_s: 20.0,
            stall_ms: (50.0, 150.0),
            // The generator's own warm-up: the real second runs on a warm instance had their
            // first seconds' p50 within a few % (at most +7%) of the run's.
            warmup_boost: 0.1,
            // The restart itself: the real first runs after a restart were no slower in their
            // first seconds than the second runs on a warm instance (both within a few % of
            // the run's p50). So the cold start of this service ends inside the 5 s warm-up.
            cold_boost: (0.0, 0.05),
            cold_tau_s: 1.0,
            // "+2% errors from ~0": the real service's unchanged runs had no 5xx; one in
            // 10,000 keeps the error test exercised.
            error_rate: 0.0001,
            burst_share: 0.05,
            burst_factor: 8.0,
        }
    }

    /// [`Noise::realistic`] on the busy machine the real runs were measured on (2 cores shared
    /// with other work, load average 1.6–11.9): the run-to-run spread as the real unchanged runs
    /// showed it.
    pub fn realistic_busy() -> Self {
        Self {
            // The real runs' shared factor: core SD (1.4826·MAD) 16% (19% over the first 53
            // runs), quartiles −14% and +10%, 5% and 95% quantiles −26% and +22%: broad,
            // without a distinct tail of shifted runs. A normal part with an 18% SD and no
            // separate shifts comes close (notes.md).
            run_sd: 0.18,
            shift_share: 0.0,
            // The real runs' per-endpoint residual SD after removing the shared factor was
            // 3.5% (3.6% at load average below 3, 3.5% above); this SD, with the model's
            // sampling and within-run noise, reproduces it.
            endpoint_sd: 0.031,
            ..Self::realistic()
        }
    }
}

/// A cell of the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Requests per second over all endpoints.
    pub rate_per_sec: f64,
    /// Measured seconds (after the warm-up).
    pub duration_s: u32,
    /// Warm-up seconds before the measured phase (trimmed by the gate).
    pub warmup_s: u32,
    /// The endpoints' shares of the rate (one entry per endpoint; endpoint 0 is the changed one).
    pub weights: &'static [f64],
}

/// Equal weights for up to eight endpoints (`&EQUAL[..n]`).
pub const EQUAL: [f64; 8] = [1.0; 8];

impl Config {
    /// Endpoints.
    pub fn endpoints(&self) -> usize {
        self.weights.len()
    }

    /// Requests per second of endpoint `e`.
    pub fn rate_of(&self, e: usize) -> f64 {
        self.rate_per_sec * self.weights[e] / self.weights.iter().sum::<f64>()
    }

    /// Requests per run of the changed endpoint (endpoint 0) in the measured phase.
    pub fn requests_per_endpoint(&self) -> f64 {
        self.rate_of(0) * f64::from(self.duration_s)
    }

    /// Requests per run of the endpoint with the fewest, in the measured phase.
    pub fn fewest_requests(&self) -> f64 {
        (0..self.endpoints())
            .map(|e| self.rate_of(e) * f64::from(self.duration_s))
            .fold(f64::INFINITY, f64::min)
    }
}

/// What is injected into the current run (first endpoint only, except [`Change::Swing`]).
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
    /// The error rate (the model's base rate in every run) × factor.
    Errors(f64),
    /// A new error class, absent from the baseline, at 0.3%.
    ErrorsFromZero,
    /// The tail case: [`TAIL_ADD_SHARE`] of the requests get [`TAIL_ADD_US`] added.
    TailAdded,
    /// HTTP 5xx errors at this rate added to the base rate (the "+2% errors").
    ErrorsAdded(f64),
    /// Unchanged code, a service-wide swing: every endpoint of the current run × a factor drawn
    /// log-uniformly from [`SWING`] (instead of the run's own shift, if it had one).
    Swing,
}

/// Share of the changed endpoint's requests slowed in [`Change::TailAdded`] (issue 15).
pub const TAIL_ADD_SHARE: f64 = 0.10;
/// Latency added to them, µs (issue 15: 40 ms).
pub const TAIL_ADD_US: f64 = 40_000.0;
/// Range of [`Change::Swing`]'s factor (issue 15: every endpoint +17–42% together).
pub const SWING: (f64, f64) = (1.15, 1.40);

impl Change {
    /// Every change the classic grid injects, A/A first.
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

    /// Every change the realistic grid injects (issue 15), A/A first.
    pub const REALISTIC: [Change; 5] = [
        Change::None,
        Change::Uniform(1.20),
        Change::TailAdded,
        Change::ErrorsAdded(0.02),
        Change::Swing,
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
            Change::TailAdded => format!(
                "tail: {:.0}% of requests +{:.0} ms",
                TAIL_ADD_SHARE * 100.0,
                TAIL_ADD_US / 1000.0
            ),
            Change::ErrorsAdded(rate) => format!("errors +{:.0}%", rate * 100.0),
            Change::Swing => format!(
                "service-wide swing ×{:.2}–{:.2}, unchanged code",
                SWING.0, SWING.1
            ),
        }
    }

    /// Whether the change blocks rightly: `false` for A/A and for a swing with unchanged code.
    pub fn is_regression(self) -> bool {
        !matches!(self, Change::None | Change::Swing)
    }

    /// The true ratio of every latency quantile of the changed endpoint, when known.
    pub fn true_ratio(self) -> Option<f64> {
        match self {
            Change::None | Change::Errors(_) | Change::ErrorsFromZero | Change::ErrorsAdded(_) => {
                Some(1.0)
            }
            Change::Uniform(f) => Some(f),
            Change::TailOnly | Change::P99Only | Change::TailAdded | Change::Swing => None,
        }
    }

    /// The true ratio of the latency quantiles of the endpoints the change does not target.
    pub fn true_ratio_elsewhere(self) -> Option<f64> {
        match self {
            Change::Swing => None,
            _ => Some(1.0),
        }
    }
}

/// Error rate of the new class in [`Change::ErrorsFromZero`].
pub const NEW_ERROR_RATE: f64 = 0.003;

/// A standard normal variate (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A draw from `range`, uniform on the log scale; returns its log.
fn log_uniform(rng: &mut fastrand::Rng, range: (f64, f64)) -> f64 {
    let (lo, hi) = (range.0.ln(), range.1.ln());
    lo + (hi - lo) * rng.f64()
}

/// What a run shares over its whole length: the state of the service and machine it ran on.
/// A confirmation run on the same instance may keep its shared factor ([`Confirm::FactorKept`])
/// or draw a new one ([`Confirm::FactorRedrawn`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunLevel {
    /// Log-offset shared by every endpoint (runner speed, slow runners, service-wide shifts,
    /// and a [`Change::Swing`]).
    pub shared: f64,
    /// Per-endpoint log-offsets; drawn while the run is simulated when empty.
    pub endpoints: Vec<f64>,
    /// Whether the service was just started (a cold start, if the model has one).
    pub restarted: bool,
}

impl RunLevel {
    /// A fresh run's level: the shared offset (with the swing of [`Change::Swing`]), per-endpoint
    /// offsets still to draw, a restarted service.
    pub fn draw(rng: &mut fastrand::Rng, noise: &Noise, change: Change) -> Self {
        let mut shared = noise.run_sd * normal(rng)
            + if rng.f64() < noise.slow_share {
                (noise.slow_factor.0 + (noise.slow_factor.1 - noise.slow_factor.0) * rng.f64()).ln()
            } else {
                0.0
            };
        // Draws only where the model has shifts, so the other models' streams are unchanged.
        if noise.shift_share > 0.0 && rng.f64() < noise.shift_share {
            let size = log_uniform(rng, noise.shift_factor);
            let up = rng.f64() < noise.shift_up_share;
            // A swing replaces the run's own shift: two stacked would exceed the issue's
            // +17–42%.
            if change != Change::Swing {
                shared += if up { size } else { -size };
            }
        }
        if change == Change::Swing {
            shared += log_uniform(rng, SWING);
        }
        Self {
            shared,
            endpoints: Vec::new(),
            restarted: true,
        }
    }
}

/// One simulated run, warm-up included, as the gate reads it.
pub fn simulate_run(
    rng: &mut fastrand::Rng,
    cfg: Config,
    change: Change,
    noise: &Noise,
) -> RunData {
    let mut level = RunLevel::draw(rng, noise, change);
    simulate_run_at(rng, cfg, change, noise, &mut level)
}

/// One simulated run at a given run level; fills `level.endpoints` when it is empty.
pub fn simulate_run_at(
    rng: &mut fastrand::Rng,
    cfg: Config,
    change: Change,
    noise: &Noise,
    level: &mut RunLevel,
) -> RunData {
    let total_s = cfg.warmup_s + cfg.duration_s;
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
    // Draws only where the model has a cold start, so the other models' streams are unchanged.
    let cold = if level.restarted && noise.cold_boost.1 > 0.0 {
        noise.cold_boost.0 + (noise.cold_boost.1 - noise.cold_boost.0) * rng.f64()
    } else {
        0.0
    };
    let keep_offsets = level.endpoints.len() == cfg.endpoints();
    let mut histogram = Histogram::new();
    let mut endpoints = Vec::with_capacity(cfg.endpoints());
    for e in 0..cfg.endpoints() {
        let changed = e == 0;
        let per_endpoint = cfg.rate_of(e);
        let own = if keep_offsets {
            level.endpoints[e]
        } else {
            let own = noise.endpoint_sd * normal(rng);
            level.endpoints.push(own);
            own
        };
        let offset = level.shared + own;
        let median = noise.medians_us[e % noise.medians_us.len()];
        let (tail_share, tail_factor, factor) = match (changed, change) {
            (true, Change::TailOnly) => (noise.tail_share * 3.0, 1.0, 1.0),
            (true, Change::P99Only) => (noise.tail_share, 1.3, 1.0),
            (true, Change::Uniform(f)) => (noise.tail_share, 1.0, f),
            _ => (noise.tail_share, 1.0, 1.0),
        };
        let tail_added = changed && change == Change::TailAdded;
        let error_rate = match (changed, change) {
            (true, Change::Errors(f)) => noise.error_rate * f,
            _ => noise.error_rate,
        };
        let added_error_rate = match (changed, change) {
            (true, Change::ErrorsAdded(rate)) => rate,
            _ => 0.0,
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
                }
                + added_error_rate;
            let new_now = new_class_rate
                * if burst {
                    noise.burst_factor
                } else {
                    normal_share
                };
            let warm = 1.0 + noise.warmup_boost * (-f64::from(s) / 2.0).exp();
            let cold_now = 1.0 + cold * (-f64::from(s) / noise.cold_tau_s).exp();
            let level = (offset + drift[s as usize]).exp() * warm * cold_now * factor;
            histogram.reset();
            let mut errors = BTreeMap::new();
            for j in 0..n {
                let at = f64::from(s) + j as f64 / n as f64;
                // Draws only where the model has a second body, so the other models' streams
                // are unchanged.
                let mut latency = if noise.slow_body_share > 0.0
                    && rng.f64() < noise.slow_body_share
                {
                    median * noise.slow_body_factor * (noise.slow_body_sigma * normal(rng)).exp()
                } else {
                    median * (noise.body_sigma * normal(rng)).exp()
                };
                if rng.f64() < tail_share {
                    latency *= rng.f64().max(1e-12).powf(-1.0 / noise.tail_alpha) * tail_factor;
                }
                latency *= level;
                // A code change: the added time does not scale with the service's state.
                if tail_added && rng.f64() < TAIL_ADD_SHARE {
                    latency += TAIL_ADD_US;
                }
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
    RunData::new(1000, cfg.warmup_s, endpoints)
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
    /// Comparisons with a regression on the changed endpoint (endpoint 0), any metric.
    pub changed_flagged: u64,
    /// Realistic grid only: the decisions with a confirmation run whose shared factor is
    /// redrawn ([`Confirm::FactorRedrawn`]).
    pub redrawn: Decisions,
    /// Realistic grid only: the same with the shared factor kept ([`Confirm::FactorKept`]).
    pub kept: Decisions,
    /// Realistic grid only: `(current runs, of those blocked)` among the current runs whose
    /// shared factor is at least [`SHIFTED`] away from 1 (service-wide shifts and swings).
    pub shifted: (u64, u64),
    /// Realistic grid only: of those shifted runs, the ones judged inconclusive.
    pub shifted_inconclusive: u64,
}

/// A run whose shared factor is at least this far from 1 (either way) counts as shifted.
pub const SHIFTED: f64 = 1.10;

/// The outcomes of comparisons under a confirmation policy.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Decisions {
    /// Comparisons.
    pub runs: u64,
    /// First runs after which a confirmation run was measured ([`needs_confirmation`]).
    pub confirmations: u64,
    /// Final verdict regression (the merge is blocked).
    pub blocked: u64,
    /// Final verdict inconclusive.
    pub inconclusive: u64,
    /// Blocked, with the changed endpoint (endpoint 0) a regression in every run judged.
    pub caught: u64,
}

impl Decisions {
    fn merge(&mut self, other: &Decisions) {
        self.runs += other.runs;
        self.confirmations += other.confirmations;
        self.blocked += other.blocked;
        self.inconclusive += other.inconclusive;
        self.caught += other.caught;
    }
}

/// How a confirmation run relates to the run it confirms. Both are measured in the same job
/// on the same service instance (not restarted: no cold start), with independent within-run
/// noise; they differ in whether the run-level state ([`RunLevel`]) persists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// A temporal spell: the confirmation run draws a new shared factor and new per-endpoint
    /// offsets (a [`Change::Swing`] does not recur).
    FactorRedrawn,
    /// The deployment itself was slow: the confirmation run keeps the first run's shared
    /// factor (with its swing); its per-endpoint offsets are new (on the real service the
    /// per-endpoint residuals of two runs of one instance did not correlate: −0.03).
    FactorKept,
}

/// The final verdict of a first run and its confirmation run (`second`, measured only when
/// [`needs_confirmation`] says so): the gate's own rule ([`confirm_judgements`]): a block only
/// on what regressed in both runs.
pub fn confirm_policy(first: &Judgement, second: Option<&Judgement>) -> Verdict {
    match second {
        Some(second) => confirm_judgements(first, second),
        None => first.verdict,
    }
}

/// Whether the gate would measure a confirmation run after `first`: when it would block, or
/// is inconclusive with a metric another run can decide (the gate's own rule,
/// `loadgate::compare::judgement_needs_confirmation`).
pub fn needs_confirmation(first: &Judgement) -> bool {
    loadgate::compare::judgement_needs_confirmation(first)
}

/// `(endpoint, metric label)` of every regression of a judgement.
fn regressions(j: &Judgement) -> impl Iterator<Item = (&str, &str)> {
    j.metrics
        .iter()
        .filter(|m| m.status == MetricStatus::Regression)
        .map(|m| (m.endpoint.as_str(), m.label.as_str()))
}

/// Whether the changed endpoint (endpoint 0) has a regression, any metric.
fn flags_changed(j: &Judgement) -> bool {
    regressions(j).any(|(endpoint, _)| endpoint == CHANGED)
}

/// The endpoint the changes hit.
pub const CHANGED: &str = "endpoint 0";

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
    /// The gate's standard error of `log_change`.
    pub standard_error: f64,
    /// The between-run SD the baseline runs showed (log), if any.
    pub between_runs_sd: Option<f64>,
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
        self.add_judgement(&j, baseline.len(), change);
    }

    /// Adds one comparison's judgement against `runs` baseline runs.
    pub fn add_judgement(&mut self, j: &Judgement, runs: usize, change: Change) {
        if std::env::var_os("GATE_SIM_DEBUG").is_some() {
            debug(j, runs, change);
        }
        self.runs += 1;
        self.changed_flagged += u64::from(flags_changed(j));
        match j.verdict {
            Verdict::Regression => self.blocked += 1,
            Verdict::Inconclusive => self.inconclusive += 1,
            _ => {}
        }
        let mut aa_metrics = Vec::new();
        for m in &j.metrics {
            let changed = m.endpoint == CHANGED;
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
                        change.true_ratio_elsewhere()
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
                            standard_error: d.standard_error,
                            between_runs_sd: d.between_runs_sd,
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
        self.changed_flagged += other.changed_flagged;
        self.redrawn.merge(&other.redrawn);
        self.kept.merge(&other.kept);
        self.shifted.0 += other.shifted.0;
        self.shifted.1 += other.shifted.1;
        self.shifted_inconclusive += other.shifted_inconclusive;
    }

    /// Adds the decision under confirmation policy `how`: `first` is the judgement of the
    /// current run, `second` that of its confirmation run (measured only when [`needs_confirmation`] says so).
    pub fn add_confirmed(&mut self, how: Confirm, first: &Judgement, second: Option<&Judgement>) {
        let d = match how {
            Confirm::FactorRedrawn => &mut self.redrawn,
            Confirm::FactorKept => &mut self.kept,
        };
        let verdict = confirm_policy(first, second);
        d.runs += 1;
        d.confirmations += u64::from(second.is_some());
        match verdict {
            Verdict::Regression => {
                d.blocked += 1;
                d.caught += u64::from(flags_changed(first) && second.is_none_or(flags_changed));
            }
            Verdict::Inconclusive => d.inconclusive += 1,
            _ => {}
        }
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

/// One repetition of the realistic grid: like [`repetition`], and every current run that
/// needs it ([`needs_confirmation`]) is confirmed by a second run of the same change, once per
/// [`Confirm`] variant. Confirmation runs have their own seeds (from `seed`, the change and
/// the variant), so the first runs are the same whatever the gate decides.
pub fn repetition_confirmed(
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
    for (ci, &change) in changes.iter().enumerate() {
        let mut level = RunLevel::draw(&mut rng, noise, change);
        let current = simulate_run_at(&mut rng, cfg, change, noise, &mut level).summarize(gate);
        let mut seconds: [Option<RunSummary>; 2] = [None, None];
        for &n in sizes {
            let first = judge(&current, &baseline[..n], gate);
            let mut t = Tally::default();
            t.add_judgement(&first, n, change);
            if level.shared.abs() >= SHIFTED.ln() {
                t.shifted = (1, u64::from(first.verdict == Verdict::Regression));
                t.shifted_inconclusive = u64::from(first.verdict == Verdict::Inconclusive);
            }
            for (v, how) in [Confirm::FactorRedrawn, Confirm::FactorKept]
                .into_iter()
                .enumerate()
            {
                if !needs_confirmation(&first) {
                    t.add_confirmed(how, &first, None);
                    continue;
                }
                let second = seconds[v].get_or_insert_with(|| {
                    let mut rng = fastrand::Rng::with_seed(
                        seed ^ (0xC0F1_0000 + ((ci as u64) << 4) + v as u64)
                            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    let mut again = match how {
                        // A new spell: new factors, and a swing does not recur.
                        Confirm::FactorRedrawn => RunLevel::draw(&mut rng, noise, Change::None),
                        Confirm::FactorKept => RunLevel {
                            shared: level.shared,
                            ..RunLevel::draw(&mut rng, noise, Change::None)
                        },
                    };
                    // The same instance, measured again: no restart, no cold start.
                    again.restarted = false;
                    simulate_run_at(&mut rng, cfg, change, noise, &mut again).summarize(gate)
                });
                let confirmation = judge(second, &baseline[..n], gate);
                t.add_confirmed(how, &first, Some(&confirmation));
            }
            out.push((n, change, t));
        }
    }
    out
}

/// Prints the metrics of surprising outcomes (`GATE_SIM_DEBUG=1`): blocked A/A runs and
/// missed error changes.
fn debug(j: &Judgement, n: usize, change: Change) {
    let missed_errors = matches!(change, Change::Errors(f) if f > 4.0)
        || matches!(change, Change::ErrorsAdded(_))
            && !j.metrics.iter().any(|m| {
                m.endpoint == CHANGED
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
