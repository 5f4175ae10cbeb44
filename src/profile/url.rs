//! Base URLs and request targets: what a target, an absolute request URL or a `wait_for` path
//! may look like, checked before anything is sent.
//!
//! Every slice of user text here is taken at an ASCII delimiter found in that same text, so
//! no input can cut a character in half. Credentials in a URL are refused (they would be
//! printed and stored with the target); messages never show them.

use std::fmt::Write as _;

use super::model::HttpVersion;

/// Which kind of URL a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRole {
    /// The base URL every path is joined to (`target`, `--target`).
    Target,
    /// The origin of an absolute request or probe URL.
    Request,
}

impl UrlRole {
    fn noun(self) -> &'static str {
        match self {
            UrlRole::Target => "target",
            UrlRole::Request => "URL",
        }
    }
}

/// Splits an absolute `http://` or `https://` URL into its origin (`scheme://authority`) and
/// the rest (path and query, maybe empty). `None` when `text` is not such a URL.
pub fn split_origin(text: &str) -> Option<(&str, &str)> {
    let after_scheme = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))?;
    let scheme_len = text.len() - after_scheme.len();
    let end = after_scheme
        .find(['/', '?'])
        .map_or(text.len(), |i| scheme_len + i);
    Some(text.split_at(end))
}

/// The port written in an authority (`host:8080`, `[::1]:8080`), if any; an error (the text
/// written) when it is not a number from 1 to 65535.
pub fn explicit_port(authority: &str) -> Result<Option<u16>, InvalidPort> {
    let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let Some((_, port)) = host_and_port
        .rsplit_once(':')
        .filter(|(_, p)| !p.contains(']'))
    else {
        return Ok(None);
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(InvalidPort(port.to_string())),
    }
}

/// A port that is not a number from 1 to 65535, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPort(pub String);

impl std::fmt::Display for InvalidPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid port `{}`", self.0)
    }
}

/// What a port must be.
pub const PORT_EXPECTED: &str = "expected a number from 1 to 65535";

/// `text` with any credentials before the host replaced by `***`, for messages.
fn redacted(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{tail}"),
        None => text.to_string(),
    }
}

/// Checks a base URL (`role` Target) or the origin of an absolute URL (`role` Request):
/// http or https, a host, a valid port, no credentials, and for a target no query.
pub fn check_url(text: &str, role: UrlRole) -> Result<(), String> {
    let t = text.trim();
    let shown = redacted(t);
    let noun = role.noun();
    let uri: http::Uri = t.parse().map_err(|_| {
        format!("invalid {noun} `{shown}`: expected a URL like `http://localhost:8080`")
    })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "unsupported scheme `{other}` in {noun} `{shown}`: expected `http://` or `https://`"
            ));
        }
        None => {
            return Err(format!(
                "{noun} `{shown}` has no scheme: expected a URL like `http://{shown}`"
            ));
        }
    }
    let authority = uri.authority().map_or("", http::uri::Authority::as_str);
    if authority.contains('@') {
        return Err(format!(
            "{noun} `{shown}` contains credentials: expected them under `auth: {{ basic: {{ username: …, password: \"{{{{ env.PASSWORD }}}}\" }} }}`, where they are masked in every output (a URL is printed and stored in results)"
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!(
            "{noun} `{shown}` has no host: expected a URL like `http://localhost:8080`"
        ));
    }
    explicit_port(authority).map_err(|p| format!("{p} in {noun} `{shown}`: {PORT_EXPECTED}"))?;
    if role == UrlRole::Target && uri.query().is_some() {
        return Err(format!(
            "target `{shown}` has a query: expected a base URL; put query parameters in `query:`"
        ));
    }
    Ok(())
}

/// Checks a base URL (the profile's `target`, `--target`).
pub fn check_target(target: &str) -> Result<(), String> {
    check_url(target, UrlRole::Target)
}

/// Checks that `version` can be spoken to `url` (a target or an absolute URL): HTTP/2 as
/// `http2` is negotiated over TLS, so it needs `https://` (`h2c` is HTTP/2 over cleartext).
pub fn check_protocol(version: HttpVersion, url: &str) -> Result<(), String> {
    if version == HttpVersion::Http2 && url.trim().starts_with("http://") {
        return Err(format!(
            "`http.version: http2` is HTTP/2 over TLS, but `{}` is plain `http://`: expected an `https://` URL, or `http.version: h2c` for HTTP/2 over cleartext (prior knowledge)",
            redacted(url.trim())
        ));
    }
    Ok(())
}

/// Checks a request target or probe path: a path starting with `/`, or an absolute URL whose
/// origin is fixed (not templated) and valid.
pub fn check_path_or_url(text: &str) -> Result<(), String> {
    if text.starts_with('/') {
        return check_path(text, text);
    }
    if let Some((origin, rest)) = split_origin(text) {
        if super::template::is_template(origin) {
            return Err(format!(
                "the scheme and host of `{}` are templated: expected a fixed origin (templates may only vary the path)",
                redacted(text)
            ));
        }
        check_url(origin, UrlRole::Request)?;
        return check_path(rest, &redacted(text));
    }
    Err(format!(
        "`{}` is neither a path nor a URL: expected a path starting with `/` (joined to the target) or an absolute `http(s)://` URL",
        redacted(text)
    ))
}

/// Checks the path and query of a request target as written, its template blocks aside (what
/// they render to is checked when it is sent): every character must be one a request line may
/// carry, as the engine builds it (`http::uri::PathAndQuery`). `shown` is the whole target.
fn check_path(path_and_query: &str, shown: &str) -> Result<(), String> {
    let literal = without_template_blocks(path_and_query);
    if literal.is_empty() || literal.parse::<http::uri::PathAndQuery>().is_ok() {
        return Ok(());
    }
    let bad = literal
        .chars()
        .find(|c| format!("/{c}").parse::<http::uri::PathAndQuery>().is_err());
    let what = match bad {
        Some(' ') => "a space (write `%20`)".to_string(),
        Some(c) if c.is_control() => format!("the control character `{}`", c.escape_default()),
        Some(c) => format!("`{c}` (write it percent-encoded, `{}`)", percent_encoded(c)),
        None => "characters a URL cannot carry".to_string(),
    };
    Err(format!(
        "`{}` is not a valid URL: it contains {what}: expected a path of URL characters, with values percent-encoded (or given under `query:`, which encodes them)",
        crate::untrusted::quote(shown)
    ))
}

/// `text` with each `{{ … }}`, `{% … %}` and `{# … #}` block replaced by `x`.
fn without_template_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(['{']) {
        let close = match rest.get(start..start + 2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
        };
        out.push_str(&rest[..start]);
        match rest[start + 2..].find(close) {
            Some(end) => {
                out.push('x');
                rest = &rest[start + 2 + end + close.len()..];
            }
            None => {
                // An unclosed block: the template compiler reports it.
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn percent_encoded(c: char) -> String {
    let mut buf = [0; 4];
    c.encode_utf8(&mut buf)
        .bytes()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "%{b:02X}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_split_at_the_first_slash_or_query() {
        assert_eq!(
            split_origin("http://h:1/a/b?c"),
            Some(("http://h:1", "/a/b?c"))
        );
        assert_eq!(split_origin("https://h?x=1"), Some(("https://h", "?x=1")));
        assert_eq!(split_origin("http://"), Some(("http://", "")));
        assert_eq!(split_origin("http://é/x"), Some(("http://é", "/x")));
        assert_eq!(split_origin("/path"), None);
        assert_eq!(split_origin("ftp://h/x"), None);
    }

    #[test]
    fn ports_must_fit() {
        assert_eq!(explicit_port("h:8080"), Ok(Some(8080)));
        assert_eq!(explicit_port("h"), Ok(None));
        assert_eq!(explicit_port("[::1]"), Ok(None));
        assert_eq!(explicit_port("[::1]:9"), Ok(Some(9)));
        for bad in ["h:99999", "h:0", "h:", "h:x"] {
            assert!(explicit_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_urls_are_errors_not_panics() {
        for (text, wanted) in [
            ("http://", "invalid URL `http://`"),
            ("http://é/x", "invalid URL `http://é`"),
            ("http://127.0.0.1:99999/x", "invalid port `99999`"),
            ("http://h:0", "invalid port `0`"),
            ("http://u:hunter2@h/x", "contains credentials"),
        ] {
            let err = check_path_or_url(text).unwrap_err();
            assert!(err.contains(wanted), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        assert!(check_path_or_url("http://h:8080/x/{{ uuid() }}").is_ok());
        assert!(check_path_or_url("https://[::1]:8443").is_ok());
    }

    #[test]
    fn paths_carry_only_url_characters() {
        for ok in [
            "/",
            "/a/b?c=1&d=%20",
            "/items/{{ random_int(1, 9) }}",
            "/q?x={{ data.users.name }}",
            "http://h:8080/x/{{ uuid() }}",
            "/a{{ 'b c' }}d",
            "/café",
        ] {
            assert!(check_path_or_url(ok).is_ok(), "{ok}");
        }
        for (bad, wanted) in [
            ("/a b", "contains a space (write `%20`)"),
            ("http://h/a b", "contains a space"),
            ("/a\tb", "the control character `\\t`"),
            ("/x\u{1b}[31m", "the control character `\\u{1b}`"),
            ("/a<b", "`<` (write it percent-encoded, `%3C`)"),
            ("/{{ x }} y", "contains a space"),
        ] {
            let err = check_path_or_url(bad).unwrap_err();
            assert!(err.contains(wanted), "{bad:?}: {err}");
        }
        assert_eq!(
            without_template_blocks("/a/{{ b }}/{% if c %}d{% endif %}{"),
            "/a/x/xdx{"
        );
    }

    #[test]
    fn http2_needs_tls() {
        assert!(check_protocol(HttpVersion::Http2, "https://h").is_ok());
        assert!(check_protocol(HttpVersion::H2c, "http://h").is_ok());
        assert!(check_protocol(HttpVersion::Auto, "http://h").is_ok());
        let err = check_protocol(HttpVersion::Http2, "http://h:1").unwrap_err();
        assert!(err.contains("`http.version: h2c`"), "{err}");
    }

    #[test]
    fn targets_are_base_urls() {
        assert!(check_url("http://localhost:8080/api", UrlRole::Target).is_ok());
        let err = check_url("http://admin:hunter2pass@127.0.0.1:1", UrlRole::Target).unwrap_err();
        assert!(err.starts_with("target `http://***@127.0.0.1:1` contains credentials"));
        assert!(!err.contains("hunter2pass"));
        assert!(
            check_url("http://h?x=1", UrlRole::Target)
                .unwrap_err()
                .contains("has a query")
        );
        assert!(
            check_url("http://127.0.0.1:99999", UrlRole::Target)
                .unwrap_err()
                .contains("invalid port `99999` in target")
        );
    }
}
