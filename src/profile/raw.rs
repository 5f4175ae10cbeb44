//! The profile as written: serde types that mirror the YAML one to one.
//!
//! Every struct denies unknown keys (a typo must never pass silently). Values that later checks
//! may reject are `Spanned`, so those errors can point at a line and column. These types also
//! generate the JSON Schema that `loadgate schema` prints. Nothing here interprets values
//! beyond units; `validate` turns a `RawProfile` into a `Profile`.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, de};
use serde_saphyr::Spanned;

use super::units::{HumanDuration, Percent, Rate, Share};

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

/// The readiness probe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWaitFor {
    /// Path (joined to the target) or absolute URL to poll.
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    /// Status that means ready (default: any 2xx).
    pub status: Option<RawStatus>,
    /// Give up after this long (default `120s`; above zero).
    #[schemars(with = "Option<HumanDuration>")]
    pub timeout: Option<Spanned<HumanDuration>>,
    /// Pause between polls (default `1s`).
    pub interval: Option<HumanDuration>,
}

/// HTTP client settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// `auto` (default: HTTP/2 when TLS ALPN offers it, else HTTP/1.1), `http1`, `http2`
    /// (TLS only), or `h2c` (HTTP/2 over cleartext with prior knowledge).
    pub version: Option<RawHttpVersion>,
    /// Accept invalid or self-signed TLS certificates (preview environments). Default `false`.
    #[serde(default)]
    pub insecure_tls: bool,
    /// Timeout for opening a connection (default `5s`).
    #[schemars(with = "Option<HumanDuration>")]
    pub connect_timeout: Option<Spanned<HumanDuration>>,
    /// Local IP addresses to open connections from, in turn (default: the system's choice).
    /// One source address has about 28,000 ephemeral ports toward one target; more addresses,
    /// more connections (on loopback any `127.x.y.z` works; others must be this machine's).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub source_addresses: Vec<Spanned<String>>,
    /// Closed model: `shared` (default: a user takes any idle connection of its engine thread,
    /// so there are as many as requests in flight at once) or `per_user` (every user keeps its
    /// own connection, as a browser or Locust's users do: as many connections as users).
    #[schemars(with = "Option<RawConnections>")]
    pub connections: Option<Spanned<RawConnections>>,
}

/// How users hold connections.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawConnections {
    /// Users share their engine thread's connections.
    Shared,
    /// Every user keeps its own connection.
    PerUser,
}

/// HTTP protocol choice.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawHttpVersion {
    /// HTTP/2 if ALPN negotiates it over TLS, otherwise HTTP/1.1.
    Auto,
    /// Always HTTP/1.1.
    Http1,
    /// HTTP/2 over TLS (ALPN must agree).
    Http2,
    /// HTTP/2 over cleartext TCP with prior knowledge.
    H2c,
}

/// Settings every request inherits.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Request timeout (default `10s`).
    #[schemars(with = "Option<HumanDuration>")]
    pub timeout: Option<Spanned<HumanDuration>>,
    /// Headers sent with every request (values are templates).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: Pairs<String, Spanned<String>>,
}

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

/// One weighted request. Give the method and target as one of `get`, `post`, `put`, `patch`,
/// `delete`, `head`, `options` (`get: /path`), or as `method` with `url`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// Endpoint name in results, reports and baselines (default: `METHOD path`).
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// Relative share of the mix (default 1).
    pub weight: Option<u32>,
    /// GET this path or URL (template).
    #[schemars(with = "Option<String>")]
    pub get: Option<Spanned<String>>,
    /// POST to this path or URL (template).
    #[schemars(with = "Option<String>")]
    pub post: Option<Spanned<String>>,
    /// PUT to this path or URL (template).
    #[schemars(with = "Option<String>")]
    pub put: Option<Spanned<String>>,
    /// PATCH this path or URL (template).
    #[schemars(with = "Option<String>")]
    pub patch: Option<Spanned<String>>,
    /// DELETE this path or URL (template).
    #[schemars(with = "Option<String>")]
    pub delete: Option<Spanned<String>>,
    /// HEAD this path or URL (template).
    #[schemars(with = "Option<String>")]
    pub head: Option<Spanned<String>>,
    /// OPTIONS this path or URL (template).
    #[schemars(with = "Option<String>")]
    pub options: Option<Spanned<String>>,
    /// Any other method, with `url`.
    #[schemars(with = "Option<String>")]
    pub method: Option<Spanned<String>>,
    /// Path or URL for `method`.
    #[schemars(with = "Option<String>")]
    pub url: Option<Spanned<String>>,
    /// Query parameters (values are templates), appended to the URL.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub query: Pairs<String, Spanned<String>>,
    /// Headers (values are templates); they override `defaults.headers`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: Pairs<String, Spanned<String>>,
    /// A JSON body; string values are templates (a value that is exactly `{{ expr }}` keeps
    /// the expression's type). Sets `content-type: application/json`.
    pub json: Option<serde_json::Value>,
    /// A text body (template).
    #[schemars(with = "Option<String>")]
    pub body: Option<Spanned<String>>,
    /// A form body (values are templates), `application/x-www-form-urlencoded`.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub form: Option<Pairs<String, Spanned<String>>>,
    /// Request timeout, overriding `defaults.timeout`.
    #[schemars(with = "Option<HumanDuration>")]
    pub timeout: Option<Spanned<HumanDuration>>,
    /// What a good response looks like (default: status below 400).
    pub check: Option<RawCheck>,
    /// Values captured from the response into `{{ vars.NAME }}` for later steps.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawExtract>")]
    pub extract: Pairs<Spanned<String>, Spanned<RawExtract>>,
    /// Pause after this step, before the scenario's next step: fixed (`1s`) or a range
    /// (`1s..3s`).
    #[schemars(with = "Option<String>")]
    pub think_time: Option<Spanned<String>>,
}

/// A named, weighted sequence of steps.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Name of the scenario (its total duration is recorded under it).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Relative share of the mix (default 1).
    pub weight: Option<u32>,
    /// The requests, in order; each is recorded under its own `name`.
    #[schemars(with = "Vec<RawRequest>")]
    pub steps: Vec<Spanned<RawRequest>>,
}

/// A value captured from a response: exactly one of `json`, `header` or `regex`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExtract {
    /// JSON pointer (`/data/token`) or simple path (`data.items[0].id`) into the body.
    pub json: Option<String>,
    /// A response header, by name.
    pub header: Option<String>,
    /// A regular expression on the body; the first capture group, or the whole match.
    pub regex: Option<String>,
}

/// A data file: its path (relative to the profile) or `{ file, mode }`.
#[derive(Debug, JsonSchema)]
#[serde(untagged)]
pub enum RawFeed {
    /// Just the path; rows are handed out sequentially.
    Path(String),
    /// A path and how rows are handed out.
    Spec(RawFeedSpec),
}

/// A data file with its hand-out mode.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeedSpec {
    /// CSV with a header line (`.csv`) or JSON lines (`.jsonl`, one object per line), relative
    /// to the profile.
    pub file: String,
    /// `sequential` (default: in order, wrapping around), `random`, or `unique` (each row at
    /// most once; the profile is refused when the plan needs more rows than the file has).
    pub mode: Option<RawFeedMode>,
}

/// How rows are handed out: one row per arrival (open model) or per user (closed model).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawFeedMode {
    /// In file order, wrapping around.
    Sequential,
    /// Any row, at random.
    Random,
    /// Each row once.
    Unique,
}

/// Authentication for every load request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// HTTP basic authentication (values are templates of `env` and setup `vars`).
    pub basic: Option<RawBasicAuth>,
    /// A bearer token (a template, typically `{{ vars.token }}` from `setup`).
    #[schemars(with = "Option<String>")]
    pub bearer: Option<Spanned<String>>,
}

/// User name and password for basic authentication.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBasicAuth {
    /// User name (template).
    #[schemars(with = "String")]
    pub username: Spanned<String>,
    /// Password (template, typically `{{ env.NAME }}`); masked in every output.
    #[schemars(with = "String")]
    pub password: Spanned<String>,
}

/// Response checks; a failed check counts as a `check` error.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// Expected status: `200`, a list `[200, 201]`, or a class `2xx`.
    pub status: Option<RawStatus>,
    /// The body must contain this text.
    pub body_contains: Option<String>,
    /// JSON fields and what they must be, keyed by JSON pointer (`/data/id`) or simple path
    /// (`data.id`, `$.items[0].name`): a value they must equal, or comparisons like
    /// `{ gte: 1 }`, `{ lt: 10 }`, `{ ne: 0 }`, `{ contains: "x" }`, `{ matches: "^A" }`,
    /// `{ exists: true }`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub json: Pairs<Spanned<String>, serde_json::Value>,
    /// Headers that must be present (`true`), absent (`false`) or contain a text.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawHeaderCheckSchema>")]
    pub headers: Pairs<Spanned<String>, RawHeaderCheck>,
    /// The response must arrive within this time (measured like every latency).
    pub max_latency: Option<HumanDuration>,
}

/// A header check: present/absent, or a text the value must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawHeaderCheck {
    /// `true`: present; `false`: absent.
    Present(bool),
    /// The value must contain this text.
    Contains(String),
}

impl<'de> Deserialize<'de> for RawHeaderCheck {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = RawHeaderCheck;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`true` (present), `false` (absent) or a text the value must contain")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawHeaderCheck, E> {
                Ok(RawHeaderCheck::Present(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHeaderCheck, E> {
                Ok(RawHeaderCheck::Contains(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawFeed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RawFeed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file path, or `{ file: users.csv, mode: unique }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawFeed, E> {
                Ok(RawFeed::Path(v.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawFeed, A::Error> {
                RawFeedSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawFeed::Spec)
            }
        }
        d.deserialize_any(V)
    }
}

/// Schema stand-in for [`RawHeaderCheck`].
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RawHeaderCheckSchema {
    /// Present or absent.
    Present(bool),
    /// Contains the text.
    Contains(String),
}

/// Status expectations: one code (`200`), a class (`2xx`), or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStatus(pub Vec<StatusPattern>);

/// One accepted status: an exact code or a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    /// Exactly this code.
    Exact(u16),
    /// Any code of this hundred (`2` for `2xx`).
    Class(u16),
}

impl StatusPattern {
    /// True when `status` is accepted.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(c) => c == status,
            StatusPattern::Class(h) => status / 100 == h,
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if let Some(h) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
            if let Ok(h @ 1..=5) = h.parse::<u16>() {
                return Ok(StatusPattern::Class(h));
            }
        } else if let Ok(c @ 100..=599) = t.parse::<u16>() {
            return Ok(StatusPattern::Exact(c));
        }
        Err(format!("invalid status `{text}`: {STATUS_HINT}"))
    }

    fn code(c: u64) -> Result<Self, String> {
        match u16::try_from(c) {
            Ok(c @ 100..=599) => Ok(StatusPattern::Exact(c)),
            _ => Err(format!("invalid status `{c}`: {STATUS_HINT}")),
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Exact(c) => write!(f, "{c}"),
            StatusPattern::Class(h) => write!(f, "{h}xx"),
        }
    }
}

const STATUS_HINT: &str =
    "expected a code from 100 to 599 (`200`), a class (`2xx`), or a list of them";

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RawStatus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(STATUS_HINT)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawStatus, E> {
                StatusPattern::code(v)
                    .map(|p| RawStatus(vec![p]))
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawStatus, E> {
                Err(E::custom(format!("invalid status `{v}`: {STATUS_HINT}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawStatus, E> {
                StatusPattern::parse(v)
                    .map(|p| RawStatus(vec![p]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawStatus, A::Error> {
                let mut all = Vec::new();
                while let Some(RawStatus(one)) = seq.next_element::<RawStatus>()? {
                    all.extend(one);
                }
                if all.is_empty() {
                    return Err(de::Error::custom(format!(
                        "empty status list: {STATUS_HINT}"
                    )));
                }
                Ok(RawStatus(all))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A status code (`200`), a class (`2xx`), or a list of them",
            "anyOf": [
                { "type": "integer", "minimum": 100, "maximum": 599 },
                { "type": "string", "pattern": "^([1-5][0-9][0-9]|[1-5]xx)$" },
                { "type": "array", "minItems": 1, "items": {
                    "anyOf": [
                        { "type": "integer", "minimum": 100, "maximum": 599 },
                        { "type": "string", "pattern": "^([1-5][0-9][0-9]|[1-5]xx)$" }
                    ]
                } }
            ]
        })
    }
}

/// A YAML mapping kept in file order (serde maps lose order; this one keeps it and rejects
/// duplicate keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Pairs<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Pairs<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K, V> Pairs<K, V> {
    /// Iterates in file order.
    pub fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.0.iter()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, K, V> Deserialize<'de> for Pairs<K, V>
where
    K: Deserialize<'de> + KeyText,
    V: Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + KeyText, V: Deserialize<'de>> de::Visitor<'de> for Vis<K, V> {
            type Value = Pairs<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of keys to values")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Pairs<K, V>, A::Error> {
                let mut out: Vec<(K, V)> = Vec::new();
                while let Some(k) = map.next_key::<K>()? {
                    if K::HIDDEN_FROM_PATH {
                        OPEN_KEYS.with(|keys| keys.borrow_mut().push(k.key_text().to_string()));
                    }
                    // On an error the key stays on the stack, for the message to name it.
                    let v = map.next_value::<V>()?;
                    if K::HIDDEN_FROM_PATH {
                        OPEN_KEYS.with(|keys| keys.borrow_mut().pop());
                    }
                    if out.iter().any(|(seen, _)| seen.key_text() == k.key_text()) {
                        return Err(de::Error::custom(format!(
                            "duplicate key `{}`",
                            k.key_text()
                        )));
                    }
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

/// The text of a mapping key, for duplicate detection and messages.
pub trait KeyText {
    /// True when the error path cannot see this key type (serde_path_to_error records plain
    /// string keys, but writes `?` for `Spanned` ones): [`Pairs`] keeps those keys itself.
    const HIDDEN_FROM_PATH: bool;

    /// The key as written.
    fn key_text(&self) -> &str;
}

impl KeyText for String {
    const HIDDEN_FROM_PATH: bool = false;

    fn key_text(&self) -> &str {
        self
    }
}

impl KeyText for Spanned<String> {
    const HIDDEN_FROM_PATH: bool = true;

    fn key_text(&self) -> &str {
        &self.value
    }
}

thread_local! {
    /// Keys of the [`Pairs`] entries being read whose key type is hidden from the error path,
    /// outermost first. An error leaves its entries' keys here; the parser takes them to name
    /// the `?` segments of the path.
    static OPEN_KEYS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the keys an error left open (see [`KeyText::HIDDEN_FROM_PATH`]), outermost first;
/// call before parsing (to clear) and after an error.
pub(super) fn take_open_keys() -> Vec<String> {
    OPEN_KEYS.with(|keys| std::mem::take(&mut *keys.borrow_mut()))
}

/// Absolute limits for one endpoint or `all`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThreshold {
    /// Median latency must stay below.
    pub p50: Option<HumanDuration>,
    /// 90th percentile must stay below.
    pub p90: Option<HumanDuration>,
    /// 95th percentile must stay below.
    pub p95: Option<HumanDuration>,
    /// 99th percentile must stay below.
    pub p99: Option<HumanDuration>,
    /// 99.9th percentile must stay below.
    pub p999: Option<HumanDuration>,
    /// Slowest response must stay below.
    pub max: Option<HumanDuration>,
    /// Share of failed requests must stay below (at most `100%`).
    #[schemars(with = "Option<Percent>")]
    pub error_rate: Option<Share>,
    /// Completed requests per second must reach at least this.
    pub min_rate: Option<Rate>,
}

/// The statistical comparison with the baseline (see `stats-gate.md`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// Endpoints whose metrics can block (default: all).
    #[schemars(with = "Option<Vec<String>>")]
    pub endpoints: Option<Vec<Spanned<String>>>,
    /// Gated latency percentiles and the change each may make before it counts, like
    /// `{ p50: 8%, p95: 10%, p99: 15% }` (the default).
    #[schemars(with = "Option<BTreeMap<String, Percent>>")]
    pub metrics: Option<Pairs<Spanned<String>, Percent>>,
    /// Absolute increase of an endpoint's error rate that matters (default `0.1%`; at most 100%).
    #[schemars(with = "Option<Percent>")]
    pub error_rate: Option<Share>,
    /// The share of failed requests above which a run never passes, with a baseline or
    /// without (default `5%`; below `100%`: a run in which every request failed never passes).
    #[schemars(with = "Option<Percent>")]
    pub max_error_rate: Option<Spanned<Percent>>,
    /// Significance level across the gated family (default `0.01`).
    #[schemars(with = "Option<f64>")]
    pub alpha: Option<Spanned<f64>>,
    /// Baseline runs kept in the rolling window (default 10).
    #[schemars(with = "Option<u32>")]
    pub baseline_runs: Option<Spanned<u32>>,
    /// Length of a statistics block (default `10s`).
    #[schemars(with = "Option<HumanDuration>")]
    pub block: Option<Spanned<HumanDuration>>,
    /// `model: search`: how far the sustainable rate may fall below the baseline's before it
    /// counts (default `10%`).
    pub capacity: Option<Percent>,
    /// Confirmation before blocking: `on` measures a run that would block once more and blocks
    /// only on what fails in both runs; `off` blocks on the first run. When unset: on in the
    /// GitHub Action, off for `loadgate gate` on the command line. The flag `--confirm` and the
    /// action input `confirm` (`on`, `off`) override it.
    pub confirm: Option<RawConfirm>,
    /// Paired A/B comparison (`loadgate gate --baseline-target URL`, action input
    /// `baseline-target`): how the load is split into alternating blocks against the two
    /// targets.
    pub paired: Option<RawPaired>,
}

/// `gate.paired`: the blocks of a paired A/B comparison.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPaired {
    /// Blocks against each target, an even number from 4 (default 6): they run in the order
    /// ABBA ABBA… (A the base target, B the target under test).
    #[schemars(with = "Option<u32>")]
    pub blocks: Option<Spanned<u32>>,
    /// Measured length of one block, a whole number of `load.interval`s (default: the
    /// profile's measured duration divided by `blocks`, so each target is measured as long as
    /// a normal run).
    #[schemars(with = "Option<HumanDuration>")]
    pub block: Option<Spanned<HumanDuration>>,
    /// How the two targets share the job: `alternating` (the default: blocks in the order
    /// ABBA, one target loaded at a time) or `simultaneous` (both targets get the profile's
    /// whole load at the same time, judged interval by interval: what moves both at once
    /// cancels, twice the load reaches anything they share).
    pub schedule: Option<RawPairedSchedule>,
}

/// `gate.paired.schedule`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawPairedSchedule {
    /// Blocks alternating between the targets, ABBA.
    Alternating,
    /// Both targets at once.
    Simultaneous,
}

/// `gate.confirm`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawConfirm {
    /// Measure again before blocking.
    On,
    /// Block on the first run.
    Off,
}
