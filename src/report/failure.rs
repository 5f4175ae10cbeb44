//! The report of a step that failed before a verdict (the target never became ready, the
//! profile is invalid, the results cannot be read): Markdown for the sticky PR comment and the
//! job summary, so that an earlier verdict on the pull request does not stay up as if it still
//! held. The cause is untrusted text (it may quote the profile, a results file or the target)
//! and goes into a code block it cannot close.

use std::fmt::Write as _;

use super::escape::{markdown_code_block, markdown_inline};

/// What failed.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// The profile's name.
    pub profile: &'a str,
    /// The error, as printed.
    pub cause: &'a str,
    /// The exit code the step ends with.
    pub exit_code: u8,
    /// The workflow run, for a link.
    pub run_url: Option<&'a str>,
}

/// The Markdown report of a failed step.
pub fn markdown(failure: &Failure<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### ⚠️ loadgate · {}: no verdict, the step failed\n",
        markdown_inline(failure.profile)
    );
    out.push_str(
        "The performance gate could not judge this commit: the step failed before a verdict, so \
         nothing was compared. An earlier verdict here no longer applies.\n\n",
    );
    out.push_str(&markdown_code_block(failure.cause, "text"));
    out.push('\n');
    let _ = write!(out, "<sub>loadgate {}", env!("CARGO_PKG_VERSION"));
    if let Some(url) = failure.run_url {
        let _ = write!(
            out,
            " · [workflow run]({})",
            url.replace(['(', ')', ' '], "")
        );
    }
    let _ = writeln!(out, " · exit code {}</sub>", failure.exit_code);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_cannot_escape_its_code_block() {
        let text = markdown(&Failure {
            profile: "checkout <b>",
            cause: "target not ready: ```\n@someone ## heading",
            exit_code: 3,
            run_url: Some("https://github.com/o/r/actions/runs/1"),
        });
        let expected = format!(
            "### ⚠️ loadgate · checkout &lt;b&gt;: no verdict, the step failed\n\n\
             The performance gate could not judge this commit: the step failed before a verdict, \
             so nothing was compared. An earlier verdict here no longer applies.\n\n\
             ````text\ntarget not ready: ```\n@someone ## heading\n````\n\n\
             <sub>loadgate {} · [workflow run](https://github.com/o/r/actions/runs/1) · exit code 3</sub>\n",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(text, expected);
    }
}
