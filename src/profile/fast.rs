//! Templates of the common shapes rendered without the template engine.
//!
//! Most request templates are literal text around calls of loadgate's functions with literal
//! arguments (`/items/{{ random_int(1, 1000) }}`, `{{ uuid() }}`, `{{ random_choice('a', 'b') }}`).
//! Rendering them through minijinja costs a template lookup, a render state and a value
//! conversion per call, on every request; here they compile, when the profile loads, to a
//! list of pieces that build the string directly. The output is the same as minijinja's
//! (the same functions draw from the same random generator in the same order; tested against
//! minijinja with the same seed), and anything else (filters, `vars`, `data`, `env`,
//! whitespace control, statements) keeps the engine.

use std::fmt::Write as _;

use super::functions;

/// A template compiled to direct string building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fast {
    pieces: Vec<Piece>,
    /// Values render as JSON (a typed JSON field: `{{ (expr) | tojson }}`).
    json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    RandomInt(i64, i64),
    /// `random_choice` of string literals.
    Choice(Vec<String>),
    Uuid,
    FakeName,
    FakeFirstName,
    FakeLastName,
    FakeEmail,
}

impl Fast {
    /// A template of literal text and `{{ call }}`s, or `None` when it needs the engine.
    pub(super) fn text(source: &str) -> Option<Self> {
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            literal(&rest[..open], &mut pieces)?;
            let after = &rest[open + 2..];
            let close = after.find("}}")?;
            pieces.push(Piece::Call(call(&after[..close])?));
            rest = &after[close + 2..];
        }
        // minijinja drops one trailing newline of a template; keep such text on the engine.
        if rest.ends_with('\n') {
            return None;
        }
        literal(rest, &mut pieces)?;
        Some(Self {
            pieces,
            json: false,
        })
    }

    /// A typed JSON field's expression (rendered as `{{ (expression) | tojson }}`).
    pub(super) fn json(expression: &str) -> Option<Self> {
        Some(Self {
            pieces: vec![Piece::Call(call(expression)?)],
            json: true,
        })
    }

    /// Renders once, drawing from the thread's random generator like the functions do.
    pub(super) fn render(&self) -> String {
        let mut out = String::with_capacity(64);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Call(c) => self.call(c, &mut out),
            }
        }
        out
    }

    fn call(&self, call: &Call, out: &mut String) {
        let text = |out: &mut String, s: &str| {
            if self.json {
                json_string(out, s);
            } else {
                out.push_str(s);
            }
        };
        match call {
            Call::RandomInt(low, high) => {
                let _ = write!(out, "{}", fastrand::i64(*low..=*high));
            }
            Call::Choice(items) => text(out, &items[fastrand::usize(..items.len())]),
            Call::Uuid => text(out, &functions::random_uuid()),
            Call::FakeName => text(out, &functions::fake_name()),
            Call::FakeFirstName => text(out, functions::fake_first_name()),
            Call::FakeLastName => text(out, functions::fake_last_name()),
            Call::FakeEmail => text(out, &functions::fake_email()),
        }
    }
}

/// Literal text between expressions: anything that could be template syntax keeps the engine.
fn literal(text: &str, pieces: &mut Vec<Piece>) -> Option<()> {
    if ["{%", "%}", "{#", "#}", "}}"]
        .iter()
        .any(|m| text.contains(m))
    {
        return None;
    }
    if !text.is_empty() {
        pieces.push(Piece::Literal(text.to_string()));
    }
    Some(())
}

/// `name(args)` of a function with literal arguments.
fn call(expression: &str) -> Option<Call> {
    let e = expression.trim();
    // `{{-`, `-}}`, `{{+`: whitespace control.
    if e.starts_with(['-', '+']) || e.ends_with(['-', '+']) {
        return None;
    }
    let open = e.find('(')?;
    let name = e[..open].trim();
    let args = e[open + 1..].strip_suffix(')')?.trim();
    let no_args = args.is_empty();
    match name {
        "uuid" if no_args => Some(Call::Uuid),
        "fake_name" if no_args => Some(Call::FakeName),
        "fake_first_name" if no_args => Some(Call::FakeFirstName),
        "fake_last_name" if no_args => Some(Call::FakeLastName),
        "fake_email" if no_args => Some(Call::FakeEmail),
        "random_int" => {
            let (low, high) = args.split_once(',')?;
            let (low, high) = (integer(low)?, integer(high)?);
            (low <= high).then_some(Call::RandomInt(low, high))
        }
        "random_choice" => {
            let list = match args.strip_prefix('[') {
                Some(inner) => inner.strip_suffix(']')?,
                None => args,
            };
            let items = strings(list)?;
            (!items.is_empty()).then_some(Call::Choice(items))
        }
        _ => None,
    }
}

/// A plain decimal integer literal, maybe negative.
fn integer(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// A comma-separated list of quoted strings without escapes (a trailing comma allowed).
fn strings(list: &str) -> Option<Vec<String>> {
    let mut items = Vec::new();
    let mut rest = list.trim();
    while !rest.is_empty() {
        let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let body = &rest[1..];
        let end = body.find(quote)?;
        let item = &body[..end];
        if item.contains('\\') {
            return None;
        }
        items.push(item.to_string());
        rest = body[end + 1..].trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after.trim_start(),
            None if rest.is_empty() => {}
            None => return None,
        }
    }
    Some(items)
}

/// A JSON string as minijinja's `tojson` writes it: HTML-safe, so `<`, `>`, `&` and `'` are
/// escaped as well.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\'') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_shapes_compile_and_the_rest_keeps_the_engine() {
        for fast in [
            "/items/{{ random_int(1, 100000) }}",
            "{{random_int(-5,-1)}}",
            "{{ uuid() }}",
            "id-{{ uuid() }}-{{ fake_name() }}",
            "{{ random_choice('a', \"b\", 'c',) }}",
            "{{ random_choice(['x', 'y']) }}",
            "{ \"raw\": {{ random_int(1, 2) }} }",
            "{{ fake_email() }} {{ fake_first_name() }} {{ fake_last_name() }}",
        ] {
            assert!(Fast::text(fast).is_some(), "{fast}");
        }
        for slow in [
            "{{ vars.id }}",
            "{{ data.users.name }}",
            "{{ env.TOKEN }}",
            "{{ random_int(1, 10) | string }}",
            "{{ random_int(1, 1_000) }}",
            "{{ random_int(5, 1) }}",
            "{{ random_int(1.5, 2) }}",
            "{{- uuid() }}",
            "{{ uuid() -}}",
            "{{ random_choice('a\\'b') }}",
            "{{ random_choice(1, 2) }}",
            "{{ random_choice() }}",
            "{{ now() }}",
            "{% if true %}x{% endif %}",
            "{# note #}{{ uuid() }}",
            "line {{ uuid() }}\n",
            "{{ uuid() }} }}",
            "{{ uuid( }}",
        ] {
            assert!(Fast::text(slow).is_none(), "{slow}");
        }
    }

    #[test]
    fn json_strings_are_escaped_like_tojson() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\n\t\u{1}ü/<>&'");
        assert_eq!(out, r#""a\"b\\c\n\t\u0001ü/\u003c\u003e\u0026\u0027""#);
    }
}
