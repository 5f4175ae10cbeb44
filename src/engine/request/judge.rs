//! Judging a response against an endpoint's checks, and extracting its values.

use super::PreparedEndpoint;
use crate::metrics::ErrorClass;
use crate::profile::{
    Check, Comparison, ExtractSource, Extraction, HeaderExpect, JsonExpect, JsonPath, JsonValues,
};

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
}
