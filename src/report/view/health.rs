//! The generator's health (did it keep to its schedule) and the validity checks made before any
//! verdict.

use serde::Serialize;

use crate::format::{latency_us, percent};
use crate::results::RunResult;

/// The generator's health.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorView {
    /// One line for people.
    pub line: String,
    /// True when the generator kept to its schedule (the validity check).
    pub ok: bool,
    /// Arrivals planned (open model).
    pub planned: u64,
    /// Arrivals sent.
    pub sent: u64,
    /// Arrivals dropped at the in-flight cap.
    pub dropped: u64,
    /// Sent over planned, formatted.
    pub achieved: String,
    /// Schedule lag p99, formatted.
    pub lag_p99: String,
    /// Most requests in flight at once.
    pub peak_in_flight: u64,
}

/// A validity check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    /// `complete`, `shards`, `generator`, `requests`, `profile`, `runner_class`.
    pub check: String,
    /// True when it held.
    pub ok: bool,
    /// The numbers, in plain words.
    pub detail: String,
}

impl GeneratorView {
    pub(super) fn of(r: &RunResult, ok: bool) -> GeneratorView {
        let g = r.generator_totals();
        GeneratorView {
            line: crate::report::terminal::generator_line(r)
                .trim_start_matches("generator: ")
                .to_string(),
            ok,
            planned: g.planned,
            sent: g.sent,
            dropped: g.dropped,
            achieved: percent(g.achieved_ratio()),
            lag_p99: r
                .generator
                .schedule_lag
                .decode()
                .ok()
                .and_then(|h| h.quantile_us(0.99))
                .map_or_else(|| "—".into(), latency_us),
            peak_in_flight: r.generator.peak_in_flight,
        }
    }
}
