//! Data files (`data`): a path, or a path with how its rows are handed out.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, de};

/// A data file: its path (relative to the profile) or `{ file, mode }`.
#[derive(Debug, JsonSchema)]
#[serde(untagged)]
pub enum RawFeed {
    /// Just the path; rows are handed out sequentially.
    Path(String),
    /// A path and how rows are handed out.
    Spec(RawFeedSpec),
}

/// A data file with its hand-out mode.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeedSpec {
    /// CSV with a header line (`.csv`) or JSON lines (`.jsonl`, one object per line), relative
    /// to the profile.
    pub file: String,
    /// `sequential` (default: in order, wrapping around), `random`, or `unique` (each row at
    /// most once; the profile is refused when the plan needs more rows than the file has).
    pub mode: Option<RawFeedMode>,
}

/// How rows are handed out: one row per arrival (open model) or per user (closed model).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawFeedMode {
    /// In file order, wrapping around.
    Sequential,
    /// Any row, at random.
    Random,
    /// Each row once.
    Unique,
}

impl<'de> Deserialize<'de> for RawFeed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RawFeed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file path, or `{ file: users.csv, mode: unique }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawFeed, E> {
                Ok(RawFeed::Path(v.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawFeed, A::Error> {
                RawFeedSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawFeed::Spec)
            }
        }
        d.deserialize_any(V)
    }
}
