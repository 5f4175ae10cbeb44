//! `RawProfile` → `Profile`: every rule the types alone cannot express, each failure naming the
//! key path and position and saying what was expected.

use std::fmt::Write as _;
use std::time::Duration;

use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};

use super::error::{ProfileError, did_you_mean};
use super::feeds::{DataFiles, validate_feeds};
use super::model::{
    Auth, Body, Confirm, Endpoint, Feed, GateConfig, HttpOptions, HttpVersion, JsonExpect, Limit,
    Load, LoadModel, PairedSchedule, Profile, Quantile, Scenario, Segment, ThinkTime, Threshold,
    ThresholdScope, WaitFor,
};
use super::raw::{
    Pairs, RawAuth, RawConfirm, RawGate, RawHttpVersion, RawLevel, RawLoad, RawModel,
    RawPairedSchedule, RawProfile, RawRequest, RawStage, RawThreshold,
};
use super::requests::{Defaults, headers, validate_request};
use super::search;
use super::template::{Scope, Templates, Text};
use super::units::{format_duration, parse_duration, parse_rate};
use super::url::{check_path_or_url, check_protocol, check_target};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_IN_FLIGHT: u64 = 1000;
/// Highest arrival rate a profile may ask for, all shards together (per second).
pub const MAX_RATE_PER_SEC: f64 = 1_000_000.0;
/// Most users a profile may ask for, all shards together.
pub const MAX_USERS: u64 = 100_000;
/// Shortest stage (or step of `steps`): shorter ones are typos for longer units.
pub const MIN_STAGE: Duration = Duration::from_millis(100);
/// Longest run, warm-up included.
pub const MAX_RUN: Duration = Duration::from_secs(7 * 86_400);
/// Range of request and connect timeouts.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(600));
/// Most recording intervals in one run (see `validate_load`).
pub const MAX_INTERVALS: u32 = 900;

pub(super) struct Ctx<'a> {
    pub file: &'a str,
    pub templates: Templates,
    /// Names templates may read at the point being validated.
    pub scope: Scope,
    /// The protocol asked for (absolute URLs must allow it).
    pub http_version: HttpVersion,
}

impl Ctx<'_> {
    pub fn err(&self, key: impl Into<String>, at: Option<Location>, message: &str) -> ProfileError {
        let e = ProfileError::new(self.file, key, "").with_message(message);
        match at {
            Some(l) => e.located(l),
            None => e,
        }
    }

    pub fn text(&mut self, key: &str, value: &Spanned<String>) -> Result<Text, ProfileError> {
        self.templates
            .text(&value.value, &self.scope)
            .map_err(|m| self.err(key, Some(value.referenced), &m))
    }

    pub fn pairs(
        &mut self,
        key: &str,
        pairs: &Pairs<String, Spanned<String>>,
    ) -> Result<Vec<(String, Text)>, ProfileError> {
        pairs
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.text(&format!("{key}.{k}"), v)?)))
            .collect()
    }
}

/// Validates a parsed profile; data files are read through `files`.
pub(super) fn validate(
    raw: &RawProfile,
    file: &str,
    files: &dyn DataFiles,
    templates: Templates,
) -> Result<Profile, ProfileError> {
    let mut cx = Ctx {
        file,
        templates,
        scope: Scope::default(),
        http_version: HttpVersion::Auto,
    };
    if let Some(v) = &raw.version
        && v.value != 1
    {
        let v = v.value;
        return Err(cx.err(
            "version",
            raw.version.as_ref().map(|v| v.referenced),
            &format!("unsupported profile version `{v}`: expected `1` (the only version this loadgate reads)"),
        ));
    }
    let name = validate_name(&cx, &raw.name)?;
    let target = raw
        .target
        .as_ref()
        .map(|t| {
            check_target(&t.value)
                .map_err(|m| cx.err("target", Some(t.referenced), &m))
                .map(|()| t.value.trim().to_string())
        })
        .transpose()?;
    let wait_for = match &raw.wait_for {
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
    let http = HttpOptions {
        version: match raw.http.version.unwrap_or(RawHttpVersion::Auto) {
            RawHttpVersion::Auto => HttpVersion::Auto,
            RawHttpVersion::Http1 => HttpVersion::Http1,
            RawHttpVersion::Http2 => HttpVersion::Http2,
            RawHttpVersion::H2c => HttpVersion::H2c,
        },
        insecure_tls: raw.http.insecure_tls,
        connect_timeout: raw
            .http
            .connect_timeout
            .as_ref()
            .map_or(Duration::from_secs(5), |d| d.value.0),
        source_addresses: raw
            .http
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
            .http
            .connections
            .as_ref()
            .is_some_and(|c| c.value == super::raw::RawConnections::PerUser),
    };
    check_timeout(http.connect_timeout).map_err(|m| {
        let at = raw.http.connect_timeout.as_ref().map(|t| t.referenced);
        cx.err("http.connect_timeout", at, &m)
    })?;
    cx.http_version = http.version;
    if let (Some(t), Some(raw_target)) = (&target, &raw.target) {
        check_protocol(http.version, t)
            .map_err(|m| cx.err("http.version", Some(raw_target.referenced), &m))?;
    }
    let mut load = validate_load(&cx, &raw.load.value, raw.load.referenced)?;
    if let Some(c) = &raw.http.connections
        && c.value == super::raw::RawConnections::PerUser
        && load.model != LoadModel::Closed
    {
        return Err(cx.err(
            "http.connections",
            Some(c.referenced),
            "`per_user` applies to the closed model's users (`load.model: closed`): the open model has no users; remove it, or bound the connections with `load.max_in_flight`",
        ));
    }
    let feeds = validate_feeds(&cx, &raw.data, files, &load)?;

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
        headers: headers(&mut cx, "defaults.headers", &raw.defaults.headers).unwrap_or_default(),
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
        let endpoint = validate_request(&mut cx, &format!("setup[{i}]"), step, &setup_defaults)?;
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
        headers: headers(&mut cx, "defaults.headers", &raw.defaults.headers)?,
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
        reject_think_time(&cx, &key, request)?;
        let endpoint = validate_request(&mut cx, &key, request, &defaults)?;
        if let Some(e) = endpoint.extract.first() {
            return Err(cx.err(
                format!("{key}.extract.{}", e.name),
                Some(request.referenced),
                "a plain request has no later step to use an extracted value: expected `extract` in a scenario step or in `setup`",
            ));
        }
        let at = name_location(request);
        let (name, weight) = (endpoint.name.clone(), endpoint.weight);
        let index = add(&cx, endpoint, &key, at)?;
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
            let endpoint = validate_request(&mut cx, &step_key, step, &defaults)?;
            cx.scope
                .vars
                .extend(endpoint.extract.iter().map(|e| e.name.clone()));
            steps.push(add(&cx, endpoint, &step_key, name_location(step))?);
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
    let auth = validate_auth(&mut cx, raw.auth.as_ref())?;
    let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    let thresholds = validate_thresholds(&cx, &raw.thresholds, &names)?;
    search::check_slo(
        &cx,
        &mut load,
        &thresholds,
        &raw.load.value,
        &raw.thresholds,
    )?;
    let gate = validate_gate(&cx, &raw.gate, &names, load.interval)?;
    let hash = profile_hash(&http, &load, &endpoints, &scenarios, &feeds, &thresholds);
    Ok(Profile {
        name,
        target,
        wait_for,
        http,
        load,
        endpoints,
        scenarios,
        feeds,
        setup,
        auth,
        thresholds,
        gate,
        hash,
        templates: cx.templates,
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

fn validate_auth(
    cx: &mut Ctx<'_>,
    raw: Option<&Spanned<RawAuth>>,
) -> Result<Option<Auth>, ProfileError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    // What `auth` sends is a secret by definition: one too short to mask is refused (the
    // engine refuses one that `vars` make too short when setup has run).
    let maskable = |cx: &mut Ctx<'_>, key: &str, what: &str, value: &Spanned<String>| {
        let text = cx.text(key, value)?;
        let sample = cx.templates.sample(&text, &cx.scope);
        if sample.is_some_and(|v| !crate::secrets::Secrets::default().add(&v)) {
            return Err(cx.err(
                key,
                Some(value.referenced),
                &format!(
                    "the `auth` {what} is shorter than {} characters, too short to be masked in outputs: expected a real credential (from an environment variable, like `\"{{{{ env.API_TOKEN }}}}\"`)",
                    crate::secrets::Secrets::MIN_LEN
                ),
            ));
        }
        Ok(text)
    };
    match (&raw.value.basic, &raw.value.bearer) {
        (Some(basic), None) => Ok(Some(Auth::Basic {
            username: cx.text("auth.basic.username", &basic.username)?,
            password: maskable(
                cx,
                "auth.basic.password",
                "basic password",
                &basic.password,
            )?,
        })),
        (None, Some(token)) => Ok(Some(Auth::Bearer(maskable(
            cx,
            "auth.bearer",
            "bearer token",
            token,
        )?))),
        _ => Err(cx.err(
            "auth",
            Some(raw.referenced),
            "`auth` needs exactly one method: expected `basic: { username, password }` or `bearer: TOKEN`",
        )),
    }
}

fn validate_name(cx: &Ctx<'_>, name: &Spanned<String>) -> Result<String, ProfileError> {
    let n = name.value.trim();
    let ok = !n.is_empty()
        && n.len() <= 100
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !n.starts_with('.');
    if !ok {
        return Err(cx.err(
            "name",
            Some(name.referenced),
            &format!("invalid name `{n}`: expected letters, digits, `-`, `_` or `.` (it names `baselines/<name>.json`)"),
        ));
    }
    Ok(n.to_string())
}

/// A request or connect timeout must be within [`TIMEOUT_RANGE`].
pub(super) fn check_timeout(timeout: Duration) -> Result<(), String> {
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

fn validate_load(cx: &Ctx<'_>, raw: &RawLoad, at: Location) -> Result<Load, ProfileError> {
    let model = match raw.model.as_ref().map(|m| m.value) {
        None | Some(RawModel::Open | RawModel::Search) => LoadModel::Open,
        Some(RawModel::Closed) => LoadModel::Closed,
    };
    let searching = raw
        .model
        .as_ref()
        .is_some_and(|m| m.value == RawModel::Search);
    // Where a key was written, or else the `load` section.
    let pos = |s: Option<Location>| Some(s.unwrap_or(at));
    let interval = raw
        .interval
        .as_ref()
        .map_or(Duration::from_secs(1), |d| d.value.0);
    if interval < Duration::from_millis(100) || interval > Duration::from_secs(60) {
        return Err(cx.err(
            "load.interval",
            pos(raw.interval.as_ref().map(|d| d.referenced)),
            &format!(
                "interval `{}` out of range: expected between `100ms` and `60s`",
                format_duration(interval)
            ),
        ));
    }
    let mut search = match (&raw.search, searching) {
        (Some(s), true) => Some(search::settings(cx, s, raw)?),
        (None, true) => {
            return Err(cx.err(
                "load",
                pos(raw.model.as_ref().map(|m| m.referenced)),
                "`model: search` without a `search` section: expected the search's start and hard caps, like `search: { start: 50/s, max_rate: 2000/s, max_duration: 10m }`",
            ));
        }
        (Some(s), false) => {
            return Err(cx.err(
                "load.search",
                Some(s.referenced),
                "`search` applies to a capacity search: expected `model: search`, or remove `search`",
            ));
        }
        (None, false) => None,
    };
    let mut segments = Vec::new();
    // The longest the schedule may last: the stages, or a search's duration cap.
    let mut t = Duration::ZERO;
    if let Some(s) = &search {
        t = s.max_duration;
    } else {
        if raw.stages.is_empty() {
            return Err(cx.err(
                "load.stages",
                Some(at),
                "no stages: expected at least one, like `- { duration: 30s, rate: 50/s }`",
            ));
        }
        let mut level = 0.0;
        for (i, stage) in raw.stages.iter().enumerate() {
            let key = format!("load.stages[{i}]");
            for (duration, from, to) in
                stage_segments(cx, &key, &stage.value, stage.referenced, model, level)?
            {
                segments.push(Segment {
                    start: t,
                    duration,
                    from,
                    to,
                });
                t += duration;
                level = to;
            }
        }
        if t.is_zero() {
            return Err(cx.err(
                "load.stages",
                Some(at),
                "the stages last `0s`: expected a total duration above zero",
            ));
        }
    }
    if t > MAX_RUN {
        return Err(cx.err(
            "load.stages",
            Some(at),
            &format!(
                "the stages last `{}`: expected at most `{}` in one run",
                format_duration(t),
                format_duration(MAX_RUN)
            ),
        ));
    }
    // Memory and file size stay bounded whatever the run length: a long run records at a
    // whole multiple of the interval, so it never holds more than MAX_INTERVALS of them.
    let needed = t.as_nanos().div_ceil(u128::from(MAX_INTERVALS));
    let factor = needed.div_ceil(interval.as_nanos()).max(1);
    let interval = interval * u32::try_from(factor).unwrap_or(u32::MAX);
    let warmup_raw = raw.warmup.as_ref().map_or(Duration::ZERO, |d| d.value.0);
    // Warm-up ends on an interval boundary so every interval is wholly in or out of it.
    let intervals = warmup_raw.as_nanos().div_ceil(interval.as_nanos());
    let warmup = interval * u32::try_from(intervals).unwrap_or(u32::MAX);
    if let Some(s) = &mut search {
        let at = raw.search.as_ref().map_or(at, |s| {
            s.value
                .max_duration
                .as_ref()
                .map_or(s.referenced, |d| d.referenced)
        });
        segments = search::ladder(cx, s, warmup, interval, at)?;
    } else if warmup >= t {
        return Err(cx.err(
            "load.warmup",
            pos(raw.warmup.as_ref().map(|d| d.referenced)),
            &format!(
                "warm-up `{}` is not shorter than the whole run `{}`: expected time left to measure",
                format_duration(warmup),
                format_duration(t)
            ),
        ));
    }
    let closed_only = |key: &str, where_: Option<Location>| {
        cx.err(
            format!("load.{key}"),
            pos(where_),
            &format!(
                "`{key}` applies to the closed model: expected `model: closed`, or remove `{key}`"
            ),
        )
    };
    let think_time = match (&raw.think_time, model) {
        (None, _) => ThinkTime::default(),
        (Some(s), LoadModel::Open) => return Err(closed_only("think_time", Some(s.referenced))),
        (Some(s), LoadModel::Closed) => parse_think_time(&s.value)
            .map_err(|m| cx.err("load.think_time", Some(s.referenced), &m))?,
    };
    if let (Some(r), LoadModel::Open) = (&raw.spawn_rate, model) {
        return Err(closed_only("spawn_rate", Some(r.referenced)));
    }
    if let (Some(m), LoadModel::Closed) = (&raw.max_in_flight, model) {
        return Err(cx.err(
            "load.max_in_flight",
            Some(m.referenced),
            "`max_in_flight` applies to the open model: expected it removed (the closed model's users bound what is in flight)",
        ));
    }
    let max_in_flight = raw
        .max_in_flight
        .as_ref()
        .map_or(DEFAULT_MAX_IN_FLIGHT, |m| m.value);
    if max_in_flight == 0 {
        return Err(cx.err(
            "load.max_in_flight",
            pos(raw.max_in_flight.as_ref().map(|m| m.referenced)),
            "`max_in_flight` is 0: expected at least 1",
        ));
    }
    let spawn_rate = match &raw.spawn_rate {
        Some(r) if r.value.0 <= 0.0 => {
            return Err(cx.err(
                "load.spawn_rate",
                Some(r.referenced),
                "`spawn_rate` is zero: expected a rate like `10/s`",
            ));
        }
        r => r.as_ref().map(|r| r.value.0),
    };
    let load = Load {
        model,
        warmup,
        interval,
        segments,
        max_in_flight,
        think_time,
        spawn_rate,
        search,
    };
    let nothing = match model {
        LoadModel::Open if load.total_arrivals() == 0 => Some(
            "the stages plan no requests (their rates add up to less than one arrival): expected a rate above zero, like `rate: 10/s`",
        ),
        LoadModel::Closed if load.peak_level() < 1.0 => {
            Some("the stages plan no users: expected at least one, like `users: 10`")
        }
        _ => None,
    };
    if let Some(message) = nothing {
        return Err(cx.err("load.stages", Some(at), message));
    }
    Ok(load)
}

/// A stage's pieces: (duration, from, to).
type Piece = (Duration, f64, f64);

fn stage_segments(
    cx: &Ctx<'_>,
    key: &str,
    stage: &RawStage,
    at: Location,
    model: LoadModel,
    previous: f64,
) -> Result<Vec<Piece>, ProfileError> {
    let err = |key: String, message: &str| cx.err(key, Some(at), message);
    let kinds = [
        ("rate", stage.rate.is_some()),
        ("users", stage.users.is_some()),
        ("ramp_to", stage.ramp_to.is_some()),
        ("steps", stage.steps.is_some()),
    ];
    let present: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
    let level_key = match model {
        LoadModel::Open => "rate",
        LoadModel::Closed => "users",
    };
    match present.as_slice() {
        [] => {
            return Err(err(
                key.into(),
                &format!(
                    "stage sets no level: expected one of `{level_key}`, `ramp_to` or `steps`"
                ),
            ));
        }
        [_] => {}
        many => {
            return Err(err(
                key.into(),
                &format!(
                    "stage sets {}: expected exactly one of `{level_key}`, `ramp_to` or `steps`",
                    many.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
    }
    if stage.rate.is_some() && model == LoadModel::Closed {
        return Err(err(
            format!("{key}.rate"),
            "`rate` is for the open model: expected `users` with `model: closed`, or remove `model: closed`",
        ));
    }
    if stage.users.is_some() && model == LoadModel::Open {
        return Err(err(
            format!("{key}.users"),
            "`users` is for the closed model: expected `rate` (like `50/s`), or add `model: closed` to `load`",
        ));
    }
    // A level the engine could never produce is a typo or a unit slip, not a plan.
    let bounded = |v: f64, key: String, where_: Location| -> Result<f64, ProfileError> {
        let too_high = match model {
            LoadModel::Open if v > MAX_RATE_PER_SEC => Some(format!(
                "rate `{}` is beyond what loadgate sends: expected at most `{}` (all shards together)",
                format_rate_text(v),
                format_rate_text(MAX_RATE_PER_SEC)
            )),
            LoadModel::Closed if v > MAX_USERS as f64 => Some(format!(
                "`{v:.0}` users are beyond what loadgate runs: expected at most `{MAX_USERS}` (all shards together)"
            )),
            _ => None,
        };
        match too_high {
            Some(m) => Err(cx.err(key, Some(where_), &m)),
            None => Ok(v),
        }
    };
    let level = |l: &Spanned<RawLevel>, key: String| -> Result<f64, ProfileError> {
        match (model, &l.value) {
            (LoadModel::Open, RawLevel::Text(t)) => parse_rate(t)
                .map_err(|m| cx.err(key.clone(), Some(l.referenced), &m))
                .and_then(|v| bounded(v, key, l.referenced)),
            (LoadModel::Open, RawLevel::Count(n)) => Err(cx.err(
                key,
                Some(l.referenced),
                &format!("`{n}` has no unit: expected a rate like `{n}/s` (the open model sends arrivals per second)"),
            )),
            (LoadModel::Closed, RawLevel::Count(n)) => bounded(*n as f64, key, l.referenced),
            (LoadModel::Closed, RawLevel::Text(t)) => Err(cx.err(
                key,
                Some(l.referenced),
                &format!("`{t}` is not a user count: expected a whole number (the closed model runs users)"),
            )),
        }
    };
    if let Some(steps) = &stage.steps {
        if stage.duration.is_some() {
            return Err(err(
                format!("{key}.duration"),
                "`steps` take `hold` (the length of each step), not `duration`: expected `hold: 2m`",
            ));
        }
        let hold = stage
            .hold
            .ok_or_else(|| {
                err(
                    key.into(),
                    "`steps` without `hold`: expected how long each step lasts, like `hold: 2m`",
                )
            })?
            .0;
        if hold < MIN_STAGE {
            return Err(err(format!("{key}.hold"), &too_short(hold)));
        }
        if steps.is_empty() {
            return Err(err(
                format!("{key}.steps"),
                "empty `steps`: expected levels like `[50, 100, 200]`",
            ));
        }
        return steps
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let v = level(s, format!("{key}.steps[{j}]"))?;
                Ok((hold, v, v))
            })
            .collect();
    }
    if stage.hold.is_some() {
        return Err(err(
            format!("{key}.hold"),
            "`hold` belongs to `steps`: expected `duration` for this stage",
        ));
    }
    let duration = stage
        .duration
        .ok_or_else(|| {
            err(
                key.into(),
                "stage without `duration`: expected how long it lasts, like `duration: 30s`",
            )
        })?
        .0;
    if duration < MIN_STAGE {
        return Err(err(format!("{key}.duration"), &too_short(duration)));
    }
    if let Some(r) = stage.rate {
        let r = bounded(r.0, format!("{key}.rate"), at)?;
        return Ok(vec![(duration, r, r)]);
    }
    if let Some(u) = stage.users {
        let u = bounded(u as f64, format!("{key}.users"), at)?;
        return Ok(vec![(duration, u, u)]);
    }
    let ramp = stage.ramp_to.as_ref().expect("one kind is present");
    let to = level(ramp, format!("{key}.ramp_to"))?;
    Ok(vec![(duration, previous, to)])
}

fn too_short(d: Duration) -> String {
    format!(
        "a stage of `{}` is too short to measure: expected at least `{}` (like `30s`)",
        format_duration(d),
        format_duration(MIN_STAGE)
    )
}

/// A rate as a profile writes it (in exponent form when huge).
fn format_rate_text(per_sec: f64) -> String {
    if per_sec >= 1e7 {
        format!("{per_sec:e}/s")
    } else {
        super::units::format_rate(per_sec)
    }
}

pub(super) fn parse_think_time(text: &str) -> Result<ThinkTime, String> {
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (parse_duration(a)?, parse_duration(b)?),
        None => {
            let d = parse_duration(text)?;
            (d, d)
        }
    };
    if max < min {
        return Err(format!(
            "think time `{text}` runs backwards: expected `min..max` like `1s..3s`"
        ));
    }
    Ok(ThinkTime { min, max })
}

fn validate_thresholds(
    cx: &Ctx<'_>,
    raw: &Pairs<Spanned<String>, RawThreshold>,
    names: &[&str],
) -> Result<Vec<Threshold>, ProfileError> {
    let mut out = Vec::new();
    for (scope, t) in raw.iter() {
        let key = format!("thresholds.{}", scope.value);
        let scope_value = if scope.value == "all" {
            ThresholdScope::All
        } else if names.contains(&scope.value.as_str()) {
            ThresholdScope::Endpoint(scope.value.clone())
        } else {
            let mut e = cx.err(
                "thresholds",
                Some(scope.referenced),
                &format!(
                    "unknown endpoint `{}`: expected `all` or a request name ({})",
                    scope.value,
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            if let Some(m) = did_you_mean(&scope.value, names.iter().copied()) {
                e = e.hint(format!("did you mean `{m}`?"));
            }
            return Err(e);
        };
        let mut limits = Vec::new();
        for (q, d) in [
            (0.50, t.p50),
            (0.90, t.p90),
            (0.95, t.p95),
            (0.99, t.p99),
            (0.999, t.p999),
            (1.0, t.max),
        ] {
            if let Some(d) = d {
                limits.push(Limit::Latency {
                    quantile: Quantile(q),
                    max: d.0,
                });
            }
        }
        if let Some(p) = t.error_rate {
            limits.push(Limit::ErrorRate { max_ratio: p.0 });
        }
        if let Some(r) = t.min_rate {
            limits.push(Limit::MinRate { per_sec: r.0 });
        }
        if limits.is_empty() {
            return Err(cx.err(
                key,
                Some(scope.referenced),
                "threshold sets no limit: expected one of `p50`, `p90`, `p95`, `p99`, `p999`, `max`, `error_rate`, `min_rate`",
            ));
        }
        out.push(Threshold {
            scope: scope_value,
            limits,
        });
    }
    Ok(out)
}

fn validate_gate(
    cx: &Ctx<'_>,
    raw: &RawGate,
    names: &[&str],
    interval: Duration,
) -> Result<GateConfig, ProfileError> {
    let mut gate = GateConfig::default();
    if let Some(endpoints) = &raw.endpoints {
        for (i, e) in endpoints.iter().enumerate() {
            if !names.contains(&e.value.as_str()) {
                let mut err = cx.err(
                    format!("gate.endpoints[{i}]"),
                    Some(e.referenced),
                    &format!(
                        "unknown endpoint `{}`: expected a request name ({})",
                        e.value,
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                if let Some(m) = did_you_mean(&e.value, names.iter().copied()) {
                    err = err.hint(format!("did you mean `{m}`?"));
                }
                return Err(err);
            }
        }
        gate.endpoints = Some(endpoints.iter().map(|e| e.value.clone()).collect());
    }
    if let Some(metrics) = &raw.metrics {
        gate.metrics = Vec::new();
        for (label, tolerance) in metrics.iter() {
            let q = Quantile::parse(&label.value).ok_or_else(|| {
                cx.err(
                    "gate.metrics",
                    Some(label.referenced),
                    &format!(
                        "unknown metric `{}`: expected a percentile like `p50`, `p95`, `p99` or `p999`",
                        label.value
                    ),
                )
            })?;
            gate.metrics.push((q, tolerance.0));
        }
        if gate.metrics.is_empty() {
            return Err(cx.err(
                "gate.metrics",
                None,
                "no gated metrics: expected at least one, like `{ p95: 10% }`",
            ));
        }
    }
    if let Some(e) = raw.error_rate {
        gate.error_rate = e.0;
    }
    if let Some(m) = &raw.max_error_rate {
        if !(0.0..1.0).contains(&m.value.0) {
            return Err(cx.err(
                "gate.max_error_rate",
                Some(m.referenced),
                &format!(
                    "`{}%`: expected a share from 0% to below 100%, like `5%` (a run in which every request failed never passes)",
                    m.value.0 * 100.0
                ),
            ));
        }
        gate.max_error_rate = m.value.0;
    }
    if let Some(a) = &raw.alpha {
        if !(a.value > 0.0 && a.value <= 0.5) {
            return Err(cx.err(
                "gate.alpha",
                Some(a.referenced),
                &format!(
                    "alpha `{}` out of range: expected a probability above 0 and at most 0.5, like `0.01`",
                    a.value
                ),
            ));
        }
        gate.alpha = a.value;
    }
    if let Some(n) = &raw.baseline_runs {
        if !(1..=100).contains(&n.value) {
            return Err(cx.err(
                "gate.baseline_runs",
                Some(n.referenced),
                &format!("`{}` baseline runs: expected 1 to 100", n.value),
            ));
        }
        gate.baseline_runs = n.value;
    }
    if let Some(b) = &raw.block {
        let block = b.value.0;
        if block < interval || !block.as_nanos().is_multiple_of(interval.as_nanos()) {
            return Err(cx.err(
                "gate.block",
                Some(b.referenced),
                &format!(
                    "block `{}` is not a whole number of intervals: expected a multiple of `load.interval` ({})",
                    format_duration(block),
                    format_duration(interval)
                ),
            ));
        }
        gate.block = block;
    }
    if let Some(c) = raw.capacity {
        gate.capacity = c.0;
    }
    gate.confirm = raw.confirm.map(|c| match c {
        RawConfirm::On => Confirm::On,
        RawConfirm::Off => Confirm::Off,
    });
    if let Some(paired) = &raw.paired {
        if let Some(n) = &paired.blocks {
            if n.value < 4 || n.value > 100 || n.value % 2 == 1 {
                return Err(cx.err(
                    "gate.paired.blocks",
                    Some(n.referenced),
                    &format!(
                        "`{}` blocks: expected an even number from 4 to 100 (blocks run in the order ABBA, two per target in each round)",
                        n.value
                    ),
                ));
            }
            gate.paired.blocks = n.value;
        }
        if let Some(b) = &paired.block {
            let block = b.value.0;
            if block < interval || !block.as_nanos().is_multiple_of(interval.as_nanos()) {
                return Err(cx.err(
                    "gate.paired.block",
                    Some(b.referenced),
                    &format!(
                        "block `{}` is not a whole number of intervals: expected a multiple of `load.interval` ({})",
                        format_duration(block),
                        format_duration(interval)
                    ),
                ));
            }
            gate.paired.block = Some(block);
        }
        if let Some(schedule) = paired.schedule {
            gate.paired.schedule = match schedule {
                RawPairedSchedule::Alternating => PairedSchedule::Alternating,
                RawPairedSchedule::Simultaneous => PairedSchedule::Simultaneous,
            };
        }
    }
    Ok(gate)
}

/// `sha256:` over what shapes the load, in a canonical JSON form. Keys for features a profile
/// does not use are left out, so adding a feature never changes older profiles' hashes (and
/// never invalidates their baselines).
fn profile_hash(
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
    let mut basis = serde_json::json!({
        "http": format!("{:?}", http.version),
        "load": {
            "model": format!("{:?}", load.model),
            "warmup_ms": load.warmup.as_millis() as u64,
            "interval_ms": load.interval.as_millis() as u64,
            "segments": load.segments.iter().map(|s| [s.start.as_secs_f64(), s.duration.as_secs_f64(), s.from, s.to]).collect::<Vec<_>>(),
            "max_in_flight": load.max_in_flight,
            "think_time_ms": [load.think_time.min.as_millis() as u64, load.think_time.max.as_millis() as u64],
            "spawn_rate": load.spawn_rate,
        },
        "endpoints": endpoints.iter().map(endpoint).collect::<Vec<_>>(),
    });
    if let Some(s) = &load.search {
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
