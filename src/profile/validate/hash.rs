//! The profile's hash: what shapes the load, so runs of different loads are never compared.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::profile::model::{
    Body, Endpoint, Feed, HttpOptions, JsonExpect, Limit, Load, Model, Scenario, ThinkTime,
    Threshold, ThresholdScope,
};

/// `sha256:` over what shapes the load, in a canonical JSON form. Keys for features a profile
/// does not use are left out, so adding a feature never changes older profiles' hashes (and
/// never invalidates their baselines).
pub(super) fn profile_hash(
    http: &HttpOptions,
    load: &Load,
    endpoints: &[Endpoint],
    scenarios: &[Scenario],
    feeds: &[Feed],
    thresholds: &[Threshold],
) -> String {
    let body = |b: &Body| match b {
        Body::Empty => serde_json::Value::Null,
        Body::Text(t) => serde_json::json!({ "text": t.source() }),
        Body::Json { source, .. } => serde_json::json!({ "json": source }),
        Body::Form(f) => {
            serde_json::json!({ "form": f.iter().map(|(k, v)| [k.as_str(), v.source()]).collect::<Vec<_>>() })
        }
    };
    let expect = |e: &JsonExpect| match e {
        JsonExpect::Equals(v) => v.clone(),
        JsonExpect::Compare(c) => {
            serde_json::json!({ "compare": c.iter().map(ToString::to_string).collect::<Vec<_>>() })
        }
    };
    let endpoint = |e: &Endpoint| {
        let mut check = serde_json::json!({
            "status": e.check.status.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "body_contains": e.check.body_contains,
            "json": e.check.json.iter().map(|(p, v)| serde_json::json!([p.as_str(), expect(v)])).collect::<Vec<_>>(),
        });
        if !e.check.headers.is_empty() {
            check["headers"] = e
                .check
                .headers
                .iter()
                .map(|(h, x)| format!("{h} {x:?}"))
                .collect();
        }
        if let Some(max) = e.check.max_latency {
            check["max_latency_ms"] = serde_json::json!(max.as_millis() as u64);
        }
        let mut v = serde_json::json!({
            "name": e.name,
            "weight": e.weight,
            "method": e.method.as_str(),
            "url": e.url.source(),
            "query": e.query.iter().map(|(k, v)| [k.as_str(), v.source()]).collect::<Vec<_>>(),
            "headers": e.headers.iter().map(|(k, v)| [k.as_str(), v.source()]).collect::<Vec<_>>(),
            "body": body(&e.body),
            "timeout_ms": e.timeout.as_millis() as u64,
            "check": check,
        });
        if !e.extract.is_empty() {
            v["extract"] = e
                .extract
                .iter()
                .map(|x| format!("{} {:?}", x.name, x.source))
                .collect();
        }
        if let Some(t) = e.think_time {
            v["think_time_ms"] =
                serde_json::json!([t.min.as_millis() as u64, t.max.as_millis() as u64]);
        }
        v
    };
    // The settings of the other model hash as their defaults, as they did before the load model
    // carried only its own (so no older profile's hash, and baseline, changes).
    let (think_time, spawn_rate) = match load.model {
        Model::Closed {
            think_time,
            spawn_rate,
        } => (think_time, spawn_rate),
        Model::Open { .. } => (ThinkTime::default(), None),
    };
    let max_in_flight = load
        .max_in_flight()
        .unwrap_or(super::load::DEFAULT_MAX_IN_FLIGHT);
    let mut basis = serde_json::json!({
        "http": format!("{:?}", http.version),
        "load": {
            "model": format!("{:?}", load.kind()),
            "warmup_ms": load.warmup.as_millis() as u64,
            "interval_ms": load.interval.as_millis() as u64,
            "segments": load.segments.iter().map(|s| [s.start.as_secs_f64(), s.duration.as_secs_f64(), s.from, s.to]).collect::<Vec<_>>(),
            "max_in_flight": max_in_flight,
            "think_time_ms": [think_time.min.as_millis() as u64, think_time.max.as_millis() as u64],
            "spawn_rate": spawn_rate,
        },
        "endpoints": endpoints.iter().map(endpoint).collect::<Vec<_>>(),
    });
    if let Some(s) = load.search() {
        basis["load"]["search"] = serde_json::json!({
            "start": s.start_per_sec,
            "growth": s.growth.to_string(),
            "hold_ms": s.hold.as_millis() as u64,
            "refine": s.refine,
            "min_achieved": s.min_achieved_ratio,
            "collapse": s.collapse_error_ratio,
            "max_rate": s.max_rate_per_sec,
            "max_duration_ms": s.max_duration.as_millis() as u64,
        });
        // A search's thresholds are its SLO: they decide which rate is sustainable, so runs
        // searched against another SLO are not comparable.
        basis["load"]["search"]["slo"] = thresholds
            .iter()
            .map(|t| {
                let scope = match &t.scope {
                    ThresholdScope::All => "all".to_string(),
                    ThresholdScope::Endpoint(n) => format!("endpoint {n}"),
                };
                let limits: Vec<String> = t
                    .limits
                    .iter()
                    .map(|l| match l {
                        Limit::Latency { quantile, max } => {
                            format!("{} {}us", quantile.0, max.as_micros())
                        }
                        Limit::ErrorRate { max_ratio } => format!("error_rate {max_ratio}"),
                        Limit::MinRate { per_sec } => format!("min_rate {per_sec}"),
                    })
                    .collect();
                serde_json::json!({ "scope": scope, "limits": limits })
            })
            .collect();
    }
    if scenarios.iter().any(|s| s.journey) {
        basis["scenarios"] = scenarios
            .iter()
            .filter(|s| s.journey)
            .map(|s| serde_json::json!({ "name": s.name, "weight": s.weight, "steps": s.steps }))
            .collect();
    }
    if !feeds.is_empty() {
        basis["feeds"] = feeds
            .iter()
            .map(|f| serde_json::json!({ "name": f.name, "path": f.path, "mode": format!("{:?}", f.mode), "rows": f.rows.len() }))
            .collect();
    }
    let digest = Sha256::digest(basis.to_string().as_bytes());
    let hex = digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    format!("sha256:{hex}")
}
