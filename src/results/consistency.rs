//! Structural checks on a parsed results file, which a hand-edited, truncated or hostile file
//! may fail: spans and counts in range, names unique, intervals ascending, histograms decoding.

use super::read::decode;
use super::{Interval, ResultsError, RunResult};
use crate::metrics::Summary;

impl RunResult {
    /// Structural checks a hand-edited or truncated file may fail.
    pub(super) fn check(&self) -> Result<(), ResultsError> {
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
