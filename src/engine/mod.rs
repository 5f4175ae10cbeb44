//! The load engine: sends the profile's requests on schedule and records every outcome.
//!
//! `run` starts one OS thread per engine thread, each with its own single-threaded tokio
//! runtime, connections and recorder ([`worker`]); a collector on the caller's runtime merges
//! their intervals as they close ([`collector`]). Schedules are pure ([`schedule`]); requests
//! are prepared once ([`request`]). Plain HTTP/1.1 goes through loadgate's own client
//! ([`h1`]: the task that sends a request reads its response, no connection task or channel);
//! HTTPS and HTTP/2 use hyper's connection API over rustls ([`client`]). Connections are kept
//! per thread and origin, or per user with `http.connections: per_user` ([`pool`]); requests
//! are sent and their outcomes classified in [`exchange`]; the open model's arrivals run on
//! reusable tasks (`runner`).

pub mod client;
pub mod collector;
pub mod exchange;
pub mod h1;
mod pending;
pub mod pool;
pub mod probe;
pub mod request;
mod runner;
pub mod schedule;
pub mod setup;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use crate::metrics::EncodedHistogram;
use crate::profile::{Load, LoadModel, Profile};
use crate::results::{
    EndpointResult, FORMAT_VERSION, Generator, GitRef, LoadPlan, ProfileRef, RunResult, Runner,
    ScenarioResult, Segment, Shard, Tool,
};
pub use collector::IntervalProgress;
pub use worker::Stop;

/// Which share of a sharded load this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// 0-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl ShardSpec {
    /// The whole load.
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, count: 1 };
}

/// What the app layer knows about the run's surroundings.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// The profile file as given.
    pub profile_path: Option<String>,
    /// Commit under test.
    pub git: Option<GitRef>,
    /// Machine class.
    pub runner: Runner,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Base URL.
    pub target: String,
    /// Share of the load.
    pub shard: ShardSpec,
    /// Engine threads (`None`: chosen from the load and the CPUs).
    pub threads: Option<usize>,
    /// Surroundings for the results file.
    pub meta: RunMeta,
    /// What `setup` produced: `vars`, `auth`, secrets (see [`setup::start_session`]).
    pub session: setup::Session,
}

/// Optional parts of a run beyond [`RunOptions`]: one step of a capacity search, live gauges.
#[derive(Debug, Clone, Default)]
pub struct RunExtras {
    /// Follow this load plan instead of the profile's (a capacity search's step).
    pub load: Option<Load>,
    /// Global index of the first arrival, so data rows continue across a search's steps.
    pub first_arrival: u64,
    /// Gauges the engine threads update once per interval, for live exporters.
    pub gauges: Option<Arc<LiveGauges>>,
}

/// Values a live exporter reads while the run goes on. Engine threads update them from their
/// interval ticker, never per request, so the request path stays free of shared writes.
#[derive(Debug, Default)]
pub struct LiveGauges {
    in_flight: AtomicI64,
}

impl LiveGauges {
    /// Requests in flight across the engine threads, as of their last interval tick.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
            .load(Ordering::Relaxed)
            .max(0)
            .cast_unsigned()
    }

    pub(crate) fn add_in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }
}

/// The engine could not run at all (target errors during the run are recorded, not raised).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The target could not be resolved or the TLS setup failed.
    #[error("{0}")]
    Setup(String),
}

/// Runs the load and returns its results (marked partial when stopped early). The session
/// (setup steps, auth) has been started by the caller, so it can mask its secrets first.
pub async fn run(
    profile: Arc<Profile>,
    options: RunOptions,
    stop: Arc<Stop>,
    progress: impl FnMut(&IntervalProgress),
) -> Result<RunResult, EngineError> {
    run_with(profile, options, RunExtras::default(), stop, progress).await
}

/// [`run`] with [`RunExtras`]: another load plan (a search step), live gauges.
pub async fn run_with(
    profile: Arc<Profile>,
    options: RunOptions,
    extras: RunExtras,
    stop: Arc<Stop>,
    mut progress: impl FnMut(&IntervalProgress),
) -> Result<RunResult, EngineError> {
    let plan = Arc::new(extras.load.unwrap_or_else(|| profile.load.clone()));
    let settings = client::ClientSettings::new(
        profile.http.version,
        profile.http.connect_timeout,
        profile.http.insecure_tls,
    )
    .map_err(EngineError::Setup)?
    .with_source_addresses(&profile.http.source_addresses);
    let session = options.session;
    let prepared = Arc::new(
        request::Prepared::new(&profile, &options.target, session.auth.as_ref())
            .await
            .map_err(EngineError::Setup)?,
    );
    for o in &prepared.origins {
        crate::profile::url::check_protocol(
            profile.http.version,
            &format!("{}://{}", o.scheme, o.authority),
        )
        .map_err(EngineError::Setup)?;
    }
    let vars = Arc::new(session.vars);
    let secrets = Arc::new(session.secrets);
    let shard = options.shard;
    // The in-flight cap is exact: the shards' shares add up to it, and so do the threads'
    // (a thread never gets a share of zero: there are at most as many threads as the share).
    let shard_cap = plan
        .max_in_flight()
        .map(|cap| (cap, share_of(cap, shard.count, shard.index)));
    if let Some((cap, 0)) = shard_cap {
        return Err(EngineError::Setup(cap_too_small(cap, shard.count)));
    }
    let shard_cap = shard_cap.map(|(_, share)| share);
    let mut threads = options
        .threads
        .unwrap_or_else(|| default_threads(&plan, options.shard))
        .max(1);
    if let Some(cap) = shard_cap {
        threads = threads.min(usize::try_from(cap).unwrap_or(usize::MAX));
    }
    let lead = Duration::from_millis(20);
    let start = std::time::Instant::now() + lead;
    let started_at = SystemTime::now() + lead;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut handles = Vec::with_capacity(threads);
    for thread in 0..threads {
        let plan = worker::ThreadPlan {
            thread,
            share: schedule::Share::of(shard.index, shard.count, thread, threads),
            profile: profile.clone(),
            prepared: prepared.clone(),
            settings: settings.clone(),
            start,
            stop: stop.clone(),
            reports: tx.clone(),
            max_in_flight: shard_cap.map_or(0, |cap| share_of(cap, threads as u32, thread as u32)),
            vars: vars.clone(),
            secrets: secrets.clone(),
            load: plan.clone(),
            first_arrival: extras.first_arrival,
            gauges: extras.gauges.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("loadgate-engine-{thread}"))
            .spawn(move || worker::run_thread(plan))
            .map_err(|e| EngineError::Setup(format!("cannot start engine thread: {e}")))?;
        handles.push(handle);
    }
    drop(tx);
    let series = profile.endpoints.len() + profile.scenarios.iter().filter(|s| s.journey).count();
    let mut collector = collector::Collector::new(threads, series, profile.endpoints.len());
    while let Some(report) = rx.recv().await {
        collector.take(report, &mut progress);
        if collector.all_done() {
            break;
        }
    }
    collector.finish(&mut progress);
    let elapsed = start.elapsed();
    for h in handles {
        let _ = tokio::task::spawn_blocking(move || h.join()).await;
    }
    let partial = stop.is_triggered() || !collector.all_done();
    let mut result = RunResult {
        format_version: FORMAT_VERSION,
        tool: Tool::current(),
        profile: ProfileRef {
            name: profile.name.clone(),
            hash: profile.hash.clone(),
            path: options.meta.profile_path.clone(),
        },
        target: options.target.clone(),
        git: options.meta.git.clone(),
        runner: options.meta.runner.clone(),
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        duration_ms: elapsed.as_millis() as u64,
        partial,
        partial_reason: partial.then(|| match stop.reason() {
            Some(reason) => reason,
            None if stop.is_triggered() => "interrupted".to_string(),
            None => "an engine thread stopped unexpectedly".to_string(),
        }),
        shard: Shard {
            count: shard.count,
            indices: vec![shard.index],
        },
        load: plan_of(&plan),
        interval_ms: plan.interval.as_millis() as u64,
        endpoints: profile
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| EndpointResult {
                name: e.name.clone(),
                method: e.method.to_string(),
                url: e.url.source().to_string(),
                summary: crate::metrics::Summary::default(),
                warmup: crate::metrics::Summary::default(),
                intervals: std::mem::take(&mut collector.intervals[i]),
                error_samples: collector.samples.take(i),
            })
            .collect(),
        scenarios: profile
            .scenarios
            .iter()
            .filter(|s| s.journey)
            .enumerate()
            .map(|(j, s)| ScenarioResult {
                name: s.name.clone(),
                steps: s
                    .steps
                    .iter()
                    .map(|&i| profile.endpoints[i].name.clone())
                    .collect(),
                summary: crate::metrics::Summary::default(),
                warmup: crate::metrics::Summary::default(),
                intervals: std::mem::take(&mut collector.intervals[profile.endpoints.len() + j]),
            })
            .collect(),
        generator: Generator {
            schedule_lag: EncodedHistogram::encode(&collector.lag),
            peak_in_flight: collector.peak_in_flight,
            intervals: std::mem::take(&mut collector.generator),
        },
        capacity: None,
    };
    // The results of a finished run can only fail to summarize if a histogram failed to
    // encode, which cannot happen for histograms this process built.
    result
        .refresh_summaries()
        .map_err(|e| EngineError::Setup(format!("internal error summarizing results: {e}")))?;
    Ok(result)
}

/// The resolved plan as stored in results.
pub fn load_plan(profile: &Profile) -> LoadPlan {
    plan_of(&profile.load)
}

/// A load plan as stored in results.
pub fn plan_of(load: &Load) -> LoadPlan {
    LoadPlan {
        model: load.kind(),
        warmup_ms: load.warmup.as_millis() as u64,
        duration_ms: load.duration().as_millis() as u64,
        segments: load
            .segments
            .iter()
            .map(|s| Segment {
                start_ms: s.start.as_millis() as u64,
                duration_ms: s.duration.as_millis() as u64,
                from: s.from,
                to: s.to,
            })
            .collect(),
        max_in_flight: load.max_in_flight(),
    }
}

/// Share `index` of `total` split into `parts` as evenly as whole numbers allow (the shares
/// add up to `total` exactly).
fn share_of(total: u64, parts: u32, index: u32) -> u64 {
    let parts = u64::from(parts.max(1));
    total / parts + u64::from(u64::from(index) < total % parts)
}

/// The message when `max_in_flight` is smaller than the number of shards.
pub fn cap_too_small(max_in_flight: u64, shards: u32) -> String {
    format!(
        "`load.max_in_flight` {max_in_flight} cannot be split across {shards} shards: expected at least one request in flight per shard (raise `max_in_flight` or run fewer shards)"
    )
}

/// Enough threads for the load, no more than the CPUs: one per 5,000 req/s (open) or 250 users
/// (closed). Fewer threads mean fewer timer wake-ups at low rates.
fn default_threads(load: &Load, shard: ShardSpec) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let peak = load
        .segments
        .iter()
        .map(|s| s.from.max(s.to))
        .fold(0.0, f64::max)
        / f64::from(shard.count);
    let per_thread = match load.kind() {
        LoadModel::Open => 5000.0,
        LoadModel::Closed => 250.0,
    };
    ((peak / per_thread).ceil() as usize).clamp(1, cpus)
}

#[cfg(test)]
mod tests {
    use super::share_of;

    #[test]
    fn shares_add_up_exactly() {
        for (total, parts) in [(1, 2), (5, 2), (7, 3), (1000, 4), (3, 3), (0, 2)] {
            let shares: Vec<u64> = (0..parts).map(|i| share_of(total, parts, i)).collect();
            assert_eq!(shares.iter().sum::<u64>(), total, "{total} / {parts}");
            let (min, max) = (shares.iter().min(), shares.iter().max());
            assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{shares:?}");
        }
        assert_eq!(share_of(1, 2, 0), 1);
        assert_eq!(share_of(1, 2, 1), 0);
    }
}
