//! The latency histogram: an HdrHistogram of microseconds with 3 significant figures.
//!
//! Invariants: every histogram in loadgate has the same configuration (lowest discernible value
//! 1 µs, 3 significant figures, auto-resizing upper bound), so any two can be added exactly and
//! a merged histogram equals the histogram of all the samples. On disk a histogram is the
//! HdrHistogram V2-deflate encoding in standard base64, which other HDR tools can read.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Significant decimal digits kept for every value.
pub const SIGNIFICANT_FIGURES: u8 = 3;
/// Initial highest trackable value (60 s in µs); the histogram grows past it on demand.
const INITIAL_HIGHEST_US: u64 = 60_000_000;

/// A latency histogram in microseconds (see the module docs for its invariants).
#[derive(Clone, PartialEq)]
pub struct Histogram {
    inner: hdrhistogram::Histogram<u64>,
}

/// A histogram could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// Not valid base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// Not a valid HdrHistogram V2 encoding.
    #[error("histogram is not a valid HdrHistogram V2 encoding: {0}")]
    Decode(String),
    /// Decoded, but with a configuration that cannot be added to loadgate's histograms.
    #[error(
        "histogram has lowest value {lowest} and {sigfig} significant figures; expected 1 and {SIGNIFICANT_FIGURES}"
    )]
    Config {
        /// Lowest discernible value found.
        lowest: u64,
        /// Significant figures found.
        sigfig: u8,
    },
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        let mut inner =
            hdrhistogram::Histogram::new_with_bounds(1, INITIAL_HIGHEST_US, SIGNIFICANT_FIGURES)
                .expect("constant bounds are valid");
        inner.auto(true);
        Self { inner }
    }

    /// Records one latency. Values below 1 µs are recorded as 1 µs.
    #[inline]
    pub fn record(&mut self, latency: Duration) {
        self.record_us(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one value in microseconds (0 is recorded as 1).
    #[inline]
    pub fn record_us(&mut self, value_us: u64) {
        // With auto-resize on, recording only fails for values beyond u64 range tracking,
        // which cannot be reached from a `Duration` in µs; saturate rather than drop.
        let v = value_us.max(1);
        if self.inner.record(v).is_err() {
            let _ = self.inner.record(self.inner.high());
        }
    }

    /// Records `count` occurrences of one value in microseconds.
    pub fn record_n_us(&mut self, value_us: u64, count: u64) {
        let v = value_us.max(1);
        if self.inner.record_n(v, count).is_err() {
            let _ = self.inner.record_n(self.inner.high(), count);
        }
    }

    /// Adds every sample of `other` to this histogram (exact).
    pub fn add(&mut self, other: &Histogram) {
        // Same configuration and auto-resize: `add` cannot fail.
        self.inner
            .add(&other.inner)
            .expect("histograms share one configuration and auto-resize");
    }

    /// Removes every sample, keeping the allocation.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The value at quantile `q` (0–1) in µs, or `None` when empty.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.is_empty() || !q.is_finite() {
            return None;
        }
        Some(self.inner.value_at_quantile(q.clamp(0.0, 1.0)))
    }

    /// Smallest recorded value in µs (`None` when empty).
    pub fn min_us(&self) -> Option<u64> {
        (!self.is_empty()).then(|| self.inner.min())
    }

    /// Largest recorded value in µs (`None` when empty).
    pub fn max_us(&self) -> Option<u64> {
        (!self.is_empty()).then(|| self.inner.max())
    }

    /// Mean in µs (`None` when empty).
    pub fn mean_us(&self) -> Option<f64> {
        (!self.is_empty()).then(|| self.inner.mean())
    }

    /// Iterates over `(value_us, count)` for every non-empty bucket, lowest first. The value is
    /// the highest value equivalent to the bucket (what HdrHistogram reports for percentiles).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.inner
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
    }

    /// The underlying HdrHistogram, for callers that need its full API.
    pub fn as_hdr(&self) -> &hdrhistogram::Histogram<u64> {
        &self.inner
    }

    /// Encodes as base64 of the HdrHistogram V2-deflate format.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::with_capacity(256);
        V2DeflateSerializer::new()
            .serialize(&self.inner, &mut bytes)
            .expect("serializing into a Vec cannot fail");
        BASE64.encode(bytes)
    }

    /// Decodes the base64 V2 (deflate or plain) encoding.
    pub fn from_base64(text: &str) -> Result<Self, HistogramError> {
        let bytes = BASE64.decode(text.trim())?;
        let mut inner: hdrhistogram::Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramError::Decode(decode_problem(&e).into()))?;
        if inner.low() != 1 || inner.sigfig() != SIGNIFICANT_FIGURES {
            return Err(HistogramError::Config {
                lowest: inner.low(),
                sigfig: inner.sigfig(),
            });
        }
        inner.auto(true);
        Ok(Self { inner })
    }
}

/// What is wrong with an encoding, in words (the decoder's own `Debug` shows Rust internals,
/// like `IoError(Custom { kind: InvalidInput, … })`).
fn decode_problem(e: &hdrhistogram::serialization::DeserializeError) -> &'static str {
    use hdrhistogram::serialization::DeserializeError as E;
    match e {
        E::IoError(_) => "the data is truncated or corrupt",
        E::InvalidCookie => "it does not start like an HdrHistogram encoding",
        E::UnsupportedFeature => "it uses an encoding feature loadgate does not read",
        E::UnsuitableCounterType => "a count is too large",
        E::InvalidParameters => "its value range is invalid",
        E::UsizeTypeTooSmall | E::EncodedArrayTooLong => "it is larger than its value range allows",
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("len", &self.len())
            .field("min_us", &self.min_us())
            .field("max_us", &self.max_us())
            .finish()
    }
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Histogram {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Histogram".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "HdrHistogram V2-deflate encoding in standard base64; values in microseconds, 3 significant figures",
            "pattern": "^[A-Za-z0-9+/]+={0,2}$"
        })
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are expected here
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_histogram_has_no_quantiles() {
        let h = Histogram::new();
        assert_eq!(h.quantile_us(0.5), None);
        assert_eq!(h.max_us(), None);
        assert!(h.is_empty());
    }

    #[test]
    fn records_within_three_significant_figures() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record_us(v * 100);
        }
        let p50 = h.quantile_us(0.5).unwrap() as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.001, "p50 = {p50}");
        assert_eq!(h.len(), 10_000);
    }

    #[test]
    fn grows_past_initial_range() {
        let mut h = Histogram::new();
        h.record(Duration::from_secs(3600));
        let max = h.max_us().unwrap() as f64;
        assert!((max - 3.6e9).abs() / 3.6e9 < 0.001);
    }

    #[test]
    fn base64_round_trip_is_exact() {
        let mut h = Histogram::new();
        for v in [1, 5, 900, 12_345, 1_000_000, 70_000_000] {
            h.record_n_us(v, v % 7 + 1);
        }
        let back = Histogram::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back, h);
        let empty = Histogram::from_base64(&Histogram::new().to_base64()).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn a_broken_encoding_is_described_in_words() {
        let mut h = Histogram::new();
        h.record_n_us(1_000, 3);
        let bytes = BASE64.decode(h.to_base64()).unwrap();
        for broken in [
            &bytes[..bytes.len() / 2],
            &bytes[..10],
            b"garbage-bytes".as_slice(),
        ] {
            let e = Histogram::from_base64(&BASE64.encode(broken))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("histogram is not a valid HdrHistogram V2 encoding: ")
                    && !e.contains("IoError")
                    && !e.contains("Custom")
                    && !e.contains("kind:"),
                "{e}"
            );
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            Histogram::from_base64("not base64!"),
            Err(HistogramError::Base64(_))
        ));
        assert!(matches!(
            Histogram::from_base64("aGVsbG8gd29ybGQ="),
            Err(HistogramError::Decode(_))
        ));
    }

    proptest! {
        #[test]
        fn merge_equals_histogram_of_all_samples(
            a in proptest::collection::vec(1u64..10_000_000, 0..200),
            b in proptest::collection::vec(1u64..10_000_000, 0..200),
            c in proptest::collection::vec(1u64..10_000_000, 0..200),
        ) {
            let build = |xs: &[u64]| { let mut h = Histogram::new(); for &x in xs { h.record_us(x); } h };
            let (ha, hb, hc) = (build(&a), build(&b), build(&c));
            let mut left = ha.clone(); left.add(&hb); left.add(&hc);
            let mut bc = hb.clone(); bc.add(&hc);
            let mut right = ha.clone(); right.add(&bc);
            let all: Vec<u64> = a.iter().chain(&b).chain(&c).copied().collect();
            let whole = build(&all);
            prop_assert_eq!(&left, &right);
            prop_assert_eq!(&left, &whole);
            prop_assert_eq!(Histogram::from_base64(&left.to_base64()).unwrap(), whole);
        }
    }
}

/// A histogram kept in its encoded (base64 V2-deflate) form: how results files hold interval
/// histograms in memory, so a long run costs about a kilobyte per interval and endpoint.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncodedHistogram(String);

impl EncodedHistogram {
    /// Encodes a histogram.
    pub fn encode(histogram: &Histogram) -> Self {
        Self(histogram.to_base64())
    }

    /// Decodes into a histogram.
    pub fn decode(&self) -> Result<Histogram, HistogramError> {
        Histogram::from_base64(&self.0)
    }

    /// The encoded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EncodedHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedHistogram({} chars)", self.0.len())
    }
}

impl schemars::JsonSchema for EncodedHistogram {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Histogram::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Histogram::json_schema(generator)
    }
}
