//! The terminal summary table printed at the end of a run, and the live progress line.
//! Names, the target and error messages come from profiles, results files and the target:
//! they are shown through [`crate::untrusted`] (control characters escaped, names cut).

use std::fmt::Write as _;

use crate::format::{count, latency_opt, latency_us, percent, rate};
use crate::metrics::IntervalProgress;
use crate::metrics::{Histogram, LatencySummary};
use crate::profile::units::format_duration;
use crate::results::{LoadModel, RunResult};
use crate::untrusted::{escape, quote};

/// The per-endpoint summary of a run (measured phase), with generator health.
pub fn summary(result: &RunResult) -> String {
    let mut out = String::new();
    let model = match result.load.model {
        LoadModel::Open => "open model",
        LoadModel::Closed => "closed model",
    };
    let _ = write!(
        out,
        "{} · {} · {} measured",
        quote(&result.profile.name),
        quote(&result.target),
        seconds(result.duration_ms.saturating_sub(result.load.warmup_ms)),
    );
    if result.load.warmup_ms > 0 {
        let _ = write!(
            out,
            " (+{} warm-up)",
            format_duration(std::time::Duration::from_millis(result.load.warmup_ms))
        );
    }
    let _ = write!(out, " · {model}");
    if result.shard.count > 1 {
        let shards: Vec<String> = result
            .shard
            .indices
            .iter()
            .map(|i| (i + 1).to_string())
            .collect();
        let _ = write!(
            out,
            " · shard {} of {}",
            shards.join(","),
            result.shard.count
        );
    }
    if result.partial {
        let _ = write!(
            out,
            " · PARTIAL ({})",
            escape(result.partial_reason.as_deref().unwrap_or("stopped early"))
        );
    }
    out.push('\n');
    let header = [
        "endpoint", "requests", "rate", "errors", "p50", "p90", "p95", "p99", "max",
    ];
    let mut rows: Vec<[String; 9]> = Vec::new();
    let mut all = Histogram::new();
    let (mut total_requests, mut total_errors) = (0, 0);
    for e in &result.endpoints {
        let s = &e.summary;
        rows.push(row(
            &quote(&e.name),
            s.requests,
            s.rate_per_sec,
            s.errors,
            s.error_ratio,
            &s.latency,
        ));
        total_requests += s.requests;
        total_errors += s.errors;
        if let Ok(h) = result.measured_histogram(e) {
            all.add(&h);
        }
    }
    if result.endpoints.len() > 1 {
        let secs = result.measured_secs();
        let ratio = if total_requests == 0 {
            0.0
        } else {
            total_errors as f64 / total_requests as f64
        };
        rows.push(row(
            "all",
            total_requests,
            if secs > 0.0 {
                total_requests as f64 / secs
            } else {
                0.0
            },
            total_errors,
            ratio,
            &LatencySummary::of(&all),
        ));
    }
    let columns = crate::format::Columns::fit(&header, &rows, |c, _| c == 0);
    let header: Vec<String> = header.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "{}", columns.line(&header));
    for (i, r) in rows.iter().enumerate() {
        if i + 1 == rows.len() && result.endpoints.len() > 1 {
            let _ = writeln!(out, "{}", "─".repeat(columns.total_width()));
        }
        let _ = writeln!(out, "{}", columns.line(r));
    }
    if !result.scenarios.is_empty() {
        out.push_str(&scenario_table(result));
    }
    for e in &result.endpoints {
        for s in e.error_samples.iter().take(3) {
            let _ = writeln!(
                out,
                "  {} · {} × {}: {}",
                quote(&e.name),
                count(s.count),
                s.class,
                escape(&s.message)
            );
        }
    }
    let _ = writeln!(out, "{}", generator_line(result));
    out
}

/// Milliseconds as seconds, whole when close to whole (`30s`, `12.5s`).
fn seconds(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if (s - s.round()).abs() < 0.05 {
        format!("{:.0}s", s.round())
    } else {
        format!("{s:.1}s")
    }
}

fn row(
    name: &str,
    requests: u64,
    rps: f64,
    errors: u64,
    ratio: f64,
    l: &LatencySummary,
) -> [String; 9] {
    [
        name.to_string(),
        count(requests),
        rate(rps),
        if errors == 0 {
            "0".into()
        } else {
            format!("{} ({})", count(errors), percent(ratio))
        },
        latency_opt(l.p50_us),
        latency_opt(l.p90_us),
        latency_opt(l.p95_us),
        latency_opt(l.p99_us),
        latency_opt(l.max_us),
    ]
}

/// Scenario totals: iterations that ended, failed, and how long they took end to end.
fn scenario_table(result: &RunResult) -> String {
    let header = [
        "scenario",
        "iterations",
        "failed",
        "p50",
        "p95",
        "p99",
        "max",
    ];
    let mut rows: Vec<[String; 7]> = Vec::new();
    for s in &result.scenarios {
        let sm = &s.summary;
        rows.push([
            quote(&s.name).into_owned(),
            count(sm.requests),
            if sm.errors == 0 {
                "0".into()
            } else {
                format!("{} ({})", count(sm.errors), percent(sm.error_ratio))
            },
            latency_opt(sm.latency.p50_us),
            latency_opt(sm.latency.p95_us),
            latency_opt(sm.latency.p99_us),
            latency_opt(sm.latency.max_us),
        ]);
    }
    crate::format::table(&header, &rows, |c, _| c == 0)
}

/// Generator health in one line.
pub fn generator_line(result: &RunResult) -> String {
    let g = result.generator_totals();
    let lag = result.generator.schedule_lag.decode().ok();
    let lag_p99 = lag
        .as_ref()
        .and_then(|h| h.quantile_us(0.99))
        .map_or_else(|| "—".into(), latency_us);
    match result.load.model {
        LoadModel::Open => format!(
            "generator: {} of {} planned arrivals sent ({}), {} dropped at the in-flight cap, schedule lag p99 {lag_p99}, peak in flight {}",
            count(g.sent),
            count(g.planned),
            percent(g.achieved_ratio()),
            count(g.dropped),
            count(result.generator.peak_in_flight),
        ),
        LoadModel::Closed => {
            let peak_users = result
                .generator
                .intervals
                .iter()
                .map(|g| g.users)
                .max()
                .unwrap_or(0);
            format!(
                "generator: {} requests started, up to {} users, peak in flight {}",
                count(g.sent),
                count(peak_users),
                count(result.generator.peak_in_flight)
            )
        }
    }
}

/// One progress line for a finished interval.
pub fn progress_line(
    p: &IntervalProgress,
    interval_secs: f64,
    total_secs: f64,
    warmup: bool,
) -> String {
    // Intervals past the plan hold the drain: requests that were in flight at its end.
    let draining = f64::from(p.index) * interval_secs >= total_secs - 1e-9;
    let elapsed = (f64::from(p.index + 1) * interval_secs).min(total_secs);
    let mut line = format!(
        "{:>5.0}s/{:.0}s  {:>9}  p50 {:>7}  p99 {:>7}  errors {}",
        elapsed,
        total_secs,
        rate(p.requests as f64 / interval_secs),
        latency_opt(p.latency.quantile_us(0.5)),
        latency_opt(p.latency.quantile_us(0.99)),
        count(p.errors),
    );
    if p.generator.planned > 0 {
        let _ = write!(
            line,
            "  sent {}/{}",
            count(p.generator.sent),
            count(p.generator.planned)
        );
    }
    if p.generator.dropped > 0 {
        let _ = write!(line, "  dropped {}", count(p.generator.dropped));
    }
    if p.generator.users > 0 || p.generator.target_users > 0 {
        let _ = write!(line, "  users {}", count(p.generator.users));
    }
    if warmup {
        line.push_str("  (warm-up)");
    }
    if draining {
        line.push_str("  (finishing requests in flight)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::GeneratorInterval;

    fn interval(index: u32, users: u64) -> IntervalProgress {
        IntervalProgress {
            index,
            requests: 10,
            errors: 0,
            latency: Histogram::new(),
            generator: GeneratorInterval {
                users,
                target_users: users,
                ..GeneratorInterval::default()
            },
            endpoints: Vec::new(),
        }
    }

    #[test]
    fn the_progress_line_never_counts_past_the_plan() {
        let last = progress_line(&interval(14, 20), 1.0, 15.0, false);
        assert!(last.trim_start().starts_with("15s/15s"), "{last}");
        assert!(!last.contains("finishing"), "{last}");
        // A closed model's users finish their last requests after the plan: the drain.
        let drain = progress_line(&interval(15, 20), 1.0, 15.0, false);
        assert!(drain.trim_start().starts_with("15s/15s"), "{drain}");
        assert!(drain.ends_with("(finishing requests in flight)"), "{drain}");
        let warm = progress_line(&interval(0, 5), 1.0, 15.0, true);
        assert!(
            warm.trim_start().starts_with("1s/15s") && warm.ends_with("(warm-up)"),
            "{warm}"
        );
    }
}
