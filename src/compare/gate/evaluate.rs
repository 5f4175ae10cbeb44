//! A whole comparison: validity checks, the baseline's compatibility, thresholds, then
//! [`judge`](super::judge), assembled into a [`Comparison`].

use crate::baseline::Baseline;
use crate::compare::metric;
use crate::compare::run::{RunData, RunSummary};
use crate::compare::stats;
use crate::compare::verdict::{
    BaselineRunRef, BaselineUse, CheckKind, CheckStatus, Comparison, Overall, ValidityCheck,
    Verdict,
};
use crate::compare::{COMPARISON_FORMAT_VERSION, thresholds, validity};
use crate::metrics::HistogramError;
use crate::profile::{GateConfig, Threshold};
use crate::results::{ResultsError, RunResult};

use super::judge;

/// What [`evaluate`] compares.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// The run under test.
    pub current: &'a RunResult,
    /// The baseline, if there is one.
    pub baseline: Option<&'a Baseline>,
    /// The profile's `gate` settings.
    pub gate: &'a GateConfig,
    /// The profile's absolute limits.
    pub thresholds: &'a [Threshold],
}

/// A comparison could not be computed (a histogram failed to decode).
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// In the current run.
    #[error("results: {0}")]
    Results(#[from] ResultsError),
    /// In the baseline.
    #[error("baseline run {run}: {source}")]
    Baseline {
        /// Index of the run in the baseline file.
        run: usize,
        /// Why.
        #[source]
        source: HistogramError,
    },
}

/// The whole gate: validity, compatibility, the statistical comparison and the thresholds.
pub fn evaluate(input: GateInput<'_>) -> Result<Comparison, CompareError> {
    let GateInput {
        current,
        baseline,
        gate,
        thresholds: limits,
    } = input;
    let mut validity = validity::run_checks(current);
    let trusted = validity.iter().all(|c| c.status == CheckStatus::Ok);
    let thresholds = match &current.capacity {
        // A search drives the service past its capacity on purpose; its failures are judged
        // per step.
        Some(c) => crate::compare::capacity::thresholds_at_sustained(current, c, limits)?,
        None => {
            let mut checks = thresholds::check(current, limits)?;
            checks.push(thresholds::error_ceiling(current, gate.max_error_rate));
            checks
        }
    };
    let mut notes = Vec::new();
    let mut runs_in_file = 0;
    let mut used = Vec::new();
    let mut base_verdict = None;
    match baseline {
        None => base_verdict = Some(Verdict::NoBaseline),
        Some(b) if b.runs.is_empty() => {
            base_verdict = Some(Verdict::NoBaseline);
        }
        Some(b) => {
            runs_in_file = b.runs.len() as u32;
            let same_profile =
                b.profile.name == current.profile.name && b.profile.hash == current.profile.hash;
            validity.push(ValidityCheck {
                check: CheckKind::Profile,
                status: if same_profile { CheckStatus::Ok } else { CheckStatus::Failed },
                detail: if same_profile {
                    format!("baseline recorded with the same profile `{}` ({})", b.profile.name, short_hash(&b.profile.hash))
                } else if b.profile.name != current.profile.name {
                    format!("the baseline is for profile `{}`, the run is of `{}`", b.profile.name, current.profile.name)
                } else {
                    format!(
                        "the profile changed since the baseline was recorded (hash {} then, {} now): record a new baseline from main",
                        short_hash(&b.profile.hash),
                        short_hash(&current.profile.hash)
                    )
                },
            });
            let same_class = b
                .runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.runner.class == current.runner.class)
                .collect::<Vec<_>>();
            let others = b.runs.len() - same_class.len();
            // The window: the newest `gate.baseline_runs` of them (runs are oldest first). A
            // file holding more (written by hand, or before a smaller window) is not read
            // whole into the statistics.
            let window = (gate.baseline_runs as usize).max(1);
            let beyond = same_class.len().saturating_sub(window);
            used = same_class[beyond..].to_vec();
            if beyond > 0 {
                notes.push(format!(
                    "the baseline holds {} runs of this runner class: the newest {window} were used (`gate.baseline_runs`)",
                    same_class.len()
                ));
            }
            validity.push(ValidityCheck {
                check: CheckKind::RunnerClass,
                status: if used.is_empty() {
                    CheckStatus::Failed
                } else {
                    CheckStatus::Ok
                },
                detail: if used.is_empty() {
                    format!(
                        "no baseline run is of runner class `{}` (the baseline has `{}`)",
                        current.runner.class,
                        b.runs.last().map_or("", |r| r.runner.class.as_str())
                    )
                } else {
                    format!(
                        "{} baseline runs of runner class `{}`",
                        used.len(),
                        current.runner.class
                    )
                },
            });
            if others > 0 && !used.is_empty() {
                notes.push(format!(
                    "{others} baseline runs of other runner classes were left out"
                ));
            }
            if !same_profile || used.is_empty() {
                base_verdict = Some(Verdict::Incompatible);
            }
        }
    }
    let settings = metric::settings(
        gate,
        u64::try_from(gate.block.as_millis()).unwrap_or(u64::MAX),
        stats::PRIOR_WEIGHT,
    );
    let mut comparison = Comparison {
        format_version: COMPARISON_FORMAT_VERSION,
        overall: Overall {
            verdict: Verdict::Pass,
            summary: String::new(),
            reasons: Vec::new(),
        },
        profile: current.profile.clone(),
        runner_class: current.runner.class.clone(),
        baseline: BaselineUse {
            runs_in_file,
            runs: used
                .iter()
                .map(|(_, r)| BaselineRunRef {
                    git_sha: r.git.as_ref().map(|g| g.sha.clone()),
                    started_at: r.started_at.clone(),
                    runner_class: r.runner.class.clone(),
                })
                .collect(),
        },
        settings,
        validity,
        metrics: Vec::new(),
        thresholds,
        bands: Vec::new(),
        notable: Vec::new(),
        notes,
        service_shifts: Vec::new(),
        confirmation: None,
        paired: None,
        levels: crate::compare::levels::of(current, limits, gate.max_error_rate)?,
    };
    let mut judged = None;
    if let (Some(c), true, None) = (&current.capacity, trusted, base_verdict) {
        // A search gates its sustainable rate; its latencies mix steps of different rates.
        let estimates: Vec<_> = used.iter().map(|(_, r)| r.capacity).collect();
        let j = crate::compare::capacity::judge(c, &estimates, gate);
        comparison.settings.family_size = j.family_size;
        comparison.metrics = j.metrics;
        judged = Some((j.verdict, j.reasons));
    } else if trusted && base_verdict.is_none() {
        let data = RunData::from_result(current).map_err(|source| ResultsError::Histogram {
            path: "endpoints".into(),
            source,
        })?;
        let mut base_data = Vec::with_capacity(used.len());
        for (i, run) in &used {
            base_data.push(
                RunData::from_baseline_run(run)
                    .map_err(|source| CompareError::Baseline { run: *i, source })?,
            );
        }
        let summary = data.summarize(gate);
        let base_summaries: Vec<RunSummary> = base_data.iter().map(|d| d.summarize(gate)).collect();
        let j = judge(&summary, &base_summaries, gate);
        comparison.settings.family_size = j.family_size;
        comparison.bands = crate::compare::run::bands(&base_data, gate);
        if used.len() <= 2 {
            comparison.notes.push(format!(
                "only {} baseline run{}: the run-to-run variance comes mostly from the calibrated prior, so intervals are wide; recording more runs on main sharpens them",
                used.len(),
                if used.len() == 1 { "" } else { "s" }
            ));
        }
        if let Some(span) = one_sitting(used.iter().map(|(_, r)| r.started_at.as_str())) {
            comparison.notes.push(format!(
                "the {} baseline runs started within {} of each other: runs of one sitting see one spell of the environment, so how the endpoints move against each other from spell to spell is not in their spread (on the real service of bench/gate-real, 7 of 30 unchanged runs blocked against such a baseline, 0 of 28 against one kept by merges); record one run per merge to main",
                used.len(),
                crate::profile::units::format_duration(std::time::Duration::from_secs(span.as_secs().max(1)))
            ));
        }
        comparison.metrics = j.metrics;
        comparison.notable = j.notable;
        comparison.service_shifts = j.shifts;
        judged = Some((j.verdict, j.reasons));
    }
    comparison.overall = overall_verdict(&comparison, trusted, base_verdict, judged);
    Ok(comparison)
}

pub(super) fn overall_verdict(
    c: &Comparison,
    trusted: bool,
    base_verdict: Option<Verdict>,
    judged: Option<(Verdict, Vec<String>)>,
) -> Overall {
    let failed_checks: Vec<String> = c
        .validity
        .iter()
        .filter(|v| v.status == CheckStatus::Failed)
        .map(|v| v.detail.clone())
        .collect();
    let breaches = thresholds::breaches(c.failed_thresholds());
    let (verdict, summary, mut reasons) = if !trusted {
        (
            Verdict::Untrusted,
            "the run cannot be trusted: no verdict on the service".to_string(),
            failed_checks,
        )
    } else if !breaches.is_empty() {
        let mut reasons = breaches.clone();
        if let Some((Verdict::Regression, r)) = &judged {
            reasons.extend(r.iter().cloned());
        }
        let failing = c
            .failed_thresholds()
            .any(|t| t.label == thresholds::CEILING_LABEL);
        (
            Verdict::Regression,
            if failing {
                "too many requests failed: the service is failing".to_string()
            } else {
                "an absolute threshold was breached".to_string()
            },
            reasons,
        )
    } else if let Some(v) = base_verdict {
        match v {
            Verdict::NoBaseline => (
                v,
                "no baseline yet: thresholds checked, nothing to compare with".to_string(),
                Vec::new(),
            ),
            _ => (
                v,
                "the baseline cannot be compared with this run".to_string(),
                failed_checks,
            ),
        }
    } else {
        let (v, r) = judged.unwrap_or((Verdict::Inconclusive, Vec::new()));
        (v, v.judged_summary().to_string(), r)
    };
    if verdict == Verdict::Untrusted && !breaches.is_empty() {
        reasons.extend(breaches);
    }
    Overall {
        verdict,
        summary,
        reasons,
    }
}

pub(super) fn short_hash(hash: &str) -> &str {
    let h = hash.strip_prefix("sha256:").unwrap_or(hash);
    h.get(..12).unwrap_or(h)
}

/// Baseline runs that all started within this span were recorded in one sitting.
const ONE_SITTING: std::time::Duration = std::time::Duration::from_secs(3600);

/// The span from the first to the last start of three or more baseline runs when it is under
/// [`ONE_SITTING`] (a baseline recorded by running the profile several times in a row, not
/// one run per merge); `None` otherwise, or when a start time does not parse.
pub(super) fn one_sitting<'a>(
    started: impl Iterator<Item = &'a str>,
) -> Option<std::time::Duration> {
    let times: Vec<std::time::SystemTime> = started
        .map(|s| humantime::parse_rfc3339_weak(s).ok())
        .collect::<Option<_>>()?;
    let first = *times.iter().min()?;
    let last = *times.iter().max()?;
    let span = last.duration_since(first).ok()?;
    (times.len() >= 3 && span < ONE_SITTING).then_some(span)
}
