//! JSON bodies (`json`): literal text and the templated fields rendered into it.

use serde_saphyr::Location;

use crate::profile::error::ProfileError;
use crate::profile::model::JsonPiece;
use crate::profile::template::{Text, is_template, sole_expression};
use crate::profile::validate::Ctx;

/// Compiles a JSON body into literal text and rendered fields (see [`JsonPiece`]).
pub(super) fn json_pieces(
    cx: &mut Ctx<'_>,
    key: &str,
    value: &serde_json::Value,
    at: Location,
) -> Result<(Vec<JsonPiece>, bool), ProfileError> {
    #[allow(clippy::too_many_arguments)]
    fn walk(
        cx: &mut Ctx<'_>,
        key: &str,
        v: &serde_json::Value,
        at: Location,
        buf: &mut String,
        out: &mut Vec<JsonPiece>,
        contextual: &mut bool,
    ) -> Result<(), ProfileError> {
        match v {
            serde_json::Value::String(s) if is_template(s) => {
                if !buf.is_empty() {
                    out.push(JsonPiece::Raw(std::mem::take(buf)));
                }
                let piece = match sole_expression(s) {
                    Some(expr) => {
                        let (id, reads_context) = cx
                            .templates
                            .json_expression(expr, &cx.scope, cx.env)
                            .map_err(|m| cx.err(key, Some(at), &m))?;
                        *contextual |= reads_context;
                        JsonPiece::Native(id)
                    }
                    None => match cx.templates.text(s, &cx.scope, cx.env) {
                        Ok(Text::Template {
                            id, contextual: c, ..
                        }) => {
                            *contextual |= c;
                            JsonPiece::Str(id)
                        }
                        Ok(Text::Literal(_)) => unreachable!("is_template was true"),
                        Err(m) => {
                            return Err(cx.err(key, Some(at), &m));
                        }
                    },
                };
                out.push(piece);
            }
            serde_json::Value::Object(map) => {
                buf.push('{');
                for (n, (k, child)) in map.iter().enumerate() {
                    if n > 0 {
                        buf.push(',');
                    }
                    buf.push_str(&serde_json::to_string(k).expect("strings serialize"));
                    buf.push(':');
                    walk(cx, &format!("{key}.{k}"), child, at, buf, out, contextual)?;
                }
                buf.push('}');
            }
            serde_json::Value::Array(items) => {
                buf.push('[');
                for (n, child) in items.iter().enumerate() {
                    if n > 0 {
                        buf.push(',');
                    }
                    walk(cx, &format!("{key}[{n}]"), child, at, buf, out, contextual)?;
                }
                buf.push(']');
            }
            other => buf.push_str(&serde_json::to_string(other).expect("JSON values serialize")),
        }
        Ok(())
    }
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut contextual = false;
    walk(cx, key, value, at, &mut buf, &mut out, &mut contextual)?;
    if !buf.is_empty() {
        out.push(JsonPiece::Raw(buf));
    }
    Ok((out, contextual))
}
