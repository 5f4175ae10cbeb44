//! `loadgate validate`: check a profile and print the resolved plan, without sending load.

use std::fmt::Write as _;

use super::run::{check_shard_count, load_profile};
use crate::cli::ValidateArgs;
use crate::engine::schedule::{Arrivals, Share};
use crate::error::{Error, ExitCode};
use crate::profile::units::{format_duration, format_rate};
use crate::profile::{Body, Limit, LoadModel, Profile, ThresholdScope};
use crate::report::format::{count, percent};

pub(super) fn validate(args: &ValidateArgs) -> Result<ExitCode, Error> {
    let profile = load_profile(&args.profile)?;
    if let Some((_, shards)) = args.shard {
        check_shard_count(&profile, shards)?;
    }
    let target = std::env::var("LOADGATE_TARGET")
        .ok()
        .filter(|t| !t.is_empty());
    print!(
        "{}",
        plan(
            &profile,
            &args.profile.display().to_string(),
            target.as_deref(),
            args.shard
        )
    );
    Ok(ExitCode::Pass)
}

/// The resolved plan, as printed by `loadgate validate`.
pub fn plan(
    profile: &Profile,
    path: &str,
    env_target: Option<&str>,
    shard: Option<(u32, u32)>,
) -> String {
    let mut out = String::new();
    let load = &profile.load;
    let _ = writeln!(out, "profile `{}` ({path}) is valid", profile.name);
    let _ = writeln!(out, "hash: {}", profile.hash);
    let _ = match (env_target, &profile.target) {
        (Some(t), _) => writeln!(out, "target: {t} (from LOADGATE_TARGET)"),
        (None, Some(t)) => writeln!(
            out,
            "target: {t} (from the profile; `--target` overrides it)"
        ),
        (None, None) => writeln!(
            out,
            "target: none yet: pass `--target URL` or set LOADGATE_TARGET"
        ),
    };
    if let Some(w) = &profile.wait_for {
        let _ = writeln!(
            out,
            "wait for: {} (up to {})",
            w.path,
            format_duration(w.timeout)
        );
    }
    let model = match load.model {
        LoadModel::Open => format!(
            "open model (arrival rate), in-flight cap {}",
            count(load.max_in_flight)
        ),
        LoadModel::Closed => {
            let think = if load.think_time.min == load.think_time.max {
                format_duration(load.think_time.min)
            } else {
                format!(
                    "{}..{}",
                    format_duration(load.think_time.min),
                    format_duration(load.think_time.max)
                )
            };
            let spawn = load
                .spawn_rate
                .map_or_else(|| "at once".into(), |r| format!("{r}/s"));
            format!("closed model (users), think time {think}, users added {spawn}")
        }
    };
    let _ = writeln!(
        out,
        "load: {model}; {} in all, warm-up {}, interval {}",
        format_duration(load.duration()),
        format_duration(load.warmup),
        format_duration(load.interval)
    );
    let _ = writeln!(out, "schedule:");
    for s in &load.segments {
        let level = |v: f64| match load.model {
            LoadModel::Open => format_rate(v),
            LoadModel::Closed => format!("{v:.0} users"),
        };
        let what = if (s.from - s.to).abs() < f64::EPSILON {
            format!("hold {}", level(s.to))
        } else {
            format!("ramp {} → {}", level(s.from), level(s.to))
        };
        let _ = writeln!(
            out,
            "  {:>7} – {:<7} {what}",
            format_duration(s.start),
            format_duration(s.start + s.duration)
        );
    }
    if load.model == LoadModel::Open {
        let total = load.total_arrivals();
        let _ = write!(out, "  {} requests in all", count(total));
        if let Some((i, n)) = shard {
            let mine = Arrivals::new(&load.segments, Share::of(i, n, 0, 1)).count();
            let _ = write!(out, "; shard {}/{n} sends {}", i + 1, count(mine as u64));
        }
        out.push('\n');
    }
    let weights: u64 = profile.endpoints.iter().map(|e| u64::from(e.weight)).sum();
    let _ = writeln!(out, "request mix:");
    for e in &profile.endpoints {
        let body = match &e.body {
            Body::Empty => String::new(),
            Body::Text(_) => " (text body)".into(),
            Body::Json { .. } => " (JSON body)".into(),
            Body::Form(_) => " (form body)".into(),
        };
        let _ = writeln!(
            out,
            "  {:>6}  {}: {} {}{body}",
            percent(f64::from(e.weight) / weights as f64),
            e.name,
            e.method,
            e.url.source()
        );
    }
    if !profile.thresholds.is_empty() {
        let _ = writeln!(out, "thresholds:");
        for t in &profile.thresholds {
            let scope = match &t.scope {
                ThresholdScope::All => "all".to_string(),
                ThresholdScope::Endpoint(n) => n.clone(),
            };
            let limits: Vec<String> = t
                .limits
                .iter()
                .map(|l| match l {
                    Limit::Latency { quantile, max } if quantile.0 >= 1.0 => {
                        format!("max < {}", format_duration(*max))
                    }
                    Limit::Latency { quantile, max } => {
                        format!("{quantile} < {}", format_duration(*max))
                    }
                    Limit::ErrorRate { max_ratio } => {
                        format!("error rate < {}", percent(*max_ratio))
                    }
                    Limit::MinRate { per_sec } => format!("rate ≥ {}", format_rate(*per_sec)),
                })
                .collect();
            let _ = writeln!(out, "  {scope}: {}", limits.join(", "));
        }
    }
    let g = &profile.gate;
    let metrics: Vec<String> = g
        .metrics
        .iter()
        .map(|(q, t)| format!("{q} +{}", percent(*t)))
        .collect();
    let _ = writeln!(
        out,
        "gate: {} · error rate +{} · alpha {} · {} baseline runs kept · {} blocks",
        metrics.join(", "),
        percent(g.error_rate),
        g.alpha,
        g.baseline_runs,
        format_duration(g.block)
    );
    out
}
