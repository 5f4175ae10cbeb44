//! The verdict section: the overall verdict for people (title, icon, exit code) and the baseline
//! runs it was judged against.

use serde::Serialize;

use super::run::short_sha;
use crate::compare::{Comparison, Verdict};
use crate::exit::ExitCode;

/// The overall verdict.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    /// `pass`, `improvement`, `regression`, `inconclusive`, `no_baseline`, `untrusted`,
    /// `incompatible`.
    pub name: &'static str,
    /// For people: `Pass`, `No baseline` …
    pub title: &'static str,
    /// An emoji for the verdict line.
    pub icon: &'static str,
    /// One line saying what it means.
    pub summary: String,
    /// Why (failed checks, regressed metrics, breached thresholds).
    pub reasons: Vec<String>,
    /// The process exit code this verdict maps to.
    pub exit_code: u8,
    /// True when the verdict fails the check (exit code 1 or 3).
    pub failed: bool,
}

/// The baseline runs used.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineView {
    /// Runs compared against.
    pub runs_used: usize,
    /// Runs in the file.
    pub runs_in_file: u32,
    /// Commits of the runs used (short), oldest first.
    pub commits: Vec<String>,
    /// Date of the oldest run used (`YYYY-MM-DD`).
    pub first_date: Option<String>,
    /// Date of the newest.
    pub last_date: Option<String>,
}

impl VerdictView {
    pub(super) fn of(c: &Comparison) -> VerdictView {
        let v = c.overall.verdict;
        let exit_code = ExitCode::of_verdict(v).code();
        VerdictView {
            name: v.as_str(),
            title: title(v),
            icon: icon(v),
            summary: c.overall.summary.clone(),
            reasons: c.overall.reasons.clone(),
            exit_code,
            failed: exit_code != 0,
        }
    }
}

/// The verdict for people.
pub fn title(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "Pass",
        Verdict::Improvement => "Improvement",
        Verdict::Regression => "Regression",
        Verdict::Inconclusive => "Inconclusive",
        Verdict::NoBaseline => "No baseline",
        Verdict::Untrusted => "Untrusted",
        Verdict::Incompatible => "Incompatible",
    }
}

/// An emoji for the verdict.
pub fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Improvement => "🚀",
        Verdict::Regression => "❌",
        Verdict::Inconclusive => "❔",
        Verdict::NoBaseline => "🆕",
        Verdict::Untrusted | Verdict::Incompatible => "⚠️",
    }
}

impl BaselineView {
    pub(super) fn of(c: &Comparison) -> BaselineView {
        let runs = &c.baseline.runs;
        let day = |s: &str| s.get(..10).unwrap_or(s).to_string();
        BaselineView {
            runs_used: runs.len(),
            runs_in_file: c.baseline.runs_in_file,
            commits: runs
                .iter()
                .filter_map(|r| r.git_sha.as_deref())
                .map(short_sha)
                .collect(),
            first_date: runs.first().map(|r| day(&r.started_at)),
            last_date: runs.last().map(|r| day(&r.started_at)),
        }
    }
}
