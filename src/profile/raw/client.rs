//! How loadgate reaches the target: the HTTP client settings (`http`) and the readiness probe
//! (`wait_for`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::RawStatus;
use crate::profile::units::HumanDuration;

/// The readiness probe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWaitFor {
    /// Path (joined to the target) or absolute URL to poll.
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    /// Status that means ready (default: any 2xx).
    pub status: Option<RawStatus>,
    /// Give up after this long (default `120s`; above zero).
    #[schemars(with = "Option<HumanDuration>")]
    pub timeout: Option<Spanned<HumanDuration>>,
    /// Pause between polls (default `1s`).
    pub interval: Option<HumanDuration>,
}

/// HTTP client settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// `auto` (default: HTTP/2 when TLS ALPN offers it, else HTTP/1.1), `http1`, `http2`
    /// (TLS only), or `h2c` (HTTP/2 over cleartext with prior knowledge).
    pub version: Option<RawHttpVersion>,
    /// Accept invalid or self-signed TLS certificates (preview environments). Default `false`.
    #[serde(default)]
    pub insecure_tls: bool,
    /// Timeout for opening a connection (default `5s`).
    #[schemars(with = "Option<HumanDuration>")]
    pub connect_timeout: Option<Spanned<HumanDuration>>,
    /// Local IP addresses to open connections from, in turn (default: the system's choice).
    /// One source address has about 28,000 ephemeral ports toward one target; more addresses,
    /// more connections (on loopback any `127.x.y.z` works; others must be this machine's).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub source_addresses: Vec<Spanned<String>>,
    /// Closed model: `shared` (default: a user takes any idle connection of its engine thread,
    /// so there are as many as requests in flight at once) or `per_user` (every user keeps its
    /// own connection, as a browser or Locust's users do: as many connections as users).
    #[schemars(with = "Option<RawConnections>")]
    pub connections: Option<Spanned<RawConnections>>,
}

/// How users hold connections.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawConnections {
    /// Users share their engine thread's connections.
    Shared,
    /// Every user keeps its own connection.
    PerUser,
}

/// HTTP protocol choice.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawHttpVersion {
    /// HTTP/2 if ALPN negotiates it over TLS, otherwise HTTP/1.1.
    Auto,
    /// Always HTTP/1.1.
    Http1,
    /// HTTP/2 over TLS (ALPN must agree).
    Http2,
    /// HTTP/2 over cleartext TCP with prior knowledge.
    H2c,
}
