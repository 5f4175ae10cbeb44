//! Requests, scenario steps and setup steps: method and target, headers, bodies, checks and
//! extractions, every template checked against the names in scope at that point.
//!
//! Response checks, extractions and JSON bodies each have their own submodule.

mod body;
mod check;
mod extract;

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde_saphyr::{Location, Spanned};

use super::error::ProfileError;
use super::model::{Body, Check, Endpoint};
use super::raw::{Pairs, RawRequest};
use super::template::Text;
use super::url::{check_path_or_url, check_protocol};
use super::validate::{Ctx, check_timeout, parse_think_time};
use body::json_pieces;
use check::validate_check;
use extract::validate_extract;

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
        Some(n) if super::template::is_template(&n.value) => {
            return Err(cx.err(
                format!("{key}.name"),
                Some(n.referenced),
                &format!(
                    "the name `{}` is a template, but a name is fixed text: it keys the endpoint's results and its baseline, so one request has one name; to see results per value, write one named request per value",
                    crate::untrusted::quote(n.value.trim())
                ),
            ));
        }
        Some(n) => n.value.trim().to_string(),
        None => format!("{method} {}", placeholder_name(&url.value)),
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

/// A templated path as an endpoint's default name: every `{{ expression }}` becomes a
/// placeholder named after what it reads (`/items/{{ vars.id }}` → `/items/{id}`,
/// `/c/{{ random_int(1, 9) }}` → `/c/{random_int}`), `{…}` when it has no plain name; tags and
/// comments are dropped. Names stay fixed text however the path renders.
pub(crate) fn placeholder_name(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('{') {
        let (open, close) = match rest[at..].get(..2) {
            Some("{{") => ("{{", "}}"),
            Some("{%") => ("{%", "%}"),
            Some("{#") => ("{#", "#}"),
            _ => {
                out.push_str(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            }
        };
        out.push_str(&rest[..at]);
        let inner = &rest[at + open.len()..];
        let Some(end) = inner.find(close) else {
            out.push_str("{…}");
            return out;
        };
        if open == "{{" {
            let expression = inner[..end].trim_matches(|c: char| c == '-' || c.is_whitespace());
            let head_len = expression
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(expression.len());
            let (head, tail) = expression.split_at(head_len);
            let last = head.rsplit('.').next().unwrap_or_default();
            let tail = tail.trim_start();
            let plain = !last.is_empty()
                && !last.starts_with(|c: char| c.is_ascii_digit())
                && (tail.is_empty() || tail.starts_with(['(', '|']));
            out.push('{');
            out.push_str(if plain { last } else { "…" });
            out.push('}');
        }
        rest = &inner[end + close.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::placeholder_name;

    #[test]
    fn a_templated_path_is_named_by_placeholders() {
        for (path, name) in [
            ("/items", "/items"),
            ("/items/{{ vars.id }}", "/items/{id}"),
            (
                "/customerdata/{{ random_int(1, 4500) }}",
                "/customerdata/{random_int}",
            ),
            (
                "/t/{{ data.users.tenant }}/o/{{- vars.order -}}",
                "/t/{tenant}/o/{order}",
            ),
            ("/q/{{ vars.a ~ vars.b }}", "/q/{…}"),
            ("/s/{{ \"x\" }}", "/s/{…}"),
            ("/{% if vars.x %}a{% endif %}/b{# note #}", "/a/b"),
            ("/json/{id}", "/json/{id}"),
            ("/broken/{{ vars.id", "/broken/{…}"),
        ] {
            assert_eq!(placeholder_name(path), name, "{path}");
        }
    }
}
