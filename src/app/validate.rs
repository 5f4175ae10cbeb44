//! `loadgate validate`: check a profile and print the resolved plan, without sending load.

use std::fmt::Write as _;

use super::console::out;
use super::run::{check_shard_count, load_profile, resolve_target};
use crate::cli::ValidateArgs;
use crate::engine::schedule::{Arrivals, Share};
use crate::error::{Error, ExitCode};
use crate::format::{count, percent};
use crate::profile::units::{format_duration, format_rate};
use crate::profile::{
    Auth, Body, Endpoint, FeedMode, Limit, LoadModel, Model, Profile, Text, ThresholdScope,
};

pub(super) fn validate(args: &ValidateArgs) -> Result<ExitCode, Error> {
    let profile = load_profile(&args.profile)?;
    if let Some((_, shards)) = args.shard {
        check_shard_count(&profile, shards)?;
    }
    let target = std::env::var("LOADGATE_TARGET")
        .ok()
        .filter(|t| !t.is_empty());
    if let Some(t) = &target {
        // The same checks `run` makes (valid URL and port, no credentials, protocol).
        resolve_target(&profile, Some(t))?;
    }
    let plan = plan(
        &profile,
        &args.profile.display().to_string(),
        target.as_deref(),
        args.shard,
    );
    // Names, URLs and templates are the profile's: shown escaped.
    out!("{}", crate::untrusted::lines(&plan));
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
    if let Model::Open {
        max_in_flight,
        search: Some(search),
    } = &load.model
    {
        search_plan(&mut out, load, *max_in_flight, search);
    } else {
        let model = match &load.model {
            Model::Open { max_in_flight, .. } => format!(
                "open model (arrival rate), in-flight cap {}",
                count(*max_in_flight)
            ),
            Model::Closed {
                think_time,
                spawn_rate,
            } => {
                let think = if think_time.min == think_time.max {
                    format_duration(think_time.min)
                } else {
                    format!(
                        "{}..{}",
                        format_duration(think_time.min),
                        format_duration(think_time.max)
                    )
                };
                let spawn = spawn_rate.map_or_else(|| "at once".into(), |r| format!("{r}/s"));
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
            let level = |v: f64| match load.kind() {
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
    }
    let journeys = profile.scenarios.iter().any(|s| s.journey);
    let weights: u64 = profile.scenarios.iter().map(|s| u64::from(s.weight)).sum();
    let portion = |weight: u32| f64::from(weight) / weights as f64;
    // Requests an iteration sends on average (a scenario stopped by a failed extraction sends
    // fewer).
    let per_iteration: f64 = profile
        .scenarios
        .iter()
        .map(|s| portion(s.weight) * s.steps.len() as f64)
        .sum();
    if load.kind() == LoadModel::Open && load.search().is_none() {
        let total = load.total_arrivals();
        if journeys {
            let _ = write!(
                out,
                "  {} arrivals in all, up to {} requests",
                count(total),
                count((total as f64 * per_iteration).round() as u64)
            );
        } else {
            let _ = write!(out, "  {} requests in all", count(total));
        }
        if let Some((i, n)) = shard {
            let mine = Arrivals::new(&load.segments, Share::of(i, n, 0, 1)).count();
            let what = if journeys { "arrivals" } else { "requests" };
            let _ = write!(
                out,
                "; shard {}/{n} sends {} {what}",
                i + 1,
                count(mine as u64)
            );
        }
        out.push('\n');
    }
    if journeys {
        let _ = writeln!(
            out,
            "mix (each {} runs one entry, picked by weight):",
            match load.kind() {
                LoadModel::Open => "arrival",
                LoadModel::Closed => "user iteration",
            }
        );
        for s in &profile.scenarios {
            let weight = percent(portion(s.weight));
            if !s.journey {
                let e = &profile.endpoints[s.steps[0]];
                let _ = writeln!(out, "  {weight:>7}  request {}", describe(e));
                continue;
            }
            let _ = writeln!(
                out,
                "  {weight:>7}  scenario `{}`, {} steps:",
                s.name,
                s.steps.len()
            );
            for (n, &step) in s.steps.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "           {}. {}",
                    n + 1,
                    describe(&profile.endpoints[step])
                );
            }
        }
        let _ = writeln!(
            out,
            "  {per_iteration:.2} requests per iteration on average"
        );
    } else {
        let _ = writeln!(out, "request mix:");
        for s in &profile.scenarios {
            let e = &profile.endpoints[s.steps[0]];
            let _ = writeln!(out, "  {:>6}  {}", percent(portion(s.weight)), describe(e));
        }
    }
    if !profile.setup.is_empty() {
        let _ = writeln!(out, "setup (once, in order, before the load):");
        for (n, e) in profile.setup.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", n + 1, describe(e));
        }
    }
    if let Some(auth) = &profile.auth {
        // Show where credentials come from, never a credential written in the profile.
        let origin = |t: &Text| match t {
            Text::Template { source, .. } => format!("from `{source}`"),
            Text::Literal(_) => "written in the profile".to_string(),
        };
        let _ = match auth {
            Auth::Basic { username, password } => writeln!(
                out,
                "auth: basic, username {}, password {} (masked)",
                origin(username),
                origin(password)
            ),
            Auth::Bearer(token) => {
                writeln!(out, "auth: bearer token {} (masked)", origin(token))
            }
        };
    }
    if !profile.feeds.is_empty() {
        let _ = writeln!(out, "data:");
        for f in &profile.feeds {
            let mode = match f.mode {
                FeedMode::Sequential => "sequential",
                FeedMode::Random => "random",
                FeedMode::Unique => "unique",
            };
            let _ = writeln!(
                out,
                "  {}: {}, {} rows, {mode}, columns {}",
                f.name,
                f.path,
                count(f.rows.len() as u64),
                f.columns
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
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
    if load.search().is_some() {
        let _ = writeln!(
            out,
            "gate: sustainable rate -{} · alpha {} · {} baseline runs kept (3 needed to judge)",
            percent(g.capacity),
            g.alpha,
            g.baseline_runs
        );
        return out;
    }
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
    gating_forecast(&mut out, profile);
    out
}

/// Which gated percentiles the planned volume can decide, per endpoint, and what rate or
/// duration the others would need (open model: the responses are known in advance).
fn gating_forecast(out: &mut String, profile: &Profile) {
    let load = &profile.load;
    if load.kind() != LoadModel::Open || load.search().is_some() {
        let _ = writeln!(
            out,
            "gating forecast: the closed model's volume depends on the service's latency; `loadgate run` then `loadgate report` shows which percentiles had enough responses"
        );
        return;
    }
    let measured = Arrivals::new(&load.segments, Share::of(0, 1, 0, 1))
        .filter(|(_, t)| *t >= load.warmup)
        .count() as f64;
    let measured_secs = load.duration().saturating_sub(load.warmup).as_secs_f64();
    if measured <= 0.0 || measured_secs <= 0.0 {
        return;
    }
    let rate = measured / measured_secs;
    let weights: f64 = profile.scenarios.iter().map(|s| f64::from(s.weight)).sum();
    // Expected responses per endpoint: each arrival runs one entry of the mix; a scenario
    // sends each of its steps once.
    let mut expected = vec![0.0; profile.endpoints.len()];
    for s in &profile.scenarios {
        for &step in &s.steps {
            expected[step] += measured * f64::from(s.weight) / weights;
        }
    }
    let _ = writeln!(
        out,
        "gating forecast ({} measured at {} on average; a percentile is gated by its value with n·(1−p) ≥ 200 responses above it, a tail by its share beyond the baseline's with n·(1−p) ≥ {}):",
        format_duration(load.duration().saturating_sub(load.warmup)),
        format_rate(rate),
        crate::compare::tail::MIN_EXPECTED
    );
    for (e, n) in profile.endpoints.iter().zip(&expected) {
        let verdicts: Vec<String> = profile
            .gate
            .metrics
            .iter()
            .map(|(q, _)| {
                let needed = crate::compare::stats::samples_needed(q.0) as f64;
                let tail_needed = (crate::compare::tail::MIN_EXPECTED / (1.0 - q.0)).ceil();
                let scale = needed / n.max(1.0);
                let reach = format!(
                    "{} responses for its value: {} measured at this rate, or {} for this duration",
                    count(needed as u64),
                    format_duration(std::time::Duration::from_secs_f64(
                        (measured_secs * scale).ceil()
                    )),
                    format_rate((rate * scale).ceil())
                );
                if *n >= needed {
                    format!("{q} gated")
                } else if q.0 >= crate::compare::gate::TAIL_TEST_FROM && *n >= tail_needed {
                    format!("{q} by its tail share ({reach})")
                } else {
                    format!("{q} report only ({reach})")
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "  {} ~{} responses: {}",
            e.name,
            count(n.round() as u64),
            verdicts.join(" · ")
        );
    }
}

/// One request on one line: name, method, URL, body kind, think time, what it extracts.
fn describe(e: &Endpoint) -> String {
    let mut line = format!("{}: {} {}", e.name, e.method, e.url.source());
    match &e.body {
        Body::Empty => {}
        Body::Text(_) => line.push_str(" (text body)"),
        Body::Json { .. } => line.push_str(" (JSON body)"),
        Body::Form(_) => line.push_str(" (form body)"),
    }
    if let Some(t) = e.think_time {
        let pause = if t.min == t.max {
            format_duration(t.min)
        } else {
            format!("{}..{}", format_duration(t.min), format_duration(t.max))
        };
        let _ = write!(line, ", then think {pause}");
    }
    if !e.extract.is_empty() {
        let names: Vec<String> = e.extract.iter().map(|x| format!("`{}`", x.name)).collect();
        let _ = write!(line, ", extracts {}", names.join(", "));
    }
    line
}

/// A capacity search: its steps, caps and stopping rules, then the ladder it may climb.
fn search_plan(
    out: &mut String,
    load: &crate::profile::Load,
    max_in_flight: u64,
    s: &crate::profile::Search,
) {
    let _ = writeln!(
        out,
        "load: capacity search (arrival rate), in-flight cap {}; interval {}",
        count(max_in_flight),
        format_duration(load.interval)
    );
    let _ = writeln!(
        out,
        "search: from {}, {} per step, {} each{}; {} refining steps between the last good and the first bad rate",
        format_rate(s.start_per_sec),
        s.growth,
        format_duration(s.hold),
        if load.warmup.is_zero() {
            String::new()
        } else {
            format!(", after a {} warm-up", format_duration(load.warmup))
        },
        s.refine
    );
    let _ = writeln!(
        out,
        "a step breaks on a threshold below, or achieving under {} of its rate; errors of {} or more stop the search at once",
        percent(s.min_achieved_ratio),
        percent(s.collapse_error_ratio)
    );
    let _ = writeln!(
        out,
        "hard caps: never above {}, never longer than {}",
        format_rate(s.max_rate_per_sec),
        format_duration(s.max_duration)
    );
    let _ = writeln!(out, "ladder (the most it climbs before refining):");
    for (i, seg) in load.segments.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>7} – {:<7} {}{}",
            format_duration(seg.start),
            format_duration(seg.start + seg.duration),
            format_rate(seg.to),
            if i == 0 && !load.warmup.is_zero() {
                " (warm-up)"
            } else {
                ""
            }
        );
    }
}
