//! Requests, scenario steps and setup steps: method and target, headers, bodies, checks and
//! extractions, every template checked against the names in scope at that point.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde_saphyr::{Location, Spanned};

use super::error::{ProfileError, did_you_mean};
use super::json_path::JsonPath;
use super::model::{
    Body, Check, Comparison, Endpoint, ExtractSource, Extraction, HeaderExpect, JsonExpect,
    JsonPiece,
};
use super::raw::{Pairs, RawCheck, RawExtract, RawHeaderCheck, RawRequest};
use super::template::{Text, is_template, sole_expression};
use super::url::{check_path_or_url, check_protocol};
use super::validate::{Ctx, check_timeout, parse_think_time};

/// Compiles header templates at `key`.
pub(super) fn headers(
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

/// Renders each templated header once with the environment and the first row of each data
/// feed (what the first request will send), so a value no request could carry (a line break
/// from an environment variable, a control character in a data file) is a load-time error
/// naming the header and the request, not a failure of every request. The value itself is
/// not shown: it may be a secret.
fn check_rendered_headers(
    cx: &Ctx<'_>,
    key: &str,
    request: &str,
    r: &RawRequest,
    headers: &[(HeaderName, Text)],
    at: Location,
) -> Result<(), ProfileError> {
    for (name, text) in headers.iter().filter(|(_, t)| !t.is_literal()) {
        let Some(value) = cx.templates.sample(text, &cx.scope) else {
            continue;
        };
        if HeaderValue::from_str(&value).is_ok() {
            continue;
        }
        let own = r
            .headers
            .iter()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name.as_str()));
        let (header_key, at) = match own {
            Some((n, v)) => (format!("{key}.headers.{n}"), v.referenced),
            None => (format!("defaults.headers.{name}"), at),
        };
        return Err(cx.err(
            header_key,
            Some(at),
            &format!(
                "header `{name}` of request `{request}` renders to an invalid value with the environment and the first row of each data feed: expected visible ASCII text without line breaks or control characters (check the environment variable or data column it reads)"
            ),
        ));
    }
    Ok(())
}

/// What every request inherits.
pub(super) struct Defaults {
    pub headers: Vec<(HeaderName, Text)>,
    pub timeout: Duration,
}

/// Validates one request (a plain request, a scenario step or a setup step) at `key`, its
/// templates checked against the context's current scope.
pub(super) fn validate_request(
    cx: &mut Ctx<'_>,
    key: &str,
    spanned: &Spanned<RawRequest>,
    defaults: &Defaults,
) -> Result<Endpoint, ProfileError> {
    let r = &spanned.value;
    let key = key.to_string();
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
    check_path_or_url(&url.value)
        .and_then(|()| check_protocol(cx.http_version, &url.value))
        .map_err(|m| cx.err(&url_key, Some(url.referenced), &m))?;
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
    let mut all_headers: Vec<(HeaderName, Text)> = defaults
        .headers
        .iter()
        .filter(|(n, _)| !own_headers.iter().any(|(o, _)| o == n))
        .cloned()
        .collect();
    all_headers.extend(own_headers);
    check_rendered_headers(cx, &key, &name, r, &all_headers, spanned.referenced)?;
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
        let (pieces, contextual) =
            json_pieces(cx, &format!("{key}.json"), json, spanned.referenced)?;
        Body::Json {
            pieces,
            source: json.to_string(),
            contextual,
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
    let timeout = r.timeout.as_ref().map_or(defaults.timeout, |d| d.value.0);
    check_timeout(timeout).map_err(|m| {
        let at = r
            .timeout
            .as_ref()
            .map_or(spanned.referenced, |t| t.referenced);
        cx.err(format!("{key}.timeout"), Some(at), &m)
    })?;
    let check = match &r.check {
        Some(c) => validate_check(cx, &format!("{key}.check"), c, spanned.referenced)?,
        None => Check::default(),
    };
    let extract = validate_extract(cx, &format!("{key}.extract"), &r.extract)?;
    let think_time = r
        .think_time
        .as_ref()
        .map(|t| {
            parse_think_time(&t.value)
                .map_err(|m| cx.err(format!("{key}.think_time"), Some(t.referenced), &m))
        })
        .transpose()?;
    Ok(Endpoint {
        name,
        weight,
        method,
        url: url_text,
        query,
        headers: all_headers,
        body,
        timeout,
        check,
        extract,
        think_time,
    })
}

fn validate_check(
    cx: &Ctx<'_>,
    key: &str,
    c: &RawCheck,
    at: Location,
) -> Result<Check, ProfileError> {
    let mut check = Check {
        status: c.status.clone().map(|s| s.0).unwrap_or_default(),
        body_contains: c.body_contains.clone(),
        max_latency: c.max_latency.map(|d| d.0),
        ..Check::default()
    };
    if check.max_latency.is_some_and(|d| d.is_zero()) {
        return Err(cx.err(
            format!("{key}.max_latency"),
            Some(at),
            "`max_latency: 0s` fails every response: expected a limit above zero, like `300ms`",
        ));
    }
    for (path, value) in c.json.iter() {
        let p = JsonPath::parse(&path.value)
            .map_err(|m| cx.err(format!("{key}.json"), Some(path.referenced), &m))?;
        let expect = json_expect(value).map_err(|(m, hint)| {
            let e = cx.err(
                format!("{key}.json.{}", path.value),
                Some(path.referenced),
                &m,
            );
            match hint {
                Some(h) => e.hint(h),
                None => e,
            }
        })?;
        check.json.push((p, expect));
    }
    for (name, expect) in c.headers.iter() {
        let header = HeaderName::from_bytes(name.value.trim().to_ascii_lowercase().as_bytes())
            .map_err(|_| {
                cx.err(
                    format!("{key}.headers"),
                    Some(name.referenced),
                    &format!(
                        "invalid header name `{}`: expected letters, digits and `-`",
                        name.value
                    ),
                )
            })?;
        check.headers.push((
            header,
            match expect {
                RawHeaderCheck::Present(true) => HeaderExpect::Present,
                RawHeaderCheck::Present(false) => HeaderExpect::Absent,
                RawHeaderCheck::Contains(t) => HeaderExpect::Contains(t.clone()),
            },
        ));
    }
    Ok(check)
}

const OPERATORS: [&str; 9] = [
    "eq", "ne", "lt", "lte", "gt", "gte", "contains", "matches", "exists",
];

/// Other tools' names for the operators, and symbols.
const ALIASES: [(&str, &str); 20] = [
    ("==", "eq"),
    ("=", "eq"),
    ("equal", "eq"),
    ("equals", "eq"),
    ("!=", "ne"),
    ("<>", "ne"),
    ("not", "ne"),
    ("not_eq", "ne"),
    ("<", "lt"),
    ("<=", "lte"),
    (">", "gt"),
    (">=", "gte"),
    ("less_than", "lt"),
    ("greater_than", "gt"),
    ("regex", "matches"),
    ("match", "matches"),
    ("exist", "exists"),
    ("present", "exists"),
    ("has", "contains"),
    ("includes", "contains"),
];

fn operator_list() -> String {
    OPERATORS
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The operator a key that is not one most likely meant, when it is close enough to be a slip
/// rather than a field name: another case or spacing, a known alias, one edit from a
/// three-letter operator (two from a longer one), or a two-letter operator with one letter
/// more (`eql`, `neq`).
fn meant_operator(key: &str) -> Option<&'static str> {
    let k = key.trim().to_lowercase();
    if let Some(op) = OPERATORS.iter().find(|op| **op == k) {
        return Some(op);
    }
    if let Some((_, op)) = ALIASES.iter().find(|(alias, _)| *alias == k) {
        return Some(op);
    }
    if k.chars().count() < 3 {
        return None;
    }
    OPERATORS
        .iter()
        .map(|op| (strsim::osa_distance(&k, op), *op))
        .filter(|&(d, op)| match op.len() {
            2 => k.len() == 3 && k.starts_with(op),
            3..=5 => d <= 1,
            _ => d <= 2,
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, op)| op)
}

/// An object with a comparison operator among its keys is a comparison, and then every key
/// must be one (a typo like `exsits` must not turn the whole check into an equality nobody
/// meant); so is an object whose every key looks like a misspelt operator
/// ([`meant_operator`]). Any other value must be equal. (To expect such an object literally,
/// write `{ eq: { … } }`.) The error carries a suggestion when there is one.
fn json_expect(value: &serde_json::Value) -> Result<JsonExpect, (String, Option<String>)> {
    let serde_json::Value::Object(map) = value else {
        return Ok(JsonExpect::Equals(value.clone()));
    };
    if !map.keys().any(|k| OPERATORS.contains(&k.as_str())) {
        // No operator at all: an equality, unless every key looks like a misspelt operator
        // (`{ exsits: true }`, `{ Eq: 1 }`, `{ ">=": 3 }`), which nobody means literally.
        let guesses: Option<Vec<(&String, &str)>> = map
            .keys()
            .map(|k| meant_operator(k).map(|op| (k, op)))
            .collect();
        if let Some(&(unknown, op)) = guesses.as_ref().and_then(|g| g.first()) {
            return Err((
                format!(
                    "unknown comparison `{unknown}`: expected one of {} (to expect an object literally, write `{{ eq: {{ … }} }}`)",
                    operator_list()
                ),
                Some(format!("did you mean `{op}`?")),
            ));
        }
        return Ok(JsonExpect::Equals(value.clone()));
    }
    if let Some(unknown) = map.keys().find(|k| !OPERATORS.contains(&k.as_str())) {
        let hint = did_you_mean(unknown, OPERATORS).map(|m| format!("did you mean `{m}`?"));
        return Err((
            format!(
                "unknown comparison `{unknown}` among comparisons: expected only {} (to expect an object literally, write `{{ eq: {{ … }} }}`)",
                operator_list()
            ),
            hint,
        ));
    }
    let number = |op: &str, v: &serde_json::Value| {
        v.as_f64()
            .ok_or_else(|| format!("`{op}: {v}` is not a number: expected like `{op}: 10`"))
    };
    map.iter()
        .map(|(op, v)| {
            Ok(match op.as_str() {
                "eq" => Comparison::Eq(v.clone()),
                "ne" => Comparison::Ne(v.clone()),
                "lt" => Comparison::Lt(number(op, v)?),
                "lte" => Comparison::Lte(number(op, v)?),
                "gt" => Comparison::Gt(number(op, v)?),
                "gte" => Comparison::Gte(number(op, v)?),
                "contains" => Comparison::Contains(v.clone()),
                "matches" => {
                    let pattern = v.as_str().ok_or_else(|| {
                        format!("`matches: {v}` is not text: expected a regular expression")
                    })?;
                    Comparison::Matches(compile_regex(pattern)?)
                }
                _ => Comparison::Exists(v.as_bool().ok_or_else(|| {
                    format!("`exists: {v}` is not a boolean: expected `exists: true` or `false`")
                })?),
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(JsonExpect::Compare)
        .map_err(|m| (m, None))
}

/// Compiles a regular expression; the error is one line (the regex crate's spans several).
fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| {
        let text = e.to_string();
        let why = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .unwrap_or(text.lines().next().unwrap_or("invalid"))
            .to_string();
        format!(
            "invalid regular expression `{pattern}` ({why}): expected a pattern like `id=([0-9]+)`"
        )
    })
}

fn validate_extract(
    cx: &Ctx<'_>,
    key: &str,
    raw: &Pairs<Spanned<String>, Spanned<RawExtract>>,
) -> Result<Vec<Extraction>, ProfileError> {
    let mut out = Vec::new();
    for (name, spec) in raw.iter() {
        let at = Some(spec.referenced);
        let k = format!("{key}.{}", name.value);
        let ident = !name.value.is_empty()
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.value.starts_with(|c: char| c.is_ascii_digit());
        if !ident {
            return Err(cx.err(
                &k,
                Some(name.referenced),
                &format!("invalid variable name `{}`: expected letters, digits and `_` (it is used as `{{{{ vars.NAME }}}}`)", name.value),
            ));
        }
        let s = &spec.value;
        let source = match (&s.json, &s.header, &s.regex) {
            (Some(path), None, None) => {
                ExtractSource::Json(JsonPath::parse(path).map_err(|m| cx.err(&k, at, &m))?)
            }
            (None, Some(header), None) => ExtractSource::Header(
                HeaderName::from_bytes(header.trim().to_ascii_lowercase().as_bytes()).map_err(
                    |_| {
                        cx.err(
                            &k,
                            at,
                            &format!(
                                "invalid header name `{header}`: expected letters, digits and `-`"
                            ),
                        )
                    },
                )?,
            ),
            (None, None, Some(pattern)) => {
                ExtractSource::Regex(compile_regex(pattern).map_err(|m| cx.err(&k, at, &m))?)
            }
            _ => {
                return Err(cx.err(
                    &k,
                    at,
                    "extraction needs exactly one source: expected one of `json: /path`, `header: name` or `regex: '…'`",
                ));
            }
        };
        out.push(Extraction {
            name: name.value.clone(),
            source,
        });
    }
    Ok(out)
}

/// Compiles a JSON body into literal text and rendered fields (see [`JsonPiece`]).
pub(super) fn json_pieces(
    cx: &mut Ctx<'_>,
    key: &str,
    value: &serde_json::Value,
    at: Location,
) -> Result<(Vec<JsonPiece>, bool), ProfileError> {
    #[allow(clippy::too_many_arguments)]
    fn walk(
        cx: &mut Ctx<'_>,
        key: &str,
        v: &serde_json::Value,
        at: Location,
        buf: &mut String,
        out: &mut Vec<JsonPiece>,
        contextual: &mut bool,
    ) -> Result<(), ProfileError> {
        match v {
            serde_json::Value::String(s) if is_template(s) => {
                if !buf.is_empty() {
                    out.push(JsonPiece::Raw(std::mem::take(buf)));
                }
                let piece = match sole_expression(s) {
                    Some(expr) => {
                        let (id, reads_context) = cx
                            .templates
                            .json_expression(expr, &cx.scope)
                            .map_err(|m| cx.err(key, Some(at), &m))?;
                        *contextual |= reads_context;
                        JsonPiece::Native(id)
                    }
                    None => match cx.templates.text(s, &cx.scope) {
                        Ok(Text::Template {
                            id, contextual: c, ..
                        }) => {
                            *contextual |= c;
                            JsonPiece::Str(id)
                        }
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
                    walk(cx, &format!("{key}.{k}"), child, at, buf, out, contextual)?;
                }
                buf.push('}');
            }
            serde_json::Value::Array(items) => {
                buf.push('[');
                for (n, child) in items.iter().enumerate() {
                    if n > 0 {
                        buf.push(',');
                    }
                    walk(cx, &format!("{key}[{n}]"), child, at, buf, out, contextual)?;
                }
                buf.push(']');
            }
            other => buf.push_str(&serde_json::to_string(other).expect("JSON values serialize")),
        }
        Ok(())
    }
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut contextual = false;
    walk(cx, key, value, at, &mut buf, &mut out, &mut contextual)?;
    if !buf.is_empty() {
        out.push(JsonPiece::Raw(buf));
    }
    Ok((out, contextual))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_of_an_operator_are_told_from_field_names() {
        let cases = [
            ("exsits", Some("exists")),
            ("exist", Some("exists")),
            ("Exists", Some("exists")),
            (" eq ", Some("eq")),
            (">=", Some("gte")),
            ("equals", Some("eq")),
            ("mathces", Some("matches")),
            ("contians", Some("contains")),
            ("gtee", Some("gte")),
            ("eql", Some("eq")),
            ("neq", Some("ne")),
            // Field names an object expected literally may well have.
            ("id", None),
            ("name", None),
            ("count", None),
            ("next", None),
            ("content", None),
            ("nested", None),
            ("total", None),
            ("e", None),
            ("lat", None),
        ];
        for (key, want) in cases {
            assert_eq!(meant_operator(key), want, "{key}");
        }
    }

    #[test]
    fn an_object_of_misspelt_operators_is_an_error_and_others_are_literal() {
        let typo = serde_json::json!({ "exsits": true });
        let (message, hint) = json_expect(&typo).unwrap_err();
        assert!(message.contains("unknown comparison `exsits`"), "{message}");
        assert_eq!(hint.as_deref(), Some("did you mean `exists`?"));
        let literal = serde_json::json!({ "id": 7, "name": "seven" });
        assert!(matches!(json_expect(&literal), Ok(JsonExpect::Equals(_))));
    }
}
