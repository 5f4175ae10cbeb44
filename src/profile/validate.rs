//! `RawProfile` → `Profile`: every rule the types alone cannot express, each failure naming the
//! key path and position and saying what was expected.

use std::fmt::Write as _;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};

use super::error::{ProfileError, did_you_mean};
use super::json_path::JsonPath;
use super::model::{
    Body, Check, Endpoint, GateConfig, HttpOptions, HttpVersion, JsonPiece, Limit, Load, LoadModel,
    Profile, Quantile, Segment, ThinkTime, Threshold, ThresholdScope, WaitFor,
};
use super::raw::{
    Pairs, RawGate, RawHttpVersion, RawLevel, RawLoad, RawModel, RawProfile, RawRequest, RawStage,
    RawThreshold,
};
use super::template::{Templates, Text, is_template, sole_expression};
use super::units::{format_duration, parse_duration, parse_rate};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_IN_FLIGHT: u64 = 1000;
/// Most recording intervals in one run (see `validate_load`).
pub const MAX_INTERVALS: u32 = 900;

struct Ctx<'a> {
    file: &'a str,
    templates: Templates,
}

impl Ctx<'_> {
    fn err(&self, key: impl Into<String>, at: Option<Location>, message: &str) -> ProfileError {
        let e = ProfileError::new(self.file, key, "").with_message(message);
        match at {
            Some(l) => e.located(l),
            None => e,
        }
    }

    fn text(&mut self, key: &str, value: &Spanned<String>) -> Result<Text, ProfileError> {
        self.templates
            .text(&value.value)
            .map_err(|m| self.err(key, Some(value.referenced), &m))
    }

    fn pairs(
        &mut self,
        key: &str,
        pairs: &Pairs<String, Spanned<String>>,
    ) -> Result<Vec<(String, Text)>, ProfileError> {
        pairs
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.text(&format!("{key}.{k}"), v)?)))
            .collect()
    }
}

/// Validates a parsed profile.
pub(super) fn validate(raw: &RawProfile, file: &str) -> Result<Profile, ProfileError> {
    let mut cx = Ctx {
        file,
        templates: Templates::new(),
    };
    if let Some(v) = &raw.version
        && v.value != 1
    {
        let v = v.value;
        return Err(cx.err(
            "version",
            raw.version.as_ref().map(|v| v.referenced),
            &format!("unsupported profile version `{v}`: expected `1` (the only version this loadgate reads)"),
        ));
    }
    let name = validate_name(&cx, &raw.name)?;
    let target = raw
        .target
        .as_ref()
        .map(|t| {
            check_target(&t.value)
                .map_err(|m| cx.err("target", Some(t.referenced), &m))
                .map(|()| t.value.trim().to_string())
        })
        .transpose()?;
    let wait_for = match &raw.wait_for {
        None => None,
        Some(w) => {
            check_path_or_url(&w.path.value)
                .map_err(|m| cx.err("wait_for.path", Some(w.path.referenced), &m))?;
            Some(WaitFor {
                path: w.path.value.clone(),
                status: w.status.clone().map(|s| s.0).unwrap_or_default(),
                timeout: w.timeout.map_or(Duration::from_secs(120), |d| d.0),
                interval: w
                    .interval
                    .map_or(Duration::from_secs(1), |d| d.0)
                    .max(Duration::from_millis(50)),
            })
        }
    };
    let http = HttpOptions {
        version: match raw.http.version.unwrap_or(RawHttpVersion::Auto) {
            RawHttpVersion::Auto => HttpVersion::Auto,
            RawHttpVersion::Http1 => HttpVersion::Http1,
            RawHttpVersion::Http2 => HttpVersion::Http2,
            RawHttpVersion::H2c => HttpVersion::H2c,
        },
        insecure_tls: raw.http.insecure_tls,
        connect_timeout: raw
            .http
            .connect_timeout
            .map_or(Duration::from_secs(5), |d| d.0),
    };
    let load = validate_load(&cx, &raw.load.value, raw.load.referenced)?;
    let default_timeout = raw.defaults.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0);
    let default_headers = headers(&mut cx, "defaults.headers", &raw.defaults.headers)?;
    if raw.requests.is_empty() {
        return Err(cx.err(
            "requests",
            None,
            "no requests: expected at least one entry like `- get: /health`",
        ));
    }
    let mut endpoints: Vec<Endpoint> = Vec::with_capacity(raw.requests.len());
    for (i, request) in raw.requests.iter().enumerate() {
        let endpoint = validate_request(&mut cx, i, request, &default_headers, default_timeout)?;
        if endpoints.iter().any(|e| e.name == endpoint.name) {
            let at = request
                .value
                .name
                .as_ref()
                .map_or(request.referenced, |n| n.referenced);
            return Err(cx.err(
                format!("requests[{i}].name"),
                Some(at),
                &format!(
                    "duplicate endpoint name `{}`: expected every request to have its own `name`",
                    endpoint.name
                ),
            ));
        }
        endpoints.push(endpoint);
    }
    let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    let thresholds = validate_thresholds(&cx, &raw.thresholds, &names)?;
    let gate = validate_gate(&cx, &raw.gate, &names, load.interval)?;
    let hash = profile_hash(&http, &load, &endpoints);
    Ok(Profile {
        name,
        target,
        wait_for,
        http,
        load,
        endpoints,
        thresholds,
        gate,
        hash,
        templates: cx.templates,
    })
}

fn validate_name(cx: &Ctx<'_>, name: &Spanned<String>) -> Result<String, ProfileError> {
    let n = name.value.trim();
    let ok = !n.is_empty()
        && n.len() <= 100
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !n.starts_with('.');
    if !ok {
        return Err(cx.err(
            "name",
            Some(name.referenced),
            &format!("invalid name `{n}`: expected letters, digits, `-`, `_` or `.` (it names `baselines/<name>.json`)"),
        ));
    }
    Ok(n.to_string())
}

/// Checks a base URL: http or https, with a host.
pub fn check_target(target: &str) -> Result<(), String> {
    let t = target.trim();
    let uri: http::Uri = t.parse().map_err(|_| {
        format!("invalid target `{t}`: expected a URL like `http://localhost:8080`")
    })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "unsupported scheme `{other}` in target `{t}`: expected `http://` or `https://`"
            ));
        }
        None => {
            return Err(format!(
                "target `{t}` has no scheme: expected a URL like `http://{t}`"
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!(
            "target `{t}` has no host: expected a URL like `http://localhost:8080`"
        ));
    }
    if uri.query().is_some() {
        return Err(format!(
            "target `{t}` has a query: expected a base URL; put query parameters in `query:`"
        ));
    }
    Ok(())
}

fn check_path_or_url(text: &str) -> Result<(), String> {
    if text.starts_with('/') {
        return Ok(());
    }
    if text.starts_with("http://") || text.starts_with("https://") {
        let origin_end = text[8..].find('/').map_or(text.len(), |i| i + 8);
        if is_template(&text[..origin_end]) {
            return Err(format!(
                "the scheme and host of `{text}` are templated: expected a fixed origin (templates may only vary the path)"
            ));
        }
        return check_target(&text[..origin_end]);
    }
    Err(format!(
        "`{text}` is neither a path nor a URL: expected a path starting with `/` (joined to the target) or an absolute `http(s)://` URL"
    ))
}

fn validate_load(cx: &Ctx<'_>, raw: &RawLoad, at: Location) -> Result<Load, ProfileError> {
    let model = match raw.model.unwrap_or(RawModel::Open) {
        RawModel::Open => LoadModel::Open,
        RawModel::Closed => LoadModel::Closed,
    };
    // Where a key was written, or else the `load` section.
    let pos = |s: Option<Location>| Some(s.unwrap_or(at));
    let interval = raw
        .interval
        .as_ref()
        .map_or(Duration::from_secs(1), |d| d.value.0);
    if interval < Duration::from_millis(100) || interval > Duration::from_secs(60) {
        return Err(cx.err(
            "load.interval",
            pos(raw.interval.as_ref().map(|d| d.referenced)),
            &format!(
                "interval `{}` out of range: expected between `100ms` and `60s`",
                format_duration(interval)
            ),
        ));
    }
    if raw.stages.is_empty() {
        return Err(cx.err(
            "load.stages",
            Some(at),
            "no stages: expected at least one, like `- { duration: 30s, rate: 50/s }`",
        ));
    }
    let mut segments = Vec::new();
    let mut level = 0.0;
    let mut t = Duration::ZERO;
    for (i, stage) in raw.stages.iter().enumerate() {
        let key = format!("load.stages[{i}]");
        for (duration, from, to) in
            stage_segments(cx, &key, &stage.value, stage.referenced, model, level)?
        {
            segments.push(Segment {
                start: t,
                duration,
                from,
                to,
            });
            t += duration;
            level = to;
        }
    }
    if t.is_zero() {
        return Err(cx.err(
            "load.stages",
            Some(at),
            "the stages last `0s`: expected a total duration above zero",
        ));
    }
    // Memory and file size stay bounded whatever the run length: a long run records at a
    // whole multiple of the interval, so it never holds more than MAX_INTERVALS of them.
    let needed = t.as_nanos().div_ceil(u128::from(MAX_INTERVALS));
    let factor = needed.div_ceil(interval.as_nanos()).max(1);
    let interval = interval * u32::try_from(factor).unwrap_or(u32::MAX);
    let warmup_raw = raw.warmup.as_ref().map_or(Duration::ZERO, |d| d.value.0);
    // Warm-up ends on an interval boundary so every interval is wholly in or out of it.
    let intervals = warmup_raw.as_nanos().div_ceil(interval.as_nanos());
    let warmup = interval * u32::try_from(intervals).unwrap_or(u32::MAX);
    if warmup >= t {
        return Err(cx.err(
            "load.warmup",
            pos(raw.warmup.as_ref().map(|d| d.referenced)),
            &format!(
                "warm-up `{}` is not shorter than the whole run `{}`: expected time left to measure",
                format_duration(warmup),
                format_duration(t)
            ),
        ));
    }
    let closed_only = |key: &str, where_: Option<Location>| {
        cx.err(
            format!("load.{key}"),
            pos(where_),
            &format!(
                "`{key}` applies to the closed model: expected `model: closed`, or remove `{key}`"
            ),
        )
    };
    let think_time = match (&raw.think_time, model) {
        (None, _) => ThinkTime::default(),
        (Some(s), LoadModel::Open) => return Err(closed_only("think_time", Some(s.referenced))),
        (Some(s), LoadModel::Closed) => parse_think_time(&s.value)
            .map_err(|m| cx.err("load.think_time", Some(s.referenced), &m))?,
    };
    if let (Some(r), LoadModel::Open) = (&raw.spawn_rate, model) {
        return Err(closed_only("spawn_rate", Some(r.referenced)));
    }
    if let (Some(m), LoadModel::Closed) = (&raw.max_in_flight, model) {
        return Err(cx.err(
            "load.max_in_flight",
            Some(m.referenced),
            "`max_in_flight` applies to the open model: expected it removed (the closed model's users bound what is in flight)",
        ));
    }
    let max_in_flight = raw
        .max_in_flight
        .as_ref()
        .map_or(DEFAULT_MAX_IN_FLIGHT, |m| m.value);
    if max_in_flight == 0 {
        return Err(cx.err(
            "load.max_in_flight",
            pos(raw.max_in_flight.as_ref().map(|m| m.referenced)),
            "`max_in_flight` is 0: expected at least 1",
        ));
    }
    let spawn_rate = match &raw.spawn_rate {
        Some(r) if r.value.0 <= 0.0 => {
            return Err(cx.err(
                "load.spawn_rate",
                Some(r.referenced),
                "`spawn_rate` is zero: expected a rate like `10/s`",
            ));
        }
        r => r.as_ref().map(|r| r.value.0),
    };
    Ok(Load {
        model,
        warmup,
        interval,
        segments,
        max_in_flight,
        think_time,
        spawn_rate,
    })
}

/// A stage's pieces: (duration, from, to).
type Piece = (Duration, f64, f64);

fn stage_segments(
    cx: &Ctx<'_>,
    key: &str,
    stage: &RawStage,
    at: Location,
    model: LoadModel,
    previous: f64,
) -> Result<Vec<Piece>, ProfileError> {
    let err = |key: String, message: &str| cx.err(key, Some(at), message);
    let kinds = [
        ("rate", stage.rate.is_some()),
        ("users", stage.users.is_some()),
        ("ramp_to", stage.ramp_to.is_some()),
        ("steps", stage.steps.is_some()),
    ];
    let present: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
    let level_key = match model {
        LoadModel::Open => "rate",
        LoadModel::Closed => "users",
    };
    match present.as_slice() {
        [] => {
            return Err(err(
                key.into(),
                &format!(
                    "stage sets no level: expected one of `{level_key}`, `ramp_to` or `steps`"
                ),
            ));
        }
        [_] => {}
        many => {
            return Err(err(
                key.into(),
                &format!(
                    "stage sets {}: expected exactly one of `{level_key}`, `ramp_to` or `steps`",
                    many.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
    }
    if stage.rate.is_some() && model == LoadModel::Closed {
        return Err(err(
            format!("{key}.rate"),
            "`rate` is for the open model: expected `users` with `model: closed`, or remove `model: closed`",
        ));
    }
    if stage.users.is_some() && model == LoadModel::Open {
        return Err(err(
            format!("{key}.users"),
            "`users` is for the closed model: expected `rate` (like `50/s`), or add `model: closed` to `load`",
        ));
    }
    let level = |l: &Spanned<RawLevel>, key: String| -> Result<f64, ProfileError> {
        match (model, &l.value) {
            (LoadModel::Open, RawLevel::Text(t)) => {
                parse_rate(t).map_err(|m| cx.err(key, Some(l.referenced), &m))
            }
            (LoadModel::Open, RawLevel::Count(n)) => Err(cx.err(
                key,
                Some(l.referenced),
                &format!("`{n}` has no unit: expected a rate like `{n}/s` (the open model sends arrivals per second)"),
            )),
            (LoadModel::Closed, RawLevel::Count(n)) => Ok(*n as f64),
            (LoadModel::Closed, RawLevel::Text(t)) => Err(cx.err(
                key,
                Some(l.referenced),
                &format!("`{t}` is not a user count: expected a whole number (the closed model runs users)"),
            )),
        }
    };
    if let Some(steps) = &stage.steps {
        if stage.duration.is_some() {
            return Err(err(
                format!("{key}.duration"),
                "`steps` take `hold` (the length of each step), not `duration`: expected `hold: 2m`",
            ));
        }
        let hold = stage
            .hold
            .ok_or_else(|| {
                err(
                    key.into(),
                    "`steps` without `hold`: expected how long each step lasts, like `hold: 2m`",
                )
            })?
            .0;
        if steps.is_empty() {
            return Err(err(
                format!("{key}.steps"),
                "empty `steps`: expected levels like `[50, 100, 200]`",
            ));
        }
        return steps
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let v = level(s, format!("{key}.steps[{j}]"))?;
                Ok((hold, v, v))
            })
            .collect();
    }
    if stage.hold.is_some() {
        return Err(err(
            format!("{key}.hold"),
            "`hold` belongs to `steps`: expected `duration` for this stage",
        ));
    }
    let duration = stage
        .duration
        .ok_or_else(|| {
            err(
                key.into(),
                "stage without `duration`: expected how long it lasts, like `duration: 30s`",
            )
        })?
        .0;
    if let Some(r) = stage.rate {
        return Ok(vec![(duration, r.0, r.0)]);
    }
    if let Some(u) = stage.users {
        return Ok(vec![(duration, u as f64, u as f64)]);
    }
    let ramp = stage.ramp_to.as_ref().expect("one kind is present");
    let to = level(ramp, format!("{key}.ramp_to"))?;
    Ok(vec![(duration, previous, to)])
}

fn parse_think_time(text: &str) -> Result<ThinkTime, String> {
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (parse_duration(a)?, parse_duration(b)?),
        None => {
            let d = parse_duration(text)?;
            (d, d)
        }
    };
    if max < min {
        return Err(format!(
            "think time `{text}` runs backwards: expected `min..max` like `1s..3s`"
        ));
    }
    Ok(ThinkTime { min, max })
}

fn headers(
    cx: &mut Ctx<'_>,
    key: &str,
    pairs: &Pairs<String, Spanned<String>>,
) -> Result<Vec<(HeaderName, Text)>, ProfileError> {
    let mut out = Vec::new();
    for (name, value) in pairs.iter() {
        let k = format!("{key}.{name}");
        let header =
            HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).map_err(|_| {
                cx.err(
                    &k,
                    Some(value.referenced),
                    &format!("invalid header name `{name}`: expected letters, digits and `-`"),
                )
            })?;
        let text = cx.text(&k, value)?;
        if let Text::Literal(v) = &text
            && HeaderValue::from_str(v).is_err()
        {
            return Err(cx.err(
                &k,
                Some(value.referenced),
                "invalid header value: expected visible ASCII text without line breaks",
            ));
        }
        out.push((header, text));
    }
    Ok(out)
}

fn validate_request(
    cx: &mut Ctx<'_>,
    i: usize,
    spanned: &Spanned<RawRequest>,
    default_headers: &[(HeaderName, Text)],
    default_timeout: Duration,
) -> Result<Endpoint, ProfileError> {
    let r = &spanned.value;
    let key = format!("requests[{i}]");
    let shorthand = [
        ("get", &r.get),
        ("post", &r.post),
        ("put", &r.put),
        ("patch", &r.patch),
        ("delete", &r.delete),
        ("head", &r.head),
        ("options", &r.options),
    ];
    let given: Vec<(&str, &Spanned<String>)> = shorthand
        .iter()
        .filter_map(|(m, v)| v.as_ref().map(|v| (*m, v)))
        .collect();
    let (method, url, url_key) = match (given.as_slice(), &r.method, &r.url) {
        ([(m, url)], None, None) => (
            Method::from_bytes(m.to_ascii_uppercase().as_bytes()).expect("standard method"),
            *url,
            format!("{key}.{m}"),
        ),
        ([], Some(m), Some(url)) => {
            let method = Method::from_bytes(m.value.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| {
                    cx.err(
                        format!("{key}.method"),
                        Some(m.referenced),
                        &format!(
                            "invalid method `{}`: expected a token like `GET` or `PURGE`",
                            m.value
                        ),
                    )
                })?;
            (method, url, format!("{key}.url"))
        }
        ([], None, None) => {
            return Err(cx.err(
                &key,
                Some(spanned.referenced),
                "request has no method and target: expected one of `get`, `post`, `put`, `patch`, `delete`, `head`, `options` (like `get: /health`), or `method` with `url`",
            ));
        }
        ([], Some(_), None) => {
            return Err(cx.err(
                &key,
                Some(spanned.referenced),
                "`method` without `url`: expected `url: /path`",
            ));
        }
        ([], None, Some(_)) => {
            return Err(cx.err(
                &key,
                Some(spanned.referenced),
                "`url` without `method`: expected `method: GET` (or use `get: /path`)",
            ));
        }
        _ => {
            let names: Vec<String> = given
                .iter()
                .map(|(m, _)| format!("`{m}`"))
                .chain(r.method.as_ref().map(|_| "`method`".to_string()))
                .collect();
            return Err(cx.err(
                &key,
                Some(spanned.referenced),
                &format!(
                    "request sets {}: expected exactly one method (split it into several requests)",
                    names.join(" and ")
                ),
            ));
        }
    };
    check_path_or_url(&url.value).map_err(|m| cx.err(&url_key, Some(url.referenced), &m))?;
    let url_text = cx.text(&url_key, url)?;
    let name = match &r.name {
        Some(n) if n.value.trim().is_empty() => {
            return Err(cx.err(
                format!("{key}.name"),
                Some(n.referenced),
                "empty name: expected text like `get customer`",
            ));
        }
        Some(n) => n.value.trim().to_string(),
        None => format!("{method} {}", url.value),
    };
    let weight = r.weight.unwrap_or(1);
    if weight == 0 {
        return Err(cx.err(
            format!("{key}.weight"),
            Some(spanned.referenced),
            "weight 0: expected at least 1 (remove the request to disable it)",
        ));
    }
    let query = cx.pairs(&format!("{key}.query"), &r.query)?;
    let own_headers = headers(cx, &format!("{key}.headers"), &r.headers)?;
    let mut all_headers: Vec<(HeaderName, Text)> = default_headers
        .iter()
        .filter(|(n, _)| !own_headers.iter().any(|(o, _)| o == n))
        .cloned()
        .collect();
    all_headers.extend(own_headers);
    let bodies = [r.json.is_some(), r.body.is_some(), r.form.is_some()];
    if bodies.iter().filter(|b| **b).count() > 1 {
        return Err(cx.err(
            &key,
            Some(spanned.referenced),
            "request sets more than one of `json`, `body` and `form`: expected one body",
        ));
    }
    let has_content_type = all_headers
        .iter()
        .any(|(n, _)| n == http::header::CONTENT_TYPE);
    let content_type = |ct: &str| (http::header::CONTENT_TYPE, Text::Literal(ct.to_string()));
    let body = if let Some(json) = &r.json {
        if !has_content_type {
            all_headers.push(content_type("application/json"));
        }
        Body::Json {
            pieces: json_pieces(cx, &format!("{key}.json"), json, spanned.referenced)?,
            source: json.to_string(),
        }
    } else if let Some(text) = &r.body {
        if !has_content_type {
            all_headers.push(content_type("text/plain; charset=utf-8"));
        }
        Body::Text(cx.text(&format!("{key}.body"), text)?)
    } else if let Some(form) = &r.form {
        if !has_content_type {
            all_headers.push(content_type("application/x-www-form-urlencoded"));
        }
        Body::Form(cx.pairs(&format!("{key}.form"), form)?)
    } else {
        Body::Empty
    };
    let mut check = Check::default();
    if let Some(c) = &r.check {
        check.status = c.status.clone().map(|s| s.0).unwrap_or_default();
        check.body_contains.clone_from(&c.body_contains);
        for (path, value) in c.json.iter() {
            let p = JsonPath::parse(&path.value)
                .map_err(|m| cx.err(format!("{key}.check.json"), Some(path.referenced), &m))?;
            check.json.push((p, value.clone()));
        }
    }
    Ok(Endpoint {
        name,
        weight,
        method,
        url: url_text,
        query,
        headers: all_headers,
        body,
        timeout: r.timeout.map_or(default_timeout, |d| d.0),
        check,
    })
}

/// Compiles a JSON body into literal text and rendered fields (see [`JsonPiece`]).
fn json_pieces(
    cx: &mut Ctx<'_>,
    key: &str,
    value: &serde_json::Value,
    at: Location,
) -> Result<Vec<JsonPiece>, ProfileError> {
    fn walk(
        cx: &mut Ctx<'_>,
        key: &str,
        v: &serde_json::Value,
        at: Location,
        buf: &mut String,
        out: &mut Vec<JsonPiece>,
    ) -> Result<(), ProfileError> {
        match v {
            serde_json::Value::String(s) if is_template(s) => {
                if !buf.is_empty() {
                    out.push(JsonPiece::Raw(std::mem::take(buf)));
                }
                let piece = match sole_expression(s) {
                    Some(expr) => JsonPiece::Native(
                        cx.templates
                            .json_expression(expr)
                            .map_err(|m| cx.err(key, Some(at), &m))?,
                    ),
                    None => match cx.templates.text(s) {
                        Ok(Text::Template { id, .. }) => JsonPiece::Str(id),
                        Ok(Text::Literal(_)) => unreachable!("is_template was true"),
                        Err(m) => {
                            return Err(cx.err(key, Some(at), &m));
                        }
                    },
                };
                out.push(piece);
            }
            serde_json::Value::Object(map) => {
                buf.push('{');
                for (n, (k, child)) in map.iter().enumerate() {
                    if n > 0 {
                        buf.push(',');
                    }
                    buf.push_str(&serde_json::to_string(k).expect("strings serialize"));
                    buf.push(':');
                    walk(cx, &format!("{key}.{k}"), child, at, buf, out)?;
                }
                buf.push('}');
            }
            serde_json::Value::Array(items) => {
                buf.push('[');
                for (n, child) in items.iter().enumerate() {
                    if n > 0 {
                        buf.push(',');
                    }
                    walk(cx, &format!("{key}[{n}]"), child, at, buf, out)?;
                }
                buf.push(']');
            }
            other => buf.push_str(&serde_json::to_string(other).expect("JSON values serialize")),
        }
        Ok(())
    }
    let mut out = Vec::new();
    let mut buf = String::new();
    walk(cx, key, value, at, &mut buf, &mut out)?;
    if !buf.is_empty() {
        out.push(JsonPiece::Raw(buf));
    }
    Ok(out)
}

fn validate_thresholds(
    cx: &Ctx<'_>,
    raw: &Pairs<Spanned<String>, RawThreshold>,
    names: &[&str],
) -> Result<Vec<Threshold>, ProfileError> {
    let mut out = Vec::new();
    for (scope, t) in raw.iter() {
        let key = format!("thresholds.{}", scope.value);
        let scope_value = if scope.value == "all" {
            ThresholdScope::All
        } else if names.contains(&scope.value.as_str()) {
            ThresholdScope::Endpoint(scope.value.clone())
        } else {
            let mut e = cx.err(
                "thresholds",
                Some(scope.referenced),
                &format!(
                    "unknown endpoint `{}`: expected `all` or a request name ({})",
                    scope.value,
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            if let Some(m) = did_you_mean(&scope.value, names.iter().copied()) {
                e = e.hint(format!("did you mean `{m}`?"));
            }
            return Err(e);
        };
        let mut limits = Vec::new();
        for (q, d) in [
            (0.50, t.p50),
            (0.90, t.p90),
            (0.95, t.p95),
            (0.99, t.p99),
            (0.999, t.p999),
            (1.0, t.max),
        ] {
            if let Some(d) = d {
                limits.push(Limit::Latency {
                    quantile: Quantile(q),
                    max: d.0,
                });
            }
        }
        if let Some(p) = t.error_rate {
            limits.push(Limit::ErrorRate { max_ratio: p.0 });
        }
        if let Some(r) = t.min_rate {
            limits.push(Limit::MinRate { per_sec: r.0 });
        }
        if limits.is_empty() {
            return Err(cx.err(
                key,
                Some(scope.referenced),
                "threshold sets no limit: expected one of `p50`, `p90`, `p95`, `p99`, `p999`, `max`, `error_rate`, `min_rate`",
            ));
        }
        out.push(Threshold {
            scope: scope_value,
            limits,
        });
    }
    Ok(out)
}

fn validate_gate(
    cx: &Ctx<'_>,
    raw: &RawGate,
    names: &[&str],
    interval: Duration,
) -> Result<GateConfig, ProfileError> {
    let mut gate = GateConfig::default();
    if let Some(endpoints) = &raw.endpoints {
        for (i, e) in endpoints.iter().enumerate() {
            if !names.contains(&e.value.as_str()) {
                let mut err = cx.err(
                    format!("gate.endpoints[{i}]"),
                    Some(e.referenced),
                    &format!(
                        "unknown endpoint `{}`: expected a request name ({})",
                        e.value,
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                if let Some(m) = did_you_mean(&e.value, names.iter().copied()) {
                    err = err.hint(format!("did you mean `{m}`?"));
                }
                return Err(err);
            }
        }
        gate.endpoints = Some(endpoints.iter().map(|e| e.value.clone()).collect());
    }
    if let Some(metrics) = &raw.metrics {
        gate.metrics = Vec::new();
        for (label, tolerance) in metrics.iter() {
            let q = Quantile::parse(&label.value).ok_or_else(|| {
                cx.err(
                    "gate.metrics",
                    Some(label.referenced),
                    &format!(
                        "unknown metric `{}`: expected a percentile like `p50`, `p95`, `p99` or `p999`",
                        label.value
                    ),
                )
            })?;
            gate.metrics.push((q, tolerance.0));
        }
        if gate.metrics.is_empty() {
            return Err(cx.err(
                "gate.metrics",
                None,
                "no gated metrics: expected at least one, like `{ p95: 10% }`",
            ));
        }
    }
    if let Some(e) = raw.error_rate {
        gate.error_rate = e.0;
    }
    if let Some(a) = &raw.alpha {
        if !(a.value > 0.0 && a.value <= 0.5) {
            return Err(cx.err(
                "gate.alpha",
                Some(a.referenced),
                &format!(
                    "alpha `{}` out of range: expected a probability above 0 and at most 0.5, like `0.01`",
                    a.value
                ),
            ));
        }
        gate.alpha = a.value;
    }
    if let Some(n) = &raw.baseline_runs {
        if !(1..=100).contains(&n.value) {
            return Err(cx.err(
                "gate.baseline_runs",
                Some(n.referenced),
                &format!("`{}` baseline runs: expected 1 to 100", n.value),
            ));
        }
        gate.baseline_runs = n.value;
    }
    if let Some(b) = &raw.block {
        let block = b.value.0;
        if block < interval || !block.as_nanos().is_multiple_of(interval.as_nanos()) {
            return Err(cx.err(
                "gate.block",
                Some(b.referenced),
                &format!(
                    "block `{}` is not a whole number of intervals: expected a multiple of `load.interval` ({})",
                    format_duration(block),
                    format_duration(interval)
                ),
            ));
        }
        gate.block = block;
    }
    Ok(gate)
}

/// `sha256:` over what shapes the load, in a canonical JSON form.
fn profile_hash(http: &HttpOptions, load: &Load, endpoints: &[Endpoint]) -> String {
    let body = |b: &Body| match b {
        Body::Empty => serde_json::Value::Null,
        Body::Text(t) => serde_json::json!({ "text": t.source() }),
        Body::Json { source, .. } => serde_json::json!({ "json": source }),
        Body::Form(f) => {
            serde_json::json!({ "form": f.iter().map(|(k, v)| [k.as_str(), v.source()]).collect::<Vec<_>>() })
        }
    };
    let basis = serde_json::json!({
        "http": format!("{:?}", http.version),
        "load": {
            "model": format!("{:?}", load.model),
            "warmup_ms": load.warmup.as_millis() as u64,
            "interval_ms": load.interval.as_millis() as u64,
            "segments": load.segments.iter().map(|s| [s.start.as_secs_f64(), s.duration.as_secs_f64(), s.from, s.to]).collect::<Vec<_>>(),
            "max_in_flight": load.max_in_flight,
            "think_time_ms": [load.think_time.min.as_millis() as u64, load.think_time.max.as_millis() as u64],
            "spawn_rate": load.spawn_rate,
        },
        "endpoints": endpoints.iter().map(|e| serde_json::json!({
            "name": e.name,
            "weight": e.weight,
            "method": e.method.as_str(),
            "url": e.url.source(),
            "query": e.query.iter().map(|(k, v)| [k.as_str(), v.source()]).collect::<Vec<_>>(),
            "headers": e.headers.iter().map(|(k, v)| [k.as_str(), v.source()]).collect::<Vec<_>>(),
            "body": body(&e.body),
            "timeout_ms": e.timeout.as_millis() as u64,
            "check": {
                "status": e.check.status.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "body_contains": e.check.body_contains,
                "json": e.check.json.iter().map(|(p, v)| serde_json::json!([p.as_str(), v])).collect::<Vec<_>>(),
            },
        })).collect::<Vec<_>>(),
    });
    let digest = Sha256::digest(basis.to_string().as_bytes());
    let hex = digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    format!("sha256:{hex}")
}
