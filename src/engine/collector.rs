//! Merges the engine threads' closed intervals into the results, interval by interval.
//!
//! An interval is final once every thread's watermark has passed it; it is then encoded
//! (histograms compressed) and its uncompressed form dropped, so memory stays flat while the
//! run goes on.

use std::collections::BTreeMap;

use super::worker::Report;
use crate::metrics::{
    EncodedHistogram, EndpointInterval, ErrorClass, ErrorSamples, GeneratorInterval, Histogram,
};
use crate::results::{GeneratorRecord, Interval};

pub use crate::metrics::IntervalProgress;

/// Collector state (see the module docs).
#[derive(Debug)]
pub struct Collector {
    watermarks: Vec<u32>,
    /// Series below this index are endpoints (the rest are scenario totals).
    endpoint_count: usize,
    pending: BTreeMap<u32, (Vec<EndpointInterval>, GeneratorInterval)>,
    /// Encoded intervals per endpoint.
    pub intervals: Vec<Vec<Interval>>,
    /// Generator records.
    pub generator: Vec<GeneratorRecord>,
    /// Schedule lag, merged.
    pub lag: Histogram,
    /// Error messages, merged.
    pub samples: ErrorSamples,
    /// Sum of the threads' peaks.
    pub peak_in_flight: u64,
    done: usize,
}

impl Collector {
    /// A collector for `threads` engine threads and `series` recorded series, the first
    /// `endpoint_count` of them endpoints.
    pub fn new(threads: usize, series: usize, endpoint_count: usize) -> Self {
        let endpoints = series;
        Self {
            watermarks: vec![0; threads],
            endpoint_count,
            pending: BTreeMap::new(),
            intervals: vec![Vec::new(); endpoints],
            generator: Vec::new(),
            lag: Histogram::new(),
            samples: ErrorSamples::default(),
            peak_in_flight: 0,
            done: 0,
        }
    }

    /// True when every thread has finished.
    pub fn all_done(&self) -> bool {
        self.done == self.watermarks.len()
    }

    /// Takes one report; calls `progress` for every interval that becomes final.
    pub fn take(&mut self, report: Report, progress: &mut impl FnMut(&IntervalProgress)) {
        match report {
            Report::Closed(c) => {
                let entry = self.pending.entry(c.index).or_insert_with(|| {
                    (
                        vec![EndpointInterval::default(); c.endpoints.len()],
                        GeneratorInterval::default(),
                    )
                });
                for (mine, theirs) in entry.0.iter_mut().zip(&c.endpoints) {
                    mine.add(theirs);
                }
                entry.1.add(&c.generator);
            }
            Report::Watermark { thread, next_open } => {
                if let Some(w) = self.watermarks.get_mut(thread) {
                    *w = (*w).max(next_open);
                }
                let low = self.watermarks.iter().copied().min().unwrap_or(0);
                self.finalize_below(low, progress);
            }
            Report::Done {
                lag,
                samples,
                peak_in_flight,
                ..
            } => {
                self.lag.add(&lag);
                self.samples.merge(samples);
                self.peak_in_flight += peak_in_flight;
                self.done += 1;
            }
        }
    }

    /// Finalizes everything still pending (end of run).
    pub fn finish(&mut self, progress: &mut impl FnMut(&IntervalProgress)) {
        self.finalize_below(u32::MAX, progress);
    }

    fn finalize_below(&mut self, low: u32, progress: &mut impl FnMut(&IntervalProgress)) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= low {
                break;
            }
            let (index, (endpoints, generator)) = entry.remove_entry();
            let mut total = IntervalProgress {
                index,
                requests: 0,
                errors: 0,
                latency: Histogram::new(),
                generator,
                endpoints: Vec::new(),
            };
            for (e, data) in endpoints.iter().enumerate() {
                if data.requests == 0 {
                    continue;
                }
                if e < self.endpoint_count {
                    total.requests += data.requests;
                    total.errors += data.error_total();
                    total.latency.add(&data.latency);
                }
                self.intervals[e].push(encode(index, data));
            }
            if generator != GeneratorInterval::default() {
                self.generator
                    .push(GeneratorRecord::from((index, generator)));
            }
            total.endpoints = endpoints;
            progress(&total);
        }
    }
}

fn encode(index: u32, data: &EndpointInterval) -> Interval {
    Interval {
        index,
        requests: data.requests,
        errors: ErrorClass::ALL
            .iter()
            .zip(data.errors)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (*c, n))
            .collect(),
        status: data.status.iter().copied().collect(),
        latency: EncodedHistogram::encode(&data.latency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ClosedInterval;

    fn closed(index: u32, requests: u64) -> Report {
        let mut e = EndpointInterval {
            requests,
            ..EndpointInterval::default()
        };
        for _ in 0..requests {
            e.latency.record_us(1000);
        }
        Report::Closed(ClosedInterval {
            index,
            endpoints: vec![e],
            generator: GeneratorInterval {
                planned: requests,
                sent: requests,
                ..GeneratorInterval::default()
            },
        })
    }

    #[test]
    fn intervals_finalize_when_every_thread_passed_them() {
        let mut c = Collector::new(2, 1, 1);
        let mut seen = Vec::new();
        let mut progress = |p: &IntervalProgress| seen.push((p.index, p.requests));
        c.take(closed(0, 3), &mut progress);
        c.take(
            Report::Watermark {
                thread: 0,
                next_open: 1,
            },
            &mut progress,
        );
        assert!(
            c.intervals[0].is_empty(),
            "thread 1 has not passed interval 0"
        );
        c.take(closed(0, 2), &mut progress);
        c.take(
            Report::Watermark {
                thread: 1,
                next_open: 2,
            },
            &mut progress,
        );
        assert_eq!(c.intervals[0].len(), 1);
        assert_eq!(c.intervals[0][0].requests, 5);
        assert_eq!(c.intervals[0][0].latency.decode().unwrap().len(), 5);
        assert_eq!(c.generator[0].planned, 5);
        c.take(closed(1, 1), &mut progress);
        c.finish(&mut progress);
        assert_eq!(seen, vec![(0, 5), (1, 1)]);
    }
}
