//! The text loadgate hands to the GitHub runner: annotations, masks, step outputs and the job
//! summary (snapshots of the exact formats, and the limits).

use loadgate::github::workflow::{
    ANNOTATIONS_PER_LEVEL, Annotation, Level, STEP_SUMMARY_MAX_BYTES, SummaryWrite,
    append_step_summary, format_add_mask, format_annotations, format_output, write_outputs,
};

/// Replaces the random heredoc delimiters so snapshots are stable.
fn stable_delimiters(text: &str) -> String {
    let re = regex::Regex::new("ghadelimiter_[0-9a-f]{32}").expect("regex");
    re.replace_all(text, "ghadelimiter_[random]").into_owned()
}

#[test]
fn annotations_escape_data_and_properties() {
    let annotations = [
        Annotation::new(
            Level::Error,
            "invalid rate `10/m` at `load.stages[0].rate`: expected `<n>/s`\n100% sure",
        )
        .with_title("profile error: load.stages")
        .at("profiles/checkout, v2.yaml", Some(7), Some(12)),
        Annotation::new(
            Level::Warning,
            "p95 of `GET /a,b` rose 12%\r\n::error::injected",
        )
        .with_title("regression: GET /a,b"),
        Annotation::new(Level::Notice, "baseline has 3 runs (C:\\data)").at(
            "C:\\base.json",
            None,
            None,
        ),
    ];
    insta::assert_snapshot!(format_annotations(&annotations, "the job summary"));
}

#[test]
fn annotations_stay_within_the_per_step_limit() {
    let mut annotations: Vec<Annotation> = (1..=14)
        .map(|i| Annotation::new(Level::Error, format!("endpoint {i} regressed")))
        .collect();
    annotations.extend((1..=10).map(|i| Annotation::new(Level::Warning, format!("warning {i}"))));
    annotations.push(Annotation::new(Level::Notice, "one notice"));

    let text = format_annotations(&annotations, "https://github.com/o/r/actions/runs/1");

    let count = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("::error"), ANNOTATIONS_PER_LEVEL);
    assert_eq!(
        count("::warning"),
        ANNOTATIONS_PER_LEVEL,
        "exactly 10 need no summary"
    );
    assert_eq!(count("::notice"), 1);
    // The most important (first) nine errors are kept, the last line summarises the other five.
    assert!(text.contains("::error::endpoint 9 regressed\n"));
    assert!(!text.contains("endpoint 10 regressed"));
    insta::assert_snapshot!(text);
}

#[test]
fn masks_for_a_multi_line_secret() {
    let secret = "-----BEGIN KEY-----\r\nabc%def\n\n-----END KEY-----\n";
    insta::assert_snapshot!(format_add_mask(secret));
}

#[test]
fn outputs_single_and_multi_line() {
    let mut text = String::new();
    for (name, value) in [
        ("verdict", "regression"),
        ("p95-ms", "123.4"),
        ("results", "results/run=1.json"),
        (
            "report",
            "## ❌ regression\n\n| endpoint | p95 |\n| --- | --- |\n| a | 1ms |",
        ),
    ] {
        text.push_str(&format_output(name, value).expect("valid name"));
    }
    insta::assert_snapshot!(stable_delimiters(&text));
}

#[test]
fn outputs_are_appended_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("output");
    std::fs::write(&path, "earlier=1\n").expect("write");
    write_outputs(&path, &[("verdict", "pass"), ("report", "a\nb")]).expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        stable_delimiters(&text),
        "earlier=1\nverdict=pass\nreport<<ghadelimiter_[random]\na\nb\nghadelimiter_[random]\n"
    );
    let err = write_outputs(&path, &[("bad name", "x")]).expect_err("invalid name");
    insta::assert_snapshot!(err.to_string(), @"invalid output name `bad name`: use letters, digits, `-` and `_`");
}

#[test]
fn a_summary_over_one_mebibyte_is_cut_with_a_notice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("step_summary");
    let earlier = "# earlier step output\n\n";
    std::fs::write(&path, earlier).expect("write");
    let row = "| GET /customerdata/{id} | 12.3ms | 13.1ms | +6.5% | ✅ |\n";
    let markdown = format!(
        "## Report\n\n<details><summary>all endpoints</summary>\n\n| endpoint | base | now | change | verdict |\n| --- | --- | --- | --- | --- |\n{}\n</details>\n",
        row.repeat(30_000)
    );
    assert!(markdown.len() > 1024 * 1024);

    let written = append_step_summary(
        &path,
        &markdown,
        "The job summary was cut to fit GitHub's 1 MiB limit; the full report is in the `results` artifact.",
    )
    .expect("write");

    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        matches!(written, SummaryWrite::Truncated { bytes } if bytes == text.len() - earlier.len())
    );
    assert!(text.len() <= STEP_SUMMARY_MAX_BYTES, "{} bytes", text.len());
    assert!(
        text.len() > STEP_SUMMARY_MAX_BYTES - row.len() - 200,
        "cut close to the limit"
    );
    assert!(text.starts_with(earlier), "appended, not replaced");
    // Cut after a whole row; the open <details> is closed before the notice.
    let tail = &text[text.len() - 300..];
    let tail = &tail[tail.find('\n').expect("a line") + 1..];
    insta::assert_snapshot!(tail);
}

#[test]
fn a_small_summary_is_written_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("step_summary");
    let written = append_step_summary(&path, "## ✅ pass\n", "cut").expect("write");
    assert_eq!(
        written,
        SummaryWrite::Complete {
            bytes: "## ✅ pass\n".len()
        }
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "## ✅ pass\n"
    );
}
