//! The statistical comparison of a run with its baseline: pure code, no I/O.
//!
//! [`run`] turns a results file or a baseline run into what the tests need; [`stats`] holds the
//! latency math (log-quantile prediction interval with variance shrinkage, Holm, BH);
//! [`errors`] the exact conditional binomial test; [`validity`] the checks before any verdict;
//! [`thresholds`] the absolute limits; [`capacity`] a capacity search's sustainable rate;
//! [`gate`] the policy that turns all of it into [`verdict`]s (with `metric`, the verdict
//! rules it shares with [`paired`]); [`confirm`] combines a run that
//! would block with a second measurement (confirmation before blocking). The method is
//! described in `stats-gate.md` and, in plain words, in the README.

pub mod capacity;
pub mod confirm;
pub mod errors;
pub mod gate;
pub mod levels;
mod metric;
pub mod paired;
pub mod run;
pub mod shift;
pub mod stats;
pub mod tail;
pub mod thresholds;
pub mod verdict;

pub use confirm::{
    Confirmation, ConfirmationOutcome, confirm, confirm_judgements, judgement_needs_confirmation,
    needs_confirmation,
};
pub use gate::{CompareError, GateInput, Judgement, evaluate, judge};
pub use run::{EndpointData, IntervalData, RunData, RunSummary};
pub use verdict::*;

/// The checks before any verdict live with the results they judge (a baseline uses them too).
pub use crate::results::validity;
