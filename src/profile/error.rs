//! Profile errors: what is wrong, where (file, line, column, key path) and what was expected.

use std::fmt;

/// A profile could not be loaded. Displays as
/// ``invalid rate `10/m` at `load.stages[0].rate` (profile.yaml:7:12): expected `<n>/s` or `<n>/min` ``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The profile file as given.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// Key path of the problem (`load.stages[0].rate`); empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What was expected instead.
    pub expected: Option<String>,
    /// A suggestion (`did you mean ...`).
    pub hint: Option<String>,
}

impl ProfileError {
    /// An error without position.
    pub fn new(file: &str, key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            line: None,
            column: None,
            key: key.into(),
            problem: problem.into(),
            expected: None,
            hint: None,
        }
    }

    /// Adds a position.
    #[must_use]
    pub fn at(mut self, line: u64, column: u64) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Adds a position from a serde-saphyr location.
    #[must_use]
    pub fn located(self, location: serde_saphyr::Location) -> Self {
        if location.line() == 0 {
            return self;
        }
        self.at(location.line(), location.column())
    }

    /// Adds what was expected.
    #[must_use]
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Adds a hint.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Splits a message of the form `problem: expected …` into its parts.
    #[must_use]
    pub fn with_message(mut self, message: &str) -> Self {
        let (problem, expected) = split_expected(message);
        self.problem = problem;
        self.expected = expected;
        self
    }

    /// `file:line:column`, as far as known.
    pub fn position(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        }
    }
}

/// Every part may quote the profile (names, keys, values): control characters are escaped and
/// long quotes cut (see [`crate::untrusted`]); the only line break is the hint's own.
impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::untrusted::{message, quote};
        f.write_str(&message(&self.problem))?;
        if !self.key.is_empty() {
            write!(f, " at `{}`", quote(&self.key))?;
        }
        write!(f, " ({})", message(&self.position()))?;
        if let Some(expected) = &self.expected {
            write!(f, ": {}", message(expected))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", message(hint))?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileError {}

/// `"invalid rate `x`: expected …"` → (`invalid rate `x``, `expected …`). The last `: expected`
/// separates them: the problem may quote text (a template engine's message) that has its own.
pub(crate) fn split_expected(message: &str) -> (String, Option<String>) {
    let found = message
        .rfind(": expected ")
        .map(|i| (i, ": expected ".len()))
        .or_else(|| {
            message
                .find(", expected ")
                .map(|i| (i, ", expected ".len()))
        });
    if let Some((i, len)) = found {
        let expected = format!("expected {}", &message[i + len..]);
        return (message[..i].to_string(), Some(expected));
    }
    (message.to_string(), None)
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The problem when the text is not a mapping (the caller words it for a key below the top).
pub(crate) const NOT_A_MAPPING: &str = "the profile is not a mapping";

/// Rewrites serde's wording into the profile's vocabulary (keys, not fields).
pub(crate) fn humanize(message: &str) -> (String, Option<String>, Option<String>) {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .trim()
        .to_string();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let options: Vec<&str> = tail
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split(", ")
            .map(|s| s.trim_matches('`'))
            .filter(|s| !s.is_empty() && !s.starts_with("there are no"))
            .collect();
        let hint =
            did_you_mean(name, options.iter().copied()).map(|c| format!("did you mean `{c}`?"));
        let expected = (!options.is_empty()).then(|| {
            format!(
                "expected one of {}",
                options
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        return (format!("unknown key `{name}`"), expected, hint);
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let options: Vec<&str> = tail
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split(", ")
            .map(|s| s.trim_matches('`'))
            .filter(|s| !s.is_empty())
            .collect();
        let hint =
            did_you_mean(name, options.iter().copied()).map(|c| format!("did you mean `{c}`?"));
        return (
            format!("unknown value `{name}`"),
            Some(format!(
                "expected one of {}",
                options
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            hint,
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let expected = match name {
            "name" => Some("expected `name: my-service` (it names the baseline file)"),
            "load" => Some(
                "expected a `load:` section with `stages:`, like `stages: [ { duration: 30s, rate: 50/s } ]`",
            ),
            "stages" => Some(
                "expected `stages:` with at least one stage, like `- { duration: 30s, rate: 50/s }`",
            ),
            "path" => Some("expected `path: /health`"),
            _ => None,
        };
        return (
            format!("missing key `{name}`"),
            expected.map(str::to_string),
            None,
        );
    }
    if message == "expected mapping start" {
        return (
            NOT_A_MAPPING.into(),
            Some("expected keys like `name`, `load` and `requests` at the top level".into()),
            None,
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let name = rest.split(',').next().unwrap_or(rest);
        return (
            format!("duplicate key `{name}`"),
            Some("expected each key once".into()),
            None,
        );
    }
    if message == "expected string scalar" {
        return ("wrong type".into(), Some("expected text".into()), None);
    }
    if message == "invalid floating point" {
        return ("wrong type".into(), Some("expected a number".into()), None);
    }
    if message == "invalid boolean" {
        return (
            "wrong type".into(),
            Some("expected `true` or `false`".into()),
            None,
        );
    }
    if let Some((problem, expected)) =
        crate::serde_text::plain_serde(&message, crate::serde_text::Format::Yaml)
    {
        return (problem, Some(expected), None);
    }
    if let Some(kind) = message.strip_prefix("invalid ")
        && ["u8", "u16", "u32", "u64", "i64", "f64"].contains(&kind)
    {
        return ("wrong type".into(), Some("expected a number".into()), None);
    }
    let (problem, expected) = split_expected(&message);
    (problem, expected, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_follows_the_house_format() {
        let e = ProfileError::new("profile.yaml", "load.stages[0].rate", "x")
            .with_message("invalid rate `10/m`: expected `<n>/s` or `<n>/min`")
            .at(7, 12);
        assert_eq!(
            e.to_string(),
            "invalid rate `10/m` at `load.stages[0].rate` (profile.yaml:7:12): expected `<n>/s` or `<n>/min`"
        );
    }

    #[test]
    fn unknown_fields_get_a_suggestion() {
        let (p, e, h) =
            humanize("unknown field `max_in_fligt`, expected one of stages, max_in_flight");
        assert_eq!(p, "unknown key `max_in_fligt`");
        assert_eq!(
            e.as_deref(),
            Some("expected one of `stages`, `max_in_flight`")
        );
        assert_eq!(h.as_deref(), Some("did you mean `max_in_flight`?"));
    }
}
