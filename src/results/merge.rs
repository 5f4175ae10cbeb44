//! Merging shard results: histograms and counts add exactly, so the merged p99 is the p99 of
//! every request of every shard.
//!
//! Shards must come from the same profile (name and hash), the same split (shard count), the
//! same recording interval and the same runner class, and no shard may appear twice. Their
//! intervals are added by index, so shards must also have started together: within one
//! interval of each other unless the caller accepts more (`--max-skew`); `--start-at` gives
//! every shard the same start.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Histogram;
use crate::metrics::{EncodedHistogram, ErrorSamples};
use crate::results::{GeneratorRecord, Interval, ResultsError, RunResult};

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no results to merge")]
    Empty,
    /// The files disagree on something that must match.
    #[error("cannot merge: {0}")]
    Mismatch(String),
    /// A histogram could not be decoded.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// Merges shard results into one (see the module docs); messages name the parts by their
/// position (`results #2`). [`merge_files`] names them by file.
pub fn merge(parts: Vec<RunResult>) -> Result<RunResult, MergeError> {
    merge_files(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("results #{}", i + 1), p))
            .collect(),
    )
}

/// Merges shard results, each with the name of its file for messages; their starts may lie one
/// interval apart.
pub fn merge_files(parts: Vec<(String, RunResult)>) -> Result<RunResult, MergeError> {
    merge_files_within(parts, None).map(|(merged, _)| merged)
}

/// [`merge_files`] accepting starts up to `max_skew` apart (`None`: one interval); with how far
/// apart the shards' starts were.
pub fn merge_files_within(
    mut parts: Vec<(String, RunResult)>,
    max_skew: Option<Duration>,
) -> Result<(RunResult, Duration), MergeError> {
    parts.sort_by_key(|(_, p)| p.shard.indices.first().copied());
    let starts = Starts::of(&parts)?;
    let mut iter = parts.into_iter();
    let (first_name, mut merged) = iter.next().ok_or(MergeError::Empty)?;
    let first = Plan::of(&merged);
    for (name, part) in iter {
        check_compatible(&merged, &part).map_err(|what| {
            MergeError::Mismatch(format!(
                "`{}` and `{}`: {what}",
                crate::untrusted::quote(&first_name),
                crate::untrusted::quote(&name)
            ))
        })?;
        first.check_same(&Plan::of(&part)).map_err(|what| {
            MergeError::Mismatch(format!(
                "`{}` and `{}`: {what}",
                crate::untrusted::quote(&first_name),
                crate::untrusted::quote(&name)
            ))
        })?;
        add(&mut merged, part)?;
    }
    // After the checks above, which name a more particular difference (another plan, say).
    let skew = starts.check(max_skew, Duration::from_millis(merged.interval_ms))?;
    merged.refresh_summaries()?;
    Ok((merged, skew))
}

/// When each shard started, parsed before the merge: (start, file, shards, `started_at`).
struct Starts(Vec<(std::time::SystemTime, String, String, String)>);

impl Starts {
    fn of(parts: &[(String, RunResult)]) -> Result<Self, MergeError> {
        let mut starts = Vec::with_capacity(parts.len());
        for (name, part) in parts {
            let at = humantime::parse_rfc3339_weak(&part.started_at).map_err(|e| {
                MergeError::Mismatch(format!(
                    "`{}`: `started_at` is `{}` ({e}): expected an RFC 3339 time like `2026-12-03T14:05:00.000Z`",
                    crate::untrusted::quote(name),
                    crate::untrusted::quote(&part.started_at)
                ))
            })?;
            let shards = part
                .shard
                .indices
                .iter()
                .map(|i| format!("shard {}/{}", i + 1, part.shard.count))
                .collect::<Vec<_>>()
                .join(", ");
            starts.push((at, name.clone(), shards, part.started_at.clone()));
        }
        starts.sort_by_key(|(at, ..)| *at);
        Ok(Starts(starts))
    }

    /// How far apart the starts lie; an error past `max_skew` (default: one `interval`),
    /// naming the earliest and the latest shard and the two ways out.
    fn check(
        &self,
        max_skew: Option<Duration>,
        interval: Duration,
    ) -> Result<Duration, MergeError> {
        let (Some(first), Some(last)) = (self.0.first(), self.0.last()) else {
            return Ok(Duration::ZERO);
        };
        let skew = last.0.duration_since(first.0).unwrap_or_default();
        if skew <= max_skew.unwrap_or(interval) {
            return Ok(skew);
        }
        let who =
            |(_, name, shards, started_at): &(std::time::SystemTime, String, String, String)| {
                format!(
                    "{shards} at {} in `{}`",
                    crate::untrusted::quote(started_at),
                    crate::untrusted::quote(name)
                )
            };
        let limit = match max_skew {
            Some(d) => format!("more than `--max-skew` {}", format_gap(d)),
            None => format!(
                "more than one recording interval ({})",
                format_gap(interval)
            ),
        };
        Err(MergeError::Mismatch(format!(
            "the shards started {} apart ({}; {}), {limit}: their intervals would be added out of step. Start every shard at one time with `--start-at` (action input `start-at`), or accept the skew with `--max-skew {}s` (action input `max-skew`)",
            format_gap(skew),
            who(first),
            who(last),
            skew.as_secs() + 1
        )))
    }
}

/// `2.3s` below a minute, `1h30m` beyond.
fn format_gap(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        crate::format::format_duration(Duration::from_secs(d.as_secs()))
    }
}

/// The timing every shard of one run shares: the plan, and for a complete shard the time it
/// took (each shard runs the whole schedule; they differ only by how long the last requests
/// took to finish).
struct Plan {
    planned: Duration,
    warmup: Duration,
    /// The wall time of a complete shard (`None` for a partial one, which stopped early).
    took: Option<Duration>,
}

/// How much longer than another one complete shard may have taken, besides a tenth of the
/// plan for a slow start: the longest request timeout, to drain.
const DRAIN_ALLOWANCE: Duration = Duration::from_secs(600);

impl Plan {
    fn of(r: &RunResult) -> Self {
        Plan {
            planned: Duration::from_millis(r.load.duration_ms),
            warmup: Duration::from_millis(r.load.warmup_ms),
            took: (!r.partial).then(|| Duration::from_millis(r.duration_ms)),
        }
    }

    fn check_same(&self, other: &Plan) -> Result<(), String> {
        let secs = |d: Duration| format!("{:.1}s", d.as_secs_f64());
        if self.planned != other.planned {
            return Err(format!(
                "the planned length of the run (`load.duration_ms`) differs: {} and {} (shards of one run share one plan)",
                secs(self.planned),
                secs(other.planned)
            ));
        }
        if self.warmup != other.warmup {
            return Err(format!(
                "the warm-up (`load.warmup_ms`) differs: {} and {} (shards of one run share one plan)",
                secs(self.warmup),
                secs(other.warmup)
            ));
        }
        if let (Some(a), Some(b)) = (self.took, other.took)
            && a.abs_diff(b) > DRAIN_ALLOWANCE + self.planned / 10
        {
            return Err(format!(
                "the time the shards took (`duration_ms`) differs: {} and {}, though both completed the same {} plan (were they runs of different lengths?)",
                secs(a),
                secs(b),
                secs(self.planned)
            ));
        }
        Ok(())
    }
}

fn check_compatible(a: &RunResult, b: &RunResult) -> Result<(), String> {
    let mismatch = |what: &str, x: &dyn std::fmt::Display, y: &dyn std::fmt::Display| {
        Err(format!(
            "{what} differs: `{}` and `{}`",
            crate::untrusted::quote(&x.to_string()),
            crate::untrusted::quote(&y.to_string())
        ))
    };
    if a.profile.name != b.profile.name {
        return mismatch("profile name", &a.profile.name, &b.profile.name);
    }
    if a.profile.hash != b.profile.hash {
        return mismatch(
            "profile hash (the profiles differ)",
            &a.profile.hash,
            &b.profile.hash,
        );
    }
    if a.shard.count != b.shard.count {
        return mismatch("shard count", &a.shard.count, &b.shard.count);
    }
    if a.interval_ms != b.interval_ms {
        return mismatch("interval", &a.interval_ms, &b.interval_ms);
    }
    if a.runner.class != b.runner.class {
        return mismatch("runner class", &a.runner.class, &b.runner.class);
    }
    if let Some(dup) = b.shard.indices.iter().find(|i| a.shard.indices.contains(i)) {
        return Err(format!("shard {}/{} appears twice", dup + 1, a.shard.count));
    }
    let names = |r: &RunResult| {
        r.endpoints
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>()
    };
    if names(a) != names(b) {
        return Err("the endpoints differ".into());
    }
    let journeys = |r: &RunResult| {
        r.scenarios
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    if journeys(a) != journeys(b) {
        return Err("the scenarios differ".into());
    }
    Ok(())
}

fn add(into: &mut RunResult, part: RunResult) -> Result<(), MergeError> {
    into.shard.indices.extend(&part.shard.indices);
    into.shard.indices.sort_unstable();
    into.partial |= part.partial;
    if into.partial_reason.is_none() {
        into.partial_reason = part.partial_reason;
    }
    into.duration_ms = into.duration_ms.max(part.duration_ms);
    if part.started_at < into.started_at {
        into.started_at = part.started_at;
    }
    into.runner.cpus += part.runner.cpus;
    let mut samples = ErrorSamples::from_results(
        into.endpoints
            .iter_mut()
            .map(|e| std::mem::take(&mut e.error_samples)),
    );
    samples.merge(ErrorSamples::from_results(
        part.endpoints.iter().map(|e| e.error_samples.clone()),
    ));
    for (i, (mine, theirs)) in into.endpoints.iter_mut().zip(part.endpoints).enumerate() {
        mine.intervals = add_intervals(std::mem::take(&mut mine.intervals), theirs.intervals)?;
        mine.error_samples = samples.take(i);
    }
    for (mine, theirs) in into.scenarios.iter_mut().zip(part.scenarios) {
        mine.intervals = add_intervals(std::mem::take(&mut mine.intervals), theirs.intervals)?;
    }
    let mut generator: BTreeMap<u32, GeneratorRecord> = into
        .generator
        .intervals
        .drain(..)
        .map(|g| (g.index, g))
        .collect();
    for g in part.generator.intervals {
        generator
            .entry(g.index)
            .and_modify(|m| {
                let mut counts = m.counts();
                counts.add(&g.counts());
                *m = GeneratorRecord::from((g.index, counts));
            })
            .or_insert(g);
    }
    into.generator.intervals = generator.into_values().collect();
    let mut lag = decode(&into.generator.schedule_lag, "generator.schedule_lag")?;
    lag.add(&decode(
        &part.generator.schedule_lag,
        "generator.schedule_lag",
    )?);
    into.generator.schedule_lag = EncodedHistogram::encode(&lag);
    into.generator.peak_in_flight += part.generator.peak_in_flight;
    Ok(())
}

fn add_intervals(a: Vec<Interval>, b: Vec<Interval>) -> Result<Vec<Interval>, MergeError> {
    let mut by_index: BTreeMap<u32, Interval> = a.into_iter().map(|i| (i.index, i)).collect();
    for theirs in b {
        match by_index.get_mut(&theirs.index) {
            None => {
                by_index.insert(theirs.index, theirs);
            }
            Some(mine) => {
                mine.requests += theirs.requests;
                for (class, n) in theirs.errors {
                    *mine.errors.entry(class).or_default() += n;
                }
                for (code, n) in theirs.status {
                    *mine.status.entry(code).or_default() += n;
                }
                let mut h = decode(&mine.latency, "latency")?;
                h.add(&decode(&theirs.latency, "latency")?);
                mine.latency = EncodedHistogram::encode(&h);
            }
        }
    }
    Ok(by_index.into_values().collect())
}

fn decode(h: &EncodedHistogram, path: &str) -> Result<Histogram, MergeError> {
    h.decode().map_err(|source| {
        MergeError::Results(ResultsError::Histogram {
            path: path.to_string(),
            source,
        })
    })
}
