//! The validated profile: what the engine, the gate and the reports use.
//!
//! Every value here has been checked; durations are `Duration`, rates are requests per second,
//! ratios are 0–1. Request text is literal or a compiled template ([`Text`](super::template::Text)).

mod client;
mod feeds;
mod gate;
mod load;
mod requests;

use super::template::Templates;

pub use client::{HttpOptions, HttpVersion, WaitFor};
pub use feeds::{Feed, FeedMode};
pub use gate::{
    Confirm, GateConfig, Limit, PairedConfig, PairedSchedule, Quantile, Threshold, ThresholdScope,
};
pub use load::{Growth, Load, LoadModel, Model, Search, Segment, ThinkTime, arrivals_in};
pub use requests::{
    Auth, Body, Check, Comparison, Endpoint, ExtractSource, Extraction, HeaderExpect, JsonExpect,
    JsonPiece, Scenario,
};

/// A validated load profile.
#[derive(Debug)]
pub struct Profile {
    /// Names the profile and its baseline.
    pub name: String,
    /// Base URL from the profile (the command line may override it).
    pub target: Option<String>,
    /// Readiness probe.
    pub wait_for: Option<WaitFor>,
    /// HTTP client settings.
    pub http: HttpOptions,
    /// The load plan.
    pub load: Load,
    /// Every request the load sends, in file order: plain `requests`, then each scenario's
    /// steps. Names are unique; results are recorded per endpoint.
    pub endpoints: Vec<Endpoint>,
    /// The weighted mix: each plain request is a one-step scenario of its own.
    pub scenarios: Vec<Scenario>,
    /// Data files feeding templates.
    pub feeds: Vec<Feed>,
    /// Requests run once before the load.
    pub setup: Vec<Endpoint>,
    /// Authentication added to every load request.
    pub auth: Option<Auth>,
    /// Absolute limits.
    pub thresholds: Vec<Threshold>,
    /// Baseline comparison settings.
    pub gate: GateConfig,
    /// `sha256:` over the load-shaping parts (see [`crate::results::ProfileRef::hash`]).
    pub hash: String,
    /// Compiled templates.
    pub templates: Templates,
}
