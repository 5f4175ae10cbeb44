//! One metric's verdict where the gate against a baseline ([`super::gate`]) and the paired
//! comparison ([`super::paired`]) share it: the verdict before its decision, the error-rate
//! verdict and its decision, and the tail-share regression rule. Only the words naming what
//! the run is compared with differ, and [`Against`] gives them. Also the overall verdict of the
//! metrics and the notable-changes list. No statistics here: the tests'
//! outcomes come in, ratios and rates (0–1) as they are.

use super::errors::ErrorOutcome;
use super::gate::{ERROR_RATIO, NOTABLE_Q};
use super::tail::{self, TailOutcome};
use super::verdict::{
    Detail, ErrorDetail, GateSettings, Metric, MetricStatus, MetricVerdict, QuantileTolerance,
    Range, TailShareDetail, Unit, Verdict,
};
use crate::format::{change, p_value, percent};
use crate::metrics::ErrorClass;
use crate::profile::GateConfig;

/// What the run under test is compared with, for the words of a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Against {
    /// The stored baseline runs (`compare::gate`).
    Baseline,
    /// The base target, measured block by block alongside (`compare::paired`).
    BaseTarget,
}

impl Against {
    /// Where the compared error rate was seen: "in the baseline".
    fn error_rate_where(self) -> &'static str {
        match self {
            Against::Baseline => "in the baseline",
            Against::BaseTarget => "on the base target",
        }
    }

    /// Whose tail shape the share is counted beyond, and of which median its multiple is.
    fn tail_shape(self) -> (&'static str, &'static str) {
        match self {
            Against::Baseline => ("the baseline's", "the run's median"),
            Against::BaseTarget => ("the base target's", "the median"),
        }
    }

    /// Where the compared share was seen: "in the baseline runs".
    fn tail_where(self) -> &'static str {
        match self {
            Against::Baseline => "in the baseline runs",
            Against::BaseTarget => "on the base target",
        }
    }

    /// Why the quantile itself is not gated.
    fn too_few(self) -> &'static str {
        match self {
            Against::Baseline => "too few samples to gate",
            Against::BaseTarget => "too few samples per block to pair",
        }
    }

    /// The reason of an inconclusive verdict where no latency metric could be tested, and
    /// what would help.
    fn no_latency_tested(self) -> &'static str {
        match self {
            Against::Baseline => {
                "no latency metric had enough samples to be gated: run longer or at a higher rate"
            }
            Against::BaseTarget => {
                "no latency metric had enough responses per block to be paired: longer blocks or a higher rate"
            }
        }
    }
}

/// A metric's verdict with no values and no decision yet (inconclusive, empty reason); the
/// caller fills in what it knows.
pub(super) fn undecided(
    endpoint: &str,
    metric: Metric,
    unit: Unit,
    tolerance: f64,
) -> MetricVerdict {
    MetricVerdict {
        endpoint: endpoint.to_string(),
        metric,
        label: metric.label(),
        status: MetricStatus::Inconclusive,
        unit,
        baseline: None,
        current: None,
        ratio: None,
        ci90: None,
        p_value: None,
        p_adjusted: None,
        q_value: None,
        tolerance,
        mdc: None,
        reason: String::new(),
        detail: None,
    }
}

/// Errors among requests, on one side of an error-rate comparison.
#[derive(Debug, Clone, Copy)]
pub(super) struct ErrorCount {
    /// Failed requests of the class.
    pub errors: u64,
    /// All requests.
    pub requests: u64,
}

/// The error-rate verdict of `class` from its test `t` on these counts (over-dispersion
/// `dispersion`), undecided until [`decide_error`].
pub(super) fn error_verdict(
    endpoint: &str,
    class: ErrorClass,
    tolerance: f64,
    t: &ErrorOutcome,
    current: ErrorCount,
    baseline: ErrorCount,
    dispersion: f64,
) -> MetricVerdict {
    MetricVerdict {
        baseline: Some(t.rate_baseline),
        current: Some(t.rate_current),
        ratio: t.ratio.filter(|r| r.is_finite()),
        ci90: t.ratio_ci90.map(|(low, high)| Range {
            low,
            high: high.min(f64::MAX),
        }),
        detail: Some(Detail::ErrorRate(ErrorDetail {
            errors_current: current.errors,
            requests_current: current.requests,
            errors_baseline: baseline.errors,
            requests_baseline: baseline.requests,
            dispersion,
            current_interval: Range {
                low: t.current_ci90.0,
                high: t.current_ci90.1,
            },
            baseline_interval: Range {
                low: t.baseline_ci90.0,
                high: t.baseline_ci90.1,
            },
        })),
        ..undecided(
            endpoint,
            Metric::ErrorRate { class },
            Unit::Ratio,
            tolerance,
        )
    }
}

/// The decision on an error rate, given its Holm-adjusted p-values (up, down) and q-value when
/// it is in the family: a regression when the rate rose by the tolerance (in points) and at
/// least [`ERROR_RATIO`]-fold and that is unlikely to be noise; improvement mirrored;
/// inconclusive when such a rise is significant on its own (`p ≤ α`) but not after the Holm
/// correction (a paired run measured 0 vs 10 errors in 500 requests each: p = 0.0015 alone,
/// 0.018 over the family); else a pass. A detectable change already in `v.mdc` is named in a
/// pass.
pub(super) fn decide_error(
    mut v: MetricVerdict,
    t: &ErrorOutcome,
    adjusted: Option<(f64, f64, f64)>,
    alpha: f64,
    against: Against,
) -> MetricVerdict {
    let diff = t.rate_current - t.rate_baseline;
    let ratio = t.ratio.unwrap_or(1.0);
    let rates = format!(
        "{} vs {} {}",
        percent(t.rate_current),
        percent(t.rate_baseline),
        against.error_rate_where()
    );
    let tol = format!("{} points", points(v.tolerance));
    v.p_value = Some(if diff >= 0.0 { t.p_up } else { t.p_down });
    let (up, down) = match adjusted {
        Some((up, down, q)) => {
            v.p_adjusted = Some(up);
            v.q_value = Some(q);
            (up, down)
        }
        None => (1.0, 1.0),
    };
    (v.status, v.reason) = if up <= alpha && diff >= v.tolerance && ratio >= ERROR_RATIO {
        (
            MetricStatus::Regression,
            format!(
                "{rates}: up {} points, beyond the {tol} tolerance, and unlikely to be noise (Holm-adjusted p = {})",
                points(diff),
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
    } else if diff >= v.tolerance && ratio >= ERROR_RATIO && t.p_up <= alpha {
        (
            MetricStatus::Inconclusive,
            format!(
                "{rates}: up {} points, beyond the {tol} tolerance and significant on its own (p = {}), but not over every metric tested (Holm-adjusted p = {}): a longer run or a higher rate would settle it",
                points(diff),
                p_value(t.p_up),
                p_value(up)
            ),
        )
    } else {
        // A rise that is not even significant on its own is no evidence: a stray error or two
        // must not leave every run inconclusive. The detectable change (`mdc`) says how large
        // an increase the test would have caught.
        let detectable = v.mdc.map_or_else(String::new, |d| {
            format!(
                "; increases of {} points or more would be caught",
                points(d)
            )
        });
        let what = if diff > 0.0 {
            format!("higher, but not significantly (p = {})", p_value(t.p_up))
        } else {
            "no increase".to_string()
        };
        (MetricStatus::Pass, format!("{rates}: {what}{detectable}"))
    };
    v
}

/// A ratio (0–1) in percentage points, two decimals.
fn points(ratio: f64) -> String {
    format!("{:.2}", ratio * 100.0)
}

/// The tail-share test on a quantile too thinly sampled to gate its value, with its
/// Holm-adjusted p-value `up` and q-value `q`: fills in the test's values, and marks a
/// regression when the share of responses beyond the tail shape at least doubled
/// ([`tail::SHARE_RATIO`]) and the increase is unlikely to be noise. Otherwise it leaves the
/// status and reason alone and returns the test's note (`tail test: …`) for the caller to add.
pub(super) fn tail_share(
    v: &mut MetricVerdict,
    t: &TailOutcome,
    up: f64,
    q: f64,
    alpha: f64,
    against: Against,
) -> Option<String> {
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
        over_dispersion: Some(t.dispersion),
    }));
    let (whose, median) = against.tail_shape();
    let shares = format!(
        "{} of responses beyond {whose} {} shape ({:.1}× {median}) against {}",
        percent(t.share_current),
        v.label,
        t.tail_to_median,
        percent(t.share_baseline)
    );
    // The tail must also be slower as measured: when a whole service speeds up, its median
    // can fall further than its tail, and the share beyond `K ×` the median then grows while
    // the tail itself got faster (seen on a real service: a share ×4.6 with p95 −29%).
    let value = v.ratio;
    let slower = value.is_none_or(|r| r >= 1.0 + v.tolerance);
    if up <= alpha && ratio >= tail::SHARE_RATIO && !slower {
        return Some(format!(
            "tail test: {shares} (×{ratio:.1}, unlikely to be noise), but {} itself is {} against {}: the median fell further than the tail, which did not grow",
            v.label,
            change(value.unwrap_or(1.0)),
            match against {
                Against::Baseline => "the baseline",
                Against::BaseTarget => "the base target",
            }
        ));
    }
    if up <= alpha && ratio >= tail::SHARE_RATIO {
        v.status = MetricStatus::Regression;
        v.reason = format!(
            "{shares} {}: ×{ratio:.1}, a tail regression unlikely to be noise (Holm-adjusted p = {}; {} itself has {})",
            against.tail_where(),
            p_value(up),
            v.label,
            against.too_few()
        );
        None
    } else {
        Some(format!("tail test: {shares} (×{ratio:.1})"))
    }
}

/// The settings a comparison records: the profile's `gate` section with the block length and
/// prior weight the comparison used; `family_size` is filled in once the family is known.
pub(super) fn settings(gate: &GateConfig, block_ms: u64, prior_weight: f64) -> GateSettings {
    GateSettings {
        alpha: gate.alpha,
        metrics: gate
            .metrics
            .iter()
            .map(|(q, t)| QuantileTolerance {
                quantile: q.0,
                tolerance: *t,
            })
            .collect(),
        error_rate_tolerance: gate.error_rate,
        block_ms,
        family_size: 0,
        prior_weight,
    }
}

/// Overall verdict of the metrics: regression if any regressed; else inconclusive if any is
/// (or no latency metric could be tested); else improvement if any improved; else pass. The
/// reasons name the metrics behind the verdict.
pub(super) fn overall(metrics: &[MetricVerdict], against: Against) -> (Verdict, Vec<String>) {
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
    let tested_latency = metrics.iter().any(|m| {
        matches!(m.metric, Metric::Latency { .. }) && m.status != MetricStatus::ReportOnly
    });
    if !tested_latency {
        return (
            Verdict::Inconclusive,
            vec![against.no_latency_tested().into()],
        );
    }
    let improvements = list(MetricStatus::Improvement);
    if improvements.is_empty() {
        (Verdict::Pass, Vec::new())
    } else {
        (Verdict::Improvement, improvements)
    }
}

/// The "notable changes" list: indices of the metrics that did not regress but whose q-value
/// is at most [`NOTABLE_Q`], smallest q first.
pub(super) fn notable(metrics: &[MetricVerdict]) -> Vec<usize> {
    let mut notable: Vec<usize> = (0..metrics.len())
        .filter(|&i| {
            let v = &metrics[i];
            v.status != MetricStatus::Regression && v.q_value.is_some_and(|q| q <= NOTABLE_Q)
        })
        .collect();
    notable.sort_by(|&a, &b| {
        let q = |i: usize| metrics[i].q_value.unwrap_or(1.0);
        q(a).total_cmp(&q(b))
    });
    notable
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tail-share outcome whose share grew `ratio` times, with a one-sided p of `p_up`.
    fn grown(ratio: f64, p_up: f64) -> TailOutcome {
        TailOutcome {
            quantile: 0.95,
            tail_to_median: 1.9,
            above_current: 120,
            responses_current: 1000,
            share_current: 0.05 * ratio,
            share_baseline: 0.05,
            diff: ratio.ln(),
            se: 0.2,
            df: 12.0,
            dispersion: 2.0,
            p_up,
            p_down: 1.0 - p_up,
            ci90: (ratio * 0.7, ratio * 1.4),
        }
    }

    fn p95(value_ratio: f64) -> MetricVerdict {
        MetricVerdict {
            ratio: Some(value_ratio),
            ..undecided(
                "aggregate",
                Metric::Latency { quantile: 0.95 },
                Unit::Us,
                0.10,
            )
        }
    }

    /// The decision on `errors` in 505 requests against none in 495, with a Holm-adjusted p.
    fn errors_against_none(errors: u64, holm: f64) -> MetricVerdict {
        let t = crate::compare::errors::error_test(errors, 505, 0, 495, 1.0);
        let v = error_verdict(
            "search",
            crate::metrics::ErrorClass::Http5xx,
            0.001,
            &t,
            ErrorCount {
                errors,
                requests: 505,
            },
            ErrorCount {
                errors: 0,
                requests: 495,
            },
            1.0,
        );
        decide_error(v, &t, Some((holm, 1.0, holm)), 0.01, Against::BaseTarget)
    }

    #[test]
    fn a_rise_in_errors_significant_only_before_holm_is_inconclusive() {
        // Measured in a paired run: 0 → 2% of `search` answered 500, p = 0.001 on its own and
        // 0.018 over the family. Not a pass.
        let v = errors_against_none(10, 0.018);
        assert!(v.p_value.is_some_and(|p| p < 0.01), "{v:?}");
        assert_eq!(v.status, MetricStatus::Inconclusive, "{}", v.reason);
        assert!(
            v.reason.contains("not over every metric tested"),
            "{}",
            v.reason
        );
        // Significant over the family too: a regression.
        assert_eq!(
            errors_against_none(10, 0.005).status,
            MetricStatus::Regression
        );
        // A stray error or two is no evidence either way: a pass.
        let v = errors_against_none(2, 1.0);
        assert_eq!(v.status, MetricStatus::Pass, "{}", v.reason);
    }

    #[test]
    fn a_thicker_tail_that_is_slower_is_a_regression() {
        let mut v = p95(5.0);
        let note = tail_share(
            &mut v,
            &grown(2.5, 1e-5),
            1e-4,
            1e-4,
            0.01,
            Against::Baseline,
        );
        assert!(note.is_none(), "{note:?}");
        assert_eq!(v.status, MetricStatus::Regression, "{}", v.reason);
    }

    #[test]
    fn a_share_that_grew_because_the_median_fell_is_no_regression() {
        // Measured on a real service: the service 36% faster, one endpoint's share beyond its
        // tail shape ×4.6 (significant), its p95 itself 29% faster than the baseline.
        for against in [Against::Baseline, Against::BaseTarget] {
            let mut v = p95(0.71);
            let note = tail_share(&mut v, &grown(4.6, 1e-5), 1e-4, 1e-4, 0.01, against)
                .expect("not a regression, so a note");
            assert_ne!(v.status, MetricStatus::Regression, "{}", v.reason);
            assert!(note.contains("p95 itself is -29.0%"), "{note}");
            assert!(note.contains("did not grow"), "{note}");
        }
        // Within the tolerance (+5%) is not slower either.
        let mut v = p95(1.05);
        assert!(
            tail_share(
                &mut v,
                &grown(3.0, 1e-5),
                1e-4,
                1e-4,
                0.01,
                Against::Baseline
            )
            .is_some()
        );
        assert_ne!(v.status, MetricStatus::Regression);
    }
}
