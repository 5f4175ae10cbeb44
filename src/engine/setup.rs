//! The session before the load: `setup` steps (a login, say) run once, in order, through
//! reqwest (off the hot path, where convenience wins). Their extracted values become `vars`
//! for every request, and secrets; `auth` is rendered from them once.

use std::collections::BTreeMap;

use base64::Engine as _;
use http::HeaderValue;
use http_body_util::BodyExt;
use minijinja::Value;

use super::client::{error_chain, reqwest_builder};
use super::request::{ResponseView, evaluate, prepare_all};
use crate::profile::{Auth, Profile};
use crate::secrets::Secrets;

/// What the load starts from.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Values `setup` extracted (`vars.NAME` everywhere).
    pub vars: BTreeMap<String, Value>,
    /// Values to mask in every output.
    pub secrets: Secrets,
    /// The `authorization` header for every load request.
    pub auth: Option<HeaderValue>,
    /// Values that would be secrets but are too short to mask, described by where they come
    /// from (never by value), for a warning.
    pub unmasked: Vec<String>,
}

/// Runs the profile's setup steps against `target` and renders its `auth`.
pub async fn start_session(profile: &Profile, target: &str) -> Result<Session, String> {
    let mut session = Session::default();
    for (name, value) in profile.templates.env_values() {
        if !session.secrets.add(value) {
            session
                .unmasked
                .push(format!("environment variable `{name}`"));
        }
    }
    if !profile.setup.is_empty() {
        run_setup(profile, target, &mut session).await?;
    }
    session.auth = render_auth(profile, &mut session)?;
    Ok(session)
}

async fn run_setup(profile: &Profile, target: &str, session: &mut Session) -> Result<(), String> {
    let client = reqwest_builder(profile.http.insecure_tls)
        .map_err(|e| format!("cannot build the setup client: {e}"))?
        .connect_timeout(profile.http.connect_timeout)
        .build()
        .map_err(|e| format!("cannot build the setup client: {}", error_chain(&e)))?;
    let (steps, origins) = prepare_all(&profile.setup, target, None).await?;
    for (step, endpoint) in steps.iter().zip(&profile.setup) {
        let fail = |why: String| format!("setup step `{}` failed: {why}", endpoint.name);
        let context = Value::from(BTreeMap::from([(
            "vars",
            Value::from(session.vars.clone()),
        )]));
        let request = step
            .build(&profile.templates, &origins[step.origin], true, &context)
            .map_err(fail)?;
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_default();
        let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))
            .map_err(|e| fail(e.to_string()))?;
        let started = std::time::Instant::now();
        let response = tokio::time::timeout(step.timeout, client.execute(request))
            .await
            .map_err(|_| fail(format!("no response within {:?}", step.timeout)))?
            .map_err(|e| fail(error_chain(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| fail(format!("reading the body failed: {e}")))?;
        let view = ResponseView {
            status,
            headers: &headers,
            body: &body,
            latency: started.elapsed(),
        };
        let evaluation = evaluate(step, &view);
        if let Some((class, message)) = evaluation.failure {
            return Err(fail(format!("{class}: {}", session.secrets.mask(&message))));
        }
        for (name, value) in evaluation.vars {
            if !session.secrets.add(&value.to_string()) {
                session.unmasked.push(format!(
                    "`vars.{name}` (extracted by setup step `{}`)",
                    endpoint.name
                ));
            }
            session.vars.insert(name, value);
        }
    }
    Ok(())
}

fn render_auth(profile: &Profile, session: &mut Session) -> Result<Option<HeaderValue>, String> {
    let Some(auth) = &profile.auth else {
        return Ok(None);
    };
    let context = Value::from(BTreeMap::from([(
        "vars",
        Value::from(session.vars.clone()),
    )]));
    let render = |t| {
        profile
            .templates
            .render_text(t, &context)
            .map(std::borrow::Cow::into_owned)
            .map_err(|m| format!("`auth` failed to render: {m}"))
    };
    // What `auth` sends is a secret by definition: one too short to mask is refused.
    let too_short = |what: &str| {
        format!(
            "the `auth` {what} is shorter than {} characters, too short to be masked in outputs: expected a real credential",
            Secrets::MIN_LEN
        )
    };
    let value = match auth {
        Auth::Basic { username, password } => {
            let (user, pass) = (render(username)?, render(password)?);
            if !session.secrets.add(&pass) {
                return Err(too_short("basic password"));
            }
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            // At least 4 characters: the encoding of `user:` plus a password.
            let _ = session.secrets.add(&encoded);
            format!("Basic {encoded}")
        }
        Auth::Bearer(token) => {
            let token = render(token)?;
            if !session.secrets.add(&token) {
                return Err(too_short("bearer token"));
            }
            format!("Bearer {token}")
        }
    };
    HeaderValue::from_str(&value).map(Some).map_err(|_| {
        "`auth` rendered to a value that cannot be a header (line breaks or control characters)"
            .to_string()
    })
}
