//! The run section: facts of the run, its per-endpoint and scenario summary rows, and its
//! errors by endpoint and class with sample messages.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::format::{count, latency_opt, percent, rate};
use crate::metrics::ErrorClass;
use crate::results::{LoadModel, RunResult};

/// Facts of the run.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Profile name.
    pub profile: String,
    /// Profile hash.
    pub profile_hash: String,
    /// The target.
    pub target: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// `open` or `closed`.
    pub model: &'static str,
    /// Measured phase, formatted (`30s`).
    pub measured: String,
    /// Measured phase in seconds.
    pub measured_secs: f64,
    /// Warm-up, formatted (`5s`, empty when none).
    pub warmup: String,
    /// Requests of the measured phase, all endpoints.
    pub requests: u64,
    /// The same, formatted.
    pub requests_text: String,
    /// Completed requests per second, formatted.
    pub rate: String,
    /// Failed requests.
    pub errors: u64,
    /// Failed share, formatted.
    pub error_rate: String,
    /// Failed share, 0–1.
    pub error_ratio: f64,
    /// p95 of all responses, formatted.
    pub p95: String,
    /// p95 of all responses, µs.
    pub p95_us: Option<u64>,
    /// The commit measured.
    pub git_sha: Option<String>,
    /// Its first 7 characters.
    pub git_short: Option<String>,
    /// The branch or tag.
    pub git_ref: Option<String>,
    /// Machine class.
    pub runner_class: String,
    /// Stopped early.
    pub partial: bool,
    /// Why it stopped early.
    pub partial_reason: Option<String>,
    /// `2 of 4` for an incomplete merge, `4` shards for a complete one, none when not sharded.
    pub shards: Option<String>,
}

/// One row of the run summary.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Endpoint (or scenario) name; `all` for the total.
    pub name: String,
    /// Requests (or iterations) that finished.
    pub requests: String,
    /// Per second.
    pub rate: String,
    /// Failures (`12 (0.40%)`, or `0`).
    pub errors: String,
    /// Percentiles, formatted.
    pub p50: String,
    /// 90th.
    pub p90: String,
    /// 95th.
    pub p95: String,
    /// 99th.
    pub p99: String,
    /// Slowest.
    pub max: String,
    /// 95th, µs.
    pub p95_us: Option<u64>,
}

/// Errors of one endpoint and class.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    /// The endpoint.
    pub endpoint: String,
    /// The error class (`http_5xx`, `timeout` …).
    pub class: &'static str,
    /// How many (measured phase).
    pub count: String,
    /// Share of the endpoint's requests.
    pub share: String,
    /// A few distinct messages, with how often each was seen (secrets already masked).
    pub samples: Vec<ErrorSampleView>,
}

/// One distinct error message.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorSampleView {
    /// The message (from the target: templates must escape it; the built-in ones do).
    pub message: String,
    /// Times seen.
    pub count: String,
}

impl RunView {
    pub(super) fn of(r: &RunResult) -> RunView {
        let requests: u64 = r.endpoints.iter().map(|e| e.summary.requests).sum();
        let errors: u64 = r.endpoints.iter().map(|e| e.summary.errors).sum();
        let secs = r.measured_secs();
        let ratio = if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        };
        let p95_us = all_latency(r).p95_us;
        let shards = (r.shard.count > 1).then(|| {
            if r.shard.is_complete() {
                format!("{} shards", r.shard.count)
            } else {
                format!("{} of {} shards", r.shard.indices.len(), r.shard.count)
            }
        });
        RunView {
            profile: r.profile.name.clone(),
            profile_hash: r.profile.hash.clone(),
            target: r.target.clone(),
            started_at: r.started_at.clone(),
            model: match r.load.model {
                LoadModel::Open => "open",
                LoadModel::Closed => "closed",
            },
            measured: secs_text(secs),
            measured_secs: secs,
            warmup: if r.load.warmup_ms == 0 {
                String::new()
            } else {
                secs_text(r.warmup_secs())
            },
            requests,
            requests_text: count(requests),
            rate: rate(if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            }),
            errors,
            error_rate: percent(ratio),
            error_ratio: ratio,
            p95: latency_opt(p95_us),
            p95_us,
            git_sha: r.git.as_ref().map(|g| g.sha.clone()),
            git_short: r.git.as_ref().map(|g| short_sha(&g.sha)),
            git_ref: r.git.as_ref().and_then(|g| g.ref_name.clone()),
            runner_class: r.runner.class.clone(),
            partial: r.partial,
            partial_reason: r.partial_reason.clone(),
            shards,
        }
    }
}

pub(super) fn short_sha(sha: &str) -> String {
    sha.get(..7).unwrap_or(sha).to_string()
}

/// Seconds for people: `30s`, `12.5s`.
fn secs_text(s: f64) -> String {
    if (s - s.round()).abs() < 0.05 {
        format!("{:.0}s", s.round())
    } else {
        format!("{s:.1}s")
    }
}

impl EndpointRow {
    pub(super) fn of(name: &str, s: &crate::metrics::Summary) -> EndpointRow {
        let l = &s.latency;
        EndpointRow {
            name: name.to_string(),
            requests: count(s.requests),
            rate: rate(s.rate_per_sec),
            errors: if s.errors == 0 {
                "0".into()
            } else {
                format!("{} ({})", count(s.errors), percent(s.error_ratio))
            },
            p50: latency_opt(l.p50_us),
            p90: latency_opt(l.p90_us),
            p95: latency_opt(l.p95_us),
            p99: latency_opt(l.p99_us),
            max: latency_opt(l.max_us),
            p95_us: l.p95_us,
        }
    }
}

/// The latency of every response of the measured phase, all endpoints together.
fn all_latency(r: &RunResult) -> crate::metrics::LatencySummary {
    let mut all = crate::metrics::Histogram::new();
    for e in &r.endpoints {
        if let Ok(h) = r.measured_histogram(e) {
            all.add(&h);
        }
    }
    crate::metrics::LatencySummary::of(&all)
}

pub(super) fn endpoint_rows(r: &RunResult) -> Vec<EndpointRow> {
    let mut rows: Vec<EndpointRow> = r
        .endpoints
        .iter()
        .map(|e| EndpointRow::of(&e.name, &e.summary))
        .collect();
    if r.endpoints.len() > 1 {
        let mut all = crate::metrics::SummaryBuilder::default();
        for e in &r.endpoints {
            let histogram = r.measured_histogram(e).unwrap_or_default();
            all.add_counts(e.summary.requests, e.summary.errors, &histogram);
        }
        let total = all.finish(r.measured_secs());
        rows.push(EndpointRow::of("all", &total));
    }
    rows
}

pub(super) fn error_rows(r: &RunResult) -> Vec<ErrorRow> {
    let mut rows = Vec::new();
    for e in &r.endpoints {
        let mut by_class: BTreeMap<ErrorClass, u64> = BTreeMap::new();
        for i in e.intervals.iter().filter(|i| !r.is_warmup(i.index)) {
            for (&class, &n) in &i.errors {
                *by_class.entry(class).or_default() += n;
            }
        }
        for (class, n) in by_class.into_iter().filter(|&(_, n)| n > 0) {
            let share = if e.summary.requests == 0 {
                0.0
            } else {
                n as f64 / e.summary.requests as f64
            };
            rows.push(ErrorRow {
                endpoint: e.name.clone(),
                class: class.as_str(),
                count: count(n),
                share: percent(share),
                samples: e
                    .error_samples
                    .iter()
                    .filter(|s| s.class == class)
                    .map(|s| ErrorSampleView {
                        message: s.message.clone(),
                        count: count(s.count),
                    })
                    .collect(),
            });
        }
    }
    rows
}
