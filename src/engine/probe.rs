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
    let client = super::client::reqwest_builder(insecure_tls)
        .map_err(|e| format!("cannot build the readiness client: {e}"))?
        .timeout(
            wait.interval
                .max(Duration::from_secs(2))
                .min(Duration::from_secs(10)),
        )
        .build()
        .map_err(|e| {
            format!(
                "cannot build the readiness client: {}",
                super::client::error_chain(&e)
            )
        })?;
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
            Err(e) => super::client::error_chain(&e),
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
