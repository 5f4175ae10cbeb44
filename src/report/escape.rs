//! Escaping of untrusted text (endpoint names, error messages, anything echoed from the target)
//! before it reaches Markdown that GitHub renders: PR comments and job summaries.
//!
//! Invariant: the output of [`markdown_inline`] is one line that renders as the literal input
//! text. It cannot end a table cell, open a code span, link, image, emphasis or math, inject HTML,
//! mention people (`@name`), reference issues (`#12`), or become an autolink (`https://…`).
//! [`markdown_code_block`] wraps multi-line text in a fence that the text cannot close.

/// Zero-width space: breaks GitHub's post-render filters (mentions, issue references, bare-URL
/// autolinks) without changing what a reader sees.
const ZWSP: char = '\u{200B}';

/// Escapes `text` for use inline in Markdown, including inside a table cell.
///
/// Line breaks become spaces (a table row is one line), other control characters become `�`,
/// `<`, `>` and `&` become entities, Markdown punctuation is backslash-escaped, and a zero-width
/// space follows `@` and `#` and splits `://` and `www.` so that GitHub neither pings anyone nor
/// links anything.
pub fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut chars = text.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                // `\r\n` is one line break, not two.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '|' | '$' | '!' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            // Only meaningful at the start of a line: headings, lists, rules, setext
            // underlines — that is, when followed by a blank, the end or the same character
            // (`-4.0%` or `+12%` stay as they are).
            '#' | '-' | '+' | '=' if at_start && opens_block(c, chars.peek().copied()) => {
                out.push('\\');
                out.push(c);
                if c == '#' {
                    out.push(ZWSP);
                }
            }
            '@' | '#' => {
                out.push(c);
                out.push(ZWSP);
            }
            ':' if chars.clone().take(2).eq("//".chars()) => {
                out.push(':');
                out.push(ZWSP);
            }
            'w' | 'W' if starts_www(&out, c, &chars) => {
                out.push(c);
                out.push(ZWSP);
            }
            '.' | ')' if at_digits_only(&out) && chars.peek().is_none_or(|n| n.is_whitespace()) => {
                // `1.` or `1)` at the start would open an ordered list.
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        at_start = false;
    }
    out
}

/// `true` when `c` plus the next characters spell `www.` at a word start (an autolink).
fn starts_www(out: &str, c: char, rest: &std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    let word_start = out.chars().next_back().is_none_or(|p| !p.is_alphanumeric());
    let mut ahead = rest.clone();
    word_start
        && c.eq_ignore_ascii_case(&'w')
        && ahead.next().is_some_and(|x| x.eq_ignore_ascii_case(&'w'))
        && ahead.next().is_some_and(|x| x.eq_ignore_ascii_case(&'w'))
        && ahead.next() == Some('.')
}

/// `true` when `c` at the start of a line, followed by `next`, starts a block construct.
fn opens_block(c: char, next: Option<char>) -> bool {
    c == '#' || next.is_none_or(|n| n == ' ' || n == '\t' || n == c)
}

/// `true` when everything written so far is ASCII digits (an ordered-list number).
fn at_digits_only(out: &str) -> bool {
    !out.is_empty() && out.len() <= 9 && out.bytes().all(|b| b.is_ascii_digit())
}

/// Wraps `text` in a fenced code block whose fence is longer than any backtick run inside, so
/// the text cannot close it; `info` is the language tag (escaped to letters, digits, `-`, `+`).
/// Control characters other than newline and tab become `�`.
pub fn markdown_code_block(text: &str, info: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let info: String = info
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+'))
        .collect();
    let body: String = text
        .replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            '\r' => '\n',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let newline = if body.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{body}{newline}{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_escapes_table_html_code_and_links() {
        let cases = [
            ("get customer", "get customer"),
            ("a|b", "a\\|b"),
            ("line1\nline2\r\nline3\rline4", "line1 line2 line3 line4"),
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("AT&T &amp;", "AT&amp;T &amp;amp;"),
            ("`rm -rf`", "\\`rm -rf\\`"),
            ("[click](http://x)", "\\[click\\](http:\u{200B}//x)"),
            ("![img](x)", "\\!\\[img\\](x)"),
            ("*bold* _it_ ~~s~~", "\\*bold\\* \\_it\\_ \\~\\~s\\~\\~"),
            ("cost $5 and $6", "cost \\$5 and \\$6"),
            ("C:\\path", "C:\\\\path"),
            ("# title", "\\#\u{200B} title"),
            ("- item", "\\- item"),
            ("get-customer", "get-customer"),
            ("1. first", "1\\. first"),
            ("12) x", "12\\) x"),
            ("v1.2", "v1.2"),
            ("4.45ms", "4.45ms"),
            ("1.", "1\\."),
            ("-4.0%", "-4.0%"),
            ("+12.3%", "+12.3%"),
            ("---", "\\---"),
            ("+ item", "\\+ item"),
            ("= x", "\\= x"),
            ("ping @octocat", "ping @\u{200B}octocat"),
            ("fixes #12", "fixes #\u{200B}12"),
            ("see www.example.com", "see w\u{200B}ww.example.com"),
            ("awww.x", "awww.x"),
            ("<!-- loadgate: x -->", "&lt;\\!-- loadgate: x --&gt;"),
            ("nul\0bell\u{7}", "nul\u{FFFD}bell\u{FFFD}"),
            ("tab\there", "tab here"),
        ];
        for (input, expected) in cases {
            assert_eq!(markdown_inline(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn inline_output_is_one_line_without_raw_html_or_pipes() {
        let nasty = "x|y\n<b>&</b>\u{2028}`|`\r\n| --- |";
        let out = markdown_inline(nasty);
        assert!(!out.contains('\n') && !out.contains('\r') && !out.contains('\u{2028}'));
        assert!(!out.contains('<') && !out.contains('>'));
        // Every pipe is escaped.
        let bytes = out.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'|' {
                assert_eq!(bytes[i - 1], b'\\', "unescaped pipe in {out:?}");
            }
        }
    }

    #[test]
    fn code_block_fence_outgrows_backticks_in_the_text() {
        assert_eq!(
            markdown_code_block("plain", "json"),
            "```json\nplain\n```\n"
        );
        assert_eq!(
            markdown_code_block("a ```` b\n", "sh; rm"),
            "`````shrm\na ```` b\n`````\n"
        );
        assert_eq!(
            markdown_code_block("a\r\nb\u{1b}[0m", ""),
            "```\na\nb\u{FFFD}[0m\n```\n"
        );
    }
}
