//! loadgate: a CI-native HTTP load tester and statistical performance-regression gate.
//!
//! ```text
//! profile.yaml ──load+validate──▶ Profile
//!                                    │
//!             target (URL) ◀── engine::run (tokio, hyper) ── open or closed model, stages
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
//! `profile`, `metrics`, `results`, `capacity`, `compare`, `report` and `untrusted` are pure.

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
pub mod github;
pub mod metrics;
pub mod profile;
pub mod report;
pub mod results;
pub mod secrets;
pub mod untrusted;
