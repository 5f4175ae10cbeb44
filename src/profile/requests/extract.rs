//! Extractions (`extract`): values captured from a response into `vars` for later steps.

use http::HeaderName;
use serde_saphyr::Spanned;

use crate::profile::error::ProfileError;
use crate::profile::json_path::JsonPath;
use crate::profile::model::{ExtractSource, Extraction};
use crate::profile::raw::{Pairs, RawExtract};
use crate::profile::validate::Ctx;

use super::check::compile_regex;

pub(super) fn validate_extract(
    cx: &Ctx<'_>,
    key: &str,
    raw: &Pairs<Spanned<String>, Spanned<RawExtract>>,
) -> Result<Vec<Extraction>, ProfileError> {
    let mut out = Vec::new();
    for (name, spec) in raw.iter() {
        let at = Some(spec.referenced);
        let k = format!("{key}.{}", name.value);
        let ident = !name.value.is_empty()
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.value.starts_with(|c: char| c.is_ascii_digit());
        if !ident {
            return Err(cx.err(
                &k,
                Some(name.referenced),
                &format!("invalid variable name `{}`: expected letters, digits and `_` (it is used as `{{{{ vars.NAME }}}}`)", name.value),
            ));
        }
        let s = &spec.value;
        let source = match (&s.json, &s.header, &s.regex) {
            (Some(path), None, None) => {
                ExtractSource::Json(JsonPath::parse(path).map_err(|m| cx.err(&k, at, &m))?)
            }
            (None, Some(header), None) => ExtractSource::Header(
                HeaderName::from_bytes(header.trim().to_ascii_lowercase().as_bytes()).map_err(
                    |_| {
                        cx.err(
                            &k,
                            at,
                            &format!(
                                "invalid header name `{header}`: expected letters, digits and `-`"
                            ),
                        )
                    },
                )?,
            ),
            (None, None, Some(pattern)) => {
                ExtractSource::Regex(compile_regex(pattern).map_err(|m| cx.err(&k, at, &m))?)
            }
            _ => {
                return Err(cx.err(
                    &k,
                    at,
                    "extraction needs exactly one source: expected one of `json: /path`, `header: name` or `regex: '…'`",
                ));
            }
        };
        out.push(Extraction {
            name: name.value.clone(),
            source,
        });
    }
    Ok(out)
}
