//! User journeys against the in-process target: setup and auth, extraction from JSON, headers
//! and bodies, scenario stops, data feeds in every mode, per-step recording.
#![allow(clippy::unwrap_used)]

use crate::support;

use loadgate::metrics::ErrorClass;
use support::{Target, errors_of, profile_with_files, requests_of, run_profile, run_yaml};

const JOURNEY: &str = r#"
name: journey
setup:
  - name: login
    post: /login
    json: { user: alice, password: secret-pass }
    extract:
      token: { json: /token }
      session: { header: x-session }
auth: { bearer: "{{ vars.token }}" }
load:
  stages: [ { duration: 2s, rate: 20/s } ]
scenarios:
  - name: create and read
    steps:
      - name: whoami
        get: /me
        check: { json: { "/user": alice } }
      - name: create
        post: /items
        json: { owner: "{{ vars.session }}", n: "{{ random_int(1, 9) }}", nested: { deep: "x" } }
        check: { status: 201, headers: { location: "/items/" } }
        extract:
          id: { json: /id }
          where: { header: location }
      - name: read back
        get: "/items/{{ vars.id }}"
        check: { json: { "/owner": "sess-alice", "/n": { gte: 1, lte: 9 }, "/nested/deep": "x" } }
      - name: read nested
        get: "/items/{{ vars.id }}/nested/deep"
        check: { body_contains: "x", max_latency: 2s }
      - name: ticket
        get: /ticket
        think_time: 10ms
        extract: { ticket: { regex: "ticket is (T-[0-9]+)" } }
      - name: use ticket
        get: "/seen/{{ vars.ticket }}"
"#;

#[test]
fn login_then_token_then_read_back() {
    let target = Target::start();
    let result = run_yaml(JOURNEY, &target.url());
    assert_eq!(target.count("/login"), 1, "setup runs once");
    for e in &result.endpoints {
        assert_eq!(requests_of(e), 40, "{} ran once per arrival", e.name);
        assert_eq!(
            e.summary.errors + e.warmup.errors,
            0,
            "{}: {:?}",
            e.name,
            e.error_samples
        );
    }
    assert_eq!(
        target.count("/seen/T-4711"),
        40,
        "the regex extraction fed the next step"
    );
    let s = &result.scenarios[0];
    assert_eq!(s.name, "create and read");
    assert_eq!(
        s.steps,
        [
            "whoami",
            "create",
            "read back",
            "read nested",
            "ticket",
            "use ticket"
        ]
    );
    assert_eq!(s.summary.requests, 40);
    assert_eq!(s.summary.errors, 0);
    assert!(
        s.summary.latency.p50_us.unwrap() >= 10_000,
        "the journey includes the 10 ms think time"
    );
    let step_p50 = result.endpoints[0].summary.latency.p50_us.unwrap();
    assert!(
        s.summary.latency.p50_us.unwrap() > step_p50,
        "a journey takes longer than one step"
    );
}

#[test]
fn a_whole_iteration_counts_in_the_phase_it_arrived_in() {
    let target = Target::start();
    // Each iteration spans ~0.6 s of think time, so the iterations arriving late in the
    // warm-up send their later steps during the measured phase (and the last ones after the
    // schedule ends): they must still count as warm-up, like their first step.
    let yaml = r#"
name: phases
load:
  warmup: 1s
  stages: [ { duration: 3s, rate: 20/s } ]
scenarios:
  - name: store and read
    steps:
      - name: store
        post: /items
        json: { a: 1 }
        extract: { id: { json: /id } }
        think_time: 300ms
      - name: read
        get: "/items/{{ vars.id }}"
        think_time: 300ms
      - name: read again
        get: "/items/{{ vars.id }}"
"#;
    let result = run_yaml(yaml, &target.url());
    let planned_measured = result.generator_totals().planned;
    assert_eq!(planned_measured, 40);
    let journey = &result.scenarios[0];
    assert_eq!(journey.warmup.requests, 20);
    assert_eq!(journey.summary.requests, 40);
    for e in &result.endpoints {
        assert_eq!(
            e.summary.errors + e.warmup.errors,
            0,
            "{:?}",
            e.error_samples
        );
        assert_eq!(
            (e.warmup.requests, e.summary.requests),
            (20, 40),
            "{}: every step counts with its iteration",
            e.name
        );
        let per_interval: Vec<(u32, u64)> =
            e.intervals.iter().map(|i| (i.index, i.requests)).collect();
        let journey_intervals: Vec<(u32, u64)> = journey
            .intervals
            .iter()
            .map(|i| (i.index, i.requests))
            .collect();
        assert_eq!(per_interval, journey_intervals, "{}", e.name);
    }
}

#[test]
fn a_failed_extraction_stops_the_scenario() {
    let target = Target::start();
    let yaml = r#"
name: stops
load:
  stages: [ { duration: 1s, rate: 20/s } ]
scenarios:
  - name: broken
    steps:
      - name: first
        get: /json
        extract: { missing: { json: /not/there } }
      - name: never
        get: "/seen/{{ vars.missing }}"
  - name: fine
    steps:
      - { name: only, get: /ok }
"#;
    let result = run_yaml(yaml, &target.url());
    let first = &result.endpoints[0];
    let n = requests_of(first);
    assert!(n > 0);
    assert_eq!(errors_of(first, ErrorClass::Extract), n);
    assert!(
        first.error_samples[0]
            .message
            .contains("cannot extract `missing`: JSON field `/not/there` is missing"),
        "{:?}",
        first.error_samples
    );
    assert_eq!(
        requests_of(&result.endpoints[1]),
        0,
        "the step after a failed extraction is not sent"
    );
    assert_eq!(
        target.total() - target.count("/ok"),
        n,
        "nothing else reached the server"
    );
    let broken = result
        .scenarios
        .iter()
        .find(|s| s.name == "broken")
        .unwrap();
    let failed: u64 = broken
        .intervals
        .iter()
        .map(|i| i.errors.get(&ErrorClass::Extract).copied().unwrap_or(0))
        .sum();
    assert_eq!(
        failed, n,
        "every iteration of the journey failed, by extraction"
    );
    let fine = result.scenarios.iter().find(|s| s.name == "fine").unwrap();
    assert_eq!(fine.summary.errors, 0);
}

#[test]
fn a_template_that_fails_at_run_time_stops_the_run() {
    let target = Target::start();
    // `vars.name` is only known at run time (a string here), so the load-time check cannot
    // see that adding 1 to it fails: the run stops with the reason instead of counting every
    // request as a failed check.
    let yaml = r#"
name: broken-at-run-time
load:
  stages: [ { duration: 5s, rate: 20/s } ]
scenarios:
  - name: read
    steps:
      - name: fetch
        get: /json
        extract: { name: { json: /name } }
      - name: use
        get: "/seen/{{ vars.name + 1 }}"
"#;
    let started = std::time::Instant::now();
    let result = run_yaml(yaml, &target.url());
    assert!(result.partial);
    let reason = result.partial_reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("the template of request `use` failed to render at run time"),
        "{reason}"
    );
    assert!(reason.ends_with("fix the profile"), "{reason}");
    assert_eq!(
        requests_of(&result.endpoints[1]),
        0,
        "nothing was recorded for it"
    );
    assert_eq!(
        target.total(),
        target.count("/json"),
        "and nothing was sent"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the run stopped early"
    );
}

#[test]
fn setup_failures_stop_before_any_load() {
    let target = Target::start();
    let yaml = JOURNEY.replace("password: secret-pass", "password: wrong");
    let profile = loadgate::profile::Profile::from_yaml(&yaml, "test.yaml").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(loadgate::engine::setup::start_session(
            &profile,
            &target.url(),
        ))
        .unwrap_err();
    assert_eq!(err, "setup step `login` failed: http_4xx: status 401");
    assert_eq!(target.count("/me"), 0);
}

#[test]
fn basic_auth_is_sent_on_every_load_request() {
    let target = Target::start();
    let yaml = r#"
name: basic
auth: { basic: { username: bob, password: secret-pass } }
load:
  stages: [ { duration: 1s, rate: 10/s } ]
requests:
  - { name: me, get: /me, check: { json: { "/user": bob } } }
"#;
    let result = run_yaml(yaml, &target.url());
    assert_eq!(
        result.endpoints[0].summary.errors, 0,
        "{:?}",
        result.endpoints[0].error_samples
    );
    assert_eq!(result.endpoints[0].summary.requests, 10);
}

#[test]
fn an_auth_credential_too_short_to_mask_is_refused() {
    // Written in the profile (or read from the environment): refused when it loads.
    for (auth, key, what) in [
        (
            "{ basic: { username: bob, password: abc } }",
            "auth.basic.password",
            "basic password",
        ),
        ("{ bearer: xyz }", "auth.bearer", "bearer token"),
    ] {
        let yaml = format!(
            "name: short\nauth: {auth}\nload:\n  stages: [ {{ duration: 1s, rate: 10/s }} ]\nrequests:\n  - {{ name: me, get: /me }}\n"
        );
        let err = loadgate::profile::Profile::from_yaml(&yaml, "test.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "the `auth` {what} is shorter than 4 characters, too short to be masked in outputs at `{key}` (test.yaml:2:"
            )),
            "{err}"
        );
    }
    // Made of what setup extracts: refused when the session starts, before any load.
    let target = Target::start();
    let yaml = "name: short\nsetup:\n  - { name: id, get: /json, extract: { id: { json: /id } } }\nauth: { bearer: \"{{ vars.id }}\" }\nload:\n  stages: [ { duration: 1s, rate: 10/s } ]\nrequests:\n  - { name: me, get: /me }\n";
    let profile = loadgate::profile::Profile::from_yaml(yaml, "test.yaml").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(loadgate::engine::setup::start_session(
            &profile,
            &target.url(),
        ))
        .unwrap_err();
    assert_eq!(
        err,
        "the `auth` bearer token is shorter than 4 characters, too short to be masked in outputs: expected a real credential"
    );
    assert_eq!(target.total(), 1, "only the setup step was sent");
}

const USERS_CSV: &str = "email,password\na@x.io,pa\nb@x.io,pb\nc@x.io,pc\nd@x.io,pd\ne@x.io,pe\n";

fn feed_profile(mode: &str, rate: &str) -> String {
    format!(
        "name: feeds\ndata:\n  users: {{ file: users.csv, mode: {mode} }}\nload:\n  stages: [ {{ duration: 1s, rate: {rate} }} ]\nrequests:\n  - {{ name: seen, get: \"/seen/{{{{ data.users.email }}}}\" }}\n"
    )
}

fn seen(target: &Target) -> Vec<u64> {
    ["a", "b", "c", "d", "e"]
        .iter()
        .map(|u| target.count(&format!("/seen/{u}@x.io")))
        .collect()
}

#[test]
fn sequential_rows_go_round_in_order() {
    let target = Target::start();
    let profile = profile_with_files(
        &feed_profile("sequential", "10/s"),
        &[("users.csv", USERS_CSV)],
    )
    .unwrap();
    run_profile(profile, &target.url());
    assert_eq!(seen(&target), [2, 2, 2, 2, 2]);
}

#[test]
fn unique_rows_are_used_once_and_too_few_are_refused() {
    let target = Target::start();
    let profile =
        profile_with_files(&feed_profile("unique", "5/s"), &[("users.csv", USERS_CSV)]).unwrap();
    run_profile(profile, &target.url());
    assert_eq!(seen(&target), [1, 1, 1, 1, 1]);
    let err = profile_with_files(&feed_profile("unique", "6/s"), &[("users.csv", USERS_CSV)])
        .unwrap_err();
    assert!(
        err.contains(
            "data feed `users` (`users.csv`) has 5 unique rows but the load plans 6 arrivals"
        ),
        "{err}"
    );
}

#[test]
fn random_rows_come_from_the_file() {
    let target = Target::start();
    let profile =
        profile_with_files(&feed_profile("random", "30/s"), &[("users.csv", USERS_CSV)]).unwrap();
    let result = run_profile(profile, &target.url());
    assert_eq!(seen(&target).iter().sum::<u64>(), 30);
    assert_eq!(result.endpoints[0].summary.errors, 0);
}

#[test]
fn closed_model_users_keep_their_row_and_json_lines_work() {
    let target = Target::start();
    let yaml = r#"
name: per-user
data:
  people: { file: people.jsonl }
load:
  model: closed
  think_time: 50ms
  stages: [ { duration: 1s, users: 2 } ]
requests:
  - { name: seen, get: "/seen/{{ data.people.name }}-{{ data.people.age }}" }
"#;
    let people = "{\"name\": \"ann\", \"age\": 30}\n{\"name\": \"bo\", \"age\": 41}\n{\"name\": \"cy\", \"age\": 52}\n";
    let profile = profile_with_files(yaml, &[("people.jsonl", people)]).unwrap();
    run_profile(profile, &target.url());
    assert!(target.count("/seen/ann-30") >= 5, "user 0 keeps row 0");
    assert!(target.count("/seen/bo-41") >= 5, "user 1 keeps row 1");
    assert_eq!(target.count("/seen/cy-52"), 0, "only two users ran");
}

#[test]
fn bad_data_files_are_named_with_their_line() {
    let yaml = feed_profile("sequential", "5/s");
    let err = profile_with_files(&yaml, &[]).unwrap_err();
    assert!(err.contains("cannot read data file `users.csv`"), "{err}");
    let err = profile_with_files(&yaml, &[("users.csv", "email,password\na@x.io\n")]).unwrap_err();
    assert!(err.contains("`users.csv` line 2"), "{err}");
    let err = profile_with_files(
        &yaml.replace("data.users.email", "data.users.mail"),
        &[("users.csv", USERS_CSV)],
    )
    .unwrap_err();
    assert!(
        err.contains("data feed `users` has no column `mail`"),
        "{err}"
    );
    assert!(err.contains("expected one of `email`, `password`"), "{err}");
}

#[test]
fn the_example_journey_runs_against_the_demo_service() {
    let server = loadgate::demo::start(
        loadgate::demo::DemoConfig::default(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .unwrap();
    let text = std::fs::read_to_string("examples/journey.yaml").unwrap();
    // Shorter than the example: the same steps for 3 seconds.
    let text = text.replace(
        "{ duration: 20s, rate: 20/s }",
        "{ duration: 1s, rate: 20/s }",
    );
    let result = run_yaml(&text, &server.url());
    for e in &result.endpoints {
        assert!(requests_of(e) > 0, "{}", e.name);
        assert_eq!(
            e.summary.errors + e.warmup.errors,
            0,
            "{}: {:?}",
            e.name,
            e.error_samples
        );
    }
    let doc = &result.endpoints[0];
    assert!(doc.summary.requests + doc.warmup.requests >= 30);
    assert_eq!(result.scenarios[0].summary.errors, 0);
}
