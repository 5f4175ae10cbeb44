//! Status expectations (`status`): one code, a class, or a list of them.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, de};

/// Status expectations: one code (`200`), a class (`2xx`), or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStatus(pub Vec<StatusPattern>);

/// One accepted status: an exact code or a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    /// Exactly this code.
    Exact(u16),
    /// Any code of this hundred (`2` for `2xx`).
    Class(u16),
}

impl StatusPattern {
    /// True when `status` is accepted.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(c) => c == status,
            StatusPattern::Class(h) => status / 100 == h,
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if let Some(h) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
            if let Ok(h @ 1..=5) = h.parse::<u16>() {
                return Ok(StatusPattern::Class(h));
            }
        } else if let Ok(c @ 100..=599) = t.parse::<u16>() {
            return Ok(StatusPattern::Exact(c));
        }
        Err(format!("invalid status `{text}`: {STATUS_HINT}"))
    }

    fn code(c: u64) -> Result<Self, String> {
        match u16::try_from(c) {
            Ok(c @ 100..=599) => Ok(StatusPattern::Exact(c)),
            _ => Err(format!("invalid status `{c}`: {STATUS_HINT}")),
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Exact(c) => write!(f, "{c}"),
            StatusPattern::Class(h) => write!(f, "{h}xx"),
        }
    }
}

const STATUS_HINT: &str =
    "expected a code from 100 to 599 (`200`), a class (`2xx`), or a list of them";

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RawStatus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(STATUS_HINT)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawStatus, E> {
                StatusPattern::code(v)
                    .map(|p| RawStatus(vec![p]))
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawStatus, E> {
                Err(E::custom(format!("invalid status `{v}`: {STATUS_HINT}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawStatus, E> {
                StatusPattern::parse(v)
                    .map(|p| RawStatus(vec![p]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawStatus, A::Error> {
                let mut all = Vec::new();
                while let Some(RawStatus(one)) = seq.next_element::<RawStatus>()? {
                    all.extend(one);
                }
                if all.is_empty() {
                    return Err(de::Error::custom(format!(
                        "empty status list: {STATUS_HINT}"
                    )));
                }
                Ok(RawStatus(all))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A status code (`200`), a class (`2xx`), or a list of them",
            "anyOf": [
                { "type": "integer", "minimum": 100, "maximum": 599 },
                { "type": "string", "pattern": "^([1-5][0-9][0-9]|[1-5]xx)$" },
                { "type": "array", "minItems": 1, "items": {
                    "anyOf": [
                        { "type": "integer", "minimum": 100, "maximum": 599 },
                        { "type": "string", "pattern": "^([1-5][0-9][0-9]|[1-5]xx)$" }
                    ]
                } }
            ]
        })
    }
}
