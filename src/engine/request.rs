//! Requests prepared once per run, built per arrival, and judged on their response.
//!
//! Everything that does not change between requests (URIs, header maps, bodies) is built at
//! preparation; templates render per request only where the profile uses them.

use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::Full;

use super::client::{Origin, ReqBody};
use crate::metrics::ErrorClass;
use crate::profile::url::split_origin;
use crate::profile::{
    Body, Check, Comparison, Endpoint, ExtractSource, Extraction, HeaderExpect, JsonExpect,
    JsonPath, JsonPiece, JsonValues, Profile, Templates, Text, ThinkTime,
};

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

impl PreparedEndpoint {
    /// The origin-form path and query, built in one string: the target's prefix, `path` (what
    /// follows the origin: `/` when empty, `/?q` for a bare query), and the rendered query.
    fn path_and_query(
        &self,
        path: &str,
        templates: &Templates,
        ctx: &minijinja::Value,
    ) -> Result<String, String> {
        let mut pq = String::with_capacity(self.prefix.len() + path.len() + 32);
        pq.push_str(&self.prefix);
        if path.is_empty() {
            pq.push('/');
        } else {
            if !path.starts_with('/') {
                pq.push('/');
            }
            pq.push_str(path);
        }
        if !self.query.is_empty() {
            pq.push(if pq.contains('?') { '&' } else { '?' });
            let start = pq.len();
            let mut query = form_urlencoded::Serializer::for_suffix(pq, start);
            for (k, v) in &self.query {
                query.append_pair(k, &templates.render_text(v, ctx)?);
            }
            pq = query.finish();
        }
        Ok(pq)
    }

    /// Builds the request for one send (`h2`: absolute URI; HTTP/1.1: origin form plus `Host`),
    /// rendering templates with `ctx` (the iteration's `vars` and `data`).
    pub fn build(
        &self,
        templates: &Templates,
        origin: &Origin,
        h2: bool,
        ctx: &minijinja::Value,
    ) -> Result<Request<ReqBody>, String> {
        self.build_bytes(templates, origin, h2, ctx)
            .map(|r| r.map(Full::new))
    }

    /// The request with its body as bytes (loadgate's own HTTP/1.1 client writes them).
    pub fn build_bytes(
        &self,
        templates: &Templates,
        origin: &Origin,
        h2: bool,
        ctx: &minijinja::Value,
    ) -> Result<Request<Bytes>, String> {
        let uri = match &self.static_uri {
            Some((origin_form, absolute_form)) => {
                if h2 {
                    absolute_form.clone()
                } else {
                    origin_form.clone()
                }
            }
            None => {
                let pq = match &self.path {
                    PathText::Literal(p) => self.path_and_query(p, templates, ctx)?,
                    PathText::Template { text, strip } => {
                        let full = templates.render_text(text, ctx)?;
                        self.path_and_query(full.get(*strip..).unwrap_or_default(), templates, ctx)?
                    }
                };
                if h2 {
                    absolute(origin, &pq)?
                } else {
                    pq.parse()
                        .map_err(|e| format!("rendered URL `{pq}` is invalid: {e} (use the `urlencode` filter for values)"))?
                }
            }
        };
        let body = match &self.body {
            PreparedBody::Static(b) => b.clone(),
            PreparedBody::Text(t) => Bytes::from(templates.render_text(t, ctx)?.into_owned()),
            PreparedBody::Json(pieces) => Bytes::from(render_json(pieces, templates, ctx)?),
            PreparedBody::Form(fields) => {
                let mut rendered = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    rendered.push((k.as_str(), templates.render_text(v, ctx)?));
                }
                let pairs: Vec<(&str, &str)> =
                    rendered.iter().map(|(k, v)| (*k, v.as_ref())).collect();
                Bytes::from(serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?)
            }
        };
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        *headers = if h2 {
            self.static_headers.clone()
        } else {
            self.h1_headers.clone()
        };
        for (name, text) in &self.dynamic_headers {
            let value = templates.render_text(text, ctx)?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("header `{name}` rendered to an invalid value"))?;
            headers.insert(name.clone(), value);
        }
        Ok(request)
    }
}

fn render_json(
    pieces: &[JsonPiece],
    templates: &Templates,
    ctx: &minijinja::Value,
) -> Result<String, String> {
    let mut out = String::with_capacity(256);
    for piece in pieces {
        match piece {
            JsonPiece::Raw(s) => out.push_str(s),
            JsonPiece::Native(id) => out.push_str(&templates.render(*id, ctx)?),
            JsonPiece::Str(id) => {
                let s = templates.render(*id, ctx)?;
                out.push_str(&serde_json::to_string(&s).map_err(|e| e.to_string())?);
            }
        }
    }
    Ok(out)
}

/// A failure and its message.
pub type Failure = (ErrorClass, String);

/// Judges a status against the checks: unexpected 4xx/5xx count as HTTP errors, any other
/// unexpected status as a failed check.
pub fn judge_status(check: &Check, status: u16) -> Option<Failure> {
    let class_error = || match status {
        500.. => Some((ErrorClass::Http5xx, format!("status {status}"))),
        400..=499 => Some((ErrorClass::Http4xx, format!("status {status}"))),
        _ => None,
    };
    if check.status.is_empty() {
        return class_error();
    }
    if check.status.iter().any(|p| p.matches(status)) {
        return None;
    }
    let expected = check
        .status
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    class_error()
        .map(|(class, m)| (class, format!("{m}, expected {expected}")))
        .or_else(|| {
            Some((
                ErrorClass::Check,
                format!("status {status}, expected {expected}"),
            ))
        })
}

/// What a response looked like, for checks and extraction.
pub struct ResponseView<'a> {
    /// Status code.
    pub status: u16,
    /// Headers (empty unless the endpoint needs them).
    pub headers: &'a http::HeaderMap,
    /// Body (empty unless the endpoint needs it).
    pub body: &'a [u8],
    /// Latency as recorded.
    pub latency: std::time::Duration,
}

/// The verdict on one response: the first failure, and the values extracted.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Why the request failed, if it did.
    pub failure: Option<Failure>,
    /// Values for `vars`.
    pub vars: Vec<(String, minijinja::Value)>,
    /// True when the scenario cannot go on (a value it needs was not extracted).
    pub stop: bool,
}

/// Judges a response against the endpoint's checks and extracts its values. The status is
/// judged first (an unexpected 4xx/5xx is that class), then the latency limit, headers and
/// body; extraction runs on responses that passed.
pub fn evaluate(endpoint: &PreparedEndpoint, response: &ResponseView<'_>) -> Evaluation {
    let check = &endpoint.check;
    // The values the JSON checks and extractions read, in that order, read from the body in
    // one pass (see [`JsonPath::select`]).
    let paths: smallvec::SmallVec<[&JsonPath; 4]> = check
        .json
        .iter()
        .map(|(path, _)| path)
        .chain(endpoint.extract.iter().filter_map(|e| match &e.source {
            ExtractSource::Json(path) => Some(path),
            _ => None,
        }))
        .collect();
    let selected: Option<Selected> = (!paths.is_empty()).then(|| {
        JsonPath::select(response.body, &paths).map_err(|e| format!("body is not JSON: {e}"))
    });
    let (checked, extracted) = match &selected {
        Some(Ok(values)) => {
            let (c, x) = values.split_at(check.json.len());
            (Some(Ok(c)), Some(Ok(x)))
        }
        Some(Err(e)) => (Some(Err(e.as_str())), Some(Err(e.as_str()))),
        None => (None, None),
    };
    let failure = judge_status(check, response.status)
        .or_else(|| judge_latency(check, response.latency))
        .or_else(|| judge_headers(check, response.headers))
        .or_else(|| judge_body(check, response.body, checked));
    if failure.is_some() {
        return Evaluation {
            stop: !endpoint.extract.is_empty(),
            failure,
            vars: Vec::new(),
        };
    }
    match extract(&endpoint.extract, response, extracted) {
        Ok(vars) => Evaluation {
            failure: None,
            vars,
            stop: false,
        },
        Err(failure) => Evaluation {
            failure: Some(failure),
            vars: Vec::new(),
            stop: true,
        },
    }
}

/// The values at the JSON paths of an endpoint's checks and extractions, or why the body is
/// not JSON.
type Selected = Result<JsonValues, String>;

/// Values selected for some paths, in their order (a slice of [`Selected`]).
type Values<'a> = Option<Result<&'a [Option<serde_json::Value>], &'a str>>;

fn judge_latency(check: &Check, latency: std::time::Duration) -> Option<Failure> {
    let limit = check.max_latency?;
    (latency > limit).then(|| {
        (
            ErrorClass::Check,
            format!(
                "took {}, limit {}",
                crate::format::latency_us(latency.as_micros() as u64),
                crate::format::latency_us(limit.as_micros() as u64)
            ),
        )
    })
}

fn judge_headers(check: &Check, headers: &http::HeaderMap) -> Option<Failure> {
    for (name, expect) in &check.headers {
        let value = headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let problem = match (expect, value) {
            (HeaderExpect::Present, None) => Some(format!("header `{name}` is missing")),
            (HeaderExpect::Absent, Some(_)) => {
                Some(format!("header `{name}` is present, expected it absent"))
            }
            (HeaderExpect::Contains(t), None) => Some(format!(
                "header `{name}` is missing, expected it to contain `{t}`"
            )),
            (HeaderExpect::Contains(t), Some(v)) if !v.contains(t.as_str()) => Some(format!(
                "header `{name}` is `{v}`, expected it to contain `{t}`"
            )),
            _ => None,
        };
        if let Some(p) = problem {
            return Some((ErrorClass::Check, p));
        }
    }
    None
}

/// Judges a body against the checks (`values`: the values at the JSON checks' paths, in
/// order, when there are JSON checks).
fn judge_body(check: &Check, body: &[u8], values: Values<'_>) -> Option<Failure> {
    if let Some(needle) = &check.body_contains
        && memchr::memmem::find(body, needle.as_bytes()).is_none()
    {
        return Some((
            ErrorClass::Check,
            format!("body does not contain `{needle}`"),
        ));
    }
    if check.json.is_empty() {
        return None;
    }
    let values = match values {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Some((ErrorClass::Check, e.to_string())),
        None => return Some((ErrorClass::Check, "body was not read".into())),
    };
    for ((path, expect), actual) in check.json.iter().zip(values) {
        let actual = actual.as_ref();
        let problem = match (expect, actual) {
            (JsonExpect::Equals(_), None) => Some(format!("JSON field `{path}` is missing")),
            (JsonExpect::Equals(e), Some(a)) if !json_equal(a, e) => {
                Some(format!("JSON field `{path}` is `{a}`, expected `{e}`"))
            }
            (JsonExpect::Compare(comparisons), actual) => comparisons
                .iter()
                .find(|c| !compare(c, actual))
                .map(|c| match actual {
                    Some(a) => format!("JSON field `{path}` is `{a}`, expected {c}"),
                    None => format!("JSON field `{path}` is missing, expected {c}"),
                }),
            _ => None,
        };
        if let Some(p) = problem {
            return Some((ErrorClass::Check, p));
        }
    }
    None
}

fn compare(c: &Comparison, actual: Option<&serde_json::Value>) -> bool {
    let number = || actual.and_then(serde_json::Value::as_f64);
    match c {
        Comparison::Exists(want) => actual.is_some() == *want,
        Comparison::Eq(v) => actual.is_some_and(|a| json_equal(a, v)),
        Comparison::Ne(v) => actual.is_some_and(|a| !json_equal(a, v)),
        Comparison::Lt(v) => number().is_some_and(|a| a < *v),
        Comparison::Lte(v) => number().is_some_and(|a| a <= *v),
        Comparison::Gt(v) => number().is_some_and(|a| a > *v),
        Comparison::Gte(v) => number().is_some_and(|a| a >= *v),
        Comparison::Contains(v) => match (actual, v) {
            (Some(serde_json::Value::String(a)), serde_json::Value::String(b)) => {
                a.contains(b.as_str())
            }
            (Some(serde_json::Value::Array(items)), v) => items.iter().any(|i| json_equal(i, v)),
            _ => false,
        },
        Comparison::Matches(r) => actual
            .and_then(serde_json::Value::as_str)
            .is_some_and(|a| r.is_match(a)),
    }
}

/// Extracts every value; the first one missing is an `extract` failure.
fn extract(
    extractions: &[Extraction],
    response: &ResponseView<'_>,
    values: Values<'_>,
) -> Result<Vec<(String, minijinja::Value)>, Failure> {
    let fail = |name: &str, why: String| {
        (
            ErrorClass::Extract,
            format!("cannot extract `{name}`: {why}"),
        )
    };
    // The JSON extractions' values, in order.
    let mut json_values = values.map(|v| v.map(<[_]>::iter));
    extractions
        .iter()
        .map(|x| {
            let value = match &x.source {
                ExtractSource::Json(path) => match &mut json_values {
                    Some(Ok(values)) => match values.next().and_then(Option::as_ref) {
                        Some(v) => minijinja::Value::from(minijinja::value::Serde(v)),
                        None => {
                            return Err(fail(&x.name, format!("JSON field `{path}` is missing")));
                        }
                    },
                    Some(Err(e)) => return Err(fail(&x.name, (*e).to_string())),
                    None => return Err(fail(&x.name, "body was not read".into())),
                },
                ExtractSource::Header(h) => match response.headers.get(h) {
                    Some(v) => {
                        minijinja::Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned())
                    }
                    None => return Err(fail(&x.name, format!("header `{h}` is missing"))),
                },
                ExtractSource::Regex(re) => {
                    let text = String::from_utf8_lossy(response.body);
                    match re.captures(&text) {
                        Some(c) => {
                            let m = c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str());
                            minijinja::Value::from(m.to_string())
                        }
                        None => {
                            return Err(fail(
                                &x.name,
                                format!("`{}` does not match the body", re.as_str()),
                            ));
                        }
                    }
                }
            };
            Ok((x.name.clone(), value))
        })
        .collect()
}

/// Equality that treats `1` and `1.0` as the same number.
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(x), serde_json::Value::Number(y)) => {
            // Exact equality is meant: the profile states the value the field must have.
            #[allow(clippy::float_cmp)]
            let same = x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y);
            same
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::StatusPattern;

    #[test]
    fn status_judgement() {
        let default = Check::default();
        assert_eq!(judge_status(&default, 200), None);
        assert_eq!(judge_status(&default, 302), None);
        assert_eq!(judge_status(&default, 404).unwrap().0, ErrorClass::Http4xx);
        assert_eq!(judge_status(&default, 503).unwrap().0, ErrorClass::Http5xx);
        let expect_404 = Check {
            status: vec![StatusPattern::Exact(404)],
            ..Check::default()
        };
        assert_eq!(judge_status(&expect_404, 404), None);
        let (class, message) = judge_status(&expect_404, 200).unwrap();
        assert_eq!(class, ErrorClass::Check);
        assert_eq!(message, "status 200, expected 404");
        let expect_2xx = Check {
            status: vec![StatusPattern::Class(2)],
            ..Check::default()
        };
        assert_eq!(judge_status(&expect_2xx, 204), None);
        assert_eq!(
            judge_status(&expect_2xx, 500).unwrap().0,
            ErrorClass::Http5xx
        );
    }

    #[test]
    fn body_judgement() {
        let check = Check {
            body_contains: Some("ok".into()),
            json: vec![(
                JsonPath::parse("/a/b").unwrap(),
                JsonExpect::Equals(serde_json::json!(1)),
            )],
            ..Check::default()
        };
        let judge = |body: &[u8]| {
            let paths: smallvec::SmallVec<[&JsonPath; 4]> =
                check.json.iter().map(|(p, _)| p).collect();
            let values =
                JsonPath::select(body, &paths).map_err(|e| format!("body is not JSON: {e}"));
            let values = match &values {
                Ok(v) => Ok(v.as_slice()),
                Err(e) => Err(e.as_str()),
            };
            judge_body(&check, body, Some(values))
        };
        assert_eq!(judge(br#"{"a":{"b":1.0},"s":"ok"}"#), None);
        assert_eq!(
            judge(br#"{"a":{"b":2},"s":"ok"}"#).unwrap().1,
            "JSON field `/a/b` is `2`, expected `1`"
        );
        assert_eq!(judge(b"nope").unwrap().1, "body does not contain `ok`");
        assert!(
            judge(b"ok but not json")
                .unwrap()
                .1
                .starts_with("body is not JSON")
        );
    }

    #[test]
    fn comparisons() {
        use serde_json::json;
        let doc = json!({"n": 5, "s": "Alpha", "tags": ["a", "b"]});
        let holds =
            |c: Comparison, path: &str| compare(&c, JsonPath::parse(path).unwrap().resolve(&doc));
        assert!(holds(Comparison::Gte(5.0), "/n"));
        assert!(!holds(Comparison::Gt(5.0), "/n"));
        assert!(holds(Comparison::Lt(6.0), "/n"));
        assert!(holds(Comparison::Ne(json!(4)), "/n"));
        assert!(holds(Comparison::Contains(json!("lph")), "/s"));
        assert!(holds(Comparison::Contains(json!("b")), "/tags"));
        assert!(holds(
            Comparison::Matches(regex::Regex::new("^A").unwrap()),
            "/s"
        ));
        assert!(holds(Comparison::Exists(false), "/missing"));
        assert!(
            !holds(Comparison::Gt(1.0), "/s"),
            "a string is not a number"
        );
    }

    #[test]
    fn json_bodies_render_typed_fields() {
        let mut t = Templates::new();
        let scope = crate::profile::Scope::default();
        let n = t.json_expression("random_int(3, 3)", &scope).unwrap().0;
        let s = match t.text("id-{{ random_int(4, 4) }}", &scope).unwrap() {
            Text::Template { id, .. } => id,
            Text::Literal(_) => unreachable!(),
        };
        let pieces = vec![
            JsonPiece::Raw(r#"{"n":"#.into()),
            JsonPiece::Native(n),
            JsonPiece::Raw(r#","s":"#.into()),
            JsonPiece::Str(s),
            JsonPiece::Raw("}".into()),
        ];
        assert_eq!(
            render_json(&pieces, &t, &minijinja::Value::UNDEFINED).unwrap(),
            r#"{"n":3,"s":"id-4"}"#
        );
    }
}
