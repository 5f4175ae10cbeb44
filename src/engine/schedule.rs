//! Schedules as pure functions of time: intended send times (open model) and user counts
//! (closed model).
//!
//! Open model: the rate is piecewise linear, `N(t) = ∫ rate` counts arrivals, and global arrival
//! `g` is intended at the `t` where `N(t) = g + ½` (so a 10 s run at 50/s holds exactly 500).
//! A share of the load (a shard, and within it an engine thread) takes every `stride`-th arrival
//! from `offset`, which keeps each share smooth and makes the shares add up to the whole run
//! exactly. Closed model: the users curve follows the stages, rising no faster than the spawn
//! rate; a share runs the users whose global index is `offset` modulo `stride`.

use std::time::Duration;

use crate::profile::Segment;

/// Which arrivals or users a share of the load takes: global index `g` with
/// `g % stride == offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// First global index of the share.
    pub offset: u64,
    /// Distance between the share's indices.
    pub stride: u64,
}

impl Share {
    /// The whole load.
    pub const WHOLE: Share = Share {
        offset: 0,
        stride: 1,
    };

    /// Shard `index` of `count`, then engine thread `thread` of `threads` within it.
    pub fn of(shard_index: u32, shard_count: u32, thread: usize, threads: usize) -> Share {
        let (n, i) = (u64::from(shard_count.max(1)), u64::from(shard_index));
        Share {
            offset: i + n * thread as u64,
            stride: n * threads.max(1) as u64,
        }
    }

    /// How many of the global indices `0..total` belong to this share.
    pub fn count_below(&self, total: u64) -> u64 {
        if total <= self.offset {
            0
        } else {
            (total - self.offset - 1) / self.stride + 1
        }
    }
}

/// Intended send times of one share's arrivals, in order.
#[derive(Debug, Clone)]
pub struct Arrivals {
    segments: Vec<Segment>,
    /// Cumulative arrivals at the start of each segment.
    before: Vec<f64>,
    /// Arrivals of the whole schedule (all shares), exactly as the plan counts them.
    total: u64,
    share: Share,
    next: u64,
    cursor: usize,
}

impl Arrivals {
    /// The arrivals of `share` for a rate schedule (levels in requests per second).
    pub fn new(segments: &[Segment], share: Share) -> Self {
        let mut before = Vec::with_capacity(segments.len());
        let mut total = 0.0;
        for s in segments {
            before.push(total);
            total += f64::midpoint(s.from, s.to) * s.duration.as_secs_f64();
        }
        Self {
            segments: segments.to_vec(),
            before,
            total: crate::profile::arrivals_in(segments),
            share,
            next: share.offset,
            cursor: 0,
        }
    }

    /// Time of global arrival `g` (one the plan counts).
    fn time_of(&mut self, index: u64) -> Option<Duration> {
        let target = index as f64 + 0.5;
        while self.cursor < self.segments.len() {
            let seg = self.segments[self.cursor];
            let length = seg.duration.as_secs_f64();
            let inside = f64::midpoint(seg.from, seg.to) * length;
            let needed = target - self.before[self.cursor];
            if needed <= inside && inside > 0.0 {
                // Solve from·τ + (to − from)·τ²/(2·length) = needed for τ in [0, length].
                let curvature = (seg.to - seg.from) / (2.0 * length);
                let tau = if curvature.abs() < 1e-12 {
                    needed / seg.from
                } else {
                    let disc = (seg.from * seg.from + 4.0 * curvature * needed).max(0.0);
                    (-seg.from + disc.sqrt()) / (2.0 * curvature)
                };
                return Some(seg.start + Duration::from_secs_f64(tau.clamp(0.0, length)));
            }
            self.cursor += 1;
        }
        // Only rounding can leave an arrival the plan counts past the last segment: it goes
        // at the end of the last segment that sends anything.
        self.segments
            .iter()
            .rev()
            .find(|s| s.from > 0.0 || s.to > 0.0)
            .map(|s| s.start + s.duration)
    }
}

impl Iterator for Arrivals {
    /// The arrival's global index (for data rows) and its time since the start.
    type Item = (u64, Duration);

    fn next(&mut self) -> Option<(u64, Duration)> {
        let index = self.next;
        // Exactly the planned arrivals: a `unique` data feed was checked against this number.
        if index >= self.total {
            return None;
        }
        let t = self.time_of(index)?;
        self.next += self.share.stride;
        Some((index, t))
    }
}

/// The closed model's users over time, for the whole load.
#[derive(Debug, Clone)]
pub struct UsersCurve {
    segments: Vec<Segment>,
    spawn_rate: Option<f64>,
    current: f64,
    last: Duration,
}

impl UsersCurve {
    /// A curve that follows `segments` (levels in users), rising at most `spawn_rate` per second.
    pub fn new(segments: &[Segment], spawn_rate: Option<f64>) -> Self {
        Self {
            segments: segments.to_vec(),
            spawn_rate,
            current: 0.0,
            last: Duration::ZERO,
        }
    }

    /// Users the stages ask for at `t`, before the spawn-rate limit.
    pub fn target_at(&self, t: Duration) -> f64 {
        self.segments
            .iter()
            .find(|s| t < s.start + s.duration)
            .map_or(0.0, |s| s.level_at(t))
    }

    /// Advances to `t` (never backwards) and returns the whole number of users running.
    pub fn advance(&mut self, t: Duration) -> u64 {
        let target = self.target_at(t);
        let dt = t.saturating_sub(self.last).as_secs_f64();
        self.last = self.last.max(t);
        self.current = match self.spawn_rate {
            Some(rate) if target > self.current => (self.current + rate * dt).min(target),
            _ => target,
        };
        (self.current + 1e-9).floor() as u64
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are expected here
mod tests {
    use super::*;

    fn seg(start: u64, dur: u64, from: f64, to: f64) -> Segment {
        Segment {
            start: Duration::from_secs(start),
            duration: Duration::from_secs(dur),
            from,
            to,
        }
    }

    #[test]
    fn constant_rate_is_evenly_spaced_and_exact() {
        let a: Vec<Duration> = Arrivals::new(&[seg(0, 10, 50.0, 50.0)], Share::WHOLE)
            .map(|a| a.1)
            .collect();
        assert_eq!(a.len(), 500);
        assert_eq!(a[0], Duration::from_millis(10));
        assert_eq!(a[1].checked_sub(a[0]), Some(Duration::from_millis(20)));
        assert!(a.iter().all(|t| *t < Duration::from_secs(10)));
    }

    #[test]
    fn linear_ramp_holds_the_area_under_the_rate() {
        // 0 → 100/s over 10 s: 500 arrivals, denser at the end.
        let a: Vec<Duration> = Arrivals::new(&[seg(0, 10, 0.0, 100.0)], Share::WHOLE)
            .map(|a| a.1)
            .collect();
        assert_eq!(a.len(), 500);
        let first_half = a.iter().filter(|t| **t < Duration::from_secs(5)).count();
        assert_eq!(first_half, 125);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn shares_partition_the_arrivals() {
        let segs = [
            seg(0, 3, 10.0, 10.0),
            seg(3, 4, 10.0, 40.0),
            seg(7, 2, 0.0, 0.0),
            seg(9, 1, 25.0, 25.0),
        ];
        let mut all: Vec<(u64, Duration)> = Arrivals::new(&segs, Share::WHOLE).collect();
        let mut parts: Vec<(u64, Duration)> = Vec::new();
        for shard in 0..3 {
            for thread in 0..2 {
                parts.extend(Arrivals::new(&segs, Share::of(shard, 3, thread, 2)));
            }
        }
        all.sort();
        parts.sort();
        assert_eq!(all, parts);
        // 3 s at 10/s, 4 s ramping 10 → 40/s, 2 s at nothing, 1 s at 25/s.
        assert_eq!(all.len(), 30 + 100 + 25);
        assert!(
            all.iter()
                .all(|(_, t)| !(Duration::from_secs(7)..Duration::from_secs(9)).contains(t))
        );
    }

    proptest::proptest! {
        /// The arrivals the engine sends are exactly the ones the plan counts (which a
        /// `unique` data feed is checked against when the profile loads, so the engine cannot
        /// run out of rows mid-run in the open model).
        #[test]
        fn arrivals_sent_are_the_arrivals_planned(
            pieces in proptest::collection::vec((1u64..20_000, 0u32..400, 0u32..400), 1..6),
        ) {
            let mut segments = Vec::new();
            let mut start = Duration::ZERO;
            for (ms, from, to) in pieces {
                let duration = Duration::from_millis(ms);
                segments.push(Segment { start, duration, from: f64::from(from) / 4.0, to: f64::from(to) / 4.0 });
                start += duration;
            }
            let load = crate::profile::Load {
                model: crate::profile::Model::Open { max_in_flight: 1, search: None },
                warmup: Duration::ZERO,
                interval: Duration::from_secs(1),
                segments: segments.clone(),
            };
            let sent = Arrivals::new(&segments, Share::WHOLE).count() as u64;
            proptest::prop_assert_eq!(sent, load.total_arrivals());
        }
    }

    #[test]
    fn share_counts() {
        let s = Share::of(1, 2, 0, 1); // odd indices
        assert_eq!(s.count_below(0), 0);
        assert_eq!(s.count_below(1), 0);
        assert_eq!(s.count_below(2), 1);
        assert_eq!(s.count_below(5), 2);
        assert_eq!(Share::WHOLE.count_below(7), 7);
    }

    #[test]
    fn users_follow_steps_at_the_spawn_rate() {
        let segs = [
            seg(0, 10, 50.0, 50.0),
            seg(10, 10, 100.0, 100.0),
            seg(20, 10, 20.0, 20.0),
        ];
        let mut c = UsersCurve::new(&segs, Some(10.0));
        assert_eq!(c.advance(Duration::from_secs(1)), 10);
        assert_eq!(c.advance(Duration::from_secs(5)), 50);
        assert_eq!(c.advance(Duration::from_secs(9)), 50);
        assert_eq!(c.advance(Duration::from_secs(12)), 80);
        assert_eq!(c.advance(Duration::from_secs(19)), 100);
        assert_eq!(
            c.advance(Duration::from_secs(20)),
            20,
            "decreases are immediate"
        );
        assert_eq!(
            c.advance(Duration::from_secs(30)),
            0,
            "nothing after the end"
        );
        let mut instant = UsersCurve::new(&segs, None);
        assert_eq!(instant.advance(Duration::ZERO), 50);
    }
}
