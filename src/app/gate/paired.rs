//! Paired A/B measurement for `loadgate gate --baseline-target URL`: the profile's load runs in
//! short blocks alternating between the base target (A) and the target under test (B), in the
//! order ABBA ABBA…, each block an ordinary run of the engine at the profile's peak level. The
//! first block against each target has the profile's warm-up (at least one interval) and waits
//! for the target to be ready; every later block has a one-interval warm-up, because each
//! block opens fresh connections and their set-up must stay out of the statistics on both
//! sides alike. Every block's results are kept in `paired-blocks/` beside the results; the
//! blocks of each target joined end to end are `results.json` (B) and `results.base.json` (A).
//! The comparison is `compare::paired`.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Settings, run_flags};
use crate::app::console::errln;
use crate::app::run::{execute_run, load_profile, resolve_target, wait_ready, watch};
use crate::cli::ProgressMode;
use crate::compare::paired::{Block, PairedInput, SIMULTANEOUS, evaluate_paired};
use crate::compare::{Comparison, PairedRun, RunData};
use crate::error::Error;
use crate::github::inputs::workspace_relative;
use crate::github::{Context, Env};
use crate::profile::{PairedSchedule, Profile, Segment, units::format_duration};
use crate::results::RunResult;

/// One side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The base target.
    A,
    /// The target under test.
    B,
}

/// The order of `blocks` blocks per target: ABBA repeated, so that a drift through the job
/// reaches both targets equally on average.
fn order(blocks: u32) -> Vec<Side> {
    (0..blocks / 2)
        .flat_map(|_| [Side::A, Side::B, Side::B, Side::A])
        .collect()
}

/// The measured length of one block: `gate.paired.block`, else the profile's measured duration
/// split evenly over the blocks, in whole intervals (at least one).
fn block_length(profile: &Profile) -> Duration {
    let load = &profile.load;
    if let Some(block) = profile.gate.paired.block {
        return block;
    }
    let measured = load.duration().saturating_sub(load.warmup);
    let intervals = measured.as_nanos() / load.interval.as_nanos().max(1);
    let per_block = (intervals / u128::from(profile.gate.paired.blocks)).max(1);
    load.interval * u32::try_from(per_block).unwrap_or(u32::MAX)
}

/// `results.json` → `results.base.json`, beside it.
pub(super) fn base_results_path(results: &Path) -> PathBuf {
    super::beside(results, "base")
}

/// Refuses what a paired comparison cannot do, with what to do instead.
fn check(profile: &Profile, settings: &Settings) -> Result<(), Error> {
    if profile.load.search().is_some() {
        return Err(Error::Usage(
            "`--baseline-target` cannot pair a capacity search (`model: search`): compare searches against a baseline".into(),
        ));
    }
    if settings.shard.is_some_and(|(_, n)| n > 1) {
        return Err(Error::Usage(
            "`--baseline-target` cannot be split into shards: each block must measure both targets' whole load; run it unsharded".into(),
        ));
    }
    if settings.start_at.is_some() {
        return Err(Error::Usage(
            "`--baseline-target` cannot wait for a synchronized start (`start-at`, for shards): a paired comparison runs unsharded; drop `start-at`".into(),
        ));
    }
    Ok(())
}

/// Measures both targets in alternating blocks and compares them: the target under test's
/// joined results (written to `results_path`) and the comparison.
pub(super) async fn measure_paired(
    env: &Env,
    settings: &Settings,
    profile: &Profile,
    ctx: Option<&Context>,
    results_path: &Path,
    base_target: &str,
) -> Result<(RunResult, Comparison), Error> {
    check(profile, settings)?;
    let target_b = resolve_target(profile, settings.target.as_deref())?;
    let target_a = resolve_target(profile, Some(base_target))
        .map_err(|e| Error::Usage(e.to_string().replace("`--target`", "`--baseline-target`")))?;
    if target_a == target_b {
        return Err(Error::Usage(format!(
            "`--baseline-target` is the target under test itself (`{target_a}`): expected the base branch's deployment"
        )));
    }
    if profile.gate.paired.schedule == PairedSchedule::Simultaneous {
        return measure_simultaneous(
            env,
            settings,
            profile,
            ctx,
            results_path,
            (&target_a, &target_b),
        )
        .await;
    }
    let interval = profile.load.interval;
    let block = block_length(profile);
    let level = profile.load.peak_level();
    let sides = order(profile.gate.paired.blocks);
    let letters: String = sides
        .iter()
        .map(|s| if *s == Side::A { 'A' } else { 'B' })
        .collect();
    errln!(
        "paired comparison: {} blocks of {} against each target at {level} ({}), order {letters}; A = {target_a}, B = {target_b}",
        profile.gate.paired.blocks,
        format_duration(block),
        if profile.load.kind() == crate::profile::LoadModel::Open {
            "requests/s"
        } else {
            "users"
        }
    );
    let blocks_dir = results_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join("paired-blocks");
    let (mut runs_a, mut runs_b) = (Vec::new(), Vec::new());
    for (i, side) in sides.iter().enumerate() {
        let first = match side {
            Side::A => runs_a.is_empty(),
            Side::B => runs_b.is_empty(),
        };
        // A fresh copy of the profile with this block's load (the profile hash, and so the
        // results' identity, stays the profile's own).
        let mut block_profile = load_profile(&settings.profile)?;
        let warmup = if first {
            profile.load.warmup.max(interval)
        } else {
            interval
        };
        block_profile.load.warmup = warmup;
        block_profile.load.segments = vec![Segment {
            start: Duration::ZERO,
            duration: warmup + block,
            from: level,
            to: level,
        }];
        let (letter, url) = match side {
            Side::A => ('A', &target_a),
            Side::B => ('B', &target_b),
        };
        let path = blocks_dir.join(format!("{:02}-{}.json", i + 1, letter.to_ascii_lowercase()));
        let mut flags = run_flags(settings, ctx, &path);
        flags.target = Some(url.clone());
        flags.no_wait = !first;
        flags.progress = ProgressMode::Off;
        errln!("block {}/{}: {letter}", i + 1, sides.len());
        let result = execute_run(Arc::new(block_profile), &flags, Some(&settings.profile)).await?;
        crate::app::write_results(&path, &result)?;
        let partial = result.partial;
        match side {
            Side::A => runs_a.push(result),
            Side::B => runs_b.push(result),
        }
        if partial {
            errln!("block {} stopped early: no further blocks", i + 1);
            break;
        }
    }
    errln!(
        "block results written to {}",
        workspace_relative(env, &blocks_dir)
    );
    let pairs = runs_a.len().min(runs_b.len());
    let decode = |runs: &[RunResult]| -> Result<Vec<Block>, Error> {
        runs[..pairs]
            .iter()
            .map(|r| {
                RunData::from_result(r)
                    .map(|d| Block::from_data(&d))
                    .map_err(|source| Error::Histogram {
                        what: "a block's histogram",
                        source,
                    })
            })
            .collect()
    };
    let (blocks_a, blocks_b) = (decode(&runs_a)?, decode(&runs_b)?);
    let join = |runs: Vec<RunResult>| crate::results::concat(runs).map_err(Error::Merge);
    let (joined_a, joined_b) = (join(runs_a)?, join(runs_b)?);
    write_both(env, results_path, &joined_a, &joined_b)?;
    let run = PairedRun {
        baseline_target: target_a,
        target: target_b,
        order: letters,
        blocks: profile.gate.paired.blocks,
        block_ms: u64::try_from(block.as_millis()).unwrap_or(u64::MAX),
    };
    compare(profile, &run, (joined_a, &blocks_a), (joined_b, &blocks_b))
}

/// The paired comparison of B's run and blocks against A's; B's run and the comparison.
fn compare(
    profile: &Profile,
    run: &PairedRun,
    (a, blocks_a): (RunResult, &[Block]),
    (b, blocks_b): (RunResult, &[Block]),
) -> Result<(RunResult, Comparison), Error> {
    let comparison = evaluate_paired(PairedInput {
        current: &b,
        base: &a,
        current_blocks: blocks_b,
        base_blocks: blocks_a,
        run,
        gate: &profile.gate,
        thresholds: &profile.thresholds,
    })?;
    Ok((b, comparison))
}

/// Writes the target under test's results to `results_path` and the base target's beside it.
fn write_both(env: &Env, results_path: &Path, a: &RunResult, b: &RunResult) -> Result<(), Error> {
    let base_path = base_results_path(results_path);
    crate::app::write_results(results_path, b)?;
    crate::app::write_results(&base_path, a)?;
    errln!(
        "results written to {} (B) and {} (A)",
        workspace_relative(env, results_path),
        workspace_relative(env, &base_path)
    );
    Ok(())
}

/// Measures both targets at the same time, each with the profile's whole load, and compares
/// them interval by interval (`gate.paired.schedule: simultaneous`). Both are waited for
/// before either gets load, so the two runs start together; intervals are paired by their
/// time should the starts still differ (different set-up requests).
async fn measure_simultaneous(
    env: &Env,
    settings: &Settings,
    profile: &Profile,
    ctx: Option<&Context>,
    results_path: &Path,
    (target_a, target_b): (&str, &str),
) -> Result<(RunResult, Comparison), Error> {
    errln!(
        "paired comparison: both targets at once, each with the whole load, compared interval by interval; A = {target_a}, B = {target_b}"
    );
    {
        let (stop, _loading, _signals) = watch();
        wait_ready(profile, target_a, &stop).await?;
        wait_ready(profile, target_b, &stop).await?;
    }
    let base_path = base_results_path(results_path);
    let flags = |url: &str, path: &Path, progress: ProgressMode| {
        let mut flags = run_flags(settings, ctx, path);
        flags.target = Some(url.to_string());
        flags.no_wait = true;
        flags.progress = progress;
        flags
    };
    let (flags_a, flags_b) = (
        flags(target_a, &base_path, ProgressMode::Off),
        flags(target_b, results_path, ProgressMode::Auto),
    );
    let (profile_a, profile_b) = (
        Arc::new(load_profile(&settings.profile)?),
        Arc::new(load_profile(&settings.profile)?),
    );
    let (run_a, run_b) = tokio::join!(
        execute_run(profile_a, &flags_a, Some(&settings.profile)),
        execute_run(profile_b, &flags_b, Some(&settings.profile)),
    );
    // Whatever one side measured is kept even when the other failed.
    let (run_a, run_b) = match (run_a, run_b) {
        (Ok(a), Ok(b)) => (a, b),
        (Ok(a), Err(e)) => {
            crate::app::write_results(&base_path, &a)?;
            return Err(e);
        }
        (Err(e), Ok(b)) => {
            crate::app::write_results(results_path, &b)?;
            return Err(e);
        }
        (Err(e), Err(_)) => return Err(e),
    };
    write_both(env, results_path, &run_a, &run_b)?;
    let decode = |r: &RunResult| {
        RunData::from_result(r).map_err(|source| Error::Histogram {
            what: "a run's histogram",
            source,
        })
    };
    let (data_a, data_b) = (decode(&run_a)?, decode(&run_b)?);
    let (range_a, range_b) = paired_intervals(&run_a, &run_b);
    if range_a.start.abs_diff(range_b.start) > 0 {
        errln!(
            "the targets' runs started {} apart: their intervals are paired by time",
            format_duration(Duration::from_millis(
                u64::from(range_a.start.abs_diff(range_b.start)) * run_b.interval_ms
            ))
        );
    }
    let blocks_a = Block::per_interval(&data_a, range_a);
    let blocks_b = Block::per_interval(&data_b, range_b);
    let run = PairedRun {
        baseline_target: target_a.to_string(),
        target: target_b.to_string(),
        order: SIMULTANEOUS.into(),
        blocks: u32::try_from(blocks_b.len()).unwrap_or(u32::MAX),
        block_ms: run_b.interval_ms,
    };
    compare(profile, &run, (run_a, &blocks_a), (run_b, &blocks_b))
}

/// The measured intervals of A and of B that ran at the same time: B's interval `j` against
/// A's `j + s`, `s` the difference of their starts in whole intervals (rounded).
fn paired_intervals(a: &RunResult, b: &RunResult) -> (Range<u32>, Range<u32>) {
    // Whole intervals less the warm-up's, rounded: a run of 35 s may report 34,997 ms.
    let measured = |r: &RunResult| {
        let total = (r.duration_ms as f64 / r.interval_ms.max(1) as f64).round() as u32;
        total.saturating_sub(r.warmup_intervals())
    };
    let start = |r: &RunResult| {
        humantime::parse_rfc3339(&r.started_at)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let shift = ((start(b) - start(a)) / b.interval_ms.max(1) as f64).round();
    let (n_a, n_b) = (measured(a), measured(b));
    // Clamp so a nonsense timestamp cannot shift past the runs.
    let s = shift.clamp(-f64::from(n_b), f64::from(n_a)) as i64;
    let (from_a, from_b) = if s >= 0 {
        (s as u32, 0)
    } else {
        (0, s.unsigned_abs() as u32)
    };
    let n = (n_a - from_a).min(n_b - from_b);
    (from_a..from_a + n, from_b..from_b + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_alternate_abba_and_split_the_measured_duration() {
        let letters: String = order(6)
            .iter()
            .map(|s| if *s == Side::A { 'A' } else { 'B' })
            .collect();
        assert_eq!(letters, "ABBAABBAABBA");
        let profile = Profile::from_yaml(
            "version: 1\nname: p\ntarget: http://127.0.0.1:9\nload:\n  warmup: 2s\n  stages:\n    - { duration: 32s, rate: 10/s }\nrequests:\n  - { name: get, get: / }\n",
            "p.yaml",
        )
        .expect("valid");
        assert_eq!(
            block_length(&profile),
            Duration::from_secs(5),
            "30s over 6 blocks"
        );
        assert_eq!(
            base_results_path(Path::new("/ws/out/results.json")),
            Path::new("/ws/out/results.base.json")
        );
    }
}
