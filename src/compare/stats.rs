//! The statistics of latency quantiles (see `stats-gate.md`): each run is one data point.
//!
//! Per run: `y = ln Q_p` of the measured phase, and the within-run variance `w = Var_k(z_k)/K`
//! of that value from `K ≥ 6` time blocks. Against `N` baseline runs: the between-run variance,
//! shrunk toward a prior, gives a prediction interval for the current run's `y` on the
//! Student-t scale. Also the multiple-testing adjustments (Holm, Benjamini–Hochberg). Pure math.

use statrs::distribution::{ContinuousCDF, FisherSnedecor, Normal, StudentsT};

use super::run::IntervalData;
use super::verdict::Center;
use crate::metrics::Histogram;

/// Fewest time blocks a run is split into for the within-run variance.
pub const MIN_BLOCKS: u32 = 6;
/// A block is doubled while it expects fewer samples than this above the quantile.
pub const MIN_TAIL_PER_BLOCK: f64 = 20.0;
/// A quantile is gated only with at least this many samples above it in every run.
pub const MIN_TAIL_SAMPLES: f64 = 200.0;
/// Prior weight `d0` of the variance shrinkage, in degrees of freedom.
pub const PRIOR_WEIGHT: f64 = 20.0;
/// Weight of the calibrated default in the pooled prior, in degrees of freedom.
pub const SCALE_PRIOR_WEIGHT: f64 = 2.0;
/// Neighbouring requests are correlated (queues, stalls), so a quantile varies more than the
/// independent-sample formula says; its sampling variance is multiplied by this.
pub const SAMPLING_INFLATION: f64 = 1.5;
/// The within-run term counts when the current run's block variance exceeds the baseline's
/// by this point of the F distribution.
pub const NOISY_RUN_POINT: f64 = 0.99;
/// Smallest standard deviation of a run's log-quantile that the gate assumes.
pub const SD_FLOOR: f64 = 0.005;
/// A baseline run this many robust standard deviations from the median is an outlier.
pub const OUTLIER_Z: f64 = 3.5;

/// Calibrated default of the run-to-run ("machine") standard deviation of `ln Q_p` beyond the
/// sampling noise, part of the prior when the baseline has too little history to estimate it.
/// Shared runners shift whole runs by a percent or two; tails move more than medians.
pub fn default_machine_sd(p: f64) -> f64 {
    if p <= 0.5 {
        0.012
    } else if p <= 0.95 {
        0.012 + (p - 0.5) / 0.45 * 0.003
    } else {
        0.015 + ((p - 0.95) / 0.049).min(1.0) * 0.010
    }
}

/// Samples a run needs to gate quantile `p`: `n·(1−p) ≥ 200`.
pub fn samples_needed(p: f64) -> u64 {
    (MIN_TAIL_SAMPLES / (1.0 - p).max(1e-6)).ceil() as u64
}

/// Base block length in intervals: the configured block, shortened so that a run of `span`
/// intervals has at least [`MIN_BLOCKS`] blocks when it is long enough for that.
pub fn block_intervals(span: u32, interval_ms: u64, block_ms: u64) -> u32 {
    let configured = u32::try_from((block_ms / interval_ms.max(1)).max(1)).unwrap_or(u32::MAX);
    if span >= MIN_BLOCKS {
        configured.min(span / MIN_BLOCKS)
    } else {
        configured
    }
}

/// A run's value of one quantile, with its within-run variance.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileValue {
    /// The quantile, 0–1.
    pub quantile: f64,
    /// Latency samples of the measured phase.
    pub samples: u64,
    /// The quantile in µs (`None` without samples).
    pub value_us: Option<u64>,
    /// The within-run variance of `ln value` (`None` when the run is too short to split).
    pub within: Option<Within>,
    /// Expected sampling variance of `ln value`: the large-sample variance of a quantile,
    /// `p(1−p) / (n·(f(Q)·Q)²)`, with the density `f` read off the run's own histogram (the
    /// slope of `ln Q` around `p`), times [`SAMPLING_INFLATION`].
    pub sampling_variance: f64,
    /// Subtracted from `ln value` by [`QuantileValue::log_value`]: 0 for a run as measured;
    /// the run's service-wide factor when the value is compared relative to the other
    /// endpoints (see `compare::shift`).
    pub log_shift: f64,
}

/// The within-run variance of a run's log-quantile, from time blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Within {
    /// `Var_k(z_k) / K`.
    pub variance: f64,
    /// Blocks with samples.
    pub blocks: u32,
    /// Block length, in intervals.
    pub block_intervals: u32,
}

impl QuantileValue {
    /// `ln` of the value in µs, less [`QuantileValue::log_shift`].
    pub fn log_value(&self) -> Option<f64> {
        self.value_us
            .map(|v| (v.max(1) as f64).ln() - self.log_shift)
    }

    /// The same value, `shift` lower on the log scale (see [`QuantileValue::log_shift`]).
    #[must_use]
    pub fn shifted(&self, shift: f64) -> Self {
        Self {
            log_shift: self.log_shift + shift,
            ..self.clone()
        }
    }

    /// True with `n·(1−p) ≥ 200`.
    pub fn has_enough_samples(&self) -> bool {
        self.samples >= samples_needed(self.quantile)
    }
}

/// The values of several quantiles of one endpoint's intervals (see the module docs).
pub fn quantile_values(
    intervals: &[IntervalData],
    span: u32,
    interval_ms: u64,
    block_ms: u64,
    quantiles: &[f64],
) -> Vec<QuantileValue> {
    let mut whole = Histogram::new();
    for i in intervals {
        i.add_latency_to(&mut whole);
    }
    let base = block_intervals(span, interval_ms, block_ms);
    let mut cache: Vec<(u32, Vec<Histogram>)> = Vec::new();
    quantiles
        .iter()
        .map(|&p| {
            let within = (span >= MIN_BLOCKS && !whole.is_empty()).then(|| {
                let len = doubled_block(span, base, whole.len(), p);
                let blocks = match cache.iter().position(|(l, _)| *l == len) {
                    Some(i) => &cache[i].1,
                    None => {
                        cache.push((len, block_histograms(intervals, span, len)));
                        &cache[cache.len() - 1].1
                    }
                };
                let z: Vec<f64> = blocks
                    .iter()
                    .filter_map(|h| h.quantile_us(p))
                    .map(|v| (v.max(1) as f64).ln())
                    .collect();
                (z.len() >= 2).then(|| Within {
                    variance: variance(&z) / z.len() as f64,
                    blocks: z.len() as u32,
                    block_intervals: len,
                })
            });
            QuantileValue {
                quantile: p,
                samples: whole.len(),
                value_us: whole.quantile_us(p),
                within: within.flatten(),
                sampling_variance: sampling_variance(&whole, p),
                log_shift: 0.0,
            }
        })
        .collect()
}

/// The sampling variance of `ln Q_p` of a histogram (see [`QuantileValue::sampling_variance`]).
/// The slope of `ln Q` is measured over `p ± h`, `h = min(0.05, (1−p)/2, p/2)`.
fn sampling_variance(histogram: &Histogram, p: f64) -> f64 {
    let n = histogram.len() as f64;
    let h = 0.05f64.min((1.0 - p) / 2.0).min(p / 2.0);
    let ln_q = |q: f64| histogram.quantile_us(q).map(|v| (v.max(1) as f64).ln());
    match (ln_q(p - h), ln_q(p + h)) {
        (Some(lo), Some(hi)) if n > 0.0 && h > 0.0 => {
            let slope = (hi - lo) / (2.0 * h);
            SAMPLING_INFLATION * p * (1.0 - p) / n * slope * slope
        }
        _ => 0.0,
    }
}

/// Doubles the block while it expects fewer than [`MIN_TAIL_PER_BLOCK`] samples above `p`,
/// as long as at least [`MIN_BLOCKS`] blocks remain.
fn doubled_block(span: u32, base: u32, samples: u64, p: f64) -> u32 {
    let max_len = (span / MIN_BLOCKS).max(1);
    let per_interval = samples as f64 / f64::from(span.max(1));
    let mut len = base.max(1);
    while per_interval * f64::from(len) * (1.0 - p) < MIN_TAIL_PER_BLOCK && len * 2 <= max_len {
        len *= 2;
    }
    len
}

/// Histograms of consecutive blocks of `len` intervals; the remainder joins the last block.
fn block_histograms(intervals: &[IntervalData], span: u32, len: u32) -> Vec<Histogram> {
    let blocks = (span / len).max(1);
    let mut out = vec![Histogram::new(); blocks as usize];
    for i in intervals {
        i.add_latency_to(&mut out[(i.index / len).min(blocks - 1) as usize]);
    }
    out
}

/// The outcome of one latency comparison (log scale unless said otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyOutcome {
    /// Mean, or median with an outlier.
    pub center: Center,
    /// The baseline's centre, `ln µs`.
    pub center_log: f64,
    /// `y_C − centre`.
    pub diff: f64,
    /// Standard error of `diff`.
    pub se: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Between-run standard deviation of the baseline runs (N ≥ 2).
    pub s_between: Option<f64>,
    /// Prior standard deviation.
    pub s_prior: f64,
    /// Standard deviation used.
    pub s_used: f64,
    /// Within-run variance of the current run.
    pub w_current: Option<f64>,
    /// Mean within-run variance of the baseline runs.
    pub w_baseline: Option<f64>,
    /// One-sided p-value of an increase.
    pub p_up: f64,
    /// One-sided p-value of a decrease.
    pub p_down: f64,
    /// 90% confidence interval of the ratio current ÷ baseline.
    pub ci90: (f64, f64),
}

impl LatencyOutcome {
    /// Current ÷ baseline.
    pub fn ratio(&self) -> f64 {
        self.diff.exp()
    }

    /// Minimum detectable change (ratio − 1) at 95% power, for a one-sided test at `alpha_each`.
    pub fn mdc(&self, alpha_each: f64) -> f64 {
        ((t_quantile(1.0 - alpha_each, self.df) + t_quantile(0.95, self.df)) * self.se).exp() - 1.0
    }
}

/// Compares the current run's log-quantile with the baseline runs' (`N ≥ 1`), given the
/// scale of the prior ([`prior_scale`]). `None` when a value is missing.
pub fn latency_test(
    current: &QuantileValue,
    baseline: &[&QuantileValue],
    prior_scale: f64,
) -> Option<LatencyOutcome> {
    let y_c = current.log_value()?;
    let ys: Vec<f64> = baseline
        .iter()
        .map(|b| b.log_value())
        .collect::<Option<_>>()?;
    if ys.is_empty() {
        return None;
    }
    let n = ys.len() as f64;
    let ws: Vec<f64> = baseline
        .iter()
        .filter_map(|b| b.within.map(|w| w.variance))
        .collect();
    let w_b = (!ws.is_empty()).then(|| mean(&ws));
    let w_c = current.within.map(|w| w.variance);
    let s_between = (ys.len() >= 2).then(|| variance(&ys).sqrt());
    let prior_var = prior_scale
        * mean(
            &baseline
                .iter()
                .map(|b| default_variance(b))
                .collect::<Vec<_>>(),
        );
    let shrunk = ((n - 1.0) * s_between.map_or(0.0, |s| s * s) + PRIOR_WEIGHT * prior_var)
        / (n - 1.0 + PRIOR_WEIGHT);
    let s_used = shrunk.sqrt().max(SD_FLOOR);
    let excess = match (current.within, w_b) {
        (Some(c), Some(b)) if unusually_noisy(c, b, baseline) => (c.variance - b).max(0.0),
        _ => 0.0,
    };
    let se = (s_used * s_used * (1.0 + 1.0 / n) + excess).sqrt();
    let df = n - 1.0 + PRIOR_WEIGHT;
    let (center, center_log) = center(&ys);
    let diff = y_c - center_log;
    let t = diff / se;
    let t95 = t_quantile(0.95, df);
    Some(LatencyOutcome {
        center,
        center_log,
        diff,
        se,
        df,
        s_between,
        s_prior: prior_var.sqrt(),
        s_used,
        w_current: w_c,
        w_baseline: w_b,
        p_up: 1.0 - t_cdf(t, df),
        p_down: t_cdf(t, df),
        ci90: ((diff - t95 * se).exp(), (diff + t95 * se).exp()),
    })
}

/// True when the current run's within-run variance is unusually high for the baseline's: its
/// ratio to the baseline mean exceeds the 99% point of the F distribution with the blocks'
/// degrees of freedom. Block variances of a quantile are noisy (a 6-block estimate has five
/// degrees of freedom), so only a clear excess, like a stall the baseline runs did not see,
/// widens the interval.
fn unusually_noisy(current: Within, baseline_mean: f64, baseline: &[&QuantileValue]) -> bool {
    let df_current = f64::from(current.blocks.saturating_sub(1));
    let df_baseline: f64 = baseline
        .iter()
        .filter_map(|b| b.within)
        .map(|w| f64::from(w.blocks.saturating_sub(1)))
        .sum();
    if df_current < 1.0 || df_baseline < 1.0 || baseline_mean <= 0.0 {
        return current.variance > baseline_mean;
    }
    let critical = f_quantile(NOISY_RUN_POINT, df_current, df_baseline);
    current.variance > critical * baseline_mean
}

/// The scale of the prior for one quantile: how the baseline runs' between-run variance
/// compares with the calibrated default ([`default_variance`]), pooled over endpoints (each a
/// list of its baseline runs' values) and shrunk toward 1 with weight [`SCALE_PRIOR_WEIGHT`].
/// Without history (N = 1) it is 1: the default carries the variance.
pub fn prior_scale(endpoints: &[Vec<&QuantileValue>]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for runs in endpoints {
        let ys: Vec<f64> = runs.iter().filter_map(|r| r.log_value()).collect();
        if ys.len() < 2 || ys.len() != runs.len() {
            continue;
        }
        let expected = mean(&runs.iter().map(|r| default_variance(r)).collect::<Vec<_>>());
        let dof = (ys.len() - 1) as f64;
        num += dof * variance(&ys) / expected;
        den += dof;
    }
    (num + SCALE_PRIOR_WEIGHT) / (den + SCALE_PRIOR_WEIGHT)
}

/// The calibrated default variance of a run's log-quantile: machine noise
/// ([`default_machine_sd`]) plus the sampling noise of its tail samples.
pub fn default_variance(value: &QuantileValue) -> f64 {
    default_machine_sd(value.quantile).powi(2) + value.sampling_variance
}

/// Mean of the values, or their median when there are at least five and one is an outlier
/// (more than [`OUTLIER_Z`] robust standard deviations from the median).
fn center(ys: &[f64]) -> (Center, f64) {
    if ys.len() >= 5 {
        let med = median(ys);
        let deviations: Vec<f64> = ys.iter().map(|y| (y - med).abs()).collect();
        let robust_sd = (1.4826 * median(&deviations)).max(SD_FLOOR);
        if deviations.iter().any(|d| d / robust_sd > OUTLIER_Z) {
            return (Center::Median, med);
        }
    }
    (Center::Mean, mean(ys))
}

/// Arithmetic mean (0 for no values).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Sample variance with `n − 1` (0 for fewer than two values).
pub fn variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
}

/// Median (0 for no values).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    }
}

/// CDF of the standard Student-t with `df` degrees of freedom.
pub fn t_cdf(x: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.cdf(x),
        Err(_) => normal().cdf(x),
    }
}

/// Quantile of the standard Student-t with `df` degrees of freedom.
pub fn t_quantile(prob: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(prob),
        Err(_) => normal().inverse_cdf(prob),
    }
}

/// Quantile of the F distribution with `d1` and `d2` degrees of freedom (infinite when they
/// do not make one).
pub fn f_quantile(prob: f64, d1: f64, d2: f64) -> f64 {
    FisherSnedecor::new(d1, d2).map_or(f64::INFINITY, |f| f.inverse_cdf(prob))
}

/// Quantile of the standard normal.
pub fn z_quantile(prob: f64) -> f64 {
    normal().inverse_cdf(prob)
}

fn normal() -> Normal {
    Normal::standard()
}

/// Holm's step-down adjusted p-values, in the input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Benjamini–Hochberg q-values, in the input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut q = vec![1.0; m];
    let mut running: f64 = 1.0;
    for (k, &i) in order.iter().enumerate() {
        let rank = (m - k) as f64;
        running = running.min((p[i] * m as f64 / rank).min(1.0));
        q[i] = running;
    }
    q
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are expected where compared exactly
mod tests;
