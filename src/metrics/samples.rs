//! A few distinct error messages per endpoint, with counts, for the report.
//!
//! Bounded: at most [`PER_ENDPOINT`] distinct messages per endpoint, each cut to
//! [`MESSAGE_LIMIT`] characters; later distinct messages are counted under their class only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::ErrorClass;

/// Distinct messages kept per endpoint.
pub const PER_ENDPOINT: usize = 8;
/// Longest message kept, in characters.
pub const MESSAGE_LIMIT: usize = 300;

/// Error messages by endpoint.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ErrorSamples {
    by_endpoint: Vec<Vec<ErrorSample>>,
}

impl ErrorSamples {
    /// Counts one failure of `endpoint`.
    pub fn add(&mut self, endpoint: usize, class: ErrorClass, message: String) {
        self.add_n(endpoint, class, message, 1);
    }

    fn add_n(&mut self, endpoint: usize, class: ErrorClass, message: String, count: u64) {
        if self.by_endpoint.len() <= endpoint {
            self.by_endpoint.resize_with(endpoint + 1, Vec::new);
        }
        let list = &mut self.by_endpoint[endpoint];
        let message = truncate(message);
        if let Some(s) = list
            .iter_mut()
            .find(|s| s.class == class && s.message == message)
        {
            s.count += count;
        } else if list.len() < PER_ENDPOINT {
            list.push(ErrorSample {
                class,
                message,
                count,
            });
        } else if let Some(s) = list
            .iter_mut()
            .find(|s| s.class == class && s.message.starts_with("(other "))
        {
            s.count += count;
        } else if let Some(last) = list.last_mut() {
            // Keep the bound: fold into an "other" entry of the last slot's class.
            if last.message.starts_with("(other ") && last.class == class {
                last.count += count;
            } else {
                *last = ErrorSample {
                    class,
                    message: format!("(other {class} errors)"),
                    count: last.count + count,
                };
            }
        }
    }

    /// Adds another thread's or shard's samples.
    pub fn merge(&mut self, other: ErrorSamples) {
        for (endpoint, list) in other.by_endpoint.into_iter().enumerate() {
            for s in list {
                self.add_n(endpoint, s.class, s.message, s.count);
            }
        }
    }

    /// The samples of one endpoint, most frequent first.
    pub fn take(&mut self, endpoint: usize) -> Vec<ErrorSample> {
        let mut list = self
            .by_endpoint
            .get_mut(endpoint)
            .map(std::mem::take)
            .unwrap_or_default();
        list.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.message.cmp(&b.message))
        });
        list
    }

    /// Rebuilds from a results file's samples (for merging shards).
    pub fn from_results(lists: impl IntoIterator<Item = Vec<ErrorSample>>) -> Self {
        let mut out = Self::default();
        for (endpoint, list) in lists.into_iter().enumerate() {
            for s in list {
                out.add_n(endpoint, s.class, s.message, s.count);
            }
        }
        out
    }
}

fn truncate(mut message: String) -> String {
    if message.chars().count() > MESSAGE_LIMIT {
        message = message.chars().take(MESSAGE_LIMIT).collect();
        message.push('…');
    }
    message
}

/// A distinct error message and how often it occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorSample {
    /// The error's class.
    pub class: ErrorClass,
    /// The message (may echo the target's response: escape before display).
    pub message: String,
    /// How many requests failed with it.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_messages_within_a_bound() {
        let mut s = ErrorSamples::default();
        for i in 0..20 {
            s.add(0, ErrorClass::Http5xx, format!("status {}", 500 + i % 10));
        }
        s.add(0, ErrorClass::Http5xx, "status 500".into());
        let list = s.take(0);
        assert!(list.len() <= PER_ENDPOINT);
        assert_eq!(list.iter().map(|x| x.count).sum::<u64>(), 21);
        let top = list.iter().find(|x| x.message == "status 500").unwrap();
        assert_eq!(top.count, 3);
        assert!(list.iter().any(|x| x.message == "(other http_5xx errors)"));
    }

    #[test]
    fn merging_adds_counts() {
        let mut a = ErrorSamples::default();
        a.add(1, ErrorClass::Timeout, "slow".into());
        let mut b = ErrorSamples::default();
        b.add(1, ErrorClass::Timeout, "slow".into());
        a.merge(b);
        assert_eq!(a.take(1)[0].count, 2);
        assert!(a.take(0).is_empty());
    }
}
