//! Live metrics: real HTTP scrapes of `/metrics` while a run goes on, parsed by an independent
//! Prometheus text-format parser (`prometheus-parse`), whose counters at the end equal the
//! results file's; and `--metrics-listen` / `--metrics-out` on the real binary.
#![allow(clippy::unwrap_used, clippy::float_cmp)] // counts are whole numbers, exact as f64

use crate::support;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadgate::app::live::Live;
use loadgate::engine::{self, RunExtras, RunMeta, RunOptions, ShardSpec, Stop};
use loadgate::metrics::ErrorClass;
use loadgate::profile::Profile;
use loadgate::results::{RunResult, Runner};
use prometheus_parse::{Scrape, Value};

/// Load tests run one at a time (see tests/engine.rs).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Three seconds at 100/s: half fine, half answered 503, with a warm-up. (Label escaping is
/// unit-tested in `metrics::exposition`: `prometheus-parse` does not unescape label values.)
const PROFILE: &str = "name: live
load:
  warmup: 500ms
  interval: 250ms
  stages:
    - { duration: 3s, rate: 100/s }
requests:
  - { name: ok, get: /ok }
  - { name: fails often, get: /status/503 }
gate: { max_error_rate: 90% } # half the requests fail on purpose
";

/// `GET /metrics` over a plain TCP connection; the status line and the body.
fn scrape(addr: SocketAddr, accept: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

fn parse(body: &str) -> Scrape {
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// Counter and gauge values by metric name and sorted labels.
fn values(s: &Scrape) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for sample in &s.samples {
        let mut labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort();
        let v = match &sample.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => continue,
        };
        out.insert(format!("{}{{{}}}", sample.metric, labels.join(",")), v);
    }
    out
}

fn counter(s: &Scrape, metric: &str, endpoint: &str, class: Option<&str>) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| {
            x.metric == metric
                && x.labels.get("endpoint") == Some(endpoint)
                && class.is_none_or(|c| x.labels.get("class") == Some(c))
        })
        .map(|x| match x.value {
            Value::Counter(v) | Value::Untyped(v) | Value::Gauge(v) => v,
            _ => f64::NAN,
        })
}

fn total(s: &Scrape, metric: &str) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == metric)
        .map(|x| match x.value {
            Value::Counter(v) | Value::Untyped(v) | Value::Gauge(v) => v,
            _ => 0.0,
        })
        .sum()
}

/// The counters of a scrape equal what the results file holds, warm-up included.
fn assert_matches_results(s: &Scrape, result: &RunResult) {
    for e in &result.endpoints {
        let requests: u64 = e.intervals.iter().map(|i| i.requests).sum();
        let label = e.name.as_str();
        assert_eq!(
            counter(s, "loadgate_requests_total", label, None),
            Some(requests as f64),
            "requests of `{label}`"
        );
        for class in ErrorClass::ALL {
            let n: u64 = e
                .intervals
                .iter()
                .map(|i| i.errors.get(&class).copied().unwrap_or(0))
                .sum();
            assert_eq!(
                counter(
                    s,
                    "loadgate_request_errors_total",
                    label,
                    Some(class.as_str())
                ),
                Some(n as f64),
                "{class} errors of `{label}`"
            );
        }
        let responses: u64 = e
            .intervals
            .iter()
            .map(|i| i.latency.decode().unwrap().len())
            .sum();
        let histogram = s
            .samples
            .iter()
            .find(|x| {
                x.metric == "loadgate_request_duration_seconds"
                    && x.labels.get("endpoint") == Some(label)
            })
            .unwrap();
        let Value::Histogram(buckets) = &histogram.value else {
            panic!("not a histogram: {histogram:?}");
        };
        let inf = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
        assert_eq!(inf.count, responses as f64, "latency samples of `{label}`");
        assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
    }
    let g = &result.generator.intervals;
    assert_eq!(
        total(s, "loadgate_arrivals_planned_total"),
        g.iter().map(|r| r.planned).sum::<u64>() as f64
    );
    assert_eq!(
        total(s, "loadgate_arrivals_sent_total"),
        g.iter().map(|r| r.sent).sum::<u64>() as f64
    );
}

#[test]
fn scrapes_during_a_run_parse_and_end_equal_to_the_results() {
    let _serial = serial();
    let target = support::Target::start();
    let profile = Arc::new(Profile::from_yaml(PROFILE, "live.yaml").unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (result, during, last) = rt.block_on(async {
        let live = Live::start(&profile, Some("127.0.0.1:0"), None)
            .await
            .unwrap()
            .unwrap();
        let addr = live.addr().unwrap();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Scrapes while the run goes on, from another thread, as Prometheus would.
        let scraper = {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut bodies = Vec::new();
                while !done.load(std::sync::atomic::Ordering::SeqCst) && bodies.len() < 200 {
                    bodies.push(scrape(addr, "text/plain"));
                    std::thread::sleep(Duration::from_millis(100));
                }
                bodies
            })
        };
        let options = RunOptions {
            target: target.url(),
            shard: ShardSpec::WHOLE,
            threads: None,
            meta: RunMeta {
                profile_path: None,
                git: None,
                runner: Runner {
                    class: "test".into(),
                    cpus: 1,
                },
            },
            session: engine::setup::Session::default(),
        };
        let extras = RunExtras {
            gauges: Some(live.gauges()),
            ..RunExtras::default()
        };
        let result = engine::run_with(
            profile.clone(),
            options,
            extras,
            Arc::new(Stop::default()),
            |p| live.observe(p),
        )
        .await
        .unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let during = tokio::task::spawn_blocking(move || scraper.join().unwrap())
            .await
            .unwrap();
        // The run is over; the server still answers: one last scrape.
        let last = tokio::task::spawn_blocking(move || scrape(addr, "text/plain"))
            .await
            .unwrap();
        live.finish().await.unwrap();
        (result, during, last)
    });
    assert!(last.0.starts_with("HTTP/1.1 200"), "{}", last.0);
    assert!(
        last.0
            .to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        last.0
    );
    let last = parse(&last.1);
    assert_matches_results(&last, &result);
    // Scrapes during the run: each parses, counters only grow, and some saw the run midway.
    let all = values(&last);
    let mut previous: HashMap<String, f64> = HashMap::new();
    let mut midway = 0;
    for (head, body) in &during {
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let now = values(&parse(body));
        for (k, v) in &now {
            if k.contains("_total") {
                assert!(v >= previous.get(k).unwrap_or(&0.0), "{k} fell");
                assert!(
                    v <= all.get(k).unwrap_or(&f64::INFINITY),
                    "{k} above its end"
                );
            }
        }
        let ok = now.get("loadgate_requests_total{endpoint=ok}").copied();
        let end = all["loadgate_requests_total{endpoint=ok}"];
        if ok.is_some_and(|n| n > 0.0 && n < end) {
            midway += 1;
        }
        previous = now;
    }
    assert!(
        midway >= 1,
        "no scrape saw the run midway ({} scrapes)",
        during.len()
    );
    // The target's rate and the generator's health are there too.
    assert_eq!(
        all.get("loadgate_target_rate_requests_per_second{}"),
        Some(&100.0)
    );
    assert!(all.contains_key("loadgate_schedule_lag_max_seconds{}"));
    assert_eq!(all.get("loadgate_in_flight_requests{}"), Some(&0.0));
}

#[test]
fn the_binary_serves_metrics_and_writes_the_final_snapshot() {
    let _serial = serial();
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("live.yaml");
    std::fs::write(&profile, PROFILE).unwrap();
    let (results, snapshot) = (
        dir.path().join("results.json"),
        dir.path().join("metrics.txt"),
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
        .env_remove("GITHUB_ACTIONS")
        .env("LOADGATE_METRICS_LISTEN", "127.0.0.1:0")
        .args([
            "run",
            "--progress",
            "off",
            "--target",
            &target.url(),
            "--out",
        ])
        .arg(&results)
        .arg("--metrics-out")
        .arg(&snapshot)
        .arg(&profile)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    let started = Instant::now();
    while addr.is_none() && started.elapsed() < Duration::from_secs(30) {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        addr = line
            .strip_prefix("metrics: http://")
            .and_then(|rest| rest.trim().strip_suffix("/metrics"))
            .map(|a| a.parse::<SocketAddr>().unwrap());
    }
    let addr = addr.expect("the bound address is printed");
    // A scrape while the run goes on, asking for OpenMetrics.
    let (head, body) = scrape(addr, "application/openmetrics-text; version=1.0.0");
    assert!(
        head.to_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(
        parse(&body)
            .samples
            .iter()
            .any(|s| s.metric == "loadgate_run_info")
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    // 0, or 3 when a busy machine made the generator fall behind (the run is then untrusted
    // for a verdict, which says nothing about its metrics).
    assert!(matches!(status.code(), Some(0 | 3)), "{status}: {rest}");
    let result = RunResult::from_json(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let text = std::fs::read_to_string(&snapshot).unwrap();
    assert!(text.contains("# TYPE loadgate_requests counter\n"));
    assert!(text.ends_with("# EOF\n"));
    assert_matches_results(&parse(&text), &result);
}
