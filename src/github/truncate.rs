//! Cutting Markdown to GitHub's size limits without leaving it broken.
//!
//! The cut falls on a line boundary where one exists, closes a code fence and `<details>`
//! elements left open by the cut, and ends with a visible notice. The result, notice and closers
//! included, never exceeds the limit. Limits are counted in bytes (job summary: the runner counts
//! the file) or in UTF-16 code units (comment bodies: never fewer than characters, so the count is
//! safe whichever way GitHub counts).

use std::borrow::Cow;

/// How a limit is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many UTF-8 bytes.
    Bytes(usize),
    /// At most this many UTF-16 code units (≥ the number of characters).
    Utf16Units(usize),
}

impl Limit {
    fn max(self) -> usize {
        match self {
            Limit::Bytes(n) | Limit::Utf16Units(n) => n,
        }
    }

    fn measure(self, text: &str) -> usize {
        match self {
            Limit::Bytes(_) => text.len(),
            Limit::Utf16Units(_) => text.encode_utf16().count(),
        }
    }

    fn measure_char(self, c: char) -> usize {
        match self {
            Limit::Bytes(_) => c.len_utf8(),
            Limit::Utf16Units(_) => c.len_utf16(),
        }
    }
}

/// Markdown cut to a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated<'a> {
    /// The text to publish.
    pub text: Cow<'a, str>,
    /// `true` when something was cut.
    pub truncated: bool,
}

/// Returns `markdown` unchanged when it fits `limit`; otherwise its longest prefix ending at a
/// line boundary that fits together with the closers it needs and a notice block built from
/// `notice` (Markdown, trusted). When not even the notice fits, the notice alone, cut to fit.
pub fn truncate_markdown<'a>(markdown: &'a str, limit: Limit, notice: &str) -> Truncated<'a> {
    if limit.measure(markdown) <= limit.max() {
        return Truncated {
            text: Cow::Borrowed(markdown),
            truncated: false,
        };
    }
    let notice_block = format!("\n\n---\n\n> [!WARNING]\n> {notice}\n");
    let notice_size = limit.measure(&notice_block);
    let mut budget = limit.max().saturating_sub(notice_size);
    // Each round shrinks the budget by what the closers overflowed; closers only grow by a fence
    // and a few `</details>`, so this settles within a few rounds.
    for _ in 0..8 {
        let prefix = prefix_at_line(markdown, limit, budget);
        let closers = closers_for(prefix);
        let total = limit.measure(prefix) + limit.measure(&closers) + notice_size;
        if total <= limit.max() {
            let mut text = String::with_capacity(prefix.len() + closers.len() + notice_block.len());
            text.push_str(prefix);
            text.push_str(&closers);
            text.push_str(&notice_block);
            return Truncated {
                text: Cow::Owned(text),
                truncated: true,
            };
        }
        budget = budget.saturating_sub(total - limit.max());
    }
    let text = prefix_at_char(notice_block.trim_start(), limit, limit.max()).to_string();
    Truncated {
        text: Cow::Owned(text),
        truncated: true,
    }
}

/// The longest prefix of `text` of measure ≤ `budget`, cut at a character boundary.
fn prefix_at_char(text: &str, limit: Limit, budget: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += limit.measure_char(c);
        if used > budget {
            return &text[..i];
        }
    }
    text
}

/// Like [`prefix_at_char`], backed off to just after the last newline when the prefix has one.
fn prefix_at_line(text: &str, limit: Limit, budget: usize) -> &str {
    let prefix = prefix_at_char(text, limit, budget);
    match prefix.rfind('\n') {
        Some(i) if prefix.len() < text.len() => &prefix[..=i],
        _ => prefix,
    }
}

/// What must follow `prefix` so that the Markdown after it renders: the closing code fence of an
/// open fenced block, then `</details>` for every element left open.
fn closers_for(prefix: &str) -> String {
    let mut fence: Option<(char, usize)> = None;
    let mut open_details: usize = 0;
    for line in prefix.lines() {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let run = |ch: char| trimmed.chars().take_while(|&c| c == ch).count();
        match fence {
            Some((ch, len)) => {
                if indent < 4 && run(ch) >= len && trimmed.trim_start_matches(ch).trim().is_empty()
                {
                    fence = None;
                }
            }
            None => {
                for ch in ['`', '~'] {
                    let n = run(ch);
                    if indent < 4 && n >= 3 {
                        fence = Some((ch, n));
                        break;
                    }
                }
                if fence.is_none() {
                    let lower = line.to_ascii_lowercase();
                    open_details += lower.matches("<details").count();
                    open_details = open_details.saturating_sub(lower.matches("</details>").count());
                }
            }
        }
    }
    let mut closers = String::new();
    if !prefix.is_empty() && !prefix.ends_with('\n') {
        closers.push('\n');
    }
    if let Some((ch, len)) = fence {
        closers.extend(std::iter::repeat_n(ch, len));
        closers.push('\n');
    }
    for _ in 0..open_details {
        closers.push_str("\n</details>\n");
    }
    closers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_fits_is_returned_as_is() {
        let t = truncate_markdown("short", Limit::Bytes(5), "cut");
        assert_eq!(t.text, "short");
        assert!(!t.truncated);
    }

    #[test]
    fn cut_falls_on_a_line_and_ends_with_the_notice() {
        let text = "first line of text\nsecond line of text\nthird line of text\n";
        let t = truncate_markdown(text, Limit::Bytes(55), "cut here");
        assert!(t.truncated);
        assert_eq!(
            t.text,
            "first line of text\n\n\n---\n\n> [!WARNING]\n> cut here\n"
        );
        assert!(t.text.len() <= 55);
    }

    #[test]
    fn open_fence_and_details_are_closed() {
        let text = format!(
            "<details><summary>s</summary>\n\n````text\n{}\n````\n</details>\n",
            "x\n".repeat(100)
        );
        let t = truncate_markdown(&text, Limit::Bytes(120), "cut");
        assert!(t.truncated);
        assert!(t.text.len() <= 120, "{}", t.text.len());
        assert!(t.text.contains("\n````\n\n</details>\n"), "{:?}", t.text);
    }

    #[test]
    fn utf16_limit_counts_astral_characters_twice() {
        let text = "😀".repeat(100);
        let t = truncate_markdown(&text, Limit::Utf16Units(90), "cut");
        assert!(t.truncated);
        assert!(t.text.encode_utf16().count() <= 90);
        assert!(t.text.starts_with("😀"));
    }

    #[test]
    fn a_limit_smaller_than_the_notice_still_holds() {
        let text = "a".repeat(100);
        let t = truncate_markdown(&text, Limit::Bytes(10), "a long notice text");
        assert!(t.text.len() <= 10);
    }
}
