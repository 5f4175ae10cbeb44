//! The load plan: the model, the piecewise-linear schedule, think time and a capacity
//! search's settings.

use std::fmt;
use std::time::Duration;

pub use crate::results::LoadModel;

/// The load plan.
#[derive(Debug, Clone)]
pub struct Load {
    /// The model, with the settings that apply to it alone.
    pub model: Model,
    /// Warm-up, rounded up to whole intervals.
    pub warmup: Duration,
    /// Recording interval.
    pub interval: Duration,
    /// Piecewise-linear schedule of the level (rate per second, or users).
    pub segments: Vec<Segment>,
}

/// The load model and what applies to it alone, so that a closed model cannot carry an
/// in-flight cap nor an open one a think time.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// Arrivals follow a rate schedule, independent of response times.
    Open {
        /// In-flight cap (whole load).
        max_in_flight: u64,
        /// `model: search`: the capacity search. The schedule then holds its ladder (warm-up,
        /// then every climbing step up to the rate cap, within the duration cap): the most it
        /// may send before refining.
        search: Option<Search>,
    },
    /// A number of users loop over requests with think time.
    Closed {
        /// Think time between a user's requests.
        think_time: ThinkTime,
        /// Users added per second when the target rises (`None`: at once).
        spawn_rate: Option<f64>,
    },
}

impl Load {
    /// Open or closed (a capacity search is open).
    pub fn kind(&self) -> LoadModel {
        match self.model {
            Model::Open { .. } => LoadModel::Open,
            Model::Closed { .. } => LoadModel::Closed,
        }
    }

    /// The capacity search (`model: search`), if this is one.
    pub fn search(&self) -> Option<&Search> {
        match &self.model {
            Model::Open { search, .. } => search.as_ref(),
            Model::Closed { .. } => None,
        }
    }

    /// The open model's in-flight cap (whole load); `None` in the closed model.
    pub fn max_in_flight(&self) -> Option<u64> {
        match self.model {
            Model::Open { max_in_flight, .. } => Some(max_in_flight),
            Model::Closed { .. } => None,
        }
    }

    /// Total planned length, warm-up included.
    pub fn duration(&self) -> Duration {
        self.segments
            .last()
            .map_or(Duration::ZERO, |s| s.start + s.duration)
    }

    /// Open model: arrivals in the whole run (all shards). Arrival `g` is scheduled where the
    /// area under the rate reaches `g + ½`, so the count is the area rounded to the nearest.
    pub fn total_arrivals(&self) -> u64 {
        arrivals_in(&self.segments)
    }

    /// The highest level the schedule reaches (rate per second, or users).
    pub fn peak_level(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    }
}

/// A capacity search's settings (`load.model: search`): arrivals per second step up from
/// `start_per_sec` until the SLO (the profile's thresholds) breaks, then the gap between the
/// last good and the first bad step is refined. The caps are hard limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The first step's rate.
    pub start_per_sec: f64,
    /// How the rate grows from step to step.
    pub growth: Growth,
    /// Length of every step (whole intervals).
    pub hold: Duration,
    /// Steps spent halving the gap between the last good and the first bad rate.
    pub refine: u32,
    /// Share of its rate a step must achieve (0–1).
    pub min_achieved_ratio: f64,
    /// Error ratio at which the search stops at once (0–1).
    pub collapse_error_ratio: f64,
    /// Hard cap on the rate.
    pub max_rate_per_sec: f64,
    /// Hard cap on the time spent sending load, warm-up included.
    pub max_duration: Duration,
}

impl Search {
    /// The climbing rates: from the start, grown step by step, the last one capped at
    /// `max_rate_per_sec`.
    pub fn climb(&self) -> Vec<f64> {
        let mut rates = vec![self.start_per_sec.min(self.max_rate_per_sec)];
        while let Some(&last) = rates.last() {
            if last >= self.max_rate_per_sec || rates.len() >= 1000 {
                break;
            }
            rates.push(self.growth.next(last).min(self.max_rate_per_sec));
        }
        rates
    }
}

/// How a capacity search's rate grows between climbing steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    /// Multiply by a factor above 1 (`1.5x`).
    Factor(f64),
    /// Add a rate (`50/s`), requests per second.
    Add(f64),
}

impl Growth {
    /// The rate after `rate`.
    pub fn next(self, rate: f64) -> f64 {
        match self {
            Growth::Factor(f) => rate * f,
            Growth::Add(per_sec) => rate + per_sec,
        }
    }

    /// The rate halfway between `low` and `high` on this growth's scale: the geometric mean
    /// for a factor, the arithmetic mean for an increment.
    pub fn between(self, low: f64, high: f64) -> f64 {
        match self {
            Growth::Factor(_) => (low * high).sqrt(),
            Growth::Add(_) => f64::midpoint(low, high),
        }
    }
}

impl fmt::Display for Growth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Growth::Factor(x) => write!(f, "×{x}"),
            Growth::Add(r) => write!(f, "+{}", crate::profile::units::format_rate(*r)),
        }
    }
}

/// Arrivals a rate schedule plans: the area under the rate, rounded to the nearest (see
/// [`Load::total_arrivals`]). The engine's schedule sends exactly this many.
pub fn arrivals_in(segments: &[Segment]) -> u64 {
    let area: f64 = segments
        .iter()
        .map(|s| f64::midpoint(s.from, s.to) * s.duration.as_secs_f64())
        .sum();
    (area + 0.5).floor() as u64
}

/// One linear piece of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Start since the beginning of the run.
    pub start: Duration,
    /// Length.
    pub duration: Duration,
    /// Level at the start.
    pub from: f64,
    /// Level at the end.
    pub to: f64,
}

impl Segment {
    /// The level at `t` within this segment (clamped to its ends).
    pub fn level_at(&self, t: Duration) -> f64 {
        if self.duration.is_zero() {
            return self.to;
        }
        let f = (t.saturating_sub(self.start).as_secs_f64() / self.duration.as_secs_f64()).min(1.0);
        self.from + (self.to - self.from) * f
    }
}

/// Think time: fixed when `min == max`, otherwise uniform in the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThinkTime {
    /// Shortest pause.
    pub min: Duration,
    /// Longest pause.
    pub max: Duration,
}

impl ThinkTime {
    /// A pause drawn from the range.
    pub fn sample(&self) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let span = self.max.saturating_sub(self.min).as_nanos() as u64;
        self.min + Duration::from_nanos(fastrand::u64(0..=span))
    }
}
