//! The terminal rendering of a comparison: the verdict line, a table of every endpoint ×
//! metric (baseline, current, change with its 90% CI, p-value, tolerance, smallest detectable
//! change, verdict), the reasons, thresholds and notes. Other formats come from templates.

use std::fmt::Write as _;

use super::view::MetricRow;
use crate::compare::{
    CheckStatus, Comparison, Confirmation, MetricStatus, MetricVerdict, ThresholdCheck,
    ThresholdStatus, Unit, Verdict,
};
use crate::format::{change, p_value};
use crate::untrusted::quote;

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
    if let Some(conf) = &c.confirmation {
        out.push_str(&confirmation(conf));
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
        for m in c.metrics.iter().filter(|m| {
            m.within_noise() || !matches!(m.status, MetricStatus::Pass | MetricStatus::Regression)
        }) {
            let _ = writeln!(out, "  {} {}: {}", quote(&m.endpoint), m.label, m.reason);
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
                    quote(&m.endpoint),
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

/// The confirmation block: what the re-measurement decided and the confirmation run's own
/// verdict (the reasons above already give both runs' values of what failed).
fn confirmation(c: &Confirmation) -> String {
    let view = super::view::ConfirmationView::of(c);
    format!(
        "confirmation: {}\n  the confirmation run on its own: {} — {}\n",
        view.headline,
        headline(c.second.verdict),
        c.second.summary
    )
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
            quote(&t.scope),
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
    // Endpoint, metric and verdict are words; the rest are numbers.
    crate::format::table(&header, &rows, |c, n| c < 2 || c + 1 == n)
}

fn row(m: &MetricVerdict) -> Vec<String> {
    let r = MetricRow::of(m);
    vec![
        quote(&r.endpoint).into_owned(),
        r.metric,
        r.baseline,
        r.current,
        r.change,
        r.ci,
        r.p,
        r.tolerance,
        r.detectable,
        r.status_text,
    ]
}

/// Colours a verdict text from [`comparison`] or [`thresholds`] for a terminal: the verdict word
/// and each status (green good, red bad, yellow undecided, dim report-only). Only the last
/// cell of a table row is coloured, after alignment, so columns stay aligned.
pub fn colorize(text: &str) -> String {
    const GREEN: &str = "\x1b[32m";
    const RED: &str = "\x1b[31;1m";
    const YELLOW: &str = "\x1b[33m";
    const DIM: &str = "\x1b[2m";
    const RESET: &str = "\x1b[0m";
    let verdict_colour = |word: &str| match word {
        "PASS" | "IMPROVEMENT" => GREEN,
        "REGRESSION" => RED,
        _ => YELLOW,
    };
    let suffixes = [
        (" regression", RED),
        (" BREACHED", RED),
        (" NOT MEASURED", RED),
        (" improvement", GREEN),
        (" pass", GREEN),
        (" ok", GREEN),
        (" inconclusive", YELLOW),
        (" report only", DIM),
    ];
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, newline) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if let Some(rest) = body.strip_prefix("verdict: ") {
            let word = rest.split(' ').next().unwrap_or("");
            let (word, tail) = rest.split_at(word.len());
            let _ = write!(
                out,
                "verdict: {}{word}{RESET}{tail}{newline}",
                verdict_colour(word)
            );
            continue;
        }
        match suffixes.iter().find(|(s, _)| body.ends_with(s)) {
            Some((suffix, colour)) => {
                let head = &body[..body.len() - suffix.len()];
                let _ = write!(out, "{head} {colour}{}{RESET}{newline}", &suffix[1..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::colorize;

    #[test]
    fn colour_wraps_only_the_verdict_word_and_the_status_cell() {
        let text = "verdict: REGRESSION — x\nget customer  p50  +31%  regression\n  all p99 ≤ 1s: 2s BREACHED\nnote: n\n";
        let coloured = colorize(text);
        assert_eq!(
            coloured,
            "verdict: \x1b[31;1mREGRESSION\x1b[0m — x\nget customer  p50  +31%  \x1b[31;1mregression\x1b[0m\n  all p99 ≤ 1s: 2s \x1b[31;1mBREACHED\x1b[0m\nnote: n\n"
        );
        let plain: String = coloured.replace("\x1b[31;1m", "").replace("\x1b[0m", "");
        assert_eq!(plain, text);
    }
}
