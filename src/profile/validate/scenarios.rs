//! Setup steps, plain requests and scenarios: every request they hold becomes an endpoint with
//! a unique name, and the weighted mix is made of scenarios (a plain request is a one-step
//! scenario of its own).

use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use crate::profile::error::ProfileError;
use crate::profile::model::{Endpoint, Feed, Scenario};
use crate::profile::raw::{RawProfile, RawRequest};
use crate::profile::requests::{Defaults, headers, validate_request};
use crate::profile::template::Scope;

use super::Ctx;
use super::client::check_timeout;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `setup`, `requests` and `scenarios` become.
pub(super) struct Requests {
    /// The setup steps, run once before the load.
    pub setup: Vec<Endpoint>,
    /// Every request the load sends: plain requests, then each scenario's steps.
    pub endpoints: Vec<Endpoint>,
    /// The weighted mix.
    pub scenarios: Vec<Scenario>,
}

/// Validates `setup`, `requests` and `scenarios` in turn, each template against the names in
/// scope where it is written. The context's scope is left with the variables `setup` extracts.
pub(super) fn validate_requests(
    cx: &mut Ctx<'_>,
    raw: &RawProfile,
    feeds: &[Feed],
) -> Result<Requests, ProfileError> {
    // Setup runs before the load: it sees `env` only, and each step the values the steps
    // before it extracted. Headers from `defaults` that read `vars` or `data` do not apply to
    // it (they may need what setup produces).
    let timeout = raw
        .defaults
        .timeout
        .as_ref()
        .map_or(DEFAULT_TIMEOUT, |d| d.value.0);
    check_timeout(timeout).map_err(|m| {
        let at = raw.defaults.timeout.as_ref().map(|t| t.referenced);
        cx.err("defaults.timeout", at, &m)
    })?;
    let mut setup = Vec::new();
    let setup_defaults = Defaults {
        headers: headers(cx, "defaults.headers", &raw.defaults.headers).unwrap_or_default(),
        timeout,
    };
    let setup_defaults = Defaults {
        headers: setup_defaults
            .headers
            .into_iter()
            .filter(|(_, t)| !t.is_contextual())
            .collect(),
        timeout,
    };
    for (i, step) in raw.setup.iter().enumerate() {
        let endpoint = validate_request(cx, &format!("setup[{i}]"), step, &setup_defaults)?;
        cx.scope
            .vars
            .extend(endpoint.extract.iter().map(|e| e.name.clone()));
        setup.push(endpoint);
    }
    let setup_vars = cx.scope.vars.clone();
    cx.scope.feeds = feeds
        .iter()
        .map(|f| (f.name.clone(), f.columns.clone()))
        .collect();
    // Feeds have at least one row (an empty data file is refused).
    cx.scope.samples = feeds
        .iter()
        .filter_map(|f| Some((f.name.clone(), f.rows.first()?.clone())))
        .collect();
    let defaults = Defaults {
        headers: headers(cx, "defaults.headers", &raw.defaults.headers)?,
        timeout,
    };
    if raw.requests.is_empty() && raw.scenarios.is_empty() {
        return Err(cx.err(
            "requests",
            None,
            "no requests or scenarios: expected at least one entry like `requests: [ { get: /health } ]`",
        ));
    }
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut add = |cx: &Ctx<'_>, endpoint: Endpoint, key: &str, at: Location| {
        if endpoints.iter().any(|e| e.name == endpoint.name) {
            return Err(cx.err(
                format!("{key}.name"),
                Some(at),
                &format!(
                    "duplicate endpoint name `{}`: expected every request and step to have its own `name`",
                    endpoint.name
                ),
            ));
        }
        endpoints.push(endpoint);
        Ok(endpoints.len() - 1)
    };
    for (i, request) in raw.requests.iter().enumerate() {
        let key = format!("requests[{i}]");
        reject_think_time(cx, &key, request)?;
        let endpoint = validate_request(cx, &key, request, &defaults)?;
        if let Some(e) = endpoint.extract.first() {
            return Err(cx.err(
                format!("{key}.extract.{}", e.name),
                Some(request.referenced),
                "a plain request has no later step to use an extracted value: expected `extract` in a scenario step or in `setup`",
            ));
        }
        let at = name_location(request);
        let (name, weight) = (endpoint.name.clone(), endpoint.weight);
        let index = add(cx, endpoint, &key, at)?;
        scenarios.push(Scenario {
            name,
            weight,
            steps: vec![index],
            journey: false,
        });
    }
    for (i, scenario) in raw.scenarios.iter().enumerate() {
        let key = format!("scenarios[{i}]");
        let sc = &scenario.value;
        let name = sc.name.value.trim().to_string();
        if name.is_empty() {
            return Err(cx.err(
                format!("{key}.name"),
                Some(sc.name.referenced),
                "empty name: expected text like `checkout`",
            ));
        }
        if scenarios.iter().any(|s| s.journey && s.name == name) {
            return Err(cx.err(
                format!("{key}.name"),
                Some(sc.name.referenced),
                &format!("duplicate scenario name `{name}`: expected every scenario to have its own `name`"),
            ));
        }
        let weight = sc.weight.unwrap_or(1);
        if weight == 0 {
            return Err(cx.err(
                format!("{key}.weight"),
                Some(scenario.referenced),
                "weight 0: expected at least 1 (remove the scenario to disable it)",
            ));
        }
        if sc.steps.is_empty() {
            return Err(cx.err(
                format!("{key}.steps"),
                Some(scenario.referenced),
                "a scenario without steps: expected at least one request under `steps`",
            ));
        }
        cx.scope.vars.clone_from(&setup_vars);
        let mut steps = Vec::new();
        for (j, step) in sc.steps.iter().enumerate() {
            let step_key = format!("{key}.steps[{j}]");
            if step.value.weight.is_some() {
                return Err(cx.err(
                    format!("{step_key}.weight"),
                    Some(step.referenced),
                    "steps run in order and have no weight: expected `weight` on the scenario",
                ));
            }
            let endpoint = validate_request(cx, &step_key, step, &defaults)?;
            cx.scope
                .vars
                .extend(endpoint.extract.iter().map(|e| e.name.clone()));
            steps.push(add(cx, endpoint, &step_key, name_location(step))?);
        }
        scenarios.push(Scenario {
            name,
            weight,
            steps,
            journey: true,
        });
    }
    cx.scope = Scope {
        vars: setup_vars,
        ..Scope::default()
    };
    Ok(Requests {
        setup,
        endpoints,
        scenarios,
    })
}

fn name_location(request: &Spanned<RawRequest>) -> Location {
    request
        .value
        .name
        .as_ref()
        .map_or(request.referenced, |n| n.referenced)
}

/// A plain request's pause belongs to the load (`load.think_time`), not to a step.
fn reject_think_time(
    cx: &Ctx<'_>,
    key: &str,
    request: &Spanned<RawRequest>,
) -> Result<(), ProfileError> {
    match &request.value.think_time {
        Some(t) => Err(cx.err(
            format!("{key}.think_time"),
            Some(t.referenced),
            "`think_time` on a plain request: expected it under `load` (closed model), or on a scenario step",
        )),
        None => Ok(()),
    }
}
