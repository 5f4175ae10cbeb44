//! The readiness probe (`wait_for`): poll the target until it answers, before any load.
//!
//! Uses reqwest: it runs a few times per run, off the hot path, where convenience wins.

use std::time::Duration;

use crate::profile::{StatusPattern, WaitFor};

/// Polls `url` until a response with an accepted status arrives or `wait.timeout` passes.
/// Returns how long it took, or the last failure.
pub async fn wait_until_ready(
    url: &str,
    wait: &WaitFor,
    insecure_tls: bool,
) -> Result<Duration, String> {
    super::client::install_crypto_provider();
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(insecure_tls)
        .timeout(
            wait.interval
                .max(Duration::from_secs(2))
                .min(Duration::from_secs(10)),
        )
        .build()
        .map_err(|e| format!("cannot build the readiness client: {e}"))?;
    let started = tokio::time::Instant::now();
    let deadline = started + wait.timeout;
    loop {
        let last = match client.get(url).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let ok = if wait.status.is_empty() {
                    (200..300).contains(&status)
                } else {
                    wait.status
                        .iter()
                        .any(|p: &StatusPattern| p.matches(status))
                };
                if ok {
                    return Ok(started.elapsed());
                }
                format!("status {status}")
            }
            Err(e) => {
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| format!("{e}: {s}"))
            }
        };
        if tokio::time::Instant::now() + wait.interval > deadline {
            return Err(format!(
                "`{url}` was not ready after {}: last attempt: {last}",
                crate::profile::units::format_duration(wait.timeout)
            ));
        }
        tokio::time::sleep(wait.interval).await;
    }
}
