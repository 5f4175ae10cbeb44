//! Renderings of a capacity search: the headline (sustainable rate, SLO margin, where the
//! service broke), the per-step table for the terminal, and a Markdown fragment with the step
//! table and a Mermaid `xychart-beta` of latency against the arrival rate, for the Markdown
//! report. Pure: text in, text out; endpoint names are escaped before they reach Markdown.

use std::fmt::Write as _;

use super::chart::nice_ceiling;
use super::escape::markdown_inline;
use crate::capacity::{Capacity, Phase, Step, StepStatus, StopReason};
use crate::compare::{LimitKind, ThresholdCheck};
use crate::format::{count, latency_opt, latency_us, percent, rate};
use crate::profile::units::format_duration;

/// One line per finished step, while the search runs.
pub fn step_line(index: usize, step: &Step) -> String {
    let mut line = format!(
        "step {} ({}) {}: {} · achieved {} · p50 {} · p95 {} · p99 {} · errors {}",
        index + 1,
        phase_name(step.phase),
        rate(step.target_per_sec),
        step.status.as_str(),
        rate(step.achieved_per_sec),
        latency_opt(step.p50_us),
        latency_opt(step.p95_us),
        latency_opt(step.p99_us),
        percent(step.error_ratio),
    );
    if let Some(b) = step.breaches().first() {
        let _ = write!(line, " — {}", breach_text(b, &|s| s.to_string()));
    }
    line
}

/// The headline: what the search found and why it stopped, one fact per line.
pub fn headline(c: &Capacity) -> Vec<String> {
    headline_with(c, &|s| format!("`{s}`"))
}

fn headline_with(c: &Capacity, name: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut lines = Vec::new();
    match (c.sustainable_per_sec, c.sustained_step()) {
        (Some(r), Some(step)) => {
            let mut l = format!("sustainable rate: {}", rate(r));
            if c.breaking_per_sec.is_none() {
                l = format!("sustainable rate: at least {}", rate(r));
            }
            if let Some((check, m)) = step.tightest_margin() {
                let _ = write!(l, " (tightest SLO: {})", margin_text(check, m, name));
            }
            lines.push(l);
        }
        _ => lines.push(format!(
            "sustainable rate: none found: the first step ({}) already broke the SLO",
            rate(c.settings.start_per_sec)
        )),
    }
    if let Some(step) = c.breaking_step() {
        let mut l = format!("broke at {}", rate(step.target_per_sec));
        match step.breaches().first() {
            Some(b) => {
                let _ = write!(l, ": {}", breach_text(b, name));
            }
            None if step.status == StepStatus::Collapse => {
                let _ = write!(l, ": errors {}", percent(step.error_ratio));
            }
            None => {}
        }
        if step.status == StepStatus::Collapse {
            let _ = write!(
                l,
                " — collapse (errors {} ≥ {}): stopped at once",
                percent(step.error_ratio),
                percent(c.settings.collapse_error_ratio)
            );
        }
        lines.push(l);
    }
    lines.push(stop_text(c));
    lines
}

fn stop_text(c: &Capacity) -> String {
    let s = &c.settings;
    match c.stop {
        StopReason::Refined => format!(
            "search: {} steps, refined to {}",
            c.steps.len(),
            match (c.sustainable_per_sec, c.breaking_per_sec) {
                (Some(g), Some(b)) => format!("{}–{} ({:+.1}%)", rate(g), rate(b), (b / g - 1.0) * 100.0),
                _ => "—".into(),
            }
        ),
        StopReason::FirstStep => format!(
            "search: stopped after the first step; lower `search.start` (now {}) to find the capacity",
            rate(s.start_per_sec)
        ),
        StopReason::Collapse => format!(
            "search: stopped at the collapse point after {} steps, without refining",
            c.steps.len()
        ),
        StopReason::RateCap => format!(
            "search: reached the rate cap {} without breaking; raise `search.max_rate` to find the capacity",
            rate(s.max_rate_per_sec)
        ),
        StopReason::DurationCap => format!(
            "search: the duration cap {} left no time for another step",
            format_duration(std::time::Duration::from_millis(s.max_duration_ms))
        ),
        StopReason::Generator => "search: stopped because the generator fell behind its schedule twice in a row (schedule lag): those steps measured the generator, not the service".into(),
        StopReason::Interrupted => "search: interrupted; the results are partial".into(),
    }
}

/// The terminal rendering: the headline, then the steps in rising order of rate.
pub fn terminal(c: &Capacity) -> String {
    let mut out = String::new();
    for line in headline(c) {
        let _ = writeln!(out, "{line}");
    }
    let header = [
        "step", "rate", "achieved", "requests", "errors", "p50", "p95", "p99", "verdict",
    ];
    let rows: Vec<Vec<String>> = c
        .by_rate()
        .into_iter()
        .map(|(i, s)| row(i, s, &|n| n.to_string()))
        .collect();
    out.push_str(&crate::format::aligned(&header, &rows));
    out
}

/// The Markdown fragment: a heading, the headline, the step table and a Mermaid chart of p95
/// and p99 latency against the arrival rate.
pub fn markdown(c: &Capacity) -> String {
    // Endpoint names come from the profile and may hold anything: escaped plain text.
    let name = |s: &str| markdown_inline(s);
    // Nested under the report's own `###` title.
    let mut out = String::from("#### Capacity\n\n");
    for line in headline_with(c, &name) {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
    out.push_str("| step | rate | achieved | requests | errors | p50 | p95 | p99 | verdict |\n");
    out.push_str("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (i, s) in c.by_rate() {
        let _ = writeln!(out, "| {} |", row(i, s, &name).join(" | "));
    }
    if let Some(chart) = chart(c) {
        out.push('\n');
        out.push_str(&chart);
    }
    out
}

/// The Mermaid `xychart-beta` of latency against rate; `None` with fewer than two steps that
/// measured a latency.
fn chart(c: &Capacity) -> Option<String> {
    let points: Vec<(f64, u64, u64)> = c
        .by_rate()
        .into_iter()
        .filter_map(|(_, s)| Some((s.target_per_sec, s.p95_us?, s.p99_us?)))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let high_ms = points.iter().map(|p| p.2).max().unwrap_or(0) as f64 / 1000.0;
    let top = nice_ceiling(high_ms * 1.1);
    let ms = |us: u64| {
        let v = us as f64 / 1000.0;
        format!("{}", (v * 100.0).round() / 100.0)
    };
    let mut out = String::from("```mermaid\nxychart-beta\n");
    out.push_str("    title \"Latency by arrival rate: p95 (lower line), p99 (upper line)\"\n");
    let labels: Vec<String> = points
        .iter()
        .map(|p| format!("\"{}\"", rate(p.0)))
        .collect();
    let _ = writeln!(out, "    x-axis \"arrival rate\" [{}]", labels.join(", "));
    let _ = writeln!(out, "    y-axis \"latency (ms)\" 0 --> {top}");
    let p95: Vec<String> = points.iter().map(|p| ms(p.1)).collect();
    let p99: Vec<String> = points.iter().map(|p| ms(p.2)).collect();
    let _ = writeln!(out, "    line [{}]", p95.join(", "));
    let _ = writeln!(out, "    line [{}]", p99.join(", "));
    out.push_str("```\n");
    Some(out)
}

fn row(index: usize, s: &Step, name: &dyn Fn(&str) -> String) -> Vec<String> {
    vec![
        (index + 1).to_string(),
        rate(s.target_per_sec),
        rate(s.achieved_per_sec),
        count(s.requests),
        percent(s.error_ratio),
        latency_opt(s.p50_us),
        latency_opt(s.p95_us),
        latency_opt(s.p99_us),
        verdict(s, name),
    ]
}

fn verdict(s: &Step, name: &dyn Fn(&str) -> String) -> String {
    let phase = match s.phase {
        Phase::Climb => "",
        Phase::Refine => " (refine)",
    };
    let what = match s.status {
        StepStatus::Held => "held".to_string(),
        StepStatus::Broke | StepStatus::Collapse => {
            let mut v = if s.status == StepStatus::Collapse {
                "collapse".to_string()
            } else {
                "broke".to_string()
            };
            if let Some(b) = s.breaches().first() {
                let _ = write!(v, ": {} {}", name(&b.scope), b.label);
            }
            v
        }
        StepStatus::Generator => format!(
            "generator behind (lag p95 {}): not judged",
            latency_us(s.lag_p95_us)
        ),
        StepStatus::Cut => "cut short".into(),
    };
    format!("{what}{phase}")
}

/// `all p95 88ms over its 50ms limit`.
pub(super) fn breach_text(b: &ThresholdCheck, name: &dyn Fn(&str) -> String) -> String {
    match (b.limit, b.actual) {
        (_, None) => format!("{} {}: nothing measured", name(&b.scope), b.label),
        (LimitKind::MinRate, Some(a)) => format!(
            "{} {} {} under its floor of {}",
            name(&b.scope),
            b.label,
            b.unit.format(Some(a)),
            b.unit.format(Some(b.limit_value))
        ),
        (_, Some(a)) => format!(
            "{} {} {} over its limit of {}",
            name(&b.scope),
            b.label,
            b.unit.format(Some(a)),
            b.unit.format(Some(b.limit_value))
        ),
    }
}

/// `all p95 14.2ms, 72% under its 50ms limit`.
fn margin_text(check: &ThresholdCheck, m: f64, name: &dyn Fn(&str) -> String) -> String {
    let side = if check.limit == LimitKind::MinRate {
        "above its floor of"
    } else {
        "under its limit of"
    };
    format!(
        "{} {} {}, {:.0}% {side} {}",
        name(&check.scope),
        check.label,
        check.unit.format(check.actual),
        m * 100.0,
        check.unit.format(Some(check.limit_value))
    )
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Climb => "climb",
        Phase::Refine => "refine",
    }
}
