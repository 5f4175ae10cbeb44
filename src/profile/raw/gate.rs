//! Absolute limits (`thresholds`) and the statistical comparison with the baseline (`gate`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::Pairs;
use crate::profile::units::{HumanDuration, Percent, Rate, Share};

/// Absolute limits for one endpoint or `all`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThreshold {
    /// Median latency must stay below.
    pub p50: Option<HumanDuration>,
    /// 90th percentile must stay below.
    pub p90: Option<HumanDuration>,
    /// 95th percentile must stay below.
    pub p95: Option<HumanDuration>,
    /// 99th percentile must stay below.
    pub p99: Option<HumanDuration>,
    /// 99.9th percentile must stay below.
    pub p999: Option<HumanDuration>,
    /// Slowest response must stay below.
    pub max: Option<HumanDuration>,
    /// Share of failed requests must stay below (at most `100%`).
    #[schemars(with = "Option<Percent>")]
    pub error_rate: Option<Share>,
    /// Completed requests per second must reach at least this.
    pub min_rate: Option<Rate>,
}

/// The statistical comparison with the baseline (see `stats-gate.md`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// Endpoints whose metrics can block (default: all).
    #[schemars(with = "Option<Vec<String>>")]
    pub endpoints: Option<Vec<Spanned<String>>>,
    /// Gated latency percentiles and the change each may make before it counts, like
    /// `{ p50: 8%, p95: 10%, p99: 15% }` (the default).
    #[schemars(with = "Option<BTreeMap<String, Percent>>")]
    pub metrics: Option<Pairs<Spanned<String>, Percent>>,
    /// Absolute increase of an endpoint's error rate that matters (default `0.1%`; at most 100%).
    #[schemars(with = "Option<Percent>")]
    pub error_rate: Option<Share>,
    /// The share of failed requests above which a run never passes, with a baseline or
    /// without (default `5%`; below `100%`: a run in which every request failed never passes).
    #[schemars(with = "Option<Percent>")]
    pub max_error_rate: Option<Spanned<Percent>>,
    /// Significance level across the gated family (default `0.01`).
    #[schemars(with = "Option<f64>")]
    pub alpha: Option<Spanned<f64>>,
    /// Baseline runs kept in the rolling window (default 10).
    #[schemars(with = "Option<u32>")]
    pub baseline_runs: Option<Spanned<u32>>,
    /// Length of a statistics block (default `10s`).
    #[schemars(with = "Option<HumanDuration>")]
    pub block: Option<Spanned<HumanDuration>>,
    /// `model: search`: how far the sustainable rate may fall below the baseline's before it
    /// counts (default `10%`).
    pub capacity: Option<Percent>,
    /// Confirmation before blocking: `on` measures a run that would block once more and blocks
    /// only on what fails in both runs, and measures an inconclusive run again too: what the
    /// second run decides within the tolerance passes, and a service-wide shift that does not
    /// show again was a passing swing; `off` decides on the first run. When unset: on in the
    /// GitHub Action, off for `loadgate gate` on the command line. The flag `--confirm` and the
    /// action input `confirm` (`on`, `off`) override it.
    pub confirm: Option<RawConfirm>,
    /// Paired A/B comparison (`loadgate gate --baseline-target URL`, action input
    /// `baseline-target`): how the load is split into alternating blocks against the two
    /// targets.
    pub paired: Option<RawPaired>,
}

/// `gate.paired`: the blocks of a paired A/B comparison.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPaired {
    /// Blocks against each target, an even number from 4 (default 6): they run in the order
    /// ABBA ABBA… (A the base target, B the target under test).
    #[schemars(with = "Option<u32>")]
    pub blocks: Option<Spanned<u32>>,
    /// Measured length of one block, a whole number of `load.interval`s (default: the
    /// profile's measured duration divided by `blocks`, so each target is measured as long as
    /// a normal run).
    #[schemars(with = "Option<HumanDuration>")]
    pub block: Option<Spanned<HumanDuration>>,
    /// How the two targets share the job: `alternating` (the default: blocks in the order
    /// ABBA, one target loaded at a time) or `simultaneous` (both targets get the profile's
    /// whole load at the same time, judged interval by interval: what moves both at once
    /// cancels, twice the load reaches anything they share).
    pub schedule: Option<RawPairedSchedule>,
}

/// `gate.paired.schedule`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawPairedSchedule {
    /// Blocks alternating between the targets, ABBA.
    Alternating,
    /// Both targets at once.
    Simultaneous,
}

/// `gate.confirm`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawConfirm {
    /// Measure again before blocking.
    On,
    /// Block on the first run.
    Off,
}
