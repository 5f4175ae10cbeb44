//! Absolute limits (thresholds) and the settings of the statistical gate.

use std::fmt;
use std::time::Duration;

/// A latency quantile like p95, held as 0–1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantile(pub f64);

impl Quantile {
    /// Parses `p50`, `p95`, `p99`, `p999` or `p99.9`.
    pub fn parse(label: &str) -> Option<Self> {
        let digits = label.strip_prefix('p')?;
        let q = match digits {
            "999" => 0.999,
            d => {
                let v: f64 = d.parse().ok()?;
                if !(0.0..100.0).contains(&v) || v <= 0.0 {
                    return None;
                }
                v / 100.0
            }
        };
        Some(Quantile(q))
    }

    /// `p50`, `p95`, `p99.9`.
    pub fn label(self) -> String {
        let pct = (self.0 * 1000.0).round() / 10.0;
        if pct.fract() == 0.0 {
            format!("p{pct:.0}")
        } else {
            format!("p{pct}")
        }
    }
}

impl fmt::Display for Quantile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// What a threshold applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThresholdScope {
    /// Every endpoint taken together.
    All,
    /// One endpoint, by name.
    Endpoint(String),
}

/// One absolute limit.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    /// A latency quantile must stay below `max` (`Quantile(1.0)` is the maximum).
    Latency {
        /// Which quantile.
        quantile: Quantile,
        /// The limit.
        max: Duration,
    },
    /// The share of failed requests must stay below.
    ErrorRate {
        /// Ratio 0–1.
        max_ratio: f64,
    },
    /// Completed requests per second must reach at least.
    MinRate {
        /// Requests per second.
        per_sec: f64,
    },
}

/// A set of limits on one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// What it applies to.
    pub scope: ThresholdScope,
    /// The limits.
    pub limits: Vec<Limit>,
}

/// Settings of the statistical gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateConfig {
    /// Gated endpoints (`None`: all).
    pub endpoints: Option<Vec<String>>,
    /// Gated quantiles with their practical tolerance (ratio, e.g. 0.10 for +10%).
    pub metrics: Vec<(Quantile, f64)>,
    /// Absolute error-rate increase that matters (ratio).
    pub error_rate: f64,
    /// The error-rate ceiling every run is held to, baseline or not (ratio, below 1): a run
    /// with more failures never passes.
    pub max_error_rate: f64,
    /// Family-wise significance level.
    pub alpha: f64,
    /// Baseline runs kept.
    pub baseline_runs: u32,
    /// Statistics block length.
    pub block: Duration,
    /// Capacity searches: the fall of the sustainable rate that matters (ratio, 0.10 for −10%).
    pub capacity: f64,
    /// `gate.confirm`: whether a run that would block is measured again first (`None`: not
    /// set in the profile; the GitHub Action then confirms, the command line does not).
    pub confirm: Option<Confirm>,
    /// `gate.paired`: the blocks of a paired A/B comparison against a second target.
    pub paired: PairedConfig,
}

/// The blocks of a paired A/B comparison (`gate.paired`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairedConfig {
    /// Blocks against each target (even, at least 4).
    pub blocks: u32,
    /// Measured length of one block (`None`: the measured duration divided by `blocks`).
    pub block: Option<Duration>,
    /// How the two targets share the job.
    pub schedule: PairedSchedule,
}

/// How a paired comparison measures its two targets (`gate.paired.schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairedSchedule {
    /// Blocks alternating between the targets (ABBA), one target loaded at a time.
    #[default]
    Alternating,
    /// Both targets loaded at the same time with the profile's whole load, compared interval
    /// by interval.
    Simultaneous,
}

impl Default for PairedConfig {
    fn default() -> Self {
        Self {
            blocks: 6,
            block: None,
            schedule: PairedSchedule::default(),
        }
    }
}

/// Confirmation before blocking (`gate.confirm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Measure a run that would block, or is inconclusive, once more: block only on what fails
    /// in both runs, and pass what the second run decides within the tolerance.
    On,
    /// Block on the first run.
    Off,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            endpoints: None,
            metrics: vec![
                (Quantile(0.50), 0.08),
                (Quantile(0.95), 0.10),
                (Quantile(0.99), 0.15),
            ],
            error_rate: 0.001,
            max_error_rate: 0.05,
            alpha: 0.01,
            baseline_runs: 10,
            block: Duration::from_secs(10),
            capacity: 0.10,
            confirm: None,
            paired: PairedConfig::default(),
        }
    }
}
