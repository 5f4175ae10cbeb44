//! The decisions on the metrics of a paired comparison that are its own, from their tests and
//! Holm-adjusted p-values: the block-by-block latency test, the tail-share step and the
//! error-rate verdict built from the blocks. The rules it shares with the gate (error rates,
//! the tail-share regression, the overall verdict) are in `compare::metric`; words for the
//! reports say "against the base target" where the gate's say "baseline".

use super::{BlockEndpoint, PairedOutcome, Test};
use crate::compare::errors;
use crate::compare::metric::{self, Against, ErrorCount};
use crate::compare::tail::TailOutcome;
use crate::compare::verdict::{Detail, MetricStatus, MetricVerdict, PairedDetail, Range};
use crate::format::{change, p_value};
use crate::metrics::ErrorClass;

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
        service_factor: (t.service != 0.0).then_some(t.service),
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
                "{} with 90% CI {ci} reaching past the {tol} tolerance; {pairs} only detect changes of {} or more: more pairs (a longer run, or more blocks with `gate.paired.blocks`) or a higher rate would narrow it",
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
    if let Some(note) = metric::tail_share(&mut v, t, up, q, alpha, Against::BaseTarget) {
        v.reason = format!("{}; {note}", v.reason);
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
    let v = metric::error_verdict(
        name,
        class,
        tolerance,
        &t,
        ErrorCount {
            errors: e_b,
            requests: n_b,
        },
        ErrorCount {
            errors: e_a,
            requests: n_a,
        },
        phi,
    );
    (v, Some(Test::Error(t)))
}
