//! loadgate: a CI-native HTTP load tester and statistical performance-regression gate.
//!
//! ```text
//! profile.yaml ──load+validate──▶ Profile
//!                                    │
//!             target (URL) ◀── engine::run (tokio; own HTTP/1.1 client, hyper for TLS and
//!                                    │    HTTP/2) ── open or closed model, stages
//!                                    │  every request: intended start, latency, outcome
//!                                    ▼
//!                               Recording (HDR histogram per endpoint per interval, errors by
//!                                    │     class, generator health: schedule lag, drops)
//!                                    ▼
//!                               results.json ◀── merge (shards from several machines)
//!                                    │
//!  baselines/<profile>/ ──▶ compare (stats) ──▶ Verdict ──▶ report ──▶ exit code
//! ```
//!
//! Only `engine`, `github`, `demo` and `app` touch the network, disk, clock or environment;
//! `profile`, `metrics`, `results`, `baseline`, `capacity`, `compare`, `report` and the leaves
//! are pure: a profile's data files and the environment variables its templates read come in
//! through [`profile::DataFiles`] and [`profile::EnvVars`], which the app implements. (The
//! template functions `now()` and `random_*()`, defined in `profile`, read the clock and a
//! random generator when the engine renders a request.)
//!
//! Modules depend one way, in the layers of [`LAYERS`].

// Under GitHub Actions stdout and stderr are a command channel: all printing goes through
// `app::console`, which keeps text from profiles, results and targets from starting a command.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod app;
pub mod baseline;
pub mod capacity;
pub mod cli;
pub mod compare;
pub mod demo;
pub mod engine;
pub mod error;
pub mod exit;
pub mod format;
pub mod github;
pub mod metrics;
pub mod profile;
pub mod report;
pub mod results;
pub mod secrets;
pub mod serde_text;
pub mod tls;
pub mod untrusted;

/// The module layers, bottom first. Dependencies run one way: a module uses only the modules of
/// the layers below its own and those listed before it in its own layer, never one above
/// (`tests` in this file reads every source file and fails on an import upwards).
///
/// - leaves: exit codes, plain-text formatting of numbers and tables, serde's messages in plain
///   words, TLS set-up, quoting of untrusted text, secret masking;
/// - data: metrics (histograms, the recorder, summaries), results (the results file, merging
///   shards, a run's own validity checks, capacity records), the profile;
/// - the baseline store (results over time);
/// - the engine (sends the load), compare (statistics and the verdict), capacity (the search,
///   judged with compare's thresholds);
/// - report (views and templates of all of the above);
/// - github (context, comment, workflow commands);
/// - the entry points: the demo service, the CLI's types, the top-level error and its exit
///   code, and app, which wires the subcommands.
pub const LAYERS: &[&[&str]] = &[
    &[
        "exit",
        "format",
        "serde_text",
        "tls",
        "untrusted",
        "secrets",
    ],
    &["metrics", "results", "profile"],
    &["baseline"],
    &["engine", "compare", "capacity"],
    &["report"],
    &["github"],
    &["demo", "cli", "error", "app"],
];

#[cfg(test)]
mod tests;
