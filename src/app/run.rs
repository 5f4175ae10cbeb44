//! `loadgate run`: load the profile, wait for the target, run the engine with live progress,
//! write results (partial ones too) and print the summary.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::console::{err, errln, out};
use super::live::Live;
use crate::baseline::Baseline;
use crate::cli::{CsvFlags, MetricsFlags, ProgressMode, RunArgs, RunFlags};
use crate::compare::{Comparison, Verdict};
use crate::engine::{self, IntervalProgress, RunExtras, RunMeta, RunOptions, ShardSpec, Stop};
use crate::error::{Error, ExitCode};
use crate::profile::{self, Profile};
use crate::report::{terminal, verdict};
use crate::results::{GitRef, RunResult, Runner};

pub(super) async fn run(args: RunArgs) -> Result<ExitCode, Error> {
    let profile = Arc::new(load_profile(&args.profile)?);
    super::check_writable(&args.run.out, "--out")?;
    if let Some(prefix) = &args.csv.csv {
        super::check_writable(&super::report::csv_path(prefix, "_stats.csv"), "--csv")?;
    }
    let result = execute_run_with(
        profile.clone(),
        &args.run,
        &args.metrics,
        Some(&args.profile),
    )
    .await?;
    if result.shard.count > 1 && !result.partial {
        // One shard alone says nothing about the service: thresholds and the gate are judged
        // on the merged results.
        let written = super::save_results(&args.run.out, &result)?;
        out!("{}", terminal::summary(&result));
        errln!("results written to {}", written.display());
        super::report::write_csv(&args.csv, &result, &args.run.out)?;
        errln!(
            "shard results: judge thresholds and the gate after `loadgate merge` of all {} shards",
            result.shard.count
        );
        return Ok(ExitCode::Pass);
    }
    let comparison = finish_run(&result, &args.run.out, &profile, None, &args.csv)?;
    Ok(ExitCode::of_verdict(comparison.overall.verdict))
}

/// Writes results, prints the summary, and checks the run: its validity and the profile's
/// thresholds, and, with a baseline, the statistical comparison (printed in full then).
pub(super) fn finish_run(
    result: &RunResult,
    out: &Path,
    profile: &Profile,
    baseline: Option<&Baseline>,
    csv: &CsvFlags,
) -> Result<Comparison, Error> {
    let written = super::save_results(out, result)?;
    super::report::write_csv(csv, result, out)?;
    out!("{}", terminal::summary(result));
    if let Some(c) = &result.capacity {
        out!("{}", crate::report::capacity::terminal(c));
    }
    errln!("results written to {}", written.display());
    let comparison = super::compare::gate_run(result, baseline, profile)?;
    if let Some(levels) = &comparison.levels {
        out!(
            "{}",
            crate::report::levels::terminal(levels, result.interval_ms)
        );
    }
    if baseline.is_some() {
        super::print_verdict(&verdict::comparison(&comparison));
        return Ok(comparison);
    }
    if !comparison.thresholds.is_empty() {
        super::print_verdict(&verdict::thresholds(&comparison.thresholds));
    }
    let o = &comparison.overall;
    if matches!(o.verdict, Verdict::Untrusted | Verdict::Regression) {
        errln!("{}: {}", o.verdict.as_str().replace('_', " "), o.summary);
        for reason in &o.reasons {
            errln!("  {reason}");
        }
    }
    Ok(comparison)
}

/// Reads and validates a profile file; its data files are read relative to it.
pub fn load_profile(path: &Path) -> Result<Profile, Error> {
    read_profile(path, Profile::from_yaml_with_files)
}

/// Reads a profile for its settings only (`compare`, `report`, the gate's report mode): the
/// environment variables its templates read need not be set, so a job without the run's
/// secrets can still render the verdict.
pub fn load_profile_settings(path: &Path) -> Result<Profile, Error> {
    read_profile(path, Profile::settings_from_yaml_with_files)
}

type ProfileParser = fn(
    &str,
    &str,
    &dyn crate::profile::DataFiles,
    &dyn crate::profile::EnvVars,
) -> Result<Profile, crate::profile::ProfileError>;

fn read_profile(path: &Path, parse: ProfileParser) -> Result<Profile, Error> {
    let text = super::read_file(path)?;
    let files = FilesBeside(path.parent().map(Path::to_path_buf).unwrap_or_default());
    Ok(parse(
        &text,
        &path.display().to_string(),
        &files,
        &process_env,
    )?)
}

/// The process environment, which a profile's `{{ env.NAME }}` templates read.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Data files, relative to the profile's directory.
struct FilesBeside(std::path::PathBuf);

impl crate::profile::DataFiles for FilesBeside {
    fn read(&self, path: &str) -> Result<String, String> {
        let full = self.0.join(path);
        let expected = "expected a `.csv` or `.jsonl` file, its path relative to the profile";
        if full.is_dir() {
            return Err(format!(
                "data file `{}` is a directory: {expected}",
                full.display()
            ));
        }
        super::read_bounded(&full, super::Input::Data).map_err(|e| {
            format!(
                "cannot read data file `{}` ({e}): {expected}",
                full.display()
            )
        })
    }
}

/// The target: `--target` / `LOADGATE_TARGET`, else the profile's.
pub fn resolve_target(profile: &Profile, flag: Option<&str>) -> Result<String, Error> {
    let target = flag
        .map(str::to_string)
        .or_else(|| profile.target.clone())
        .ok_or_else(|| {
            Error::Usage(format!(
                "no target for profile `{}`: set `target:` in the profile, pass `--target URL`, or set LOADGATE_TARGET",
                profile.name
            ))
        })?;
    profile::check_target(&target)
        .and_then(|()| profile::url::check_protocol(profile.http.version, &target))
        .map_err(|m| Error::Usage(format!("`--target`: {m}")))?;
    Ok(target.trim().trim_end_matches('/').to_string())
}

/// Refuses a shard count the profile's in-flight cap cannot be split across.
pub(super) fn check_shard_count(profile: &Profile, shards: u32) -> Result<(), Error> {
    let load = &profile.load;
    if let Some(cap) = load.max_in_flight()
        && cap < u64::from(shards)
    {
        return Err(Error::Usage(engine::cap_too_small(cap, shards)));
    }
    Ok(())
}

/// Runs a profile with the given flags: readiness probe, engine (or a capacity search),
/// progress, signals.
pub async fn execute_run(
    profile: Arc<Profile>,
    flags: &RunFlags,
    profile_path: Option<&Path>,
) -> Result<RunResult, Error> {
    execute_run_with(profile, flags, &MetricsFlags::default(), profile_path).await
}

/// [`execute_run`] with live metrics (`--metrics-listen`, `--metrics-out`).
pub async fn execute_run_with(
    profile: Arc<Profile>,
    flags: &RunFlags,
    metrics: &MetricsFlags,
    profile_path: Option<&Path>,
) -> Result<RunResult, Error> {
    let searching = profile.load.search().is_some();
    if searching && flags.shard.is_some_and(|(_, n)| n > 1) {
        return Err(Error::Usage(
            "`--shard` cannot split a capacity search (`model: search`): every step's verdict needs the whole load; run it unsharded".into(),
        ));
    }
    let target = resolve_target(&profile, flags.target.as_deref())?;
    // Signals are watched from the start: waiting for a slow preview environment can take
    // minutes, and Ctrl-C must end it.
    let (stop, loading, signals) = watch();
    if !flags.no_wait {
        wait_ready(&profile, &target, &stop).await?;
    }
    let session = tokio::select! {
        session = engine::setup::start_session(&profile, &target) => {
            session.map_err(|m| Error::Engine(engine::EngineError::Setup(m)))?
        }
        () = stop.wait() => {
            return Err(Error::Interrupted("during the setup requests".into()));
        }
    };
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        // Masks first, so no later log line of this job can show a secret.
        let values = session.secrets.values().iter().map(String::as_str);
        for secret in values.chain(session.secrets.encoded_forms()) {
            super::console::commands(&crate::github::workflow::format_add_mask(secret));
        }
    }
    for what in &session.unmasked {
        errln!(
            "warning: {what} is shorter than {} characters and is not masked in outputs (masking so short a value would garble ordinary text)",
            crate::secrets::Secrets::MIN_LEN
        );
    }
    let (index, count) = flags.shard.unwrap_or((0, 1));
    check_shard_count(&profile, count)?;
    let options = RunOptions {
        session,
        target,
        shard: ShardSpec { index, count },
        threads: flags.threads,
        meta: RunMeta {
            profile_path: profile_path.map(|p| p.display().to_string()),
            git: git_ref(flags.git_sha.as_deref()),
            runner: runner(flags.runner_class.as_deref()),
        },
    };
    let live = Live::start(
        &profile,
        metrics.metrics_listen.as_deref(),
        metrics.metrics_out.as_deref(),
    )
    .await?;
    if let Some(addr) = live.as_ref().and_then(Live::addr) {
        errln!("metrics: http://{addr}/metrics");
    }
    if let Some(at) = flags.start_at {
        wait_for_start(at, profile.load.interval, &stop).await?;
    }
    loading.store(true, Ordering::SeqCst);
    let view = ProgressView::new(flags.progress);
    let result = if searching {
        errln!(
            "searching the capacity of `{}` at {}: up to {} for at most {}…",
            profile.name,
            options.target,
            profile::units::format_rate(profile.load.search().map_or(0.0, |s| s.max_rate_per_sec)),
            profile::units::format_duration(
                profile
                    .load
                    .search()
                    .map_or_else(Default::default, |s| s.max_duration)
            ),
        );
        super::search::search(&profile, &options, &stop, &view, live.as_ref()).await
    } else {
        errln!(
            "running `{}` against {} for {}{}…",
            profile.name,
            options.target,
            profile::units::format_duration(profile.load.duration()),
            if count > 1 {
                format!(" (shard {}/{count})", index + 1)
            } else {
                String::new()
            }
        );
        let mut show = view.for_schedule(&profile.load);
        let extras = RunExtras {
            gauges: live.as_ref().map(Live::gauges),
            ..RunExtras::default()
        };
        engine::run_with(profile.clone(), options, extras, stop.clone(), |p| {
            show(p);
            if let Some(l) = &live {
                l.observe(p);
            }
        })
        .await
        .map_err(Error::from)
    };
    drop(signals);
    view.clear();
    if let Some(l) = live
        && let Err(e) = l.finish().await
    {
        // The run's results matter more than its metrics snapshot: keep going.
        errln!("warning: {e}");
    }
    let result = result?;
    if result.partial {
        errln!("run stopped early: results are partial");
    }
    Ok(result)
}

/// How live progress is shown: a rewritten line on a terminal, periodic lines otherwise.
pub(super) struct ProgressView {
    mode: ProgressMode,
    live: bool,
}

impl ProgressView {
    fn new(mode: ProgressMode) -> Self {
        Self {
            mode,
            live: mode == ProgressMode::Auto && super::stderr_is_terminal(),
        }
    }

    /// A progress callback for one engine run following `load`.
    pub(super) fn for_schedule(
        &self,
        load: &profile::Load,
    ) -> impl FnMut(&IntervalProgress) + use<> {
        let interval_secs = load.interval.as_secs_f64();
        let total_secs = load.duration().as_secs_f64();
        let warmup_intervals = (load.warmup.as_nanos() / load.interval.as_nanos()) as u32;
        let (mode, live) = (self.mode, self.live);
        let every = match mode {
            ProgressMode::Auto if !live => (10.0 / interval_secs).round().max(1.0) as u32,
            _ => 1,
        };
        move |p: &IntervalProgress| {
            if mode == ProgressMode::Off || !(p.index + 1).is_multiple_of(every) {
                return;
            }
            let text =
                terminal::progress_line(p, interval_secs, total_secs, p.index < warmup_intervals);
            if live {
                err!("\r\x1b[2K{text}");
            } else {
                errln!("{text}");
            }
        }
    }

    /// Prints a line that stays (a search's step), above the live line.
    pub(super) fn line(&self, text: &str) {
        if self.mode == ProgressMode::Off {
            return;
        }
        self.clear();
        errln!("{text}");
    }

    /// Clears the live line.
    pub(super) fn clear(&self) {
        if self.live {
            err!("\r\x1b[2K");
        }
    }
}

/// Watches Ctrl-C and SIGTERM from now on (see [`watch_signals`]): the stop they trigger, the
/// flag that says whether load is being sent, and the watcher, which ends when dropped.
pub(super) fn watch() -> (Arc<Stop>, Arc<AtomicBool>, AbortOnDrop) {
    let stop = Arc::new(Stop::default());
    let loading = Arc::new(AtomicBool::new(false));
    let signals = AbortOnDrop(tokio::spawn(watch_signals(stop.clone(), loading.clone())));
    (stop, loading, signals)
}

/// Waits until `target` answers the profile's `wait_for` probe (nothing to wait for without
/// one); ends early on `stop`.
pub(super) async fn wait_ready(profile: &Profile, target: &str, stop: &Stop) -> Result<(), Error> {
    let Some(wait) = &profile.wait_for else {
        return Ok(());
    };
    let url = if wait.path.starts_with('/') {
        format!("{target}{}", wait.path)
    } else {
        wait.path.clone()
    };
    errln!(
        "waiting for {url} to be ready (up to {})…",
        profile::units::format_duration(wait.timeout)
    );
    let took = tokio::select! {
        ready = engine::probe::wait_until_ready(&url, wait, profile.http.insecure_tls) => {
            ready.map_err(Error::NotReady)?
        }
        () = stop.wait() => {
            return Err(Error::Interrupted(format!("while waiting for {url} to be ready")));
        }
    };
    errln!("ready after {:.1}s", took.as_secs_f64());
    Ok(())
}

/// Waits until the synchronized start `at` (`--start-at`); ends early on `stop`. A start more
/// than one interval past is refused: this shard's intervals would not line up with the others'.
async fn wait_for_start(
    at: std::time::SystemTime,
    interval: std::time::Duration,
    stop: &Stop,
) -> Result<(), Error> {
    let shown = humantime::format_rfc3339_millis(at);
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(ahead) if ahead > crate::cli::START_AT_HORIZON => Err(Error::Usage(format!(
            "the start time {shown} (`--start-at`, input `start-at`) is {} away, more than a day: check the date (it is in UTC)",
            profile::units::format_duration(ahead)
        ))),
        Ok(ahead) => {
            errln!(
                "waiting {:.1}s for the synchronized start at {shown}…",
                ahead.as_secs_f64()
            );
            tokio::select! {
                () = tokio::time::sleep(ahead) => Ok(()),
                () = stop.wait() => Err(Error::Interrupted("while waiting for the synchronized start".into())),
            }
        }
        Err(e) if e.duration() > interval => Err(Error::Usage(format!(
            "this shard was ready {:.1}s after the synchronized start at {shown} (`--start-at`, input `start-at`), more than one interval ({}): its intervals would not line up with the other shards'. Give every shard a later start time, allowing for job start-up, the readiness wait and setup",
            e.duration().as_secs_f64(),
            profile::units::format_duration(interval)
        ))),
        Err(e) => {
            errln!(
                "the synchronized start at {shown} passed {} ms ago (within one interval): starting now",
                e.duration().as_millis()
            );
            Ok(())
        }
    }
}

/// Aborts a task when dropped: the signal watcher ends with the run that started it, on every
/// path out of it.
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// First Ctrl-C or SIGTERM: before the load, end the wait; during it, stop scheduling, drain,
/// write partial results. Second: abort.
async fn watch_signals(stop: Arc<Stop>, loading: Arc<AtomicBool>) {
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    if loading.load(Ordering::SeqCst) {
        errln!(
            "\nstopping: finishing requests in flight and writing partial results (Ctrl-C again to abort)"
        );
    } else {
        errln!("\nstopping before any load was sent (Ctrl-C again to abort)");
    }
    stop.trigger();
    let _ = tokio::signal::ctrl_c().await;
    errln!("aborted");
    std::process::exit(i32::from(ExitCode::Untrusted.code()));
}

/// The commit under test: `--git-sha`, else `GITHUB_SHA`.
fn git_ref(flag: Option<&str>) -> Option<GitRef> {
    let sha = flag
        .map(str::to_string)
        .or_else(|| std::env::var("GITHUB_SHA").ok())
        .filter(|s| !s.trim().is_empty())?;
    Some(GitRef {
        sha: sha.trim().to_string(),
        ref_name: std::env::var("GITHUB_REF_NAME")
            .ok()
            .filter(|s| !s.is_empty()),
    })
}

/// The machine class: `--runner-class`, else `RUNNER_OS-RUNNER_ARCH`, else `local-<os>-<arch>`.
fn runner(flag: Option<&str>) -> Runner {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let class = flag
        .map(str::to_string)
        .or_else(|| Some(format!("{}-{}", env("RUNNER_OS")?, env("RUNNER_ARCH")?)))
        .unwrap_or_else(|| format!("local-{}-{}", std::env::consts::OS, std::env::consts::ARCH));
    Runner {
        class,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
    }
}
