//! The results file (`results.json`): everything one run, or several merged shards, measured.
//!
//! Versioned by `format_version`; readers accept every version up to [`FORMAT_VERSION`] and
//! refuse newer ones with a message that says to upgrade. Interval histograms stay encoded
//! (base64 HdrHistogram V2-deflate) in memory and on disk; summaries are derived from them by
//! [`crate::metrics::SummaryBuilder`] and refreshed by [`RunResult::refresh_summaries`]. Pure: parsing
//! and printing work on strings; the app layer reads and writes the files.

pub mod capacity;
pub mod checks;
mod concat;
mod consistency;
mod measured;
mod merge;
mod read;
mod schema;
pub mod validity;

pub use concat::concat;
pub use consistency::{MAX_COUNT, MAX_DURATION_MS};
pub(crate) use consistency::{add_counts, check_intervals, counts};
pub use measured::GeneratorTotals;
pub use merge::{MergeError, merge, merge_files, merge_files_within};
pub use read::ResultsError;
pub(crate) use read::{decode, parse_json};
pub use schema::{
    EndpointResult, Generator, GeneratorRecord, GitRef, Interval, LoadModel, LoadPlan, ProfileRef,
    RunResult, Runner, ScenarioResult, Segment, Shard, Tool,
};

pub use crate::metrics::ErrorSample;
// The histogram types, for the submodules (`super::Histogram`).
use crate::metrics::{EncodedHistogram, Histogram, HistogramError};

/// The newest results format this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;
