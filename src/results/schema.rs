//! The shape of the results file: its serde types, from the whole run down to one interval.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::capacity;
use crate::metrics::{EncodedHistogram, ErrorClass, ErrorSample, Summary};

/// One run's results (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Version of this format; readers refuse versions newer than they know.
    pub format_version: u32,
    /// The tool that wrote the file.
    pub tool: Tool,
    /// The profile that was run.
    pub profile: ProfileRef,
    /// Base URL the load was sent to.
    pub target: String,
    /// Commit under test, from `GITHUB_SHA` (or `--git-sha`) when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitRef>,
    /// The machine class, so baselines only compare like with like.
    pub runner: Runner,
    /// Start of the load, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time from the first scheduled request to the end of the drain, in ms.
    pub duration_ms: u64,
    /// True when the run stopped early (Ctrl-C, fatal error): numbers are real but incomplete.
    pub partial: bool,
    /// Why the run is partial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_reason: Option<String>,
    /// Which shares of the load these results hold.
    pub shard: Shard,
    /// The resolved load plan.
    pub load: LoadPlan,
    /// Width of every recording interval, in ms.
    pub interval_ms: u64,
    /// Per endpoint, in profile order.
    pub endpoints: Vec<EndpointResult>,
    /// Per scenario (journeys only), in profile order: the total duration of each iteration,
    /// recorded in the interval it ended in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<ScenarioResult>,
    /// How well the generator kept to its schedule.
    pub generator: Generator,
    /// What a capacity search (`load.model: search`) found; absent for every other run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<capacity::Capacity>,
}

/// The tool that wrote a results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Always `loadgate`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Tool {
    /// This build.
    pub fn current() -> Self {
        Self {
            name: "loadgate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Identifies the profile a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRef {
    /// The profile's `name` (it names the baseline file).
    pub name: String,
    /// `sha256:` of the parts that shape the load (requests, load, defaults, http); not the
    /// target, thresholds or gate settings, so those can change without invalidating baselines.
    pub hash: String,
    /// The profile file as given on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The commit a run measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitRef {
    /// Full commit SHA.
    pub sha: String,
    /// Branch or tag (`GITHUB_REF_NAME`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_name: Option<String>,
}

/// The machine a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Runner {
    /// Runner class compared against baselines: `RUNNER_OS-RUNNER_ARCH` on GitHub, the
    /// `--runner-class` flag, or `local-<os>-<arch>`.
    pub class: String,
    /// Logical CPUs available to the generator.
    pub cpus: u32,
}

/// Which shares of the load a results file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Into how many shares the load was split (1 = unsharded).
    pub count: u32,
    /// The shares present, ascending (all of `0..count` once merged).
    pub indices: Vec<u32>,
}

impl Shard {
    /// An unsharded run.
    pub fn whole() -> Self {
        Self {
            count: 1,
            indices: vec![0],
        }
    }

    /// True when every share of the load is present.
    pub fn is_complete(&self) -> bool {
        self.indices.len() == self.count as usize
            && self.indices.iter().enumerate().all(|(i, &s)| s == i as u32)
    }
}

/// Open (arrival rate) or closed (users) model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadModel {
    /// Arrivals follow a rate schedule, independent of response times.
    Open,
    /// A number of users loop over requests with think time.
    Closed,
}

/// The resolved load plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadPlan {
    /// Open or closed model.
    pub model: LoadModel,
    /// Warm-up at the start (whole intervals), excluded from statistics, in ms.
    pub warmup_ms: u64,
    /// Planned length of the whole run including warm-up, in ms.
    pub duration_ms: u64,
    /// The schedule as linear pieces: rate per second (open) or users (closed), for the whole
    /// load (all shards).
    pub segments: Vec<Segment>,
    /// In-flight cap of the open model (whole load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u64>,
}

/// One linear piece of the schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Start since the beginning of the run, in ms.
    pub start_ms: u64,
    /// Length, in ms.
    pub duration_ms: u64,
    /// Level at the start: requests per second (open) or users (closed).
    pub from: f64,
    /// Level at the end.
    pub to: f64,
}

/// One endpoint's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointResult {
    /// The request's `name` in the profile.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Path or URL as written in the profile (a template, not a rendered value).
    pub url: String,
    /// Summary of the measured phase (after warm-up), derived from `intervals`.
    pub summary: Summary,
    /// Summary of the warm-up phase, derived from `intervals`.
    pub warmup: Summary,
    /// Per interval that saw any request, ascending by index.
    pub intervals: Vec<Interval>,
    /// A few distinct error messages with counts, for the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_samples: Vec<ErrorSample>,
}

/// One scenario's results: iterations that ended (`requests`), those that failed (`errors`,
/// by the class of the step that failed), and their total durations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioResult {
    /// The scenario's `name`.
    pub name: String,
    /// Its steps' endpoint names, in order.
    pub steps: Vec<String>,
    /// Summary of the measured phase, derived from `intervals`.
    pub summary: Summary,
    /// Summary of the warm-up phase, derived from `intervals`.
    pub warmup: Summary,
    /// Per interval that saw an iteration end, ascending by index.
    pub intervals: Vec<Interval>,
}

/// One endpoint within one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    /// Interval number; it covers `[index·interval_ms, (index+1)·interval_ms)` of intended send
    /// times since the start of the run.
    pub index: u32,
    /// Requests that finished, whatever the outcome.
    pub requests: u64,
    /// Failures by class.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<ErrorClass, u64>,
    /// Responses by HTTP status.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status: BTreeMap<u16, u64>,
    /// Latency (µs, from the intended send time) of every request that got a response.
    pub latency: EncodedHistogram,
}

impl Interval {
    /// Total failures.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Generator health: did the load generator keep to its schedule?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    /// Delay between intended and actual send times in the measured phase (µs); in the closed
    /// model, how late users woke from their think time.
    pub schedule_lag: EncodedHistogram,
    /// Most requests in flight at once (summed over shards).
    pub peak_in_flight: u64,
    /// Per interval, ascending.
    pub intervals: Vec<GeneratorRecord>,
}

impl Generator {
    /// The 95th percentile of the schedule lag in µs (0 when the histogram does not decode:
    /// `RunResult::check` refuses such a file on reading).
    pub fn schedule_lag_p95_us(&self) -> u64 {
        self.schedule_lag
            .decode()
            .ok()
            .and_then(|h| h.quantile_us(0.95))
            .unwrap_or(0)
    }
}

/// Generator counts for one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratorRecord {
    /// Interval number.
    pub index: u32,
    /// Arrivals the schedule intended (open model).
    pub planned: u64,
    /// Arrivals sent (open model) or requests started (closed model).
    pub sent: u64,
    /// Arrivals dropped at the in-flight cap.
    pub dropped: u64,
    /// Largest schedule lag in the interval, µs.
    pub max_lag_us: u64,
    /// Users running at the end of the interval (closed model).
    pub users: u64,
    /// Users the schedule asked for at the end of the interval, the spawn rate included
    /// (closed model; files written before 2026-12 hold the stage's level instead).
    pub target_users: u64,
}

impl From<(u32, crate::metrics::GeneratorInterval)> for GeneratorRecord {
    fn from((index, g): (u32, crate::metrics::GeneratorInterval)) -> Self {
        Self {
            index,
            planned: g.planned,
            sent: g.sent,
            dropped: g.dropped,
            max_lag_us: g.max_lag_us,
            users: g.users,
            target_users: g.target_users,
        }
    }
}

impl GeneratorRecord {
    /// The counts without the index.
    pub fn counts(&self) -> crate::metrics::GeneratorInterval {
        crate::metrics::GeneratorInterval {
            planned: self.planned,
            sent: self.sent,
            dropped: self.dropped,
            max_lag_us: self.max_lag_us,
            users: self.users,
            target_users: self.target_users,
        }
    }
}
