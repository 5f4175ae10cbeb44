//! Capacity search (`load.model: search`): step the arrival rate up until the profile's SLO
//! (its thresholds, and the achieved rate) breaks, refine between the last good and the first
//! bad step, and report the highest sustainable rate with its margin and where the service
//! broke.
//!
//! Pure: [`search`] decides which rate runs next, [`judge`] gives a step its verdict from that
//! step's results, [`stitch`] joins the steps into one results file, [`record`] is the
//! `capacity` section stored in it. The app layer runs each step through the engine.

pub mod judge;
pub mod record;
pub mod search;
pub mod stitch;

pub use judge::{Placement, StepEnd, judge_step};
pub use record::{Capacity, Estimate, Phase, SearchSettings, Step, StepStatus, StopReason};
pub use search::{Next, Searcher};
pub use stitch::{StepRun, stitch};

use crate::profile::Search;
use crate::results::RunResult;

/// The results of one step alone: the run with only the step's intervals (for checking the
/// thresholds on it as on a whole run).
pub fn step_results(result: &RunResult, step: &Step) -> RunResult {
    let range = step.first_interval..step.first_interval.saturating_add(step.intervals);
    let mut view = result.clone();
    for e in &mut view.endpoints {
        e.intervals.retain(|i| range.contains(&i.index));
    }
    for s in &mut view.scenarios {
        s.intervals.retain(|i| range.contains(&i.index));
    }
    view.generator
        .intervals
        .retain(|g| range.contains(&g.index));
    view.duration_ms = view.load.warmup_ms + u64::from(step.intervals) * view.interval_ms;
    view
}

impl SearchSettings {
    /// The settings of a validated search.
    pub fn of(search: &Search) -> Self {
        Self {
            start_per_sec: search.start_per_sec,
            growth: search.growth.to_string(),
            hold_ms: search.hold.as_millis() as u64,
            refine: search.refine,
            min_achieved_ratio: search.min_achieved_ratio,
            collapse_error_ratio: search.collapse_error_ratio,
            max_rate_per_sec: search.max_rate_per_sec,
            max_duration_ms: search.max_duration.as_millis() as u64,
        }
    }
}
