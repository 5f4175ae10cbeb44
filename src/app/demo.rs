//! `loadgate demo`: start the built-in demo service on loopback and run the example profile
//! against it — the first command a newcomer runs.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::console::errln;
use crate::baseline::Baseline;
use crate::cli::{DemoArgs, ProgressMode, RunFlags};
use crate::demo::{self, DemoConfig};
use crate::error::{Error, ExitCode};
use crate::profile::{Profile, units};

/// The example profile shipped in `examples/demo.yaml`, built into the binary.
pub const DEMO_PROFILE: &str = include_str!("../../examples/demo.yaml");

/// The demo's baseline shipped in `baselines/demo.json`, built into the binary.
pub const DEMO_BASELINE: &str = include_str!("../../baselines/demo.json");

/// Runner class of every demo run. The demo service's latency is mostly its own timer-driven
/// delay, which is much the same on any machine, so one fixed class lets a newcomer's runs be
/// compared with the shipped baseline (real profiles use the CI runner's class).
pub const DEMO_RUNNER_CLASS: &str = "demo";

pub(super) async fn demo(args: DemoArgs) -> Result<ExitCode, Error> {
    let config = DemoConfig {
        latency: units::parse_duration(&args.latency)
            .map_err(|m| Error::Usage(format!("`--latency`: {m}")))?,
        slow: args
            .slow
            .iter()
            .map(|s| demo::parse_slow(s))
            .collect::<Result<_, _>>()
            .map_err(Error::Usage)?,
        error_ratio: units::parse_percent(&args.error_rate)
            .map_err(|m| Error::Usage(format!("`--error-rate`: {m}")))?,
        capacity: args.capacity,
    };
    let port = if args.serve { args.port } else { 0 };
    let server = demo::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .map_err(|e| Error::Usage(format!("cannot start the demo service on port {port}: {e}")))?;
    if args.serve {
        errln!(
            "demo service listening on {} (Ctrl-C to stop)",
            server.url()
        );
        let _ = tokio::signal::ctrl_c().await;
        server.stop();
        return Ok(ExitCode::Pass);
    }
    let mut text = DEMO_PROFILE.to_string();
    if let Some(d) = &args.duration {
        text = with_duration(&text, d)?;
    }
    let profile = Arc::new(Profile::from_yaml(&text, "examples/demo.yaml")?);
    super::check_writable(&args.out, "--out")?;
    errln!("demo service listening on {}", server.url());
    let flags = RunFlags {
        target: Some(server.url()),
        out: args.out.clone(),
        shard: None,
        start_at: None,
        threads: None,
        no_wait: false,
        git_sha: None,
        runner_class: Some(DEMO_RUNNER_CLASS.into()),
        progress: ProgressMode::Auto,
    };
    let result = super::execute_run(
        profile.clone(),
        &flags,
        Some(std::path::Path::new("examples/demo.yaml")),
    )
    .await;
    server.stop();
    let baseline = match &args.baseline {
        Some(path) => super::compare::read_baseline(path)?,
        None if args.duration.is_some() => {
            // Another duration is another load than the shipped baseline measured.
            errln!(
                "--duration: the shipped baseline measured the 30 s demo, so this run is not compared (thresholds are checked)"
            );
            None
        }
        None => Some(
            Baseline::from_json(DEMO_BASELINE).map_err(|source| Error::Baseline {
                path: "baselines/demo.json (built in)".into(),
                source,
            })?,
        ),
    };
    let result = result?;
    let comparison = super::run::finish_run(
        &result,
        &args.out,
        &profile,
        baseline.as_ref(),
        &crate::cli::CsvFlags::default(),
    )?;
    // The same report a pull request gets, to open in a browser.
    let html = args.out.with_file_name("report.html");
    let text = super::report::render(
        &crate::report::Renderer::new(),
        crate::report::Format::Html,
        &result,
        &comparison,
    )?;
    super::write_file(&html, &text)?;
    errln!("HTML report written to {}", html.display());
    Ok(ExitCode::of_verdict(comparison.overall.verdict))
}

/// Replaces the measured stage's duration (the demo profile's second stage) for `--duration`.
fn with_duration(profile: &str, duration: &str) -> Result<String, Error> {
    units::parse_duration(duration).map_err(|m| Error::Usage(format!("`--duration`: {m}")))?;
    let from = "{ duration: 30s, rate: 100/s }";
    if !profile.contains(from) {
        return Err(Error::Usage(
            "the demo profile has no measured stage to shorten".into(),
        ));
    }
    Ok(profile.replacen(from, &format!("{{ duration: {duration}, rate: 100/s }}"), 1))
}
