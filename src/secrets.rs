//! Secret values (environment variables the profile reads, basic-auth passwords, values `setup`
//! extracted) and their masking: every message that can reach an output passes through
//! [`Secrets::mask`] before it is recorded, so results, the terminal and reports never show them.
//!
//! A secret can reach a message in the forms loadgate itself produces: as written, escaped in
//! JSON (a check quoting a JSON field, minijinja's `tojson`), or percent-encoded (query strings
//! and forms, the `urlencode` filter). Every form is masked. Values shorter than
//! [`Secrets::MIN_LEN`] cannot be masked without garbling ordinary text: [`Secrets::add`] says
//! so, and the caller warns or refuses.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Shown instead of a secret.
pub const MASK: &str = "***";

/// What `application/x-www-form-urlencoded` leaves alone (besides letters and digits).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');
/// What minijinja's `urlencode` filter leaves alone (besides letters and digits).
const URLENCODE_FILTER: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'.')
    .remove(b'-')
    .remove(b'_');

/// Values to mask, in every form they can take in a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// The secrets as given, longest first.
    values: Vec<String>,
    /// Every form of every secret (the values included), longest first.
    forms: Vec<String>,
}

impl Secrets {
    /// Shortest value that can be masked.
    pub const MIN_LEN: usize = 4;

    /// Adds a secret (surrounding whitespace trimmed) with its encoded forms. Returns `false`
    /// when it is too short to mask (1 to [`Secrets::MIN_LEN`]` - 1` characters): it is then
    /// not masked, and the caller must warn about it or refuse it. Empty values have nothing
    /// to hide.
    #[must_use = "a secret too short to mask must be reported"]
    pub fn add(&mut self, value: &str) -> bool {
        let v = value.trim();
        if v.is_empty() {
            return true;
        }
        if v.chars().count() < Self::MIN_LEN {
            return false;
        }
        if !self.values.iter().any(|s| s == v) {
            self.values.push(v.to_string());
            self.values.sort_by_key(|s| std::cmp::Reverse(s.len()));
            for form in forms_of(v) {
                if !self.forms.contains(&form) {
                    self.forms.push(form);
                }
            }
            // Longest first, so a secret containing another is masked whole.
            self.forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        true
    }

    /// The secrets as given, longest first (for `::add-mask::`).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The encoded forms that differ from every secret as given (for `::add-mask::` too).
    pub fn encoded_forms(&self) -> impl Iterator<Item = &str> {
        self.forms
            .iter()
            .filter(|f| !self.values.contains(f))
            .map(String::as_str)
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every form of every secret replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.forms.iter().any(|s| text.contains(s.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for s in &self.forms {
            out = out.replace(s.as_str(), MASK);
        }
        Cow::Owned(out)
    }
}

/// A secret as written and as loadgate may encode it in a request or a message.
fn forms_of(value: &str) -> Vec<String> {
    let quoted = serde_json::to_string(value).expect("strings serialize");
    let json = quoted
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string();
    // minijinja's `tojson` also escapes what is special in HTML.
    let html_safe_json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    let form = utf8_percent_encode(value, FORM)
        .to_string()
        .replace("%20", "+");
    let mut forms = vec![
        value.to_string(),
        json,
        html_safe_json,
        form,
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
        utf8_percent_encode(value, URLENCODE_FILTER).to_string(),
    ];
    forms.sort();
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let mut s = Secrets::default();
        assert!(s.add("token-123"));
        assert!(s.add("token-123-extended"));
        assert_eq!(s.values().len(), 2);
        assert_eq!(
            s.mask("got token-123-extended and token-123"),
            "got *** and ***"
        );
        assert!(matches!(s.mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_reported_not_masked() {
        let mut s = Secrets::default();
        assert!(!s.add("ab"));
        assert!(!s.add(" abc "));
        assert!(s.add(""), "nothing to hide");
        assert!(s.is_empty());
        assert_eq!(s.mask("ab abc"), "ab abc");
    }

    #[test]
    fn encoded_forms_are_masked_too() {
        let mut s = Secrets::default();
        assert!(s.add(r#"quote"secret\x <&> it's"#));
        for text in [
            // As a check quotes a JSON field, and as minijinja's `tojson` writes it.
            r#"field is `"quote\"secret\\x <&> it's"`"#,
            r#"body {"p":"quote\"secret\\x \u003c\u0026\u003e it\u0027s"}"#,
            // In a query string or form, and through the `urlencode` filter.
            "query p=quote%22secret%5Cx+%3C%26%3E+it%27s",
            "path /quote%22secret%5Cx%20%3C%26%3E%20it%27s",
        ] {
            let masked = s.mask(text);
            assert!(masked.contains(MASK), "{text} → {masked}");
            for fragment in ["secret", "quote"] {
                assert!(!masked.contains(fragment), "{text} → {masked}");
            }
        }
        assert!(s.encoded_forms().all(|f| f != s.values()[0]));
        assert!(s.encoded_forms().count() >= 3);
    }
}
