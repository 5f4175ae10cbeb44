//! Requests prepared once per run, built per arrival, and judged on their response.
//!
//! Everything that does not change between requests (URIs, header maps, bodies) is built at
//! preparation; templates render per request only where the profile uses them.

mod build;
mod judge;

use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::client::Origin;
use crate::profile::url::split_origin;
use crate::profile::{
    Body, Check, Endpoint, Extraction, JsonPiece, Profile, Templates, Text, ThinkTime,
};

pub use judge::{Evaluation, Failure, ResponseView, evaluate, judge_status};

/// A request whose static parts are built once.
#[derive(Debug)]
pub struct PreparedEndpoint {
    /// Index into the run's origins.
    pub origin: usize,
    method: Method,
    /// Path prefix from the target (`/api` of `http://host/api`), empty for absolute URLs.
    prefix: String,
    /// Path (and maybe query) as written, origin stripped.
    path: PathText,
    query: Vec<(String, Text)>,
    static_headers: HeaderMap,
    /// `static_headers` plus `Host` (unless set), for HTTP/1.1: cloned per request, never built.
    h1_headers: HeaderMap,
    dynamic_headers: Vec<(HeaderName, Text)>,
    body: PreparedBody,
    /// Origin-form and absolute-form URIs when nothing is templated.
    static_uri: Option<(Uri, Uri)>,
    /// Request timeout.
    pub timeout: std::time::Duration,
    /// Response checks.
    pub check: Check,
    /// Values captured for later steps.
    pub extract: Vec<Extraction>,
    /// Pause after this step.
    pub think_time: Option<ThinkTime>,
    /// True when the body must be read.
    pub needs_body: bool,
    /// True when the response headers must be kept.
    pub needs_headers: bool,
    /// True when rendering needs the iteration's `vars` and `data`.
    pub contextual: bool,
}

#[derive(Debug)]
enum PathText {
    /// What follows the origin, as written (normalized by `path_and_query`).
    Literal(String),
    /// A template whose output starts with `strip` bytes of literal origin.
    Template { text: Text, strip: usize },
}

#[derive(Debug)]
enum PreparedBody {
    Static(Bytes),
    Text(Text),
    Json(Vec<JsonPiece>),
    Form(Vec<(String, Text)>),
}

/// The endpoints and origins of one run, shared by every engine thread.
#[derive(Debug)]
pub struct Prepared {
    /// Per endpoint, in profile order.
    pub endpoints: Vec<PreparedEndpoint>,
    /// Distinct origins; index 0 is the target.
    pub origins: Vec<Origin>,
    /// The weighted mix: steps per scenario (a plain request is a one-step scenario).
    pub scenarios: Vec<PreparedScenario>,
    /// Running sums of the scenarios' weights (u64: many u32 weights may not fit a u32).
    cumulative_weights: Vec<u64>,
}

/// A scenario as the engine runs it.
#[derive(Debug)]
pub struct PreparedScenario {
    /// Endpoint indices, in order.
    pub steps: Vec<usize>,
    /// For a journey (written under `scenarios:`), its index among the journeys, whose totals
    /// are recorded after the endpoints.
    pub journey: Option<usize>,
}

impl Prepared {
    /// Prepares every endpoint of `profile` against `target` (a base URL whose origin is
    /// `origins[0]`, already resolved). `auth` (rendered after setup) goes on every request
    /// that does not set `authorization` itself.
    pub async fn new(
        profile: &Profile,
        target: &str,
        auth: Option<&HeaderValue>,
    ) -> Result<Prepared, String> {
        let (endpoints, origins) = prepare_all(&profile.endpoints, target, auth).await?;
        let mut journeys = 0;
        let scenarios = profile
            .scenarios
            .iter()
            .map(|s| PreparedScenario {
                steps: s.steps.clone(),
                journey: s.journey.then(|| {
                    journeys += 1;
                    journeys - 1
                }),
            })
            .collect();
        let mut total = 0u64;
        let cumulative_weights = profile
            .scenarios
            .iter()
            .map(|s| {
                total += u64::from(s.weight);
                total
            })
            .collect();
        Ok(Prepared {
            endpoints,
            origins,
            scenarios,
            cumulative_weights,
        })
    }

    /// Picks a scenario by weight.
    #[inline]
    pub fn pick(&self) -> usize {
        let total = *self
            .cumulative_weights
            .last()
            .expect("a profile has at least one scenario");
        if self.cumulative_weights.len() == 1 {
            return 0;
        }
        let x = fastrand::u64(0..total);
        self.cumulative_weights.partition_point(|&c| c <= x)
    }
}

/// Prepares `list` against `target`, resolving every origin once; `auth` goes on every request
/// that does not set `authorization` itself.
pub async fn prepare_all(
    list: &[Endpoint],
    target: &str,
    auth: Option<&HeaderValue>,
) -> Result<(Vec<PreparedEndpoint>, Vec<Origin>), String> {
    let base: Uri = target
        .parse()
        .map_err(|e| format!("invalid target `{target}`: {e}"))?;
    let prefix = base.path().trim_end_matches('/').to_string();
    let mut origins = vec![Origin::resolve(target).await?];
    let mut endpoints = Vec::with_capacity(list.len());
    for e in list {
        let source = e.url.source();
        let (origin, prefix, path) = match split_origin(source) {
            None => (0, prefix.clone(), path_text(&e.url, 0)),
            Some((origin_text, _)) => {
                let index =
                    if let Some(i) = origins.iter().position(|o| same_origin(o, origin_text)) {
                        i
                    } else {
                        origins.push(Origin::resolve(origin_text).await?);
                        origins.len() - 1
                    };
                (index, String::new(), path_text(&e.url, origin_text.len()))
            }
        };
        let mut prepared = prepare(e, origin, prefix, path, &origins[origin])?;
        if let Some(value) = auth
            && !prepared.static_headers.contains_key(AUTHORIZATION)
            && !prepared
                .dynamic_headers
                .iter()
                .any(|(n, _)| n == AUTHORIZATION)
        {
            let mut value = value.clone();
            value.set_sensitive(true);
            prepared.static_headers.insert(AUTHORIZATION, value);
        }
        prepared.h1_headers = with_host(&prepared.static_headers, &origins[origin]);
        endpoints.push(prepared);
    }
    Ok((endpoints, origins))
}

/// `headers` with `Host` added from the origin, unless they set it.
fn with_host(headers: &HeaderMap, origin: &Origin) -> HeaderMap {
    let mut h1 = headers.clone();
    if !h1.contains_key(HOST) {
        h1.insert(
            HOST,
            HeaderValue::from_str(origin.authority.as_str())
                .expect("an authority is a valid header value"),
        );
    }
    h1
}

fn same_origin(o: &Origin, text: &str) -> bool {
    text.parse::<Uri>()
        .is_ok_and(|u| u.scheme() == Some(&o.scheme) && u.authority() == Some(&o.authority))
}

/// `url` without its first `strip` bytes (a literal origin, ending at an ASCII delimiter).
fn path_text(url: &Text, strip: usize) -> PathText {
    match url {
        Text::Literal(s) => PathText::Literal(s.get(strip..).unwrap_or_default().to_string()),
        t @ Text::Template { .. } => PathText::Template {
            text: t.clone(),
            strip,
        },
    }
}

fn prepare(
    e: &Endpoint,
    origin: usize,
    prefix: String,
    path: PathText,
    o: &Origin,
) -> Result<PreparedEndpoint, String> {
    let mut static_headers = HeaderMap::new();
    let mut dynamic_headers = Vec::new();
    for (name, value) in &e.headers {
        match value {
            Text::Literal(v) => {
                let v = HeaderValue::from_str(v).map_err(|_| {
                    format!(
                        "header `{name}` of `{}` is not a valid header value",
                        e.name
                    )
                })?;
                static_headers.append(name.clone(), v);
            }
            t @ Text::Template { .. } => dynamic_headers.push((name.clone(), t.clone())),
        }
    }
    let body = match &e.body {
        Body::Empty => PreparedBody::Static(Bytes::new()),
        Body::Text(Text::Literal(s)) => PreparedBody::Static(Bytes::from(s.clone())),
        Body::Text(t) => PreparedBody::Text(t.clone()),
        Body::Json { pieces, .. } => match pieces.as_slice() {
            [] => PreparedBody::Static(Bytes::new()),
            [JsonPiece::Raw(s)] => PreparedBody::Static(Bytes::from(s.clone())),
            _ => PreparedBody::Json(pieces.clone()),
        },
        Body::Form(fields) if fields.iter().all(|(_, v)| v.is_literal()) => {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.source()))
                .collect();
            PreparedBody::Static(Bytes::from(
                serde_urlencoded::to_string(pairs).map_err(|err| err.to_string())?,
            ))
        }
        Body::Form(fields) => PreparedBody::Form(fields.clone()),
    };
    let mut prepared = PreparedEndpoint {
        origin,
        method: e.method.clone(),
        prefix,
        path,
        query: e.query.clone(),
        h1_headers: with_host(&static_headers, o),
        static_headers,
        dynamic_headers,
        body,
        static_uri: None,
        timeout: e.timeout,
        check: e.check.clone(),
        extract: e.extract.clone(),
        think_time: e.think_time,
        needs_body: e.needs_body(),
        needs_headers: e.needs_headers(),
        contextual: uses_context(e),
    };
    if let PathText::Literal(p) = &prepared.path
        && prepared.query.iter().all(|(_, v)| v.is_literal())
    {
        let pq = prepared.path_and_query(p, &Templates::new(), &minijinja::Value::UNDEFINED)?;
        prepared.static_uri = Some((
            pq.parse()
                .map_err(|err| format!("invalid URL path `{pq}` of `{}`: {err}", e.name))?,
            absolute(o, &pq)?,
        ));
    }
    Ok(prepared)
}

/// True when any of the endpoint's templates reads `vars` or `data`.
fn uses_context(e: &Endpoint) -> bool {
    let body = match &e.body {
        Body::Empty => false,
        Body::Text(t) => t.is_contextual(),
        Body::Json { contextual, .. } => *contextual,
        Body::Form(f) => f.iter().any(|(_, v)| v.is_contextual()),
    };
    body || e.url.is_contextual()
        || e.query.iter().any(|(_, v)| v.is_contextual())
        || e.headers.iter().any(|(_, v)| v.is_contextual())
}

fn absolute(o: &Origin, path_and_query: &str) -> Result<Uri, String> {
    Uri::builder()
        .scheme(o.scheme.clone())
        .authority(o.authority.clone())
        .path_and_query(path_and_query)
        .build()
        .map_err(|e| format!("invalid URL path `{path_and_query}`: {e}"))
}
