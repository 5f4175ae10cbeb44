//! Requests and scenarios (`requests`, `scenarios`, `setup`): the request, its checks and
//! extractions, and what every request inherits (`defaults`, `auth`).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, de};
use serde_saphyr::Spanned;

use super::{Pairs, RawStatus};
use crate::profile::units::HumanDuration;

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
