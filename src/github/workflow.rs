//! GitHub Actions workflow files and commands: the job summary (`GITHUB_STEP_SUMMARY`), step
//! outputs (`GITHUB_OUTPUT`), annotations (`::error` …) and masks (`::add-mask::`).
//!
//! Formatting is pure and returns the exact text; the writers only append it to a file or
//! stdout. Invariants: the job summary stays under [`STEP_SUMMARY_MAX_BYTES`] (what the step
//! already wrote included); a Markdown output stays under [`MARKDOWN_OUTPUT_MAX_BYTES`]; no
//! output value can end its heredoc early; no annotation text can end its command or start
//! another; at most [`ANNOTATIONS_PER_LEVEL`] annotations of a level.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::GithubError;
use super::truncate::{Limit, truncate_markdown};

/// GitHub refuses a step summary above 1 MiB; a KiB of headroom stays for anything else the step
/// appends (the runner counts the whole file).
pub const STEP_SUMMARY_MAX_BYTES: usize = 1024 * 1024 - 1024;

/// GitHub refuses step outputs above 1 MiB; a Markdown output (the report) is cut to leave
/// 16 KiB for the step's other outputs (paths and numbers) and their delimiters.
pub const MARKDOWN_OUTPUT_MAX_BYTES: usize = 1024 * 1024 - 16 * 1024;

/// GitHub shows at most this many annotations of each level per step.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

/// Escapes the data of a workflow command (the text after `::`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command (`file=…`, `title=…`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `::error`: shown in red; does not fail the step by itself.
    Error,
    /// `::warning`.
    Warning,
    /// `::notice`.
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Level::Error => "errors",
            Level::Warning => "warnings",
            Level::Notice => "notices",
        }
    }
}

/// One annotation. Text may be anything: it is escaped when formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Severity.
    pub level: Level,
    /// The message (may span lines).
    pub message: String,
    /// A short title.
    pub title: Option<String>,
    /// File the annotation points at, relative to the repository root.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<u64>,
    /// 1-based column in `line`.
    pub col: Option<u64>,
}

impl Annotation {
    /// An annotation of `level` with `message` and nothing else.
    pub fn new(level: Level, message: impl Into<String>) -> Annotation {
        Annotation {
            level,
            message: message.into(),
            title: None,
            file: None,
            line: None,
            col: None,
        }
    }

    /// Adds a title.
    #[must_use]
    pub fn with_title(mut self, title: impl Into<String>) -> Annotation {
        self.title = Some(title.into());
        self
    }

    /// Points the annotation at a file, line and column.
    #[must_use]
    pub fn at(
        mut self,
        file: impl Into<String>,
        line: Option<u64>,
        col: Option<u64>,
    ) -> Annotation {
        self.file = Some(file.into());
        self.line = line;
        self.col = col;
        self
    }
}

/// Formats one annotation command, without the trailing newline. Text is escaped (data:
/// `%`, CR, LF; properties also `:` and `,`), so it cannot end the command or start another.
pub fn format_annotation(annotation: &Annotation) -> String {
    let mut props = Vec::new();
    if let Some(file) = &annotation.file {
        props.push(format!("file={}", escape_property(file)));
    }
    if let Some(line) = annotation.line {
        props.push(format!("line={line}"));
    }
    if let Some(col) = annotation.col {
        props.push(format!("col={col}"));
    }
    if let Some(title) = &annotation.title {
        props.push(format!("title={}", escape_property(title)));
    }
    let props = if props.is_empty() {
        String::new()
    } else {
        format!(" {}", props.join(","))
    };
    // The runner reads this line as a `::` command, never as a legacy `##[` one; the legacy
    // marker is broken anyway, so that no line loadgate prints holds one.
    format!(
        "::{}{props}::{}",
        annotation.level.command(),
        escape_data(&annotation.message)
    )
    .replace("##[", "## [")
}

/// Formats annotations within GitHub's per-step limits, one command per line. Within a level,
/// the given order is the order of importance: when a level has more than
/// [`ANNOTATIONS_PER_LEVEL`], the first ones are kept and the last slot summarises the rest, and
/// `see` says where to find them all (for example the run's summary URL).
pub fn format_annotations(annotations: &[Annotation], see: &str) -> String {
    let mut out = String::new();
    for level in [Level::Error, Level::Warning, Level::Notice] {
        let of_level: Vec<&Annotation> = annotations.iter().filter(|a| a.level == level).collect();
        let keep = if of_level.len() > ANNOTATIONS_PER_LEVEL {
            ANNOTATIONS_PER_LEVEL - 1
        } else {
            of_level.len()
        };
        for annotation in &of_level[..keep] {
            out.push_str(&format_annotation(annotation));
            out.push('\n');
        }
        let rest = of_level.len() - keep;
        if rest > 0 {
            let summary = Annotation::new(
                level,
                format!(
                    "{rest} more {} not shown (GitHub shows at most {ANNOTATIONS_PER_LEVEL} per step): see {see}",
                    level.plural()
                ),
            )
            .with_title(format!("loadgate: {rest} more {}", level.plural()));
            out.push_str(&format_annotation(&summary));
            out.push('\n');
        }
    }
    out
}

/// Formats `::add-mask::` commands for a secret: one per non-blank line (the runner masks line
/// by line, so a multi-line secret needs each line masked).
pub fn format_add_mask(secret: &str) -> String {
    let mut out = String::new();
    for line in secret.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.trim().is_empty() {
            let _ = writeln!(out, "::add-mask::{}", escape_data(line));
        }
    }
    out
}

/// Text for stdout or stderr under GitHub Actions, where the runner reads a command from any
/// line that starts with `::` (after blanks) and, in the legacy form, from `##[` anywhere in a
/// line. Text from a profile, a results file or the target must never be one, so:
///
/// - control characters other than line feed and tab become visible (Control Pictures such as
///   `␍` and `␛`; `�` for C1 controls): a lone `\r` would start a line for the runner;
/// - a line that would start with `::` (after blanks and invisible characters) gets `» ` before
///   it;
/// - `##[` becomes `## [`.
///
/// Text with none of these is returned as is. loadgate's own commands do not go through here:
/// they are formatted escaped ([`format_annotation`]) and written to stdout as they are.
pub fn neutralize(text: &str) -> Cow<'_, str> {
    let safe = !text.contains("##[")
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        && !text.split('\n').any(starts_command);
    if safe {
        return Cow::Borrowed(text);
    }
    let visible: String = text
        .chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            '\u{7F}' => '\u{2421}',
            c if u32::from(c) < 0x20 => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}'),
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let visible = visible.replace("##[", "## [");
    let mut out = String::with_capacity(visible.len() + 8);
    for (i, line) in visible.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if starts_command(line) {
            out.push_str("» ");
        }
        out.push_str(line);
    }
    Cow::Owned(out)
}

/// `true` when the runner would read `line` as a `::command::` (it trims leading blanks; the
/// invisible characters are skipped too, whatever a runner version counts as blank).
fn starts_command(line: &str) -> bool {
    line.trim_start_matches(|c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
            )
    })
    .starts_with("::")
}

/// Formats one step output: `name=value`, or for a value with a line break
/// `name<<DELIMITER` … `DELIMITER` with a random delimiter that does not occur in the value.
pub fn format_output(name: &str, value: &str) -> Result<String, GithubError> {
    format_output_with(name, value, random_delimiter)
}

fn random_delimiter() -> String {
    format!("ghadelimiter_{:032x}", fastrand::u128(..))
}

fn format_output_with(
    name: &str,
    value: &str,
    mut delimiter: impl FnMut() -> String,
) -> Result<String, GithubError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if !valid {
        return Err(GithubError::InvalidOutputName {
            name: name.to_string(),
        });
    }
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{name}={value}\n"));
    }
    let delim = loop {
        let d = delimiter();
        if !value.contains(&d) {
            break d;
        }
    };
    Ok(format!("{name}<<{delim}\n{value}\n{delim}\n"))
}

/// Appends step outputs to the `GITHUB_OUTPUT` file.
pub fn write_outputs(path: &Path, outputs: &[(&str, &str)]) -> Result<(), GithubError> {
    let mut text = String::new();
    for (name, value) in outputs {
        text.push_str(&format_output(name, value)?);
    }
    append(path, &text)
}

/// Markdown for a step output, cut under [`MARKDOWN_OUTPUT_MAX_BYTES`] as the job summary is,
/// with `notice` (trusted Markdown) saying where the full text is.
pub fn markdown_output<'a>(markdown: &'a str, notice: &str) -> Cow<'a, str> {
    truncate_markdown(markdown, Limit::Bytes(MARKDOWN_OUTPUT_MAX_BYTES), notice).text
}

/// What [`append_step_summary`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryWrite {
    /// All of it, this many bytes.
    Complete {
        /// Bytes appended.
        bytes: usize,
    },
    /// A truncated version with a notice, this many bytes.
    Truncated {
        /// Bytes appended.
        bytes: usize,
    },
    /// Nothing: the file was already at the limit.
    NoRoom,
}

/// Appends Markdown to the job summary file, cut so the file stays under
/// [`STEP_SUMMARY_MAX_BYTES`]; `notice` (trusted Markdown) says where the full report is.
pub fn append_step_summary(
    path: &Path,
    markdown: &str,
    notice: &str,
) -> Result<SummaryWrite, GithubError> {
    let existing = match std::fs::metadata(path) {
        Ok(meta) => usize::try_from(meta.len()).unwrap_or(usize::MAX),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(source) => {
            return Err(GithubError::Write {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let Some(room) = STEP_SUMMARY_MAX_BYTES
        .checked_sub(existing)
        .filter(|r| *r > 0)
    else {
        return Ok(SummaryWrite::NoRoom);
    };
    let text = summary_text(markdown, room, notice);
    if text.text.is_empty() {
        return Ok(SummaryWrite::NoRoom);
    }
    append(path, &text.text)?;
    let bytes = text.text.len();
    Ok(if text.truncated {
        SummaryWrite::Truncated { bytes }
    } else {
        SummaryWrite::Complete { bytes }
    })
}

/// The summary text that fits in `room` bytes, ending with a newline so the next append starts
/// a new block.
fn summary_text<'a>(
    markdown: &'a str,
    room: usize,
    notice: &str,
) -> super::truncate::Truncated<'a> {
    let mut cut = truncate_markdown(markdown, Limit::Bytes(room.saturating_sub(1)), notice);
    if !cut.text.ends_with('\n') {
        cut.text.to_mut().push('\n');
    }
    cut
}

fn append(path: &Path, text: &str) -> Result<(), GithubError> {
    let fail = |source| GithubError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_property_escaping() {
        assert_eq!(
            escape_data("100% done\r\nnext: a,b"),
            "100%25 done%0D%0Anext: a,b"
        );
        assert_eq!(escape_property("C:\\a,b%\n"), "C%3A\\a%2Cb%25%0A");
        // `%` first, so escapes are not escaped twice.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn neutralized_text_starts_no_command() {
        let plain = "endpoint  p50  12ms\n  get · 3 × check: JSON field `a::b`\n";
        assert!(matches!(neutralize(plain), Cow::Borrowed(_)));
        let cases = [
            (
                "x\n::error title=INJ::injected",
                "x\n» ::error title=INJ::injected",
            ),
            ("  ::add-mask::v", "»   ::add-mask::v"),
            (
                "\u{200B}\u{A0}::stop-commands::t",
                "» \u{200B}\u{A0}::stop-commands::t",
            ),
            ("a\r::warning::cr", "a␍::warning::cr"),
            ("\r::warning::cr", "␍::warning::cr"),
            ("name ##[error]legacy", "name ## [error]legacy"),
            ("\u{1b}[31mred\u{7f}\u{85}", "␛[31mred␡\u{FFFD}"),
            ("tab\tkept", "tab\tkept"),
        ];
        for (text, expected) in cases {
            assert_eq!(neutralize(text), expected, "{text:?}");
        }
        for line in neutralize("::a\n::b\n ##[c] ::d").lines() {
            assert!(!starts_command(line) && !line.contains("##["), "{line:?}");
        }
    }

    #[test]
    fn annotations_hold_no_legacy_command_marker() {
        let a = Annotation::new(Level::Error, "x ##[error]legacy\n::error::y")
            .with_title("t ##[warning]z");
        assert_eq!(
            format_annotation(&a),
            "::error title=t ## [warning]z::x ## [error]legacy%0A::error::y"
        );
    }

    #[test]
    fn heredoc_delimiter_never_occurs_in_the_value() {
        let mut candidates = vec!["EOF_B".to_string(), "EOF_A".to_string()];
        let out = format_output_with("report", "line\nEOF_A\n", || {
            candidates.pop().expect("two candidates")
        })
        .expect("valid");
        assert_eq!(out, "report<<EOF_B\nline\nEOF_A\n\nEOF_B\n");
    }

    #[test]
    fn random_delimiters_differ() {
        assert_ne!(random_delimiter(), random_delimiter());
    }

    #[test]
    fn output_names_are_checked() {
        for bad in ["", "a=b", "a<<b", "a b", "a\nb"] {
            assert!(format_output(bad, "x").is_err(), "{bad:?}");
        }
        assert_eq!(
            format_output("p95-ms", "a=b").expect("valid"),
            "p95-ms=a=b\n"
        );
    }

    #[test]
    fn carriage_return_alone_uses_a_heredoc() {
        assert!(
            format_output("x", "a\rb")
                .expect("valid")
                .starts_with("x<<ghadelimiter_")
        );
    }

    #[test]
    fn masks_skip_blank_lines() {
        assert_eq!(
            format_add_mask("line1\r\n\n  \nline%2"),
            "::add-mask::line1\n::add-mask::line%252\n"
        );
        assert_eq!(format_add_mask(""), "");
    }

    #[test]
    fn summary_writes_append_and_respect_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("summary.md");
        assert_eq!(
            append_step_summary(&path, "# one", "cut").expect("write"),
            SummaryWrite::Complete { bytes: 6 }
        );
        assert_eq!(
            append_step_summary(&path, "# two\n", "cut").expect("write"),
            SummaryWrite::Complete { bytes: 6 }
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "# one\n# two\n"
        );
    }

    #[test]
    fn a_markdown_output_is_cut_under_the_output_limit_with_the_notice() {
        let small = "### ok\n";
        assert!(matches!(markdown_output(small, "cut"), Cow::Borrowed(s) if s == small));
        let big = "| a | b |\n".repeat(200_000);
        assert!(big.len() > 1024 * 1024);
        let cut = markdown_output(&big, "the full report is `loadgate-results/report.md`");
        assert!(cut.len() <= MARKDOWN_OUTPUT_MAX_BYTES, "{}", cut.len());
        assert!(cut.starts_with("| a | b |\n"));
        assert!(cut.ends_with("> the full report is `loadgate-results/report.md`\n"));
        let formatted = format_output("report", &cut).expect("valid");
        assert!(formatted.len() < 1024 * 1024);
    }

    #[test]
    fn a_full_summary_file_gets_nothing_more() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "x".repeat(STEP_SUMMARY_MAX_BYTES)).expect("write");
        assert_eq!(
            append_step_summary(&path, "more", "cut").expect("write"),
            SummaryWrite::NoRoom
        );
    }
}
