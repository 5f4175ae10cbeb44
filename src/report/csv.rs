//! CSV files in the layout of Locust's `--csv` (`<prefix>_stats.csv`, `_stats_history.csv`,
//! `_failures.csv`, `_exceptions.csv`), so spreadsheets and scripts written for Locust read a
//! loadgate run.
//!
//! The same columns, in the same order, with the same kinds of values: times in milliseconds,
//! percentiles as whole milliseconds after Locust's rounding to about two significant digits,
//! rates per second, the endpoints sorted by name then method and an `Aggregated` row last.
//! What differs, because loadgate measures differently:
//! - every figure covers the measured phase (the warm-up left out), as loadgate's own summary
//!   does (Locust with `--reset-stats` after its ramp-up);
//! - latency runs from the intended send time (so a stalled server shows), and percentiles come
//!   from the HDR histograms;
//! - a history row is one recording interval (`Timestamp` is its end; every measured interval
//!   has one, with zero rates when nothing finished in it), not one second of wall clock;
//!   `User Count` is the closed model's users (the open model has none: `0`);
//! - loadgate keeps no response sizes: `Average Content Size` is empty;
//! - a failure row is one distinct message (at most eight per endpoint, sampled over the whole
//!   run, warm-up included; the rest of a class is one `… (other messages)` row), and its first
//!   and last seen are the ends of the first and last interval in which its class occurred;
//! - `_exceptions.csv` holds only its header: a profile runs no user code that could raise.
//!
//! Cells from the profile, the results file or the target that a spreadsheet would read as a
//! formula (`=`, `+`, `-`, `@`, tab or carriage return first) are prefixed with `'`.

use std::time::{Duration, SystemTime};

use crate::metrics::Histogram;
use crate::results::{EndpointResult, Interval, ResultsError, RunResult};

/// Locust's percentiles, 0–1, with its column names.
const PERCENTILES: [(f64, &str); 11] = [
    (0.50, "50%"),
    (0.66, "66%"),
    (0.75, "75%"),
    (0.80, "80%"),
    (0.90, "90%"),
    (0.95, "95%"),
    (0.98, "98%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
    (1.0, "100%"),
];

/// The four files' contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocustCsv {
    /// `<prefix>_stats.csv`.
    pub stats: String,
    /// `<prefix>_stats_history.csv`.
    pub stats_history: String,
    /// `<prefix>_failures.csv`.
    pub failures: String,
    /// `<prefix>_exceptions.csv`.
    pub exceptions: String,
}

impl LocustCsv {
    /// The files as `(suffix, contents)`, in Locust's order.
    pub fn files(&self) -> [(&'static str, &str); 4] {
        [
            ("_stats.csv", &self.stats),
            ("_stats_history.csv", &self.stats_history),
            ("_failures.csv", &self.failures),
            ("_exceptions.csv", &self.exceptions),
        ]
    }
}

/// One endpoint's (or all endpoints') totals over some intervals.
#[derive(Default)]
struct Totals {
    requests: u64,
    failures: u64,
    latency: Histogram,
}

impl Totals {
    fn add(&mut self, interval: &Interval, histogram: &Histogram) {
        self.requests += interval.requests;
        self.failures += interval.error_total();
        self.latency.add(histogram);
    }

    /// Locust's median: the percentile, kept within the exact minimum and maximum (a float
    /// when it had to be).
    fn median(&self) -> String {
        let Some(median) = self.percentile_ms(0.5) else {
            return "0".into();
        };
        let (min, max) = (self.min_ms(), self.max_ms());
        if median as f64 > max {
            float(max)
        } else if (median as f64) < min {
            float(min)
        } else {
            median.to_string()
        }
    }

    /// Locust's percentile (`calculate_response_time_percentile`): the value at rank
    /// `min(⌊n·q⌋ + 1, n)` from the fastest, as whole milliseconds after its rounding (`None`
    /// without requests).
    fn percentile_ms(&self, q: f64) -> Option<u64> {
        let n = self.latency.len();
        if n == 0 {
            return None;
        }
        let rank = ((n as f64 * q) as u64 + 1).min(n);
        let mut seen = 0;
        self.latency
            .buckets()
            .find(|(_, count)| {
                seen += count;
                seen >= rank
            })
            .map(|(us, _)| bucket_ms(us as f64 / 1000.0))
    }

    fn mean_ms(&self) -> f64 {
        self.latency.mean_us().map_or(0.0, |us| us / 1000.0)
    }

    fn min_ms(&self) -> f64 {
        self.latency.min_us().map_or(0.0, |us| us as f64 / 1000.0)
    }

    fn max_ms(&self) -> f64 {
        self.latency.max_us().map_or(0.0, |us| us as f64 / 1000.0)
    }

    fn percentiles(&self) -> Vec<String> {
        PERCENTILES
            .iter()
            .map(|(q, _)| match self.percentile_ms(*q) {
                Some(ms) => ms.to_string(),
                None => "N/A".into(),
            })
            .collect()
    }
}

/// Locust's `bucket_response_time`: whole milliseconds below 100 ms, then about two significant
/// digits (147 → 150, 3432 → 3400, 58760 → 59000); ties go to the even neighbour, as Python's
/// `round` does.
fn bucket_ms(ms: f64) -> u64 {
    let step = if ms < 100.0 {
        1.0
    } else if ms < 1_000.0 {
        10.0
    } else if ms < 10_000.0 {
        100.0
    } else {
        1_000.0
    };
    ((ms / step).round_ties_even() * step) as u64
}

/// A number the way Python's `csv` module writes a float (`repr`): shortest round trip, with
/// `.0` on whole numbers.
fn float(x: f64) -> String {
    let text = format!("{x}");
    if x.is_finite() && !text.contains(['.', 'e', 'E']) {
        format!("{text}.0")
    } else {
        text
    }
}

/// A text cell from the profile, the results file or the target, kept from being read as a
/// spreadsheet formula.
fn text(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn csv_text(rows: &[Vec<String>]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(row)
            .expect("writing CSV to memory cannot fail");
    }
    let bytes = writer
        .into_inner()
        .expect("writing CSV to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 cells is UTF-8")
}

/// The four files of a run. `full_history` adds a history row per endpoint and interval
/// (Locust's `--csv-full-history`); without it the history holds the `Aggregated` row only.
pub fn locust_csv(result: &RunResult, full_history: bool) -> Result<LocustCsv, ResultsError> {
    let secs = result.measured_secs();
    let mut order: Vec<usize> = (0..result.endpoints.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&result.endpoints[a], &result.endpoints[b]);
        (&a.name, &a.method).cmp(&(&b.name, &b.method))
    });

    // Per measured interval, in order: every endpoint's interval and histogram.
    let warmup = result.warmup_intervals();
    let mut timeline: std::collections::BTreeMap<u32, Vec<(usize, &Interval, Histogram)>> =
        std::collections::BTreeMap::new();
    for (e, endpoint) in result.endpoints.iter().enumerate() {
        for (i, interval) in endpoint.intervals.iter().enumerate() {
            if interval.index >= warmup {
                let histogram = crate::results::decode(interval, &endpoint.name, i)?;
                timeline
                    .entry(interval.index)
                    .or_default()
                    .push((e, interval, histogram));
            }
        }
    }

    let header = |first: &[&str], last: &[&str]| -> Vec<String> {
        first
            .iter()
            .copied()
            .chain(PERCENTILES.iter().map(|(_, name)| *name))
            .chain(last.iter().copied())
            .map(str::to_string)
            .collect()
    };
    let start = humantime::parse_rfc3339_weak(&result.started_at).map_err(|e| {
        ResultsError::Invalid(format!(
            "`started_at` `{}` is not a time ({e}): expected RFC 3339 like `2026-12-03T17:00:00Z`",
            crate::untrusted::quote(&result.started_at)
        ))
    })?;
    let interval_ms = result.interval_ms.max(1);
    // The end of interval `index` (the run's end for a last interval cut short) and its length.
    let span = |index: u32| -> (SystemTime, f64) {
        let from = interval_ms * u64::from(index);
        let to = (from + interval_ms).min(result.duration_ms.max(from + 1));
        (
            start + Duration::from_millis(to),
            (to - from) as f64 / 1000.0,
        )
    };
    let intervals = u32::try_from(result.duration_ms.div_ceil(interval_ms)).unwrap_or(u32::MAX);
    let users_at: std::collections::BTreeMap<u32, u64> = result
        .generator
        .intervals
        .iter()
        .map(|g| (g.index, g.users))
        .collect();

    let mut history = vec![header(
        &[
            "Timestamp",
            "User Count",
            "Type",
            "Name",
            "Requests/s",
            "Failures/s",
        ],
        &[
            "Total Request Count",
            "Total Failure Count",
            "Total Median Response Time",
            "Total Average Response Time",
            "Total Min Response Time",
            "Total Max Response Time",
            "Total Average Content Size",
        ],
    )];
    let mut running: Vec<Totals> = result.endpoints.iter().map(|_| Totals::default()).collect();
    let mut running_all = Totals::default();
    for index in warmup..intervals.max(warmup) {
        let cells = timeline.get(&index).map_or(&[][..], Vec::as_slice);
        let (end, secs) = span(index);
        let timestamp = end
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let users = users_at.get(&index).copied().unwrap_or(0).to_string();
        let mut now: Vec<Option<Totals>> = result.endpoints.iter().map(|_| None).collect();
        let mut now_all = Totals::default();
        for (e, interval, histogram) in cells {
            running[*e].add(interval, histogram);
            running_all.add(interval, histogram);
            now_all.add(interval, histogram);
            now[*e]
                .get_or_insert_with(Totals::default)
                .add(interval, histogram);
        }
        let row = |kind: &str, name: &str, current: &Totals, total: &Totals| -> Vec<String> {
            let mut row = vec![
                timestamp.clone(),
                users.clone(),
                text(kind),
                text(name),
                format!("{:.6}", current.requests as f64 / secs),
                format!("{:.6}", current.failures as f64 / secs),
            ];
            // Locust: the interval's own percentiles in a full history, the totals' otherwise.
            row.extend(if full_history { current } else { total }.percentiles());
            row.extend([
                total.requests.to_string(),
                total.failures.to_string(),
                total.median(),
                float(total.mean_ms()),
                float(total.min_ms()),
                float(total.max_ms()),
                String::new(),
            ]);
            row
        };
        if full_history {
            let none = Totals::default();
            for &e in &order {
                let endpoint = &result.endpoints[e];
                let current = now[e].as_ref().unwrap_or(&none);
                history.push(row(&endpoint.method, &endpoint.name, current, &running[e]));
            }
        }
        history.push(row("", "Aggregated", &now_all, &running_all));
    }

    let mut stats = vec![header(
        &[
            "Type",
            "Name",
            "Request Count",
            "Failure Count",
            "Median Response Time",
            "Average Response Time",
            "Min Response Time",
            "Max Response Time",
            "Average Content Size",
            "Requests/s",
            "Failures/s",
        ],
        &[],
    )];
    let stats_row = |kind: &str, name: &str, t: &Totals| -> Vec<String> {
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let mut row = vec![
            text(kind),
            text(name),
            t.requests.to_string(),
            t.failures.to_string(),
            t.median(),
            float(t.mean_ms()),
            float(t.min_ms()),
            float(t.max_ms()),
            String::new(),
            float(per_sec(t.requests)),
            float(per_sec(t.failures)),
        ];
        row.extend(t.percentiles());
        row
    };
    for &e in &order {
        let endpoint = &result.endpoints[e];
        stats.push(stats_row(&endpoint.method, &endpoint.name, &running[e]));
    }
    stats.push(stats_row("", "Aggregated", &running_all));

    let mut failures = vec![
        [
            "Method",
            "Name",
            "Error",
            "Occurrences",
            "First Seen",
            "Last Seen",
        ]
        .map(str::to_string)
        .to_vec(),
    ];
    let seen = |endpoint: &EndpointResult, class| -> (String, String) {
        let at: Vec<SystemTime> = endpoint
            .intervals
            .iter()
            .filter(|i| i.index >= warmup && i.errors.get(&class).copied().unwrap_or(0) > 0)
            .map(|i| span(i.index).0)
            .collect();
        let (first, last) = (at.first().copied(), at.last().copied());
        let show = |t: Option<SystemTime>| {
            t.map(|t| humantime::format_rfc3339_seconds(t).to_string())
                .unwrap_or_default()
        };
        (show(first), show(last))
    };
    for &e in &order {
        let endpoint = &result.endpoints[e];
        let mut by_class: std::collections::BTreeMap<_, u64> = std::collections::BTreeMap::new();
        for interval in endpoint.intervals.iter().filter(|i| i.index >= warmup) {
            for (class, n) in &interval.errors {
                *by_class.entry(*class).or_default() += n;
            }
        }
        for (class, total) in by_class {
            let (first, last) = seen(endpoint, class);
            let mut listed = 0;
            for sample in endpoint.error_samples.iter().filter(|s| s.class == class) {
                // Samples count the whole run; the measured phase holds at most the class's
                // measured total.
                let count = sample.count.min(total - listed);
                if count == 0 {
                    continue;
                }
                listed += count;
                failures.push(vec![
                    text(&endpoint.method),
                    text(&endpoint.name),
                    text(&format!("{}: {}", class.as_str(), sample.message)),
                    count.to_string(),
                    first.clone(),
                    last.clone(),
                ]);
            }
            if total > listed {
                failures.push(vec![
                    text(&endpoint.method),
                    text(&endpoint.name),
                    text(&format!("{} (other messages)", class.as_str())),
                    (total - listed).to_string(),
                    first.clone(),
                    last.clone(),
                ]);
            }
        }
    }

    let exceptions = vec![
        ["Count", "Message", "Traceback", "Nodes"]
            .map(str::to_string)
            .to_vec(),
    ];
    Ok(LocustCsv {
        stats: csv_text(&stats),
        stats_history: csv_text(&history),
        failures: csv_text(&failures),
        exceptions: csv_text(&exceptions),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locust_rounding_keeps_two_significant_digits_above_100_ms() {
        for (ms, bucket) in [
            (0.4, 0),
            (2.5, 2),
            (3.5, 4),
            (99.4, 99),
            (147.0, 150),
            (3432.0, 3400),
            (58760.0, 59000),
        ] {
            assert_eq!(bucket_ms(ms), bucket, "{ms}");
        }
    }

    #[test]
    fn floats_are_written_as_python_writes_them_and_formulas_are_defused() {
        assert_eq!(float(12.0), "12.0");
        assert_eq!(float(0.25), "0.25");
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("-1"), "'-1");
        assert_eq!(text("get customer"), "get customer");
    }

    /// One endpoint `GET home`: interval 0 answers 10 ms and 20 ms, interval 1 (cut to half a
    /// second by the run's end) one 147 ms response.
    fn run() -> RunResult {
        let mut r = crate::results::capacity::test_step(&[(2, 0, 10_000), (1, 0, 147_000)], 0, 0);
        let mut h = Histogram::new();
        h.record_us(10_000);
        h.record_us(20_000);
        r.endpoints[0].intervals[0].latency = crate::metrics::EncodedHistogram::encode(&h);
        r.duration_ms = 1_500;
        r.load.duration_ms = 1_500;
        r.refresh_summaries().unwrap();
        r
    }

    fn parse(text: &str) -> Vec<Vec<String>> {
        assert!(text.ends_with("\r\n"));
        text.trim_end()
            .split("\r\n")
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn numbers_follow_locusts_rules() {
        let files = locust_csv(&run(), true).unwrap();
        let stats = parse(&files.stats);
        let (h, home, all) = (&stats[0], &stats[1], &stats[2]);
        let at =
            |row: &Vec<String>, name: &str| row[h.iter().position(|c| c == name).unwrap()].clone();
        assert_eq!(at(home, "Name"), "home");
        assert_eq!(at(all, "Name"), "Aggregated");
        assert_eq!(at(home, "Request Count"), "3");
        // Ranks ⌊n·q⌋ + 1 of [10, 20, 147] ms: the median is 20 ms, p66 (rank 2) 20 ms, p75
        // (rank 3) the 147 ms response rounded as Locust rounds it, 150.
        assert_eq!(at(home, "Median Response Time"), "20");
        assert_eq!(at(home, "50%"), "20");
        assert_eq!(at(home, "66%"), "20");
        assert_eq!(at(home, "75%"), "150");
        assert_eq!(at(home, "100%"), "150");
        // 3 requests over the 1.5 s measured.
        assert_eq!(at(home, "Requests/s"), "2.0");
        assert_eq!(
            stats[1][2..],
            stats[2][2..],
            "one endpoint: Aggregated repeats it"
        );

        let history = parse(&files.stats_history);
        assert_eq!(
            history.len(),
            1 + 2 * 2,
            "header, then home and Aggregated per interval"
        );
        let second = &history[3];
        assert_eq!(second[3], "home");
        // Half a second, one response: 2 per second; its own percentiles; the totals' median.
        assert_eq!(second[4], "2.000000");
        assert_eq!(second[6], "150");
        let total_median = history[0]
            .iter()
            .position(|c| c == "Total Median Response Time")
            .unwrap();
        assert_eq!(second[total_median], "20");
        // Timestamps: each interval's end, the last one cut to the run's end (1.5 s).
        let start = 1_767_225_600; // 2026-01-01T00:00:00Z
        assert_eq!(history[1][0], (start + 1).to_string());
        assert_eq!(
            second[0],
            (start + 1).to_string(),
            "1.5 s rounds down to the second"
        );

        // Without a full history, the Aggregated row carries the totals' percentiles.
        let short = parse(&locust_csv(&run(), false).unwrap().stats_history);
        assert_eq!(short.len(), 3);
        assert_eq!(short[2][6], "20", "the median of all three so far");
    }

    #[test]
    fn a_median_is_kept_within_the_exact_minimum_and_maximum() {
        // A lone 147 ms response: Locust's rounded median (150) would exceed the maximum.
        let r = crate::results::capacity::test_step(&[(1, 0, 147_000)], 0, 0);
        let stats = parse(&locust_csv(&r, false).unwrap().stats);
        let (median, max) = (&stats[1][4], &stats[1][7]);
        assert_eq!(median, max, "{:?}", stats[1]);
        assert!(median.starts_with("147."), "{median}");
    }

    #[test]
    fn a_run_without_requests_writes_headers_and_empty_rows() {
        let r = crate::results::capacity::test_step(&[(0, 0, 0), (0, 0, 0)], 0, 0);
        let files = locust_csv(&r, true).unwrap();
        let stats = parse(&files.stats);
        assert_eq!(stats[2][1], "Aggregated");
        assert_eq!(stats[2][2], "0");
        assert_eq!(stats[2][11], "N/A");
        assert_eq!(parse(&files.stats_history).len(), 1 + 2 * 2);
        assert_eq!(parse(&files.failures).len(), 1);
    }

    #[test]
    fn a_start_time_that_is_not_a_time_is_an_error() {
        let mut r = crate::results::capacity::test_step(&[(1, 0, 1_000)], 0, 0);
        r.started_at = "yesterday".into();
        let e = locust_csv(&r, false).unwrap_err().to_string();
        assert!(e.contains("`started_at` `yesterday`"), "{e}");
    }
}
