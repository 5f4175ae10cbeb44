//! The load section (`load`): the model, the stages and their levels, and a capacity search.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, de};
use serde_saphyr::Spanned;

use crate::profile::units::{HumanDuration, Percent, Rate};

/// The load section.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    /// `open` (arrival rate, default), `closed` (users with think time), or `search` (a
    /// capacity search: step the arrival rate up until the SLO in `thresholds` breaks).
    #[schemars(with = "Option<RawModel>")]
    pub model: Option<Spanned<RawModel>>,
    /// Start-up period excluded from statistics (rounded up to whole intervals); default `0s`.
    #[schemars(with = "Option<HumanDuration>")]
    pub warmup: Option<Spanned<HumanDuration>>,
    /// Recording interval (default `1s`); runs longer than 900 intervals record at a whole
    /// multiple of it, so memory and file size do not grow with run length.
    #[schemars(with = "Option<HumanDuration>")]
    pub interval: Option<Spanned<HumanDuration>>,
    /// The schedule, in order (not with `model: search`, which sets the rates itself).
    #[serde(default)]
    #[schemars(with = "Vec<RawStage>")]
    pub stages: Vec<Spanned<RawStage>>,
    /// `model: search`: how the capacity search steps, and its hard caps.
    #[schemars(with = "Option<RawSearch>")]
    pub search: Option<Spanned<RawSearch>>,
    /// Open model: most requests in flight at once; arrivals beyond it are dropped and counted
    /// (default 1000).
    #[schemars(with = "Option<u64>")]
    pub max_in_flight: Option<Spanned<u64>>,
    /// Closed model: pause between a user's requests, fixed (`1s`) or a range (`1s..3s`).
    #[schemars(with = "Option<String>")]
    pub think_time: Option<Spanned<String>>,
    /// Closed model: how fast users are added when the target rises (default: at once).
    #[schemars(with = "Option<Rate>")]
    pub spawn_rate: Option<Spanned<Rate>>,
}

/// Load model.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawModel {
    /// Arrival rate, independent of response times.
    Open,
    /// Users looping over requests with think time.
    Closed,
    /// A capacity search: arrival rates stepped up until the SLO breaks (see `search`).
    Search,
}

/// A capacity search (`model: search`): the arrival rate steps up from `start`, holding each
/// step for `hold`, until a step breaks the SLO in `thresholds` (a latency or error-rate limit)
/// or achieves less than `min_achieved` of its rate; then the gap between the last good and the
/// first bad step is halved `refine` times. `max_rate` and `max_duration` are hard caps.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    /// The first step's arrival rate, like `50/s` (required).
    #[schemars(with = "Option<Rate>")]
    pub start: Option<Spanned<Rate>>,
    /// How the rate grows from step to step: a factor like `1.5x` (the default) or an increment
    /// like `50/s`.
    #[schemars(with = "Option<String>")]
    pub step: Option<Spanned<String>>,
    /// How long each step holds its rate (default `10s`; rounded up to whole intervals).
    #[schemars(with = "Option<HumanDuration>")]
    pub hold: Option<Spanned<HumanDuration>>,
    /// Steps spent halving the gap between the last good and the first bad rate (default 2).
    #[schemars(with = "Option<u32>")]
    pub refine: Option<Spanned<u32>>,
    /// Share of its rate a step must achieve, requests finished over the hold (default `95%`).
    #[schemars(with = "Option<Percent>")]
    pub min_achieved: Option<Spanned<Percent>>,
    /// Error rate at which the search stops at once, without refining, so a fragile service is
    /// not hammered (default: ten times the strictest `error_rate` threshold, within 5%–50%;
    /// 10% without one).
    #[schemars(with = "Option<Percent>")]
    pub collapse: Option<Spanned<Percent>>,
    /// Hard cap: the highest arrival rate the search may send (required).
    #[schemars(with = "Option<Rate>")]
    pub max_rate: Option<Spanned<Rate>>,
    /// Hard cap: the longest the search may send load, warm-up and every step included
    /// (required).
    #[schemars(with = "Option<HumanDuration>")]
    pub max_duration: Option<Spanned<HumanDuration>>,
}

/// One stage: exactly one of `rate`/`users` (hold a level), `ramp_to` (linear ramp from the
/// previous level) or `steps` (hold each level for `hold`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// Length of the stage (not with `steps`).
    pub duration: Option<HumanDuration>,
    /// Open model: hold this arrival rate.
    pub rate: Option<Rate>,
    /// Closed model: hold this many users.
    pub users: Option<u64>,
    /// Ramp linearly from the previous level to this one (`200/s` open, `100` closed).
    #[schemars(with = "Option<RawLevelSchema>")]
    pub ramp_to: Option<Spanned<RawLevel>>,
    /// Hold each level in turn for `hold` (`[50/s, 100/s]` open, `[50, 100, 200]` closed).
    #[schemars(with = "Option<Vec<RawLevelSchema>>")]
    pub steps: Option<Vec<Spanned<RawLevel>>>,
    /// With `steps`: how long each step lasts.
    pub hold: Option<HumanDuration>,
}

/// A rate (`50/s`) or a user count (`50`), interpreted by the model.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLevel {
    /// A whole number (users).
    Count(u64),
    /// Text (a rate).
    Text(String),
}

impl<'de> Deserialize<'de> for RawLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = RawLevel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of users (`50`) or a rate (`50/s`)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawLevel, E> {
                Ok(RawLevel::Count(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawLevel, E> {
                Ok(RawLevel::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Schema stand-in for [`RawLevel`].
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RawLevelSchema {
    /// Users.
    Count(u64),
    /// A rate like `50/s`.
    Text(String),
}
