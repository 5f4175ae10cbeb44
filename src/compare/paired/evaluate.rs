//! The whole paired gate: validity of both targets' runs, the thresholds on the target under
//! test, and the block-by-block comparison, as an ordinary [`Comparison`] so every report
//! renders it (the base target stands where a baseline would).

use super::{Block, SIMULTANEOUS, judge_paired};
use crate::compare::gate::CompareError;
use crate::compare::metric;
use crate::compare::verdict::{
    BaselineRunRef, BaselineUse, CheckStatus, Comparison, Overall, PairedRun, Verdict,
};
use crate::compare::{COMPARISON_FORMAT_VERSION, thresholds, validity};
use crate::profile::{GateConfig, Threshold};
use crate::results::RunResult;

/// What [`evaluate_paired`] compares.
#[derive(Debug, Clone, Copy)]
pub struct PairedInput<'a> {
    /// The target under test (B), its blocks joined end to end.
    pub current: &'a RunResult,
    /// The base target (A), its blocks joined end to end.
    pub base: &'a RunResult,
    /// B's blocks, in time order.
    pub current_blocks: &'a [Block],
    /// A's blocks, in time order (`base_blocks[k]` pairs with `current_blocks[k]`).
    pub base_blocks: &'a [Block],
    /// How the blocks ran.
    pub run: &'a PairedRun,
    /// The profile's `gate` settings.
    pub gate: &'a GateConfig,
    /// The profile's absolute limits (checked on the target under test).
    pub thresholds: &'a [Threshold],
}

/// The paired comparison (see the module docs).
pub fn evaluate_paired(input: PairedInput<'_>) -> Result<Comparison, CompareError> {
    let PairedInput {
        current,
        base,
        current_blocks,
        base_blocks,
        run,
        gate,
        thresholds: limits,
    } = input;
    let mut checks = validity::run_checks(current);
    for mut check in validity::run_checks(base) {
        check.detail = format!("base target: {}", check.detail);
        checks.push(check);
    }
    let trusted = checks.iter().all(|c| c.status == CheckStatus::Ok);
    let mut thresholds = thresholds::check(current, limits)?;
    thresholds.push(thresholds::error_ceiling(current, gate.max_error_rate));
    let block_s = run.block_ms as f64 / 1000.0;
    let notes = vec![if run.order == SIMULTANEOUS {
        format!(
            "paired comparison: both targets measured at the same time, {} intervals of {block_s}s each; the base target `{}` stands where a baseline would, and what moved both targets alike cancels",
            run.blocks, run.baseline_target
        )
    } else {
        format!(
            "paired comparison: {} blocks of {block_s}s against each target, in the order {}; the base target `{}` stands where a baseline would, and what moved both targets alike cancels",
            run.blocks, run.order, run.baseline_target
        )
    }];
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
            runs_in_file: 1,
            runs: vec![BaselineRunRef {
                git_sha: base.git.as_ref().map(|g| g.sha.clone()),
                started_at: base.started_at.clone(),
                runner_class: base.runner.class.clone(),
            }],
        },
        settings: metric::settings(gate, run.block_ms, 0.0),
        validity: checks,
        metrics: Vec::new(),
        thresholds,
        bands: Vec::new(),
        notable: Vec::new(),
        notes,
        service_shifts: Vec::new(),
        confirmation: None,
        paired: Some(run.clone()),
        levels: None,
    };
    let judged = trusted.then(|| judge_paired(base_blocks, current_blocks, gate));
    let breaches = thresholds::breaches(comparison.failed_thresholds());
    let (verdict, summary, reasons) = match judged {
        None => (
            Verdict::Untrusted,
            "a run cannot be trusted: no verdict on the service",
            comparison
                .validity
                .iter()
                .filter(|v| v.status == CheckStatus::Failed)
                .map(|v| v.detail.clone())
                .chain(breaches)
                .collect(),
        ),
        Some(j) => {
            comparison.settings.family_size = j.family_size;
            comparison.service_shifts = j.shifts;
            comparison.metrics = j.metrics;
            comparison.notable = j.notable;
            if breaches.is_empty() {
                let summary = match j.verdict {
                    Verdict::Regression => {
                        "a gated metric is worse than on the base target beyond its tolerance"
                    }
                    Verdict::Improvement => {
                        "better than the base target beyond tolerance somewhere, worse nowhere"
                    }
                    Verdict::Inconclusive => {
                        "no regression found, but some metrics cannot be decided"
                    }
                    _ => "every gated metric is within its tolerance of the base target",
                };
                (j.verdict, summary, j.reasons)
            } else {
                let mut reasons = breaches;
                if j.verdict == Verdict::Regression {
                    reasons.extend(j.reasons);
                }
                (
                    Verdict::Regression,
                    "an absolute threshold was breached",
                    reasons,
                )
            }
        }
    };
    comparison.overall = Overall {
        verdict,
        summary: summary.to_string(),
        reasons,
    };
    Ok(comparison)
}
