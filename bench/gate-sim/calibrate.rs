//! `gate-sim --calibrate DIR`: the statistics the realistic model is calibrated on, from the
//! results files (`loadgate run --out`) of a real service's unchanged runs, and the same
//! statistics from simulated runs of `Noise::realistic()` for comparison.
//!
//! Per run `r` and endpoint `e`, `y = ln p50` of the measured phase; `m_e` is the endpoint's
//! mean over the runs; the run's shared factor is `median_e(y − m_e)` and the residual
//! `y − m_e − shared` is what is left per endpoint (sampling noise plus per-endpoint drift).
//! Files of each directory form one series (the runs of one baseline and its A/A runs); a
//! series needs at least three runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use loadgate::compare::{RunData, RunSummary, stats};
use loadgate::metrics::Histogram;
use loadgate::profile::GateConfig;
use loadgate::results::RunResult;

use crate::sim::{self, Change, Config, Noise};

/// The calibration statistics of one series of runs.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Runs.
    pub runs: usize,
    /// Per run, in time order: the shared factor (log).
    pub shared: Vec<f64>,
    /// Per run, in time order: the per-endpoint residuals (log).
    pub residuals: Vec<Vec<f64>>,
    /// SD of the per-endpoint residuals (log), pooled.
    pub residual_sd: f64,
    /// Mean expected sampling SD of `ln p50` of one endpoint in one run (the gate's own estimate).
    pub sampling_sd: f64,
    /// Per endpoint: median over runs of p95 / p50.
    pub tail_ratio: BTreeMap<String, f64>,
    /// Per endpoint: median over runs of p50, µs.
    pub median_us: BTreeMap<String, f64>,
}

impl Series {
    /// The statistics of runs (time order), all with the same endpoints; `None` with fewer
    /// than three runs.
    pub fn of(runs: &[RunSummary], gate: &GateConfig) -> Option<Self> {
        if runs.len() < 3 {
            return None;
        }
        let p50 = gate
            .metrics
            .iter()
            .position(|(q, _)| (q.0 - 0.5).abs() < 1e-9)?;
        let p95 = gate
            .metrics
            .iter()
            .position(|(q, _)| (q.0 - 0.95).abs() < 1e-9);
        let names: Vec<String> = runs[0].endpoints.iter().map(|e| e.name.clone()).collect();
        // y[r][e], only endpoints with a p50 in every run.
        let names: Vec<String> = names
            .into_iter()
            .filter(|n| {
                runs.iter().all(|r| {
                    r.endpoint(n)
                        .is_some_and(|e| e.quantiles[p50].value_us.is_some())
                })
            })
            .collect();
        if names.len() < 2 {
            return None;
        }
        let value = |r: &RunSummary, n: &str, qi: usize| {
            r.endpoint(n).and_then(|e| e.quantiles[qi].log_value())
        };
        let y: Vec<Vec<f64>> = runs
            .iter()
            .map(|r| {
                names
                    .iter()
                    .map(|n| value(r, n, p50).expect("filtered above"))
                    .collect()
            })
            .collect();
        let means: Vec<f64> = (0..names.len())
            .map(|e| stats::mean(&y.iter().map(|row| row[e]).collect::<Vec<_>>()))
            .collect();
        let shared: Vec<f64> = y
            .iter()
            .map(|row| {
                let d: Vec<f64> = row.iter().zip(&means).map(|(v, m)| v - m).collect();
                stats::median(&d)
            })
            .collect();
        let residuals: Vec<Vec<f64>> = y
            .iter()
            .zip(&shared)
            .map(|(row, s)| row.iter().zip(&means).map(|(v, m)| v - m - s).collect())
            .collect();
        let sq: f64 = residuals.iter().flatten().map(|r| r * r).sum();
        // Degrees of freedom: R·E values, E endpoint means and R shared factors fitted.
        let (r, e) = (runs.len() as f64, names.len() as f64);
        let residual_sd = (sq / ((r - 1.0) * (e - 1.0)).max(1.0)).sqrt();
        let sampling: Vec<f64> = runs
            .iter()
            .flat_map(|run| {
                names.iter().filter_map(move |n| {
                    run.endpoint(n).map(|e| e.quantiles[p50].sampling_variance)
                })
            })
            .collect();
        let mut tail_ratio = BTreeMap::new();
        let mut median_us = BTreeMap::new();
        for n in &names {
            median_us.insert(
                n.clone(),
                stats::median(
                    &runs
                        .iter()
                        .filter_map(|r| value(r, n, p50))
                        .map(f64::exp)
                        .collect::<Vec<_>>(),
                ),
            );
            if let Some(p95) = p95 {
                let ratios: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| Some((value(r, n, p95)? - value(r, n, p50)?).exp()))
                    .collect();
                if !ratios.is_empty() {
                    tail_ratio.insert(n.clone(), stats::median(&ratios));
                }
            }
        }
        Some(Self {
            runs: runs.len(),
            shared,
            residuals,
            residual_sd,
            sampling_sd: stats::mean(&sampling).sqrt(),
            tail_ratio,
            median_us,
        })
    }

    /// Robust SD of the shared factors (1.4826 × the median absolute deviation): the spread of
    /// the unshifted runs.
    pub fn core_sd(&self) -> f64 {
        let m = stats::median(&self.shared);
        let dev: Vec<f64> = self.shared.iter().map(|s| (s - m).abs()).collect();
        1.4826 * stats::median(&dev)
    }

    /// Runs whose shared factor is at least [`sim::SHIFTED`] away from the series' median
    /// (either way): `(up, down)`.
    pub fn shifted(&self) -> (usize, usize) {
        let m = stats::median(&self.shared);
        let limit = sim::SHIFTED.ln();
        (
            self.shared.iter().filter(|s| **s - m >= limit).count(),
            self.shared.iter().filter(|s| m - **s >= limit).count(),
        )
    }

    /// Lag-1 autocorrelation of the shared factors in time order (spells).
    pub fn lag1(&self) -> f64 {
        let m = stats::mean(&self.shared);
        let num: f64 = self
            .shared
            .windows(2)
            .map(|w| (w[0] - m) * (w[1] - m))
            .sum();
        let den: f64 = self.shared.iter().map(|s| (s - m).powi(2)).sum();
        if den > 0.0 { num / den } else { f64::NAN }
    }
}

/// Per second since the start of the run (warm-up included): the median over runs of the
/// second's p50 over the run's measured p50, pooled over endpoints.
fn cold_start(results: &[RunResult]) -> Vec<(u32, f64, usize)> {
    let mut by_second: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for r in results {
        let warmup = r.warmup_intervals();
        for e in &r.endpoints {
            let mut measured = Histogram::new();
            let mut seconds = Vec::new();
            for i in &e.intervals {
                let Ok(h) = i.latency.decode() else { continue };
                if i.index >= warmup {
                    measured.add(&h);
                }
                if let Some(p50) = h.quantile_us(0.5).filter(|_| h.len() >= 5) {
                    seconds.push((i.index, p50 as f64));
                }
            }
            let Some(whole) = measured.quantile_us(0.5) else {
                continue;
            };
            for (index, p50) in seconds {
                let second = (u64::from(index) * r.interval_ms / 1000) as u32;
                by_second
                    .entry(second)
                    .or_default()
                    .push(p50 / whole.max(1) as f64);
            }
        }
    }
    by_second
        .into_iter()
        .map(|(s, v)| (s, stats::median(&v), v.len()))
        .collect()
}

fn json_files(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<PathBuf>>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            out.entry(dir.to_path_buf()).or_default().push(path);
        }
    }
    Ok(())
}

fn pct(log: f64) -> String {
    format!("{:+.1}%", (log.exp() - 1.0) * 100.0)
}

fn describe(out: &mut String, name: &str, s: &Series) {
    let mut sorted = s.shared.clone();
    sorted.sort_by(f64::total_cmp);
    let m = stats::median(&s.shared);
    let (up, down) = s.shifted();
    let _ = writeln!(
        out,
        "- {name}: {} runs. Shared factor relative to the series' median run, in time order: {}.\n  \
         Core SD (1.4826·MAD) {:.1}%; runs shifted ≥ ×{:.2}: {up} up, {down} down; lag-1 \
         autocorrelation {:.2}. Per-endpoint residual SD {:.1}%, of which sampling (the gate's \
         own estimate of `ln p50`'s sampling SD) {:.1}%, so per-endpoint drift ≈ {:.1}%.\n  \
         p50 by endpoint: {}. p95 / p50 by endpoint: {}.",
        s.runs,
        s.shared
            .iter()
            .map(|v| pct(v - m))
            .collect::<Vec<_>>()
            .join(", "),
        s.core_sd() * 100.0,
        sim::SHIFTED,
        s.lag1(),
        s.residual_sd * 100.0,
        s.sampling_sd * 100.0,
        (s.residual_sd.powi(2) - s.sampling_sd.powi(2))
            .max(0.0)
            .sqrt()
            * 100.0,
        s.median_us
            .iter()
            .map(|(n, v)| format!("{n} {:.2} ms", v / 1000.0))
            .collect::<Vec<_>>()
            .join(", "),
        s.tail_ratio
            .iter()
            .map(|(n, v)| format!("{n} {v:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
}

/// Pearson correlation of paired values (NaN with fewer than three pairs).
fn correlation(pairs: &[(f64, f64)]) -> f64 {
    if pairs.len() < 3 {
        return f64::NAN;
    }
    let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let (ma, mb) = (stats::mean(&a), stats::mean(&b));
    let cov: f64 = pairs.iter().map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// One results file of a series.
struct Run {
    /// File name without `.json`.
    stem: String,
    result: RunResult,
}

/// The calibration report for the results files under `dir` whose names start with one of
/// `only` (all results files when `only` is empty). Files named `NAME-gate.json` and
/// `NAME-confirm.json` are a first run on a freshly started service and a second run on the
/// same instance right after it: their shared factors show whether a confirmation run keeps
/// the first run's factor, and the two cold-start curves what a restart costs.
pub fn report(dir: &Path, only: &[String]) -> Result<String, String> {
    let gate = GateConfig::default();
    let mut files = BTreeMap::new();
    json_files(dir, &mut files).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
    let mut out = format!("# Calibration from `{}`\n\n", dir.display());
    if !only.is_empty() {
        let _ = writeln!(out, "Files whose names start with {only:?}.\n");
    }
    let mut restarted = Vec::new();
    let mut again = Vec::new();
    let mut pooled: Vec<f64> = Vec::new();
    let mut pairs: Vec<(f64, f64)> = Vec::new();
    let mut residual_pairs: Vec<(f64, f64)> = Vec::new();
    let mut skipped = 0;
    for (series_dir, paths) in &files {
        let mut runs: Vec<Run> = Vec::new();
        for path in paths {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !only.is_empty() && !only.iter().any(|p| stem.starts_with(p.as_str())) {
                continue;
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            match RunResult::from_json(&text) {
                Ok(result) => runs.push(Run { stem, result }),
                Err(_) => skipped += 1,
            }
        }
        runs.sort_by(|a, b| a.result.started_at.cmp(&b.result.started_at));
        let summaries: Vec<RunSummary> = runs
            .iter()
            .filter_map(|r| RunData::from_result(&r.result).ok())
            .map(|d| d.summarize(&gate))
            .collect();
        if summaries.len() == runs.len()
            && let Some(s) = Series::of(&summaries, &gate)
        {
            describe(&mut out, &format!("`{}`", series_dir.display()), &s);
            let m = stats::median(&s.shared);
            pooled.extend(s.shared.iter().map(|v| v - m));
            let index: BTreeMap<&str, usize> = runs
                .iter()
                .enumerate()
                .map(|(i, r)| (r.stem.as_str(), i))
                .collect();
            for (i, r) in runs.iter().enumerate() {
                let Some(name) = r.stem.strip_suffix("-gate") else {
                    continue;
                };
                if let Some(&j) = index.get(format!("{name}-confirm").as_str()) {
                    pairs.push((s.shared[i], s.shared[j]));
                    residual_pairs.extend(
                        s.residuals[i]
                            .iter()
                            .copied()
                            .zip(s.residuals[j].iter().copied()),
                    );
                }
            }
        }
        for r in runs {
            if r.stem.ends_with("-confirm") {
                again.push(r.result);
            } else {
                restarted.push(r.result);
            }
        }
    }
    if skipped > 0 {
        let _ = writeln!(
            out,
            "\n{skipped} JSON files that are not results files were skipped."
        );
    }
    if restarted.is_empty() && again.is_empty() {
        let _ = writeln!(out, "No results files under `{}`.", dir.display());
        out.push_str(&simulated(&gate));
        return Ok(out);
    }
    for (what, results) in [
        ("first runs after a restart", &restarted),
        ("second runs on the same instance (`*-confirm`)", &again),
    ] {
        if results.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\nCold start, {what} ({} runs): second since the start: median over runs and \
             endpoints of the second's p50 / the run's measured p50 (values):",
            results.len()
        );
        for (s, ratio, n) in cold_start(results).into_iter().take(15) {
            let _ = write!(out, " {s}: {ratio:.2} ({n});");
        }
        out.push('\n');
    }
    if !pairs.is_empty() {
        let diff: Vec<f64> = pairs.iter().map(|(a, b)| b - a).collect();
        let firsts: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let _ = writeln!(
            out,
            "\nFirst and second run of the same instance ({} pairs): correlation of the shared \
             factors {:.2} (SD of a first run's factor {:.1}%, of the second minus the first \
             {:.1}%; second minus first median {}); correlation of the per-endpoint residuals \
             {:.2} ({} pairs).",
            pairs.len(),
            correlation(&pairs),
            stats::variance(&firsts).sqrt() * 100.0,
            stats::variance(&diff).sqrt() * 100.0,
            pct(stats::median(&diff)),
            correlation(&residual_pairs),
            residual_pairs.len()
        );
    }
    if !pooled.is_empty() {
        pooled.sort_by(f64::total_cmp);
        let q = |p: f64| pooled[((pooled.len() - 1) as f64 * p).round() as usize];
        let _ = writeln!(
            out,
            "\nAll series pooled ({} runs): shared factor quantiles 5% {}, 25% {}, 50% {}, 75% \
             {}, 95% {}.",
            pooled.len(),
            pct(q(0.05)),
            pct(q(0.25)),
            pct(q(0.5)),
            pct(q(0.75)),
            pct(q(0.95))
        );
    }
    out.push_str(&simulated(&gate));
    Ok(out)
}

/// The same statistics on simulated series of the realistic models at the CI job.
pub fn simulated(gate: &GateConfig) -> String {
    let cfg = Config {
        rate_per_sec: 100.0,
        duration_s: 30,
        warmup_s: 5,
        weights: &[2.0, 1.0, 1.0, 1.0, 1.0],
    };
    let mut out = String::new();
    for (name, noise) in [
        ("Noise::realistic()", Noise::realistic()),
        ("Noise::realistic_busy()", Noise::realistic_busy()),
    ] {
        let _ = writeln!(out, "\nSimulated with `{name}` (100/s, 5 s + 30 s):\n");
        let mut pooled = Vec::new();
        for seed in 0..4u64 {
            let mut rng = fastrand::Rng::with_seed(0xCA11_B000 + seed);
            let runs: Vec<RunSummary> = (0..30)
                .map(|_| sim::simulate_run(&mut rng, cfg, Change::None, &noise).summarize(gate))
                .collect();
            if let Some(s) = Series::of(&runs, gate) {
                describe(&mut out, &format!("simulated series {seed}"), &s);
                let m = stats::median(&s.shared);
                pooled.extend(s.shared.iter().map(|v| v - m));
            }
        }
        pooled.sort_by(f64::total_cmp);
        if !pooled.is_empty() {
            let q = |p: f64| pooled[((pooled.len() - 1) as f64 * p).round() as usize];
            let _ = writeln!(
                out,
                "\nSimulated, pooled ({} runs): shared factor quantiles 5% {}, 25% {}, 50% {}, \
                 75% {}, 95% {}.",
                pooled.len(),
                pct(q(0.05)),
                pct(q(0.25)),
                pct(q(0.5)),
                pct(q(0.75)),
                pct(q(0.95))
            );
        }
    }
    out
}
