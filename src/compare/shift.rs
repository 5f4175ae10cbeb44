//! Service-wide shifts. On a real service most run-to-run noise moves every endpoint together
//! (a slower node, a cold deployment, a busy datastore), and a baseline recorded in a quiet
//! spell does not contain it. Per gated quantile with at least [`MIN_ENDPOINTS`] gateable
//! endpoints, a run's service-wide factor is the median over the endpoints of
//! `ln Q − the endpoint's baseline centre`, and every endpoint is also compared *relative* to
//! its run's factor: a swing that moves all endpoints cancels there, a change to one endpoint
//! does not. The median keeps one regressed endpoint from moving the factor. Pure math on log
//! values; the policy that uses it is in `gate`.

use super::stats::{self, LatencyOutcome, QuantileValue};

/// Fewest gateable endpoints of a quantile for a service-wide factor: with two, the median is
/// their mean, and a change to one would look half service-wide.
pub const MIN_ENDPOINTS: usize = 3;

/// A uniform shift at least this large (as a ratio − 1) is beyond the swings a restarted
/// service shows between runs (about one run in ten moves every endpoint by 15–40%), so it
/// blocks without confirmation.
pub const SWING_CEILING: f64 = 0.5;

/// One quantile's split into a service-wide factor and per-endpoint relative changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// The current run's service-wide factor (log scale, against the baseline centres).
    pub current: f64,
    /// Each baseline run's factor, in the order given.
    pub baseline: Vec<f64>,
    /// Per endpoint, in the order given: the current run against the baseline runs, each
    /// less its run's factor (`None` when a value is missing).
    pub relative: Vec<Option<LatencyOutcome>>,
}

/// Splits one quantile of `current[e]` and `baseline[r][e]` (the baseline runs that have every
/// endpoint, each listing the endpoints in the same order as `current`). `None` with fewer
/// than [`MIN_ENDPOINTS`] endpoints, no baseline run, or a missing value.
pub fn decompose(
    current: &[&QuantileValue],
    baseline: &[Vec<&QuantileValue>],
) -> Option<Decomposition> {
    let endpoints = current.len();
    if endpoints < MIN_ENDPOINTS || baseline.is_empty() {
        return None;
    }
    let mut centres = Vec::with_capacity(endpoints);
    for e in 0..endpoints {
        let ys: Vec<f64> = baseline
            .iter()
            .map(|run| run.get(e).and_then(|v| v.log_value()))
            .collect::<Option<_>>()?;
        centres.push(stats::mean(&ys));
    }
    let factor = |values: &[&QuantileValue]| -> Option<f64> {
        let d: Vec<f64> = values
            .iter()
            .zip(&centres)
            .map(|(v, c)| v.log_value().map(|y| y - c))
            .collect::<Option<_>>()?;
        (d.len() == endpoints).then(|| stats::median(&d))
    };
    let now = factor(current)?;
    let runs: Vec<f64> = baseline
        .iter()
        .map(|run| factor(run))
        .collect::<Option<_>>()?;
    let shifted: Vec<Vec<QuantileValue>> = baseline
        .iter()
        .zip(&runs)
        .map(|(run, c)| run.iter().map(|v| v.shifted(*c)).collect())
        .collect();
    let groups: Vec<Vec<&QuantileValue>> = (0..endpoints)
        .map(|e| shifted.iter().map(|run| &run[e]).collect())
        .collect();
    let scale = stats::prior_scale(&groups);
    let relative = (0..endpoints)
        .map(|e| stats::latency_test(&current[e].shifted(now), &groups[e], scale))
        .collect();
    Some(Decomposition {
        current: now,
        baseline: runs,
        relative,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(us: u64) -> QuantileValue {
        QuantileValue {
            quantile: 0.5,
            samples: 10_000,
            value_us: Some(us),
            within: None,
            sampling_variance: 1e-5,
            log_shift: 0.0,
        }
    }

    /// Endpoints with medians 1, 2, 4, 8 ms; baseline runs with small per-endpoint noise.
    fn baseline_runs() -> Vec<Vec<QuantileValue>> {
        let noise = [
            [1.00, 1.01, 0.99, 1.00],
            [1.01, 0.99, 1.00, 1.02],
            [0.99, 1.00, 1.01, 0.99],
            [1.02, 1.01, 0.98, 1.00],
            [1.00, 0.98, 1.01, 1.01],
        ];
        noise
            .iter()
            .map(|run| {
                run.iter()
                    .enumerate()
                    .map(|(e, f)| value((f64::from(1000 << e) * f) as u64))
                    .collect()
            })
            .collect()
    }

    fn split(current: &[f64]) -> Decomposition {
        let runs = baseline_runs();
        let base: Vec<Vec<&QuantileValue>> = runs.iter().map(|r| r.iter().collect()).collect();
        let now: Vec<QuantileValue> = current
            .iter()
            .enumerate()
            .map(|(e, f)| value((f64::from(1000 << e) * f) as u64))
            .collect();
        let now: Vec<&QuantileValue> = now.iter().collect();
        decompose(&now, &base).expect("four endpoints and five runs decompose")
    }

    #[test]
    fn a_uniform_swing_is_the_factor_and_cancels_relative() {
        let d = split(&[1.30, 1.31, 1.29, 1.30]);
        assert!((d.current.exp() - 1.30).abs() < 0.01, "{}", d.current.exp());
        for t in d
            .relative
            .iter()
            .map(|t| t.as_ref().expect("values present"))
        {
            assert!(t.ratio() > 0.97 && t.ratio() < 1.03, "{}", t.ratio());
            assert!(t.p_up > 0.05, "{t:?}");
        }
        assert_eq!(d.baseline.len(), 5);
        assert!(
            d.baseline.iter().all(|c| c.abs() < 0.02),
            "{:?}",
            d.baseline
        );
    }

    #[test]
    fn one_endpoint_change_stays_out_of_the_factor() {
        let d = split(&[1.0, 1.0, 1.25, 1.0]);
        assert!(d.current.abs() < 0.01, "{}", d.current);
        let t = d.relative[2].as_ref().expect("values present");
        assert!((t.ratio() - 1.25).abs() < 0.02, "{}", t.ratio());
        assert!(t.p_up < 1e-4, "{t:?}");
        // The same change under a −20% swing of everything is still +25% relative.
        let d = split(&[0.8, 0.8, 1.0, 0.8]);
        assert!((d.current.exp() - 0.8).abs() < 0.01);
        let t = d.relative[2].as_ref().expect("values present");
        assert!((t.ratio() - 1.25).abs() < 0.02, "{}", t.ratio());
    }

    #[test]
    fn too_few_endpoints_or_runs_give_nothing() {
        let runs = baseline_runs();
        let two: Vec<Vec<&QuantileValue>> = runs.iter().map(|r| r[..2].iter().collect()).collect();
        let now = [value(1000), value(2000)];
        assert!(decompose(&[&now[0], &now[1]], &two).is_none());
        let now = [value(1000), value(2000), value(4000)];
        let refs: Vec<&QuantileValue> = now.iter().collect();
        assert!(decompose(&refs, &[]).is_none());
    }
}
