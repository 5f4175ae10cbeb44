//! Human units in profiles: durations (`500ms`, `30s`, `2m`, `1h30m`), rates (`50/s`,
//! `3000/min`) and percentages (`1%`, `0.1%`).
//!
//! Each is a newtype that parses while deserializing, so a bad value is reported with the
//! file position and key path of the value itself. In code the values become `Duration`,
//! requests per second (`f64`) and ratios in 0–1.

pub use crate::format::{format_duration, format_rate};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

/// A duration written like `500ms`, `30s`, `2m`, `1h30m` or `1.5s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

/// A rate written like `50/s` or `3000/min`, held as requests per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

/// A percentage written like `1%` or `0.1%`, held as a ratio (a tolerance may exceed 100%).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

/// A share of requests (an error rate) written like `1%`: a percentage of at most `100%`,
/// held as a ratio in 0–1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Share(pub f64);

const DURATION_HINT: &str =
    "expected a number with a unit: `ms`, `s`, `m` or `h` (like `500ms`, `30s`, `2m`, `1h30m`)";
const RATE_HINT: &str = "expected `<n>/s` or `<n>/min` (like `50/s` or `3000/min`)";
const PERCENT_HINT: &str = "expected a percentage like `1%` or `0.1%`";

/// Parses a duration; the error message says what was expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let fail = || format!("invalid duration `{text}`: {DURATION_HINT}");
    if s.is_empty() {
        return Err(fail());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(fail)?;
        if num_len == 0 {
            return Err(fail());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| fail())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "us" | "µs" => 0.000_001,
            _ => return Err(fail()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 365.0 * 86_400.0 {
        return Err(format!("invalid duration `{text}`: longer than a year"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses a rate into requests per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let fail = || format!("invalid rate `{text}`: {RATE_HINT}");
    let (number, unit) = s.split_once('/').ok_or_else(fail)?;
    let n: f64 = number.trim().parse().map_err(|_| fail())?;
    let per_sec = match unit.trim() {
        "s" | "sec" => n,
        "min" => n / 60.0,
        "h" => n / 3600.0,
        _ => return Err(fail()),
    };
    if !per_sec.is_finite() || per_sec < 0.0 {
        return Err(fail());
    }
    Ok(per_sec)
}

/// Parses a percentage into a ratio.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let fail = || format!("invalid percentage `{text}`: {PERCENT_HINT}");
    let number = s.strip_suffix('%').ok_or_else(fail)?;
    let n: f64 = number.trim().parse().map_err(|_| fail())?;
    if !(0.0..=10_000.0).contains(&n) {
        return Err(fail());
    }
    Ok(n / 100.0)
}

/// Parses a share of requests (at most `100%`) into a ratio in 0–1.
pub fn parse_share(text: &str) -> Result<f64, String> {
    let ratio = parse_percent(text)?;
    if ratio > 1.0 {
        return Err(format!(
            "`{}` is more than all requests: expected a share from `0%` to `100%`, like `1%`",
            text.trim()
        ));
    }
    Ok(ratio)
}

/// Accepts strings, and for convenience plain YAML numbers where the unit is implied (none are:
/// a bare number is an error that shows the expected form).
struct UnitVisitor<F> {
    expecting: &'static str,
    parse: F,
}

impl<T, F: Fn(&str) -> Result<T, String>> de::Visitor<'_> for UnitVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        if v == 0 {
            return (self.parse)("0").map_err(E::custom);
        }
        Err(E::custom(format!("`{v}` has no unit: {}", self.expecting)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Err(E::custom(format!("`{v}` has no unit: {}", self.expecting)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::custom(format!("`{v}` has no unit: {}", self.expecting)))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: DURATION_HINT,
            parse: |s: &str| parse_duration(s).map(HumanDuration),
        })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: RATE_HINT,
            parse: |s: &str| parse_rate(s).map(Rate),
        })
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: PERCENT_HINT,
            parse: |s: &str| parse_percent(s).map(Percent),
        })
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: PERCENT_HINT,
            parse: |s: &str| parse_share(s).map(Share),
        })
    }
}

macro_rules! string_schema {
    ($ty:ty, $name:literal, $pattern:literal, $description:literal) => {
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $description
                })
            }
        }
    };
}

string_schema!(
    HumanDuration,
    "Duration",
    r"^(0|([0-9]+(\.[0-9]+)?(ms|us|µs|s|m|min|h))+)$",
    "A duration like `500ms`, `30s`, `2m` or `1h30m`"
);
string_schema!(
    Rate,
    "Rate",
    r"^[0-9]+(\.[0-9]+)?/(s|sec|min|h)$",
    "A rate like `50/s` or `3000/min`"
);
string_schema!(
    Percent,
    "Percent",
    r"^[0-9]+(\.[0-9]+)?%$",
    "A percentage like `1%` or `0.1%`"
);

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are expected here
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("500ms", 500),
            ("30s", 30_000),
            ("2m", 120_000),
            ("1h30m", 5_400_000),
            ("1.5s", 1500),
            ("0", 0),
            ("1m30s", 90_000),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for bad in ["", "30", "s", "30x", "-1s", "1.2.3s", "ms30", "9999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("50/s").unwrap(), 50.0);
        assert_eq!(parse_rate("3000/min").unwrap(), 50.0);
        assert_eq!(parse_rate(" 2.5/s ").unwrap(), 2.5);
        let err = parse_rate("10/m").unwrap_err();
        assert_eq!(
            err,
            "invalid rate `10/m`: expected `<n>/s` or `<n>/min` (like `50/s` or `3000/min`)"
        );
        for bad in ["50", "/s", "x/s", "-5/s", "5/d"] {
            assert!(parse_rate(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn percents() {
        assert!((parse_percent("0.1%").unwrap() - 0.001).abs() < 1e-12);
        assert_eq!(parse_percent("15%").unwrap(), 0.15);
        for bad in ["15", "%", "-1%", "x%"] {
            assert!(parse_percent(bad).is_err(), "{bad} should fail");
        }
        assert_eq!(parse_percent("150%").unwrap(), 1.5);
        assert_eq!(parse_share("100%").unwrap(), 1.0);
        assert_eq!(parse_share("0%").unwrap(), 0.0);
        for bad in ["150%", "100.01%", "15", "-1%"] {
            assert!(parse_share(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for text in ["250ms", "30s", "2m", "1m30s", "1h", "1h30m"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(format_rate(50.0), "50/s");
        assert_eq!(format_rate(2.0 / 3.0), "0.67/s");
    }
}
