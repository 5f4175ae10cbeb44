//! The decision on one metric from its test: latency, tail share and error rate, with the
//! detail and advice a report shows.

use crate::compare::errors::{self, ErrorOutcome};
use crate::compare::metric::{self, Against, ErrorCount};
use crate::compare::run::EndpointSummary;
use crate::compare::stats::{self, LatencyOutcome, QuantileValue};
use crate::compare::tail::{self, TailOutcome};
use crate::compare::verdict::{
    Detail, LatencyDetail, Metric, MetricStatus, MetricVerdict, Range, Unit,
};
use crate::format::{change, count, p_value};
use crate::metrics::ErrorClass;

use super::{Pending, Test};

pub(super) fn latency_detail(
    t: &LatencyOutcome,
    current: &QuantileValue,
    runs: usize,
    interval_ms: u64,
) -> LatencyDetail {
    LatencyDetail {
        baseline_runs: runs as u32,
        center: t.center,
        log_change: t.diff,
        standard_error: t.se,
        degrees_of_freedom: t.df,
        between_runs_sd: t.s_between,
        prior_sd: t.s_prior,
        shrunk_sd: t.s_used,
        within_current: t.w_current,
        within_baseline: t.w_baseline,
        block_ms: current
            .within
            .map(|w| u64::from(w.block_intervals) * interval_ms),
        blocks: current.within.map(|w| w.blocks),
        samples: current.samples,
        samples_needed: stats::samples_needed(current.quantile),
        service_factor: None,
    }
}

pub(super) fn test_of(p: &Pending) -> &Test {
    p.test.as_ref().expect("family members have a test")
}

/// Why a latency metric cannot be gated, or `None` when it can.
pub(super) fn sample_status(
    p: f64,
    current: &QuantileValue,
    baseline: &[&QuantileValue],
) -> Option<(MetricStatus, String)> {
    let needed = stats::samples_needed(p);
    let label = crate::profile::Quantile(p).label();
    let base_ok = baseline.iter().all(|b| b.has_enough_samples());
    match (current.has_enough_samples(), base_ok) {
        (true, true) => None,
        (true, false) => Some((
            MetricStatus::ReportOnly,
            format!(
                "baseline runs have fewer than the {} responses needed to gate {label}",
                count(needed)
            ),
        )),
        (false, true) => Some((
            MetricStatus::Inconclusive,
            format!(
                "the current run has {} responses, fewer than the {} needed to gate {label} (the baseline runs had enough)",
                count(current.samples),
                count(needed)
            ),
        )),
        (false, false) => Some((
            MetricStatus::ReportOnly,
            format!(
                "too few samples to gate: {} responses leave {} above {label}, 200 are needed ({} responses): run longer or at a higher rate",
                count(current.samples),
                count((current.samples as f64 * (1.0 - p)).floor() as u64),
                count(needed)
            ),
        )),
    }
}

/// A latency verdict with its values filled in and no decision yet.
pub(super) fn latency_verdict(
    endpoint: &str,
    p: f64,
    tolerance: f64,
    current: &QuantileValue,
    baseline: &[&QuantileValue],
) -> MetricVerdict {
    let logs: Vec<f64> = baseline.iter().filter_map(|b| b.log_value()).collect();
    let base = (!logs.is_empty()).then(|| stats::mean(&logs).exp());
    let cur = current.value_us.map(|v| v as f64);
    MetricVerdict {
        baseline: base,
        current: cur,
        ratio: base.zip(cur).map(|(b, c)| c / b),
        ..metric::undecided(
            endpoint,
            Metric::Latency { quantile: p },
            Unit::Us,
            tolerance,
        )
    }
}

pub(super) fn error_pending(
    current: &EndpointSummary,
    runs: &[&EndpointSummary],
    class: ErrorClass,
    tolerance: f64,
) -> Pending {
    let blocks = |e: &EndpointSummary| -> Vec<(u64, u64)> {
        e.blocks
            .iter()
            .map(|b| (b.requests, b.errors.get(&class).copied().unwrap_or(0)))
            .collect()
    };
    let mut all_blocks = vec![blocks(current)];
    all_blocks.extend(runs.iter().map(|r| blocks(r)));
    let phi = errors::dispersion(&all_blocks);
    let (e_c, n_c) = (current.errors(class), current.requests);
    let e_b: u64 = runs.iter().map(|r| r.errors(class)).sum();
    let n_b: u64 = runs.iter().map(|r| r.requests).sum();
    let t = errors::error_test(e_c, n_c, e_b, n_b, phi);
    let verdict = metric::error_verdict(
        &current.name,
        class,
        tolerance,
        &t,
        ErrorCount {
            errors: e_c,
            requests: n_c,
        },
        ErrorCount {
            errors: e_b,
            requests: n_b,
        },
        phi,
    );
    Pending {
        verdict,
        test: Some(Test::Error(t)),
        as_measured: None,
    }
}

/// The decision on one metric, given its Holm-adjusted p-values (up, down) and q-value when
/// it is in the family.
pub(super) fn decide(
    pending: Pending,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
    alpha_each: f64,
    runs: usize,
) -> MetricVerdict {
    let Pending {
        verdict: mut v,
        test,
        ..
    } = pending;
    match test {
        None => {
            if v.reason.is_empty() {
                v.status = MetricStatus::Inconclusive;
                v.reason = "no value to compare (no responses in a run)".into();
            }
            v
        }
        Some(Test::Latency(t)) => decide_latency(v, &t, adjusted, alpha, alpha_each, runs),
        Some(Test::Error(t)) => decide_error(v, &t, adjusted, alpha, alpha_each),
        Some(Test::Tail(t)) => decide_tail(v, &t, adjusted, alpha),
    }
}

/// A tail quantile too thinly sampled to gate its value, judged by the share of responses
/// beyond the baseline's tail shape: a regression when that share at least doubled
/// ([`tail::SHARE_RATIO`]) and the increase is unlikely to be noise; otherwise the metric keeps
/// its report-only (or inconclusive) status, with the share in its reason.
pub(super) fn decide_tail(
    mut v: MetricVerdict,
    t: &TailOutcome,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
) -> MetricVerdict {
    let (up, down, q) = adjusted.expect("tail tests are always in the family");
    if let Some(note) = metric::tail_share(&mut v, t, up, q, alpha, Against::Baseline) {
        let ratio = t.ratio();
        let what = if up <= alpha && ratio >= tail::SHARE_RATIO {
            "no tail regression"
        } else if down <= alpha && ratio <= 1.0 / tail::SHARE_RATIO {
            "fewer slow responses"
        } else if ratio >= tail::SHARE_RATIO {
            "more, but not significantly"
        } else {
            "no tail regression"
        };
        v.reason = format!("{}; {note}, {what}", v.reason);
    }
    v
}

pub(super) fn decide_latency(
    mut v: MetricVerdict,
    t: &LatencyOutcome,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
    alpha_each: f64,
    runs: usize,
) -> MetricVerdict {
    let (up, down, q) = adjusted.expect("latency tests are always in the family");
    let ratio = t.ratio();
    let limit = 1.0 + v.tolerance;
    let (lo, hi) = t.ci90;
    v.baseline = Some(t.center_log.exp());
    v.ratio = Some(ratio);
    v.ci90 = Some(Range { low: lo, high: hi });
    v.p_value = Some(if t.diff >= 0.0 { t.p_up } else { t.p_down });
    v.p_adjusted = Some(up);
    v.q_value = Some(q);
    v.mdc = Some(t.mdc(alpha_each));
    let tol = format!("+{:.0}%", v.tolerance * 100.0);
    let ci = format!("[{}, {}]", change(lo), change(hi));
    (v.status, v.reason) = if up <= alpha && ratio >= limit {
        (
            MetricStatus::Regression,
            format!(
                "{} is beyond the {tol} tolerance and unlikely to be noise (Holm-adjusted p = {}, 90% CI {ci})",
                change(ratio),
                p_value(up)
            ),
        )
    } else if down <= alpha && ratio <= 1.0 / limit {
        (
            MetricStatus::Improvement,
            format!(
                "{} is beyond the tolerance and unlikely to be noise (Holm-adjusted p = {}, 90% CI {ci})",
                change(ratio),
                p_value(down)
            ),
        )
    } else if hi < limit {
        let changed = if up <= alpha || down <= alpha {
            "changed, within tolerance"
        } else {
            "within tolerance"
        };
        (
            MetricStatus::Pass,
            format!(
                "{changed}: {}, and the 90% CI {ci} stays below {tol}",
                change(ratio)
            ),
        )
    } else if within_noise(t, alpha) {
        (
            MetricStatus::Pass,
            format!(
                "within noise: {} is not significant even on its own (p = {}), and with 90% CI {ci} reaching past the {tol} tolerance this comparison only detects changes of {} or more: {}",
                change(ratio),
                p_value(t.p_up),
                change(1.0 + t.mdc(alpha_each)),
                advice(t, runs)
            ),
        )
    } else {
        (
            MetricStatus::Inconclusive,
            format!(
                "{} with 90% CI {ci} reaching past the {tol} tolerance; this comparison only detects changes of {} or more: {}",
                change(ratio),
                change(1.0 + t.mdc(alpha_each)),
                advice(t, runs)
            ),
        )
    };
    v
}

/// True when a latency change whose interval reaches past the tolerance is still no evidence
/// of a slowdown: its increase is not significant even tested alone, at the family's level
/// `alpha` (`p_up > alpha`), and the interval is wide because of the baseline runs' spread,
/// not because the current run was noisier inside than they were (a run with stalls widens
/// its own interval by that excess, which must not make it pass). Such a metric
/// passes "within noise" instead of being inconclusive. On a real service restarted per run
/// the endpoints' medians relative to each other vary 1–6% from run to run (bench/gate-real),
/// so one run against five cannot resolve an 8% tolerance on the noisier endpoints; calling
/// every such run inconclusive made 13 of 30 unchanged runs inconclusive there. What stays
/// inconclusive is what points to a slowdown: significant alone but not over the family, or
/// significant but possibly within the tolerance. The reason names the change this
/// comparison can detect, so the pass says how coarse it is.
pub(super) fn within_noise(t: &LatencyOutcome, alpha: f64) -> bool {
    let excess = match (t.w_current, t.w_baseline) {
        (Some(current), Some(baseline)) => (current - baseline).max(0.0),
        _ => 0.0,
    };
    let calm = excess <= t.s_used * t.s_used;
    t.p_up > alpha && calm
}

/// What would settle an inconclusive latency metric, from where its variance comes from: the
/// baseline runs' within-run variance (which a longer run or a higher rate shrinks) against
/// the run-to-run variance the interval uses (which only more runs, a re-measurement or
/// pairing address).
pub(super) fn advice(t: &LatencyOutcome, runs: usize) -> String {
    let total = t.s_used * t.s_used;
    let within = t.w_baseline.unwrap_or(0.0).min(total);
    let share = if total > 0.0 { within / total } else { 0.0 };
    let share_text = format!("{:.0}%", share * 100.0);
    let more_runs = (runs < 5).then(|| format!("more baseline runs ({runs} now)"));
    if share >= 0.5 {
        let longer = "a longer run or a higher rate";
        match more_runs {
            Some(m) => format!(
                "{m} or {longer} would narrow it (noise within a run is {share_text} of the run-to-run variance)"
            ),
            None => format!(
                "{longer} would narrow it (noise within a run is {share_text} of the run-to-run variance)"
            ),
        }
    } else {
        let runs_text = more_runs.unwrap_or_else(|| "more baseline runs".to_string());
        format!(
            "most of the variance is between runs (noise within a run is only {share_text} of it), so a longer run would not narrow it; {runs_text} or a paired comparison against the base branch's deployment would"
        )
    }
}

/// The error-rate decision (`metric::decide_error`), naming the increase a test of this
/// size would have caught.
pub(super) fn decide_error(
    mut v: MetricVerdict,
    t: &ErrorOutcome,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
    alpha_each: f64,
) -> MetricVerdict {
    if let Some(Detail::ErrorRate(d)) = &v.detail {
        v.mdc = t.mdc(
            d.requests_current,
            d.errors_baseline,
            d.requests_baseline,
            alpha_each,
            v.tolerance,
        );
    }
    metric::decide_error(v, t, adjusted, alpha, Against::Baseline)
}
