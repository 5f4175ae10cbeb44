//! Secret values (environment variables the profile reads, basic-auth passwords, values `setup`
//! extracted) and their masking: every message that can reach an output passes through
//! [`Secrets::mask`] before it is recorded, so results, the terminal and reports never show them.

use std::borrow::Cow;

/// Shown instead of a secret.
pub const MASK: &str = "***";

/// Values to mask. Very short values are not masked (they would mask ordinary text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// Shortest value worth masking.
    pub const MIN_LEN: usize = 4;

    /// Adds a secret (ignored when shorter than [`Secrets::MIN_LEN`] or already known).
    pub fn add(&mut self, value: &str) {
        let v = value.trim();
        if v.chars().count() >= Self::MIN_LEN && !self.values.iter().any(|s| s == v) {
            self.values.push(v.to_string());
            // Longest first, so a secret containing another is masked whole.
            self.values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// The secrets, longest first (for `::add-mask::`).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.values.iter().any(|s| text.contains(s.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for s in &self.values {
            out = out.replace(s.as_str(), MASK);
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let mut s = Secrets::default();
        s.add("token-123");
        s.add("token-123-extended");
        s.add("ab");
        assert_eq!(s.values().len(), 2);
        assert_eq!(
            s.mask("got token-123-extended and token-123"),
            "got *** and ***"
        );
        assert!(matches!(s.mask("nothing here"), Cow::Borrowed(_)));
    }
}
