//! Per-interval series of a run for charts: latency percentiles, requests and errors of each
//! endpoint over the measured phase, merged into at most a given number of points (histograms
//! of neighbouring intervals add exactly, so a merged point's p95 is the p95 of its requests).

use crate::compare::BaselineBand;
use crate::metrics::Histogram;
use crate::results::{EndpointResult, RunResult};

/// One endpoint over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The endpoint.
    pub endpoint: String,
    /// Seconds each point covers.
    pub step_secs: f64,
    /// Intervals each point merges.
    pub intervals_per_point: u32,
    /// Points, from the start of the measured phase.
    pub points: Vec<Point>,
    /// The latency distribution of the whole measured phase.
    pub histogram: Histogram,
}

/// One point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Seconds since the start of the measured phase, at the point's start.
    pub t_secs: f64,
    /// Requests that finished.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Median latency, µs.
    pub p50_us: Option<u64>,
    /// 95th percentile, µs.
    pub p95_us: Option<u64>,
    /// 99th percentile, µs.
    pub p99_us: Option<u64>,
}

impl Series {
    /// The measured phase of `endpoint`, in at most `max_points` points (at least one interval
    /// each). Intervals whose histogram cannot be decoded count requests but no latency.
    pub fn of(result: &RunResult, endpoint: &EndpointResult, max_points: usize) -> Series {
        let warmup = result.warmup_intervals();
        let span = result
            .endpoints
            .iter()
            .filter_map(|e| e.intervals.last())
            .map(|i| i.index + 1)
            .max()
            .unwrap_or(0)
            .saturating_sub(warmup);
        let per_point = span.div_ceil(max_points.max(1) as u32).max(1);
        let n_points = span.div_ceil(per_point) as usize;
        let interval_secs = result.interval_ms as f64 / 1000.0;
        let step_secs = interval_secs * f64::from(per_point);
        let mut hists = vec![Histogram::new(); n_points];
        let mut points: Vec<Point> = (0..n_points)
            .map(|k| Point {
                t_secs: k as f64 * step_secs,
                ..Point::default()
            })
            .collect();
        let mut histogram = Histogram::new();
        for i in endpoint.intervals.iter().filter(|i| i.index >= warmup) {
            let k = ((i.index - warmup) / per_point) as usize;
            let Some(point) = points.get_mut(k) else {
                continue;
            };
            point.requests += i.requests;
            point.errors += i.error_total();
            if let Ok(h) = i.latency.decode() {
                hists[k].add(&h);
                histogram.add(&h);
            }
        }
        for (point, h) in points.iter_mut().zip(&hists) {
            point.p50_us = h.quantile_us(0.50);
            point.p95_us = h.quantile_us(0.95);
            point.p99_us = h.quantile_us(0.99);
        }
        Series {
            endpoint: endpoint.name.clone(),
            step_secs,
            intervals_per_point: per_point,
            points,
            histogram,
        }
    }
}

/// A baseline band merged to the points of a series: per point the mean of the low, median and
/// high values of the intervals it covers (µs).
pub fn band_points(band: &BaselineBand, per_point: u32, n_points: usize) -> Vec<Option<[f64; 3]>> {
    let mut sums = vec![([0.0; 3], 0u32); n_points];
    for p in &band.points {
        let k = (p.interval / per_point.max(1)) as usize;
        if let Some((sum, n)) = sums.get_mut(k) {
            sum[0] += p.low_us as f64;
            sum[1] += p.median_us as f64;
            sum[2] += p.high_us as f64;
            *n += 1;
        }
    }
    sums.into_iter()
        .map(|(s, n)| (n > 0).then(|| s.map(|v| v / f64::from(n))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::BandPoint;

    #[test]
    fn bands_average_over_merged_intervals() {
        let band = BaselineBand {
            endpoint: "e".into(),
            quantile: 0.95,
            points: (0..5)
                .map(|i| BandPoint {
                    interval: i,
                    low_us: 10,
                    median_us: 20 + u64::from(i),
                    high_us: 30,
                })
                .collect(),
        };
        let merged = band_points(&band, 2, 3);
        assert_eq!(merged[0], Some([10.0, 20.5, 30.0]));
        assert_eq!(merged[2], Some([10.0, 24.0, 30.0]));
        assert_eq!(band_points(&band, 2, 4)[3], None);
    }
}
