//! The decision on each metric of a paired comparison, from its test and its Holm-adjusted
//! p-values, and the overall verdict of the metrics. Words for the reports are made here,
//! like in `compare::gate`, saying "against the base target" where that says "baseline".

use super::{BlockEndpoint, PairedOutcome, Test};
use crate::compare::errors::{self, ErrorOutcome};
use crate::compare::gate::ERROR_RATIO;
use crate::compare::tail::{self, TailOutcome};
use crate::compare::verdict::{
    Detail, ErrorDetail, Metric, MetricStatus, MetricVerdict, PairedDetail, Range, TailShareDetail,
    Unit, Verdict,
};
use crate::metrics::ErrorClass;
use crate::report::format::{change, p_value, percent};

pub(super) type Adjusted = Option<(f64, f64, f64)>;

fn ci_text((low, high): (f64, f64)) -> String {
    format!("[{}, {}]", change(low), change(high))
}

pub(super) fn decide_paired(
    mut v: MetricVerdict,
    t: &PairedOutcome,
    adjusted: Adjusted,
    alpha: f64,
    alpha_each: f64,
) -> MetricVerdict {
    let (up, down, q) = adjusted.unwrap_or((1.0, 1.0, 1.0));
    let ratio = t.ratio();
    let limit = 1.0 + v.tolerance;
    v.ratio = Some(ratio);
    v.ci90 = Some(Range {
        low: t.ci90.0,
        high: t.ci90.1,
    });
    v.p_value = Some(if t.diff >= 0.0 { t.p_up } else { t.p_down });
    v.p_adjusted = Some(up);
    v.q_value = Some(q);
    v.mdc = Some(t.mdc(alpha_each));
    v.detail = Some(Detail::Paired(PairedDetail {
        pairs: t.diffs.len() as u32,
        merged_pairs: t.merged as u32,
        log_changes: t.diffs.clone(),
        log_change: t.diff,
        standard_deviation: t.sd,
        standard_error: t.se,
        degrees_of_freedom: t.df,
    }));
    let tol = format!("+{:.0}%", v.tolerance * 100.0);
    let ci = ci_text(t.ci90);
    let pairs = format!("{} pairs of blocks", t.diffs.len());
    (v.status, v.reason) = if up <= alpha && ratio >= limit {
        (
            MetricStatus::Regression,
            format!(
                "{} against the base target, block by block: beyond the {tol} tolerance and unlikely to be noise (Holm-adjusted p = {}, 90% CI {ci}, {pairs})",
                change(ratio),
                p_value(up)
            ),
        )
    } else if down <= alpha && ratio <= 1.0 / limit {
        (
            MetricStatus::Improvement,
            format!(
                "{} against the base target, block by block: beyond the tolerance and unlikely to be noise (Holm-adjusted p = {}, 90% CI {ci}, {pairs})",
                change(ratio),
                p_value(down)
            ),
        )
    } else if t.ci90.1 < limit {
        (
            MetricStatus::Pass,
            format!(
                "within tolerance: {} against the base target, and the 90% CI {ci} stays below {tol} ({pairs})",
                change(ratio)
            ),
        )
    } else {
        (
            MetricStatus::Inconclusive,
            format!(
                "{} with 90% CI {ci} reaching past the {tol} tolerance; {pairs} only detect changes of {} or more: more blocks (`gate.paired.blocks`) or a higher rate would narrow it",
                change(ratio),
                change(1.0 + t.mdc(alpha_each))
            ),
        )
    };
    v
}

pub(super) fn decide_tail(
    mut v: MetricVerdict,
    t: &TailOutcome,
    adjusted: Adjusted,
    alpha: f64,
) -> MetricVerdict {
    let (up, _, q) = adjusted.unwrap_or((1.0, 1.0, 1.0));
    let ratio = t.ratio();
    v.p_value = Some(if t.diff >= 0.0 { t.p_up } else { t.p_down });
    v.p_adjusted = Some(up);
    v.q_value = Some(q);
    v.detail = Some(Detail::TailShare(TailShareDetail {
        tail_to_median: t.tail_to_median,
        above_current: t.above_current,
        responses_current: t.responses_current,
        share_current: t.share_current,
        share_baseline: t.share_baseline,
        share_ratio: ratio,
        share_ratio_ci90: Range {
            low: t.ci90.0,
            high: t.ci90.1,
        },
        standard_error: t.se,
        degrees_of_freedom: t.df,
        share_ratio_needed: tail::SHARE_RATIO,
    }));
    let shares = format!(
        "{} of responses beyond the base target's {} shape ({:.1}× the median) against {}",
        percent(t.share_current),
        v.label,
        t.tail_to_median,
        percent(t.share_baseline)
    );
    if up <= alpha && ratio >= tail::SHARE_RATIO {
        v.status = MetricStatus::Regression;
        v.reason = format!(
            "{shares} on the base target: ×{ratio:.1}, a tail regression unlikely to be noise (Holm-adjusted p = {}; {} itself has too few samples per block to pair)",
            p_value(up),
            v.label
        );
    } else {
        v.reason = format!("{}; tail test: {shares} (×{ratio:.1})", v.reason);
    }
    v
}

pub(super) fn error_pending(
    name: &str,
    a: &[&BlockEndpoint],
    b: &[&BlockEndpoint],
    class: ErrorClass,
    tolerance: f64,
) -> (MetricVerdict, Option<Test>) {
    let blocks = |list: &[&BlockEndpoint]| -> Vec<(u64, u64)> {
        list.iter()
            .map(|e| (e.requests, e.errors.get(&class).copied().unwrap_or(0)))
            .collect()
    };
    let (ba, bb) = (blocks(a), blocks(b));
    let phi = errors::dispersion(&[ba.clone(), bb.clone()]);
    let sum = |list: &[(u64, u64)]| list.iter().fold((0, 0), |(n, e), b| (n + b.0, e + b.1));
    let ((n_a, e_a), (n_b, e_b)) = (sum(&ba), sum(&bb));
    let t = errors::error_test(e_b, n_b, e_a, n_a, phi);
    let metric = Metric::ErrorRate { class };
    let v = MetricVerdict {
        endpoint: name.to_string(),
        metric,
        label: metric.label(),
        status: MetricStatus::Pass,
        unit: Unit::Ratio,
        baseline: Some(t.rate_baseline),
        current: Some(t.rate_current),
        ratio: t.ratio.filter(|r| r.is_finite()),
        ci90: t.ratio_ci90.map(|(low, high)| Range {
            low,
            high: high.min(f64::MAX),
        }),
        p_value: None,
        p_adjusted: None,
        q_value: None,
        tolerance,
        mdc: None,
        reason: String::new(),
        detail: Some(Detail::ErrorRate(ErrorDetail {
            errors_current: e_b,
            requests_current: n_b,
            errors_baseline: e_a,
            requests_baseline: n_a,
            dispersion: phi,
            current_interval: Range {
                low: t.current_ci90.0,
                high: t.current_ci90.1,
            },
            baseline_interval: Range {
                low: t.baseline_ci90.0,
                high: t.baseline_ci90.1,
            },
        })),
    };
    (v, Some(Test::Error(t)))
}

pub(super) fn decide_error(
    mut v: MetricVerdict,
    t: &ErrorOutcome,
    adjusted: Adjusted,
    alpha: f64,
) -> MetricVerdict {
    let diff = t.rate_current - t.rate_baseline;
    let ratio = t.ratio.unwrap_or(1.0);
    let rates = format!(
        "{} vs {} on the base target",
        percent(t.rate_current),
        percent(t.rate_baseline)
    );
    v.p_value = Some(if diff >= 0.0 { t.p_up } else { t.p_down });
    let (up, down) = match adjusted {
        Some((up, down, q)) => {
            v.p_adjusted = Some(up);
            v.q_value = Some(q);
            (up, down)
        }
        None => (1.0, 1.0),
    };
    let points = |r: f64| format!("{:.2}", r * 100.0);
    (v.status, v.reason) = if up <= alpha && diff >= v.tolerance && ratio >= ERROR_RATIO {
        (
            MetricStatus::Regression,
            format!(
                "{rates}: up {} points, beyond the {} points tolerance, and unlikely to be noise (Holm-adjusted p = {})",
                points(diff),
                points(v.tolerance),
                p_value(up)
            ),
        )
    } else if down <= alpha && -diff >= v.tolerance && ratio <= 1.0 / ERROR_RATIO {
        (
            MetricStatus::Improvement,
            format!(
                "{rates}: down {} points, unlikely to be noise (Holm-adjusted p = {})",
                points(-diff),
                p_value(down)
            ),
        )
    } else if diff > 0.0 {
        (
            MetricStatus::Pass,
            format!(
                "{rates}: higher, but not significantly (p = {})",
                p_value(t.p_up)
            ),
        )
    } else {
        (MetricStatus::Pass, format!("{rates}: no increase"))
    };
    v
}

/// Regression if any metric regressed; else inconclusive if any is (or no latency metric
/// could be paired); else improvement if any improved; else pass.
pub(super) fn overall(metrics: &[MetricVerdict]) -> (Verdict, Vec<String>) {
    let list = |status: MetricStatus| -> Vec<String> {
        metrics
            .iter()
            .filter(|m| m.status == status)
            .map(|m| format!("{} {}: {}", m.endpoint, m.label, m.reason))
            .collect()
    };
    let regressions = list(MetricStatus::Regression);
    if !regressions.is_empty() {
        return (Verdict::Regression, regressions);
    }
    let inconclusive = list(MetricStatus::Inconclusive);
    if !inconclusive.is_empty() {
        return (Verdict::Inconclusive, inconclusive);
    }
    if !metrics
        .iter()
        .any(|m| matches!(m.metric, Metric::Latency { .. }) && m.status != MetricStatus::ReportOnly)
    {
        return (
            Verdict::Inconclusive,
            vec!["no latency metric had enough responses per block to be paired: longer blocks or a higher rate".into()],
        );
    }
    let improvements = list(MetricStatus::Improvement);
    if improvements.is_empty() {
        (Verdict::Pass, Vec::new())
    } else {
        (Verdict::Improvement, improvements)
    }
}
