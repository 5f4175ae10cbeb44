//! Requests prepared once per run, built per arrival, and judged on their response.
//!
//! Everything that does not change between requests (URIs, header maps, bodies) is built at
//! preparation; templates render per request only where the profile uses them.

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::Full;

use super::client::{Origin, ReqBody};
use crate::metrics::ErrorClass;
use crate::profile::{Body, Check, Endpoint, JsonPiece, Profile, Templates, Text};

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
    dynamic_headers: Vec<(HeaderName, Text)>,
    body: PreparedBody,
    /// Origin-form and absolute-form URIs when nothing is templated.
    static_uri: Option<(Uri, Uri)>,
    /// Request timeout.
    pub timeout: std::time::Duration,
    /// Response checks.
    pub check: Check,
}

#[derive(Debug)]
enum PathText {
    Literal(String),
    /// A template whose output starts with `strip` bytes of literal origin.
    Template {
        text: Text,
        strip: usize,
    },
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
    cumulative_weights: Vec<u32>,
}

impl Prepared {
    /// Prepares every endpoint of `profile` against `target` (a base URL whose origin is
    /// `origins[0]`, already resolved).
    pub async fn new(profile: &Profile, target: &str) -> Result<Prepared, String> {
        let base: Uri = target
            .parse()
            .map_err(|e| format!("invalid target `{target}`: {e}"))?;
        let prefix = base.path().trim_end_matches('/').to_string();
        let mut origins = vec![Origin::resolve(target).await?];
        let mut endpoints = Vec::with_capacity(profile.endpoints.len());
        for e in &profile.endpoints {
            let source = e.url.source();
            let (origin, prefix, path) = if source.starts_with('/') {
                (0, prefix.clone(), path_text(&e.url, 0))
            } else {
                let end = source[8..].find('/').map_or(source.len(), |i| i + 8);
                let origin_text = &source[..end];
                let index =
                    if let Some(i) = origins.iter().position(|o| same_origin(o, origin_text)) {
                        i
                    } else {
                        origins.push(Origin::resolve(origin_text).await?);
                        origins.len() - 1
                    };
                (index, String::new(), path_text(&e.url, end))
            };
            endpoints.push(prepare(e, origin, prefix, path, &origins[origin])?);
        }
        let mut total = 0;
        let cumulative_weights = profile
            .endpoints
            .iter()
            .map(|e| {
                total += e.weight;
                total
            })
            .collect();
        Ok(Prepared {
            endpoints,
            origins,
            cumulative_weights,
        })
    }

    /// Picks an endpoint by weight.
    #[inline]
    pub fn pick(&self) -> usize {
        let total = *self
            .cumulative_weights
            .last()
            .expect("at least one endpoint");
        if self.cumulative_weights.len() == 1 {
            return 0;
        }
        let x = fastrand::u32(0..total);
        self.cumulative_weights.partition_point(|&c| c <= x)
    }
}

fn same_origin(o: &Origin, text: &str) -> bool {
    text.parse::<Uri>()
        .is_ok_and(|u| u.scheme() == Some(&o.scheme) && u.authority() == Some(&o.authority))
}

fn path_text(url: &Text, strip: usize) -> PathText {
    match url {
        Text::Literal(s) => {
            let p = &s[strip..];
            PathText::Literal(if p.is_empty() {
                "/".into()
            } else {
                p.to_string()
            })
        }
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
        static_headers,
        dynamic_headers,
        body,
        static_uri: None,
        timeout: e.timeout,
        check: e.check.clone(),
    };
    if let PathText::Literal(p) = &prepared.path
        && prepared.query.iter().all(|(_, v)| v.is_literal())
    {
        let pq = prepared.path_and_query(p, &Templates::new())?;
        prepared.static_uri = Some((
            pq.parse()
                .map_err(|err| format!("invalid URL path `{pq}` of `{}`: {err}", e.name))?,
            absolute(o, &pq)?,
        ));
    }
    Ok(prepared)
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
    fn path_and_query(&self, path: &str, templates: &Templates) -> Result<String, String> {
        let mut pq = String::with_capacity(self.prefix.len() + path.len() + 16);
        pq.push_str(&self.prefix);
        pq.push_str(path);
        if !self.query.is_empty() {
            let mut rendered = Vec::with_capacity(self.query.len());
            for (k, v) in &self.query {
                rendered.push((k.as_str(), templates.render_text(v)?));
            }
            let pairs: Vec<(&str, &str)> = rendered.iter().map(|(k, v)| (*k, v.as_ref())).collect();
            pq.push(if pq.contains('?') { '&' } else { '?' });
            pq.push_str(&serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?);
        }
        Ok(pq)
    }

    /// Builds the request for one send (`h2`: absolute URI; HTTP/1.1: origin form plus `Host`).
    pub fn build(
        &self,
        templates: &Templates,
        origin: &Origin,
        h2: bool,
    ) -> Result<Request<ReqBody>, String> {
        let uri = match &self.static_uri {
            Some((origin_form, absolute_form)) => {
                if h2 {
                    absolute_form.clone()
                } else {
                    origin_form.clone()
                }
            }
            None => {
                let path = match &self.path {
                    PathText::Literal(p) => std::borrow::Cow::Borrowed(p.as_str()),
                    PathText::Template { text, strip } => {
                        let full = templates.render_text(text)?;
                        std::borrow::Cow::Owned(full.get(*strip..).unwrap_or("/").to_string())
                    }
                };
                let pq =
                    self.path_and_query(if path.is_empty() { "/" } else { &path }, templates)?;
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
            PreparedBody::Text(t) => Bytes::from(templates.render_text(t)?.into_owned()),
            PreparedBody::Json(pieces) => Bytes::from(render_json(pieces, templates)?),
            PreparedBody::Form(fields) => {
                let mut rendered = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    rendered.push((k.as_str(), templates.render_text(v)?));
                }
                let pairs: Vec<(&str, &str)> =
                    rendered.iter().map(|(k, v)| (*k, v.as_ref())).collect();
                Bytes::from(serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?)
            }
        };
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        *headers = self.static_headers.clone();
        if !h2 && !headers.contains_key(HOST) {
            headers.insert(
                HOST,
                HeaderValue::from_str(origin.authority.as_str())
                    .expect("an authority is a valid header value"),
            );
        }
        for (name, text) in &self.dynamic_headers {
            let value = templates.render_text(text)?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("header `{name}` rendered to an invalid value"))?;
            headers.insert(name.clone(), value);
        }
        Ok(request)
    }
}

fn render_json(pieces: &[JsonPiece], templates: &Templates) -> Result<String, String> {
    let mut out = String::with_capacity(256);
    for piece in pieces {
        match piece {
            JsonPiece::Raw(s) => out.push_str(s),
            JsonPiece::Native(id) => out.push_str(&templates.render(*id)?),
            JsonPiece::Str(id) => {
                let s = templates.render(*id)?;
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

/// Judges a body against the checks.
pub fn judge_body(check: &Check, body: &[u8]) -> Option<Failure> {
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
    let doc: serde_json::Value = match serde_json::from_slice(body) {
        Ok(d) => d,
        Err(e) => return Some((ErrorClass::Check, format!("body is not JSON: {e}"))),
    };
    for (path, expected) in &check.json {
        match path.resolve(&doc) {
            None => return Some((ErrorClass::Check, format!("JSON field `{path}` is missing"))),
            Some(actual) if !json_equal(actual, expected) => {
                return Some((
                    ErrorClass::Check,
                    format!("JSON field `{path}` is `{actual}`, expected `{expected}`"),
                ));
            }
            Some(_) => {}
        }
    }
    None
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
    use crate::profile::{JsonPath, StatusPattern};

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
            json: vec![(JsonPath::parse("/a/b").unwrap(), serde_json::json!(1))],
            ..Check::default()
        };
        assert_eq!(judge_body(&check, br#"{"a":{"b":1.0},"s":"ok"}"#), None);
        assert_eq!(
            judge_body(&check, br#"{"a":{"b":2},"s":"ok"}"#).unwrap().1,
            "JSON field `/a/b` is `2`, expected `1`"
        );
        assert_eq!(
            judge_body(&check, b"nope").unwrap().1,
            "body does not contain `ok`"
        );
        assert!(
            judge_body(&check, b"ok but not json")
                .unwrap()
                .1
                .starts_with("body is not JSON")
        );
    }

    #[test]
    fn json_bodies_render_typed_fields() {
        let mut t = Templates::new();
        let n = t.json_expression("random_int(3, 3)").unwrap();
        let s = match t.text("id-{{ random_int(4, 4) }}").unwrap() {
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
        assert_eq!(render_json(&pieces, &t).unwrap(), r#"{"n":3,"s":"id-4"}"#);
    }
}
