//! The profile as written: serde types that mirror the YAML one to one.
//!
//! Every struct denies unknown keys (a typo must never pass silently). Values that later checks
//! may reject are `Spanned`, so those errors can point at a line and column. These types also
//! generate the JSON Schema that `loadgate schema` prints. Nothing here interprets values
//! beyond units; `validate` turns a `RawProfile` into a `Profile`.

mod client;
mod feeds;
mod gate;
mod load;
mod pairs;
mod requests;
mod status;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub use client::{RawConnections, RawHttp, RawHttpVersion, RawWaitFor};
pub use feeds::{RawFeed, RawFeedMode};
pub use gate::{RawConfirm, RawGate, RawPairedSchedule, RawThreshold};
pub use load::{RawLevel, RawLoad, RawModel, RawSearch, RawStage};
pub use pairs::Pairs;
pub(super) use pairs::take_open_keys;
pub use requests::{
    RawAuth, RawCheck, RawDefaults, RawExtract, RawHeaderCheck, RawRequest, RawScenario,
};
pub use status::{RawStatus, StatusPattern};

/// A load profile, format version 1.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "loadgate profile",
    description = "A loadgate load profile (format version 1)"
)]
pub struct RawProfile {
    /// Format version of this file; only `1` exists.
    #[schemars(with = "Option<u32>")]
    pub version: Option<Spanned<u32>>,
    /// Names the profile and its baseline file (`baselines/<name>.json`): letters, digits, `-`, `_`, `.`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Base URL of the service under test; `--target` and `LOADGATE_TARGET` override it.
    #[schemars(with = "Option<String>")]
    pub target: Option<Spanned<String>>,
    /// Wait until the target answers before sending load.
    pub wait_for: Option<RawWaitFor>,
    /// HTTP client settings.
    #[serde(default)]
    pub http: RawHttp,
    /// Settings every request inherits.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// How much load, and how it changes over time.
    #[schemars(with = "RawLoad")]
    pub load: Spanned<RawLoad>,
    /// The weighted request mix.
    #[serde(default)]
    #[schemars(with = "Vec<RawRequest>")]
    pub requests: Vec<Spanned<RawRequest>>,
    /// Weighted user journeys: each arrival (open model) or user iteration (closed model) runs
    /// one scenario's steps in order.
    #[serde(default)]
    #[schemars(with = "Vec<RawScenario>")]
    pub scenarios: Vec<Spanned<RawScenario>>,
    /// Data files whose rows feed templates as `{{ data.NAME.column }}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawFeed>")]
    pub data: Pairs<Spanned<String>, Spanned<RawFeed>>,
    /// Requests run once, in order, before the load (a login, say); their extracted values
    /// are `{{ vars.NAME }}` everywhere and are masked in every output.
    #[serde(default)]
    #[schemars(with = "Vec<RawRequest>")]
    pub setup: Vec<Spanned<RawRequest>>,
    /// Authentication added to every load request (not to `setup`).
    #[schemars(with = "Option<RawAuth>")]
    pub auth: Option<Spanned<RawAuth>>,
    /// Absolute limits checked on every run, per endpoint name or `all`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawThreshold>")]
    pub thresholds: Pairs<Spanned<String>, RawThreshold>,
    /// How the run is compared with the baseline.
    #[serde(default)]
    pub gate: RawGate,
}
