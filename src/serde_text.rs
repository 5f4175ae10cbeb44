//! serde's error messages in plain words, for profiles (YAML) and results and baseline files
//! (JSON).

/// A file format's word for a mapping: JSON's `object`, YAML's `mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Results and baseline files.
    Json,
    /// Profiles.
    Yaml,
}

/// Rewrites serde's type errors (`invalid type: sequence, expected struct Probe`, `invalid
/// value: integer `-1`, expected u64`, a custom `expected …` after serde's own `expected`) in
/// plain words: the problem, and what was expected. `None` for other messages.
pub(crate) fn plain_serde(message: &str, format: Format) -> Option<(String, String)> {
    let (kind, rest) = [
        ("invalid type: ", "wrong type"),
        ("invalid value: ", "invalid value"),
        ("invalid length ", "wrong number of items"),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| message.strip_prefix(prefix).map(|rest| (kind, rest)))?;
    let (found, expected) = rest.split_once(", expected ")?;
    let found = match found {
        "sequence" => "a list".to_string(),
        "map" => format.mapping().to_string(),
        "unit value" | "null" => "nothing (null)".to_string(),
        other => other
            .strip_prefix("string ")
            .map(|s| format!("text {s}"))
            .or_else(|| {
                other
                    .strip_prefix("integer ")
                    .map(|n| format!("the number {n}"))
            })
            .or_else(|| {
                other
                    .strip_prefix("floating point ")
                    .map(|n| format!("the number {n}"))
            })
            .unwrap_or_else(|| other.to_string()),
    };
    Some((
        format!("{kind}: found {found}"),
        format!("expected {}", plain_expected(expected, format)),
    ))
}

impl Format {
    fn mapping(self) -> &'static str {
        match self {
            Format::Json => "an object",
            Format::Yaml => "a mapping (keys and values)",
        }
    }
}

/// What serde says it expected, in plain words (`u64` → `a whole number`).
fn plain_expected(expected: &str, format: Format) -> String {
    let e = expected.trim();
    // A custom `expecting` text may say `expected …` itself.
    if let Some(own) = e.strip_prefix("expected ") {
        return own.to_string();
    }
    if e.starts_with("struct ") || e == "a map" || e == "map" {
        return format.mapping().to_string();
    }
    match e {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more".to_string(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a string" | "a borrowed string" => "text".to_string(),
        "a boolean" => "`true` or `false`".to_string(),
        "a sequence" => "a list".to_string(),
        other if other.starts_with("enum ") => "one of the names this field takes".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_type_errors_in_plain_words() {
        let cases = [
            (
                "invalid type: sequence, expected struct Probe",
                Format::Json,
                ("wrong type: found a list", "expected an object"),
            ),
            (
                "invalid type: string \"1\", expected u64",
                Format::Json,
                (
                    "wrong type: found text \"1\"",
                    "expected a whole number, 0 or more",
                ),
            ),
            (
                "invalid value: integer `-3`, expected u64",
                Format::Yaml,
                (
                    "invalid value: found the number `-3`",
                    "expected a whole number, 0 or more",
                ),
            ),
            (
                "invalid type: map, expected expected a number with a unit",
                Format::Yaml,
                (
                    "wrong type: found a mapping (keys and values)",
                    "expected a number with a unit",
                ),
            ),
            (
                "invalid length 0, expected struct Probe with 1 element",
                Format::Json,
                ("wrong number of items: found 0", "expected an object"),
            ),
        ];
        for (message, format, (problem, expected)) in cases {
            let (p, e) = plain_serde(message, format).unwrap();
            assert_eq!((p.as_str(), e.as_str()), (problem, expected), "{message}");
            assert!(!p.contains("struct") && !e.contains("expected expected"));
        }
        assert_eq!(plain_serde("EOF while parsing a value", Format::Json), None);
    }
}
