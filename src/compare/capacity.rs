//! Capacity searches in the gate. The profile's thresholds are the search's SLO, so they are
//! checked at the sustained step (where they held by construction), or at the first step when
//! none held (the service cannot take even the start rate: a breach). The sustainable rate is
//! one gated metric: a fall beyond `gate.capacity` is a throughput regression.
//!
//! The statistics follow the latency test (`stats-gate.md`): each run is one data point, on
//! the log scale; the run-to-run variance of the baseline runs is shrunk toward a prior made of
//! the searches' own resolution (the true capacity lies anywhere in the bracket between the
//! sustainable and the breaking rate: a uniform spread) and a run-to-run allowance. With fewer
//! than [`MIN_BASELINE_RUNS`] searches in the baseline the metric is inconclusive: a few points
//! cannot tell a slower service from a noisy machine, and a false block costs more than a late
//! one.

use super::gate::Judgement;
use super::stats::{self, mean, t_cdf, t_quantile, variance};
use super::thresholds;
use super::verdict::{
    CapacityDetail, Detail, Metric, MetricStatus, MetricVerdict, Range, ThresholdCheck, Unit,
    Verdict,
};
use crate::format::{change, p_value, rate};
use crate::profile::{GateConfig, Threshold};
use crate::results::capacity::{self, Capacity, Estimate};
use crate::results::{ResultsError, RunResult};

/// Fewest baseline searches to gate the sustainable rate.
pub const MIN_BASELINE_RUNS: usize = 3;
/// Run-to-run standard deviation of `ln(sustainable rate)` assumed beyond the step resolution:
/// shared machines move throughput more than they move latency.
pub const MACHINE_SD: f64 = 0.05;
/// Prior weight of the variance shrinkage, in degrees of freedom (weaker than latency's: the
/// prior is a guess, not calibrated on history).
pub const PRIOR_WEIGHT: f64 = 4.0;

/// The thresholds checked where the search's SLO is judged (see the module docs).
pub fn thresholds_at_sustained(
    result: &RunResult,
    capacity: &Capacity,
    limits: &[Threshold],
) -> Result<Vec<ThresholdCheck>, ResultsError> {
    match capacity.sustained_step().or_else(|| capacity.steps.first()) {
        Some(step) => thresholds::check(&capacity::step_results(result, step), limits),
        None => thresholds::check(result, limits),
    }
}

/// The verdict on the sustainable rate against the baseline searches (one per baseline run;
/// `None` for a run that found no sustainable rate or was no search).
pub fn judge(current: &Capacity, baseline: &[Option<Estimate>], gate: &GateConfig) -> Judgement {
    let runs: Vec<Estimate> = baseline.iter().flatten().copied().collect();
    let mut v = MetricVerdict {
        endpoint: "all".into(),
        metric: Metric::Capacity,
        label: Metric::Capacity.label(),
        status: MetricStatus::Inconclusive,
        unit: Unit::PerSec,
        baseline: (!runs.is_empty()).then(|| {
            mean(
                &runs
                    .iter()
                    .map(|r| r.sustainable_per_sec.ln())
                    .collect::<Vec<_>>(),
            )
            .exp()
        }),
        current: current.sustainable_per_sec,
        ratio: None,
        ci90: None,
        p_value: None,
        p_adjusted: None,
        q_value: None,
        tolerance: gate.capacity,
        mdc: None,
        reason: String::new(),
        detail: None,
    };
    v.ratio = v.current.zip(v.baseline).map(|(c, b)| c / b);
    let mut family_size = 0;
    match current.estimate() {
        None => {
            v.reason = "the search found no sustainable rate (its first step broke the SLO)".into();
        }
        Some(_) if runs.len() < MIN_BASELINE_RUNS => {
            v.reason = format!(
                "{} baseline run{} measured capacity; {MIN_BASELINE_RUNS} are needed to tell a change from run-to-run noise: record more runs on main",
                runs.len(),
                if runs.len() == 1 { "" } else { "s" }
            );
        }
        Some(cur) => {
            family_size = 1;
            decide(&mut v, cur, &runs, gate);
        }
    }
    let reasons = if v.status == MetricStatus::Pass {
        Vec::new()
    } else {
        vec![format!("{} {}: {}", v.endpoint, v.label, v.reason)]
    };
    let verdict = match v.status {
        MetricStatus::Regression => Verdict::Regression,
        MetricStatus::Improvement => Verdict::Improvement,
        MetricStatus::Pass => Verdict::Pass,
        MetricStatus::Inconclusive | MetricStatus::ReportOnly => Verdict::Inconclusive,
    };
    Judgement {
        metrics: vec![v],
        family_size,
        notable: Vec::new(),
        verdict,
        reasons,
        shifts: Vec::new(),
    }
}

/// Variance of `ln` of the true capacity within a search's bracket (uniform on the log scale).
fn bracket_variance(e: &Estimate) -> f64 {
    e.breaking_per_sec
        .map_or(0.0, |b| (b / e.sustainable_per_sec).ln().powi(2) / 12.0)
}

fn decide(v: &mut MetricVerdict, current: Estimate, runs: &[Estimate], gate: &GateConfig) {
    let ys: Vec<f64> = runs.iter().map(|r| r.sustainable_per_sec.ln()).collect();
    let n = ys.len() as f64;
    let resolution = mean(&runs.iter().map(bracket_variance).collect::<Vec<_>>());
    let prior = resolution + MACHINE_SD * MACHINE_SD;
    let between = variance(&ys);
    let df = n - 1.0 + PRIOR_WEIGHT;
    let shrunk = ((n - 1.0) * between + PRIOR_WEIGHT * prior) / df;
    let se = (shrunk * (1.0 + 1.0 / n) + (bracket_variance(&current) - resolution).max(0.0))
        .sqrt()
        .max(stats::SD_FLOOR);
    let d = current.sustainable_per_sec.ln() - mean(&ys);
    let p_down = t_cdf(d / se, df);
    let p_up = 1.0 - p_down;
    let t90 = t_quantile(0.95, df);
    let (low, high) = ((d - t90 * se).exp(), (d + t90 * se).exp());
    let ratio = d.exp();
    let floor = 1.0 - gate.capacity;
    v.ratio = Some(ratio);
    v.ci90 = Some(Range { low, high });
    v.p_value = Some(if d <= 0.0 { p_down } else { p_up });
    // One metric: Holm's adjustment leaves its p-value as it is.
    v.p_adjusted = Some(p_down);
    v.mdc = Some(1.0 - (-(t_quantile(1.0 - gate.alpha, df) + t90) * se).exp());
    v.detail = Some(Detail::Capacity(CapacityDetail {
        baseline_rates: runs.iter().map(|r| r.sustainable_per_sec).collect(),
        log_change: d,
        standard_error: se,
        degrees_of_freedom: df,
        between_runs_sd: between.sqrt(),
        prior_sd: prior.sqrt(),
        current_bracket: current
            .breaking_per_sec
            .map(|b| b / current.sustainable_per_sec),
    }));
    let ci = format!("[{}, {}]", change(low), change(high));
    let tol = format!("-{:.0}%", gate.capacity * 100.0);
    let censored = current.breaking_per_sec.is_none();
    (v.status, v.reason) = if p_down <= gate.alpha && ratio <= floor && !censored {
        (
            MetricStatus::Regression,
            format!(
                "sustainable rate {} against {} in the baseline ({}), beyond the {tol} tolerance and unlikely to be noise (p = {}, 90% CI {ci})",
                rate(current.sustainable_per_sec),
                v.baseline.map_or_else(|| "—".into(), rate),
                change(ratio),
                p_value(p_down)
            ),
        )
    } else if p_up <= gate.alpha && ratio >= 1.0 / floor {
        (
            MetricStatus::Improvement,
            format!(
                "sustainable rate {} ({}), beyond the tolerance and unlikely to be noise (p = {}, 90% CI {ci})",
                rate(current.sustainable_per_sec),
                change(ratio),
                p_value(p_up)
            ),
        )
    } else if low > floor || (censored && ratio > floor) {
        (
            MetricStatus::Pass,
            format!(
                "sustainable rate {} ({}){}, within the {tol} tolerance",
                rate(current.sustainable_per_sec),
                change(ratio),
                if censored {
                    ", at least (no step broke)".to_string()
                } else {
                    format!(", 90% CI {ci}")
                }
            ),
        )
    } else {
        (
            MetricStatus::Inconclusive,
            format!(
                "sustainable rate {} ({}) with 90% CI {ci} reaching past the {tol} tolerance; this comparison only detects falls of {:.1}% or more: more baseline runs, or a finer search (`refine`), would narrow it",
                rate(current.sustainable_per_sec),
                change(ratio),
                v.mdc.unwrap_or(0.0) * 100.0
            ),
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::capacity::{SearchSettings, StopReason};

    fn found(sustainable: f64, breaking: Option<f64>) -> Capacity {
        Capacity {
            settings: SearchSettings {
                start_per_sec: 50.0,
                growth: "×1.5".into(),
                hold_ms: 10_000,
                refine: 2,
                min_achieved_ratio: 0.95,
                collapse_error_ratio: 0.1,
                max_rate_per_sec: 5000.0,
                max_duration_ms: 600_000,
            },
            sustainable_per_sec: Some(sustainable),
            breaking_per_sec: breaking,
            stop: StopReason::Refined,
            steps: Vec::new(),
        }
    }

    fn est(s: f64, b: f64) -> Estimate {
        Estimate {
            sustainable_per_sec: s,
            breaking_per_sec: Some(b),
        }
    }

    /// Five baseline searches around 400/s with a ±5% bracket.
    fn baseline() -> Vec<Option<Estimate>> {
        [392.0, 401.0, 410.0, 398.0, 405.0]
            .iter()
            .map(|&s| Some(est(s, s * 1.05)))
            .collect()
    }

    fn status(current: &Capacity, base: &[Option<Estimate>]) -> (MetricStatus, Verdict) {
        let j = judge(current, base, &GateConfig::default());
        (j.metrics[0].status, j.verdict)
    }

    #[test]
    fn the_same_capacity_passes() {
        assert_eq!(
            status(&found(400.0, Some(420.0)), &baseline()),
            (MetricStatus::Pass, Verdict::Pass)
        );
    }

    #[test]
    fn a_halved_capacity_is_a_throughput_regression() {
        let (s, v) = status(&found(200.0, Some(210.0)), &baseline());
        assert_eq!((s, v), (MetricStatus::Regression, Verdict::Regression));
    }

    #[test]
    fn a_doubled_capacity_is_an_improvement() {
        let (s, _) = status(&found(800.0, Some(840.0)), &baseline());
        assert_eq!(s, MetricStatus::Improvement);
    }

    #[test]
    fn few_baseline_searches_are_inconclusive_never_a_block() {
        let two = &baseline()[..2];
        let j = judge(&found(100.0, Some(105.0)), two, &GateConfig::default());
        assert_eq!(j.metrics[0].status, MetricStatus::Inconclusive);
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert!(j.reasons[0].contains("3 are needed"), "{:?}", j.reasons);
        assert_eq!(j.family_size, 0);
    }

    #[test]
    fn a_change_within_the_resolution_is_not_a_regression() {
        // 7% lower, with searches that only resolve ±5%: never a regression at a 10% tolerance.
        let (s, _) = status(&found(372.0, Some(390.0)), &baseline());
        assert_ne!(s, MetricStatus::Regression);
    }

    #[test]
    fn a_search_that_reached_its_cap_cannot_regress() {
        let base: Vec<Option<Estimate>> = baseline();
        let (s, _) = status(&found(5000.0, None), &base);
        assert_ne!(s, MetricStatus::Regression);
        let (s, _) = status(&found(395.0, None), &base);
        assert_eq!(s, MetricStatus::Pass, "at least 395/s: within tolerance");
    }

    #[test]
    fn no_sustainable_rate_is_inconclusive_here() {
        let mut c = found(1.0, None);
        c.sustainable_per_sec = None;
        let j = judge(&c, &baseline(), &GateConfig::default());
        assert_eq!(j.metrics[0].status, MetricStatus::Inconclusive);
    }
}
