//! Per-thread recording of request outcomes into time intervals.
//!
//! A request belongs to the interval of its iteration's *intended* start (an open-model
//! arrival, or a closed-model user's turn), so a request delayed by a stall still counts where
//! it was scheduled, and every step of a scenario counts in the same interval as its first: a
//! whole iteration is in the warm-up or in the measured phase, never split across the two. An
//! interval closes when its time has passed and no iteration that began in it is still running;
//! intervals close in order. Closed intervals are
//! handed out for merging and their allocations are reused, so memory does not grow with run
//! length. No locks: each engine thread owns one `IntervalSet`.

use std::collections::VecDeque;
use std::time::Duration;

use super::{ErrorClass, Histogram};

/// What one finished request contributes to the recording.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Index of the endpoint in the profile's request list.
    pub endpoint: usize,
    /// Interval of the intended send time.
    pub interval: u32,
    /// Time from the intended send time to the end of the response (or the failure).
    pub latency: Duration,
    /// HTTP status, when a response head arrived.
    pub status: Option<u16>,
    /// Why the request failed, if it did.
    pub error: Option<ErrorClass>,
}

/// One endpoint's counts within one interval.
#[derive(Debug, Clone, Default)]
pub struct EndpointInterval {
    /// Requests that finished (any outcome).
    pub requests: u64,
    /// Failures by class, indexed by [`ErrorClass::index`].
    pub errors: [u64; ErrorClass::ALL.len()],
    /// Status codes seen, with counts (few distinct codes: a small vector beats a map).
    pub status: Vec<(u16, u64)>,
    /// Latency of every request that received a response, in µs.
    pub latency: Histogram,
}

impl EndpointInterval {
    /// Records one outcome.
    #[inline]
    pub fn record(&mut self, outcome: &Outcome) {
        self.requests += 1;
        if let Some(class) = outcome.error {
            self.errors[class.index()] += 1;
        }
        if let Some(code) = outcome.status {
            match self.status.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => self.status.push((code, 1)),
            }
            self.latency.record(outcome.latency);
        }
    }

    /// Adds another interval's counts into this one (exact).
    pub fn add(&mut self, other: &EndpointInterval) {
        self.requests += other.requests;
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
        for &(code, n) in &other.status {
            match self.status.iter_mut().find(|(c, _)| *c == code) {
                Some((_, m)) => *m += n,
                None => self.status.push((code, n)),
            }
        }
        self.latency.add(&other.latency);
    }

    /// Total failures in this interval.
    pub fn error_total(&self) -> u64 {
        self.errors.iter().sum()
    }

    fn reset(&mut self) {
        self.requests = 0;
        self.errors = [0; ErrorClass::ALL.len()];
        self.status.clear();
        self.latency.reset();
    }
}

/// Generator-side counts for one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GeneratorInterval {
    /// Arrivals the schedule intended in this interval (open model).
    pub planned: u64,
    /// Arrivals actually sent.
    pub sent: u64,
    /// Arrivals dropped because the in-flight cap was reached.
    pub dropped: u64,
    /// Largest delay between an intended and the actual send time, in µs.
    pub max_lag_us: u64,
    /// Users running at the end of the interval (closed model).
    pub users: u64,
    /// Users the schedule asked for at the end of the interval (closed model).
    pub target_users: u64,
}

impl GeneratorInterval {
    /// Adds another shard's or thread's counts (users and arrivals add; lag takes the max).
    pub fn add(&mut self, other: &GeneratorInterval) {
        self.planned += other.planned;
        self.sent += other.sent;
        self.dropped += other.dropped;
        self.max_lag_us = self.max_lag_us.max(other.max_lag_us);
        self.users += other.users;
        self.target_users += other.target_users;
    }
}

/// A finished interval handed to the collector.
#[derive(Debug)]
pub struct ClosedInterval {
    /// Interval index since the start of the run.
    pub index: u32,
    /// One entry per endpoint, in profile order.
    pub endpoints: Vec<EndpointInterval>,
    /// Generator counts.
    pub generator: GeneratorInterval,
}

#[derive(Debug)]
struct OpenInterval {
    in_flight: u64,
    endpoints: Vec<EndpointInterval>,
    generator: GeneratorInterval,
}

/// The open intervals of one engine thread (see the module docs).
#[derive(Debug)]
pub struct IntervalSet {
    endpoint_count: usize,
    /// Index of `open[0]`.
    base: u32,
    open: VecDeque<OpenInterval>,
    spare: Vec<Vec<EndpointInterval>>,
}

impl IntervalSet {
    /// An empty set for `endpoint_count` endpoints, starting at interval 0.
    pub fn new(endpoint_count: usize) -> Self {
        Self {
            endpoint_count,
            base: 0,
            open: VecDeque::new(),
            spare: Vec::new(),
        }
    }

    fn slot(&mut self, interval: u32) -> Option<&mut OpenInterval> {
        // An interval already closed cannot reopen: its requests all finished. Late arrivals
        // for it (never expected) are folded into the oldest open interval by the caller.
        let offset = interval.checked_sub(self.base)? as usize;
        while self.open.len() <= offset {
            let endpoints = self.spare.pop().unwrap_or_else(|| {
                (0..self.endpoint_count)
                    .map(|_| EndpointInterval::default())
                    .collect()
            });
            self.open.push_back(OpenInterval {
                in_flight: 0,
                endpoints,
                generator: GeneratorInterval::default(),
            });
        }
        self.open.get_mut(offset)
    }

    fn slot_or_oldest(&mut self, interval: u32) -> &mut OpenInterval {
        let interval = interval.max(self.base);
        self.slot(interval)
            .expect("interval >= base always has a slot")
    }

    /// An iteration of `interval` started: it keeps the interval open until [`IntervalSet::end`].
    #[inline]
    pub fn begin(&mut self, interval: u32) {
        self.slot_or_oldest(interval).in_flight += 1;
    }

    /// Records one request of an iteration begun with [`IntervalSet::begin`] in
    /// `outcome.interval` (the iteration's).
    #[inline]
    pub fn record(&mut self, outcome: &Outcome) {
        let slot = self.slot_or_oldest(outcome.interval);
        if let Some(e) = slot.endpoints.get_mut(outcome.endpoint) {
            e.record(outcome);
        }
    }

    /// An iteration begun with [`IntervalSet::begin`] ended.
    #[inline]
    pub fn end(&mut self, interval: u32) {
        let slot = self.slot_or_oldest(interval);
        slot.in_flight = slot.in_flight.saturating_sub(1);
    }

    /// Records one request and ends its iteration (a one-request iteration).
    pub fn finish(&mut self, outcome: &Outcome) {
        self.record(outcome);
        self.end(outcome.interval);
    }

    /// Records a scenario's total duration (series `series`) in the interval its iteration
    /// began in, before [`IntervalSet::end`] of that iteration.
    pub fn record_total(
        &mut self,
        series: usize,
        interval: u32,
        latency: Duration,
        error: Option<ErrorClass>,
    ) {
        let slot = self.slot_or_oldest(interval);
        if let Some(e) = slot.endpoints.get_mut(series) {
            e.requests += 1;
            if let Some(class) = error {
                e.errors[class.index()] += 1;
            }
            e.latency.record(latency);
        }
    }

    /// Generator counts of `interval`, for the dispatcher to update.
    #[inline]
    pub fn generator(&mut self, interval: u32) -> &mut GeneratorInterval {
        &mut self.slot_or_oldest(interval).generator
    }

    /// Closes, in order, every interval before `current` with nothing in flight, passing each
    /// to `sink`. Returns the index of the first interval still open (the watermark).
    pub fn close_until(&mut self, current: u32, sink: &mut impl FnMut(ClosedInterval)) -> u32 {
        while self.base < current {
            let ready = self.open.front().is_none_or(|o| o.in_flight == 0);
            if !ready {
                break;
            }
            let index = self.base;
            self.base += 1;
            if let Some(o) = self.open.pop_front() {
                sink(ClosedInterval {
                    index,
                    endpoints: o.endpoints,
                    generator: o.generator,
                });
            }
        }
        self.base
    }

    /// Closes everything regardless of requests in flight (end of run, interruption).
    pub fn close_all(&mut self, sink: &mut impl FnMut(ClosedInterval)) {
        while let Some(o) = self.open.pop_front() {
            sink(ClosedInterval {
                index: self.base,
                endpoints: o.endpoints,
                generator: o.generator,
            });
            self.base += 1;
        }
    }

    /// Returns a closed interval's allocations for reuse.
    pub fn recycle(&mut self, mut endpoints: Vec<EndpointInterval>) {
        if endpoints.len() == self.endpoint_count && self.spare.len() < 4 {
            endpoints.iter_mut().for_each(EndpointInterval::reset);
            self.spare.push(endpoints);
        }
    }
}

/// One finished interval across all endpoints, for the live progress line.
#[derive(Debug)]
pub struct IntervalProgress {
    /// Interval number.
    pub index: u32,
    /// Requests finished (all endpoints).
    pub requests: u64,
    /// Failures.
    pub errors: u64,
    /// Latency of all endpoints together.
    pub latency: Histogram,
    /// Generator counts.
    pub generator: GeneratorInterval,
    /// Per series: the endpoints in profile order, then the scenarios' totals. The interval's
    /// counts and latency histograms exactly as they go into the results file, for live
    /// exporters.
    pub endpoints: Vec<EndpointInterval>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(endpoint: usize, interval: u32, ms: u64) -> Outcome {
        Outcome {
            endpoint,
            interval,
            latency: Duration::from_millis(ms),
            status: Some(200),
            error: None,
        }
    }

    #[test]
    fn interval_stays_open_while_a_request_is_in_flight() {
        let mut set = IntervalSet::new(2);
        set.begin(0);
        set.begin(0);
        set.finish(&ok(0, 0, 5));
        let mut closed = Vec::new();
        assert_eq!(set.close_until(3, &mut |c| closed.push(c)), 0);
        assert!(closed.is_empty());
        set.begin(2);
        set.finish(&ok(1, 0, 1500));
        assert_eq!(set.close_until(3, &mut |c| closed.push(c)), 2);
        assert_eq!(closed.len(), 2);
        assert_eq!(closed[0].endpoints[0].requests, 1);
        assert_eq!(closed[0].endpoints[1].requests, 1);
        assert_eq!(closed[1].index, 1);
        assert_eq!(closed[1].endpoints[0].requests, 0);
    }

    #[test]
    fn errors_and_statuses_are_counted() {
        let mut set = IntervalSet::new(1);
        for (status, error) in [
            (Some(200), None),
            (Some(503), Some(ErrorClass::Http5xx)),
            (Some(503), Some(ErrorClass::Http5xx)),
            (None, Some(ErrorClass::Timeout)),
        ] {
            set.begin(0);
            set.finish(&Outcome {
                status,
                error,
                ..ok(0, 0, 10)
            });
        }
        let mut closed = Vec::new();
        set.close_until(1, &mut |c| closed.push(c));
        let e = &closed[0].endpoints[0];
        assert_eq!(e.requests, 4);
        assert_eq!(e.error_total(), 3);
        assert_eq!(e.errors[ErrorClass::Timeout.index()], 1);
        assert_eq!(e.status, vec![(200, 1), (503, 2)]);
        assert_eq!(e.latency.len(), 3, "only responses carry a latency");
    }

    #[test]
    fn an_iteration_keeps_its_interval_open_for_every_step() {
        let mut set = IntervalSet::new(3);
        set.begin(0);
        set.record(&ok(0, 0, 5));
        let mut closed = Vec::new();
        // Interval 0's time is over, but the iteration's later steps are still to come.
        assert_eq!(set.close_until(2, &mut |c| closed.push(c)), 0);
        set.record(&ok(1, 0, 5));
        set.record_total(2, 0, Duration::from_millis(12), None);
        set.end(0);
        assert_eq!(set.close_until(2, &mut |c| closed.push(c)), 2);
        let first = &closed[0].endpoints;
        assert_eq!(
            [first[0].requests, first[1].requests, first[2].requests],
            [1, 1, 1],
            "both steps and the total count where the iteration began"
        );
    }

    #[test]
    fn close_all_flushes_in_flight_intervals() {
        let mut set = IntervalSet::new(1);
        set.begin(0);
        set.begin(1);
        let mut closed = Vec::new();
        set.close_all(&mut |c| closed.push(c));
        assert_eq!(closed.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1]);
    }
}
