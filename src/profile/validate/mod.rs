//! `RawProfile` → `Profile`: every rule the types alone cannot express, each failure naming the
//! key path and position and saying what was expected.
//!
//! One submodule per part of the profile: the HTTP client and readiness probe ([`client`]),
//! the load ([`load`]), setup, requests and scenarios ([`scenarios`]), `auth` ([`auth`]),
//! thresholds and the gate ([`gate`]); [`hash`] computes the profile's hash.

mod auth;
mod client;
mod gate;
mod hash;
mod load;
mod scenarios;

use serde_saphyr::{Location, Spanned};

use super::environment::EnvVars;
use super::error::ProfileError;
use super::feeds::{DataFiles, validate_feeds};
use super::model::{HttpVersion, Profile};
use super::raw::{Pairs, RawProfile};
use super::search;
use super::template::{Scope, Templates, Text};
use super::url::{check_protocol, check_target};

pub(super) use client::check_timeout;
pub(super) use load::parse_think_time;

pub(super) struct Ctx<'a> {
    pub file: &'a str,
    /// The environment variables templates read.
    pub env: &'a dyn EnvVars,
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
            .text(&value.value, &self.scope, self.env)
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
    env: &dyn EnvVars,
    templates: Templates,
) -> Result<Profile, ProfileError> {
    let mut cx = Ctx {
        file,
        env,
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
    let wait_for = client::validate_wait_for(&cx, raw.wait_for.as_ref())?;
    let http = client::validate_http(&cx, &raw.http)?;
    cx.http_version = http.version;
    if let (Some(t), Some(raw_target)) = (&target, &raw.target) {
        check_protocol(http.version, t)
            .map_err(|m| cx.err("http.version", Some(raw_target.referenced), &m))?;
    }
    let mut load = load::validate_load(&cx, &raw.load.value, raw.load.referenced)?;
    client::check_connections(&cx, &raw.http, &load)?;
    let feeds = validate_feeds(&cx, &raw.data, files, &load)?;
    let scenarios::Requests {
        setup,
        endpoints,
        scenarios,
    } = scenarios::validate_requests(&mut cx, raw, &feeds)?;
    let auth = auth::validate_auth(&mut cx, raw.auth.as_ref())?;
    let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    let thresholds = gate::validate_thresholds(&cx, &raw.thresholds, &names)?;
    search::check_slo(
        &cx,
        &mut load,
        &thresholds,
        &raw.load.value,
        &raw.thresholds,
    )?;
    let gate = gate::validate_gate(&cx, &raw.gate, &names, load.interval)?;
    let hash = hash::profile_hash(&http, &load, &endpoints, &scenarios, &feeds, &thresholds);
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
