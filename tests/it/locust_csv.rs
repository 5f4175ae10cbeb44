//! `--csv PREFIX` writes Locust's four CSV files, with Locust's own header lines (captured from
//! Locust 2.47.0 into `tests/fixtures/locust/`), from `run` and again from `report`, through
//! the real binary against an in-process target.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use crate::support;

use crate::support::loadgate;

const FILES: [&str; 4] = ["stats", "stats_history", "failures", "exceptions"];

/// The rows of `PREFIX_<name>.csv` (CRLF lines, as Locust writes them), header first.
fn rows(prefix: &Path, name: &str) -> Vec<Vec<String>> {
    let path = format!("{}_{name}.csv", prefix.display());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(text.ends_with("\r\n"), "{path} ends its lines with CRLF");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name}"))
}

fn num(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("`{cell}` is a number"))
}

#[test]
fn run_and_report_write_locusts_files_with_its_columns() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.yaml");
    std::fs::write(
        &profile,
        "name: csv\nload:\n  warmup: 1s\n  stages: [ { duration: 4s, rate: 50/s } ]\n\
         requests:\n  - { name: home, weight: 2, get: /ok, check: { status: 200 } }\n  \
         - { name: \"=gone\", get: /status/503, check: { status: 200 } }\n",
    )
    .unwrap();
    let out = dir.path().join("r.json");
    let prefix = dir.path().join("csv/run");
    loadgate()
        .args(["run", profile.to_str().unwrap(), "--target", &target.url()])
        .args([
            "--out",
            out.to_str().unwrap(),
            "--csv",
            prefix.to_str().unwrap(),
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        // A third of the requests fail: a regression, and the files are written all the same.
        .code(1)
        .stderr(predicates::str::contains(
            "CSV (Locust's columns) written to",
        ));

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/locust");
    for name in FILES {
        let locust = std::fs::read_to_string(fixtures.join(format!("{name}.header"))).unwrap();
        let ours = &rows(&prefix, name)[0];
        assert_eq!(
            ours.join(","),
            locust.trim_end(),
            "{name}: Locust's header line"
        );
    }

    let result =
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let requests = |name: &str| {
        let e = result.endpoints.iter().find(|e| e.name == name).unwrap();
        (e.summary.requests, e.summary.errors)
    };

    // Stats: the endpoints sorted by name (`=gone` defused and first), then `Aggregated`.
    let stats = rows(&prefix, "stats");
    let h = &stats[0];
    let names: Vec<&str> = stats[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["'=gone", "home", "Aggregated"]);
    assert_eq!(stats[3][0], "", "the Aggregated row has no type");
    let (home, gone) = (requests("home"), requests("=gone"));
    for (row, (reqs, errs)) in [(&stats[1], gone), (&stats[2], home)] {
        assert_eq!(row[0], "GET");
        assert_eq!(num(&row[column(h, "Request Count")]) as u64, reqs);
        assert_eq!(num(&row[column(h, "Failure Count")]) as u64, errs);
    }
    assert!(
        gone.0 > 0 && gone.0 == gone.1,
        "every `=gone` request failed: {gone:?}"
    );
    let all = &stats[3];
    assert_eq!(
        num(&all[column(h, "Request Count")]) as u64,
        home.0 + gone.0
    );
    assert_eq!(num(&all[column(h, "Failure Count")]) as u64, gone.1);
    assert_eq!(
        all[column(h, "Average Content Size")],
        "",
        "no sizes are recorded"
    );
    let rate = num(&all[column(h, "Requests/s")]);
    assert!(
        (40.0..=60.0).contains(&rate),
        "50/s asked, {rate}/s written"
    );
    let p = column(h, "50%");
    let percentiles: Vec<f64> = all[p..p + 11].iter().map(|c| num(c)).collect();
    assert!(
        percentiles.windows(2).all(|w| w[0] <= w[1]),
        "{percentiles:?}"
    );
    let max = num(&all[column(h, "Max Response Time")]);
    assert!(max >= num(&all[column(h, "Min Response Time")]) && max > 0.0);

    // History: one Aggregated row per measured interval, totals growing to the stats' totals.
    let history = rows(&prefix, "stats_history");
    let hh = &history[0];
    assert!(
        history[1..]
            .iter()
            .all(|r| r[column(hh, "Name")] == "Aggregated")
    );
    let measured = result.duration_ms.div_ceil(result.interval_ms) as usize
        - result.warmup_intervals() as usize;
    assert_eq!(history.len() - 1, measured);
    let total = column(hh, "Total Request Count");
    let totals: Vec<f64> = history[1..].iter().map(|r| num(&r[total])).collect();
    assert!(totals.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*totals.last().unwrap() as u64, home.0 + gone.0);
    let stamps: Vec<f64> = history[1..].iter().map(|r| num(&r[0])).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");

    // Failures: the failing endpoint's 503s, all of them.
    let failures = rows(&prefix, "failures");
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(failures[1][1], "'=gone");
    assert!(failures[1][2].starts_with("http_5xx"), "{:?}", failures[1]);
    assert_eq!(num(&failures[1][3]) as u64, gone.1);
    assert!(failures[1][4].ends_with('Z') && failures[1][4] <= failures[1][5]);
    assert_eq!(rows(&prefix, "exceptions").len(), 1, "a header only");

    // `report` writes the same stats from the saved file; full history adds endpoint rows.
    let again = dir.path().join("again");
    loadgate()
        .args(["report", out.to_str().unwrap(), "--format", "text"])
        .args(["--csv", again.to_str().unwrap(), "--csv-full-history"])
        .assert()
        .success();
    assert_eq!(rows(&again, "stats"), stats);
    let full = rows(&again, "stats_history");
    assert_eq!(
        full.len() - 1,
        3 * measured,
        "two endpoints and Aggregated per interval"
    );
    assert_eq!(full[1][2], "GET");
}

#[test]
fn full_history_without_a_prefix_is_refused() {
    loadgate()
        .args(["report", "r.json", "--csv-full-history"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--csv <PREFIX>"));
}
