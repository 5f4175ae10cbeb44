//! Capacity search (`load.model: search`): step the arrival rate up until the profile's SLO
//! (its thresholds, and the achieved rate) breaks, refine between the last good and the first
//! bad step, and report the highest sustainable rate with its margin and where the service
//! broke.
//!
//! Pure: [`search`] decides which rate runs next, [`judge`] gives a step its verdict from that
//! step's results, [`stitch`] joins the steps into one results file, the `capacity` section stored in
//! it is [`crate::results::capacity`]. The app layer runs each step through the engine.

pub mod judge;
pub mod search;
pub mod stitch;

pub use crate::results::capacity::{
    ACHIEVED, Capacity, Estimate, Phase, SearchSettings, Step, StepStatus, StopReason, step_results,
};
pub use judge::{Placement, StepEnd, judge_step};
pub use search::{Next, Searcher};
pub use stitch::{StepRun, stitch};

use crate::profile::Search;

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
