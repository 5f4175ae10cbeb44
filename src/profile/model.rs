//! The validated profile: what the engine, the gate and the reports use.
//!
//! Every value here has been checked; durations are `Duration`, rates are requests per second,
//! ratios are 0–1. Request text is literal or a compiled template ([`Text`]).

use std::fmt;
use std::time::Duration;

use http::{HeaderName, Method};

use super::json_path::JsonPath;
use super::raw::StatusPattern;
use super::template::{Templates, Text};
pub use crate::results::LoadModel;

/// A validated load profile.
#[derive(Debug)]
pub struct Profile {
    /// Names the profile and its baseline.
    pub name: String,
    /// Base URL from the profile (the command line may override it).
    pub target: Option<String>,
    /// Readiness probe.
    pub wait_for: Option<WaitFor>,
    /// HTTP client settings.
    pub http: HttpOptions,
    /// The load plan.
    pub load: Load,
    /// Every request the load sends, in file order: plain `requests`, then each scenario's
    /// steps. Names are unique; results are recorded per endpoint.
    pub endpoints: Vec<Endpoint>,
    /// The weighted mix: each plain request is a one-step scenario of its own.
    pub scenarios: Vec<Scenario>,
    /// Data files feeding templates.
    pub feeds: Vec<Feed>,
    /// Requests run once before the load.
    pub setup: Vec<Endpoint>,
    /// Authentication added to every load request.
    pub auth: Option<Auth>,
    /// Absolute limits.
    pub thresholds: Vec<Threshold>,
    /// Baseline comparison settings.
    pub gate: GateConfig,
    /// `sha256:` over the load-shaping parts (see [`crate::results::ProfileRef::hash`]).
    pub hash: String,
    /// Compiled templates.
    pub templates: Templates,
}

/// A weighted sequence of endpoints run in order by one arrival or user iteration.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name (for a plain request, the request's name).
    pub name: String,
    /// Relative share of the mix.
    pub weight: u32,
    /// Indices into [`Profile::endpoints`], in order.
    pub steps: Vec<usize>,
    /// True when written under `scenarios:` (its total duration is recorded), false for a
    /// plain request.
    pub journey: bool,
}

/// A data file's rows, handed to templates as `data.NAME`.
#[derive(Debug, Clone)]
pub struct Feed {
    /// The name templates use.
    pub name: String,
    /// The file as written in the profile.
    pub path: String,
    /// How rows are handed out.
    pub mode: FeedMode,
    /// Column names (CSV header, or the keys every JSON line has).
    pub columns: Vec<String>,
    /// The rows, each an object of column → value.
    pub rows: std::sync::Arc<Vec<minijinja::Value>>,
}

/// How a feed hands out rows: one per arrival (open model) or per user (closed model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMode {
    /// In file order, wrapping around.
    Sequential,
    /// At random.
    Random,
    /// Each row once.
    Unique,
}

/// Authentication for every load request, rendered once after `setup`.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Basic …`.
    Basic {
        /// User name.
        username: Text,
        /// Password (a secret).
        password: Text,
    },
    /// `Authorization: Bearer …`.
    Bearer(Text),
}

/// A value captured from a response into `vars`.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// The variable name (`vars.NAME`).
    pub name: String,
    /// Where it comes from.
    pub source: ExtractSource,
}

/// Where an extracted value comes from.
#[derive(Debug, Clone)]
pub enum ExtractSource {
    /// A JSON field of the body.
    Json(JsonPath),
    /// A response header.
    Header(HeaderName),
    /// A regular expression on the body: the first group, or the whole match.
    Regex(regex::Regex),
}

impl ExtractSource {
    /// True when the body must be read.
    pub fn needs_body(&self) -> bool {
        !matches!(self, ExtractSource::Header(_))
    }
}

/// Readiness probe settings.
#[derive(Debug, Clone)]
pub struct WaitFor {
    /// Path joined to the target, or an absolute URL.
    pub path: String,
    /// Statuses that mean ready (empty: any 2xx).
    pub status: Vec<StatusPattern>,
    /// Give up after this long.
    pub timeout: Duration,
    /// Pause between polls.
    pub interval: Duration,
}

/// HTTP protocol choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 when TLS ALPN agrees, else HTTP/1.1.
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 over TLS.
    Http2,
    /// HTTP/2 over cleartext with prior knowledge.
    H2c,
}

/// HTTP client settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Protocol.
    pub version: HttpVersion,
    /// Accept any certificate.
    pub insecure_tls: bool,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Local addresses connections are opened from, in turn (empty: the system's choice).
    pub source_addresses: Vec<std::net::IpAddr>,
    /// Closed model: every user keeps its own connection (`http.connections: per_user`)
    /// instead of sharing its engine thread's.
    pub connection_per_user: bool,
}

/// The load plan.
#[derive(Debug, Clone)]
pub struct Load {
    /// Open or closed.
    pub model: LoadModel,
    /// Warm-up, rounded up to whole intervals.
    pub warmup: Duration,
    /// Recording interval.
    pub interval: Duration,
    /// Piecewise-linear schedule of the level (rate per second, or users).
    pub segments: Vec<Segment>,
    /// Open model: in-flight cap.
    pub max_in_flight: u64,
    /// Closed model: think time between a user's requests.
    pub think_time: ThinkTime,
    /// Closed model: users added per second when the target rises (`None`: at once).
    pub spawn_rate: Option<f64>,
    /// `model: search`: the capacity search. `segments` then hold its ladder (warm-up, then
    /// every climbing step up to the rate cap, within the duration cap): the most it may send
    /// before refining.
    pub search: Option<Search>,
}

impl Load {
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
            Growth::Add(r) => write!(f, "+{}", super::units::format_rate(*r)),
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

/// One weighted request of the mix.
#[derive(Debug)]
pub struct Endpoint {
    /// Name in results and reports.
    pub name: String,
    /// Relative share of the mix.
    pub weight: u32,
    /// HTTP method.
    pub method: Method,
    /// Path (joined to the target) or absolute URL.
    pub url: Text,
    /// Query parameters appended to the URL.
    pub query: Vec<(String, Text)>,
    /// Headers, defaults merged in.
    pub headers: Vec<(HeaderName, Text)>,
    /// Body.
    pub body: Body,
    /// Request timeout.
    pub timeout: Duration,
    /// Checks on the response.
    pub check: Check,
    /// Values captured for later steps.
    pub extract: Vec<Extraction>,
    /// Pause after this step before the next one of its scenario.
    pub think_time: Option<ThinkTime>,
}

impl Endpoint {
    /// True when the body must be read (checks or extractions look at it).
    pub fn needs_body(&self) -> bool {
        self.check.needs_body() || self.extract.iter().any(|e| e.source.needs_body())
    }

    /// True when the response headers must be kept.
    pub fn needs_headers(&self) -> bool {
        !self.check.headers.is_empty()
            || self
                .extract
                .iter()
                .any(|e| matches!(e.source, ExtractSource::Header(_)))
    }
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// Text, sent as is after rendering.
    Text(Text),
    /// JSON assembled from literal pieces and rendered fields.
    Json {
        /// Literal text and rendered fields, in order.
        pieces: Vec<JsonPiece>,
        /// The body as written (canonical JSON text), for hashing and reports.
        source: String,
        /// True when a field reads `vars` or `data`.
        contextual: bool,
    },
    /// URL-encoded form fields.
    Form(Vec<(String, Text)>),
}

/// A piece of a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonPiece {
    /// Literal JSON text.
    Raw(String),
    /// A template whose output becomes a JSON string.
    Str(usize),
    /// A template that renders JSON itself (a typed `{{ expression }}`).
    Native(usize),
}

/// Checks on a response.
#[derive(Debug, Clone, Default)]
pub struct Check {
    /// Accepted statuses (empty: anything below 400).
    pub status: Vec<StatusPattern>,
    /// Text the body must contain.
    pub body_contains: Option<String>,
    /// JSON fields and what they must be.
    pub json: Vec<(JsonPath, JsonExpect)>,
    /// Header expectations.
    pub headers: Vec<(HeaderName, HeaderExpect)>,
    /// Longest acceptable latency.
    pub max_latency: Option<Duration>,
}

/// What a JSON field must be.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpect {
    /// Equal to this value (`1` and `1.0` are equal).
    Equals(serde_json::Value),
    /// Every comparison holds.
    Compare(Vec<Comparison>),
}

/// One comparison on a JSON field.
#[derive(Debug, Clone)]
pub enum Comparison {
    /// `eq`: equal.
    Eq(serde_json::Value),
    /// `ne`: not equal.
    Ne(serde_json::Value),
    /// `lt`: a number below.
    Lt(f64),
    /// `lte`: a number at most.
    Lte(f64),
    /// `gt`: a number above.
    Gt(f64),
    /// `gte`: a number at least.
    Gte(f64),
    /// `contains`: a string containing the text, or an array containing the value.
    Contains(serde_json::Value),
    /// `matches`: a string matching the regular expression.
    Matches(regex::Regex),
    /// `exists`: present (`true`) or absent (`false`).
    Exists(bool),
}

impl PartialEq for Comparison {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Eq(v) => write!(f, "eq {v}"),
            Comparison::Ne(v) => write!(f, "ne {v}"),
            Comparison::Lt(v) => write!(f, "lt {v}"),
            Comparison::Lte(v) => write!(f, "lte {v}"),
            Comparison::Gt(v) => write!(f, "gt {v}"),
            Comparison::Gte(v) => write!(f, "gte {v}"),
            Comparison::Contains(v) => write!(f, "contains {v}"),
            Comparison::Matches(r) => write!(f, "matches {}", r.as_str()),
            Comparison::Exists(b) => write!(f, "exists {b}"),
        }
    }
}

/// What a header must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderExpect {
    /// Present, any value.
    Present,
    /// Absent.
    Absent,
    /// Present, with a value containing the text.
    Contains(String),
}

impl Check {
    /// True when the body must be read and examined.
    pub fn needs_body(&self) -> bool {
        self.body_contains.is_some() || !self.json.is_empty()
    }
}

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
    /// Measure a run that would block once more; block only on what fails in both runs.
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
