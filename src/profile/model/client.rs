//! How loadgate reaches the target: the readiness probe and the HTTP client settings.

use std::time::Duration;

use crate::profile::raw::StatusPattern;

/// Readiness probe settings.
#[derive(Debug, Clone)]
pub struct WaitFor {
    /// Path joined to the target, or an absolute URL.
    pub path: String,
    /// Statuses that mean ready (empty: any 2xx).
    pub status: Vec<StatusPattern>,
    /// Give up after this long.
    pub timeout: Duration,
    /// Pause between polls.
    pub interval: Duration,
}

/// HTTP protocol choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 when TLS ALPN agrees, else HTTP/1.1.
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 over TLS.
    Http2,
    /// HTTP/2 over cleartext with prior knowledge.
    H2c,
}

/// HTTP client settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Protocol.
    pub version: HttpVersion,
    /// Accept any certificate.
    pub insecure_tls: bool,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Local addresses connections are opened from, in turn (empty: the system's choice).
    pub source_addresses: Vec<std::net::IpAddr>,
    /// Closed model: every user keeps its own connection (`http.connections: per_user`)
    /// instead of sharing its engine thread's.
    pub connection_per_user: bool,
}
