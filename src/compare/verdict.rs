//! The verdict types: what the gate decided, per metric and overall, with the numbers that
//! justify each decision. Serializable (JSON Schema in `schemas/comparison.v1.schema.json`) so
//! reports can be rendered from a [`Comparison`] plus the run's results, without the baseline.
//!
//! Units: latencies in µs, error rates as ratios 0–1, rates per second; a field's [`Unit`]
//! says which. Ratios of latencies are current ÷ baseline (1.10 = 10% slower).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::ErrorClass;
use crate::results::ProfileRef;

pub use crate::results::checks::{
    CheckKind, CheckStatus, LimitKind, ThresholdCheck, ThresholdStatus, Unit, ValidityCheck,
};

/// The newest comparison format this build writes.
pub const COMPARISON_FORMAT_VERSION: u32 = 1;

/// The outcome of gating one run against its baseline (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// Version of this format.
    pub format_version: u32,
    /// The overall verdict.
    pub overall: Overall,
    /// The profile of the current run.
    pub profile: ProfileRef,
    /// The current run's runner class.
    pub runner_class: String,
    /// The baseline runs compared against (empty when there were none).
    pub baseline: BaselineUse,
    /// The settings the decision used.
    pub settings: GateSettings,
    /// Checks made before any verdict: a failed one makes the run untrusted or the baseline
    /// incompatible.
    pub validity: Vec<ValidityCheck>,
    /// One entry per endpoint × metric, gated ones and report-only ones.
    pub metrics: Vec<MetricVerdict>,
    /// Absolute limits from the profile, checked on the current run alone.
    pub thresholds: Vec<ThresholdCheck>,
    /// Per gated endpoint and quantile, the spread of the baseline runs per interval (for
    /// charts of the current run against the baseline).
    pub bands: Vec<BaselineBand>,
    /// Non-blocking changes worth a look, most significant first (Benjamini–Hochberg
    /// q ≤ 0.10): indices into `metrics`.
    pub notable: Vec<usize>,
    /// Plain-word remarks (few baseline runs, runs of another runner class left out, …).
    pub notes: Vec<String>,
    /// Quantiles at which every endpoint moved together beyond the tolerance (see
    /// `compare::shift`); absent in files written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_shifts: Vec<ServiceShift>,
    /// When the run would have blocked and was measured again: both runs' side of what
    /// failed, and whether it held (absent when no confirmation run was made; files written
    /// before confirmation existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<super::confirm::Confirmation>,
    /// When the run was a paired A/B comparison against a second target (`gate
    /// --baseline-target`): the targets and the blocks (absent otherwise, and in files written
    /// before paired comparisons existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<PairedRun>,
    /// A stepped or staged run's results per load level and its knee (absent for runs with
    /// fewer than two levels, and in files written before levels existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<super::levels::Levels>,
}

/// A paired A/B comparison's measurement: the base target (A) and the target under test (B)
/// measured in alternating blocks in one job, compared block by block (see
/// `compare::paired`). The comparison's "baseline" values are the base target's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PairedRun {
    /// The base target (A): the base branch's deployment, staging.
    pub baseline_target: String,
    /// The target under test (B).
    pub target: String,
    /// The order the blocks ran in, `A` and `B` (`ABBAABBA…`), or `simultaneous`: both
    /// targets measured at once, each interval a block.
    pub order: String,
    /// Blocks against each target.
    pub blocks: u32,
    /// Measured length of one block, in ms (each alternating block also had a short warm-up).
    pub block_ms: u64,
}

/// Every endpoint moving together at one quantile, beyond its tolerance: on a real service
/// usually an environment swing (a slower node, a cold deployment), sometimes a change that
/// slows every endpoint. One run cannot tell the two apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceShift {
    /// The quantile, 0–1.
    pub quantile: f64,
    /// Short label: `p50`.
    pub label: String,
    /// The service-wide factor: the median endpoint's change (current ÷ baseline).
    pub ratio: f64,
    /// The smallest and the largest endpoint change.
    pub range: Range,
    /// Endpoints it was measured over.
    pub endpoints: u32,
    /// How the gate treated it.
    pub status: ShiftStatus,
    /// The metrics whose slowdown only followed this shift and so did not block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub following: Vec<MetricRef>,
    /// The baseline runs' own service-wide factors, lowest to highest (two runs or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_range: Option<Range>,
}

impl ServiceShift {
    /// `every endpoint +25.0% at p50{place} (+17.0% to +42.0%)`.
    pub fn moved(&self, place: &str) -> String {
        format!(
            "every endpoint {} at {}{place} ({} to {})",
            crate::format::change(self.ratio),
            self.label,
            crate::format::change(self.range.low),
            crate::format::change(self.range.high)
        )
    }
}

/// Names one metric of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricRef {
    /// The endpoint.
    pub endpoint: String,
    /// Short label: `p50`.
    pub label: String,
}

/// How the gate treated a service-wide shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftStatus {
    /// Every endpoint moved with it: slowdowns that only follow it are inconclusive; only a
    /// paired comparison (against a second target in the same job) can judge it.
    Uniform,
    /// Larger than the swings a restarted service shows between runs: regressions block.
    BeyondSwings,
    /// Some endpoints did not move with it: not service-wide, regressions stand.
    Partial,
    /// Within the swings of the baseline runs' own service-wide factors: it does not count,
    /// and each endpoint is judged relative to it.
    WithinSwings,
    /// Faster: never blocks.
    Faster,
}

/// The overall verdict and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Overall {
    /// The verdict.
    pub verdict: Verdict,
    /// One line saying what it means.
    pub summary: String,
    /// The reasons behind it (failed checks, regressed metrics, breached thresholds).
    pub reasons: Vec<String>,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every gated metric is within its tolerance and every threshold holds.
    Pass,
    /// Some metric got better beyond its tolerance, none got worse.
    Improvement,
    /// A gated metric got worse beyond its tolerance, or a threshold was breached.
    Regression,
    /// The data cannot tell a change within tolerance from one beyond it; does not block.
    Inconclusive,
    /// There was no baseline to compare with; thresholds were checked.
    NoBaseline,
    /// The run itself cannot be trusted (generator overloaded, partial, missing shards).
    Untrusted,
    /// The baseline was measured with another profile or another runner class.
    Incompatible,
}

impl Verdict {
    /// The `snake_case` name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Improvement => "improvement",
            Verdict::Regression => "regression",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NoBaseline => "no_baseline",
            Verdict::Untrusted => "untrusted",
            Verdict::Incompatible => "incompatible",
        }
    }

    /// The one-line summary of a verdict the statistical comparison reached.
    pub fn judged_summary(self) -> &'static str {
        match self {
            Verdict::Regression => "a gated metric got worse beyond its tolerance",
            Verdict::Improvement => "better beyond tolerance somewhere, worse nowhere",
            Verdict::Inconclusive => "no regression found, but some metrics cannot be decided",
            _ => "every gated metric is within its tolerance",
        }
    }
}

/// The baseline runs a comparison used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineUse {
    /// Runs in the baseline file.
    pub runs_in_file: u32,
    /// The runs compared against, oldest first.
    pub runs: Vec<BaselineRunRef>,
}

/// One baseline run, as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineRunRef {
    /// The commit it measured, when known.
    pub git_sha: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Its runner class.
    pub runner_class: String,
}

/// The settings behind the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// Family-wise significance level.
    pub alpha: f64,
    /// Gated quantiles (0–1) and their tolerances (ratio: 0.05 = +5%).
    pub metrics: Vec<QuantileTolerance>,
    /// Absolute error-rate increase that matters (ratio).
    pub error_rate_tolerance: f64,
    /// Configured statistics block, in ms.
    pub block_ms: u64,
    /// Hypotheses in the Holm family (gated latency metrics and testable error classes).
    pub family_size: u32,
    /// Prior weight `d0` of the variance shrinkage, in degrees of freedom.
    pub prior_weight: f64,
}

/// A gated quantile and its tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantileTolerance {
    /// The quantile, 0–1.
    pub quantile: f64,
    /// Tolerated increase, as a ratio (0.05 = +5%).
    pub tolerance: f64,
}

/// The decision on one endpoint × metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricVerdict {
    /// The endpoint (request name in the profile).
    pub endpoint: String,
    /// Which metric.
    pub metric: Metric,
    /// Short label: `p95`, `errors http_5xx`.
    pub label: String,
    /// The decision.
    pub status: MetricStatus,
    /// Unit of `baseline` and `current`.
    pub unit: Unit,
    /// The baseline's value (mean, or median with an outlier, of the runs).
    pub baseline: Option<f64>,
    /// The current run's value.
    pub current: Option<f64>,
    /// Current ÷ baseline.
    pub ratio: Option<f64>,
    /// 90% confidence interval of `ratio`.
    pub ci90: Option<Range>,
    /// One-sided p-value in the direction of the change.
    pub p_value: Option<f64>,
    /// Holm-adjusted p-value of a regression (present when the metric is in the family).
    pub p_adjusted: Option<f64>,
    /// Benjamini–Hochberg q-value of the change, for ranking notable changes.
    pub q_value: Option<f64>,
    /// Practical tolerance: a ratio for latency (0.10 = +10%), an absolute increase of the
    /// error rate for errors (0.001 = 0.1 percentage points).
    pub tolerance: f64,
    /// Minimum detectable change at 95% power, in the unit of `tolerance`.
    pub mdc: Option<f64>,
    /// Why this decision, in plain words (and what would resolve an inconclusive one).
    pub reason: String,
    /// The statistics behind it.
    pub detail: Option<Detail>,
}

impl MetricVerdict {
    /// A latency pass whose interval reaches past the tolerance: no evidence of a slowdown,
    /// but the comparison was too coarse to show the change is within the tolerance (see
    /// `gate::decision::within_noise`). Reports say "pass (within noise)".
    pub fn within_noise(&self) -> bool {
        matches!(self.metric, Metric::Latency { .. })
            && self.status == MetricStatus::Pass
            && self.ci90.is_some_and(|ci| ci.high >= 1.0 + self.tolerance)
    }
}

/// A gated metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Metric {
    /// A latency quantile.
    Latency {
        /// 0–1.
        quantile: f64,
    },
    /// The rate of one class of errors.
    ErrorRate {
        /// The error class.
        class: ErrorClass,
    },
    /// A capacity search's sustainable rate (a fall is a throughput regression).
    Capacity,
}

/// The decision on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricStatus {
    /// Within tolerance, with confidence.
    Pass,
    /// Better beyond the tolerance (never blocks).
    Improvement,
    /// Worse beyond the tolerance, and unlikely to be noise.
    Regression,
    /// Cannot tell; does not block.
    Inconclusive,
    /// Too few samples to gate; shown for information.
    ReportOnly,
}

impl MetricStatus {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricStatus::Pass => "pass",
            MetricStatus::Improvement => "improvement",
            MetricStatus::Regression => "regression",
            MetricStatus::Inconclusive => "inconclusive",
            MetricStatus::ReportOnly => "report_only",
        }
    }
}

/// A closed interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The statistics behind a metric's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    /// A latency quantile.
    Latency(LatencyDetail),
    /// An error rate.
    ErrorRate(ErrorDetail),
    /// A capacity search's sustainable rate.
    Capacity(CapacityDetail),
    /// A tail quantile with too few samples to gate its value, judged by the share of
    /// responses beyond the baseline's tail (see `compare::tail`).
    TailShare(TailShareDetail),
    /// A latency quantile of a paired A/B comparison, from the block-by-block differences.
    Paired(PairedDetail),
}

/// How a latency quantile was compared in a paired A/B comparison (on the log scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PairedDetail {
    /// Units the test used: pairs of blocks, or runs of neighbouring pairs merged.
    pub pairs: u32,
    /// Neighbouring pairs merged into one unit (1: each pair on its own), so every block of a
    /// unit has enough responses above the quantile.
    pub merged_pairs: u32,
    /// `ln Q(B) − ln Q(A)` per unit, in time order; less each unit's median endpoint change
    /// when `service_factor` is set.
    pub log_changes: Vec<f64>,
    /// The endpoint's whole change: the mean of `log_changes`, plus `service_factor`.
    pub log_change: f64,
    /// The service-wide factor (log scale) the test was relative to: the mean over units of
    /// the median endpoint's change. Absent when the endpoint was tested on its own changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_factor: Option<f64>,
    /// Their standard deviation (at least a 1% floor).
    pub standard_deviation: f64,
    /// Standard error of `log_change`.
    pub standard_error: f64,
    /// Degrees of freedom of the Student-t (units − 1).
    pub degrees_of_freedom: f64,
}

/// How a tail was compared through the share of responses beyond the baseline's tail shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TailShareDetail {
    /// The baseline runs' typical ratio of the quantile to the median: a response counts as
    /// beyond the tail above this many times its run's median.
    pub tail_to_median: f64,
    /// Responses of the current run beyond the tail.
    pub above_current: u64,
    /// Responses of the current run.
    pub responses_current: u64,
    /// Share of the current run's responses beyond the tail.
    pub share_current: f64,
    /// The baseline runs' share (geometric mean).
    pub share_baseline: f64,
    /// Current share ÷ baseline share.
    pub share_ratio: f64,
    /// 90% confidence interval of `share_ratio`.
    pub share_ratio_ci90: Range,
    /// Standard error of `ln share_ratio` (the test itself runs on `asin √share`; this is its
    /// standard error carried over by the delta method).
    pub standard_error: f64,
    /// Degrees of freedom of the Student-t.
    pub degrees_of_freedom: f64,
    /// `share_ratio` needed for a regression.
    pub share_ratio_needed: f64,
    /// Over-dispersion of the responses beyond the tail: their binomial variance times this,
    /// estimated from the runs' time blocks (absent from older comparisons, which assumed 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_dispersion: Option<f64>,
}

/// How a sustainable rate was compared (on the log scale, like latency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityDetail {
    /// The baseline runs' sustainable rates, oldest first.
    pub baseline_rates: Vec<f64>,
    /// `ln(current) − mean ln(baseline)`.
    pub log_change: f64,
    /// Standard error of `log_change` (prediction interval).
    pub standard_error: f64,
    /// Degrees of freedom of the Student-t.
    pub degrees_of_freedom: f64,
    /// Run-to-run standard deviation of the baseline runs' log rates.
    pub between_runs_sd: f64,
    /// The prior standard deviation it was shrunk toward: the searches' step resolution plus a
    /// run-to-run allowance.
    pub prior_sd: f64,
    /// The current search's bracket, breaking ÷ sustainable rate (none when no step broke).
    pub current_bracket: Option<f64>,
}

/// How a latency quantile was compared (all on the log scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyDetail {
    /// Baseline runs used.
    pub baseline_runs: u32,
    /// How the baseline runs were centred.
    pub center: Center,
    /// `ln(current) − centre`.
    pub log_change: f64,
    /// Standard error of `log_change` (prediction interval).
    pub standard_error: f64,
    /// Degrees of freedom of the Student-t.
    pub degrees_of_freedom: f64,
    /// Run-to-run standard deviation of the baseline runs (none with one run).
    pub between_runs_sd: Option<f64>,
    /// The prior standard deviation it was shrunk toward.
    pub prior_sd: f64,
    /// The standard deviation used, after shrinkage and the floor.
    pub shrunk_sd: f64,
    /// Within-run variance of the current run's value (from its blocks).
    pub within_current: Option<f64>,
    /// Mean within-run variance of the baseline runs' values.
    pub within_baseline: Option<f64>,
    /// Block length used for the current run, in ms.
    pub block_ms: Option<u64>,
    /// Blocks in the current run.
    pub blocks: Option<u32>,
    /// Latency samples of the current run.
    pub samples: u64,
    /// Samples needed to gate this quantile: `n·(1−p) ≥ 200`.
    pub samples_needed: u64,
    /// When the metric was judged relative to its run's service-wide factor (the median
    /// change of the endpoints, `compare::shift`): that factor. The metric's ratio, interval
    /// and p-values are then relative to it; its baseline and current values are as measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_factor: Option<f64>,
}

/// How baseline runs were centred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Center {
    /// The mean of the runs' log values.
    Mean,
    /// The median, because one run was an outlier (N ≥ 5).
    Median,
}

/// How an error rate was compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Errors of this class in the current run.
    pub errors_current: u64,
    /// Requests of the current run.
    pub requests_current: u64,
    /// Errors of this class in the baseline runs together.
    pub errors_baseline: u64,
    /// Requests of the baseline runs together.
    pub requests_baseline: u64,
    /// Over-dispersion φ estimated from per-block counts (counts were divided by it when > 1).
    pub dispersion: f64,
    /// 90% Wilson interval of the current error rate.
    pub current_interval: Range,
    /// 90% Wilson interval of the baseline error rate.
    pub baseline_interval: Range,
}

/// The spread of the baseline runs of one endpoint and quantile, per interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineBand {
    /// The endpoint.
    pub endpoint: String,
    /// The quantile, 0–1.
    pub quantile: f64,
    /// Per measured interval (0 = first interval after warm-up).
    pub points: Vec<BandPoint>,
}

/// The baseline runs' values at one interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BandPoint {
    /// Measured interval number (0 = first after warm-up).
    pub interval: u32,
    /// Lowest run's value, µs.
    pub low_us: u64,
    /// Median run's value, µs.
    pub median_us: u64,
    /// Highest run's value, µs.
    pub high_us: u64,
}

impl Comparison {
    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("comparisons serialize to JSON");
        text.push('\n');
        text
    }

    /// The JSON Schema of this format.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Comparison)).expect("schema serializes")
    }

    /// The metrics that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricVerdict> {
        self.metrics
            .iter()
            .filter(|m| m.status == MetricStatus::Regression)
    }

    /// The thresholds that failed (breached or unmeasured).
    pub fn failed_thresholds(&self) -> impl Iterator<Item = &ThresholdCheck> {
        self.thresholds
            .iter()
            .filter(|t| t.status != ThresholdStatus::Ok)
    }
}

impl Metric {
    /// Short label: `p95`, `errors http_5xx`.
    pub fn label(&self) -> String {
        match self {
            Metric::Latency { quantile } => crate::profile::Quantile(*quantile).label(),
            Metric::ErrorRate { class } => format!("errors {class}"),
            Metric::Capacity => "capacity".into(),
        }
    }
}
