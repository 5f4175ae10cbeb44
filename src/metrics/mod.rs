//! Recording: latency histograms per endpoint per time interval, outcome counts, summaries.
//!
//! Units: latencies in microseconds (measured from the intended send time), counts as `u64`.
//! Everything here is pure; the engine feeds it, results files store it, and the results module merges them.

pub mod exposition;
mod histogram;
mod recorder;
mod samples;
mod summary;

pub use histogram::{EncodedHistogram, Histogram, HistogramError, SIGNIFICANT_FIGURES};
pub use recorder::{
    ClosedInterval, EndpointInterval, GeneratorInterval, IntervalProgress, IntervalSet, Outcome,
};
pub use samples::{ErrorSample, ErrorSamples};
pub use summary::{LatencySummary, Summary, SummaryBuilder};

use serde::{Deserialize, Serialize};

/// Why a request did not count as a success, named in `snake_case` like `http_4xx` (files from
/// earlier builds spelled the HTTP classes `http4xx`; they still load).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The TCP connection could not be opened (refused, unreachable, DNS).
    Connect,
    /// The TLS handshake failed (bad certificate, protocol mismatch).
    Tls,
    /// No complete response within the request timeout.
    Timeout,
    /// The connection was closed or reset, or the response was malformed, before a status arrived.
    Closed,
    /// The response had a 4xx status that the request did not expect.
    #[serde(rename = "http_4xx", alias = "http4xx")]
    Http4xx,
    /// The response had a 5xx status that the request did not expect.
    #[serde(rename = "http_5xx", alias = "http5xx")]
    Http5xx,
    /// A check on the response failed (unexpected status, body, JSON field).
    Check,
    /// The status arrived but reading the body failed.
    Body,
    /// A value to extract for later steps was not in the response (the scenario stopped).
    Extract,
}

impl ErrorClass {
    /// Every class, in report order.
    pub const ALL: [ErrorClass; 9] = [
        ErrorClass::Connect,
        ErrorClass::Tls,
        ErrorClass::Timeout,
        ErrorClass::Closed,
        ErrorClass::Http4xx,
        ErrorClass::Http5xx,
        ErrorClass::Check,
        ErrorClass::Body,
        ErrorClass::Extract,
    ];

    /// The `snake_case` name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::Tls => "tls",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Closed => "closed",
            ErrorClass::Http4xx => "http_4xx",
            ErrorClass::Http5xx => "http_5xx",
            ErrorClass::Check => "check",
            ErrorClass::Body => "body",
            ErrorClass::Extract => "extract",
        }
    }

    /// Dense index for per-class counter arrays.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorClass;

    #[test]
    fn serialized_names_are_the_display_names_and_old_ones_still_load() {
        for class in ErrorClass::ALL {
            assert_eq!(
                serde_json::to_value(class).expect("serializes"),
                serde_json::Value::from(class.as_str())
            );
        }
        let old: ErrorClass = serde_json::from_str("\"http4xx\"").expect("old name loads");
        assert_eq!(old, ErrorClass::Http4xx);
        let old: ErrorClass = serde_json::from_str("\"http5xx\"").expect("old name loads");
        assert_eq!(old, ErrorClass::Http5xx);
    }
}
