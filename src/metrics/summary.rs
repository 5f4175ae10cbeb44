//! Summaries of a phase: request counts, error ratio, rate and latency percentiles.
//!
//! The one place where summary percentiles are computed; results files, the terminal table and
//! reports all take them from here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Histogram;

/// Counts and latency percentiles of a phase (measured or warm-up) of one endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Requests that finished.
    pub requests: u64,
    /// Requests that failed (any class).
    pub errors: u64,
    /// `errors / requests` (0 when there were none).
    pub error_ratio: f64,
    /// Finished requests per second of the phase.
    pub rate_per_sec: f64,
    /// Latency of requests that got a response.
    pub latency: LatencySummary,
}

/// Latency percentiles in µs; all `null` when no response arrived.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySummary {
    /// Responses measured.
    pub samples: u64,
    /// Fastest.
    pub min_us: Option<u64>,
    /// Arithmetic mean.
    pub mean_us: Option<f64>,
    /// Median.
    pub p50_us: Option<u64>,
    /// 90th percentile.
    pub p90_us: Option<u64>,
    /// 95th percentile.
    pub p95_us: Option<u64>,
    /// 99th percentile.
    pub p99_us: Option<u64>,
    /// 99.9th percentile.
    pub p999_us: Option<u64>,
    /// Slowest.
    pub max_us: Option<u64>,
}

impl LatencySummary {
    /// Percentiles of a histogram.
    pub fn of(h: &Histogram) -> Self {
        Self {
            samples: h.len(),
            min_us: h.min_us(),
            mean_us: h.mean_us().map(|m| (m * 10.0).round() / 10.0),
            p50_us: h.quantile_us(0.50),
            p90_us: h.quantile_us(0.90),
            p95_us: h.quantile_us(0.95),
            p99_us: h.quantile_us(0.99),
            p999_us: h.quantile_us(0.999),
            max_us: h.max_us(),
        }
    }
}

/// Totals of intervals, added one at a time (so that a long run's intervals need not all be
/// decoded at once), then summarized over the seconds they span.
#[derive(Debug, Default)]
pub struct SummaryBuilder {
    requests: u64,
    errors: u64,
    latency: Histogram,
}

impl SummaryBuilder {
    /// Adds requests, errors and their latencies (an interval, or a whole endpoint).
    pub fn add_counts(&mut self, requests: u64, errors: u64, histogram: &Histogram) {
        self.requests += requests;
        self.errors += errors;
        self.latency.add(histogram);
    }

    /// The summary of what was added, over `secs` seconds.
    pub fn finish(&self, secs: f64) -> Summary {
        let (requests, errors) = (self.requests, self.errors);
        Summary {
            requests,
            errors,
            error_ratio: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            rate_per_sec: if secs > 0.0 {
                ((requests as f64 / secs) * 100.0).round() / 100.0
            } else {
                0.0
            },
            latency: LatencySummary::of(&self.latency),
        }
    }
}
