//! Parsing a response head: status, headers, how the body is framed, whether to keep the
//! connection.

use http::{HeaderMap, HeaderName, HeaderValue};

use super::Error;
use crate::metrics::ErrorClass;

/// How the body of a response is delimited.
pub(super) enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A parsed response head.
pub(super) struct Head {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) framing: Framing,
    pub(super) keep_alive: bool,
}

impl Head {
    /// The facts of a parsed head; the map of its headers only when asked for (always kept
    /// small: building it is most of what a response costs beyond the system calls).
    pub(super) fn of(
        response: &httparse::Response<'_, '_>,
        len: usize,
        want_headers: bool,
    ) -> Result<(Head, usize), Error> {
        let status = response.code.unwrap_or(0);
        let http11 = response.version == Some(1);
        let mut length: Option<u64> = None;
        // Whether the last transfer coding is `chunked`, when the header is present.
        let mut chunked: Option<bool> = None;
        let mut close = !http11;
        for h in response.headers.iter() {
            let name = h.name;
            if name.eq_ignore_ascii_case("content-length") {
                let value = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        Error::Failed((
                            ErrorClass::Closed,
                            format!(
                                "malformed response head: content-length `{}`",
                                shorten(&String::from_utf8_lossy(h.value))
                            ),
                        ))
                    })?;
                if length.is_some_and(|l| l != value) {
                    return Err(Error::Failed((
                        ErrorClass::Closed,
                        "malformed response head: two different content-lengths".into(),
                    )));
                }
                length = Some(value);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                let last = h
                    .value
                    .rsplit(|b| *b == b',')
                    .next()
                    .map(<[u8]>::trim_ascii)
                    .unwrap_or_default();
                chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && !http11 {
                        close = false;
                    }
                }
            }
        }
        // A transfer coding overrides any length; one that is not chunked runs to the close.
        let framing = match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) | (None, None) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
        };
        Ok((
            Head {
                status,
                headers: if want_headers {
                    header_map(response)
                } else {
                    HeaderMap::new()
                },
                framing,
                keep_alive: !close,
            },
            len,
        ))
    }
}

/// Copies a parsed head's headers into a map (for checks and extraction).
fn header_map(response: &httparse::Response<'_, '_>) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(response.headers.len());
    for h in response.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) {
            map.append(name, value);
        }
    }
    map
}

pub(super) fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}
