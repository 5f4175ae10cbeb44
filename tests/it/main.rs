//! loadgate's integration tests, in one test binary (one link instead of one per file): each
//! module is one area, run against the real binary, in-process servers on port 0 and real files.
//! `support` holds what they share: the in-process target, a fake GitHub API answering with
//! real payloads, the action's step as the runner runs it, and synthetic results files.

mod support;

// The gate simulator of `bench/gate-sim`, shared with its benchmark (not copied).
#[path = "../../bench/gate-sim/calibrate.rs"]
#[allow(dead_code)] // the test uses the statistics, not the report
mod calibrate;
#[path = "../../bench/gate-sim/sim.rs"]
mod sim;

mod action_contract;
mod action_runner;
mod baseline;
mod baseline_git;
mod capacity;
mod capacity_report;
mod cli;
mod cli_report;
mod command_injection;
mod compare;
mod demo_baseline;
mod engine;
mod faults;
mod fuzz_inputs;
mod gate_cli;
mod gate_confirm;
mod gate_paired;
mod gate_schemas;
mod gate_sim;
mod github_comment;
mod github_context;
mod github_workflow;
mod journeys;
mod locust_csv;
mod metrics_export;
mod profile_errors;
mod real_system;
mod report;
mod results_files;
mod schemas;
