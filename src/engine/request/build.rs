//! Building a prepared request for one send: templates rendered, URI, headers and body.

use bytes::Bytes;
use http::{HeaderValue, Request};
use http_body_util::Full;

use super::{PathText, PreparedBody, PreparedEndpoint, absolute};
use crate::engine::client::{Origin, ReqBody};
use crate::profile::{JsonPiece, Templates};

impl PreparedEndpoint {
    /// The origin-form path and query, built in one string: the target's prefix, `path` (what
    /// follows the origin: `/` when empty, `/?q` for a bare query), and the rendered query.
    pub(super) fn path_and_query(
        &self,
        path: &str,
        templates: &Templates,
        ctx: &minijinja::Value,
    ) -> Result<String, String> {
        let mut pq = String::with_capacity(self.prefix.len() + path.len() + 32);
        pq.push_str(&self.prefix);
        if path.is_empty() {
            pq.push('/');
        } else {
            if !path.starts_with('/') {
                pq.push('/');
            }
            pq.push_str(path);
        }
        if !self.query.is_empty() {
            pq.push(if pq.contains('?') { '&' } else { '?' });
            let start = pq.len();
            let mut query = form_urlencoded::Serializer::for_suffix(pq, start);
            for (k, v) in &self.query {
                query.append_pair(k, &templates.render_text(v, ctx)?);
            }
            pq = query.finish();
        }
        Ok(pq)
    }

    /// Builds the request for one send (`h2`: absolute URI; HTTP/1.1: origin form plus `Host`),
    /// rendering templates with `ctx` (the iteration's `vars` and `data`).
    pub fn build(
        &self,
        templates: &Templates,
        origin: &Origin,
        h2: bool,
        ctx: &minijinja::Value,
    ) -> Result<Request<ReqBody>, String> {
        self.build_bytes(templates, origin, h2, ctx)
            .map(|r| r.map(Full::new))
    }

    /// The request with its body as bytes (loadgate's own HTTP/1.1 client writes them).
    pub fn build_bytes(
        &self,
        templates: &Templates,
        origin: &Origin,
        h2: bool,
        ctx: &minijinja::Value,
    ) -> Result<Request<Bytes>, String> {
        let uri = match &self.static_uri {
            Some((origin_form, absolute_form)) => {
                if h2 {
                    absolute_form.clone()
                } else {
                    origin_form.clone()
                }
            }
            None => {
                let pq = match &self.path {
                    PathText::Literal(p) => self.path_and_query(p, templates, ctx)?,
                    PathText::Template { text, strip } => {
                        let full = templates.render_text(text, ctx)?;
                        self.path_and_query(full.get(*strip..).unwrap_or_default(), templates, ctx)?
                    }
                };
                if h2 {
                    absolute(origin, &pq)?
                } else {
                    pq.parse()
                        .map_err(|e| format!("rendered URL `{pq}` is invalid: {e} (use the `urlencode` filter for values)"))?
                }
            }
        };
        let body = match &self.body {
            PreparedBody::Static(b) => b.clone(),
            PreparedBody::Text(t) => Bytes::from(templates.render_text(t, ctx)?.into_owned()),
            PreparedBody::Json(pieces) => Bytes::from(render_json(pieces, templates, ctx)?),
            PreparedBody::Form(fields) => {
                let mut rendered = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    rendered.push((k.as_str(), templates.render_text(v, ctx)?));
                }
                let pairs: Vec<(&str, &str)> =
                    rendered.iter().map(|(k, v)| (*k, v.as_ref())).collect();
                Bytes::from(serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?)
            }
        };
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        *headers = if h2 {
            self.static_headers.clone()
        } else {
            self.h1_headers.clone()
        };
        for (name, text) in &self.dynamic_headers {
            let value = templates.render_text(text, ctx)?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("header `{name}` rendered to an invalid value"))?;
            headers.insert(name.clone(), value);
        }
        Ok(request)
    }
}

fn render_json(
    pieces: &[JsonPiece],
    templates: &Templates,
    ctx: &minijinja::Value,
) -> Result<String, String> {
    let mut out = String::with_capacity(256);
    for piece in pieces {
        match piece {
            JsonPiece::Raw(s) => out.push_str(s),
            JsonPiece::Native(id) => out.push_str(&templates.render(*id, ctx)?),
            JsonPiece::Str(id) => {
                let s = templates.render(*id, ctx)?;
                out.push_str(&serde_json::to_string(&s).map_err(|e| e.to_string())?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Text;

    #[test]
    fn json_bodies_render_typed_fields() {
        let mut t = Templates::new();
        let scope = crate::profile::Scope::default();
        let n = t
            .json_expression("random_int(3, 3)", &scope, &crate::profile::NoEnvVars)
            .unwrap()
            .0;
        let s = match t
            .text(
                "id-{{ random_int(4, 4) }}",
                &scope,
                &crate::profile::NoEnvVars,
            )
            .unwrap()
        {
            Text::Template { id, .. } => id,
            Text::Literal(_) => unreachable!(),
        };
        let pieces = vec![
            JsonPiece::Raw(r#"{"n":"#.into()),
            JsonPiece::Native(n),
            JsonPiece::Raw(r#","s":"#.into()),
            JsonPiece::Str(s),
            JsonPiece::Raw("}".into()),
        ];
        assert_eq!(
            render_json(&pieces, &t, &minijinja::Value::UNDEFINED).unwrap(),
            r#"{"n":3,"s":"id-4"}"#
        );
    }
}
