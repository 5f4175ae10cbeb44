//! Authentication for every load request (`auth`): one method, its secret long enough to mask.

use serde_saphyr::Spanned;

use crate::profile::error::ProfileError;
use crate::profile::model::Auth;
use crate::profile::raw::RawAuth;

use super::Ctx;

pub(super) fn validate_auth(
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
