//! Renderings of a stepped run's levels (`compare::levels`): the knee in words, a table per
//! level for the terminal and Markdown (with a Mermaid chart of latency and throughput against
//! the level), and SVG charts for the HTML report. Pure: text in, text out; endpoint names are
//! escaped before they reach Markdown.

use std::fmt::Write as _;

use super::capacity::breach_text;
use super::chart::{Line, PALETTE, nice_ceiling};
use super::escape::markdown_inline;
use crate::compare::levels::{Level, LevelStatus, LevelUnit, Levels};
use crate::format::{aligned, count, latency_opt, percent, rate};

/// A level's load in words: `40 users`, `300/s`.
pub fn load(unit: LevelUnit, level: f64) -> String {
    match unit {
        LevelUnit::Users => {
            let n = level.round() as u64;
            format!("{} user{}", count(n), if n == 1 { "" } else { "s" })
        }
        LevelUnit::Rate => rate(level),
    }
}

/// The knee in one line: where, why, and the last level that held.
pub fn knee_text(levels: &Levels) -> String {
    knee_text_with(levels, &|s| format!("`{s}`"))
}

fn knee_text_with(levels: &Levels, name: &dyn Fn(&str) -> String) -> String {
    let unit = levels.unit;
    let (Some(knee), Some(level)) = (&levels.knee, levels.knee_level()) else {
        return format!(
            "no knee: every one of the {} levels held the thresholds and throughput rose with the load, up to {}",
            levels.levels.len(),
            load(
                unit,
                levels.levels.iter().map(|l| l.level).fold(0.0, f64::max)
            )
        );
    };
    let mut text = format!("knee: {}", load(unit, knee.level));
    match knee.status {
        LevelStatus::Flat => {
            let more = match unit {
                LevelUnit::Users => "users",
                LevelUnit::Rate => "arrivals",
            };
            let _ = write!(
                text,
                ": throughput stopped rising with the load ({} ok/s, {:+.0}% for {:.0}% more {more})",
                rate(level.ok_per_sec).trim_end_matches("/s"),
                knee.throughput_growth.unwrap_or(0.0) * 100.0,
                knee.load_growth.unwrap_or(0.0) * 100.0
            );
        }
        _ => {
            let breaches: Vec<String> = level
                .checks
                .iter()
                .filter(|c| c.status != crate::compare::ThresholdStatus::Ok)
                .map(|c| breach_text(c, name))
                .collect();
            let _ = write!(text, ": the SLO broke ({})", breaches.join("; "));
        }
    }
    match knee.last_held {
        Some(l) => {
            let _ = write!(text, "; the last level that held: {}", load(unit, l));
        }
        None => text.push_str("; no level held"),
    }
    text
}

fn status(l: &Level) -> &'static str {
    match l.status {
        LevelStatus::Held => "held",
        LevelStatus::Broke => "SLO broke",
        LevelStatus::Flat => "throughput flat",
    }
}

fn header(unit: LevelUnit) -> [&'static str; 9] {
    [
        match unit {
            LevelUnit::Users => "users",
            LevelUnit::Rate => "rate",
        },
        "measured",
        "requests",
        "ok/s",
        "errors",
        "p50",
        "p95",
        "p99",
        "level",
    ]
}

fn row(unit: LevelUnit, l: &Level, interval_ms: u64, knee: bool) -> Vec<String> {
    let secs = f64::from(l.intervals) * interval_ms as f64 / 1000.0;
    vec![
        match unit {
            LevelUnit::Users => count(l.level.round() as u64),
            LevelUnit::Rate => rate(l.level),
        },
        format!("{}s", (secs * 10.0).round() / 10.0),
        count(l.requests),
        rate(l.ok_per_sec).trim_end_matches("/s").to_string(),
        percent(l.error_ratio),
        latency_opt(l.p50_us),
        latency_opt(l.p95_us),
        latency_opt(l.p99_us),
        if knee {
            format!("{} ← knee", status(l))
        } else {
            status(l).to_string()
        },
    ]
}

fn rows(levels: &Levels, interval_ms: u64) -> Vec<Vec<String>> {
    let knee = levels.knee.as_ref().map(|k| k.index);
    levels
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| row(levels.unit, l, interval_ms, knee == Some(i)))
        .collect()
}

/// The table's header and rows (plain text), for the HTML report.
pub fn table(levels: &Levels, interval_ms: u64) -> (Vec<String>, Vec<Vec<String>>) {
    (
        header(levels.unit)
            .iter()
            .map(ToString::to_string)
            .collect(),
        rows(levels, interval_ms),
    )
}

/// The terminal rendering: a table per level, then the knee.
pub fn terminal(levels: &Levels, interval_ms: u64) -> String {
    let mut out = String::from("per level:\n");
    out.push_str(&aligned(&header(levels.unit), &rows(levels, interval_ms)));
    let _ = writeln!(out, "{}", knee_text(levels));
    out
}

/// The Markdown fragment: a heading, the knee, the table, and a Mermaid chart of p95 and
/// successful responses per second against the level.
pub fn markdown(levels: &Levels, interval_ms: u64) -> String {
    let name = |s: &str| markdown_inline(s);
    let mut out = String::from("#### Per load level\n\n");
    let _ = writeln!(out, "{}\n", knee_text_with(levels, &name));
    let header = header(levels.unit);
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        header
            .iter()
            .enumerate()
            .map(|(i, _)| if i + 1 == header.len() {
                " --- |"
            } else {
                " ---: |"
            })
            .collect::<String>()
    );
    for r in rows(levels, interval_ms) {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    if let Some(chart) = mermaid(levels) {
        out.push('\n');
        out.push_str(&chart);
    }
    out
}

/// Mermaid `xychart-beta` of p95 against the level; `None` with fewer than two levels that
/// measured a latency.
fn mermaid(levels: &Levels) -> Option<String> {
    let points: Vec<(f64, u64)> = levels
        .levels
        .iter()
        .filter_map(|l| Some((l.level, l.p95_us?)))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let top = nice_ceiling(points.iter().map(|p| p.1).max().unwrap_or(0) as f64 / 1000.0 * 1.1);
    let mut out = String::from("```mermaid\nxychart-beta\n");
    out.push_str("    title \"p95 latency by load level (ms)\"\n");
    let labels: Vec<String> = points
        .iter()
        .map(|p| format!("\"{}\"", load(levels.unit, p.0)))
        .collect();
    let _ = writeln!(out, "    x-axis [{}]", labels.join(", "));
    let _ = writeln!(out, "    y-axis \"ms\" 0 --> {top}");
    let ms: Vec<String> = points
        .iter()
        .map(|p| format!("{}", (p.1 as f64 / 10.0).round() / 100.0))
        .collect();
    let _ = writeln!(out, "    line [{}]", ms.join(", "));
    out.push_str("```\n");
    Some(out)
}

/// The HTML report's charts: latency (p50, p95, p99) and successful responses per second
/// against the level, as inline SVG.
pub fn svg_charts(levels: &Levels) -> Vec<String> {
    let x: Vec<f64> = levels.levels.iter().map(|l| l.level).collect();
    let unit = match levels.unit {
        LevelUnit::Users => "users",
        LevelUnit::Rate => "/s",
    };
    let ms = |v: Option<u64>| v.map(|us| us as f64 / 1000.0);
    let latency = [
        (
            "p50",
            PALETTE[0],
            levels.levels.iter().map(|l| ms(l.p50_us)).collect(),
        ),
        (
            "p95",
            PALETTE[3],
            levels.levels.iter().map(|l| ms(l.p95_us)).collect(),
        ),
        (
            "p99",
            PALETTE[1],
            levels.levels.iter().map(|l| ms(l.p99_us)).collect(),
        ),
    ]
    .into_iter()
    .map(|(label, color, values)| Line {
        label: label.into(),
        color,
        dashed: false,
        values,
    })
    .collect::<Vec<_>>();
    let throughput = [Line {
        label: "successful responses per second".into(),
        color: PALETTE[2],
        dashed: false,
        values: levels.levels.iter().map(|l| Some(l.ok_per_sec)).collect(),
    }];
    vec![
        super::chart::svg_lines_over("Latency by load level", unit, "ms", &x, &latency),
        super::chart::svg_lines_over("Throughput by load level", unit, "/s", &x, &throughput),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::levels::Knee;

    fn level(level: f64, ok_per_sec: f64, p95_ms: u64, status: LevelStatus) -> Level {
        Level {
            level,
            first_interval: 0,
            intervals: 5,
            requests: (ok_per_sec * 5.0) as u64,
            errors: 0,
            error_ratio: 0.0,
            ok_per_sec,
            p50_us: Some(p95_ms * 500),
            p95_us: Some(p95_ms * 1000),
            p99_us: Some(p95_ms * 1500),
            checks: Vec::new(),
            status,
        }
    }

    fn study() -> Levels {
        Levels {
            unit: LevelUnit::Users,
            levels: vec![
                level(10.0, 48.0, 20, LevelStatus::Held),
                level(20.0, 95.0, 22, LevelStatus::Held),
                level(40.0, 101.0, 90, LevelStatus::Flat),
            ],
            knee: Some(Knee {
                index: 2,
                level: 40.0,
                status: LevelStatus::Flat,
                last_held: Some(20.0),
                load_growth: Some(1.0),
                throughput_growth: Some(101.0 / 95.0 - 1.0),
            }),
        }
    }

    #[test]
    fn the_knee_is_named_with_its_reason_and_the_last_level_that_held() {
        let levels = study();
        assert_eq!(
            knee_text(&levels),
            "knee: 40 users: throughput stopped rising with the load (101 ok/s, +6% for 100% more users); the last level that held: 20 users"
        );
        let text = terminal(&levels, 1000);
        assert!(text.starts_with("per level:\nusers  measured"), "{text}");
        assert!(text.contains("throughput flat ← knee"), "{text}");
        let md = markdown(&levels, 1000);
        assert!(md.contains("| 40 | 5s | 505 | 101 | 0.00% |"), "{md}");
        assert!(
            md.contains("x-axis [\"10 users\", \"20 users\", \"40 users\"]"),
            "{md}"
        );
        let svgs = svg_charts(&levels);
        assert_eq!(svgs.len(), 2);
        assert!(
            svgs[0].contains("users") && svgs[1].contains("Throughput"),
            "{}",
            svgs[1]
        );
        let mut held = study();
        held.knee = None;
        assert!(knee_text(&held).starts_with("no knee: every one of the 3 levels held"));
    }
}
