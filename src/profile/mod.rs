//! Load profiles: YAML → raw serde types → validated [`Profile`].
//!
//! The only module that knows YAML. Parsing is pure: text in, profile or error out. The app
//! layer reads the profile file; data feeds come in through [`DataFiles`] and the environment
//! variables templates read (`{{ env.NAME }}`) through [`EnvVars`] (an unset one is an error
//! unless the command reads the profile for its settings only). Every error names the file, line and column where known, the key path,
//! and what was expected ([`ProfileError`]).

mod environment;
mod error;
mod fast;
mod feeds;
mod functions;
mod json_path;
mod model;
mod raw;
mod requests;
mod search;
mod template;
pub mod units;
pub mod url;
mod validate;

use std::cell::RefCell;

pub use environment::{EnvVars, NoEnvVars};
pub use error::ProfileError;
pub use feeds::{DataFiles, NoDataFiles};
pub use functions::random_uuid;
pub use json_path::{JsonPath, JsonValues};
pub use model::{
    Auth, Body, Check, Comparison, Confirm, Endpoint, ExtractSource, Extraction, Feed, FeedMode,
    GateConfig, Growth, HeaderExpect, HttpOptions, HttpVersion, JsonExpect, JsonPiece, Limit, Load,
    LoadModel, Model, PairedConfig, PairedSchedule, Profile, Quantile, Scenario, Search, Segment,
    ThinkTime, Threshold, ThresholdScope, WaitFor, arrivals_in,
};
pub use raw::{RawProfile, StatusPattern};
pub use template::{Scope, Templates, Text};
pub use url::check_target;

impl Profile {
    /// Parses and validates profile text; `file` names it in messages. A profile with data
    /// feeds needs [`Profile::from_yaml_with_files`].
    pub fn from_yaml(text: &str, file: &str) -> Result<Profile, ProfileError> {
        Self::from_yaml_with_files(text, file, &NoDataFiles, &NoEnvVars)
    }

    /// Parses and validates profile text, reading data files through `files` and the
    /// environment variables templates read through `env`.
    pub fn from_yaml_with_files(
        text: &str,
        file: &str,
        files: &dyn DataFiles,
        env: &dyn EnvVars,
    ) -> Result<Profile, ProfileError> {
        let raw = parse(text, file)?;
        validate::validate(&raw, file, files, env, Templates::new())
    }

    /// Parses and validates profile text for its settings only (gate, thresholds, names), as
    /// `compare` and `report` need them: the same checks, except that environment variables the
    /// templates read need not be set (see [`Templates::for_settings`]). Such a profile is not
    /// for running: its secrets stand in empty.
    pub fn settings_from_yaml_with_files(
        text: &str,
        file: &str,
        files: &dyn DataFiles,
        env: &dyn EnvVars,
    ) -> Result<Profile, ProfileError> {
        let raw = parse(text, file)?;
        validate::validate(&raw, file, files, env, Templates::for_settings())
    }

    /// The JSON Schema of the profile format (for editors and `loadgate schema`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RawProfile)).expect("schema serializes")
    }

    /// The top-level `name` of profile text that may be invalid otherwise (unknown keys, bad
    /// values, even a YAML error elsewhere): what finds a failed run's sticky comment and
    /// baseline. `None` when no plain `name:` line can be read.
    pub fn name_of(text: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct NameOnly {
            name: Option<String>,
        }
        let parsed = serde_saphyr::from_str::<NameOnly>(text)
            .ok()
            .and_then(|p| p.name);
        parsed
            .or_else(|| {
                // Broken YAML elsewhere: a top-level `name: value` line still names the profile.
                text.lines().find_map(|line| {
                    let value = line.strip_prefix("name:")?;
                    let value = value.split(" #").next().unwrap_or(value).trim();
                    let unquoted = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                        .unwrap_or(value);
                    Some(unquoted.to_string())
                })
            })
            .filter(|name| !name.trim().is_empty())
    }

    /// Index of the endpoint called `name`.
    pub fn endpoint_index(&self, name: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.name == name)
    }
}

fn parse(text: &str, file: &str) -> Result<RawProfile, ProfileError> {
    if text.trim().is_empty() {
        return Err(
            ProfileError::new(file, "", "the profile is empty").expected(
                "expected a YAML mapping with `name`, `load` and `requests` (see `loadgate init`)",
            ),
        );
    }
    raw::take_open_keys();
    let failure: RefCell<Option<(String, Option<serde_saphyr::Location>)>> = RefCell::new(None);
    let options = serde_saphyr::options! { with_snippet: false };
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = path_with_keys(e.path(), raw::take_open_keys());
            let inner = e.into_inner();
            *failure.borrow_mut() = Some((path, inner.location()));
            inner
        })
    });
    parsed.map_err(|e| {
        let syntax = |e: &serde_saphyr::Error| {
            matches!(
                e,
                serde_saphyr::Error::ExternalMessage { .. } | serde_saphyr::Error::Eof { .. }
            )
        };
        if !syntax(&e) {
            // The profile's types are read as the parser goes: a value of the wrong shape
            // (`name: [unclosed`) can stop it before it reaches malformed YAML further on.
            // Malformed YAML is the error to report then, at its own position.
            let options = serde_saphyr::options! { with_snippet: false };
            if let Err(broken) =
                serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(text, options)
                && syntax(&broken)
            {
                return yaml_error(file, &broken, "", broken.location());
            }
        }
        let (path, location) = failure
            .take()
            .unwrap_or_else(|| (String::new(), e.location()));
        let location = location.or_else(|| e.location());
        yaml_error(file, &e, &path, location)
    })
}

/// The profile error for a YAML or type error at `path` (as serde_path_to_error writes it).
fn yaml_error(
    file: &str,
    e: &serde_saphyr::Error,
    path: &str,
    location: Option<serde_saphyr::Location>,
) -> ProfileError {
    let (mut problem, mut expected, hint) = error::humanize(&e.to_string());
    if expected.is_none()
        && matches!(
            e,
            serde_saphyr::Error::ExternalMessage { .. } | serde_saphyr::Error::Eof { .. }
        )
    {
        // The YAML itself is malformed (the parser's message names the token).
        expected = Some(
            "expected well-formed YAML: check the indentation, quotes and closing brackets at or just before this position"
                .into(),
        );
    }
    let mut key = clean_path(path);
    if problem == error::NOT_A_MAPPING && !key.is_empty() {
        // Below the top level, a list or a value where keys belong.
        problem = "wrong type".into();
        expected = Some(format!(
            "expected keys and values under `{key}`, like `{key}: {{ … }}` (see `loadgate schema profile`)"
        ));
    }
    if problem.starts_with("unknown key") {
        // The path ends with the unknown key itself; name where it was found instead.
        key = key
            .rsplit_once('.')
            .map(|(parent, _)| parent.to_string())
            .unwrap_or_default();
    }
    let mut err = ProfileError::new(file, key, problem);
    err.expected = expected;
    err.hint = hint;
    match location {
        Some(l) => err.located(l),
        None => err,
    }
}

/// The error path as serde_path_to_error writes it, with the `?` of each map key it could not
/// see replaced by the key (`keys`, outermost first, from [`raw::take_open_keys`]) when they
/// correspond one to one.
fn path_with_keys(path: &serde_path_to_error::Path, keys: Vec<String>) -> String {
    use serde_path_to_error::Segment;
    let unknown = path
        .iter()
        .filter(|s| matches!(s, Segment::Unknown))
        .count();
    if unknown == 0 || unknown != keys.len() {
        return path.to_string();
    }
    let mut keys = keys.into_iter();
    let mut out = String::new();
    for (i, segment) in path.iter().enumerate() {
        if i > 0 && !matches!(segment, Segment::Seq { .. }) {
            out.push('.');
        }
        match segment {
            Segment::Unknown => out.push_str(&keys.next().unwrap_or_else(|| "?".into())),
            other => out.push_str(&other.to_string()),
        }
    }
    out
}

/// serde_path_to_error writes `?` for unknown positions and `.` for the root, and shows the
/// `value` field of serde-saphyr's `Spanned` wrapper, which is not a key of the profile.
fn clean_path(path: &str) -> String {
    let p = path.trim_end_matches(".?").trim_end_matches('?');
    if p == "." {
        return String::new();
    }
    let cleaned = p.replace(".value.", ".");
    cleaned
        .strip_suffix(".value")
        .unwrap_or(&cleaned)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_of_an_invalid_profile_is_still_read() {
        let cases = [
            (
                "version: 1\nname: checkout\nunknown_key: 3\n",
                Some("checkout"),
            ),
            ("name: 'quoted name'\nload: [", Some("quoted name")),
            (
                "load: {\nname: \"broken yaml\" # comment\n",
                Some("broken yaml"),
            ),
            ("requests:\n  - name: not the profile\n", None),
            ("name: \"\"\n", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(Profile::name_of(text).as_deref(), expected, "{text:?}");
        }
    }
}
