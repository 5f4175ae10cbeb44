//! What a run measured, derived from its intervals: warm-up and measured phases, generator
//! totals, merged histograms, windows of intervals and refreshed summaries.

use super::read::decode;
use super::{EndpointResult, ResultsError, RunResult};
use crate::metrics::{Histogram, SummaryBuilder};

/// Generator health over the measured phase, derived from [`Generator::intervals`].
///
/// [`Generator::intervals`]: super::Generator::intervals
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GeneratorTotals {
    /// Arrivals planned.
    pub planned: u64,
    /// Arrivals sent.
    pub sent: u64,
    /// Arrivals dropped at the in-flight cap.
    pub dropped: u64,
    /// Largest schedule lag, µs.
    pub max_lag_us: u64,
}

impl GeneratorTotals {
    /// Sent over planned (1.0 when nothing was planned, as in the closed model).
    pub fn achieved_ratio(&self) -> f64 {
        if self.planned == 0 {
            1.0
        } else {
            self.sent as f64 / self.planned as f64
        }
    }
}

impl RunResult {
    /// Number of warm-up intervals at the start.
    pub fn warmup_intervals(&self) -> u32 {
        if self.interval_ms == 0 {
            return 0;
        }
        self.load.warmup_ms.div_ceil(self.interval_ms) as u32
    }

    /// True when interval `index` belongs to the warm-up.
    pub fn is_warmup(&self, index: u32) -> bool {
        index < self.warmup_intervals()
    }

    /// Seconds of the measured phase that the run covered (for rates).
    pub fn measured_secs(&self) -> f64 {
        self.duration_ms.saturating_sub(self.load.warmup_ms) as f64 / 1000.0
    }

    /// Seconds of warm-up that the run covered.
    pub fn warmup_secs(&self) -> f64 {
        self.duration_ms.min(self.load.warmup_ms) as f64 / 1000.0
    }

    /// Generator health over the measured phase.
    pub fn generator_totals(&self) -> GeneratorTotals {
        let mut t = GeneratorTotals::default();
        for g in self
            .generator
            .intervals
            .iter()
            .filter(|g| !self.is_warmup(g.index))
        {
            t.planned += g.planned;
            t.sent += g.sent;
            t.dropped += g.dropped;
            t.max_lag_us = t.max_lag_us.max(g.max_lag_us);
        }
        t
    }

    /// The merged latency histogram of one endpoint's measured phase.
    pub fn measured_histogram(&self, endpoint: &EndpointResult) -> Result<Histogram, ResultsError> {
        let mut total = Histogram::new();
        for (i, interval) in endpoint.intervals.iter().enumerate() {
            if !self.is_warmup(interval.index) {
                total.add(&decode(interval, &endpoint.name, i)?);
            }
        }
        Ok(total)
    }

    /// The run with only the intervals in `range` (all measured ones, past the warm-up), as if
    /// its measured phase had been just them: a capacity search's step, a level of a stepped
    /// run, checked against the profile's thresholds as a whole run is.
    #[must_use]
    pub fn window(&self, range: std::ops::Range<u32>) -> RunResult {
        let mut view = self.clone();
        for e in &mut view.endpoints {
            e.intervals.retain(|i| range.contains(&i.index));
        }
        for s in &mut view.scenarios {
            s.intervals.retain(|i| range.contains(&i.index));
        }
        view.generator
            .intervals
            .retain(|g| range.contains(&g.index));
        let intervals = u64::from(range.end.saturating_sub(range.start));
        view.duration_ms = view.load.warmup_ms + intervals * view.interval_ms;
        view
    }

    /// Recomputes every endpoint's `summary` and `warmup` from its intervals.
    pub fn refresh_summaries(&mut self) -> Result<(), ResultsError> {
        let warmup = self.warmup_intervals();
        let (measured_secs, warmup_secs) = (self.measured_secs(), self.warmup_secs());
        let series = self
            .endpoints
            .iter_mut()
            .map(|e| (&e.name, &e.intervals, &mut e.summary, &mut e.warmup))
            .chain(
                self.scenarios
                    .iter_mut()
                    .map(|s| (&s.name, &s.intervals, &mut s.summary, &mut s.warmup)),
            );
        for (name, intervals, summary, warmup_summary) in series {
            // One interval decoded at a time: memory does not grow with the run's length.
            let (mut w, mut m) = (SummaryBuilder::default(), SummaryBuilder::default());
            for (i, interval) in intervals.iter().enumerate() {
                let histogram = decode(interval, name, i)?;
                if interval.index < warmup {
                    w.add_counts(interval.requests, interval.error_total(), &histogram);
                } else {
                    m.add_counts(interval.requests, interval.error_total(), &histogram);
                }
            }
            *warmup_summary = w.finish(warmup_secs);
            *summary = m.finish(measured_secs);
        }
        Ok(())
    }
}
