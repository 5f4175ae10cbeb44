//! Reading and writing a results file's text: its errors, the `format_version` check, serde's
//! errors in plain words with their key path, and histograms that fail to decode.

use serde::Deserialize;

use super::{FORMAT_VERSION, Interval, RunResult};
use crate::metrics::{Histogram, HistogramError};

/// A results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("{message} at `{path}` (line {line}, column {column})")]
    Json {
        /// What serde said.
        message: String,
        /// Key path of the problem.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// No `format_version`: not a loadgate results file.
    #[error("not a loadgate results file: no `format_version` key (write one with `loadgate run`)")]
    NotResults,
    /// Written by a newer loadgate.
    #[error(
        "results `format_version` {found} is newer than this loadgate reads ({FORMAT_VERSION}): upgrade loadgate"
    )]
    FutureVersion {
        /// The version in the file.
        found: u64,
    },
    /// Parsed, but inconsistent (hand-edited or truncated).
    #[error("results file is inconsistent: {0}")]
    Invalid(String),
    /// A histogram inside could not be decoded.
    #[error("results file has a broken histogram at `{path}`: {source}")]
    Histogram {
        /// Where.
        path: String,
        /// Why.
        #[source]
        source: HistogramError,
    },
}

impl RunResult {
    /// Parses and checks a results file's text.
    pub fn from_json(text: &str) -> Result<Self, ResultsError> {
        let version = probe_version(text)?;
        if version > u64::from(FORMAT_VERSION) {
            return Err(ResultsError::FutureVersion { found: version });
        }
        if version == 0 {
            return Err(ResultsError::Invalid(
                "`format_version` is 0: expected 1 or later (the first results format is 1; write the file with `loadgate run`)".into(),
            ));
        }
        let result: RunResult = parse_json(text)?;
        result.check()?;
        Ok(result)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = Vec::new();
        self.write_json(&mut text)
            .expect("results serialize to JSON in memory");
        String::from_utf8(text).expect("serde_json writes UTF-8")
    }

    /// Writes [`RunResult::to_json`]'s text to `w` as it serializes.
    pub fn write_json(&self, mut w: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut w, self)?;
        w.write_all(b"\n")
    }

    /// The JSON Schema of this format.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RunResult)).expect("schema serializes")
    }
}

pub(crate) fn decode(
    interval: &Interval,
    endpoint: &str,
    i: usize,
) -> Result<Histogram, ResultsError> {
    interval
        .latency
        .decode()
        .map_err(|source| ResultsError::Histogram {
            path: format!("endpoints[{endpoint}].intervals[{i}].latency"),
            source,
        })
}

/// Reads `format_version` without parsing the rest, so a newer file gets the upgrade message
/// rather than a confusing shape error.
pub(crate) fn probe_version(text: &str) -> Result<u64, ResultsError> {
    #[derive(Deserialize)]
    struct Probe {
        format_version: Option<serde_json::Value>,
    }
    let probe: Probe = parse_json(text)?;
    match probe.format_version {
        None => Err(ResultsError::NotResults),
        Some(v) => v.as_u64().ok_or_else(|| {
            ResultsError::Invalid(format!("`format_version` is {v}, expected a whole number"))
        }),
    }
}

/// Parses JSON, reporting the key path, line and column of the first problem.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ResultsError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let raw = strip_position(&inner.to_string());
        let message = if path == "." && !inner.is_syntax() && !inner.is_eof() {
            // The whole file has the wrong shape (a list, a number): serde would name the
            // Rust type it wanted.
            "not a JSON object: expected a loadgate file (`{ \"format_version\": 1, … }`)"
                .to_string()
        } else {
            match crate::serde_text::plain_serde(&raw, crate::serde_text::Format::Json) {
                Some((problem, expected)) => format!("{problem}, {expected}"),
                None => raw,
            }
        };
        ResultsError::Json {
            message,
            path,
            line: inner.line(),
            column: inner.column(),
        }
    })
}

/// serde_json appends " at line L column C"; the error prints its own position.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
