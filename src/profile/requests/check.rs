//! Response checks (`check`): status, body text, JSON fields with their comparison operators,
//! headers and latency.

use http::HeaderName;
use serde_saphyr::Location;

use crate::profile::error::{ProfileError, did_you_mean};
use crate::profile::json_path::JsonPath;
use crate::profile::model::{Check, Comparison, HeaderExpect, JsonExpect};
use crate::profile::raw::{RawCheck, RawHeaderCheck};
use crate::profile::validate::Ctx;

pub(super) fn validate_check(
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
pub(super) fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
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
