//! One run as the statistics see it: the measured phase's intervals with decoded histograms
//! ([`RunData`]), and what the tests need from it, computed once per run ([`RunSummary`]):
//! per endpoint and gated quantile the log-quantile of the run and of its time blocks, and
//! per-block request and error counts.

use std::collections::BTreeMap;

use super::stats::{self, QuantileValue};
use super::tail::TailRun;
use super::verdict::{BandPoint, BaselineBand};
use crate::baseline::BaselineRun;
use crate::metrics::{ErrorClass, Histogram, HistogramError};
use crate::profile::GateConfig;
use crate::results::{Interval, RunResult};

/// The measured phase of one run, decoded.
#[derive(Debug, Clone)]
pub struct RunData {
    /// Width of an interval, in ms.
    pub interval_ms: u64,
    /// Per endpoint.
    pub endpoints: Vec<EndpointData>,
}

/// One endpoint's measured intervals.
#[derive(Debug, Clone)]
pub struct EndpointData {
    /// The request's name.
    pub name: String,
    /// Intervals, ascending; `index` 0 is the first interval after warm-up.
    pub intervals: Vec<IntervalData>,
}

/// One endpoint within one interval.
#[derive(Debug, Clone, Default)]
pub struct IntervalData {
    /// Measured interval number (0 = first after warm-up).
    pub index: u32,
    /// Requests that finished.
    pub requests: u64,
    /// Failures by class.
    pub errors: BTreeMap<ErrorClass, u64>,
    /// Latency of responses: the non-empty buckets of the interval's histogram as
    /// `(value µs, count)` ([`Histogram::buckets`]). Re-recording them rebuilds the histogram
    /// exactly, and a run of many intervals stays small in memory.
    pub latency: Vec<(u64, u64)>,
}

impl IntervalData {
    /// One interval from its counts and latency histogram.
    pub fn new(
        index: u32,
        requests: u64,
        errors: BTreeMap<ErrorClass, u64>,
        latency: &Histogram,
    ) -> Self {
        Self {
            index,
            requests,
            errors,
            latency: latency.buckets().collect(),
        }
    }

    /// Records this interval's latencies into `into`.
    pub fn add_latency_to(&self, into: &mut Histogram) {
        for &(value_us, count) in &self.latency {
            into.record_n_us(value_us, count);
        }
    }

    /// Latency samples.
    pub fn responses(&self) -> u64 {
        self.latency.iter().map(|b| b.1).sum()
    }
}

impl RunData {
    /// Builds from intervals that may include the warm-up: intervals before `warmup_intervals`
    /// are dropped and the rest renumbered from 0.
    pub fn new(
        interval_ms: u64,
        warmup_intervals: u32,
        endpoints: impl IntoIterator<Item = (String, Vec<IntervalData>)>,
    ) -> Self {
        Self {
            interval_ms,
            endpoints: endpoints
                .into_iter()
                .map(|(name, intervals)| EndpointData {
                    name,
                    intervals: intervals
                        .into_iter()
                        .filter(|i| i.index >= warmup_intervals)
                        .map(|mut i| {
                            i.index -= warmup_intervals;
                            i
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The measured phase of a results file.
    pub fn from_result(result: &RunResult) -> Result<Self, HistogramError> {
        Self::decode(
            result.interval_ms,
            result.warmup_intervals(),
            result
                .endpoints
                .iter()
                .map(|e| (e.name.as_str(), e.intervals.as_slice())),
        )
    }

    /// A baseline run.
    pub fn from_baseline_run(run: &BaselineRun) -> Result<Self, HistogramError> {
        Self::decode(
            run.interval_ms,
            run.warmup_intervals(),
            run.endpoints
                .iter()
                .map(|e| (e.name.as_str(), e.intervals.as_slice())),
        )
    }

    fn decode<'a>(
        interval_ms: u64,
        warmup_intervals: u32,
        endpoints: impl Iterator<Item = (&'a str, &'a [Interval])>,
    ) -> Result<Self, HistogramError> {
        let mut decoded = Vec::new();
        for (name, intervals) in endpoints {
            let mut list = Vec::with_capacity(intervals.len());
            for i in intervals.iter().filter(|i| i.index >= warmup_intervals) {
                list.push(IntervalData::new(
                    i.index,
                    i.requests,
                    i.errors.clone(),
                    &i.latency.decode()?,
                ));
            }
            decoded.push((name.to_string(), list));
        }
        Ok(Self::new(interval_ms, warmup_intervals, decoded))
    }

    /// Measured intervals the run spans (last interval with data + 1, over all endpoints).
    pub fn span(&self) -> u32 {
        self.endpoints
            .iter()
            .filter_map(|e| e.intervals.last())
            .map(|i| i.index + 1)
            .max()
            .unwrap_or(0)
    }

    /// What the tests need from this run, computed once.
    pub fn summarize(&self, gate: &GateConfig) -> RunSummary {
        let span = self.span();
        let block_ms = u64::try_from(gate.block.as_millis()).unwrap_or(u64::MAX);
        RunSummary {
            interval_ms: self.interval_ms,
            endpoints: self
                .endpoints
                .iter()
                .map(|e| {
                    let ps: Vec<f64> = gate.metrics.iter().map(|(q, _)| q.0).collect();
                    let quantiles =
                        stats::quantile_values(&e.intervals, span, self.interval_ms, block_ms, &ps);
                    let mut latency = Histogram::new();
                    for i in &e.intervals {
                        i.add_latency_to(&mut latency);
                    }
                    EndpointSummary {
                        name: e.name.clone(),
                        requests: e.intervals.iter().map(|i| i.requests).sum(),
                        quantiles,
                        latency,
                        blocks: time_blocks(&e.intervals, span, self.interval_ms, block_ms),
                    }
                })
                .collect(),
        }
    }
}

/// What the tests need from one run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Width of an interval, in ms.
    pub interval_ms: u64,
    /// Per endpoint, in the run's order.
    pub endpoints: Vec<EndpointSummary>,
}

impl RunSummary {
    /// The endpoint of that name.
    pub fn endpoint(&self, name: &str) -> Option<&EndpointSummary> {
        self.endpoints.iter().find(|e| e.name == name)
    }
}

/// One endpoint of a run summary.
#[derive(Debug, Clone)]
pub struct EndpointSummary {
    /// The request's name.
    pub name: String,
    /// Requests that finished in the measured phase.
    pub requests: u64,
    /// Per gated quantile, in the order of `gate.metrics`.
    pub quantiles: Vec<QuantileValue>,
    /// Latency of the measured phase's responses (for the tail-share test).
    pub latency: Histogram,
    /// Requests and errors per time block (for over-dispersion).
    pub blocks: Vec<BlockCounts>,
}

impl EndpointSummary {
    /// The measured phase's responses as the tail-share test sees them.
    pub fn tail_run(&self) -> TailRun<'_> {
        TailRun {
            all: &self.latency,
            blocks: self.blocks.iter().map(|b| b.latency.as_slice()).collect(),
        }
    }

    /// Errors of one class over the measured phase.
    pub fn errors(&self, class: ErrorClass) -> u64 {
        self.blocks
            .iter()
            .map(|b| b.errors.get(&class).copied().unwrap_or(0))
            .sum()
    }

    /// Error classes seen.
    pub fn error_classes(&self) -> impl Iterator<Item = ErrorClass> + '_ {
        self.blocks.iter().flat_map(|b| b.errors.keys().copied())
    }
}

/// Requests and errors of one time block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockCounts {
    /// Requests that finished.
    pub requests: u64,
    /// Failures by class.
    pub errors: BTreeMap<ErrorClass, u64>,
    /// Latency of the block's responses: the non-empty buckets as `(value µs, count)`,
    /// ascending (for the over-dispersion of responses beyond the tail).
    pub latency: Vec<(u64, u64)>,
}

/// Per-block counts and latencies with blocks of the configured length, shortened so there are at least
/// [`stats::MIN_BLOCKS`] when the run is long enough for that.
fn time_blocks(
    intervals: &[IntervalData],
    span: u32,
    interval_ms: u64,
    block_ms: u64,
) -> Vec<BlockCounts> {
    let len = stats::block_intervals(span, interval_ms, block_ms);
    let blocks = (span / len).max(1);
    let mut out = vec![BlockCounts::default(); blocks as usize];
    let mut latency = vec![BTreeMap::<u64, u64>::new(); blocks as usize];
    for i in intervals {
        let b = (i.index / len).min(blocks - 1) as usize;
        out[b].requests += i.requests;
        for (class, n) in &i.errors {
            *out[b].errors.entry(*class).or_default() += n;
        }
        for &(value_us, n) in &i.latency {
            *latency[b].entry(value_us).or_default() += n;
        }
    }
    for (block, buckets) in out.iter_mut().zip(latency) {
        block.latency = buckets.into_iter().collect();
    }
    out
}

/// Per endpoint and gated quantile, the spread of the baseline runs' values per interval.
pub fn bands(baseline: &[RunData], gate: &GateConfig) -> Vec<BaselineBand> {
    let Some(first) = baseline.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for endpoint in &first.endpoints {
        let runs: Vec<&EndpointData> = baseline
            .iter()
            .filter_map(|r| r.endpoints.iter().find(|e| e.name == endpoint.name))
            .collect();
        let span = runs
            .iter()
            .filter_map(|e| e.intervals.last())
            .map(|i| i.index + 1)
            .max()
            .unwrap_or(0);
        let mut bands: Vec<BaselineBand> = gate
            .metrics
            .iter()
            .map(|(q, _)| BaselineBand {
                endpoint: endpoint.name.clone(),
                quantile: q.0,
                points: Vec::new(),
            })
            .collect();
        let mut histogram = Histogram::new();
        for index in 0..span {
            // Per quantile, the runs' values at this interval.
            let mut values: Vec<Vec<u64>> = vec![Vec::new(); bands.len()];
            for interval in runs
                .iter()
                .filter_map(|e| e.intervals.iter().find(|i| i.index == index))
            {
                histogram.reset();
                interval.add_latency_to(&mut histogram);
                for (band, list) in bands.iter().zip(&mut values) {
                    list.extend(histogram.quantile_us(band.quantile));
                }
            }
            for (band, mut list) in bands.iter_mut().zip(values) {
                if list.is_empty() {
                    continue;
                }
                list.sort_unstable();
                band.points.push(BandPoint {
                    interval: index,
                    low_us: list[0],
                    median_us: list[list.len() / 2],
                    high_us: list[list.len() - 1],
                });
            }
        }
        out.extend(bands);
    }
    out
}
