//! The engine against a real in-process HTTP target: rates, users, stalls, error classes,
//! warm-up, shards. Assertions are on counts, classifications and bounds, never exact timings.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::time::Duration;

use loadgate::engine::ShardSpec;
use loadgate::metrics::ErrorClass;
use support::{Target, closed_port, errors_of, requests_of, run_yaml, run_yaml_with};

/// Load tests run one at a time: on a 2-core machine, two concurrent runs starve each other
/// and measure the scheduler rather than the engine.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_profile(rate: &str, secs: u32, path: &str) -> String {
    format!(
        "name: t\nload:\n  stages:\n    - {{ duration: {secs}s, rate: {rate} }}\nrequests:\n  - name: r\n    get: {path}\n"
    )
}

#[test]
fn open_model_holds_500_per_second_within_3_percent() {
    let _serial = serial();
    let target = Target::start();
    let started = std::time::Instant::now();
    let result = run_yaml(&open_profile("500/s", 5, "/ok"), &target.url());
    let wall = started.elapsed();
    let sent = requests_of(&result.endpoints[0]);
    // Achieved rate as the server saw it, over the schedule's 5 seconds.
    let received = target.count("/ok");
    assert_eq!(received, sent, "every request recorded was received");
    let achieved = received as f64 / 5.0;
    assert!((achieved - 500.0).abs() <= 15.0, "achieved {achieved}/s");
    assert!(
        wall >= Duration::from_millis(4900),
        "the schedule spans 5 s, took {wall:?}"
    );
    let g = result.generator_totals();
    assert_eq!(g.planned, 2500);
    assert_eq!(g.dropped, 0);
    // The server saw the load spread over the run, not in a burst: every second got its share.
    let arrivals = target.arrivals();
    let first = arrivals.iter().copied().fold(f64::INFINITY, f64::min);
    for second in 0..5 {
        let n = arrivals
            .iter()
            .filter(|t| (**t - first) >= f64::from(second) && (**t - first) < f64::from(second + 1))
            .count();
        // A burst would put the whole run into one second; pacing keeps every second near
        // 500 (within half to double, allowing for a starved CPU in a busy test run).
        assert!((250..=750).contains(&n), "second {second} got {n} requests");
    }
    assert!(!result.partial);
    assert_eq!(result.endpoints[0].summary.errors, 0);
}

#[test]
fn requests_beyond_the_connections_being_opened_wait_for_one() {
    let _serial = serial();
    let target = Target::start();
    // Ten arrivals a millisecond, each held 30 ms by the server: more requests need a
    // connection at once than a thread opens at a time, so many wait for one to open or come
    // free. Every one is sent and answered.
    let yaml = "name: t\nload:\n  stages:\n    - { duration: 1s, rate: 10000/s }\n  max_in_flight: 5000\nrequests:\n  - get: /delay/30\n";
    let result = support::run_yaml_on_threads(yaml, &target.url(), 1).unwrap();
    let e = &result.endpoints[0];
    assert_eq!(e.summary.errors, 0, "{:?}", e.error_samples);
    let g = result.generator_totals();
    assert_eq!((g.planned, g.sent, g.dropped), (10_000, 10_000, 0));
    assert_eq!(target.count("/delay/30"), 10_000);
}

#[test]
fn open_model_latency_is_never_shorter_than_the_server_takes() {
    let _serial = serial();
    let target = Target::start();
    // The dispatcher wakes up to a millisecond early; a request sent early is timed from its
    // actual send time, so no latency can be below the 5 ms the server holds each request.
    let result = run_yaml(&open_profile("100/s", 2, "/exact/5"), &target.url());
    let e = &result.endpoints[0];
    assert_eq!(e.summary.errors, 0, "{:?}", e.error_samples);
    assert!(e.summary.requests >= 190, "{}", e.summary.requests);
    let min = e.summary.latency.min_us.unwrap();
    assert!(min >= 5_000, "min latency {min}µs is below the 5 ms delay");
}

#[test]
fn closed_model_runs_the_requested_users() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nload:\n  model: closed\n  think_time: 100ms\n  stages:\n    - { duration: 2s, users: 4 }\n    - { duration: 2s, users: 12 }\nrequests:\n  - get: /delay/10\n";
    let result = run_yaml(yaml, &target.url());
    let users: Vec<(u32, u64, u64)> = result
        .generator
        .intervals
        .iter()
        .map(|g| (g.index, g.users, g.target_users))
        .collect();
    let at = |i: u32| users.iter().find(|u| u.0 == i).map(|u| (u.1, u.2)).unwrap();
    assert_eq!(at(0), (4, 4), "{users:?}");
    assert_eq!(at(1), (4, 4), "{users:?}");
    assert_eq!(at(2), (12, 12), "{users:?}");
    assert_eq!(at(3), (12, 12), "{users:?}");
    // Each user does one request per ~110 ms: about 9 per second per user.
    let req = |i: u32| {
        result.endpoints[0]
            .intervals
            .iter()
            .find(|x| x.index == i)
            .map_or(0, |x| x.requests)
    };
    assert!(
        (25..=40).contains(&req(1)),
        "4 users → ~36/s, got {}",
        req(1)
    );
    assert!(
        (80..=115).contains(&req(3)),
        "12 users → ~108/s, got {}",
        req(3)
    );
    assert_eq!(result.endpoints[0].summary.errors, 0);
}

#[test]
fn spawn_rate_limits_how_fast_users_start() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nload:\n  model: closed\n  spawn_rate: 4/s\n  think_time: 50ms\n  stages:\n    - { steps: [8], hold: 3s }\nrequests:\n  - get: /ok\n";
    let result = run_yaml(yaml, &target.url());
    let users = |i: u32| {
        result
            .generator
            .intervals
            .iter()
            .find(|g| g.index == i)
            .unwrap()
            .users
    };
    assert!(
        (3..=5).contains(&users(0)),
        "after 1 s at 4/s: {}",
        users(0)
    );
    assert_eq!(users(2), 8, "all 8 users by the third second");
}

/// The generator check of a run.
fn generator_check(result: &loadgate::results::RunResult) -> loadgate::compare::ValidityCheck {
    loadgate::compare::validity::run_checks(result)
        .into_iter()
        .find(|c| c.check == loadgate::compare::CheckKind::Generator)
        .unwrap()
}

#[test]
fn a_step_reached_at_the_spawn_rate_is_a_trusted_run() {
    let _serial = serial();
    let target = Target::start();
    // The README's step-load study, shortened: every step is reached at 2 users a second, so
    // the second step (2 → 12 users) is still rising when the run ends: all through it fewer
    // users run than the stage's level, as the schedule says (compared with the level, the
    // run was untrusted).
    let yaml = "name: t\nload:\n  model: closed\n  think_time: 200ms\n  spawn_rate: 2/s\n  warmup: 1s\n  stages:\n    - { steps: [2, 12], hold: 4s }\nrequests:\n  - get: /ok\n";
    let result = run_yaml(yaml, &target.url());
    let check = generator_check(&result);
    assert_eq!(
        check.status,
        loadgate::compare::CheckStatus::Ok,
        "{check:?}\n{:?}",
        result.generator.intervals
    );
    // Users are compared with the spawn-limited schedule, and every scheduled user ran.
    let users: Vec<(u64, u64)> = result
        .generator
        .intervals
        .iter()
        .map(|g| (g.users, g.target_users))
        .collect();
    assert!(users.iter().any(|&(_, t)| t > 2 && t < 12), "{users:?}");
    assert!(users.iter().all(|&(u, t)| u == t && t < 12), "{users:?}");
    // The users' wake-ups from their think time are the closed model's schedule lag.
    let lag = result.generator.schedule_lag.decode().unwrap();
    assert!(lag.len() > 50, "{} wake-ups recorded", lag.len());

    // The check fails when users are missing or wake late (a starved generator).
    let mut short = result.clone();
    for g in &mut short.generator.intervals {
        g.users = g.target_users * 9 / 10;
    }
    let check = generator_check(&short);
    assert_eq!(check.status, loadgate::compare::CheckStatus::Failed);
    assert!(check.detail.contains("scheduled users"), "{check:?}");
    let mut late = result;
    let mut h = loadgate::metrics::Histogram::new();
    for _ in 0..100 {
        h.record_us(50_000);
    }
    late.generator.schedule_lag = loadgate::metrics::EncodedHistogram::encode(&h);
    let check = generator_check(&late);
    assert_eq!(check.status, loadgate::compare::CheckStatus::Failed);
    assert!(
        check.detail.contains("woke from their think time late"),
        "{check:?}"
    );
}

#[test]
fn a_stall_shows_in_the_open_model_and_hides_in_the_closed_model() {
    let _serial = serial();
    // Open model: arrivals keep coming during a 1 s stall, and each is measured from its
    // intended send time, so p99 and max show the stall.
    let target = Target::start();
    let open = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            target.stall_for(Duration::from_secs(1));
        });
        run_yaml(&open_profile("200/s", 4, "/ok"), &target.url())
    });
    let s = &open.endpoints[0].summary.latency;
    let max = s.max_us.unwrap();
    assert!(
        (900_000..1_300_000).contains(&max),
        "max {max}µs should be about the 1 s stall"
    );
    assert!(
        s.p99_us.unwrap() > 700_000,
        "p99 {:?} is dominated by the stall",
        s.p99_us
    );
    assert!(
        s.p90_us.unwrap() > 150_000,
        "a quarter of arrivals fell in the stall: p90 {:?}",
        s.p90_us
    );

    // Closed model: the users wait with the server, send nothing meanwhile, and the stall is
    // a handful of slow samples among thousands: p99 stays low although max saw it.
    let target = Target::start();
    let closed = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            target.stall_for(Duration::from_secs(1));
        });
        run_yaml(
            "name: t\nload:\n  model: closed\n  stages:\n    - { duration: 4s, users: 4 }\nrequests:\n  - get: /ok\n",
            &target.url(),
        )
    });
    let c = &closed.endpoints[0].summary.latency;
    assert!(
        c.max_us.unwrap() > 900_000,
        "the closed model saw the stall once per user"
    );
    assert!(
        c.p99_us.unwrap() < 100_000,
        "but its p99 {:?} hides it",
        c.p99_us
    );
}

#[test]
fn errors_are_classified() {
    let _serial = serial();
    let target = Target::start();
    let url = target.url();
    let yaml = r#"
name: classes
defaults: { timeout: 300ms }
load:
  stages: [ { duration: 2s, rate: 60/s } ]
requests:
  - { name: not found, get: /status/404 }
  - { name: unavailable, get: /status/503 }
  - { name: slow, get: /delay/2000 }
  - { name: wrong body, get: /ok, check: { body_contains: "nope" } }
  - { name: wrong status, get: /ok, check: { status: 201 } }
  - { name: wrong json, get: /json, check: { json: { "/id": 8 } } }
  - { name: cut body, get: /partial }
  - { name: dropped, get: /close }
  - { name: fine, get: /json, check: { status: 2xx, json: { "/id": 7, "tags[1]": "b" } } }
"#;
    let result = run_yaml(yaml, &url);
    let by = |name: &str| result.endpoints.iter().find(|e| e.name == name).unwrap();
    let only = |name: &str, class: ErrorClass| {
        let e = by(name);
        let n = requests_of(e);
        assert!(n > 0, "{name} got requests");
        assert_eq!(
            errors_of(e, class),
            n,
            "{name}: every request is {class}: {:?}",
            e.error_samples
        );
        let total: u64 = e
            .intervals
            .iter()
            .map(loadgate::results::Interval::error_total)
            .sum();
        assert_eq!(total, n, "{name}: no other class");
    };
    only("not found", ErrorClass::Http4xx);
    only("unavailable", ErrorClass::Http5xx);
    only("slow", ErrorClass::Timeout);
    only("wrong body", ErrorClass::Check);
    only("wrong status", ErrorClass::Check);
    only("wrong json", ErrorClass::Check);
    only("cut body", ErrorClass::Body);
    only("dropped", ErrorClass::Closed);
    assert_eq!(
        by("fine").summary.errors,
        0,
        "{:?}",
        by("fine").error_samples
    );
    assert!(
        by("wrong json").error_samples[0]
            .message
            .contains("is `7`, expected `8`")
    );
    assert!(
        by("unavailable").error_samples[0]
            .message
            .contains("status 503")
    );
    // Timeouts carry no latency; responses do (the 4xx/5xx and check failures).
    assert_eq!(by("slow").summary.latency.samples, 0);
    assert_eq!(
        by("not found").summary.latency.samples,
        by("not found").summary.requests
    );

    // Nothing listening: connect errors. TLS spoken to a plain-HTTP port: TLS errors.
    let refused = run_yaml(
        &open_profile("20/s", 1, "/ok"),
        &format!("http://127.0.0.1:{}", closed_port()),
    );
    let e = &refused.endpoints[0];
    assert_eq!(errors_of(e, ErrorClass::Connect), requests_of(e));
    assert!(requests_of(e) >= 18);
    let tls = run_yaml(
        &open_profile("20/s", 1, "/ok"),
        &format!("https://{}", target.addr),
    );
    let e = &tls.endpoints[0];
    assert_eq!(
        errors_of(e, ErrorClass::Tls),
        requests_of(e),
        "{:?}",
        e.error_samples
    );
}

#[test]
fn header_and_latency_checks_fail_as_check_errors() {
    let _serial = serial();
    let target = Target::start();
    let yaml = r"
name: checks
load:
  stages: [ { duration: 1s, rate: 50/s } ]
requests:
  - { name: missing header, get: /json, check: { headers: { x-request-id: true } } }
  - { name: wrong header, get: /json, check: { headers: { content-type: xml } } }
  - { name: unwanted header, get: /json, check: { headers: { content-type: false } } }
  - { name: good headers, get: /json, check: { headers: { content-type: json, x-debug: false } } }
  - { name: too slow, get: /delay/100, check: { max_latency: 20ms } }
  - { name: fast enough, get: /ok, check: { max_latency: 2s } }
";
    let result = run_yaml(yaml, &target.url());
    let by = |name: &str| result.endpoints.iter().find(|e| e.name == name).unwrap();
    for (name, message) in [
        ("missing header", "header `x-request-id` is missing"),
        (
            "wrong header",
            "header `content-type` is `application/json`, expected it to contain `xml`",
        ),
        (
            "unwanted header",
            "header `content-type` is present, expected it absent",
        ),
    ] {
        let e = by(name);
        let n = requests_of(e);
        assert!(n > 0, "{name}");
        assert_eq!(errors_of(e, ErrorClass::Check), n, "{name}");
        assert_eq!(e.error_samples[0].message, message);
    }
    let slow = by("too slow");
    assert!(requests_of(slow) > 0);
    assert_eq!(errors_of(slow, ErrorClass::Check), requests_of(slow));
    let message = &slow.error_samples[0].message;
    assert!(
        message.starts_with("took ") && message.ends_with(", limit 20.0ms"),
        "{message}"
    );
    assert_eq!(
        slow.summary.latency.samples, slow.summary.requests,
        "a response that failed its latency check still has its latency recorded"
    );
    for name in ["good headers", "fast enough"] {
        assert!(requests_of(by(name)) > 0, "{name}");
        assert_eq!(
            by(name).summary.errors,
            0,
            "{name}: {:?}",
            by(name).error_samples
        );
    }
}

#[test]
fn warmup_is_recorded_but_excluded_from_the_summary() {
    let _serial = serial();
    let target = Target::start();
    // Slow during the first second (the warm-up), fast after.
    target.slow_until(Duration::from_secs(1), Duration::from_millis(80));
    let yaml = "name: t\nload:\n  warmup: 1s\n  stages:\n    - { duration: 3s, rate: 100/s }\nrequests:\n  - get: /ok\n";
    let result = run_yaml(yaml, &target.url());
    let e = &result.endpoints[0];
    assert_eq!(result.warmup_intervals(), 1);
    assert_eq!(e.warmup.requests + e.summary.requests, requests_of(e));
    assert!(
        (95..=105).contains(&e.warmup.requests),
        "warm-up {}",
        e.warmup.requests
    );
    assert!(
        (195..=205).contains(&e.summary.requests),
        "measured {}",
        e.summary.requests
    );
    assert!(
        e.warmup.latency.p50_us.unwrap() > 50_000,
        "warm-up was slow: {:?}",
        e.warmup.latency
    );
    assert!(
        e.summary.latency.p50_us.unwrap() < 40_000,
        "measured phase was fast: {:?}",
        e.summary.latency
    );
    assert_eq!(
        result.generator_totals().planned,
        200,
        "health counts the measured phase"
    );
}

#[test]
fn shards_merge_into_the_same_run() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nload:\n  stages:\n    - { duration: 1s, ramp_to: 300/s }\n    - { duration: 2s, rate: 300/s }\nrequests:\n  - { name: a, weight: 3, get: /ok }\n  - { name: b, get: /json }\n";
    let whole = run_yaml(yaml, &target.url());
    let one = run_yaml_with(yaml, &target.url(), ShardSpec { index: 0, count: 2 }, None);
    let two = run_yaml_with(yaml, &target.url(), ShardSpec { index: 1, count: 2 }, None);
    let (n1, n2) = (
        one.generator_totals().planned,
        two.generator_totals().planned,
    );
    assert!(n1.abs_diff(n2) <= 1, "shards split evenly: {n1} and {n2}");
    // Run one after the other here, the shards started seconds apart: refused, since their
    // intervals would add different moments. `--start-at` lines real shards up (tests/cli.rs);
    // here they are given one start, as if they had run together.
    let apart = loadgate::results::merge(vec![two.clone(), one.clone()]).unwrap_err();
    assert!(apart.to_string().contains("the shards started"), "{apart}");
    let mut two = two;
    two.started_at.clone_from(&one.started_at);
    let merged = loadgate::results::merge(vec![two.clone(), one.clone()]).unwrap();
    assert!(merged.shard.is_complete());
    // Arrivals are deterministic and recorded at their intended time: per interval, the
    // merged shards planned exactly what the whole run planned.
    let planned = |r: &loadgate::results::RunResult| {
        r.generator
            .intervals
            .iter()
            .map(|g| (g.index, g.planned))
            .collect::<Vec<_>>()
    };
    assert_eq!(planned(&merged), planned(&whole));
    let total = |r: &loadgate::results::RunResult| r.endpoints.iter().map(requests_of).sum::<u64>();
    assert_eq!(total(&merged), total(&whole));
    assert_eq!(total(&merged), total(&one) + total(&two));
    // The merged histograms hold exactly the shards' samples.
    for (i, e) in merged.endpoints.iter().enumerate() {
        let h = merged.measured_histogram(e).unwrap();
        let a = one.measured_histogram(&one.endpoints[i]).unwrap();
        let b = two.measured_histogram(&two.endpoints[i]).unwrap();
        let mut both = a.clone();
        both.add(&b);
        assert_eq!(h, both);
    }
    // Merging a shard twice, or shards of different profiles, is refused.
    assert!(loadgate::results::merge(vec![one.clone(), one.clone()]).is_err());
    let mut other = two;
    other.profile.hash = "sha256:other".into();
    assert!(loadgate::results::merge(vec![one, other]).is_err());
}

#[test]
fn an_early_stop_keeps_partial_results() {
    let _serial = serial();
    let target = Target::start();
    let result = run_yaml_with(
        &open_profile("100/s", 30, "/ok"),
        &target.url(),
        ShardSpec::WHOLE,
        Some(Duration::from_millis(1500)),
    );
    assert!(result.partial);
    assert_eq!(result.partial_reason.as_deref(), Some("interrupted"));
    let n = requests_of(&result.endpoints[0]);
    assert!((120..=200).contains(&n), "about 1.5 s of requests: {n}");
    assert!(result.duration_ms < 5000);
}

#[test]
fn in_flight_cap_drops_arrivals_and_counts_them() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nload:\n  max_in_flight: 5\n  stages:\n    - { duration: 2s, rate: 100/s }\nrequests:\n  - get: /delay/500\n";
    let result = run_yaml(yaml, &target.url());
    let g = result.generator_totals();
    assert_eq!(g.planned, 200);
    assert!(
        g.dropped > 150,
        "5 in flight × 500 ms serve ~10/s of 100/s: dropped {}",
        g.dropped
    );
    assert_eq!(g.sent + g.dropped, g.planned);
    assert!(result.generator.peak_in_flight <= 5);
    assert!(
        g.achieved_ratio() < 0.98,
        "an untrustworthy run shows in its health"
    );
}

#[test]
fn the_in_flight_cap_is_exact_across_threads_and_shards() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nload:\n  max_in_flight: 1\n  stages:\n    - { duration: 1s, rate: 50/s }\nrequests:\n  - get: /delay/100\n";
    let result = support::run_yaml_on_threads(yaml, &target.url(), 2).unwrap();
    assert_eq!(
        result.generator.peak_in_flight, 1,
        "a cap of 1 on 2 threads"
    );
    let g = result.generator_totals();
    assert!(g.dropped > 0, "{g:?}");
    assert_eq!(g.sent + g.dropped, g.planned);
    // A cap of 3 split over 2 shards: 2 and 1, never 2 and 2.
    let capped = yaml.replace("max_in_flight: 1", "max_in_flight: 3");
    let peaks: Vec<u64> = (0..2)
        .map(|index| {
            let profile = std::sync::Arc::new(
                loadgate::profile::Profile::from_yaml(&capped, "t.yaml").unwrap(),
            );
            let shard = ShardSpec { index, count: 2 };
            support::try_run(profile, &target.url(), shard, None, Some(4))
                .unwrap()
                .generator
                .peak_in_flight
        })
        .collect();
    assert_eq!(peaks, [2, 1]);
    // A cap smaller than the number of shards cannot be split.
    let profile =
        std::sync::Arc::new(loadgate::profile::Profile::from_yaml(yaml, "t.yaml").unwrap());
    let err = support::try_run(
        profile,
        &target.url(),
        ShardSpec { index: 1, count: 2 },
        None,
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("cannot be split across 2 shards"),
        "{err}"
    );
}

#[test]
fn weights_beyond_u32_pick_every_request() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nload:\n  stages: [ { duration: 1s, rate: 40/s } ]\nrequests:\n  - { name: a, get: /ok, weight: 4000000000 }\n  - { name: b, get: /json, weight: 4000000000 }\n";
    let result = run_yaml(yaml, &target.url());
    let (a, b) = (
        requests_of(&result.endpoints[0]),
        requests_of(&result.endpoints[1]),
    );
    assert_eq!(a + b, 40);
    assert!(
        a > 0 && b > 0,
        "both halves of the mix were picked: {a} and {b}"
    );
}

#[test]
fn http2_is_refused_on_a_plain_http_target() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nhttp: { version: http2 }\nload:\n  stages: [ { duration: 1s, rate: 5/s } ]\nrequests:\n  - get: /ok\n";
    let err = support::run_yaml_on_threads(yaml, &target.url(), 1).unwrap_err();
    assert!(err.to_string().contains("`http.version: h2c`"), "{err}");
    assert_eq!(target.total(), 0, "nothing was sent");
}

#[test]
fn templates_headers_query_and_bodies_reach_the_server() {
    let _serial = serial();
    let target = Target::start();
    // SAFETY of the test: the variable is set before the profile loads and never changed.
    let yaml = r#"
name: t
defaults:
  headers: { x-run: "run-{{ random_int(5, 5) }}", x-static: fixed }
load:
  stages: [ { duration: 1s, rate: 40/s } ]
requests:
  - name: json
    post: "/echo"
    query: { page: "{{ random_int(2, 2) }}", q: "a b&c" }
    json: { n: "{{ random_int(3, 3) }}", s: "id-{{ random_int(4, 4) }}", nested: { list: [1, "x"] } }
    check: { json: { "/method": "POST", "/query": "page=2&q=a+b%26c", "/headers/x-run": "run-5", "/headers/content-type": "application/json" } }
  - name: form
    put: /echo
    form: { a: "1", b: "{{ random_int(9, 9) }}" }
    check: { json: { "/body": "a=1&b=9", "/headers/content-type": "application/x-www-form-urlencoded" } }
"#;
    let result = run_yaml(yaml, &target.url());
    // 40 arrivals picked at random between two endpoints: both get some (a miss is 2 in 2^40).
    for e in &result.endpoints {
        assert!(e.summary.requests > 0, "{}", e.name);
        assert_eq!(e.summary.errors, 0, "{}: {:?}", e.name, e.error_samples);
    }
}

#[test]
fn h2c_prior_knowledge_is_spoken_when_asked() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nhttp: { version: h2c }\nload:\n  stages: [ { duration: 1s, rate: 20/s } ]\nrequests:\n  - get: /echo\n    check: { json: { \"/version\": \"HTTP/2.0\" } }\n";
    let result = run_yaml(yaml, &target.url());
    assert_eq!(
        result.endpoints[0].summary.errors, 0,
        "{:?}",
        result.endpoints[0].error_samples
    );
    assert!(result.endpoints[0].summary.requests >= 18);
}

mod tls {
    use super::*;
    use std::sync::Arc;

    /// An HTTPS target with a self-signed certificate for `localhost`, offering h2 and http/1.1.
    fn start_tls() -> (
        u16,
        std::thread::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let (tcp, _) = tokio::select! { r = listener.accept() => r.unwrap(), _ = &mut rx => return };
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let svc = hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                            let body = format!("{:?}", req.version());
                            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from(body))))
                        });
                        let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                            .await;
                    });
                }
            });
        });
        (port, handle, tx)
    }

    #[test]
    fn self_signed_certificates_fail_unless_accepted_and_alpn_picks_h2() {
        let _serial = serial();
        let (port, handle, stop) = start_tls();
        let url = format!("https://localhost:{port}");
        let strict = run_yaml(&open_profile("10/s", 1, "/"), &url);
        let e = &strict.endpoints[0];
        assert_eq!(
            errors_of(e, ErrorClass::Tls),
            requests_of(e),
            "{:?}",
            e.error_samples
        );
        assert!(
            e.error_samples[0].message.contains("certificate"),
            "{:?}",
            e.error_samples
        );
        let yaml = "name: t\nhttp: { insecure_tls: true }\nload:\n  stages: [ { duration: 1s, rate: 10/s } ]\nrequests:\n  - get: /\n    check: { body_contains: \"HTTP/2.0\" }\n";
        let relaxed = run_yaml(yaml, &url);
        let e = &relaxed.endpoints[0];
        assert_eq!(e.summary.errors, 0, "{:?}", e.error_samples);
        assert!(e.summary.requests >= 9);

        // The readiness probe trusts what the load trusts (the same TLS set-up, built in).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let wait = loadgate::profile::WaitFor {
            path: "/".into(),
            status: Vec::new(),
            timeout: Duration::from_millis(500),
            interval: Duration::from_millis(100),
        };
        let probe = |insecure| {
            rt.block_on(loadgate::engine::probe::wait_until_ready(
                &url, &wait, insecure,
            ))
        };
        let refused = probe(false).expect_err("a self-signed certificate is refused");
        assert!(refused.contains("certificate"), "{refused}");
        assert!(probe(true).is_ok(), "accepted with `insecure_tls`");
        let _ = stop.send(());
        handle.join().unwrap();
    }
}

#[test]
fn connections_are_opened_from_every_source_address_in_turn() {
    let _serial = serial();
    let target = Target::start();
    let yaml = "name: t\nhttp:\n  source_addresses: [127.0.0.2, 127.0.0.3]\nload:\n  stages:\n    - { duration: 1s, rate: 200/s }\nrequests:\n  - get: /delay/30\n";
    let result = run_yaml(yaml, &target.url());
    assert!(requests_of(&result.endpoints[0]) > 150);
    assert_eq!(errors_of(&result.endpoints[0], ErrorClass::Connect), 0);
    let peers = target.peers();
    let from = |ip: &str| peers.get(&ip.parse().unwrap()).copied().unwrap_or(0);
    // About 6 requests in flight at once: several connections, taken in turn.
    assert!(
        from("127.0.0.2") >= 1 && from("127.0.0.3") >= 1,
        "{peers:?}"
    );
    assert_eq!(from("127.0.0.1"), 0, "{peers:?}");
    assert!(
        from("127.0.0.2").abs_diff(from("127.0.0.3")) <= 1,
        "{peers:?}"
    );
}

#[test]
fn a_source_address_this_machine_lacks_stops_the_run_naming_the_setting() {
    let _serial = serial();
    let target = Target::start();
    // A documentation address (never this machine's): binding to it fails before any packet.
    let yaml = "name: t\nhttp:\n  source_addresses: [192.0.2.1]\nload:\n  stages:\n    - { duration: 3s, rate: 100/s }\nrequests:\n  - get: /ok\n";
    let result = run_yaml(yaml, &target.url());
    assert!(result.partial);
    let reason = result.partial_reason.unwrap_or_default();
    assert!(
        reason.contains("cannot open connections from 192.0.2.1 (`http.source_addresses`)"),
        "{reason}"
    );
    assert!(
        result.duration_ms < 2000,
        "stopped at the first failure, not after a storm of them: {} ms",
        result.duration_ms
    );
    assert_eq!(target.total(), 0);
}

#[test]
fn users_share_connections_unless_each_keeps_its_own() {
    let _serial = serial();
    let profile = |connections: &str| {
        format!(
            "name: t\nhttp:\n  connections: {connections}\nload:\n  model: closed\n  think_time: 300ms\n  spawn_rate: 20/s\n  stages:\n    - {{ users: 10, duration: 2s }}\nrequests:\n  - get: /ok\n"
        )
    };
    let connections = |connections: &str| {
        let target = Target::start();
        let result = run_yaml(&profile(connections), &target.url());
        assert!(requests_of(&result.endpoints[0]) > 30, "{connections}");
        target.peers().values().sum::<u64>()
    };
    // Users spawned 50 ms apart, each 300 ms in thought for every request of about 1 ms: a
    // handful of shared connections carry them all.
    let shared = connections("shared");
    assert!(shared < 10, "shared: {shared} connections");
    assert_eq!(connections("per_user"), 10, "one connection per user");
}
