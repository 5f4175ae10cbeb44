//! The HTTP client settings (`http`) and the readiness probe (`wait_for`): how loadgate
//! reaches the target.

use std::time::Duration;

use crate::profile::error::ProfileError;
use crate::profile::model::{HttpOptions, HttpVersion, Load, LoadModel, WaitFor};
use crate::profile::raw::{RawConnections, RawHttp, RawHttpVersion, RawWaitFor};
use crate::profile::units::format_duration;
use crate::profile::url::check_path_or_url;

use super::Ctx;

/// Range of request and connect timeouts.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(600));

/// The readiness probe, when `wait_for` is set.
pub(super) fn validate_wait_for(
    cx: &Ctx<'_>,
    raw: Option<&RawWaitFor>,
) -> Result<Option<WaitFor>, ProfileError> {
    let wait_for = match raw {
        None => None,
        Some(w) => {
            check_path_or_url(&w.path.value)
                .map_err(|m| cx.err("wait_for.path", Some(w.path.referenced), &m))?;
            if let Some(t) = w.timeout.as_ref().filter(|t| t.value.0.is_zero()) {
                return Err(cx.err(
                    "wait_for.timeout",
                    Some(t.referenced),
                    "`timeout: 0s` gives up before the first poll: expected how long the target may take to become ready, like `120s` (the default)",
                ));
            }
            Some(WaitFor {
                path: w.path.value.clone(),
                status: w.status.clone().map(|s| s.0).unwrap_or_default(),
                timeout: w
                    .timeout
                    .as_ref()
                    .map_or(Duration::from_secs(120), |d| d.value.0),
                interval: w
                    .interval
                    .map_or(Duration::from_secs(1), |d| d.0)
                    .max(Duration::from_millis(50)),
            })
        }
    };
    Ok(wait_for)
}

/// The HTTP client settings (`http`).
pub(super) fn validate_http(cx: &Ctx<'_>, raw: &RawHttp) -> Result<HttpOptions, ProfileError> {
    let http = HttpOptions {
        version: match raw.version.unwrap_or(RawHttpVersion::Auto) {
            RawHttpVersion::Auto => HttpVersion::Auto,
            RawHttpVersion::Http1 => HttpVersion::Http1,
            RawHttpVersion::Http2 => HttpVersion::Http2,
            RawHttpVersion::H2c => HttpVersion::H2c,
        },
        insecure_tls: raw.insecure_tls,
        connect_timeout: raw
            .connect_timeout
            .as_ref()
            .map_or(Duration::from_secs(5), |d| d.value.0),
        source_addresses: raw
            .source_addresses
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.value.trim().parse::<std::net::IpAddr>().map_err(|_| {
                    cx.err(
                        format!("http.source_addresses[{i}]"),
                        Some(a.referenced),
                        &format!(
                            "`{}` is not an IP address: expected one like `127.0.0.2` or `::1` (an address of this machine; on loopback any `127.x.y.z` works)",
                            a.value.trim()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        connection_per_user: raw
            .connections
            .as_ref()
            .is_some_and(|c| c.value == RawConnections::PerUser),
    };
    check_timeout(http.connect_timeout).map_err(|m| {
        let at = raw.connect_timeout.as_ref().map(|t| t.referenced);
        cx.err("http.connect_timeout", at, &m)
    })?;
    Ok(http)
}

/// `http.connections: per_user` needs the closed model's users.
pub(super) fn check_connections(
    cx: &Ctx<'_>,
    raw: &RawHttp,
    load: &Load,
) -> Result<(), ProfileError> {
    if let Some(c) = &raw.connections
        && c.value == RawConnections::PerUser
        && load.kind() != LoadModel::Closed
    {
        return Err(cx.err(
            "http.connections",
            Some(c.referenced),
            "`per_user` applies to the closed model's users (`load.model: closed`): the open model has no users; remove it, or bound the connections with `load.max_in_flight`",
        ));
    }
    Ok(())
}

/// A request or connect timeout must be within [`TIMEOUT_RANGE`].
pub(in crate::profile) fn check_timeout(timeout: Duration) -> Result<(), String> {
    let (min, max) = TIMEOUT_RANGE;
    if timeout < min || timeout > max {
        return Err(format!(
            "timeout `{}` out of range: expected from `{}` to `{}`",
            format_duration(timeout),
            format_duration(min),
            format_duration(max)
        ));
    }
    Ok(())
}
