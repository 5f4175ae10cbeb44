//! Text from outside loadgate — a profile, a results or baseline file, the target's answers —
//! as it is shown on a terminal or quoted in a message.
//!
//! Control characters are escaped (`\x1b`, `\n`, `\0`, `\u{85}`), so no endpoint name or
//! rendered URL can move the cursor, set the window title, hide text or forge a line; echoed
//! text is capped at [`ECHO_CHARS`] characters, so a 100 kB name is not printed whole.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Most characters of one piece of user text echoed in a message.
pub const ECHO_CHARS: usize = 80;

/// True for what [`escape`] escapes: control characters (C0, DEL, C1), the line and paragraph
/// separators, and the bidirectional overrides that reorder what a terminal shows.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if u32::from(c) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `text` with every control character escaped (`ESC` → `\x1b`, a line break → `\n`).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` as it may be echoed: escaped like [`escape`], and cut after [`ECHO_CHARS`]
/// characters with a note of how much was left out (`… (99920 more bytes)`).
pub fn quote(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(ECHO_CHARS) {
        None => escape(text),
        Some((cut, _)) => Cow::Owned(format!(
            "{}… ({} more bytes)",
            escape(&text[..cut]),
            text.len() - cut
        )),
    }
}

/// A one-line message that quotes user text between backticks, made safe to print: each
/// quoted span is [`quote`]d, and control characters elsewhere are escaped too.
pub fn message(text: &str) -> Cow<'_, str> {
    let quoted_too_long = text
        .split('`')
        .skip(1)
        .step_by(2)
        .any(|span| span.chars().nth(ECHO_CHARS).is_some());
    if !quoted_too_long && !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let parts: Vec<&str> = text.split('`').collect();
    let balanced = parts.len() % 2 == 1;
    let mut out = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        // With an odd number of backticks, the text after the last one is no quoted span.
        let in_span = i % 2 == 1 && (balanced || i + 1 < parts.len());
        out.push_str(&if in_span { quote(part) } else { escape(part) });
    }
    Cow::Owned(out)
}

/// [`message`] for a text of several lines: the line breaks outside quoted spans are the
/// text's own layout and stay.
pub fn lines(text: &str) -> Cow<'_, str> {
    if !text.contains('\n') {
        return message(text);
    }
    let shown: Vec<Cow<'_, str>> = text.split('\n').map(message).collect();
    if shown.iter().all(|l| matches!(l, Cow::Borrowed(_))) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(shown.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_visibly() {
        let cases = [
            ("plain name", "plain name"),
            ("a\u{1b}]0;pwned\u{7}b", "a\\x1b]0;pwned\\x07b"),
            ("\u{1b}[2J", "\\x1b[2J"),
            ("nul\0 cr\r lf\n tab\t", "nul\\0 cr\\r lf\\n tab\\t"),
            ("del\u{7f} c1\u{9b}", "del\\x7f c1\\u{9b}"),
            ("rtl\u{202e}txt", "rtl\\u{202e}txt"),
            ("café · 日本", "café · 日本"),
        ];
        for (text, shown) in cases {
            assert_eq!(escape(text), shown, "{text:?}");
        }
        assert!(matches!(escape("ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn echoed_text_is_capped() {
        let long = "x".repeat(100_000);
        let shown = quote(&long);
        assert_eq!(
            shown,
            format!("{}… (99920 more bytes)", "x".repeat(ECHO_CHARS))
        );
        let wide = "é".repeat(ECHO_CHARS + 1);
        assert_eq!(
            quote(&wide),
            format!("{}… (2 more bytes)", "é".repeat(ECHO_CHARS))
        );
        assert_eq!(quote(&"y".repeat(ECHO_CHARS)), "y".repeat(ECHO_CHARS));
    }

    #[test]
    fn messages_escape_and_cap_what_they_quote() {
        let name = format!("a\nb{}", "z".repeat(200));
        let m = format!("unknown endpoint `{name}`\u{1b}[31m: expected `x`");
        let quoted = format!("`a\\nb{}… (123 more bytes)`", "z".repeat(ECHO_CHARS - 3));
        assert_eq!(
            message(&m),
            format!("unknown endpoint {quoted}\\x1b[31m: expected `x`")
        );
        // Several lines: each is a message of its own (a line break inside a quote must have
        // been escaped where the quote was made).
        let long = "z".repeat(200);
        let two = format!("bad `{long}`\u{7}\n  hint: `x`");
        assert_eq!(
            lines(&two),
            format!(
                "bad `{}… (120 more bytes)`\\x07\n  hint: `x`",
                "z".repeat(ECHO_CHARS)
            )
        );
        assert_eq!(message("a `b\nc"), "a `b\\nc");
        assert!(matches!(lines("fine `x`\nok"), Cow::Borrowed(_)));
    }
}
