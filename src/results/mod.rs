//! The results file (`results.json`): everything one run, or several merged shards, measured.
//!
//! Versioned by `format_version`; readers accept every version up to [`FORMAT_VERSION`] and
//! refuse newer ones with a message that says to upgrade. Interval histograms stay encoded
//! (base64 HdrHistogram V2-deflate) in memory and on disk; summaries are derived from them by
//! [`crate::metrics::SummaryBuilder`] and refreshed by [`RunResult::refresh_summaries`]. Pure: parsing
//! and printing work on strings; the app layer reads and writes the files.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod capacity;
pub mod checks;
mod concat;
mod merge;
pub mod validity;

pub use concat::concat;
pub use merge::{MergeError, merge, merge_files, merge_files_within};

pub use crate::metrics::ErrorSample;
use crate::metrics::{
    EncodedHistogram, ErrorClass, Histogram, HistogramError, Summary, SummaryBuilder,
};

/// The newest results format this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;

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

/// Generator health over the measured phase, derived from [`Generator::intervals`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GeneratorTotals {
    /// Arrivals planned.
    pub planned: u64,
    /// Arrivals sent.
    pub sent: u64,
    /// Arrivals dropped at the in-flight cap.
    pub dropped: u64,
    /// Largest schedule lag, µs.
    pub max_lag_us: u64,
}

impl GeneratorTotals {
    /// Sent over planned (1.0 when nothing was planned, as in the closed model).
    pub fn achieved_ratio(&self) -> f64 {
        if self.planned == 0 {
            1.0
        } else {
            self.sent as f64 / self.planned as f64
        }
    }
}

/// A results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("{message} at `{path}` (line {line}, column {column})")]
    Json {
        /// What serde said.
        message: String,
        /// Key path of the problem.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// No `format_version`: not a loadgate results file.
    #[error("not a loadgate results file: no `format_version` key (write one with `loadgate run`)")]
    NotResults,
    /// Written by a newer loadgate.
    #[error(
        "results `format_version` {found} is newer than this loadgate reads ({FORMAT_VERSION}): upgrade loadgate"
    )]
    FutureVersion {
        /// The version in the file.
        found: u64,
    },
    /// Parsed, but inconsistent (hand-edited or truncated).
    #[error("results file is inconsistent: {0}")]
    Invalid(String),
    /// A histogram inside could not be decoded.
    #[error("results file has a broken histogram at `{path}`: {source}")]
    Histogram {
        /// Where.
        path: String,
        /// Why.
        #[source]
        source: HistogramError,
    },
}

impl RunResult {
    /// Parses and checks a results file's text.
    pub fn from_json(text: &str) -> Result<Self, ResultsError> {
        let version = probe_version(text)?;
        if version > u64::from(FORMAT_VERSION) {
            return Err(ResultsError::FutureVersion { found: version });
        }
        if version == 0 {
            return Err(ResultsError::Invalid(
                "`format_version` is 0: expected 1 or later (the first results format is 1; write the file with `loadgate run`)".into(),
            ));
        }
        let result: RunResult = parse_json(text)?;
        result.check()?;
        Ok(result)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = Vec::new();
        self.write_json(&mut text)
            .expect("results serialize to JSON in memory");
        String::from_utf8(text).expect("serde_json writes UTF-8")
    }

    /// Writes [`RunResult::to_json`]'s text to `w` as it serializes.
    pub fn write_json(&self, mut w: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut w, self)?;
        w.write_all(b"\n")
    }

    /// The JSON Schema of this format.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RunResult)).expect("schema serializes")
    }

    /// Number of warm-up intervals at the start.
    pub fn warmup_intervals(&self) -> u32 {
        if self.interval_ms == 0 {
            return 0;
        }
        self.load.warmup_ms.div_ceil(self.interval_ms) as u32
    }

    /// True when interval `index` belongs to the warm-up.
    pub fn is_warmup(&self, index: u32) -> bool {
        index < self.warmup_intervals()
    }

    /// Seconds of the measured phase that the run covered (for rates).
    pub fn measured_secs(&self) -> f64 {
        self.duration_ms.saturating_sub(self.load.warmup_ms) as f64 / 1000.0
    }

    /// Seconds of warm-up that the run covered.
    pub fn warmup_secs(&self) -> f64 {
        self.duration_ms.min(self.load.warmup_ms) as f64 / 1000.0
    }

    /// Generator health over the measured phase.
    pub fn generator_totals(&self) -> GeneratorTotals {
        let mut t = GeneratorTotals::default();
        for g in self
            .generator
            .intervals
            .iter()
            .filter(|g| !self.is_warmup(g.index))
        {
            t.planned += g.planned;
            t.sent += g.sent;
            t.dropped += g.dropped;
            t.max_lag_us = t.max_lag_us.max(g.max_lag_us);
        }
        t
    }

    /// The merged latency histogram of one endpoint's measured phase.
    pub fn measured_histogram(&self, endpoint: &EndpointResult) -> Result<Histogram, ResultsError> {
        let mut total = Histogram::new();
        for (i, interval) in endpoint.intervals.iter().enumerate() {
            if !self.is_warmup(interval.index) {
                total.add(&decode(interval, &endpoint.name, i)?);
            }
        }
        Ok(total)
    }

    /// The run with only the intervals in `range` (all measured ones, past the warm-up), as if
    /// its measured phase had been just them: a capacity search's step, a level of a stepped
    /// run, checked against the profile's thresholds as a whole run is.
    #[must_use]
    pub fn window(&self, range: std::ops::Range<u32>) -> RunResult {
        let mut view = self.clone();
        for e in &mut view.endpoints {
            e.intervals.retain(|i| range.contains(&i.index));
        }
        for s in &mut view.scenarios {
            s.intervals.retain(|i| range.contains(&i.index));
        }
        view.generator
            .intervals
            .retain(|g| range.contains(&g.index));
        let intervals = u64::from(range.end.saturating_sub(range.start));
        view.duration_ms = view.load.warmup_ms + intervals * view.interval_ms;
        view
    }

    /// Recomputes every endpoint's `summary` and `warmup` from its intervals.
    pub fn refresh_summaries(&mut self) -> Result<(), ResultsError> {
        let warmup = self.warmup_intervals();
        let (measured_secs, warmup_secs) = (self.measured_secs(), self.warmup_secs());
        let series = self
            .endpoints
            .iter_mut()
            .map(|e| (&e.name, &e.intervals, &mut e.summary, &mut e.warmup))
            .chain(
                self.scenarios
                    .iter_mut()
                    .map(|s| (&s.name, &s.intervals, &mut s.summary, &mut s.warmup)),
            );
        for (name, intervals, summary, warmup_summary) in series {
            // One interval decoded at a time: memory does not grow with the run's length.
            let (mut w, mut m) = (SummaryBuilder::default(), SummaryBuilder::default());
            for (i, interval) in intervals.iter().enumerate() {
                let histogram = decode(interval, name, i)?;
                if interval.index < warmup {
                    w.add_counts(interval.requests, interval.error_total(), &histogram);
                } else {
                    m.add_counts(interval.requests, interval.error_total(), &histogram);
                }
            }
            *warmup_summary = w.finish(warmup_secs);
            *summary = m.finish(measured_secs);
        }
        Ok(())
    }

    /// Structural checks a hand-edited or truncated file may fail.
    fn check(&self) -> Result<(), ResultsError> {
        let invalid = |m: String| Err(ResultsError::Invalid(m));
        if self.interval_ms == 0 {
            return invalid("`interval_ms` is 0".into());
        }
        for (key, ms) in [
            ("duration_ms", self.duration_ms),
            ("load.duration_ms", self.load.duration_ms),
            ("load.warmup_ms", self.load.warmup_ms),
            ("interval_ms", self.interval_ms),
        ] {
            if ms > MAX_DURATION_MS {
                return invalid(format!(
                    "`{key}` is {ms}: expected at most {MAX_DURATION_MS} ({} days; no profile plans a run longer than 7)",
                    MAX_DURATION_MS / 86_400_000
                ));
            }
        }
        if self.load.duration_ms == 0 {
            return invalid(
                "`load.duration_ms` is 0: expected the planned length of the run (every profile plans some)"
                    .into(),
            );
        }
        // A run stopped at once may have lasted no measurable time; a complete one did not.
        if self.duration_ms == 0 && !self.partial {
            return invalid(
                "`duration_ms` is 0 in a complete run: expected the time the run took (rates are divided by it)"
                    .into(),
            );
        }
        check_unique_names("endpoints", self.endpoints.iter().map(|e| e.name.as_str()))?;
        check_unique_names("scenarios", self.scenarios.iter().map(|s| s.name.as_str()))?;
        if self.shard.count == 0
            || self.shard.indices.iter().any(|&i| i >= self.shard.count)
            || !self.shard.indices.is_sorted_by(|a, b| a < b)
            || self.shard.indices.is_empty()
        {
            return invalid(format!(
                "`shard` is {:?} of {}: indices must be distinct, ascending and below the count",
                self.shard.indices, self.shard.count
            ));
        }
        for endpoint in &self.endpoints {
            check_intervals(&endpoint.name, &endpoint.intervals)?;
        }
        for scenario in &self.scenarios {
            let series = format!("scenario `{}`", crate::untrusted::quote(&scenario.name));
            check_counts(&series, &scenario.intervals)?;
        }
        let mut planned: u64 = 0;
        for g in &self.generator.intervals {
            for (key, n) in [
                ("planned", g.planned),
                ("sent", g.sent),
                ("dropped", g.dropped),
                ("users", g.users),
                ("target_users", g.target_users),
            ] {
                if n > MAX_COUNT {
                    return invalid(format!(
                        "`generator.intervals` interval {} has `{key}` {n}: expected at most {MAX_COUNT}",
                        g.index
                    ));
                }
            }
            planned = planned.saturating_add(g.planned.max(g.sent));
        }
        if planned > MAX_COUNT {
            return invalid(format!(
                "`generator.intervals` plan {planned} arrivals in all: expected at most {MAX_COUNT}"
            ));
        }
        // The file's total after each count on its own: a single count out of range is named
        // with its field.
        let mut total = 0;
        for endpoint in &self.endpoints {
            let what = || format!("endpoint `{}`", endpoint.name);
            let summaries = summary_counts(&endpoint.summary)
                .into_iter()
                .chain(summary_counts(&endpoint.warmup));
            let samples = endpoint.error_samples.iter().map(|s| s.count);
            add_counts(
                &mut total,
                endpoint
                    .intervals
                    .iter()
                    .flat_map(counts)
                    .chain(summaries)
                    .chain(samples),
                &what,
            )
            .map_err(ResultsError::Invalid)?;
        }
        for scenario in &self.scenarios {
            let what = || format!("scenario `{}`", scenario.name);
            let summaries = summary_counts(&scenario.summary)
                .into_iter()
                .chain(summary_counts(&scenario.warmup));
            add_counts(
                &mut total,
                scenario.intervals.iter().flat_map(counts).chain(summaries),
                &what,
            )
            .map_err(ResultsError::Invalid)?;
        }
        add_counts(
            &mut total,
            self.generator
                .intervals
                .iter()
                .flat_map(|g| [g.planned, g.sent, g.dropped, g.users, g.target_users]),
            &|| "`generator.intervals`".into(),
        )
        .map_err(ResultsError::Invalid)?;
        if !self
            .generator
            .intervals
            .is_sorted_by(|a, b| a.index < b.index)
        {
            return invalid("`generator.intervals` are not in ascending order".into());
        }
        check_span(
            self.generator.intervals.last().map(|g| g.index),
            "`generator.intervals`",
        )?;
        for scenario in &self.scenarios {
            let last = scenario.intervals.iter().map(|i| i.index).max();
            check_span(last, &format!("scenario `{}`", scenario.name))?;
        }
        self.generator
            .schedule_lag
            .decode()
            .map_err(|source| ResultsError::Histogram {
                path: "generator.schedule_lag".into(),
                source,
            })?;
        Ok(())
    }
}

/// Interval indices a file may hold: below 2^20. A run records at most 900 intervals (the
/// profile's `MAX_INTERVALS`); stitched and merged runs stay far below too. The
/// gate and the reports allocate and loop per interval up to the last index, so a corrupt or
/// hostile index (up to `u32::MAX`) would take gigabytes, or overflow `index + 1`.
pub(crate) const MAX_INTERVAL_INDEX: u32 = 1 << 20;

/// Refuses a last interval index at or beyond [`MAX_INTERVAL_INDEX`]; `what` names the series.
pub(crate) fn check_span(last: Option<u32>, what: &str) -> Result<(), ResultsError> {
    match last {
        Some(index) if index >= MAX_INTERVAL_INDEX => Err(ResultsError::Invalid(format!(
            "{what} has interval {index}, beyond the {MAX_INTERVAL_INDEX} intervals a run can hold"
        ))),
        _ => Ok(()),
    }
}

/// The most that all the counts of one file (requests, errors and statuses per interval, the
/// stored summaries, error samples, the generator's arrivals and users) may add up to: 2^60, a billion requests a
/// second for 36 years. No run comes near; a file beyond it is corrupt or hostile, and it is
/// refused because every sum the gate and the reports make of its counts must fit in a `u64`
/// (an overflow panics, or in a release build wraps into a wrong verdict).
pub(crate) const MAX_COUNTS: u64 = 1 << 60;

/// An interval's counts.
pub(crate) fn counts(interval: &Interval) -> impl Iterator<Item = u64> + '_ {
    std::iter::once(interval.requests)
        .chain(interval.errors.values().copied())
        .chain(interval.status.values().copied())
}

/// A stored summary's counts (the file's, not recomputed: they count towards the total too).
fn summary_counts(summary: &Summary) -> [u64; 3] {
    [summary.requests, summary.errors, summary.latency.samples]
}

/// Adds `counts` to `total`, refusing a total beyond [`MAX_COUNTS`]; `what` names the counts.
pub(crate) fn add_counts(
    total: &mut u64,
    counts: impl IntoIterator<Item = u64>,
    what: &dyn Fn() -> String,
) -> Result<(), String> {
    for count in counts {
        *total = total
            .checked_add(count)
            .filter(|&t| t <= MAX_COUNTS)
            .ok_or_else(|| {
                format!(
                    "the counts of {} take the file's total beyond 2^60: not a measurement",
                    what()
                )
            })?;
    }
    Ok(())
}

/// Most time a results file may span, in ms: 30 days (a profile plans at most 7; the rest is
/// room for drains and paused machines). Larger values are hand edits, and would overflow
/// the arithmetic on them.
pub const MAX_DURATION_MS: u64 = 30 * 86_400_000;

/// Most requests (or arrivals) a results file may count, per interval and in all: 2^53, the
/// largest count every JSON reader holds exactly (a run at the profile limit of 1,000,000/s
/// for 7 days makes about 2^39). Larger counts are hand edits, and sums of them overflow.
pub const MAX_COUNT: u64 = 1 << 53;

/// Refuses a name that appears twice in `list` (`endpoints`, `scenarios`): results are
/// matched by name (to baselines, across shards), so a second one would be silently merged.
fn check_unique_names<'a>(
    list: &str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), ResultsError> {
    let mut seen = std::collections::BTreeMap::new();
    for (i, name) in names.enumerate() {
        if let Some(first) = seen.insert(name, i) {
            return Err(ResultsError::Invalid(format!(
                "`{list}[{first}]` and `{list}[{i}]` are both named `{}`: expected every name once (each profile request has its own)",
                crate::untrusted::quote(name)
            )));
        }
    }
    Ok(())
}

/// Checks the counts of one series' intervals (`series` names it: ``endpoint `home` ``): none
/// above [`MAX_COUNT`], nor their sum.
fn check_counts(series: &str, intervals: &[Interval]) -> Result<(), ResultsError> {
    let mut total: u64 = 0;
    for interval in intervals {
        let counts = [("requests".to_string(), interval.requests)]
            .into_iter()
            .chain(
                interval
                    .errors
                    .iter()
                    .map(|(c, n)| (format!("errors.{c}"), *n)),
            )
            .chain(
                interval
                    .status
                    .iter()
                    .map(|(s, n)| (format!("status.{s}"), *n)),
            );
        for (field, n) in counts {
            if n > MAX_COUNT {
                return Err(ResultsError::Invalid(format!(
                    "{series} interval {}: `{field}` is {n}: expected at most {MAX_COUNT} (2^53)",
                    interval.index
                )));
            }
        }
        total = total.saturating_add(interval.requests);
        if total > MAX_COUNT {
            return Err(ResultsError::Invalid(format!(
                "{series}: `requests` add up to more than {MAX_COUNT} (2^53) by interval {}: expected fewer",
                interval.index
            )));
        }
    }
    Ok(())
}

/// Checks one endpoint's intervals: ascending, counts in range, histograms decode, and no
/// interval counts more latencies or errors than requests. Shared with baseline files, which
/// keep the same intervals.
pub(crate) fn check_intervals(endpoint: &str, intervals: &[Interval]) -> Result<(), ResultsError> {
    if !intervals.is_sorted_by(|a, b| a.index < b.index) {
        return Err(ResultsError::Invalid(format!(
            "intervals of endpoint `{}` are not in ascending order",
            crate::untrusted::quote(endpoint)
        )));
    }
    check_span(
        intervals.last().map(|i| i.index),
        &format!("endpoint `{}`", crate::untrusted::quote(endpoint)),
    )?;
    check_counts(
        &format!("endpoint `{}`", crate::untrusted::quote(endpoint)),
        intervals,
    )?;
    for (i, interval) in intervals.iter().enumerate() {
        let histogram = decode(interval, endpoint, i)?;
        if histogram.len() > interval.requests || interval.error_total() > interval.requests {
            return Err(ResultsError::Invalid(format!(
                "endpoint `{endpoint}` interval {} counts more latencies or errors than requests",
                interval.index
            )));
        }
    }
    Ok(())
}

pub(crate) fn decode(
    interval: &Interval,
    endpoint: &str,
    i: usize,
) -> Result<Histogram, ResultsError> {
    interval
        .latency
        .decode()
        .map_err(|source| ResultsError::Histogram {
            path: format!("endpoints[{endpoint}].intervals[{i}].latency"),
            source,
        })
}

/// Reads `format_version` without parsing the rest, so a newer file gets the upgrade message
/// rather than a confusing shape error.
pub(crate) fn probe_version(text: &str) -> Result<u64, ResultsError> {
    #[derive(Deserialize)]
    struct Probe {
        format_version: Option<serde_json::Value>,
    }
    let probe: Probe = parse_json(text)?;
    match probe.format_version {
        None => Err(ResultsError::NotResults),
        Some(v) => v.as_u64().ok_or_else(|| {
            ResultsError::Invalid(format!("`format_version` is {v}, expected a whole number"))
        }),
    }
}

/// Parses JSON, reporting the key path, line and column of the first problem.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ResultsError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let raw = strip_position(&inner.to_string());
        let message = if path == "." && !inner.is_syntax() && !inner.is_eof() {
            // The whole file has the wrong shape (a list, a number): serde would name the
            // Rust type it wanted.
            "not a JSON object: expected a loadgate file (`{ \"format_version\": 1, … }`)"
                .to_string()
        } else {
            match crate::serde_text::plain_serde(&raw, crate::serde_text::Format::Json) {
                Some((problem, expected)) => format!("{problem}, {expected}"),
                None => raw,
            }
        };
        ResultsError::Json {
            message,
            path,
            line: inner.line(),
            column: inner.column(),
        }
    })
}

/// serde_json appends " at line L column C"; the error prints its own position.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
