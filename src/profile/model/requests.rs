//! Requests and scenarios: the endpoints of the mix with their bodies, checks and
//! extractions, the scenarios that run them, and `auth`.

use std::fmt;
use std::time::Duration;

use http::{HeaderName, Method};

use super::ThinkTime;
use crate::profile::json_path::JsonPath;
use crate::profile::raw::StatusPattern;
use crate::profile::template::Text;

/// A weighted sequence of endpoints run in order by one arrival or user iteration.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name (for a plain request, the request's name).
    pub name: String,
    /// Relative share of the mix.
    pub weight: u32,
    /// Indices into [`Profile::endpoints`](super::Profile::endpoints), in order.
    pub steps: Vec<usize>,
    /// True when written under `scenarios:` (its total duration is recorded), false for a
    /// plain request.
    pub journey: bool,
}

/// Authentication for every load request, rendered once after `setup`.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Basic …`.
    Basic {
        /// User name.
        username: Text,
        /// Password (a secret).
        password: Text,
    },
    /// `Authorization: Bearer …`.
    Bearer(Text),
}

/// A value captured from a response into `vars`.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// The variable name (`vars.NAME`).
    pub name: String,
    /// Where it comes from.
    pub source: ExtractSource,
}

/// Where an extracted value comes from.
#[derive(Debug, Clone)]
pub enum ExtractSource {
    /// A JSON field of the body.
    Json(JsonPath),
    /// A response header.
    Header(HeaderName),
    /// A regular expression on the body: the first group, or the whole match.
    Regex(regex::Regex),
}

impl ExtractSource {
    /// True when the body must be read.
    pub fn needs_body(&self) -> bool {
        !matches!(self, ExtractSource::Header(_))
    }
}

/// One weighted request of the mix.
#[derive(Debug)]
pub struct Endpoint {
    /// Name in results and reports.
    pub name: String,
    /// Relative share of the mix.
    pub weight: u32,
    /// HTTP method.
    pub method: Method,
    /// Path (joined to the target) or absolute URL.
    pub url: Text,
    /// Query parameters appended to the URL.
    pub query: Vec<(String, Text)>,
    /// Headers, defaults merged in.
    pub headers: Vec<(HeaderName, Text)>,
    /// Body.
    pub body: Body,
    /// Request timeout.
    pub timeout: Duration,
    /// Checks on the response.
    pub check: Check,
    /// Values captured for later steps.
    pub extract: Vec<Extraction>,
    /// Pause after this step before the next one of its scenario.
    pub think_time: Option<ThinkTime>,
}

impl Endpoint {
    /// True when the body must be read (checks or extractions look at it).
    pub fn needs_body(&self) -> bool {
        self.check.needs_body() || self.extract.iter().any(|e| e.source.needs_body())
    }

    /// True when the response headers must be kept.
    pub fn needs_headers(&self) -> bool {
        !self.check.headers.is_empty()
            || self
                .extract
                .iter()
                .any(|e| matches!(e.source, ExtractSource::Header(_)))
    }
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// Text, sent as is after rendering.
    Text(Text),
    /// JSON assembled from literal pieces and rendered fields.
    Json {
        /// Literal text and rendered fields, in order.
        pieces: Vec<JsonPiece>,
        /// The body as written (canonical JSON text), for hashing and reports.
        source: String,
        /// True when a field reads `vars` or `data`.
        contextual: bool,
    },
    /// URL-encoded form fields.
    Form(Vec<(String, Text)>),
}

/// A piece of a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonPiece {
    /// Literal JSON text.
    Raw(String),
    /// A template whose output becomes a JSON string.
    Str(usize),
    /// A template that renders JSON itself (a typed `{{ expression }}`).
    Native(usize),
}

/// Checks on a response.
#[derive(Debug, Clone, Default)]
pub struct Check {
    /// Accepted statuses (empty: anything below 400).
    pub status: Vec<StatusPattern>,
    /// Text the body must contain.
    pub body_contains: Option<String>,
    /// JSON fields and what they must be.
    pub json: Vec<(JsonPath, JsonExpect)>,
    /// Header expectations.
    pub headers: Vec<(HeaderName, HeaderExpect)>,
    /// Longest acceptable latency.
    pub max_latency: Option<Duration>,
}

/// What a JSON field must be.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpect {
    /// Equal to this value (`1` and `1.0` are equal).
    Equals(serde_json::Value),
    /// Every comparison holds.
    Compare(Vec<Comparison>),
}

/// One comparison on a JSON field.
#[derive(Debug, Clone)]
pub enum Comparison {
    /// `eq`: equal.
    Eq(serde_json::Value),
    /// `ne`: not equal.
    Ne(serde_json::Value),
    /// `lt`: a number below.
    Lt(f64),
    /// `lte`: a number at most.
    Lte(f64),
    /// `gt`: a number above.
    Gt(f64),
    /// `gte`: a number at least.
    Gte(f64),
    /// `contains`: a string containing the text, or an array containing the value.
    Contains(serde_json::Value),
    /// `matches`: a string matching the regular expression.
    Matches(regex::Regex),
    /// `exists`: present (`true`) or absent (`false`).
    Exists(bool),
}

impl PartialEq for Comparison {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Eq(v) => write!(f, "eq {v}"),
            Comparison::Ne(v) => write!(f, "ne {v}"),
            Comparison::Lt(v) => write!(f, "lt {v}"),
            Comparison::Lte(v) => write!(f, "lte {v}"),
            Comparison::Gt(v) => write!(f, "gt {v}"),
            Comparison::Gte(v) => write!(f, "gte {v}"),
            Comparison::Contains(v) => write!(f, "contains {v}"),
            Comparison::Matches(r) => write!(f, "matches {}", r.as_str()),
            Comparison::Exists(b) => write!(f, "exists {b}"),
        }
    }
}

/// What a header must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderExpect {
    /// Present, any value.
    Present,
    /// Absent.
    Absent,
    /// Present, with a value containing the text.
    Contains(String),
}

impl Check {
    /// True when the body must be read and examined.
    pub fn needs_body(&self) -> bool {
        self.body_contains.is_some() || !self.json.is_empty()
    }
}
