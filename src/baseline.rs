//! The baseline file (`baselines/<profile>.json`): the last N trusted runs of a profile, each
//! with its commit, date, runner class and per-endpoint interval histograms of the measured phase.
//!
//! Versioned by `format_version` (JSON Schema in `schemas/baseline.v1.schema.json`); readers
//! refuse newer versions. Runs are kept oldest first in a rolling window. Only complete, trusted
//! runs enter a baseline. A results file also reads as a one-run baseline, so any two results
//! files can be compared. Pure: parsing and printing work on strings; the app does the I/O.

pub mod store;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::HistogramError;
use crate::results::capacity::{Capacity, Estimate};
use crate::results::validity;
use crate::results::{self, GitRef, Interval, ProfileRef, ResultsError, RunResult, Runner, Tool};

/// The newest baseline format this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;

/// Runs kept when neither `--keep` nor the profile's `gate.baseline_runs` says otherwise.
pub const DEFAULT_KEEP: u32 = 10;

/// A baseline: recent trusted runs of one profile (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Version of this format; readers refuse versions newer than they know.
    pub format_version: u32,
    /// The profile the runs measured (name and hash; a run of another hash starts a new window).
    pub profile: ProfileRef,
    /// The runs, oldest first.
    pub runs: Vec<BaselineRun>,
}

/// One run of a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineRun {
    /// The commit it measured, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitRef>,
    /// Start of the load, RFC 3339 UTC.
    pub started_at: String,
    /// The machine class; comparisons only use runs of the current run's class.
    pub runner: Runner,
    /// The tool that measured it.
    pub tool: Tool,
    /// Width of every recording interval, in ms.
    pub interval_ms: u64,
    /// Warm-up at the start, in ms (its intervals are not kept).
    pub warmup_ms: u64,
    /// Wall time of the whole run, in ms.
    pub duration_ms: u64,
    /// Per endpoint: the intervals of the measured phase.
    pub endpoints: Vec<BaselineEndpoint>,
    /// A capacity search's sustainable rate (absent for other runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Estimate>,
}

/// One endpoint of a baseline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineEndpoint {
    /// The request's `name` in the profile.
    pub name: String,
    /// Intervals of the measured phase (indices count from the start of the run, as in results).
    pub intervals: Vec<Interval>,
}

/// What [`Baseline::append`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Runs in the baseline now.
    pub runs: usize,
    /// Oldest runs dropped to keep the window.
    pub dropped: usize,
    /// Runs discarded because the profile changed (its hash), or because of `--reset`.
    pub restarted: Option<Restart>,
}

/// Why a baseline started afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// The profile's load-shaping parts changed: old runs can never be compared again.
    ProfileChanged {
        /// Hash of the old runs.
        old: String,
        /// Hash of the new run.
        new: String,
        /// Runs discarded.
        discarded: usize,
    },
    /// Asked for with `--reset`.
    Reset {
        /// Runs discarded.
        discarded: usize,
    },
}

/// A baseline file could not be read, or a run cannot enter it.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
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
    /// Neither a baseline nor a results file.
    #[error(
        "not a loadgate baseline: no `format_version` key (create one with `loadgate baseline update RESULTS --baseline FILE`)"
    )]
    NotBaseline,
    /// Written by a newer loadgate.
    #[error(
        "baseline `format_version` {found} is newer than this loadgate reads ({FORMAT_VERSION}): upgrade loadgate"
    )]
    FutureVersion {
        /// The version in the file.
        found: u64,
    },
    /// Parsed, but inconsistent (hand-edited or truncated).
    #[error("baseline is inconsistent: {0}")]
    Invalid(String),
    /// A histogram inside could not be decoded.
    #[error("baseline has a broken histogram at `{path}`: {source}")]
    Histogram {
        /// Where.
        path: String,
        /// Why.
        #[source]
        source: HistogramError,
    },
    /// A results file given where a baseline was expected is itself invalid.
    #[error("results file used as a baseline: {0}")]
    Results(#[source] ResultsError),
    /// The run stopped early.
    #[error("refusing a partial run ({reason}): only complete runs enter a baseline")]
    Partial {
        /// Why it is partial.
        reason: String,
    },
    /// Not every shard is present.
    #[error(
        "refusing incomplete shard results ({present} of {count} shards): merge every shard with `loadgate merge` first"
    )]
    IncompleteShards {
        /// Shards present.
        present: usize,
        /// Shards of the load.
        count: u32,
    },
    /// The generator did not keep to its schedule, or the run measured nothing.
    #[error("refusing an untrusted run: {0}")]
    Untrusted(String),
    /// The run is of another profile.
    #[error(
        "the baseline is for profile `{baseline}` but the run is of `{run}`: use `baselines/{run}.json`"
    )]
    OtherProfile {
        /// The baseline's profile.
        baseline: String,
        /// The run's profile.
        run: String,
    },
    /// The run is of another runner class.
    #[error(
        "the baseline holds runs of runner class `{baseline}` but the run is of `{run}`: record it in another baseline file, or pass `--reset` to start this one afresh"
    )]
    OtherRunnerClass {
        /// The baseline's class.
        baseline: String,
        /// The run's class.
        run: String,
    },
    /// The same run is already in the baseline.
    #[error("the run started at `{started_at}` is already in the baseline")]
    AlreadyRecorded {
        /// Its start time.
        started_at: String,
    },
}

impl Baseline {
    /// An empty baseline for a profile.
    pub fn new(profile: &ProfileRef) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            profile: ProfileRef {
                name: profile.name.clone(),
                hash: profile.hash.clone(),
                path: None,
            },
            runs: Vec::new(),
        }
    }

    /// Parses and checks a baseline file's text. A results file reads as a baseline of its one
    /// run (refused like `baseline update` refuses it when it is partial or untrusted).
    pub fn from_json(text: &str) -> Result<Self, BaselineError> {
        let probe = probe(text)?;
        if probe.is_results {
            let result = RunResult::from_json(text).map_err(BaselineError::Results)?;
            let mut baseline = Baseline::new(&result.profile);
            baseline.runs.push(BaselineRun::from_result(&result)?);
            return Ok(baseline);
        }
        if probe.version > u64::from(FORMAT_VERSION) {
            return Err(BaselineError::FutureVersion {
                found: probe.version,
            });
        }
        if probe.version == 0 {
            return Err(BaselineError::Invalid(
                "`format_version` is 0: expected 1 or later (the first baseline format is 1)"
                    .into(),
            ));
        }
        let baseline: Baseline = results::parse_json(text).map_err(from_results_error)?;
        baseline.check()?;
        Ok(baseline)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("baselines serialize to JSON");
        text.push('\n');
        text
    }

    /// The JSON Schema of this format.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Baseline)).expect("schema serializes")
    }

    /// Appends a run, keeping the newest `keep` runs. A run of another profile hash discards
    /// the old runs (they can never be compared again); `reset` discards them on request.
    pub fn append(
        &mut self,
        run: BaselineRun,
        profile: &ProfileRef,
        keep: u32,
        reset: bool,
    ) -> Result<Appended, BaselineError> {
        if profile.name != self.profile.name {
            return Err(BaselineError::OtherProfile {
                baseline: self.profile.name.clone(),
                run: profile.name.clone(),
            });
        }
        let mut restarted = None;
        if reset {
            restarted = Some(Restart::Reset {
                discarded: self.runs.len(),
            });
            self.runs.clear();
        } else if profile.hash != self.profile.hash {
            restarted = Some(Restart::ProfileChanged {
                old: self.profile.hash.clone(),
                new: profile.hash.clone(),
                discarded: self.runs.len(),
            });
            self.runs.clear();
        }
        self.profile.hash.clone_from(&profile.hash);
        if let Some(last) = self.runs.last()
            && last.runner.class != run.runner.class
        {
            return Err(BaselineError::OtherRunnerClass {
                baseline: last.runner.class.clone(),
                run: run.runner.class.clone(),
            });
        }
        if self
            .runs
            .iter()
            .any(|r| r.started_at == run.started_at && r.git == run.git)
        {
            return Err(BaselineError::AlreadyRecorded {
                started_at: run.started_at,
            });
        }
        self.runs.push(run);
        let keep = keep.max(1) as usize;
        let dropped = self.runs.len().saturating_sub(keep);
        self.runs.drain(..dropped);
        Ok(Appended {
            runs: self.runs.len(),
            dropped,
            restarted,
        })
    }

    /// Structural checks a hand-edited or truncated file may fail.
    fn check(&self) -> Result<(), BaselineError> {
        let invalid = |m: String| Err(BaselineError::Invalid(m));
        if self.profile.name.is_empty() || self.profile.hash.is_empty() {
            return invalid("`profile.name` and `profile.hash` must not be empty".into());
        }
        let mut total = 0;
        for (r, run) in self.runs.iter().enumerate() {
            for endpoint in &run.endpoints {
                let what = || format!("`runs[{r}]` endpoint `{}`", endpoint.name);
                results::add_counts(
                    &mut total,
                    endpoint.intervals.iter().flat_map(results::counts),
                    &what,
                )
                .map_err(BaselineError::Invalid)?;
            }
        }
        for (r, run) in self.runs.iter().enumerate() {
            if run.interval_ms == 0 {
                return invalid(format!("`runs[{r}].interval_ms` is 0"));
            }
            if run.endpoints.is_empty() {
                return invalid(format!("`runs[{r}]` has no endpoints"));
            }
            let warmup = run.warmup_intervals();
            for endpoint in &run.endpoints {
                results::check_intervals(&endpoint.name, &endpoint.intervals).map_err(
                    |e| match e {
                        ResultsError::Histogram { path, source } => BaselineError::Histogram {
                            path: format!("runs[{r}].{path}"),
                            source,
                        },
                        ResultsError::Invalid(m) => {
                            BaselineError::Invalid(format!("`runs[{r}]`: {m}"))
                        }
                        other => BaselineError::Invalid(format!("`runs[{r}]`: {other}")),
                    },
                )?;
                if endpoint.intervals.iter().any(|i| i.index < warmup) {
                    return invalid(format!(
                        "`runs[{r}]` endpoint `{}` holds warm-up intervals",
                        endpoint.name
                    ));
                }
            }
        }
        Ok(())
    }
}

impl BaselineRun {
    /// The run of a results file, refusing partial, incomplete and untrusted runs.
    pub fn from_result(result: &RunResult) -> Result<Self, BaselineError> {
        if result.partial {
            return Err(BaselineError::Partial {
                reason: result
                    .partial_reason
                    .clone()
                    .unwrap_or_else(|| "stopped early".into()),
            });
        }
        if !result.shard.is_complete() {
            return Err(BaselineError::IncompleteShards {
                present: result.shard.indices.len(),
                count: result.shard.count,
            });
        }
        let problems: Vec<String> = validity::run_checks(result)
            .into_iter()
            .filter(|c| c.status == crate::results::checks::CheckStatus::Failed)
            .map(|c| c.detail)
            .collect();
        if !problems.is_empty() {
            return Err(BaselineError::Untrusted(problems.join("; ")));
        }
        Ok(Self {
            git: result.git.clone(),
            started_at: result.started_at.clone(),
            runner: result.runner.clone(),
            tool: result.tool.clone(),
            interval_ms: result.interval_ms,
            warmup_ms: result.load.warmup_ms,
            duration_ms: result.duration_ms,
            endpoints: result
                .endpoints
                .iter()
                .map(|e| BaselineEndpoint {
                    name: e.name.clone(),
                    intervals: e
                        .intervals
                        .iter()
                        .filter(|i| !result.is_warmup(i.index))
                        .cloned()
                        .collect(),
                })
                .collect(),
            capacity: result.capacity.as_ref().and_then(Capacity::estimate),
        })
    }

    /// Number of warm-up intervals at the start of the run.
    pub fn warmup_intervals(&self) -> u32 {
        if self.interval_ms == 0 {
            return 0;
        }
        self.warmup_ms.div_ceil(self.interval_ms) as u32
    }
}

struct Probe {
    version: u64,
    is_results: bool,
}

/// Reads `format_version` and tells a results file from a baseline without parsing the rest.
fn probe(text: &str) -> Result<Probe, BaselineError> {
    #[derive(Deserialize)]
    struct Keys {
        format_version: Option<serde_json::Value>,
        runs: Option<serde::de::IgnoredAny>,
        endpoints: Option<serde::de::IgnoredAny>,
    }
    let keys: Keys = results::parse_json(text).map_err(from_results_error)?;
    let version = match keys.format_version {
        None => return Err(BaselineError::NotBaseline),
        Some(v) => v.as_u64().ok_or_else(|| {
            BaselineError::Invalid(format!("`format_version` is {v}, expected a whole number"))
        })?,
    };
    Ok(Probe {
        version,
        is_results: keys.runs.is_none() && keys.endpoints.is_some(),
    })
}

fn from_results_error(e: ResultsError) -> BaselineError {
    match e {
        ResultsError::Json {
            message,
            path,
            line,
            column,
        } => BaselineError::Json {
            message,
            path,
            line,
            column,
        },
        other => BaselineError::Results(other),
    }
}
