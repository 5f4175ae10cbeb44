//! The terminal rendering of a comparison: the verdict line, a table of every endpoint ×
//! metric (baseline, current, change with its 90% CI, p-value, tolerance, smallest detectable
//! change, verdict), the reasons, thresholds and notes. Other formats come from templates.

use std::fmt::Write as _;

use super::format::{change, p_value};
use crate::compare::{
    CheckStatus, Comparison, Metric, MetricStatus, MetricVerdict, ThresholdCheck, ThresholdStatus,
    Unit, Verdict,
};

/// The comparison as plain text for a terminal or a CI log.
pub fn comparison(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verdict: {} — {}",
        headline(c.overall.verdict),
        c.overall.summary
    );
    for reason in &c.overall.reasons {
        let _ = writeln!(out, "  {reason}");
    }
    let runs = &c.baseline.runs;
    if !runs.is_empty() {
        let shas: Vec<&str> = runs
            .iter()
            .filter_map(|r| r.git_sha.as_deref())
            .map(|s| s.get(..7).unwrap_or(s))
            .collect();
        let _ = write!(
            out,
            "baseline: {} of {} runs, runner class `{}`",
            runs.len(),
            c.baseline.runs_in_file,
            c.runner_class
        );
        if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
            let day = |s: &str| s.get(..10).unwrap_or(s).to_string();
            let _ = write!(
                out,
                ", {} to {}",
                day(&first.started_at),
                day(&last.started_at)
            );
        }
        if !shas.is_empty() {
            let _ = write!(out, " ({})", shas.join(" "));
        }
        out.push('\n');
    }
    if !c.metrics.is_empty() {
        out.push_str(&table(&c.metrics));
        for m in c
            .metrics
            .iter()
            .filter(|m| !matches!(m.status, MetricStatus::Pass | MetricStatus::Regression))
        {
            let _ = writeln!(out, "  {} {}: {}", m.endpoint, m.label, m.reason);
        }
    }
    let failed: Vec<_> = c
        .validity
        .iter()
        .filter(|v| v.status == CheckStatus::Failed)
        .collect();
    // Untrusted and incompatible verdicts list their failed checks as reasons already.
    if !matches!(
        c.overall.verdict,
        Verdict::Untrusted | Verdict::Incompatible
    ) {
        for v in failed {
            let _ = writeln!(out, "check failed: {}", v.detail);
        }
    }
    if !c.thresholds.is_empty() {
        out.push_str(&thresholds(&c.thresholds));
    }
    if !c.notable.is_empty() {
        let _ = writeln!(out, "notable changes (not blocking):");
        for &i in &c.notable {
            if let Some(m) = c.metrics.get(i) {
                let _ = writeln!(
                    out,
                    "  {} {}: {} (q = {})",
                    m.endpoint,
                    m.label,
                    m.ratio.map_or_else(|| "—".into(), change),
                    m.q_value.map_or_else(|| "—".into(), p_value)
                );
            }
        }
    }
    for note in &c.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// The threshold lines (also printed by `loadgate run`).
pub fn thresholds(checks: &[ThresholdCheck]) -> String {
    let mut out = String::from("thresholds:\n");
    for t in checks {
        let relation = if t.unit == Unit::PerSec { "≥" } else { "≤" };
        let status = match t.status {
            ThresholdStatus::Ok => "ok",
            ThresholdStatus::Breached => "BREACHED",
            ThresholdStatus::NoData => "NOT MEASURED",
        };
        let _ = writeln!(
            out,
            "  {} {} {relation} {}: {} {status}",
            t.scope,
            t.label,
            t.unit.format(Some(t.limit_value)),
            t.unit.format(t.actual)
        );
    }
    out
}

fn headline(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Improvement => "IMPROVEMENT",
        Verdict::Regression => "REGRESSION",
        Verdict::Inconclusive => "INCONCLUSIVE",
        Verdict::NoBaseline => "NO BASELINE",
        Verdict::Untrusted => "UNTRUSTED",
        Verdict::Incompatible => "INCOMPATIBLE",
    }
}

fn table(metrics: &[MetricVerdict]) -> String {
    let header = [
        "endpoint",
        "metric",
        "baseline",
        "current",
        "change",
        "90% CI",
        "p (Holm)",
        "tolerance",
        "detectable",
        "verdict",
    ];
    let rows: Vec<Vec<String>> = metrics.iter().map(row).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c > 0 {
                l.push_str("  ");
            }
            if c < 2 || c + 1 == cells.len() {
                l.push_str(cell);
                l.push_str(&pad);
            } else {
                l.push_str(&pad);
                l.push_str(cell);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

fn row(m: &MetricVerdict) -> Vec<String> {
    let dash = || "—".to_string();
    let (tolerance, detectable) = match m.metric {
        Metric::Latency { .. } => (
            format!("+{:.0}%", m.tolerance * 100.0),
            m.mdc.map_or_else(dash, |d| change(1.0 + d)),
        ),
        Metric::ErrorRate { .. } => (
            format!("+{}", points(m.tolerance)),
            m.mdc.map_or_else(dash, |d| format!("+{}", points(d))),
        ),
        Metric::Capacity => (
            format!("-{:.0}%", m.tolerance * 100.0),
            m.mdc.map_or_else(dash, |d| change(1.0 - d)),
        ),
    };
    vec![
        m.endpoint.clone(),
        m.label.clone(),
        m.unit.format(m.baseline),
        m.unit.format(m.current),
        match (m.metric, m.ratio) {
            (_, Some(r)) => change(r),
            (Metric::ErrorRate { .. }, None) if m.current.is_some_and(|c| c > 0.0) => "new".into(),
            _ => dash(),
        },
        m.ci90.map_or_else(dash, |ci| {
            let high = if ci.high.is_finite() && ci.high < 1e6 {
                change(ci.high)
            } else {
                "∞".into()
            };
            format!("[{}, {high}]", change(ci.low))
        }),
        m.p_adjusted.or(m.p_value).map_or_else(dash, p_value),
        tolerance,
        detectable,
        m.status.as_str().replace('_', " "),
    ]
}

fn points(ratio: f64) -> String {
    format!("{:.2}pt", ratio * 100.0)
}
